// Protection intervals: what a reader can derive about a suppressed count from
// everything else published in the same table, and complementary suppression
// until that is not enough to pin any primary cell down.
//
// The reader's knowledge, written as a linear program over the withheld event
// counts (x >= 0):
// - along every line of the cube (one dimension varies, the others are fixed)
//   the parts add up to the line's total (for a multi-valued dimension, where
//   one event counts once per value, only total <= sum of parts and each part
//   <= total hold);
// - published counts are constants;
// - a withheld entry has at least one case, so at least 1 event (zero cells
//   are published as zeros, so a withheld cell is known not to be empty);
//   where the kind of suppression is published, a secondary entry is known to
//   hold at least k cases, so at least k events. (Published tables of events
//   no longer say which kind: that label alone gave the first attack of the
//   issue, "OTHER is secondary, so at least k".)
// For each primary cell the LP is solved twice (min and max of its count) over
// the connected part of the table it shares constraints with. The cell is
// protected when the upper end is at least max(k, value * (1 + p)) and the
// range is at least 2 * p * value wide. While a primary cell is not protected,
// another published entry on one of its lines is withheld as well (see
// pickComplement).
//
// javascript-lp-solver (pure JavaScript) solves the small dense LPs of a
// cell's neighbourhood in well under a millisecond each; a component with more
// than MAX_LP_VARS withheld entries goes to HiGHS (cube-lp.ts), which takes the
// whole table as one sparse model and re-solves it from the last basis.
// Over the reals the bounds are those of the LP relaxation: for one and two
// dimensions that is the exact integer interval (the constraint matrix of a
// two-way table with margins is totally unimodular); for three dimensions an
// integer-programming reader may get somewhat narrower intervals.

export { linesOf, type Line, type Suppression, type WorkEntry } from './cube-lines.ts';
import { cheaper, closeLinesAgain, linesOf, type Line, type WorkEntry } from './cube-lines.ts';
import { denseInterval } from './dense-lp.ts';
import { CubeLp, type LargeLpSolver } from './cube-lp.ts';
import { protectLarge } from './intervals-large.ts';

export type IntervalOptions = {
  k: number;
  pct: number;
  multi: readonly boolean[];
  /** Whether each withheld entry is published with its kind (primary / secondary). */
  labelsPublished?: boolean;
  /** HiGHS (loadHighs()): without it, cells of components over MAX_LP_VARS that no hypercube proves stay unverified. */
  largeLp?: LargeLpSolver;
  /** Off: no hypercube pass before the HiGHS batches (default on). */
  hypercubes?: boolean;
};
export type IntervalReport = {
  lpSolves: number;
  complementsAdded: number;
  /** Primary cells whose range was not proven (a large component and no largeLp given). */
  unverified: number;
  /** Of lpSolves, those on the whole-table sparse model (HiGHS). */
  largeLpSolves: number;
  /** Primary cells shown protected by a hypercube of withheld entries (no LP). */
  byHypercube: number;
  intervals: Map<WorkEntry, [number, number]>;
};

const EPS = 1e-6;
/** Published entries tried as the next complement of one cell. */
const MAX_TRIES = 12;
/**
 * How far around a cell its range is computed: one line away, two, then the
 * whole component. Entries outside count with their true value (a narrower
 * range than the reader's, so never a false "protected").
 */
const NEIGHBOURHOODS = [1, 2, Infinity];
/**
 * The largest LP given to javascript-lp-solver (withheld entries as
 * variables). It is dense: a few hundred variables take seconds per solve,
 * and a large sparse three-dimensional table can connect most of its withheld
 * cells. Beyond this size the whole-table HiGHS model answers (see largeLp).
 */
export const MAX_LP_VARS = 120;

/**
 * Adds complementary suppressions until every primary cell's protection
 * interval is wide enough; returns the intervals found and the work done.
 */
