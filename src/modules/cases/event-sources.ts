// Event source links at rest: a news link often carries a person's name in its
// slug, so the list is encrypted like event details (JSON array, FieldCrypto
// bound to the event row), shown only with the details (to those who may read
// legal data: never to coordinators), and named-not-valued in the audit log.
import type { FastifyInstance } from 'fastify';
import type { FieldCrypto } from '../../lib/field-crypto.ts';

export const sourceUrlsRef = (eventId: string) => ({ table: 'events', column: 'source_urls_enc', rowId: eventId });

/** The columns to write for a list of source links. */
export function sourceUrlsColumns(crypto: FieldCrypto, eventId: string, urls: string[]) {
  return {
    sourceUrls: [],
    sourceUrlsEnc: urls.length ? crypto.encrypt(JSON.stringify(urls), sourceUrlsRef(eventId)) : null,
  };
}

export function readSourceUrls(
  crypto: FieldCrypto,
  row: { id: string; sourceUrls: string[]; sourceUrlsEnc: string | null },
): string[] {
  if (!row.sourceUrlsEnc) return row.sourceUrls;
  const parsed: unknown = JSON.parse(crypto.decrypt(row.sourceUrlsEnc, sourceUrlsRef(row.id)));
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

/** Encrypts legacy plain source links in batches; returns how many events. Safe on several instances. */
export async function encryptLegacySourceUrls(app: Pick<FastifyInstance, 'db' | 'crypto'>): Promise<number> {
  let done = 0;
  for (;;) {
    const rows = await app.db.event.findMany({
      where: { NOT: { sourceUrls: { isEmpty: true } } },
      select: { id: true, sourceUrls: true },
      take: 200,
    });
    if (!rows.length) return done;
    for (const r of rows) {
      const { count } = await app.db.event.updateMany({
        where: { id: r.id, sourceUrls: { equals: r.sourceUrls } },
        data: sourceUrlsColumns(app.crypto, r.id, r.sourceUrls),
      });
      done += count;
    }
  }
}
