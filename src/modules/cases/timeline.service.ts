// The timeline of a case: charges, events, assignments and deadlines in time order.
import type { FastifyInstance } from 'fastify';
import { iso } from '../../lib/http-schemas.ts';
import { authoriseCaseRead } from '../../plugins/access.ts';
import type { Actor } from '../../plugins/auth.ts';
import { RULE_WARNINGS, toDeadlineDto } from '../deadlines/deadlines.dto.ts';
import { documentsOfCase } from '../documents/documents.dto.ts';
import { AssignmentsService, assignmentSelect } from './assignments.service.ts';
import { ChargesService } from './charges.service.ts';
import { EventsService } from './events.service.ts';

export class TimelineService {
  private readonly charges: ChargesService;
  private readonly events: EventsService;
  private readonly assignments: AssignmentsService;
  constructor(private readonly app: FastifyInstance) {
    this.charges = new ChargesService(app);
    this.events = new EventsService(app);
    this.assignments = new AssignmentsService(app);
  }

  async timeline(actor: Actor, caseId: string, requestId: string) {
    const access = await authoriseCaseRead(this.app.sqlPool, actor, caseId);
    const [charges, events, assignments, deadlines, documents] = await Promise.all([
      this.app.db.charge.findMany({ where: { caseId } }),
      this.app.db.event.findMany({ where: { caseId } }),
      this.app.db.assignment.findMany({
        where: { caseId },
        select: assignmentSelect,
      }),
      // The rule's jurisdiction decides the deadline's warnings (e.g. the Turkish judicial recess).
      this.app.db.deadline.findMany({ where: { caseId }, include: RULE_WARNINGS }),
      // Documents are need-to-know beyond the case: never listed to coordinators.
      access.legal ? documentsOfCase(this.app.sqlPool, caseId) : Promise.resolve([]),
    ]);
    if (access.legal) await this.events.auditDetailsRead(actor, caseId, events, requestId);
    const items = [
      ...charges.map((c) => ({
        kind: 'charge' as const,
        at: c.filedOn ?? c.createdAt,
        id: c.id,
        summary: `${c.code} ${c.article} (${c.category}, ${c.mechanism})`,
        data: this.charges.toChargeDto(c),
      })),
      ...events.map((e) => ({
        kind: 'event' as const,
        at: e.occurredAt,
        id: e.id,
        summary: `${e.type} in ${e.city ? `${e.city}, ` : ''}${e.country}`,
        data: this.events.toEventDto(e, access.legal),
      })),
      ...assignments.flatMap((a) => {
        const dto = this.assignments.toAssignmentDto(a);
        const started = {
          kind: 'assignment_started' as const,
          at: a.startedAt,
          id: a.id,
          summary: `${a.lawyer.displayName} assigned (${a.role})`,
          data: dto,
        };
        return a.endedAt
          ? [
              started,
              {
                kind: 'assignment_ended' as const,
                at: a.endedAt,
                id: a.id,
                summary: `${a.lawyer.displayName} assignment ended`,
                data: dto,
              },
            ]
          : [started];
      }),
      ...deadlines.map((d) => ({
        kind: 'deadline' as const,
        at: d.dueAt,
        id: d.id,
        summary: `${d.status} ${d.kind}: ${d.title}`,
        data: toDeadlineDto(d),
      })),
      ...documents.map((d) => ({
        kind: 'document' as const,
        at: new Date(d.createdAt),
        id: d.id,
        summary: `${d.kind} document${d.title ? `: ${d.title}` : ''}`,
        data: d,
      })),
    ].sort((x, y) => x.at.getTime() - y.at.getTime() || x.id.localeCompare(y.id));
    return { items: items.map((i) => ({ ...i, at: iso(i.at) })) };
  }
}
