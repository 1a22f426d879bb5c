// Events of the cases linked to a case (src/modules/relations/case-links.service.ts),
// for its timeline: only linked cases the caller may see (the visibility rule
// as SQL; an invisible one adds nothing, not even a count), and of each event
// only what places it: type, country and date, with the linked case's id and
// reference. Its details, city, authority, sources and the rest belong to the
// other case's legal record and are left out.
import type pg from 'pg';
import { query, sql } from '../../lib/sql.ts';
import { visibleCaseCondition } from '../access/visibility.ts';
import type { Actor } from '../../plugins/auth.ts';
import type { DatePrecision, EventType } from '../../generated/prisma/enums.ts';
import { sqlAfter, type TimelineCursor } from './timeline-bounds.ts';

export type RelatedEventRow = {
  eventId: string;
  caseId: string;
  reference: string;
  type: EventType;
  country: string;
  occurredAt: Date;
  occurredAtPrecision: DatePrecision;
};

/**
 * The events of the visible cases linked to `caseId` (each case once, whatever the links' kinds), in time
 * order, after a timeline cursor (./timeline-bounds.ts): at most `limit` of them.
 */
export function relatedEvents(
  pool: pg.Pool,
  actor: Actor,
  caseId: string,
  after: TimelineCursor,
  limit: number,
): Promise<RelatedEventRow[]> {
  return query<RelatedEventRow>(
    pool,
    sql`SELECT e.id AS "eventId", k.id AS "caseId", k.reference, e.type::text AS type, e.country,
               e.occurred_at AS "occurredAt", e.occurred_at_precision::text AS "occurredAtPrecision"
        FROM cases k
        JOIN events e ON e.case_id = k.id
        WHERE k.id IN (SELECT CASE WHEN l.case_id = ${caseId}::uuid THEN l.other_case_id ELSE l.case_id END
                       FROM case_links l
                       WHERE l.case_id = ${caseId}::uuid OR l.other_case_id = ${caseId}::uuid)
          AND ${visibleCaseCondition(actor)}
          AND ${sqlAfter(sql`e.occurred_at`, sql`e.id`, 'related_event', after)}
        ORDER BY e.occurred_at, e.id
        LIMIT ${limit}`,
  );
}

/** A timeline item of kind related_event. */
export function relatedEventItem(r: RelatedEventRow) {
  return {
    kind: 'related_event' as const,
    at: r.occurredAt,
    id: r.eventId,
    summary: `${r.type} in ${r.country} (linked case ${r.reference})`,
    data: {
      eventId: r.eventId,
      caseId: r.caseId,
      reference: r.reference,
      type: r.type,
      country: r.country,
      occurredAt: r.occurredAt.toISOString(),
      occurredAtPrecision: r.occurredAtPrecision,
    },
  };
}
