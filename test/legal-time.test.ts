// Legal time, pure (no database): end of local day across DST, time-zone
// conversion, calendar arithmetic, working days over real public holidays
// (date-holidays), roll policies, and the due instant of every shipped rule.
//
// Every expected value below was worked out by hand from a calendar and the
// tz database (Europe/Belgrade CET/CEST with the 2026 switches on 29 March and
// 25 October; Asia/Almaty UTC+5 all year since March 2024; Asia/Yerevan and
// Asia/Tbilisi UTC+4; Europe/Istanbul UTC+3; Europe/Paris CET/CEST), and the
// holidays were checked against date-holidays' own list for 2026/2027.
import { describe, expect, it } from 'vitest';
import {
  addDays,
  addMonths,
  addWorkingDays,
  endOfLocalDay,
  hasHolidayCalendar,
  isNonWorkingDay,
  isPublicHoliday,
  localDate,
  roll,
  timeZoneFor,
  tzOffsetMs,
  weekday,
  zonedToUtc,
} from '../src/lib/legal-time.ts';
import { computeDue, holidayCountry, manualDue, type RuleShape } from '../src/modules/deadlines/compute.ts';
import { DEFAULT_RULES, FUTURE_ONLY_KINDS } from '../src/modules/deadlines/default-rules.ts';

const iso = (d: Date) => d.toISOString();
const H = 3_600_000;

/** A shipped rule, as the service stores it (anchor EVENT, no zone or cut-off unless given). */
function rule(key: string): RuleShape {
  const r = DEFAULT_RULES.find((x) => x.key === key);
  if (!r) throw new Error(`no default rule ${key}`);
  return {
    jurisdiction: r.jurisdiction,
    offsetValue: r.offsetValue,
    offsetUnit: r.offsetUnit,
    anchor: r.anchor ?? 'EVENT',
    rollPolicy: r.rollPolicy,
    timeZone: r.timeZone ?? null,
    cutoffTime: r.cutoffTime ?? null,
    finalOnly: r.finalOnly ?? false,
  };
}
const at = (s: string, termDays: number | null = null) => ({ occurredAt: new Date(s), termDays });
/** A final decision (isFinal), optionally with the day it was served. */
const final = (s: string, servedOn?: string) => ({
  occurredAt: new Date(s),
  termDays: null,
  isFinal: true,
  servedOn: servedOn ? new Date(`${servedOn}T00:00:00Z`) : null,
});

// ---------------------------------------------------------------- time zones

describe('end of local day across DST', () => {
  it('Europe/Belgrade on the spring-forward day (2026-03-29) ends at 22:00Z, a 23-hour day', () => {
    expect(iso(endOfLocalDay('2026-03-28', 'Europe/Belgrade'))).toBe('2026-03-28T22:59:59.999Z');
    expect(iso(endOfLocalDay('2026-03-29', 'Europe/Belgrade'))).toBe('2026-03-29T21:59:59.999Z');
    expect(iso(endOfLocalDay('2026-03-30', 'Europe/Belgrade'))).toBe('2026-03-30T21:59:59.999Z');
    const len =
      endOfLocalDay('2026-03-29', 'Europe/Belgrade').getTime() -
      endOfLocalDay('2026-03-28', 'Europe/Belgrade').getTime();
    expect(len).toBe(23 * H);
  });

  it('Europe/Belgrade on the fall-back day (2026-10-25) ends at 23:00Z, a 25-hour day', () => {
    expect(iso(endOfLocalDay('2026-10-24', 'Europe/Belgrade'))).toBe('2026-10-24T21:59:59.999Z');
    expect(iso(endOfLocalDay('2026-10-25', 'Europe/Belgrade'))).toBe('2026-10-25T22:59:59.999Z');
    expect(iso(endOfLocalDay('2026-10-26', 'Europe/Belgrade'))).toBe('2026-10-26T22:59:59.999Z');
    const len =
      endOfLocalDay('2026-10-25', 'Europe/Belgrade').getTime() -
      endOfLocalDay('2026-10-24', 'Europe/Belgrade').getTime();
    expect(len).toBe(25 * H);
  });

  it('Asia/Almaty has no DST: the same dates end at 19:00Z, every day 24 hours', () => {
    expect(iso(endOfLocalDay('2026-03-28', 'Asia/Almaty'))).toBe('2026-03-28T18:59:59.999Z');
    expect(iso(endOfLocalDay('2026-03-29', 'Asia/Almaty'))).toBe('2026-03-29T18:59:59.999Z');
    expect(iso(endOfLocalDay('2026-10-25', 'Asia/Almaty'))).toBe('2026-10-25T18:59:59.999Z');
    expect(
      endOfLocalDay('2026-03-29', 'Asia/Almaty').getTime() - endOfLocalDay('2026-03-28', 'Asia/Almaty').getTime(),
    ).toBe(24 * H);
    expect(
      endOfLocalDay('2026-10-25', 'Asia/Almaty').getTime() - endOfLocalDay('2026-10-24', 'Asia/Almaty').getTime(),
    ).toBe(24 * H);
  });

  it('uses the tz database, not a fixed offset: Almaty was UTC+6 before 1 March 2024', () => {
    expect(iso(endOfLocalDay('2024-02-28', 'Asia/Almaty'))).toBe('2024-02-28T17:59:59.999Z');
    expect(iso(endOfLocalDay('2024-03-02', 'Asia/Almaty'))).toBe('2024-03-02T18:59:59.999Z');
  });

  it('other host zones: Yerevan and Tbilisi UTC+4, Istanbul UTC+3, Bishkek UTC+6, unknown country UTC', () => {
    expect(iso(endOfLocalDay('2026-07-01', timeZoneFor('AM')))).toBe('2026-07-01T19:59:59.999Z');
    expect(iso(endOfLocalDay('2026-07-01', timeZoneFor('GE')))).toBe('2026-07-01T19:59:59.999Z');
    expect(iso(endOfLocalDay('2026-07-01', timeZoneFor('TR')))).toBe('2026-07-01T20:59:59.999Z');
    expect(iso(endOfLocalDay('2026-07-01', timeZoneFor('KG')))).toBe('2026-07-01T17:59:59.999Z');
    expect(timeZoneFor('ZZ')).toBe('UTC');
    expect(iso(endOfLocalDay('2026-07-01', timeZoneFor('ZZ')))).toBe('2026-07-01T23:59:59.999Z');
  });
});

