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
import { protectCube, type ProtectedEntry } from './disclosure.ts';
import { loadHighs } from './cube-lp.ts';
import { completeCube, domainOf } from './domain.ts';
import { filterFieldName, publicFilters, type EventFilters, type FilterFieldNames } from './event-filters.ts';
import { consistentNoise, countDefinition, GeometricNoise } from './noise.ts';
import { kInForce, QueryAudit } from './query-audit.ts';
import {
  DOCUMENTED_CASES,
  type Dimension,
  type StatsCellDto,
  type StatsEventsResponse,
  type StatsOverviewResponse,
} from './stats.schemas.ts';

export type { EventFilters } from './event-filters.ts';
import {
  buildEventsCubeSql,
  eventFilterSql,
  isMultiValued,
  rowsToCube,
  runStatsQuery,
  withStatsTransaction,
  type CubeRow,
} from './stats.sql.ts';

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
    const v = e.values[i];
    if (v !== null) cell[d] = v;
  });
  // The kind of suppression is not published: "secondary" would tell a reader
  // that the entry holds at least k cases, which pins small cells down.
  return cell;
}

export const STATS_NOTE =
  'Counts of documented cases: what the organisation recorded, not how often these events happen. ' +
  'Every combination of the grouped values is listed, zeros included. ' +
  'A cell or total to which between 1 and k-1 distinct cases contribute is suppressed (primary); further entries are withheld (secondary) until what can be derived from the table about each suppressed cell is a range at least ±p% of its value and reaching k. ' +
  'Suppression is decided on the true counts; noise, when asked for, is added afterwards and is the same for the same figure every time. ' +
  'Totals are computed from all records before suppression and include suppressed cells. ' +
  'citizenship, mechanism and chargeCategory are multi-valued: an event counts once per distinct value, so cells may add up to more than their total. ' +
  'Periods are UTC; hostCountry is the current host country of the case; NO_CHARGE_RECORDED and UNKNOWN mean nothing was recorded.';

export type EventsStatsInput = EventFilters & {
  groupBy: Dimension[];
  k?: number;
  epsilon?: number;
  /** The request names used for aliased filters (error paths). */
  names?: FilterFieldNames;
};

export class StatsService {
  private readonly audit: QueryAudit;

  constructor(private readonly app: FastifyInstance) {
    this.audit = new QueryAudit(app.db, app.config.stats.epsilonBudget, () => app.clock());
  }

  /** k in force: STATS_DEFAULT_K unless the request asks for more; asking for less is refused. */
  kFor(requested: number | undefined, path = 'querystring.k'): number {
    return kInForce(this.app.config.stats.defaultK, requested, path);
  }

  /**
   * Differencing guard. A suppressed count can be recovered by subtracting two
   * published figures whose filters differ in one list ("all types" minus "all
   * types but ABDUCTION"). So each list filter must leave out either no
   * documented case or at least k of them, compared with the same query
   * without it. (Date bounds are not guarded here; see the closing note.)
   */
  private async guardDifferencing(filters: EventFilters, k: number, names?: FilterFieldNames): Promise<void> {
    const lists = (['country', 'type', 'team'] as const).filter((key) => filters[key]?.length);
    if (!lists.length) return;
    const count = async (f: EventFilters) =>
      (
        await runStatsQuery<{ n: number }>(
          this.app.db,
          Prisma.sql`SELECT count(DISTINCT e.case_id)::int AS n FROM events e JOIN cases c ON c.id = e.case_id WHERE ${eventFilterSql(f)}`,
        )
      )[0].n;
    const n = await count(filters);
    for (const key of lists) {
      const left = (await count({ ...filters, [key]: undefined })) - n;
      if (left > 0 && left < k) {
        const field = filterFieldName(key, names);
        throw new AppError(
          'UNPROCESSABLE',
          `the ${field} filter leaves out fewer than k (${k}) documented cases; a figure without it would reveal them: widen the filter or drop it`,
          {
            errors: [{ path: `querystring.${field}`, message: `leaves out between 1 and ${k - 1} documented cases` }],
          },
        );
      }
    }
  }

