import { describe, it, expect } from 'vitest';
import { f1At, logLoss, prAuc, precisionAtK, rocAuc } from '../src/model/train/metrics.js';
import {
  DEFAULT_GBDT_PARAMS,
  featureImportance,
  predictProba,
  trainGbdt,
  type GbdtModel,
  type LabelledRows,
  type Tree,
} from '../src/model/train/gbdt.js';
import { StockflowError } from '../src/errors.js';
import { rand } from './helpers/rand.js';


/** n rows of F uniform(−1, 1) features; label from `label(row, u)` with u uniform(0, 1). */
function synth(n: number, F: number, seed: number, label: (x: Float32Array, u: number) => number, nanRate = 0): LabelledRows {
  const r = rand(seed);
  const X = new Float32Array(n * F);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const row = X.subarray(i * F, (i + 1) * F);
    for (let f = 0; f < F; f++) row[f] = r() < nanRate ? NaN : r() * 2 - 1;
    y[i] = label(row, r());
  }
  return { X, y, n };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Depth of a tree (root = 0), by walking it. */
function depthOf(t: Tree, node = 0): number {
  return t.isLeaf[node] ? 0 : 1 + Math.max(depthOf(t, t.left[node]), depthOf(t, t.right[node]));
}

/** Leaf reached by one row: written here from the BRANCH_LEQ rule, not taken from the trainer. */
function leafFor(t: Tree, row: ArrayLike<number>): number {
  let j = 0;
  while (!t.isLeaf[j]) {
    const x = row[t.feature[j]];
    const left = Number.isNaN(x) ? t.missingLeft[j] === 1 : x <= t.threshold[j];
    j = left ? t.left[j] : t.right[j];
  }
  return j;
}

describe('metrics', () => {
  it('ROC-AUC of a known ranking', () => {
    // Pairs (pos, neg): 0.35>0.1 ✓, 0.35<0.4 ✗, 0.8>0.1 ✓, 0.8>0.4 ✓ → 3/4.
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])).toBe(1);
    expect(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4])).toBe(0);
  });

  it('ROC-AUC counts ties as one half', () => {
    // Positives 0.5, 0.9; negatives 0.2, 0.5: 1 + ½ + 1 + 1 = 3.5 of 4 pairs.
    expect(rocAuc([0, 1, 0, 1], [0.2, 0.5, 0.5, 0.9])).toBeCloseTo(0.875, 12);
    // All scores equal → 0.5.
    expect(rocAuc([0, 1, 0, 1, 1], [3, 3, 3, 3, 3])).toBeCloseTo(0.5, 12);
    // Same value whatever the row order of the ties.
    expect(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.2])).toBeCloseTo(0.875, 12);
  });

  it('ROC-AUC is NaN with one class', () => {
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNaN();
  });

  it('average precision by hand', () => {
    // Descending: 0.8 (pos) P=1 R=½; 0.4 (neg); 0.35 (pos) P=⅔ R=1 → ½·1 + ½·⅔ = 5/6.
    expect(prAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(5 / 6, 12);
    // A tie at the top: {0.9: pos, neg} P=½ R=½; 0.5 pos P=⅔ R=1 → ¼ + ⅓ = 7/12.
    expect(prAuc([1, 0, 1, 0], [0.9, 0.9, 0.5, 0.1])).toBeCloseTo(7 / 12, 12);
    // Perfect ranking → 1.
    expect(prAuc([0, 1, 1], [0.1, 0.7, 0.9])).toBe(1);
    expect(prAuc([0, 0], [0.1, 0.2])).toBeNaN();
  });

  it('F1 at a threshold (p ≥ threshold is positive)', () => {
    // pred = [1, 0, 1, 0, 1]: TP = 2 (rows 0, 4), FP = 1 (row 2), FN = 1 (row 1) → 4 / 6.
    expect(f1At([1, 1, 0, 0, 1], [0.9, 0.4, 0.6, 0.2, 0.5])).toBeCloseTo(2 / 3, 12);
    // Threshold 0.7: pred = [1, 0, 0, 0, 0]: TP 1, FN 2 → 2 / 4.
    expect(f1At([1, 1, 0, 0, 1], [0.9, 0.4, 0.6, 0.2, 0.5], 0.7)).toBeCloseTo(0.5, 12);
    expect(f1At([0, 0], [0.9, 0.1])).toBe(0);
  });

  it('precision at k', () => {
    const y = [1, 0, 1, 0, 1];
    const p = [0.9, 0.8, 0.7, 0.6, 0.5];
    expect(precisionAtK(y, p, 1)).toBe(1);
    expect(precisionAtK(y, p, 2)).toBe(0.5);
    expect(precisionAtK(y, p, 3)).toBeCloseTo(2 / 3, 12);
    expect(precisionAtK(y, p, 100)).toBeCloseTo(3 / 5, 12); // k capped at n
    // Tie across the cut: 0.9 (pos) + one place among {0.7 pos, 0.7 neg} → (1 + ½) / 2.
    expect(precisionAtK([1, 1, 0, 0], [0.9, 0.7, 0.7, 0.1], 2)).toBeCloseTo(0.75, 12);
    expect(precisionAtK([1, 0, 1, 0], [0.9, 0.7, 0.7, 0.1], 2)).toBeCloseTo(0.75, 12);
    // Both tied rows negative → (1 + 0) / 2.
    expect(precisionAtK([1, 0, 0, 1], [0.9, 0.7, 0.7, 0.1], 2)).toBeCloseTo(0.5, 12);
  });

  it('log-loss by hand', () => {
    expect(logLoss([1, 0], [0.8, 0.4])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 12);
  });
});

