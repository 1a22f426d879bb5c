// The reader's linear program over a whole cube, for the large components of
// protection intervals (intervals.ts), solved with HiGHS (the `highs` package:
// the HiGHS solver compiled to WebAssembly, no native build).
//
// javascript-lp-solver, used for small components, is dense: its tableau grows
// with rows x columns, and a three-dimensional table with a few hundred
// withheld entries takes seconds per solve. HiGHS takes the constraint matrix
// sparse (each entry is on one line per dimension) and keeps one model for the
// whole table: every entry is a column, published entries fixed at their
// value, withheld ones free above their lower bound; every line is a row.
// Asking for another cell's range changes one cost, and withholding another
// entry changes one column's bounds, so each solve restarts from the last
// simplex basis instead of from scratch.
import highsModule, { type Highs } from 'highs';
import type { Line, WorkEntry } from './cube-lines.ts';

// The package's types describe its default export as the module namespace
// under this project's module settings; at run time it is the loader.
const highsLoader = highsModule as unknown as () => Promise<Highs>;
type Model = ReturnType<Highs['createModel']>;

let loading: Promise<Highs> | undefined;

/** The HiGHS runtime (loaded once per process, on first use: about 1 MB of WebAssembly). */
export function loadHighs(): Promise<Highs> {
  const p = (loading ??= highsLoader().catch((err: unknown) => {
    loading = undefined;
    throw err;
  }));
  return p;
}

export type LargeLpSolver = Highs;

type Term = [row: number, coef: number];

export class CubeLp {
  private readonly model: Model;
  /** Model column of each entry that has (or had) one: withheld entries only. */
  private readonly column = new Map<WorkEntry, number>();
  /** Whether each column is free (withheld) now, or fixed at the entry's value. */
  private readonly free: boolean[] = [];
  /** The rows each entry takes part in, with its coefficient. */
  private readonly terms = new Map<WorkEntry, Term[]>();
  /** Row bounds with every published entry's value moved to the right-hand side. */
  private readonly rowLower: number[] = [];
  private readonly rowUpper: number[] = [];
  private costed: number[] = [];
  solves = 0;

  constructor(
    private readonly highs: Highs,
    private readonly entries: readonly WorkEntry[],
    lines: readonly Line[],
    multi: readonly boolean[],
    private readonly lowerBound: (e: WorkEntry) => number,
  ) {
    // One equality per line (parts - total = 0), or for a multi-valued
    // dimension parts - total >= 0 and part - total <= 0 each. Only withheld
    // entries are columns: published ones are constants, so the model is as
    // small as the unknowns (a line with none is an empty row, 0 = 0).
    const row = (terms: [WorkEntry, number][], lo: number, hi: number) => {
      const r = this.rowLower.length;
      let constant = 0;
      for (const [e, coef] of terms) {
        this.terms.set(e, [...(this.terms.get(e) ?? []), [r, coef]]);
        if (!e.status) constant += coef * e.events;
      }
      this.rowLower.push(lo - constant);
      this.rowUpper.push(hi - constant);
    };
    for (const line of lines) {
      if (!line.total) continue;
      const parts = line.parts.map((p): [WorkEntry, number] => [p, 1]);
      if (!multi[line.axis]) row([...parts, [line.total, -1]], 0, 0);
      else {
        row([...parts, [line.total, -1]], 0, highs.infinity);
        for (const [p] of parts) {
          row(
            [
              [p, 1],
              [line.total, -1],
            ],
            -highs.infinity,
            0,
          );
        }
      }
    }
    const withheld = entries.filter((e) => e.status);
    withheld.forEach((e, i) => {
      this.column.set(e, i);
      this.free.push(true);
    });
    // CSC: column j holds the rows of withheld entry j.
    const starts = [0];
    const indices: number[] = [];
    const values: number[] = [];
    for (const e of withheld) {
      for (const [r, coef] of this.terms.get(e) ?? []) {
        indices.push(r);
        values.push(coef);
      }
      starts.push(indices.length);
    }
    const n = withheld.length;
    const numRows = this.rowLower.length;
    this.model = highs.createModel({
      numCols: n,
      numRows,
      colCost: new Float64Array(n),
      colLower: withheld.map(lowerBound),
      colUpper: withheld.map(() => highs.infinity),
      rowLower: this.rowLower,
      rowUpper: this.rowUpper,
      matrix: { format: 'csc', numRows, numCols: n, starts, indices, values },
    });
    // Warm starts from the previous basis: presolve would rebuild the problem
    // on every solve.
    this.model.options.set({ output_flag: false, presolve: 'off', solver: 'simplex' });
  }

  /** Brings the model in step with the entries' statuses (a newly withheld entry becomes a column). */
  private sync() {
    for (const e of this.entries) {
      const withheld = Boolean(e.status);
      const col = this.column.get(e);
      if (col === undefined) {
        if (!withheld) continue;
        const terms = this.terms.get(e) ?? [];
        for (const [r, coef] of terms) {
          this.rowLower[r] += coef * e.events;
          this.rowUpper[r] += coef * e.events;
          this.model.changeRowBounds(r, this.rowLower[r], this.rowUpper[r]);
        }
        this.model.addCol(0, this.lowerBound(e), this.highs.infinity, {
          indices: terms.map(([r]) => r),
          values: terms.map(([, c]) => c),
        });
        this.column.set(e, this.free.length);
        this.free.push(true);
      } else if (withheld !== this.free[col]) {
        this.free[col] = withheld;
        if (withheld) this.model.changeColBounds(col, this.lowerBound(e), this.highs.infinity);
        else this.model.changeColBounds(col, e.events, e.events);
      }
    }
  }

  /** Sets the objective to the sum of `targets` (all other costs zero). */
  private objective(targets: readonly WorkEntry[]) {
    this.sync();
    for (const col of this.costed) this.model.changeColCost(col, 0);
    this.costed = targets.map((e) => this.column.get(e)!);
    for (const col of this.costed) this.model.changeColCost(col, 1);
  }

  /** Solves in one sense: the optimum and the point reaching it, or null when unbounded. */
  private solve(max: boolean): { value: number; point: Float64Array } | null {
    const { minimize, maximize } = this.highs.constants.objectiveSense;
    const { optimal, unbounded, unboundedOrInfeasible } = this.highs.constants.modelStatus;
    this.solves++;
    this.model.changeObjectiveSense(max ? maximize : minimize);
    this.model.run();
    const status = this.model.getModelStatus();
    if (status === optimal) {
      return { value: this.model.getObjectiveValue(), point: Float64Array.from(this.model.getSolution().colValue) };
    }
    if (max && (status === unbounded || status === unboundedOrInfeasible)) return null;
    throw new Error(`protection interval: HiGHS ended with model status ${status}`);
  }

  /**
   * A point of the reader's feasible set at which the sum of `targets` is
   * smallest (or largest): each target's value there is one its true count
   * cannot be told apart from. Null when the sum is unbounded.
   */
  extreme(targets: readonly WorkEntry[], max: boolean): ((e: WorkEntry) => number) | null {
    this.objective(targets);
    const r = this.solve(max);
    if (!r) return null;
    return (e) => {
      const col = this.column.get(e);
      return col === undefined || !this.free[col] ? e.events : r.point[col];
    };
  }

  /** The exact range [min, max] of `e`'s event count consistent with everything published. */
  range(e: WorkEntry): [number, number] {
    this.objective([e]);
    return [this.solve(false)!.value, this.solve(true)?.value ?? Infinity];
  }

  dispose() {
    this.model.dispose();
  }
}
