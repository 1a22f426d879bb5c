// `npm run restore`: first reads the whole archive without writing anything
// (authenticity of every chunk, completeness, each table's checksum, the
// schema version against this code's migrations), then builds the archived
// schema in one transaction and loads every table through COPY FROM, in
// dependency order, in a second one that commits only once the archive has
// been read to its authenticated end. The schema gets its own transaction
// because PostgreSQL refuses enum values added by a migration (ALTER TYPE …
// ADD VALUE) in rows of the transaction that added them.
import { once } from 'node:events';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { CREATE_TABLE, readMigrations, type MigrationFile } from '../migrator.ts';
import type { ArchivedSecrets, Manifest } from './archive-format.ts';
import type { BackupKey } from './age-stream.ts';
import { RestoreError, openArchive, readTables, verifyArchive } from './archive-reader.ts';
import { COUNT_CAP, LEDGER, SCHEMA, describeTarget, ident } from './catalog.ts';

export { RestoreError };

/** Prisma's advisory-lock key (as the migrator's): a server starting meanwhile waits for the restore. */
const MIGRATION_LOCK_KEY = 72707369;

export type RestoreResult = { manifest: Manifest; tables: number; rows: number; secrets: ArchivedSecrets | null };

/** The code's SQL for each archived migration; refuses an archive the code cannot reproduce. */
export function planMigrations(archived: Manifest['migrations'], code: MigrationFile[]): MigrationFile[] {
  const byName = new Map(code.map((m) => [m.name, m]));
  const unknown = archived.filter((m) => !byName.has(m.name));
  if (unknown.length) {
    throw new RestoreError(
      `the archive comes from a newer schema than this code (unknown migration${unknown.length > 1 ? 's' : ''}: ` +
        `${unknown.map((m) => m.name).join(', ')}): restore it with the version of the software that made it, or newer`,
    );
  }
  return archived.map((m) => {
    const mine = byName.get(m.name)!;
    if (mine.checksum !== m.checksum) {
      throw new RestoreError(
        `migration ${m.name} differs between the archive and this code (checksum ${m.checksum.slice(0, 12)}… vs ` +
          `${mine.checksum.slice(0, 12)}…): refusing to rebuild a schema that is not the archived one`,
      );
    }
    return mine;
  });
}

async function refuseFilled(client: pg.Client, force: boolean): Promise<number> {
  const target = await describeTarget(client);
  if (target.filled.length && !force) {
    const found = target.filled.map((f) => `${f.table} (${f.rows >= COUNT_CAP ? `${COUNT_CAP}+` : f.rows} rows)`);
    throw new RestoreError(
      `the target database is not empty: ${found.join(', ')}. Restore into an empty database, or pass --force to replace everything in it`,
    );
  }
  return target.filled.length;
}

/**
 * Transaction 1: the archived schema, from nothing. Whatever the target held
 * (an empty migrated schema, or data under --force) is set aside under another
 * name, dropped only in the data transaction's commit, and put back if the
 * load fails: --force never loses the old data to a failed restore.
 */
