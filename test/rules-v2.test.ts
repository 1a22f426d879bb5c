// Legal rules v2, pure computations: every figure below was counted by hand
// (calendar, time zone, holidays) before the code ran.
import { describe, expect, it } from 'vitest';
import { shippedHolidays } from '../src/lib/holiday-calendars.ts';
import { addWorkingDays, isNonWorkingDay, localClock } from '../src/lib/legal-time.ts';
import { computeDue, type RuleShape, type TriggerShape } from '../src/modules/deadlines/compute.ts';
import { DEFAULT_RULES } from '../src/modules/deadlines/default-rules.ts';
import { treatyMatches } from '../src/modules/deadlines/rule-inputs.ts';
import { deadlineWarnings, inTurkishJudicialRecess } from '../src/modules/deadlines/judicial-recess.ts';
import { readFileSync } from 'node:fs';
import { vtimezone } from '../src/lib/vtimezone.ts';

const iso = (d: Date) => d.toISOString();
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
const ev = (at: string, extra: Partial<TriggerShape> = {}): TriggerShape => ({
  occurredAt: new Date(at),
  termDays: null,
  ...extra,
});
const due = (key: string, e: TriggerShape, host: string) => {
  const r = computeDue(rule(key), e, host);
  return r ? [r.dueDate, iso(r.dueAt)] : null;
};
const day = (d: string) => new Date(`${d}T00:00:00Z`);

describe('holiday calendars, 2026, public days only', () => {
  it('lists each host country', () => {
    const md = (c: string) => shippedHolidays(c, 2026).map((h) => h.day.slice(5));
    // Montenegro: state holidays only; days off for adherents (Christmases, Easters, Bayrams,
    // Pesach 2 April, Yom Kippur 21 September, All Saints) are working days for the courts.
    expect(md('ME')).toEqual(['01-01', '01-02', '05-01', '05-02', '05-21', '05-22', '07-13', '07-14']);
    // Kyrgyzstan (Labour Code art. 113; Orozo and Kurman Ait are entered by admins each year).
    expect(md('KG')).toEqual([
      '01-01',
      '01-07',
      '02-23',
      '03-08',
      '03-21',
      '04-07',
      '05-01',
      '05-05',
      '05-09',
      '08-31',
      '11-07',
      '11-08',
    ]);
    expect(md('RS')).toEqual([
      '01-01',
      '01-02',
      '01-07',
      '02-16',
      '02-17',
      '04-10',
      '04-12',
      '04-13',
      '05-01',
      '05-02',
      '11-11',
    ]);
    expect(md('TR')).toEqual([
      '01-01',
      '03-20',
      '03-21',
      '03-22',
      '04-23',
      '05-01',
      '05-19',
      '05-27',
      '05-28',
      '05-29',
      '05-30',
      '07-15',
      '08-30',
      '10-29',
    ]);
    expect(md('GE')).toEqual([
      '01-01',
      '01-02',
      '01-07',
      '01-19',
      '03-03',
      '03-08',
      '04-09',
      '04-10',
      '04-11',
      '04-12',
      '04-13',
      '05-09',
      '05-12',
      '05-26',
      '08-28',
      '10-14',
      '11-23',
    ]);
    expect(md('AM')).toEqual([
      '01-01',
      '01-02',
      '01-03',
      '01-04',
      '01-05',
      '01-06',
      '01-28',
      '03-08',
      '04-24',
      '05-01',
      '05-09',
      '05-28',
      '07-05',
      '09-21',
      '12-31',
    ]);
    expect(md('AZ')).toEqual([
      '01-01',
      '01-02',
      '03-08',
      '03-09',
      '03-20',
      '03-21',
      '03-23',
      '05-09',
      '05-11',
      '05-27',
      '05-28',
      '06-15',
      '06-26',
      '10-18',
      '10-19',
      '11-09',
      '11-12',
      '11-17',
      '12-31',
    ]);
    expect(md('KZ')).toEqual([
      '01-01',
      '01-02',
      '01-07',
      '03-08',
      '03-09',
      '03-15',
      '03-16',
      '03-21',
      '03-22',
      '03-23',
      '03-24',
      '05-01',
      '05-07',
      '05-09',
      '05-11',
      '05-27',
      '07-06',
      '10-25',
      '10-26',
      '12-16',
    ]);
    expect(md('UZ')).toEqual([
      '01-01',
      '03-08',
      '03-09',
      '03-20',
      '03-21',
      '03-23',
      '05-09',
      '05-11',
      '05-27',
      '09-01',
      '10-01',
      '12-08',
    ]);
    expect(md('TJ')).toEqual([]); // no calendar: weekends only (README)
    // The Court: Strasbourg's public holidays and 24-31 December.
    expect(md('ECHR')).toEqual([
      '01-01',
      '04-03',
      '04-06',
      '05-01',
      '05-08',
      '05-14',
      '05-25',
      '07-14',
      '08-15',
      '11-01',
      '11-11',
      '12-24',
      '12-25',
      '12-26',
      '12-27',
      '12-28',
      '12-29',
      '12-30',
      '12-31',
    ]);
  });

  it("an admin's entries decide: a moved day off (ADD) and a Saturday made a working day (REMOVE)", () => {
    // Thu 19 March + 1 working day in KG = Fri 20 March; with Orozo Ait entered on 20 March,
    // Sat 21 (Nooruz) and Sun 22 follow -> Mon 23 March.
    expect(addWorkingDays('2026-03-19', 1, 'KG')).toBe('2026-03-20');
    expect(addWorkingDays('2026-03-19', 1, 'KG', new Map([['2026-03-20', 'ADD']]))).toBe('2026-03-23');
    expect(isNonWorkingDay('2026-01-03', 'KG')).toBe(true);
    expect(isNonWorkingDay('2026-01-03', 'KG', new Map([['2026-01-03', 'REMOVE']]))).toBe(false);
    expect(isNonWorkingDay('2026-01-01', 'KG', new Map([['2026-01-01', 'REMOVE']]))).toBe(false);
  });
});

