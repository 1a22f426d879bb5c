// Applies the SQL migrations in migrations/ and records them in
// `_prisma_migrations` with the same table layout and checksums (SHA-256 of
// migration.sql) as `prisma migrate deploy`, so a database migrated here can be
// carried on with Prisma's own CLI elsewhere and vice versa.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { verifyLegacyChains, type LegacyRow } from '../modules/audit/legacy-chain.ts';
import { errorMessage } from './error-message.ts';

// Prisma's own advisory-lock key, so this runner and `prisma migrate deploy`
// also exclude each other.
const MIGRATION_LOCK_KEY = 72707369;

export const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

/**
 * Checks run inside a migration's transaction before its SQL: a failure names
 * the problem and applies nothing. The audit log's per-case chains must be
 * intact before their entries become the Merkle tree's first leaves, or a
 * rewritten history would be sealed as genuine.
 */
const PRECONDITIONS: Record<string, (client: pg.Client) => Promise<void>> = {
  '20261128104552_audit_transparency_log': async (client) => {
    const result = await verifyLegacyChains(async (sql, params) => (await client.query<LegacyRow>(sql, params)).rows);
    if (result.breaks.length) {
      const named = result.breaks.map((b) => `chain ${b.chain} at seq ${b.seq} (entry ${b.id}): ${b.reason}`);
      throw new Error(
        `the audit log's hash chains are broken, refusing to seal them into the Merkle log:\n  ${named.join('\n  ')}`,
      );
    }
  },
};

export type MigrationFile = { name: string; sql: string; checksum: string };

export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const out: MigrationFile[] = [];
  for (const name of names) {
    const file = path.join(dir, name, 'migration.sql');
    if (!existsSync(file)) continue;
    const sql = await readFile(file, 'utf8');
    out.push({ name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return out;
}

/**
 * Applies pending migrations, each in its own transaction together with its
 * record. Refuses to go on when an applied migration's file has changed or a
 * previous attempt failed half-way: both need a human.
 */
export async function migrate(connectionString: string, dir: string): Promise<string[]> {
  const migrations = await readMigrations(dir);
  const client = new pg.Client({ connectionString });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(CREATE_TABLE);
    const { rows } = await client.query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      rolled_back_at: Date | null;
    }>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
    );
    const done = new Map(rows.map((r) => [r.migration_name, r]));
    for (const m of migrations) {
      const record = done.get(m.name);
      if (record) {
        if (!record.finished_at) {
          throw new Error(
            `migration ${m.name} failed earlier and was not resolved; fix the database, then mark it rolled back`,
          );
        }
        if (record.checksum !== m.checksum) {
          throw new Error(
            `migration ${m.name} was edited after it was applied (checksum differs); never edit an applied migration`,
          );
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await PRECONDITIONS[m.name]?.(client);
        await client.query(m.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
           VALUES ($1, $2, now(), $3, now(), 1)`,
          [randomUUID(), m.checksum, m.name],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${errorMessage(err)}`);
      }
      applied.push(m.name);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await client.end();
  }
  return applied;
}
