-- Event source links (news articles carry names in their slugs) are encrypted
-- like event details: source_urls_enc holds the JSON array, FieldCrypto with
-- the table, column and event id as associated data. Existing plain arrays are
-- encrypted by the application at start (src/modules/cases/event-sources.ts),
-- which then empties source_urls.
ALTER TABLE events ADD COLUMN source_urls_enc text;
