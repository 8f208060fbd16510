/**
 * The explain stage's speed work (#16) must not move a single bit of an
 * explanation: floating-point sums depend on the order of their additions.
 * The rewritten tables engine (src/model/explain/tables.ts: tables built from
 * cached subset products, rows evaluated through per-node disagreement masks
 * in preorder) is compared with the engine as it was before
 * (test/helpers/tables-reference.ts, kept verbatim) on seeded random trees:
 * every branch mode, NaN inputs and both NaN directions, ties on thresholds,
 * zero covers, repeated features on a path, and trees of more than 32 splits
 * (the old engine's second code path). Tables, values and margins must be
 * equal to the bit, not within a tolerance.
 */
import { describe, expect, it } from 'vitest';
import { MODE_LEAF, type PlainTree } from '../src/model/onnx/read.js';
import { buildTables, tableShapRows } from '../src/model/explain/tables.js';
import { rand } from './helpers/rand.js';
import { referenceTableShap, referenceTables } from './helpers/tables-reference.js';

const f32 = Math.fround;
const GRID = [-1, -0.5, 0, 0.25, 1, 3.5].map(f32);

/** A random tree as the reader's flat arrays (preorder positions), with covers. */
function randomTree(r: () => number, F: number, depth: number, modes: 'leq' | 'all'): { t: PlainTree; cover: Float64Array } {
  const mode: number[] = [];
  const feature: number[] = [];
  const threshold: number[] = [];
  const trueChild: number[] = [];
  const falseChild: number[] = [];
  const missingTrue: number[] = [];
  const value: number[] = [];
  const cover: number[] = [];
  let deepest = 0;
  const node = (d: number): number => {
    const p = mode.length;
    mode.push(MODE_LEAF);
    feature.push(-1);
    threshold.push(0);
    trueChild.push(-1);
    falseChild.push(-1);
    missingTrue.push(0);
    value.push(0);
    cover.push(0);
    if (d === depth || (d > 1 && r() < 0.15)) {
      deepest = Math.max(deepest, d);
      value[p] = f32((r() - 0.5) * 2);
      // a few leaves no background row reached
      cover[p] = r() < 0.05 ? 0 : 1 + Math.floor(r() * 60);
      return p;
    }
    mode[p] = modes === 'leq' ? 0 : Math.floor(r() * 6);
    // few features, so paths repeat them
    feature[p] = Math.floor(r() * F);
    threshold[p] = GRID[Math.floor(r() * GRID.length)];
    missingTrue[p] = r() < 0.5 ? 1 : 0;
    trueChild[p] = node(d + 1);
    falseChild[p] = node(d + 1);
    cover[p] = cover[trueChild[p]] + cover[falseChild[p]];
    return p;
  };
  node(0);
  const t: PlainTree = {
    mode: Uint8Array.from(mode),
    feature: Int32Array.from(feature),
    threshold: Float32Array.from(threshold),
    trueChild: Int32Array.from(trueChild),
    falseChild: Int32Array.from(falseChild),
    missingTrue: Uint8Array.from(missingTrue),
    value: Float64Array.from(value),
    cover: null,
    depth: deepest,
  };
  return { t, cover: Float64Array.from(cover) };
}

function randomRows(r: () => number, n: number, F: number): Float32Array {
  const X = new Float32Array(n * F);
  for (let i = 0; i < X.length; i++) {
    const u = r();
    X[i] = u < 0.12 ? NaN : u < 0.5 ? GRID[Math.floor(r() * GRID.length)] : f32((r() - 0.4) * 5);
  }
  return X;
}

/** The first index where two arrays differ in any bit (Object.is: −0 and NaN count), or −1. */
function firstDiff(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/** Values and margins of an ensemble, tree by tree, by the old engine (as explain() called it) and by the new one. */
function both(trees: { t: PlainTree; cover: Float64Array }[], X: Float32Array, n: number, F: number, base: number) {
  const refValues = new Float64Array(n * F);
  const refMargin = new Float64Array(n).fill(base);
  const newValues = new Float64Array(n * F);
  const newMargin = new Float64Array(n).fill(base);
  const size = Math.max(...trees.map(({ t }) => t.mode.length));
  const hot = new Uint8Array(size);
  const dis = new Int32Array(size);
  for (const { t, cover } of trees) {
    const ref = referenceTables(t, cover);
    const tb = buildTables(t, cover);
    expect(firstDiff(tb.table, ref.table)).toBe(-1);
    expect(firstDiff(tb.leafValue, ref.leafValue)).toBe(-1);
    for (let i = 0, o = 0; i < n; i++, o += F) refMargin[i] += referenceTableShap(t, ref, X, o, refValues, o, hot);
    tableShapRows(tb, X, n, F, newValues, newMargin, dis);
  }
  return { refValues, refMargin, newValues, newMargin };
}

describe('the tables engine gives the old engine’s values to the bit (#16)', () => {
  for (const [seed, modes, depth] of [
    [1, 'leq', 5],
    [2, 'leq', 5],
    [3, 'all', 5],
    [4, 'all', 4],
    [5, 'leq', 6],
  ] as const) {
    it(`seed ${seed}: 12 trees of depth ≤ ${depth}, ${modes === 'leq' ? 'BRANCH_LEQ only (the exporter’s)' : 'every branch mode'}, NaN inputs, 300 rows`, () => {
      const r = rand(seed);
      const F = 7;
      const trees = Array.from({ length: 12 }, () => randomTree(r, F, depth, modes));
      const n = 300;
      const X = randomRows(r, n, F);
      const e = both(trees, X, n, F, f32(-2.5));
      expect(firstDiff(e.newValues, e.refValues)).toBe(-1);
      expect(firstDiff(e.newMargin, e.refMargin)).toBe(-1);
      // not vacuous: the rows spread over the leaves and the values are not all zero
      expect(e.refValues.some((v) => v !== 0)).toBe(true);
    });
  }

  it('trees of more than 32 splits (the old engine’s per-step path), repeated features on a path', () => {
    const r = rand(77);
    const F = 4;
    const trees = Array.from({ length: 4 }, (_, i) => randomTree(r, F, 8, i % 2 === 0 ? 'leq' : 'all'));
    const splits = (t: PlainTree): number => t.mode.filter((m) => m !== MODE_LEAF).length;
    expect(Math.max(...trees.map(({ t }) => splits(t)))).toBeGreaterThan(32);
    const n = 120;
    const X = randomRows(r, n, F);
    const e = both(trees, X, n, F, 0.125);
    expect(firstDiff(e.newValues, e.refValues)).toBe(-1);
    expect(firstDiff(e.newMargin, e.refMargin)).toBe(-1);
  });
});
