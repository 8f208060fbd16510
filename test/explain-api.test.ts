/**
 * Explanations in the API (issue 15): `include_shap` on /predict and
 * /batch_predict, `?explain=1` on GET /predictions/{code}, and 422
 * EXPLANATION_UNAVAILABLE. The data directory is a real batch run's (the
 * fixture one-tree model: rsi_14 ≤ 50 → leaf −0.5, else 2, no node covers),
 * so the server explains with covers from the feature rows the batch stored.
 * Expected values: the tree's definition (base = the cover-weighted mean
 * leaf, rsi_14's value = leaf − base, every other feature 0), the engine
 * called directly on the same rows, and the logit of the returned probability.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import Database from 'better-sqlite3';
import { buildApp, type App } from '../src/server/app.js';
import { ModelLoader } from '../src/model/loader.js';
import { runBatch } from '../src/batch/run.js';
import { loadScoringModel } from '../src/model/scoring-model.js';
import { explainerFromOnnx } from '../src/model/explain/index.js';
import { explainerOf } from '../src/model/explainers.js';
import { FEATURE_NAMES_V1, captureLogger, treeModel, writeAliasesFile, writeModel } from './helpers/onnx-fixture.js';
import { buildMarketFixture, MODEL_NAME, MORNING, TREE, type MarketFixture } from './helpers/batch-fixture.js';

const V = '/api/v1';
const TOKEN = 'test-admin-token-0123456789';
const silent = (): pino.Logger => pino({ level: 'silent' });
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

let fx: MarketFixture;
let dataDir: string;
let app: App;
/** The batch's stored feature rows of MORNING, in bse_code order. */
let codes: string[];
let X: Float32Array;
let base: number;
const apps: App[] = [];

async function makeApp(dir: string, modelsDir = fx.modelsDir): Promise<App> {
  const a = await buildApp({
    dataDir: dir,
    modelsDir,
    server: { rateLimitRps: 0, adminToken: TOKEN },
    logger: process.env.SHOW_LOG ? pino({ level: 'error' }) : silent(),
    loader: new ModelLoader({ modelsDir, log: silent(), graceMs: 0 }),
    defaultMetrics: false,
    fileCheckMs: 0,
  });
  apps.push(a);
  return a;
}

async function batch(dir: string, modelsDir = fx.modelsDir): Promise<void> {
  const { log } = captureLogger();
  await runBatch({ dataDir: dir, date: MORNING, threads: 0, loadModel: () => loadScoringModel({ modelsDir }, { log }), log });
}

const json = <T = Record<string, unknown>>(r: { body: string }): T => JSON.parse(r.body) as T;

beforeAll(async () => {
  fx = await buildMarketFixture({ stocks: 50 });
  dataDir = fx.freshDataDir();
  await batch(dataDir);
  const db = new Database(path.join(dataDir, 'predictions.db'), { readonly: true });
  try {
    const rows = db.prepare(`SELECT bse_code, ${FEATURE_NAMES_V1.join(', ')} FROM feature_values WHERE prediction_date = ? ORDER BY bse_code`).raw(true).all(MORNING) as [
      string,
      ...number[],
    ][];
    codes = rows.map((r) => r[0]);
    X = new Float32Array(rows.flatMap((r) => r.slice(1) as number[]));
  } finally {
    db.close();
  }
  const rsi = FEATURE_NAMES_V1.indexOf('rsi_14');
  let sum = 0;
  for (let i = 0; i < codes.length; i++) sum += X[i * 25 + rsi] <= TREE.threshold ? TREE.leftLeaf : TREE.rightLeaf;
  base = sum / codes.length;
  app = await makeApp(dataDir);
});

afterAll(async () => {
  for (const a of apps) await a.close().catch(() => undefined);
  fx?.cleanup();
});

interface Shap {
  probability: number;
  shap_values: Record<string, number>;
  base_value: number;
  margin: number;
  features?: Record<string, number>;
}

