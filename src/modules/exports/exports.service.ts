// Research exports, the API side: create (queues the build), status, and the
// audited download; plus the housekeeping the exports worker runs through
// Prisma (marking a build failed, the hourly sweep). The build itself is
// export-job.ts, run in a child process that never loads Prisma.
import { randomUUID } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Prisma } from '../../generated/prisma/client.ts';
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import { EXPORT_QUEUE, jobPayload } from '../../jobs.ts';
import { AppError } from '../../lib/app-error.ts';
import { iso } from '../../lib/http-schemas.ts';
import type { Actor } from '../../plugins/auth.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { publicFilters, type EventFilters } from '../stats/event-filters.ts';
import { resolveFilterAliases } from '../stats/filter-aliases.ts';
import { kInForce, QueryAudit } from '../stats/query-audit.ts';
import { exportFilePath } from './export-job.ts';
import { ExportSchema, type CreateExportInput, type ExportDto, type StoredExportFilters } from './exports.schemas.ts';

export const EXPORT_JOB_ATTEMPTS = 3;

/**
 * What this module needs of the queue kit (src/workers/queue-kit.ts provides
 * it): typed here, structurally, so modules never import from src/workers.
 */
export type ExportQueues = { queue(name: typeof EXPORT_QUEUE): Pick<Queue, 'add'> };

/** Thrown when an export's file is gone (expired or removed): the route answers 410. */
export class ExportGoneError extends Error {
  constructor(readonly detail = 'This export has expired and its file was deleted; create a new one.') {
    super(detail);
  }
}

type ExportRow = Prisma.ExportGetPayload<object>;

const isExpired = (row: Pick<ExportRow, 'status' | 'expiresAt'>, now: Date) =>
  row.status === 'EXPIRED' || (row.status === 'DONE' && row.expiresAt !== null && row.expiresAt <= now);

/** Stored filters (internal keys, k inside) as answers show them: public names, k at the top level. */
function publicExportFilters(stored: Prisma.JsonValue | null): { k: number | null; filters: Record<string, unknown> } {
  const { k, ...filters } = (stored ?? {}) as StoredExportFilters;
  return { k: k ?? null, filters: publicFilters(filters) };
}

function toExportDto(row: ExportRow, now: Date): ExportDto {
  // Parsed with the response schema: format, filters and metadata are plain
  // text and JSON columns, typed here by the schema rather than by a cast.
  return ExportSchema.parse({
    id: row.id,
    kind: row.kind,
    format: row.format,
    status: isExpired(row, now) ? 'EXPIRED' : row.status,
    progress: row.progress,
    rowCount: row.rowCount,
    ...publicExportFilters(row.filters),
    metadata: row.metadata ?? null,
    error: row.error,
    createdAt: iso(row.createdAt),
    finishedAt: iso(row.finishedAt),
    expiresAt: iso(row.expiresAt),
  });
}

export type ExportDownload = { stream: ReadStream; size: number; fileName: string; contentType: string };

export class ExportsService {
  constructor(private readonly app: FastifyInstance) {}

  async create(actor: Actor, input: CreateExportInput, requestId: string): Promise<{ id: string }> {
    const kit = this.app.queues;
    if (!kit) throw new AppError('UNAVAILABLE', 'Background jobs are not configured on this server.');
    const now = this.app.clock();
    const id = randomUUID();
    const stats = this.app.config.stats;
    const k = kInForce(stats.defaultK, input.k, 'body.k');
    const { hostCountry: _h, teamId: _i, country: _c, team: _t, ...rest } = input.filters;
    const aliases = resolveFilterAliases(input.filters, 'body.filters');
    const requested: EventFilters = { ...rest, country: aliases.country, team: aliases.team };
    const eventFilters = Object.fromEntries(
      Object.entries(requested).filter(([, v]) => v !== undefined),
    ) as EventFilters;
    const filters: StoredExportFilters = { ...eventFilters, k };
    const { kind, format } = input;
    // The same guard as published tables: an export whose matched events differ
    // from an earlier table's or export's by fewer than k cases in one filter
    // is refused (422 naming the earlier query), and it is logged for the next.
    const audit = new QueryAudit(this.app.db, stats.epsilonBudget, () => this.app.clock());
    const publication = { kind: 'export' as const, groupBy: [], filters: eventFilters, actorId: actor.userId, k };
    await audit.publish({ ...publication, fieldPrefix: 'body.filters', names: aliases.names }, async (tx) => {
      await tx.export.create({
        data: { id, createdById: actor.userId, kind, format, filters, status: 'QUEUED', createdAt: now },
      });
      const changes = { kind, format, filters };
      await appendAudit(
        tx,
        { actorId: actor.userId, action: 'export.create', entityType: 'export', entityId: id, requestId, changes },
        now,
      );
    });
    // Enqueued after the commit, so a worker never looks for a row that is not there yet.
    try {
      await enqueueExport(kit, id);
    } catch {
      const error = 'The export could not be queued; try again.';
      await this.app.db.export.update({ where: { id }, data: { status: 'FAILED', error } });
      throw new AppError('UNAVAILABLE', 'The job queue is not reachable; try again shortly.');
    }
    return { id };
  }

