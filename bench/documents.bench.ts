// Document upload/download benchmark on a dedicated database on 127.0.0.1
// (created, then dropped), over real HTTP so the body really streams. The API
// runs as in production, in a process of its own (`node dist/main.js`,
// ROLE=api; built first when stale; `--tsx` runs src/main.ts instead); this
// process is the client's side: it sets up, hashes what it downloads, and
// measures the disk and PostgreSQL baselines.
//
//   npx tsx bench/documents.bench.ts [--mb 200] [--runs 2] [--client curl|node] [--profile DIR] [--store s3]
//
// Nothing forces a garbage collection: when this benchmark ran the API in its
// own process and forced collections between phases (--expose-gc) to read RSS
// at rest, V8 went on collecting every ~80 ms in the phases that followed (98
// full collections in one run instead of 31; `--trace-gc` shows it), which
// halved the speed of the API and of the baselines alike.
//
// --store s3 puts the bodies in a bucket of an s3rver (an S3-protocol server,
// started as a child process on 127.0.0.1 with a temporary folder) instead of
// PostgreSQL; the floor is then a plain PUT and GET of the same file.
//
// --profile DIR writes a V8 CPU profile of the API process for the whole run
// (node --cpu-prof; open it in Chrome DevTools, or summarise it with
// bench/cpu-profile-top.ts).
//
// Prints, next to a baseline measured in the same run on the same bytes:
//  1. upload MB/s (multipart → type check → AES-256-GCM chunks → PostgreSQL,
//     one transaction) vs writing the file to local disk with fsync;
//  2. download MB/s (manifest check → decrypt → stream) vs reading the file
//     back from disk (page cache, as the download reads PostgreSQL's);
// Each is also shown against the PostgreSQL floor: the same bytes as plain
// 64 KiB bytea rows in one binary COPY each way, on the app's own pool (no HTTP,
// multipart, crypto or checks): what the database itself takes to store and
// return them, the ceiling for the PostgreSQL store on this machine.
//  3. the API process's peak RSS during each (VmHWM, reset before each phase
//     through /proc/PID/clear_refs; sampled where that is refused) over its
//     RSS at rest just before (target for the upload: < +40 MB, i.e. the body
//     is never held whole);
//  4. CPU seconds of the API, of PostgreSQL and of the client during each, and
//     the WAL PostgreSQL wrote for an upload.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { CopyIn } from '../src/modules/documents/copy-in.ts';
import { CopyOutRows } from '../src/modules/documents/copy-out.ts';
import { loadConfig } from '../src/config.ts';
import { migrate } from '../src/lib/migrator.ts';
import { hashPassword } from '../src/lib/passwords.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
};
const MB = Number(arg('mb', '200'));
const RUNS = Number(arg('runs', '2'));
const PROFILE_DIR = arg('profile', '');
const STORE = arg('store', 'postgres');
// curl: the HTTP client is a separate process (as in a deployment, where it is another machine), so the API's
// event loop does not also build and send the upload or parse the download; node: the client in this process.
const CLIENT = arg('client', 'curl');
const SIZE = MB * 1024 * 1024;
const fmt = (n: number, d = 1) => n.toFixed(d);
const mbps = (bytes: number, ms: number) => bytes / 1024 / 1024 / (ms / 1000);

const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const name = `bench_docs_${randomBytes(4).toString('hex')}`;
const url = (() => {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
})();

/** CPU ticks (1/100 s, user + system) of a process by pid, and its waited-for children's. */
function procTicks(pid: number | 'self'): { own: number; children: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return { own: f[11] + f[12], children: f[13] + f[14] };
  } catch {
    return null; // ended meanwhile
  }
}

type CpuSnapshot = { api: number; s3rver: number; bench: number; curl: number; pg: Map<number, [string, number]> };

/**
 * CPU used so far (Linux /proc): the API process, s3rver (--store s3), this process (the client's side:
 * hashing, the node client), curl (waited-for children), and every PostgreSQL process by pid (the backends
 * of the bench's database; the server's own: WAL writer, checkpointer). Printed per phase, it shows which
 * of them a phase waits on.
 */
