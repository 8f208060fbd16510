/**
 * #16 (110,000 stocks): the batch keeps every row's top drivers in columns
 * (DriverTable) instead of 5 Driver objects per stock. The choice and order
 * must be topDrivers' exactly: |contribution| descending, ties in feature
 * order, zeros never, the value as scored through f32, null for NaN.
 */
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, N_FEATURES } from '../src/features/definition.js';
import { DriverTable, TOP_K_DRIVERS, topDrivers } from '../src/output/drivers.js';

function rows(n: number, seed: number): { values: Float64Array; x: Float32Array } {
  let s = seed;
  const rnd = (): number => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const values = new Float64Array(n * N_FEATURES);
  const x = new Float32Array(n * N_FEATURES);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < N_FEATURES; j++) {
      const u = rnd();
      // Zeros, exact ties (±0.25 and repeated small values), negatives, and a few large ones.
      values[i * N_FEATURES + j] = u < 0.3 ? 0 : u < 0.4 ? 0.25 : u < 0.5 ? -0.25 : u < 0.55 ? 1e-9 : (rnd() - 0.5) * (i % 7 === 0 ? 100 : 1);
      x[i * N_FEATURES + j] = rnd() < 0.1 ? Number.NaN : (rnd() - 0.5) * 1000;
    }
  // Rows with fewer than K non-zero contributions, and none at all.
  values.fill(0, 0, N_FEATURES);
  values.fill(0, N_FEATURES, 2 * N_FEATURES - 2);
  return { values, x };
}

describe('DriverTable gives topDrivers row by row (#16)', () => {
  it('the same features, values and contributions in the same order, for K = 5 and K = 3', () => {
    const n = 2000;
    const { values, x } = rows(n, 16);
    for (const k of [TOP_K_DRIVERS, 3]) {
      const t = DriverTable.of(values, x, n, k);
      for (let i = 0; i < n; i++) expect(t.row(i)).toEqual(topDrivers(values, x, i, k));
    }
    const t = DriverTable.of(values, x, n);
    expect(t.row(0)).toEqual([]);
    expect(t.row(1)).toHaveLength(2);
    // A missing value is null; a present one is the shortest decimal of its float32.
    const all = Array.from({ length: n }, (_, i) => t.row(i)).flat();
    expect(all.some((d) => d.value === null)).toBe(true);
    expect(all.every((d) => (FEATURE_NAMES as readonly string[]).includes(d.feature))).toBe(true);
  });

  it('its columns: feature positions, −1 past the last driver, NaN for a missing value', () => {
    const { values, x } = rows(50, 3);
    const t = DriverTable.of(values, x, 50);
    expect(Array.from(t.feature.subarray(0, TOP_K_DRIVERS))).toEqual([-1, -1, -1, -1, -1]);
    for (let i = 0; i < 50; i++)
      topDrivers(values, x, i).forEach((d, r) => {
        expect(FEATURE_NAMES[t.feature[i * TOP_K_DRIVERS + r]]).toBe(d.feature);
        expect(t.contribution[i * TOP_K_DRIVERS + r]).toBe(d.contribution);
        const v = t.value[i * TOP_K_DRIVERS + r];
        if (d.value === null) expect(v).toBeNaN();
        else expect(v).toBe(d.value);
      });
  });
});
