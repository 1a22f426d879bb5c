// Backup tests' tools: empty databases to restore into, a digest of every
// table's rows, and restore from an in-memory archive.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { inject } from 'vitest';
import type { BackupKey } from '../src/lib/backup/age-stream.ts';
import { webStreamFrom } from '../src/lib/backup/age-stream.ts';
import { restoreBackup } from '../src/lib/backup/restore.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';
import { withDatabase } from './global-setup.ts';

/** A brand-new database with nothing in it (named so the global teardown drops it). */
export async function emptyDatabase(): Promise<string> {
  const name = `${inject('templateDb')}_r${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('adminUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return withDatabase(inject('adminUrl'), name);
}

export async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** Every table of the schema → its row count and a checksum over every row (order-independent). */
export async function tableDigests(url: string): Promise<Record<string, string>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ t: string }>(
      `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
    );
    const out: Record<string, string> = {};
    for (const { t } of rows) {
      if (t === '_prisma_migrations') continue;
      const [d] = (
        await c.query<{ n: number; h: string }>(
          `SELECT count(*)::int AS n, md5(coalesce(string_agg(md5(x::text), '' ORDER BY md5(x::text)), '')) AS h FROM "${t}" x`,
        )
      ).rows;
      out[t] = `${d.n}:${d.h}`;
    }
    return out;
  } finally {
    await c.end();
  }
}

export async function tableCount(url: string): Promise<number> {
  const [r] = await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`);
  return r.n;
}

export function streamOf(bytes: Buffer): ReadableStream<Uint8Array> {
  async function* chunks() {
    // Uneven pieces, as a file or a socket would deliver them.
    for (let i = 0; i < bytes.length; i += 40_000) yield bytes.subarray(i, Math.min(bytes.length, i + 40_000));
  }
  return webStreamFrom(chunks());
}

export function restoreFrom(bytes: Buffer, url: string, key: BackupKey, force = false) {
  return restoreBackup({ url, open: () => streamOf(bytes), key, migrationsDir: MIGRATIONS_DIR, force });
}

export const readArchive = (file: string) => readFile(file);