/** The checks every explained answer passes: additivity, the probability's logit, the tree's definition, the engine's own values. */
function checkExplained(b: Shap, i: number): void {
  const row = X.subarray(i * 25, (i + 1) * 25);
  const leaf = row[FEATURE_NAMES_V1.indexOf('rsi_14')] <= TREE.threshold ? TREE.leftLeaf : TREE.rightLeaf;
  expect(Object.keys(b.shap_values)).toEqual(FEATURE_NAMES_V1);
  const sum = b.base_value + Object.values(b.shap_values).reduce((a, v) => a + v, 0);
  expect(Math.abs(sum - b.margin)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b.margin)));
  // The returned probability is onnxruntime's float32 sigmoid rounded to 6 decimals.
  expect(Math.abs(sigmoid(b.margin) - b.probability)).toBeLessThanOrEqual(1e-6);
  expect(b.base_value).toBeCloseTo(base, 12);
  expect(b.margin).toBeCloseTo(leaf, 12);
  for (const f of FEATURE_NAMES_V1) expect(b.shap_values[f]).toBeCloseTo(f === 'rsi_14' ? leaf - base : 0, 12);
  const direct = explainerFromOnnx(treeModel(TREE), { background: { X, n: codes.length } }).explain(Float32Array.from(row), 1);
  expect(b.base_value).toBe(direct.base);
  expect(b.margin).toBe(direct.margin[0]);
  expect(Object.values(b.shap_values)).toEqual(Array.from(direct.values));
}

describe('include_shap', () => {
  it('POST /predict returns shap_values, base_value and margin that add up to the logit of the probability', async () => {
    for (const i of [0, 1, 2, codes.length - 1]) {
      const r = await app.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: codes[i], prediction_date: MORNING, include_shap: true } });
      expect(r.statusCode, r.body).toBe(200);
      checkExplained(json<Shap>(r), i);
    }
    const plain = json(await app.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: codes[0], prediction_date: MORNING } }));
    expect('shap_values' in plain || 'base_value' in plain || 'margin' in plain).toBe(false);
  });

  it('POST /batch_predict explains exactly the items that ask', async () => {
    const payload = {
      predictions: [
        { bse_code: codes[0], prediction_date: MORNING, include_shap: true },
        { bse_code: codes[1], prediction_date: MORNING },
        { bse_code: '999999', prediction_date: MORNING, include_shap: true },
        { bse_code: codes[3], prediction_date: MORNING, include_shap: true },
      ],
    };
    const b = json<{ succeeded: number; results: { status: number; prediction?: Shap & Record<string, unknown> }[] }>(
      await app.inject({ method: 'POST', url: `${V}/batch_predict`, payload }),
    );
    expect(b.results.map((x) => x.status)).toEqual([200, 200, 404, 200]);
    checkExplained(b.results[0].prediction!, 0);
    checkExplained(b.results[3].prediction!, 3);
    expect('shap_values' in b.results[1].prediction!).toBe(false);
  });
});

describe('GET /predictions/{code}?explain=1', () => {
  it('explains the stored prediction with its stored features; the top driver is the stored one', async () => {
    const i = 2;
    const r = await app.inject({ method: 'GET', url: `${V}/predictions/${codes[i]}?explain=1` });
    expect(r.statusCode, r.body).toBe(200);
    const b = json<Shap & { features: Record<string, number>; bse_code: string }>(r);
    checkExplained(b, i);
    expect(Object.values(b.features).map((v) => Math.fround(v))).toEqual(Array.from(X.subarray(i * 25, (i + 1) * 25)));
    const db = new Database(path.join(dataDir, 'predictions.db'), { readonly: true });
    try {
      const d = db.prepare('SELECT feature, contribution FROM prediction_drivers WHERE bse_code = ? AND prediction_date = ? AND rank = 1').get(codes[i], MORNING) as {
        feature: string;
        contribution: number;
      };
      expect(b.shap_values[d.feature]).toBe(d.contribution);
    } finally {
      db.close();
    }
    const same = json(await app.inject({ method: 'GET', url: `${V}/predictions/${codes[i]}?date=${MORNING}&explain=true` }));
    expect(same.shap_values).toEqual(b.shap_values);
    const plain = json(await app.inject({ method: 'GET', url: `${V}/predictions/${codes[i]}` }));
    expect('shap_values' in plain || 'features' in plain).toBe(false);
  });

  it('404 when the prediction has no stored feature row; 400 for explain=maybe', async () => {
    const dir = fx.freshDataDir('nofeat');
    copyFileSync(path.join(dataDir, 'predictions.db'), path.join(dir, 'predictions.db'));
    const db = new Database(path.join(dir, 'predictions.db'));
    db.prepare('DELETE FROM feature_values WHERE bse_code = ?').run(codes[0]);
    db.close();
    const a = await makeApp(dir);
    const r = await a.inject({ method: 'GET', url: `${V}/predictions/${codes[0]}?explain=1` });
    expect(r.statusCode).toBe(404);
    expect(json(r)).toMatchObject({ error: 'PREDICTION_NOT_FOUND', bse_code: codes[0] });
    expect(String(json(r).message)).toMatch(/no stored features/);
    expect((await a.inject({ method: 'GET', url: `${V}/predictions/${codes[0]}` })).statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url: `${V}/predictions/${codes[0]}?explain=maybe` })).statusCode).toBe(400);
  });
});

