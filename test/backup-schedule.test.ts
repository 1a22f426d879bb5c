// Scheduled backups in the worker role (issue 17, item 3): the job's archive
// restores with the identity, pruning keeps BACKUP_KEEP of ours and nothing
// else, one backup per tick across concurrent runs, a failure recorded and
// noticed to active admins once per incident (real SMTP), /health/ready
// reporting the age, and the configuration refusing what cannot work.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';
import { BACKUP_QUEUE } from '../src/jobs.ts';
import { cronProblem } from '../src/lib/backup/cron.ts';
import { embeddedBackupRecipient } from '../src/lib/backup/embedded-identity.ts';
import { backupFileName } from '../src/lib/backup/retention.ts';
import { sendSecurityNotices } from '../src/workers/reminders/security-notices.ts';
import {
  checkBackupAge,
  runScheduledBackup,
  startBackupWorker,
  type BackupDeps,
} from '../src/workers/backup.worker.ts';
import { emptyDatabase, restoreFrom, tableDigests } from './backup-support.ts';
import { clientFor, createCase, createTeam, createUser, setupTestEnv, testEnvVars, type TestEnv } from './helpers.ts';
import { startSmtpSink } from './reminder-sinks.ts';

const secretsEnv = randomSecretsEnv('t1');
let env: TestEnv;
let root: string;
let identity: string;
let recipient: string;
// The backups' clock runs 60 days behind: a job queued in real time is never "already done" by one of
// these. The app keeps real time while the suite signs in to seed, then shares it (for /health/ready).
let now = Date.now() - 60 * 86400_000;
let seeding = true;
const clock = () => new Date(now);
const hours = (h: number) => (now += h * 3600_000);

/** Deps of the backup job writing to `dir` (external mode: the secrets come from these variables). */
function deps(dir: string, keep = 3): BackupDeps {
  return {
    db: env.db,
    config: { ...env.config, backup: { ...env.config.backup, dir, keep } },
    clock,
    log: env.app.log,
    embedded: false,
    dataDir: root,
    env: secretsEnv,
  };
}
const files = async (dir: string) => (await readdir(dir)).sort();
const status = async () =>
  (
    await env.sql<{ last_good_at: Date | null; last_error: string | null; noticed_incident: string | null }>(
      'SELECT last_good_at, last_error, noticed_incident FROM backup_status WHERE id = 1',
    )
  )[0];
const ready = async () => (await env.app.inject({ method: 'GET', url: '/health/ready' })).json();

beforeAll(async () => {
  identity = await generateIdentity();
  recipient = await identityToRecipient(identity);
  root = await mkdtemp(path.join(os.tmpdir(), 'exiles-backup-schedule-'));
  env = await setupTestEnv({
    clock: () => (seeding ? new Date() : clock()),
    queues: true,
    env: {
      ...secretsEnv,
      BACKUP_CRON: '0 2 * * *',
      BACKUP_RECIPIENT: recipient,
      BACKUP_DIR: path.join(root, 'b'),
      BACKUP_KEEP: '3',
    },
  });
  const team = await createTeam(env, ['KZ']);
  const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  await createCase(cw, team, 'KZ');
  seeding = false;
});
afterAll(async () => {
  await env?.close();
  await rm(root, { recursive: true, force: true });
});

