// Re-encrypts every personal field still under an older key with the newest
// one (the last entry of ENCRYPTION_KEYS). Safe to interrupt and run again:
// each row is rewritten in its own short transaction, and rows already under
// the current key are skipped. Remove an old key from ENCRYPTION_KEYS only
// after a run reports zero rows left under it.
import type { Db } from '../db.ts';
import type { FieldCrypto } from './field-crypto.ts';

/** idExpr: the SQL expression that yields the row id bound into each ciphertext. */
type Target = { table: string; idExpr: string; columns: string[] };

// Table and column names here are constants, never input: safe to interpolate.
// Every encrypted column of the schema must be listed (test/data-protection checks rotation end to end).
const TARGETS: Target[] = [
  {
    table: 'people',
    idExpr: 'id::text',
    columns: ['legal_name_enc', 'date_of_birth_enc', 'contacts_enc', 'notes_enc'],
  },
  { table: 'events', idExpr: 'id::text', columns: ['details_enc', 'source_urls_enc'] },
  { table: 'cases', idExpr: 'id::text', columns: ['summary_enc'] },
  { table: 'user_totp', idExpr: 'user_id::text', columns: ['secret_enc'] },
  { table: 'refresh_tokens', idExpr: 'id::text', columns: ['successor_enc'] },
  { table: 'lawyer_profiles', idExpr: 'user_id::text', columns: ['phone_enc'] },
  { table: 'notification_settings', idExpr: 'user_id::text', columns: ['webhook_secret_enc'] },
  { table: 'idempotency_keys', idExpr: "user_id::text || ':' || key", columns: ['response_body'] },
  // Per-document data keys (src/modules/documents): re-wrapped, file bodies untouched.
  { table: 'documents', idExpr: 'id::text', columns: ['wrapped_key'] },
];

export async function rotateKeys(db: Db, crypto: FieldCrypto, batch = 500): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of TARGETS) {
    counts[t.table] = 0;
    // Compare the key-id field exactly (LIKE would treat "_" in a key id as a wildcard).
    const stale = t.columns.map((c) => `(${c} IS NOT NULL AND split_part(${c}, '.', 2) <> $1)`).join(' OR ');
    for (;;) {
      const rows = await db.$queryRawUnsafe<Record<string, string | null>[]>(
        `SELECT ${t.idExpr} AS id, ${t.columns.join(', ')} FROM ${t.table} WHERE ${stale} LIMIT ${batch}`,
        crypto.currentKeyId,
      );
      if (!rows.length) break;
      for (const row of rows) {
        const sets: string[] = [];
        const params: (string | null)[] = [row.id];
        for (const c of t.columns) {
          const v = row[c];
          if (!v) continue;
          const next = crypto.reencrypt(v, { table: t.table, column: c, rowId: row.id! });
          if (next) {
            params.push(next);
            sets.push(`${c} = $${params.length}`);
          }
        }
        if (!sets.length) continue;
        // Compare-and-set on every column: a concurrent edit is never overwritten
        // (the row is simply picked up again by the next pass).
        const guards = t.columns.map((c) => {
          params.push(row[c]);
          return `${c} IS NOT DISTINCT FROM $${params.length}`;
        });
        await db.$executeRawUnsafe(
          `UPDATE ${t.table} SET ${sets.join(', ')} WHERE ${t.idExpr} = $1 AND ${guards.join(' AND ')}`,
          ...params,
        );
        counts[t.table]++;
      }
    }
  }
  return counts;
}
