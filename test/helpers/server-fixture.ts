/**
 * The server tests' fixture, built once per file: a small generated market,
 * a registry with two hand-encoded one-tree models, and a predictions.db
 * whose rows are written here with plain SQL (not with the batch's writer),
 * so every stored value a test expects is known from this file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { generateMarket } from '../../src/demo/generate.js';
import { openPredictionsForWrite } from './predictions-db.js';
import { FEATURE_NAMES_V1, treeModel, writeAliasesFile, writeModel, type TreeFixture } from './onnx-fixture.js';

/** v1.0.0: rsi_14 (column 3) ≤ 50 → sigmoid(−1.5), else sigmoid(2). */
export const MODEL_A: TreeFixture = { feature: 3, threshold: 50, leftLeaf: -1.5, rightLeaf: 2 };
/** v1.1.0: ret_20d (column 1) ≤ 0 → sigmoid(−0.5), else sigmoid(0.25). */
export const MODEL_B: TreeFixture = { feature: 1, threshold: 0, leftLeaf: -0.5, rightLeaf: 0.25 };

export const MODEL_NAME = 'upper-circuit';
export const STORED_DATE = '2025-11-13';
export const OLD_DATE = '2025-11-12';
export const MORNING_DATE = '2025-11-14';

export interface StoredRow {
  bse_code: string;
  nse_symbol: string | null;
  company_name: string;
  probability: number;
  label: 0 | 1;
  confidence: 'HIGH' | 'MEDIUM' | 'LOW';
}

export interface Fixture {
  root: string;
  dataDir: string;
  modelsDir: string;
  /** ACTIVE stocks of the market, by code. */
  stocks: { bse_code: string; nse_symbol: string | null; company_name: string; status: string }[];
  /** Rows written for STORED_DATE with model 1.0.0 (the succeeded run), in ranking order. */
  stored: StoredRow[];
  /** A stock skipped on STORED_DATE. */
  skippedCode: string;
  /** The stock whose feature row for STORED_DATE is stored by hand (rsi_14 = 42). */
  storedFeatureCode: string;
  cleanup(): void;
}

/** Confidence written by hand for the probabilities used below (not computed with src/model/confidence). */
function handConfidence(p: number): 'HIGH' | 'MEDIUM' | 'LOW' {
  if (p === 0.91 || p === 0.75 || p === 0.2 || p === 0.1) return 'HIGH';
  if (p === 0.6 || p === 0.35) return 'MEDIUM';
  if (p === 0.5 || p === 0.47) return 'LOW';
  throw new Error(`no hand-written confidence for ${p}`);
}

export function featureRowValues(overrides: Record<string, number>): number[] {
  return FEATURE_NAMES_V1.map((n) => overrides[n] ?? 0.25);
}

/** Inserts a feature row by hand (SQL with the columns spelled out). */
export function insertFeatureRow(db: Database.Database, code: string, date: string, asOf: string, values: number[], imputed = 0): void {
  db.prepare(
    `INSERT INTO feature_values (bse_code, prediction_date, as_of_date, feature_set_version, ${FEATURE_NAMES_V1.join(', ')}, imputed_count)
     VALUES (?, ?, ?, '1', ${FEATURE_NAMES_V1.map(() => '?').join(', ')}, ?)`,
  ).run(code, date, asOf, ...values, imputed);
}

