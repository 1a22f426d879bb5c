// Process entry. Reads the environment, picks external or embedded PostgreSQL,
// applies migrations, then runs the roles: ROLE=api (HTTP), ROLE=worker
// (reminder relay and delivery, export jobs) or ROLE=all (both, the default).
// Shuts down gracefully on SIGTERM/SIGINT: stops taking requests and jobs,
// lets running ones finish, closes connections.
import { Redis } from 'ioredis';
import { buildApp } from './app.ts';
import { createDb } from './db.ts';
import { FieldCrypto } from './lib/field-crypto.ts';
import { migrate } from './lib/migrator.ts';
import { MIGRATIONS_DIR } from './lib/paths.ts';
import { DeadlinesService } from './modules/deadlines/deadlines.service.ts';
import { prepareRuntime } from './runtime.ts';
import { createQueueKit } from './workers/queue-kit.ts';
import { errorMessage } from './lib/error-message.ts';
import { secureAuditTables } from './modules/audit/audit-owner-start.ts';

async function main() {
  const runtime = await prepareRuntime();
  const { database, embedded, dataDir } = runtime;
  const applied = await migrate(runtime.config.db.url, MIGRATIONS_DIR);
  if (applied.length) console.error(`migrations applied: ${applied.join(', ')}`);
  const config = await secureAuditTables(runtime.config, database);

  // Workers hold more connections: deliveries run REMINDER_CONCURRENCY at a time.
  const db = createDb(config.db.url, config.role === 'api' ? 10 : 20);
  const inserted = await new DeadlinesService({ db, config, clock: () => new Date() }).syncDefaultRules();
  if (inserted) console.error(`deadline rules: ${inserted} default rule(s) added`);
  // Legal dates depend on the tz database (KZ: one UTC+5 zone since 1 March 2024, tz 2024a).
  console.error(`time zones: tz database ${process.versions.tz ?? 'unknown'} (ICU ${process.versions.icu ?? '?'})`);

  const redis = config.redis.url
    ? new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false })
    : null;
  redis?.on('error', () => {});
  if (redis) await redis.connect().catch((e) => console.error(`redis not reachable yet: ${errorMessage(e)}`));
  const kit = createQueueKit(config);

  const app = await buildApp(config, { db, redis, queues: kit });
  const stops: (() => Promise<unknown>)[] = [];
  if (config.role !== 'api') {
    // Loaded here, not at the top: an API-only process (ROLE=api) never carries the workers' modules
    // (mail, backups and their encryption, the export job).
    const [
      { createMailer },
      { AuditSequencer },
      { startReminderWorkers },
      { startExportWorker },
      { startBackupWorker },
    ] = await Promise.all([
      import('./lib/mailer.ts'),
      import('./modules/audit/audit.sequencer.ts'),
      import('./workers/reminders/index.ts'),
      import('./workers/exports.worker.ts'),
      import('./workers/backup.worker.ts'),
    ]);
    const crypto = new FieldCrypto(config.crypto.keys, config.crypto.currentKeyId, config.crypto.blindIndexKey);
    const workers = await startReminderWorkers({ db, config, crypto, clock: () => new Date(), log: app.log, kit });
    stops.push(workers.close);
    startExportWorker({ db, config, kit, clock: () => new Date(), log: app.log });
    // Scheduled backups (BACKUP_CRON): one at a time across processes, see src/workers/backup.worker.ts.
    const backups = await startBackupWorker({
      db,
      config,
      kit,
      clock: () => new Date(),
      log: app.log,
      embedded,
      dataDir,
      env: process.env,
    });
    if (backups) stops.push(() => backups.close());
    // The audit tree's single writer (one pass at a time across processes) and checkpoint signer.
    const mailer = config.audit.witnessEmail ? createMailer(config) : null;
    const sequencer = new AuditSequencer({ db, config, log: app.log, mailer }).start();
    stops.push(sequencer.close);
    if (!config.mail.smtpUrl && !config.mail.dir) {
      app.log.warn('SMTP_URL is not set: email reminders will fail (and be logged) until it is');
    }
  }

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 20_000).unref();
    await app.close().catch(() => {});
    for (const stop of stops) await stop().catch(() => {});
    await kit.close().catch(() => {});
    redis?.disconnect();
    await db.$disconnect().catch(() => {});
    await database.release().catch(() => {});
    clearTimeout(force);
    // A signal is a normal stop; anything else (the port in use) is a failure.
    process.exit(signal.startsWith('SIG') ? 0 : 1);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  if (config.role === 'worker') {
    console.error(`worker running (queues on ${kit.backend === 'redis' ? 'Redis' : 'PostgreSQL'})`);
    return;
  }
  let address: string;
  try {
    address = await app.listen({ host: config.http.host, port: config.http.port });
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'EADDRINUSE') {
      console.error(
        `port ${config.http.port} on ${config.http.host} is in use (another server, or an earlier npm start still ` +
          `running): stop it, or start with PORT=<another port>`,
      );
      await shutdown('EADDRINUSE');
    }
    throw e;
  }
  const noUsers = (await db.user.count()) === 0;
  const mode = embedded ? `embedded PostgreSQL (${dataDir}/pg)` : 'external PostgreSQL (DATABASE_URL)';
  console.error(
    [
      `API listening on ${address}   docs: ${address}/docs`,
      `database: ${mode}; queues: ${kit.backend === 'redis' ? 'Redis (REDIS_URL)' : 'PostgreSQL (no REDIS_URL)'}; role: ${config.role}`,
      embedded
        ? 'To use your own servers set DATABASE_URL (and REDIS_URL) plus JWT_SECRET, ENCRYPTION_KEYS, BLIND_INDEX_KEY, AUDIT_SIGNING_KEY and STATS_NOISE_KEY; see README.'
        : '',
      noUsers
        ? 'No users yet: npm run cli -- create-admin --email you@example.org (then npm run seed:demo for a demo)'
        : '',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
