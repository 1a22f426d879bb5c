// The relay: PostgreSQL holds every reminder (the outbox, written with its
// deadline); a BullMQ job scheduler runs this every REMINDER_RELAY_SECONDS and
// moves reminders due within the next REMINDER_HORIZON_SECONDS into the
// `reminders` queue as delayed jobs whose job id IS the reminder id — so
// months-long delays never sit in Redis, a re-added job is a no-op, and an
// emptied Redis (FLUSHALL, a failover) is refilled by the next run. Each run
// also takes back claims of killed workers and marks missed deadlines.
import type { FastifyBaseLogger } from 'fastify';
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import { REMINDER_QUEUE, jobPayload } from '../../jobs.ts';
import { DeadlinesService } from '../../modules/deadlines/deadlines.service.ts';
import type { QueueKit } from '../queue-kit.ts';

const ATTEMPTS = 8;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

export type RelayDeps = { db: Db; config: AppConfig; clock: () => Date; log: FastifyBaseLogger; kit: QueueKit };

export class ReminderRelay {
  private readonly deadlines: DeadlinesService;

  constructor(private readonly deps: RelayDeps) {
    this.deadlines = new DeadlinesService(deps);
  }

  /** One relay run: take back abandoned claims, mark missed deadlines, enqueue reminders due soon. */
  async relayOnce(): Promise<{ recovered: number; missed: number; enqueued: number }> {
    const { db, clock, config, log } = this.deps;
    const now = clock();
    const startedAt = Date.now();
    const recovered = await db.reminder.updateMany({
      where: { status: 'SENDING', claimedAt: { lt: new Date(now.getTime() - config.reminders.claimTimeoutMs) } },
      data: { status: 'PENDING' },
    });
    const missed = await this.deadlines.markMissed();
    const enqueued = await this.enqueueDue();
    if (enqueued || recovered.count || missed) {
      log.info({ enqueued, recovered: recovered.count, missed, ms: Date.now() - startedAt }, 'relay run');
    }
    return { recovered: recovered.count, missed, enqueued };
  }

  /**
   * Queues the pending reminders due within the horizon that are not queued
   * yet (or were queued long ago): the relay's main step, also run at once
   * when the database announces reminders already due (./due-listener.ts).
   */
  async enqueueDue(shouldStop: () => boolean = () => false): Promise<number> {
    const { db, clock, kit, config } = this.deps;
    const now = clock();
    const horizon = new Date(now.getTime() + config.reminders.horizonSeconds * 1000);
    const staleEnqueue = new Date(now.getTime() - config.reminders.reenqueueMs);
    const queue = kit.queue(REMINDER_QUEUE);
    let enqueued = 0;
    let lastSendAt = new Date(0);
    let lastId = NIL_UUID;
    while (!shouldStop()) {
      // Keyset walk over the partial index (send_at, id) WHERE status = 'PENDING'.
      const batch = await db.$queryRaw<{ id: string; sendAt: Date; enqueuedAt: Date | null }[]>`
        SELECT id::text AS id, send_at AS "sendAt", enqueued_at AS "enqueuedAt" FROM reminders
        WHERE status = 'PENDING' AND send_at <= ${horizon}
          AND (send_at, id) > (${lastSendAt}, ${lastId}::uuid)
          AND (enqueued_at IS NULL OR enqueued_at < ${staleEnqueue})
        ORDER BY send_at, id
        LIMIT 1000`;
      if (!batch.length) break;
      // A reminder queued before but still pending: if its old job ended
      // (failed after the attempts, or completed without sending), that job
      // would make the re-add a no-op, so it is removed. If the old job is
      // still "active" (its worker died; BullMQ notices only after the lock
      // and stalled-check periods), a fresh job with a new id is added: the
      // guarded claim in delivery, not the job id, is what prevents a double send.
      const freshIds = new Map<string, string>();
      for (const r of batch.filter((x) => x.enqueuedAt)) {
        const old = await queue.getJob(r.id).catch(() => undefined);
        if (!old) continue;
        const state = await old.getState().catch(() => 'unknown');
        if (state === 'failed' || state === 'completed') await old.remove().catch(() => {});
        else if (state === 'active' || state === 'unknown') freshIds.set(r.id, `${r.id}-r${now.getTime()}`);
      }
      // Jobs carry the reminder id only; the id doubles as the job id, so
      // adding a job that is already queued does nothing.
      await queue.addBulk(
        batch.map((r) => ({
          name: 'deliver',
          data: jobPayload('reminders', 'deliver', { reminderId: r.id }),
          opts: {
            jobId: freshIds.get(r.id) ?? r.id,
            delay: Math.max(0, r.sendAt.getTime() - Date.now()),
            attempts: ATTEMPTS,
            backoff: { type: 'exponential', delay: 5_000 },
            removeOnComplete: true,
            removeOnFail: 1000,
          },
        })),
      );
      await db.$executeRaw`
        UPDATE reminders SET enqueued_at = ${now}
        WHERE id = ANY(${batch.map((r) => r.id)}::uuid[]) AND status = 'PENDING'`;
      enqueued += batch.length;
      lastSendAt = batch[batch.length - 1].sendAt;
      lastId = batch[batch.length - 1].id;
    }
    return enqueued;
  }

  /**
   * After the queue store was emptied (Redis FLUSHALL or failover without
   * persistence): forget when reminders were queued, so the next relay run
   * queues every pending one again at once instead of after the re-queue delay.
   */
  async forgetEnqueued(): Promise<number> {
    const { count } = await this.deps.db.reminder.updateMany({
      where: { status: 'PENDING', enqueuedAt: { not: null } },
      data: { enqueuedAt: null },
    });
    return count;
  }
}
