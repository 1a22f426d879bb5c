// Research exports of documented events, anonymised.
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
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, type ReadStream, type WriteStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { Prisma } from '../../generated/prisma/client.ts';
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { csvRow } from '../../lib/csv.ts';
import { iso } from '../../lib/http-schemas.ts';
import type { QueueKit } from '../../workers/queue-kit.ts';
import type { Actor } from '../../plugins/auth.ts';
import { eventFilterSql, type EventFilters } from '../stats/stats.service.ts';
import { DOCUMENTED_CASES } from '../stats/stats.schemas.ts';
import type { ExportDto, ExportFilters, ExportMetadata } from './exports.schemas.ts';

export const EXPORT_QUEUE = 'exports';
export const EXPORT_JOB_ATTEMPTS = 3;

export const QUASI_IDENTIFIERS = ['host_country', 'period', 'event_type', 'charge_categories', 'mechanisms', 'outcome_class', 'citizenship'] as const;
export const EXPORT_COLUMNS = ['case_key', 'host_country', 'period', 'period_precision', 'event_type', 'charge_categories', 'mechanisms', 'outcome_class', 'citizenship'] as const;

/** Thrown when an export's file is gone (expired or removed): the route answers 410. */
export class ExportGoneError extends Error {
  constructor(readonly detail = 'This export has expired and its file was deleted; create a new one.') {
    super(detail);
  }
}

// The outcome of an event is free text. Only this fixed classification of it
// ever leaves: a coarse class, never a word of the text.
const OUTCOME_CLASS = Prisma.sql`CASE
    WHEN e.outcome IS NULL OR btrim(e.outcome) = '' THEN 'NOT_RECORDED'
    WHEN e.outcome ~* '(refus|reject|denied|deny|dismiss|declin|отказ)' THEN 'REFUSED_OR_DISMISSED'
    WHEN e.outcome ~* '(grant|approv|allow|upheld|accept|удовлетвор)' THEN 'GRANTED_OR_ALLOWED'
    WHEN e.outcome ~* '(pending|adjourn|postpon|await)' THEN 'PENDING'
    WHEN e.outcome ~* '(releas|bail|freed|освобожд)' THEN 'RELEASED'
    ELSE 'OTHER' END`;

const ROW_COLS = ['case_id', 'event_id', 'host_country', 'event_type', 'charge_categories', 'mechanisms', 'outcome_class', 'citizenship', 'qk', 'm'];
const cols = (alias: string) => Prisma.raw(ROW_COLS.map((c) => `${alias}.${c}`).join(', '));

/** The anonymisation query: generalised rows that pass k-anonymity, with their period precision, in random (event-id) order. */
export function buildAnonymisedSql(filters: EventFilters, k: number): Prisma.Sql {
  return Prisma.sql`WITH base AS MATERIALIZED (
      SELECT e.id AS event_id, e.case_id,
             c.host_country::text AS host_country,
             e.type::text AS event_type,
             coalesce(chg.categories, 'NO_CHARGE_RECORDED') AS charge_categories,
             coalesce(chg.mechanisms, 'NO_CHARGE_RECORDED') AS mechanisms,
             ${OUTCOME_CLASS} AS outcome_class,
             coalesce(nullif(array_to_string(ARRAY(SELECT DISTINCT x FROM unnest(p.citizenship) AS x ORDER BY x), '|'), ''), 'UNKNOWN') AS citizenship,
             date_trunc('month', e.occurred_at AT TIME ZONE 'UTC') AS m
      FROM events e
      JOIN cases c ON c.id = e.case_id
      JOIN people p ON p.id = c.person_id
      LEFT JOIN (
        SELECT case_id,
               string_agg(DISTINCT category::text, '|' ORDER BY category::text) AS categories,
               string_agg(DISTINCT mechanism::text, '|' ORDER BY mechanism::text) AS mechanisms
        FROM charges GROUP BY case_id
      ) chg ON chg.case_id = e.case_id
      WHERE ${eventFilterSql(filters)}
    ),
    keyed AS MATERIALIZED (
      SELECT b.*, concat_ws('/', b.host_country, b.event_type, b.charge_categories, b.mechanisms, b.outcome_class, b.citizenship) AS qk FROM base b
    ),
    lm AS (SELECT qk, m, count(DISTINCT case_id) AS n FROM keyed GROUP BY qk, m),
    rm AS MATERIALIZED (SELECT ${cols('r')}, lm.n >= ${k} AS ok FROM keyed r JOIN lm ON lm.qk = r.qk AND lm.m = r.m),
    lq AS (SELECT qk, date_trunc('quarter', m) AS q, count(DISTINCT case_id) AS n FROM rm WHERE NOT ok GROUP BY 1, 2),
    rq AS MATERIALIZED (SELECT ${cols('r')}, lq.n >= ${k} AS ok FROM rm r JOIN lq ON lq.qk = r.qk AND lq.q = date_trunc('quarter', r.m) WHERE NOT r.ok),
    ly AS (SELECT qk, date_trunc('year', m) AS y, count(DISTINCT case_id) AS n FROM rq WHERE NOT ok GROUP BY 1, 2),
    ry AS (SELECT ${cols('r')}, ly.n >= ${k} AS ok FROM rq r JOIN ly ON ly.qk = r.qk AND ly.y = date_trunc('year', r.m) WHERE NOT r.ok)
    , published AS MATERIALIZED (
      SELECT ${cols('r')}, 'month' AS period_precision, to_char(r.m, 'YYYY-MM') AS period FROM rm r WHERE r.ok
      UNION ALL
      SELECT ${cols('r')}, 'quarter', to_char(r.m, 'YYYY-"Q"Q') FROM rq r WHERE r.ok
      UNION ALL
      SELECT ${cols('r')}, 'year', to_char(r.m, 'YYYY') FROM ry r WHERE r.ok
    ),
    -- Each row is k-anonymous, but the case key links a case's rows: a rare
    -- sequence of rows (detained in March, hearing in April, …) would single
    -- a person out. A case keeps its key only when its whole published
    -- history is shared by at least k cases; otherwise its rows are unlinked.
    history AS (SELECT case_id, md5(string_agg(qk || '@' || period, ',' ORDER BY qk, period)) AS sig FROM published GROUP BY case_id),
    shared AS (SELECT sig, count(*) AS n FROM history GROUP BY sig)
    SELECT p.case_id, p.host_country, p.event_type, p.charge_categories, p.mechanisms, p.outcome_class, p.citizenship, p.period_precision, p.period,
           (sh.n >= ${k}) AS linkable
    FROM published p JOIN history h ON h.case_id = p.case_id JOIN shared sh ON sh.sig = h.sig
    ORDER BY p.event_id`;
}

