import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { InferenceSession } from 'onnxruntime-node';
import { confidenceOf, labelOf, predictionOf } from '../src/model/confidence.js';
import { ModelInvalidError } from '../src/model/errors.js';
import { openSession, scoreRows } from '../src/model/score.js';
import { StockflowError } from '../src/errors.js';
import { expectedProbability, sigmoid, treeModel, type TreeFixture } from './helpers/onnx-fixture.js';

const NF = 25;
const SPEC: TreeFixture = { feature: 7, threshold: 0.25, leftLeaf: -1.25, rightLeaf: 0.8 };

/** Deterministic rows: feature 7 alternates around the threshold, other columns vary. */
function rows(n: number): Float32Array {
  const X = new Float32Array(n * NF);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < NF; j++) X[i * NF + j] = ((i * 31 + j * 7) % 97) / 10 - 4;
    X[i * NF + 7] = (((i * 37) % 101) - 50) / 100; // −0.50 … 0.50, both sides of 0.25
  }
  return X;
}

describe('scoreRows with a single-tree model', () => {
  let session: InferenceSession;
  const model = (): { meta: { name: string; version: string; n_features: number }; session: InferenceSession } => ({
    meta: { name: 'fixture', version: '1.0.0', n_features: NF },
    session,
  });

  beforeAll(async () => {
    session = await openSession(treeModel(SPEC), NF);
  });
  afterAll(async () => {
    await session.release();
  });

  it('gives sigmoid(leaf) on each side of the threshold, and NaN goes to the right leaf', async () => {
    const X = new Float32Array(5 * NF);
    X[0 * NF + 7] = -3; // left
    X[1 * NF + 7] = 0.25; // exactly the threshold: x <= t, left
    X[2 * NF + 7] = 0.2500001; // just above (as float32 0.25000012), right
    X[3 * NF + 7] = 40; // right
    X[4 * NF + 7] = Number.NaN; // missing: the false branch, right
    X[4 * NF + 0] = Number.NaN; // NaN in a column the tree does not use changes nothing
    const p = await scoreRows(model(), X, 5);
    const left = 1 / (1 + Math.exp(1.25));
    const right = 1 / (1 + Math.exp(-0.8));
    expect(Array.from(p).map((v) => Number(v.toFixed(6)))).toEqual([left, left, right, right, right].map((v) => Number(v.toFixed(6))));
    for (const [i, want] of [left, left, right, right, right].entries()) expect(Math.abs(p[i] - want)).toBeLessThan(1e-6);
  });

  it('scores 2,500 rows in groups of 1,000 exactly as in one group, and as the tree says', async () => {
    const n = 2500;
    const X = rows(n);
    const grouped = await scoreRows(model(), X, n, 1000);
    const single = await scoreRows(model(), X, n, n);
    const odd = await scoreRows(model(), X, n, 7);
    expect(grouped).toEqual(single);
    expect(odd).toEqual(single);
    let leftCount = 0;
    for (let i = 0; i < n; i++) {
      const want = expectedProbability(SPEC, X.subarray(i * NF, (i + 1) * NF));
      if (X[i * NF + 7] <= 0.25) leftCount++;
      expect(Math.abs(grouped[i] - want)).toBeLessThan(1e-6);
    }
    // Both leaves are really exercised, in every group.
    expect(leftCount).toBeGreaterThan(500);
    expect(leftCount).toBeLessThan(2000);
  });

  it('handles zero rows and refuses a matrix of the wrong size', async () => {
    expect(await scoreRows(model(), new Float32Array(0), 0)).toEqual(new Float32Array(0));
    await expect(scoreRows(model(), new Float32Array(NF * 2 - 1), 2)).rejects.toThrow(/49 values for 2 rows × 25 features/);
  });

  it('pads the last group for a model whose batch size is fixed', async () => {
    const fixed = await openSession(treeModel({ ...SPEC, batch: 4 }), NF);
    try {
      const X = rows(10);
      const p = await scoreRows({ meta: { name: 'fixed', version: '1.0.0', n_features: NF }, session: fixed }, X, 10, 1000);
      for (let i = 0; i < 10; i++) expect(Math.abs(p[i] - expectedProbability(SPEC, X.subarray(i * NF, (i + 1) * NF)))).toBeLessThan(1e-6);
    } finally {
      await fixed.release();
    }
  });

  it('names the row whose probability is not a number in [0, 1]', async () => {
    // A stand-in session returning NaN for row 1 of the second group.
    const fake = {
      inputNames: ['input'],
      inputMetadata: [{ name: 'input', isTensor: true, type: 'float32', shape: ['N', NF] }],
      run: async (feeds: Record<string, { dims: readonly number[] }>) => {
        const r = feeds.input.dims[0];
        const data = new Float32Array(2 * r).fill(0.5);
        if (r === 2) data[3] = Number.NaN;
        return { probabilities: { dims: [r, 2], type: 'float32', data, dispose: () => undefined } };
      },
    } as unknown as InferenceSession;
    const err = await scoreRows({ meta: { name: 'fake', version: '0.0.1', n_features: NF }, session: fake }, new Float32Array(5 * NF), 5, 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StockflowError);
    expect((err as Error).message).toMatch(/probability NaN for row 4\b/);
  });
});

