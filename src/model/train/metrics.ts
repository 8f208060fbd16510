/**
 * Binary classification metrics over labels y ∈ {0, 1} and scores p (higher =
 * more likely positive). All are order-independent: tied scores are treated as
 * one group, never broken by row position.
 */

function checkPair(y: ArrayLike<number>, p: ArrayLike<number>): void {
  if (y.length !== p.length) throw new RangeError(`metrics: ${y.length} labels but ${p.length} scores`);
  for (let i = 0; i < p.length; i++) {
    if (Number.isNaN(p[i])) throw new RangeError(`metrics: score ${i} is NaN`);
  }
}

/** Row indices sorted by score, descending (stable). */
function byScoreDesc(p: ArrayLike<number>): Uint32Array {
  const idx = new Uint32Array(p.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((a, b) => p[b] - p[a] || a - b);
}

/**
 * ROC-AUC: the probability that a random positive scores above a random
 * negative, ties counting one half (Mann–Whitney U with average ranks).
 * NaN when y has only one class.
 */
export function rocAuc(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p);
  const n = y.length;
  const idx = byScoreDesc(p);
  let pos = 0;
  let neg = 0;
  // Walking down the scores: a negative loses to every positive above it; a tie counts ½.
  let wins = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    let gp = 0;
    let gn = 0;
    while (j < n && p[idx[j]] === p[idx[i]]) {
      if (y[idx[j]]) gp++;
      else gn++;
      j++;
    }
    wins += gn * pos + 0.5 * gp * gn;
    pos += gp;
    neg += gn;
    i = j;
  }
  if (pos === 0 || neg === 0) return NaN;
  return wins / (pos * neg);
}

/**
 * Average precision (scikit-learn's average_precision_score): Σ (R_k − R_{k−1}) · P_k
 * over the distinct score thresholds, from the highest down. NaN without positives.
 */
export function prAuc(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p);
  const n = y.length;
  let positives = 0;
  for (let i = 0; i < n; i++) if (y[i]) positives++;
  if (positives === 0) return NaN;
  const idx = byScoreDesc(p);
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    let gp = 0;
    while (j < n && p[idx[j]] === p[idx[i]]) {
      if (y[idx[j]]) gp++;
      j++;
    }
    tp += gp;
    fp += j - i - gp;
    ap += (gp / positives) * (tp / (tp + fp));
    i = j;
  }
  return ap;
}

/** F1 of the rule "positive when p ≥ threshold"; 0 when there are no true positives. */
export function f1At(y: ArrayLike<number>, p: ArrayLike<number>, threshold = 0.5): number {
  checkPair(y, p);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < y.length; i++) {
    const pred = p[i] >= threshold;
    if (pred && y[i]) tp++;
    else if (pred) fp++;
    else if (y[i]) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/**
 * Precision among the k highest scores (k capped at the row count). When the
 * k-th score is tied with scores below the cut, the tied group contributes its
 * positive share for the places it fills (the expectation over tie orders).
 * NaN when there are no rows.
 */
export function precisionAtK(y: ArrayLike<number>, p: ArrayLike<number>, k: number): number {
  checkPair(y, p);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`precisionAtK: k must be an integer ≥ 1, got ${k}`);
  const n = y.length;
  if (n === 0) return NaN;
  const kk = Math.min(k, n);
  const idx = byScoreDesc(p);
  let hits = 0;
  let taken = 0;
  let i = 0;
  while (taken < kk) {
    let j = i;
    let gp = 0;
    while (j < n && p[idx[j]] === p[idx[i]]) {
      if (y[idx[j]]) gp++;
      j++;
    }
    const size = j - i;
    const room = kk - taken;
    if (size <= room) {
      hits += gp;
      taken += size;
    } else {
      hits += (gp * room) / size;
      taken += room;
    }
    i = j;
  }
  return hits / kk;
}

/** Mean binary log-loss of probabilities p (clipped to [1e-15, 1 − 1e-15]). */
export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p);
  if (y.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(Math.max(p[i], 1e-15), 1 - 1e-15);
    s -= y[i] ? Math.log(q) : Math.log(1 - q);
  }
  return s / y.length;
}

/** Brier score: the mean squared difference between p and the outcome y. NaN when there are no rows. */
export function brierScore(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p);
  if (y.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i] - (y[i] ? 1 : 0)) ** 2;
  return s / y.length;
}

/** The number of calibration bins (equal width over [0, 1]). */
export const CALIBRATION_BINS = 10;

export interface CalibrationBin {
  /** (lower, upper]: the first bin includes 0. */
  lower: number;
  upper: number;
  rows: number;
  /** Mean predicted probability in the bin (null when empty). */
  mean_predicted: number | null;
  /** Share of the bin's rows that were positive (null when empty). */
  observed: number | null;
}

/**
 * A reliability table: CALIBRATION_BINS equal-width bins; a probability on an
 * inner edge goes to the bin below it, as in scikit-learn's calibration_curve
 * (strategy 'uniform', which bins with searchsorted on the inner edges).
 */
export function calibrationTable(y: ArrayLike<number>, p: ArrayLike<number>, bins = CALIBRATION_BINS): CalibrationBin[] {
  checkPair(y, p);
  const edges = Array.from({ length: bins + 1 }, (_, i) => i * (1 / bins));
  const n = new Array<number>(bins).fill(0);
  const sp = new Array<number>(bins).fill(0);
  const sy = new Array<number>(bins).fill(0);
  for (let i = 0; i < y.length; i++) {
    let b = 0;
    while (b < bins - 1 && p[i] > edges[b + 1]) b++;
    n[b]++;
    sp[b] += p[i];
    sy[b] += y[i] ? 1 : 0;
  }
  return n.map((rows, b) => ({
    lower: Math.round(edges[b] * 1e9) / 1e9,
    upper: Math.round(edges[b + 1] * 1e9) / 1e9,
    rows,
    mean_predicted: rows > 0 ? sp[b] / rows : null,
    observed: rows > 0 ? sy[b] / rows : null,
  }));
}
