/**
 * topDrivers picks the K strongest contributions by selection (#16: the batch
 * calls it for every scored stock) instead of sorting each row's 25 features;
 * the drivers must be exactly the documented order's (|contribution|
 * descending, ties by feature position, zeros never), computed here by the
 * definition itself: a full sort.
 */
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, N_FEATURES } from '../src/features/definition.js';
import { topDrivers } from '../src/output/drivers.js';
import { rand } from './helpers/rand.js';

function bySort(values: Float64Array, i: number, k: number): string[] {
  const idx: number[] = [];
  for (let j = 0; j < N_FEATURES; j++) if (values[i * N_FEATURES + j] !== 0) idx.push(j);
  idx.sort((a, b) => Math.abs(values[i * N_FEATURES + b]) - Math.abs(values[i * N_FEATURES + a]) || a - b);
  return idx.slice(0, k).map((j) => FEATURE_NAMES[j]);
}

describe('topDrivers = the definition’s sort', () => {
  it('rows with ties (equal magnitudes of both signs), zeros, −0 and fewer non-zero features than K', () => {
    const r = rand(16);
    const n = 1500;
    const values = new Float64Array(n * N_FEATURES);
    const x = new Float32Array(n * N_FEATURES);
    // few distinct magnitudes so ties are common
    const mags = [0, 0.125, 0.25, 0.5, 1, 1e-300];
    for (let i = 0; i < values.length; i++) {
      const u = r();
      const m = u < 0.5 ? mags[Math.floor(r() * mags.length)] : r() * 2;
      values[i] = (r() < 0.5 ? -1 : 1) * m;
      if (r() < 0.01) values[i] = -0;
      x[i] = r() < 0.05 ? NaN : r();
    }
    // a row of zeros, and a row with one driver
    values.fill(0, 0, N_FEATURES);
    values.fill(0, N_FEATURES, 2 * N_FEATURES);
    values[N_FEATURES + 7] = -0.5;
    let ties = 0;
    for (let i = 0; i < n; i++) {
      for (const k of [0, 1, 3, 5, N_FEATURES + 2]) {
        const got = topDrivers(values, x, i, k);
        expect(got.map((d) => d.feature)).toEqual(bySort(values, i, k));
        for (const d of got) {
          const j = FEATURE_NAMES.indexOf(d.feature as (typeof FEATURE_NAMES)[number]);
          expect(d.contribution).toBe(values[i * N_FEATURES + j]);
          expect(d.value === null).toBe(Number.isNaN(x[i * N_FEATURES + j]));
        }
      }
      const a = Array.from(values.subarray(i * N_FEATURES, (i + 1) * N_FEATURES), Math.abs).filter((v) => v !== 0);
      if (new Set(a).size < a.length) ties++;
    }
    expect(topDrivers(values, x, 0, 5)).toEqual([]);
    expect(topDrivers(values, x, 1, 5).map((d) => d.feature)).toEqual([FEATURE_NAMES[7]]);
    expect(ties).toBeGreaterThan(n / 2);
  });
});
