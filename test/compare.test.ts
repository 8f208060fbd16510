/**
 * Champion vs challenger (src/model/compare.ts): Spearman and the top-20
 * overlap against hand-worked numbers; the paired bootstrap's determinism and
 * an interval that brackets a known difference.
 */
import { describe, expect, it } from 'vitest';
import { averageRanks, compareRankings, pairedAucBootstrap, spearman, type Scored } from '../src/model/compare.js';
import { rocAuc } from '../src/model/train/metrics.js';

describe('rank comparison', () => {
  it('Spearman with ties, hand-worked: 8 / √95', () => {
    // ranks of b = 1, 2, 3.5, 5, 3.5; Σ da·db = 8, Σ da² = 10, Σ db² = 9.5
    expect([...averageRanks([5, 6, 7, 8, 7])]).toEqual([1, 2, 3.5, 5, 3.5]);
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(8 / Math.sqrt(95), 12);
    expect(spearman([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNull();
  });

  it('top-20 overlap and labels that differ, hand-worked', () => {
    // 25 stocks: the champion ranks 0..24 in order; the challenger sinks stocks 0..4 to the bottom
    const code = (i: number): string => String(500000 + i);
    const champ: Scored[] = Array.from({ length: 25 }, (_, i) => ({ bse_code: code(i), probability: (100 - i) / 100, label: i < 10 ? 1 : 0 }));
    const chall: Scored[] = champ.map((r, i) => ({ ...r, probability: i < 5 ? 0.01 + i / 1000 : r.probability, label: i < 5 ? 0 : i < 12 ? 1 : 0 }));
    const c = compareRankings({ name: 'a', version: '1.0.0', rows: champ }, { name: 'b', version: '2.0.0', rows: chall.slice().reverse() });
    expect(c.rows).toBe(25);
    expect(c.top_overlap).toBe(15); // champion's top 20 = 0..19, challenger's = 5..24
    expect(c.challenger_only_top).toEqual([20, 21, 22, 23, 24].map(code));
    expect(c.label_differs).toBe(7); // 0..4 (1 → 0) and 10, 11 (0 → 1)
    expect([c.champion_positive, c.challenger_positive]).toEqual([10, 7]);
  });
});

describe('paired bootstrap of the ROC-AUC difference', () => {
  // 400 rows, deterministic: y alternates in blocks; A is noise, B separates well but not perfectly.
  const n = 400;
  const y = Uint8Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1 : 0));
  let s = 7;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pA = Float64Array.from({ length: n }, () => rnd());
  const pB = Float64Array.from(y, (v) => 0.6 * v + 0.7 * rnd());

  it('same seed, same interval; another seed, another interval', () => {
    const a = pairedAucBootstrap(y, pA, pB, { resamples: 300, seed: 14 });
    const b = pairedAucBootstrap(y, pA, pB, { resamples: 300, seed: 14 });
    const c = pairedAucBootstrap(y, pA, pB, { resamples: 300, seed: 15 });
    expect(b).toEqual(a);
    expect([c.ci_lower, c.ci_upper]).not.toEqual([a.ci_lower, a.ci_upper]);
  });

  it('the interval brackets the observed difference and excludes 0 for a clearly better model', () => {
    const r = pairedAucBootstrap(y, pA, pB, { resamples: 500 });
    const known = rocAuc(y, pB) - rocAuc(y, pA);
    expect(r.difference).toBeCloseTo(known, 12);
    expect(known).toBeGreaterThan(0.2);
    expect(r.ci_lower!).toBeLessThan(known);
    expect(r.ci_upper!).toBeGreaterThan(known);
    expect(r.ci_lower!).toBeGreaterThan(0);
    expect(r.resamples).toBe(500);
  });

  it('two identical models: difference 0 and an interval of exactly 0', () => {
    const r = pairedAucBootstrap(y, pA, pA, { resamples: 100 });
    expect([r.difference, r.ci_lower, r.ci_upper]).toEqual([0, 0, 0]);
  });
});
