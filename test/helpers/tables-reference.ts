/**
 * The TreeSHAP tables engine as it was before the #16 explain-stage work (commit f09e352,
 * src/model/explain/tables.ts), kept verbatim as the reference the rewritten engine must match
 * to the bit: its tables (built with a product loop per subset) and its per-row, per-leaf
 * evaluation (a 32-bit direction word for trees of ≤ 32 splits, per-step checks otherwise).
 * Tests only (test/explain-tables-bits.test.ts).
 */
import { MODE_LEAF, goesTrue, type PlainTree } from '../../src/model/onnx/read.js';

export interface ReferenceTables {
  /** Split nodes' positions (the nodes whose direction a row decides). */
  splits: Int32Array;
  /** Per leaf: steps [stepStart[l], stepStart[l+1]). */
  stepStart: Int32Array;
  stepNode: Int32Array;
  /** 1 when the path takes the true child at that step. */
  stepDir: Uint8Array;
  stepSlot: Uint8Array;
  /** Per leaf: number of distinct features k, and the features (slot → feature) from slotStart[l]. */
  leafK: Uint8Array;
  slotStart: Int32Array;
  slotFeature: Int32Array;
  /** Per leaf: offset of its table (2^k masks × k values). */
  tableStart: Int32Array;
  table: Float64Array;
  /** Per leaf: its value (the margin share when a row reaches it). */
  leafValue: Float64Array;
  /**
   * When the tree has ≤ 32 splits (depth ≤ 5): a row's directions fit in one
   * 32-bit word (bit s = split s goes true), and slot j of leaf l agrees when
   * ((word ^ slotWant[i]) & slotBits[i]) === 0, i = slotStart[l] + j.
   */
  bitwise: boolean;
  slotBits: Int32Array;
  slotWant: Int32Array;
}

export function referenceTables(t: PlainTree, cover: Float64Array): ReferenceTables {
  const splits: number[] = [];
  for (let p = 0; p < t.mode.length; p++) if (t.mode[p] !== MODE_LEAF) splits.push(p);
  const stepStart: number[] = [0];
  const stepNode: number[] = [];
  const stepDir: number[] = [];
  const stepSlot: number[] = [];
  const leafK: number[] = [];
  const slotStart: number[] = [0];
  const slotFeature: number[] = [];
  const tableStart: number[] = [];
  const table: number[] = [];
  const leafValue: number[] = [];
  const bitwise = splits.length <= 32;
  const bitOf = new Map(splits.map((p, i) => [p, i]));
  const slotBits: number[] = [];
  const slotWant: number[] = [];
  const fact = [1];
  for (let i = 1; i <= 64; i++) fact.push(fact[i - 1] * i);

  const path: { node: number; dir: number; ratio: number }[] = [];
  const walk = (p: number): void => {
    if (t.mode[p] !== MODE_LEAF) {
      const c = cover[p];
      for (const dir of [1, 0]) {
        const child = dir ? t.trueChild[p] : t.falseChild[p];
        path.push({ node: p, dir, ratio: c > 0 ? cover[child] / c : 0 });
        walk(child);
        path.pop();
      }
      return;
    }
    const v = t.value[p];
    leafValue.push(v);
    const feats: number[] = [];
    const z: number[] = [];
    for (const s of path) {
      const f = t.feature[s.node];
      let slot = feats.indexOf(f);
      if (slot < 0) {
        slot = feats.length;
        feats.push(f);
        z.push(1);
      }
      z[slot] *= s.ratio;
      stepNode.push(s.node);
      stepDir.push(s.dir);
      stepSlot.push(slot);
    }
    stepStart.push(stepNode.length);
    const k = feats.length;
    const bits = new Array<number>(k).fill(0);
    const want = new Array<number>(k).fill(0);
    if (bitwise) {
      for (const s of path) {
        const slot = feats.indexOf(t.feature[s.node]);
        const b = bitOf.get(s.node) as number;
        bits[slot] |= 1 << b;
        if (s.dir) want[slot] |= 1 << b;
      }
    }
    slotBits.push(...bits);
    slotWant.push(...want);
    leafK.push(k);
    slotFeature.push(...feats);
    slotStart.push(slotFeature.length);
    tableStart.push(table.length);
    const full = (1 << k) - 1;
    for (let mask = 0; mask <= full; mask++) {
      for (let j = 0; j < k; j++) {
        const oj = (mask >> j) & 1;
        const sub = mask & ~(1 << j);
        let sum = 0;
        // every S ⊆ sub (submask enumeration, including the empty set)
        for (let S = sub; ; S = (S - 1) & sub) {
          let size = 0;
          let prod = 1;
          for (let i = 0; i < k; i++) {
            if (i === j) continue;
            if ((S >> i) & 1) size++;
            else prod *= z[i];
          }
          sum += ((fact[size] * fact[k - size - 1]) / fact[k]) * prod;
          if (S === 0) break;
        }
        table.push(v * (oj - z[j]) * sum);
      }
    }
  };
  walk(0);
  return {
    splits: Int32Array.from(splits),
    stepStart: Int32Array.from(stepStart),
    stepNode: Int32Array.from(stepNode),
    stepDir: Uint8Array.from(stepDir),
    stepSlot: Uint8Array.from(stepSlot),
    leafK: Uint8Array.from(leafK),
    slotStart: Int32Array.from(slotStart),
    slotFeature: Int32Array.from(slotFeature),
    tableStart: Int32Array.from(tableStart),
    table: Float64Array.from(table),
    leafValue: Float64Array.from(leafValue),
    bitwise,
    slotBits: Int32Array.from(slotBits),
    slotWant: Int32Array.from(slotWant),
  };
}

