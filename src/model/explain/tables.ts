/**
 * The same path-dependent TreeSHAP values as ./treeshap.ts (Algorithm 2),
 * computed from per-leaf tables precomputed once per model (the "v2"
 * reorganisation of Yang 2021, "Fast TreeSHAP"), which is what makes
 * explaining the whole market fast.
 *
 * Why it is exact: for one leaf l with value v, let U be the distinct features
 * split on along its path (k of them). For a feature j ∈ U let z_j be the
 * product of cover ratios cover(child)/cover(node) along the path at splits on
 * j, and o_j ∈ {0, 1} whether x takes the path's direction at every split on
 * j. The leaf's share of the path-dependent expectation is
 * v · Π_{j∈U} (j ∈ S ? o_j : z_j), a product game whose Shapley values are
 *   φ_j = v · (o_j − z_j) · Σ_{S ⊆ A∖{j}} |S|!(k−|S|−1)!/k! · Π_{i∈U∖S∖{j}} z_i,
 * with A = {i : o_i = 1} (a term with an i ∈ S, o_i = 0 vanishes). The z's do
 * not depend on x, so φ(A) is tabulated for all 2^k agreement masks A; a row
 * then costs one comparison per split and a table look-up per leaf.
 */
import { MODE_LEAF, MODE_LEQ, goesTrue, type PlainTree } from '../onnx/read.js';

export interface TreeTables {
  /**
   * The split nodes in preorder (true child first: a node comes before its children), as
   * parallel arrays: position, feature, threshold, mode, NaN-goes-true, both children, and
   * the node's slot: the index of its feature among the distinct features of the path from
   * the root to it (in order of first appearance), the same slot every leaf below it uses.
   */
  splitNode: Int32Array;
  splitFeature: Int32Array;
  splitThreshold: Float32Array;
  splitMode: Uint8Array;
  splitMissingTrue: Uint8Array;
  splitTrue: Int32Array;
  splitFalse: Int32Array;
  splitSlot: Uint8Array;
  /** Every split is BRANCH_LEQ (what stockflow's exporter writes): the row loop compares inline. */
  allLeq: boolean;
  /** Nodes in the tree (the size of the per-row scratch {@link tableShapRows} needs). */
  nodes: number;
  /** Per leaf (in the same preorder): its position, its number of distinct features k, and the features (slot → feature) from slotStart[l]. */
  leafNode: Int32Array;
  leafK: Uint8Array;
  slotStart: Int32Array;
  slotFeature: Int32Array;
  /** Per leaf: offset of its table (2^k masks × k values). */
  tableStart: Int32Array;
  table: Float64Array;
  /** Per leaf: its value (the margin share when a row reaches it). */
  leafValue: Float64Array;
}

/** Table entries (doubles) a tree would need: Σ over leaves of 2^k · k. */
export function tableSize(t: PlainTree): number {
  let total = 0;
  const walk = (p: number, feats: number[]): void => {
    if (t.mode[p] === MODE_LEAF) {
      const k = new Set(feats).size;
      total += (1 << k) * k;
      return;
    }
    feats.push(t.feature[p]);
    walk(t.trueChild[p], feats);
    walk(t.falseChild[p], feats);
    feats.pop();
  };
  walk(0, []);
  return total;
}

/** The most distinct features on one leaf's path the tables allow (2^k · k doubles per leaf; slots are bits of an int32). */
export const MAX_TABLE_K = 24;

