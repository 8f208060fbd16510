/**
 * Explanations of a model's margin (log-odds), one additive contribution per
 * feature: `base + Σ values[f] = margin` for every row, and the probability is
 * the post-transform (σ under LOGISTIC) of the margin.
 *
 * - Tree ensembles: exact path-dependent TreeSHAP (./treeshap.ts) over node
 *   covers. Covers come from the model's `nodes_hitrates` when it has
 *   consistent ones (`coverSource: 'model'`: stockflow's trainer records the
 *   training-row count of each node), else from a background sample of feature
 *   rows passed through the trees (`coverSource: 'background'`).
 * - LinearClassifier: values = coef × (x − mean), base = the margin at the
 *   mean, the mean taken over the background sample (NaN cells skipped per
 *   feature; a NaN input cell contributes 0, i.e. it is treated as the mean).
 * - Anything else, or a tree model with neither covers nor background, or a
 *   linear one without background: {@link ExplanationUnavailable}.
 */
import { applyPostTransform, leafOf, readModelForm, MODE_LEAF, type LinearForm, type ModelForm, type PostTransform, type TreeEnsemble } from '../onnx/read.js';
import { PathBuffers, treeExpectation, treeShap } from './treeshap.js';
import { buildTables, tableShapRows, tableSize, type TreeTables } from './tables.js';

export { readModelForm } from '../onnx/read.js';
export type { ModelForm, TreeEnsemble, LinearForm, PlainTree, PostTransform } from '../onnx/read.js';

/** The model cannot be explained; `reason` is one phrase for a user ("explanations unavailable for this model: …"). */
export class ExplanationUnavailable extends Error {
  /** Stable error code for APIs (HTTP 422). */
  readonly code = 'EXPLANATION_UNAVAILABLE';
  constructor(readonly reason: string) {
    super(`explanations unavailable for this model: ${reason}`);
    this.name = 'ExplanationUnavailable';
  }
}

/** Row-major feature rows [n, nFeatures] (NaN allowed). */
export interface FeatureRows {
  X: Float32Array;
  n: number;
}

export interface ExplainerOptions {
  /**
   * Background rows: covers for a tree model without `nodes_hitrates`, the
   * mean for a linear model. Ignored for a tree model with its own covers.
   */
  background?: FeatureRows;
  /**
   * How tree values are computed (both exact, the same numbers to rounding):
   * 'recursive' is Algorithm 2 of Lundberg et al. (O(leaves · depth²) per tree
   * and row); 'tables' precomputes per-leaf tables once (Σ 2^k·k doubles per
   * tree, k = distinct features on a leaf's path) and then costs
   * O(splits + leaves · depth) per tree and row. 'auto' (the default) takes
   * 'tables' when they fit in {@link TABLE_BUDGET} doubles.
   */
  algorithm?: 'auto' | 'recursive' | 'tables';
  /**
   * Per-tree covers computed earlier from `coverRows` background rows (an
   * explainer's {@link Explainer.share}, handed to another thread): used
   * instead of `background` for a tree model without covers of its own, so
   * every thread explains with the very same covers.
   */
  covers?: { covers: readonly Float64Array[]; rows: number };
  /** The per-tree tables an explainer of the same trees and covers built ({@link Explainer.share}): not built again. */
  tables?: readonly (TreeTables | null)[];
}

/** Table entries (float64) 'auto' allows for the whole model: 4 Mi = 32 MiB. */
export const TABLE_BUDGET = 4 * 1024 * 1024;

export interface Explanation {
  /** Where the covers (tree model) or the mean (linear model) came from. */
  coverSource: CoverSource;
  /** Expected margin (over covers, or at the background mean): the same for every row. */
  base: number;
  /** n × nFeatures contributions in margin (log-odds) space, row-major. */
  values: Float64Array;
  /** Per row: base + Σ values (the model's margin, computed in float64 from its leaves or coefficients). */
  margin: Float64Array;
  /** Per row: the post-transform of the margin (σ(margin) under LOGISTIC). */
  probability: Float64Array;
}

export type CoverSource = 'model' | 'background';

export interface Explainer {
  readonly kind: 'trees' | 'linear';
  readonly nFeatures: number;
  /** Where the tree covers (or the linear mean) came from. */
  readonly coverSource: CoverSource;
  /** Number of background rows used (0 when coverSource is 'model'). */
  readonly backgroundRows: number;
  readonly postTransform: PostTransform;
  /** The tree algorithm in use ('closed-form' for a linear model). */
  readonly algorithm: 'recursive' | 'tables' | 'closed-form';
  /** Expected margin: the `base` of every explanation. */
  readonly base: number;
  /** Explains rows X [n, nFeatures] (row-major float32, NaN allowed). Throws RangeError on a shape mismatch. */
  explain(X: Float32Array, n: number): Explanation;
  /**
   * What another thread needs to build the same explainer (structured-clonable: the decoded trees and
   * the covers in use), for a tree model; undefined for a linear one. Each row's explanation depends on
   * that row alone, so rows split across threads explain exactly as on one.
   */
  share(): SharedExplainer | undefined;
}

