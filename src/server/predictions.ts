/**
 * Read-only queries on predictions.db for the API.
 *
 * Which rows a date means: the model version of that date's latest
 * succeeded batch run (several model versions may have scored the same
 * date). For an explicitly requested date with no succeeded run, the latest
 * run that wrote rows and then exceeded its error budget; failing that, the
 * model version whose rows were written last. The default date is the latest
 * prediction date with a succeeded run.
 */
import type { IsoDate } from '../market/dates.js';
import type { Confidence } from '../model/confidence.js';
import type { LazyDb } from './data.js';
import type { BatchRunSummaryT, PredictionListItemT, StoredPredictionT } from './schemas.js';
import type { BatchRunRow } from '../output/writer.js';

export interface RunRef {
  run_id: string | null;
  prediction_date: IsoDate;
  as_of_session: IsoDate | null;
  model_version: string;
  model_type: string | null;
}

const RUN_COLUMNS = 'run_id, prediction_date, as_of_session, model_version, model_type';

const SQL = {
  latestSucceeded: `SELECT ${RUN_COLUMNS} FROM batch_runs
    WHERE status = 'succeeded' AND model_version IS NOT NULL
    ORDER BY prediction_date DESC, finished_at DESC LIMIT 1`,
  runForDate: `SELECT ${RUN_COLUMNS} FROM batch_runs
    WHERE prediction_date = ? AND status IN ('succeeded', 'budget_exceeded') AND model_version IS NOT NULL
    ORDER BY status = 'succeeded' DESC, finished_at DESC LIMIT 1`,
  rowsForDate: `SELECT model_version, model_type FROM daily_predictions
    WHERE prediction_date = ? ORDER BY prediction_timestamp DESC, prediction_id DESC LIMIT 1`,
  prediction: `SELECT bse_code, nse_symbol, company_name, prediction_date, predicted_label, probability, confidence,
      model_version, model_type, prediction_timestamp
    FROM daily_predictions WHERE bse_code = ? AND prediction_date = ? AND model_version = ?`,
  latestPrediction: `SELECT r.run_id, r.prediction_date, r.as_of_session, r.model_version, r.model_type,
      p.bse_code, p.nse_symbol, p.company_name, p.predicted_label, p.probability, p.confidence, p.model_type AS p_model_type, p.prediction_timestamp
    FROM (SELECT ${RUN_COLUMNS} FROM batch_runs WHERE status = 'succeeded' AND model_version IS NOT NULL
          ORDER BY prediction_date DESC, finished_at DESC LIMIT 1) r
    LEFT JOIN daily_predictions p ON p.bse_code = ? AND p.prediction_date = r.prediction_date AND p.model_version = r.model_version`,
  skipped: 'SELECT reason, detail FROM skipped_stocks WHERE prediction_date = ? AND bse_code = ?',
  lastRun: `SELECT run_id, prediction_date, as_of_session, status, started_at, finished_at, model_version,
      universe_count, processed_count, skipped_count, predicted_uc_count, high_count, medium_count, low_count
    FROM batch_runs ORDER BY started_at DESC, rowid DESC LIMIT 1`,
} as const;

export interface ListFilter {
  confidence?: Confidence;
  label?: number;
  limit: number;
  offset: number;
}

type LastRunRow = Pick<
  BatchRunRow,
  | 'run_id' | 'prediction_date' | 'as_of_session' | 'status' | 'started_at' | 'finished_at' | 'model_version'
  | 'universe_count' | 'processed_count' | 'skipped_count' | 'predicted_uc_count' | 'high_count' | 'medium_count' | 'low_count'
>;

export class PredictionsReader {
  constructor(readonly db: LazyDb) {}

  /** True when predictions.db is open and has its tables. */
  usable(): boolean {
    return this.db.statement(SQL.lastRun) !== undefined;
  }

  /** The run behind the default date: the latest prediction date with a succeeded run. */
  latestRun(): RunRef | undefined {
    return this.db.run(SQL.latestSucceeded, (st) => st.get() as RunRef | undefined);
  }