describe('zonedToUtc, localDate, tzOffsetMs', () => {
  it('converts wall-clock times on both sides of the Belgrade switches', () => {
    expect(iso(zonedToUtc('2026-03-28', '12:00', 'Europe/Belgrade'))).toBe('2026-03-28T11:00:00.000Z');
    expect(iso(zonedToUtc('2026-03-29', '01:30', 'Europe/Belgrade'))).toBe('2026-03-29T00:30:00.000Z');
    expect(iso(zonedToUtc('2026-03-29', '12:00', 'Europe/Belgrade'))).toBe('2026-03-29T10:00:00.000Z');
    expect(iso(zonedToUtc('2026-03-30', '00:00', 'Europe/Belgrade'))).toBe('2026-03-29T22:00:00.000Z');
    expect(iso(zonedToUtc('2026-10-24', '12:00', 'Europe/Belgrade'))).toBe('2026-10-24T10:00:00.000Z');
    expect(iso(zonedToUtc('2026-10-25', '12:00', 'Europe/Belgrade'))).toBe('2026-10-25T11:00:00.000Z');
    expect(iso(zonedToUtc('2026-03-29', '08:00', 'Asia/Almaty'))).toBe('2026-03-29T03:00:00.000Z');
    expect(iso(zonedToUtc('2026-07-17', '16:00', 'Europe/Paris'))).toBe('2026-07-17T14:00:00.000Z');
    expect(iso(zonedToUtc('2026-12-01', '16:00', 'Europe/Paris'))).toBe('2026-12-01T15:00:00.000Z');
  });

  it('a wall time skipped by spring-forward moves forward by the gap (02:30 -> 03:30 CEST)', () => {
    expect(iso(zonedToUtc('2026-03-29', '02:30', 'Europe/Belgrade'))).toBe('2026-03-29T01:30:00.000Z');
  });

  it('a repeated wall time on fall-back night resolves to one of its two real instants', () => {
    const r = iso(zonedToUtc('2026-10-25', '02:30', 'Europe/Belgrade'));
    expect(['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z']).toContain(r);
  });

  it('localDate is the date on the local wall clock, not the UTC date', () => {
    expect(localDate(new Date('2026-03-28T23:30:00Z'), 'Europe/Belgrade')).toBe('2026-03-29');
    expect(localDate(new Date('2026-03-29T21:59:59.999Z'), 'Europe/Belgrade')).toBe('2026-03-29');
    expect(localDate(new Date('2026-03-29T22:00:00Z'), 'Europe/Belgrade')).toBe('2026-03-30');
    expect(localDate(new Date('2026-03-29T18:59:59.999Z'), 'Asia/Almaty')).toBe('2026-03-29');
    expect(localDate(new Date('2026-03-29T19:00:00Z'), 'Asia/Almaty')).toBe('2026-03-30');
    expect(localDate(new Date('2026-03-29T19:00:00Z'), 'Europe/Belgrade')).toBe('2026-03-29');
  });

  it('tzOffsetMs follows DST in Belgrade and is constant in Almaty', () => {
    expect(tzOffsetMs(new Date('2026-03-29T00:30:00Z'), 'Europe/Belgrade')).toBe(1 * H);
    expect(tzOffsetMs(new Date('2026-03-29T01:30:00Z'), 'Europe/Belgrade')).toBe(2 * H);
    expect(tzOffsetMs(new Date('2026-10-25T00:30:00Z'), 'Europe/Belgrade')).toBe(2 * H);
    expect(tzOffsetMs(new Date('2026-10-25T01:30:00Z'), 'Europe/Belgrade')).toBe(1 * H);
    expect(tzOffsetMs(new Date('2026-03-29T01:30:00Z'), 'Asia/Almaty')).toBe(5 * H);
    expect(tzOffsetMs(new Date('2026-10-25T01:30:00Z'), 'Asia/Almaty')).toBe(5 * H);
  });
});

