// Changing a deadline: mark done or cancelled, reopen, reschedule, rename.
// Deadlines never change in silence: every PATCH needs If-Match (428 without)
// and is guarded by the version in the UPDATE itself, so of two concurrent
// edits one wins and the other gets 412. Changing the status or date of a
// rule-made or hearing deadline needs a `reason`, kept in its history. A
// cancellation of such a deadline keeps the coordinators' overdue escalation
// planned until another member of the case confirms it (confirm-cancel), and
// the case's other lawyers and caseworkers get a change notice at once.
import type { Deadline, Prisma } from '../../generated/prisma/client.ts';
import { AppError } from '../../lib/app-error.ts';
import { iso } from '../../lib/http-schemas.ts';
import { expectedVersion } from '../../lib/pagination.ts';
import { authoriseCase } from '../../plugins/access.ts';
import type { Viewer } from '../access/visibility.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { ReminderPlanner } from '../reminders/planner.ts';
import { manualDue } from './compute.ts';
import type { UpdateDeadline } from './deadlines.schemas.ts';
import { toDeadlineDto, withCase } from './deadlines.dto.ts';
import { writeHistory, type DeadlineDeps } from './deadlines.service.ts';

const notFound = () => new AppError('NOT_FOUND', 'Deadline not found.');
const stale = (current: number) =>
  new AppError('PRECONDITION_FAILED', `The deadline has changed (current version ${current}).`);

/** Rule-made and hearing deadlines carry legal weight: their status and date change only with a reason. */
export function isGuarded(d: { source: string; kind: string }): boolean {
  return d.source === 'RULE' || d.kind === 'HEARING';
}

export class DeadlineChangesService {
  private readonly planner: ReminderPlanner;

  constructor(private readonly deps: DeadlineDeps) {
    this.planner = new ReminderPlanner(deps);
  }

  async update(viewer: Viewer, id: string, patch: UpdateDeadline, ifMatch: string | undefined, requestId: string) {
    const { db, clock } = this.deps;
    const row = await db.$transaction(async (tx) => {
      const d = await tx.deadline.findUnique({ where: { id }, include: withCase });
      if (!d) throw notFound();
      await authoriseCase(tx, viewer, d.caseId, 'edit').catch((e) => {
        throw e instanceof AppError && e.code === 'NOT_FOUND' ? notFound() : e;
      });
      const expected = expectedVersion(ifMatch, undefined);
      if (expected !== d.version) throw stale(d.version);
      const now = clock();
      const change = this.changeOf(d, patch, now, viewer.userId);
      if (!change) return d;
      if (isGuarded(d) && (change.changes.status || change.changes.dueAt) && !patch.reason) {
        throw new AppError('VALIDATION', 'a reason is required to change the status or date of this deadline', {
          errors: [{ path: 'body.reason', message: 'required for rule-made and hearing deadlines' }],
        });
      }
      const { count } = await tx.deadline.updateMany({ where: { id, version: expected }, data: change.data });
      if (!count) {
        const current = await tx.deadline.findUnique({ where: { id }, select: { version: true } });
        throw current ? stale(current.version) : notFound();
      }
      await writeHistory(tx, id, viewer.userId, patch.reason ?? 'updated', change.changes, now);
      await appendAudit(
        tx,
        {
          actorId: viewer.userId,
          action: 'deadline.update',
          entityType: 'deadline',
          entityId: id,
          caseId: d.caseId,
          requestId,
          changes: { ...change.changes, ...(patch.reason ? { reason: { new: patch.reason } } : {}) },
        },
        now,
      );
      if (change.status === 'CANCELLED' && change.awaitsConfirmation) await this.planner.cancelAllButOverdue(tx, id);
      else if (change.status !== 'OPEN') await this.planner.cancelPending(tx, id);
      else if (change.reschedule || change.changes.status) await this.planner.replan(tx, id);
      // Not in silence: the case's other lawyers and caseworkers hear at once who changed it.
      if (isGuarded(d) && (change.changes.status || change.changes.dueAt)) {
        await this.planner.notifyChange(tx, id, viewer.userId, now);
      }
      return tx.deadline.findUniqueOrThrow({ where: { id }, include: withCase });
    });
    return toDeadlineDto(row);
  }