export async function buildFixture(): Promise<Fixture> {
  const root = mkdtempSync(path.join(tmpdir(), 'sf-server-'));
  const dataDir = path.join(root, 'data');
  const modelsDir = path.join(root, 'models');
  await generateMarket({ file: path.join(dataDir, 'market.db'), stocks: 40, days: 300, seed: 11 });

  writeModel(modelsDir, MODEL_NAME, '1.0.0', treeModel(MODEL_A));
  writeModel(modelsDir, MODEL_NAME, '1.1.0', treeModel(MODEL_B));
  writeAliasesFile(modelsDir, { champion: `${MODEL_NAME}/1.0.0` });

  const m = new Database(path.join(dataDir, 'market.db'), { readonly: true });
  const stocks = m
    .prepare("SELECT bse_code, nse_symbol, company_name, status FROM master_stock_list WHERE status = 'ACTIVE' ORDER BY bse_code")
    .all() as Fixture['stocks'];
  m.close();

  // Predictions for STORED_DATE (model 1.0.0, succeeded), an older date, and a
  // second model version on STORED_DATE whose run failed (must not answer).
  const probs = [0.91, 0.75, 0.6, 0.5, 0.5, 0.47, 0.35, 0.2, 0.1];
  const chosen = stocks.slice(0, probs.length);
  // Ranking order: probability descending, ties by BSE code (chosen is in code order).
  const stored: StoredRow[] = chosen.map((s, i) => ({
    bse_code: s.bse_code,
    nse_symbol: s.nse_symbol,
    company_name: s.company_name,
    probability: probs[i],
    label: probs[i] >= 0.5 ? 1 : 0,
    confidence: handConfidence(probs[i]),
  }));
  const skippedCode = stocks[probs.length].bse_code;
  const storedFeatureCode = chosen[0].bse_code;

  const db = openPredictionsForWrite(dataDir);
  const ins = db.prepare(
    `INSERT INTO daily_predictions (bse_code, nse_symbol, company_name, prediction_date, predicted_label, probability, confidence, model_version, model_type, prediction_timestamp)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'GBDT', ?)`,
  );
  const run = db.prepare(
    `INSERT INTO batch_runs (run_id, prediction_date, as_of_session, started_at, finished_at, status, model_name, model_version, model_type,
       universe_count, processed_count, skipped_count, predicted_uc_count, high_count, medium_count, low_count)
     VALUES (?, ?, ?, ?, ?, ?, 'upper-circuit', ?, 'GBDT', ?, ?, ?, ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    // Older date, succeeded.
    for (const r of stored) ins.run(r.bse_code, r.nse_symbol, r.company_name, OLD_DATE, r.label, 0.3, 'HIGH', '1.0.0', '2025-11-12T01:30:00.000Z');
    run.run('run-old', OLD_DATE, '2025-11-11', '2025-11-12T01:29:00.000Z', '2025-11-12T01:31:00.000Z', 'succeeded', '1.0.0', 10, 9, 1, 0, 0, 0, 0);
    // STORED_DATE with 1.0.0: the succeeded run.
    for (const r of stored) ins.run(r.bse_code, r.nse_symbol, r.company_name, STORED_DATE, r.label, r.probability, r.confidence, '1.0.0', '2025-11-13T01:30:00.000Z');
    run.run('run-good', STORED_DATE, '2025-11-12', '2025-11-13T01:29:00.000Z', '2025-11-13T01:31:00.000Z', 'succeeded', '1.0.0', 10, 9, 1, 5, 2, 1, 2);
    // STORED_DATE with 1.1.0: written later by a run that then failed.
    for (const r of stored) ins.run(r.bse_code, r.nse_symbol, r.company_name, STORED_DATE, 0, 0.01, 'HIGH', '1.1.0', '2025-11-13T02:30:00.000Z');
    run.run('run-failed', STORED_DATE, '2025-11-12', '2025-11-13T02:29:00.000Z', '2025-11-13T02:31:00.000Z', 'failed', '1.1.0', 10, 9, 1, 0, 0, 0, 0);
    db.prepare('INSERT INTO skipped_stocks (prediction_date, bse_code, reason, detail, run_id) VALUES (?, ?, ?, ?, ?)').run(
      STORED_DATE,
      skippedCode,
      'TOO_MANY_MISSING',
      '14 of 25 features have no data',
      'run-good',
    );
    insertFeatureRow(db, storedFeatureCode, STORED_DATE, '2025-11-12', featureRowValues({ rsi_14: 42, ret_20d: 0.1 }), 2);
    // As the batch records it: a run that finished succeeded published its rows (docs/runs.md).
    db.exec("UPDATE batch_runs SET published = 1 WHERE status = 'succeeded'");
  })();
  db.close();

  return { root, dataDir, modelsDir, stocks, stored, skippedCode, storedFeatureCode, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
