// Queues reminders the moment they are written already due.
//
// The relay runs every REMINDER_RELAY_SECONDS; a reminder that is due now
// (a detention logged at night: the passed offsets of its 72-hour clock are
// coalesced into one reminder due at once) should not wait for it. A trigger
// on `reminders` (migration 20261126160000_reminder_relay) sends NOTIFY
// reminders_due on commit of any insert holding a pending row due within five
// minutes (the relay's default horizon); every worker process that runs the
// relay LISTENs on its own connection and runs the relay's queueing step then.
//
// - Notifications that arrive while a pass runs are folded into one more pass.
// - Across processes one pass runs at a time (a session advisory lock held on
//   the listening connection, so a dead process frees it); a process that
//   finds the lock taken looks again a second later, because the running
//   pass may have started before the newest rows were committed.
// - A lost connection is re-opened with backoff and followed by one pass
//   (notifications sent meanwhile are gone). The periodic relay stays the
//   safety net: nothing depends on a notification arriving.
import pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import { errorMessage } from '../../lib/error-message.ts';

export const DUE_CHANNEL = 'reminders_due';
const LOCK_SQL = "hashtextextended('reminders:enqueue-due', 0)";

export function startDueListener(opts: {
  url: string;
  log: FastifyBaseLogger;
  /** One queueing pass; `shouldStop` turns true when the listener is closing (stop between pages). */
  pass: (shouldStop: () => boolean) => Promise<number>;
  lockRetryMs?: number;
  healthCheckMs?: number;
}) {
  const lockRetryMs = opts.lockRetryMs ?? 1_000;
  let client: pg.Client | null = null;
  let connecting: pg.Client | null = null;
  let closing = false;
  let running = false;
  let again = false;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let backoffMs = 1_000;
  let passes = 0;
  let current: Promise<void> = Promise.resolve();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

  // Called only when no pass is running (see kick): `running` is set before the first await.
  const runPasses = async () => {
    running = true;
    let failed = false;
    try {
      do {
        again = false;
        const c = client;
        if (!c || closing) break;
        const got = await c.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_SQL}) AS ok`);
        if (!got.rows[0]?.ok) {
          // Another process is queueing; its pass may predate our rows.
          again = true;
          await sleep(lockRetryMs);
          continue;
        }
        try {
          const startedAt = Date.now();
          const enqueued = await opts.pass(() => closing);
          passes++;
          if (enqueued) opts.log.info({ enqueued, ms: Date.now() - startedAt, trigger: 'notify' }, 'relay run');
        } finally {
          // Advisory locks count: an unlock that did not happen would leave the
          // lock held by this session for good. Ending the session frees it.
          const released = await c
            .query<{ ok: boolean }>(`SELECT pg_advisory_unlock(${LOCK_SQL}) AS ok`)
            .then((r) => r.rows[0]?.ok === true)
            .catch(() => false);
          if (!released) scheduleReconnect(c);
        }
      } while (again && !closing);
    } catch (err) {
      failed = true;
      opts.log.error({ error: errorMessage(err) }, 'queueing due reminders failed (the periodic relay will)');
    } finally {
      running = false;
    }
    // Notifications that came during a failed pass are not dropped: one more try a little later.
    if (failed && again && !closing && !retryTimer) {
      retryTimer = setTimeout(() => {
        retryTimer = null;
        kick();
      }, 5_000);
      retryTimer.unref();
    }
  };

  const kick = () => {
    if (running) {
      again = true;
      return;
    }
    current = runPasses();
  };

  const connect = async () => {
    if (closing) return;
    // keepAlive and the timeouts make a half-open connection fail instead of hanging.
    const c = new pg.Client({
      connectionString: opts.url,
      application_name: 'reminders-due-listener',
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: 10_000,
      query_timeout: 30_000,
    });
    connecting = c;
    c.on('error', (err) => {
      opts.log.warn({ error: err.message }, 'due-reminder listener lost its connection; reconnecting');
      scheduleReconnect(c);
    });
    c.on('end', () => scheduleReconnect(c));
    c.on('notification', (n) => {
      if (n.channel === DUE_CHANNEL) kick();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${DUE_CHANNEL}`);
    } catch (err) {
      if (closing) return;
      opts.log.warn({ error: errorMessage(err) }, 'due-reminder listener could not connect; retrying');
      scheduleReconnect(c);
      return;
    } finally {
      if (connecting === c) connecting = null;
    }
    if (closing) {
      c.removeAllListeners('end');
      await c.end().catch(() => {});
      return;
    }
    client = c;
    backoffMs = 1_000;
    // Rows committed while no one listened.
    kick();
  };

  const scheduleReconnect = (c: pg.Client) => {
    if (closing || reconnectTimer || (client !== null && client !== c)) return;
    client = null;
    c.removeAllListeners('end');
    void c.end().catch(() => {});
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      void connect();
    }, backoffMs);
    reconnectTimer.unref();
    backoffMs = Math.min(backoffMs * 2, 30_000);
  };

  // A connection that died without telling (no RST through a NAT or a
  // failover) would otherwise keep "listening" to nothing.
  const health = setInterval(() => {
    const c = client;
    if (!c || running) return;
    c.query('SELECT 1').catch(() => scheduleReconnect(c));
  }, opts.healthCheckMs ?? 30_000);
  health.unref();

  const ready = connect();

  return {
    ready,
    /** Passes completed so far (for tests and the shutdown log). */
    passes: () => passes,
    /** Stops listening; a running pass stops after its current page. */
    close: async () => {
      closing = true;
      clearInterval(health);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      if (retryTimer) clearTimeout(retryTimer);
      await current.catch(() => {});
      for (const c of [client, connecting]) {
        if (!c) continue;
        c.removeAllListeners('end');
        await c.end().catch(() => {});
      }
      client = null;
      connecting = null;
    },
  };
}
