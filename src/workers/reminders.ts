// Reminder delivery: never lost, never doubled.
//
// PostgreSQL holds every reminder (the outbox, written with its deadline). The
// relay, a BullMQ job scheduler every REMINDER_RELAY_SECONDS, moves reminders
// due within the next REMINDER_HORIZON_SECONDS into the `reminders` queue as
// delayed jobs whose job id IS the reminder id — so months-long delays never
// sit in Redis, a re-added job is a no-op, and an emptied Redis (FLUSHALL, a
// failover) is refilled by the next relay run. Delivery claims the row with a
// guarded PENDING -> SENDING transition (only one worker wins), sends, then
// SENDING -> SENT. A worker killed mid-delivery leaves SENDING; the claim is
// taken over after REMINDER_CLAIM_TIMEOUT_SECONDS, so the reminder is delivered
// again (webhooks carry a stable idempotency key for receivers) and recorded
// SENT once. A watchdog notices an emptied queue store and rebuilds it.
import { createHmac } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Job } from 'bullmq';
import nodemailer, { type Transporter } from 'nodemailer';
import type { AppConfig } from '../config.ts';
import type { Db } from '../db.ts';
import type { FieldCrypto } from '../lib/field-crypto.ts';
import { DeadlinesService, myDeadlinesWhere } from '../modules/deadlines/deadlines.service.ts';
import { caseVisibleToUserSql } from '../modules/access/visibility.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { assertWebhookTarget } from '../lib/webhook-target.ts';
import { Batcher } from '../lib/batcher.ts';
import { postJson } from '../lib/http-post.ts';
import type { QueueKit } from './queue-kit.ts';
import { startDueListener } from './due-listener.ts';

export const REMINDER_QUEUE = 'reminders';
export const RELAY_QUEUE = 'reminder-relay';
const ATTEMPTS = 8;
const SECRET_CACHE_MS = 30_000;

export type ReminderJob = { reminderId: string };

type ClaimedRow = {
  id: string;
  label: string;
  channel: 'EMAIL' | 'WEBHOOK';
  user_id: string;
  email: string;
  active: boolean;
  deadline_id: string;
  kind: string;
  title: string;
  due_at: Date;
  due_date: string | null;
  time_zone: string;
  status: string;
  citation: string | null;
  verify_with_counsel: boolean;
  source: string;
  case_id: string;
  reference: string;
  pseudonym: string;
  may_see: boolean;
};

type DeliveryDeadline = {
  id: string;
  kind: string;
  title: string;
  dueAt: Date;
  dueDate: string | null;
  timeZone: string;
  status: string;
  citation: string | null;
  verifyWithCounsel: boolean;
  source: string;
  case: { id: string; reference: string; person: { pseudonym: string } };
};

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

function labelText(label: string): string {
  const base = label.split('@')[0];
  if (base === 'overdue') return 'OVERDUE';
  if (base === 'now') return 'due soon';
  if (base === 'morning') return 'due today';
  const m = /^(\d+)([dh])$/.exec(base);
  return m ? `due in ${m[1]} ${m[2] === 'd' ? 'day' : 'hour'}${m[1] === '1' ? '' : 's'}` : base;
}

// Building an Intl.DateTimeFormat costs far more than using one: one per zone.
const formatters = new Map<string, Intl.DateTimeFormat>();
function localTime(instant: Date, tz: string): string {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, dateStyle: 'full', timeStyle: 'short' });
    formatters.set(tz, f);
  }
  return f.format(instant);
}

export class ReminderService {
  private readonly deadlines: DeadlinesService;
  private readonly mailer: Transporter | null;

  constructor(private readonly deps: ReminderDeps) {
    this.deadlines = new DeadlinesService(deps);
    this.mailer = deps.mailer !== undefined ? deps.mailer : deps.config.mail.smtpUrl ? nodemailer.createTransport(deps.config.mail.smtpUrl) : null;
  }

  /** One relay run: take back abandoned claims, mark missed deadlines, enqueue reminders due soon. */
  async relayOnce(): Promise<{ recovered: number; missed: number; enqueued: number }> {
    const { db, clock, config, log } = this.deps;
    const now = clock();
    const startedAt = Date.now();
    const recovered = await db.reminder.updateMany({ where: { status: 'SENDING', claimedAt: { lt: new Date(now.getTime() - config.reminders.claimTimeoutMs) } }, data: { status: 'PENDING' } });
    const missed = await this.deadlines.markMissed();
    const enqueued = await this.enqueueDue();
    if (enqueued || recovered.count || missed) log.info({ enqueued, recovered: recovered.count, missed, ms: Date.now() - startedAt }, 'relay run');
    return { recovered: recovered.count, missed, enqueued };
  }

