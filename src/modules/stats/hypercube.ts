// Protection of a primary entry by a hypercube of withheld entries, with no
// linear program (the idea of the hypercube method of statistical offices,
// used here as a cheap certificate before HiGHS).
//
// Pick, in every dimension, a partner for the entry's coordinate: another
// value, or the dimension's total. The 2^d entries at the corners form a cube.
// Adding t to some corners and taking t from the others leaves every line sum
// unchanged: flipping one coordinate changes the sign, except when the pair
// is (value, total), where a part and its total move together. If every corner
// is withheld, the reader cannot tell the true table from the moved one, as
// long as every corner stays at or above the lower bound the reader knows
// (lowerBound). So each cube gives two points of the reader's feasible set,
// one above and one below the entry's true count, without solving anything.
//
// Each point is also checked against the lines it touches (checkMove) before
// it is believed, so a multi-valued dimension (parts may exceed their total,
// each part at most its total) is handled by the same rule: a move that breaks
// a line is not used. Withholding more later keeps a point feasible (it only
// turns constants into variables at the same value), so what is shown here
// stays shown.
import type { Line, WorkEntry } from './cube-lines.ts';

export type HypercubeInput = {
  entries: readonly WorkEntry[];
  dims: number;
  /** Primary entries to protect, in the order they are served (earlier cubes make later ones cheaper). */
  cells: readonly WorkEntry[];
  linesOfEntry: ReadonlyMap<WorkEntry, readonly Line[]>;
  multi: readonly boolean[];
  /** What the reader knows each entry holds at least, given its status. */
  lowerBound: (e: WorkEntry) => number;
  /** The lower bound a published entry would have once withheld as a complement. */
  complementBound: number;
  needs: (e: WorkEntry) => { hi: number; width: number };
};

export type HypercubeResult = {
  /** Ranges shown for the cells protected here (each a sub-range of the reader's exact range). */
  shown: Map<WorkEntry, [number, number]>;
  /** Published entries withheld as corners. */
  complements: number;
};

/** Cells with more candidate cubes than this are left to the linear programs (a 4-D table of long lists). */
const MAX_CUBES = 200_000;