describe('the scheduled backup job', () => {
  it('writes backup-<UTC timestamp>.age (0600, nothing partial left) that restores with the identity', async () => {
    const dir = path.join(root, 'restore');
    const r = await runScheduledBackup(deps(dir), clock());
    expect(r.status).toBe('written');
    const name = backupFileName(clock());
    expect(backupFileName(new Date('2026-11-28T02:00:00Z'))).toBe('backup-20261128T020000.000Z.age');
    expect(await files(dir)).toEqual([name]);
    expect((await stat(path.join(dir, name))).mode & 0o777).toBe(0o600);
    const bytes = await readFile(path.join(dir, name));
    // A recipient-only archive: the passphrase path cannot open it, the identity can.
    const target = await emptyDatabase();
    await expect(restoreFrom(bytes, target, { passphrase: 'not the key at all, surely' })).rejects.toThrow(
      /wrong passphrase or key/,
    );
    const restored = await restoreFrom(bytes, target, { identities: [identity] });
    // The secrets travel inside, as with npm run backup.
    expect(restored.secrets?.env.ENCRYPTION_KEYS).toBe(secretsEnv.ENCRYPTION_KEYS);
    // Every table equal, except the status row the job updated after its snapshot.
    const { backup_status: _a, ...source } = await tableDigests(env.url);
    const { backup_status: _b, ...copy } = await tableDigests(target);
    expect(copy).toEqual(source);
    expect((await status()).last_good_at?.toISOString()).toBe(clock().toISOString());
  }, 60_000);

  it('prunes to BACKUP_KEEP newest good ones and never touches files that are not ours', async () => {
    const dir = path.join(root, 'prune');
    await mkdir(dir, { recursive: true });
    const foreign = ['notes.txt', 'backup-mine.age', 'backup-20200101T000000.000Z.age.bak'];
    for (const f of foreign) await writeFile(path.join(dir, f), 'age-encryption.org/v1\nnot ours');
    // Our name but not an age file (damaged, or someone else's): neither counted nor deleted.
    await writeFile(path.join(dir, 'backup-20200101T000000.000Z.age'), 'garbage');
    const written: string[] = [];
    for (let i = 0; i < 5; i++) {
      hours(24);
      const r = await runScheduledBackup(deps(dir, 3), clock());
      expect(r.status).toBe('written');
      if (r.status === 'written') written.push(r.file);
      if (i === 4) expect(r.status === 'written' && r.pruned).toEqual([written[1]]);
    }
    expect(await files(dir)).toEqual([...foreign, 'backup-20200101T000000.000Z.age', ...written.slice(2)].sort());
    // KEEP=1 keeps exactly the newest.
    hours(24);
    const last = await runScheduledBackup(deps(dir, 1), clock());
    expect(last.status === 'written' && last.pruned.length).toBe(3);
    expect((await files(dir)).filter((f) => /^backup-\d{8}T/.test(f) && f.endsWith('Z.age'))).toEqual([
      'backup-20200101T000000.000Z.age',
      last.status === 'written' ? last.file : '',
    ]);
  }, 120_000);

  it('two concurrent runs of one tick produce one backup; a run while the lock is held elsewhere does nothing', async () => {
    const dir = path.join(root, 'concurrent');
    hours(24);
    const due = clock();
    const runs = await Promise.all([runScheduledBackup(deps(dir), due), runScheduledBackup(deps(dir), due)]);
    expect(runs.map((r) => r.status).sort()).toEqual(['skipped', 'written']);
    expect(await files(dir)).toHaveLength(1);
    // Another process holding the advisory lock (a backup in progress elsewhere).
    hours(24);
    const other = new pg.Client({ connectionString: env.url });
    await other.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(hashtext('exile-case-backend:scheduled-backup'))`);
      expect(await runScheduledBackup(deps(dir), clock())).toEqual({ status: 'skipped', reason: 'busy' });
    } finally {
      await other.end();
    }
    expect(await files(dir)).toHaveLength(1);
    // Released: the same tick now runs.
    expect((await runScheduledBackup(deps(dir), clock())).status).toBe('written');
    expect(await files(dir)).toHaveLength(2);
  }, 60_000);

  it('runs from the queue: the job scheduler holds BACKUP_CRON (UTC) and a queued run writes a backup', async () => {
    const dir = env.config.backup.dir;
    hours(24);
    const worker = await startBackupWorker({ ...deps(dir), config: env.config, kit: env.queues! });
    try {
      const queue = env.queues!.queue(BACKUP_QUEUE);
      const scheduler = await queue.getJobScheduler('backup');
      expect(scheduler?.pattern).toBe('0 2 * * *');
      expect(scheduler?.tz).toBe('UTC');
      expect(await queue.getJobScheduler('backup-check')).toBeTruthy();
      const job = await queue.add('run', {});
      const deadline = Date.now() + 30_000;
      while (!(await job.isCompleted()) && !(await job.isFailed()) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await job.isCompleted()).toBe(true);
      expect((await files(dir)).filter((f) => f.endsWith('.age'))).toHaveLength(1);
    } finally {
      await worker?.close();
    }
    // BACKUP_CRON=off removes the schedule.
    const off = await startBackupWorker({
      ...deps(dir),
      config: { ...env.config, backup: { ...env.config.backup, cron: null } },
      kit: env.queues!,
    });
    expect(off).toBeNull();
    expect(await env.queues!.queue(BACKUP_QUEUE).getJobScheduler('backup')).toBeFalsy();
  }, 60_000);
});

describe('health and notices', () => {
  it('/health/ready reports the age of the last good backup and stays ready when it is old', async () => {
    const dir = path.join(root, 'health');
    hours(24);
    await runScheduledBackup(deps(dir), clock());
    hours(1);
    let body = await ready();
    expect(body.status).toBe('ok');
    expect(body.backup).toEqual({ lastGoodAt: new Date(now - 3600_000).toISOString(), ageSeconds: 3600, stale: false });
    hours(48);
    body = await ready();
    expect(body.status).toBe('ok');
    expect(body.backup).toMatchObject({ ageSeconds: 49 * 3600, stale: true });
  }, 60_000);

  it('a failure records lastError and emails each active admin once per incident; nobody else', async () => {
    const smtp = await startSmtpSink();
    const mailer = nodemailer.createTransport(smtp.url);
    const send = () => sendSecurityNotices({ db: env.db, config: env.config, clock, log: env.app.log, mailer });
    const backupMails = () => smtp.messages.filter((m) => /^Backup notice/.test(m.subject));
    try {
      const admins = [await createUser(env, 'ADMIN'), await createUser(env, 'ADMIN')];
      const inactive = await createUser(env, 'ADMIN');
      await env.db.user.update({ where: { id: inactive.id }, data: { active: false } });
      const others = await Promise.all(
        (['COORDINATOR', 'CASEWORKER', 'LAWYER'] as const).map((r) => createUser(env, r)),
      );
      await send(); // anything queued before (none of it about backups)
      hours(24);
      expect((await runScheduledBackup(deps(path.join(root, 'before')), clock())).status).toBe('written');
      // BACKUP_DIR not writable: a path under a regular file (refused even to root).
      const blocker = path.join(root, 'blocker');
      await writeFile(blocker, 'a file, not a folder');
      const bad = path.join(blocker, 'backups');
      hours(24);
      await expect(runScheduledBackup(deps(bad), clock())).rejects.toThrow();
      const s = await status();
      expect(s.last_error).toMatch(/^(ENOTDIR|EEXIST): /);
      expect(s.last_error).not.toContain(root);
      const health = (await ready()).backup;
      expect(health.lastError).toBe(s.last_error);
      expect(health.lastErrorAt).toBe(clock().toISOString());
      expect(await send()).toBe(2);
      const mails = backupMails();
      expect(mails.flatMap((m) => m.rcpt).sort()).toEqual(admins.map((a) => a.email.toLowerCase()).sort());
      for (const m of mails) {
        expect(m.subject).toBe('Backup notice: a scheduled backup failed');
        expect(m.text).toMatch(/Last good backup: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(UTC\)/);
        expect(m.text).not.toContain(root);
        expect(m.text).not.toMatch(/@example\.org|Zzq|Pseudo-/);
      }
      // The same incident again (another failure, then staleness): no new notice.
      hours(24);
      await expect(runScheduledBackup(deps(bad), clock())).rejects.toThrow();
      hours(48);
      expect(await checkBackupAge({ db: env.db, clock })).toBe(true);
      await send();
      expect(backupMails()).toHaveLength(2);
      for (const u of [inactive, ...others]) {
        expect(smtp.messages.some((m) => m.rcpt.includes(u.email.toLowerCase()))).toBe(false);
      }
      // A good backup ends the incident (and the error); the next staleness is a new one, noticed once.
      const good = path.join(root, 'after');
      expect((await runScheduledBackup(deps(good), clock())).status).toBe('written');
      expect((await ready()).backup.lastError).toBeUndefined();
      hours(49);
      await Promise.all([checkBackupAge({ db: env.db, clock }), checkBackupAge({ db: env.db, clock })]);
      expect(await send()).toBe(2);
      const stale = backupMails().slice(2);
      expect(stale.map((m) => m.subject)).toEqual([
        'Backup notice: no recent backup',
        'Backup notice: no recent backup',
      ]);
    } finally {
      await smtp.close();
    }
  }, 90_000);
});

describe('configuration', () => {
  const cfg = (over: Record<string, string>) => loadConfig(testEnvVars(env.url, over));
  const refused = (over: Record<string, string>) => {
    try {
      cfg(over);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).problems.join('\n');
    }
    throw new Error('accepted');
  };

  it('is off unless set with an external database; takes a 5-field cron, a directory and KEEP', () => {
    expect(cfg({}).backup).toMatchObject({ cron: null, keep: 14, recipients: [] });
    expect(cfg({ BACKUP_CRON: 'off' }).backup.cron).toBeNull();
    const on = cfg({
      BACKUP_CRON: '30  3 * * 1-5',
      BACKUP_RECIPIENT: recipient,
      BACKUP_DIR: '/srv/b',
      BACKUP_KEEP: '7',
    });
    expect(on.backup).toEqual({ cron: '30 3 * * 1-5', dir: '/srv/b', keep: 7, recipients: [recipient] });
  });

  it('refuses a bad cron, a schedule without a recipient (no passphrase on the server), a bad recipient, KEEP 0', () => {
    expect(refused({ BACKUP_CRON: '61 2 * * *', BACKUP_RECIPIENT: recipient })).toMatch(/BACKUP_CRON: minute/);
    expect(refused({ BACKUP_CRON: '0 2 * *', BACKUP_RECIPIENT: recipient })).toMatch(/BACKUP_CRON: needs 5 fields/);
    expect(refused({ BACKUP_CRON: '0 2 * * MON', BACKUP_RECIPIENT: recipient })).toMatch(/BACKUP_CRON: day of week/);
    expect(refused({ BACKUP_CRON: '0 2 * * *' })).toMatch(/BACKUP_RECIPIENT: missing.*--new-identity/);
    expect(refused({ BACKUP_CRON: '0 2 * * *', BACKUP_RECIPIENT: 'AGE-SECRET-KEY-1ABC' })).toMatch(
      /BACKUP_RECIPIENT: each recipient must be an age/,
    );
    expect(refused({ BACKUP_KEEP: '0' })).toMatch(/BACKUP_KEEP/);
    expect(cronProblem('*/15 0-6,22-23 1 1-12/2 0,7')).toBeNull();
    expect(cronProblem('0 5-2 * * *')).toMatch(/backwards/);
  });

  it('embedded mode makes one key pair: the identity can leave the machine, the schedule keeps its recipient', async () => {
    const dataDir = path.join(root, 'embedded');
    await mkdir(dataDir);
    const first = await embeddedBackupRecipient(dataDir);
    expect(first.created).toBe(true);
    expect((await stat(first.identityFile)).mode & 0o777).toBe(0o600);
    const id = (await readFile(first.identityFile, 'utf8')).match(/AGE-SECRET-KEY-1[0-9A-Z]+/)![0];
    expect(await identityToRecipient(id)).toBe(first.recipient);
    expect(await embeddedBackupRecipient(dataDir)).toEqual({ ...first, created: false });
    await rm(first.identityFile);
    expect(existsSync(first.identityFile)).toBe(false);
    expect((await embeddedBackupRecipient(dataDir)).recipient).toBe(first.recipient);
  });
});
