/**
 * `stockflow serve`: every endpoint's success path and every error code, over
 * `app.inject`; real sockets on 127.0.0.1 port 0 where they matter (rate
 * limit per client IP, reload during traffic, graceful shutdown).
 *
 * Expected values come from the fixture (hand-written rows and hand-encoded
 * models, test/helpers/server-fixture.ts), from the tree model's definition
 * (sigmoid of a leaf), and from the batch's own feature path
 * (computeFeatures) as the reference for on-demand extraction.
 */
import { copyFileSync, cpSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import Database from 'better-sqlite3';
import { buildApp, type App, type AppDeps } from '../src/server/app.js';
import { handleShutdownSignals, listen } from '../src/server/lifecycle.js';
import { cacheStatements } from '../src/server/data.js';
import { ModelLoader } from '../src/model/loader.js';
import { openMarketReadonly } from '../src/market/db.js';
import { activeStocks } from '../src/market/reader.js';
import { computeFeatures } from '../src/features/service.js';
import { openPredictionsForWrite } from './helpers/predictions-db.js';
import { FEATURE_NAMES_V1, captureLogger, expectedProbability, sigmoid, writeAliasesFile, type TreeFixture } from './helpers/onnx-fixture.js';
import {
  MODEL_A,
  MODEL_B,
  MODEL_NAME,
  MORNING_DATE,
  OLD_DATE,
  STORED_DATE,
  buildFixture,
  featureRowValues,
  insertFeatureRow,
  type Fixture,
} from './helpers/server-fixture.js';

const TOKEN = 'test-admin-token-0123456789';
const V = '/api/v1';
const silent = (): pino.Logger => pino({ level: 'silent' });

let fx: Fixture;
let app: App;
let logRecords: Record<string, unknown>[];
/** Reference feature rows for MORNING_DATE from the batch's path (computeFeatures), by code. */
let reference: Map<string, number[]>;
/** Active stocks the batch path scores on MORNING_DATE. */
let scorable: string[];
const extraApps: App[] = [];

async function makeApp(over: Partial<AppDeps> = {}): Promise<App> {
  const a = await buildApp({
    dataDir: fx.dataDir,
    modelsDir: fx.modelsDir,
    server: { rateLimitRps: 0, adminToken: TOKEN },
    logger: silent(),
    defaultMetrics: false,
    fileCheckMs: 0,
    ...over,
  });
  extraApps.push(a);
  return a;
}

/** A fresh copy of the fixture's data and models, for tests that change them. */
function copyFixture(name: string, parts: { market?: boolean; predictions?: boolean; models?: boolean } = {}): { dataDir: string; modelsDir: string } {
  const dir = path.join(fx.root, name);
  const dataDir = path.join(dir, 'data');
  const modelsDir = path.join(dir, 'models');
  mkdirSync(dataDir, { recursive: true });
  if (parts.market !== false) copyFileSync(path.join(fx.dataDir, 'market.db'), path.join(dataDir, 'market.db'));
  if (parts.predictions !== false) copyFileSync(path.join(fx.dataDir, 'predictions.db'), path.join(dataDir, 'predictions.db'));
  if (parts.models !== false) cpSync(fx.modelsDir, modelsDir, { recursive: true });
  else mkdirSync(modelsDir, { recursive: true });
  return { dataDir, modelsDir };
}

/** P(upper circuit) the model returns for a row, rounded to 6 decimals as the API writes it (float32 sigmoid). */
const expectedP = (spec: TreeFixture, row: ArrayLike<number>): number => Math.round(Math.fround(expectedProbability(spec, row)) * 1e6) / 1e6;

function json<T = Record<string, unknown>>(r: { body: string }): T {
  return JSON.parse(r.body) as T;
}

function expectErrorBody(r: { statusCode: number; body: string; headers: Record<string, unknown> }, status: number, code: string): Record<string, unknown> {
  expect(r.statusCode).toBe(status);
  const b = json(r);
  expect(b.error).toBe(code);
  expect(typeof b.message).toBe('string');
  expect(String(b.message).length).toBeGreaterThan(0);
  expect(Number.isNaN(Date.parse(String(b.timestamp)))).toBe(false);
  expect(b.request_id).toBe(r.headers['x-request-id']);
  expect(r.body).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack frames
  expect(Object.keys(b).every((k) => ['error', 'message', 'bse_code', 'reason', 'timestamp', 'request_id'].includes(k))).toBe(true);
  return b;
}

beforeAll(async () => {
  fx = await buildFixture();
  const cap = captureLogger();
  logRecords = cap.records;
  app = await buildApp({
    dataDir: fx.dataDir,
    modelsDir: fx.modelsDir,
    server: { rateLimitRps: 0, adminToken: TOKEN },
    logger: cap.log,
    loader: new ModelLoader({ modelsDir: fx.modelsDir, log: silent(), graceMs: 0 }),
    defaultMetrics: false,
    fileCheckMs: 0,
  });
  const market = openMarketReadonly(fx.dataDir);
  try {
    const fs = await computeFeatures(market, path.join(fx.dataDir, 'market.db'), activeStocks(market), MORNING_DATE, { threads: 0 });
    reference = new Map(fs.block.codes.map((c, i) => [c, Array.from(fs.block.values.subarray(i * 25, (i + 1) * 25))]));
    scorable = fs.block.codes.slice().sort();
  } finally {
    market.close();
  }
});

afterAll(async () => {
  await app?.close();
  for (const a of extraApps) await a.close().catch(() => undefined);
  fx?.cleanup();
});

// ---------------------------------------------------------------------------------------------
describe('GET /predictions/{bse_code}', () => {
  it('answers the latest succeeded run’s row, not a later failed run’s model version', async () => {
    const s = fx.stored[0];
    const r = await app.inject({ method: 'GET', url: `${V}/predictions/${s.bse_code}` });
    expect(r.statusCode).toBe(200);
    expect(json(r)).toEqual({
      bse_code: s.bse_code,
      nse_symbol: s.nse_symbol,
      company_name: s.company_name,
      prediction_date: STORED_DATE,
      as_of_session: '2025-11-12',
      predicted_label: 1,
      probability: 0.91,
      confidence: 'HIGH',
      model_version: '1.0.0',
      model_type: 'GBDT',
      prediction_timestamp: '2025-11-13T01:30:00.000Z',
      run_id: 'run-good',
    });
  });

  it('answers an explicit older date', async () => {
    const r = await app.inject({ method: 'GET', url: `${V}/predictions/${fx.stored[3].bse_code}?date=${OLD_DATE}` });
    expect(r.statusCode).toBe(200);
    expect(json(r)).toMatchObject({ prediction_date: OLD_DATE, probability: 0.3, run_id: 'run-old', as_of_session: '2025-11-11' });
  });

  it('404 PREDICTION_NOT_FOUND for a date without predictions, and with the skip reason for a skipped stock', async () => {
    expectErrorBody(await app.inject({ method: 'GET', url: `${V}/predictions/${fx.stored[0].bse_code}?date=2025-11-10` }), 404, 'PREDICTION_NOT_FOUND');
    const b = expectErrorBody(await app.inject({ method: 'GET', url: `${V}/predictions/${fx.skippedCode}` }), 404, 'PREDICTION_NOT_FOUND');
    expect(b).toMatchObject({ bse_code: fx.skippedCode, reason: 'TOO_MANY_MISSING' });
    expect(b.message).toContain('14 of 25 features have no data');
    const unscored = fx.stocks[fx.stored.length + 1].bse_code;
    expectErrorBody(await app.inject({ method: 'GET', url: `${V}/predictions/${unscored}` }), 404, 'PREDICTION_NOT_FOUND');
  });

  it('404 STOCK_NOT_FOUND for a code not in the master list', async () => {
    const known = new Set(fx.stocks.map((s) => s.bse_code));
    const code = ['999999', '999998', '999997'].find((c) => !known.has(c)) as string;
    const b = expectErrorBody(await app.inject({ method: 'GET', url: `${V}/predictions/${code}` }), 404, 'STOCK_NOT_FOUND');
    expect(b.bse_code).toBe(code);
  });

  it('an NSE symbol, case-insensitively, answers as its key does; an unknown symbol is 404 STOCK_NOT_FOUND', async () => {
    const s = fx.stored.find((x) => x.nse_symbol !== null) as (typeof fx.stored)[number];
    const byCode = await app.inject({ method: 'GET', url: `${V}/predictions/${s.bse_code}` });
    const bySymbol = await app.inject({ method: 'GET', url: `${V}/predictions/${(s.nse_symbol as string).toLowerCase()}` });
    expect(bySymbol.statusCode).toBe(200);
    expect(json(bySymbol)).toEqual(json(byCode));
    for (const sym of ['NOSUCHSYMBOL', '50032a']) {
      const b = expectErrorBody(await app.inject({ method: 'GET', url: `${V}/predictions/${sym}` }), 404, 'STOCK_NOT_FOUND');
      expect(b.message).toBe(`no stock with NSE symbol '${sym}' in the master list`);
    }
  });

  it('400 INVALID_REQUEST for a code that is not 6 digits (nor a symbol) and for impossible or malformed dates', async () => {
    for (const url of [`${V}/predictions/50032`, `${V}/predictions/5003251`, `${V}/predictions/${'A'.repeat(31)}`]) {
      const b = expectErrorBody(await app.inject({ method: 'GET', url }), 400, 'INVALID_REQUEST');
      expect(b.message).toContain('6-digit');
    }
    for (const d of ['2025-02-30', '2025-13-01', '20251113', '13-11-2025']) {
      expectErrorBody(await app.inject({ method: 'GET', url: `${V}/predictions/${fx.stored[0].bse_code}?date=${d}` }), 400, 'INVALID_REQUEST');
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('GET /predictions', () => {
  /** The fixture's rows in ranking order, sorted here: probability descending, ties by code. */
  const ranking = (): typeof fx.stored =>
    [...fx.stored].sort((a, b) => b.probability - a.probability || (a.bse_code < b.bse_code ? -1 : 1));

  it('ranks the latest succeeded date by probability, ties by code', async () => {
    const r = await app.inject({ method: 'GET', url: `${V}/predictions` });
    expect(r.statusCode).toBe(200);
    const b = json<{ items: Record<string, unknown>[] } & Record<string, unknown>>(r);
    expect(b).toMatchObject({ prediction_date: STORED_DATE, model_version: '1.0.0', run_id: 'run-good', total: 9, limit: 100, offset: 0, as_of_session: '2025-11-12' });
    expect(b.items.map((i) => [i.rank, i.bse_code, i.probability, i.predicted_label, i.confidence])).toEqual(
      ranking().map((s, i) => [i + 1, s.bse_code, s.probability, s.label, s.confidence]),
    );
  });

  it('filters by confidence and label, keeping each stock’s overall rank, and paginates', async () => {
    const all = ranking();
    const rankOf = (code: string): number => all.findIndex((s) => s.bse_code === code) + 1;
    const low = json<{ total: number; items: { rank: number; bse_code: string }[] }>(await app.inject({ method: 'GET', url: `${V}/predictions?confidence=LOW` }));
    const wantLow = all.filter((s) => s.confidence === 'LOW');
    expect(low.total).toBe(3);
    expect(low.items.map((i) => [i.rank, i.bse_code])).toEqual(wantLow.map((s) => [rankOf(s.bse_code), s.bse_code]));
    const zero = json<{ total: number; items: { rank: number }[] }>(await app.inject({ method: 'GET', url: `${V}/predictions?label=0` }));
    expect(zero.total).toBe(4);
    expect(zero.items.map((i) => i.rank)).toEqual([6, 7, 8, 9]);
    const both = json<{ total: number; items: { rank: number }[] }>(await app.inject({ method: 'GET', url: `${V}/predictions?label=1&confidence=HIGH` }));
    expect(both.total).toBe(2);
    expect(both.items.map((i) => i.rank)).toEqual([1, 2]);
    const page = json<{ total: number; limit: number; offset: number; items: { rank: number; bse_code: string }[] }>(
      await app.inject({ method: 'GET', url: `${V}/predictions?limit=2&offset=1` }),
    );
    expect(page).toMatchObject({ total: 9, limit: 2, offset: 1 });
    expect(page.items.map((i) => [i.rank, i.bse_code])).toEqual([
      [2, all[1].bse_code],
      [3, all[2].bse_code],
    ]);
    const old = json<{ prediction_date: string; total: number }>(await app.inject({ method: 'GET', url: `${V}/predictions?date=${OLD_DATE}` }));
    expect(old).toMatchObject({ prediction_date: OLD_DATE, total: 9 });
  });

  it('400 for bad paging or filter values, 404 for a date without predictions', async () => {
    for (const q of ['limit=0', 'limit=1001', 'offset=-1', 'confidence=SURE', 'label=2', 'limit=abc', 'date=2024-02-30']) {
      expectErrorBody(await app.inject({ method: 'GET', url: `${V}/predictions?${q}` }), 400, 'INVALID_REQUEST');
    }
    expectErrorBody(await app.inject({ method: 'GET', url: `${V}/predictions?date=2025-11-01` }), 404, 'PREDICTION_NOT_FOUND');
  });
});

// ---------------------------------------------------------------------------------------------
describe('POST /predict', () => {
  it('extracts features now (as the batch would) and scores them with the champion', async () => {
    const code = scorable[0];
    const ref = reference.get(code) as number[];
    const stock = fx.stocks.find((s) => s.bse_code === code);
    const r = await app.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: code, prediction_date: MORNING_DATE, include_features: true } });
    expect(r.statusCode).toBe(200);
    const b = json<Record<string, unknown> & { features: Record<string, number> }>(r);
    const p = expectedP(MODEL_A, ref);
    expect(b).toMatchObject({
      bse_code: code,
      nse_symbol: stock?.nse_symbol,
      company_name: stock?.company_name,
      prediction_date: MORNING_DATE,
      as_of_session: '2025-11-13',
      probability: p,
      predicted_label: p >= 0.5 ? 1 : 0,
      confidence: 'HIGH', // sigmoid(2) ≈ 0.88 and sigmoid(−1.5) ≈ 0.18 are both HIGH
      model_name: MODEL_NAME,
      model_version: '1.0.0',
      model_type: 'GBDT',
      feature_source: 'computed',
    });
    expect(Number.isNaN(Date.parse(String(b.prediction_timestamp)))).toBe(false);
    expect(typeof b.processing_time_ms).toBe('number');
    expect(Object.keys(b.features)).toEqual(FEATURE_NAMES_V1);
    FEATURE_NAMES_V1.forEach((n, i) => expect(Math.fround(b.features[n])).toBe(Math.fround(ref[i])));
  });

  it('uses the batch’s stored feature row when the date has one', async () => {
    const r = await app.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: fx.storedFeatureCode, prediction_date: STORED_DATE, include_features: true } });
    expect(r.statusCode).toBe(200);
    const b = json<Record<string, unknown> & { features: Record<string, number> }>(r);
    const values = featureRowValues({ rsi_14: 42, ret_20d: 0.1 });
    expect(b).toMatchObject({ feature_source: 'store', as_of_session: '2025-11-12', probability: Math.round(Math.fround(sigmoid(-1.5)) * 1e6) / 1e6, predicted_label: 0 });
    expect(b.features).toEqual(Object.fromEntries(FEATURE_NAMES_V1.map((n, i) => [n, values[i]])));
  });

  it('leaves features out unless asked, and checks nse_symbol case-insensitively', async () => {
    const s = fx.stocks.find((x) => x.bse_code === scorable[1] && x.nse_symbol) ?? fx.stocks.find((x) => scorable.includes(x.bse_code) && x.nse_symbol);
    expect(s).toBeDefined();
    const ok = await app.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: s?.bse_code, nse_symbol: s?.nse_symbol?.toLowerCase(), prediction_date: MORNING_DATE } });
    expect(ok.statusCode).toBe(200);
    expect('features' in json(ok)).toBe(false);
    const bad = await app.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: s?.bse_code, nse_symbol: 'NOTTHIS', prediction_date: MORNING_DATE } });
    expect(expectErrorBody(bad, 400, 'INVALID_REQUEST').message).toContain('NOTTHIS');
  });

  it('404 STOCK_NOT_FOUND, 422 FEATURE_EXTRACTION_FAILED with the reason', async () => {
    const code = scorable[0];
    const nf = expectErrorBody(await app.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: '999999', prediction_date: MORNING_DATE } }), 404, 'STOCK_NOT_FOUND');
    expect(nf.bse_code).toBe('999999');
    // 300 sessions end on 2025-11-13: early 2025 has far fewer than the 250 sessions extraction needs.
    const cases: [string, string][] = [
      ['2025-01-10', 'INSUFFICIENT_HISTORY'],
      ['2020-01-10', 'NO_PRICE_DATA'], // before the first session
      ['2026-01-10', 'STALE_DATA'], // the last session is 58 days earlier
    ];
    for (const [date, reason] of cases) {
      const b = expectErrorBody(await app.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: code, prediction_date: date } }), 422, 'FEATURE_EXTRACTION_FAILED');
      expect(b).toMatchObject({ bse_code: code, reason });
    }
  });

  it('400 INVALID_REQUEST for schema failures, bad JSON and impossible dates; 413 and 415 in the same body', async () => {
    const code = scorable[0];
    const bodies: [unknown, RegExp][] = [
      [{ bse_code: '50032', prediction_date: MORNING_DATE }, /6-digit/],
      [{ bse_code: 'ABCDEF', prediction_date: MORNING_DATE }, /6-digit/],
      [{ bse_code: code, prediction_date: '2025-02-30' }, /real calendar date/],
      [{ bse_code: code, prediction_date: '2025-2-3' }, /real calendar date/],
      [{ bse_code: code }, /prediction_date/],
      [{ bse_code: code, prediction_date: MORNING_DATE, extra: 1 }, /extra/],
      [{ bse_code: code, prediction_date: MORNING_DATE, include_features: 'maybe' }, /include_features/],
    ];
    for (const [payload, msg] of bodies) {
      const b = expectErrorBody(await app.inject({ method: 'POST', url: `${V}/predict`, payload: payload as object }), 400, 'INVALID_REQUEST');
      expect(b.message).toMatch(msg);
    }
    expectErrorBody(await app.inject({ method: 'POST', url: `${V}/predict`, headers: { 'content-type': 'application/json' }, payload: '{"bse_code": ' }), 400, 'INVALID_REQUEST');
    expectErrorBody(await app.inject({ method: 'POST', url: `${V}/predict`, headers: { 'content-type': 'text/plain' }, payload: 'hello' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const huge = JSON.stringify({ bse_code: code, prediction_date: MORNING_DATE, nse_symbol: 'x'.repeat(300 * 1024) });
    expectErrorBody(await app.inject({ method: 'POST', url: `${V}/predict`, headers: { 'content-type': 'application/json' }, payload: huge }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('500 INTERNAL_ERROR with a generic message for an unexpected failure; the detail goes to the log only', async () => {
    class BrokenLoader extends ModelLoader {
      override async acquire(): Promise<never> {
        throw new Error('secret internal detail /etc/stockflow');
      }
    }
    const cap = captureLogger();
    const a = await makeApp({ loader: new BrokenLoader({ modelsDir: fx.modelsDir, log: silent() }), logger: cap.log });
    const r = await a.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: scorable[0], prediction_date: MORNING_DATE } });
    const b = expectErrorBody(r, 500, 'INTERNAL_ERROR');
    expect(r.body).not.toContain('secret internal detail');
    const logged = cap.records.find((x) => x.msg === 'unexpected error');
    expect(logged?.reqId).toBe(b.request_id);
    expect(JSON.stringify(logged)).toContain('secret internal detail');
  });
});

// ---------------------------------------------------------------------------------------------
describe('POST /batch_predict', () => {
  it('scores the good items together in one model run and reports each failure in place', async () => {
    const model = await app.ctx.service.loader.current();
    const spy = vi.spyOn(model.session, 'run');
    const codes = scorable.slice(0, 4);
    const payload = {
      predictions: [
        { bse_code: codes[0], prediction_date: MORNING_DATE },
        { bse_code: '999999', prediction_date: MORNING_DATE },
        { bse_code: codes[1], prediction_date: MORNING_DATE, include_features: true },
        { bse_code: codes[2], prediction_date: '2025-01-10' },
        { bse_code: codes[3], prediction_date: MORNING_DATE, include_shap: true },
        { bse_code: codes[3], prediction_date: MORNING_DATE, nse_symbol: 'WRONG' },
        { bse_code: codes[3], prediction_date: MORNING_DATE },
      ],
    };
    const r = await app.inject({ method: 'POST', url: `${V}/batch_predict`, payload });
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    expect(r.statusCode).toBe(200);
    const b = json<{ count: number; succeeded: number; failed: number; model_version: string; results: Record<string, unknown>[] }>(r);
    expect(b).toMatchObject({ count: 7, succeeded: 4, failed: 3, model_version: '1.0.0' });
    expect(b.results.map((x) => [x.index, x.status, (x.error as { error?: string } | undefined)?.error ?? null])).toEqual([
      [0, 200, null],
      [1, 404, 'STOCK_NOT_FOUND'],
      [2, 200, null],
      [3, 422, 'FEATURE_EXTRACTION_FAILED'],
      [4, 200, null], // include_shap (test/explain-api.test.ts checks the values)
      [5, 400, 'INVALID_REQUEST'],
      [6, 200, null],
    ]);
    for (const [i, code] of [
      [0, codes[0]],
      [2, codes[1]],
      [6, codes[3]],
    ] as const) {
      const pred = b.results[i].prediction as Record<string, unknown>;
      expect(pred.bse_code).toBe(code);
      expect(pred.probability).toBe(expectedP(MODEL_A, reference.get(code) as number[]));
      expect('features' in pred).toBe(i === 2);
      expect('error' in b.results[i]).toBe(false);
    }
    expect((b.results[3].error as Record<string, unknown>).reason).toBe('INSUFFICIENT_HISTORY');
  });

  it('accepts 100 items and refuses 101 or none with 400', async () => {
    const items = Array.from({ length: 100 }, (_, i) => ({ bse_code: scorable[i % scorable.length], prediction_date: MORNING_DATE }));
    const ok = await app.inject({ method: 'POST', url: `${V}/batch_predict`, payload: { predictions: items } });
    expect(ok.statusCode).toBe(200);
    const b = json<{ count: number; succeeded: number; results: { prediction: { probability: number; bse_code: string } }[] }>(ok);
    expect(b).toMatchObject({ count: 100, succeeded: 100 });
    b.results.forEach((x, i) => expect(x.prediction.probability).toBe(expectedP(MODEL_A, reference.get(items[i].bse_code) as number[])));
    const over = await app.inject({ method: 'POST', url: `${V}/batch_predict`, payload: { predictions: [...items, items[0]] } });
    expect(expectErrorBody(over, 400, 'INVALID_REQUEST').message).toContain('100');
    expectErrorBody(await app.inject({ method: 'POST', url: `${V}/batch_predict`, payload: { predictions: [] } }), 400, 'INVALID_REQUEST');
    expectErrorBody(
      await app.inject({ method: 'POST', url: `${V}/batch_predict`, payload: { predictions: [{ bse_code: '12', prediction_date: MORNING_DATE }] } }),
      400,
      'INVALID_REQUEST',
    );
  });
});

// ---------------------------------------------------------------------------------------------
describe('GET /features/{bse_code}', () => {
  it('answers the stored row for the latest run’s date by default', async () => {
    const r = await app.inject({ method: 'GET', url: `${V}/features/${fx.storedFeatureCode}` });
    expect(r.statusCode).toBe(200);
    const values = featureRowValues({ rsi_14: 42, ret_20d: 0.1 });
    expect(json(r)).toEqual({
      bse_code: fx.storedFeatureCode,
      prediction_date: STORED_DATE,
      as_of_session: '2025-11-12',
      feature_set_version: '1',
      source: 'store',
      imputed_count: 2,
      features: Object.fromEntries(FEATURE_NAMES_V1.map((n, i) => [n, values[i]])),
    });
  });

  it('computes a row on demand equal to the batch’s', async () => {
    const code = scorable[2];
    const r = await app.inject({ method: 'GET', url: `${V}/features/${code}?date=${MORNING_DATE}` });
    expect(r.statusCode).toBe(200);
    const b = json<{ source: string; as_of_session: string; features: Record<string, number> }>(r);
    expect(b.source).toBe('computed');
    expect(b.as_of_session).toBe('2025-11-13');
    const ref = reference.get(code) as number[];
    FEATURE_NAMES_V1.forEach((n, i) => expect(Math.fround(b.features[n])).toBe(Math.fround(ref[i])));
  });

  it('404 for an unknown stock, 422 when the features cannot be extracted, 400 for a bad date', async () => {
    expectErrorBody(await app.inject({ method: 'GET', url: `${V}/features/999999?date=${MORNING_DATE}` }), 404, 'STOCK_NOT_FOUND');
    const b = expectErrorBody(await app.inject({ method: 'GET', url: `${V}/features/${scorable[0]}?date=2025-01-10` }), 422, 'FEATURE_EXTRACTION_FAILED');
    expect(b.reason).toBe('INSUFFICIENT_HISTORY');
    expectErrorBody(await app.inject({ method: 'GET', url: `${V}/features/${scorable[0]}?date=2025-04-31` }), 400, 'INVALID_REQUEST');
  });
});

// ---------------------------------------------------------------------------------------------
describe('health, models, metrics', () => {
  it('GET /health: 200 healthy with the model, traffic figures and the last batch run', async () => {
    const first = json<{ requests_processed: number }>(await app.inject({ method: 'GET', url: `${V}/health` }));
    const r = await app.inject({ method: 'GET', url: `${V}/health` });
    expect(r.statusCode).toBe(200);
    const b = json<Record<string, unknown>>(r);
    expect(b).toMatchObject({
      status: 'healthy',
      model_loaded: true,
      model_name: MODEL_NAME,
      model_version: '1.0.0',
      model_type: 'GBDT',
      model_error: null,
      market_db: true,
      predictions_db: true,
      requests_processed: first.requests_processed + 1,
      // The most recently started run, whatever its status.
      last_batch_run: {
        run_id: 'run-failed',
        prediction_date: STORED_DATE,
        status: 'failed',
        finished_at: '2025-11-13T02:31:00.000Z',
        model_version: '1.1.0',
        counts: { universe: 10, processed: 9, skipped: 1, predicted_uc: 0, high: 0, medium: 0, low: 0 },
      },
    });
    expect(b.uptime_seconds as number).toBeGreaterThan(0);
    expect(b.avg_latency_ms as number).toBeGreaterThan(0);
    expect(b.error_rate as number).toBeGreaterThanOrEqual(0);
    expect(b.error_rate as number).toBeLessThanOrEqual(1);
  });

  it('GET /models lists the registry without loading anything', async () => {
    const a = await makeApp({ loader: new ModelLoader({ modelsDir: fx.modelsDir, log: silent() }) });
    const r = await a.inject({ method: 'GET', url: `${V}/models` });
    expect(r.statusCode).toBe(200);
    const b = json<{ serving: string | null; champion: string; models: Record<string, unknown>[] }>(r);
    expect(b.serving).toBeNull();
    expect(b.champion).toBe(`${MODEL_NAME}/1.0.0`);
    expect(b.models.map((m) => [m.ref, m.aliases, m.usable, m.loaded, m.model_type])).toEqual([
      [`${MODEL_NAME}/1.1.0`, [], true, false, 'GBDT'],
      [`${MODEL_NAME}/1.0.0`, ['champion'], true, false, 'GBDT'],
    ]);
    expect(a.ctx.service.loader.stats().loads).toBe(0);
  });

  it('GET /metrics: Prometheus text with per-route counts, latency, model, cache and batch figures', async () => {
    const a = await makeApp();
    const code = fx.stored[0].bse_code;
    for (let i = 0; i < 3; i++) expect((await a.inject({ method: 'GET', url: `${V}/predictions/${code}` })).statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url: `${V}/predictions/999999` })).statusCode).toBe(404);
    expect((await a.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: scorable[0], prediction_date: MORNING_DATE } })).statusCode).toBe(200);
    expect((await a.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: scorable[0], prediction_date: MORNING_DATE } })).statusCode).toBe(200);
    const r = await a.inject({ method: 'GET', url: `${V}/metrics` });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    const t = r.body;
    const value = (series: string): number => {
      const line = t.split('\n').find((l) => l.startsWith(`${series} `));
      if (!line) throw new Error(`no series ${series} in\n${t}`);
      return Number(line.slice(series.length + 1));
    };
    expect(value('http_requests_total{route="/api/v1/predictions/:bse_code",method="GET",status="200"}')).toBe(3);
    expect(value('http_requests_total{route="/api/v1/predictions/:bse_code",method="GET",status="404"}')).toBe(1);
    expect(value('http_request_duration_seconds_count{route="/api/v1/predictions/:bse_code",method="GET",status="200"}')).toBe(3);
    expect(t).toMatch(/^# TYPE http_request_duration_seconds histogram$/m);
    expect(value('stockflow_model_loads_total')).toBe(1);
    expect(value('stockflow_model_cache_misses_total')).toBe(1);
    expect(value('stockflow_model_cache_hits_total')).toBe(1);
    expect(value('stockflow_model_load_seconds')).toBeGreaterThan(0);
    expect(value(`stockflow_model_info{model="${MODEL_NAME}/1.0.0",source="champion"}`)).toBe(1);
    // Same stock and date twice: one miss (computed), then one hit.
    expect(value('stockflow_feature_cache_misses_total')).toBe(1);
    expect(value('stockflow_feature_cache_hits_total')).toBe(1);
    expect(value('stockflow_last_batch_run_timestamp_seconds')).toBe(Date.UTC(2025, 10, 13, 2, 31, 0) / 1000);
    expect(value('stockflow_last_batch_run_stocks{kind="processed"}')).toBe(9);
    expect(value('stockflow_last_batch_run_info{run_id="run-failed",prediction_date="2025-11-13",status="failed"}')).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
describe('POST /models/reload', () => {
  it('403 when no admin token is configured, 401 without or with a wrong token', async () => {
    const open = await makeApp({ server: { rateLimitRps: 0 } });
    expectErrorBody(await open.inject({ method: 'POST', url: `${V}/models/reload`, headers: { authorization: `Bearer ${TOKEN}` } }), 403, 'FORBIDDEN');
    const none = await app.inject({ method: 'POST', url: `${V}/models/reload` });
    expectErrorBody(none, 401, 'UNAUTHORIZED');
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    for (const authorization of [`Bearer ${TOKEN.slice(0, -1)}x`, 'Bearer short', `Basic ${TOKEN}`, TOKEN, `Bearer ${TOKEN} extra`]) {
      expectErrorBody(await app.inject({ method: 'POST', url: `${V}/models/reload`, headers: { authorization } }), 401, 'UNAUTHORIZED');
    }
  });

  it('swaps in the new champion; 503 (old model kept) when nothing is usable', async () => {
    const c = copyFixture('reload-basic');
    const a = await makeApp({ ...c, loader: new ModelLoader({ modelsDir: c.modelsDir, log: silent(), graceMs: 0 }) });
    const code = scorable[0];
    const ask = async (): Promise<Record<string, unknown>> =>
      json(await a.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: code, prediction_date: MORNING_DATE } }));
    expect((await ask()).model_version).toBe('1.0.0');
    writeAliasesFile(c.modelsDir, { champion: `${MODEL_NAME}/1.1.0` });
    expect((await ask()).model_version).toBe('1.0.0'); // nothing changes before the reload
    const r = await a.inject({ method: 'POST', url: `${V}/models/reload`, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.statusCode).toBe(200);
    expect(json(r)).toMatchObject({ previous: `${MODEL_NAME}/1.0.0`, current: `${MODEL_NAME}/1.1.0`, model_type: 'GBDT' });
    const after = await ask();
    expect(after).toMatchObject({ model_version: '1.1.0', probability: expectedP(MODEL_B, reference.get(code) as number[]) });
    // Break every model: the reload fails with 503 and 1.1.0 keeps serving.
    for (const v of ['1.0.0', '1.1.0']) writeFileSync(path.join(c.modelsDir, MODEL_NAME, v, 'model.onnx'), 'not onnx');
    const failed = await a.inject({ method: 'POST', url: `${V}/models/reload`, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(expectErrorBody(failed, 503, 'MODEL_UNAVAILABLE').message).toContain(`still serving ${MODEL_NAME}/1.1.0`);
    expect((await ask()).model_version).toBe('1.1.0');
  });
});

// ---------------------------------------------------------------------------------------------
describe('degraded and unavailable', () => {
  it('503 MODEL_UNAVAILABLE and an unhealthy /health when no model is usable; stored look-ups still answer', async () => {
    const c = copyFixture('no-model', { models: false });
    const a = await makeApp({ ...c });
    expectErrorBody(await a.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: scorable[0], prediction_date: MORNING_DATE } }), 503, 'MODEL_UNAVAILABLE');
    const h = await a.inject({ method: 'GET', url: `${V}/health` });
    expect(h.statusCode).toBe(503);
    expect(json(h)).toMatchObject({ status: 'unhealthy', model_loaded: false, model_version: null, market_db: true });
    expect(String(json(h).model_error)).toContain('no usable model');
    expect((await a.inject({ method: 'GET', url: `${V}/predictions/${fx.stored[0].bse_code}` })).statusCode).toBe(200);
  });

  it('503 DATA_UNAVAILABLE and an unhealthy /health without market.db', async () => {
    const c = copyFixture('no-market', { market: false });
    const a = await makeApp({ ...c });
    expectErrorBody(await a.inject({ method: 'POST', url: `${V}/predict`, payload: { bse_code: scorable[0], prediction_date: MORNING_DATE } }), 503, 'DATA_UNAVAILABLE');
    const h = await a.inject({ method: 'GET', url: `${V}/health` });
    expect(h.statusCode).toBe(503);
    expect(json(h)).toMatchObject({ status: 'unhealthy', market_db: false, model_version: '1.0.0' });
  });

  it('starts without predictions.db (degraded), and answers from it once a batch creates it', async () => {
    const c = copyFixture('no-predictions', { predictions: false });
    const a = await makeApp({ ...c });
    const h = await a.inject({ method: 'GET', url: `${V}/health` });
    expect(h.statusCode).toBe(200);
    expect(json(h)).toMatchObject({ status: 'degraded', predictions_db: false, last_batch_run: null });
    const code = fx.stored[0].bse_code;
    expectErrorBody(await a.inject({ method: 'GET', url: `${V}/predictions/${code}` }), 404, 'PREDICTION_NOT_FOUND');
    expectErrorBody(await a.inject({ method: 'GET', url: `${V}/predictions` }), 404, 'PREDICTION_NOT_FOUND');
    // /features falls back to the morning after the last session.
    const f = await a.inject({ method: 'GET', url: `${V}/features/${scorable[0]}` });
    expect(json(f)).toMatchObject({ prediction_date: MORNING_DATE, source: 'computed' });

    const w = openPredictionsForWrite(c.dataDir);
    w.prepare(
      `INSERT INTO daily_predictions (bse_code, nse_symbol, company_name, prediction_date, predicted_label, probability, confidence, model_version, model_type, prediction_timestamp)
       VALUES (?, NULL, 'X', ?, 1, 0.8, 'HIGH', '1.0.0', 'GBDT', '2025-11-14T01:30:00.000Z')`,
    ).run(code, MORNING_DATE);
    w.prepare(
      `INSERT INTO batch_runs (run_id, prediction_date, as_of_session, started_at, finished_at, status, model_version, model_type, published)
       VALUES ('run-new', ?, '2025-11-13', '2025-11-14T01:29:00.000Z', '2025-11-14T01:31:00.000Z', 'succeeded', '1.0.0', 'GBDT', 1)`,
    ).run(MORNING_DATE);
    w.close();
    const r = await a.inject({ method: 'GET', url: `${V}/predictions/${code}` });
    expect(r.statusCode).toBe(200);
    expect(json(r)).toMatchObject({ prediction_date: MORNING_DATE, probability: 0.8, run_id: 'run-new' });
    expect(json(await a.inject({ method: 'GET', url: `${V}/health` }))).toMatchObject({ status: 'healthy', predictions_db: true });
  });

  it('reopens a database file replaced by a rename', async () => {
    const c = copyFixture('replaced');
    const a = await makeApp({ ...c });
    const code = fx.stored[0].bse_code;
    expect(json(await a.inject({ method: 'GET', url: `${V}/predictions/${code}` })).probability).toBe(0.91);
    const next = path.join(c.dataDir, 'next');
    mkdirSync(next);
    copyFileSync(path.join(c.dataDir, 'predictions.db'), path.join(next, 'predictions.db'));
    const w = openPredictionsForWrite(next);
    w.prepare("UPDATE daily_predictions SET probability = 0.42 WHERE bse_code = ? AND prediction_date = ? AND model_version = '1.0.0'").run(code, STORED_DATE);
    w.close();
    renameSync(path.join(next, 'predictions.db'), path.join(c.dataDir, 'predictions.db'));
    expect(json(await a.inject({ method: 'GET', url: `${V}/predictions/${code}` })).probability).toBe(0.42);
  });

  it('sees a batch’s rows once its transaction commits, and is not blocked while it writes', async () => {
    const c = copyFixture('wal');
    const a = await makeApp({ ...c });
    const code = fx.stored[1].bse_code;
    expect(json(await a.inject({ method: 'GET', url: `${V}/predictions` })).prediction_date).toBe(STORED_DATE);
    const w = openPredictionsForWrite(c.dataDir); // WAL mode, as the batch
    expect(w.pragma('journal_mode', { simple: true })).toBe('wal');
    w.exec('BEGIN IMMEDIATE');
    try {
      const ins = w.prepare(
        `INSERT INTO daily_predictions (bse_code, nse_symbol, company_name, prediction_date, predicted_label, probability, confidence, model_version, model_type, prediction_timestamp)
         VALUES (?, NULL, 'X', ?, 0, ?, 'HIGH', '1.0.0', 'GBDT', '2025-11-14T01:30:00.000Z')`,
      );
      fx.stored.forEach((s, i) => ins.run(s.bse_code, MORNING_DATE, 0.01 * (i + 1)));
      insertFeatureRow(w, code, MORNING_DATE, '2025-11-13', featureRowValues({ rsi_14: 77 }));
      w.prepare(
        `INSERT INTO batch_runs (run_id, prediction_date, as_of_session, started_at, finished_at, status, model_version, model_type, processed_count, published)
         VALUES ('run-wal', ?, '2025-11-13', '2025-11-14T01:29:00.000Z', '2025-11-14T01:31:00.000Z', 'succeeded', '1.0.0', 'GBDT', 9, 1)`,
      ).run(MORNING_DATE);
      // Uncommitted: the server answers at once, from the previous state.
      const before = await a.inject({ method: 'GET', url: `${V}/predictions` });
      expect(json(before)).toMatchObject({ prediction_date: STORED_DATE, run_id: 'run-good' });
      expectErrorBody(await a.inject({ method: 'GET', url: `${V}/predictions/${code}?date=${MORNING_DATE}` }), 404, 'PREDICTION_NOT_FOUND');
      const fBefore = await a.inject({ method: 'GET', url: `${V}/features/${code}?date=${MORNING_DATE}` });
      expect(json(fBefore).source).toBe('computed');
      w.exec('COMMIT');
    } catch (e) {
      w.exec('ROLLBACK');
      throw e;
    } finally {
      w.close();
    }
    const list = json<{ prediction_date: string; run_id: string; total: number }>(await a.inject({ method: 'GET', url: `${V}/predictions` }));
    expect(list).toMatchObject({ prediction_date: MORNING_DATE, run_id: 'run-wal', total: 9 });
    const one = await a.inject({ method: 'GET', url: `${V}/predictions/${code}` });
    expect(json(one)).toMatchObject({ prediction_date: MORNING_DATE, probability: 0.02 });
    const h = json<{ last_batch_run: { run_id: string } }>(await a.inject({ method: 'GET', url: `${V}/health` }));
    expect(h.last_batch_run.run_id).toBe('run-wal');
  });
});

