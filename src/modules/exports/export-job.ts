// The build of one research export: the job the exports worker runs in a
// child process (src/workers/export-child.ts). It must never load Prisma's
// client (most of a worker's resident memory): its reads and its few row
// updates go through plain pg, and its SQL comes from exports.sql.ts.
//
// One row per event, with only generalised fields, and a pseudonymous case key
// HMAC(salt, case id) whose salt is drawn for each export and never stored:
// rows of one export can be linked to each other, but not to another export,
// nor back to a case (not even by us).
//
// Before release the rows pass a k-anonymity check over the quasi-identifiers
// (host country, period, event type, charge categories, mechanisms, outcome
// class, citizenship): an equivalence class to which fewer than k distinct
// cases contribute is generalised month -> quarter -> year, and dropped when
// still too small; the counts go into the metadata. The check and the
// generalisation run in PostgreSQL; rows come back through a cursor in
// batches and go to disk with backpressure, so memory stays flat however many
// events there are.
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { WriteStream } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { AppConfig } from '../../config.ts';
import { csvRow } from '../../lib/csv.ts';
import { publicFilters, type EventFilters } from '../stats/event-filters.ts';
import { DOCUMENTED_CASES } from '../stats/disclosure.ts';
import type { ExportMetadata, StoredExportFilters } from './exports.schemas.ts';
import { buildAnonymisedSql, buildMatchedCountSql, QUASI_IDENTIFIERS } from './exports.sql.ts';

export const EXPORT_COLUMNS = [
  'case_key',
  'host_country',
  'period',
  'period_precision',
  'event_type',
  'charge_categories',
  'mechanisms',
  'outcome_class',
  'citizenship',
] as const;

export function exportFilePath(config: Pick<AppConfig, 'exports'>, fileName: string): string {
  // Only the base name is ever trusted from the database.
  return path.join(config.exports.dir, path.basename(fileName));
}

/** The few reads and writes a job makes on its own row. */
export type ExportJobRow = { status: string; filters: StoredExportFilters | null; format: string };
export type ExportJobUpdate = Partial<{
  status: 'RUNNING' | 'DONE';
  progress: number;
  error: string | null;
  rowCount: number;
  metadata: ExportMetadata;
  filePath: string;
  finishedAt: Date;
  expiresAt: Date;
}>;
export type ExportJobStore = {
  find(id: string): Promise<ExportJobRow | null>;
  update(id: string, data: ExportJobUpdate): Promise<void>;
};

/** Each field of an update: its column, and how its bind parameter is cast. */
const UPDATE_COLUMNS: readonly (readonly [keyof ExportJobUpdate, string, string?])[] = [
  ['status', 'status', '::"ExportStatus"'],
  ['progress', 'progress'],
  ['error', 'error'],
  ['rowCount', 'row_count'],
  ['metadata', 'metadata', '::jsonb'],
  ['filePath', 'file_path'],
  ['finishedAt', 'finished_at'],
  ['expiresAt', 'expires_at'],
];

/**
 * The job's store over a plain pg pool, so the build process never loads
 * Prisma's query engine.
 */
export function pgJobStore(pool: pg.Pool): ExportJobStore {
  return {
    find: async (id) => {
      const sql = 'SELECT status::text AS status, filters, format FROM exports WHERE id = $1';
      return (await pool.query<ExportJobRow>(sql, [id])).rows[0] ?? null;
    },
    update: async (id, data) => {
      const fields = UPDATE_COLUMNS.filter(([key]) => data[key] !== undefined);
      if (!fields.length) return;
      const sets = fields.map(([, column, cast = ''], i) => `${column} = $${i + 2}${cast}`);
      const values = fields.map(([key]) => (key === 'metadata' ? JSON.stringify(data[key]) : data[key]));
      await pool.query(`UPDATE exports SET ${sets.join(', ')} WHERE id = $1`, [id, ...values]);
    },
  };
}

