// Statistical disclosure control for published tables of documented events.
//
// A table here is a cube: every combination of the grouped dimensions (cells)
// plus every margin (a dimension summed over, written null) down to the grand
// total, as PostgreSQL's GROUP BY CUBE returns it. Three protections:
//
// 1. Primary suppression: an entry to which fewer than k distinct documented
//    cases contribute is withheld. Thresholding on cases, not events, matters:
//    ten events of one person are still one person.
// 2. Secondary (complementary) suppression: along every line of the cube (one
//    dimension varies over its values and its total, the others are fixed), a
//    withheld entry must not be the only unknown, or it is the total minus the
//    others. While a line has exactly one withheld entry, the next-smallest
//    published entry of that line is withheld too, until nothing changes.
//    Totals are computed from all the data before any suppression.
// 3. Optional noise for public releases: the two-sided geometric (discrete
//    Laplace) mechanism on the integer counts, sampled with crypto.randomInt.
//    Floating-point Laplace noise leaks the true value through the rounding
//    pattern of doubles (Mironov, CCS 2012); integer sampling has no such gap.
import { randomInt } from 'node:crypto';

export type Measure = { events: number; cases: number };

export type CubeEntry = Measure & {
  /** One value per dimension; null where the dimension is summed over. */
  values: (string | null)[];
};

export type Suppression = 'primary' | 'secondary';

export type ProtectedEntry = {
  values: (string | null)[];
  events: number | null;
  cases: number | null;
  suppressed: boolean;
  suppression?: Suppression;
};

export type ProtectionResult = {
  entries: ProtectedEntry[];
  suppressed: {
    cells: { primary: number; secondary: number };
    totals: { primary: number; secondary: number };
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

/**
 * Applies primary and secondary suppression to a cube. Entries must include
 * every margin of every cell given (as GROUP BY CUBE produces). `noise`, when
 * given, perturbs every count first; suppression is then decided on the noisy
 * counts, so the decision itself leaks nothing beyond the noisy release.
 */
export function protectCube(input: CubeEntry[], k: number, noise?: GeometricNoise): ProtectionResult {
  if (!Number.isInteger(k) || k < MIN_K) throw new Error(`k must be an integer >= ${MIN_K}`);
  const dims = input[0]?.values.length ?? 0;
  const entries = input.map((e) => {
    const events = noise ? Math.max(0, e.events + noise.sample()) : e.events;
    const cases = noise ? Math.max(0, e.cases + noise.sample()) : e.cases;
    const status: Suppression | null = cases < k ? 'primary' : null;
    const entry: { values: typeof e.values; events: number; cases: number; status: Suppression | null } = {
      values: e.values,
      events,
      cases,
      status,
    };
    return entry;
  });

  // Lines: for axis d, entries grouped by their values with position d blanked.
  const lines: (typeof entries)[] = [];
  for (let d = 0; d < dims; d++) {
    const byLine = new Map<string, typeof entries>();
    for (const e of entries) {
      const lineKey = keyOf(e.values.map((v, i) => (i === d ? '\u0000' : v)));
      let line = byLine.get(lineKey);
      if (!line) byLine.set(lineKey, (line = []));
      line.push(e);
    }
    for (const line of byLine.values()) if (line.length > 1) lines.push(line);
  }

  // Smallest first: fewest cases, then fewest events, then a stable key, so
  // the same data always gives the same pattern.
  const smaller = (a: (typeof entries)[number], b: (typeof entries)[number]) =>
    a.cases - b.cases || a.events - b.events || (keyOf(a.values) < keyOf(b.values) ? -1 : 1);

  for (let changed = true; changed;) {
    changed = false;
    for (const line of lines) {
      const withheld = line.filter((e) => e.status).length;
      if (withheld !== 1) continue;
      const candidates = line.filter((e) => !e.status).sort(smaller);
      if (!candidates.length) continue;
      candidates[0].status = 'secondary';
      changed = true;
    }
  }

  const suppressed = { cells: { primary: 0, secondary: 0 }, totals: { primary: 0, secondary: 0 } };
  const out: ProtectedEntry[] = entries.map((e) => {
    if (!e.status) return { values: e.values, events: e.events, cases: e.cases, suppressed: false };
    const bucket = e.values.every((v) => v !== null) ? suppressed.cells : suppressed.totals;
    bucket[e.status]++;
    return { values: e.values, events: null, cases: null, suppressed: true, suppression: e.status };
  });
  return { entries: out, suppressed };
}

/** Two-sided geometric mechanism: P(X = x) ∝ alpha^|x|, alpha = exp(-epsilon / sensitivity). */
export class GeometricNoise {
  // randomInt accepts ranges below 2^48; alpha is represented as an exact
  // fraction of 2^47, so the sampled distribution is exactly geometric with
  // that (documented) parameter, with no floating-point arithmetic on counts.
  private static readonly DENOM = 2 ** 47;
  readonly alpha: number;
  private readonly numerator: number;

  constructor(
    readonly epsilon: number,
    readonly sensitivity = 1,
  ) {
    if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new Error('epsilon must be a positive number');
    this.numerator = Math.round(Math.exp(-epsilon / sensitivity) * GeometricNoise.DENOM);
    this.alpha = this.numerator / GeometricNoise.DENOM;
  }

  /** Failures before the first success with success probability 1 - alpha. */
  private geometric(): number {
    let n = 0;
    while (randomInt(0, GeometricNoise.DENOM) < this.numerator) n++;
    return n;
  }

  /** One integer draw, symmetric around 0: the difference of two geometric draws. */
  sample(): number {
    return this.geometric() - this.geometric();
  }

  get variance(): number {
    return (2 * this.alpha) / (1 - this.alpha) ** 2;
  }

  /** Smallest t with P(|X| > t) <= 1 - level; P(|X| > t) = 2 alpha^(t+1) / (1 + alpha). */
  bound(level = 0.95): number {
    let t = 0;
    while ((2 * this.alpha ** (t + 1)) / (1 + this.alpha) > 1 - level) t++;
    return t;
  }

  describe() {
    return {
      mechanism: 'two-sided geometric (discrete Laplace), integer-valued',
      epsilon: this.epsilon,
      sensitivity: this.sensitivity,
      alpha: this.alpha,
      scale: this.sensitivity / this.epsilon,
      standardDeviation: Math.sqrt(this.variance),
      bound95: this.bound(0.95),
      randomSource: 'node:crypto randomInt (CSPRNG)',
      appliedTo:
        'every published count (cells and totals) independently, before suppression; noisy counts below 0 are shown as 0',
      unit: 'each count changes by at most 1 when one event (event counts) or one case (case counts) is added or removed; one case with many events can move several counts',
    };
  }
}
