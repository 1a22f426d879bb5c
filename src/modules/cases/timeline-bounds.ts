// Where a timeline page starts, for each of its sources. The timeline is in
// (at, kind, id) order and every source holds one kind (an assignment's start
// and end are two), so within a source the order is (at, id) and "after the
// cursor" is a plain bound on `at`, with the id only to break a tie: each
// source reads just the rows that can be on the page (limit + 1 of them), not
// the whole case.
import { sql, type SqlFragment } from '../../lib/sql.ts';

/** The decoded cursor of the timeline: the last item's time, kind and id. */
export type TimelineCursor = { at: Date; kind: string; id: string } | null;

type Bound = { op: 'gte' | 'gt' } | { op: 'tie'; id: string };

/** How rows of `kind` compare with the cursor: all at its time or later, later only, or later / same time after its id. */
function bound(kind: string, c: NonNullable<TimelineCursor>): Bound {
  if (kind > c.kind) return { op: 'gte' };
  if (kind < c.kind) return { op: 'gt' };
  return { op: 'tie', id: c.id };
}

/** Prisma WHERE fragment on the time field `at` of a source of `kind`: its rows after the cursor. */
export function prismaAfter(field: string, kind: string, c: TimelineCursor): Record<string, unknown> {
  if (!c) return {};
  const b = bound(kind, c);
  if (b.op !== 'tie') return { [field]: { [b.op]: c.at } };
  return { OR: [{ [field]: { gt: c.at } }, { [field]: c.at, id: { gt: b.id } }] };
}

/** The same as SQL on the column `at` (a trusted column expression) and the uuid column `id`. */
export function sqlAfter(at: SqlFragment, id: SqlFragment, kind: string, c: TimelineCursor): SqlFragment {
  if (!c) return sql`TRUE`;
  const b = bound(kind, c);
  if (b.op !== 'tie') return b.op === 'gte' ? sql`${at} >= ${c.at}` : sql`${at} > ${c.at}`;
  return sql`(${at} > ${c.at} OR (${at} = ${c.at} AND ${id} > ${b.id}::uuid))`;
}
