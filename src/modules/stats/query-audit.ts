// Query auditing across requests, and the per-user privacy budget.
//
// Every published table and export is logged (stats_query_log) by the
// predicates that define its cells: the grouped dimensions and the filters,
// never a count. Before anything new is published, it is compared with every
// earlier entry that differs from it in exactly one filter (the period, the
// host countries, the event types or the teams): subtracting the two would
// give the events that match one and not the other, cell by cell over the
// dimensions both are grouped by (and every margin of those). When either
// difference has between 1 and k-1 documented cases in any such cell, the new
// table is refused with 422, naming the earlier query.
//
// Both checks, the budget and the log insert run in one write transaction
// under an advisory lock, so two parallel requests cannot both pass against
// an empty log, nor both spend the last of a budget.
import { randomUUID } from 'node:crypto';
import { Prisma } from '../../generated/prisma/client.ts';
import type { Db } from '../../db.ts';
import { AppError } from '../../lib/app-error.ts';
import { filterFieldName, type EventFilters, type FilterFieldNames } from './event-filters.ts';
import type { Dimension } from './stats.schemas.ts';
import { buildEventsCubeSql, STATS_SESSION_SETTINGS } from './stats.sql.ts';

export type PublishedKind = 'table' | 'export';
export type Publication = {
  kind: PublishedKind;
  groupBy: readonly Dimension[];
  filters: EventFilters;
  actorId: string;
  k: number;
  /** Epsilon this publication spends from the actor's budget (noisy tables only). */
  epsilon?: number;
  /** Where a refused filter is named in the problem (querystring or body.filters). */
  fieldPrefix: string;
  /** The request names used for aliased filters (hostCountry or its alias country, …). */
  names?: FilterFieldNames;
};
/**
 * The k in force: STATS_DEFAULT_K unless the request asks for more. Asking
 * for less is refused (422 naming the field): the organisation sets the floor.
 */
export function kInForce(floor: number, requested: number | undefined, path: string): number {
  if (requested === undefined) return floor;
  if (requested < floor) {
    const message = `k may not be below the organisation's floor (STATS_DEFAULT_K = ${floor})`;
    throw new AppError('UNPROCESSABLE', `${path}: ${message}`, { errors: [{ path, message }] });
  }
  return requested;
}

export type BudgetState = { windowDays: number; limit: number; spent: number; remaining: number };

const BUDGET_WINDOW_DAYS = 30;
const FILTERS = ['period', 'country', 'type', 'team'] as const;
type FilterName = (typeof FILTERS)[number];

