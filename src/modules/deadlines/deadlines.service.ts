// Deadlines (rule-made and manual) and their reminders.
//
// Reminder rows are the outbox: they are written in the same transaction as
// the deadline change that causes them, so a crash can never leave a deadline
// without its reminders. src/workers/reminders.ts moves due rows into the
// queue and delivers them.
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { AppConfig } from '../../config.ts';
import type { Db, Tx } from '../../db.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import type { Actor } from '../../plugins/auth.ts';
import { authoriseCase, visibleCasesWhere } from '../../plugins/access.ts';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { iso } from '../../lib/http-schemas.ts';
import { localDate, timeZoneFor, zonedToUtc } from '../../lib/legal-time.ts';
import { computeDue, manualDue, type ComputedDue } from './compute.ts';
import { DEFAULT_RULES, FUTURE_ONLY_KINDS } from './default-rules.ts';

export { myDeadlinesWhere } from '../access/visibility.ts';

const SYSTEM_CANCEL_REASON = 'no longer produced by its rule after the event changed';
/** A deadline found already past when it is computed is announced as overdue only if it passed this recently. */
const RECENTLY_MISSED_MS = 7 * 86_400_000;

export type DeadlineDeps = { db: Db; config: AppConfig; clock: () => Date; log?: FastifyBaseLogger };

type DeadlineRow = Prisma.DeadlineGetPayload<object>;

/** The reminder schedule of a deadline: label and instant, before coalescing. */
export function reminderSchedule(d: { dueAt: Date; dueDate: string | null; timeZone: string; hourBased: boolean }, cfg: AppConfig['reminders']) {
  const due = d.dueAt.getTime();
  const out: { label: string; at: Date }[] = [];
  if (d.hourBased) {
    for (const h of cfg.offsetsHours) out.push({ label: `${h}h`, at: new Date(due - h * 3_600_000) });
    out.push({ label: 'overdue', at: new Date(due + 15 * 60_000) });
  } else {
    for (const n of cfg.offsetsDays) out.push({ label: `${n}d`, at: new Date(due - n * 86_400_000) });
    const day = d.dueDate ?? localDate(d.dueAt, d.timeZone);
    const morning = zonedToUtc(day, cfg.morningTime, d.timeZone);
    if (morning.getTime() < due) out.push({ label: 'morning', at: morning });
    out.push({ label: 'overdue', at: new Date(due + 3_600_000) });
  }
  return out;
}

export class DeadlinesService {
  constructor(private readonly deps: DeadlineDeps) {}

  private get db() {
    return this.deps.db;
  }

  /** Inserts the shipped rules that are not in the table yet (by key); never overwrites an admin's edit. */
  async syncDefaultRules(): Promise<number> {
    let inserted = 0;
    for (const r of DEFAULT_RULES) {
      const res = await this.db.deadlineRule.createMany({
        data: [{ id: randomUUID(), ...r, anchor: r.anchor ?? 'EVENT', kind: r.kind as never, triggerEventType: r.triggerEventType as never, timeZone: r.timeZone ?? null, cutoffTime: r.cutoffTime ?? null, holidayNote: r.holidayNote ?? null }],
        skipDuplicates: true,
      });
      inserted += res.count;
    }
    return inserted;
  }

  private async history(tx: Tx, deadlineId: string, actorId: string | null, reason: string, changes: Record<string, unknown>, now: Date) {
    await tx.deadlineChange.create({ data: { deadlineId, at: now, actorId, reason, changes: JSON.parse(JSON.stringify(changes)) } });
  }

