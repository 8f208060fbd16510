/**
 * Exactness of the TreeSHAP engine (src/model/explain) against an independent
 * oracle: brute-force Shapley values over all feature subsets of the
 * path-dependent conditional expectation, computed here from the test's own
 * tree description (not from the reader), on small seeded random ensembles
 * encoded as ONNX by hand, with NaN inputs and every branch mode.
 */
import { describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { rand } from './helpers/rand.js';
import { ExplanationUnavailable, explainerFromOnnx } from '../src/model/explain/index.js';

const { onnx } = onnxProto;
const AT = onnx.AttributeProto.AttributeType;
const DT = onnx.TensorProto.DataType;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

const MODES = ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ'] as const;

/** The oracle's own tree: nested nodes. */
type ONode =
  | { leaf: true; value: number; cover: number }
  | { leaf: false; feature: number; threshold: number; mode: (typeof MODES)[number]; missingTrue: boolean; t: ONode; f: ONode; cover: number };

const f32 = Math.fround;

function oracleGoesTrue(n: Extract<ONode, { leaf: false }>, x: number): boolean {
  if (Number.isNaN(x)) {
    if (n.missingTrue) return true;
    return n.mode === 'BRANCH_NEQ'; // IEEE: NaN ≠ t is the only true comparison
  }
  const t = n.threshold;
  switch (n.mode) {
    case 'BRANCH_LEQ': return x <= t;
    case 'BRANCH_LT': return x < t;
    case 'BRANCH_GTE': return x >= t;
    case 'BRANCH_GT': return x > t;
    case 'BRANCH_EQ': return x === t;
    case 'BRANCH_NEQ': return x !== t;
  }
}

/** A small random tree; thresholds drawn from a small grid so EQ/NEQ and ties happen. */
function randomTree(r: () => number, F: number, depth: number, grid: number[]): ONode {
  if (depth === 0 || r() < 0.2) return { leaf: true, value: f32((r() - 0.5) * 2), cover: 1 + Math.floor(r() * 50) };
  const t = randomTree(r, F, depth - 1, grid);
  const f = randomTree(r, F, depth - 1, grid);
  return {
    leaf: false,
    feature: Math.floor(r() * F),
    threshold: grid[Math.floor(r() * grid.length)],
    mode: MODES[Math.floor(r() * MODES.length)],
    missingTrue: r() < 0.5,
    t,
    f,
    cover: 0,
  };
}
/** Fills split covers as the sum of the children's (leaves keep their random covers). */
function fillCovers(n: ONode): number {
  if (n.leaf) return n.cover;
  n.cover = fillCovers(n.t) + fillCovers(n.f);
  return n.cover;
}

/** ONNX TreeEnsembleClassifier bytes for the trees, node ids in pre-order (not BFS), optional hitrates. */
function encode(trees: ONode[], F: number, base: number, withCovers: boolean, post = 'LOGISTIC', classId = 0, baseAsTensor = false): Uint8Array {
  const a = { tree: [] as number[], node: [] as number[], feat: [] as number[], val: [] as number[], mode: [] as string[], t: [] as number[], f: [] as number[], miss: [] as number[], hit: [] as number[], cT: [] as number[], cN: [] as number[], cW: [] as number[] };
  trees.forEach((root, ti) => {
    let next = 0;
    const visit = (n: ONode): number => {
      const id = next++;
      const at = a.tree.length;
      a.tree.push(ti); a.node.push(id); a.hit.push(n.cover);
      if (n.leaf) {
        a.feat.push(0); a.val.push(0); a.mode.push('LEAF'); a.t.push(0); a.f.push(0); a.miss.push(0);
        a.cT.push(ti); a.cN.push(id); a.cW.push(n.value);
        return id;
      }
      a.feat.push(n.feature); a.val.push(n.threshold); a.mode.push(n.mode); a.t.push(-1); a.f.push(-1); a.miss.push(n.missingTrue ? 1 : 0);
      a.t[at] = visit(n.t);
      a.f[at] = visit(n.f);
      return id;
    };
    visit(root);
  });
  const ints = (name: string, v: number[]) => ({ name, type: AT.INTS, ints: v });
  const floats = (name: string, v: number[]) => ({ name, type: AT.FLOATS, floats: v });
  const attribute = [
    baseAsTensor ? { name: 'base_values_as_tensor', type: AT.TENSOR, t: { dims: [1], dataType: DT.FLOAT, floatData: [base] } } : floats('base_values', [base]),
    ints('class_ids', a.cW.map(() => classId)), ints('class_nodeids', a.cN), ints('class_treeids', a.cT), floats('class_weights', a.cW),
    ints('classlabels_int64s', [0, 1]),
    ints('nodes_falsenodeids', a.f), ints('nodes_featureids', a.feat), ints('nodes_missing_value_tracks_true', a.miss),
    { name: 'nodes_modes', type: AT.STRINGS, strings: a.mode.map(enc) },
    ints('nodes_nodeids', a.node), ints('nodes_treeids', a.tree), ints('nodes_truenodeids', a.t), floats('nodes_values', a.val),
    { name: 'post_transform', type: AT.STRING, s: enc(post) },
    ...(withCovers ? [floats('nodes_hitrates', a.hit)] : []),
  ];
  const vi = (name: string, elemType: number, dims: (string | number)[]) => ({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } } });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }, { domain: 'ai.onnx.ml', version: 3 }],
      graph: {
        name: 'g',
        node: [{ opType: 'TreeEnsembleClassifier', domain: 'ai.onnx.ml', input: ['input'], output: ['label', 'probabilities'], attribute }],
        input: [vi('input', DT.FLOAT, ['N', F])],
        output: [vi('label', DT.INT64, ['N']), vi('probabilities', DT.FLOAT, ['N', 2])],
      },
    }),
  ).finish();
}

