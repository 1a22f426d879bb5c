// The hypercube pass of protection intervals (src/modules/stats/hypercube.ts):
// every range it claims must lie inside the range a reader derives from the
// published table (checked by the independent adversary of
// test/disclosure-adversary.ts), and it must never use a move that breaks a
// line or a published zero.
import { describe, expect, it } from 'vitest';
import { linesOf, type Line, type WorkEntry } from '../src/modules/stats/cube-lines.ts';
import { checkMove, protectByHypercubes, type HypercubeInput } from '../src/modules/stats/hypercube.ts';
import { deriveRangesSparse } from './disclosure-adversary.ts';

const K = 5;
const PCT = 0.5;
const key = (v: (string | null)[]) => v.map((x) => x ?? '*').join('|');

/** A d-dimensional table with every margin, from cell counts (events = cases here). */
function table(cells: Map<string, number>, dims: number): WorkEntry[] {
  const acc = new Map<string, WorkEntry>();
  for (const [k, n] of cells) {
    const v = k.split('|');
    for (let m = 0; m < 1 << dims; m++) {
      const values = v.map((x, d) => ((m >> d) & 1 ? null : x));
      const e = acc.get(key(values)) ?? { values, events: 0, cases: 0, status: null };
      e.events += n;
      e.cases += n;
      acc.set(key(values), e);
    }
  }
  for (const e of acc.values()) e.status = e.cases > 0 && e.cases < K ? 'primary' : null;
  return [...acc.values()];
}

/** A 2x2 table (rows a, b; columns x, y) with its margins. */
const square = (ax: number, ay: number, bx: number, by: number) =>
  table(
    new Map([
      ['a|x', ax],
      ['a|y', ay],
      ['b|x', bx],
      ['b|y', by],
    ]),
    2,
  );

function input(entries: WorkEntry[], dims: number, multi = Array(dims).fill(false) as boolean[]): HypercubeInput {
  const linesOfEntry = new Map<WorkEntry, Line[]>();
  for (const line of linesOf(entries, dims)) {
    for (const e of [...line.parts, ...(line.total ? [line.total] : [])]) {
      linesOfEntry.set(e, [...(linesOfEntry.get(e) ?? []), line]);
    }
  }
  return {
    entries,
    dims,
    cells: entries.filter((e) => e.status === 'primary'),
    linesOfEntry,
    multi,
    lowerBound: (e) => (e.status ? 1 : 0),
    complementBound: 1,
    needs: (e) => ({ hi: Math.max(K, e.events * (1 + PCT)), width: 2 * PCT * e.events }),
  };
}

/** Deterministic pseudo-random counts: about a third zero, a third small (primary), a third large. */
function generated(sizes: number[], seed: number): Map<string, number> {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Map<string, number>();
  const walk = (prefix: string[], d: number) => {
    if (d === sizes.length) {
      const r = rnd();
      out.set(prefix.join('|'), r < 0.3 ? 0 : r < 0.6 ? 1 + Math.floor(rnd() * 4) : 5 + Math.floor(rnd() * 60));
      return;
    }
    for (let i = 0; i < sizes[d]; i++) walk([...prefix, `${String.fromCharCode(65 + d)}${i}`], d + 1);
  };
  walk([], 0);
  return out;
}