  /**
   * Recomputes the rule-made deadlines of one event inside the caller's
   * transaction: new ones are created, moved ones rescheduled (with history),
   * ones no longer produced are cancelled. A deadline a person rescheduled
   * (manualOverride) keeps its date.
   */
  async recomputeForEvent(tx: Tx, eventId: string, actorId: string | null, requestId: string | null): Promise<void> {
    const now = this.deps.clock();
    const ev = await tx.event.findUniqueOrThrow({ where: { id: eventId }, select: { id: true, type: true, occurredAt: true, termDays: true, caseId: true, case: { select: { hostCountry: true } } } });
    const host = ev.case.hostCountry;
    const rules = await tx.deadlineRule.findMany({
      where: { active: true, triggerEventType: ev.type, OR: [{ hostCountries: { isEmpty: true } }, { hostCountries: { has: host } }] },
    });
    const existing = await tx.deadline.findMany({ where: { triggerEventId: ev.id, source: 'RULE' } });
    const seen = new Set<string>();
    for (const rule of rules) {
      const due = computeDue(rule, ev, host);
      if (!due) continue;
      if (FUTURE_ONLY_KINDS.has(rule.kind) && due.dueAt <= now) continue;
      seen.add(rule.id);
      const current = existing.find((d) => d.ruleId === rule.id);
      if (!current) {
        const id = randomUUID();
        const missed = due.dueAt <= now;
        await tx.deadline.create({
          data: {
            id,
            caseId: ev.caseId,
            triggerEventId: ev.id,
            ruleId: rule.id,
            kind: rule.kind,
            title: rule.title,
            ...due,
            status: missed ? 'MISSED' : 'OPEN',
            source: 'RULE',
            citation: rule.citation,
            verifyWithCounsel: rule.verifyWithCounsel,
            confidence: rule.confidence,
            createdById: actorId,
            createdAt: now,
          },
        });
        await this.history(tx, id, actorId, 'computed', { rule: rule.key, dueAt: iso(due.dueAt), status: missed ? 'MISSED' : 'OPEN' }, now);
        await appendAudit(tx, { actorId, action: 'deadline.computed', entityType: 'deadline', entityId: id, caseId: ev.caseId, requestId, changes: { rule: rule.key, dueAt: { new: iso(due.dueAt) } } }, now);
        await this.planReminders(tx, id);
        continue;
      }
      if (current.manualOverride || current.status === 'DONE') continue;
      if (current.status === 'CANCELLED') {
        // Reopen only what the system cancelled (the event stopped producing
        // it, then produced it again); a person's cancellation stands.
        const last = await tx.deadlineChange.findFirst({ where: { deadlineId: current.id }, orderBy: { id: 'desc' }, select: { reason: true } });
        if (last?.reason !== SYSTEM_CANCEL_REASON) continue;
        const missed = due.dueAt <= now;
        await tx.deadline.update({ where: { id: current.id }, data: { ...due, status: missed ? 'MISSED' : 'OPEN', version: { increment: 1 }, updatedAt: now } });
        await this.history(tx, current.id, actorId, 'reopened: produced by its rule again after the event changed', { status: { old: 'CANCELLED', new: missed ? 'MISSED' : 'OPEN' }, dueAt: iso(due.dueAt) }, now);
        await appendAudit(tx, { actorId, action: 'deadline.reopened', entityType: 'deadline', entityId: current.id, caseId: ev.caseId, requestId, changes: { dueAt: { new: iso(due.dueAt) } } }, now);
        await this.planReminders(tx, current.id);
        continue;
      }
      if (current.dueAt.getTime() !== due.dueAt.getTime()) {
        const missed = due.dueAt <= now;
        await tx.deadline.update({ where: { id: current.id }, data: { ...due, status: missed ? 'MISSED' : 'OPEN', version: { increment: 1 }, updatedAt: now } });
        await this.history(tx, current.id, actorId, 'recomputed after event change', { dueAt: { old: iso(current.dueAt), new: iso(due.dueAt) } }, now);
        await appendAudit(tx, { actorId, action: 'deadline.recomputed', entityType: 'deadline', entityId: current.id, caseId: ev.caseId, requestId, changes: { dueAt: { old: iso(current.dueAt), new: iso(due.dueAt) } } }, now);
        await this.cancelPendingReminders(tx, current.id);
        await this.planReminders(tx, current.id);
      }
    }
    for (const d of existing) {
      if (seen.has(d.ruleId ?? '') || d.manualOverride || (d.status !== 'OPEN' && d.status !== 'MISSED')) continue;
      await tx.deadline.update({ where: { id: d.id }, data: { status: 'CANCELLED', version: { increment: 1 }, updatedAt: now } });
      await this.history(tx, d.id, actorId, SYSTEM_CANCEL_REASON, { status: { old: d.status, new: 'CANCELLED' } }, now);
      await appendAudit(tx, { actorId, action: 'deadline.cancelled', entityType: 'deadline', entityId: d.id, caseId: ev.caseId, requestId, changes: { reason: 'event changed' } }, now);
      await this.cancelPendingReminders(tx, d.id);
    }
  }