export function protectWithIntervals(entries: WorkEntry[], opts: IntervalOptions): IntervalReport {
  const dims = entries[0]?.values.length ?? 0;
  const lines = linesOf(entries, dims);
  const linesOfEntry = new Map<WorkEntry, Line[]>();
  for (const line of lines) {
    for (const e of [...line.parts, ...(line.total ? [line.total] : [])]) {
      const list = linesOfEntry.get(e) ?? [];
      list.push(line);
      linesOfEntry.set(e, list);
    }
  }
  const report: IntervalReport = {
    lpSolves: 0,
    complementsAdded: 0,
    unverified: 0,
    largeLpSolves: 0,
    byHypercube: 0,
    intervals: new Map(),
  };
  const lowerBound = (e: WorkEntry, k: number) =>
    !e.status ? 0 : e.status === 'secondary' && opts.labelsPublished ? k : 1;
  const p = opts.pct / 100;

  /**
   * Withheld entries connected to `start` through lines with another withheld
   * entry, at most `depth` lines away (Infinity: the whole component).
   */
  const component = (start: WorkEntry, depth = Infinity): Set<WorkEntry> => {
    const seen = new Set([start]);
    let frontier = [start];
    for (let d = 0; d < depth && frontier.length; d++) {
      const next: WorkEntry[] = [];
      for (const e of frontier) {
        for (const line of linesOfEntry.get(e) ?? []) {
          for (const o of [...line.parts, ...(line.total ? [line.total] : [])]) {
            if (o.status && !seen.has(o)) {
              seen.add(o);
              next.push(o);
            }
          }
        }
      }
      frontier = next;
    }
    return seen;
  };

  /** Whether a withheld entry's component is over MAX_LP_VARS (one pass over the table). */
  const inLargeComponent = () => {
    const large = new Set<WorkEntry>();
    const seen = new Set<WorkEntry>();
    for (const e of entries) {
      if (!e.status || seen.has(e)) continue;
      const comp = component(e);
      for (const x of comp) seen.add(x);
      if (comp.size > MAX_LP_VARS) for (const x of comp) large.add(x);
    }
    return (e: WorkEntry) => large.has(e);
  };

  const intervalOf = (target: WorkEntry, comp: Set<WorkEntry>): [number, number] => {
    report.lpSolves += 2;
    return denseInterval(target, comp, linesOfEntry, opts.multi, (e) => lowerBound(e, opts.k));
  };

  // The range must be as wide as ±p% of the value (2·p·value) and reach k and
  // value·(1 + p). Its lower end cannot go below what the labels themselves
  // imply (every withheld entry holds at least one event), so width, not a
  // lower end of value·(1 - p), is what is asked of small cells.
  const protectedEnough = (e: WorkEntry, [lo, hi]: [number, number]) =>
    hi + EPS >= Math.max(opts.k, e.events * (1 + p)) && hi - lo + EPS >= 2 * p * e.events;

  const candidates = (scope: Iterable<WorkEntry>) => {
    const out = new Set<WorkEntry>();
    for (const s of scope) {
      for (const line of linesOfEntry.get(s) ?? []) {
        for (const o of [...line.parts, ...(line.total ? [line.total] : [])]) {
          // A zero is never a complement: withholding it hides nothing, and its
          // "secondary" label would claim at least k cases.
          if (!o.status && o.cases > 0) out.add(o);
        }
      }
    }
    return [...out].sort(cheaper);
  };

  /**
   * The cell's range, from a small neighbourhood first: the withheld entries
   * one line away, then two, then three (NEIGHBOURHOODS). Entries outside the
   * neighbourhood are fixed at their true values, so each step's range lies
   * inside the reader's: the first that is wide enough proves protection.
   */
  let cubeLp: CubeLp | undefined;
  const largeLp = () =>
    (cubeLp ??= new CubeLp(opts.largeLp!, entries, lines, opts.multi, (x) => lowerBound(x, opts.k)));
  const solvedLarge = () => {
    report.lpSolves++;
    report.largeLpSolves++;
  };
  const closeLines = () => closeLinesAgain(lines);
  /** Ranges shown wide enough by the large-component batches (protectLarge). */
  let shown = new Map<WorkEntry, [number, number]>();
  const check = (e: WorkEntry): [number, number] | null => {
    const known = shown.get(e);
    if (known) return known;
    if (opts.largeLp && component(e).size > MAX_LP_VARS) {
      // The exact range over the whole table (every withheld entry a variable).
      solvedLarge();
      solvedLarge();
      return largeLp().range(e);
    }
    let iv: [number, number] = [e.events, e.events];
    let size = 0;
    for (const depth of NEIGHBOURHOODS) {
      const comp = component(e, depth);
      if (comp.size === size) break;
      if (comp.size > MAX_LP_VARS) return null;
      size = comp.size;
      iv = intervalOf(e, comp);
      if (protectedEnough(e, iv)) return iv;
    }
    return iv;
  };

  /**
   * The complement for a cell that is not protected yet: of the cheapest few
   * published entries on its lines (or, when those are exhausted, on its
   * component's lines), the cheapest that protects it on its own; else the one
   * that widens its range most. Cheapest-first alone can pick entries that
   * other published figures still determine, and cascade.
   */
  const pickComplement = (e: WorkEntry, comp: Set<WorkEntry>, current: [number, number]): WorkEntry | undefined => {
    const pool = candidates([e]);
    const list = (pool.length ? pool : candidates(comp)).slice(0, MAX_TRIES);
    let best: { entry: WorkEntry; gain: number } | undefined;
    for (const c of list) {
      c.status = 'secondary';
      const iv = check(e);
      c.status = null;
      if (!iv) continue;
      if (protectedEnough(e, iv)) return c;
      const gain = iv[1] - iv[0] - (current[1] - current[0]);
      if (gain > EPS && (!best || gain > best.gain + EPS)) best = { entry: c, gain };
    }
    return best?.entry ?? list[0];
  };

  // Withholding more only widens intervals (a constant becomes a variable whose
  // range includes it), so a cell once protected stays protected.
  const primaries = entries.filter((e) => e.status === 'primary').sort(cheaper);
  try {
    // Large components: hypercubes (no solver needed), then HiGHS when given for what they leave.
    const large = opts.largeLp || opts.hypercubes !== false ? primaries.filter(inLargeComponent()) : [];
    if (large.length) {
      const r = protectLarge({
        lp: opts.largeLp ? largeLp : undefined,
        hypercubes:
          opts.hypercubes === false
            ? undefined
            : {
                entries,
                dims,
                linesOfEntry,
                multi: opts.multi,
                lowerBound: (x) => lowerBound(x, opts.k),
                complementBound: opts.labelsPublished ? opts.k : 1,
              },
        cells: large,
        protectedEnough,
        needs: (e) => ({ hi: Math.max(opts.k, e.events * (1 + p)), width: 2 * p * e.events }),
        candidates: (e) => candidates([e]),
        closeLines,
        solved: solvedLarge,
      });
      shown = r.shown;
      report.complementsAdded += r.complements;
      report.byHypercube = r.byHypercube;
    }
    protectAll(primaries);
  } finally {
    cubeLp?.dispose();
  }
  return report;

  function protectAll(primaries: WorkEntry[]) {
    for (const e of primaries) {
      for (;;) {
        const iv = check(e);
        if (!iv) {
          report.unverified++;
          break;
        }
        const comp = component(e);
        report.intervals.set(e, iv);
        if (protectedEnough(e, iv)) break;
        const next = pickComplement(e, comp, iv);
        // Nothing left to withhold around it: every entry it is connected to is
        // withheld already, and its interval is what the table's structure allows.
        if (!next) break;
        next.status = 'secondary';
        report.complementsAdded++;
      }
    }
  }
}
