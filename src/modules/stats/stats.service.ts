// Aggregated, disclosure-controlled statistics of documented events.
//
// Counting happens in PostgreSQL (GROUP BY CUBE: every cell and every margin
// in one statement), never by loading events into Node. Only whitelisted
// column expressions are ever put into the SQL text; every value a client
// sends is a bind parameter. Output holds enum values, country codes, periods
// and counts: never an identifier or free text.
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import type { Db } from '../../db.ts';
import { GeometricNoise, protectCube, type CubeEntry, type ProtectedEntry } from './disclosure.ts';
import { eventFilterWhere, type EventFilters } from './event-filters.ts';
import { DOCUMENTED_CASES, type Dimension, type StatsCellDto, type StatsEventsResponse, type StatsOverviewResponse } from './stats.schemas.ts';

export type { EventFilters } from './event-filters.ts';

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

/** The one statement behind GET /v1/stats/events (exported so the benchmark runs exactly this through psql). */
export function buildEventsCubeSql(groupBy: readonly Dimension[], filters: EventFilters): Prisma.Sql {
  const dims = groupBy.map((d) => DIMENSION_SQL[d]);
  const joins: Prisma.Sql[] = [];
  const chargeCols = [groupBy.includes('chargeCategory') ? 'category' : null, groupBy.includes('mechanism') ? 'mechanism' : null].filter(Boolean) as string[];
  if (chargeCols.length) {
    // Distinct (category, mechanism) pairs of the same charge, so a case
    // charged under two articles yields no pair that no charge has.
    joins.push(Prisma.sql`LEFT JOIN (SELECT DISTINCT ch.case_id, ${Prisma.raw(chargeCols.map((col) => `ch.${col}`).join(', '))} FROM charges ch) chg ON chg.case_id = e.case_id`);
  }
  if (groupBy.includes('citizenship')) {
    joins.push(Prisma.sql`LEFT JOIN (SELECT DISTINCT c2.id AS case_id, x AS citizenship FROM cases c2 JOIN people p ON p.id = c2.person_id CROSS JOIN LATERAL unnest(p.citizenship) AS x) cz ON cz.case_id = e.case_id`);
  }
  const multi = dims.some((d) => d.multi);
  const cols = dims.map((_, i) => Prisma.raw(`d${i}`));
  const baseCols = dims.length ? Prisma.sql`, ${Prisma.join(dims.map((d, i) => Prisma.sql`${d.expr} AS ${cols[i]}`), ', ')}` : Prisma.empty;
  // With a multi-valued dimension an event appears once per value; totals
  // still count each event once.
  const events = multi ? Prisma.sql`count(DISTINCT event_id)::int` : Prisma.sql`count(*)::int`;
  const base = Prisma.sql`WITH base AS (
    SELECT e.id AS event_id, e.case_id${baseCols}
    FROM events e JOIN cases c ON c.id = e.case_id
    ${joins.length ? Prisma.join(joins, '\n') : Prisma.empty}
    WHERE ${eventFilterSql(filters)}
  )`;
  if (!dims.length) return Prisma.sql`${base} SELECT 0 AS g, ${events} AS events, count(DISTINCT case_id)::int AS cases FROM base`;
  return Prisma.sql`${base}
    SELECT GROUPING(${Prisma.join(cols, ', ')})::int AS g, ${Prisma.join(dims.map((d, i) => Prisma.sql`${d.out(cols[i])} AS ${cols[i]}`), ', ')},
           ${events} AS events, count(DISTINCT case_id)::int AS cases
    FROM base GROUP BY CUBE (${Prisma.join(cols, ', ')})`;
}

type CubeRow = { g: number; events: number; cases: number } & Record<string, string | number | null>;

/** Runs one statistics statement in a read-only transaction with its own settings. */
export async function runStatsQuery<T>(db: Db, sql: Prisma.Sql): Promise<T[]> {
  return db.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe('SET TRANSACTION READ ONLY');
      for (const s of STATS_SESSION_SETTINGS) await tx.$executeRawUnsafe(s);
      return tx.$queryRaw<T[]>(sql);
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
  if (!entries.some((e) => e.values.every((v) => v === null))) entries.push({ values: Array(dimCount).fill(null), events: 0, cases: 0 });
  return entries;
}

const compareValues = (a: (string | null)[], b: (string | null)[]) => {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? '\uffff';
    const y = b[i] ?? '\uffff';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
};

