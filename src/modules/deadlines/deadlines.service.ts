// Deadlines made by rules, inside the caller's transaction: an event recorded
// or edited recomputes its deadlines, an Interpol notice opens a CCF task, and
// the relay marks deadlines past due as MISSED. Reminders follow every change
// in the same transaction (src/modules/reminders/planner.ts). What the API
// asks of deadlines is in ./case-deadlines.service.ts; the rules themselves in
// ./deadline-rules.service.ts.
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { AppConfig } from '../../config.ts';
import type { Db, Tx } from '../../db.ts';
import { iso } from '../../lib/http-schemas.ts';
import { localDate, timeZoneFor } from '../../lib/legal-time.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { ReminderPlanner } from '../reminders/planner.ts';
import { computeDue, manualDue } from './compute.ts';
import { DeadlineRulesService } from './deadline-rules.service.ts';
import { FUTURE_ONLY_KINDS } from './default-rules.ts';
import { FRESH_EVENT, caseTreaties, loadOverrides, treatyMatches, type FreshEvent } from './rule-inputs.ts';

const SYSTEM_CANCEL_REASON = 'no longer produced by its rule after the event changed';

export type DeadlineDeps = { db: Db; config: AppConfig; clock: () => Date; log?: FastifyBaseLogger };

/** Appends one entry to a deadline's history (how it was computed and changed). */
export async function writeHistory(
  tx: Tx,
  deadlineId: string,
  actorId: string | null,
  reason: string,
  changes: Record<string, unknown>,
  now: Date,
): Promise<void> {
  await tx.deadlineChange.create({
    data: { deadlineId, at: now, actorId, reason, changes: JSON.parse(JSON.stringify(changes)) },
  });
}

export class DeadlinesService {
  private readonly planner: ReminderPlanner;

  constructor(private readonly deps: DeadlineDeps) {
    this.planner = new ReminderPlanner(deps);
  }

  /** Inserts the shipped rules that are not in the table yet (by key); never overwrites an admin's edit. */
  async syncDefaultRules(): Promise<number> {
    return new DeadlineRulesService(this.deps).syncDefaults();
  }

