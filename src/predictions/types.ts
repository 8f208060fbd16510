/**
 * The predictions store's own row types (predictions.db). The API maps its
 * schema types from these; the batch builds RunRows from its results.
 */
import type { IsoDate } from '../market/dates.js';
import type { Confidence } from '../model/confidence.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'budget_exceeded' | 'interrupted';

/** A full run scores the whole universe; a subset run (--codes, --limit, --earnings-within) part of it. */
export type RunScope = 'full' | 'subset';

/** A row of batch_runs as read back (sql/predictions/002_batch_runs.sql, 004_run_scope.sql). */
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
  scope: RunScope;
  selection: string | null;
  /** 1 when this run's rows and files are the date's published outputs (docs/runs.md). */
  published: 0 | 1;
  pid: number | null;
  host: string | null;
  /** 'explained' or 'unavailable: <reason>' (005_explanations.sql); null before it, or when the run stopped before explaining. */
  explanations: string | null;
}

/** A model as runs and rows name it. */
export interface ModelRef {
  name: string;
  version: string;
}

export interface RunStart {
  runId: string;
  date: IsoDate;
  startedAt: string;
  threads: number;
  scope: RunScope;
  selection?: string;
  pid: number;
  host: string;
}

export interface RunFinish {
  status: RunStatus;
  asOf?: IsoDate;
  model?: { name: string; version: string; type: string; sha256: string; rocAuc?: number };
  featureSetVersion?: string;
  counts?: RunCounts;
  stageMs?: Record<string, number>;
  fingerprint?: string;
  error?: string;
  /** 'explained', or 'unavailable: <reason>' (batch_runs.explanations). */
  explanations?: string;
}

/** One scored stock as the batch hands it to the store. */
export interface PredictionInput {
  bse_code: string;
  nse_symbol: string | null;
  company_name: string;
  probability: number;
  label: 0 | 1;
  confidence: Confidence;
}

export interface SkipInput {
  bse_code: string;
  reason: string;
  detail: string;
}

/** The rows a run publishes for its date. */
export interface RunRows {
  runId: string;
  date: IsoDate;
  asOf: IsoDate;
  modelVersion: string;
  modelType: string;
  featureSetVersion: string;
  predictions: readonly PredictionInput[];
  skipped: readonly SkipInput[];
  /** Feature rows as scored: codes in the same order as `values` rows. */
  features: { codes: readonly string[]; values: Float32Array; imputed: Uint8Array };
  /** ISO timestamp stored as prediction_timestamp. */
  timestamp: string;
  /**
   * The stocks' explanations (prediction_explanations, prediction_drivers);
   * absent when the model could not be explained (nothing is stored then).
   */
  explanations?: ExplanationColumns;
}

/**
 * A run's explanations in columns (#16: at 110,000 stocks the same as
 * objects per stock held 60 MB; these columns about 10 MB). Row i is
 * `codes[i]`; its drivers are the `k` slots from i × k, strongest first, a
 * slot past its last driver having feature −1.
 */
export interface ExplanationColumns {
  codes: readonly string[];
  base: number;
  /** Each row's margin (log-odds). */
  margin: Float64Array;
  k: number;
  /** Per slot: the driver's position in the feature set (FEATURE_NAMES), −1 for none. */
  feature: Int8Array;
  /** Per slot: the feature's value as scored; NaN for a missing value (stored as NULL). */
  value: Float64Array;
  /** Per slot: its contribution (log-odds). */
  contribution: Float64Array;
}

/** One driver of a prediction: a feature, its value as scored, and its contribution in log-odds. */
export interface DriverRow {
  feature: string;
  /** The feature's value as scored (after imputation); null for a missing value. */
  value: number | null;
  contribution: number;
}

/** A stored explanation as read back (prediction_explanations + prediction_drivers). */
export interface StoredExplanation {
  bse_code: string;
  prediction_date: string;
  model_version: string;
  run_id: string;
  base: number;
  margin: number;
  drivers: DriverRow[];
}

/** A row of daily_predictions. */
export interface PredictionRow {
  bse_code: string;
  nse_symbol: string | null;
  company_name: string | null;
  prediction_date: string;
  predicted_label: number;
  probability: number;
  confidence: Confidence | null;
  model_version: string | null;
  model_type: string | null;
  prediction_timestamp: string | null;
}

/** A row of the date's ranking, with its rank (1-based). */
export interface RankedRow {
  rank: number;
  bse_code: string;
  nse_symbol: string | null;
  company_name: string | null;
  probability: number;
  predicted_label: number;
  confidence: Confidence | null;
}

export interface SkipRow {
  reason: string;
  detail: string | null;
}

