// `npm test`: runs the whole suite against a real PostgreSQL, chosen in order:
//   1. TEST_DATABASE_URL (a role that may CREATE DATABASE),
//   2. a local PostgreSQL answering on 127.0.0.1:5432 (user postgres),
//   3. an embedded PostgreSQL started here (needs nothing installed).
// Redis: TEST_REDIS_URL, else 127.0.0.1:6379 when it answers, else none.
// Extra arguments go to vitest (e.g. `npm test -- test/auth.test.ts`).
// Reports: test-results/<TEST_REPORT>.json (default `vitest`) and, for the queue
// suites re-run on PostgreSQL, <TEST_REPORT>-pg-queue.json; CI gives another
// run (the subset on Node 24) its own name so its report is counted too.
// Vitest runs on the same Node as this script (process.execPath).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbedded } from '../src/lib/embedded-db.ts';
import { PROJECT_ROOT } from '../src/lib/paths.ts';
import { postgresAnswers, redisAnswers } from '../src/lib/service-probe.ts';

const report = process.env.TEST_REPORT || 'vitest';
if (!/^[\w.-]+$/.test(report)) {
  console.error(`TEST_REPORT must be a plain file name (letters, digits, . _ -), got ${JSON.stringify(report)}`);
  process.exit(2);
}
let release = async () => {};
let dbUrl = process.env.TEST_DATABASE_URL;
let mode: string;
if (dbUrl) mode = 'TEST_DATABASE_URL';
else if (await postgresAnswers('postgresql://postgres@127.0.0.1:5432/postgres')) {
  dbUrl = 'postgresql://postgres@127.0.0.1:5432/postgres';
  mode = 'local PostgreSQL on 127.0.0.1:5432';
} else {
  const dataDir = path.join(os.tmpdir(), `exile-case-test-pg-${process.getuid?.() ?? 'u'}`);
  const started = await startEmbedded(
    { EMBEDDED_DATA_DIR: dataDir, EMBEDDED_PG_PORT: process.env.TEST_EMBEDDED_PG_PORT ?? '54330' },
    (m) => console.error(m),
  );
  dbUrl = started.url;
  release = started.release;
  mode = `embedded PostgreSQL (${dataDir})`;
}
const redisCandidate = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisUrl = (await redisAnswers(redisCandidate)) ? redisCandidate : '';
console.log(
  `tests: database = ${mode}; redis = ${redisUrl ? redisCandidate : 'none (Redis-dependent checks use the no-Redis path)'}`,
);

mkdirSync(path.join(PROJECT_ROOT, 'test-results'), { recursive: true });
function vitest(args: string[], reportFile: string, extraEnv: Record<string, string> = {}): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      path.join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=test-results/${reportFile}`,
      ...args,
    ],
    {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
      env: { ...process.env, TEST_DATABASE_URL: dbUrl, TEST_REDIS_URL: redisUrl, ...extraEnv },
    },
  );
  return new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
}
const args = process.argv.slice(2);
console.log(`tests: node ${process.version}; report test-results/${report}.json`);
let code = await vitest(args, `${report}.json`);
// The queue suites run on Redis above; run them once more on BullMQ's
// PostgreSQL backend (the embedded single-machine mode) so both stay green.
if (redisUrl && args.length === 0) {
  const queueSuites = [
    'test/reminders.test.ts',
    'test/reminder-resilience.test.ts',
    'test/exports.test.ts',
    'test/export-linkage.test.ts',
    'test/backup-schedule.test.ts',
  ].filter((f) => existsSync(path.join(PROJECT_ROOT, f)));
  if (queueSuites.length) {
    console.log('tests: queue suites again on the PostgreSQL queue backend');
    const second = await vitest(queueSuites, `${report}-pg-queue.json`, { TEST_QUEUE_BACKEND: 'postgres' });
    code = code || second;
  }
}
await release();
process.exit(code);
