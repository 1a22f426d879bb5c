// Statistical disclosure control for published tables of documented events.
//
// A table here is a cube: every combination of the grouped dimensions (cells)
// plus every margin (a dimension summed over, written null) down to the grand
// total, as PostgreSQL's GROUP BY CUBE returns it, completed to the full domain
// (zero cells included). Protections, all decided on the true counts:
//
// 1. Primary suppression: an entry to which between 1 and k-1 distinct
//    documented cases contribute is withheld. Thresholding on cases, not
//    events, matters: ten events of one person are still one person. Zeros
//    are published (a zero concerns nobody).
// 2. Secondary (complementary) suppression, first by lines: along every line
//    of the cube (one dimension varies over its values and its total, the
//    others are fixed), a withheld entry must not be the only unknown. While a
//    line has exactly one withheld entry, the next-smallest published
//    non-zero entry of that line is withheld too.
// 3. Protection intervals (intervals.ts): a linear program per primary cell
//    finds the range a reader can derive from the whole table, and more
//    complements are withheld until every range is wide enough.
// Noise (noise.ts), when asked for, is added to the published counts after
// all of this, so suppression never depends on a noisy draw.
import type { LargeLpSolver } from './cube-lp.ts';
import { linesOf, protectWithIntervals, type Suppression, type WorkEntry } from './intervals.ts';

export { GeometricNoise } from './noise.ts';
export type { Suppression } from './intervals.ts';

export type Measure = { events: number; cases: number };

export type CubeEntry = Measure & {
  /** One value per dimension; null where the dimension is summed over. */
  values: (string | null)[];
};

export type ProtectedEntry = {
  values: (string | null)[];
  events: number | null;
  cases: number | null;
  suppressed: boolean;
  suppression?: Suppression;
};

export type ProtectionMethod = 'protection-intervals' | 'two-per-line';

export type ProtectionResult = {
  entries: ProtectedEntry[];
  suppressed: {
    cells: { primary: number; secondary: number };
    totals: { primary: number; secondary: number };
  };
  protection: {
    method: ProtectionMethod;
    /** Entries withheld beyond the two-per-line rule so that every primary cell's range is wide enough. */
    complementsAdded: number;
    lpSolves: number;
    /** Primary cells whose range was not proven (a large component and no HiGHS given): protected by the line rule only. */
    unverified: number;
    /** Of lpSolves, those on the whole-table sparse model (HiGHS). */
    largeLpSolves: number;
    /** Primary cells of large components shown protected by a hypercube of withheld entries, with no LP. */
    byHypercube: number;
    /** Required half-width of each primary cell's derivable range, percent of its value (null: not checked). */
    protectionPct: number | null;
  };
};

/** The minimum k anyone may ask for: below 3 a suppressed pair can be told apart by elimination. */
export const MIN_K = 3;

/**
 * The label every statistic and research export carries: counts of what was
 * documented, not how often it happens. (Here, not in stats.schemas.ts, so the
 * export build process can use it without loading the zod schemas and the
 * generated enums.)
 */
export const DOCUMENTED_CASES = 'documented cases';

const keyOf = (values: (string | null)[]) => JSON.stringify(values);

export type ProtectOptions = {
  /** Required half-width of a primary cell's derivable range, in percent of its value (default 50). */
  pct?: number;
  /** Per dimension: multi-valued (an event counts once per value, so parts may add up to more than the total). */
  multi?: readonly boolean[];
  /** Off: only the two-per-line rule (how tables were protected before; kept to show what it misses). */
  intervals?: boolean;
  /** The kind of each suppression is published (it tells a reader that a secondary entry holds >= k cases). */
  labelsPublished?: boolean;
  /** HiGHS (cube-lp.ts loadHighs()) for components too large for the dense solver; without it they stay unverified. */
  largeLp?: LargeLpSolver;
  /** Off: large components go straight to the HiGHS batches, without the hypercube pass (hypercube.ts). */
  hypercubes?: boolean;
};

/**
 * Applies primary and secondary suppression to a cube on its true counts.
 * Entries must include every margin of every cell given (as GROUP BY CUBE
 * produces).
 */
export function protectCube(input: CubeEntry[], k: number, opts: ProtectOptions = {}): ProtectionResult {
  if (!Number.isInteger(k) || k < MIN_K) throw new Error(`k must be an integer >= ${MIN_K}`);
  const dims = input[0]?.values.length ?? 0;
  const entries: WorkEntry[] = input.map((e) => ({
    values: e.values,
    events: e.events,
    cases: e.cases,
    status: e.cases > 0 && e.cases < k ? 'primary' : null,
  }));

  const lines = linesOf(entries, dims).map((l) => [...l.parts, ...(l.total ? [l.total] : [])]);
  // Smallest first: fewest cases, then fewest events, then a stable key, so
  // the same data always gives the same pattern.
  const smaller = (a: WorkEntry, b: WorkEntry) =>
    a.cases - b.cases || a.events - b.events || (keyOf(a.values) < keyOf(b.values) ? -1 : 1);
  for (let changed = true; changed;) {
    changed = false;
    for (const line of lines) {
      const withheld = line.filter((e) => e.status).length;
      if (withheld !== 1) continue;
      const candidates = line.filter((e) => !e.status && e.cases > 0).sort(smaller);
      if (!candidates.length) continue;
      candidates[0].status = 'secondary';
      changed = true;
    }
  }

  const useIntervals = opts.intervals !== false;
  const pct = opts.pct ?? 50;
  const report = useIntervals
    ? protectWithIntervals(entries, {
        k,
        pct,
        multi: opts.multi ?? Array(dims).fill(false),
        labelsPublished: opts.labelsPublished,
        largeLp: opts.largeLp,
        hypercubes: opts.hypercubes,
      })
    : null;

  const suppressed = { cells: { primary: 0, secondary: 0 }, totals: { primary: 0, secondary: 0 } };
  const out: ProtectedEntry[] = entries.map((e) => {
    if (!e.status) return { values: e.values, events: e.events, cases: e.cases, suppressed: false };
    const bucket = e.values.every((v) => v !== null) ? suppressed.cells : suppressed.totals;
    bucket[e.status]++;
    return { values: e.values, events: null, cases: null, suppressed: true, suppression: e.status };
  });
  return {
    entries: out,
    suppressed,
    protection: {
      method: useIntervals ? 'protection-intervals' : 'two-per-line',
      complementsAdded: report?.complementsAdded ?? 0,
      lpSolves: report?.lpSolves ?? 0,
      unverified: report?.unverified ?? 0,
      largeLpSolves: report?.largeLpSolves ?? 0,
      byHypercube: report?.byHypercube ?? 0,
      protectionPct: useIntervals ? pct : null,
    },
  };
}
