/**
 * Gradient-boosted decision trees for binary classification, in TypeScript.
 *
 * - Loss: binary log-loss on a logit score; second-order boosting (each tree is
 *   fitted to the gradient g = p − y and hessian h = p(1 − p) of the current
 *   score), split gain and leaf values with L2 regularisation λ:
 *     gain = G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ),   leaf = −η·G/(H+λ).
 * - Histogram split finding: every feature is cut once, on the training rows,
 *   into at most `maxBins` quantile bins whose upper edges are values that occur
 *   in the data (so every threshold is a float32 value); the rows are binned into
 *   a Uint8Array once. Histograms are built per node, the larger child by
 *   subtraction from its parent.
 * - Missing values (NaN) sit in their own bin. Each split learns where NaN goes
 *   (the better of both sides when the node has NaN rows; otherwise the side with
 *   more rows). A node may also split "number vs NaN" (threshold +Infinity).
 * - Depth-wise growth to `maxDepth`, shrinkage, seeded row subsampling, early
 *   stopping on the validation log-loss (the model keeps the trees up to the best
 *   iteration).
 *
 * Prediction follows ONNX TreeEnsemble `BRANCH_LEQ` exactly: at a split, a row
 * goes to the true (left) branch when x ≤ threshold, or when x is NaN and the
 * split's missing value tracks true; both x (float32 input) and the threshold
 * (float32) are compared exactly. Leaf values are float32, summed in float32 in
 * tree order, then the base score is added, as onnxruntime does.
 */
import { StockflowError } from '../../errors.js';
import { mulberry32 } from '../../util/random.js';

export interface GbdtParams {
  /** Maximum number of trees (boosting rounds). */
  nTrees: number;
  /** Shrinkage η applied to every leaf value. */
  learningRate: number;
  /** Maximum depth of a tree (root at depth 0; a depth-d tree has at most 2^d leaves). */
  maxDepth: number;
  /** Minimum number of (sampled) training rows in each child of a split. */
  minSamplesLeaf: number;
  /** L2 regularisation λ on leaf values. */
  l2: number;
  /** Maximum number of value bins per feature (2–255); NaN has its own bin. */
  maxBins: number;
  /** Probability that a training row is drawn to grow a given tree (seeded, per tree); 1 = all rows. */
  subsample?: number;
  /** Stop when the validation log-loss has not improved for this many rounds. */
  earlyStoppingRounds: number;
  /** Seed of the row subsampling. */
  seed: number;
}

export const DEFAULT_GBDT_PARAMS: Readonly<Required<GbdtParams>> = Object.freeze({
  nTrees: 300,
  learningRate: 0.05,
  maxDepth: 5,
  minSamplesLeaf: 20,
  l2: 1,
  maxBins: 255,
  subsample: 0.8,
  earlyStoppingRounds: 30,
  seed: 42,
});

/**
 * One tree as flat arrays indexed by node id; the root is node 0 and ids are in
 * breadth-first order. At a split node, a row goes `left` (the ONNX true branch)
 * when x[feature] ≤ threshold, or when it is NaN and `missingLeft` is 1.
 */
export interface Tree {
  /** Split feature (−1 at leaves). */
  feature: Int32Array;
  /** Split threshold, a float32 value (possibly +Infinity: "any number vs NaN"); 0 at leaves. */
  threshold: Float32Array;
  /** Child node ids (−1 at leaves). */
  left: Int32Array;
  right: Int32Array;
  /** 1 when NaN goes left. */
  missingLeft: Uint8Array;
  /** Leaf value (already multiplied by the learning rate); 0 at split nodes. */
  leafValue: Float32Array;
  isLeaf: Uint8Array;
  /** Split gain (0 at leaves), for feature importance. */
  gain: Float64Array;
  /**
   * Cover: the number of training rows the tree was grown on (after row
   * subsampling) that reach each node; a split's cover is the sum of its
   * children's. Exported as `nodes_hitrates` for TreeSHAP (docs/models.md).
   * Optional so hand-built trees need not carry it.
   */
  cover?: Float64Array;
}