describe('422 EXPLANATION_UNAVAILABLE', () => {
  it('a model without node covers on a server with no stored feature rows (no background): 422, while scoring still answers', async () => {
    const dir = fx.freshDataDir('market-only');
    const a = await makeApp(dir);
    const req = { bse_code: codes[0], prediction_date: MORNING };
    expect((await a.inject({ method: 'POST', url: `${V}/predict`, payload: req })).statusCode).toBe(200);
    const r = await a.inject({ method: 'POST', url: `${V}/predict`, payload: { ...req, include_shap: true } });
    expect(r.statusCode).toBe(422);
    const b = json(r);
    expect(b).toMatchObject({ error: 'EXPLANATION_UNAVAILABLE', bse_code: codes[0] });
    expect(String(b.message)).toMatch(/^explanations unavailable for this model: the trees carry no node covers, and no background sample/);
    const many = json<{ results: { status: number; error?: { error: string } }[] }>(
      await a.inject({ method: 'POST', url: `${V}/batch_predict`, payload: { predictions: [{ ...req, include_shap: true }, req] } }),
    );
    expect(many.results.map((x) => [x.status, x.error?.error ?? null])).toEqual([
      [422, 'EXPLANATION_UNAVAILABLE'],
      [200, null],
    ]);
  });

  it('a stored prediction of a model no explainer reads (a two-node graph): explain=1 answers 422', async () => {
    const modelsDir = path.join(fx.root, 'models-identity');
    mkdirSync(modelsDir, { recursive: true });
    writeModel(modelsDir, MODEL_NAME, '3.0.0', treeModel({ ...TREE, identityAfter: true }));
    writeAliasesFile(modelsDir, { champion: `${MODEL_NAME}/3.0.0` });
    const dir = fx.freshDataDir('identity');
    await batch(dir, modelsDir);
    const a = await makeApp(dir, modelsDir);
    expect((await a.inject({ method: 'GET', url: `${V}/predictions/${codes[0]}` })).statusCode).toBe(200);
    const r = await a.inject({ method: 'GET', url: `${V}/predictions/${codes[0]}?explain=1` });
    expect(r.statusCode).toBe(422);
    expect(json(r)).toMatchObject({ error: 'EXPLANATION_UNAVAILABLE' });
    expect(String(json(r).message)).toContain('the graph has 2 nodes');
  });
});

describe('the explainer is built once per loaded model', () => {
  it('the same loaded model reuses its explainer (the background asked for once); a reload builds a new one', async () => {
    const a = await makeApp(dataDir);
    const loader = a.ctx.service.loader;
    const m1 = await loader.current();
    let asked = 0;
    const bg = () => (asked++, { X, n: codes.length, what: 'test rows' });
    const e1 = explainerOf(m1, bg);
    expect(explainerOf(m1, bg)).toBe(e1);
    expect(asked).toBe(1);
    const r = await a.inject({ method: 'POST', url: `${V}/models/reload`, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.statusCode).toBe(200);
    const m2 = await loader.current();
    expect(m2).not.toBe(m1);
    expect(explainerOf(m2, bg)).not.toBe(e1);
    expect(asked).toBe(2);
  });
});
