/** A test-local seeded generator (mulberry32) returning floats in [0, 1), independent of the code under test. */
export function rand(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Deterministic feature rows [n, nFeatures] from a small LCG: about 3% NaN, the rest spread over ±100
 * (the explain tests' rows: the same seed gives the same rows in every test that asks for them).
 */
export function lcgFeatureRows(n: number, seed: number, nFeatures: number): Float32Array {
  const X = new Float32Array(n * nFeatures);
  let s = seed >>> 0;
  const next = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < X.length; i++) X[i] = next() < 0.03 ? NaN : (next() - 0.5) * 200;
  return X;
}