/**
 * Adds tree `t`'s SHAP values for row X[o … o+F) into phi[po …] and returns
 * the value of the leaf the row reaches; `hot` is a scratch array of at least
 * t.mode.length bytes.
 */
export function referenceTableShap(t: PlainTree, tb: ReferenceTables, X: Float32Array, o: number, phi: Float64Array, po: number, hot: Uint8Array): number {
  const { splits, stepStart, stepNode, stepDir, stepSlot, leafK, slotStart, slotFeature, tableStart, table, leafValue } = tb;
  const { mode, feature, threshold, missingTrue } = t;
  const nLeaves = leafK.length;
  let reached = 0;
  if (tb.bitwise) {
    const { slotBits, slotWant } = tb;
    let word = 0;
    for (let s = 0; s < splits.length; s++) {
      const p = splits[s];
      const x = X[o + feature[p]];
      // BRANCH_LEQ (what stockflow's exporter writes) inline; other modes through goesTrue.
      const tr = mode[p] === 0 ? x <= threshold[p] || (missingTrue[p] === 1 && x !== x) : goesTrue(mode[p], x, threshold[p], missingTrue[p]);
      if (tr) word |= 1 << s;
    }
    for (let l = 0; l < nLeaves; l++) {
      const k = leafK[l];
      const fs = slotStart[l];
      let mask = 0;
      for (let j = 0; j < k; j++) if (((word ^ slotWant[fs + j]) & slotBits[fs + j]) === 0) mask |= 1 << j;
      if (mask === (1 << k) - 1) reached = leafValue[l];
      const base = tableStart[l] + mask * k;
      for (let j = 0; j < k; j++) phi[po + slotFeature[fs + j]] += table[base + j];
    }
    return reached;
  }
  for (let s = 0; s < splits.length; s++) {
    const p = splits[s];
    hot[p] = goesTrue(mode[p], X[o + feature[p]], threshold[p], missingTrue[p]) ? 1 : 0;
  }
  for (let l = 0; l < nLeaves; l++) {
    const k = leafK[l];
    const full = (1 << k) - 1;
    let mask = full;
    for (let s = stepStart[l], e = stepStart[l + 1]; s < e; s++) if (hot[stepNode[s]] !== stepDir[s]) mask &= ~(1 << stepSlot[s]);
    // every step agrees exactly when every slot does: the leaf the row reaches
    if (mask === full) reached = leafValue[l];
    const base = tableStart[l] + mask * k;
    const fs = slotStart[l];
    for (let j = 0; j < k; j++) phi[po + slotFeature[fs + j]] += table[base + j];
  }
  return reached;
}
