/**
 * #16: the batch decodes the model's trees for the explain stage while the
 * workers extract (ScoringModel.prepareExplainer), so the explain stage only
 * computes what depends on the run's rows. The prepared form is the one the
 * explainer then uses, and preparing never throws for a model that cannot be
 * explained (the explain stage reports it, as before).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExplanationUnavailable, explainerOf, prepareExplainer } from '../src/model/explainers.js';
import { explainerFromOnnx } from '../src/model/explain/index.js';
import { N_FEATURES } from '../src/features/definition.js';
import { ROOT } from './helpers/batch-fixture.js';

const bytes = readFileSync(path.join(ROOT, 'models', 'upper-circuit', '1.0.0', 'model.onnx'));

function rows(n: number): Float32Array {
  const X = new Float32Array(n * N_FEATURES);
  for (let i = 0; i < X.length; i++) X[i] = ((i * 7919) % 1000) / 10 - 50;
  return X;
}

describe('prepareExplainer', () => {
  it('decodes the trees ahead: the explainer built later uses them (the bytes are not read again) and gives the same values', () => {
    const model = { bytes: Uint8Array.from(bytes) };
    prepareExplainer(model);
    // what the model's bytes hold afterwards no longer matters: the trees were decoded when prepared
    model.bytes.fill(0);
    const X = rows(300);
    const ex = explainerOf(model, () => ({ X, n: 300, what: 'test rows' }));
    const want = explainerFromOnnx(bytes, { background: { X, n: 300 } });
    expect(ex.base).toBe(want.base);
    expect(Buffer.from(ex.explain(X, 300).values.buffer).equals(Buffer.from(want.explain(X, 300).values.buffer))).toBe(true);
  });

  it('does not throw for bytes that are not a model; the explainer still reports why', () => {
    const model = { bytes: new Uint8Array([1, 2, 3, 4]) };
    expect(() => prepareExplainer(model)).not.toThrow();
    expect(() => explainerOf(model, () => ({ X: rows(10), n: 10, what: 'rows' }))).toThrow(ExplanationUnavailable);
  });
});
