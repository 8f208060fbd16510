import { describe, it, expect, beforeAll } from 'vitest';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { exportOnnx } from '../src/model/onnx/export.js';
import { DEFAULT_GBDT_PARAMS, predictProba, trainGbdt, type GbdtModel, type LabelledRows, type Tree } from '../src/model/train/gbdt.js';
import { FEATURE_NAMES, N_FEATURES } from '../src/features/definition.js';
import { rand } from './helpers/rand.js';

const { onnx } = onnxProto;
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));


/** 25 features on different scales, 8% NaN, a nonlinear logit with a rare-ish positive class. */
function synth(n: number, seed: number): LabelledRows {
  const F = N_FEATURES;
  const r = rand(seed);
  const X = new Float32Array(n * F);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < F; f++) X[i * F + f] = r() < 0.08 ? NaN : (r() * 2 - 1) * 10 ** ((f % 5) - 2);
    const v = (f: number) => {
      const x = X[i * F + f] / 10 ** ((f % 5) - 2);
      return Number.isNaN(x) ? 0.7 : x;
    };
    const z = -1.5 + 2 * v(0) + 1.5 * v(1) * v(2) + (v(3) > 0.4 ? 1 : 0) - v(4) * v(4);
    y[i] = r() < sigmoid(z) ? 1 : 0;
  }
  return { X, y, n };
}

async function runOrt(bytes: Uint8Array, X: Float32Array, n: number, F: number) {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ input: new ort.Tensor('float32', X, [n, F]) });
  return { session, probabilities: out.probabilities, label: out.label };
}

/** A one-split tree on feature f: x ≤ thr → leftValue, else rightValue; NaN left when missingLeft. */
function stump(f: number, thr: number, missingLeft: boolean, leftValue: number, rightValue: number): Tree {
  return {
    feature: Int32Array.from([f, -1, -1]),
    threshold: Float32Array.from([thr, 0, 0]),
    left: Int32Array.from([1, -1, -1]),
    right: Int32Array.from([2, -1, -1]),
    missingLeft: Uint8Array.from([missingLeft ? 1 : 0, 0, 0]),
    leafValue: Float32Array.from([0, leftValue, rightValue]),
    isLeaf: Uint8Array.from([0, 1, 1]),
    gain: new Float64Array(3),
  };
}

function handModel(nFeatures: number, baseScore: number, trees: Tree[]): GbdtModel {
  return { nFeatures, baseScore, trees, bestIteration: trees.length, params: { ...DEFAULT_GBDT_PARAMS }, trainLoss: [], validLoss: [] };
}

