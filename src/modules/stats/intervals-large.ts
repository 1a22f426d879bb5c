// Protection intervals for the primary cells of large components (more
// withheld entries than the dense solver takes), in batches on the
// whole-table HiGHS model (cube-lp.ts).
//
// One LP per cell and bound is exact but costs tens of milliseconds per solve
// here, and a three-dimensional table of a million events has hundreds of
// primary cells in one component. What is needed is less than the exact
// range: a cell is protected once points of the reader's feasible set are
// known at which its count is low enough and high enough. Every optimal
// solution is such a point for every cell at once, so the batch maximises
// (then minimises) the sum of all cells not yet shown protected, keeps each
// cell's smallest and largest value seen, and repeats while that shows more
// cells protected. (A range found this way lies inside the reader's exact
// range, so a cell is never called protected when it is not.)
//
// Cells the batches do not show protected are solved one by one (exact range)
// when few are left; the rest get a complement (the cheapest published entry
// on their lines) and the batches run again. Complements only widen ranges,
// and points found before stay feasible (the newly withheld entry keeps its
// value), so what was shown protected stays protected.
import type { WorkEntry } from './cube-lines.ts';
import type { CubeLp } from './cube-lp.ts';
import { protectByHypercubes, type HypercubeInput } from './hypercube.ts';

export type LargePhase = {
  /** The HiGHS model, built on first use (cells the hypercubes protect need none); none: hypercubes only. */
  lp?: () => CubeLp;
  /** The table for the hypercube pass that runs first (hypercube.ts); none: the LP batches alone. */
  hypercubes?: Omit<HypercubeInput, 'cells' | 'needs'>;
  /** Primary cells of large components. */
  cells: WorkEntry[];
  protectedEnough: (e: WorkEntry, range: [number, number]) => boolean;
  /** The range asked of a cell: its upper end at least this, and at least this wide. */
  needs: (e: WorkEntry) => { hi: number; width: number };
  /** Published non-zero entries on the cell's lines, cheapest first. */
  candidates: (e: WorkEntry) => WorkEntry[];
  /** Applies the two-per-line rule again to every line; returns the entries it withheld. */
  closeLines: () => number;
  /** Counts one LP solve. */
  solved: () => void;
};

/** Batches of one cost vector, per bound, before a round of complements. */
const BATCHES = 6;
/** Cells left after the batches that are solved one by one rather than given a complement. */
const EXACT_LIMIT = 24;
/** Rounds of complements before the cells left go to the cell-by-cell loop. */
const ROUNDS = 12;

/**
 * Withholds complements until every cell is shown protected or the rounds run
 * out; returns the known part of each cell's range and how many complements
 * were added. A cell missing from `shown` still needs the cell-by-cell check.
 */
export function protectLarge(ph: LargePhase): {
  shown: Map<WorkEntry, [number, number]>;
  complements: number;
  byHypercube: number;
} {
  const range = new Map<WorkEntry, [number, number]>(ph.cells.map((e) => [e, [e.events, e.events]]));
  const shown = new Map<WorkEntry, [number, number]>();
  let complements = 0;
  let byHypercube = 0;
  if (ph.hypercubes) {
    const cubes = protectByHypercubes({ ...ph.hypercubes, cells: ph.cells, needs: ph.needs });
    for (const [e, iv] of cubes.shown) shown.set(e, iv);
    complements += cubes.complements;
    byHypercube = cubes.shown.size;
  }
  const lp = ph.lp;
  // Without a solver, what the cubes left is for the caller to report (unverified) or to solve.
  if (!lp) return { shown, complements, byHypercube };
  const settle = () => {
    for (const [e, iv] of range) {
      if (!shown.has(e) && ph.protectedEnough(e, iv)) shown.set(e, iv);
    }
    return ph.cells.filter((e) => !shown.has(e));
  };
  let left = settle();
  for (let round = 0; round < ROUNDS && left.length; round++) {
    for (let b = 0; b < BATCHES && left.length; b++) {
      const before = left.length;
      for (const max of [true, false]) {
        ph.solved();
        const at = lp().extreme(left, max);
        if (!at) continue; // unbounded sum: the cell-by-cell check answers
        for (const [e, iv] of range) {
          const v = at(e);
          range.set(e, [Math.min(iv[0], v), Math.max(iv[1], v)]);
        }
      }
      left = settle();
      // Stop batching when a batch shows fewer than one cell in ten more.
      if (before - left.length < Math.max(1, before / 10)) break;
    }
    if (left.length && left.length <= EXACT_LIMIT) {
      for (const e of left) {
        ph.solved();
        ph.solved();
        const [lo, hi] = lp().range(e);
        const iv = range.get(e)!;
        range.set(e, [Math.min(iv[0], lo), Math.max(iv[1], hi)]);
      }
      left = settle();
    }
    for (const e of left) {
      const next = pickCheapest(ph, e, range.get(e)!);
      if (!next) continue;
      next.status = 'secondary';
      complements++;
    }
    // A complement alone on one of its other lines would be pinned by it.
    complements += ph.closeLines();
  }
  return { shown, complements, byHypercube };
}

/**
 * The cheapest candidate large enough to close the cell's gap on its own (by
 * the range known so far), else the largest: the cheapest alone may add a
 * single event to a range that lacks forty.
 */
function pickCheapest(ph: LargePhase, e: WorkEntry, [lo, hi]: [number, number]): WorkEntry | undefined {
  const need = ph.needs(e);
  const gap = Math.max(need.hi - hi, need.width - (hi - lo));
  const list = ph.candidates(e);
  return list.find((c) => c.events >= gap) ?? list[list.length - 1];
}
