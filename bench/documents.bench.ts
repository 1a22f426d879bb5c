// Document upload/download benchmark on a dedicated database on 127.0.0.1
// (created, then dropped), over real HTTP so the body really streams.
//
//   node --expose-gc --import tsx bench/documents.bench.ts [--mb 200] [--runs 2] [--profile DIR] [--store s3]
//
// --store s3 puts the bodies in a bucket of an s3rver (an S3-protocol server,
// started as a child process on 127.0.0.1 with a temporary folder) instead of
// PostgreSQL; the floor is then a plain PUT and GET of the same file.
//
// --profile DIR writes a V8 CPU profile of each upload and each download alone
// (open it in Chrome DevTools, or summarise it with bench/cpu-profile-top.ts).
//
// Prints, next to a baseline measured in the same run on the same bytes:
//  1. upload MB/s (multipart → type check → AES-256-GCM chunks → PostgreSQL,
//     one transaction) vs writing the file to local disk with fsync;
//  2. download MB/s (manifest check → decrypt → stream) vs reading the file
//     back from disk (page cache, as the download reads PostgreSQL's);
// Each is also shown against the PostgreSQL floor: the same bytes written and
// read as plain bytea rows (no multipart, crypto or checks).
//  3. peak RSS during each, over the idle RSS of the same process (target for
//     the upload: < +40 MB, i.e. the body is never held whole).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
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

/** RSS at rest: garbage of the previous phase collected (run with --expose-gc for a clean floor). */
async function settledRss(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
  return process.memoryUsage.rss();
}