  async events(q: EventsStatsInput, actorId: string): Promise<StatsEventsResponse> {
    const cfg = this.app.config.stats;
    const k = this.kFor(q.k);
    const groupBy = [...q.groupBy];
    const filters: EventFilters = { from: q.from, to: q.to, country: q.country, type: q.type, team: q.team };
    await this.guardDifferencing(filters, k, q.names);
    const { rows, domain } = await withStatsTransaction(this.app.db, async (run) => ({
      rows: await run<CubeRow>(buildEventsCubeSql(groupBy, filters)),
      domain: await domainOf(run, groupBy, filters),
    }));
    const cube = completeCube(rowsToCube(rows, groupBy.length), domain);
    // Suppression on the true counts; noise only on what is then published.
    const protect = async (withHighs: boolean) =>
      protectCube(cube, k, {
        pct: cfg.protectionPct,
        multi: groupBy.map(isMultiValued),
        ...(withHighs ? { largeLp: await loadHighs() } : {}),
      });
    // Hypercubes prove large tables without a solver; HiGHS (about 20 MB of WebAssembly, loaded once) only
    // when they leave a cell unproven, so that no cell is left unverified.
    let result = await protect(false);
    if (result.protection.unverified > 0) result = await protect(true);
    const { budget, compared } = await this.audit.publish({
      kind: 'table',
      groupBy,
      filters,
      actorId,
      k,
      epsilon: q.epsilon,
      fieldPrefix: 'querystring',
      names: q.names,
    });
    const noise = q.epsilon ? new GeometricNoise(q.epsilon) : undefined;
    const shownFilters = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined));
    if (noise) {
      for (const e of result.entries) {
        if (e.suppressed) continue;
        const restriction = Object.fromEntries(
          groupBy.flatMap((d, i) => (e.values[i] === null ? [] : [[d, e.values[i]]])),
        );
        const noisy = (m: 'events' | 'cases', v: number) =>
          Math.max(0, v + consistentNoise(noise, cfg.noiseKey, countDefinition(shownFilters, restriction, m)));
        e.events = noisy('events', e.events!);
        e.cases = noisy('cases', e.cases!);
      }
    }
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
        filters: publicFilters(filters),
        k,
        kFloor: cfg.defaultK,
        epsilon: q.epsilon ?? null,
        noise: noise ? noise.describe() : null,
        privacyBudget: budget,
        protection: {
          method: result.protection.method,
          protectionPct: result.protection.protectionPct,
          complementsAdded: result.protection.complementsAdded,
          unverifiedCells: result.protection.unverified,
          hypercubeCells: result.protection.byHypercube,
        },
        queryAudit: { comparedWith: compared },
        fullDomain: true,
        suppressedCells: { ...cells, total: cells.primary + cells.secondary },
        suppressedTotals: { ...totals, total: totals.primary + totals.secondary },
        totalsIncludeSuppressed: true,
        note: STATS_NOTE,
      },
    };
  }

  async overview(q: { k?: number }): Promise<StatsOverviewResponse> {
    const k = this.kFor(q.k);
    const now = this.app.clock();
    const year = now.getUTCFullYear();
    const horizonDays = 30;
    const { open, det, bans, dl } = await withStatsTransaction(this.app.db, async (run) => {
      const open = await run<{ g: number; hc: string | null; n: number }>(
        Prisma.sql`SELECT GROUPING(c.host_country)::int AS g, c.host_country::text AS hc, count(*)::int AS n FROM cases c WHERE c.status = 'OPEN' GROUP BY CUBE (c.host_country)`,
      );
      const [det] = await run<{ events: number; cases: number }>(
        Prisma.sql`SELECT count(*)::int AS events, count(DISTINCT e.case_id)::int AS cases FROM events e
                   WHERE e.type = 'DETENTION' AND e.occurred_at >= ${new Date(Date.UTC(year, 0, 1))} AND e.occurred_at < ${new Date(Date.UTC(year + 1, 0, 1))}`,
      );
      const [bans] = await run<{ people: number }>(
        Prisma.sql`SELECT count(DISTINCT c.person_id)::int AS people FROM (
                     SELECT DISTINCT ON (e.case_id) e.case_id, e.type FROM events e
                     WHERE e.type IN ('TRAVEL_BAN', 'TRAVEL_BAN_LIFTED') AND e.occurred_at <= ${now}
                     ORDER BY e.case_id, e.occurred_at DESC, (e.type = 'TRAVEL_BAN_LIFTED') DESC
                   ) latest JOIN cases c ON c.id = latest.case_id WHERE latest.type = 'TRAVEL_BAN'`,
      );
      const [dl] = await run<{ deadlines: number; cases: number }>(
        Prisma.sql`SELECT count(*)::int AS deadlines, count(DISTINCT d.case_id)::int AS cases FROM deadlines d
                   WHERE d.status = 'OPEN' AND d.due_at >= ${now} AND d.due_at < ${new Date(now.getTime() + horizonDays * 86_400_000)}`,
      );
      return { open, det, bans, dl };
    });
    const openCube = protectCube(
      rowsToCube(
        open.map((r) => ({ g: r.g, d0: r.hc, events: r.n, cases: r.n })),
        1,
      ),
      k,
      // As in published tables, the by-country cells do not say which kind of
      // suppression withheld them ("secondary" would mean "at least k").
      { labelsPublished: false },
    );
    // A lone headline figure under k (zero included) is withheld: it has no table around it.
    const single = (value: number, contributors: number) =>
      contributors < k
        ? { value: null, suppressed: true, suppression: 'primary' as const }
        : { value, suppressed: false };
    const figure = (e: ProtectedEntry) => ({ value: e.events, suppressed: e.suppressed });
    const detentions = single(det.events, det.cases);
    const banned = single(bans.people, bans.people);
    const deadlines = single(dl.deadlines, dl.cases);
    const openEntries = [...openCube.entries].sort((a, b) => compareValues(a.values, b.values));
    const counts = { primary: 0, secondary: 0 };
    for (const f of [...openCube.entries, detentions, banned, deadlines]) {
      if (f.suppression) counts[f.suppression]++;
    }
    return {
      label: DOCUMENTED_CASES,
      openCasesByHostCountry: {
        cells: openEntries.flatMap((e) => (e.values[0] === null ? [] : [{ hostCountry: e.values[0], ...figure(e) }])),
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