export function protectByHypercubes(inp: HypercubeInput): HypercubeResult {
  const { dims } = inp;
  // Coordinates: per dimension, its values 0..n-1 and n for the total.
  const index: Map<string, number>[] = [];
  const sizes: number[] = [];
  for (let d = 0; d < dims; d++) {
    const values = [...new Set(inp.entries.map((e) => e.values[d]).filter((v): v is string => v !== null))].sort();
    index.push(new Map(values.map((v, i) => [v, i])));
    sizes.push(values.length + 1);
  }
  const strides: number[] = [];
  let size = 1;
  for (let d = dims - 1; d >= 0; d--) {
    strides[d] = size;
    size *= sizes[d];
  }
  const grid: (WorkEntry | undefined)[] = new Array(size);
  const coordOf = (e: WorkEntry) => e.values.map((v, d) => (v === null ? sizes[d] - 1 : index[d].get(v)!));
  for (const e of inp.entries) grid[coordOf(e).reduce((a, c, d) => a + c * strides[d], 0)] = e;

  const result: HypercubeResult = { shown: new Map(), complements: 0 };
  const corners = 1 << dims;
  for (const cell of inp.cells) {
    const home = coordOf(cell);
    let count = 1;
    for (let d = 0; d < dims; d++) count *= sizes[d] - 1;
    if (count > MAX_CUBES) continue;
    const need = inp.needs(cell);
    const ownSlack = cell.events - inp.lowerBound(cell);
    let best: { cost: number; up: number; down: number; cube: WorkEntry[]; signs: number[] } | undefined;
    const partner = new Array<number>(dims).fill(0);
    const cube = new Array<WorkEntry>(corners);
    const signs = new Array<number>(corners);
    // Every combination of partners, one per dimension (odometer order).
    for (let n = 0; n < count; n++) {
      let rest = n;
      for (let d = 0; d < dims; d++) {
        const choice = rest % (sizes[d] - 1);
        rest = Math.floor(rest / (sizes[d] - 1));
        partner[d] = choice >= home[d] ? choice + 1 : choice;
      }
      let cost = 0;
      let up = Infinity;
      let down = ownSlack;
      let ok = true;
      for (let m = 1; m < corners && ok; m++) {
        let at = 0;
        let sign = 1;
        for (let d = 0; d < dims; d++) {
          if (m & (1 << d)) {
            at += partner[d] * strides[d];
            // A part and its total move together; two parts move oppositely.
            if (partner[d] !== sizes[d] - 1 && home[d] !== sizes[d] - 1) sign = -sign;
          } else at += home[d] * strides[d];
        }
        const e = grid[at];
        // A missing entry or a published zero cannot be a corner (a zero is never withheld).
        if (!e || (!e.status && e.cases === 0)) {
          ok = false;
          break;
        }
        const slack = e.events - (e.status ? inp.lowerBound(e) : inp.complementBound);
        if (!e.status) cost += e.events;
        if (sign < 0) up = Math.min(up, slack);
        else down = Math.min(down, slack);
        cube[m] = e;
        signs[m] = sign;
      }
      if (!ok || up <= 0) continue;
      // Certify only what is asked (a cube of totals alone is unbounded above).
      up = Math.min(up, Math.max(need.hi - cell.events, need.width));
      if (cell.events + up < need.hi || up + Math.max(0, down) < need.width) continue;
      if (best && cost >= best.cost) continue;
      best = { cost, up, down: Math.max(0, down), cube: [cell, ...cube.slice(1)], signs: [1, ...signs.slice(1)] };
      if (cost === 0) break;
    }
    if (!best) continue;
    // Withhold the corners first: the check below reads lines with them as unknowns.
    const opened: WorkEntry[] = [];
    for (const e of best.cube) {
      if (!e.status) {
        e.status = 'secondary';
        opened.push(e);
      }
    }
    const hi = checkMove(inp, best.cube, best.signs, best.up) ? cell.events + best.up : null;
    const lo =
      best.down > 0 && checkMove(inp, best.cube, best.signs, -best.down) ? cell.events - best.down : cell.events;
    if (hi === null || !fits(cell, [lo, hi], need)) {
      for (const e of opened) e.status = null;
      continue;
    }
    result.complements += opened.length;
    result.shown.set(cell, [lo, hi]);
  }
  return result;
}

function fits(cell: WorkEntry, [lo, hi]: [number, number], need: { hi: number; width: number }): boolean {
  return hi >= need.hi && hi - lo >= need.width && lo <= cell.events;
}

/**
 * Whether moving the cube by t (signs[i] * t added to cube[i]) gives a table
 * the reader cannot rule out: every moved entry withheld and at or above its
 * lower bound, and every line through a moved entry still holds.
 */
export function checkMove(
  inp: HypercubeInput,
  cube: readonly WorkEntry[],
  signs: readonly number[],
  t: number,
): boolean {
  const delta = new Map<WorkEntry, number>();
  for (let i = 0; i < cube.length; i++) delta.set(cube[i], (delta.get(cube[i]) ?? 0) + signs[i] * t);
  const valueOf = (e: WorkEntry) => e.events + (delta.get(e) ?? 0);
  for (const [e, dv] of delta) {
    if (dv !== 0 && (!e.status || valueOf(e) < inp.lowerBound(e))) return false;
  }
  const seen = new Set<Line>();
  for (const e of delta.keys()) {
    for (const line of inp.linesOfEntry.get(e) ?? []) {
      if (seen.has(line)) continue;
      seen.add(line);
      if (!line.total) continue;
      const total = valueOf(line.total);
      const sum = line.parts.reduce((a, p) => a + valueOf(p), 0);
      if (inp.multi[line.axis]) {
        if (total > sum || line.parts.some((p) => valueOf(p) > total)) return false;
      } else if (sum !== total) return false;
    }
  }
  return true;
}