/** Path-dependent E[f | x_S]: follow x on features in S, else cover-weighted average (cover 0 → weight 0). */
function condExp(n: ONode, x: ArrayLike<number>, S: Set<number>): number {
  if (n.leaf) return n.value;
  if (S.has(n.feature)) return condExp(oracleGoesTrue(n, x[n.feature]) ? n.t : n.f, x, S);
  if (n.cover === 0) return 0;
  return (n.t.cover / n.cover) * condExp(n.t, x, S) + (n.f.cover / n.cover) * condExp(n.f, x, S);
}

function bruteForce(trees: ONode[], base: number, x: ArrayLike<number>, F: number): { base: number; phi: number[] } {
  const v = (mask: number): number => {
    const S = new Set<number>();
    for (let f = 0; f < F; f++) if (mask & (1 << f)) S.add(f);
    return base + trees.reduce((s, t) => s + condExp(t, x, S), 0);
  };
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const vals = Array.from({ length: 1 << F }, (_, m) => v(m));
  const phi = new Array<number>(F).fill(0);
  for (let i = 0; i < F; i++) {
    for (let m = 0; m < 1 << F; m++) {
      if (m & (1 << i)) continue;
      let size = 0;
      for (let k = m; k; k &= k - 1) size++;
      phi[i] += ((fact(size) * fact(F - size - 1)) / fact(F)) * (vals[m | (1 << i)] - vals[m]);
    }
  }
  return { base: vals[0], phi };
}

function randomRows(r: () => number, n: number, F: number, grid: number[]): Float32Array {
  const X = new Float32Array(n * F);
  for (let i = 0; i < X.length; i++) {
    const u = r();
    X[i] = u < 0.15 ? NaN : u < 0.5 ? grid[Math.floor(r() * grid.length)] : f32((r() - 0.5) * 4);
  }
  return X;
}

const GRID = [-1, -0.5, 0, 0.25, 1].map(f32);
const close = (a: number, b: number, rel = 1e-9): void => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(a), Math.abs(b)));

