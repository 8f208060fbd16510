/**
 * Writing a run into predictions.db. The run's rows (predictions for its
 * model, skipped stocks, feature rows) replace that date's earlier rows in
 * one transaction: a rerun never duplicates, and a crash leaves the earlier
 * rows as they were.
 */
import type { Db } from '../market/db.js';
import type { IsoDate } from '../market/dates.js';
import { FEATURE_NAMES, N_FEATURES } from '../features/definition.js';
import { roundProbability } from './csv.js';
import type { Prediction, SkippedStock } from './types.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'budget_exceeded' | 'interrupted';

/** A row of batch_runs as read back (sql/predictions/002_batch_runs.sql). */
export interface BatchRunRow {
  run_id: string;
  prediction_date: string;
  as_of_session: string | null;
  started_at: string;
  finished_at: string | null;
  status: RunStatus;
  model_name: string | null;
  model_version: string | null;
  model_type: string | null;
  model_sha256: string | null;
  model_roc_auc: number | null;
  feature_set_version: string | null;
  universe_count: number | null;
  processed_count: number | null;
  skipped_count: number | null;
  predicted_uc_count: number | null;
  high_count: number | null;
  medium_count: number | null;
  low_count: number | null;
  stage_ms: string | null;
  input_fingerprint: string | null;
  threads: number | null;
  error: string | null;
  notifications: string | null;
}

export interface RunStart {
  runId: string;
  date: IsoDate;
  startedAt: string;
  threads: number;
}

export function recordRunStart(db: Db, r: RunStart): void {
  db.prepare(`INSERT INTO batch_runs (run_id, prediction_date, started_at, status, threads) VALUES (?, ?, ?, 'running', ?)`).run(
    r.runId,
    r.date,
    r.startedAt,
    r.threads,
  );
}

export interface RunFinish {
  status: RunStatus;
  asOf?: IsoDate;
  model?: { name: string; version: string; type: string; sha256: string; rocAuc?: number };
  featureSetVersion?: string;
  counts?: { universe: number; processed: number; skipped: number; predictedUc: number; high: number; medium: number; low: number };
  stageMs?: Record<string, number>;
  fingerprint?: string;
  error?: string;
}

export function recordRunFinish(db: Db, runId: string, f: RunFinish): void {
  db.prepare(
    `UPDATE batch_runs SET finished_at = ?, status = ?, as_of_session = coalesce(?, as_of_session),
       model_name = coalesce(?, model_name), model_version = coalesce(?, model_version), model_type = coalesce(?, model_type),
       model_sha256 = coalesce(?, model_sha256), model_roc_auc = coalesce(?, model_roc_auc), feature_set_version = coalesce(?, feature_set_version),
       universe_count = coalesce(?, universe_count), processed_count = coalesce(?, processed_count), skipped_count = coalesce(?, skipped_count),
       predicted_uc_count = coalesce(?, predicted_uc_count), high_count = coalesce(?, high_count), medium_count = coalesce(?, medium_count),
       low_count = coalesce(?, low_count), stage_ms = coalesce(?, stage_ms), input_fingerprint = coalesce(?, input_fingerprint), error = ?
     WHERE run_id = ?`,
  ).run(
    new Date().toISOString(),
    f.status,
    f.asOf ?? null,
    f.model?.name ?? null,
    f.model?.version ?? null,
    f.model?.type ?? null,
    f.model?.sha256 ?? null,
    f.model?.rocAuc ?? null,
    f.featureSetVersion ?? null,
    f.counts?.universe ?? null,
    f.counts?.processed ?? null,
    f.counts?.skipped ?? null,
    f.counts?.predictedUc ?? null,
    f.counts?.high ?? null,
    f.counts?.medium ?? null,
    f.counts?.low ?? null,
    f.stageMs ? JSON.stringify(f.stageMs) : null,
    f.fingerprint ?? null,
    f.error ?? null,
    runId,
  );
}

export function recordNotifications(db: Db, runId: string, outcomes: unknown): void {
  db.prepare('UPDATE batch_runs SET notifications = ? WHERE run_id = ?').run(JSON.stringify(outcomes), runId);
}

export interface RunRows {
  runId: string;
  date: IsoDate;
  asOf: IsoDate;
  modelVersion: string;
  modelType: string;
  featureSetVersion: string;
  predictions: readonly Prediction[];
  skipped: readonly SkippedStock[];
  /** Feature rows as scored: codes in the same order as `values` rows. */
  features: { codes: readonly string[]; values: Float32Array; imputed: Uint8Array };
  /** ISO timestamp stored as prediction_timestamp. */
  timestamp: string;
}

/** Replaces the date's rows for this model (and the date's skips and feature rows) in one transaction. */
export function writeRunRows(db: Db, r: RunRows): { predictions: number; skipped: number; features: number } {
  const delPred = db.prepare('DELETE FROM daily_predictions WHERE prediction_date = ? AND model_version = ?');
  const insPred = db.prepare(
    `INSERT INTO daily_predictions (bse_code, nse_symbol, company_name, prediction_date, predicted_label, probability, confidence, model_version, model_type, prediction_timestamp)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const delSkip = db.prepare('DELETE FROM skipped_stocks WHERE prediction_date = ?');
  const insSkip = db.prepare('INSERT INTO skipped_stocks (prediction_date, bse_code, reason, detail, run_id) VALUES (?, ?, ?, ?, ?)');
  const delFeat = db.prepare('DELETE FROM feature_values WHERE prediction_date = ? AND feature_set_version = ?');
  const insFeat = db.prepare(
    `INSERT INTO feature_values (bse_code, prediction_date, as_of_date, feature_set_version, ${FEATURE_NAMES.join(', ')}, imputed_count)
     VALUES (${new Array(N_FEATURES + 5).fill('?').join(', ')})`,
  );
  const tx = db.transaction(() => {
    delPred.run(r.date, r.modelVersion);
    for (const p of r.predictions) {
      insPred.run(p.bse_code, p.nse_symbol, p.company_name, r.date, p.label, roundProbability(p.probability), p.confidence, r.modelVersion, r.modelType, r.timestamp);
    }
    delSkip.run(r.date);
    for (const s of r.skipped) insSkip.run(r.date, s.bse_code, s.reason, s.detail, r.runId);
    delFeat.run(r.date, r.featureSetVersion);
    const row = new Array<number | string>(N_FEATURES + 5);
    r.features.codes.forEach((code, i) => {
      row[0] = code;
      row[1] = r.date;
      row[2] = r.asOf;
      row[3] = r.featureSetVersion;
      for (let j = 0; j < N_FEATURES; j++) row[4 + j] = r.features.values[i * N_FEATURES + j];
      row[4 + N_FEATURES] = r.features.imputed[i];
      insFeat.run(row);
    });
  });
  tx.immediate();
  return { predictions: r.predictions.length, skipped: r.skipped.length, features: r.features.codes.length };
}