export function buildTables(t: PlainTree, cover: Float64Array): TreeTables {
  const splitNode: number[] = [];
  const splitSlot: number[] = [];
  const leafNode: number[] = [];
  const leafK: number[] = [];
  const slotStart: number[] = [0];
  const slotFeature: number[] = [];
  const tableStart: number[] = [];
  const leafValue: number[] = [];
  let allLeq = true;
  const fact = [1];
  for (let i = 1; i <= 64; i++) fact.push(fact[i - 1] * i);
  // First pass: the leaves' paths, to size the table.
  interface Leaf {
    v: number;
    feats: number[];
    z: number[];
  }
  const leaves: Leaf[] = [];
  const path: { feature: number; ratio: number }[] = [];
  const prefix: number[] = [];
  const walk = (p: number): void => {
    if (t.mode[p] !== MODE_LEAF) {
      const f = t.feature[p];
      let slot = prefix.indexOf(f);
      const added = slot < 0;
      if (added) {
        slot = prefix.length;
        prefix.push(f);
      }
      if (slot >= MAX_TABLE_K) throw new RangeError(`tables: a path with more than ${MAX_TABLE_K} distinct features`);
      splitNode.push(p);
      splitSlot.push(slot);
      if (t.mode[p] !== MODE_LEQ) allLeq = false;
      const c = cover[p];
      for (const dir of [1, 0]) {
        const child = dir ? t.trueChild[p] : t.falseChild[p];
        path.push({ feature: f, ratio: c > 0 ? cover[child] / c : 0 });
        walk(child);
        path.pop();
      }
      if (added) prefix.pop();
      return;
    }
    const feats: number[] = [];
    const z: number[] = [];
    for (const s of path) {
      let slot = feats.indexOf(s.feature);
      if (slot < 0) {
        slot = feats.length;
        feats.push(s.feature);
        z.push(1);
      }
      z[slot] *= s.ratio;
    }
    leaves.push({ v: t.value[p], feats, z });
    leafNode.push(p);
  };
  walk(0);
  let size = 0;
  for (const l of leaves) size += (1 << l.feats.length) * l.feats.length;
  const table = new Float64Array(size);
  let at = 0;
  for (const { v, feats, z } of leaves) {
    const k = feats.length;
    leafValue.push(v);
    leafK.push(k);
    slotFeature.push(...feats);
    slotStart.push(slotFeature.length);
    tableStart.push(at);
    // prodOf[C]: Π z[i] over the slots i in C, multiplied in increasing i (prodOf[C without its highest
    // slot] · z[highest] is that very sequence of products); coef[s] = s!(k−s−1)!/k!.
    const full = (1 << k) - 1;
    const prodOf = new Float64Array(full + 1);
    const bits = new Uint8Array(full + 1);
    prodOf[0] = 1;
    for (let C = 1; C <= full; C++) {
      const hi = 31 - Math.clz32(C);
      prodOf[C] = prodOf[C ^ (1 << hi)] * z[hi];
      bits[C] = bits[C ^ (1 << hi)] + 1;
    }
    const coef = new Float64Array(Math.max(k, 1));
    for (let s = 0; s < k; s++) coef[s] = (fact[s] * fact[k - s - 1]) / fact[k];
    for (let mask = 0; mask <= full; mask++) {
      for (let j = 0; j < k; j++) {
        const oj = (mask >> j) & 1;
        const sub = mask & ~(1 << j);
        const others = full & ~(1 << j);
        let sum = 0;
        // every S ⊆ sub (submask enumeration, including the empty set): |S|!(k−|S|−1)!/k! · Π_{i∉S, i≠j} z_i
        for (let S = sub; ; S = (S - 1) & sub) {
          sum += coef[bits[S]] * prodOf[others & ~S];
          if (S === 0) break;
        }
        table[at++] = v * (oj - z[j]) * sum;
      }
    }
  }
  const S = splitNode.length;
  const splitFeature = new Int32Array(S);
  const splitThreshold = new Float32Array(S);
  const splitMode = new Uint8Array(S);
  const splitMissingTrue = new Uint8Array(S);
  const splitTrue = new Int32Array(S);
  const splitFalse = new Int32Array(S);
  for (let s = 0; s < S; s++) {
    const p = splitNode[s];
    splitFeature[s] = t.feature[p];
    splitThreshold[s] = t.threshold[p];
    splitMode[s] = t.mode[p];
    splitMissingTrue[s] = t.missingTrue[p];
    splitTrue[s] = t.trueChild[p];
    splitFalse[s] = t.falseChild[p];
  }
  return {
    splitNode: Int32Array.from(splitNode),
    splitFeature,
    splitThreshold,
    splitMode,
    splitMissingTrue,
    splitTrue,
    splitFalse,
    splitSlot: Uint8Array.from(splitSlot),
    allLeq,
    nodes: t.mode.length,
    leafNode: Int32Array.from(leafNode),
    leafK: Uint8Array.from(leafK),
    slotStart: Int32Array.from(slotStart),
    slotFeature: Int32Array.from(slotFeature),
    tableStart: Int32Array.from(tableStart),
    table,
    leafValue: Float64Array.from(leafValue),
  };
}