export interface GbdtModel {
  nFeatures: number;
  /** Initial logit (float32 value): the training base rate's log-odds. */
  baseScore: number;
  /** The kept trees (the first `bestIteration` grown). */
  trees: Tree[];
  /** Number of trees kept: the round count with the lowest validation log-loss. */
  bestIteration: number;
  params: Required<GbdtParams>;
  /** trainLoss[k]: training log-loss with the first k trees (k = 0 … rounds grown). */
  trainLoss: number[];
  /** validLoss[k]: validation log-loss with the first k trees. */
  validLoss: number[];
}

export interface LabelledRows {
  /** Row-major features [n, nFeatures]; NaN allowed. */
  X: Float32Array;
  /** Labels, 0 or 1. */
  y: Uint8Array;
  n: number;
}

/** Bin index reserved for NaN. Value bins are 0 … 254. */
const NAN_BIN = 255;
/** Histogram slots per feature (256 bins) × 3 (gradient, hessian, count). */
const HIST_STRIDE = 256 * 3;

// ---------------------------------------------------------------------------
// Parameters and input validation

function resolveParams(p: Partial<GbdtParams> | undefined): Required<GbdtParams> {
  const params: Required<GbdtParams> = { ...DEFAULT_GBDT_PARAMS };
  for (const [k, v] of Object.entries(p ?? {})) {
    if (v !== undefined) (params as Record<string, number>)[k] = v as number;
  }
  const bad = (msg: string): never => {
    throw new StockflowError('BAD_ARGS', `invalid GBDT parameter: ${msg}`);
  };
  const isInt = (v: number) => Number.isInteger(v);
  if (!isInt(params.nTrees) || params.nTrees < 0) bad(`nTrees must be an integer ≥ 0, got ${params.nTrees}`);
  if (!(params.learningRate > 0 && params.learningRate <= 1)) bad(`learningRate must be in (0, 1], got ${params.learningRate}`);
  if (!isInt(params.maxDepth) || params.maxDepth < 1 || params.maxDepth > 16) bad(`maxDepth must be an integer in 1–16, got ${params.maxDepth}`);
  if (!isInt(params.minSamplesLeaf) || params.minSamplesLeaf < 1) bad(`minSamplesLeaf must be an integer ≥ 1, got ${params.minSamplesLeaf}`);
  if (!(params.l2 >= 0 && Number.isFinite(params.l2))) bad(`l2 must be a finite number ≥ 0, got ${params.l2}`);
  if (!isInt(params.maxBins) || params.maxBins < 2 || params.maxBins > 255) bad(`maxBins must be an integer in 2–255, got ${params.maxBins}`);
  if (!(params.subsample > 0 && params.subsample <= 1)) bad(`subsample must be in (0, 1], got ${params.subsample}`);
  if (!isInt(params.earlyStoppingRounds) || params.earlyStoppingRounds < 1) bad(`earlyStoppingRounds must be an integer ≥ 1, got ${params.earlyStoppingRounds}`);
  if (!isInt(params.seed)) bad(`seed must be an integer, got ${params.seed}`);
  return params;
}

function checkRows(name: string, d: LabelledRows, nFeatures: number): void {
  if (!Number.isInteger(d.n) || d.n < 0) throw new StockflowError('BAD_ARGS', `${name} set: row count must be an integer ≥ 0, got ${d.n}`);
  if (d.X.length !== d.n * nFeatures) {
    throw new StockflowError('BAD_ARGS', `${name} set: X has ${d.X.length} values, expected ${d.n} rows × ${nFeatures} features`);
  }
  if (d.y.length !== d.n) throw new StockflowError('BAD_ARGS', `${name} set: y has ${d.y.length} labels for ${d.n} rows`);
  for (let i = 0; i < d.n; i++) {
    if (d.y[i] > 1) throw new StockflowError('BAD_ARGS', `${name} set: label of row ${i} is ${d.y[i]}, expected 0 or 1`);
  }
}

