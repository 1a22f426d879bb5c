// Smoke test of the compiled service (CI, after `npm run build`): starts
// `node dist/main.js` (ROLE=all: API, workers and audit sequencer) on a
// throwaway database, waits for GET /health/ready to answer 200, stops it with
// SIGTERM and expects a clean exit; then drops the database. Plain Node, no tsx.
//
// Database: SMOKE_ADMIN_URL, else TEST_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres
// (a role that may CREATE DATABASE); when none answers, or with --embedded, the
// embedded PostgreSQL in a temporary data folder. Queues on PostgreSQL (no REDIS_URL).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'dist', 'main.js');
const READY_TIMEOUT_MS = Number(process.env.SMOKE_READY_TIMEOUT_MS ?? 90_000);
const STOP_TIMEOUT_MS = 25_000;

if (!existsSync(entry)) {
  console.error('smoke-dist: dist/main.js is missing; run `npm run build` first');
  process.exit(1);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function answers(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function admin(url, sql) {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

const secret = (n) => randomBytes(n).toString('base64');
const port = await freePort();
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  NODE_ENV: 'production',
  ROLE: 'all',
  HOST: '127.0.0.1',
  PORT: String(port),
  LOG_LEVEL: 'warn',
};

let cleanup = async () => {};
const adminUrl =
  process.env.SMOKE_ADMIN_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
if (!process.argv.includes('--embedded') && (await answers(adminUrl))) {
  const name = `smoke_dist_${process.pid}_${Date.now()}`;
  await admin(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  Object.assign(env, {
    DATABASE_URL: url.toString(),
    JWT_SECRET: secret(48),
    ENCRYPTION_KEYS: `k1:${secret(32)}`,
    BLIND_INDEX_KEY: secret(32),
    AUDIT_SIGNING_KEY: secret(32),
    STATS_NOISE_KEY: secret(32),
  });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smoke-dist-'));
  env.EXPORTS_DIR = path.join(dataDir, 'exports');
  console.log(`smoke-dist: database ${name} on ${url.host}`);
  cleanup = async () => {
    await admin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((e) =>
      console.error(`smoke-dist: could not drop ${name}: ${e.message}`),
    );
    rmSync(dataDir, { recursive: true, force: true });
  };
} else {
  // Embedded mode: the service starts its own PostgreSQL and generates its secrets.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smoke-dist-'));
  Object.assign(env, { EMBEDDED_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) });
  console.log(`smoke-dist: embedded PostgreSQL in ${dataDir}`);
  cleanup = async () => rmSync(dataDir, { recursive: true, force: true });
}

let output = '';
const started = performance.now();
const child = spawn(process.execPath, [entry], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
child.stdout.on('data', (c) => (output += c));
child.stderr.on('data', (c) => (output += c));
const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
let exit = null;
exited.then((e) => (exit = e));

async function waitReady() {
  const url = `http://127.0.0.1:${port}/health/ready`;
  while (performance.now() - started < READY_TIMEOUT_MS) {
    if (exit) return `exited before ready (${exit.signal ?? exit.code})`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return null;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return `not ready within ${READY_TIMEOUT_MS / 1000} s`;
}

let failure = await waitReady();
if (!failure) {
  console.log(`smoke-dist: /health/ready 200 after ${((performance.now() - started) / 1000).toFixed(2)} s`);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  const { code, signal } = await exited;
  clearTimeout(timer);
  if (code !== 0) failure = `SIGTERM did not stop it cleanly (exit ${signal ?? code})`;
  else console.log('smoke-dist: stopped cleanly on SIGTERM');
} else if (!exit) {
  child.kill('SIGKILL');
  await exited;
}
await cleanup();
if (failure) {
  console.error(`smoke-dist: FAILED: ${failure}\n--- output of node dist/main.js ---\n${output.slice(-4000)}`);
  process.exit(1);
}
console.log('smoke-dist: ok');
