// The protection interval of one cell over a small part of the table (its
// neighbourhood of withheld entries), with javascript-lp-solver: pure
// JavaScript and fast on the small dense LPs of one neighbourhood (see
// intervals.ts; large components go to HiGHS, cube-lp.ts).
import lp from 'javascript-lp-solver';

type LpModel = {
  optimize: string;
  opType: 'min' | 'max';
  constraints: Record<string, { equal?: number; min?: number; max?: number }>;
  variables: Record<string, Record<string, number>>;
};
type LpResult = { feasible: boolean; bounded?: boolean; result: number };
// The package's types describe its default export as the module namespace
// under this project's module settings; at run time it is the solver.
const solver = lp as unknown as { Solve(model: LpModel): LpResult };
import type { Line, WorkEntry } from './cube-lines.ts';

/**
 * The range [min, max] of `target`'s event count given the lines of `comp`'s
 * entries; entries outside `comp` count with their true value.
 */
export function denseInterval(
  target: WorkEntry,
  comp: Set<WorkEntry>,
  linesOfEntry: Map<WorkEntry, Line[]>,
  multi: readonly boolean[],
  lowerBound: (e: WorkEntry) => number,
): [number, number] {
  const vars = [...comp];
  const index = new Map(vars.map((e, i) => [e, `x${i}`]));
  const constraints: Record<string, { equal?: number; min?: number; max?: number }> = {};
  const variables: Record<string, Record<string, number>> = {};
  for (const [e, id] of index) {
    variables[id] = { [`lb_${id}`]: 1 };
    constraints[`lb_${id}`] = { min: lowerBound(e) };
  }
  const seenLines = new Set<Line>();
  let n = 0;
  const add = (terms: [WorkEntry, number][], relation: 'equal' | 'min' | 'max', rhs: number) => {
    // Entries outside `comp` count with their true value: fixing unknowns only
    // narrows the range, so a range found wide enough this way is wide enough.
    const varTerms = terms.filter(([e]) => index.has(e));
    if (!varTerms.length) return;
    const name = `c${n++}`;
    const constant = terms.filter(([e]) => !index.has(e)).reduce((s, [e, c]) => s + c * e.events, 0);
    constraints[name] = { [relation]: rhs - constant };
    for (const [e, c] of varTerms) variables[index.get(e)!][name] = (variables[index.get(e)!][name] ?? 0) + c;
  };
  for (const e of vars) {
    for (const line of linesOfEntry.get(e) ?? []) {
      if (seenLines.has(line) || !line.total) continue;
      seenLines.add(line);
      const terms: [WorkEntry, number][] = [...line.parts.map((x): [WorkEntry, number] => [x, 1]), [line.total, -1]];
      if (!multi[line.axis]) add(terms, 'equal', 0);
      else {
        add(terms, 'min', 0);
        for (const part of line.parts) {
          add(
            [
              [part, 1],
              [line.total, -1],
            ],
            'max',
            0,
          );
        }
      }
    }
  }
  const id = index.get(target)!;
  const solve = (opType: 'min' | 'max') => {
    const withObjective = Object.fromEntries(
      Object.entries(variables).map(([v, c]) => [v, { ...c, obj: v === id ? 1 : 0 }]),
    );
    const r = solver.Solve({ optimize: 'obj', opType, constraints, variables: withObjective });
    if (!r.feasible) return opType === 'min' ? lowerBound(target) : Infinity;
    return r.bounded === false ? (opType === 'min' ? 0 : Infinity) : Number(r.result);
  };
  return [solve('min'), solve('max')];
}