export function buildMatchedCountSql(filters: EventFilters): Prisma.Sql {
  return Prisma.sql`SELECT count(*)::int AS n FROM events e JOIN cases c ON c.id = e.case_id WHERE ${eventFilterSql(filters)}`;
}

type ExportRow = Prisma.ExportGetPayload<object>;

export function exportFilePath(config: Pick<AppConfig, 'exports'>, fileName: string): string {
  // Only the base name is ever trusted from the database.
  return path.join(config.exports.dir, path.basename(fileName));
}

function toExportDto(row: ExportRow, now: Date): ExportDto {
  const expired = row.status === 'EXPIRED' || (row.status === 'DONE' && row.expiresAt !== null && row.expiresAt <= now);
  return {
    id: row.id,
    kind: row.kind,
    format: row.format as ExportDto['format'],
    status: expired ? 'EXPIRED' : row.status,
    progress: row.progress,
    rowCount: row.rowCount,
    filters: (row.filters ?? {}) as Record<string, unknown>,
    metadata: (row.metadata ?? null) as ExportMetadata | null,
    error: row.error,
    createdAt: iso(row.createdAt),
    finishedAt: iso(row.finishedAt),
    expiresAt: iso(row.expiresAt),
  };
}

export type CreateExportInput = { kind: 'events-anonymised'; filters: ExportFilters; format: 'csv' | 'json'; k?: number };

export class ExportsService {
  constructor(private readonly app: FastifyInstance) {}

  async create(actor: Actor, input: CreateExportInput, requestId: string): Promise<{ id: string }> {
    const kit = this.app.queues;
    if (!kit) throw new AppError('UNAVAILABLE', 'Background jobs are not configured on this server.');
    const now = this.app.clock();
    const id = randomUUID();
    const k = input.k ?? this.app.config.stats.defaultK;
    const filters = { ...input.filters, k };
    await this.app.db.$transaction(async (tx) => {
      await tx.export.create({ data: { id, createdById: actor.userId, kind: input.kind, format: input.format, filters, status: 'QUEUED', createdAt: now } });
      await appendAudit(tx, { actorId: actor.userId, action: 'export.create', entityType: 'export', entityId: id, requestId, changes: { kind: input.kind, format: input.format, filters } }, now);
    });
    // Enqueued after the commit, so a worker never looks for a row that is not there yet.
    try {
      await enqueueExport(kit, id);
    } catch {
      await this.app.db.export.update({ where: { id }, data: { status: 'FAILED', error: 'The export could not be queued; try again.' } });
      throw new AppError('UNAVAILABLE', 'The job queue is not reachable; try again shortly.');
    }
    return { id };
  }