  /**
   * A red notice or diffusion calls for a request to the CCF. There is no
   * legal time limit, so this is a task with a working target (30 days),
   * shipped at LOW confidence; it is created once per case.
   */
  async ensureCcfTask(tx: Tx, caseId: string, mechanism: string, actorId: string, requestId: string | null): Promise<void> {
    if (mechanism !== 'INTERPOL_RED_NOTICE' && mechanism !== 'INTERPOL_DIFFUSION') return;
    const exists = await tx.deadline.findFirst({ where: { caseId, kind: 'CCF_REQUEST', status: { in: ['OPEN', 'DONE', 'MISSED'] } }, select: { id: true } });
    if (exists) return;
    const c = await tx.case.findUniqueOrThrow({ where: { id: caseId }, select: { hostCountry: true } });
    const now = this.deps.clock();
    const due = manualDue({ dueDate: localDate(new Date(now.getTime() + 30 * 86_400_000), timeZoneFor(c.hostCountry)) }, c.hostCountry);
    const id = randomUUID();
    await tx.deadline.create({
      data: {
        id,
        caseId,
        kind: 'CCF_REQUEST',
        title: 'Request access to / deletion of the Interpol data at the CCF',
        ...due,
        source: 'RULE',
        citation: "Statute of the CCF: no time limit for requests; 30 days is a working target. Interpol's Constitution Art. 3 forbids politically motivated notices",
        verifyWithCounsel: true,
        confidence: 'LOW',
        createdById: actorId,
        createdAt: now,
      },
    });
    await this.history(tx, id, actorId, 'created for an Interpol notice or diffusion', { mechanism, dueAt: iso(due.dueAt) }, now);
    await appendAudit(tx, { actorId, action: 'deadline.computed', entityType: 'deadline', entityId: id, caseId, requestId, changes: { kind: { new: 'CCF_REQUEST' }, dueAt: { new: iso(due.dueAt) } } }, now);
    await this.planReminders(tx, id);
  }

  async createManual(tx: Tx, caseId: string, hostCountry: string, input: { kind: string; title: string; dueAt?: string; dueDate?: string; assigneeId?: string }, actorId: string, requestId: string) {
    const now = this.deps.clock();
    const due: ComputedDue = manualDue(input, hostCountry);
    if (due.dueAt <= now) throw new AppError('VALIDATION', 'the due time is in the past', { errors: [{ path: input.dueAt ? 'body.dueAt' : 'body.dueDate', message: 'must be in the future' }] });
    if (input.assigneeId) {
      const u = await tx.user.findUnique({ where: { id: input.assigneeId }, select: { active: true, role: true, memberships: { select: { teamId: true } } } });
      const invalid = () => new AppError('VALIDATION', 'assigneeId: no active user who may see this case', { errors: [{ path: 'body.assigneeId', message: 'no active user who may see this case' }] });
      if (!u?.active) throw invalid();
      await authoriseCase(tx, { userId: input.assigneeId, role: u.role, teamIds: u.memberships.map((m) => m.teamId) }, caseId, 'see').catch(() => {
        throw invalid();
      });
    }
    const id = randomUUID();
    const row = await tx.deadline.create({
      data: { id, caseId, kind: input.kind as never, title: input.title, ...due, source: 'MANUAL', assigneeId: input.assigneeId ?? null, createdById: actorId, createdAt: now },
    });
    await this.history(tx, id, actorId, 'created', { dueAt: iso(due.dueAt), kind: input.kind }, now);
    await appendAudit(tx, { actorId, action: 'deadline.create', entityType: 'deadline', entityId: id, caseId, requestId, changes: { kind: { new: input.kind }, title: { new: input.title }, dueAt: { new: iso(due.dueAt) } } }, now);
    await this.planReminders(tx, id);
    return row;
  }

