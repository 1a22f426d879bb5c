// What a rule needs from the database besides its event: the legal basis of the
// case's extradition requests (charges' `treaty`) and admins' corrections to
// the holiday calendars.
import type { Tx } from '../../db.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import type { ExtraditionTreaty } from '../../generated/prisma/enums.ts';
import type { DayOverrides } from '../../lib/holiday-calendars.ts';
import type { OverridesFor } from './compute.ts';

/** The treaties recorded on the case's charges (empty: none recorded). */
export async function caseTreaties(tx: Tx, caseId: string): Promise<Set<ExtraditionTreaty>> {
  const rows = await tx.charge.findMany({ where: { caseId, treaty: { not: null } }, select: { treaty: true } });
  return new Set(rows.map((r) => r.treaty).filter((t): t is ExtraditionTreaty => t !== null));
}

/**
 * A treaty-bound rule applies when a charge names one of its treaties, or when
 * no charge names any: with the basis unknown every candidate term is shown,
 * so the earliest is never hidden.
 */
export function treatyMatches(known: ReadonlySet<ExtraditionTreaty>) {
  return (rule: { treaties: ExtraditionTreaty[] }) =>
    rule.treaties.length === 0 || known.size === 0 || rule.treaties.some((t) => known.has(t));
}

/** Admins' corrections of the given calendars, by calendar key. */
export async function loadOverrides(tx: Pick<Tx, 'holidayCalendarDay'>, calendars: string[]): Promise<OverridesFor> {
  const rows = await tx.holidayCalendarDay.findMany({
    where: { country: { in: calendars } },
    select: { country: true, day: true, action: true },
  });
  const by = new Map<string, Map<string, 'ADD' | 'REMOVE'>>();
  for (const r of rows) {
    if (!by.has(r.country)) by.set(r.country, new Map());
    by.get(r.country)!.set(r.day, r.action === 'ADD' ? 'ADD' : 'REMOVE');
  }
  return (calendar: string): DayOverrides | undefined => by.get(calendar);
}

/** What rules read of an event. */
export const FRESH_EVENT = {
  id: true,
  type: true,
  occurredAt: true,
  termDays: true,
  isFinal: true,
  servedOn: true,
  caseId: true,
} as const;

/** An event just created in the caller's transaction, with its case's host country. */
export type FreshEvent = { event: Prisma.EventGetPayload<{ select: typeof FRESH_EVENT }>; hostCountry: string };
