/**
 * The API's reads of predictions.db, through the predictions store
 * (src/predictions/store.ts, which owns every statement), mapped to the
 * API's schema types.
 *
 * Which rows a date means: the date's completed run (`completedRun`, see
 * docs/runs.md). For an explicitly requested date with no completed run, the
 * model version whose rows were written last (rows from before run records).
 * The default date is the latest prediction date with a completed run.
 */
import type { IsoDate } from '../market/dates.js';
import type { Confidence } from '../model/confidence.js';
import type { StoredFeatureReader } from '../features/online.js';
import { PredictionsStore, type RunKey } from '../predictions/store.js';
import type { BatchRunRow, PredictionRow } from '../predictions/types.js';
import type { LazyDb } from './data.js';
import type { BatchRunSummaryT, PredictionListItemT, StoredPredictionT } from './schemas.js';

export interface RunRef {
  run_id: string | null;
  prediction_date: IsoDate;
  as_of_session: IsoDate | null;
  model_version: string;
  model_type: string | null;
}

export interface ListFilter {
  confidence?: Confidence;
  label?: number;
  limit: number;
  offset: number;
}

const runRef = (r: RunKey | BatchRunRow): RunRef => ({
  run_id: r.run_id,
  prediction_date: r.prediction_date,
  as_of_session: r.as_of_session,
  model_version: r.model_version ?? '',
  model_type: r.model_type,
});

const stored = (r: PredictionRow, run: RunRef): StoredPredictionT => ({
  bse_code: r.bse_code,
  nse_symbol: r.nse_symbol,
  company_name: r.company_name,
  prediction_date: r.prediction_date,
  as_of_session: run.as_of_session,
  predicted_label: r.predicted_label,
  probability: r.probability,
  confidence: r.confidence as StoredPredictionT['confidence'],
  model_version: r.model_version ?? run.model_version,
  model_type: r.model_type,
  prediction_timestamp: r.prediction_timestamp,
  run_id: run.run_id,
});

export class PredictionsReader {
  readonly store: PredictionsStore;

  constructor(
    readonly db: LazyDb,
    dataDir?: string,
  ) {
    this.store = PredictionsStore.overSource(db, dataDir);
  }

  /** Runs `fn`'s reads on one snapshot of predictions.db (PredictionsStore.snapshot). */
  snapshot<T>(fn: () => T): T {
    return this.store.snapshot(fn);
  }

  /** True when predictions.db is open and has its tables. */
  usable(): boolean {
    return this.store.usable();
  }

  /** The run behind the default date: the latest prediction date with a completed run. */
  latestRun(): RunRef | undefined {
    const r = this.store.latestCompletedRun();
    return r ? runRef(r) : undefined;
  }

  /** The stock's row for the default date, in one statement (the hot path of GET /predictions/{code}). */
  latestPrediction(code: string): { run?: RunRef; row?: StoredPredictionT } {
    const r = this.store.latestPrediction(code);
    if (!r.run) return {};
    const run = runRef(r.run);
    return r.row ? { run, row: stored(r.row, run) } : { run };
  }

  /** The run (or model version) whose rows answer for `date`; see the file comment. */
  runFor(date: IsoDate): RunRef | undefined {
    const run = this.store.completedRun(date);
    if (run) return runRef(run);
    const rows = this.store.lastRowsModel(date);
    if (!rows) return undefined;
    return { run_id: null, prediction_date: date, as_of_session: null, model_version: rows.model_version, model_type: rows.model_type };
  }

  /**
   * `?model=<version>`: the run whose rows of that version answer for `date` (a completed run of it, or
   * the run that scored it as the challenger); without a date, the latest date with rows of it.
   */
  runForModel(date: IsoDate | undefined, modelVersion: string): RunRef | undefined {
    const d = date ?? this.store.latestModelDate(modelVersion);
    if (d === undefined) return undefined;
    const r = this.store.modelRun(d, modelVersion);
    return r ? runRef(r) : undefined;
  }

  prediction(code: string, run: RunRef): StoredPredictionT | undefined {
    const r = this.store.prediction(code, run.prediction_date, run.model_version);
    return r ? stored(r, run) : undefined;
  }

  skipped(code: string, date: IsoDate): { reason: string; detail: string | null } | undefined {
    return this.store.skip(code, date);
  }

  /** One page of the date's ranking (probability descending, ties by BSE code), and the count matching the filters. */
  list(run: RunRef, f: ListFilter): { total: number; items: PredictionListItemT[] } {
    const page = this.store.rankingPage(run.prediction_date, run.model_version, f);
    return {
      total: page.total,
      items: page.items.map((r) => ({
        rank: r.rank,
        bse_code: r.bse_code,
        nse_symbol: r.nse_symbol,
        company_name: r.company_name,
        probability: r.probability,
        predicted_label: r.predicted_label,
        confidence: r.confidence as PredictionListItemT['confidence'],
      })),
    };
  }

  /**
   * A background sample for explaining a model without node covers: every
   * feature row the batch stored for the latest prediction date that has some.
   */
  backgroundRows(): { X: Float32Array; n: number; what: string } | undefined {
    if (!this.store.usable()) return undefined;
    const date = this.store.latestFeatureDate();
    const rows = date === undefined ? undefined : this.store.featureRowsOfDate(date);
    return rows && date !== undefined ? { X: rows.values, n: rows.n, what: `the ${rows.n.toLocaleString('en-US')} feature rows stored for ${date}` } : undefined;
  }

  /** A stock's stored feature row for a date (feature set of this build), if the batch stored one. */
  features(code: string, date: IsoDate): Float32Array | undefined {
    return this.store.usable() ? this.store.storedFeatures(code, date)?.values : undefined;
  }

  /** The stored feature rows, for the online feature reader. */
  featureReader(): StoredFeatureReader {
    return (code, date) => (this.store.usable() ? this.store.storedFeatures(code, date) : undefined);
  }

  /** The most recently started batch run, whatever its status (a killed run shows as interrupted). */
  lastRun(): BatchRunSummaryT | null {
    const r = this.store.lastRun();
    if (!r) return null;
    return {
      run_id: r.run_id,
      prediction_date: r.prediction_date,
      as_of_session: r.as_of_session,
      status: r.status,
      started_at: r.started_at,
      finished_at: r.finished_at,
      model_version: r.model_version,
      counts: {
        universe: r.universe_count,
        processed: r.processed_count,
        skipped: r.skipped_count,
        predicted_uc: r.predicted_uc_count,
        high: r.high_count,
        medium: r.medium_count,
        low: r.low_count,
      },
    };
  }
}