// ---------------------------------------------------------------------------
// Binning

/**
 * Upper bin edges of one feature: strictly increasing values taken from the
 * (non-NaN) training values, none equal to the maximum. A value x falls in bin
 * b = #{edges < x}, so "bin ≤ b" ⟺ "x ≤ edges[b]".
 */
function binEdges(sorted: Float32Array, maxBins: number): Float32Array {
  const m = sorted.length;
  if (m === 0) return new Float32Array(0);
  const max = sorted[m - 1];
  const edges: number[] = [];
  // Count distinct values; with few of them every distinct value but the largest is an edge.
  let distinct = 1;
  for (let i = 1; i < m && distinct <= maxBins; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  if (distinct <= maxBins) {
    for (let i = 0; i < m; i++) {
      const v = sorted[i];
      if (v !== max && (edges.length === 0 || v !== edges[edges.length - 1])) edges.push(v);
    }
  } else {
    for (let j = 1; j < maxBins; j++) {
      const v = sorted[Math.ceil((j * m) / maxBins) - 1];
      if (v !== max && (edges.length === 0 || v > edges[edges.length - 1])) edges.push(v);
    }
  }
  return Float32Array.from(edges);
}

function binOf(edges: Float32Array, x: number): number {
  if (x !== x) return NAN_BIN;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Binned {
  edges: Float32Array[];
  bins: Uint8Array;
}

function binTrainingSet(X: Float32Array, n: number, F: number, maxBins: number): Binned {
  const edges: Float32Array[] = [];
  const col = new Float32Array(n);
  for (let f = 0; f < F; f++) {
    let m = 0;
    for (let i = 0, o = f; i < n; i++, o += F) {
      const v = X[o];
      if (v === v) col[m++] = v;
    }
    const sorted = col.subarray(0, m).sort();
    edges.push(binEdges(sorted, maxBins));
  }
  const bins = new Uint8Array(n * F);
  for (let i = 0, o = 0; i < n; i++) {
    for (let f = 0; f < F; f++, o++) bins[o] = binOf(edges[f], X[o]);
  }
  return { edges, bins };
}

// ---------------------------------------------------------------------------
// Small helpers

/** log(1 + e^z), stable. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Mean log-loss of logit scores. */
function meanLogLoss(y: Uint8Array, score: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += y[i] ? softplus(-score[i]) : softplus(score[i]);
  return n > 0 ? s / n : NaN;
}

/**
 * Gradient and hessian of the log-loss at each row's logit score; returns the
 * mean log-loss at those scores (computed from the same exponential).
 */
function gradients(y: Uint8Array, score: Float64Array, grad: Float64Array, hess: Float64Array, n: number): number {
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const z = score[i];
    const e = Math.exp(-z);
    const q = 1 / (1 + e);
    const yi = y[i];
    grad[i] = q - yi;
    hess[i] = Math.max(q * (1 - q), 1e-16);
    // −log q = log(1 + e^−z); −log(1 − q) = z + log(1 + e^−z).
    loss += e === Infinity ? (yi ? softplus(-z) : softplus(z)) : yi ? Math.log1p(e) : z + Math.log1p(e);
  }
  return loss / n;
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

// ---------------------------------------------------------------------------
// Tree growth

interface Split {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
}

/** A node being grown: its rows are rows[start, end). */
interface Work {
  id: number;
  start: number;
  end: number;
  G: number;
  H: number;
  hist: Float64Array;
}

/** Mutable tree under construction. */
class TreeBuilder {
  feature: number[] = [];
  splitBin: number[] = [];
  threshold: number[] = [];
  left: number[] = [];
  right: number[] = [];
  missingLeft: number[] = [];
  leafValue: number[] = [];
  isLeaf: number[] = [];
  gain: number[] = [];
  cover: number[] = [];

  add(): number {
    this.feature.push(-1);
    this.splitBin.push(0);
    this.threshold.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.missingLeft.push(0);
    this.leafValue.push(0);
    this.isLeaf.push(1);
    this.gain.push(0);
    this.cover.push(0);
    return this.feature.length - 1;
  }

  freeze(): Tree {
    return {
      feature: Int32Array.from(this.feature),
      threshold: Float32Array.from(this.threshold),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      missingLeft: Uint8Array.from(this.missingLeft),
      leafValue: Float32Array.from(this.leafValue),
      isLeaf: Uint8Array.from(this.isLeaf),
      gain: Float64Array.from(this.gain),
      cover: Float64Array.from(this.cover),
    };
  }
}

class Grower {
  private readonly pool: Float64Array[] = [];
  private readonly tmp: Uint32Array;
  /** Rows of the current tree, partitioned in place node by node. */
  readonly rows: Uint32Array;
  /** Leaves of the current tree as (start, end, node id) triples over `rows`. */
  private leaves: number[] = [];

  constructor(
    private readonly bins: Uint8Array,
    private readonly F: number,
    private readonly edges: Float32Array[],
    private readonly grad: Float64Array,
    private readonly hess: Float64Array,
    private readonly p: Required<GbdtParams>,
    n: number,
  ) {
    this.rows = new Uint32Array(n);
    this.tmp = new Uint32Array(n);
  }

  private takeHist(): Float64Array {
    return this.pool.pop() ?? new Float64Array(this.F * HIST_STRIDE);
  }

  private releaseHist(h: Float64Array): void {
    this.pool.push(h);
  }

  private buildHist(start: number, end: number): Float64Array {
    const hist = this.takeHist();
    hist.fill(0);
    const { bins, F, grad, hess, rows } = this;
    for (let i = start; i < end; i++) {
      const r = rows[i];
      const g = grad[r];
      const h = hess[r];
      let bo = r * F;
      for (let ho = 0, f = 0; f < F; f++, bo++, ho += HIST_STRIDE) {
        const o = ho + bins[bo] * 3;
        hist[o] += g;
        hist[o + 1] += h;
        hist[o + 2] += 1;
      }
    }
    return hist;
  }

  private bestSplit(w: Work): Split | null {
    const { F, edges } = this;
    const { l2, minSamplesLeaf } = this.p;
    const count = w.end - w.start;
    if (count < 2 * minSamplesLeaf) return null;
    const G = w.G;
    const H = w.H;
    const parentScore = (G * G) / Math.max(H + l2, 1e-300);
    const hist = w.hist;
    let best: Split | null = null;
    let bestGain = 1e-12 * Math.max(1, parentScore);
    const score = (g: number, h: number) => (g * g) / Math.max(h + l2, 1e-300);
    for (let f = 0; f < F; f++) {
      const base = f * HIST_STRIDE;
      const k = edges[f].length;
      const nanO = base + NAN_BIN * 3;
      const nG = hist[nanO];
      const nH = hist[nanO + 1];
      const nC = hist[nanO + 2];
      let cG = 0;
      let cH = 0;
      let cC = 0;
      for (let b = 0; b < k; b++) {
        const o = base + b * 3;
        cG += hist[o];
        cH += hist[o + 1];
        cC += hist[o + 2];
        if (nC > 0) {
          // NaN right: left = bins ≤ b.
          let lC = cC;
          let rC = count - lC;
          if (lC >= minSamplesLeaf && rC >= minSamplesLeaf) {
            const gain = score(cG, cH) + score(G - cG, H - cH) - parentScore;
            if (gain > bestGain) {
              bestGain = gain;
              best = { gain, feature: f, bin: b, missingLeft: false };
            }
          }
          // NaN left.
          lC = cC + nC;
          rC = count - lC;
          if (lC >= minSamplesLeaf && rC >= minSamplesLeaf) {
            const lG = cG + nG;
            const lH = cH + nH;
            const gain = score(lG, lH) + score(G - lG, H - lH) - parentScore;
            if (gain > bestGain) {
              bestGain = gain;
              best = { gain, feature: f, bin: b, missingLeft: true };
            }
          }
        } else {
          const lC = cC;
          const rC = count - lC;
          if (lC >= minSamplesLeaf && rC >= minSamplesLeaf) {
            const gain = score(cG, cH) + score(G - cG, H - cH) - parentScore;
            if (gain > bestGain) {
              bestGain = gain;
              // No NaN seen here: send NaN to the side that had more rows.
              best = { gain, feature: f, bin: b, missingLeft: lC >= rC };
            }
          }
        }
      }
      // Numbers vs NaN: all value bins left, NaN right (threshold +Infinity).
      if (nC >= minSamplesLeaf && count - nC >= minSamplesLeaf) {
        const gain = score(G - nG, H - nH) + score(nG, nH) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          best = { gain, feature: f, bin: k, missingLeft: false };
        }
      }
    }
    return best;
  }

  /** Partitions rows[start, end) stably by the split; returns the first right index. */
  private partition(w: Work, s: Split): number {
    const { bins, F, rows, tmp } = this;
    const f = s.feature;
    const sb = s.bin;
    const ml = s.missingLeft;
    let l = w.start;
    let t = 0;
    for (let i = w.start; i < w.end; i++) {
      const r = rows[i];
      const b = bins[r * F + f];
      if (b === NAN_BIN ? ml : b <= sb) rows[l++] = r;
      else tmp[t++] = r;
    }
    rows.set(tmp.subarray(0, t), l);
    return l;
  }

  private makeLeaf(tb: TreeBuilder, w: Work): void {
    let G = 0;
    let H = 0;
    const { rows, grad, hess } = this;
    for (let i = w.start; i < w.end; i++) {
      const r = rows[i];
      G += grad[r];
      H += hess[r];
    }
    tb.isLeaf[w.id] = 1;
    this.leaves.push(w.start, w.end, w.id);
    tb.leafValue[w.id] = Math.fround((-this.p.learningRate * G) / Math.max(H + this.p.l2, 1e-300));
  }

  /** Grows one tree on rows[0, m) (the caller fills `rows`). */
  grow(m: number): { tree: Tree; splitBin: Int32Array; leaves: number[] } {
    const tb = new TreeBuilder();
    this.leaves = [];
    let G = 0;
    let H = 0;
    for (let i = 0; i < m; i++) {
      G += this.grad[this.rows[i]];
      H += this.hess[this.rows[i]];
    }
    let level: Work[] = [{ id: tb.add(), start: 0, end: m, G, H, hist: this.buildHist(0, m) }];
    tb.cover[level[0].id] = m;
    for (let depth = 0; depth < this.p.maxDepth && level.length > 0; depth++) {
      const next: Work[] = [];
      for (const w of level) {
        const s = this.bestSplit(w);
        if (s === null) {
          this.makeLeaf(tb, w);
          this.releaseHist(w.hist);
          continue;
        }
        const mid = this.partition(w, s);
        const l = tb.add();
        const r = tb.add();
        tb.isLeaf[w.id] = 0;
        tb.feature[w.id] = s.feature;
        tb.splitBin[w.id] = s.bin;
        const e = this.edges[s.feature];
        tb.threshold[w.id] = s.bin < e.length ? e[s.bin] : Infinity;
        tb.missingLeft[w.id] = s.missingLeft ? 1 : 0;
        tb.left[w.id] = l;
        tb.right[w.id] = r;
        tb.gain[w.id] = s.gain;
        tb.cover[l] = mid - w.start;
        tb.cover[r] = w.end - mid;
        const leftWork: Work = { id: l, start: w.start, end: mid, G: 0, H: 0, hist: w.hist };
        const rightWork: Work = { id: r, start: mid, end: w.end, G: 0, H: 0, hist: w.hist };
        const minSplit = 2 * this.p.minSamplesLeaf;
        if (depth + 1 === this.p.maxDepth || (mid - w.start < minSplit && w.end - mid < minSplit)) {
          // Neither child can split: no histograms needed.
          this.makeLeaf(tb, leftWork);
          this.makeLeaf(tb, rightWork);
          this.releaseHist(w.hist);
          continue;
        }
        // The smaller child gets a fresh histogram; the larger one is parent − smaller.
        const leftSmaller = mid - w.start <= w.end - mid;
        const small = leftSmaller ? this.buildHist(w.start, mid) : this.buildHist(mid, w.end);
        const big = w.hist;
        for (let i = 0; i < big.length; i++) big[i] -= small[i];
        leftWork.hist = leftSmaller ? small : big;
        rightWork.hist = leftSmaller ? big : small;
        const [lG, lH] = sumsOf(leftWork.hist);
        leftWork.G = lG;
        leftWork.H = lH;
        rightWork.G = w.G - lG;
        rightWork.H = w.H - lH;
        next.push(leftWork, rightWork);
      }
      level = next;
    }
    for (const w of level) {
      this.makeLeaf(tb, w);
      this.releaseHist(w.hist);
    }
    return { tree: tb.freeze(), splitBin: Int32Array.from(tb.splitBin), leaves: this.leaves };
  }
}

/** Gradient and hessian totals of a histogram (from feature 0's bins, NaN included). */
function sumsOf(hist: Float64Array): [number, number] {
  let g = 0;
  let h = 0;
  for (let o = 0; o < HIST_STRIDE; o += 3) {
    g += hist[o];
    h += hist[o + 1];
  }
  return [g, h];
}

/** Leaf reached by a binned row. */
function leafOfBinned(tree: Tree, splitBin: Int32Array, bins: Uint8Array, o: number): number {
  let node = 0;
  while (!tree.isLeaf[node]) {
    const b = bins[o + tree.feature[node]];
    const goLeft = b === NAN_BIN ? tree.missingLeft[node] === 1 : b <= splitBin[node];
    node = goLeft ? tree.left[node] : tree.right[node];
  }
  return node;
}

/** Leaf reached by a raw float32 row (ONNX BRANCH_LEQ semantics). */
function leafOf(tree: Tree, X: Float32Array, o: number): number {
  let node = 0;
  while (!tree.isLeaf[node]) {
    const x = X[o + tree.feature[node]];
    node = x <= tree.threshold[node] || (x !== x && tree.missingLeft[node] === 1) ? tree.left[node] : tree.right[node];
  }
  return node;
}

// ---------------------------------------------------------------------------
// Training

/**
 * Trains a binary GBDT on `train`, early-stopping on `valid`'s log-loss.
 * Deterministic for the same inputs and params (seed included).
 */
export function trainGbdt(train: LabelledRows, valid: LabelledRows, nFeatures: number, params?: Partial<GbdtParams>): GbdtModel {
  const p = resolveParams(params);
  if (!Number.isInteger(nFeatures) || nFeatures < 1) throw new StockflowError('BAD_ARGS', `nFeatures must be an integer ≥ 1, got ${nFeatures}`);
  checkRows('training', train, nFeatures);
  checkRows('validation', valid, nFeatures);
  const n = train.n;
  const F = nFeatures;
  if (n === 0) throw new StockflowError('MISSING_INPUT', 'the training set is empty');
  if (valid.n === 0) throw new StockflowError('MISSING_INPUT', 'the validation set is empty');
  let positives = 0;
  for (let i = 0; i < n; i++) positives += train.y[i];
  if (positives === 0 || positives === n) {
    throw new StockflowError('MISSING_INPUT', `the training labels are all ${positives === 0 ? 0 : 1} (${n} rows): nothing to learn`);
  }
  const baseRate = positives / n;
  const baseScore = Math.fround(Math.log(baseRate / (1 - baseRate)));

  const { edges, bins } = binTrainingSet(train.X, n, F, p.maxBins);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const trainScore = new Float64Array(n).fill(baseScore);
  const validScore = new Float64Array(valid.n).fill(baseScore);
  const grower = new Grower(bins, F, edges, grad, hess, p, n);
  const random = mulberry32(p.seed);

  const trees: Tree[] = [];
  const trainLoss: number[] = [];
  const validLoss = [meanLogLoss(valid.y, validScore, valid.n)];
  const sampled = new Uint8Array(n);
  let best = 0;

  for (let t = 0; t < p.nTrees; t++) {
    trainLoss.push(gradients(train.y, trainScore, grad, hess, n));
    let m = 0;
    if (p.subsample < 1) {
      for (let i = 0; i < n; i++) {
        const take = random() < p.subsample;
        sampled[i] = take ? 1 : 0;
        if (take) grower.rows[m++] = i;
      }
      if (m === 0) {
        const i = Math.floor(random() * n);
        sampled[i] = 1;
        grower.rows[m++] = i;
      }
    } else {
      for (let i = 0; i < n; i++) grower.rows[m++] = i;
    }

    const { tree, splitBin, leaves } = grower.grow(m);
    trees.push(tree);
    // Sampled rows: their leaf is known from the partition; the others go down the tree.
    for (let j = 0; j < leaves.length; j += 3) {
      const v = tree.leafValue[leaves[j + 2]];
      for (let i = leaves[j]; i < leaves[j + 1]; i++) trainScore[grower.rows[i]] += v;
    }
    if (m < n) {
      for (let i = 0, o = 0; i < n; i++, o += F) {
        if (!sampled[i]) trainScore[i] += tree.leafValue[leafOfBinned(tree, splitBin, bins, o)];
      }
    }
    for (let i = 0, o = 0; i < valid.n; i++, o += F) validScore[i] += tree.leafValue[leafOf(tree, valid.X, o)];
    const vl = meanLogLoss(valid.y, validScore, valid.n);
    validLoss.push(vl);
    if (vl < validLoss[best]) best = t + 1;
    else if (t + 1 - best >= p.earlyStoppingRounds) break;
  }
  trainLoss.push(meanLogLoss(train.y, trainScore, n));

  return {
    nFeatures: F,
    baseScore,
    trees: trees.slice(0, best),
    bestIteration: best,
    params: p,
    trainLoss,
    validLoss,
  };
}

// ---------------------------------------------------------------------------
// Prediction

/** Raw logit scores, computed as onnxruntime does (float32 sums in tree order, then + base score). */
export function predictLogit(model: GbdtModel, X: Float32Array, n: number): Float64Array {
  const F = model.nFeatures;
  if (!Number.isInteger(n) || n < 0 || X.length !== n * F) {
    throw new StockflowError('BAD_ARGS', `X has ${X.length} values, expected ${n} rows × ${F} features`);
  }
  const out = new Float64Array(n);
  const base = Math.fround(model.baseScore);
  for (let i = 0, o = 0; i < n; i++, o += F) {
    let s = 0;
    for (const tree of model.trees) s = Math.fround(s + tree.leafValue[leafOf(tree, X, o)]);
    out[i] = Math.fround(s + base);
  }
  return out;
}

/** P(y = 1) per row of row-major X [n, nFeatures]. */
export function predictProba(model: GbdtModel, X: Float32Array, n: number): Float64Array {
  const z = predictLogit(model, X, n);
  for (let i = 0; i < n; i++) z[i] = sigmoid(z[i]);
  return z;
}

/** Total split gain per feature over the kept trees, normalised to sum 1 (all 0 when there is no split). */
export function featureImportance(model: GbdtModel): Float64Array {
  const imp = new Float64Array(model.nFeatures);
  for (const tree of model.trees) {
    for (let j = 0; j < tree.feature.length; j++) if (!tree.isLeaf[j]) imp[tree.feature[j]] += tree.gain[j];
  }
  let total = 0;
  for (const v of imp) total += v;
  if (total > 0) for (let f = 0; f < imp.length; f++) imp[f] /= total;
  return imp;
}
