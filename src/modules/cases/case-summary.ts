// The case summary at rest: encrypted (FieldCrypto, bound to the case row)
// and searchable by whole words through keyed HMACs of its normalised words
// (lower case, accents and ё folded, 3+ characters). A reader of the database
// sees neither the text nor the words; equal words in two cases do have equal
// HMACs (the price of search), as with the legal-name blind index.
// Coordinators never see summaries (they keep every statistical field).
import type { FastifyInstance } from 'fastify';
import type { FieldCrypto } from '../../lib/field-crypto.ts';

export const summaryRef = (caseId: string) => ({ table: 'cases', column: 'summary_enc', rowId: caseId });

/** The normalised words of a text, as the index and the search use them. */
export function summaryWords(text: string): string[] {
  const words = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/ё/g, 'е')
    .split(/[^\p{L}\p{N}-]+/u)
    .flatMap((w) => [w, ...(w.includes('-') ? w.split('-') : [])])
    .filter((w) => [...w].length >= 3);
  return [...new Set(words)];
}

export const summaryTerm = (crypto: FieldCrypto, word: string) => crypto.blindIndex('case.summary.term', word);

/** The columns to write for a summary (or its removal). */
export function summaryColumns(crypto: FieldCrypto, caseId: string, summary: string | null) {
  return {
    summary: null,
    summaryEnc: summary === null ? null : crypto.encrypt(summary, summaryRef(caseId)),
    summaryTerms: summary === null ? [] : summaryWords(summary).map((w) => summaryTerm(crypto, w)),
  };
}

/** The plain summary of a row (legacy rows still hold it in clear until the start-up pass). */
export function readSummary(
  crypto: FieldCrypto,
  row: { id: string; summary: string | null; summaryEnc: string | null },
): string | null {
  return row.summaryEnc ? crypto.decrypt(row.summaryEnc, summaryRef(row.id)) : row.summary;
}

/** Encrypts legacy plain summaries in batches; returns how many. Safe to run on several instances at once. */
export async function encryptLegacySummaries(app: Pick<FastifyInstance, 'db' | 'crypto'>): Promise<number> {
  let done = 0;
  for (;;) {
    const rows = await app.db.case.findMany({
      where: { summary: { not: null } },
      select: { id: true, summary: true },
      take: 200,
    });
    if (!rows.length) return done;
    for (const r of rows) {
      // Guarded: only the row still holding this plain text is changed.
      const { count } = await app.db.case.updateMany({
        where: { id: r.id, summary: r.summary },
        data: summaryColumns(app.crypto, r.id, r.summary),
      });
      done += count;
    }
  }
}
