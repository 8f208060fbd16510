/**
 * Reading a model's ONNX graph back into a plain form the explainer can walk:
 * a binary `ai.onnx.ml.TreeEnsembleClassifier` becomes a {@link TreeEnsemble},
 * a binary `ai.onnx.ml.LinearClassifier` a {@link LinearForm}. Anything else
 * (several nodes, other operators, multi-class scores) is reported as
 * `{ kind: 'other', reason }`, never guessed at.
 *
 * Semantics, as onnxruntime (1.x, `tree_ensemble_aggregator.h`) applies them:
 * - A split node sends a row to its true child when `x CMP threshold` holds
 *   (CMP by `nodes_modes`: ≤, <, ≥, >, ==, ≠) or when x is NaN and
 *   `nodes_missing_value_tracks_true` is 1; otherwise to the false child. A
 *   NaN under BRANCH_NEQ therefore always goes true (NaN ≠ t holds).
 * - Thresholds and inputs are float32; leaf weights are float32 and a leaf's
 *   score is the sum of its class weights.
 * - Binary case (two class labels, every class weight on the same class id):
 *   onnxruntime sums s = base_values[0] + Σ leaf scores and outputs
 *   probabilities [σ(−s), σ(s)] under LOGISTIC (or [−s, s] / [1 − s, s] under
 *   NONE). With the weights on class id 1 instead, the base value is not part
 *   of s (measured; the exporter's comment says the same). stockflow's
 *   exporter writes class id 0 (src/model/onnx/export.ts).
 * - `nodes_hitrates`, when present, holds per-node covers (see docs/models.md:
 *   stockflow's trainer writes the number of training rows through each node).
 */
import { createRequire } from 'node:module';
import type { onnx as OnnxTypes } from 'onnx-proto';

/**
 * onnx-proto (protobufjs and the generated ONNX schema, a CommonJS package: ≈ 80 ms of CPU to load) is
 * required by the first decode, not with this module: the batch imports this module's modes and tree
 * helpers with its pipeline, before "batch started", and decodes the model only for the explain stage.
 */
const require = createRequire(import.meta.url);
let onnxNamespace: typeof OnnxTypes | undefined;
const onnxOf = (): typeof OnnxTypes => (onnxNamespace ??= (require('onnx-proto') as { onnx: typeof OnnxTypes }).onnx);
const utf8 = new TextDecoder();

/** Split modes in the ONNX order; LEAF marks a leaf. */
export const BRANCH_MODES = ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ', 'LEAF'] as const;
export type BranchMode = (typeof BRANCH_MODES)[number];
/** Numeric codes of {@link BRANCH_MODES} (index in that list). */
export const MODE_LEQ = 0;
export const MODE_LT = 1;
export const MODE_GTE = 2;
export const MODE_GT = 3;
export const MODE_EQ = 4;
export const MODE_NEQ = 5;
export const MODE_LEAF = 6;

export type PostTransform = 'NONE' | 'LOGISTIC';

/**
 * One tree as flat arrays indexed by node position (0 = root). Children are
 * positions in the same arrays (−1 at leaves).
 */
export interface PlainTree {
  /** Mode code (MODE_LEQ … MODE_LEAF). */
  mode: Uint8Array;
  /** Split feature (−1 at leaves). */
  feature: Int32Array;
  /** Split threshold (float32 values). */
  threshold: Float32Array;
  trueChild: Int32Array;
  falseChild: Int32Array;
  /** 1 when a NaN input goes to the true child. */
  missingTrue: Uint8Array;
  /** Leaf score for the positive class's margin (sum of the leaf's class weights); 0 at splits. */
  value: Float64Array;
  /** Per-node cover from `nodes_hitrates`, or null when the model has none. */
  cover: Float64Array | null;
  /** Longest root-to-leaf path, in splits. */
  depth: number;
}

export interface TreeEnsemble {
  kind: 'trees';
  nFeatures: number;
  /** Added to the sum of leaf scores: the margin's constant. */
  base: number;
  postTransform: PostTransform;
  trees: PlainTree[];
  /** True when every tree carries consistent `nodes_hitrates` covers. */
  hasCovers: boolean;
}

export interface LinearForm {
  kind: 'linear';
  nFeatures: number;
  /** margin = intercept + Σ coef[f]·x[f]. */
  coef: Float64Array;
  intercept: number;
  postTransform: PostTransform;
}