  /**
   * Queues the pending reminders due within the horizon that are not queued
   * yet (or were queued long ago): the relay's main step, also run at once
   * when the database announces reminders already due (see startReminderWorkers).
   */
  async enqueueDue(shouldStop: () => boolean = () => false): Promise<number> {
    const { db, clock, kit, config } = this.deps;
    const now = clock();
    const horizon = new Date(now.getTime() + config.reminders.horizonSeconds * 1000);
    const staleEnqueue = new Date(now.getTime() - config.reminders.reenqueueMs);
    const queue = kit.queue(REMINDER_QUEUE);
    let enqueued = 0;
    let lastSendAt = new Date(0);
    let lastId = '00000000-0000-0000-0000-000000000000';
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
      // guarded claim in deliver(), not the job id, is what prevents a double send.
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
          data: { reminderId: r.id } satisfies ReminderJob,
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
      await db.$executeRaw`UPDATE reminders SET enqueued_at = ${now} WHERE id = ANY(${batch.map((r) => r.id)}::uuid[]) AND status = 'PENDING'`;
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
    const { count } = await this.deps.db.reminder.updateMany({ where: { status: 'PENDING', enqueuedAt: { not: null } }, data: { enqueuedAt: null } });
    return count;
  }

  // Deliveries in flight in this process share their database round trips:
  // the claims that arrive within 5 ms (up to 500) are one UPDATE … RETURNING,
  // and the "sent" marks one UPDATE. Each reminder keeps its own guarded
  // transitions inside those statements, so batching changes cost, not rules.
  private readonly claims = new Batcher<string, ClaimedRow | null>((ids) => this.claimMany(ids), { maxSize: 500, maxWaitMs: 5 });
  private readonly sentMarks = new Batcher<{ id: string; at: Date }, boolean>((items) => this.markSentMany(items), { maxSize: 500, maxWaitMs: 5 });