function cpuNow(apiPid: number): CpuSnapshot {
  const me = procTicks('self')!;
  const pg = new Map<number, [string, number]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      if (!readFileSync(`/proc/${pid}/stat`, 'utf8').includes('(postgres)')) continue;
      const kind = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name) ? 'backend' : 'server';
      const t = procTicks(pid);
      if (t) pg.set(pid, [kind, t.own]);
    } catch {
      // ended meanwhile
    }
  }
  return {
    api: procTicks(apiPid)?.own ?? 0,
    s3rver: s3child?.pid ? (procTicks(s3child.pid)?.own ?? 0) : 0,
    bench: me.own,
    curl: me.children,
    pg,
  };
}

function cpuSince(a: CpuSnapshot, ms: number, apiPid: number): string {
  const b = cpuNow(apiPid);
  // Per PostgreSQL process: one that started meanwhile counts whole, one that ended is left out (never negative).
  const pg = { backend: 0, server: 0 };
  for (const [pid, [kind, ticks]] of b.pg) pg[kind as 'backend' | 'server'] += ticks - (a.pg.get(pid)?.[1] ?? 0);
  const part = (ticks: number) => `${fmt(ticks / 100, 2)} s (${fmt((ticks / 100 / (ms / 1000)) * 100, 0)} %)`;
  return (
    `CPU api ${part(b.api - a.api)}, postgres backends ${part(pg.backend)}, postgres server ${part(pg.server)}, ` +
    `${s3child ? `s3rver ${part(b.s3rver - a.s3rver)}, ` : ''}curl ${part(b.curl - a.curl)}, ` +
    `bench ${part(b.bench - a.bench)} of ${fmt(ms / 1000, 2)} s`
  );
}

/** A field of /proc/PID/status in bytes (VmRSS: resident now; VmHWM: the peak since the last reset). */
function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** The API's RSS at rest (after a pause), and its peak while fn runs. */
async function apiMemory<T>(pid: number, fn: () => Promise<T>): Promise<{ result: T; idle: number; peak: number }> {
  await new Promise((r) => setTimeout(r, 300));
  const idle = procStatus(pid, 'VmRSS');
  let exact = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  } catch {
    exact = false;
  }
  let sampled = idle;
  const timer = exact ? null : setInterval(() => (sampled = Math.max(sampled, procStatus(pid, 'VmRSS'))), 25);
  try {
    const result = await fn();
    return { result, idle, peak: exact ? procStatus(pid, 'VmHWM') : Math.max(sampled, procStatus(pid, 'VmRSS')) };
  } finally {
    if (timer) clearInterval(timer);
  }
}

/** A text file of SIZE bytes (ASCII lines: an allowed type that needs no re-encoding), written in 1 MiB blocks. */
async function makeSource(file: string) {
  const out = createWriteStream(file);
  for (let written = 0; written < SIZE;) {
    const block = Buffer.from(
      (
        randomBytes(786_432)
          .toString('base64')
          .match(/.{1,76}/g) ?? []
      ).join('\n') + '\n',
    ).subarray(0, Math.min(1024 * 1024, SIZE - written));
    if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
    written += block.length;
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
}

async function sha256File(file: string) {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/** An s3rver child process with bucket "bench"; resolves once it answers. */
async function startS3rver(dataDir: string): Promise<{ endpoint: string; child: ChildProcess }> {
  const port = await freePort();
  const bin = path.join(process.cwd(), 'node_modules/s3rver/bin/s3rver.js');
  const child = spawn(
    process.execPath,
    [bin, '-d', dataDir, '-a', '127.0.0.1', '-p', String(port), '-s', '--configure-bucket', 'bench'],
    {
      stdio: 'ignore',
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`${endpoint}/bench`).then(
      () => true,
      () => false,
    );
    if (up) return { endpoint, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('s3rver did not start');
}

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = probe.address() as AddressInfo;
      probe.close(() => resolve(p));
    });
  });
}

/** Resolves once the API process prints that it listens; rejects with its last lines if it exits first. */
function listening(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let lines = '';
    const timer = setTimeout(() => reject(new Error(`API not listening after ${timeoutMs} ms:\n${lines}`)), timeoutMs);
    const onData = (c: Buffer) => {
      lines = (lines + c.toString()).slice(-4000);
      if (/API listening on http/.test(lines)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`API exited (${code}):\n${lines}`));
    });
  });
}

let api: ChildProcess | null = null;
/** Stops the API (SIGTERM: its graceful stop, which also writes --cpu-prof's profile). */
async function stopApi() {
  const child = api;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const hard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(hard);
}