  /**
   * Recomputes the rule-made deadlines of one event inside the caller's
   * transaction: new ones are created, moved ones rescheduled (with history),
   * ones no longer produced are cancelled. A deadline a person rescheduled
   * (manualOverride) keeps its date.
   */
  async recomputeForEvent(
    tx: Tx,
    eventId: string,
    actorId: string | null,
    requestId: string | null,
    why = 'recomputed after event change',
    fresh?: FreshEvent,
  ): Promise<string[]> {
    const now = this.deps.clock();
    // An event created in this transaction is known already and has no deadlines yet: two reads fewer.
    const { ev, host } = fresh
      ? { ev: fresh.event, host: fresh.hostCountry }
      : await tx.event
          .findUniqueOrThrow({
            where: { id: eventId },
            select: { ...FRESH_EVENT, case: { select: { hostCountry: true } } },
          })
          .then(({ case: c, ...e }) => ({ ev: e, host: c.hostCountry }));
    const candidates = await tx.deadlineRule.findMany({
      where: {
        active: true,
        triggerEventType: ev.type,
        OR: [{ hostCountries: { isEmpty: true } }, { hostCountries: { has: host } }],
      },
    });
    // The extra reads only when a rule needs them (most events have no rule at all).
    const treatyBound = candidates.some((r) => r.treaties.length > 0);
    const rules = treatyBound ? candidates.filter(treatyMatches(await caseTreaties(tx, ev.caseId))) : candidates;
    const needsCalendar = rules.some((r) => r.offsetUnit !== 'HOURS');
    const overridesFor = needsCalendar ? await loadOverrides(tx, [host, 'ECHR']) : () => undefined;
    const existing = fresh ? [] : await tx.deadline.findMany({ where: { triggerEventId: ev.id, source: 'RULE' } });
    const audit = (action: string, entityId: string, changes: Record<string, unknown>) =>
      appendAudit(
        tx,
        { actorId, action, entityType: 'deadline', entityId, caseId: ev.caseId, requestId, changes },
        now,
      );
    const seen = new Set<string>();
    const created: string[] = [];
    for (const rule of rules) {
      const due = computeDue(rule, ev, host, overridesFor);
      if (!due) continue;
      if (FUTURE_ONLY_KINDS.has(rule.kind) && due.dueAt <= now) continue;
      seen.add(rule.id);
      const current = existing.find((d) => d.ruleId === rule.id);
      const status = due.dueAt <= now ? 'MISSED' : 'OPEN';
      if (!current) {
        const id = randomUUID();
        await tx.deadline.create({
          data: {
            id,
            caseId: ev.caseId,
            triggerEventId: ev.id,
            ruleId: rule.id,
            kind: rule.kind,
            title: rule.title,
            ...due,
            status,
            source: 'RULE',
            citation: rule.citation,
            verifyWithCounsel: rule.verifyWithCounsel,
            confidence: rule.confidence,
            createdById: actorId,
            createdAt: now,
          },
        });
        await writeHistory(tx, id, actorId, 'computed', { rule: rule.key, dueAt: iso(due.dueAt), status }, now);
        await audit('deadline.computed', id, { rule: rule.key, dueAt: { new: iso(due.dueAt) } });
        await this.planner.plan(tx, id);
        created.push(id);
        continue;
      }
      if (current.manualOverride || current.status === 'DONE') continue;
      if (current.status === 'CANCELLED') {
        // Reopen only what the system cancelled (the event stopped producing
        // it, then produced it again); a person's cancellation stands.
        const last = await tx.deadlineChange.findFirst({
          where: { deadlineId: current.id },
          orderBy: { id: 'desc' },
          select: { reason: true },
        });
        if (last?.reason !== SYSTEM_CANCEL_REASON) continue;
        await tx.deadline.update({
          where: { id: current.id },
          data: { ...due, status, version: { increment: 1 }, updatedAt: now },
        });
        await writeHistory(
          tx,
          current.id,
          actorId,
          'reopened: produced by its rule again after the event changed',
          { status: { old: 'CANCELLED', new: status }, dueAt: iso(due.dueAt) },
          now,
        );
        await audit('deadline.reopened', current.id, { dueAt: { new: iso(due.dueAt) } });
        await this.planner.plan(tx, current.id);
        continue;
      }
      if (current.dueAt.getTime() !== due.dueAt.getTime()) {
        const moved = { dueAt: { old: iso(current.dueAt), new: iso(due.dueAt) } };
        await tx.deadline.update({
          where: { id: current.id },
          data: { ...due, status, version: { increment: 1 }, updatedAt: now },
        });
        await writeHistory(tx, current.id, actorId, why, moved, now);
        await audit('deadline.recomputed', current.id, moved);
        await this.planner.replan(tx, current.id);
      }
    }
    for (const d of existing) {
      if (seen.has(d.ruleId ?? '') || d.manualOverride || (d.status !== 'OPEN' && d.status !== 'MISSED')) continue;
      await tx.deadline.update({
        where: { id: d.id },
        data: { status: 'CANCELLED', version: { increment: 1 }, updatedAt: now },
      });
      await writeHistory(tx, d.id, actorId, SYSTEM_CANCEL_REASON, { status: { old: d.status, new: 'CANCELLED' } }, now);
      await audit('deadline.cancelled', d.id, { reason: 'event changed' });
      await this.planner.cancelPending(tx, d.id);
    }
    return created;
  }

  /** A charge's treaty changed: recompute the events of the case that treaty-bound rules start from. */
  async recomputeTreatyBound(tx: Tx, caseId: string, actorId: string, requestId: string | null): Promise<void> {
    const types = await tx.deadlineRule.findMany({
      where: { active: true, NOT: { treaties: { isEmpty: true } } },
      select: { triggerEventType: true },
      distinct: ['triggerEventType'],
    });
    const events = await tx.event.findMany({
      where: { caseId, type: { in: types.map((t) => t.triggerEventType) } },
      select: { id: true },
    });
    for (const e of events) await this.recomputeForEvent(tx, e.id, actorId, requestId);
  }