  /** The export, if the actor created it or is an admin; 404 otherwise (its existence is not disclosed). */
  private async visible(actor: Actor, id: string): Promise<ExportRow> {
    const row = await this.app.db.export.findUnique({ where: { id } });
    if (!row || (row.createdById !== actor.userId && actor.role !== 'ADMIN')) throw new AppError('NOT_FOUND', 'Export not found.');
    return row;
  }

  async get(actor: Actor, id: string): Promise<ExportDto> {
    return toExportDto(await this.visible(actor, id), this.app.clock());
  }

  async openDownload(actor: Actor, id: string, requestId: string): Promise<{ stream: ReadStream; size: number; fileName: string; contentType: string }> {
    const row = await this.visible(actor, id);
    const now = this.app.clock();
    if (row.status === 'EXPIRED' || (row.status === 'DONE' && row.expiresAt !== null && row.expiresAt <= now)) {
      await expireExport(this.app.db, this.app.config, row);
      throw new ExportGoneError();
    }
    if (row.status !== 'DONE' || !row.filePath) throw new AppError('CONFLICT', `The export is ${row.status.toLowerCase()}; it can be downloaded once it is done.`);
    const file = exportFilePath(this.app.config, row.filePath);
    const info = await stat(file).catch(() => null);
    if (!info) throw new ExportGoneError('The export file is no longer available; create a new one.');
    await this.app.db.$transaction((tx) =>
      appendAudit(tx, { actorId: actor.userId, action: 'export.download', entityType: 'export', entityId: id, requestId, changes: { kind: row.kind, format: row.format, rowCount: row.rowCount } }, now),
    );
    return {
      stream: createReadStream(file),
      size: info.size,
      fileName: `${row.kind}-${row.id}.${row.format}`,
      contentType: row.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
    };
  }
}

export async function enqueueExport(kit: QueueKit, exportId: string) {
  // The export id is the job id: enqueueing twice (a retry, the sweeper) adds one job.
  await kit.queue(EXPORT_QUEUE).add('build', { exportId }, { jobId: exportId, attempts: EXPORT_JOB_ATTEMPTS, backoff: { type: 'exponential', delay: 5_000 }, removeOnComplete: 1000, removeOnFail: 1000 });
}

async function expireExport(db: Db, config: Pick<AppConfig, 'exports'>, row: Pick<ExportRow, 'id' | 'filePath'>) {
  if (row.filePath) await unlink(exportFilePath(config, row.filePath)).catch(() => {});
  await db.export.update({ where: { id: row.id }, data: { status: 'EXPIRED', filePath: null } });
}

// ---------------------------------------------------------------------------
// The job
// ---------------------------------------------------------------------------

/** The few reads and writes a job makes on its own row. */
export type ExportJobRow = { status: string; filters: unknown; format: string };
export type ExportJobUpdate = Partial<{ status: 'RUNNING' | 'DONE'; progress: number; error: string | null; rowCount: number; metadata: object; filePath: string; finishedAt: Date; expiresAt: Date }>;
export type ExportJobStore = {
  find(id: string): Promise<ExportJobRow | null>;
  update(id: string, data: ExportJobUpdate): Promise<void>;
};

export function prismaJobStore(db: Db): ExportJobStore {
  return {
    find: (id) => db.export.findUnique({ where: { id }, select: { status: true, filters: true, format: true } }),
    update: async (id, data) => {
      await db.export.update({ where: { id }, data: data as Prisma.ExportUpdateInput });
    },
  };
}

/**
 * The same store over a plain pg pool: the export child process uses it so it
 * never loads Prisma's query engine (most of a worker's resident memory).
 */
export function pgJobStore(pool: pg.Pool): ExportJobStore {
  const column: Record<keyof ExportJobUpdate, string> = {
    status: 'status',
    progress: 'progress',
    error: 'error',
    rowCount: 'row_count',
    metadata: 'metadata',
    filePath: 'file_path',
    finishedAt: 'finished_at',
    expiresAt: 'expires_at',
  };
  return {
    find: async (id) => (await pool.query<ExportJobRow>('SELECT status::text AS status, filters, format FROM exports WHERE id = $1', [id])).rows[0] ?? null,
    update: async (id, data) => {
      const entries = Object.entries(data).filter(([, v]) => v !== undefined) as [keyof ExportJobUpdate, unknown][];
      if (!entries.length) return;
      const sets = entries.map(([k], i) => (k === 'status' ? `status = $${i + 2}::"ExportStatus"` : k === 'metadata' ? `metadata = $${i + 2}::jsonb` : `${column[k]} = $${i + 2}`));
      const values = entries.map(([k, v]) => (k === 'metadata' ? JSON.stringify(v) : v));
      await pool.query(`UPDATE exports SET ${sets.join(', ')} WHERE id = $1`, [id, ...values]);
    },
  };
}

