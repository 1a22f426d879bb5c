// VTIMEZONE blocks (RFC 5545 §3.6.5) built from the runtime's tz database, so
// calendar feeds can give times in the court's own zone: every offset change in
// a window of years is listed explicitly (no RRULE), which stays right for
// zones that changed for good (Kazakhstan: one UTC+5 zone from 1 March 2024).
import { tzOffsetMs } from './legal-time.ts';

const HOUR = 3_600_000;

function fmtOffset(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const m = Math.abs(ms) / 60_000;
  return `${sign}${String(Math.floor(m / 60)).padStart(2, '0')}${String(m % 60).padStart(2, '0')}`;
}

/** The wall-clock time at `utcMs` under `offsetMs`, as 19700101T000000. */
function fmtLocal(utcMs: number, offsetMs: number): string {
  return new Date(utcMs + offsetMs).toISOString().replace(/[-:]/g, '').slice(0, 15);
}

/** Instants (UTC ms) at which `tz` changes its offset between the two years, inclusive. */
export function offsetTransitions(
  tz: string,
  fromYear: number,
  toYear: number,
): { at: number; from: number; to: number }[] {
  const out: { at: number; from: number; to: number }[] = [];
  const end = Date.UTC(toYear + 1, 0, 1);
  let t = Date.UTC(fromYear, 0, 1);
  let off = tzOffsetMs(new Date(t), tz);
  // Offsets change at most a few times a year, never twice within 6 hours.
  for (let next = t + 6 * HOUR; t < end; t = next, next += 6 * HOUR) {
    const o = tzOffsetMs(new Date(next), tz);
    if (o === off) continue;
    let lo = t;
    let hi = next;
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
      if (tzOffsetMs(new Date(mid), tz) === off) lo = mid;
      else hi = mid;
    }
    out.push({ at: hi, from: off, to: o });
    off = o;
  }
  return out;
}

/** A VTIMEZONE for `tz` valid from `fromYear` to `toYear` (CRLF line ends). */
export function vtimezone(tz: string, fromYear: number, toYear: number): string {
  const lines = ['BEGIN:VTIMEZONE', `TZID:${tz}`];
  const initial = tzOffsetMs(new Date(Date.UTC(fromYear, 0, 1)), tz);
  lines.push(
    'BEGIN:STANDARD',
    'DTSTART:19700101T000000',
    `TZOFFSETFROM:${fmtOffset(initial)}`,
    `TZOFFSETTO:${fmtOffset(initial)}`,
    'END:STANDARD',
  );
  for (const tr of offsetTransitions(tz, fromYear, toYear)) {
    const kind = tr.to > tr.from ? 'DAYLIGHT' : 'STANDARD';
    lines.push(
      `BEGIN:${kind}`,
      `DTSTART:${fmtLocal(tr.at, tr.from)}`,
      `TZOFFSETFROM:${fmtOffset(tr.from)}`,
      `TZOFFSETTO:${fmtOffset(tr.to)}`,
      `END:${kind}`,
    );
  }
  lines.push('END:VTIMEZONE');
  return `${lines.join('\r\n')}\r\n`;
}