export interface OtherForm {
  kind: 'other';
  /** Why the graph is not one of the forms above. */
  reason: string;
}

export type ModelForm = TreeEnsemble | LinearForm | OtherForm;

type Attrs = Map<string, OnnxTypes.IAttributeProto>;

const nums = (a: Attrs, name: string): number[] | undefined => {
  const at = a.get(name);
  if (!at) return undefined;
  if (at.floats && at.floats.length > 0) return at.floats.map(Number);
  if (at.ints && at.ints.length > 0) return at.ints.map(Number);
  return [];
};
/** A FLOATS attribute, or its `<name>_as_tensor` form (ai.onnx.ml opset 3): float or double tensor. */
const floatsOf = (a: Attrs, name: string): number[] | undefined => {
  const direct = nums(a, name);
  if (direct && direct.length > 0) return direct;
  const t = a.get(`${name}_as_tensor`)?.t;
  if (!t) return direct;
  const DT = onnxOf().TensorProto.DataType;
  if (t.floatData && t.floatData.length > 0) return t.floatData.map(Number);
  if (t.doubleData && t.doubleData.length > 0) return t.doubleData.map(Number);
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
    if (t.dataType === DT.FLOAT) return Array.from(new Float32Array(buf));
    if (t.dataType === DT.DOUBLE) return Array.from(new Float64Array(buf));
  }
  return [];
};
const strs = (a: Attrs, name: string): string[] | undefined => a.get(name)?.strings?.map((s) => utf8.decode(s));
const str = (a: Attrs, name: string): string | undefined => {
  const s = a.get(name)?.s;
  return s && s.length > 0 ? utf8.decode(s) : undefined;
};

function inputWidth(graph: OnnxTypes.IGraphProto): number | null {
  const dims = graph.input?.[0]?.type?.tensorType?.shape?.dim;
  if (!dims || dims.length !== 2) return null;
  const d = dims[1];
  const v = d.dimValue === undefined || d.dimValue === null ? NaN : Number(d.dimValue);
  return Number.isInteger(v) && v > 0 ? v : null;
}

function postTransformOf(a: Attrs): PostTransform | string {
  const p = str(a, 'post_transform') ?? 'NONE';
  return p === 'NONE' || p === 'LOGISTIC' ? p : `post_transform ${p} is not supported (NONE or LOGISTIC)`;
}

/** Decodes ONNX model bytes into a {@link ModelForm}. Throws only on bytes that are not a ModelProto. */
export function readModelForm(bytes: Uint8Array): ModelForm {
  const proto = onnxOf().ModelProto.decode(bytes);
  const graph = proto.graph;
  if (!graph) return { kind: 'other', reason: 'the ONNX model has no graph' };
  const nodes = graph.node ?? [];
  if (nodes.length !== 1) return { kind: 'other', reason: `the graph has ${nodes.length} nodes (one TreeEnsembleClassifier or LinearClassifier expected)` };
  const node = nodes[0];
  const attrs: Attrs = new Map((node.attribute ?? []).map((x) => [x.name ?? '', x]));
  const F = inputWidth(graph);
  if (F === null) return { kind: 'other', reason: 'the graph input is not [N, nFeatures] with a fixed feature count' };
  if (node.domain === 'ai.onnx.ml' && node.opType === 'TreeEnsembleClassifier') return readTrees(attrs, F);
  if (node.domain === 'ai.onnx.ml' && node.opType === 'LinearClassifier') return readLinear(attrs, F);
  return { kind: 'other', reason: `operator ${node.domain ?? ''}.${node.opType ?? '?'} has no explainer` };
}

function classCount(a: Attrs): number {
  return (nums(a, 'classlabels_int64s') ?? []).length || (strs(a, 'classlabels_strings') ?? []).length;
}

function readLinear(a: Attrs, F: number): ModelForm {
  const post = postTransformOf(a);
  if (post !== 'NONE' && post !== 'LOGISTIC') return { kind: 'other', reason: post };
  const labels = (nums(a, 'classlabels_ints') ?? []).length || (strs(a, 'classlabels_strings') ?? []).length;
  const coef = nums(a, 'coefficients') ?? [];
  const intercepts = nums(a, 'intercepts') ?? [];
  if (labels !== 2 || coef.length !== F || intercepts.length > 1) {
    return { kind: 'other', reason: `LinearClassifier with ${labels} labels and ${coef.length / F} score rows: only the binary single-score form is explained` };
  }
  return { kind: 'linear', nFeatures: F, coef: Float64Array.from(coef, Math.fround), intercept: Math.fround(intercepts[0] ?? 0), postTransform: post };
}