/** A tree explainer's form and covers, to rebuild it on another thread with {@link explainerFromShared}. */
export interface SharedExplainer {
  model: TreeEnsemble;
  covers: readonly Float64Array[];
  coverSource: CoverSource;
  backgroundRows: number;
  algorithm: 'recursive' | 'tables';
  /** The tables in use ('tables' algorithm), per tree (null for a single-leaf tree). */
  tables: readonly (TreeTables | null)[];
}

function checkRows(X: Float32Array, n: number, F: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || X.length !== n * F) throw new RangeError(`${what}: ${X.length} values for ${n} rows × ${F} features`);
}

/**
 * Per-tree covers from background rows: the number of rows reaching each node
 * (each split's cover is the sum of its children's). Rows are routed by the
 * model's own split rule (branch modes, missing-value direction).
 */
export function backgroundCovers(model: TreeEnsemble, background: FeatureRows): Float64Array[] {
  checkRows(background.X, background.n, model.nFeatures, 'background');
  return backgroundCoversOf(model, background.X, 0, background.n);
}

/**
 * Adds the counts of background rows [from, to) of X (row-major, nFeatures a row) to `into` (one array per
 * tree, a slot per node; zeros by default) and returns it. Counts are integers: counted in parts (rows split
 * between threads) and summed, they are exactly {@link backgroundCovers}' in any order.
 */
export function backgroundCoversOf(
  model: TreeEnsemble,
  X: Float32Array,
  from: number,
  to: number,
  into: Float64Array[] = model.trees.map((t) => new Float64Array(t.mode.length)),
): Float64Array[] {
  const F = model.nFeatures;
  model.trees.forEach((t, k) => {
    const c = into[k];
    for (let i = from, o = from * F; i < to; i++, o += F) {
      let p = 0;
      c[0] += 1;
      while (t.mode[p] !== MODE_LEAF) {
        const x = X[o + t.feature[p]];
        const tr = t.missingTrue[p] && x !== x ? true : undefined;
        p = (tr ?? leafStep(t.mode[p], x, t.threshold[p])) ? t.trueChild[p] : t.falseChild[p];
        c[p] += 1;
      }
    }
  });
  return into;
}

/** Whether an explainer of `model` uses per-tree tables (ExplainerOptions.algorithm; 'auto': when they fit in {@link TABLE_BUDGET}). */
export function usesTables(model: TreeEnsemble, algorithm: ExplainerOptions['algorithm'] = 'auto'): boolean {
  if (algorithm !== 'auto') return algorithm === 'tables';
  const maxDepth = model.trees.reduce((m, t) => Math.max(m, t.depth), 0);
  let size = 0;
  for (const t of model.trees) if ((size += tableSize(t)) > TABLE_BUDGET) break;
  return size <= TABLE_BUDGET && maxDepth <= 24;
}

/** Tree k's tables over its covers (null for a single-leaf tree): what an explainer using tables holds for it. */
export function treeTables(model: TreeEnsemble, k: number, cover: Float64Array): TreeTables | null {
  const t = model.trees[k];
  return t.mode[0] === MODE_LEAF ? null : buildTables(t, cover);
}

/**
 * What a tree explainer computes from its background rows, computed elsewhere (the batch's pool: rows and
 * trees split between threads, src/model/explain/parallel.ts): the covers of `rows` background rows and,
 * when the explainer uses tables, every tree's tables over them. Handed to {@link explainer} as
 * ExplainerOptions.covers and .tables.
 */
export interface Prebuilt {
  covers: Float64Array[];
  rows: number;
  tables?: (TreeTables | null)[];
}

// goesTrue without the missing test (done by the caller), kept local for the hot loop.
function leafStep(mode: number, x: number, th: number): boolean {
  switch (mode) {
    case 0:
      return x <= th;
    case 1:
      return x < th;
    case 2:
      return x >= th;
    case 3:
      return x > th;
    case 4:
      return x === th;
    default:
      return x !== th;
  }
}

