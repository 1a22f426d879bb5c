// Statistics benchmark, on a dedicated database on 127.0.0.1 (created and
// seeded by bench/seed-stats.ts when missing or when the size differs).
//
//   npx tsx bench/stats.bench.ts [--cases 100000] [--events 1000000] [--runs 5] [--reseed] [--only-stats]
//
// Prints, each against a baseline measured here in the same run:
//  1. GET /v1/stats/events?groupBy=hostCountry,type,quarter through real HTTP
//     vs exactly the same SQL statement run with psql (\timing), as a ratio
//     (target <= 1.5); and, for context, vs a bare count(*) GROUP BY without
//     distinct cases or margins. The API now also completes the full domain,
//     runs protection intervals (an LP per primary cell), checks the query
//     log and records the publication: all of it is inside this ratio.
//  1b. The protection alone, in this process on the same rows: the cube
//     statement (through Prisma) vs the domain completion + protectCube with
//     protection intervals, and with the old two-per-line rule, as ratios.
//     (--only-stats stops here.)
//  2. The anonymised research export of every event, built by the real
//     BullMQ worker in a child process: rows/s and the child's peak RSS
//     (target < 200 MB), next to the same child's RSS before the job.
//  3. The download of that file through the API: bytes/s and how much the API
//     process's RSS grew while streaming it.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
// Only what an export worker needs is imported statically: the worker child
// process measures its memory, so the API (Fastify, swagger, vega) is loaded
// by the parent alone, with import() in main().
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db.ts';
import { createQueueKit } from '../src/workers/queue-kit.ts';
import { startExportWorker } from '../src/workers/exports.worker.ts';
import { redisAnswers } from '../src/lib/service-probe.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';

const THIS_FILE = fileURLToPath(import.meta.url);
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

function benchEnv(url: string, exportsDir: string, redisUrl: string | null, prefix: string): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: url,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    ...randomSecretsEnv('b1'),
    ARGON2_MEMORY_KIB: '19456',
    ARGON2_TIME_COST: '2',
    LOG_LEVEL: 'warn',
    EXPORTS_DIR: exportsDir,
    BENCH_QUEUE_PREFIX: prefix,
  };
}

/** psql's own timing of one statement (run inside a transaction with the API's settings), in ms. */
function psqlTiming(url: string, statement: string, settings: readonly string[]): number {
  const script = [
    '\\timing on',
    'BEGIN READ ONLY;',
    ...settings.map((s) => `${s};`),
    `${statement} \\g /dev/null`,
    'COMMIT;',
  ].join('\n');
  const out = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url], { input: script, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`psql failed: ${out.stderr}`);
  const times = [...out.stdout.matchAll(/Time: ([\d.]+) ms/g)].map((m) => Number(m[1]));
  // BEGIN, the SETs, the statement, COMMIT: the statement is the second-to-last.
  return times[times.length - 2];
}

