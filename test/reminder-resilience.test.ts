// Never lost, never doubled: the two failures the design is built for.
//   1. The queue store is emptied in the middle of a schedule (Redis FLUSHALL;
//      on a run without Redis, the same scenario on BullMQ's PostgreSQL
//      backend by obliterating the reminders queue).
//   2. A worker process is killed with SIGKILL while webhook deliveries are in
//      flight, and a new one is started.
// In both, every reminder must end SENT exactly once in PostgreSQL. A webhook
// receiver may see a reminder twice after a crash; it then carries the same
// idempotency key.
//
// Bounded: everything listens on 127.0.0.1. Redis: a private redis-server is
// started for each scenario (FLUSHALL must not wipe the queues of other test
// files running in parallel on the run's Redis); without the binary, a spare
// database index of the run's Redis is used and FLUSHDB stands in for FLUSHALL.
//
// Timing: recovery relies on REMINDER_CLAIM_TIMEOUT_SECONDS (an abandoned
// SENDING claim is taken over) and REMINDER_REENQUEUE_SECONDS (a PENDING
// reminder already queued is queued again), set to 10 s here (defaults 60 and
// 120 s); after a wipe the relay watchdog requeues at once.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, inject, it, type ExpectStatic } from 'vitest';
import { REMINDER_QUEUE, RELAY_QUEUE } from '../src/jobs.ts';
import { startReminderWorkers } from '../src/workers/reminders/index.ts';
import type { QueueKit } from '../src/workers/queue-kit.ts';
import { clientFor, createCase, createTeam, setupTestEnv, uniq, type Client, type TestEnv } from './helpers.ts';
import { spawnWorker, startPrivateRedis, stopWorker, workerEnvFromConfig, type WorkerProc } from './reminder-procs.ts';
import { signatureValid, sleep, startWebhookSink, waitFor, type WebhookHit } from './reminder-sinks.ts';

const DAY = 86_400_000;
/** REMINDER_CLAIM_TIMEOUT_SECONDS and REMINDER_REENQUEUE_SECONDS for these scenarios. */
const CLAIM_TIMEOUT_MS = 10_000;
const REENQUEUE_AFTER_MS = 10_000;
const TIMING = {
  REMINDER_CLAIM_TIMEOUT_SECONDS: String(CLAIM_TIMEOUT_MS / 1000),
  REMINDER_REENQUEUE_SECONDS: String(REENQUEUE_AFTER_MS / 1000),
};

const runRedis = inject('redisUrl');
let sink: Awaited<ReturnType<typeof startWebhookSink>>;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  sink = await startWebhookSink();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await sink?.close();
}, 60_000);

type QueueStore = { redisUrl?: string; what: string; wipe: (kit: QueueKit) => Promise<void> };

/** Where this scenario's queues live, and how to empty them. */
async function queueStore(): Promise<QueueStore> {
  if (!runRedis) {
    return {
      what: 'no Redis in this run: BullMQ PostgreSQL backend; the queue is obliterated instead of FLUSHALL',
      wipe: async (kit) => {
        await kit.queue(REMINDER_QUEUE).obliterate({ force: true });
      },
    };
  }
  const priv = await startPrivateRedis();
  if (priv) {
    cleanups.push(priv.close);
    return {
      redisUrl: priv.url,
      what: `private redis-server ${priv.url}; FLUSHALL`,
      wipe: async () => {
        const r = new Redis(priv.url, { maxRetriesPerRequest: 1 });
        await r.flushall();
        r.disconnect();
      },
    };
  }
  const u = new URL(runRedis);
  u.pathname = `/${1 + (randomBytes(1)[0] % 15)}`;
  const url = u.toString();
  return {
    redisUrl: url,
    what: `redis-server binary not installed: database ${u.pathname} of the run's Redis; FLUSHDB`,
    wipe: async () => {
      const r = new Redis(url, { maxRetriesPerRequest: 1 });
      await r.flushdb();
      r.disconnect();
    },
  };
}

type Row = {
  id: string;
  label: string;
  send_at: Date;
  status: string;
  attempts: number;
  sent_at: Date | null;
  enqueued_at: Date | null;
};

