-- Case summaries are free text that can name or locate the person: they are
-- now encrypted like other personal fields (summary_enc, FieldCrypto with the
-- table, column and case id as associated data). Search keeps working on
-- whole words through a keyed blind index (summary_terms: HMACs of the
-- normalised words, never the words). Existing plain summaries are encrypted
-- by the application at start (src/modules/cases/case-summary.ts), which then
-- clears the plain column.
ALTER TABLE cases ADD COLUMN summary_enc text;
ALTER TABLE cases ADD COLUMN summary_terms text[] NOT NULL DEFAULT '{}';
CREATE INDEX cases_summary_terms_idx ON cases USING gin (summary_terms);