describe('custody pending an extradition request', () => {
  it('KZ: day 40 release date (CPC 588(7)), no roll, Almaty end of day', () => {
    // Detained Sat 6 June 10:00 Almaty; + 40 days = Thu 16 July.
    expect(due('kz-temporary-custody-40d-release', ev('2026-06-06T05:00:00Z'), 'KZ')).toEqual([
      '2026-07-16',
      '2026-07-16T18:59:59.999Z',
    ]);
    const warn = DEFAULT_RULES.find((r) => r.key === 'kz-temporary-custody-40d-warning')!;
    expect(warn.citation).toMatch(/588\(1\) and 588\(7\)/);
    expect(warn.citation).not.toMatch(/589/);
    expect(warn.title).not.toMatch(/extension/);
  });

  it('AM: ECE declaration (1 month) and Minsk 40 days are two rules, bound to the treaty', () => {
    const ece = DEFAULT_RULES.find((r) => r.key === 'am-no-request-release-1m')!;
    const minsk = DEFAULT_RULES.find((r) => r.key === 'minsk-no-request-release-40d')!;
    expect(ece.treaties).toEqual(['ECE_1957']);
    expect(ece.citation).toMatch(/16\(4\)/);
    expect(minsk.treaties).toEqual(['MINSK_1993']);
    expect(minsk.citation).toMatch(/62\(1\).*1997 Protocol/);
    // Sat 31 January 14:00 Yerevan + 40 days = Thu 12 March, end of day UTC+4.
    expect(due('minsk-no-request-release-40d', ev('2026-01-31T10:00:00Z'), 'AM')).toEqual([
      '2026-03-12',
      '2026-03-12T19:59:59.999Z',
    ]);
  });

  it('ECE art. 16(4): day 18 and day 40 counted from the local date of arrest, across DST', () => {
    // 3 March 23:30Z is already Wed 4 March 00:30 in Belgrade: + 18 = Sun 22 March (CET).
    expect(due('ece-provisional-arrest-18d', ev('2026-03-03T23:30:00Z'), 'RS')).toEqual([
      '2026-03-22',
      '2026-03-22T22:59:59.999Z',
    ]);
    // + 40 = Mon 13 April, after the switch to CEST: 22:00Z - 1 ms.
    expect(due('ece-provisional-arrest-40d', ev('2026-03-03T23:30:00Z'), 'RS')).toEqual([
      '2026-04-13',
      '2026-04-13T21:59:59.999Z',
    ]);
    const hosts = DEFAULT_RULES.find((r) => r.key === 'ece-provisional-arrest-18d')!.hostCountries;
    expect([...hosts].sort()).toEqual(['AM', 'AZ', 'GE', 'ME', 'RS', 'TR']);
  });

  it('Minsk art. 62(1) in KG: 40 days, Bishkek end of day', () => {
    // Thu 1 October 09:00 Bishkek + 40 = Tue 10 November.
    expect(due('minsk-no-request-release-40d', ev('2026-10-01T03:00:00Z'), 'KG')).toEqual([
      '2026-11-10',
      '2026-11-10T17:59:59.999Z',
    ]);
  });

  it('a treaty-bound rule applies when a charge names its treaty, or when none is named', () => {
    const ece = { treaties: ['ECE_1957' as const] };
    const any = { treaties: [] };
    expect(treatyMatches(new Set())(ece)).toBe(true);
    expect(treatyMatches(new Set(['ECE_1957' as const]))(ece)).toBe(true);
    expect(treatyMatches(new Set(['MINSK_1993' as const]))(ece)).toBe(false);
    expect(treatyMatches(new Set(['MINSK_1993' as const]))(any)).toBe(true);
  });

  it('TR removal detention (LFIP 57): monthly reviews, 6 months, 12 months', () => {
    // Sat 31 January 13:00 Istanbul: + 1 month = 28 February (clamped); + 6 = 31 July; + 12 = 31 January 2027.
    expect(due('tr-removal-detention-review-1m', ev('2026-01-31T10:00:00Z'), 'TR')).toEqual([
      '2026-02-28',
      '2026-02-28T20:59:59.999Z',
    ]);
    expect(due('tr-removal-detention-6m', ev('2026-01-31T10:00:00Z'), 'TR')![0]).toBe('2026-07-31');
    expect(due('tr-removal-detention-12m', ev('2026-01-31T10:00:00Z'), 'TR')).toEqual([
      '2027-01-31',
      '2027-01-31T20:59:59.999Z',
    ]);
  });

  it('the tz database knows KZ moved to UTC+5 on 1 March 2024: a 72-hour term across that date', () => {
    expect(process.versions.tz! >= '2024a').toBe(true);
    // Detained 29 February 2024 00:00 Almaty (UTC+6) = 28 Feb 18:00Z; + 60 h = 2 March 06:00Z,
    // which Almaty (now UTC+5) shows as 11:00, not 12:00.
    const r = computeDue(rule('kz-foreign-request-72h-prosecutor'), ev('2024-02-28T18:00:00Z'), 'KZ')!;
    expect(iso(r.dueAt)).toBe('2024-03-02T06:00:00.000Z');
    expect(localClock(r.dueAt, r.timeZone)).toBe('11:00');
  });
});

