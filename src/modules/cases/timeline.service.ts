// The timeline of a case: charges, events, assignments, deadlines, documents
// and the events of the linked cases the caller may see (./related-events.ts),
// in time order.
import type { FastifyInstance } from 'fastify';
import { iso } from '../../lib/http-schemas.ts';
import { Keyset, type ListPage } from '../../lib/keyset.ts';
import { authoriseCaseRead } from '../../plugins/access.ts';
import type { Actor } from '../../plugins/auth.ts';
import { RULE_WARNINGS, toDeadlineDto } from '../deadlines/deadlines.dto.ts';
import { documentsOfCase } from '../documents/documents.dto.ts';
import { AssignmentsService, assignmentSelect } from './assignments.service.ts';
import { ChargesService } from './charges.service.ts';
import { EventsService } from './events.service.ts';
import { relatedEventItem, relatedEvents } from './related-events.ts';
import { prismaAfter, sqlAfter, type TimelineCursor } from './timeline-bounds.ts';
import { sql } from '../../lib/sql.ts';

// In time order; an assignment's start and end share its id, so the kind breaks ties before the id.
const timelineOrder = new Keyset<{ at: Date; kind: string; id: string }>('timeline', [
  { name: 'at', kind: 'date', dir: 'asc', get: (r) => r.at },
  { name: 'kind', kind: 'string', dir: 'asc', get: (r) => r.kind },
  { name: 'id', kind: 'string', dir: 'asc', get: (r) => r.id },
]);

export class TimelineService {
  private readonly charges: ChargesService;
  private readonly events: EventsService;
  private readonly assignments: AssignmentsService;
  constructor(private readonly app: FastifyInstance) {
    this.charges = new ChargesService(app);
    this.events = new EventsService(app);
    this.assignments = new AssignmentsService(app);
  }

  async timeline(actor: Actor, caseId: string, q: ListPage, requestId: string) {
    const access = await authoriseCaseRead(this.app.sqlPool, actor, caseId);
    const decoded = timelineOrder.decode(q.cursor);
    const after: TimelineCursor = decoded
      ? { at: decoded[0] as Date, kind: decoded[1] as string, id: decoded[2] as string }
      : null;
    // The sources that grow with a case (events, deadlines, documents, linked cases' events) read only what can
    // be on this page: their first limit + 1 rows after the cursor. Charges and assignments are a handful per
    // case and are read whole (a charge's time is filedOn or createdAt; an assignment is two items).
    const take = q.limit + 1;
    const [charges, events, assignments, deadlines, documents, related] = await Promise.all([
      this.app.db.charge.findMany({ where: { caseId } }),
      this.app.db.event.findMany({
        where: { AND: [{ caseId }, prismaAfter('occurredAt', 'event', after)] },
        orderBy: [{ occurredAt: 'asc' }, { id: 'asc' }],
        take,
      }),
      this.app.db.assignment.findMany({
        where: { caseId },
        select: assignmentSelect,
      }),
      // The rule's jurisdiction decides the deadline's warnings (e.g. the Turkish judicial recess).
      this.app.db.deadline.findMany({
        where: { AND: [{ caseId }, prismaAfter('dueAt', 'deadline', after)] },
        orderBy: [{ dueAt: 'asc' }, { id: 'asc' }],
        take,
        include: RULE_WARNINGS,
      }),
      // Documents are need-to-know beyond the case: never listed to coordinators.
      access.legal
        ? documentsOfCase(this.app.sqlPool, caseId, sqlAfter(sql`created_at`, sql`id`, 'document', after), take)
        : Promise.resolve([]),
      relatedEvents(this.app.sqlPool, actor, caseId, after, take),
    ]);
    const items = [
      ...charges.map((c) => ({
        kind: 'charge' as const,
        at: c.filedOn ?? c.createdAt,
        id: c.id,
        summary: `${c.code} ${c.article} (${c.category}, ${c.mechanism})`,
        data: () => this.charges.toChargeDto(c),
      })),
      ...events.map((e) => ({
        kind: 'event' as const,
        at: e.occurredAt,
        id: e.id,
        summary: `${e.type} in ${e.city ? `${e.city}, ` : ''}${e.country}`,
        data: () => this.events.toEventDto(e, access.legal),
      })),
      ...assignments.flatMap((a) => {
        const dto = () => this.assignments.toAssignmentDto(a);
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
        data: () => toDeadlineDto(d),
      })),
      ...documents.map((d) => ({
        kind: 'document' as const,
        at: new Date(d.createdAt),
        id: d.id,
        summary: `${d.kind} document${d.title ? `: ${d.title}` : ''}`,
        data: () => d,
      })),
      ...related.map((r) => {
        const item = relatedEventItem(r);
        return { ...item, data: () => item.data };
      }),
    ];
    // The page is cut in memory from those candidates, on the keys alone: only the page's records are turned
    // into answers (event details decrypted), and only its event details are revealed and audited.
    const p = timelineOrder.pageInMemory(items, q.cursor, q.limit);
    const shown = new Set(p.rows.flatMap((i) => (i.kind === 'event' ? [i.id] : [])));
    if (access.legal) {
      await this.events.auditDetailsRead(
        actor,
        caseId,
        events.filter((e) => shown.has(e.id)),
        requestId,
      );
    }
    return {
      items: p.rows.map((i) => ({ kind: i.kind, at: iso(i.at), id: i.id, summary: i.summary, data: i.data() })),
      nextCursor: p.nextCursor,
    };
  }
}