// ---------------------------------------------------------------------------------------------
describe('cacheStatements', () => {
  it('reuses one statement per SQL text and resets its result mode each time', () => {
    const db = cacheStatements(new Database(':memory:'));
    db.exec("CREATE TABLE t (a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x'), (2, 'y');");
    const sql = 'SELECT a, b FROM t ORDER BY a';
    const first = db.prepare(sql);
    expect(db.prepare(sql)).toBe(first);
    expect(db.prepare(sql).pluck().all()).toEqual([1, 2]);
    expect(db.prepare(sql).all()).toEqual([
      { a: 1, b: 'x' },
      { a: 2, b: 'y' },
    ]);
    expect(db.prepare(sql).raw(true).get()).toEqual([1, 'x']);
    expect(db.prepare(sql).get()).toEqual({ a: 1, b: 'x' });
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    db.close();
  });
});

// ---------------------------------------------------------------------------------------------
describe('headers, errors, docs', () => {
  it('X-Request-Id (a sane incoming id is kept) and X-Process-Time on every response; log lines carry the id', async () => {
    const urls = [`${V}/health`, `${V}/predictions/abc`, '/no/such/route', `${V}/predictions/${fx.stored[0].bse_code}`];
    for (const url of urls) {
      const r = await app.inject({ method: 'GET', url });
      expect(String(r.headers['x-request-id'])).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number(r.headers['x-process-time'])).toBeGreaterThanOrEqual(0);
    }
    const mine = 'trace-42.abc:1';
    const r = await app.inject({ method: 'GET', url: `${V}/predictions/${fx.stored[0].bse_code}`, headers: { 'x-request-id': mine } });
    expect(r.headers['x-request-id']).toBe(mine);
    const line = logRecords.find((l) => l.reqId === mine && l.msg === 'request completed');
    expect(line).toMatchObject({ status: 200, method: 'GET' });
    for (const bad of ['has space', 'x'.repeat(129), 'semi;colon', '']) {
      const b = await app.inject({ method: 'GET', url: `${V}/health`, headers: { 'x-request-id': bad } });
      expect(b.headers['x-request-id']).not.toBe(bad);
      expect(String(b.headers['x-request-id'])).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('404 NOT_FOUND in the error body for unknown routes and methods', async () => {
    const b = expectErrorBody(await app.inject({ method: 'GET', url: '/api/v1/nothing?x=1' }), 404, 'NOT_FOUND');
    expect(b.message).toContain('/api/v1/nothing');
    expectErrorBody(await app.inject({ method: 'DELETE', url: `${V}/predict` }), 404, 'NOT_FOUND');
  });

  it('CORS: allowed origins get the headers, others do not', async () => {
    const a = await makeApp({ server: { rateLimitRps: 0, corsOrigins: ['https://dash.example'] } });
    const ok = await a.inject({ method: 'OPTIONS', url: `${V}/predict`, headers: { origin: 'https://dash.example', 'access-control-request-method': 'POST' } });
    expect(ok.headers['access-control-allow-origin']).toBe('https://dash.example');
    const get = await a.inject({ method: 'GET', url: `${V}/health`, headers: { origin: 'https://dash.example' } });
    expect(String(get.headers['access-control-expose-headers'])).toContain('X-Request-Id');
    const other = await a.inject({ method: 'GET', url: `${V}/health`, headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const none = await app.inject({ method: 'GET', url: `${V}/health`, headers: { origin: 'https://dash.example' } });
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('serves a structurally valid OpenAPI 3 document covering every route and response, and Swagger UI', async () => {
    const r = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(r.statusCode).toBe(200);
    const doc = json<{
      openapi: string;
      info: { title: string; version: string };
      paths: Record<string, Record<string, { responses: Record<string, { description?: string; content?: Record<string, { schema: unknown }> }>; requestBody?: unknown; parameters?: unknown[] }>>;
      components: { schemas: Record<string, unknown> };
    }>(r);
    expect(doc.openapi).toMatch(/^3\.0\.\d$/);
    expect(doc.info.title.length).toBeGreaterThan(0);
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+$/);
    const expected: [string, string][] = [
      ['post', '/api/v1/predict'],
      ['post', '/api/v1/batch_predict'],
      ['get', '/api/v1/predictions/{bse_code}'],
      ['get', '/api/v1/predictions'],
      ['get', '/api/v1/features/{bse_code}'],
      ['get', '/api/v1/health'],
      ['get', '/api/v1/metrics'],
      ['get', '/api/v1/models'],
      ['post', '/api/v1/models/reload'],
      ['get', '/api/v1/performance'],
      ['get', '/api/v1/performance/history'],
      ['get', '/api/v1/runs'],
      ['get', '/api/v1/ranking'],
      ['get', '/api/v1/predictions.csv'],
      ['get', '/api/v1/stocks/{bse_code}/prices'],
      ['get', '/api/v1/stocks/{bse_code}/features'],
      ['get', '/api/v1/stocks/{bse_code}/history'],
      ['get', '/api/v1/monitoring'],
    ];
    const ops = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m} ${p}`));
    expect(ops.sort()).toEqual(expected.map(([m, p]) => `${m} ${p}`).sort());
    for (const [m, p] of expected) {
      const op = doc.paths[p][m];
      const codes = Object.keys(op.responses);
      expect(codes).toContain('200');
      expect(codes.some((c) => Number(c) >= 400)).toBe(true);
      for (const c of codes) expect(op.responses[c].description, `${m} ${p} ${c}`).toBeTruthy();
      if (p.includes('{bse_code}')) expect(JSON.stringify(op.parameters)).toContain('"in":"path"');
    }
    expect(Object.keys(doc.paths['/api/v1/predict'].post.responses).sort()).toEqual(['200', '400', '404', '413', '415', '422', '429', '500', '503']);
    expect(Object.keys(doc.paths['/api/v1/predictions/{bse_code}'].get.responses).sort()).toContain('422');
    // Every $ref resolves; OpenAPI 3.0 has no type arrays and no $id.
    const text = JSON.stringify(doc);
    for (const m of text.matchAll(/"\$ref":"([^"]+)"/g)) {
      expect(m[1]).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[m[1].slice('#/components/schemas/'.length)], m[1]).toBeDefined();
    }
    expect(text).not.toMatch(/"type":\[/);
    expect(text).not.toContain('"$id"');
    for (const name of ['ErrorResponse', 'PredictRequest', 'PredictResponse', 'BatchPredictRequest', 'BatchPredictResponse', 'StoredPrediction', 'PredictionList', 'HealthResponse', 'ModelListResponse', 'FeatureRowResponse']) {
      expect(doc.components.schemas[name], name).toBeDefined();
    }
    const predictReq = doc.components.schemas.PredictRequest as { properties: Record<string, { description?: string }>; required: string[] };
    expect(predictReq.required.sort()).toEqual(['bse_code', 'prediction_date']);
    expect(predictReq.properties.include_shap.description).toContain('EXPLANATION_UNAVAILABLE');
    expect(doc.components.schemas.ShapValues).toBeDefined();
    const ui = await app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(ui.statusCode);
    const page = ui.statusCode === 302 ? await app.inject({ method: 'GET', url: String(ui.headers.location) }) : ui;
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/swagger/i);
    expect((await app.inject({ method: 'GET', url: `${V}/openapi.json` })).body).toBe(r.body);
  });
});

// ---------------------------------------------------------------------------------------------
describe('over real sockets', () => {
  it('429 RATE_LIMITED with Retry-After past the per-IP limit; /health is not limited', async () => {
    const a = await makeApp({ server: { rateLimitRps: 3, adminToken: TOKEN } });
    const base = await listen(a, '127.0.0.1', 0);
    const url = `${base}${V}/predictions/${fx.stored[0].bse_code}`;
    const t0 = Date.now();
    const rs = await Promise.all(Array.from({ length: 12 }, () => fetch(url)));
    const windows = Math.ceil((Date.now() - t0) / 1000) + 1; // 1-second windows the burst can have touched
    const limited = rs.filter((r) => r.status === 429);
    const ok = rs.filter((r) => r.status === 200).length;
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(ok).toBeLessThanOrEqual(3 * windows);
    expect(ok + limited.length).toBe(12);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    const r = limited[0];
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await r.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'RATE_LIMITED', request_id: r.headers.get('x-request-id') });
    expect(String(body.message)).toContain('3 requests per second');
    const health = await Promise.all(Array.from({ length: 8 }, () => fetch(`${base}${V}/health`)));
    expect(health.map((h) => h.status)).toEqual(Array(8).fill(200));
    await Promise.all([...rs, ...health].map((x) => x.body?.cancel().catch(() => undefined)));
  });

  it('a reload during traffic fails no request, and each answer matches the model that scored it', async () => {
    const c = copyFixture('reload-traffic');
    const a = await makeApp({ ...c, loader: new ModelLoader({ modelsDir: c.modelsDir, log: silent(), graceMs: 0 }) });
    const base = await listen(a, '127.0.0.1', 0);
    const codes = scorable.slice(0, 8);
    const want: Record<string, TreeFixture> = { '1.0.0': MODEL_A, '1.1.0': MODEL_B };
    const seen: { status: number; version?: string; code: string; p?: number }[] = [];
    let stop = false;
    const client = async (k: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const code = codes[(k + i) % codes.length];
        const single = i % 2 === 0;
        const res = await fetch(`${base}${V}/${single ? 'predict' : 'batch_predict'}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(single ? { bse_code: code, prediction_date: MORNING_DATE } : { predictions: codes.map((bse_code) => ({ bse_code, prediction_date: MORNING_DATE })) }),
        });
        const b = (await res.json()) as Record<string, unknown>;
        if (single) seen.push({ status: res.status, version: b.model_version as string, code, p: b.probability as number });
        else {
          seen.push({ status: res.status, version: b.model_version as string, code: '*' });
          for (const item of (b.results as { prediction: { bse_code: string; probability: number; model_version: string } }[]) ?? [])
            seen.push({ status: 200, version: item.prediction.model_version, code: item.prediction.bse_code, p: item.prediction.probability });
        }
      }
    };
    /** Resolves once a response scored by `version` has arrived after position `from` of `seen`. */
    const answeredBy = async (version: string, from: number): Promise<void> => {
      const until = Date.now() + 10_000;
      while (!seen.slice(from).some((x) => x.version === version)) {
        if (Date.now() > until) throw new Error(`no answer from ${version} within 10 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const clients = [0, 1, 2].map(client);
    const reloads: number[] = [];
    try {
      await answeredBy('1.0.0', 0);
      for (const v of ['1.1.0', '1.0.0', '1.1.0']) {
        writeAliasesFile(c.modelsDir, { champion: `${MODEL_NAME}/${v}` });
        const r = await fetch(`${base}${V}/models/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
        reloads.push(r.status);
        expect(((await r.json()) as { current: string }).current).toBe(`${MODEL_NAME}/${v}`);
        await answeredBy(v, seen.length); // traffic keeps flowing on the new model
      }
    } finally {
      stop = true;
      await Promise.allSettled(clients);
    }
    await Promise.all(clients); // a failed request fails the test
    expect(reloads).toEqual([200, 200, 200]);
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(seen.filter((s) => s.status !== 200)).toEqual([]);
    const versions = new Set(seen.map((s) => s.version));
    expect([...versions].sort()).toEqual(['1.0.0', '1.1.0']);
    for (const s of seen) {
      if (s.code === '*') continue;
      expect(s.p, `${s.code} scored by ${s.version}`).toBe(expectedP(want[s.version as string], reference.get(s.code) as number[]));
    }
    const last = (await (
      await fetch(`${base}${V}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ bse_code: codes[0], prediction_date: MORNING_DATE }) })
    ).json()) as Record<string, unknown>;
    expect(last.model_version).toBe('1.1.0');
    // Superseded sessions were released once no request held them (graceMs 0): one per version remains.
    const stats = a.ctx.service.loader.stats();
    expect(stats.inFlight).toBe(0);
    expect(stats.openSessions).toBeLessThanOrEqual(2);
  });

  it('SIGTERM: stops accepting, finishes the request in flight, 503s the next one, closes the databases, exits 0', async () => {
    const a = await buildApp({ dataDir: fx.dataDir, modelsDir: fx.modelsDir, server: { rateLimitRps: 0 }, logger: silent(), defaultMetrics: false });
    const base = await listen(a, '127.0.0.1', 0);
    const port = Number(new URL(base).port);
    const signals = new EventEmitter();
    const exited = new Promise<number>((resolve) => handleShutdownSignals(a, { signals: signals as unknown as NodeJS.Process, exit: resolve }));
    // A request in flight on a keep-alive connection: headers and part of the body sent.
    const body = JSON.stringify({ bse_code: scorable[0], prediction_date: MORNING_DATE });
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    let response = '';
    sock.on('data', (d) => (response += d.toString()));
    const ended = new Promise((r) => sock.once('close', r));
    sock.write(`POST ${V}/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    await new Promise((r) => setTimeout(r, 50));
    expect(a.ctx.service.market.error).toBeNull();
    signals.emit('SIGTERM', 'SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
    // No new connections.
    const refused = await fetch(`${base}${V}/health`).then(
      () => 'answered',
      (e: { cause?: { code?: string } }) => e.cause?.code ?? 'failed',
    );
    expect(refused).toBe('ECONNREFUSED');
    // The rest of the body, and a second request pipelined behind it on the same connection.
    sock.write(`${body.slice(10)}GET ${V}/health HTTP/1.1\r\nHost: x\r\n\r\n`);
    await ended;
    const [first, second] = response.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    expect(first).toContain('"model_version":"1.0.0"');
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    const err = JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(err.error).toBe('SERVICE_UNAVAILABLE');
    expect(await exited).toBe(0);
    expect(a.ctx.service.market.error).toBe('market.db is closed');
    expect(a.ctx.service.predictionsDb.error).toBe('predictions.db is closed');
  });
});