describe('decisions: final only, from service', () => {
  it('ECHR four months: only a final decision, counted from servedOn, never rolled', () => {
    // Served Thu 2 April; + 4 months = Sun 2 August, Belgrade CEST.
    const decided = ev('2026-03-10T09:00:00Z', { isFinal: true, servedOn: day('2026-04-02') });
    expect(due('echr-application-4m', decided, 'RS')).toEqual(['2026-08-02', '2026-08-02T21:59:59.999Z']);
    // Without servedOn: from the decision's own date, 10 March + 4 = 10 July.
    expect(due('echr-application-4m', ev('2026-03-10T09:00:00Z', { isFinal: true }), 'RS')![0]).toBe('2026-07-10');
    // Intermediate rulings make no deadline.
    expect(due('echr-application-4m', ev('2026-03-10T09:00:00Z', { isFinal: false }), 'RS')).toBeNull();
    expect(due('echr-application-4m', ev('2026-03-10T09:00:00Z'), 'RS')).toBeNull();
    // Any decision event: an extradition decision too.
    expect(due('echr-application-4m-extradition-decision', decided, 'TR')).toEqual([
      '2026-08-02',
      '2026-08-02T20:59:59.999Z',
    ]);
  });

  it('TR Constitutional Court 30 days (Law 6216 art. 47(5)) rolls off Republic Day', () => {
    // Served Tue 29 September + 30 = Thu 29 October (Republic Day) -> Fri 30 October.
    const decided = ev('2026-09-20T09:00:00Z', { isFinal: true, servedOn: day('2026-09-29') });
    expect(due('tr-constitutional-court-30d', decided, 'TR')).toEqual(['2026-10-30', '2026-10-30T20:59:59.999Z']);
    expect(due('tr-constitutional-court-30d', ev('2026-09-20T09:00:00Z', { isFinal: false }), 'TR')).toBeNull();
  });

  it('RS constitutional appeal 30 days from delivery rolls past Statehood Day; ME is LOW and unrolled', () => {
    // Served Fri 16 January + 30 = Sun 15 February -> Mon 16, Tue 17 (Statehood Day) -> Wed 18 February.
    const rs = ev('2026-01-10T09:00:00Z', { isFinal: true, servedOn: day('2026-01-16') });
    expect(due('rs-constitutional-appeal-30d', rs, 'RS')).toEqual(['2026-02-18', '2026-02-18T22:59:59.999Z']);
    // Served Tue 21 April + 30 = Thu 21 May (Independence Day), kept: the earliest reading.
    const me = ev('2026-04-15T09:00:00Z', { isFinal: true, servedOn: day('2026-04-21') });
    expect(due('me-constitutional-appeal', me, 'ME')).toEqual(['2026-05-21', '2026-05-21T21:59:59.999Z']);
    expect(DEFAULT_RULES.find((r) => r.key === 'me-constitutional-appeal')!.confidence).toBe('LOW');
  });

  it('TR accelerated asylum refusal: 15 days, rolled past Kurban Bayramı', () => {
    // Fri 15 May + 15 = Sat 30 May (Bayram) -> Sun 31 -> Mon 1 June.
    expect(due('tr-asylum-accelerated-15d', ev('2026-05-15T08:00:00Z'), 'TR')).toEqual([
      '2026-06-01',
      '2026-06-01T20:59:59.999Z',
    ]);
  });
});