/** A caseworker whose only channel is a webhook to the sink, and a case of their team. */
async function webhookScenario(env: TestEnv, kind: string) {
  const teamId = await createTeam(env, ['AM']);
  const cw: Client = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  const legalName = `Rustam Legalov-${uniq()}`;
  const c = await createCase(cw, teamId, 'AM', legalName);
  const hookPath = `/${kind}/${uniq()}`;
  const secret = `whsec_${randomBytes(24).toString('hex')}`;
  const put = await cw.put('/v1/me/notification-settings', {
    email: { enabled: false },
    webhook: { url: `${sink.base}${hookPath}`, secret, enabled: true },
  });
  if (put.statusCode !== 200) throw new Error(`settings: ${put.statusCode} ${put.body}`);
  return { cw, caseId: c.caseId, reference: c.reference, legalName, hookPath, secret };
}

async function createDeadlines(cw: Client, caseId: string, dueTimes: number[]) {
  const ids: string[] = [];
  for (const [i, t] of dueTimes.entries()) {
    const res = await cw.post(`/v1/cases/${caseId}/deadlines`, {
      kind: 'COURT_FILING',
      title: `Filing ${i + 1}`,
      dueAt: new Date(t).toISOString(),
    });
    if (res.statusCode !== 201) throw new Error(`deadline: ${res.statusCode} ${res.body}`);
    ids.push(res.json().id);
  }
  return ids;
}

/** The day-before reminders (one per deadline: one recipient, one channel). */
async function dayRows(env: TestEnv, caseId: string): Promise<Row[]> {
  return env.sql<Row>(
    `SELECT r.id::text, r.label, r.send_at, r.status::text AS status, r.attempts, r.sent_at, r.enqueued_at
       FROM reminders r JOIN deadlines d ON d.id = r.deadline_id
      WHERE d.case_id = $1 AND r.label LIKE '1d@%' ORDER BY r.send_at`,
    [caseId],
  );
}

const countBy = (rows: Row[]) =>
  rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});

/** Every reminder SENT exactly once in the database; the sink saw each, and any repeat carries the same idempotency key. */
async function checkDeliveredOnce(
  env: TestEnv,
  s: Awaited<ReturnType<typeof webhookScenario>>,
  n: number,
  expect: ExpectStatic,
) {
  const rows = await dayRows(env, s.caseId);
  expect(rows).toHaveLength(n);
  for (const r of rows) {
    expect(r.status, `${r.id}`).toBe('SENT');
    expect(r.sent_at).not.toBeNull();
  }
  // The partial unique index allows one live row per (deadline, recipient, channel, label); check the record itself too.
  const dup = await env.sql(
    `SELECT r.deadline_id, r.label, count(*)::int AS n FROM reminders r JOIN deadlines d ON d.id = r.deadline_id
      WHERE d.case_id = $1 AND r.status = 'SENT' GROUP BY 1, 2 HAVING count(*) > 1`,
    [s.caseId],
  );
  expect(dup).toEqual([]);
  const hits = sink.hits.filter((h) => h.path === s.hookPath);
  const byId = new Map<string, WebhookHit[]>();
  for (const h of hits) {
    byId.set(String(h.headers['x-reminder-id']), [...(byId.get(String(h.headers['x-reminder-id'])) ?? []), h]);
  }
  expect([...byId.keys()].sort()).toEqual(rows.map((r) => r.id).sort());
  let duplicates = 0;
  for (const [id, hs] of byId) {
    duplicates += hs.length - 1;
    for (const h of hs) {
      expect(h.headers['idempotency-key']).toBe(id);
      expect(JSON.parse(h.body).idempotencyKey).toBe(id);
      expect(signatureValid(s.secret, h)).toBe(true);
      expect(h.body).not.toContain(s.legalName);
    }
  }
  return { hits: hits.length, duplicates };
}