// ---------------------------------------------------------------------------
// Child: one export worker, reporting its peak RSS.
// ---------------------------------------------------------------------------
async function exportWorkerChild() {
  const config = loadConfig(process.env);
  const db = createDb(config.db.url, 4);
  const kit = createQueueKit(config, { prefix: process.env.BENCH_QUEUE_PREFIX });
  const exportId = arg('export-id', '');
  // The baseline is the process ready to work: Prisma's query compiler loaded
  // (it loads on the first query), queue connections open.
  await db.export.count();
  await kit.queue('exports').getJobCounts();
  await new Promise((r) => setTimeout(r, 500));
  const rssBefore = process.memoryUsage().rss;
  let started = 0;
  let buildPeakRss: number | null = null;
  const info = (o: object) => {
    const mbv = (o as { childMaxRssMb?: number }).childMaxRssMb;
    if (mbv) buildPeakRss = mbv * 1e6;
  };
  startExportWorker({
    db,
    config,
    kit,
    clock: () => new Date(),
    log: { info, warn: (o) => console.error(o), error: (o) => console.error(o) },
  }).on('active', (job) => {
    if (job.name === 'build' && !started) started = performance.now();
  });
  let peakSampled = rssBefore;
  let ticks = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakSampled = Math.max(peakSampled, m.rss);
    if (process.env.BENCH_MEM_TRACE && ++ticks % 10 === 0) {
      console.error(
        `rss ${mb(m.rss)} heapTotal ${mb(m.heapTotal)} heapUsed ${mb(m.heapUsed)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)}`,
      );
    }
  }, 100);
  for (;;) {
    const row = await db.export.findUnique({
      where: { id: exportId },
      select: { status: true, rowCount: true, metadata: true },
    });
    if (row && (row.status === 'DONE' || row.status === 'FAILED')) {
      const ms = performance.now() - started;
      clearInterval(sampler);
      const maxRssKb = process.resourceUsage().maxRSS;
      // The build runs in its own child process (src/workers/export-child.ts): wait for its report.
      for (let i = 0; i < 50 && buildPeakRss === null; i++) await new Promise((r) => setTimeout(r, 100));
      process.stdout.write(
        JSON.stringify({
          status: row.status,
          rows: row.rowCount,
          metadata: row.metadata,
          ms,
          rssBefore,
          peakRss: maxRssKb * 1024,
          peakSampled,
          buildPeakRss,
        }) + '\n',
      );
      await kit.close();
      await db.$disconnect();
      process.exit(0);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

// ---------------------------------------------------------------------------
// Parent
// ---------------------------------------------------------------------------
async function main() {
  const { buildApp } = await import('../src/app.ts');
  const { hashPassword } = await import('../src/lib/passwords.ts');
  const { buildEventsCubeSql, STATS_SESSION_SETTINGS } = await import('../src/modules/stats/stats.sql.ts');
  const { assertLocal, dbUrl, parseArgs, seed } = await import('./seed-stats.ts');
  const opts = parseArgs(process.argv.slice(2));
  const runs = Number(arg('runs', '5'));
  const url = dbUrl(opts.adminUrl, opts.db);
  assertLocal(url);

  // Seed when the database is missing or holds another size.
  let counts: { cases: number; events: number } | null = null;
  const probe = new pg.Client({ connectionString: url });
  try {
    await probe.connect();
    const { rows } = await probe.query<{ cases: number; events: number }>(
      'SELECT (SELECT count(*) FROM cases)::int AS cases, (SELECT count(*) FROM events)::int AS events',
    );
    counts = rows[0];
  } catch {
    counts = null;
  } finally {
    await probe.end().catch(() => {});
  }
  if (process.argv.includes('--reseed') || !counts || counts.cases !== opts.cases || counts.events !== opts.events) {
    console.error(`seeding ${opts.db} with ${opts.cases} cases and ${opts.events} events …`);
    await seed(opts);
  }

  const redisUrl = (await redisAnswers('redis://127.0.0.1:6379')) ? 'redis://127.0.0.1:6379' : null;
  const exportsDir = mkdtempSync(path.join(os.tmpdir(), 'bench-exports-'));
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const envVars = benchEnv(url, exportsDir, redisUrl, prefix);
  const config = loadConfig(envVars);
  const queues = createQueueKit(config, { prefix });
  const db = createDb(url, 10);
  const app = await buildApp(config, { db, queues });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });

  const email = `bench-${randomBytes(4).toString('hex')}@bench.invalid`;
  await db.user.create({
    data: {
      id: randomUUID(),
      email,
      displayName: 'Bench coordinator',
      role: 'COORDINATOR',
      passwordHash: await hashPassword('bench password for the benchmark only', config.auth.argon2),
    },
  });
  const login = await fetch(`${base}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'bench password for the benchmark only' }),
  });
  const { accessToken } = (await login.json()) as { accessToken: string };
  const auth = { authorization: `Bearer ${accessToken}` };

  // 1. Aggregate through the API vs the same SQL through psql.
  const groupBy = ['hostCountry', 'type', 'quarter'] as const;
  const apiUrl = `${base}/v1/stats/events?groupBy=${groupBy.join(',')}`;
  const sql = buildEventsCubeSql([...groupBy], {});
  if (sql.values.length) throw new Error('the benchmark statement should need no parameters');
  const naive = `SELECT c.host_country, e.type, date_trunc('quarter', e.occurred_at AT TIME ZONE 'UTC'), count(*) FROM events e JOIN cases c ON c.id = e.case_id GROUP BY 1, 2, 3`;
  const api: number[] = [];
  const direct: number[] = [];
  const bare: number[] = [];
  let cells = 0;
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const res = await fetch(apiUrl, { headers: auth });
    const body = (await res.json()) as { cells: unknown[] };
    const t = performance.now() - t0;
    if (res.status !== 200) throw new Error(`API answered ${res.status}`);
    cells = body.cells.length;
    const p = psqlTiming(url, sql.text, STATS_SESSION_SETTINGS);
    const n = psqlTiming(url, naive, []);
    if (i === 0) continue; // warm-up
    api.push(t);
    direct.push(p);
    bare.push(n);
  }

  // 1b. The cost of protection, in this process, on the same rows.
  const { protectCube } = await import('../src/modules/stats/disclosure.ts');
  const largeLp = await (await import('../src/modules/stats/cube-lp.ts')).loadHighs();
  const { completeCube, domainOf } = await import('../src/modules/stats/domain.ts');
  const { isMultiValued, rowsToCube, withStatsTransaction } = await import('../src/modules/stats/stats.sql.ts');
  type Row = Parameters<typeof rowsToCube>[0][number];
  const sqlMs: number[] = [];
  const ivMs: number[] = [];
  const oldMs: number[] = [];
  let protection: ReturnType<typeof protectCube>['protection'] | undefined;
  let entries = 0;
  let primaries = 0;
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const { rows, domain } = await withStatsTransaction(db, async (run) => ({
      rows: await run<Row>(sql),
      domain: await domainOf(run, [...groupBy], {}),
    }));
    const t1 = performance.now();
    const k = config.stats.defaultK;
    const multi = groupBy.map(isMultiValued);
    const r = protectCube(completeCube(rowsToCube(rows, groupBy.length), domain), k, {
      pct: config.stats.protectionPct,
      multi,
      largeLp,
    });
    const t2 = performance.now();
    protectCube(completeCube(rowsToCube(rows, groupBy.length), domain), k, { intervals: false });
    const t3 = performance.now();
    if (i === 0) continue;
    sqlMs.push(t1 - t0);
    ivMs.push(t2 - t1);
    oldMs.push(t3 - t2);
    protection = r.protection;
    entries = r.entries.length;
    primaries = r.suppressed.cells.primary + r.suppressed.totals.primary;
  }
  const protectLines = [
    `1b. protection of that table in-process (${entries} cells and totals, ${primaries} primary)`,
    `   cube statement + domain through Prisma .... ${median(sqlMs).toFixed(0)} ms`,
    `   full domain + protection intervals ........ ${median(ivMs).toFixed(0)} ms (${protection?.lpSolves} LP solves, ${protection?.largeLpSolves} of them HiGHS; ${protection?.byHypercube} cells by hypercube; ${protection?.complementsAdded} complements beyond two-per-line; ${protection?.unverified} unverified)`,
    `   full domain + two-per-line only (before) .. ${median(oldMs).toFixed(0)} ms`,
    `   ratio (statement + intervals) / statement . ${((median(sqlMs) + median(ivMs)) / median(sqlMs)).toFixed(2)}   (target <= 1.5)`,
  ];
  if (process.argv.includes('--only-stats')) {
    const apiMs = median(api);
    console.log(
      [
        `statistics benchmark: ${opts.db} (${opts.cases} cases, ${opts.events} events), ${runs} runs (median)`,
        ``,
        `1. GET /v1/stats/events?groupBy=${groupBy.join(',')} (${cells} cells, default k)`,
        `   API over HTTP ............................. ${apiMs.toFixed(0)} ms`,
        `   same statement via psql (baseline) ........ ${median(direct).toFixed(0)} ms`,
        `   ratio API / psql .......................... ${(apiMs / median(direct)).toFixed(2)}   (target <= 1.5)`,
        `   context: bare count(*) GROUP BY via psql .. ${median(bare).toFixed(0)} ms`,
        ``,
        ...protectLines,
      ].join('\n'),
    );
    await app.close();
    await queues.close();
    await db.$disconnect();
    rmSync(exportsDir, { recursive: true, force: true });
    return;
  }

  // 2. The research export of all events, in a worker child process: once
  // with Node's default heap sizing, once with the old space capped, which
  // shows how much of the peak is live memory rather than garbage V8 has not
  // yet collected.
  type ExportResult = {
    status: string;
    rows: number;
    metadata: { eventsMatched: number; rowsDropped: number; rowsByPeriodPrecision: Record<string, number> };
    ms: number;
    rssBefore: number;
    peakRss: number;
    buildPeakRss: number | null;
  };
  const capped = process.env.BENCH_WORKER_CAP ?? '--max-old-space-size=128';
  const exportRuns: { flags: string; id: string; r: ExportResult }[] = [];
  for (const flags of ['', capped]) {
    const post = await fetch(`${base}/v1/exports`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'events-anonymised', format: 'csv' }),
    });
    if (post.status !== 202) throw new Error(`export: ${post.status} ${await post.text()}`);
    const { id } = (await post.json()) as { id: string };
    const child = spawn(
      process.execPath,
      [...flags.split(' ').filter(Boolean), '--import', 'tsx', THIS_FILE, '--export-worker', '--export-id', id],
      { env: { ...process.env, ...envVars }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise((resolve) => child.on('exit', resolve));
    const r = JSON.parse(out.trim().split('\n').pop()!) as ExportResult;
    if (r.status !== 'DONE') throw new Error(`export ${r.status}`);
    exportRuns.push({ flags: flags || 'default heap', id, r });
  }
  const result = exportRuns[0].r;
  const exportId = exportRuns[0].id;

  // 3. Download through the API, watching this process's RSS.
  const rss0 = process.memoryUsage().rss;
  let rssPeak = rss0;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
  const t0 = performance.now();
  const dl = await fetch(`${base}/v1/exports/${exportId}/download`, { headers: auth });
  let bytes = 0;
  for await (const chunk of dl.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  const dlMs = performance.now() - t0;
  clearInterval(sampler);

  const apiMs = median(api);
  const psqlMs = median(direct);
  const bareMs = median(bare);
  const eventsPerS = result.metadata.eventsMatched / (result.ms / 1000);
  const rowsPerS = result.rows / (result.ms / 1000);
  const lines = [
    `statistics benchmark: ${opts.db} (${opts.cases} cases, ${opts.events} events), queue backend ${redisUrl ? 'redis' : 'postgres'}, ${runs} runs (median)`,
    ``,
    `1. GET /v1/stats/events?groupBy=${groupBy.join(',')} (${cells} cells, default k)`,
    `   API over HTTP ............................. ${apiMs.toFixed(0)} ms`,
    `   same statement via psql (baseline) ........ ${psqlMs.toFixed(0)} ms`,
    `   ratio API / psql .......................... ${(apiMs / psqlMs).toFixed(2)}   (target <= 1.5)`,
    `   context: bare count(*) GROUP BY via psql .. ${bareMs.toFixed(0)} ms; API / bare = ${(apiMs / bareMs).toFixed(2)} (the API also counts distinct cases and every margin)`,
    ``,
    ...protectLines,
    ``,
    `2. research export of all events (csv, k = default), one worker process`,
    `   events read ${result.metadata.eventsMatched}, rows written ${result.rows} (month ${result.metadata.rowsByPeriodPrecision.month}, quarter ${result.metadata.rowsByPeriodPrecision.quarter}, year ${result.metadata.rowsByPeriodPrecision.year}; dropped ${result.metadata.rowsDropped})`,
    `   time ${(result.ms / 1000).toFixed(1)} s: ${rowsPerS.toFixed(0)} rows/s written, ${eventsPerS.toFixed(0)} events/s processed`,
    ...exportRuns.map(
      ({ flags, r }) =>
        `   [${flags}] export build process peak RSS ${r.buildPeakRss ? mb(r.buildPeakRss) : '?'} MB (target < 200 MB); worker process peak ${mb(r.peakRss)} MB, idle baseline ${mb(r.rssBefore)} MB; ${(r.ms / 1000).toFixed(1)} s`,
    ),
    ``,
    `3. download through the API: ${mb(bytes)} MB in ${(dlMs / 1000).toFixed(2)} s (${mb(bytes / (dlMs / 1000))} MB/s); API process RSS ${mb(rss0)} MB before, peak ${mb(rssPeak)} MB (+${mb(rssPeak - rss0)} MB)`,
  ];
  console.log(lines.join('\n'));

  await app.close();
  await queues.close();
  await db.$disconnect();
  rmSync(exportsDir, { recursive: true, force: true });
}

if (process.argv.includes('--export-worker')) {
  exportWorkerChild().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  });
}
