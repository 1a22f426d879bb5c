// Delivery of one reminder: claim (the guarded PENDING -> SENDING transition,
// or the take-over of a dead worker's claim), check the recipient may still
// see the case, send by email or webhook, then SENDING -> SENT. Deliveries in
// flight in this process share their database round trips: the claims that
// arrive within 5 ms (up to 500) are one UPDATE … RETURNING, and the "sent"
// marks one UPDATE. Each reminder keeps its own guarded transitions inside
// those statements, so batching changes cost, not rules.
import type { FastifyBaseLogger } from 'fastify';
import type { Transporter } from 'nodemailer';
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { Batcher } from '../../lib/batcher.ts';
import { caseVisibleToUserSql } from '../../modules/access/visibility.ts';
import { parseLabel, type ReminderLabel } from '../../modules/reminders/label.ts';
import { reminderMessage, type DeliveryDeadline } from './message.ts';
import type { WebhookSender } from './webhook.ts';

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
  /** Cancelled but not yet confirmed by a second member: the overdue escalation still goes out. */
  cancel_unconfirmed: boolean;
  citation: string | null;
  verify_with_counsel: boolean;
  source: string;
  case_id: string;
  reference: string;
  pseudonym: string;
  may_see: boolean;
  /** When the recipient's channels last changed, read in the claim: a cached webhook target older than this is dropped. */
  settings_at: Date | null;
};

export type DeliveryDeps = {
  db: Db;
  config: AppConfig;
  clock: () => Date;
  log: FastifyBaseLogger;
  mailer: Transporter | null;
  webhooks: WebhookSender;
};

