/**
 * The explainer on real models: the shipped champion (no covers: background
 * path) over every stock of a generated market, against onnxruntime; a model
 * trained here (covers recorded in nodes_hitrates); a LinearClassifier against
 * its closed form; models that cannot be explained.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { ExplanationUnavailable, explainer, explainerFromOnnx, readModelForm } from '../src/model/explain/index.js';
import { computeFeatures } from '../src/features/service.js';
import { openMarketReadonly } from '../src/market/db.js';
import { activeStocks } from '../src/market/reader.js';
import { trainGbdt, predictProba } from '../src/model/train/gbdt.js';
import { exportOnnx } from '../src/model/onnx/export.js';
import { buildMarketFixture, MORNING, ROOT, type MarketFixture } from './helpers/batch-fixture.js';
import { rand } from './helpers/rand.js';

const { onnx } = onnxProto;
const AT = onnx.AttributeProto.AttributeType;
const DT = onnx.TensorProto.DataType;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
const F = 25;

async function ortProbabilities(bytes: Uint8Array, X: Float32Array, n: number, nF = F): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  try {
    const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', X, [n, nF]) });
    return out.probabilities.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('the shipped model (upper-circuit/1.0.0, no covers) on a generated market', () => {
  let fx: MarketFixture;
  let X: Float32Array;
  let n: number;
  let bg: Float32Array;
  let bgN: number;
  const bytes = readFileSync(path.join(ROOT, 'models', 'upper-circuit', '1.0.0', 'model.onnx'));

  beforeAll(async () => {
    fx = await buildMarketFixture({ stocks: 60 });
    const market = openMarketReadonly(fx.marketFile);
    try {
      const stocks = activeStocks(market);
      const now = await computeFeatures(market, fx.marketFile, stocks, MORNING, { threads: 0 });
      X = now.block.values;
      n = now.block.codes.length;
      const earlier = await computeFeatures(market, fx.marketFile, stocks, '2025-11-07', { threads: 0 });
      bg = earlier.block.values;
      bgN = earlier.block.codes.length;
    } finally {
      market.close();
    }
  }, 120_000);
  afterAll(() => fx?.cleanup());

  it('reads as a tree ensemble without covers, so it is unexplainable without background rows', () => {
    const form = readModelForm(bytes);
    expect(form.kind).toBe('trees');
    if (form.kind !== 'trees') return;
    expect(form.hasCovers).toBe(false);
    expect(form.nFeatures).toBe(F);
    expect(form.postTransform).toBe('LOGISTIC');
    expect(() => explainerFromOnnx(bytes)).toThrow(ExplanationUnavailable);
    expect(() => explainerFromOnnx(bytes, { background: { X: new Float32Array(0), n: 0 } })).toThrow(/no node covers/);
  });

  it('every stock: base + Σ values = margin (1e-9), σ(margin) = onnxruntime’s probability, base = mean background margin', async () => {
    expect(n).toBeGreaterThan(40);
    const ex = explainerFromOnnx(bytes, { background: { X: bg, n: bgN } });
    expect(ex.coverSource).toBe('background');
    expect(ex.backgroundRows).toBe(bgN);
    const e = ex.explain(X, n);
    const p = await ortProbabilities(bytes, X, n);
    let maxDiff = 0;
    for (let i = 0; i < n; i++) {
      let sum = e.base;
      for (let f = 0; f < F; f++) sum += e.values[i * F + f];
      expect(Math.abs(sum - e.margin[i])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(e.margin[i])));
      expect(e.probability[i]).toBe(sigmoid(e.margin[i]));
      maxDiff = Math.max(maxDiff, Math.abs(Math.fround(e.probability[i]) - p[2 * i + 1]));
    }
    // float32 precision: onnxruntime sums 136 float32 leaves in float32, the explainer in float64
    expect(maxDiff).toBeLessThan(5e-7); // measured 1.2e-7 (2^-23) on this market
    // With counting covers, the expected margin is the mean margin over the background rows.
    const b = ex.explain(bg, bgN);
    let mean = 0;
    for (let i = 0; i < bgN; i++) mean += b.margin[i];
    mean /= bgN;
    expect(Math.abs(mean - ex.base)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(mean)));
    // the two exact algorithms agree on the real model
    expect(ex.algorithm).toBe('tables');
    const rec = explainerFromOnnx(bytes, { background: { X: bg, n: bgN }, algorithm: 'recursive' }).explain(X, n);
    for (let k = 0; k < e.values.length; k++) expect(Math.abs(rec.values[k] - e.values[k])).toBeLessThan(1e-9);
    // some stock has a non-zero contribution on several features (the explanation is not degenerate)
    let nonZero = 0;
    for (let f = 0; f < F; f++) if (e.values[f] !== 0) nonZero++;
    expect(nonZero).toBeGreaterThan(3);
  });
});

describe('a model trained here records its covers (nodes_hitrates)', () => {
  it('the explainer uses them (coverSource model) and they equal the training rows counted through the trees', async () => {
    const r = rand(11);
    const nF = 4;
    const N = 600;
    const X = new Float32Array(N * nF);
    const y = new Uint8Array(N);
    for (let i = 0; i < N; i++) {
      for (let f = 0; f < nF; f++) X[i * nF + f] = r() < 0.05 ? NaN : r() * 2 - 1;
      y[i] = X[i * nF] + 0.5 * X[i * nF + 1] + (r() - 0.5) > 0.3 ? 1 : 0;
    }
    const model = trainGbdt({ X, y, n: N }, { X, y, n: N }, nF, { nTrees: 20, maxDepth: 3, subsample: 1, seed: 3 });
    const bytes = exportOnnx(model, { featureNames: ['a', 'b', 'c', 'd'], producerVersion: 'test' });
    const form = readModelForm(bytes);
    expect(form.kind === 'trees' && form.hasCovers).toBe(true);
    const fromModel = explainerFromOnnx(bytes);
    expect(fromModel.coverSource).toBe('model');
    // subsample 1: every tree was grown on all training rows, so counting them through the trees gives the same covers
    const fromTraining = explainerFromOnnx(bytes, { background: { X, n: N } });
    const form2 = readModelForm(bytes);
    if (form2.kind !== 'trees') throw new Error('not trees');
    const withoutCovers = explainer({ ...form2, hasCovers: false }, { background: { X, n: N } });
    expect(withoutCovers.coverSource).toBe('background');
    expect(Math.abs(withoutCovers.base - fromModel.base)).toBeLessThan(1e-9);
    const a = fromModel.explain(X.subarray(0, 50 * nF), 50);
    const b = withoutCovers.explain(X.subarray(0, 50 * nF), 50);
    expect(a.coverSource).toBe('model');
    expect(b.coverSource).toBe('background');
    for (let k = 0; k < a.values.length; k++) expect(Math.abs(a.values[k] - b.values[k])).toBeLessThan(1e-9);
    expect(fromTraining.coverSource).toBe('model'); // model covers win over a background
    // onnxruntime accepts the attribute and scores as before
    const p = await ortProbabilities(bytes, X, N, nF);
    const q = predictProba(model, X, N);
    for (let i = 0; i < N; i++) expect(Math.abs(p[2 * i + 1] - q[i])).toBeLessThan(1e-6);
    for (let i = 0; i < 50; i++) expect(Math.abs(a.probability[i] - q[i])).toBeLessThan(1e-6);
  });
});

function linearBytes(coef: number[], intercept: number, post: string): Uint8Array {
  const nF = coef.length;
  const vi = (name: string, elemType: number, dims: (string | number)[]) => ({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } } });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }, { domain: 'ai.onnx.ml', version: 1 }],
      graph: {
        name: 'lin',
        node: [
          {
            opType: 'LinearClassifier',
            domain: 'ai.onnx.ml',
            input: ['input'],
            output: ['label', 'probabilities'],
            attribute: [
              { name: 'coefficients', type: AT.FLOATS, floats: coef },
              { name: 'intercepts', type: AT.FLOATS, floats: [intercept] },
              { name: 'classlabels_ints', type: AT.INTS, ints: [0, 1] },
              { name: 'post_transform', type: AT.STRING, s: enc(post) },
            ],
          },
        ],
        input: [vi('input', DT.FLOAT, ['N', nF])],
        output: [vi('label', DT.INT64, ['N']), vi('probabilities', DT.FLOAT, ['N', 2])],
      },
    }),
  ).finish();
}

describe('LinearClassifier', () => {
  it('values = coef × (x − background mean), base = margin at the mean, σ(margin) = onnxruntime', async () => {
    const coef = [0.5, -1.25, 2, 0].map(Math.fround);
    const intercept = Math.fround(-0.3);
    const bytes = linearBytes(coef, intercept, 'LOGISTIC');
    const bg = Float32Array.from([1, 2, 3, 4, 3, 0, -1, 2, NaN, 1, 1, 0]); // 3 rows; NaN skipped in feature 0's mean
    const mean = [2, 1, 1, 2];
    const ex = explainerFromOnnx(bytes, { background: { X: bg, n: 3 } });
    expect(ex.kind).toBe('linear');
    expect(ex.base).toBeCloseTo(intercept + coef.reduce((s, c, f) => s + c * mean[f], 0), 12);
    const X = Float32Array.from([0.5, -1, 4, 9, 2, 1, 1, 2]);
    const e = ex.explain(X, 2);
    for (let i = 0; i < 2; i++) {
      for (let f = 0; f < 4; f++) expect(e.values[i * 4 + f]).toBeCloseTo(coef[f] * (X[i * 4 + f] - mean[f]), 12);
      const z = intercept + coef.reduce((s, c, f) => s + c * X[i * 4 + f], 0);
      expect(e.margin[i]).toBeCloseTo(z, 12);
    }
    const p = await ortProbabilities(bytes, X, 2, 4);
    for (let i = 0; i < 2; i++) expect(Math.abs(e.probability[i] - p[2 * i + 1])).toBeLessThan(1e-6);
    expect(() => explainerFromOnnx(bytes)).toThrow(ExplanationUnavailable);
  });
});

describe('models that cannot be explained', () => {
  it('a multi-class ensemble, another operator, and bytes that are not ONNX give ExplanationUnavailable with a reason', () => {
    expect(() => explainerFromOnnx(Uint8Array.from([1, 2, 3, 250]))).toThrow(ExplanationUnavailable);
    const other = onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: 8,
        graph: { name: 'g', node: [{ opType: 'Identity', input: ['input'], output: ['probabilities'] }], input: [{ name: 'input', type: { tensorType: { elemType: DT.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: 3 }] } } } }] },
      }),
    ).finish();
    try {
      explainerFromOnnx(other);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ExplanationUnavailable);
      expect((e as ExplanationUnavailable).code).toBe('EXPLANATION_UNAVAILABLE');
      expect((e as Error).message).toMatch(/^explanations unavailable for this model: operator .*Identity has no explainer$/);
    }
  });
});

describe('explainerForStoredModel', () => {
  it('explains the registered shipped model, and refuses bytes that do not match model.json’s sha256', async () => {
    const { explainerForStoredModel } = await import('../src/model/explain/stored.js');
    const { mkdtempSync, cpSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const meta = JSON.parse(readFileSync(path.join(ROOT, 'models', 'upper-circuit', '1.0.0', 'model.json'), 'utf8'));
    const bg = new Float32Array(3 * F).fill(0.5);
    const ex = await explainerForStoredModel(path.join(ROOT, 'models'), meta, { background: { X: bg, n: 3 } });
    expect(ex.nFeatures).toBe(F);
    expect(ex.explain(bg.subarray(0, F), 1).coverSource).toBe('background');
    const dir = mkdtempSync(path.join(tmpdir(), 'sf-explain-'));
    try {
      cpSync(path.join(ROOT, 'models'), dir, { recursive: true });
      const onnxFile = path.join(dir, 'upper-circuit', '1.0.0', 'model.onnx');
      const b = readFileSync(onnxFile);
      b[b.length - 1] ^= 1;
      writeFileSync(onnxFile, b);
      await expect(explainerForStoredModel(dir, meta, { background: { X: bg, n: 3 } })).rejects.toThrow(/sha256 mismatch/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
