// `npm run db:reset` (development only): drops the database and creates it
// again empty, then applies every migration. Embedded mode (no DATABASE_URL):
// the embedded server's database, started if needed. With DATABASE_URL: that
// database, only on localhost/127.0.0.1/::1 unless `--force` is given. Never
// with NODE_ENV=production (not even with --force). Every connection to the
// database is closed first (a running `npm start` loses its own).
import { existsSync } from 'node:fs';
import pg from 'pg';
import { migrate } from '../src/lib/migrator.js';
import { MIGRATIONS_DIR } from '../src/lib/paths.js';
import { resolveDatabase } from '../src/lib/embedded-db.js';
import { ENV_FILE } from '../src/runtime.js';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Why a reset must not run here, or null when it may. */
function resetRefusal(env: NodeJS.ProcessEnv, force: boolean): string | null {
  if (env.NODE_ENV === 'production') {
    return 'refusing to reset: NODE_ENV=production (db:reset is for development only; --force does not override this)';
  }
  if (!env.DATABASE_URL) return null;
  let host: string;
  try {
    host = new URL(env.DATABASE_URL).hostname;
  } catch {
    return 'refusing to reset: DATABASE_URL is not a URL';
  }
  if (!LOCAL_HOSTS.has(host) && !force) {
    return `refusing to reset: DATABASE_URL points at ${host || '(no host)'}, not localhost/127.0.0.1; add --force if you really mean to erase it`;
  }
  return null;
}

if (existsSync(ENV_FILE)) process.loadEnvFile(ENV_FILE);
const force = process.argv.includes('--force');
const refusal = resetRefusal(process.env, force);
if (refusal) {
  console.error(refusal);
  process.exit(1);
}

const db = await resolveDatabase(process.env);
try {
  const target = new URL(db.url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new Error(`unexpected database name: ${name}`);
  const maintenance = new URL(db.url);
  maintenance.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: maintenance.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const applied = await migrate(db.url, MIGRATIONS_DIR);
  console.log(`database ${name} (${db.mode}) dropped, created and migrated: ${applied.length} migrations applied`);
  console.log('next: npm run cli -- create-admin --email you@example.org, then npm run seed:demo for fictional data');
} finally {
  await db.release();
}