  /** Done, cancelled, reopened or rescheduled; reminders follow in the same transaction. */
  async update(tx: Tx, d: DeadlineRow, hostCountry: string, patch: { status?: 'OPEN' | 'DONE' | 'CANCELLED'; dueAt?: string; dueDate?: string; title?: string }, actorId: string, requestId: string) {
    const now = this.deps.clock();
    const data: Prisma.DeadlineUncheckedUpdateInput = { version: { increment: 1 }, updatedAt: now };
    const changes: Record<string, unknown> = {};
    let reschedule = false;
    if (patch.dueAt || patch.dueDate) {
      const due = manualDue(patch, hostCountry);
      if (due.dueAt <= now && (patch.status ?? d.status) === 'OPEN') {
        throw new AppError('VALIDATION', 'a rescheduled deadline must be in the future', { errors: [{ path: patch.dueAt ? 'body.dueAt' : 'body.dueDate', message: 'must be in the future' }] });
      }
      if (due.dueAt.getTime() !== d.dueAt.getTime()) {
        Object.assign(data, due, { manualOverride: true });
        changes.dueAt = { old: iso(d.dueAt), new: iso(due.dueAt) };
        reschedule = true;
        if (!patch.status && d.status === 'MISSED' && due.dueAt > now) {
          data.status = 'OPEN';
          changes.status = { old: d.status, new: 'OPEN' };
        }
      }
    }
    if (patch.title && patch.title !== d.title) {
      data.title = patch.title;
      changes.title = { old: d.title, new: patch.title };
    }
    if (patch.status && patch.status !== d.status) {
      data.status = patch.status;
      data.completedAt = patch.status === 'DONE' ? now : null;
      changes.status = { old: d.status, new: patch.status };
    }
    if (!Object.keys(changes).length) return tx.deadline.findUniqueOrThrow({ where: { id: d.id } });
    const updated = await tx.deadline.update({ where: { id: d.id }, data });
    await this.history(tx, d.id, actorId, 'updated', changes, now);
    await appendAudit(tx, { actorId, action: 'deadline.update', entityType: 'deadline', entityId: d.id, caseId: d.caseId, requestId, changes: changes as never }, now);
    if (updated.status !== 'OPEN') await this.cancelPendingReminders(tx, d.id);
    else if (reschedule || changes.status) {
      await this.cancelPendingReminders(tx, d.id);
      await this.planReminders(tx, d.id);
    }
    return updated;
  }

  async cancelPendingReminders(tx: Tx, deadlineId: string, recipientId?: string): Promise<number> {
    const { count } = await tx.reminder.updateMany({ where: { deadlineId, status: 'PENDING', ...(recipientId ? { recipientId } : {}) }, data: { status: 'CANCELLED' } });
    return count;
  }

  /**
   * Writes the reminder rows of an open deadline. Offsets already past are not
   * skipped: they are coalesced into one reminder sent at once (a detention
   * logged at night with a 72-hour clock must reach the lawyer now).
   * Recipients: the case's current lawyers, its team's caseworkers and the
   * assignee; the overdue reminder also goes to the team's coordinators.
   */
  async planReminders(tx: Tx, deadlineId: string, onlyRecipient?: string): Promise<number> {
    const now = this.deps.clock();
    const d = await tx.deadline.findUniqueOrThrow({
      where: { id: deadlineId },
      select: { id: true, status: true, dueAt: true, dueDate: true, timeZone: true, hourBased: true, assigneeId: true, case: { select: { id: true, teamId: true } } },
    });
    // A deadline computed when it had already passed (an event logged late)
    // still warns, once, if it passed recently: an overdue reminder goes out at once.
    const justMissed = d.status === 'MISSED' && d.dueAt.getTime() > now.getTime() - RECENTLY_MISSED_MS;
    if (d.status !== 'OPEN' && !justMissed) return 0;
    const [lawyers, members] = await Promise.all([
      tx.assignment.findMany({ where: { caseId: d.case.id, endedAt: null, lawyer: { active: true } }, select: { lawyerId: true } }),
      tx.teamMember.findMany({ where: { teamId: d.case.teamId, user: { active: true, role: { in: ['CASEWORKER', 'COORDINATOR'] } } }, select: { userId: true, user: { select: { role: true } } } }),
    ]);
    const regular = new Set<string>([...lawyers.map((l) => l.lawyerId), ...members.filter((m) => m.user.role === 'CASEWORKER').map((m) => m.userId)]);
    if (d.assigneeId) regular.add(d.assigneeId);
    const escalation = new Set<string>([...regular, ...members.filter((m) => m.user.role === 'COORDINATOR').map((m) => m.userId)]);
    const everyone = [...escalation].filter((u) => !onlyRecipient || u === onlyRecipient);
    if (!everyone.length) return 0;
    const settings = await tx.notificationSettings.findMany({ where: { userId: { in: everyone } } });
    const channelsOf = (userId: string) => {
      const s = settings.find((x) => x.userId === userId);
      const ch: ('EMAIL' | 'WEBHOOK')[] = [];
      if (!s || s.emailEnabled) ch.push('EMAIL');
      if (s?.webhookEnabled && s.webhookUrl && s.webhookSecretEnc) ch.push('WEBHOOK');
      return ch;
    };
    const schedule = reminderSchedule(d, this.deps.config.reminders);
    const future = schedule.filter((s) => s.at > now || s.label === 'overdue');
    const passed = schedule.filter((s) => s.at <= now && s.label !== 'overdue');
    const items = justMissed ? schedule.filter((s) => s.label === 'overdue') : [...future];
    if (!justMissed && passed.length && d.dueAt > now) items.push({ label: 'now', at: now });
    // Labels carry the due instant, so a rescheduled deadline gets a fresh set
    // while the reminders already sent for the old date stay on record.
    const stamp = d.dueAt.toISOString();
    const rows: Prisma.ReminderCreateManyInput[] = [];
    for (const item of items) {
      const recipients = item.label === 'overdue' ? escalation : regular;
      for (const userId of recipients) {
        if (onlyRecipient && userId !== onlyRecipient) continue;
        for (const channel of channelsOf(userId)) {
          rows.push({ id: randomUUID(), deadlineId: d.id, recipientId: userId, channel, label: `${item.label}@${stamp}`, sendAt: item.at < now ? now : item.at, createdAt: now });
        }
      }
    }
    if (!rows.length) return 0;
    const res = await tx.reminder.createMany({ data: rows, skipDuplicates: true });
    return res.count;
  }