describe.concurrent('reminder delivery survives', () => {
  it('an emptied queue store in the middle of a schedule (Redis FLUSHALL): every reminder delivered, none twice in the record', async ({
    expect,
  }) => {
    const store = await queueStore();
    console.log(`[flush] queue store: ${store.what}`);
    const env = await setupTestEnv({
      env: {
        ...(store.redisUrl ? { REDIS_URL: store.redisUrl } : {}),
        REMINDER_RELAY_SECONDS: '1',
        REMINDER_HORIZON_SECONDS: '10',
        REMINDER_OFFSETS_DAYS: '1',
        LOGIN_IP_MAX_ATTEMPTS: '1000',
        ...TIMING,
      },
      queues: true,
    });
    cleanups.push(env.close);
    const s = await webhookScenario(env, 'flush');
    const workers = await startReminderWorkers(
      {
        db: env.db,
        config: env.config,
        crypto: env.app.crypto,
        clock: () => new Date(),
        log: env.app.log,
        kit: env.queues!,
      },
      { concurrency: 10 },
    );
    cleanups.push(async () => {
      await workers.close();
      for (const q of [REMINDER_QUEUE, RELAY_QUEUE]) {
        await env
          .queues!.queue(q)
          .obliterate({ force: true })
          .catch(() => {});
      }
    });
    const N = 24;
    const t0 = Date.now();
    // Send times every 1.5 s from +4 s to +38.5 s; with a 10 s horizon the relay queues each about 10 s ahead.
    await createDeadlines(
      s.cw,
      s.caseId,
      Array.from({ length: N }, (_, i) => t0 + DAY + 4_000 + i * 1_500),
    );

    const before = await waitFor(
      async () => {
        const rows = await dayRows(env, s.caseId);
        return rows.filter((r) => r.status === 'SENT').length >= 6 ? rows : null;
      },
      40_000,
      100,
    );
    expect(before, 'the first reminders were not delivered').toBeTruthy();
    await store.wipe(env.queues!);
    const wipedAt = Date.now();
    const queuedNotSent = before!.filter((r) => r.status === 'PENDING' && r.enqueued_at !== null).length;
    console.log(
      `[flush] wiped at +${wipedAt - t0} ms: ${JSON.stringify(countBy(before!))}, ${queuedNotSent} queued but not yet sent`,
    );
    expect(queuedNotSent, 'the wipe must hit reminders waiting in the queue').toBeGreaterThan(0);
    expect(
      before!.filter((r) => r.status === 'PENDING' && r.enqueued_at === null).length,
      'and reminders not queued yet',
    ).toBeGreaterThan(0);

    // The last reminder falls due at t0 + 38.5 s; recovery itself is bounded by the
    // watchdog (1 s here) or, failing that, the re-queue delay.
    const lastSendAt = t0 + 4_000 + (N - 1) * 1_500;
    const bound = Math.max(REENQUEUE_AFTER_MS + 15_000, lastSendAt - wipedAt + 10_000);
    const all = await waitFor(
      async () => {
        const rows = await dayRows(env, s.caseId);
        return rows.every((r) => r.status === 'SENT') ? rows : null;
      },
      bound,
      500,
    );
    const rows = await dayRows(env, s.caseId);
    const schedulers = await env
      .queues!.queue(RELAY_QUEUE)
      .getJobSchedulers()
      .catch((e: Error) => e.message);
    console.log(
      `[flush] after ${Math.round((Date.now() - wipedAt) / 1000)} s: ${JSON.stringify(countBy(rows))}; ` +
        `re-queued after the wipe: ${rows.filter((r) => r.enqueued_at && r.enqueued_at.getTime() > wipedAt).length}; relay job schedulers now: ${JSON.stringify(schedulers)}`,
    );
    expect(
      all,
      `not every reminder was delivered within ${bound / 1000} s of the wipe: ${JSON.stringify(countBy(rows))}`,
    ).toBeTruthy();
    const { hits, duplicates } = await checkDeliveredOnce(env, s, N, expect);
    console.log(
      `[flush] all ${N} sent once in the database; sink saw ${hits} requests (${duplicates} repeats); recovered ${Math.round((Date.now() - wipedAt) / 1000)} s after the wipe`,
    );
  }, 200_000);

  it('a worker process killed with SIGKILL mid-delivery and restarted: every reminder SENT exactly once in the database, none lost', async ({
    expect,
  }) => {
    const store = await queueStore();
    console.log(`[kill] queue store: ${store.what.split(';')[0]}`);
    const env = await setupTestEnv({
      env: {
        ...(store.redisUrl ? { REDIS_URL: store.redisUrl } : {}),
        REMINDER_RELAY_SECONDS: '1',
        REMINDER_HORIZON_SECONDS: '30',
        REMINDER_OFFSETS_DAYS: '1',
        LOGIN_IP_MAX_ATTEMPTS: '1000',
        ...TIMING,
      },
    });
    cleanups.push(env.close);
    const s = await webhookScenario(env, 'slow');
    // A slow receiver: each delivery stays in flight for 3 s.
    sink.on(s.hookPath, () => ({ status: 200, delayMs: 3_000 }));
    const wenv = workerEnvFromConfig(env.config);
    const workers: WorkerProc[] = [];
    cleanups.push(async () => Promise.all(workers.map((w) => stopWorker(w, 5_000))));

    const a = spawnWorker(wenv, { name: 'A' });
    workers.push(a);
    await a.ready;
    const N = 20;
    const t0 = Date.now();
    await createDeadlines(
      s.cw,
      s.caseId,
      Array.from({ length: N }, (_, i) => t0 + DAY + 3_000 + i * 500),
    );

    const inFlight = await waitFor(
      () => {
        const hits = sink.hits.filter((h) => h.path === s.hookPath);
        return hits.filter((h) => h.answeredAt).length >= 2 && hits.filter((h) => !h.answeredAt).length >= 2;
      },
      40_000,
      50,
    );
    expect(inFlight, `no deliveries in flight; worker A said:\n${a.output.slice(-15).join('\n')}`).toBe(true);
    a.signal('SIGKILL');
    const killed = await a.exited;
    const killedAt = Date.now();
    expect(killed.signal ?? killed.code).toBe('SIGKILL');
    const atKill = await dayRows(env, s.caseId);
    console.log(`[kill] SIGKILL at +${killedAt - t0} ms: ${JSON.stringify(countBy(atKill))}`);
    expect(
      atKill.filter((r) => r.status === 'SENDING').length,
      'claims left behind by the killed worker',
    ).toBeGreaterThan(0);
    expect(atKill.filter((r) => r.status === 'PENDING').length, 'reminders not yet started').toBeGreaterThan(0);

    const b = spawnWorker(wenv, { name: 'B' });
    workers.push(b);
    await b.ready;
    // Abandoned claims are taken over after CLAIM_TIMEOUT_MS; jobs the killed worker held
    // come back when BullMQ's lock (30 s) expires and its stalled check (every 30 s) runs.
    const bound = Math.max(CLAIM_TIMEOUT_MS, REENQUEUE_AFTER_MS) + 30_000 + 30_000 + 15_000;
    const all = await waitFor(
      async () => {
        const rows = await dayRows(env, s.caseId);
        return rows.every((r) => r.status === 'SENT') ? rows : null;
      },
      bound,
      1_000,
    );
    const rows = await dayRows(env, s.caseId);
    console.log(
      `[kill] ${Math.round((Date.now() - killedAt) / 1000)} s after the kill: ${JSON.stringify(countBy(rows))}`,
    );
    expect(
      all,
      `not every reminder SENT within ${bound / 1000} s of the kill: ${JSON.stringify(countBy(rows))}\nworker B said:\n${b.output.slice(-15).join('\n')}`,
    ).toBeTruthy();
    const { hits, duplicates } = await checkDeliveredOnce(env, s, N, expect);
    console.log(
      `[kill] all ${N} SENT once in the database; sink saw ${hits} requests, ${duplicates} repeat(s) with the same idempotency key; recovered ${Math.round((Date.now() - killedAt) / 1000)} s after the kill`,
    );

    // The new worker shuts down gracefully on SIGTERM sent to the process that
    // was started (as a container runtime or systemd would): exit code 0.
    // 143 means the tsx launcher escalated to SIGKILL (it does so when the
    // child does not acknowledge the relayed signal within ~2 x 30 ms).
    b.child.kill('SIGTERM');
    const timer = setTimeout(() => b.signal('SIGKILL'), 25_000);
    const stopped = await b.exited;
    clearTimeout(timer);
    await sleep(50);
    expect(
      b.output.some((l) => l.includes('"shutting down"')),
      'the worker saw the SIGTERM',
    ).toBe(true);
    expect(stopped, `worker B did not exit cleanly on SIGTERM:\n${b.output.slice(-5).join('\n')}`).toEqual({
      code: 0,
      signal: null,
    });
  }, 240_000);
});