describe('TreeSHAP against brute-force Shapley values', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) for (const algorithm of ['recursive', 'tables'] as const) {
    it(`random ensemble seed ${seed}, ${algorithm}: model covers (nodes_hitrates), every branch mode, NaN inputs`, () => {
      const r = rand(seed);
      const F = 6;
      const trees = Array.from({ length: 4 }, () => randomTree(r, F, 4 + (seed % 2), GRID));
      trees.forEach(fillCovers);
      // a zero-cover leaf (a node no training row reached) in one tree
      const zeroLeaf = (n: ONode): void => { if (n.leaf) n.cover = 0; else zeroLeaf(n.t); };
      zeroLeaf(trees[0]);
      trees.forEach(fillCovers);
      const base = f32(-1.25);
      const ex = explainerFromOnnx(encode(trees, F, base, true), { algorithm });
      expect(ex.coverSource).toBe('model');
      expect(ex.algorithm).toBe(algorithm);
      const n = 40;
      const X = randomRows(r, n, F, GRID);
      const e = ex.explain(X, n);
      for (let i = 0; i < n; i++) {
        const x = X.subarray(i * F, (i + 1) * F);
        const want = bruteForce(trees, base, x, F);
        close(e.base, want.base);
        for (let f = 0; f < F; f++) close(e.values[i * F + f], want.phi[f]);
        let sum = e.base;
        for (let f = 0; f < F; f++) sum += e.values[i * F + f];
        close(sum, e.margin[i]);
        // margin = base + each tree's leaf for x (the oracle's routing)
        const S = new Set(Array.from({ length: F }, (_, f) => f));
        close(e.margin[i], base + trees.reduce((s, t) => s + condExp(t, x, S), 0));
      }
    });
  }

  for (const algorithm of ['recursive', 'tables'] as const)
  it(`deep trees (more than 32 splits, repeated features on a path), ${algorithm}`, () => {
    const r = rand(99);
    const F = 5;
    const trees = Array.from({ length: 2 }, () => randomTree(r, F, 8, GRID));
    trees.forEach(fillCovers);
    const splits = (nd: ONode): number => (nd.leaf ? 0 : 1 + splits(nd.t) + splits(nd.f));
    expect(Math.max(...trees.map(splits))).toBeGreaterThan(32);
    const ex = explainerFromOnnx(encode(trees, F, 0.125, true), { algorithm });
    const X = randomRows(r, 25, F, GRID);
    const e = ex.explain(X, 25);
    for (let i = 0; i < 25; i++) {
      const want = bruteForce(trees, 0.125, X.subarray(i * F, (i + 1) * F), F);
      close(e.base, want.base);
      for (let f = 0; f < F; f++) close(e.values[i * F + f], want.phi[f]);
    }
  });

  for (const algorithm of ['recursive', 'tables'] as const)
  it(`without nodes_hitrates (${algorithm}): covers from background rows match brute force over the oracle’s own counts`, () => {
    const r = rand(42);
    const F = 5;
    const trees = Array.from({ length: 3 }, () => randomTree(r, F, 4, GRID));
    const bg = randomRows(r, 200, F, GRID);
    // oracle covers: count background rows through each node by the oracle's routing
    const count = (nd: ONode, x: ArrayLike<number>): void => {
      nd.cover++;
      if (!nd.leaf) count(oracleGoesTrue(nd, x[nd.feature]) ? nd.t : nd.f, x);
    };
    const zero = (nd: ONode): void => { nd.cover = 0; if (!nd.leaf) { zero(nd.t); zero(nd.f); } };
    trees.forEach(zero);
    for (let i = 0; i < 200; i++) for (const t of trees) count(t, bg.subarray(i * F, (i + 1) * F));
    const bytes = encode(trees, F, 0.5, false);
    expect(() => explainerFromOnnx(bytes)).toThrow(ExplanationUnavailable);
    const ex = explainerFromOnnx(bytes, { background: { X: bg, n: 200 }, algorithm });
    expect(ex.coverSource).toBe('background');
    expect(ex.backgroundRows).toBe(200);
    const X = randomRows(r, 30, F, GRID);
    const e = ex.explain(X, 30);
    for (let i = 0; i < 30; i++) {
      const want = bruteForce(trees, 0.5, X.subarray(i * F, (i + 1) * F), F);
      close(e.base, want.base);
      for (let f = 0; f < F; f++) close(e.values[i * F + f], want.phi[f]);
    }
  });

  for (const [classId, asTensor] of [[0, false], [1, false], [0, true]] as const)
  it(`the margin’s sigmoid equals onnxruntime’s probability on random ensembles, weights on class id ${classId}${asTensor ? ', base_values_as_tensor' : ''} (branch modes, NaN, base value as onnxruntime reads them)`, async () => {
    const r = rand(7 + classId);
    const F = 6;
    const trees = Array.from({ length: 5 }, () => randomTree(r, F, 5, GRID));
    trees.forEach(fillCovers);
    const bytes = encode(trees, F, f32(-0.75), true, 'LOGISTIC', classId, asTensor);
    const n = 300;
    const X = randomRows(r, n, F, GRID);
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ input: new ort.Tensor('float32', X, [n, F]) });
    const p = out.probabilities.data as Float32Array;
    const e = explainerFromOnnx(bytes).explain(X, n);
    for (let i = 0; i < n; i++) expect(Math.abs(e.probability[i] - p[2 * i + 1])).toBeLessThan(1e-6);
    await session.release();
  });
});
