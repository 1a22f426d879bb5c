// Legal dates are computed in the host country's time zone: a due date given
// without a time means the end of that calendar day where the court sits, and
// counting in working days skips weekends and that country's public holidays
// (./holiday-calendars.ts, with admins' corrections). Instants are stored in UTC.
import { type DayOverrides, isPublicHoliday, NO_OVERRIDES } from './holiday-calendars.ts';

export { hasHolidayCalendar, isPublicHoliday, type DayOverrides } from './holiday-calendars.ts';

export const TZ_BY_COUNTRY: Record<string, string> = {
  AM: 'Asia/Yerevan',
  AZ: 'Asia/Baku',
  GE: 'Asia/Tbilisi',
  KZ: 'Asia/Almaty',
  KG: 'Asia/Bishkek',
  UZ: 'Asia/Tashkent',
  TJ: 'Asia/Dushanbe',
  TM: 'Asia/Ashgabat',
  RS: 'Europe/Belgrade',
  ME: 'Europe/Podgorica',
  BA: 'Europe/Sarajevo',
  MK: 'Europe/Skopje',
  AL: 'Europe/Tirane',
  TR: 'Europe/Istanbul',
  MD: 'Europe/Chisinau',
  RU: 'Europe/Moscow',
  BY: 'Europe/Minsk',
  FR: 'Europe/Paris',
  DE: 'Europe/Berlin',
};

export function timeZoneFor(country: string): string {
  return TZ_BY_COUNTRY[country] ?? 'UTC';
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string) {
  let f = fmtCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    fmtCache.set(tz, f);
  }
  return f;
}

function wallClock(instant: Date, tz: string) {
  const parts = Object.fromEntries(
    formatter(tz)
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  return { y: +parts.year, m: +parts.month, d: +parts.day, h: +parts.hour, mi: +parts.minute, s: +parts.second };
}

/** Offset of `tz` from UTC at `instant`, in milliseconds (east positive). */
export function tzOffsetMs(instant: Date, tz: string): number {
  const w = wallClock(instant, tz);
  const asUtc = Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

/** The instant at which the wall clock in `tz` shows date `day` and time `hhmm`. */
export function zonedToUtc(day: string, hhmm: string, tz: string): Date {
  const [y, m, d] = day.split('-').map(Number);
  const [hh, mm] = hhmm.split(':').map(Number);
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  let result = guess - tzOffsetMs(new Date(guess), tz);
  const second = tzOffsetMs(new Date(result), tz);
  if (guess - second !== result) result = guess - second;
  return new Date(result);
}

/** The calendar date (YYYY-MM-DD) that the wall clock in `tz` shows at `instant`. */
export function localDate(instant: Date, tz: string): string {
  const w = wallClock(instant, tz);
  return `${String(w.y).padStart(4, '0')}-${String(w.m).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
}

/** The wall-clock fields in `tz` at `instant` (month 1-12). */
export function wallTime(instant: Date, tz: string) {
  return wallClock(instant, tz);
}

/** The wall-clock time (HH:MM) in `tz` at `instant`. */
export function localClock(instant: Date, tz: string): string {
  const w = wallClock(instant, tz);
  return `${String(w.h).padStart(2, '0')}:${String(w.mi).padStart(2, '0')}`;
}

/** The last millisecond of `day` in `tz` (robust across DST changes: next midnight minus 1 ms). */
export function endOfLocalDay(day: string, tz: string): Date {
  return new Date(zonedToUtc(addDays(day, 1), '00:00', tz).getTime() - 1);
}

export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** Adds calendar months; a day that does not exist in the target month becomes its last day (31 Jan + 1 month = 28/29 Feb). */
export function addMonths(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number);
  const lastDay = new Date(Date.UTC(y, m - 1 + n + 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, m - 1 + n, Math.min(d, lastDay))).toISOString().slice(0, 10);
}

export function weekday(day: string): number {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

export function isNonWorkingDay(day: string, country: string, overrides: DayOverrides = NO_OVERRIDES): boolean {
  // An admin's entry decides: a government-moved day off (ADD) or a Saturday made a working day (REMOVE).
  const o = overrides.get(day);
  if (o) return o === 'ADD';
  const wd = weekday(day);
  return wd === 0 || wd === 6 || isPublicHoliday(day, country, overrides);
}

/** Moves `n` working days from `day` (negative n goes back), skipping weekends and public holidays. */
export function addWorkingDays(
  day: string,
  n: number,
  country: string,
  overrides: DayOverrides = NO_OVERRIDES,
): string {
  let current = day;
  let left = Math.abs(n);
  const step = n < 0 ? -1 : 1;
  while (left > 0) {
    current = addDays(current, step);
    if (!isNonWorkingDay(current, country, overrides)) left--;
  }
  return current;
}

export function roll(
  day: string,
  policy: 'FORWARD' | 'BACKWARD' | 'NONE',
  country: string,
  overrides: DayOverrides = NO_OVERRIDES,
): string {
  if (policy === 'NONE') return day;
  let current = day;
  for (let i = 0; i < 30 && isNonWorkingDay(current, country, overrides); i++) {
    current = addDays(current, policy === 'FORWARD' ? 1 : -1);
  }
  return current;
}