type Log = (obj: object, msg?: string) => void;
export type ExportJobDeps = {
  store: ExportJobStore;
  config: Pick<AppConfig, 'db' | 'exports'> & { stats: Pick<AppConfig['stats'], 'defaultK'> };
  clock: () => Date;
  log: { info: Log; warn: Log; error: Log };
};

/** The class and the start of an error's message, for logs (never a stack, never arguments in full). */
export function errorSummary(err: unknown, maxLength: number): { type: string; message: string } {
  return err instanceof Error
    ? { type: err.name, message: err.message.slice(0, maxLength) }
    : { type: typeof err, message: String(err).slice(0, maxLength) };
}

const BATCH = 2000;

/** A row of the anonymisation query, in rowMode 'array' (see buildAnonymisedSql). */
type PublishedRow = [
  caseId: string,
  hostCountry: string,
  eventType: string,
  chargeCategories: string,
  mechanisms: string,
  outcomeClass: string,
  citizenship: string,
  periodPrecision: 'month' | 'quarter' | 'year',
  period: string,
  linkable: boolean | string,
];

async function write(out: WriteStream, chunk: string) {
  if (!out.write(chunk)) await once(out, 'drain');
}

/**
 * Builds one export. Safe to run twice: a finished export is left alone, an
 * interrupted one starts again from scratch (with a new salt).
 */
