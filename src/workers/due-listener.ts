// Queues reminders the moment they are written already due.
//
// The relay runs every REMINDER_RELAY_SECONDS; a reminder that is due now
// (a detention logged at night: the passed offsets of its 72-hour clock are
// coalesced into one reminder due at once) should not wait for it. A trigger
// on `reminders` sends NOTIFY reminders_due on commit of any insert that
// holds such a row (migration 20261126160000_reminder_relay); every worker
// process that runs the relay LISTENs on its own connection and runs the
// relay's queueing step then.
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

export const DUE_CHANNEL = 'reminders_due';
const LOCK_SQL = "hashtextextended('reminders:enqueue-due', 0)";

export function startDueListener(opts: { url: string; log: FastifyBaseLogger; pass: () => Promise<number>; lockRetryMs?: number }) {
  const lockRetryMs = opts.lockRetryMs ?? 1_000;
  let client: pg.Client | null = null;
  let closing = false;
  let running = false;
  let again = false;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let backoffMs = 1_000;
  let passes = 0;
  let current: Promise<void> = Promise.resolve();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

  // Called only when no pass is running (see kick): `running` is set before the first await.
  const runPasses = async () => {
    running = true;
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
          const enqueued = await opts.pass();
          passes++;
          if (enqueued) opts.log.info({ enqueued, ms: Date.now() - startedAt, trigger: 'notify' }, 'relay run');
        } finally {
          await c.query(`SELECT pg_advisory_unlock(${LOCK_SQL})`).catch(() => {});
        }
      } while (again && !closing);
    } catch (err) {
      opts.log.error({ error: (err as Error).message }, 'queueing due reminders failed (the periodic relay will)');
    } finally {
      running = false;
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
    const c = new pg.Client({ connectionString: opts.url, application_name: 'reminders-due-listener' });
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
      opts.log.warn({ error: (err as Error).message }, 'due-reminder listener could not connect; retrying');
      scheduleReconnect(c);
      return;
    }
    if (closing) {
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

  const ready = connect();

  return {
    ready,
    /** Passes completed so far (for tests and the shutdown log). */
    passes: () => passes,
    close: async () => {
      closing = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await current.catch(() => {});
      const c = client;
      client = null;
      if (c) {
        c.removeAllListeners('end');
        await c.end().catch(() => {});
      }
    },
  };
}
