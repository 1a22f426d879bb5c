// The full domain of a table: every combination of the requested dimensions'
// values within the filters, zeros included. Listing only the combinations
// that occur would say, by its labels alone, "something happened here"; the
// domain below depends on the filters and on reference lists, not on which
// events match.
//
// Domains: hostCountry, the filter's countries or else every host country of
// the organisation's cases (of the filtered teams); type, the filter's types
// or else every event type; year/quarter/month, every period from the filter's
// bounds (or else the first and last recorded event) inclusive; citizenship,
// every citizenship recorded for anyone plus UNKNOWN; mechanism and
// chargeCategory, every value plus NO_CHARGE_RECORDED.
import { Prisma } from '../../generated/prisma/client.ts';
import { ChargeCategory, EventType, WantedMechanism } from '../../generated/prisma/enums.ts';
import { AppError } from '../../lib/app-error.ts';
import type { CubeEntry } from './disclosure.ts';
import type { EventFilters } from './event-filters.ts';
import type { Dimension } from './stats.schemas.ts';

/** The largest table (cells and margins) answered: beyond it, narrow the period or drop a dimension. */
export const MAX_TABLE_ENTRIES = 60_000;

type Run = <T>(sql: Prisma.Sql) => Promise<T[]>;

const monthIndex = (d: Date) => d.getUTCFullYear() * 12 + d.getUTCMonth();

function periods(dim: 'year' | 'quarter' | 'month', first: Date, last: Date): string[] {
  const out = new Set<string>();
  for (let m = monthIndex(first); m <= monthIndex(last); m++) {
    const y = Math.floor(m / 12);
    const mo = m % 12;
    if (dim === 'year') out.add(String(y));
    else if (dim === 'quarter') out.add(`${y}-Q${Math.floor(mo / 3) + 1}`);
    else out.add(`${y}-${String(mo + 1).padStart(2, '0')}`);
  }
  return [...out];
}

/** The values of each requested dimension, in the order of groupBy. */
export async function domainOf(run: Run, groupBy: readonly Dimension[], f: EventFilters): Promise<string[][]> {
  const out: string[][] = [];
  let range: { first: Date | null; last: Date | null } | undefined;
  for (const d of groupBy) {
    if (d === 'hostCountry') {
      if (f.country?.length) out.push([...f.country].sort());
      else {
        const team = f.team?.length ? Prisma.sql`WHERE c.team_id = ANY(${f.team}::uuid[])` : Prisma.empty;
        const rows = await run<{ v: string }>(
          Prisma.sql`SELECT DISTINCT c.host_country::text AS v FROM cases c ${team} ORDER BY 1`,
        );
        out.push(rows.map((r) => r.v));
      }
    } else if (d === 'type') out.push(f.type?.length ? [...f.type] : Object.values(EventType));
    else if (d === 'citizenship') {
      const rows = await run<{ v: string }>(
        Prisma.sql`SELECT DISTINCT x AS v FROM people p CROSS JOIN LATERAL unnest(p.citizenship) AS x ORDER BY 1`,
      );
      out.push([...rows.map((r) => r.v), 'UNKNOWN']);
    } else if (d === 'mechanism') out.push([...Object.values(WantedMechanism), 'NO_CHARGE_RECORDED']);
    else if (d === 'chargeCategory') out.push([...Object.values(ChargeCategory), 'NO_CHARGE_RECORDED']);
    else {
      if (!range) {
        const [r] = await run<{ first: Date | null; last: Date | null }>(
          Prisma.sql`SELECT min(occurred_at) AS first, max(occurred_at) AS last FROM events`,
        );
        range = {
          first: f.from ? new Date(`${f.from}T00:00:00.000Z`) : r.first,
          last: f.to ? new Date(`${f.to}T00:00:00.000Z`) : r.last,
        };
      }
      out.push(range.first && range.last ? periods(d, range.first, range.last) : []);
    }
  }
  return out;
}

/**
 * Completes a cube to every combination of the domain (and every margin),
 * with zeros where nothing matched. Refuses (422 naming groupBy) a table over
 * MAX_TABLE_ENTRIES entries.
 */
export function completeCube(cube: CubeEntry[], domain: string[][]): CubeEntry[] {
  const size = domain.reduce((n, values) => n * (values.length + 1), 1);
  if (size > MAX_TABLE_ENTRIES) {
    const message = `the table would have ${size} cells and totals (at most ${MAX_TABLE_ENTRIES}): narrow the period or group by fewer dimensions`;
    throw new AppError('UNPROCESSABLE', message, { errors: [{ path: 'querystring.groupBy', message }] });
  }
  const key = (values: (string | null)[]) => JSON.stringify(values);
  const have = new Map(cube.map((e) => [key(e.values), e]));
  const out: CubeEntry[] = [];
  const walk = (i: number, values: (string | null)[]) => {
    if (i === domain.length) {
      const k = key(values);
      out.push(have.get(k) ?? { values: [...values], events: 0, cases: 0 });
      have.delete(k);
      return;
    }
    for (const v of [...domain[i], null]) {
      values.push(v);
      walk(i + 1, values);
      values.pop();
    }
  };
  walk(0, []);
  // Values outside the domain (none expected) are kept rather than dropped.
  return [...out, ...have.values()];
}