function readTrees(a: Attrs, F: number): ModelForm {
  const post = postTransformOf(a);
  if (post !== 'NONE' && post !== 'LOGISTIC') return { kind: 'other', reason: post };
  if (classCount(a) !== 2) return { kind: 'other', reason: `TreeEnsembleClassifier with ${classCount(a)} classes: only binary models are explained` };
  const treeIds = nums(a, 'nodes_treeids') ?? [];
  const nodeIds = nums(a, 'nodes_nodeids') ?? [];
  const featureIds = nums(a, 'nodes_featureids') ?? [];
  const values = floatsOf(a, 'nodes_values') ?? [];
  const modes = strs(a, 'nodes_modes') ?? [];
  const trueIds = nums(a, 'nodes_truenodeids') ?? [];
  const falseIds = nums(a, 'nodes_falsenodeids') ?? [];
  const missing = nums(a, 'nodes_missing_value_tracks_true') ?? [];
  const hitrates = floatsOf(a, 'nodes_hitrates') ?? [];
  const cTree = nums(a, 'class_treeids') ?? [];
  const cNode = nums(a, 'class_nodeids') ?? [];
  const cId = nums(a, 'class_ids') ?? [];
  const cWeight = floatsOf(a, 'class_weights') ?? [];
  const baseValues = floatsOf(a, 'base_values') ?? [];
  const n = treeIds.length;
  if ([nodeIds, featureIds, values, modes, trueIds, falseIds].some((x) => x.length !== n)) return { kind: 'other', reason: 'the tree node attributes differ in length' };
  if (missing.length !== 0 && missing.length !== n) return { kind: 'other', reason: 'nodes_missing_value_tracks_true has the wrong length' };
  if ([cNode, cId, cWeight].some((x) => x.length !== cTree.length)) return { kind: 'other', reason: 'the class weight attributes differ in length' };
  if (new Set(cId).size > 1) return { kind: 'other', reason: 'class weights on both classes: the positive margin is not a single score' };
  if (baseValues.length > 1) return { kind: 'other', reason: `${baseValues.length} base values: only the single-score binary form is explained` };

  // Group nodes by tree, in order of first appearance of the tree id.
  const byTree = new Map<number, Map<number, number>>();
  for (let i = 0; i < n; i++) {
    let m = byTree.get(treeIds[i]);
    if (!m) byTree.set(treeIds[i], (m = new Map()));
    if (m.has(nodeIds[i])) return { kind: 'other', reason: `tree ${treeIds[i]} repeats node ${nodeIds[i]}` };
    m.set(nodeIds[i], i);
  }
  const leafScore = new Map<string, number>();
  for (let k = 0; k < cTree.length; k++) {
    const key = `${cTree[k]}:${cNode[k]}`;
    leafScore.set(key, (leafScore.get(key) ?? 0) + Math.fround(cWeight[k]));
  }
  const trees: PlainTree[] = [];
  let hasCovers = hitrates.length === n;
  for (const [tid, m] of byTree) {
    // Positions: BFS from the node with id 0 (the root in every converter's encoding).
    const rootIdx = m.get(0);
    if (rootIdx === undefined) return { kind: 'other', reason: `tree ${tid} has no node 0` };
    const order: number[] = [rootIdx];
    const pos = new Map<number, number>([[rootIdx, 0]]);
    for (let q = 0; q < order.length; q++) {
      const i = order[q];
      if (modes[i] === 'LEAF') continue;
      for (const child of [trueIds[i], falseIds[i]]) {
        const ci = m.get(child);
        if (ci === undefined) return { kind: 'other', reason: `tree ${tid} node ${nodeIds[i]} points at missing node ${child}` };
        if (pos.has(ci)) return { kind: 'other', reason: `tree ${tid} is not a tree (node ${child} reached twice)` };
        pos.set(ci, order.length);
        order.push(ci);
      }
    }
    const size = order.length;
    const t: PlainTree = {
      mode: new Uint8Array(size),
      feature: new Int32Array(size).fill(-1),
      threshold: new Float32Array(size),
      trueChild: new Int32Array(size).fill(-1),
      falseChild: new Int32Array(size).fill(-1),
      missingTrue: new Uint8Array(size),
      value: new Float64Array(size),
      cover: hitrates.length === n ? new Float64Array(size) : null,
      depth: 0,
    };
    const depthOf = new Int32Array(size);
    for (let p = 0; p < size; p++) {
      const i = order[p];
      const code = BRANCH_MODES.indexOf(modes[i] as BranchMode);
      if (code < 0) return { kind: 'other', reason: `tree ${tid} node ${nodeIds[i]} has unknown mode ${modes[i]}` };
      t.mode[p] = code;
      if (t.cover) t.cover[p] = hitrates[i];
      if (code === MODE_LEAF) {
        t.value[p] = leafScore.get(`${tid}:${nodeIds[i]}`) ?? 0;
        t.depth = Math.max(t.depth, depthOf[p]);
        continue;
      }
      const f = featureIds[i];
      if (!Number.isInteger(f) || f < 0 || f >= F) return { kind: 'other', reason: `tree ${tid} node ${nodeIds[i]} splits on feature ${f} of ${F}` };
      t.feature[p] = f;
      t.threshold[p] = values[i];
      t.missingTrue[p] = missing.length === n && missing[i] ? 1 : 0;
      t.trueChild[p] = pos.get(m.get(trueIds[i]) as number) as number;
      t.falseChild[p] = pos.get(m.get(falseIds[i]) as number) as number;
      depthOf[t.trueChild[p]] = depthOf[p] + 1;
      depthOf[t.falseChild[p]] = depthOf[p] + 1;
    }
    if (t.cover && !coversConsistent(t)) hasCovers = false;
    trees.push(t);
  }
  if (!hasCovers) for (const t of trees) t.cover = null;
  // Measured on onnxruntime-node 1.30: with the weights on class id 1, the single base value goes to
  // the other class and the positive margin is the leaf sum alone (test/treeshap.test.ts checks both ids).
  const base = cId.length > 0 && cId[0] === 1 ? 0 : Math.fround(baseValues[0] ?? 0);
  return { kind: 'trees', nFeatures: F, base, postTransform: post, trees, hasCovers };
}

