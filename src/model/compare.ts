/**
 * Champion and challenger (issue 14, docs/monitoring.md): how two models'
 * rankings of the same stocks differ (the batch's report), and how they did on
 * the same realised outcomes with a paired bootstrap confidence interval for
 * the ROC-AUC difference (`stockflow evaluate --compare`, `models promote`).
 * Plain data out, for the report, the CLI and the HTML page.
 */
import { rocAuc } from './train/metrics.js';
import type { Evaluation } from './evaluate.js';
import { mulberry32 } from '../util/random.js';

/** The number of stocks whose overlap the comparison counts. */
export const COMPARE_TOP = 20;
/** Bootstrap resamples and seed (`--resamples`, documented in docs/monitoring.md). */
export const BOOTSTRAP_RESAMPLES = 1000;
export const BOOTSTRAP_SEED = 14;
export const BOOTSTRAP_LEVEL = 0.95;

/** One scored stock of one model. */
export interface Scored {
  bse_code: string;
  probability: number;
  label: number;
}

/** The batch's comparison of the champion's and the challenger's rankings of one date. */
export interface ChallengerComparison {
  champion: { name: string; version: string };
  challenger: { name: string; version: string };
  /** Stocks both scored. */
  rows: number;
  top: number;
  /** Stocks in both top 20s. */
  top_overlap: number;
  /** Spearman rank correlation of the two probabilities over the stocks both scored (null when either is constant or fewer than 2 rows). */
  spearman: number | null;
  /** Stocks whose predicted label (upper circuit or not) differs. */
  label_differs: number;
  /** The challenger's predicted upper circuits, and the champion's. */
  challenger_positive: number;
  champion_positive: number;
  /** Stocks in the challenger's top 20 but not the champion's, in the challenger's order. */
  challenger_only_top: string[];
}

const byRank = (a: Scored, b: Scored): number => b.probability - a.probability || (a.bse_code < b.bse_code ? -1 : a.bse_code > b.bse_code ? 1 : 0);

/** Average ranks (1-based; tied values share the mean of their positions). */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && x[idx[j + 1]] === x[idx[i]]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation: Pearson's correlation of the average ranks. Null when undefined. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  if (a.length !== b.length) throw new RangeError(`spearman: ${a.length} and ${b.length} values`);
  const n = a.length;
  if (n < 2) return null;
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const mean = (n + 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = ra[i] - mean;
    const db = rb[i] - mean;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return null;
  return sab / Math.sqrt(saa * sbb);
}

/** The first k codes of a ranking (probability descending, then bse_code). */
export function topCodes(rows: readonly Scored[], k = COMPARE_TOP): string[] {
  return [...rows].sort(byRank).slice(0, k).map((r) => r.bse_code);
}

/** Compares two models' scores of one date (stocks matched by code; those only one scored are left out). */
export function compareRankings(
  champion: { name: string; version: string; rows: readonly Scored[] },
  challenger: { name: string; version: string; rows: readonly Scored[] },
  k = COMPARE_TOP,
): ChallengerComparison {
  const ch = new Map(challenger.rows.map((r) => [r.bse_code, r]));
  const a: Scored[] = [];
  const b: Scored[] = [];
  for (const r of champion.rows) {
    const o = ch.get(r.bse_code);
    if (o) {
      a.push(r);
      b.push(o);
    }
  }
  const topA = topCodes(a, k);
  const topB = topCodes(b, k);
  const inA = new Set(topA);
  let differs = 0;
  for (let i = 0; i < a.length; i++) if (a[i].label !== b[i].label) differs++;
  return {
    champion: { name: champion.name, version: champion.version },
    challenger: { name: challenger.name, version: challenger.version },
    rows: a.length,
    top: Math.min(k, a.length),
    top_overlap: topB.filter((c) => inA.has(c)).length,
    spearman: spearman(
      a.map((r) => r.probability),
      b.map((r) => r.probability),
    ),
    label_differs: differs,
    champion_positive: a.filter((r) => r.label === 1).length,
    challenger_positive: b.filter((r) => r.label === 1).length,
    challenger_only_top: topB.filter((c) => !inA.has(c)),
  };
}

// ---------------------------------------------------------------- paired bootstrap

