// Event filters as a WHERE clause over `events e JOIN cases c`, in plain
// parameterised SQL with no Prisma import. The statistics service wraps it in
// Prisma.Sql (stats.service.ts: eventFilterSql); the export build, which runs
// in a child process that never loads Prisma, sends it to pg as it is
// (modules/exports/exports.sql.ts). One definition, so an export and a
// published figure always count the same events.
//
// Only fixed column expressions are SQL text; every value a client sends is a
// bind parameter.

import { joinSql, sql, type SqlFragment } from '../../lib/sql.ts';

export type EventFilters = { from?: string; to?: string; country?: string[]; type?: string[]; team?: string[] };

const nextDay = (isoDate: string) => new Date(Date.parse(`${isoDate}T00:00:00.000Z`) + 86_400_000);

/** WHERE clause for event filters over `events e JOIN cases c`. */
export function eventFilterWhere(f: EventFilters): SqlFragment {
  const parts: SqlFragment[] = [];
  if (f.from) parts.push(sql`e.occurred_at >= ${new Date(f.from.length === 10 ? `${f.from}T00:00:00.000Z` : f.from)}`);
  if (f.to) {
    parts.push(f.to.length === 10 ? sql`e.occurred_at < ${nextDay(f.to)}` : sql`e.occurred_at <= ${new Date(f.to)}`);
  }
  if (f.country?.length) parts.push(sql`c.host_country = ANY(${f.country}::text[])`);
  if (f.type?.length) parts.push(sql`e.type = ANY(${f.type}::"EventType"[])`);
  if (f.team?.length) parts.push(sql`c.team_id = ANY(${f.team}::uuid[])`);
  return parts.length ? joinSql(parts, ' AND ') : sql`TRUE`;
}

/**
 * The public name of each filter key, in requests and in echoed metadata:
 * `hostCountry` and `teamId` as on cases. `country` and `team` are still
 * accepted on requests as deprecated aliases (filter-aliases.ts); stored
 * filters (exports, the query log) keep the internal keys.
 */
export const FILTER_NAMES = { from: 'from', to: 'to', country: 'hostCountry', type: 'type', team: 'teamId' } as const;
/** The request name a client used for an aliased filter (`country` or `hostCountry`, …), for error paths. */
export type FilterFieldNames = Partial<Record<'country' | 'team', string>>;

export const filterFieldName = (key: string, used?: FilterFieldNames): string =>
  used?.[key as keyof FilterFieldNames] ?? FILTER_NAMES[key as keyof typeof FILTER_NAMES] ?? key;

/** Filters with their public names, unset ones left out (metadata of tables and exports). */
export function publicFilters(f: EventFilters): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(f)
      .filter(([, v]) => v !== undefined)
      .map(([key, v]) => [filterFieldName(key), v as string | string[]]),
  );
}