function toCell(groupBy: readonly Dimension[], e: ProtectedEntry): StatsCellDto {
  const cell: StatsCellDto = { events: e.events, cases: e.cases, suppressed: e.suppressed };
  groupBy.forEach((d, i) => {
    if (e.values[i] !== null) cell[d] = e.values[i] as string;
  });
  if (e.suppression) cell.suppression = e.suppression;
  return cell;
}

export const STATS_NOTE =
  'Counts of documented cases: what the organisation recorded, not how often these events happen. ' +
  'A cell or total to which fewer than k distinct cases contribute is suppressed (primary); further entries are withheld so that no suppressed value can be recovered from the totals (secondary). ' +
  'Totals are computed from all records before suppression and include suppressed cells. ' +
  'citizenship, mechanism and chargeCategory are multi-valued: an event counts once per distinct value, so cells may add up to more than their total. ' +
  'Periods are UTC; hostCountry is the current host country of the case; NO_CHARGE_RECORDED and UNKNOWN mean nothing was recorded.';

export type EventsStatsInput = EventFilters & { groupBy: Dimension[]; k?: number; epsilon?: number };

export class StatsService {
  constructor(private readonly app: FastifyInstance) {}

  /**
   * Differencing guard. A suppressed count can be recovered by subtracting two
   * published figures whose filters differ in one list ("all types" minus "all
   * types but ABDUCTION"). So each list filter must leave out either no
   * documented case or at least k of them, compared with the same query
   * without it. (Date bounds are not guarded here; see the closing note.)
   */
  private async guardDifferencing(filters: EventFilters, k: number): Promise<void> {
    const lists = (['country', 'type', 'team'] as const).filter((key) => filters[key]?.length);
    if (!lists.length) return;
    const count = async (f: EventFilters) =>
      (await runStatsQuery<{ n: number }>(this.app.db, Prisma.sql`SELECT count(DISTINCT e.case_id)::int AS n FROM events e JOIN cases c ON c.id = e.case_id WHERE ${eventFilterSql(f)}`))[0].n;
    const n = await count(filters);
    for (const key of lists) {
      const left = (await count({ ...filters, [key]: undefined })) - n;
      if (left > 0 && left < k) {
        throw new AppError('UNPROCESSABLE', `the ${key} filter leaves out fewer than k (${k}) documented cases; a figure without it would reveal them: widen the filter or drop it`, {
          errors: [{ path: `querystring.${key}`, message: `leaves out between 1 and ${k - 1} documented cases` }],
        });
      }
    }
  }