  /** What a patch changes (null when nothing): the UPDATE's data, the history/audit diff, the resulting status. */
  private changeOf(d: Deadline & { case: { hostCountry: string } }, patch: UpdateDeadline, now: Date, actor: string) {
    const data: Prisma.DeadlineUncheckedUpdateManyInput = { version: { increment: 1 }, updatedAt: now };
    const changes: Record<string, { old: unknown; new: unknown }> = {};
    let status = d.status;
    let reschedule = false;
    let awaitsConfirmation = false;
    if (patch.dueAt || patch.dueDate) {
      const due = manualDue(patch, d.case.hostCountry);
      if (due.dueAt <= now && (patch.status ?? d.status) === 'OPEN') {
        throw new AppError('VALIDATION', 'a rescheduled deadline must be in the future', {
          errors: [{ path: patch.dueAt ? 'body.dueAt' : 'body.dueDate', message: 'must be in the future' }],
        });
      }
      if (due.dueAt.getTime() !== d.dueAt.getTime()) {
        Object.assign(data, due, { manualOverride: true });
        changes.dueAt = { old: iso(d.dueAt), new: iso(due.dueAt) };
        reschedule = true;
        if (!patch.status && d.status === 'MISSED' && due.dueAt > now) {
          data.status = status = 'OPEN';
          changes.status = { old: d.status, new: 'OPEN' };
        }
      }
    }
    if (patch.title && patch.title !== d.title) {
      data.title = patch.title;
      changes.title = { old: d.title, new: patch.title };
    }
    if (patch.status && patch.status !== d.status) {
      data.status = status = patch.status;
      data.completedAt = patch.status === 'DONE' ? now : null;
      changes.status = { old: d.status, new: patch.status };
      // A guarded cancellation waits for a second person; anything else clears a pending one.
      awaitsConfirmation = patch.status === 'CANCELLED' && isGuarded(d);
      data.cancelRequestedById = awaitsConfirmation ? actor : null;
      data.cancelConfirmedById = null;
    }
    return Object.keys(changes).length ? { data, changes, status, reschedule, awaitsConfirmation } : null;
  }

  /**
   * A second member of the case confirms a cancellation: only then do the
   * coordinators' overdue reminders stop. The person who cancelled cannot
   * confirm (403); a deadline with no cancellation awaiting confirmation is 409.
   */
  async confirmCancel(viewer: Viewer, id: string, requestId: string) {
    const { db, clock } = this.deps;
    const row = await db.$transaction(async (tx) => {
      const d = await tx.deadline.findUnique({ where: { id }, include: withCase });
      if (!d) throw notFound();
      await authoriseCase(tx, viewer, d.caseId, 'edit').catch((e) => {
        throw e instanceof AppError && e.code === 'NOT_FOUND' ? notFound() : e;
      });
      if (d.status !== 'CANCELLED' || !d.cancelRequestedById || d.cancelConfirmedById) {
        throw new AppError('CONFLICT', 'No cancellation of this deadline awaits confirmation.');
      }
      if (d.cancelRequestedById === viewer.userId) {
        throw new AppError('FORBIDDEN', 'Another member of the case must confirm the cancellation.');
      }
      const now = clock();
      const { count } = await tx.deadline.updateMany({
        where: { id, version: d.version },
        data: { cancelConfirmedById: viewer.userId, version: { increment: 1 }, updatedAt: now },
      });
      if (!count) throw stale(d.version + 1);
      const changes = { cancelConfirmedById: { old: null, new: viewer.userId } };
      await writeHistory(tx, id, viewer.userId, 'cancellation confirmed', changes, now);
      await appendAudit(
        tx,
        {
          actorId: viewer.userId,
          action: 'deadline.cancel_confirmed',
          entityType: 'deadline',
          entityId: id,
          caseId: d.caseId,
          requestId,
          changes,
        },
        now,
      );
      await this.planner.cancelPending(tx, id);
      return tx.deadline.findUniqueOrThrow({ where: { id }, include: withCase });
    });
    return toDeadlineDto(row);
  }
}
