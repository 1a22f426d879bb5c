// Reminder delivery benchmark (issue 3): N open deadlines whose day-before
// reminders all fall due within one minute, delivered to a local webhook sink
// by two worker processes (`tsx src/main.ts`, ROLE=worker).
//
//   npx tsx bench/reminders.bench.ts [--deadlines 100000] [--workers 2] [--window 60]
//                                    [--lead 75] [--warmup 2000] [--timeout 600] [--db exile_bench_reminders]
//                                    [--backend redis|postgres] [--concurrency 50] [--keep] [--cpu-prof DIR]
//
// Everything runs on this machine: PostgreSQL on 127.0.0.1 (BENCH_ADMIN_URL,
// default postgresql://postgres@127.0.0.1:5432/postgres; the benchmark drops
// and recreates its own database), queues on a private redis-server started
// here (or BENCH_REDIS_URL; --backend postgres uses BullMQ's PostgreSQL
// backend instead), the webhook sink on 127.0.0.1. One recipient, webhook on,
// email off. Rows are inserted with set-based multi-row INSERT … SELECT FROM
// generate_series, after the workers are up; send times are spread evenly
// over --window seconds starting --lead seconds later. The relay (a BullMQ
// job scheduler every REMINDER_RELAY_SECONDS = 30 s, horizon 300 s) queues
// reminders minutes before they fall due in service; here all 100,000 appear
// at once, and queueing them takes ~15 s, so the default lead of 75 s lets a
// relay run finish before the window (with --lead 40 it can overlap the
// window's first seconds: the "relay runs" line shows when it ended).
// --warmup N reminders fall due over the 10 s that end 5 s before the window,
// as a worker in service would have been delivering; they are delivered and
// counted in "all delivered" and "none twice" but kept out of the lag figures.
//
// Prints: delivered/s, lag from send_at to arrival at the sink (p50/p99/max),
// total delivered, duplicates in the database (must be 0) and repeats seen by
// the sink (counted separately: a webhook may legitimately arrive twice after
// a crash, with the same idempotency key). Aborts after --timeout seconds.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { FieldCrypto, normaliseName } from '../src/lib/field-crypto.ts';
import { migrate } from '../src/lib/migrator.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';
import { spawnWorker, startPrivateRedis, workerEnvFromConfig, type WorkerProc } from '../test/reminder-procs.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';

function args(argv: string[]) {
  const get = (name: string, def: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : def;
  };
  const o = {
    deadlines: Number(get('deadlines', '100000')),
    workers: Number(get('workers', '2')),
    concurrency: get('concurrency', '50'),
    windowS: Number(get('window', '60')),
    leadS: Number(get('lead', '75')),
    warmup: Number(get('warmup', '2000')),
    timeoutS: Number(get('timeout', '600')),
    db: get('db', 'exile_bench_reminders'),
    backend: get('backend', 'redis') as 'redis' | 'postgres',
    keep: argv.includes('--keep'),
    profileDir: get('cpu-prof', ''),
    adminUrl: process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  };
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(o.db)) throw new Error('--db must be a plain lower-case identifier');
  if (!Number.isInteger(o.deadlines) || o.deadlines < 1) throw new Error('--deadlines must be a positive integer');
  if (!Number.isInteger(o.warmup) || o.warmup < 0) throw new Error('--warmup must be a non-negative integer');
  if (o.leadS < 20) throw new Error('--lead must leave room for the 15 s warm-up before the window (at least 20)');
  if (!['redis', 'postgres'].includes(o.backend)) throw new Error('--backend redis|postgres');
  for (const u of [o.adminUrl, process.env.BENCH_REDIS_URL].filter(Boolean) as string[]) {
    const host = new URL(u).hostname;
    if (host !== '127.0.0.1' && host !== 'localhost') {
      throw new Error(`the benchmark only runs against servers on 127.0.0.1 (got ${host})`);
    }
  }
  return o;
}

