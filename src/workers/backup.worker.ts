// Scheduled backups in the worker role (BACKUP_CRON, UTC): each run writes
// <BACKUP_DIR>/backup-<UTC timestamp>.age through writeBackup (temp file,
// fsync, rename, fsync of the folder), encrypted to BACKUP_RECIPIENT only,
// with the secrets inside as `npm run backup` does; then prunes to the
// BACKUP_KEEP newest good ones. An hourly check notices a backup older than
// 48 hours. State in backup_status (src/modules/backup/backup-status.ts).
//
// One backup at a time across processes: the job scheduler puts one job per
// tick in the queue (its job id is derived from the tick, so several workers
// never each get one), and a PostgreSQL advisory lock, held on a connection of
// its own for the whole run, covers what the queue does not: a run that
// overlaps the next tick, a stalled job handed to a second worker while the
// first still writes, a manual run. Under the lock, a run whose tick already
// has a good backup (one that started at or after it) does nothing.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Job, Worker } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';
import type { AppConfig } from '../config.ts';
import type { Db } from '../db.ts';
import { BACKUP_QUEUE, jobPayload, parseJob } from '../jobs.ts';
import { embeddedIdentityFile } from '../lib/backup/embedded-identity.ts';
import { gatherSecrets } from '../lib/backup/secrets-file.ts';
import { writeBackup } from '../lib/backup/snapshot.ts';
import { backupFileName, pruneBackups } from '../lib/backup/retention.ts';
import { noticeBackupIncident } from '../modules/backup/backup-notices.ts';
import {
  backupErrorReason,
  ensureBackupStatus,
  isStale,
  lastGoodBackupAt,
  readBackupStatus,
  recordBackupFailure,
  recordBackupSuccess,
} from '../modules/backup/backup-status.ts';
import type { QueueKit } from './queue-kit.ts';

export type BackupDeps = {
  db: Db;
  config: AppConfig;
  clock: () => Date;
  log: FastifyBaseLogger;
  /** Where the secrets come from: embedded mode's secrets file in dataDir, else these variables. */
  embedded: boolean;
  dataDir: string;
  env: NodeJS.ProcessEnv;
};

export type BackupRun =
  | { status: 'written'; file: string; bytes: number; rows: number; ms: number; pruned: string[] }
  | { status: 'skipped'; reason: 'busy' | 'done' };

/** The advisory lock's key: one lock for every process of this database. */
const LOCK_SQL = `hashtext('exile-case-backend:scheduled-backup')`;
const CHECK_EVERY_MS = 60 * 60 * 1000;

/** One scheduled backup for the tick `due`; on failure records it, notices the admins, and throws. */
export async function runScheduledBackup(deps: BackupDeps, due: Date): Promise<BackupRun> {
  const { db, config, log, clock } = deps;
  const lock = new pg.Client({ connectionString: config.db.url, application_name: 'exiles-backup-lock' });
  // A lost connection releases the lock with it; the run then fails on its next query, recorded like any failure.
  lock.on('error', (err) => log.warn({ error: err.message }, 'backup lock connection lost'));
  await lock.connect();
  try {
    const got = await lock.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_SQL}) AS ok`);
    if (!got.rows[0].ok) return { status: 'skipped', reason: 'busy' };
    try {
      const last = await lastGoodBackupAt(db);
      if (last && last >= due) return { status: 'skipped', reason: 'done' };
      const startedAt = clock();
      const name = backupFileName(startedAt);
      try {
        await mkdir(config.backup.dir, { recursive: true, mode: 0o700 });
        const secrets = await gatherSecrets({ embedded: deps.embedded, dataDir: deps.dataDir, env: deps.env });
        const r = await writeBackup({
          url: config.db.url,
          out: path.join(config.backup.dir, name),
          key: { recipients: config.backup.recipients },
          secrets,
        });
        await recordBackupSuccess(db, { startedAt, file: name, bytes: r.archiveBytes }, clock());
        const pruned = await pruneBackups(config.backup.dir, config.backup.keep);
        log.info(
          { file: name, bytes: r.archiveBytes, rows: r.rows, ms: r.ms, pruned: pruned.length },
          'backup written',
        );
        return { status: 'written', file: name, bytes: r.archiveBytes, rows: r.rows, ms: r.ms, pruned };
      } catch (e) {
        const reason = backupErrorReason(e);
        log.error({ error: e instanceof Error ? e.message : String(e) }, 'scheduled backup failed');
        await recordBackupFailure(db, reason, clock());
        await noticeBackupIncident(db, 'backup_failed', reason, clock());
        throw e;
      }
    } finally {
      await lock.query(`SELECT pg_advisory_unlock(${LOCK_SQL})`).catch(() => {});
    }
  } finally {
    await lock.end().catch(() => {});
  }
}

/** The hourly check: a last good backup older than 48 hours (or none for 48 hours) is noticed once. */
export async function checkBackupAge(deps: Pick<BackupDeps, 'db' | 'clock'>): Promise<boolean> {
  const now = deps.clock();
  if (!isStale(await readBackupStatus(deps.db), now)) return false;
  await noticeBackupIncident(deps.db, 'backup_stale', null, now);
  return true;
}

/** Schedules the backups and the age check (or removes them when BACKUP_CRON is off) and starts the worker. */
export async function startBackupWorker(deps: BackupDeps & { kit: QueueKit }): Promise<Worker | null> {
  const { kit, config, log } = deps;
  const queue = kit.queue(BACKUP_QUEUE);
  if (!config.backup.cron) {
    await queue.removeJobScheduler('backup').catch(() => false);
    await queue.removeJobScheduler('backup-check').catch(() => false);
    return null;
  }
  await ensureBackupStatus(deps.db, deps.clock());
  const jobOpts = { removeOnComplete: 100, removeOnFail: 100 };
  await queue.upsertJobScheduler(
    'backup',
    { pattern: config.backup.cron, tz: 'UTC' },
    { name: 'run', data: jobPayload('backups', 'run', {}), opts: jobOpts },
  );
  await queue.upsertJobScheduler(
    'backup-check',
    { every: CHECK_EVERY_MS },
    { name: 'check', data: jobPayload('backups', 'check', {}), opts: jobOpts },
  );
  const worker = kit.worker(
    BACKUP_QUEUE,
    async (job: Job) => {
      if (parseJob('backups', job.name, job.data).name === 'check') return checkBackupAge(deps);
      // The tick this job is for: the scheduler's own time of it.
      return runScheduledBackup(deps, new Date(job.opts.prevMillis ?? job.timestamp + (job.delay ?? 0)));
    },
    // A backup streams for minutes on a large database; the lock is renewed while it runs.
    { concurrency: 1, lockDuration: 120_000 },
  );
  worker.on('error', (err) => log.warn({ err: { message: err.message } }, 'backup worker error'));
  log.info({ cron: config.backup.cron, dir: config.backup.dir, keep: config.backup.keep }, 'scheduled backups on');
  if (deps.embedded && existsSync(embeddedIdentityFile(deps.dataDir))) {
    log.warn(
      { identityFile: embeddedIdentityFile(deps.dataDir) },
      'the identity that decrypts the backups is still on this machine: copy it off (restoring needs it), then delete it here',
    );
  }
  return worker;
}
