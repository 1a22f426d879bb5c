// What the deadline routes ask: add a manual deadline to a case, list a case's
// deadlines, read one's history, list the caller's (edits:
// ./deadline-changes.service.ts). Each call authorises, writes its history and
// audit entries and plans reminders in one transaction.
import { randomUUID } from 'node:crypto';
import type { Tx } from '../../db.ts';
import { AppError } from '../../lib/app-error.ts';
import { iso } from '../../lib/http-schemas.ts';
import { authoriseCase } from '../../plugins/access.ts';
import { myDeadlinesWhere, type Viewer } from '../access/visibility.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { ReminderPlanner } from '../reminders/planner.ts';
import { manualDue } from './compute.ts';
import { dayBound, DeadlineStatusEnum, type CreateDeadline, type MyDeadlinesFilter } from './deadlines.schemas.ts';
import { toDeadlineDto, withCase } from './deadlines.dto.ts';
import { Keyset, type ListPage } from '../../lib/keyset.ts';
import { writeHistory, type DeadlineDeps } from './deadlines.service.ts';

const notFound = () => new AppError('NOT_FOUND', 'Deadline not found.');

/** Due first, by due time (id breaks ties); `list` names the list in its cursors. */
const dueOrder = (list: string) =>
  new Keyset<{ dueAt: Date; id: string }>(list, [
    { name: 'dueAt', kind: 'date', dir: 'asc', get: (r) => r.dueAt },
    { name: 'id', kind: 'string', dir: 'asc', get: (r) => r.id },
  ]);
// In the order the changes were written.
const historyOrder = new Keyset<{ id: bigint | number }>('deadline-history', [
  { name: 'id', kind: 'number', dir: 'asc', get: (r) => Number(r.id) },
]);

export class CaseDeadlinesService {
  private readonly planner: ReminderPlanner;

  constructor(private readonly deps: DeadlineDeps) {
    this.planner = new ReminderPlanner(deps);
  }

  /** A manual deadline (hearing, filing, …) on a case the caller may edit; reminders planned at once. */
  async create(viewer: Viewer, caseId: string, input: CreateDeadline, requestId: string) {
    const { db, clock } = this.deps;
    const row = await db.$transaction(async (tx) => {
      await authoriseCase(tx, viewer, caseId, 'edit');
      const c = await tx.case.findUniqueOrThrow({ where: { id: caseId }, select: { hostCountry: true } });
      const now = clock();
      const due = manualDue(input, c.hostCountry);
      if (due.dueAt <= now) {
        throw new AppError('VALIDATION', 'the due time is in the past', {
          errors: [{ path: input.dueAt ? 'body.dueAt' : 'body.dueDate', message: 'must be in the future' }],
        });
      }
      if (input.assigneeId) await this.assertAssignee(tx, caseId, input.assigneeId);
      const id = randomUUID();
      await tx.deadline.create({
        data: {
          id,
          caseId,
          kind: input.kind,
          title: input.title,
          ...due,
          source: 'MANUAL',
          assigneeId: input.assigneeId ?? null,
          createdById: viewer.userId,
          createdAt: now,
        },
      });
      await writeHistory(tx, id, viewer.userId, 'created', { dueAt: iso(due.dueAt), kind: input.kind }, now);
      const changes = { kind: { new: input.kind }, title: { new: input.title }, dueAt: { new: iso(due.dueAt) } };
      await appendAudit(
        tx,
        {
          actorId: viewer.userId,
          action: 'deadline.create',
          entityType: 'deadline',
          entityId: id,
          caseId,
          requestId,
          changes,
        },
        now,
      );
      await this.planner.plan(tx, id);
      return tx.deadline.findUniqueOrThrow({ where: { id }, include: withCase });
    });
    return toDeadlineDto(row);
  }

