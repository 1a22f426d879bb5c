// Which days are public holidays where a term runs. Three sources, in order:
// an admin's correction for that country and day (holiday_calendar_days, passed
// in as `DayOverrides`), data shipped here (Kyrgyzstan, the Court's closing
// days), and date-holidays (type `public` only). When a source is unsure we
// leave a day OUT: a day wrongly counted as a holiday pushes a deadline later,
// one wrongly counted as a working day only makes it earlier.
import Holidays from 'date-holidays';

/** An admin's corrections for one calendar: ADD makes a day non-working, REMOVE a working day. */
export type DayOverrides = ReadonlyMap<string, 'ADD' | 'REMOVE'>;
export const NO_OVERRIDES: DayOverrides = new Map();

/**
 * Montenegro's date-holidays calendar marks as `public` the days off that the
 * Law on State and Other Holidays gives to adherents only (Orthodox and
 * Catholic Christmas and Easter, Bayrams, Pesach, Yom Kippur, All Saints).
 * Courts work on them: only the state holidays below count.
 */
const STATE_HOLIDAYS_ONLY: Record<string, RegExp> = {
  ME: /^(Nova godina|Praznik rada|Dan neovisnosti|Dan državnosti)$/,
};

/**
 * Kyrgyzstan: date-holidays has no calendar. Labour Code art. 113 lists the
 * fixed non-working holidays below (MM-DD). Orozo Ait and Kurman Ait move with
 * the lunar calendar and the government announces their dates (and moved days
 * off) each year: admins enter them through /v1/holiday-calendars/KG/days.
 */
export const KG_FIXED_HOLIDAYS: readonly { md: string; name: string }[] = [
  { md: '01-01', name: 'New Year' },
  { md: '01-07', name: 'Orthodox Christmas' },
  { md: '02-23', name: "Defender of the Fatherland's Day" },
  { md: '03-08', name: "International Women's Day" },
  { md: '03-21', name: 'Nooruz' },
  { md: '04-07', name: "Day of the People's April Revolution" },
  { md: '05-01', name: 'Labour Day' },
  { md: '05-05', name: 'Constitution Day' },
  { md: '05-09', name: 'Victory Day' },
  { md: '08-31', name: 'Independence Day' },
  { md: '11-07', name: 'Days of History and Remembrance of Ancestors' },
  { md: '11-08', name: 'Days of History and Remembrance of Ancestors' },
];

/**
 * The European Court of Human Rights (calendar key `ECHR`): Strasbourg's public
 * holidays (France's plus Good Friday and 26 December, date-holidays FR-67) and
 * the Registry's closure from 24 to 31 December. The Court's other published
 * closing days are entered as data by admins (/v1/holiday-calendars/ECHR/days).
 */
function echrClosed(day: string): string | null {
  const md = day.slice(5);
  if (md >= '12-24' && md <= '12-31') return 'Court closed (24-31 December)';
  return null;
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

/** Whether a calendar is known for the key (date-holidays, or data shipped here: KG, ECHR). TJ has none. */
export function hasHolidayCalendar(country: string): boolean {
  return country === 'KG' || country === 'ECHR' || holidaysFor(country) !== null;
}

/** The name of the shipped public holiday on `day` (no admin corrections), or null. */
export function shippedHolidayName(day: string, country: string): string | null {
  if (country === 'KG') return KG_FIXED_HOLIDAYS.find((h) => h.md === day.slice(5))?.name ?? null;
  if (country === 'ECHR') return echrClosed(day) ?? shippedHolidayName(day, 'FR-67');
  const hd = holidaysFor(country);
  if (!hd) return null;
  const found = hd.isHoliday(`${day} 12:00:00`);
  if (!Array.isArray(found)) return null;
  const only = STATE_HOLIDAYS_ONLY[country];
  const hit = found.find((h) => h.type === 'public' && (!only || only.test(h.name)));
  return hit?.name ?? null;
}

/** A public holiday on `day` in `country`, admins' corrections first. */
export function isPublicHoliday(day: string, country: string, overrides: DayOverrides = NO_OVERRIDES): boolean {
  const o = overrides.get(day);
  if (o) return o === 'ADD';
  return shippedHolidayName(day, country) !== null;
}

/** Every shipped public holiday of a year (for the API and the per-country test). */
export function shippedHolidays(country: string, year: number): { day: string; name: string }[] {
  const out: { day: string; name: string }[] = [];
  for (let t = Date.UTC(year, 0, 1); t < Date.UTC(year + 1, 0, 1); t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    const name = shippedHolidayName(day, country);
    if (name) out.push({ day, name });
  }
  return out;
}