// ---------------------------------------------------------------- calendar arithmetic

describe('addDays, addMonths, weekday', () => {
  it('addDays crosses month and year ends and goes backwards', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-06-06', 30)).toBe('2026-07-06');
  });

  it('addMonths clamps to the last day of a shorter month', () => {
    expect(addMonths('2026-01-31', 1)).toBe('2026-02-28');
    expect(addMonths('2028-01-31', 1)).toBe('2028-02-29');
    expect(addMonths('2026-05-31', 1)).toBe('2026-06-30');
    expect(addMonths('2026-03-31', -1)).toBe('2026-02-28');
    expect(addMonths('2026-10-31', 4)).toBe('2027-02-28');
    expect(addMonths('2026-05-31', 9)).toBe('2027-02-28');
    expect(addMonths('2026-01-15', 1)).toBe('2026-02-15');
    expect(addMonths('2026-11-30', 3)).toBe('2027-02-28');
    expect(addMonths('2026-12-15', 1)).toBe('2027-01-15');
  });

  it('weekday is 0 = Sunday … 6 = Saturday', () => {
    expect(weekday('2026-07-12')).toBe(0);
    expect(weekday('2026-07-13')).toBe(1);
    expect(weekday('2026-07-14')).toBe(2);
    expect(weekday('2026-07-18')).toBe(6);
  });
});

describe('public holidays (date-holidays)', () => {
  it('knows the national days of FR, TR, RS, GE, KZ', () => {
    expect(isPublicHoliday('2026-07-14', 'FR')).toBe(true); // Fête nationale
    expect(isPublicHoliday('2026-04-06', 'FR')).toBe(true); // Easter Monday
    expect(isPublicHoliday('2026-07-15', 'FR')).toBe(false);
    expect(isPublicHoliday('2026-10-29', 'TR')).toBe(true); // Republic Day
    for (const d of ['2026-05-27', '2026-05-28', '2026-05-29', '2026-05-30']) {
      expect(isPublicHoliday(d, 'TR')).toBe(true);
    } // Kurban Bayramı
    expect(isPublicHoliday('2026-05-26', 'TR')).toBe(false); // arife: afternoon only, not a whole public day
    expect(isPublicHoliday('2026-04-10', 'RS')).toBe(true); // Orthodox Good Friday
    expect(isPublicHoliday('2026-04-13', 'RS')).toBe(true); // Orthodox Easter Monday
    expect(isPublicHoliday('2026-02-17', 'RS')).toBe(true); // Statehood Day moved off Sunday 15 Feb
    expect(isPublicHoliday('2026-12-25', 'RS')).toBe(false); // Catholic Christmas is only "optional" in Serbia
    expect(isPublicHoliday('2026-05-26', 'GE')).toBe(true); // Independence Day
    expect(isPublicHoliday('2026-04-09', 'GE')).toBe(true); // National Unity Day
    expect(isPublicHoliday('2026-07-06', 'KZ')).toBe(true); // Capital Day
    expect(isPublicHoliday('2026-05-24', 'FR')).toBe(false); // Pentecost Sunday is an observance, not a public holiday
  });

  it('TJ has no calendar (weekends only); KG is shipped as data (Labour Code art. 113)', () => {
    expect(hasHolidayCalendar('KG')).toBe(true);
    expect(hasHolidayCalendar('TJ')).toBe(false);
    expect(hasHolidayCalendar('KZ')).toBe(true);
    expect(isPublicHoliday('2026-01-01', 'KG')).toBe(true);
    expect(isNonWorkingDay('2026-01-01', 'TJ')).toBe(false); // a Thursday
    expect(isNonWorkingDay('2026-01-01', 'KZ')).toBe(true);
    expect(isNonWorkingDay('2026-01-03', 'KG')).toBe(true); // Saturday
  });
});