  /** The assignee must be an active user who may see the case. */
  private async assertAssignee(tx: Tx, caseId: string, assigneeId: string): Promise<void> {
    const u = await tx.user.findUnique({
      where: { id: assigneeId },
      select: { active: true, role: true, memberships: { select: { teamId: true } } },
    });
    const invalid = () =>
      new AppError('VALIDATION', 'assigneeId: no active user who may see this case', {
        errors: [{ path: 'body.assigneeId', message: 'no active user who may see this case' }],
      });
    if (!u?.active) throw invalid();
    const assignee: Viewer = { userId: assigneeId, role: u.role, teamIds: u.memberships.map((m) => m.teamId) };
    await authoriseCase(tx, assignee, caseId, 'see').catch(() => {
      throw invalid();
    });
  }

  async listForCase(viewer: Viewer, caseId: string, q: ListPage) {
    const { db } = this.deps;
    await authoriseCase(db, viewer, caseId, 'see');
    const rows = await db.deadline.findMany({
      where: { AND: [{ caseId }, dueOrder('case-deadlines').where(q.cursor)] },
      orderBy: dueOrder('case-deadlines').orderBy(),
      take: q.limit + 1,
      include: withCase,
    });
    const p = dueOrder('case-deadlines').page(rows, q.limit);
    return { items: p.rows.map(toDeadlineDto), nextCursor: p.nextCursor };
  }

  /** One deadline, for whoever may see its case (404 otherwise, naming the deadline). */
  async get(viewer: Viewer, id: string) {
    const { db } = this.deps;
    const row = await db.deadline.findUnique({ where: { id }, include: withCase });
    if (!row) throw notFound();
    await authoriseCase(db, viewer, row.caseId, 'see').catch((e: unknown) => {
      throw e instanceof AppError && e.code === 'NOT_FOUND' ? notFound() : e;
    });
    return toDeadlineDto(row);
  }

  /** How a deadline was computed and changed. */
  async history(viewer: Viewer, id: string, q: ListPage) {
    const { db } = this.deps;
    const d = await db.deadline.findUnique({ where: { id }, select: { caseId: true } });
    if (!d) throw notFound();
    await authoriseCase(db, viewer, d.caseId, 'see').catch(() => {
      throw notFound();
    });
    const rows = await db.deadlineChange.findMany({
      where: { AND: [{ deadlineId: id }, historyOrder.where(q.cursor)] },
      orderBy: historyOrder.orderBy(),
      take: q.limit + 1,
    });
    const p = historyOrder.page(rows, q.limit);
    return {
      items: p.rows.map((r) => ({ at: iso(r.at), actorId: r.actorId, reason: r.reason, changes: r.changes })),
      nextCursor: p.nextCursor,
    };
  }

  /** The caller's deadlines, overdue first, then by due time. */
  async mine(viewer: Viewer, q: MyDeadlinesFilter) {
    const statuses = DeadlineStatusEnum.array().parse((q.status ?? 'OPEN,MISSED').split(','));
    const rows = await this.deps.db.deadline.findMany({
      where: {
        AND: [
          myDeadlinesWhere(viewer),
          { status: { in: statuses } },
          q.from ? { dueAt: { gte: dayBound(q.from, 'from') } } : {},
          q.to ? { dueAt: { lte: dayBound(q.to, 'to') } } : {},
          dueOrder('my-deadlines').where(q.cursor),
        ],
      },
      orderBy: dueOrder('my-deadlines').orderBy(),
      take: q.limit + 1,
      include: withCase,
    });
    const p = dueOrder('my-deadlines').page(rows, q.limit);
    const now = this.deps.clock().getTime();
    const overdue = (d: (typeof rows)[number]) =>
      d.status === 'MISSED' || (d.status === 'OPEN' && d.dueAt.getTime() < now);
    // Pages follow the due time; with the default statuses every overdue deadline comes before the others
    // anyway, and within a page overdue ones are put first.
    return {
      items: [...p.rows.filter(overdue), ...p.rows.filter((d) => !overdue(d))].map(toDeadlineDto),
      nextCursor: p.nextCursor,
    };
  }
}