describe('tasks and follow-ups', () => {
  it('CCF 4/9 months run from admissibility and are the Commission target, not a filing deadline', () => {
    for (const key of ['interpol-ccf-access-4m', 'interpol-ccf-deletion-9m']) {
      const r = DEFAULT_RULES.find((x) => x.key === key)!;
      expect([r.triggerEventType, r.kind]).toEqual(['CCF_ADMISSIBILITY', 'FOLLOW_UP']);
      expect(r.title).toMatch(/^Expected CCF decision/);
    }
  });

  it('the CIS 15-day take-over runs from SURRENDER_SCHEDULED; the KZ appeal stays on the decision', () => {
    expect(DEFAULT_RULES.find((r) => r.key === 'cis-surrender-takeover-15d')!.triggerEventType).toBe(
      'SURRENDER_SCHEDULED',
    );
    expect(DEFAULT_RULES.find((r) => r.key === 'kz-extradition-decision-appeal-10d')!.triggerEventType).toBe(
      'EXTRADITION_DECISION',
    );
  });

  it('UN interim measures for KZ and KG: a 2-day task, Almaty end of day', () => {
    // 30 December 20:00Z is 31 December 01:00 in Almaty: + 2 = 2 January 2027.
    expect(due('un-interim-measures-deportation-order', ev('2026-12-30T20:00:00Z'), 'KZ')).toEqual([
      '2027-01-02',
      '2027-01-02T18:59:59.999Z',
    ]);
    const hosts = DEFAULT_RULES.filter((r) => r.kind === 'UN_INTERIM_MEASURES').map((r) => r.hostCountries);
    expect(hosts).toEqual([
      ['KZ', 'KG'],
      ['KZ', 'KG'],
    ]);
  });

  it('every shipped rule says "verify with counsel" and has a citation', () => {
    for (const r of DEFAULT_RULES) {
      expect(r.verifyWithCounsel).toBe(true);
      expect(r.citation.length).toBeGreaterThan(10);
    }
  });
});

describe('VTIMEZONE from the tz database', () => {
  it('lists every offset change: Belgrade DST in 2026, Almaty to UTC+5 on 1 March 2024, none since', () => {
    const bg = vtimezone('Europe/Belgrade', 2026, 2026);
    expect(bg).toContain('BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200');
    expect(bg).toContain('BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100');
    const kz = vtimezone('Asia/Almaty', 2024, 2024);
    expect(kz).toContain('BEGIN:STANDARD\r\nDTSTART:20240301T000000\r\nTZOFFSETFROM:+0600\r\nTZOFFSETTO:+0500');
    expect(vtimezone('Asia/Almaty', 2026, 2027).match(/BEGIN:STANDARD/g)).toHaveLength(1);
  });
});

describe('CCF revision (Statute art. 42(2))', () => {
  it('six months from the discovery of a new fact, unrolled, a filing deadline with its citation', () => {
    const r = DEFAULT_RULES.find((x) => x.key === 'interpol-ccf-revision-6m')!;
    expect(r).toMatchObject({
      triggerEventType: 'NEW_FACT_DISCOVERED',
      kind: 'CCF_REQUEST',
      hostCountries: [],
      rollPolicy: 'NONE',
      verifyWithCounsel: true,
    });
    expect(r.citation).toMatch(/Art\. 42\(2\).*six months/);
    // Discovered Tue 10 March 2026, 14:00 Tbilisi (UTC+4): + 6 months = Thu 10 September, end of day Tbilisi.
    expect(due('interpol-ccf-revision-6m', ev('2026-03-10T10:00:00Z'), 'GE')).toEqual([
      '2026-09-10',
      '2026-09-10T19:59:59.999Z',
    ]);
    // 30 August 22:30Z is 31 August 00:30 in Belgrade (CEST): + 6 months = 31 February -> 28 February 2027,
    // a Sunday, not rolled; end of that day in CET (UTC+1).
    expect(due('interpol-ccf-revision-6m', ev('2026-08-30T22:30:00Z'), 'RS')).toEqual([
      '2027-02-28',
      '2027-02-28T22:59:59.999Z',
    ]);
  });
});

