/**
 * mulberry32: a small seeded 32-bit generator of uniform numbers in [0, 1), deterministic for a seed.
 * Used where a seed must give the same draws run after run (the trainer's row subsampling, the paired
 * bootstrap of `evaluate --compare`); the demo market has its own stream-keyed generator (src/demo/random.ts).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
