/**
 * The batch's explain stage (issue 15): drivers stored with a published run,
 * the report's "Why" column, `--explain`'s CSV columns, and a model that
 * cannot be explained. The fixture model is one tree (rsi_14 ≤ 50 → leaf
 * −0.5, else 2) with no node covers, so the batch explains it with covers
 * from the run's own feature rows. The expected values are computed here from
 * the tree's definition: with nL rows left and nR right, the base value is
 * (nL·(−0.5) + nR·2)/(nL + nR), rsi_14's SHAP value is leaf − base and every
 * other feature's is 0 (a one-split tree).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { runBatch, type BatchOptions, type BatchResult } from '../src/batch/run.js';
import { loadScoringModel } from '../src/model/scoring-model.js';
import { explainerFromOnnx } from '../src/model/explain/index.js';
import { captureLogger, FEATURE_NAMES_V1, treeModel, writeAliasesFile, writeModel } from './helpers/onnx-fixture.js';
import { buildMarketFixture, MODEL_NAME, MORNING, openPredictions, TREE, type MarketFixture } from './helpers/batch-fixture.js';

let fx: MarketFixture;
beforeAll(async () => {
  fx = await buildMarketFixture({ stocks: 60 });
});
afterAll(() => fx?.cleanup());

function options(dataDir: string, extra: Partial<BatchOptions> = {}, modelsDir = fx.modelsDir): BatchOptions {
  const { log } = captureLogger();
  return { dataDir, date: MORNING, threads: 0, loadModel: () => loadScoringModel({ modelsDir }, { log }), log, ...extra };
}

const RSI = FEATURE_NAMES_V1.indexOf('rsi_14');

interface FeatureRow {
  bse_code: string;
  rsi_14: number;
}

describe('a published run explains every scored stock', () => {
  let dataDir: string;
  let result: BatchResult;
  let db: Database.Database;
  let rows: FeatureRow[];
  let base: number;

  beforeAll(async () => {
    dataDir = fx.freshDataDir();
    result = await runBatch(options(dataDir, { csvDrivers: true }));
    db = openPredictions(dataDir);
    rows = db.prepare('SELECT bse_code, rsi_14 FROM feature_values WHERE prediction_date = ? ORDER BY bse_code').all(MORNING) as FeatureRow[];
    const nL = rows.filter((r) => r.rsi_14 <= TREE.threshold).length;
    const nR = rows.length - nL;
    base = (nL * TREE.leftLeaf + nR * TREE.rightLeaf) / (nL + nR);
  });
  afterAll(() => db?.close());

  it('stores base value, margin and rsi_14 as the only driver, by the tree’s definition', () => {
    expect(rows.length).toBe(result.counts.processed);
    expect(rows.some((r) => r.rsi_14 <= TREE.threshold) && rows.some((r) => r.rsi_14 > TREE.threshold)).toBe(true);
    const expl = db.prepare('SELECT * FROM prediction_explanations WHERE prediction_date = ? ORDER BY bse_code').all(MORNING) as {
      bse_code: string;
      base_value: number;
      margin: number;
      run_id: string;
      model_version: string;
    }[];
    expect(expl.map((e) => e.bse_code)).toEqual(rows.map((r) => r.bse_code));
    const drivers = db.prepare('SELECT * FROM prediction_drivers WHERE prediction_date = ? ORDER BY bse_code, rank').all(MORNING) as {
      bse_code: string;
      rank: number;
      feature: string;
      feature_value: number;
      contribution: number;
    }[];
    expect(drivers.length).toBe(rows.length);
    rows.forEach((r, i) => {
      const leaf = r.rsi_14 <= TREE.threshold ? TREE.leftLeaf : TREE.rightLeaf;
      expect(expl[i].run_id).toBe(result.runId);
      expect(expl[i].base_value).toBeCloseTo(base, 12);
      expect(expl[i].margin).toBeCloseTo(leaf, 12);
      expect(drivers[i]).toMatchObject({ bse_code: r.bse_code, rank: 1, feature: 'rsi_14' });
      expect(drivers[i].feature_value).toBeCloseTo(r.rsi_14, 5);
      expect(drivers[i].contribution).toBeCloseTo(leaf - base, 12);
    });
    const run = db.prepare('SELECT explanations, stage_ms FROM batch_runs WHERE run_id = ?').get(result.runId) as { explanations: string; stage_ms: string };
    expect(run.explanations).toBe(`explained (node covers computed from the run's ${rows.length} feature rows)`);
    expect(Object.keys(JSON.parse(run.stage_ms) as object)).toContain('explain');
  });

  it('stored drivers are the top K of the engine’s own values for the same rows', () => {
    const X = new Float32Array(
      (db.prepare(`SELECT ${FEATURE_NAMES_V1.join(', ')} FROM feature_values WHERE prediction_date = ? ORDER BY bse_code`).raw(true).all(MORNING) as number[][]).flat(),
    );
    const ex = explainerFromOnnx(treeModel(TREE), { background: { X, n: rows.length } });
    const e = ex.explain(X, rows.length);
    const stored = db.prepare('SELECT bse_code, feature, contribution FROM prediction_drivers WHERE prediction_date = ? ORDER BY bse_code, rank').all(MORNING) as {
      bse_code: string;
      feature: string;
      contribution: number;
    }[];
    rows.forEach((r, i) => {
      const nonzero = FEATURE_NAMES_V1.map((f, j) => ({ f, j, c: e.values[i * 25 + j] }))
        .filter((d) => d.c !== 0)
        .sort((a, b) => Math.abs(b.c) - Math.abs(a.c) || a.j - b.j)
        .slice(0, 5);
      const mine = stored.filter((s) => s.bse_code === r.bse_code);
      expect(mine.map((s) => s.feature)).toEqual(nonzero.map((d) => d.f));
      expect(mine.map((s) => s.contribution)).toEqual(nonzero.map((d) => d.c));
      expect(nonzero[0].j).toBe(RSI);
    });
  });

  it('the report has a Why column with the strongest driver and its direction (hand-checked line)', () => {
    const report = readFileSync(result.paths.report, 'utf8');
    expect(report).toContain('Rank | BSE Code | NSE Symbol | Company Name        | Probability | Confidence | Why');
    expect(report).toContain(`Explanations: exact TreeSHAP in log-odds (node covers computed from the run's ${rows.length} feature rows)`);
    const top = result.ranked[0];
    const arrow = (top.probability > 0.5 ? TREE.rightLeaf : TREE.leftLeaf) - base > 0 ? '↑' : '↓';
    const name = top.company_name.length > 19 ? `${top.company_name.slice(0, 18)}…` : top.company_name.padEnd(19);
    const line = `1    | ${top.bse_code.padEnd(8)} | ${(top.nse_symbol ?? '-').padEnd(10)} | ${name} | ${top.probability.toFixed(2).padEnd(11)} | ${top.confidence.padEnd(10)} | rsi_14 ${arrow}`;
    expect(report.split('\n')).toContain(line);
  });

  it('--explain adds driver_1..3 after the spec’s 7 columns: feature=value (±contribution)', () => {
    const csv = parse(readFileSync(result.paths.predictionsCsv, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(csv[0])).toEqual(['bse_code', 'nse_symbol', 'company_name', 'probability', 'label', 'confidence', 'market_cap_cr', 'driver_1', 'driver_2', 'driver_3']);
    const byCode = new Map(rows.map((r) => [r.bse_code, r]));
    for (const c of csv) {
      const r = byCode.get(c.bse_code)!;
      const leaf = r.rsi_14 <= TREE.threshold ? TREE.leftLeaf : TREE.rightLeaf;
      const contrib = leaf - base;
      const value = Number(Math.fround(r.rsi_14).toPrecision(9));
      const m = /^rsi_14=(\S+) \(([+-]\d+\.\d{4})\)$/.exec(c.driver_1);
      expect(m, c.driver_1).not.toBeNull();
      expect(Math.fround(Number(m![1]))).toBe(Math.fround(value));
      expect(m![2]).toBe(`${contrib >= 0 ? '+' : '-'}${Math.abs(contrib).toFixed(4)}`);
      expect([c.driver_2, c.driver_3]).toEqual(['', '']);
    }
  });

  it('without --explain the CSV keeps the spec’s 7 columns', async () => {
    const dir = fx.freshDataDir();
    const r = await runBatch(options(dir));
    const header = readFileSync(r.paths.predictionsCsv, 'utf8').split('\r\n')[0];
    expect(header).toBe('bse_code,nse_symbol,company_name,probability,label,confidence,market_cap_cr');
  });

  it('a subset run stores no drivers (it publishes nothing) but its report still explains', async () => {
    const codes = rows.slice(0, 3).map((r) => r.bse_code);
    const before = db.prepare('SELECT count(*) FROM prediction_drivers').pluck().get();
    const r = await runBatch(options(dataDir, { codes }));
    expect(r.published).toBe(false);
    const after = openPredictions(dataDir);
    try {
      expect(after.prepare('SELECT count(*) FROM prediction_drivers').pluck().get()).toBe(before);
      expect(after.prepare('SELECT DISTINCT run_id FROM prediction_explanations').pluck().all()).toEqual([result.runId]);
    } finally {
      after.close();
    }
    expect(readFileSync(r.paths.report, 'utf8')).toContain('| Why');
  });
});

describe('a model that cannot be explained', () => {
  it('the run succeeds, the report says why, nothing is stored for drivers', async () => {
    const modelsDir = path.join(fx.root, 'models-unexplainable');
    writeModel(modelsDir, MODEL_NAME, '2.0.0', treeModel({ ...TREE, identityAfter: true }));
    writeAliasesFile(modelsDir, { champion: `${MODEL_NAME}/2.0.0` });
    const dataDir = fx.freshDataDir();
    const r = await runBatch(options(dataDir, {}, modelsDir));
    expect(r.status).toBe('succeeded');
    expect(r.published).toBe(true);
    expect(r.explanations).toBe('unavailable: the graph has 2 nodes (one TreeEnsembleClassifier or LinearClassifier expected)');
    const report = readFileSync(r.paths.report, 'utf8');
    expect(report).toContain('(explanations unavailable: the graph has 2 nodes (one TreeEnsembleClassifier or LinearClassifier expected))');
    expect(report).not.toContain('| Why');
    const db = openPredictions(dataDir);
    try {
      expect(db.prepare('SELECT count(*) FROM daily_predictions').pluck().get()).toBe(r.counts.processed);
      expect(db.prepare('SELECT count(*) FROM prediction_explanations').pluck().get()).toBe(0);
      expect(db.prepare('SELECT count(*) FROM prediction_drivers').pluck().get()).toBe(0);
      expect(db.prepare('SELECT explanations FROM batch_runs WHERE run_id = ?').pluck().get(r.runId)).toMatch(/^unavailable: /);
    } finally {
      db.close();
    }
  });
});