/** fn under the V8 CPU profiler when --profile is given (the profile written to DIR/label.cpuprofile). */
async function profiled<T>(label: string, fn: () => Promise<T>): Promise<T> {
  if (!PROFILE_DIR) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(path.join(PROFILE_DIR, `${label}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

/** Peak RSS while fn runs (sampled every 10 ms). */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ result: T; peak: number; buffers: number }> {
  let peak = process.memoryUsage.rss();
  let buffers = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
    buffers = Math.max(buffers, process.memoryUsage().arrayBuffers);
  }, 10);
  try {
    const result = await fn();
    return { result, peak: Math.max(peak, process.memoryUsage.rss()), buffers };
  } finally {
    clearInterval(timer);
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
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = probe.address() as AddressInfo;
      probe.close(() => resolve(p));
    });
  });
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
  const s3Env = s3
    ? {
        DOCUMENTS_S3_ENDPOINT: s3.endpoint,
        DOCUMENTS_S3_BUCKET: 'bench',
        DOCUMENTS_S3_ACCESS_KEY_ID: 'S3RVER',
        DOCUMENTS_S3_SECRET_ACCESS_KEY: 'S3RVER',
        DOCUMENTS_S3_FORCE_PATH_STYLE: 'true',
      }
    : {};
  const config = loadConfig({
    ...s3Env,
    DATABASE_URL: url,
    ...randomSecretsEnv('b1'),
    LOG_LEVEL: 'warn',
    ARGON2_MEMORY_KIB: '19456',
    ARGON2_TIME_COST: '2',
    DOCUMENT_MAX_BYTES: String(SIZE),
  });
  const app = await buildApp(config);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;

  // A caseworker of a team with one case.
  const db = app.db;
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
  const login = await app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email: 'bench@example.org', password: 'bench password long enough' },
  });
  const token = login.json().accessToken as string;
  const auth = { authorization: `Bearer ${token}` };
  const person = await app.inject({
    method: 'POST',
    url: '/v1/people',
    headers: auth,
    payload: { pseudonym: 'B', legalName: 'Bench Person', citizenship: 'RU', travelDocumentStatus: 'NONE' },
  });
  const kase = await app.inject({
    method: 'POST',
    url: '/v1/cases',
    headers: auth,
    payload: { personId: person.json().id, teamId, hostCountry: 'AM' },
  });
  const caseId = kase.json().id as string;

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

  // The PostgreSQL floor: the same bytes as plain 64 KiB bytea rows, no
  // multipart, crypto or checks (one INSERT per 16 rows, one transaction;
  // SELECTs of 16 rows), on the app's own pool.
  const pool = app.sqlPool;
  await pool.query('CREATE TABLE bench_raw (idx int PRIMARY KEY, body bytea NOT NULL)');
  await pool.query('ALTER TABLE bench_raw ALTER COLUMN body SET STORAGE EXTERNAL');
  async function pgWrite(): Promise<void> {
    await pool.query('TRUNCATE bench_raw');
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      let idx = 0;
      let batch: Buffer[] = [];
      const send = async () => {
        const values: unknown[] = [];
        const rows = batch.map((b) => {
          values.push(idx++, b);
          return `($${values.length - 1}::int, $${values.length}::bytea)`;
        });
        batch = [];
        if (rows.length) await client.query(`INSERT INTO bench_raw VALUES ${rows.join(', ')}`, values);
      };
      for await (const chunk of createReadStream(source, { highWaterMark: 65536 })) {
        batch.push(chunk as Buffer);
        if (batch.length === 16) await send();
      }
      await send();
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }
  async function pgRead(): Promise<void> {
    const h = createHash('sha256');
    const n = Math.ceil(SIZE / 65536);
    for (let i = 0; i < n; i += 16) {
      const { rows } = await pool.query<{ body: Buffer }>(
        'SELECT body FROM bench_raw WHERE idx BETWEEN $1 AND $2 ORDER BY idx',
        [i, i + 15],
      );
      for (const r of rows) h.update(r.body);
    }
    if (h.digest('hex') !== sourceHash) throw new Error('raw pg read differs');
  }

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
  const floor = bucket ? ['s3rver PUT', 's3rver GET'] : ['raw pg INSERT', 'raw pg SELECT'];

  const idle = await settledRss();
  console.log(
    `documents benchmark: ${MB} MiB text file, ${RUNS} runs each, store ${STORE}, client ${CLIENT}, database ${name}`,
  );
  console.log(
    `idle RSS ${fmt(idle / 1048576)} MB${globalThis.gc ? '' : ' (no --expose-gc: RSS deltas include uncollected garbage)'}`,
  );
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

    const idleUp = await settledRss();
    t = performance.now();
    const up = await peakRss(() => profiled(`upload-${run}`, uploadOnce));
    const upMs = performance.now() - t;
    if (up.result.sha256 !== sourceHash) throw new Error('upload hash differs from the source');
    const idleDown = await settledRss();
    t = performance.now();
    const down = await peakRss(() => profiled(`download-${run}`, () => downloadOnce(up.result.id)));
    const downMs = performance.now() - t;
    if (down.result.sha256 !== sourceHash || down.result.bytes !== SIZE) throw new Error('download differs');

    const upRate = mbps(SIZE, upMs);
    const downRate = mbps(SIZE, downMs);
    console.log(
      `run ${run}: upload ${fmt(upRate)} MB/s vs disk write+fsync ${fmt(mbps(SIZE, diskW))} MB/s ` +
        `(ratio ${fmt(upRate / mbps(SIZE, diskW), 2)}), vs ${floor[0]} ${fmt(mbps(SIZE, pgW))} MB/s ` +
        `(ratio ${fmt(upRate / mbps(SIZE, pgW), 2)}); peak RSS +${fmt((up.peak - idleUp) / 1048576)} MB over idle ` +
        `(Buffers peak ${fmt(up.buffers / 1048576)} MB)`,
    );
    console.log(
      `run ${run}: download ${fmt(downRate)} MB/s vs disk read ${fmt(mbps(SIZE, diskR))} MB/s ` +
        `(ratio ${fmt(downRate / mbps(SIZE, diskR), 2)}), vs ${floor[1]} ${fmt(mbps(SIZE, pgR))} MB/s ` +
        `(ratio ${fmt(downRate / mbps(SIZE, pgR), 2)}); peak RSS +${fmt((down.peak - idleDown) / 1048576)} MB over idle ` +
        `(Buffers peak ${fmt(down.buffers / 1048576)} MB)`,
    );
    await app.inject({ method: 'DELETE', url: `/v1/documents/${up.result.id}`, headers: auth });
  }
  await app.close();
  bucket?.destroy();
} finally {
  s3child?.kill();
  clearTimeout(deadline);
  await rm(dir, { recursive: true, force: true });
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