  /** The export, if the actor created it or is an admin; 404 otherwise (its existence is not disclosed). */
  private async visible(actor: Actor, id: string): Promise<ExportRow> {
    const row = await this.app.db.export.findUnique({ where: { id } });
    if (!row || (row.createdById !== actor.userId && actor.role !== 'ADMIN')) {
      throw new AppError('NOT_FOUND', 'Export not found.');
    }
    return row;
  }

  async get(actor: Actor, id: string): Promise<ExportDto> {
    return toExportDto(await this.visible(actor, id), this.app.clock());
  }

  async openDownload(actor: Actor, id: string, requestId: string): Promise<ExportDownload> {
    const row = await this.visible(actor, id);
    const now = this.app.clock();
    if (isExpired(row, now)) {
      await expireExport(this.app.db, this.app.config, row);
      throw new ExportGoneError();
    }
    if (row.status !== 'DONE' || !row.filePath) {
      const status = row.status.toLowerCase();
      throw new AppError('CONFLICT', `The export is ${status}; it can be downloaded once it is done.`);
    }
    const file = exportFilePath(this.app.config, row.filePath);
    const info = await stat(file).catch(() => null);
    if (!info) throw new ExportGoneError('The export file is no longer available; create a new one.');
    const changes = { kind: row.kind, format: row.format, rowCount: row.rowCount };
    await this.app.db.$transaction((tx) =>
      appendAudit(
        tx,
        { actorId: actor.userId, action: 'export.download', entityType: 'export', entityId: id, requestId, changes },
        now,
      ),
    );
    return {
      stream: createReadStream(file),
      size: info.size,
      fileName: `${row.kind}-${row.id}.${row.format}`,
      contentType: row.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
    };
  }
}

export async function enqueueExport(kit: ExportQueues, exportId: string) {
  // The export id is the job id: enqueueing twice (a retry, the sweeper) adds one job.
  await kit.queue(EXPORT_QUEUE).add('build', jobPayload('exports', 'build', { exportId }), {
    jobId: exportId,
    attempts: EXPORT_JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: 5_000 },
    removeOnComplete: 1000,
    removeOnFail: 1000,
  });
}

async function expireExport(db: Db, config: Pick<AppConfig, 'exports'>, row: Pick<ExportRow, 'id' | 'filePath'>) {
  if (row.filePath) await unlink(exportFilePath(config, row.filePath)).catch(() => {});
  await db.export.update({ where: { id: row.id }, data: { status: 'EXPIRED', filePath: null } });
}

/** Marks an export failed for good (after its last attempt), without details of the cause. */
export async function failExport(db: Db, exportId: string): Promise<void> {
  await db.export.updateMany({
    where: { id: exportId, status: { in: ['QUEUED', 'RUNNING'] } },
    data: { status: 'FAILED', error: 'The export could not be produced; the cause is in the worker log.' },
  });
}

export type SweepDeps = { db: Db; config: Pick<AppConfig, 'exports'>; clock: () => Date; kit: ExportQueues };

/**
 * Housekeeping: deletes expired files, and re-enqueues exports whose job was
 * lost (Redis is not the source of truth; the exports table is).
 */
export async function sweepExports(deps: SweepDeps): Promise<{ expired: number; requeued: number }> {
  const now = deps.clock();
  const expired = await deps.db.export.findMany({
    where: { status: 'DONE', expiresAt: { lte: now } },
    select: { id: true, filePath: true },
  });
  for (const row of expired) await expireExport(deps.db, deps.config, row);
  const stale = await deps.db.export.findMany({
    where: { status: { in: ['QUEUED', 'RUNNING'] }, createdAt: { lte: new Date(now.getTime() - 5 * 60_000) } },
    select: { id: true },
  });
  for (const row of stale) await enqueueExport(deps.kit, row.id);
  return { expired: expired.length, requeued: stale.length };
}
