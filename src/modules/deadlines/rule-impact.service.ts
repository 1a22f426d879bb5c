// What editing a rule does to the deadlines it already made: a dry run that
// counts how many open deadlines would move and by how much, and the
// recomputation itself (in batches of events, each batch one transaction; every
// moved deadline gets its history, audit entry and fresh reminders through
// DeadlinesService.recomputeForEvent). Deadlines a person rescheduled keep
// their date.
import type { FastifyBaseLogger } from 'fastify';
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import { AppError } from '../../lib/app-error.ts';
import { iso } from '../../lib/http-schemas.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { computeDue, type RuleShape } from './compute.ts';
import type { RuleImpact } from './deadlines.schemas.ts';
import { DeadlinesService } from './deadlines.service.ts';
import { loadOverrides } from './rule-inputs.ts';

const BATCH = 100;
const MAX_LISTED = 200;

export class RuleImpactService {
  constructor(private readonly deps: { db: Db; config: AppConfig; clock: () => Date; log?: FastifyBaseLogger }) {}

  /** The open deadlines of a rule that follow it (not rescheduled by a person), with their trigger events. */
  private openOfRule(ruleId: string, afterId: string | null, take: number) {
    return this.deps.db.deadline.findMany({
      where: { ruleId, status: 'OPEN', manualOverride: false, ...(afterId ? { id: { gt: afterId } } : {}) },
      orderBy: { id: 'asc' },
      take,
      select: {
        id: true,
        caseId: true,
        dueAt: true,
        triggerEventId: true,
        case: { select: { hostCountry: true } },
        triggerEvent: { select: { occurredAt: true, termDays: true, isFinal: true, servedOn: true } },
      },
    });
  }

  /** Dry run of an edit: nothing is written. */
  async impact(ruleId: string, edit: RuleImpact) {
    const { db } = this.deps;
    const rule = await db.deadlineRule.findUnique({ where: { id: ruleId } });
    if (!rule) throw new AppError('NOT_FOUND', 'Rule not found.');
    const { active, ...shape } = edit;
    const proposed: RuleShape = { ...rule, ...shape };
    const deactivated = active === 'false' || (active === undefined && !rule.active);
    let openDeadlines = 0;
    let wouldCancel = 0;
    let wouldMove = 0;
    const moves: { deadlineId: string; caseId: string; from: string; to: string; shiftHours: number }[] = [];
    let after: string | null = null;
    for (;;) {
      const rows = await this.openOfRule(ruleId, after, 500);
      if (!rows.length) break;
      after = rows[rows.length - 1].id;
      const hosts = [...new Set(rows.map((r) => r.case.hostCountry))];
      const overridesFor = await loadOverrides(db, [...hosts, 'ECHR']);
      for (const d of rows) {
        openDeadlines++;
        // Deactivating stops new deadlines; the ones already made stay as they are.
        if (deactivated) continue;
        const due = d.triggerEvent ? computeDue(proposed, d.triggerEvent, d.case.hostCountry, overridesFor) : null;
        if (!due) {
          wouldCancel++;
          continue;
        }
        const shift = due.dueAt.getTime() - d.dueAt.getTime();
        if (!shift) continue;
        wouldMove++;
        if (moves.length < MAX_LISTED) {
          moves.push({
            deadlineId: d.id,
            caseId: d.caseId,
            from: iso(d.dueAt),
            to: iso(due.dueAt),
            shiftHours: Math.round(shift / 36_000) / 100,
          });
        }
      }
    }
    return { ruleId, openDeadlines, wouldMove, wouldCancel, moves };
  }

  /** Recomputes every event that has an open deadline of this rule; returns how many events were recomputed. */
  async recompute(actorId: string, ruleId: string, requestId: string): Promise<number> {
    const { db, clock } = this.deps;
    const deadlines = new DeadlinesService(this.deps);
    let after: string | null = null;
    let events = 0;
    for (;;) {
      const rows = await this.openOfRule(ruleId, after, BATCH);
      if (!rows.length) break;
      after = rows[rows.length - 1].id;
      const ids = [...new Set(rows.map((r) => r.triggerEventId).filter((e): e is string => e !== null))];
      await db.$transaction(async (tx) => {
        for (const eventId of ids) {
          await deadlines.recomputeForEvent(tx, eventId, actorId, requestId, 'recomputed after its rule was edited');
        }
      });
      events += ids.length;
    }
    await db.$transaction((tx) =>
      appendAudit(
        tx,
        {
          actorId,
          action: 'deadline_rule.recompute',
          entityType: 'deadline_rule',
          entityId: ruleId,
          requestId,
          changes: { events: { new: events } },
        },
        clock(),
      ),
    );
    return events;
  }
}