/**
 * Covers are usable when every cover is finite and ≥ 0, the root's is > 0 and
 * each split's equals the sum of its children's (to 1e-6 relative: float32 counts).
 */
export function coversConsistent(t: PlainTree): boolean {
  const c = t.cover;
  if (!c || !(c[0] > 0)) return false;
  for (let p = 0; p < c.length; p++) {
    if (!Number.isFinite(c[p]) || c[p] < 0) return false;
    if (t.mode[p] === MODE_LEAF) continue;
    const s = c[t.trueChild[p]] + c[t.falseChild[p]];
    if (Math.abs(s - c[p]) > 1e-6 * Math.max(c[p], 1)) return false;
  }
  return true;
}

/** True when a row with value x at this split goes to the true child (onnxruntime's rule). */
export function goesTrue(mode: number, x: number, threshold: number, missingTrue: number): boolean {
  if (missingTrue && x !== x) return true;
  switch (mode) {
    case MODE_LEQ:
      return x <= threshold;
    case MODE_LT:
      return x < threshold;
    case MODE_GTE:
      return x >= threshold;
    case MODE_GT:
      return x > threshold;
    case MODE_EQ:
      return x === threshold;
    default:
      return x !== threshold;
  }
}

/** The leaf position row `x` (at offset `o` of a row-major array) reaches in tree `t`. */
export function leafOf(t: PlainTree, X: Float32Array | Float64Array, o: number): number {
  let p = 0;
  while (t.mode[p] !== MODE_LEAF) p = goesTrue(t.mode[p], X[o + t.feature[p]], t.threshold[p], t.missingTrue[p]) ? t.trueChild[p] : t.falseChild[p];
  return p;
}

/** The probability a margin maps to under the model's post-transform. */
export function applyPostTransform(post: PostTransform, margin: number): number {
  return post === 'LOGISTIC' ? 1 / (1 + Math.exp(-margin)) : margin;
}