describe('Turkish judicial recess (İYUK art. 8(3)): a warning, never a later date', () => {
  const warn = (key: string, dueDate: string | null) => {
    const r = DEFAULT_RULES.find((x) => x.key === key)!;
    return deadlineWarnings({
      kind: r.kind,
      dueDate,
      rule: { jurisdiction: r.jurisdiction, finalOnly: !!r.finalOnly },
    });
  };
  const codes = (key: string, dueDate: string | null) => warn(key, dueDate).map((w) => w.code);

  it('20 July to 31 August inclusive', () => {
    expect(['2026-07-19', '2026-07-20', '2026-08-31', '2026-09-01'].map(inTurkishJudicialRecess)).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });

  it('a 7-day deportation appeal ending in the recess keeps its date and carries the warning', () => {
    // Mon 24 August 2026, 09:00 Istanbul + 7 = Mon 31 August (the recess's last day): not moved to 7 September.
    const [d1] = due('tr-deportation-appeal-7d', ev('2026-08-24T06:00:00Z'), 'TR')!;
    expect(d1).toBe('2026-08-31');
    expect(codes('tr-deportation-appeal-7d', d1)).toEqual(['TR_JUDICIAL_RECESS']);
    expect(warn('tr-deportation-appeal-7d', d1)[0].message).toMatch(
      /İYUK itself.*does not apply any extension.*counsel/,
    );
    // Tue 25 August + 7 = Tue 1 September: after the recess, no warning.
    const [d2] = due('tr-deportation-appeal-7d', ev('2026-08-25T06:00:00Z'), 'TR')!;
    expect(d2).toBe('2026-09-01');
    expect(codes('tr-deportation-appeal-7d', d2)).toEqual([]);
  });

  it('60 days: rolled off a weekend into the recess is flagged; the Friday before it is not', () => {
    // Tue 19 May 2026 + 60 = Sat 18 July -> Mon 20 July (first day of the recess).
    const [d1, at1] = due('tr-residence-permit-refused-60d', ev('2026-05-19T07:00:00Z'), 'TR')!;
    expect([d1, at1]).toEqual(['2026-07-20', '2026-07-20T20:59:59.999Z']);
    expect(codes('tr-residence-permit-refused-60d', d1)).toEqual(['TR_JUDICIAL_RECESS']);
    // Mon 18 May + 60 = Fri 17 July: before the recess.
    const [d2] = due('tr-residence-permit-refused-60d', ev('2026-05-18T07:00:00Z'), 'TR')!;
    expect(d2).toBe('2026-07-17');
    expect(codes('tr-residence-permit-refused-60d', d2)).toEqual([]);
  });

  it('only Turkish administrative appeal windows: not the Constitutional Court, not custody, not other countries, not manual', () => {
    expect(codes('tr-asylum-accelerated-15d', '2026-08-10')).toEqual(['TR_JUDICIAL_RECESS']);
    expect(codes('tr-entry-refusal-60d', '2026-08-10')).toEqual(['TR_JUDICIAL_RECESS']);
    expect(codes('tr-constitutional-court-30d', '2026-08-10')).toEqual([]);
    expect(codes('tr-removal-detention-6m', '2026-08-10')).toEqual([]);
    expect(codes('ge-expulsion-appeal-10d', '2026-08-10')).toEqual([]);
    expect(deadlineWarnings({ kind: 'APPEAL_WINDOW', dueDate: '2026-08-10', rule: null })).toEqual([]);
    expect(
      deadlineWarnings({ kind: 'APPEAL_WINDOW', dueDate: null, rule: { jurisdiction: 'TR', finalOnly: false } }),
    ).toEqual([]);
  });
});

describe("README's rules table", () => {
  it('lists every shipped rule with its citation and confidence', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const r of DEFAULT_RULES) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${r.key}\` |`));
      expect(row, r.key).toBeDefined();
      expect(row!.endsWith(`| ${r.citation} | ${r.confidence} |`), r.key).toBe(true);
    }
  });
});