async function buildSchema(
  client: pg.Client,
  plan: MigrationFile[],
  force: boolean,
  log: (m: string) => void,
): Promise<string | null> {
  let setAside: string | null = null;
  await client.query('BEGIN');
  try {
    const filled = await refuseFilled(client, force);
    const { rows } = await client.query<{ any: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1)
          OR EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1)
          OR EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1) AS any`,
      [SCHEMA],
    );
    if (rows[0].any) {
      // An empty but migrated schema (a server was started there once) or
      // --force: rebuilt from nothing, so it is exactly the archived one.
      setAside = `${SCHEMA}_before_restore_${Date.now()}`;
      log(
        filled
          ? `replacing everything in the target database (--force); kept as schema ${setAside} until the load commits`
          : 'rebuilding the empty schema',
      );
      await client.query(`ALTER SCHEMA ${ident(SCHEMA)} RENAME TO ${ident(setAside)}`);
      await createSchema(client);
    }
    await client.query(CREATE_TABLE);
    for (const m of plan) {
      await client.query(m.sql);
      await client.query(
        `INSERT INTO ${ident(LEDGER)} (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
         VALUES (gen_random_uuid(), $1, now(), $2, now(), 1)`,
        [m.checksum, m.name],
      );
    }
    await client.query('COMMIT');
    return setAside;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

async function createSchema(client: pg.Client): Promise<void> {
  await client.query(`CREATE SCHEMA ${ident(SCHEMA)} AUTHORIZATION pg_database_owner`);
  await client.query(`GRANT USAGE ON SCHEMA ${ident(SCHEMA)} TO PUBLIC`);
}

/** After a failed load: the new, empty schema gone; what was there before (if anything) back in place. */
async function putBack(client: pg.Client, setAside: string | null): Promise<void> {
  await client.query('BEGIN');
  await client.query(`DROP SCHEMA ${ident(SCHEMA)} CASCADE`);
  if (setAside) await client.query(`ALTER SCHEMA ${ident(setAside)} RENAME TO ${ident(SCHEMA)}`);
  else await createSchema(client);
  await client.query('COMMIT');
}

/**
 * Keys, foreign keys and indexes are dropped before the load and put back
 * after it, in the same transaction, as pg_restore does: one sort per index
 * and one join per foreign key instead of work per row. Putting them back
 * checks every row (a duplicate key or a dangling reference fails), and any
 * failure rolls the drops back with the rest.
 */
async function dropForLoad(client: pg.Client): Promise<string[]> {
  const table = (t: string) => `${ident(SCHEMA)}.${t}`;
  // Foreign keys first (they stand on the keys), then primary and unique keys.
  const { rows: keys } = await client.query<{ tbl: string; name: string; def: string; fk: boolean }>(
    `SELECT quote_ident(t.relname) AS tbl, quote_ident(k.conname) AS name, pg_get_constraintdef(k.oid) AS def,
            k.contype = 'f' AS fk
     FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE k.contype IN ('f', 'p', 'u') AND n.nspname = $1 ORDER BY k.contype = 'f' DESC, 1, 2`,
    [SCHEMA],
  );
  for (const k of keys) await client.query(`ALTER TABLE ${table(k.tbl)} DROP CONSTRAINT ${k.name}`);
  const { rows: indexes } = await client.query<{ name: string; def: string }>(
    `SELECT quote_ident(ic.relname) AS name, pg_get_indexdef(i.indexrelid) AS def
     FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
     WHERE n.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
     ORDER BY 1`,
    [SCHEMA],
  );
  for (const r of indexes) await client.query(`DROP INDEX ${table(r.name)}`);
  await client.query(`SET LOCAL maintenance_work_mem = '128MB'`);
  const add = (k: (typeof keys)[number]) => `ALTER TABLE ${table(k.tbl)} ADD CONSTRAINT ${k.name} ${k.def}`;
  // Back in dependency order: keys, then the other indexes, then the foreign keys.
  return [...keys.filter((k) => !k.fk).map(add), ...indexes.map((r) => r.def), ...keys.filter((k) => k.fk).map(add)];
}

/** Transaction 2: every table through COPY FROM, then the sequences; commits only after the authenticated end. */
async function loadData(
  client: pg.Client,
  input: ReadableStream<Uint8Array>,
  key: BackupKey,
  verified: Manifest,
  setAside: string | null,
  log: (m: string) => void,
) {
  let copy: ReturnType<typeof copyFrom> | null = null;
  let failed: Promise<never> = new Promise(() => {});
  await client.query('BEGIN');
  try {
    await refuseFilled(client, false);
    const deferred = await dropForLoad(client);
    const archive = await openArchive(input, key);
    if (archive.manifest.createdAt !== verified.createdAt) {
      throw new RestoreError('the archive changed after it was verified');
    }
    const result = await readTables(archive, {
      begin: async (t) => {
        const cols = t.columns.map(ident).join(', ');
        copy = client.query(copyFrom(`COPY ${ident(SCHEMA)}.${ident(t.name)} (${cols}) FROM STDIN`));
        const c = copy;
        failed = once(c, 'error').then(([e]) => {
          throw e instanceof Error ? e : new Error(String(e));
        });
        failed.catch(() => {});
      },
      data: async (chunk) => {
        if (!copy!.write(chunk)) await Promise.race([once(copy!, 'drain'), failed]);
      },
      end: async (t, archived) => {
        const c = copy!;
        c.end();
        await Promise.race([once(c, 'finish'), failed]);
        copy = null;
        log(`  ${t.name}: ${archived.rows} rows`);
        return c.rowCount;
      },
    });
    log(`rebuilding ${deferred.length} keys, indexes and foreign keys`);
    for (const def of deferred) await client.query(def);
    for (const s of archive.manifest.sequences) {
      if (s.lastValue === null) continue;
      await client.query('SELECT setval($1::regclass, $2::bigint, true)', [
        `${ident(SCHEMA)}.${ident(s.name)}`,
        s.lastValue,
      ]);
    }
    if (setAside) await client.query(`DROP SCHEMA ${ident(setAside)} CASCADE`);
    await client.query('COMMIT');
    return { manifest: archive.manifest, ...result };
  } catch (e) {
    const c = copy as ReturnType<typeof copyFrom> | null;
    if (c) {
      c.on('error', () => {});
      c.destroy(new Error('restore aborted'));
    }
    // Never committed: closing the connection rolls back too, should ROLLBACK hang.
    await Promise.race([client.query('ROLLBACK').catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
    throw e;
  }
}

export async function restoreBackup(opts: {
  url: string;
  /** Opens the archive afresh: it is read twice (verification, then loading). */
  open: () => ReadableStream<Uint8Array>;
  key: BackupKey;
  migrationsDir: string;
  force?: boolean;
  log?: (m: string) => void;
}): Promise<RestoreResult> {
  const log = opts.log ?? (() => {});
  // A target with data is refused at once, before minutes of reading (and again, under lock, below).
  if (!opts.force) {
    const probe = new pg.Client({ connectionString: opts.url, application_name: 'exiles-restore' });
    await probe.connect();
    try {
      await refuseFilled(probe, false);
    } finally {
      await probe.end();
    }
  }
  const verified = await verifyArchive(opts.open(), opts.key);
  log(`archive verified: ${verified.tables} tables, ${verified.rows} rows, made ${verified.manifest.createdAt}`);
  const plan = planMigrations(verified.manifest.migrations, await readMigrations(opts.migrationsDir));

  const client = new pg.Client({ connectionString: opts.url, application_name: 'exiles-restore' });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const setAside = await buildSchema(client, plan, opts.force ?? false, log);
    log(`schema built at ${plan.at(-1)?.name ?? 'no migration'} (${plan.length} migrations)`);
    try {
      return await loadData(client, opts.open(), opts.key, verified.manifest, setAside, log);
    } catch (e) {
      try {
        await putBack(client, setAside);
      } catch (e2) {
        await client.query('ROLLBACK').catch(() => {});
        throw new RestoreError(
          `${(e as Error).message}. No data was loaded, but putting the database back as it was failed ` +
            `(${(e2 as Error).message})${setAside ? `: its previous contents are in schema ${setAside}` : ''}`,
        );
      }
      throw new RestoreError(`${(e as Error).message}. No data was loaded: the database is as it was`);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await client.end().catch(() => {});
  }
}
