// The statistics SQL: one GROUP BY CUBE over events (every cell and margin in one
// statement), built from whitelisted column expressions only; every value a
// client sends is a bind parameter.
import { Prisma } from '../../generated/prisma/client.ts';
import type { Db } from '../../db.ts';
import type { CubeEntry } from './disclosure.ts';
import { eventFilterWhere, type EventFilters } from './event-filters.ts';
import type { Dimension } from './stats.schemas.ts';

type DimensionSql = {
  /** Grouping expression over the joined row (events e, cases c, chg, cz). */
  expr: Prisma.Sql;
  /** How a grouped value is printed (applied to the grouped column). */
  out: (col: Prisma.Sql) => Prisma.Sql;
  /** Multi-valued: one event may fall into several values. */
  multi?: boolean;
};

const asText = (col: Prisma.Sql) => Prisma.sql`${col}::text`;
const utc = Prisma.sql`(e.occurred_at AT TIME ZONE 'UTC')`;

// The whitelist: the only SQL a groupBy value can select. Periods group on a
// truncated timestamp (cheap to compare) and are formatted after grouping.
const DIMENSION_SQL: Record<Dimension, DimensionSql> = {
  hostCountry: { expr: Prisma.sql`c.host_country`, out: asText },
  type: { expr: Prisma.sql`e.type`, out: asText },
  year: { expr: Prisma.sql`extract(year FROM ${utc})::int`, out: asText },
  quarter: { expr: Prisma.sql`date_trunc('quarter', ${utc})`, out: (col) => Prisma.sql`to_char(${col}, 'YYYY-"Q"Q')` },
  month: { expr: Prisma.sql`date_trunc('month', ${utc})`, out: (col) => Prisma.sql`to_char(${col}, 'YYYY-MM')` },
  citizenship: { expr: Prisma.sql`coalesce(cz.citizenship, 'UNKNOWN')`, out: asText, multi: true },
  mechanism: { expr: Prisma.sql`coalesce(chg.mechanism::text, 'NO_CHARGE_RECORDED')`, out: asText, multi: true },
  chargeCategory: { expr: Prisma.sql`coalesce(chg.category::text, 'NO_CHARGE_RECORDED')`, out: asText, multi: true },
};

/** Statement settings for one statistics query: enough memory to sort in RAM, and a ceiling on time. */
export const STATS_SESSION_SETTINGS = ["SET LOCAL work_mem = '64MB'", "SET LOCAL statement_timeout = '120s'"];

/** WHERE clause for event filters over `events e JOIN cases c` (defined Prisma-free in event-filters.ts). */
export function eventFilterSql(f: EventFilters): Prisma.Sql {
  const where = eventFilterWhere(f);
  return new Prisma.Sql(where.strings, where.values);
}

/** Whether an event may count under several values of the dimension (its cells may add up to more than the total). */
export const isMultiValued = (d: Dimension): boolean => DIMENSION_SQL[d].multi === true;

/**
 * The one statement behind GET /v1/stats/events (exported so the benchmark runs
 * exactly this through psql). `exclude`, when given, keeps only events that do
 * NOT match it (the set difference the query audit counts).
 */