export async function runExportJob(deps: ExportJobDeps, exportId: string): Promise<void> {
  const { store, config, clock } = deps;
  const row = await store.find(exportId);
  if (!row || row.status === 'DONE' || row.status === 'EXPIRED' || row.status === 'FAILED') return;
  await store.update(exportId, { status: 'RUNNING', progress: 1, error: null });

  const stored = row.filters ?? {};
  const k = stored.k ?? config.stats.defaultK;
  const { from, to, country, type, team } = stored;
  const filters: EventFilters = { from, to, country, type, team };
  const format = row.format === 'json' ? 'json' : 'csv';
  const salt = randomBytes(32);
  // Keys start with a letter: a key starting with - would be quoted by the CSV formula guard (csvCell).
  const caseKey = (caseId: string) => `k${createHmac('sha256', salt).update(caseId).digest('base64url').slice(0, 21)}`;

  await mkdir(config.exports.dir, { recursive: true, mode: 0o700 });
  // A name per attempt: two runs of the same export never write one file.
  const partial = path.join(config.exports.dir, `.${exportId}.${randomBytes(6).toString('hex')}.partial`);
  const fileName = `${exportId}.${format}`;
  // Owner-only from the first byte: opened with 0600, and chmod'ed in case a
  // previous attempt left the file behind with other bits.
  const handle = await open(partial, 'w', 0o600);
  await handle.chmod(0o600);
  const out = handle.createWriteStream();
  const outClosed = new Promise<void>((resolve, reject) => {
    out.on('close', resolve);
    out.on('error', reject);
  });

  // A plain pg client, not Prisma: Prisma has no cursors, and one connection
  // holding one snapshot is what a consistent, batched read needs.
  const client = new pg.Client({ connectionString: config.db.url, application_name: 'export-worker' });
  // A connection lost mid-build fails the next query (and the build); never an unhandled 'error' event.
  client.on('error', () => {});
  await client.connect();
  const perPrecision = { month: 0, quarter: 0, year: 0 };
  let matched = 0;
  let published = 0;
  let unlinked = 0;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query("SET LOCAL work_mem = '64MB'");
    const countSql = buildMatchedCountSql(filters);
    matched = (await client.query<{ n: number }>(countSql.text, countSql.values)).rows[0].n;
    await store.update(exportId, { progress: 5 });
    const q = buildAnonymisedSql(filters, k);
    await client.query(`DECLARE export_rows NO SCROLL CURSOR FOR ${q.text}`, q.values);

    const jsonHead = `{"label":${JSON.stringify(DOCUMENTED_CASES)},"columns":${JSON.stringify(EXPORT_COLUMNS)},"rows":[`;
    await write(out, format === 'csv' ? csvRow(EXPORT_COLUMNS) : jsonHead);
    let lastProgress = 5;
    for (;;) {
      // Arrays, not objects per row: less garbage per batch keeps the heap flat.
      const { rows } = await client.query<PublishedRow>({ text: `FETCH ${BATCH} FROM export_rows`, rowMode: 'array' });
      if (!rows.length) break;
      let chunk = '';
      for (const r of rows) {
        const linkable = r[9] === true || r[9] === 't';
        if (!linkable) unlinked++;
        const key = linkable ? caseKey(r[0]) : `k${randomBytes(16).toString('base64url').slice(0, 21)}`;
        const values = [key, r[1], r[8], r[7], r[2], r[3], r[4], r[5], r[6]];
        if (format === 'csv') chunk += csvRow(values);
        else {
          const record = Object.fromEntries(EXPORT_COLUMNS.map((c, i) => [c, values[i]]));
          chunk += (published > 0 ? ',' : '') + JSON.stringify(record);
        }
        perPrecision[r[7]]++;
        published++;
      }
      await write(out, chunk);
      const progress = Math.min(99, 10 + Math.floor((89 * published) / Math.max(1, matched)));
      if (progress >= lastProgress + 5) {
        lastProgress = progress;
        await store.update(exportId, { progress });
      }
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    out.destroy();
    await outClosed.catch(() => {});
    await unlink(partial).catch(() => {});
    throw err;
  } finally {
    await client.end().catch(() => {});
  }

  const now = clock();
  // The file shows how many rows were published. A count of matched events
  // beside it would give the dropped rows by subtraction, so both are shown
  // only when the dropped group is empty or at least k (and matched >= k).
  const dropped = Math.max(0, matched - published);
  const droppedSafe = dropped === 0 || dropped >= k;
  const metadata: ExportMetadata = {
    generatedAt: now.toISOString(),
    label: DOCUMENTED_CASES,
    k,
    quasiIdentifiers: [...QUASI_IDENTIFIERS],
    columns: [...EXPORT_COLUMNS],
    // Exact small counts would say "exactly one abduction matched": shown
    // only when at least k, like every other published figure.
    eventsMatched: matched >= k && droppedSafe ? matched : null,
    rowsPublished: published,
    rowsByPeriodPrecision: perPrecision,
    rowsDropped: droppedSafe ? dropped : null,
    caseKey:
      'HMAC-SHA-256 of the case id under a random salt drawn for this export and never stored: rows of this export ' +
      'that share a key belong to one case; keys of two exports cannot be matched. A case keeps one key only when ' +
      'at least k cases share its whole published history; rows of rarer histories get a random key each (unlinked)',
    rowsUnlinked: unlinked,
    filters: publicFilters(filters),
    note:
      'Documented events, not prevalence. Fields are generalised; outcome_class is a fixed classification of the ' +
      'recorded outcome. ' +
      `Every row shares its quasi-identifiers (${QUASI_IDENTIFIERS.join(', ')}) with rows of at least k distinct ` +
      'cases; rows in smaller classes were generalised from month to quarter to year, then dropped. ' +
      'multi-valued fields list their values sorted and joined with |.',
  };
  if (format === 'json') await write(out, `],"metadata":${JSON.stringify(metadata)}}`);
  out.end();
  await outClosed;
  await rename(partial, exportFilePath(config, fileName));
  await store.update(exportId, {
    status: 'DONE',
    progress: 100,
    rowCount: published,
    metadata,
    filePath: fileName,
    finishedAt: now,
    expiresAt: new Date(now.getTime() + config.exports.ttlDays * 86_400_000),
  });
  deps.log.info({ exportId, rows: published, dropped: metadata.rowsDropped }, 'export done');
}