  /**
   * A red notice or diffusion calls for a request to the CCF. There is no
   * legal time limit, so this is a task with a working target (30 days),
   * shipped at LOW confidence; it is created once per case.
   */
  async ensureCcfTask(
    tx: Tx,
    caseId: string,
    mechanism: string,
    actorId: string,
    requestId: string | null,
  ): Promise<void> {
    if (mechanism !== 'INTERPOL_RED_NOTICE' && mechanism !== 'INTERPOL_DIFFUSION') return;
    const exists = await tx.deadline.findFirst({
      where: { caseId, kind: 'CCF_REQUEST', status: { in: ['OPEN', 'DONE', 'MISSED'] } },
      select: { id: true },
    });
    if (exists) return;
    const c = await tx.case.findUniqueOrThrow({ where: { id: caseId }, select: { hostCountry: true } });
    const now = this.deps.clock();
    const target = localDate(new Date(now.getTime() + 30 * 86_400_000), timeZoneFor(c.hostCountry));
    const due = manualDue({ dueDate: target }, c.hostCountry);
    const id = randomUUID();
    await tx.deadline.create({
      data: {
        id,
        caseId,
        kind: 'CCF_REQUEST',
        title: 'Request access to / deletion of the Interpol data at the CCF',
        ...due,
        source: 'RULE',
        citation:
          'Statute of the CCF: no time limit for requests; 30 days is a working target. ' +
          "Interpol's Constitution Art. 3 forbids politically motivated notices",
        verifyWithCounsel: true,
        confidence: 'LOW',
        createdById: actorId,
        createdAt: now,
      },
    });
    await writeHistory(
      tx,
      id,
      actorId,
      'created for an Interpol notice or diffusion',
      { mechanism, dueAt: iso(due.dueAt) },
      now,
    );
    await appendAudit(
      tx,
      {
        actorId,
        action: 'deadline.computed',
        entityType: 'deadline',
        entityId: id,
        caseId,
        requestId,
        changes: { kind: { new: 'CCF_REQUEST' }, dueAt: { new: iso(due.dueAt) } },
      },
      now,
    );
    await this.planner.plan(tx, id);
  }

  /** A lawyer newly assigned to a case gets reminders for its open deadlines. */
  async onLawyerAssigned(tx: Tx, caseId: string, lawyerId: string): Promise<void> {
    await this.planner.onLawyerAssigned(tx, caseId, lawyerId);
  }

  /** A lawyer whose assignment ended gets no more reminders for the case. */
  async onLawyerUnassigned(tx: Tx, caseId: string, lawyerId: string): Promise<void> {
    await this.planner.onLawyerUnassigned(tx, caseId, lawyerId);
  }

  /**
   * Marks open deadlines past due as MISSED (history and audit in the same
   * transaction). Their overdue reminders stay scheduled: missing is exactly
   * when coordinators must hear about it.
   */
  async markMissed(limit = 500): Promise<number> {
    const now = this.deps.clock();
    return this.deps.db.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string; case_id: string }[]>`
        UPDATE deadlines SET status = 'MISSED', version = version + 1, updated_at = ${now}
        WHERE id IN (
          SELECT id FROM deadlines WHERE status = 'OPEN' AND due_at < ${now}
          ORDER BY due_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
        )
        RETURNING id::text, case_id::text`;
      for (const r of rows) {
        await writeHistory(tx, r.id, null, 'past due and not done', { status: { old: 'OPEN', new: 'MISSED' } }, now);
        await appendAudit(
          tx,
          { actorId: null, action: 'deadline.missed', entityType: 'deadline', entityId: r.id, caseId: r.case_id },
          now,
        );
        await this.planner.cancelAllButOverdue(tx, r.id);
      }
      return rows.length;
    });
  }
}
