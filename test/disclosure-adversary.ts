// The adversary of test/disclosure.test.ts: someone who downloads a
// published table and solves for its withheld entries. Written separately
// from src/modules/stats/intervals.ts (only the LP package is shared), so a
// mistake there is not repeated here.
//
// What the reader knows: every line of the cube (one dimension varies, the
// others fixed) adds up to its total; each withheld entry holds at least one
// event (zeros are published as zeros); and, when a table says which kind of
// suppression withheld an entry, a "secondary" one holds at least k.
import highsModule from 'highs';
import lp from 'javascript-lp-solver';

type HighsSolution = { Status: string; ObjectiveValue: number };

export type SeenEntry = { values: (string | null)[]; events: number | null; suppression?: string };

type LpResult = { feasible: boolean; bounded?: boolean; result: number };
const solver = lp as unknown as { Solve(model: object): LpResult };

const key = (v: (string | null)[]) => v.map((x) => x ?? '*').join('|');

/** For each withheld entry, the range [min, max] of event counts consistent with everything published. */
export function deriveRanges(entries: SeenEntry[], k: number): Map<string, [number, number]> {
  const dims = entries[0]?.values.length ?? 0;
  const withheld = entries.filter((e) => e.events === null);
  const id = new Map(withheld.map((e, i) => [key(e.values), `v${i}`]));
  const constraints: Record<string, { equal?: number; min?: number }> = {};
  const variables: Record<string, Record<string, number>> = {};
  for (const e of withheld) {
    const v = id.get(key(e.values))!;
    constraints[`lb${v}`] = { min: e.suppression === 'secondary' ? k : 1 };
    variables[v] = { [`lb${v}`]: 1 };
  }
  let n = 0;
  for (let d = 0; d < dims; d++) {
    const lines = new Map<string, SeenEntry[]>();
    for (const e of entries) {
      const lk = key(e.values.map((x, i) => (i === d ? '#' : x)));
      lines.set(lk, [...(lines.get(lk) ?? []), e]);
    }
    for (const line of lines.values()) {
      if (!line.some((e) => e.values[d] === null)) continue;
      // sum(parts) - total = 0, with published values moved to the right-hand side.
      const name = `line${n++}`;
      let rhs = 0;
      let any = false;
      for (const e of line) {
        const coef = e.values[d] === null ? -1 : 1;
        if (e.events === null) {
          const v = id.get(key(e.values))!;
          variables[v][name] = (variables[v][name] ?? 0) + coef;
          any = true;
        } else rhs -= coef * e.events;
      }
      if (any) constraints[name] = { equal: rhs };
    }
  }
  const out = new Map<string, [number, number]>();
  for (const e of withheld) {
    const v = id.get(key(e.values))!;
    const solve = (opType: 'min' | 'max') => {
      const vars = Object.fromEntries(Object.entries(variables).map(([x, c]) => [x, { ...c, obj: x === v ? 1 : 0 }]));
      const r = solver.Solve({ optimize: 'obj', opType, constraints, variables: vars });
      if (!r.feasible) throw new Error('the published table is inconsistent');
      return r.bounded === false ? Infinity : Math.round(Number(r.result) * 1e6) / 1e6;
    };
    out.set(key(e.values), [solve('min'), solve('max')]);
  }
  return out;
}

/** Withheld entries the reader pins down exactly (min = max), with their value. */
export function recovered(entries: SeenEntry[], k: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k2, [lo, hi]] of deriveRanges(entries, k)) if (lo === hi) out.set(k2, lo);
  return out;
}

/**
 * The same reader's ranges for tables too large for the dense solver above:
 * the LP written as CPLEX LP text and solved by HiGHS's one-shot solver (a
 * different route from the persistent sparse model of
 * src/modules/stats/cube-lp.ts, so a mistake there is not repeated here).
 */
export async function deriveRangesSparse(entries: SeenEntry[]): Promise<Map<string, [number, number]>> {
  const loader = highsModule as unknown as () => Promise<{ solve(lp: string, o?: object): HighsSolution }>;
  const highs = await loader();
  const dims = entries[0]?.values.length ?? 0;
  const withheld = entries.filter((e) => e.events === null);
  const id = new Map(withheld.map((e, i) => [key(e.values), `v${i}`]));
  const rows: string[] = [];
  for (let d = 0; d < dims; d++) {
    const lines = new Map<string, SeenEntry[]>();
    for (const e of entries) {
      const lk = key(e.values.map((x, i) => (i === d ? '#' : x)));
      lines.set(lk, [...(lines.get(lk) ?? []), e]);
    }
    for (const line of lines.values()) {
      if (!line.some((e) => e.values[d] === null)) continue;
      let rhs = 0;
      const terms: string[] = [];
      for (const e of line) {
        const coef = e.values[d] === null ? -1 : 1;
        if (e.events === null) terms.push(`${coef > 0 ? '+' : '-'} ${id.get(key(e.values))}`);
        else rhs -= coef * e.events;
      }
      if (terms.length) rows.push(` r${rows.length}: ${terms.join(' ')} = ${rhs}`);
    }
  }
  const bounds = [...id.values()].map((v) => ` ${v} >= 1`).join('\n');
  const out = new Map<string, [number, number]>();
  for (const e of withheld) {
    const v = id.get(key(e.values))!;
    const solve = (sense: 'Minimize' | 'Maximize') => {
      const r = highs.solve(`${sense}\n obj: ${v}\nSubject To\n${rows.join('\n')}\nBounds\n${bounds}\nEnd\n`, {
        output_flag: false,
      });
      if (r.Status === 'Unbounded') return Infinity;
      if (r.Status !== 'Optimal') throw new Error(`the published table is inconsistent (${r.Status})`);
      return Math.round(r.ObjectiveValue * 1e6) / 1e6;
    };
    out.set(key(e.values), [solve('Minimize'), solve('Maximize')]);
  }
  return out;
}