function deadlineOf(r: ClaimedRow): DeliveryDeadline {
  return {
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
}

/** An error message fit for the row, the log and the queue: SMTP errors can quote the recipient's address. */
function scrubbed(err: unknown): string {
  return (err instanceof Error ? err.message : String(err))
    .replace(/[^\s<>"']+@[^\s<>"']+/g, '[address]')
    .slice(0, 300);
}

export class ReminderDelivery {
  private readonly claims = new Batcher<string, ClaimedRow | null>((ids) => this.claimMany(ids), {
    maxSize: 500,
    maxWaitMs: 5,
  });
  private readonly sentMarks = new Batcher<{ id: string; at: Date }, boolean>((items) => this.markSentMany(items), {
    maxSize: 500,
    maxWaitMs: 5,
  });

  constructor(private readonly deps: DeliveryDeps) {}

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
    const takeOverBefore = new Date(now.getTime() - config.reminders.claimTimeoutMs);
    const rows = await db.$queryRaw<ClaimedRow[]>`
      WITH claimed AS (
        UPDATE reminders SET status = 'SENDING', claimed_at = ${now}, attempts = attempts + 1
        WHERE id = ANY(${unique}::uuid[]) AND send_at <= ${new Date(now.getTime() + 2_000)}
          AND (status = 'PENDING' OR (status = 'SENDING' AND claimed_at < ${takeOverBefore}))
        RETURNING id, label, channel::text AS channel, recipient_id, deadline_id
      )
      SELECT c.id::text, c.label, c.channel, u.id::text AS user_id, u.email, u.active,
             d.id::text AS deadline_id, d.kind::text AS kind, d.title, d.due_at, d.due_date, d.time_zone,
             d.status::text AS status,
             (d.cancel_requested_by_id IS NOT NULL AND d.cancel_confirmed_by_id IS NULL) AS cancel_unconfirmed,
             d.citation, d.verify_with_counsel, d.source::text AS source,
             k.id::text AS case_id, k.reference, p.pseudonym,
             ${Prisma.raw(caseVisibleToUserSql('u', 'k'))} AS may_see,
             ns.updated_at AS settings_at
      FROM claimed c
      JOIN users u ON u.id = c.recipient_id
      LEFT JOIN notification_settings ns ON ns.user_id = u.id
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
    const ids = items.map((i) => i.id);
    const ats = items.map((i) => i.at.toISOString());
    let rows: { id: string }[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        rows = await this.deps.db.$queryRaw<{ id: string }[]>`
          UPDATE reminders AS r SET status = 'SENT', sent_at = v.at, last_error = NULL
          FROM unnest(${ids}::uuid[], ${ats}::timestamptz[]) AS v(id, at)
          WHERE r.id = v.id AND r.status = 'SENDING'
          RETURNING r.id::text`;
        break;
      } catch (err) {
        if (attempt >= 4) throw err;
        // The error code only: database error messages can echo the statement's arguments.
        const code = (typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined) ?? 'unknown';
        this.deps.log.warn({ reminders: items.length, attempt, code }, 'marking reminders sent failed; retrying');
        await new Promise((r) => setTimeout(r, 200 * 4 ** (attempt - 1)));
      }
    }
    const done = new Set(rows.map((r) => r.id));
    return items.map((i) => done.has(i.id));
  }

  /** How well deliveries shared their statements: batches run and reminders in them. */
  claimStats() {
    return {
      claimBatches: this.claims.stats.batches,
      claimed: this.claims.stats.items,
      sentBatches: this.sentMarks.stats.batches,
      sent: this.sentMarks.stats.items,
    };
  }

  /** Delivers one reminder; safe to run twice or concurrently. */
  async deliver(reminderId: string, finalAttempt = true): Promise<'sent' | 'skipped' | 'cancelled'> {
    const { db, clock, log } = this.deps;
    // Claim and load in one round trip (shared with the other deliveries in
    // flight): the guarded transition succeeds for one caller only.
    const r = await this.claims.submit(reminderId);
    if (!r) return 'skipped';
    const d = deadlineOf(r);
    let label: ReminderLabel;
    try {
      label = parseLabel(r.label);
    } catch (err) {
      return this.failed(r, err, finalAttempt);
    }
    // Access can end after a reminder was planned (team removal, role change, ended assignment).
    // A change notice reports the change itself: a deadline done or cancelled is what it announces.
    const stale =
      label.kind === 'changed'
        ? false
        : d.status === 'DONE' ||
          (d.status === 'CANCELLED' && !(r.cancel_unconfirmed && label.kind === 'overdue')) ||
          (d.status === 'MISSED' && label.kind !== 'overdue');
    if (stale || !r.active || !r.may_see) {
      await db.reminder.updateMany({ where: { id: r.id, status: 'SENDING' }, data: { status: 'CANCELLED' } });
      return 'cancelled';
    }
    try {
      if (label.kind === 'changed') d.change = await this.changeOf(d.id, label.dueAt);
      await this.send(r, label, d);
    } catch (err) {
      return this.failed(r, err, finalAttempt);
    }
    await this.sentMarks.submit({ id: r.id, at: clock() });
    log.debug({ reminderId: r.id, channel: r.channel }, 'reminder sent');
    return 'sent';
  }

  /** Who changed what for a change notice (its history entry at `at`); never the free-text reason. */
  private async changeOf(deadlineId: string, at: Date): Promise<DeliveryDeadline['change']> {
    const [row] = await this.deps.db.$queryRaw<{ name: string | null; changes: Record<string, unknown> }[]>`
      SELECT u.display_name AS name, dc.changes
      FROM deadline_changes dc LEFT JOIN users u ON u.id = dc.actor_id
      WHERE dc.deadline_id = ${deadlineId}::uuid AND dc.at = ${at}
      ORDER BY dc.id DESC LIMIT 1`;
    const what = (key: string) => {
      const c = row?.changes?.[key] as { old?: unknown; new?: unknown } | undefined;
      return c && typeof c === 'object' ? `${key} ${String(c.old)} -> ${String(c.new)}` : null;
    };
    const parts = [what('status'), what('dueAt')].filter((x): x is string => x !== null);
    return { by: row?.name ?? 'someone', what: parts.join('; ') || 'changed' };
  }

  /** A failed attempt: back to PENDING for a retry, or FAILED after the last one; always throws. */
  private async failed(r: ClaimedRow, err: unknown, finalAttempt: boolean): Promise<never> {
    const message = scrubbed(err);
    await this.deps.db.reminder.updateMany({
      where: { id: r.id, status: 'SENDING' },
      data: { status: finalAttempt ? 'FAILED' : 'PENDING', lastError: message },
    });
    // Ids only: the log never names the person or the recipient's address.
    this.deps.log.error(
      { reminderId: r.id, channel: r.channel, finalAttempt, error: message },
      'reminder delivery failed',
    );
    throw new Error(message);
  }

  private async send(r: ClaimedRow, label: ReminderLabel, d: DeliveryDeadline): Promise<void> {
    if (r.channel === 'WEBHOOK') return this.deps.webhooks.send(r.id, r.user_id, label, d, r.settings_at);
    const { mailer, config } = this.deps;
    if (!mailer) throw new Error('no SMTP server configured (SMTP_URL)');
    const m = reminderMessage(label, d);
    await mailer.sendMail({ from: config.mail.from, to: r.email, subject: m.subject, text: m.text });
  }
}
