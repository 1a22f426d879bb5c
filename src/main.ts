// Process entry. Reads the environment, picks external or embedded PostgreSQL,
// applies migrations, starts the API (and, in later roles, workers), and shuts
// down gracefully on SIGTERM/SIGINT.
import { Redis } from 'ioredis';
import { buildApp } from './app.ts';
import { prepareRuntime } from './runtime.ts';
import { migrate } from './lib/migrator.ts';
import { MIGRATIONS_DIR } from './lib/paths.ts';

async function main() {
  const { config, database: db, embedded, dataDir } = await prepareRuntime();
  const applied = await migrate(config.db.url, MIGRATIONS_DIR);
  if (applied.length) console.error(`migrations applied: ${applied.join(', ')}`);

  const redis = config.redis.url ? new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false }) : null;
  if (redis) await redis.connect().catch((e) => console.error(`redis not reachable yet: ${(e as Error).message}`));

  const app = await buildApp(config, { redis });
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000).unref();
    await app.close().catch(() => {});
    redis?.disconnect();
    await db.release().catch(() => {});
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  if (config.role === 'worker') {
    console.error('ROLE=worker: no background jobs exist yet in this version (reminders and exports come with the deadlines and statistics modules); idling until stopped.');
    return;
  }
  const address = await app.listen({ host: config.http.host, port: config.http.port });
  const mode = embedded ? `embedded PostgreSQL (${dataDir}/pg)` : 'external PostgreSQL (DATABASE_URL)';
  console.error(
    [
      `API listening on ${address}   docs: ${address}/docs`,
      `database: ${mode}; redis: ${config.redis.url ? 'REDIS_URL' : 'not configured'}`,
      embedded ? 'To use your own servers set DATABASE_URL (and REDIS_URL) plus JWT_SECRET, ENCRYPTION_KEYS and BLIND_INDEX_KEY; see README.' : '',
      'No users yet? npm run cli -- create-admin --email you@example.org',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