  async events(q: EventsStatsInput): Promise<StatsEventsResponse> {
    const k = q.k ?? this.app.config.stats.defaultK;
    const groupBy = [...q.groupBy];
    const filters: EventFilters = { from: q.from, to: q.to, country: q.country, type: q.type, team: q.team };
    await this.guardDifferencing(filters, k);
    const rows = await runStatsQuery<CubeRow>(this.app.db, buildEventsCubeSql(groupBy, filters));
    const noise = q.epsilon ? new GeometricNoise(q.epsilon) : undefined;
    const result = protectCube(rowsToCube(rows, groupBy.length), k, noise);
    const sorted = [...result.entries].sort((a, b) => compareValues(a.values, b.values));
    const isCell = (e: ProtectedEntry) => e.values.every((v) => v !== null);
    const isGrand = (e: ProtectedEntry) => e.values.every((v) => v === null);
    const grand = sorted.find(isGrand)!;
    const { cells, totals } = result.suppressed;
    return {
      label: DOCUMENTED_CASES,
      groupBy,
      cells: groupBy.length ? sorted.filter(isCell).map((e) => toCell(groupBy, e)) : [],
      totals: sorted.filter((e) => !isCell(e) && !isGrand(e)).map((e) => toCell(groupBy, e)),
      total: toCell(groupBy, grand),
      metadata: {
        generatedAt: this.app.clock().toISOString(),
        label: DOCUMENTED_CASES,
        groupBy,
        filters: Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined)),
        k,
        epsilon: q.epsilon ?? null,
        noise: noise ? noise.describe() : null,
        suppressedCells: { ...cells, total: cells.primary + cells.secondary },
        suppressedTotals: { ...totals, total: totals.primary + totals.secondary },
        totalsIncludeSuppressed: true,
        note: STATS_NOTE,
      },
    };
  }

  async overview(q: { k?: number }): Promise<StatsOverviewResponse> {
    const k = q.k ?? this.app.config.stats.defaultK;
    const now = this.app.clock();
    const year = now.getUTCFullYear();
    const db = this.app.db;

    const open = await runStatsQuery<{ g: number; hc: string | null; n: number }>(
      db,
      Prisma.sql`SELECT GROUPING(c.host_country)::int AS g, c.host_country::text AS hc, count(*)::int AS n FROM cases c WHERE c.status = 'OPEN' GROUP BY CUBE (c.host_country)`,
    );
    const openCube = protectCube(rowsToCube(open.map((r) => ({ g: r.g, d0: r.hc, events: r.n, cases: r.n })), 1), k);

    const [det] = await runStatsQuery<{ events: number; cases: number }>(
      db,
      Prisma.sql`SELECT count(*)::int AS events, count(DISTINCT e.case_id)::int AS cases FROM events e
                 WHERE e.type = 'DETENTION' AND e.occurred_at >= ${new Date(Date.UTC(year, 0, 1))} AND e.occurred_at < ${new Date(Date.UTC(year + 1, 0, 1))}`,
    );
    // Latest ban-related event per case; on a tie the lifting counts as later
    // (same-day entries with day precision are stored at the same instant).
    const [bans] = await runStatsQuery<{ people: number }>(
      db,
      Prisma.sql`SELECT count(DISTINCT c.person_id)::int AS people FROM (
                   SELECT DISTINCT ON (e.case_id) e.case_id, e.type FROM events e
                   WHERE e.type IN ('TRAVEL_BAN', 'TRAVEL_BAN_LIFTED') AND e.occurred_at <= ${now}
                   ORDER BY e.case_id, e.occurred_at DESC, (e.type = 'TRAVEL_BAN_LIFTED') DESC
                 ) latest JOIN cases c ON c.id = latest.case_id WHERE latest.type = 'TRAVEL_BAN'`,
    );
    const horizonDays = 30;
    const [dl] = await runStatsQuery<{ deadlines: number; cases: number }>(
      db,
      Prisma.sql`SELECT count(*)::int AS deadlines, count(DISTINCT d.case_id)::int AS cases FROM deadlines d
                 WHERE d.status = 'OPEN' AND d.due_at >= ${now} AND d.due_at < ${new Date(now.getTime() + horizonDays * 86_400_000)}`,
    );
    const single = (value: number, contributors: number) => {
      const [e] = protectCube([{ values: [], events: value, cases: contributors }], k).entries;
      return { value: e.suppressed ? null : value, suppressed: e.suppressed, ...(e.suppression ? { suppression: e.suppression } : {}) };
    };
    const figure = (e: ProtectedEntry) => ({ value: e.events, suppressed: e.suppressed, ...(e.suppression ? { suppression: e.suppression } : {}) });
    const detentions = single(det.events, det.cases);
    const banned = single(bans.people, bans.people);
    const deadlines = single(dl.deadlines, dl.cases);
    const openEntries = [...openCube.entries].sort((a, b) => compareValues(a.values, b.values));
    const counts = { primary: 0, secondary: 0 };
    for (const f of [...openCube.entries.map(figure), detentions, banned, deadlines]) if (f.suppression) counts[f.suppression]++;
    return {
      label: DOCUMENTED_CASES,
      openCasesByHostCountry: {
        cells: openEntries.filter((e) => e.values[0] !== null).map((e) => ({ hostCountry: e.values[0] as string, ...figure(e) })),
        total: figure(openEntries.find((e) => e.values[0] === null)!),
      },
      detentionsThisYear: { year, ...detentions },
      peopleUnderTravelBan: banned,
      upcomingDeadlines: { days: horizonDays, ...deadlines },
      metadata: {
        generatedAt: now.toISOString(),
        label: DOCUMENTED_CASES,
        k,
        suppressedFigures: { ...counts, total: counts.primary + counts.secondary },
        totalsIncludeSuppressed: true,
        note:
          'Headline figures of documented cases, not prevalence. A figure to which fewer than k distinct cases (people, for travel bans) contribute is suppressed; ' +
          'the by-country table also withholds further cells so none can be recovered from its total, which includes suppressed cells.',
      },
    };
  }
}