describe('addWorkingDays', () => {
  it('FR: forward and backward over a weekend and 14 July', () => {
    expect(addWorkingDays('2026-07-10', 1, 'FR')).toBe('2026-07-13'); // Fri -> Mon
    expect(addWorkingDays('2026-07-13', 1, 'FR')).toBe('2026-07-15'); // Mon -> Wed, Tue 14 July skipped
    expect(addWorkingDays('2026-07-10', 2, 'FR')).toBe('2026-07-15');
    expect(addWorkingDays('2026-07-11', 1, 'FR')).toBe('2026-07-13'); // from a Saturday
    expect(addWorkingDays('2026-07-15', -1, 'FR')).toBe('2026-07-13');
    expect(addWorkingDays('2026-07-13', -1, 'FR')).toBe('2026-07-10');
    expect(addWorkingDays('2026-07-15', -2, 'FR')).toBe('2026-07-10');
    expect(addWorkingDays('2026-07-15', 0, 'FR')).toBe('2026-07-15');
  });

  it('TR: Kurban Bayramı and Republic Day', () => {
    expect(addWorkingDays('2026-05-26', 1, 'TR')).toBe('2026-06-01');
    expect(addWorkingDays('2026-06-01', -1, 'TR')).toBe('2026-05-26');
    expect(addWorkingDays('2026-10-28', 1, 'TR')).toBe('2026-10-30');
  });

  it('RS: Orthodox Easter and Statehood Day', () => {
    expect(addWorkingDays('2026-04-09', 1, 'RS')).toBe('2026-04-14');
    expect(addWorkingDays('2026-04-14', -1, 'RS')).toBe('2026-04-09');
    expect(addWorkingDays('2026-02-13', 1, 'RS')).toBe('2026-02-18');
    expect(addWorkingDays('2026-04-09', 3, 'RS')).toBe('2026-04-16');
  });

  it('GE: National Unity Day and Orthodox Easter back to back (9-13 April 2026)', () => {
    expect(addWorkingDays('2026-04-08', 1, 'GE')).toBe('2026-04-14');
    expect(addWorkingDays('2026-04-14', -1, 'GE')).toBe('2026-04-08');
  });

  it('KZ: Nauryz; KG: 2 January is a working day there', () => {
    expect(addWorkingDays('2026-03-20', 1, 'KZ')).toBe('2026-03-25');
    expect(addWorkingDays('2026-01-01', 1, 'KG')).toBe('2026-01-02');
    expect(addWorkingDays('2026-01-01', 1, 'KZ')).toBe('2026-01-05'); // 2 Jan holiday, then weekend
  });
});

describe('roll', () => {
  it('FORWARD, BACKWARD and NONE from a holiday and from a weekend', () => {
    expect(roll('2026-07-14', 'FORWARD', 'FR')).toBe('2026-07-15');
    expect(roll('2026-07-14', 'BACKWARD', 'FR')).toBe('2026-07-13');
    expect(roll('2026-07-14', 'NONE', 'FR')).toBe('2026-07-14');
    expect(roll('2026-07-11', 'FORWARD', 'FR')).toBe('2026-07-13');
    expect(roll('2026-07-11', 'BACKWARD', 'FR')).toBe('2026-07-10');
    expect(roll('2026-07-11', 'NONE', 'FR')).toBe('2026-07-11');
    expect(roll('2026-05-30', 'FORWARD', 'TR')).toBe('2026-06-01');
    expect(roll('2026-05-28', 'BACKWARD', 'TR')).toBe('2026-05-26');
  });

  it('a working day does not move, whatever the policy', () => {
    for (const p of ['FORWARD', 'BACKWARD', 'NONE'] as const) expect(roll('2026-07-15', p, 'FR')).toBe('2026-07-15');
  });

  it('the same day rolls differently by whose calendar counts', () => {
    expect(roll('2026-07-14', 'FORWARD', 'TR')).toBe('2026-07-14'); // not a Turkish holiday
    expect(roll('2026-07-15', 'FORWARD', 'TR')).toBe('2026-07-16'); // Democracy and National Unity Day
  });
});

// ---------------------------------------------------------------- rules