const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function pct(sorted: number[], p: number) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function main() {
  const o = args(process.argv.slice(2));
  const started = Date.now();
  const deadlineAt = started + o.timeoutS * 1000;
  const dbUrl = (() => {
    const u = new URL(o.adminUrl);
    u.pathname = `/${o.db}`;
    return u.toString();
  })();

  // ---- database ----
  const admin = new pg.Client({ connectionString: o.adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${o.db} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${o.db}`);
  await admin.end();
  await migrate(dbUrl, MIGRATIONS_DIR);

  // ---- queues ----
  let redisUrl: string | undefined = process.env.BENCH_REDIS_URL;
  let redisClose: (() => Promise<void>) | null = null;
  if (o.backend === 'redis' && !redisUrl) {
    const r = await startPrivateRedis();
    if (!r) throw new Error('redis-server is not installed: set BENCH_REDIS_URL or use --backend postgres');
    redisUrl = r.url;
    redisClose = r.close;
  }
  if (o.backend === 'postgres') redisUrl = undefined;

  // ---- the sink ----
  const firstSeen = new Map<string, number>();
  let requests = 0;
  let repeats = 0;
  const sink = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      const at = Date.now();
      requests++;
      const id = String(req.headers['idempotency-key'] ?? '');
      if (firstSeen.has(id)) repeats++;
      else firstSeen.set(id, at);
      res.writeHead(200).end();
    });
  });
  sink.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;

  // ---- config shared with the workers ----
  const env = {
    DATABASE_URL: dbUrl,
    ...randomSecretsEnv('b1'),
    LOG_LEVEL: 'warn',
    // The sink listens on 127.0.0.1 over http.
    WEBHOOK_ALLOW_PRIVATE: 'true',
    REMINDER_CONCURRENCY: o.concurrency,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  };
  const config = loadConfig(env);
  const crypto = new FieldCrypto(config.crypto.keys, config.crypto.currentKeyId, config.crypto.blindIndexKey);

  // ---- fixture: one team, one recipient (webhook on, email off), one case ----
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  const teamId = randomUUID();
  const userId = randomUUID();
  const personId = randomUUID();
  const caseId = randomUUID();
  const legalName = `Bench Person ${randomBytes(3).toString('hex')}`;
  const secret = `whsec_${randomBytes(24).toString('hex')}`;
  await db.query('BEGIN');
  await db.query(`INSERT INTO teams (id, name, countries) VALUES ($1, 'Bench team', '{AM}')`, [teamId]);
  await db.query(
    `INSERT INTO users (id, email, display_name, role, password_hash, updated_at) VALUES ($1, 'bench-recipient@example.org', 'Bench recipient', 'CASEWORKER', 'x', now())`,
    [userId],
  );
  await db.query(`INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)`, [teamId, userId]);
  await db.query(
    `INSERT INTO notification_settings (user_id, email_enabled, webhook_url, webhook_secret_enc, webhook_enabled, updated_at) VALUES ($1, false, $2, $3, true, now())`,
    [
      userId,
      sinkUrl,
      crypto.encrypt(secret, { table: 'notification_settings', column: 'webhook_secret_enc', rowId: userId }),
    ],
  );
  await db.query(
    `INSERT INTO people (id, pseudonym, legal_name_enc, legal_name_bidx, travel_document_status, created_by_id, updated_at) VALUES ($1, 'P-BENCH', $2, $3, 'INTERNATIONAL_VALID', $4, now())`,
    [
      personId,
      crypto.encrypt(legalName, { table: 'people', column: 'legal_name_enc', rowId: personId }),
      crypto.blindIndex('person.legal_name', normaliseName(legalName)),
      userId,
    ],
  );
  await db.query(
    `INSERT INTO cases (id, reference, person_id, team_id, host_country, created_by_id, updated_at) VALUES ($1, 'ARK-BENCH-000001', $2, $3, 'AM', $4, now())`,
    [caseId, personId, teamId, userId],
  );
  await db.query('COMMIT');

  // ---- workers ----
  const workers: WorkerProc[] = [];
  const stopAll = async () => {
    await Promise.all(
      workers.map(async (w) => {
        if (w.child.exitCode !== null || w.child.signalCode !== null) return;
        w.child.kill('SIGTERM');
        const t = setTimeout(() => w.signal('SIGKILL'), 20_000);
        await w.exited;
        clearTimeout(t);
      }),
    );
  };
  const cleanup = async () => {
    await stopAll().catch(() => {});
    await db.end().catch(() => {});
    await new Promise((r) => {
      sink.closeAllConnections();
      sink.close(r);
    });
    await redisClose?.().catch(() => {});
    if (!o.keep) {
      const a = new pg.Client({ connectionString: o.adminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${o.db} WITH (FORCE)`).catch(() => {});
      await a.end();
    }
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    // --cpu-prof DIR: each worker writes a V8 CPU profile there when it stops.
    const wenv = workerEnvFromConfig(config, { LOG_LEVEL: 'info' });
    const nodeArgs = o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [];
    for (let i = 0; i < o.workers; i++) {
      workers.push(spawnWorker(wenv, { name: `W${i + 1}`, readyTimeoutMs: 120_000, nodeArgs }));
    }
    await Promise.all(workers.map((w) => w.ready));
    log(
      `${o.workers} workers up (queues on ${redisUrl ? `Redis ${redisUrl}` : 'PostgreSQL'}); relay every ${config.reminders.relaySeconds} s, horizon ${config.reminders.horizonSeconds} s`,
    );

    // ---- the deadlines and their reminders ----
    // A warm-up set falls due before the window (a worker in service has been
    // delivering for a while: pools, sockets and compiled code are warm); it
    // is delivered and checked like the rest but kept out of the figures.
    const windowStart = Date.now() + o.leadS * 1000;
    const windowMs = o.windowS * 1000;
    const warmupStart = windowStart - 15_000;
    const total = o.deadlines + o.warmup;
    const insertSet = async (start: number, spanMs: number, count: number, title: string) => {
      if (count < 1) return;
      await db.query(
        `WITH d AS (
           INSERT INTO deadlines (id, case_id, kind, title, due_at, time_zone, hour_based, status, source, created_at, updated_at)
           SELECT gen_random_uuid(), $1, 'COURT_FILING', $5 || ' ' || g,
                  to_timestamp(($2::bigint + (g - 1) * $3::bigint / $4::bigint + 86400000) / 1000.0), 'Asia/Yerevan', false, 'OPEN', 'MANUAL', now(), now()
             FROM generate_series(1, $4::int) AS g
           RETURNING id, due_at)
         INSERT INTO reminders (id, deadline_id, recipient_id, channel, label, send_at, status, created_at)
         SELECT gen_random_uuid(), d.id, $6, 'WEBHOOK', '1d@' || to_char(d.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), d.due_at - interval '1 day', 'PENDING', now()
           FROM d`,
        [caseId, start, spanMs, count, title, userId],
      );
    };
    const t = Date.now();
    await db.query('BEGIN');
    await insertSet(warmupStart, 10_000, o.warmup, 'Warm-up filing');
    await insertSet(windowStart, windowMs, o.deadlines, 'Bench filing');
    await db.query('COMMIT');
    await db.query('ANALYZE deadlines; ANALYZE reminders');
    log(
      `inserted ${total} deadlines + reminders in ${((Date.now() - t) / 1000).toFixed(1)} s: ${o.warmup} warm-up due over 10 s from ${new Date(warmupStart).toISOString()}, ${o.deadlines} measured due over ${o.windowS} s from ${new Date(windowStart).toISOString()}`,
    );

    // ---- wait ----
    let lastLog = 0;
    let sentInDb = 0;
    for (;;) {
      await sleep(1000);
      const done = firstSeen.size >= total;
      if (done || Date.now() - lastLog >= 10_000 || Date.now() > deadlineAt) {
        sentInDb = Number((await db.query(`SELECT count(*) AS n FROM reminders WHERE status = 'SENT'`)).rows[0].n);
        lastLog = Date.now();
        log(`sink: ${firstSeen.size}/${total} delivered (${requests} requests); database: ${sentInDb} SENT`);
        if (done && sentInDb >= total) break;
      }
      for (const w of workers) {
        if (w.child.exitCode !== null) throw new Error(`a worker exited:\n${w.output.slice(-10).join('\n')}`);
      }
      if (Date.now() > deadlineAt) {
        log(`ABORTED after ${o.timeoutS} s`);
        break;
      }
    }
    await sleep(2000); // late repeats would show up here
    await stopAll();
    // Relay runs that queued reminders: when they ended, relative to the window start, and how long they took.
    const relayRuns = workers
      .flatMap((w) =>
        w.output
          .filter((l) => l.includes('"relay run"'))
          .map((l) => JSON.parse(l) as { time: number; enqueued: number; ms: number }),
      )
      .map(
        (r) =>
          `${r.enqueued} queued in ${(r.ms / 1000).toFixed(1)} s, done at ${((r.time - windowStart) / 1000).toFixed(1)} s`,
      )
      .join('; ');
    // Each worker logs how its deliveries shared statements when it stops.
    const batching = workers.map((w) => {
      const line = w.output.find((l) => l.includes('reminder worker stopped'));
      const c = line
        ? (
            JSON.parse(line) as {
              claims?: { claimBatches: number; claimed: number; sentBatches: number; sent: number };
            }
          ).claims
        : undefined;
      return c
        ? `${c.claimed} claims in ${c.claimBatches} statements (${(c.claimed / Math.max(1, c.claimBatches)).toFixed(1)}/stmt), ${c.sent} sent marks in ${c.sentBatches}`
        : 'n/a';
    });

    // ---- figures ----
    const rows = (
      await db.query<{ id: string; send_at: Date; sent_at: Date | null; status: string; attempts: number }>(
        `SELECT id::text, send_at, sent_at, status::text, attempts FROM reminders`,
      )
    ).rows;
    const sendAt = new Map(
      rows.filter((r) => r.send_at.getTime() >= windowStart).map((r) => [r.id, r.send_at.getTime()]),
    );
    const warmSendAt = new Map(
      rows.filter((r) => r.send_at.getTime() < windowStart).map((r) => [r.id, r.send_at.getTime()]),
    );
    const warmLags = [...firstSeen]
      .flatMap(([id, at]) => (warmSendAt.has(id) ? [at - warmSendAt.get(id)!] : []))
      .sort((a, b) => a - b);
    const lags: number[] = [];
    let first = Infinity;
    let last = 0;
    for (const [id, at] of firstSeen) {
      const s = sendAt.get(id);
      if (s === undefined) continue;
      lags.push(at - s);
      first = Math.min(first, at);
      last = Math.max(last, at);
    }
    // Where in the window lag built up: p99 per 5-second slice of send times.
    const slices = new Map<number, number[]>();
    for (const [id, at] of firstSeen) {
      const s = sendAt.get(id);
      if (s === undefined) continue;
      const k = Math.floor((s - windowStart) / 5000);
      if (!slices.has(k)) slices.set(k, []);
      slices.get(k)!.push(at - s);
    }
    const timeline = [...slices.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(
        ([k, v]) =>
          `${k * 5}s:${(
            pct(
              v.sort((a, b) => a - b),
              99,
            ) / 1000
          ).toFixed(2)}`,
      )
      .join(' ');
    lags.sort((a, b) => a - b);
    const dbLags = rows
      .filter((r) => r.sent_at && sendAt.has(r.id))
      .map((r) => r.sent_at!.getTime() - r.send_at.getTime())
      .sort((a, b) => a - b);
    const byStatus = rows.reduce<Record<string, number>>((a, r) => ({ ...a, [r.status]: (a[r.status] ?? 0) + 1 }), {});
    const dbDup = Number(
      (
        await db.query(
          `SELECT count(*) AS n FROM (SELECT deadline_id, recipient_id, channel, label FROM reminders WHERE status = 'SENT' GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) x`,
        )
      ).rows[0].n,
    );
    const multiAttempt = rows.filter((r) => r.attempts > 1).length;
    const delivered = lags.length;
    const sentMeasured = rows.filter((r) => r.status === 'SENT' && sendAt.has(r.id)).length;
    const allSent = firstSeen.size === total && byStatus.SENT === total;
    const span = (last - first) / 1000;
    const fromWindow = (last - windowStart) / 1000;
    const f = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
    console.log('');
    console.log('=== reminders benchmark ===');
    console.log(`command:            npx tsx bench/reminders.bench.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
    console.log(
      `setup:              ${o.deadlines} deadlines, reminders due over ${o.windowS} s; ${o.workers} worker processes; queues on ${redisUrl ? 'Redis' : 'PostgreSQL'}; webhook sink on 127.0.0.1`,
    );
    console.log(
      `delivered:          ${delivered} / ${o.deadlines} at the sink, ${sentMeasured} SENT; with the warm-up set: ${firstSeen.size} / ${total}, database ${JSON.stringify(byStatus)}`,
    );
    console.log(
      `warm-up (not in the figures): ${warmLags.length} / ${o.warmup} delivered, lag p50 ${f(pct(warmLags, 50))} p99 ${f(pct(warmLags, 99))}`,
    );
    console.log(
      `throughput:         ${(delivered / Math.max(span, 0.001)).toFixed(0)} delivered/s between first and last arrival (${span.toFixed(1)} s); ` +
        `${(delivered / Math.max(fromWindow, 0.001)).toFixed(0)}/s over the time from the first send time to the last arrival (${fromWindow.toFixed(1)} s)`,
    );
    console.log(
      `lag send_at->sink:  p50 ${f(pct(lags, 50))}  p99 ${f(pct(lags, 99))}  max ${f(lags[lags.length - 1] ?? NaN)}  (min ${f(lags[0] ?? NaN)})`,
    );
    console.log(
      `lag send_at->SENT:  p50 ${f(pct(dbLags, 50))}  p99 ${f(pct(dbLags, 99))}  max ${f(dbLags[dbLags.length - 1] ?? NaN)}  (database sent_at)`,
    );
    console.log(`p99 lag by slice:   ${timeline} (seconds into the window: p99 s)`);
    console.log(`relay runs:         ${relayRuns || 'none logged'}`);
    console.log(`batching:           ${batching.join('; ')}`);
    console.log(
      `duplicates:         database ${dbDup} (SENT twice for one reminder); sink repeats ${repeats} (same idempotency key); reminders with >1 attempt: ${multiAttempt}`,
    );
    console.log(
      `target (issue 3):   all delivered ${allSent ? 'yes' : 'NO'}, none twice ${dbDup === 0 ? 'yes' : 'NO'}, p99 lag < 2 s ${pct(lags, 99) < 2000 ? 'yes' : 'NO'}`,
    );
    console.log(`wall time:          ${((Date.now() - started) / 1000).toFixed(0)} s`);
    process.exitCode = allSent && dbDup === 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
