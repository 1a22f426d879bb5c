// One name per concept: statistics and exports filter by `hostCountry` and
// `teamId`, as cases do. The earlier names `country` and `team` stay accepted
// as deprecated aliases; giving both names with different values is a 400
// naming the alias (the same values, in any order, are accepted).
import { AppError } from '../../lib/app-error.ts';
import type { FilterFieldNames } from './event-filters.ts';

type AliasedFilters = { hostCountry?: string[]; country?: string[]; teamId?: string[]; team?: string[] };
type Resolved = { country?: string[]; team?: string[]; names: FilterFieldNames };

const key = (v: string[]) => JSON.stringify([...new Set(v)].sort());

function pick(
  current: string[] | undefined,
  alias: string[] | undefined,
  names: { current: string; alias: string },
  prefix: string,
): { value?: string[]; used: string } {
  if (current !== undefined && alias !== undefined && key(current) !== key(alias)) {
    const message = `${names.alias} is a deprecated alias of ${names.current}; both were given with different values: send ${names.current} only`;
    throw new AppError('VALIDATION', `${prefix}.${names.alias}: ${message}`, {
      errors: [{ path: `${prefix}.${names.alias}`, message }],
    });
  }
  if (current === undefined && alias !== undefined) return { value: alias, used: names.alias };
  return { value: current, used: names.current };
}

/** The internal `country`/`team` filters from the new names or their aliases, and which names the client used. */
export function resolveFilterAliases(f: AliasedFilters, prefix: string): Resolved {
  const c = pick(f.hostCountry, f.country, { current: 'hostCountry', alias: 'country' }, prefix);
  const t = pick(f.teamId, f.team, { current: 'teamId', alias: 'team' }, prefix);
  return { country: c.value, team: t.value, names: { country: c.used, team: t.used } };
}
