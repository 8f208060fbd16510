/**
 * A small, fast, seeded pseudo-random generator for the demo market.
 *
 * sfc32 (Chris Doty-Humphrey's "small fast counting" generator, 128 bits of
 * state) driven by 32-bit integer arithmetic, seeded by hashing a list of
 * integer keys (seed, stock index, stream id, …) so that every stock and
 * every aspect of a stock has its own independent stream: a stock's rows never
 * depend on how many other streams were drawn before it.
 */

/** A 32-bit integer finaliser (good avalanche; after the murmur3 fmix32 constants). */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes integer keys (any safe integers, negative included) into four 32-bit words. */
export function hashKeys(keys: readonly number[]): [number, number, number, number] {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = 0x7f4a7c15;
  for (const k of keys) {
    if (!Number.isSafeInteger(k)) throw new RangeError(`random stream key must be a safe integer, got ${k}`);
    const lo = k >>> 0;
    const hi = Math.floor(k / 4294967296) >>> 0;
    a = mix32(a ^ lo) ^ hi;
    b = mix32(b + a + 0x632be5ab);
    c = mix32(c ^ b ^ hi);
    d = mix32(d + c + lo);
  }
  return [mix32(a), mix32(b ^ 1), mix32(c ^ 2), mix32(d ^ 3)];
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = 0;
  private hasSpare = false;

  /** A stream determined entirely by `keys` (e.g. `new Rng(seed, stockIndex, STREAM_PRICES)`). */
  constructor(...keys: number[]) {
    [this.a, this.b, this.c, this.d] = hashKeys(keys);
    this.d |= 1; // the counter word: any start works, odd keeps it obviously non-zero
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in (0, 1]: safe for logarithms. */
  floatOpen(): number {
    return (this.nextUint32() + 1) / 4294967296;
  }

  /** Uniform real in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** A standard normal deviate (Box–Muller, the second value of each pair kept for the next call). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const r = Math.sqrt(-2 * Math.log(this.floatOpen()));
    const theta = 2 * Math.PI * this.float();
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return r * Math.cos(theta);
  }

  /** exp(mu + sigma·Z). */
  logNormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }

  /** A Poisson count (Knuth's product method: fine for the small means used here). */
  poisson(mean: number): number {
    if (!(mean > 0)) return 0;
    if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.float();
    while (p > limit) {
      k++;
      p *= this.float();
    }
    return k;
  }

  /** One element of `items`, uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)];
  }

  /** An index drawn with the given (non-negative, not all zero) weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let u = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    return weights.length - 1;
  }

  /** Shuffles `arr` in place (Fisher–Yates) and returns it. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }
}