/**
 * Adds tree `tb`'s SHAP values for the n rows of X (row i at i·F) into
 * phi (row i at i·F) and each row's leaf value into margin[i]; `dis` is a
 * scratch array of at least tb.nodes int32s.
 *
 * Per row: one pass over the splits in preorder gives every node the set of
 * slots (bits) whose features the row disagrees with somewhere on the path to
 * it, so a leaf's agreement mask is `full ^ dis[leaf]`, and every leaf adds its
 * table entries for that mask. The additions into each phi element come in the
 * same order as before (tree by tree, leaf by leaf in preorder; one leaf's
 * slots are distinct features), so the sums are the same to the bit.
 */
export function tableShapRows(tb: TreeTables, X: Float32Array, n: number, F: number, phi: Float64Array, margin: Float64Array, dis: Int32Array): void {
  const { splitNode, splitFeature, splitThreshold, splitMode, splitMissingTrue, splitTrue, splitFalse, splitSlot, allLeq } = tb;
  const { leafNode, leafK, slotStart, slotFeature, tableStart, table, leafValue } = tb;
  const S = splitNode.length;
  const L = leafK.length;
  for (let i = 0, o = 0; i < n; i++, o += F) {
    dis[splitNode[0]] = 0;
    for (let s = 0; s < S; s++) {
      const x = X[o + splitFeature[s]];
      // 1 when the row goes to the true child; BRANCH_LEQ inline, other modes through goesTrue.
      // (without branches: which way a row goes is data, not a pattern the processor can predict)
      const b = allLeq ? +(x <= splitThreshold[s]) | (splitMissingTrue[s] & +(x !== x)) : +goesTrue(splitMode[s], x, splitThreshold[s], splitMissingTrue[s]);
      const d = dis[splitNode[s]];
      const slot = splitSlot[s];
      dis[splitTrue[s]] = d | ((b ^ 1) << slot);
      dis[splitFalse[s]] = d | (b << slot);
    }
    let reached = 0;
    for (let l = 0; l < L; l++) {
      const k = leafK[l];
      const fs = slotStart[l];
      const dl = dis[leafNode[l]];
      // no slot disagrees exactly when every step agrees: the leaf the row reaches
      if (dl === 0) reached = leafValue[l];
      const base = tableStart[l] + (((1 << k) - 1) ^ dl) * k;
      // unrolled for the usual path lengths (a depth-5 tree's leaves have k ≤ 5)
      if (k === 5) {
        phi[o + slotFeature[fs]] += table[base];
        phi[o + slotFeature[fs + 1]] += table[base + 1];
        phi[o + slotFeature[fs + 2]] += table[base + 2];
        phi[o + slotFeature[fs + 3]] += table[base + 3];
        phi[o + slotFeature[fs + 4]] += table[base + 4];
      } else if (k === 4) {
        phi[o + slotFeature[fs]] += table[base];
        phi[o + slotFeature[fs + 1]] += table[base + 1];
        phi[o + slotFeature[fs + 2]] += table[base + 2];
        phi[o + slotFeature[fs + 3]] += table[base + 3];
      } else if (k === 3) {
        phi[o + slotFeature[fs]] += table[base];
        phi[o + slotFeature[fs + 1]] += table[base + 1];
        phi[o + slotFeature[fs + 2]] += table[base + 2];
      } else {
        for (let j = 0; j < k; j++) phi[o + slotFeature[fs + j]] += table[base + j];
      }
    }
    margin[i] += reached;
  }
}
