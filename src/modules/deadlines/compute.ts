// Turns a rule and its trigger event into a due instant. Pure: no database.
import {
  addDays,
  addMonths,
  addWorkingDays,
  endOfLocalDay,
  localDate,
  roll,
  timeZoneFor,
  zonedToUtc,
} from '../../lib/legal-time.ts';

export type RuleShape = {
  jurisdiction: string;
  offsetValue: number;
  offsetUnit: 'HOURS' | 'CALENDAR_DAYS' | 'WORKING_DAYS' | 'MONTHS';
  anchor: 'EVENT' | 'TERM_END';
  rollPolicy: 'FORWARD' | 'BACKWARD' | 'NONE';
  timeZone: string | null;
  cutoffTime: string | null;
};

export type ComputedDue = { dueAt: Date; dueDate: string | null; timeZone: string; hourBased: boolean };

/**
 * Whose holidays count: an ISO-country jurisdiction uses its own calendar; the
 * ECHR sits in Strasbourg, whose public holidays are France's plus the two of
 * Alsace-Moselle (Good Friday, 26 December): date-holidays' FR-67 (Bas-Rhin).
 * CIS, Interpol and "any country" rules use the host country's calendar.
 */
export function holidayCountry(jurisdiction: string, hostCountry: string): string {
  if (/^[A-Z]{2}$/.test(jurisdiction)) return jurisdiction;
  if (jurisdiction === 'ECHR') return 'FR-67';
  return hostCountry;
}

export function computeDue(
  rule: RuleShape,
  event: { occurredAt: Date; termDays: number | null },
  hostCountry: string,
): ComputedDue | null {
  const timeZone = rule.timeZone ?? timeZoneFor(hostCountry);
  let anchor = event.occurredAt;
  if (rule.anchor === 'TERM_END') {
    if (!event.termDays) return null;
    anchor = new Date(anchor.getTime() + event.termDays * 86_400_000);
  }
  if (rule.offsetUnit === 'HOURS') {
    // Hour-counted terms run continuously: no weekend or holiday roll.
    return {
      dueAt: new Date(anchor.getTime() + rule.offsetValue * 3_600_000),
      dueDate: null,
      timeZone,
      hourBased: true,
    };
  }
  const cal = holidayCountry(rule.jurisdiction, hostCountry);
  const start = localDate(anchor, timeZone);
  let day: string;
  if (rule.offsetUnit === 'WORKING_DAYS') day = addWorkingDays(start, rule.offsetValue, cal);
  else if (rule.offsetUnit === 'MONTHS') day = roll(addMonths(start, rule.offsetValue), rule.rollPolicy, cal);
  else day = roll(addDays(start, rule.offsetValue), rule.rollPolicy, cal);
  const dueAt = rule.cutoffTime ? zonedToUtc(day, rule.cutoffTime, timeZone) : endOfLocalDay(day, timeZone);
  return { dueAt, dueDate: day, timeZone, hourBased: false };
}

/** A manual due date without a time means the end of that day in the host country. */
export function manualDue(input: { dueAt?: string; dueDate?: string }, hostCountry: string): ComputedDue {
  const timeZone = timeZoneFor(hostCountry);
  if (input.dueAt) return { dueAt: new Date(input.dueAt), dueDate: null, timeZone, hourBased: false };
  return { dueAt: endOfLocalDay(input.dueDate!, timeZone), dueDate: input.dueDate!, timeZone, hourBased: false };
}