describe('hypercube protection', () => {
  it('a 2x2 square of cells: withholds the four corners, and the reader can move the cell exactly as claimed', async () => {
    const entries = square(2, 30, 40, 50);
    const inp = input(entries, 2);
    const r = protectByHypercubes(inp);
    const cell = entries.find((e) => key(e.values) === 'a|x')!;
    const shown = r.shown.get(cell);
    expect(shown).toBeDefined();
    // The cheapest square is the inner one (the totals are larger); no margin is withheld.
    const withheld = entries.filter((e) => e.status).map((e) => key(e.values));
    expect(withheld.sort()).toEqual(['a|x', 'a|y', 'b|x', 'b|y']);
    const ranges = await deriveRangesSparse(
      entries.map((e) => ({ values: e.values, events: e.status ? null : e.events })),
    );
    const [lo, hi] = ranges.get('a|x')!;
    expect(lo).toBeLessThanOrEqual(shown![0]);
    expect(hi).toBeGreaterThanOrEqual(shown![1]);
    expect(shown![1]).toBeGreaterThanOrEqual(K);
  });

  it('never uses a published zero as a corner', () => {
    // The only square around a|x has b|y = 0: nothing can be certified without totals.
    const entries = square(2, 30, 40, 0);
    const r = protectByHypercubes(input(entries, 2));
    const zero = entries.find((e) => key(e.values) === 'b|y')!;
    expect(zero.status).toBeNull();
    for (const e of r.shown.keys()) expect(key(e.values)).not.toBe('b|y');
  });

  it('checkMove refuses a move that breaks a line, or that takes a withheld entry below its bound', () => {
    const entries = square(2, 30, 40, 50);
    for (const e of entries) e.status = e.values.every((v) => v !== null) ? 'secondary' : null;
    const inp = input(entries, 2);
    const at = (k: string) => entries.find((e) => key(e.values) === k)!;
    const corners = [at('a|x'), at('a|y'), at('b|x'), at('b|y')];
    expect(checkMove(inp, corners, [1, -1, -1, 1], 10)).toBe(true);
    // Wrong signs: the row sums change while the totals are published.
    expect(checkMove(inp, corners, [1, 1, -1, -1], 1)).toBe(false);
    // a|x is 2 and withheld (at least 1): taking 2 breaks its bound.
    expect(checkMove(inp, corners, [1, -1, -1, 1], -2)).toBe(false);
    // A published entry may not move at all.
    expect(checkMove(inp, [at('a|x'), at('a|*')], [1, 1], 1)).toBe(false);
    // A multi-valued dimension: a part may not exceed its line's total.
    const multi = input(entries, 2, [true, true]);
    at('a|*').status = 'secondary';
    at('*|x').status = 'secondary';
    at('*|*').status = 'secondary';
    expect(checkMove(multi, [at('a|x'), at('a|y')], [1, -1], 29)).toBe(false);
    // Taking from a part whose column total is published breaks "total <= sum of parts" there.
    expect(checkMove(multi, [at('a|x'), at('a|y')], [1, -1], 3)).toBe(false);
    // A part moving with its withheld totals keeps every line.
    const withTotals = [at('a|x'), at('a|*'), at('*|x'), at('*|*')];
    expect(checkMove(multi, withTotals, [1, 1, 1, 1], 3)).toBe(true);
  });

  it.each([
    { sizes: [5, 6], seed: 1 },
    { sizes: [4, 5, 6], seed: 2 },
    { sizes: [3, 7, 5], seed: 3 },
    { sizes: [6, 4, 4], seed: 4 },
  ])('every range it claims lies inside the reader’s ($sizes, seed $seed)', async ({ sizes, seed }) => {
    const entries = table(generated(sizes, seed), sizes.length);
    const inp = input(entries, sizes.length);
    const r = protectByHypercubes(inp);
    expect(r.shown.size).toBeGreaterThan(0);
    const ranges = await deriveRangesSparse(
      entries.map((e) => ({ values: e.values, events: e.status ? null : e.events })),
    );
    for (const [cell, [lo, hi]] of r.shown) {
      const [rlo, rhi] = ranges.get(key(cell.values))!;
      expect(rlo, key(cell.values)).toBeLessThanOrEqual(lo + 1e-6);
      expect(rhi, key(cell.values)).toBeGreaterThanOrEqual(hi - 1e-6);
      expect(hi, key(cell.values)).toBeGreaterThanOrEqual(Math.max(K, cell.events * (1 + PCT)) - 1e-6);
      expect(hi - lo, key(cell.values)).toBeGreaterThanOrEqual(2 * PCT * cell.events - 1e-6);
    }
  });
});