describe('openSession refuses models that break the contract', () => {
  it.each([
    ['wrong input width', treeModel({ nFeatures: 24 }), /shape \[N, 24\], expected \[N, 25\]/],
    ['double input', treeModel({ inputType: 'double' }), /is float64, expected float/],
    ['no probabilities output', treeModel({ outputs: 'no-probabilities' }), /no output named 'probabilities' \(outputs: label, scores\)/],
    ['ZipMap output', treeModel({ outputs: 'zipmap' }), /no output named 'probabilities'.*ZipMap/],
    ['ZipMap named probabilities', treeModel({ outputs: 'zipmap-named-probabilities' }), /'probabilities' is not a tensor.*zipmap=False/],
    ['three classes', treeModel({ outputs: 'three-classes' }), /'probabilities'.* shape \[(N|1), 3\], expected \[(N|1), 2\]/],
    ['empty bytes', new Uint8Array(0), /empty/],
    ['not ONNX at all', new TextEncoder().encode('definitely not a protobuf model'), /not a loadable ONNX model/],
  ])('%s', async (_what, bytes, message) => {
    const err = await openSession(bytes, NF).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelInvalidError);
    expect((err as Error).message).toMatch(message);
  });
});

describe('confidence and label rules', () => {
  it.each([
    [0, 'HIGH'],
    [0.3, 'HIGH'],
    [0.3000001, 'MEDIUM'],
    [0.4499, 'MEDIUM'],
    [0.45, 'LOW'],
    [0.5, 'LOW'],
    [0.5499, 'LOW'],
    [0.55, 'MEDIUM'],
    [0.6999, 'MEDIUM'],
    [0.7, 'HIGH'],
    [1, 'HIGH'],
  ] as const)('p = %s → %s', (p, level) => {
    expect(confidenceOf(p)).toBe(level);
  });

  it.each([
    [0.4999999, 0],
    [0.5, 1],
    [0, 0],
    [1, 1],
  ] as const)('label of %s is %s', (p, label) => {
    expect(labelOf(p)).toBe(label);
  });

  // The rule decides on the stored (6-decimal) probability: 0.4999996 is stored as 0.5, so it is a 1, LOW.
  it.each([
    [0.4999996, 0.5, 1, 'LOW'],
    [0.4999994, 0.499999, 0, 'LOW'],
    [0.6999996, 0.7, 1, 'HIGH'],
    [0.3000004, 0.3, 0, 'HIGH'],
    [0.12345649, 0.123456, 0, 'HIGH'],
    [0.6, 0.6, 1, 'MEDIUM'],
  ] as const)('predictionOf(%s) = %s, label %s, %s', (p, stored, label, level) => {
    expect(predictionOf(p)).toEqual({ probability: stored, label, confidence: level });
  });

  it('sigmoid reference is sane', () => {
    expect(sigmoid(0)).toBe(0.5);
  });
});

describe('scoring sessions are pinned to one onnxruntime thread (the same bits on every machine)', () => {
  it("the shipped model's probabilities from openSession's default options equal a one-thread session's bit for bit; two threads sum the trees in another order", async () => {
    const { readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const { SCORING_SESSION_OPTIONS } = await import('../src/model/score.js');
    const { SERVER_SESSION_OPTIONS } = await import('../src/server/app.js');
    const bytes = readFileSync(path.join(__dirname, '..', 'models', 'upper-circuit', '1.0.0', 'model.onnx'));
    const n = 3000;
    const X = rows(n);
    const score = async (options?: InferenceSession.SessionOptions): Promise<Float32Array> => {
      const s = await openSession(bytes, NF, options);
      try {
        return Float32Array.from(await scoreRows({ meta: { name: 'shipped', version: '1.0.0', n_features: NF }, session: s }, X, n, 1000));
      } finally {
        await s.release();
      }
    };
    const byDefault = await score();
    const oneThread = await score({ intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
    const twoThreads = await score({ intraOpNumThreads: 2 });
    expect(Buffer.from(byDefault.buffer).equals(Buffer.from(oneThread.buffer))).toBe(true);
    // Why the pin: onnxruntime's own default is one thread per core it detects, and on two threads some rows differ by a float32 step.
    expect(Buffer.from(twoThreads.buffer).equals(Buffer.from(oneThread.buffer))).toBe(false);
    expect(SCORING_SESSION_OPTIONS.intraOpNumThreads).toBe(1);
    expect(SERVER_SESSION_OPTIONS).toBe(SCORING_SESSION_OPTIONS);
  });
});