/** ROC-AUC with a weight (a count) per row, over rows already sorted by score descending with their tie groups. */
function weightedAuc(order: Uint32Array, groupEnd: Uint32Array, y: Uint8Array, w: Uint32Array): number {
  let pos = 0;
  let neg = 0;
  let wins = 0;
  let i = 0;
  const n = order.length;
  while (i < n) {
    const end = groupEnd[i];
    let gp = 0;
    let gn = 0;
    for (let j = i; j < end; j++) {
      const r = order[j];
      if (y[r]) gp += w[r];
      else gn += w[r];
    }
    wins += gn * pos + 0.5 * gp * gn;
    pos += gp;
    neg += gn;
    i = end;
  }
  return pos === 0 || neg === 0 ? NaN : wins / (pos * neg);
}

/** Rows by score descending, and for each position the end of its tie group. */
function sortedGroups(p: ArrayLike<number>): { order: Uint32Array; groupEnd: Uint32Array } {
  const n = p.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => p[b] - p[a] || a - b);
  const groupEnd = new Uint32Array(n);
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && p[order[j]] === p[order[i]]) j++;
    for (let k = i; k < j; k++) groupEnd[k] = j;
    i = j;
  }
  return { order, groupEnd };
}

/** Two models' figures on the same judged rows (`stockflow evaluate --compare`, `models promote`). */
export interface OutcomeComparison {
  /** As named on the command line (alias or version), and the version it resolved to. */
  a: { spec: string; version: string; figures: Evaluation };
  b: { spec: string; version: string; figures: Evaluation };
  dates: number;
  from: string;
  to: string;
  rows: number;
  hits: number;
  /** ROC-AUC(b) − ROC-AUC(a) with its paired bootstrap interval. */
  roc_auc: AucDifference;
}

export interface AucDifference {
  rows: number;
  hits: number;
  /** ROC-AUC of A and of B on the paired rows (null for one class). */
  auc_a: number | null;
  auc_b: number | null;
  /** auc_b − auc_a. */
  difference: number | null;
  /** Percentile bootstrap interval of the difference (null when no resample had both classes). */
  ci_lower: number | null;
  ci_upper: number | null;
  level: number;
  resamples: number;
  /** Resamples left out because they drew only one class. */
  degenerate: number;
  seed: number;
}

/**
 * Paired bootstrap of ROC-AUC(B) − ROC-AUC(A) over the same rows (y, pA, pB):
 * each resample draws the row set with replacement (the same rows for both
 * models), the interval is the 2.5th and 97.5th percentiles (nearest rank) of
 * the resampled differences. Deterministic for a seed.
 */
export function pairedAucBootstrap(
  y: Uint8Array,
  pA: ArrayLike<number>,
  pB: ArrayLike<number>,
  o: { resamples?: number; seed?: number; level?: number } = {},
): AucDifference {
  const n = y.length;
  if (pA.length !== n || pB.length !== n) throw new RangeError('pairedAucBootstrap: labels and scores differ in length');
  const resamples = o.resamples ?? BOOTSTRAP_RESAMPLES;
  const seed = o.seed ?? BOOTSTRAP_SEED;
  const level = o.level ?? BOOTSTRAP_LEVEL;
  const fin = (x: number): number | null => (Number.isFinite(x) ? x : null);
  const aucA = n > 0 ? rocAuc(y, pA) : NaN;
  const aucB = n > 0 ? rocAuc(y, pB) : NaN;
  const hits = y.reduce((s, v) => s + v, 0);
  const out: AucDifference = {
    rows: n,
    hits,
    auc_a: fin(aucA),
    auc_b: fin(aucB),
    difference: fin(aucB - aucA),
    ci_lower: null,
    ci_upper: null,
    level,
    resamples,
    degenerate: 0,
    seed,
  };
  if (n === 0 || out.difference === null) return out;
  const ga = sortedGroups(pA);
  const gb = sortedGroups(pB);
  const w = new Uint32Array(n);
  const rand = mulberry32(seed);
  const diffs: number[] = [];
  for (let b = 0; b < resamples; b++) {
    w.fill(0);
    for (let i = 0; i < n; i++) w[Math.floor(rand() * n)]++;
    const d = weightedAuc(gb.order, gb.groupEnd, y, w) - weightedAuc(ga.order, ga.groupEnd, y, w);
    if (Number.isFinite(d)) diffs.push(d);
    else out.degenerate++;
  }
  if (diffs.length === 0) return out;
  diffs.sort((a, b) => a - b);
  const at = (q: number): number => diffs[Math.min(diffs.length - 1, Math.max(0, Math.ceil(q * diffs.length) - 1))];
  out.ci_lower = at((1 - level) / 2);
  out.ci_upper = at(1 - (1 - level) / 2);
  return out;
}