describe('exportOnnx + onnxruntime', () => {
  const F = N_FEATURES;
  const train = synth(6000, 1);
  const valid = synth(2500, 2);
  let model: GbdtModel;
  let bytes: Uint8Array;

  beforeAll(() => {
    model = trainGbdt(train, valid, F, { nTrees: 120, maxDepth: 5, earlyStoppingRounds: 20, seed: 3 });
    bytes = exportOnnx(model, {
      featureNames: FEATURE_NAMES,
      producerVersion: '0.1.0',
      metadata: { roc_auc: '0.75', feature_set_version: '1', note: 'ünïcode ✓' },
    });
  });

  it('trained a model with splits and NaN routing to export', () => {
    expect(model.trees.length).toBeGreaterThan(10);
    const missing = model.trees.flatMap((t) => Array.from(t.missingLeft.filter((_, j) => !t.isLeaf[j])));
    expect(missing).toContain(0);
    expect(missing).toContain(1);
  });

  it('onnxruntime probabilities equal predictProba to 1e-5 on every validation row', async () => {
    const { probabilities, label } = await runOrt(bytes, valid.X, valid.n, F);
    expect(probabilities.dims).toEqual([valid.n, 2]);
    expect(probabilities.type).toBe('float32');
    expect(label.dims).toEqual([valid.n]);
    expect(label.type).toBe('int64');
    const pr = probabilities.data as Float32Array;
    const lab = label.data as BigInt64Array;
    const p = predictProba(model, valid.X, valid.n);
    let worst = 0;
    for (let i = 0; i < valid.n; i++) {
      worst = Math.max(worst, Math.abs(pr[2 * i + 1] - p[i]), Math.abs(pr[2 * i] - (1 - p[i])));
      // ORT labels 1 when the logit is > 0; away from p = 0.5 that is p ≥ 0.5.
      if (Math.abs(p[i] - 0.5) > 1e-6) expect(lab[i]).toBe(p[i] >= 0.5 ? 1n : 0n);
    }
    expect(worst).toBeLessThanOrEqual(1e-5);
    // Both labels occur, so the label check above was not vacuous.
    expect(new Set(Array.from(lab))).toEqual(new Set([0n, 1n]));
  });

  it('declares input float [N, 25] and outputs label int64 [N], probabilities float [N, 2]', async () => {
    const session = await ort.InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputNames).toEqual(['label', 'probabilities']);
    const decoded = onnx.ModelProto.decode(bytes);
    const dims = (v: onnxProto.onnx.IValueInfoProto) => v.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue));
    const g = decoded.graph!;
    expect((g.input ?? []).map((v) => [v.name, v.type?.tensorType?.elemType, dims(v)])).toEqual([['input', onnx.TensorProto.DataType.FLOAT, ['N', 25]]]);
    expect((g.output ?? []).map((v) => [v.name, v.type?.tensorType?.elemType, dims(v)])).toEqual([
      ['label', onnx.TensorProto.DataType.INT64, ['N']],
      ['probabilities', onnx.TensorProto.DataType.FLOAT, ['N', 2]],
    ]);
    expect((g.node ?? []).map((nd) => [nd.opType, nd.domain])).toEqual([['TreeEnsembleClassifier', 'ai.onnx.ml']]);
    expect(decoded.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([
      ['', 17],
      ['ai.onnx.ml', 3],
    ]);
    expect(Number(decoded.irVersion)).toBe(8);
    expect(decoded.producerVersion).toBe('0.1.0');
  });

  it('writes feature names and metadata into metadata_props', () => {
    const decoded = onnx.ModelProto.decode(bytes);
    const meta = Object.fromEntries(decoded.metadataProps.map((e) => [e.key, e.value]));
    expect(JSON.parse(meta.feature_names!)).toEqual([...FEATURE_NAMES]);
    expect(meta.roc_auc).toBe('0.75');
    expect(meta.feature_set_version).toBe('1');
    expect(meta.note).toBe('ünïcode ✓');
  });

  it('routes NaN both ways and handles a +Infinity threshold like predictProba (hand-built trees)', async () => {
    // Logit = 0.3 + tree0 + tree1; tree0: x0 ≤ 0.25 (NaN left) → −1 else 0.5;
    // tree1: x1 ≤ +Inf (NaN right) → −0.25 else 2 (i.e. NaN x1 → 2).
    const m = handModel(2, 0.3, [stump(0, 0.25, true, -1, 0.5), stump(1, Infinity, false, -0.25, 2)]);
    const X = Float32Array.from([0.25, 0, Math.fround(0.25000003), 1e30, NaN, NaN, 1, -Infinity]);
    const expected = [0.3 - 1 - 0.25, 0.3 + 0.5 - 0.25, 0.3 - 1 + 2, 0.3 + 0.5 - 0.25].map(sigmoid);
    const { probabilities } = await runOrt(exportOnnx(m, { featureNames: ['a', 'b'], producerVersion: 't' }), X, 4, 2);
    const pr = probabilities.data as Float32Array;
    const p = predictProba(m, X, 4);
    for (let i = 0; i < 4; i++) {
      expect(pr[2 * i + 1]).toBeCloseTo(expected[i], 6);
      expect(p[i]).toBeCloseTo(expected[i], 6);
    }
  });

  it('keeps the logistic and the label right when every leaf is ≥ 0 and when there are no trees', async () => {
    // onnxruntime's TreeEnsembleClassifier has a separate path when no class weight is negative.
    const allPositive = handModel(1, -0.5, [stump(0, 0, false, 0.2, 0.7)]);
    const X = Float32Array.from([-1, 1]);
    const a = await runOrt(exportOnnx(allPositive, { featureNames: ['a'], producerVersion: 't' }), X, 2, 1);
    const pa = a.probabilities.data as Float32Array;
    expect(pa[1]).toBeCloseTo(sigmoid(-0.3), 6);
    expect(pa[3]).toBeCloseTo(sigmoid(0.2), 6);
    expect(Array.from(a.label.data as BigInt64Array)).toEqual([0n, 1n]);

    const empty = handModel(1, -0.5, []);
    const b = await runOrt(exportOnnx(empty, { featureNames: ['a'], producerVersion: 't' }), X, 2, 1);
    const pb = b.probabilities.data as Float32Array;
    expect(pb[0]).toBeCloseTo(1 - sigmoid(-0.5), 6);
    expect(pb[1]).toBeCloseTo(sigmoid(-0.5), 6);
    expect(pb[3]).toBeCloseTo(sigmoid(-0.5), 6);
    expect(Array.from(predictProba(empty, X, 2))).toEqual([sigmoid(Math.fround(-0.5)), sigmoid(Math.fround(-0.5))]);
  });

  it('at exactly p = 0.5 onnxruntime labels 0 (its rule is logit > 0)', async () => {
    const m = handModel(1, 0, [stump(0, 0, false, -1, 0)]);
    const { probabilities, label } = await runOrt(exportOnnx(m, { featureNames: ['a'], producerVersion: 't' }), Float32Array.from([1]), 1, 1);
    expect(Array.from(probabilities.data as Float32Array)).toEqual([0.5, 0.5]);
    expect((label.data as BigInt64Array)[0]).toBe(0n);
  });

  it('refuses mismatched feature names and a reserved metadata key', () => {
    expect(() => exportOnnx(model, { featureNames: FEATURE_NAMES.slice(1), producerVersion: 'x' })).toThrow(/24 feature names/);
    expect(() => exportOnnx(model, { featureNames: FEATURE_NAMES, producerVersion: 'x', metadata: { feature_names: '[]' } })).toThrow(/reserved/);
  });
});