let s3child: ChildProcess | null = null;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const dir = await mkdtemp(path.join(os.tmpdir(), 'docs-bench-'));
const deadline = setTimeout(() => {
  console.error('benchmark took too long; stopping');
  process.exit(1);
}, 20 * 60_000);
try {
  await migrate(url, MIGRATIONS_DIR);
  const s3 = STORE === 's3' ? await startS3rver(await mkdtemp(path.join(dir, 's3-'))) : null;
  s3child = s3?.child ?? null;
  const s3Env: Record<string, string> = s3
    ? {
        DOCUMENTS_S3_ENDPOINT: s3.endpoint,
        DOCUMENTS_S3_BUCKET: 'bench',
        DOCUMENTS_S3_ACCESS_KEY_ID: 'S3RVER',
        DOCUMENTS_S3_SECRET_ACCESS_KEY: 'S3RVER',
        DOCUMENTS_S3_FORCE_PATH_STYLE: 'true',
      }
    : {};
  const env: Record<string, string> = {
    ...s3Env,
    DATABASE_URL: url,
    ...randomSecretsEnv('b1'),
    LOG_LEVEL: 'warn',
    ARGON2_MEMORY_KIB: '19456',
    ARGON2_TIME_COST: '2',
    // The token outlives the run (the session is still checked on every request).
    ACCESS_TOKEN_TTL_SECONDS: '3600',
    DOCUMENT_MAX_BYTES: String(SIZE),
  };
  const config = loadConfig(env);

  // A caseworker of a team with one case, set up through the service in this process (then closed).
  const setup = await buildApp(config);
  const db = setup.db;
  const teamId = crypto.randomUUID();
  const userId = crypto.randomUUID();
  await db.team.create({ data: { id: teamId, name: 'Bench team', countries: ['AM'] } });
  await db.user.create({
    data: {
      id: userId,
      email: 'bench@example.org',
      displayName: 'Bench',
      role: 'CASEWORKER',
      passwordHash: await hashPassword('bench password long enough', config.auth.argon2),
    },
  });
  await db.teamMember.create({ data: { teamId, userId } });
  const login = await setup.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email: 'bench@example.org', password: 'bench password long enough' },
  });
  const token = login.json().accessToken as string;
  const auth = { authorization: `Bearer ${token}` };
  const person = await setup.inject({
    method: 'POST',
    url: '/v1/people',
    headers: auth,
    payload: { pseudonym: 'B', legalName: 'Bench Person', citizenship: 'RU', travelDocumentStatus: 'NONE' },
  });
  const kase = await setup.inject({
    method: 'POST',
    url: '/v1/cases',
    headers: auth,
    payload: { personId: person.json().id, teamId, hostCountry: 'AM' },
  });
  const caseId = kase.json().id as string;
  await setup.close();

  // The API in its own process, as deployed.
  const port = await freePort();
  const tsx = process.argv.includes('--tsx');
  if (!tsx) {
    const built = spawnSync(process.execPath, ['scripts/start.mjs', '--build'], { stdio: 'inherit' });
    if (built.status !== 0) throw new Error('npm run build failed');
  }
  api = spawn(
    process.execPath,
    [
      ...(PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []),
      ...(tsx ? ['--import', 'tsx', 'src/main.ts'] : ['dist/main.js']),
    ],
    {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...env,
        ROLE: 'api',
        HOST: '127.0.0.1',
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const apiPid = api.pid!;
  await listening(api, 120_000);

  const source = path.join(dir, 'source.txt');
  await makeSource(source);
  const sourceHash = await sha256File(source);

  /** Runs curl with args; resolves its stdout (or pipes it to `sink`) once it exits 0. */
  function curl(args: string[], sink?: (chunk: Buffer) => void): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn('curl', ['-sS', '--fail-with-body', '-H', `authorization: ${auth.authorization}`, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (c: Buffer) => (sink ? sink(c) : out.push(c)));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve(Buffer.concat(out).toString()) : reject(new Error(`curl ${code}: ${err}`)),
      );
    });
  }

  async function uploadOnce(): Promise<{ id: string; sha256: string }> {
    if (CLIENT === 'curl') {
      const body = await curl([
        '-F',
        'kind=OTHER',
        '-F',
        `file=@${source};type=application/octet-stream;filename=x.txt`,
        `http://127.0.0.1:${port}/v1/cases/${caseId}/documents`,
      ]);
      return JSON.parse(body) as { id: string; sha256: string };
    }
    const boundary = `----bench${randomBytes(8).toString('hex')}`;
    const pre = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nOTHER\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.txt"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    );
    const post = Buffer.from(`\r\n--${boundary}--\r\n`);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/v1/cases/${caseId}/documents`,
          headers: {
            ...auth,
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': String(pre.length + SIZE + post.length),
          },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () =>
            res.statusCode === 201 ? resolve(JSON.parse(body)) : reject(new Error(`${res.statusCode} ${body}`)),
          );
        },
      );
      req.on('error', reject);
      req.write(pre);
      const file = createReadStream(source);
      file.on('error', reject);
      file.on('end', () => req.end(post));
      file.pipe(req, { end: false });
    });
  }

  async function downloadOnce(id: string): Promise<{ bytes: number; sha256: string }> {
    if (CLIENT === 'curl') {
      // Hashed here, as the disk read is: only the HTTP client runs elsewhere.
      const h = createHash('sha256');
      let bytes = 0;
      await curl(['-o', '-', `http://127.0.0.1:${port}/v1/documents/${id}/content`], (c) => {
        bytes += c.length;
        h.update(c);
      });
      return { bytes, sha256: h.digest('hex') };
    }
    return new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: `/v1/documents/${id}/content`, headers: auth }, (res) => {
          if (res.statusCode !== 200) return reject(new Error(`download ${res.statusCode}`));
          const h = createHash('sha256');
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            h.update(c);
          });
          res.on('end', () => resolve({ bytes, sha256: h.digest('hex') }));
          res.on('error', reject);
        })
        .on('error', reject);
    });
  }

  async function diskWrite(): Promise<void> {
    const target = path.join(dir, 'copy.txt');
    await pipeline(createReadStream(source), createWriteStream(target));
    const fh = await open(target, 'r+');
    await fh.sync();
    await fh.close();
  }
  async function diskRead(): Promise<void> {
    const h = createHash('sha256');
    await pipeline(createReadStream(path.join(dir, 'copy.txt')), h);
  }

  // The PostgreSQL floor: the same bytes as plain 64 KiB bytea rows (STORAGE EXTERNAL, like document_chunks),
  // one binary COPY in (one transaction) and one binary COPY out, with the store's own COPY code.
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await pool.query('CREATE TABLE bench_raw (idx int PRIMARY KEY, body bytea NOT NULL)');
  await pool.query('ALTER TABLE bench_raw ALTER COLUMN body SET STORAGE EXTERNAL');
  async function pgWrite(): Promise<void> {
    await pool.query('TRUNCATE bench_raw');
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const copy = new CopyIn('COPY bench_raw (idx, body) FROM STDIN (FORMAT binary)');
      void client.query(copy as unknown as pg.QueryConfig);
      let idx = 0;
      for await (const chunk of createReadStream(source, { highWaterMark: 65536 })) {
        const body = chunk as Buffer;
        const head = Buffer.allocUnsafe(2 + 4 + 4 + 4);
        head.writeInt16BE(2, 0);
        head.writeInt32BE(4, 2);
        head.writeInt32BE(idx++, 6);
        head.writeInt32BE(body.length, 10);
        await copy.row(head, [body], head.length + body.length);
      }
      await copy.end();
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }
  async function pgRead(): Promise<void> {
    const h = createHash('sha256');
    const copy = new CopyOutRows('COPY (SELECT idx, body FROM bench_raw ORDER BY idx) TO STDOUT (FORMAT binary)', true);
    const client = await pool.connect();
    try {
      void client.query(copy as unknown as pg.QueryConfig);
      for await (const row of copy.rows()) h.update(row.body);
    } finally {
      client.release();
    }
    if (h.digest('hex') !== sourceHash) throw new Error('raw pg read differs');
  }
  /** Bytes of WAL PostgreSQL has written since `from` (a pg_current_wal_lsn()). */
  const walLsn = async () =>
    (await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
  const walSince = async (from: string) =>
    Number(
      (await pool.query<{ n: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS n', [from]))
        .rows[0].n,
    );

  // With --store s3, the floor is the bucket itself: one PUT and one GET of the file.
  const bucket = s3
    ? new S3Client({
        endpoint: s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      })
    : null;
  async function floorWrite() {
    if (!bucket) return pgWrite();
    await bucket.send(
      new PutObjectCommand({ Bucket: 'bench', Key: 'raw', Body: createReadStream(source), ContentLength: SIZE }),
    );
  }
  async function floorRead() {
    if (!bucket) return pgRead();
    const res = await bucket.send(new GetObjectCommand({ Bucket: 'bench', Key: 'raw' }));
    const h = createHash('sha256');
    await pipeline(res.Body as NodeJS.ReadableStream, h);
    if (h.digest('hex') !== sourceHash) throw new Error('raw s3 read differs');
  }
  const floor = bucket ? ['s3rver PUT', 's3rver GET'] : ['raw pg COPY in', 'raw pg COPY out'];

  const idle = procStatus(apiPid, 'VmRSS');
  console.log(
    `documents benchmark: ${MB} MiB text file, ${RUNS} runs each, store ${STORE}, client ${CLIENT}, database ${name}`,
  );
  console.log(`API (${tsx ? 'src/main.ts' : 'dist/main.js'}, pid ${apiPid}) RSS at start ${fmt(idle / 1048576)} MB`);
  for (let run = 1; run <= RUNS; run++) {
    let t = performance.now();
    await diskWrite();
    const diskW = performance.now() - t;
    t = performance.now();
    await diskRead();
    const diskR = performance.now() - t;

    t = performance.now();
    await floorWrite();
    const pgW = performance.now() - t;
    t = performance.now();
    await floorRead();
    const pgR = performance.now() - t;

    const wal = await walLsn();
    let cpu = cpuNow(apiPid);
    let upMs = 0;
    const up = await apiMemory(apiPid, async () => {
      const t0 = performance.now();
      const result = await uploadOnce();
      upMs = performance.now() - t0;
      return result;
    });
    const upCpu = cpuSince(cpu, upMs, apiPid);
    const walUp = await walSince(wal);
    if (up.result.sha256 !== sourceHash) throw new Error('upload hash differs from the source');
    cpu = cpuNow(apiPid);
    let downMs = 0;
    const down = await apiMemory(apiPid, async () => {
      const t0 = performance.now();
      const result = await downloadOnce(up.result.id);
      downMs = performance.now() - t0;
      return result;
    });
    const downCpu = cpuSince(cpu, downMs, apiPid);
    if (down.result.sha256 !== sourceHash || down.result.bytes !== SIZE) throw new Error('download differs');

    const upRate = mbps(SIZE, upMs);
    const downRate = mbps(SIZE, downMs);
    console.log(
      `run ${run}: upload ${fmt(upRate)} MB/s vs disk write+fsync ${fmt(mbps(SIZE, diskW))} MB/s ` +
        `(ratio ${fmt(upRate / mbps(SIZE, diskW), 2)}), vs ${floor[0]} ${fmt(mbps(SIZE, pgW))} MB/s ` +
        `(ratio ${fmt(upRate / mbps(SIZE, pgW), 2)}); API peak RSS +${fmt((up.peak - up.idle) / 1048576)} MB ` +
        `over ${fmt(up.idle / 1048576)} MB at rest`,
    );
    console.log(`run ${run}: upload ${upCpu}; PostgreSQL WAL ${fmt(walUp / 1048576)} MB`);
    console.log(
      `run ${run}: download ${fmt(downRate)} MB/s vs disk read ${fmt(mbps(SIZE, diskR))} MB/s ` +
        `(ratio ${fmt(downRate / mbps(SIZE, diskR), 2)}), vs ${floor[1]} ${fmt(mbps(SIZE, pgR))} MB/s ` +
        `(ratio ${fmt(downRate / mbps(SIZE, pgR), 2)}); API peak RSS +${fmt((down.peak - down.idle) / 1048576)} MB ` +
        `over ${fmt(down.idle / 1048576)} MB at rest`,
    );
    console.log(`run ${run}: download ${downCpu}`);
    const del = await fetch(`http://127.0.0.1:${port}/v1/documents/${up.result.id}`, {
      method: 'DELETE',
      headers: auth,
    });
    if (!del.ok) throw new Error(`delete ${del.status}`);
  }
  await pool.end();
  bucket?.destroy();
} finally {
  await stopApi();
  s3child?.kill();
  clearTimeout(deadline);
  await rm(dir, { recursive: true, force: true });
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
