// The exports queue: `build` jobs carry only { exportId } (Redis keeps job
// data in clear text) and re-read everything from PostgreSQL; an hourly
// `sweep` deletes expired files and re-enqueues exports whose job was lost.
import type { Job, Worker } from 'bullmq';
import type { AppConfig } from '../config.ts';
import type { Db } from '../db.ts';
import { ExportJobData } from '../modules/exports/exports.schemas.ts';
import { EXPORT_JOB_ATTEMPTS, EXPORT_QUEUE, failExport, runExportJob, sweepExports, type ExportJobDeps } from '../modules/exports/exports.service.ts';
import type { QueueKit } from './queue-kit.ts';

export type ExportWorkerDeps = {
  db: Db;
  config: AppConfig;
  kit: QueueKit;
  clock: () => Date;
  log: ExportJobDeps['log'];
};

const SWEEP_EVERY_MS = 60 * 60 * 1000;

export function startExportWorker(deps: ExportWorkerDeps): Worker {
  const processor = async (job: Job) => {
    if (job.name === 'sweep') return sweepExports(deps);
    if (job.name !== 'build') throw new Error(`unknown job ${job.name} on queue ${EXPORT_QUEUE}`);
    const { exportId } = ExportJobData.parse(job.data);
    try {
      await runExportJob(deps, exportId);
    } catch (err) {
      // Only the last attempt marks the export failed; earlier ones are retried.
      const attempts = job.opts.attempts ?? EXPORT_JOB_ATTEMPTS;
      if (job.attemptsMade + 1 >= attempts) await failExport(deps.db, exportId).catch(() => {});
      deps.log.error({ exportId, attempt: job.attemptsMade + 1, err: { type: (err as Error).name, message: (err as Error).message } }, 'export failed');
      throw err;
    }
  };
  // One export at a time per worker: each holds a database snapshot and streams a file.
  const worker = deps.kit.worker(EXPORT_QUEUE, processor, { concurrency: 1, lockDuration: 120_000 });
  worker.on('error', (err) => deps.log.warn({ err: { message: err.message } }, 'exports worker error'));
  deps.kit
    .queue(EXPORT_QUEUE)
    .upsertJobScheduler('exports-sweep', { every: SWEEP_EVERY_MS }, { name: 'sweep', data: {} })
    .catch((err: Error) => deps.log.warn({ err: { message: err.message } }, 'could not schedule the exports sweep'));
  return worker;
}