export type ExportJobDeps = {
  store: ExportJobStore;
  config: Pick<AppConfig, 'db' | 'exports' | 'stats'>;
  clock: () => Date;
  log: { info: (obj: object, msg?: string) => void; warn: (obj: object, msg?: string) => void; error: (obj: object, msg?: string) => void };
};

const BATCH = 2000;

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

  const stored = (row.filters ?? {}) as ExportFilters & { k?: number };
  const k = stored.k ?? config.stats.defaultK;
  const filters: EventFilters = { from: stored.from, to: stored.to, country: stored.country, type: stored.type, team: stored.team };
  const format = row.format === 'json' ? 'json' : 'csv';
  const salt = randomBytes(32);
  const caseKey = (caseId: string) => createHmac('sha256', salt).update(caseId).digest('base64url').slice(0, 22);

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

    if (format === 'csv') await write(out, csvRow(EXPORT_COLUMNS));
    else await write(out, `{"label":${JSON.stringify(DOCUMENTED_CASES)},"columns":${JSON.stringify(EXPORT_COLUMNS)},"rows":[`);
    let lastProgress = 5;
    for (;;) {
      // Arrays, not objects per row: less garbage per batch keeps the heap flat.
      const { rows } = await client.query<string[]>({ text: `FETCH ${BATCH} FROM export_rows`, rowMode: 'array' });
      if (!rows.length) break;
      let chunk = '';
      for (const r of rows) {
        // r: case_id, host_country, event_type, charge_categories, mechanisms, outcome_class, citizenship, period_precision, period, linkable
        const linkable = (r[9] as unknown) === true || r[9] === 't';
        if (!linkable) unlinked++;
        const values = [linkable ? caseKey(r[0]) : randomBytes(16).toString('base64url').slice(0, 22), r[1], r[8], r[7], r[2], r[3], r[4], r[5], r[6]];
        if (format === 'csv') chunk += csvRow(values);
        else chunk += (published > 0 ? ',' : '') + JSON.stringify(Object.fromEntries(EXPORT_COLUMNS.map((c, i) => [c, values[i]])));
        perPrecision[r[7] as keyof typeof perPrecision]++;
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
  const metadata: ExportMetadata = {
    generatedAt: now.toISOString(),
    label: DOCUMENTED_CASES,
    k,
    quasiIdentifiers: [...QUASI_IDENTIFIERS],
    columns: [...EXPORT_COLUMNS],
    // Exact small counts would say "exactly one abduction matched": shown
    // only when at least k, like every other published figure.
    eventsMatched: matched >= k ? matched : null,
    rowsPublished: published,
    rowsByPeriodPrecision: perPrecision,
    rowsDropped: matched - published >= k || matched - published === 0 ? Math.max(0, matched - published) : null,
    caseKey: 'HMAC-SHA-256 of the case id under a random salt drawn for this export and never stored: rows of this export that share a key belong to one case; keys of two exports cannot be matched. A case keeps one key only when at least k cases share its whole published history; rows of rarer histories get a random key each (unlinked)',
    rowsUnlinked: unlinked,
    filters: Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined)),
    note:
      'Documented events, not prevalence. Fields are generalised; outcome_class is a fixed classification of the recorded outcome. ' +
      `Every row shares its quasi-identifiers (${QUASI_IDENTIFIERS.join(', ')}) with rows of at least k distinct cases; rows in smaller classes were generalised from month to quarter to year, then dropped. ` +
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

/** Marks an export failed for good (after its last attempt), without details of the cause. */
export async function failExport(db: Db, exportId: string): Promise<void> {
  await db.export.updateMany({ where: { id: exportId, status: { in: ['QUEUED', 'RUNNING'] } }, data: { status: 'FAILED', error: 'The export could not be produced; the cause is in the worker log.' } });
}

/**
 * Housekeeping: deletes expired files, and re-enqueues exports whose job was
 * lost (Redis is not the source of truth; the exports table is).
 */
export async function sweepExports(deps: { db: Db; config: Pick<AppConfig, 'exports'>; clock: () => Date; kit: QueueKit }): Promise<{ expired: number; requeued: number }> {
  const now = deps.clock();
  const expired = await deps.db.export.findMany({ where: { status: 'DONE', expiresAt: { lte: now } }, select: { id: true, filePath: true } });
  for (const row of expired) await expireExport(deps.db, deps.config, row);
  const stale = await deps.db.export.findMany({ where: { status: { in: ['QUEUED', 'RUNNING'] }, createdAt: { lte: new Date(now.getTime() - 5 * 60_000) } }, select: { id: true } });
  for (const row of stale) await enqueueExport(deps.kit, row.id);
  return { expired: expired.length, requeued: stale.length };
}
