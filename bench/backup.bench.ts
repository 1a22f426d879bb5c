// Backup and restore at scale, next to PostgreSQL's own tools in the same run.
//
//   npx tsx bench/backup.bench.ts [--cases 100000] [--events 1000000] [--small-events 10000]
//
// Seeds a dedicated database on 127.0.0.1 (bench/seed-stats.ts: 1M events by
// default), then runs the real commands (`scripts/backup.ts`, `scripts/restore.ts`,
// as `npm run backup` / `npm run restore` do) as child processes and prints:
//  1. backup: seconds, MB/s of table data, archive size, peak RSS, next to
//     `pg_dump -Fc` of the same database (target: >= 50% of its speed);
//  2. restore into an empty database (verification pass, schema, COPY, audit
//     check), next to `pg_restore` of the pg_dump archive into another one;
//  3. peak RSS of a backup of a 100x smaller data set: flat memory means the
//     two peaks are about equal (target: < 150 MB);
//  4. the one-off cost of a passphrase (age's scrypt, work factor 2^18).
// Databases and files are dropped at the end.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import pg from 'pg';
import { PROJECT_ROOT } from '../src/lib/paths.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';
import { assertLocal, dbUrl, seed } from './seed-stats.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
};
const CASES = Number(arg('cases', '100000'));
const EVENTS = Number(arg('events', '1000000'));
const SMALL = Number(arg('small-events', String(Math.max(1000, Math.floor(EVENTS / 100)))));
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
assertLocal(ADMIN_URL);

const tag = randomBytes(3).toString('hex');
const big = `bench_backup_${tag}`;
const small = `bench_backup_small_${tag}`;
const targets = [`bench_restore_${tag}`, `bench_pgrestore_${tag}`];
const dir = mkdtempSync(path.join(os.tmpdir(), 'exiles-backup-bench-'));
const identity = await generateIdentity();
const recipient = await identityToRecipient(identity);
writeFileSync(path.join(dir, 'id.txt'), `${identity}\n`, { mode: 0o600 });
const secrets = randomSecretsEnv('b1');
const mbOf = (bytes: number) => bytes / 1024 / 1024;

async function admin(sql: string) {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

type Run = { seconds: number; stdout: string; rss: number };
function script(
  name: 'backup' | 'restore',
  args: string[],
  db: string,
  extra: Record<string, string> = {},
  stdin = '',
) {
  const started = process.hrtime.bigint();
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=2', '--import', 'tsx', path.join('scripts', `${name}.ts`), ...args],
    {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, DATABASE_URL: dbUrl(ADMIN_URL, db), ...secrets, LOG_LEVEL: 'warn', ...extra },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let stdout = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stdin.end(stdin);
  return new Promise<Run>((resolve, reject) =>
    child.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${name} exited with ${code}: ${stdout}`));
      const rss = Number(/peak RSS ([\d.]+) MB/.exec(stdout)?.[1] ?? NaN);
      resolve({ seconds, stdout, rss });
    }),
  );
}

function timed(cmd: string, args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} exited with ${r.status}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function tableBytes(db: string): Promise<number> {
  const c = new pg.Client({ connectionString: dbUrl(ADMIN_URL, db) });
  await c.connect();
  try {
    // What COPY sends: the text of every row of every table of the schema.
    const { rows } = await c.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'`);
    let total = 0;
    for (const { t } of rows) {
      const [r] = (
        await c.query<{ b: string }>(`SELECT coalesce(sum(length(x::text) + 1), 0)::text AS b FROM "${t}" x`)
      ).rows;
      total += Number(r.b);
    }
    return total;
  } finally {
    await c.end();
  }
}

try {
  console.error(`seeding ${CASES} cases / ${EVENTS} events, and ${Math.floor(CASES / 100)} / ${SMALL} …`);
  await seed({ cases: CASES, events: EVENTS, db: big, adminUrl: ADMIN_URL }, () => {});
  await seed({ cases: Math.max(10, Math.floor(CASES / 100)), events: SMALL, db: small, adminUrl: ADMIN_URL }, () => {});
  for (const t of targets) await admin(`CREATE DATABASE ${t}`);
  const data = mbOf(await tableBytes(big));
  console.log(`data set: ${EVENTS} events, ${CASES} cases: ${data.toFixed(1)} MB of table data (COPY text)`);

  const out = path.join(dir, 'big.age');
  const ours = await script('backup', ['--out', out, '--recipient', recipient, '--without-secrets'], big);
  const dumpFile = path.join(dir, 'big.dump');
  const pgDump = timed('pg_dump', ['-Fc', '-f', dumpFile, dbUrl(ADMIN_URL, big)]);
  console.log(
    `backup   ours: ${ours.seconds.toFixed(1)} s (${(data / ours.seconds).toFixed(1)} MB/s), archive ${mbOf(statSync(out).size).toFixed(1)} MB (encrypted, uncompressed), peak RSS ${ours.rss} MB`,
  );
  console.log(
    `backup   pg_dump -Fc: ${pgDump.toFixed(1)} s (${(data / pgDump).toFixed(1)} MB/s), file ${mbOf(statSync(dumpFile).size).toFixed(1)} MB (compressed, not encrypted)`,
  );
  console.log(`backup   speed ratio ours / pg_dump -Fc: ${(pgDump / ours.seconds).toFixed(2)} (target >= 0.50)`);

  const restored = await script('restore', ['--in', out], targets[0], {
    BACKUP_IDENTITY_FILE: path.join(dir, 'id.txt'),
  });
  const pgRestore = timed('pg_restore', ['-d', dbUrl(ADMIN_URL, targets[1]), dumpFile]);
  console.log(
    `restore  ours: ${restored.seconds.toFixed(1)} s (${(data / restored.seconds).toFixed(1)} MB/s; reads the archive twice: verify, then load), peak RSS ${restored.rss} MB`,
  );
  console.log(`restore  pg_restore: ${pgRestore.toFixed(1)} s (${(data / pgRestore).toFixed(1)} MB/s)`);
  console.log(`restore  speed ratio ours / pg_restore: ${(pgRestore / restored.seconds).toFixed(2)}`);

  const smallRun = await script(
    'backup',
    ['--out', path.join(dir, 'small.age'), '--recipient', recipient],
    small,
    {},
    '',
  );
  console.log(
    `memory   backup peak RSS: ${smallRun.rss} MB for ${mbOf(await tableBytes(small)).toFixed(1)} MB of data, ${ours.rss} MB for ${data.toFixed(1)} MB (target < 150 MB)`,
  );
  const pass = await script('backup', ['--out', path.join(dir, 'pass.age')], small, {
    BACKUP_PASSPHRASE: 'a bench passphrase, long enough',
  });
  console.log(
    `memory   with a passphrase instead of a recipient: ${pass.seconds.toFixed(1)} s, peak RSS ${pass.rss} MB (age's scrypt, 2^18: a one-off ~256 MiB at the start)`,
  );
} finally {
  for (const db of [big, small, ...targets]) await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