export function buildEventsCubeSql(
  groupBy: readonly Dimension[],
  filters: EventFilters,
  exclude?: EventFilters,
): Prisma.Sql {
  const dims = groupBy.map((d) => DIMENSION_SQL[d]);
  const joins: Prisma.Sql[] = [];
  const chargeCols = [
    groupBy.includes('chargeCategory') ? 'category' : null,
    groupBy.includes('mechanism') ? 'mechanism' : null,
  ].filter((c): c is string => c !== null);
  if (chargeCols.length) {
    // Distinct (category, mechanism) pairs of the same charge, so a case
    // charged under two articles yields no pair that no charge has.
    joins.push(
      Prisma.sql`LEFT JOIN (SELECT DISTINCT ch.case_id, ${Prisma.raw(chargeCols.map((col) => `ch.${col}`).join(', '))} FROM charges ch) chg ON chg.case_id = e.case_id`,
    );
  }
  if (groupBy.includes('citizenship')) {
    joins.push(
      Prisma.sql`LEFT JOIN (SELECT DISTINCT c2.id AS case_id, x AS citizenship FROM cases c2 JOIN people p ON p.id = c2.person_id CROSS JOIN LATERAL unnest(p.citizenship) AS x) cz ON cz.case_id = e.case_id`,
    );
  }
  const multi = dims.some((d) => d.multi);
  const cols = dims.map((_, i) => Prisma.raw(`d${i}`));
  const baseCols = dims.length
    ? Prisma.sql`, ${Prisma.join(
        dims.map((d, i) => Prisma.sql`${d.expr} AS ${cols[i]}`),
        ', ',
      )}`
    : Prisma.empty;
  // With a multi-valued dimension an event appears once per value; totals
  // still count each event once.
  const events = multi ? Prisma.sql`count(DISTINCT event_id)::int` : Prisma.sql`count(*)::int`;
  const base = Prisma.sql`WITH base AS (
    SELECT e.id AS event_id, e.case_id${baseCols}
    FROM events e JOIN cases c ON c.id = e.case_id
    ${joins.length ? Prisma.join(joins, '\n') : Prisma.empty}
    WHERE ${eventFilterSql(filters)}${exclude ? Prisma.sql` AND NOT (${eventFilterSql(exclude)})` : Prisma.empty}
  )`;
  if (!dims.length) {
    return Prisma.sql`${base} SELECT 0 AS g, ${events} AS events, count(DISTINCT case_id)::int AS cases FROM base`;
  }
  return Prisma.sql`${base}
    SELECT GROUPING(${Prisma.join(cols, ', ')})::int AS g, ${Prisma.join(
      dims.map((d, i) => Prisma.sql`${d.out(cols[i])} AS ${cols[i]}`),
      ', ',
    )},
           ${events} AS events, count(DISTINCT case_id)::int AS cases
    FROM base GROUP BY CUBE (${Prisma.join(cols, ', ')})`;
}

export type CubeRow = { g: number; events: number; cases: number } & Record<string, string | number | null>;

/** Runs one query the way statistics run: read-only, with the statistics settings. */
export async function runStatsQuery<T>(db: Db, sql: Prisma.Sql): Promise<T[]> {
  return withStatsTransaction(db, (q) => q<T>(sql));
}

/**
 * Several statistics queries in one read-only transaction (one snapshot, so
 * headline figures agree with each other; and one BEGIN/settings/COMMIT for
 * all of them instead of per query).
 */
export async function withStatsTransaction<R>(
  db: Db,
  fn: (q: <T>(sql: Prisma.Sql) => Promise<T[]>) => Promise<R>,
): Promise<R> {
  return db.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe('SET TRANSACTION READ ONLY');
      for (const s of STATS_SESSION_SETTINGS) await tx.$executeRawUnsafe(s);
      return fn(<T>(sql: Prisma.Sql) => tx.$queryRaw<T[]>(sql));
    },
    { maxWait: 10_000, timeout: 130_000 },
  );
}

export function rowsToCube(rows: CubeRow[], dimCount: number): CubeEntry[] {
  const entries = rows.map((r) => ({
    // GROUPING(d0, …, dn-1): bit (n-1-i) is set when d_i is summed over.
    values: Array.from({ length: dimCount }, (_, i) => ((r.g >> (dimCount - 1 - i)) & 1 ? null : String(r[`d${i}`]))),
    events: Number(r.events),
    cases: Number(r.cases),
  }));
  if (!entries.some((e) => e.values.every((v) => v === null))) {
    entries.push({ values: Array(dimCount).fill(null), events: 0, cases: 0 });
  }
  return entries;
}