describe('computeDue for the default rules', () => {
  it('whose holidays count', () => {
    expect(holidayCountry('KZ', 'AM')).toBe('KZ');
    expect(holidayCountry('ECHR', 'RS')).toBe('ECHR'); // the Court's calendar: Strasbourg's holidays and its closing days
    // Alsace-Moselle's two extra public holidays; the rest of France works on them.
    expect(isPublicHoliday('2027-03-26', 'FR-67')).toBe(true); // Good Friday
    expect(isPublicHoliday('2027-03-26', 'FR')).toBe(false);
    expect(isPublicHoliday('2028-12-26', 'FR-67')).toBe(true); // St Stephen's Day
    expect(isPublicHoliday('2028-12-26', 'FR')).toBe(false);
    expect(isPublicHoliday('2027-07-14', 'FR-67')).toBe(true); // and France's own
    // An unknown region is no calendar at all (weekends only), not France's by accident.
    expect(isPublicHoliday('2027-07-14', 'FR-99')).toBe(false);
    expect(holidayCountry('CIS', 'KZ')).toBe('KZ');
    expect(holidayCountry('INTERPOL', 'GE')).toBe('GE');
    expect(holidayCountry('*', 'TR')).toBe('TR');
  });

  it('the default set has the documented shape', () => {
    const keys = DEFAULT_RULES.map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of DEFAULT_RULES) {
      expect(r.citation.length).toBeGreaterThan(10);
      if (r.confidence === 'LOW') expect(r.verifyWithCounsel).toBe(true);
    }
    expect(DEFAULT_RULES.find((r) => r.key === 'echr-application-4m')!.hostCountries.sort()).toEqual([
      'AM',
      'AZ',
      'GE',
      'ME',
      'RS',
      'TR',
    ]);
    expect(FUTURE_ONLY_KINDS.has('HEARING')).toBe(true);
    expect(FUTURE_ONLY_KINDS.has('RULE39_REQUEST')).toBe(true);
  });

  it('KZ 72 h detention: the prosecutor must apply 12 h before the end, counted in hours without a weekend roll', () => {
    // Detained Fri 10 July 01:00 Almaty (Thu 20:00Z); +60 h = Sun 12 July 13:00 Almaty.
    expect(computeDue(rule('kz-foreign-request-72h-prosecutor'), at('2026-07-09T20:00:00Z'), 'KZ')).toEqual({
      dueAt: new Date('2026-07-12T08:00:00.000Z'),
      dueDate: null,
      timeZone: 'Asia/Almaty',
      hourBased: true,
    });
  });

  it('KZ 40-day custody: warning 30 days on, rolled BACKWARD off Capital Day and the weekend', () => {
    // 6 June 10:00 Almaty + 30 days = Mon 6 July (Capital Day) -> Sun 5 -> Sat 4 -> Fri 3 July.
    expect(computeDue(rule('kz-temporary-custody-40d-warning'), at('2026-06-06T05:00:00Z'), 'KZ')).toEqual({
      dueAt: new Date('2026-07-03T18:59:59.999Z'),
      dueDate: '2026-07-03',
      timeZone: 'Asia/Almaty',
      hourBased: false,
    });
  });

  it('counts from the local date of the event, not its UTC date', () => {
    // 6 June 20:00Z is already Sun 7 June 01:00 in Almaty: + 30 days = Tue 7 July (a working day).
    // (Counting from the UTC date 6 June would give Capital Day and roll back to 3 July.)
    const r = computeDue(rule('kz-temporary-custody-40d-warning'), at('2026-06-06T20:00:00Z'), 'KZ')!;
    expect(r.dueDate).toBe('2026-07-07');
    expect(iso(r.dueAt)).toBe('2026-07-07T18:59:59.999Z');
  });

  it('KZ 10-day appeal rolls FORWARD past a weekend, and past a weekend plus a holiday', () => {
    // Wed 1 July + 10 = Sat 11 July -> Mon 13 July.
    let r = computeDue(rule('kz-extradition-decision-appeal-10d'), at('2026-07-01T06:00:00Z'), 'KZ')!;
    expect([r.dueDate, iso(r.dueAt), r.hourBased]).toEqual(['2026-07-13', '2026-07-13T18:59:59.999Z', false]);
    // Wed 24 June + 10 = Sat 4 July -> Sun 5 -> Mon 6 (Capital Day) -> Tue 7 July.
    r = computeDue(rule('kz-extradition-decision-appeal-10d'), at('2026-06-24T06:00:00Z'), 'KZ')!;
    expect([r.dueDate, iso(r.dueAt)]).toEqual(['2026-07-07', '2026-07-07T18:59:59.999Z']);
  });

  it('CIS 15 days from the surrender date, no roll, in the host country zone', () => {
    // Fri 3 July + 15 = Sat 18 July, stays.
    const kz = computeDue(rule('cis-surrender-takeover-15d'), at('2026-07-03T06:00:00Z'), 'KZ')!;
    expect([kz.dueDate, iso(kz.dueAt), kz.timeZone]).toEqual(['2026-07-18', '2026-07-18T18:59:59.999Z', 'Asia/Almaty']);
    const kg = computeDue(rule('cis-surrender-takeover-15d'), at('2026-07-03T06:00:00Z'), 'KG')!;
    expect([kg.dueDate, iso(kg.dueAt), kg.timeZone]).toEqual([
      '2026-07-18',
      '2026-07-18T17:59:59.999Z',
      'Asia/Bishkek',
    ]);
    const am = computeDue(rule('cis-surrender-takeover-15d'), at('2026-07-03T06:00:00Z'), 'AM')!;
    expect(iso(am.dueAt)).toBe('2026-07-18T19:59:59.999Z');
  });

  it('Armenia: 1 month from detention, clamped to 28 February and not rolled off the Saturday', () => {
    expect(computeDue(rule('am-no-request-release-1m'), at('2026-01-31T10:00:00Z'), 'AM')).toEqual({
      dueAt: new Date('2026-02-28T19:59:59.999Z'),
      dueDate: '2026-02-28',
      timeZone: 'Asia/Yerevan',
      hourBased: false,
    });
  });

  it('Georgia: 10-day expulsion appeal rolls off Independence Day; 1-month refusal rolls off 9-13 April', () => {
    // Sat 16 May + 10 = Tue 26 May (Independence Day) -> Wed 27 May.
    let r = computeDue(rule('ge-expulsion-appeal-10d'), at('2026-05-16T08:00:00Z'), 'GE')!;
    expect([r.dueDate, iso(r.dueAt), r.timeZone]).toEqual(['2026-05-27', '2026-05-27T19:59:59.999Z', 'Asia/Tbilisi']);
    // 9 March + 1 month = Thu 9 April (Unity Day), 10-13 Orthodox Easter -> Tue 14 April.
    r = computeDue(rule('ge-residence-refusal-1m'), at('2026-03-09T08:00:00Z'), 'GE')!;
    expect([r.dueDate, iso(r.dueAt)]).toEqual(['2026-04-14', '2026-04-14T19:59:59.999Z']);
  });

  it('Turkey: 7-day deportation appeal off Republic Day; 60 days off Kurban Bayramı', () => {
    // Thu 22 Oct + 7 = Thu 29 Oct (Republic Day) -> Fri 30 Oct, end of day Istanbul (UTC+3).
    let r = computeDue(rule('tr-deportation-appeal-7d'), at('2026-10-22T07:00:00Z'), 'TR')!;
    expect([r.dueDate, iso(r.dueAt), r.timeZone]).toEqual([
      '2026-10-30',
      '2026-10-30T20:59:59.999Z',
      'Europe/Istanbul',
    ]);
    // Sat 28 March + 60 = Wed 27 May (Bayram 27-30, then Sunday) -> Mon 1 June.
    for (const key of [
      'tr-residence-permit-cancelled-60d',
      'tr-residence-permit-refused-60d',
      'tr-entry-refusal-60d',
    ]) {
      r = computeDue(rule(key), at('2026-03-28T09:00:00Z'), 'TR')!;
      expect([key, r.dueDate, iso(r.dueAt)]).toEqual([key, '2026-06-01', '2026-06-01T20:59:59.999Z']);
    }
  });

  it('ECHR 4 months never rolls: a Saturday, a French holiday and a host holiday stay as they are', () => {
    // Wed 17 June + 4 months = Sat 17 Oct 2026 (Belgrade still on CEST).
    let r = computeDue(rule('echr-application-4m'), final('2026-06-17T10:00:00Z'), 'RS')!;
    expect([r.dueDate, iso(r.dueAt), r.timeZone]).toEqual([
      '2026-10-17',
      '2026-10-17T21:59:59.999Z',
      'Europe/Belgrade',
    ]);
    // 14 March + 4 months = Tue 14 July (French national day).
    r = computeDue(rule('echr-application-4m'), final('2026-03-14T09:00:00Z'), 'TR')!;
    expect([r.dueDate, iso(r.dueAt)]).toEqual(['2026-07-14', '2026-07-14T20:59:59.999Z']);
    // 29 June + 4 months = Thu 29 Oct (Turkish Republic Day).
    r = computeDue(rule('echr-application-4m'), final('2026-06-29T09:00:00Z'), 'TR')!;
    expect([r.dueDate, iso(r.dueAt)]).toEqual(['2026-10-29', '2026-10-29T20:59:59.999Z']);
    // 31 Oct + 4 months = 28 Feb 2027 (clamped; a Sunday, not rolled).
    r = computeDue(rule('echr-application-4m'), final('2026-10-31T08:00:00Z'), 'AM')!;
    expect([r.dueDate, iso(r.dueAt)]).toEqual(['2027-02-28', '2027-02-28T19:59:59.999Z']);
  });

  it('Rule 39: a whole working day of the Court before the removal, 16:00 Strasbourg (Paris) time', () => {
    const r39 = rule('echr-rule39-before-removal');
    // Removal Mon 20 July 09:00 CEST (before 16:00): Monday is not a whole working day
    // before it, Friday is -> due Thu 16 July 16:00 CEST = 14:00Z (two working days before).
    expect(computeDue(r39, at('2026-07-20T07:00:00Z'), 'RS')).toEqual({
      dueAt: new Date('2026-07-16T14:00:00.000Z'),
      dueDate: '2026-07-16',
      timeZone: 'Europe/Paris',
      hourBased: false,
    });
    // Removal Mon 20 July 18:00 CEST (after 16:00): Monday 08-16 is a whole day -> Fri 17 July 16:00.
    expect(iso(computeDue(r39, at('2026-07-20T16:00:00Z'), 'RS')!.dueAt)).toBe('2026-07-17T14:00:00.000Z');
    // Removal at 16:00 CEST exactly: the Registry's day is over -> Fri 17 July too.
    expect(iso(computeDue(r39, at('2026-07-20T14:00:00Z'), 'RS')!.dueAt)).toBe('2026-07-17T14:00:00.000Z');
    // Removal at 15:59 CEST -> Thu 16 July.
    expect(iso(computeDue(r39, at('2026-07-20T13:59:00Z'), 'RS')!.dueAt)).toBe('2026-07-16T14:00:00.000Z');
    // Removal Wed 15 July 08:00 CEST: 14 July is a holiday, so the last whole day is Mon 13 -> Fri 10 July 16:00.
    expect(iso(computeDue(r39, at('2026-07-15T06:00:00Z'), 'TR')!.dueAt)).toBe('2026-07-10T14:00:00.000Z');
    // Removal Mon 30 March 2026 08:00 CEST -> whole day Fri 27 -> Thu 26 March 16:00 CET = 15:00Z.
    expect(iso(computeDue(r39, at('2026-03-30T06:00:00Z'), 'GE')!.dueAt)).toBe('2026-03-26T15:00:00.000Z');
    // Removal Tue 26 May 2026 08:00 (Whit Monday 25 May) -> whole day Fri 22 -> Thu 21 May 16:00 CEST.
    expect(iso(computeDue(r39, at('2026-05-26T06:00:00Z'), 'AM')!.dueAt)).toBe('2026-05-21T14:00:00.000Z');
    // Removal on Easter Monday 29 March 2027 (a closing day): Fri 26 is Good Friday in Strasbourg,
    // so the last whole day is Thu 25 -> Wed 24 March 16:00 CET.
    expect(iso(computeDue(r39, at('2027-03-29T06:00:00Z'), 'TR')!.dueAt)).toBe('2027-03-24T15:00:00.000Z');
    // Removal Wed 27 Dec 2028: the Court is closed 24-31 December -> whole day Fri 22 -> Thu 21 Dec 16:00 CET.
    expect(iso(computeDue(r39, at('2028-12-27T06:00:00Z'), 'RS')!.dueAt)).toBe('2028-12-21T15:00:00.000Z');
    // A removal on a Saturday: the last whole day is Friday -> Thursday 16:00.
    expect(iso(computeDue(r39, at('2026-07-18T10:00:00Z'), 'RS')!.dueAt)).toBe('2026-07-16T14:00:00.000Z');
    // A closing day the Court published, entered as data (Fri 17 July 2026): before a Monday-morning
    // removal the last whole day is then Thu 16 -> Wed 15 July 16:00.
    const closed = new Map([['2026-07-17', 'ADD' as const]]);
    const withClosing = (cal: string) => (cal === 'ECHR' ? closed : undefined);
    expect(iso(computeDue(r39, at('2026-07-20T07:00:00Z'), 'RS', withClosing)!.dueAt)).toBe('2026-07-15T14:00:00.000Z');
    // The host country does not change the zone or the calendar (the Court's).
    expect(computeDue(r39, at('2026-07-20T07:00:00Z'), 'AZ')!.timeZone).toBe('Europe/Paris');
  });

  it('Interpol CCF: 4 and 9 months from admissibility, no roll', () => {
    // 31 May + 4 = 30 Sept; + 9 = 28 Feb 2027 (clamped, a Sunday).
    const access = computeDue(rule('interpol-ccf-access-4m'), at('2026-05-31T08:00:00Z'), 'GE')!;
    const deletion = computeDue(rule('interpol-ccf-deletion-9m'), at('2026-05-31T08:00:00Z'), 'GE')!;
    expect([access.dueDate, iso(access.dueAt)]).toEqual(['2026-09-30', '2026-09-30T19:59:59.999Z']);
    expect([deletion.dueDate, iso(deletion.dueAt)]).toEqual(['2027-02-28', '2027-02-28T19:59:59.999Z']);
  });

  it('detention term set by the court: occurredAt + termDays, continuous; none without a term', () => {
    const r = rule('any-detention-term-expiry');
    expect(computeDue(r, at('2026-03-25T10:15:00Z', 10), 'RS')).toEqual({
      dueAt: new Date('2026-04-04T10:15:00.000Z'),
      dueDate: null,
      timeZone: 'Europe/Belgrade',
      hourBased: true,
    });
    expect(
      computeDue(rule('any-detention-extension-term-expiry'), at('2026-03-25T10:15:00Z', 40), 'KZ')!.dueAt,
    ).toEqual(new Date('2026-05-04T10:15:00.000Z'));
    expect(computeDue(r, at('2026-03-25T10:15:00Z', null), 'RS')).toBeNull();
  });

  it('a hearing is due at the hearing itself', () => {
    expect(computeDue(rule('any-extradition-hearing'), at('2026-12-03T07:30:00Z'), 'GE')).toEqual({
      dueAt: new Date('2026-12-03T07:30:00.000Z'),
      dueDate: null,
      timeZone: 'Asia/Tbilisi',
      hourBased: true,
    });
    expect(computeDue(rule('any-court-hearing'), at('2026-12-03T07:30:00Z'), 'TR')!.dueAt).toEqual(
      new Date('2026-12-03T07:30:00.000Z'),
    );
  });

  it('hour-based counting runs through holidays; working-day counting skips them', () => {
    const base = {
      jurisdiction: 'RS',
      anchor: 'EVENT' as const,
      rollPolicy: 'NONE' as const,
      timeZone: null,
      cutoffTime: null,
    };
    // Thu 9 April 2026 17:00 Belgrade; Orthodox Easter 10-13 April.
    const ev = at('2026-04-09T15:00:00Z');
    expect(iso(computeDue({ ...base, offsetValue: 72, offsetUnit: 'HOURS' }, ev, 'RS')!.dueAt)).toBe(
      '2026-04-12T15:00:00.000Z',
    );
    const wd = computeDue({ ...base, offsetValue: 3, offsetUnit: 'WORKING_DAYS' }, ev, 'RS')!;
    expect([wd.dueDate, iso(wd.dueAt)]).toEqual(['2026-04-16', '2026-04-16T21:59:59.999Z']);
    const cd = computeDue({ ...base, offsetValue: 3, offsetUnit: 'CALENDAR_DAYS' }, ev, 'RS')!;
    expect([cd.dueDate, iso(cd.dueAt)]).toEqual(['2026-04-12', '2026-04-12T21:59:59.999Z']);
    // A rule with its own zone and cut-off (DST: Belgrade on CEST in April).
    const cut = computeDue({ ...base, offsetValue: 3, offsetUnit: 'WORKING_DAYS', cutoffTime: '12:00' }, ev, 'RS')!;
    expect(iso(cut.dueAt)).toBe('2026-04-16T10:00:00.000Z');
  });
});

describe('manualDue', () => {
  it('a date is the end of that day in the host zone; an instant is kept exactly', () => {
    expect(manualDue({ dueDate: '2026-03-29' }, 'RS')).toEqual({
      dueAt: new Date('2026-03-29T21:59:59.999Z'),
      dueDate: '2026-03-29',
      timeZone: 'Europe/Belgrade',
      hourBased: false,
    });
    expect(manualDue({ dueDate: '2026-03-29' }, 'KZ').dueAt).toEqual(new Date('2026-03-29T18:59:59.999Z'));
    expect(manualDue({ dueDate: '2026-10-25' }, 'RS').dueAt).toEqual(new Date('2026-10-25T22:59:59.999Z'));
    expect(manualDue({ dueAt: '2026-04-01T12:34:56+02:00' }, 'KZ')).toEqual({
      dueAt: new Date('2026-04-01T10:34:56.000Z'),
      dueDate: null,
      timeZone: 'Asia/Almaty',
      hourBased: false,
    });
  });
});