describe('predictProba', () => {
  it('follows x ≤ threshold, the NaN direction and sums leaves onto the base score', () => {
    // Tree 0 splits feature 1 at 0.5 (NaN left); tree 1 splits feature 0 at −0.25 (NaN right).
    const t0: Tree = {
      feature: Int32Array.from([1, -1, -1]),
      threshold: Float32Array.from([0.5, 0, 0]),
      left: Int32Array.from([1, -1, -1]),
      right: Int32Array.from([2, -1, -1]),
      missingLeft: Uint8Array.from([1, 0, 0]),
      leafValue: Float32Array.from([0, -1, 2]),
      isLeaf: Uint8Array.from([0, 1, 1]),
      gain: new Float64Array(3),
    };
    const t1: Tree = { ...t0, feature: Int32Array.from([0, -1, -1]), threshold: Float32Array.from([-0.25, 0, 0]), missingLeft: Uint8Array.from([0, 0, 0]), leafValue: Float32Array.from([0, 0.5, -0.5]) };
    const model: GbdtModel = { nFeatures: 2, baseScore: 0.25, trees: [t0, t1], bestIteration: 2, params: { ...DEFAULT_GBDT_PARAMS }, trainLoss: [], validLoss: [] };
    const X = Float32Array.from([
      -1, 0.5, // t0: 0.5 ≤ 0.5 → −1; t1: −1 ≤ −0.25 → 0.5
      0, 0.6, // t0: → 2; t1: 0 > −0.25 → −0.5
      NaN, NaN, // t0: NaN left → −1; t1: NaN right → −0.5
      -0.25, 1, // t0: → 2; t1: −0.25 ≤ −0.25 → 0.5
    ]);
    const p = predictProba(model, X, 4);
    expect(p[0]).toBeCloseTo(sigmoid(0.25 - 1 + 0.5), 7);
    expect(p[1]).toBeCloseTo(sigmoid(0.25 + 2 - 0.5), 7);
    expect(p[2]).toBeCloseTo(sigmoid(0.25 - 1 - 0.5), 7);
    expect(p[3]).toBeCloseTo(sigmoid(0.25 + 2 + 0.5), 7);
    expect(() => predictProba(model, X, 3)).toThrow(StockflowError);
  });
});