const sorted = (v?: string[]) => (v?.length ? [...v].sort() : undefined);
export function normaliseFilters(f: EventFilters): EventFilters {
  const out: EventFilters = {
    from: f.from,
    to: f.to,
    country: sorted(f.country),
    type: sorted(f.type),
    team: sorted(f.team),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as EventFilters;
}

/** The part of the filters one filter name stands for. */
function part(f: EventFilters, name: FilterName): EventFilters {
  return name === 'period' ? { from: f.from, to: f.to } : { [name]: f[name] };
}
const same = (a: EventFilters, b: EventFilters, name: FilterName) =>
  JSON.stringify(normaliseFilters(part(a, name))) === JSON.stringify(normaliseFilters(part(b, name)));
const isEmpty = (f: EventFilters) => Object.keys(normaliseFilters(f)).length === 0;

export const queryKey = (kind: PublishedKind, groupBy: readonly Dimension[], filters: EventFilters) =>
  JSON.stringify({ kind, groupBy: [...groupBy].sort(), filters: normaliseFilters(filters) });

const describeQuery = (row: LogRow) => {
  const f = Object.entries(row.filters)
    .map(([k, v]) => `${filterFieldName(k)}=${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join('&');
  return `the ${row.kind} published ${row.published_at.toISOString()} (groupBy=${row.group_by.join(',') || '(none)'}${f ? `&${f}` : ''})`;
};

type LogRow = { id: string; kind: string; group_by: Dimension[]; filters: EventFilters; published_at: Date };
type Tx = Prisma.TransactionClient;

export class QueryAudit {
  constructor(
    private readonly db: Db,
    private readonly budget: number,
    private readonly clock: () => Date,
  ) {}

  /** The actor's budget as it stands (read only). */
  async budgetOf(actorId: string, tx: Tx | Db = this.db): Promise<BudgetState> {
    const since = new Date(this.clock().getTime() - BUDGET_WINDOW_DAYS * 86_400_000);
    const [row] = await tx.$queryRaw<{ spent: number }[]>(
      Prisma.sql`SELECT coalesce(sum(epsilon), 0)::float8 AS spent FROM stats_epsilon_spend WHERE user_id = ${actorId}::uuid AND spent_at > ${since}`,
    );
    const spent = Math.round(row.spent * 1e9) / 1e9;
    return { windowDays: BUDGET_WINDOW_DAYS, limit: this.budget, spent, remaining: Math.max(0, this.budget - spent) };
  }

  /**
   * Refuses (422) a publication that an earlier one would difference down to
   * fewer than k cases, and (429) one whose epsilon exceeds what is left of the
   * budget; otherwise records it (and its spend). `inside` runs in the same
   * transaction, after the checks (an export row is created there).
   */
  async publish(
    p: Publication,
    inside?: (tx: Tx) => Promise<void>,
  ): Promise<{ budget: BudgetState; compared: number }> {
    return this.db.$transaction(
      async (tx) => {
        for (const s of STATS_SESSION_SETTINGS) await tx.$executeRawUnsafe(s);
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('stats_query_log'))`;
        const compared = await this.guard(tx, p);
        let budget = await this.budgetOf(p.actorId, tx);
        const key = queryKey(p.kind, p.groupBy, p.filters);
        if (p.epsilon) {
          if (budget.spent + p.epsilon > this.budget + 1e-9) {
            const message = `epsilon ${p.epsilon} exceeds what is left of your privacy budget (${budget.remaining} of ${this.budget} per ${BUDGET_WINDOW_DAYS} days)`;
            throw new AppError('RATE_LIMITED', message, {
              errors: [{ path: 'querystring.epsilon', message }],
              retryAfterSeconds: await this.retryAfter(tx, p.actorId, p.epsilon),
            });
          }
          await tx.$executeRaw`INSERT INTO stats_epsilon_spend (id, user_id, epsilon, query_key, spent_at)
            VALUES (${randomUUID()}::uuid, ${p.actorId}::uuid, ${p.epsilon}, ${key}, ${this.clock()})`;
          budget = { ...budget, spent: budget.spent + p.epsilon, remaining: Math.max(0, budget.remaining - p.epsilon) };
        }
        await tx.$executeRaw`INSERT INTO stats_query_log (id, query_key, kind, group_by, filters, created_by_id, published_at)
          VALUES (${randomUUID()}::uuid, ${key}, ${p.kind}, ${[...p.groupBy]}::text[], ${JSON.stringify(normaliseFilters(p.filters))}::jsonb,
                  ${p.actorId}::uuid, ${this.clock()})
          ON CONFLICT (query_key) DO NOTHING`;
        if (inside) await inside(tx);
        return { budget, compared };
      },
      { maxWait: 10_000, timeout: 130_000 },
    );
  }

  /** Seconds until enough of the window's spending has aged out to afford `epsilon`. */
  private async retryAfter(tx: Tx, actorId: string, epsilon: number): Promise<number> {
    const now = this.clock();
    const since = new Date(now.getTime() - BUDGET_WINDOW_DAYS * 86_400_000);
    const rows = await tx.$queryRaw<{ epsilon: number; spent_at: Date }[]>(
      Prisma.sql`SELECT epsilon, spent_at FROM stats_epsilon_spend WHERE user_id = ${actorId}::uuid AND spent_at > ${since} ORDER BY spent_at`,
    );
    let spent = rows.reduce((s, r) => s + r.epsilon, 0);
    for (const r of rows) {
      spent -= r.epsilon;
      if (spent + epsilon <= this.budget + 1e-9) {
        return Math.max(1, Math.ceil((r.spent_at.getTime() + BUDGET_WINDOW_DAYS * 86_400_000 - now.getTime()) / 1000));
      }
    }
    return BUDGET_WINDOW_DAYS * 86_400;
  }

  private async guard(tx: Tx, p: Publication): Promise<number> {
    const rows = await tx.$queryRaw<LogRow[]>(
      Prisma.sql`SELECT id, kind, group_by, filters, published_at FROM stats_query_log ORDER BY published_at, id`,
    );
    let compared = 0;
    for (const row of rows) {
      const differing = FILTERS.filter((name) => !same(p.filters, row.filters, name));
      if (differing.length !== 1) continue;
      const name = differing[0];
      compared++;
      const common = p.groupBy.filter((d) => row.group_by.includes(d));
      // Events in the new table and not in the earlier one, and the reverse.
      for (const [base, other] of [
        [p.filters, row.filters],
        [row.filters, p.filters],
      ] as const) {
        const exclude = part(other, name);
        if (isEmpty(exclude)) continue; // the other has no such filter: nothing is outside it
        const cells = await tx.$queryRaw<{ cases: number }[]>(buildEventsCubeSql(common, base, exclude));
        if (cells.some((c) => c.cases > 0 && c.cases < p.k)) {
          const field =
            name === 'period' ? (p.filters.from !== row.filters.from ? 'from' : 'to') : filterFieldName(name, p.names);
          const message = `differs only in ${name === 'period' ? name : filterFieldName(name)} from ${describeQuery(row)}; the two together would isolate fewer than k (${p.k}) documented cases`;
          throw new AppError(
            'UNPROCESSABLE',
            `This ${p.kind} ${message}. Widen the difference or keep the earlier filter.`,
            {
              errors: [{ path: `${p.fieldPrefix}.${field}`, message }],
            },
          );
        }
      }
    }
    return compared;
  }
}