  /**
   * The guarded PENDING -> SENDING transition (or the take-over of a dead
   * worker's claim) for many reminders in one statement, loading what the
   * message needs on the way. A reminder id asked for twice in one batch is
   * answered once; the other caller gets null, as a losing concurrent worker would.
   */
  private async claimMany(ids: string[]): Promise<(ClaimedRow | null)[]> {
    const { db, clock, config } = this.deps;
    const now = clock();
    const unique = [...new Set(ids)];
    const rows = await db.$queryRaw<ClaimedRow[]>`
      WITH claimed AS (
        UPDATE reminders SET status = 'SENDING', claimed_at = ${now}, attempts = attempts + 1
        WHERE id = ANY(${unique}::uuid[]) AND send_at <= ${new Date(now.getTime() + 2_000)}
          AND (status = 'PENDING' OR (status = 'SENDING' AND claimed_at < ${new Date(now.getTime() - config.reminders.claimTimeoutMs)}))
        RETURNING id, label, channel::text AS channel, recipient_id, deadline_id
      )
      SELECT c.id::text, c.label, c.channel, u.id::text AS user_id, u.email, u.active,
             d.id::text AS deadline_id, d.kind::text AS kind, d.title, d.due_at, d.due_date, d.time_zone, d.status::text AS status,
             d.citation, d.verify_with_counsel, d.source::text AS source, k.id::text AS case_id, k.reference, p.pseudonym,
             ${Prisma.raw(caseVisibleToUserSql('u', 'k'))} AS may_see
      FROM claimed c
      JOIN users u ON u.id = c.recipient_id
      JOIN deadlines d ON d.id = c.deadline_id
      JOIN cases k ON k.id = d.case_id
      JOIN people p ON p.id = k.person_id`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => {
      const r = byId.get(id) ?? null;
      byId.delete(id);
      return r;
    });
  }

  /**
   * SENDING -> SENT for many reminders; true for each one this process still
   * held. The messages are already out: a failed statement is retried (it is
   * guarded, so repeating it is harmless) rather than leaving the whole batch
   * in SENDING, which the relay would hand back for a second delivery.
   */
  private async markSentMany(items: { id: string; at: Date }[]): Promise<boolean[]> {
    let rows: { id: string }[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        rows = await this.deps.db.$queryRaw<{ id: string }[]>`
          UPDATE reminders AS r SET status = 'SENT', sent_at = v.at, last_error = NULL
          FROM unnest(${items.map((i) => i.id)}::uuid[], ${items.map((i) => i.at.toISOString())}::timestamptz[]) AS v(id, at)
          WHERE r.id = v.id AND r.status = 'SENDING'
          RETURNING r.id::text`;
        break;
      } catch (err) {
        if (attempt >= 4) throw err;
        // The error code only: database error messages can echo the statement's arguments.
        this.deps.log.warn({ reminders: items.length, attempt, code: (err as { code?: string }).code ?? 'unknown' }, 'marking reminders sent failed; retrying');
        await new Promise((r) => setTimeout(r, 200 * 4 ** (attempt - 1)));
      }
    }
    const done = new Set(rows.map((r) => r.id));
    return items.map((i) => done.has(i.id));
  }

  /** How well deliveries shared their statements: batches run and reminders in them. */
  claimStats() {
    return { claimBatches: this.claims.stats.batches, claimed: this.claims.stats.items, sentBatches: this.sentMarks.stats.batches, sent: this.sentMarks.stats.items };
  }

  /** Delivers one reminder; safe to run twice or concurrently. */
  async deliver(reminderId: string, finalAttempt = true): Promise<'sent' | 'skipped' | 'cancelled'> {
    const { db, clock, log } = this.deps;
    // Claim and load in one round trip (shared with the other deliveries in
    // flight): the guarded transition succeeds for one caller only.
    const r = await this.claims.submit(reminderId);
    if (!r) return 'skipped';
    const d: DeliveryDeadline = {
      id: r.deadline_id,
      kind: r.kind,
      title: r.title,
      dueAt: r.due_at,
      dueDate: r.due_date,
      timeZone: r.time_zone,
      status: r.status,
      citation: r.citation,
      verifyWithCounsel: r.verify_with_counsel,
      source: r.source,
      case: { id: r.case_id, reference: r.reference, person: { pseudonym: r.pseudonym } },
    };
    const isOverdue = r.label.startsWith('overdue@');
    // Access can end after a reminder was planned (team removal, role change, ended assignment).
    if (d.status === 'DONE' || d.status === 'CANCELLED' || (d.status === 'MISSED' && !isOverdue) || !r.active || !r.may_see) {
      await db.reminder.updateMany({ where: { id: r.id, status: 'SENDING' }, data: { status: 'CANCELLED' } });
      return 'cancelled';
    }
    try {
      if (r.channel === 'EMAIL') await this.sendEmail(r.email, r.label, d);
      else await this.sendWebhook(r.id, r.user_id, r.label, d);
    } catch (err) {
      // SMTP errors can quote the recipient's address: keep addresses out of
      // the row, the log and the queue's failedReason.
      const message = (err as Error).message.replace(/[^\s<>"']+@[^\s<>"']+/g, '[address]').slice(0, 300);
      await db.reminder.updateMany({ where: { id: r.id, status: 'SENDING' }, data: { status: finalAttempt ? 'FAILED' : 'PENDING', lastError: message } });
      // Ids only: the log never names the person or the recipient's address.
      log.error({ reminderId: r.id, channel: r.channel, finalAttempt, error: message }, 'reminder delivery failed');
      throw new Error(message);
    }
    await this.sentMarks.submit({ id: r.id, at: clock() });
    log.debug({ reminderId: r.id, channel: r.channel }, 'reminder sent');
    return 'sent';
  }

  /**
   * The daily digest: each user with email on and open deadlines in the next
   * seven days gets one email listing them (reference, pseudonym, due time;
   * never legal names). A digest_log row claims the user-day first, so a
   * retried or duplicated job sends nothing twice; a failed send frees it.
   */
  async sendDigests(): Promise<{ sent: number; failed: number }> {
    const { db, clock, log } = this.deps;
    const now = clock();
    const day = now.toISOString().slice(0, 10);
    const weekAhead = new Date(now.getTime() + 7 * 86_400_000);
    const users = await db.user.findMany({ where: { active: true }, select: { id: true, email: true, role: true, memberships: { select: { teamId: true } } } });
    const disabled = new Set((await db.notificationSettings.findMany({ where: { emailEnabled: false }, select: { userId: true } })).map((s) => s.userId));
    let sent = 0;
    let failed = 0;
    for (const u of users) {
      if (disabled.has(u.id)) continue;
      const items = await db.deadline.findMany({
        where: { AND: [myDeadlinesWhere({ userId: u.id, role: u.role, teamIds: u.memberships.map((m) => m.teamId) }), { status: { in: ['OPEN', 'MISSED'] } }, { dueAt: { lte: weekAhead } }] },
        orderBy: { dueAt: 'asc' },
        take: 200,
        select: { title: true, status: true, dueAt: true, timeZone: true, case: { select: { reference: true, person: { select: { pseudonym: true } } } } },
      });
      if (!items.length) continue;
      const claimed = await db.digestLog.createMany({ data: [{ userId: u.id, day }], skipDuplicates: true });
      if (!claimed.count) continue;
      const lines = items.map((d) => `- ${d.status === 'MISSED' || d.dueAt < now ? 'OVERDUE ' : ''}${localTime(d.dueAt, d.timeZone)} (${d.timeZone}): ${d.case.reference} (${d.case.person.pseudonym}) ${d.title}`);
      try {
        if (!this.mailer) throw new Error('no SMTP server configured (SMTP_URL)');
        await this.mailer.sendMail({ from: this.deps.config.mail.from, to: u.email, subject: `Deadlines for the week ahead (${items.length})`, text: ['Open deadlines in the next 7 days:', '', ...lines].join('\n') });
        await db.digestLog.update({ where: { userId_day: { userId: u.id, day } }, data: { sentAt: clock() } });
        sent++;
      } catch (err) {
        await db.digestLog.delete({ where: { userId_day: { userId: u.id, day } } }).catch(() => {});
        log.error({ userId: u.id, error: (err as Error).message.slice(0, 200) }, 'digest delivery failed');
        failed++;
      }
    }
    return { sent, failed };
  }

  private message(label: string, d: DeliveryDeadline) {
    const subject = `[${d.case.reference}] ${labelText(label)}: ${d.title}`;
    const lines = [
      `${labelText(label).toUpperCase()}: ${d.title}`,
      '',
      `Case: ${d.case.reference} (${d.case.person.pseudonym})`,
      `Kind: ${d.kind}`,
      `Due: ${localTime(d.dueAt, d.timeZone)} (${d.timeZone}; ${d.dueAt.toISOString()})`,
      d.citation ? `Source: ${d.citation}` : '',
      d.source === 'RULE' || d.verifyWithCounsel ? 'Computed from a rule: verify with counsel.' : '',
    ];
    return { subject, text: lines.filter((l, i) => l !== '' || i === 1).join('\n') };
  }

  private async sendEmail(to: string, label: string, d: DeliveryDeadline) {
    if (!this.mailer) throw new Error('no SMTP server configured (SMTP_URL)');
    const m = this.message(label, d);
    await this.mailer.sendMail({ from: this.deps.config.mail.from, to, subject: m.subject, text: m.text });
  }

  // Webhook targets are cached briefly per user: one settings read and one
  // decryption per user and half-minute instead of per reminder.
  private readonly webhookCache = new Map<string, { at: number; url: string; secret: string } | { at: number; url: null; secret: null }>();

  private async webhookTarget(userId: string) {
    const cached = this.webhookCache.get(userId);
    if (cached && Date.now() - cached.at < SECRET_CACHE_MS) return cached;
    const s = await this.deps.db.notificationSettings.findUnique({ where: { userId } });
    const entry =
      s?.webhookEnabled && s.webhookUrl && s.webhookSecretEnc
        ? { at: Date.now(), url: s.webhookUrl, secret: this.deps.crypto.decrypt(s.webhookSecretEnc, { table: 'notification_settings', column: 'webhook_secret_enc', rowId: userId }) }
        : { at: Date.now(), url: null, secret: null };
    this.webhookCache.set(userId, entry);
    return entry;
  }

  private async sendWebhook(reminderId: string, userId: string, label: string, d: DeliveryDeadline) {
    const target = await this.webhookTarget(userId);
    if (!target.url || !target.secret) throw new Error('webhook disabled or incomplete');
    await assertWebhookTarget(target.url, this.deps.config.webhooks.allowPrivate);
    const secret = target.secret;
    const body = JSON.stringify({
      id: reminderId,
      idempotencyKey: reminderId,
      label: label.split('@')[0],
      text: this.message(label, d).text,
      deadline: { id: d.id, kind: d.kind, title: d.title, dueAt: d.dueAt.toISOString(), dueDate: d.dueDate, timeZone: d.timeZone, status: d.status, citation: d.citation, verifyWithCounsel: d.verifyWithCounsel },
      case: { id: d.case.id, reference: d.case.reference, pseudonym: d.case.person.pseudonym },
    });
    const ts = Math.floor(Date.now() / 1000).toString();
    const signature = createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
    const res = await postJson(
      target.url,
      {
        'content-type': 'application/json',
        'user-agent': 'exile-case-backend-reminders/1',
        'idempotency-key': reminderId,
        'x-reminder-id': reminderId,
        'x-signature-timestamp': ts,
        'x-signature-256': `sha256=${signature}`,
      },
      body,
      10_000,
    );
    if (res.status < 200 || res.status >= 300) throw new Error(`webhook answered ${res.status}`);
  }
}

/** Starts the relay scheduler and the delivery worker on the queue kit. */
export async function startReminderWorkers(deps: ReminderDeps, opts: { concurrency?: number; relay?: boolean } = {}) {
  const service = new ReminderService(deps);
  const delivery = deps.kit.worker(
    REMINDER_QUEUE,
    async (job: Job<ReminderJob>) => {
      const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      return service.deliver(job.data.reminderId, final);
    },
    { concurrency: opts.concurrency ?? deps.config.reminders.concurrency },
  );
  delivery.on('error', (err) => deps.log.error({ error: err.message }, 'reminder worker error'));
  const relayWorkers: { close(): Promise<void> }[] = [];
  let watchdog: NodeJS.Timeout | null = null;
  let dueListener: ReturnType<typeof startDueListener> | null = null;
  if (opts.relay !== false) {
    const relayQueue = deps.kit.queue(RELAY_QUEUE);
    const ensureSchedulers = async () => {
      await relayQueue.upsertJobScheduler('relay', { every: deps.config.reminders.relaySeconds * 1000 }, { name: 'relay', opts: { removeOnComplete: true, removeOnFail: 100 } });
      // The digest goes out every morning at DIGEST_CRON (UTC).
      await relayQueue.upsertJobScheduler('digest', { pattern: deps.config.reminders.digestCron }, { name: 'digest', opts: { removeOnComplete: true, removeOnFail: 100 } });
    };
    await ensureSchedulers();
    const relay = deps.kit.worker(RELAY_QUEUE, async (job: Job) => (job.name === 'digest' ? service.sendDigests() : service.relayOnce()), { concurrency: 1 });
    relay.on('error', (err) => deps.log.error({ error: err.message }, 'relay worker error'));
    relayWorkers.push(relay);
    // The schedulers live in the queue store. If it was emptied (FLUSHALL, a
    // failover without persistence), recreate them, requeue every pending
    // reminder at once and run the relay now: PostgreSQL is the source of truth.
    watchdog = setInterval(() => {
      void (async () => {
        const present = await relayQueue.getJobScheduler('relay').catch(() => 'unknown' as const);
        if (present) return;
        deps.log.warn('relay scheduler missing (queue store emptied?): recreating it and requeueing pending reminders');
        await ensureSchedulers();
        await service.forgetEnqueued();
        await service.relayOnce();
      })().catch((err) => deps.log.error({ error: (err as Error).message }, 'relay watchdog failed'));
    }, Math.max(1000, Math.min(deps.config.reminders.relaySeconds * 1000, 10_000)));
    watchdog.unref();
    // Run once at start so a restarted worker does not wait a full period.
    await service.relayOnce().catch((err) => deps.log.error({ error: (err as Error).message }, 'initial relay failed'));
    // Reminders written already due are queued at once, not at the next run.
    dueListener = startDueListener({ url: deps.config.db.url, log: deps.log, pass: (shouldStop) => service.enqueueDue(shouldStop) });
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
      deps.log.info({ claims: service.claimStats() }, 'reminder worker stopped');
    },
  };
}
