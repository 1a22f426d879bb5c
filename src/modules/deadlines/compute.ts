// Turns a rule and its trigger event into a due instant. Pure: no database.
import {
  addDays,
  addMonths,
  addWorkingDays,
  type DayOverrides,
  endOfLocalDay,
  isNonWorkingDay,
  localClock,
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
  /** Decision rules that run only from a final decision (isFinal), counted from servedOn when given. */
  finalOnly?: boolean;
};

export type TriggerShape = {
  occurredAt: Date;
  termDays: number | null;
  isFinal?: boolean | null;
  servedOn?: Date | null;
};

/** An admin's corrections per calendar key (`KG`, `ECHR`, …); none by default. */
export type OverridesFor = (calendar: string) => DayOverrides | undefined;

export type ComputedDue = { dueAt: Date; dueDate: string | null; timeZone: string; hourBased: boolean };

/**
 * Whose holidays count: an ISO-country jurisdiction uses its own calendar; the
 * ECHR uses the Court's calendar (`ECHR`: Strasbourg's public holidays, i.e.
 * France's plus Good Friday and 26 December, and the Court's closing days).
 * CIS, Interpol and "any country" rules use the host country's calendar.
 */
export function holidayCountry(jurisdiction: string, hostCountry: string): string {
  if (/^[A-Z]{2}$/.test(jurisdiction)) return jurisdiction;
  if (jurisdiction === 'ECHR') return 'ECHR';
  return hostCountry;
}

export function computeDue(
  rule: RuleShape,
  event: TriggerShape,
  hostCountry: string,
  overridesFor: OverridesFor = () => undefined,
): ComputedDue | null {
  // Art. 35(1)-style terms run from the final decision only: an intermediate ruling makes no deadline.
  if (rule.finalOnly && event.isFinal !== true) return null;
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
  const extra = overridesFor(cal);
  // servedOn is a calendar date (service or knowledge of the decision): it is the starting day itself.
  const start =
    rule.finalOnly && event.servedOn ? event.servedOn.toISOString().slice(0, 10) : localDate(anchor, timeZone);
  let day: string;
  if (rule.offsetUnit === 'WORKING_DAYS') {
    let from = start;
    if (rule.offsetValue < 0 && rule.cutoffTime) {
      // Counting back from an act at a given time (Rule 39: removal): the act's own
      // day counts as a whole working day only when it is one and the act comes
      // at or after the cut-off; otherwise the last whole working day is earlier.
      const actTime = localClock(anchor, timeZone);
      if (isNonWorkingDay(start, cal, extra) || actTime < rule.cutoffTime) from = addWorkingDays(start, -1, cal, extra);
    }
    day = addWorkingDays(from, rule.offsetValue, cal, extra);
  } else if (rule.offsetUnit === 'MONTHS') day = roll(addMonths(start, rule.offsetValue), rule.rollPolicy, cal, extra);
  else day = roll(addDays(start, rule.offsetValue), rule.rollPolicy, cal, extra);
  const dueAt = rule.cutoffTime ? zonedToUtc(day, rule.cutoffTime, timeZone) : endOfLocalDay(day, timeZone);
  return { dueAt, dueDate: day, timeZone, hourBased: false };
}

/** A manual due date without a time means the end of that day in the host country. */
export function manualDue(input: { dueAt?: string; dueDate?: string }, hostCountry: string): ComputedDue {
  const timeZone = timeZoneFor(hostCountry);
  if (input.dueAt) return { dueAt: new Date(input.dueAt), dueDate: null, timeZone, hourBased: false };
  return { dueAt: endOfLocalDay(input.dueDate!, timeZone), dueDate: input.dueDate!, timeZone, hourBased: false };
}
