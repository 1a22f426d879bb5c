// Legal dates are computed in the host country's time zone: a due date given
// without a time means the end of that calendar day where the court sits, and
// counting in working days skips weekends and that country's public holidays
// (date-holidays). Instants are stored in UTC.
import Holidays from 'date-holidays';

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

const holidayCache = new Map<string, Holidays | null>();
/** `country` is an ISO code ("KZ") or a code with a date-holidays region ("FR-67": Bas-Rhin, where Strasbourg is). */
function holidaysFor(country: string): Holidays | null {
  if (!holidayCache.has(country)) {
    const [cc, region] = country.split('-');
    const hd = new Holidays();
    const known = Boolean(hd.getCountries()[cc]) && (!region || Boolean(hd.getStates(cc)?.[region]));
    holidayCache.set(country, known ? (region ? new Holidays(cc, region) : new Holidays(cc)) : null);
  }
  return holidayCache.get(country)!;
}

/** Whether date-holidays has a calendar for the country (KG and TJ had none when this was written). */
export function hasHolidayCalendar(country: string): boolean {
  return holidaysFor(country) !== null;
}

export function isPublicHoliday(day: string, country: string): boolean {
  const hd = holidaysFor(country);
  if (!hd) return false;
  const found = hd.isHoliday(`${day} 12:00:00`);
  return Array.isArray(found) && found.some((h) => h.type === 'public');
}

export function isNonWorkingDay(day: string, country: string): boolean {
  const wd = weekday(day);
  return wd === 0 || wd === 6 || isPublicHoliday(day, country);
}

/** Moves `n` working days from `day` (negative n goes back), skipping weekends and public holidays. */
export function addWorkingDays(day: string, n: number, country: string): string {
  let current = day;
  let left = Math.abs(n);
  const step = n < 0 ? -1 : 1;
  while (left > 0) {
    current = addDays(current, step);
    if (!isNonWorkingDay(current, country)) left--;
  }
  return current;
}

export function roll(day: string, policy: 'FORWARD' | 'BACKWARD' | 'NONE', country: string): string {
  if (policy === 'NONE') return day;
  let current = day;
  for (let i = 0; i < 30 && isNonWorkingDay(current, country); i++) {
    current = addDays(current, policy === 'FORWARD' ? 1 : -1);
  }
  return current;
}