describe('trainGbdt', () => {
  it('computes leaf values from gradients and hessians (closed form, two rounds)', () => {
    // x = [0, 0, 1, 1], y = [0, 0, 1, 1]: base rate ½ → base logit 0.
    const d: LabelledRows = { X: Float32Array.from([0, 0, 1, 1]), y: Uint8Array.from([0, 0, 1, 1]), n: 4 };
    const lr = 0.1;
    const l2 = 1;
    const m = trainGbdt(d, d, 1, { nTrees: 2, learningRate: lr, maxDepth: 1, minSamplesLeaf: 1, l2, subsample: 1, earlyStoppingRounds: 5 });
    expect(m.baseScore).toBe(0);
    expect(m.trees.length).toBe(2);
    const [a, b] = m.trees;
    // Round 1: p = ½, g = p − y = ±½, h = ¼. Left (x ≤ 0): G = 1, H = ½ → −lr·G/(H+λ).
    expect(a.feature[0]).toBe(0);
    expect(a.threshold[0]).toBe(0);
    const w1 = (-lr * 1) / (0.5 + l2);
    expect(a.leafValue[a.left[0]]).toBe(Math.fround(w1));
    expect(a.leafValue[a.right[0]]).toBe(Math.fround(-w1));
    // Round 2: left rows have score w1, p = σ(w1), g = p, h = p(1 − p) (two rows each).
    const q = sigmoid(Math.fround(w1));
    const w2 = (-lr * (2 * q)) / (2 * q * (1 - q) + l2);
    expect(b.leafValue[b.left[0]]).toBeCloseTo(Math.fround(w2), 7);
    expect(b.leafValue[b.right[0]]).toBeCloseTo(-Math.fround(w2), 7);
    // Loss with k trees.
    expect(m.trainLoss[0]).toBeCloseTo(Math.log(2), 12);
    expect(m.trainLoss[1]).toBeCloseTo(-Math.log(sigmoid(-Math.fround(w1))), 7);
  });

  it('learns a planted rule (y = x0 > 0.3 with 5% label noise)', () => {
    const rule = (x: Float32Array, u: number) => ((x[0] > 0.3) !== u < 0.05 ? 1 : 0);
    const train = synth(6000, 5, 1, rule);
    const valid = synth(2000, 5, 2, rule);
    const m = trainGbdt(train, valid, 5, { nTrees: 60, maxDepth: 3, seed: 7 });
    const auc = rocAuc(valid.y, predictProba(m, valid.X, valid.n));
    expect(auc).toBeGreaterThan(0.9);
    // The best possible AUC here (score = the true step): with P(x0 > 0.3) = 0.35 and 5% flips,
    // positives are high with a = .35·.95/(.35·.95 + .65·.05), negatives with b = .35·.05/(.35·.05 + .65·.95);
    // AUC = a(1 − b) + ½(ab + (1 − a)(1 − b)).
    const a = (0.35 * 0.95) / (0.35 * 0.95 + 0.65 * 0.05);
    const b = (0.35 * 0.05) / (0.35 * 0.05 + 0.65 * 0.95);
    const bayes = a * (1 - b) + 0.5 * (a * b + (1 - a) * (1 - b));
    expect(Math.abs(auc - bayes)).toBeLessThan(0.02);
    // The first tree's root splits near the planted cut.
    expect(m.trees[0].feature[0]).toBe(0);
    expect(Math.abs(m.trees[0].threshold[0] - 0.3)).toBeLessThan(0.05);
    // And x0 carries almost all of the gain.
    expect(featureImportance(m)[0]).toBeGreaterThan(0.9);
    // Depth limit.
    for (const t of m.trees) expect(depthOf(t)).toBeLessThanOrEqual(3);
  });

  it('on pure noise: AUC near 0.5 and early stopping before nTrees', () => {
    const noise = (_x: Float32Array, u: number) => (u < 0.2 ? 1 : 0);
    const train = synth(4000, 6, 3, noise);
    const valid = synth(4000, 6, 4, noise);
    const m = trainGbdt(train, valid, 6, { nTrees: 300, earlyStoppingRounds: 10, maxDepth: 4 });
    const rounds = m.trainLoss.length - 1;
    expect(rounds).toBeLessThan(300);
    expect(m.validLoss.length).toBe(rounds + 1);
    // Stopped exactly earlyStoppingRounds after the best round, and kept the best prefix.
    expect(rounds - m.bestIteration).toBe(10);
    expect(m.trees.length).toBe(m.bestIteration);
    expect(m.validLoss[m.bestIteration]).toBe(Math.min(...m.validLoss));
    const auc = rocAuc(valid.y, predictProba(m, valid.X, valid.n));
    expect(auc).toBeGreaterThan(0.45);
    expect(auc).toBeLessThan(0.55);
  });

  it('is deterministic for a seed (with subsampling) and the seed matters', () => {
    const rule = (x: Float32Array, u: number) => (x[0] + x[1] * x[2] + (u - 0.5) > 0.2 ? 1 : 0);
    const train = synth(3000, 4, 5, rule, 0.05);
    const valid = synth(1000, 4, 6, rule, 0.05);
    const params = { nTrees: 20, subsample: 0.7, seed: 11, earlyStoppingRounds: 50 };
    const a = trainGbdt(train, valid, 4, params);
    const b = trainGbdt(train, valid, 4, params);
    expect(b.trees).toEqual(a.trees);
    expect(b.validLoss).toEqual(a.validLoss);
    expect(b.baseScore).toBe(a.baseScore);
    const c = trainGbdt(train, valid, 4, { ...params, seed: 12 });
    expect(c.trees).not.toEqual(a.trees);
  });

  it('uses float32 thresholds that are training values (or +Infinity) and respects minSamplesLeaf', () => {
    const rule = (x: Float32Array, u: number) => (x[0] * 0.7 + x[1] > u - 0.5 ? 1 : 0);
    const train = synth(2000, 3, 8, rule, 0.1);
    const m = trainGbdt(train, synth(500, 3, 9, rule, 0.1), 3, { nTrees: 15, minSamplesLeaf: 40, subsample: 1, maxBins: 32 });
    const values = [new Set<number>(), new Set<number>(), new Set<number>()];
    for (let i = 0; i < train.X.length; i++) values[i % 3].add(train.X[i]);
    for (const t of m.trees) {
      const counts = new Map<number, number>();
      for (let i = 0; i < train.n; i++) {
        const leaf = leafFor(t, train.X.subarray(i * 3, i * 3 + 3));
        counts.set(leaf, (counts.get(leaf) ?? 0) + 1);
      }
      for (let j = 0; j < t.feature.length; j++) {
        if (t.isLeaf[j]) {
          expect(counts.get(j) ?? 0).toBeGreaterThanOrEqual(40);
          continue;
        }
        const thr = t.threshold[j];
        expect(Math.fround(thr)).toBe(thr);
        expect(thr === Infinity || values[t.feature[j]].has(thr)).toBe(true);
      }
    }
  });

  it('learns where NaN goes (both ways) and routes it the same in training and prediction', () => {
    // y = 1 for NaN x0 (with 5% noise); for numbers, y = x0 > 0.5.
    const nanPositive = (x: Float32Array, u: number) => ((Number.isNaN(x[0]) ? true : x[0] > 0.5) !== u < 0.05 ? 1 : 0);
    const nanNegative = (x: Float32Array, u: number) => ((Number.isNaN(x[0]) ? false : x[0] > -0.5) !== u < 0.05 ? 1 : 0);
    for (const [rule, nanLabel] of [
      [nanPositive, 1],
      [nanNegative, 0],
    ] as const) {
      const train = synth(4000, 3, 21, rule, 0.2);
      const valid = synth(1000, 3, 22, rule, 0.2);
      const m = trainGbdt(train, valid, 3, { nTrees: 80, maxDepth: 3, subsample: 1 });
      const probe = Float32Array.from([NaN, 0, 0, 0.9, 0, 0, 0, 0, 0, -0.9, 0, 0]);
      const p = predictProba(m, probe, 4);
      if (nanLabel === 1) {
        expect(p[0]).toBeGreaterThan(0.8); // NaN
        expect(p[1]).toBeGreaterThan(0.8); // 0.9 > 0.5
        expect(p[2]).toBeLessThan(0.2); // 0
      } else {
        expect(p[0]).toBeLessThan(0.2);
        expect(p[1]).toBeGreaterThan(0.8);
        expect(p[3]).toBeLessThan(0.2); // −0.9
      }
      // The training loss (computed on binned rows) equals the loss of predictProba (raw rows).
      const trainP = predictProba(m, train.X, train.n);
      expect(logLoss(train.y, trainP)).toBeCloseTo(m.trainLoss[m.bestIteration], 5);
    }
  });

  it('splits numbers from NaN with a +Infinity threshold when that is the only signal', () => {
    // x0 is constant 0.5 or NaN; y = isNaN(x0).
    const n = 1000;
    const X = new Float32Array(n * 2);
    const y = new Uint8Array(n);
    const r = rand(31);
    for (let i = 0; i < n; i++) {
      const isNan = r() < 0.3;
      X[i * 2] = isNan ? NaN : 0.5;
      X[i * 2 + 1] = r();
      y[i] = isNan ? 1 : 0;
    }
    const d = { X, y, n };
    const m = trainGbdt(d, d, 2, { nTrees: 5, maxDepth: 1, subsample: 1, earlyStoppingRounds: 5 });
    const t = m.trees[0];
    expect(t.feature[0]).toBe(0);
    expect(t.threshold[0]).toBe(Infinity);
    expect(t.missingLeft[0]).toBe(0);
    const p = predictProba(m, Float32Array.from([NaN, 0.1, 0.5, 0.1, 1e30, 0.1]), 3);
    expect(p[0]).toBeGreaterThan(sigmoid(m.baseScore));
    expect(p[1]).toBeLessThan(sigmoid(m.baseScore));
    expect(p[2]).toBe(p[1]); // any number goes with the numbers
  });

  it('rejects bad parameters and unusable data with a StockflowError', () => {
    const d = synth(100, 2, 1, (x) => (x[0] > 0 ? 1 : 0));
    const kind = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof StockflowError ? e.kind : 'other';
      }
      return 'none';
    };
    expect(kind(() => trainGbdt(d, d, 2, { maxBins: 256 }))).toBe('BAD_ARGS');
    expect(kind(() => trainGbdt(d, d, 2, { learningRate: 0 }))).toBe('BAD_ARGS');
    expect(kind(() => trainGbdt(d, d, 2, { subsample: 1.5 }))).toBe('BAD_ARGS');
    expect(kind(() => trainGbdt(d, d, 3))).toBe('BAD_ARGS');
    const allZero = { ...d, y: new Uint8Array(100) };
    expect(kind(() => trainGbdt(allZero, d, 2))).toBe('MISSING_INPUT');
    expect(kind(() => trainGbdt(d, { X: new Float32Array(0), y: new Uint8Array(0), n: 0 }, 2))).toBe('MISSING_INPUT');
  });
});
