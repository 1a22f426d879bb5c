// The exports queue: `build` jobs carry only { exportId } (Redis keeps job
// data in clear text) and re-read everything from PostgreSQL; an hourly
// `sweep` deletes expired files and re-enqueues exports whose job was lost.
// Each build runs in a child process (src/workers/export-child.ts) with a
// capped heap, so a 1M-row export stays within a small, predictable memory.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Job, Worker } from 'bullmq';
import { z } from 'zod';
import type { AppConfig } from '../config.ts';
import type { Db } from '../db.ts';
import { EXPORT_QUEUE, parseJob } from '../jobs.ts';
import { errorSummary, type ExportJobDeps } from '../modules/exports/export-job.ts';
import { EXPORT_JOB_ATTEMPTS, failExport, sweepExports } from '../modules/exports/exports.service.ts';
import type { QueueKit } from './queue-kit.ts';

export type ExportWorkerDeps = {
  db: Db;
  config: AppConfig;
  kit: QueueKit;
  clock: () => Date;
  log: ExportJobDeps['log'];
};

const SWEEP_EVERY_MS = 60 * 60 * 1000;
/**
 * Compiled (dist/, `npm start`, the image): this module is .js, so fork the
 * compiled child with plain node. From source (tsx, vitest): fork the .ts
 * child with tsx, whatever the parent was started with.
 */
const COMPILED = import.meta.url.endsWith('.js');
const CHILD = fileURLToPath(new URL(COMPILED ? './export-child.js' : './export-child.ts', import.meta.url));
const CHILD_LOADER = COMPILED ? [] : ['--import', 'tsx'];
/** Heap cap of a build: its working set is flat; the cap keeps garbage from piling up. */
const CHILD_HEAP_MB = 96;
/** The last line a build prints on success (export-child.ts). */
const ChildReport = z.object({ maxRssBytes: z.number() });

/** Runs one build in a child process; resolves with the child's peak RSS. */
function buildInChild(config: AppConfig, exportId: string): Promise<{ maxRssBytes: number | null }> {
  return new Promise((resolve, reject) => {
    // The parent's execArgv is not inherited: only the loader (from source) and the heap cap.
    const execArgv = [...CHILD_LOADER, `--max-old-space-size=${CHILD_HEAP_MB}`];
    const child = fork(CHILD, [exportId], {
      execArgv,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: process.env.NODE_ENV,
        EXPORT_CHILD_CONFIG: JSON.stringify({
          dbUrl: config.db.url,
          exportsDir: config.exports.dir,
          ttlDays: config.exports.ttlDays,
          defaultK: config.stats.defaultK,
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) {
        const last = out.trim().split('\n').pop();
        try {
          resolve({ maxRssBytes: last ? ChildReport.parse(JSON.parse(last)).maxRssBytes : null });
        } catch {
          resolve({ maxRssBytes: null });
        }
      } else reject(new Error(`export build exited with ${signal ?? code}: ${err.trim().split('\n').pop() ?? ''}`));
    });
  });
}

export function startExportWorker(deps: ExportWorkerDeps): Worker {
  const processor = async (job: Job) => {
    const parsed = parseJob('exports', job.name, job.data);
    if (parsed.name === 'sweep') return sweepExports(deps);
    const { exportId } = parsed.data;
    try {
      const { maxRssBytes } = await buildInChild(deps.config, exportId);
      const childMaxRssMb = maxRssBytes ? Math.round(maxRssBytes / 1e6) : null;
      deps.log.info({ exportId, childMaxRssMb }, 'export built');
      return { maxRssBytes };
    } catch (err) {
      // Only the last attempt marks the export failed; earlier ones are retried.
      const attempts = job.opts.attempts ?? EXPORT_JOB_ATTEMPTS;
      if (job.attemptsMade + 1 >= attempts) await failExport(deps.db, exportId).catch(() => {});
      deps.log.error({ exportId, attempt: job.attemptsMade + 1, err: errorSummary(err, 300) }, 'export failed');
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