/** A stored feature row (feature_values). */
export interface StoredFeatures {
  asOf: IsoDate;
  imputed: number;
  values: Float32Array;
}

export interface RankingFilter {
  confidence?: Confidence;
  label?: number;
  limit: number;
  offset: number;
}

/** A run's stock counts, computed once by the batch and stored, reported and notified as they are. */
export interface RunCounts {
  universe: number;
  processed: number;
  skipped: number;
  /** Label-1 predictions, and of those how many are HIGH, MEDIUM and LOW confidence. */
  predictedUc: number;
  high: number;
  medium: number;
  low: number;
}

/** A (prediction date, model) whose published rows have no realised outcomes yet. */
export interface PendingOutcome {
  prediction_date: IsoDate;
  model_name: string | null;
  model_version: string;
}

/** The realised outcomes of one (date, model version): every stored prediction's stock, hit or not. */
export interface OutcomeInput {
  date: IsoDate;
  modelVersion: string;
  horizon: number;
  /** The last session of the window. */
  windowEnd: IsoDate;
  /** Stocks that hit their upper circuit in the window, with the first session they did. */
  hits: ReadonlyMap<string, IsoDate>;
  /** Each stock's source: the exchange's list of hits, or the rule on the closes (docs/runs.md, "Outcomes"). */
  source: (code: string) => OutcomeSource;
}

/** Where an outcome's hit came from (prediction_outcomes.source). */
export type OutcomeSource = 'closes' | 'exchange';

/** A stored prediction joined with its realised outcome (prediction_outcomes). */
export interface OutcomeRow {
  model_version: string;
  prediction_date: IsoDate;
  bse_code: string;
  probability: number;
  predicted_label: 0 | 1;
  confidence: Confidence;
  hit: 0 | 1;
}

export interface OutcomeFilter {
  from?: IsoDate;
  to?: IsoDate;
  modelVersion?: string;
}

/** One file's outcome in a fetch run (fetch_runs.files_json). */
export interface FetchFileOutcome {
  /** The session (null for the masters). */
  date: IsoDate | null;
  source: string;
  url: string;
  file: string;
  status: 'fetched' | 'present' | 'missing' | 'failed';
  bytes: number;
  detail?: string;
}

/** A row of fetch_runs (sql/predictions/008_fetch_runs.sql). */
export interface FetchRunRow {
  run_id: string;
  started_at: string;
  finished_at: string;
  first_session: IsoDate | null;
  last_session: IsoDate | null;
  status: 'ok' | 'incomplete' | 'failed';
  fetched: number;
  present: number;
  missing: number;
  failed: number;
  holidays: number;
  bytes: number;
  import_status: string;
  exit_code: number;
  files_json: string;
}

/** One feature's (or the score's) PSI in a run, as stored (drift_subjects); the shape of src/model/drift.ts SubjectDrift. */
export interface DriftSubjectRow {
  name: string;
  kind: 'feature' | 'score';
  psi: number;
  level: 'stable' | 'moderate' | 'significant';
  bins: { lower: number | null; upper: number | null; expected: number; actual: number }[];
  missing_expected: number;
  missing_actual: number;
}

/** A run's drift as the batch hands it to the store (the shape of src/model/drift.ts DriftReport). */
export interface DriftInput {
  model_name: string;
  model_version: string;
  reference_source: 'training' | 'profile';
  reference_rows: number;
  reference_from: string | null;
  reference_to: string | null;
  rows: number;
  thresholds: { moderate: number; significant: number };
  floor: number;
  features: DriftSubjectRow[];
  score: DriftSubjectRow;
}

/** A run's stored drift (drift_runs + drift_subjects). */
export interface StoredDrift extends DriftInput {
  run_id: string;
  prediction_date: IsoDate;
  recorded_at: string;
}

/** A challenger's rows of a date, scored beside the champion (challenger_runs + daily_predictions). */
export interface ChallengerInput {
  runId: string;
  date: IsoDate;
  asOf: IsoDate;
  modelName: string;
  modelVersion: string;
  modelType: string;
  sha256: string;
  championVersion: string;
  predictions: readonly PredictionInput[];
  timestamp: string;
  /** The batch's comparison (src/model/compare.ts ChallengerComparison), stored as JSON. */
  comparison: unknown;
}

/** A row of challenger_runs. */
export interface ChallengerRunRow {
  prediction_date: IsoDate;
  model_version: string;
  model_name: string;
  model_type: string | null;
  model_sha256: string | null;
  as_of_session: string | null;
  run_id: string;
  champion_version: string;
  rows: number;
  /** Parsed comparison JSON (null when none was stored). */
  comparison: unknown;
  recorded_at: string;
}