  /** A lawyer newly assigned to a case gets reminders for its open deadlines. */
  async onLawyerAssigned(tx: Tx, caseId: string, lawyerId: string): Promise<void> {
    const open = await tx.deadline.findMany({ where: { caseId, status: 'OPEN' }, select: { id: true } });
    for (const d of open) await this.planReminders(tx, d.id, lawyerId);
  }

  async onLawyerUnassigned(tx: Tx, caseId: string, lawyerId: string): Promise<void> {
    await tx.reminder.updateMany({ where: { status: 'PENDING', recipientId: lawyerId, deadline: { caseId } }, data: { status: 'CANCELLED' } });
  }

  /**
   * Marks open deadlines past due as MISSED (history and audit in the same
   * transaction). Their overdue reminders stay scheduled: missing is exactly
   * when coordinators must hear about it.
   */
  async markMissed(limit = 500): Promise<number> {
    const now = this.deps.clock();
    return this.db.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string; case_id: string }[]>`
        UPDATE deadlines SET status = 'MISSED', version = version + 1, updated_at = ${now}
        WHERE id IN (SELECT id FROM deadlines WHERE status = 'OPEN' AND due_at < ${now} ORDER BY due_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        RETURNING id::text, case_id::text`;
      for (const r of rows) {
        await this.history(tx, r.id, null, 'past due and not done', { status: { old: 'OPEN', new: 'MISSED' } }, now);
        await appendAudit(tx, { actorId: null, action: 'deadline.missed', entityType: 'deadline', entityId: r.id, caseId: r.case_id }, now);
        await tx.reminder.updateMany({ where: { deadlineId: r.id, status: 'PENDING', NOT: { label: { startsWith: 'overdue@' } } }, data: { status: 'CANCELLED' } });
      }
      return rows.length;
    });
  }
}

export function toDeadlineDto(d: DeadlineRow & { case?: { reference: string; person: { pseudonym: string } } }) {
  return {
    id: d.id,
    caseId: d.caseId,
    caseReference: d.case?.reference,
    pseudonym: d.case?.person.pseudonym,
    triggerEventId: d.triggerEventId,
    kind: d.kind,
    title: d.title,
    dueAt: iso(d.dueAt),
    dueDate: d.dueDate,
    timeZone: d.timeZone,
    hourBased: d.hourBased,
    status: d.status,
    source: d.source,
    citation: d.citation,
    verifyWithCounsel: d.verifyWithCounsel,
    confidence: d.confidence,
    note: d.source === 'RULE' ? 'computed, verify with counsel' : null,
    manualOverride: d.manualOverride,
    assigneeId: d.assigneeId,
    version: d.version,
    completedAt: iso(d.completedAt),
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
  };
}
