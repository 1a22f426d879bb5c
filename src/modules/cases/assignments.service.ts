// Lawyers on a case: assign, end (history kept), list. Reminders follow the lawyer in the same transaction.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit, diffChanges } from '../audit/audit.log.ts';
import { iso } from '../../lib/http-schemas.ts';
import { authoriseCase, requireTeamMember, authoriseCaseRead } from '../../plugins/access.ts';
import type { Actor } from '../../plugins/auth.ts';
import { DeadlinesService } from '../deadlines/deadlines.service.ts';
import { Keyset, type ListPage } from '../../lib/keyset.ts';

// Oldest first, by when the assignment started.
const assignmentOrder = new Keyset<{ startedAt: Date; id: string }>('assignments', [
  { name: 'startedAt', kind: 'date', dir: 'asc', get: (r) => r.startedAt },
  { name: 'id', kind: 'string', dir: 'asc', get: (r) => r.id },
]);

/** What an assignment DTO needs, in one select (lists, the timeline, the create's answer). */
export const assignmentSelect = {
  id: true,
  caseId: true,
  lawyerId: true,
  role: true,
  startedAt: true,
  endedAt: true,
  lawyer: { select: { displayName: true } },
} as const;

export class AssignmentsService {
  private readonly deadlines: DeadlinesService;
  constructor(private readonly app: FastifyInstance) {
    this.deadlines = new DeadlinesService({ db: app.db, config: app.config, clock: app.clock, log: app.log });
  }

  toAssignmentDto(a: {
    id: string;
    caseId: string;
    lawyerId: string;
    role: 'LEAD' | 'SUPPORTING';
    startedAt: Date;
    endedAt: Date | null;
    lawyer: { displayName: string };
  }) {
    return {
      id: a.id,
      caseId: a.caseId,
      lawyerId: a.lawyerId,
      lawyerName: a.lawyer.displayName,
      role: a.role,
      startedAt: iso(a.startedAt),
      endedAt: iso(a.endedAt),
    };
  }

  async assign(
    actor: Actor,
    caseId: string,
    input: { lawyerId: string; role: 'LEAD' | 'SUPPORTING' },
    requestId: string,
  ) {
    const now = this.app.clock();
    return this.app.db.$transaction(async (tx) => {
      const access = await authoriseCase(tx, actor, caseId, 'edit');
      requireTeamMember(actor, access.teamId);
      const lawyer = await tx.user.findUnique({ where: { id: input.lawyerId }, select: { role: true, active: true } });
      if (!lawyer || lawyer.role !== 'LAWYER' || !lawyer.active) {
        throw new AppError('VALIDATION', 'lawyerId: not an active lawyer', {
          errors: [{ path: 'body.lawyerId', message: 'not an active user with the LAWYER role' }],
        });
      }
      const current = await tx.assignment.findFirst({
        where: { caseId, lawyerId: input.lawyerId, endedAt: null },
        select: { id: true },
      });
      if (current) throw new AppError('CONFLICT', 'This lawyer is already assigned to the case.');
      const id = randomUUID();
      const row = await tx.assignment.create({
        data: { id, caseId, lawyerId: input.lawyerId, role: input.role, startedAt: now, createdById: actor.userId },
        select: assignmentSelect,
      });
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action: 'assignment.create',
          entityType: 'assignment',
          entityId: id,
          caseId,
          requestId,
          changes: diffChanges(null, input),
        },
        now,
      );
      await this.deadlines.onLawyerAssigned(tx, caseId, input.lawyerId);
      return this.toAssignmentDto(row);
    });
  }

  async endAssignment(actor: Actor, caseId: string, assignmentId: string, requestId: string) {
    const now = this.app.clock();
    await this.app.db.$transaction(async (tx) => {
      const access = await authoriseCase(tx, actor, caseId, 'edit');
      requireTeamMember(actor, access.teamId);
      const current = await tx.assignment.findFirst({
        where: { id: assignmentId, caseId, endedAt: null },
        select: { lawyerId: true },
      });
      const { count } = await tx.assignment.updateMany({
        where: { id: assignmentId, caseId, endedAt: null },
        data: { endedAt: now, endedById: actor.userId },
      });
      if (!count || !current) throw new AppError('NOT_FOUND', 'No current assignment with this id on the case.');
      await this.deadlines.onLawyerUnassigned(tx, caseId, current.lawyerId);
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action: 'assignment.end',
          entityType: 'assignment',
          entityId: assignmentId,
          caseId,
          requestId,
        },
        now,
      );
    });
  }

  async listAssignments(actor: Actor, caseId: string, q: ListPage) {
    await authoriseCaseRead(this.app.sqlPool, actor, caseId);
    const rows = await this.app.db.assignment.findMany({
      where: { AND: [{ caseId }, assignmentOrder.where(q.cursor)] },
      orderBy: assignmentOrder.orderBy(),
      take: q.limit + 1,
      select: assignmentSelect,
    });
    const p = assignmentOrder.page(rows, q.limit);
    return { items: p.rows.map((r) => this.toAssignmentDto(r)), nextCursor: p.nextCursor };
  }
}
