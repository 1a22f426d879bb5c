// Reminder delivery: never lost, never doubled.
//
// PostgreSQL holds every reminder (the outbox, written with its deadline by
// src/modules/reminders/planner.ts). The relay (./relay.ts) moves reminders
// due soon into the `reminders` queue as delayed jobs whose job id IS the
// reminder id; reminders written already due are queued at once on a database
// notification (./due-listener.ts). Delivery (./delivery.ts) claims the row
// with a guarded PENDING -> SENDING transition (only one worker wins), sends
// by email or signed webhook (./webhook.ts), then SENDING -> SENT. A worker
// killed mid-delivery leaves SENDING; the claim is taken over after
// REMINDER_CLAIM_TIMEOUT_SECONDS, so the reminder is delivered again (webhooks
// carry a stable idempotency key for receivers) and recorded SENT once. A
// watchdog notices an emptied queue store and rebuilds it. ./digest.ts sends
// the daily digest. This file wires them to the queues.
import type { FastifyBaseLogger } from 'fastify';
import type { Job } from 'bullmq';
import type { Transporter } from 'nodemailer';
import { createMailer } from '../../lib/mailer.ts';
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import type { FieldCrypto } from '../../lib/field-crypto.ts';
import { REMINDER_QUEUE, RELAY_QUEUE, jobPayload, parseJob } from '../../jobs.ts';
import type { QueueKit } from '../queue-kit.ts';
import { ReminderDelivery } from './delivery.ts';
import { sendDigests } from './digest.ts';
import { startDueListener } from './due-listener.ts';
import { ReminderRelay } from './relay.ts';
import { sendSecurityNotices } from './security-notices.ts';
import { WebhookSender } from './webhook.ts';

export type ReminderDeps = {
  db: Db;
  config: AppConfig;
  crypto: FieldCrypto;
  clock: () => Date;
  log: FastifyBaseLogger;
  kit: QueueKit;
  /** Injected in tests; built from SMTP_URL otherwise. */
  mailer?: Transporter | null;
};

/** The relay, the delivery and the digest of one process, sharing a mailer and the webhook cache. */
export class ReminderService {
  private readonly relay: ReminderRelay;
  private readonly delivery: ReminderDelivery;
  private readonly mailer: Transporter | null;

  constructor(private readonly deps: ReminderDeps) {
    const { config } = deps;
    this.mailer = deps.mailer !== undefined ? deps.mailer : createMailer(config);
    this.relay = new ReminderRelay(deps);
    this.delivery = new ReminderDelivery({ ...deps, mailer: this.mailer, webhooks: new WebhookSender(deps) });
  }

  /** One relay run: take back abandoned claims, mark missed deadlines, enqueue reminders due soon. */
  relayOnce() {
    return this.relay.relayOnce();
  }

  /** The relay's queueing step alone (run on a database notification). */
  enqueueDue(shouldStop?: () => boolean) {
    return this.relay.enqueueDue(shouldStop);
  }

  /** After the queue store was emptied: queue every pending reminder again at the next run. */
  forgetEnqueued() {
    return this.relay.forgetEnqueued();
  }

  /** Delivers one reminder; safe to run twice or concurrently. */
  deliver(reminderId: string, finalAttempt = true) {
    return this.delivery.deliver(reminderId, finalAttempt);
  }

  /** How well deliveries shared their statements: batches run and reminders in them. */
  claimStats() {
    return this.delivery.claimStats();
  }

  sendDigests() {
    return sendDigests({ ...this.deps, mailer: this.mailer });
  }

  /** Emails queued security notices (a factor, the password or reminder channels changed). */
  sendSecurityNotices() {
    return sendSecurityNotices({ ...this.deps, mailer: this.mailer });
  }
}

/** Starts the relay scheduler and the delivery worker on the queue kit. */
export async function startReminderWorkers(deps: ReminderDeps, opts: { concurrency?: number; relay?: boolean } = {}) {
  const { kit, log, config } = deps;
  const service = new ReminderService(deps);
  const delivery = kit.worker(
    REMINDER_QUEUE,
    async (job: Job) => {
      const { reminderId } = parseJob('reminders', job.name, job.data).data;
      const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      return service.deliver(reminderId, final);
    },
    { concurrency: opts.concurrency ?? config.reminders.concurrency },
  );
  delivery.on('error', (err) => log.error({ error: err.message }, 'reminder worker error'));
  const relayWorkers: { close(): Promise<void> }[] = [];
  let watchdog: NodeJS.Timeout | null = null;
  let dueListener: ReturnType<typeof startDueListener> | null = null;
  const failed = (what: string) => (err: unknown) =>
    log.error({ error: err instanceof Error ? err.message : String(err) }, what);
  if (opts.relay !== false) {
    const relayQueue = kit.queue(RELAY_QUEUE);
    const jobOpts = { removeOnComplete: true, removeOnFail: 100 };
    const ensureSchedulers = async () => {
      await relayQueue.upsertJobScheduler(
        'relay',
        { every: config.reminders.relaySeconds * 1000 },
        { name: 'relay', data: jobPayload('reminderRelay', 'relay', {}), opts: jobOpts },
      );
      // The digest goes out every morning at DIGEST_CRON (UTC).
      await relayQueue.upsertJobScheduler(
        'digest',
        { pattern: config.reminders.digestCron },
        { name: 'digest', data: jobPayload('reminderRelay', 'digest', {}), opts: jobOpts },
      );
    };
    await ensureSchedulers();
    const relay = kit.worker(
      RELAY_QUEUE,
      async (job: Job) => {
        if (parseJob('reminderRelay', job.name, job.data).name === 'digest') return service.sendDigests();
        const relayed = await service.relayOnce();
        await service.sendSecurityNotices().catch(failed('security notices failed'));
        return relayed;
      },
      { concurrency: 1 },
    );
    relay.on('error', (err) => log.error({ error: err.message }, 'relay worker error'));
    relayWorkers.push(relay);
    // The schedulers live in the queue store. If it was emptied (FLUSHALL, a
    // failover without persistence), recreate them, requeue every pending
    // reminder at once and run the relay now: PostgreSQL is the source of truth.
    watchdog = setInterval(
      () => {
        void (async () => {
          const present = await relayQueue.getJobScheduler('relay').catch(() => 'unknown');
          if (present) return;
          log.warn('relay scheduler missing (queue store emptied?): recreating it and requeueing pending reminders');
          await ensureSchedulers();
          await service.forgetEnqueued();
          await service.relayOnce();
        })().catch(failed('relay watchdog failed'));
      },
      Math.max(1000, Math.min(config.reminders.relaySeconds * 1000, 10_000)),
    );
    watchdog.unref();
    // Run once at start so a restarted worker does not wait a full period.
    await service.relayOnce().catch(failed('initial relay failed'));
    // Reminders written already due are queued at once, not at the next run.
    dueListener = startDueListener({ url: config.db.url, log, pass: (shouldStop) => service.enqueueDue(shouldStop) });
    await dueListener.ready;
  }
  return {
    service,
    /** Queueing passes run on a database notification so far. */
    duePasses: () => dueListener?.passes() ?? 0,
    close: async () => {
      if (watchdog) clearInterval(watchdog);
      // Deliveries in flight drain while the listener stops (it ends a queueing pass after its current page).
      await Promise.all([dueListener?.close(), delivery.close(), ...relayWorkers.map((w) => w.close())]);
      log.info({ claims: service.claimStats() }, 'reminder worker stopped');
    },
  };
}