function treeExplainer(model: TreeEnsemble, o: ExplainerOptions): Explainer {
  let covers: Float64Array[];
  let coverSource: CoverSource;
  let backgroundRows = 0;
  if (model.hasCovers) {
    covers = model.trees.map((t) => t.cover as Float64Array);
    coverSource = 'model';
  } else if (o.covers) {
    if (o.covers.covers.length !== model.trees.length) throw new RangeError(`covers: ${o.covers.covers.length} trees for ${model.trees.length}`);
    covers = [...o.covers.covers];
    coverSource = 'background';
    backgroundRows = o.covers.rows;
  } else if (o.background && o.background.n > 0) {
    covers = backgroundCovers(model, o.background);
    coverSource = 'background';
    backgroundRows = o.background.n;
  } else {
    throw new ExplanationUnavailable('the trees carry no node covers and no background rows were given to compute them');
  }
  const F = model.nFeatures;
  let base = model.base;
  for (let k = 0; k < model.trees.length; k++) base += treeExpectation(model.trees[k], covers[k]);
  const maxDepth = model.trees.reduce((m, t) => Math.max(m, t.depth), 0);
  const buf = new PathBuffers(maxDepth);
  const useTables = usesTables(model, o.algorithm);
  const tables: readonly (TreeTables | null)[] = !useTables
    ? []
    : o.tables && o.tables.length === model.trees.length
      ? o.tables
      : model.trees.map((_, k) => treeTables(model, k, covers[k]));
  const dis = new Int32Array(model.trees.reduce((m, t) => Math.max(m, t.mode.length), 0));
  return {
    kind: 'trees',
    nFeatures: F,
    coverSource,
    backgroundRows,
    postTransform: model.postTransform,
    algorithm: useTables ? 'tables' : 'recursive',
    base,
    share: () => ({ model, covers, coverSource, backgroundRows, algorithm: useTables ? 'tables' : 'recursive', tables }),
    explain(X: Float32Array, n: number): Explanation {
      checkRows(X, n, F, 'explain');
      const values = new Float64Array(n * F);
      const margin = new Float64Array(n);
      const probability = new Float64Array(n);
      margin.fill(model.base);
      // Tree-major order: one tree's tables stay in cache while every row passes through it.
      // Each row still receives its trees' contributions in tree order (the same sums as row-major).
      for (let k = 0; k < model.trees.length; k++) {
        const t = model.trees[k];
        const tb = useTables ? tables[k] : null;
        if (tb) {
          tableShapRows(tb, X, n, F, values, margin, dis);
          continue;
        }
        const split = t.mode[0] !== MODE_LEAF;
        for (let i = 0, off = 0; i < n; i++, off += F) {
          margin[i] += t.value[leafOf(t, X, off)];
          if (split) treeShap(t, covers[k], X, off, values, off, buf);
        }
      }
      for (let i = 0; i < n; i++) probability[i] = applyPostTransform(model.postTransform, margin[i]);
      return { coverSource, base, values, margin, probability };
    },
  };
}

function linearExplainer(model: LinearForm, o: ExplainerOptions): Explainer {
  const F = model.nFeatures;
  const coverSource: CoverSource = 'background';
  const bg = o.background;
  if (!bg || bg.n === 0) throw new ExplanationUnavailable('a linear model needs background rows for its feature means');
  checkRows(bg.X, bg.n, F, 'background');
  const mean = new Float64Array(F);
  const count = new Float64Array(F);
  for (let i = 0, off = 0; i < bg.n; i++, off += F) {
    for (let f = 0; f < F; f++) {
      const x = bg.X[off + f];
      if (x === x) {
        mean[f] += x;
        count[f]++;
      }
    }
  }
  for (let f = 0; f < F; f++) mean[f] = count[f] > 0 ? mean[f] / count[f] : 0;
  let base = model.intercept;
  for (let f = 0; f < F; f++) base += model.coef[f] * mean[f];
  return {
    kind: 'linear',
    nFeatures: F,
    coverSource: 'background',
    backgroundRows: bg.n,
    postTransform: model.postTransform,
    algorithm: 'closed-form',
    base,
    share: () => undefined,
    explain(X: Float32Array, n: number): Explanation {
      checkRows(X, n, F, 'explain');
      const values = new Float64Array(n * F);
      const margin = new Float64Array(n);
      const probability = new Float64Array(n);
      for (let i = 0, off = 0; i < n; i++, off += F) {
        let m = base;
        for (let f = 0; f < F; f++) {
          const x = X[off + f];
          const v = x === x ? model.coef[f] * (x - mean[f]) : 0;
          values[off + f] = v;
          m += v;
        }
        margin[i] = m;
        probability[i] = applyPostTransform(model.postTransform, m);
      }
      return { coverSource, base, values, margin, probability };
    },
  };
}

/** An explainer for a decoded model form; throws {@link ExplanationUnavailable} when there is none. */
export function explainer(model: ModelForm, options: ExplainerOptions = {}): Explainer {
  if (model.kind === 'trees') return treeExplainer(model, options);
  if (model.kind === 'linear') return linearExplainer(model, options);
  throw new ExplanationUnavailable(model.reason);
}

/** The explainer another thread shared ({@link Explainer.share}): the same trees, covers and algorithm. */
export function explainerFromShared(s: SharedExplainer): Explainer {
  return treeExplainer(s.model, {
    covers: s.coverSource === 'background' ? { covers: s.covers, rows: s.backgroundRows } : undefined,
    algorithm: s.algorithm,
    tables: s.tables,
  });
}

/** {@link explainer} over ONNX model bytes (model.onnx); bytes that are not ONNX give ExplanationUnavailable too. */
export function explainerFromOnnx(bytes: Uint8Array, options: ExplainerOptions = {}): Explainer {
  let form: ModelForm;
  try {
    form = readModelForm(bytes);
  } catch (e) {
    throw new ExplanationUnavailable(`the ONNX bytes do not decode (${e instanceof Error ? e.message : String(e)})`);
  }
  return explainer(form, options);
}