  /**
   * The stock's row for the default date, in one statement (one read
   * transaction): the hot path of GET /predictions/{code}. `run` is undefined
   * when no run has succeeded; `row` when the stock has no row for its date.
   */
  latestPrediction(code: string): { run?: RunRef; row?: StoredPredictionT } {
    const r = this.db.run(SQL.latestPrediction, (st) => st.get(code)) as (RunRef & { bse_code: string | null } & Record<string, unknown>) | undefined;
    if (!r) return {};
    const run: RunRef = { run_id: r.run_id, prediction_date: r.prediction_date, as_of_session: r.as_of_session, model_version: r.model_version, model_type: r.model_type };
    if (r.bse_code === null) return { run };
    return {
      run,
      row: {
        bse_code: r.bse_code,
        nse_symbol: r.nse_symbol as string | null,
        company_name: r.company_name as string | null,
        prediction_date: r.prediction_date,
        as_of_session: r.as_of_session,
        predicted_label: r.predicted_label as number,
        probability: r.probability as number,
        confidence: r.confidence as StoredPredictionT['confidence'],
        model_version: r.model_version,
        model_type: r.p_model_type as string | null,
        prediction_timestamp: r.prediction_timestamp as string | null,
        run_id: r.run_id,
      },
    };
  }

  /** The run (or model version) whose rows answer for `date`; see the file comment. */
  runFor(date: IsoDate): RunRef | undefined {
    const run = this.db.run(SQL.runForDate, (st) => st.get(date) as RunRef | undefined);
    if (run) return run;
    const rows = this.db.run(SQL.rowsForDate, (st) => st.get(date) as { model_version: string | null; model_type: string | null } | undefined);
    if (!rows || rows.model_version === null) return undefined;
    return { run_id: null, prediction_date: date, as_of_session: null, model_version: rows.model_version, model_type: rows.model_type };
  }

  prediction(code: string, run: RunRef): StoredPredictionT | undefined {
    const r = this.db.run(SQL.prediction, (st) => st.get(code, run.prediction_date, run.model_version)) as
      | Omit<StoredPredictionT, 'as_of_session' | 'run_id'>
      | undefined;
    if (!r) return undefined;
    return { ...r, as_of_session: run.as_of_session, run_id: run.run_id };
  }

  skipped(code: string, date: IsoDate): { reason: string; detail: string | null } | undefined {
    return this.db.run(SQL.skipped, (st) => st.get(date, code) as { reason: string; detail: string | null } | undefined);
  }

  /** One page of the date's ranking (probability descending, ties by BSE code), and the count matching the filters. */
  list(run: RunRef, f: ListFilter): { total: number; items: PredictionListItemT[] } {
    const where = ['prediction_date = ?', 'model_version = ?'];
    const params: (string | number)[] = [run.prediction_date, run.model_version];
    const outer: string[] = [];
    const outerParams: (string | number)[] = [];
    if (f.confidence !== undefined) {
      outer.push('confidence = ?');
      outerParams.push(f.confidence);
    }
    if (f.label !== undefined) {
      outer.push('predicted_label = ?');
      outerParams.push(f.label);
    }
    const cols = 'bse_code, nse_symbol, company_name, probability, predicted_label, confidence';
    const order = 'ORDER BY probability DESC, bse_code';
    let itemsSql: string;
    let countSql: string;
    if (outer.length === 0) {
      // No filter: the rank is the position in this very ordering.
      itemsSql = `SELECT row_number() OVER (${order}) + ? AS rank, ${cols} FROM
        (SELECT ${cols} FROM daily_predictions WHERE ${where.join(' AND ')} ${order} LIMIT ? OFFSET ?) ${order}`;
      countSql = `SELECT count(*) AS n FROM daily_predictions WHERE ${where.join(' AND ')}`;
      const items = this.db.run(itemsSql, (st) => st.all(f.offset, ...params, f.limit, f.offset)) as PredictionListItemT[] | undefined;
      const total = this.db.run(countSql, (st) => (st.get(...params) as { n: number }).n);
      return { total: total ?? 0, items: items ?? [] };
    }
    // With filters, the rank stays the stock's position in the date's full ranking.
    const ranked = `SELECT row_number() OVER (${order}) AS rank, ${cols} FROM daily_predictions WHERE ${where.join(' AND ')}`;
    itemsSql = `SELECT rank, ${cols} FROM (${ranked}) WHERE ${outer.join(' AND ')} ORDER BY rank LIMIT ? OFFSET ?`;
    countSql = `SELECT count(*) AS n FROM daily_predictions WHERE ${[...where, ...outer].join(' AND ')}`;
    const items = this.db.run(itemsSql, (st) => st.all(...params, ...outerParams, f.limit, f.offset)) as PredictionListItemT[] | undefined;
    const total = this.db.run(countSql, (st) => (st.get(...params, ...outerParams) as { n: number }).n);
    return { total: total ?? 0, items: items ?? [] };
  }

  /** The most recently started batch run, whatever its status. */
  lastRun(): BatchRunSummaryT | null {
    const r = this.db.run(SQL.lastRun, (st) => st.get() as LastRunRow | undefined);
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
