// Noise for public releases: the two-sided geometric (discrete Laplace)
// mechanism on integer counts. Floating-point Laplace noise leaks the true
// value through the rounding pattern of doubles (Mironov, CCS 2012); integer
// sampling with an exact parameter has no such gap.
//
// Noise is consistent: the draws for one published count come from a keyed
// pseudo-random function (HMAC-SHA-256 under the organisation's
// STATS_NOISE_KEY) of the count's definition (filters, the dimension values it
// is restricted to, and the measure), so asking for the same figure again, in
// the same table or another, returns the same noisy value. Repeating a query
// no longer averages the noise away. Without the key nobody can predict or
// remove the noise.
import { createHmac, randomInt } from 'node:crypto';

/** Where uniform integers in [0, max) come from (max <= 2^48). */
export type UniformSource = (max: number) => number;

/** A deterministic stream of uniform integers from HMAC-SHA-256(key, label || counter). */
export function keyedSource(key: Buffer, label: string): UniformSource {
  let counter = 0;
  let block = Buffer.alloc(0);
  let offset = 0;
  return (max) => {
    // 48-bit words; rejection sampling keeps the draw exactly uniform below max.
    const limit = Math.floor(2 ** 48 / max) * max;
    for (;;) {
      if (offset + 6 > block.length) {
        block = createHmac('sha256', key).update(`${label}\u0000${counter++}`).digest();
        offset = 0;
      }
      const word = block.readUIntBE(offset, 6);
      offset += 6;
      if (word < limit) return word % max;
    }
  };
}

/** Two-sided geometric mechanism: P(X = x) ∝ alpha^|x|, alpha = exp(-epsilon / sensitivity). */
export class GeometricNoise {
  // alpha is represented as an exact fraction of 2^47, so the sampled
  // distribution is exactly geometric with that (documented) parameter, with
  // no floating-point arithmetic on counts.
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
  private geometric(source: UniformSource): number {
    let n = 0;
    while (source(GeometricNoise.DENOM) < this.numerator) n++;
    return n;
  }

  /** One integer draw, symmetric around 0: the difference of two geometric draws. */
  sample(source: UniformSource = (max) => randomInt(0, max)): number {
    return this.geometric(source) - this.geometric(source);
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
      randomSource:
        'consistent: HMAC-SHA-256 under the organisation key of the count definition (filters, cell values, measure); the same count asked again gets the same noise',
      appliedTo:
        'every published count (cells, zero cells and totals) independently, after suppression was decided on the true counts; noisy counts below 0 are shown as 0',
      unit: 'each count changes by at most 1 when one event (event counts) or one case (case counts) is added or removed; one case with many events can move several counts',
    };
  }
}

/** The canonical definition of one published count: what the PRF is keyed on. */
export function countDefinition(
  filters: Record<string, unknown>,
  restriction: Record<string, string>,
  measure: 'events' | 'cases',
): string {
  const f = Object.fromEntries(
    Object.entries(filters)
      .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))
      .map(([k, v]) => [k, Array.isArray(v) ? [...v].sort() : v])
      .sort(([a], [b]) => (String(a) < String(b) ? -1 : 1)),
  );
  const r = Object.fromEntries(Object.entries(restriction).sort(([a], [b]) => (a < b ? -1 : 1)));
  return JSON.stringify({ f, r, m: measure });
}

/** Consistent noise for one count: the same definition always gives the same draw. */
export function consistentNoise(noise: GeometricNoise, key: Buffer, definition: string): number {
  return noise.sample(keyedSource(key, definition));
}
