/**
 * The predictions store: the one owner of predictions.db. Every SQL
 * statement on that database is here (and in its migrations,
 * sql/predictions/NNN_*.sql, applied by ./migrate.ts).
 *
 * Opened for writing by the batch (WAL mode, migrated), read-only by
 * everyone else (`notify`, the backfill's resume check, `data info` when it
 * cannot write, the server through its own reopening handle).
 *
 * Which run a date means: `completedRun(date, model?)`, the one rule
 * documented in docs/runs.md.
 */
import Database, { type Statement } from 'better-sqlite3';
import { accessSync, constants, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { predictionsDbPath } from '../config.js';
import { missingInput } from '../errors.js';
import type { Db } from '../market/db.js';
import type { IsoDate } from '../market/dates.js';
import { FEATURE_NAMES, FEATURE_SET_VERSION, N_FEATURES } from '../features/definition.js';
import { processAlive } from '../util/process.js';
import { lockFile, readLockOwner } from '../util/lockfile.js';
import { ensureWritableDir, openSqliteReadonly, withSqliteFile } from '../util/sqlite.js';
import { migrate } from './migrate.js';
import type {
  FetchFileOutcome,
  FetchRunRow,
  BatchRunRow,
  ChallengerInput,
  ChallengerRunRow,
  DriftInput,
  ExplanationColumns,
  DriftSubjectRow,
  ModelRef,
  OutcomeFilter,
  OutcomeInput,
  OutcomeRow,
  PendingOutcome,
  PredictionRow,
  RankedRow,
  RankingFilter,
  RunFinish,
  RunRows,
  RunStart,
  SkipRow,
  StoredDrift,
  StoredExplanation,
  StoredFeatures,
} from './types.js';
import { orderByKey } from '../util/order.js';

/**
 * Where the store's statements come from: its own handle, or a handle the
 * caller manages (the server's, reopened when the file is replaced). `run`
 * answers undefined when the database is not usable (missing, not migrated).
 */
export interface StatementSource {
  run<T>(sql: string, fn: (st: Statement) => T): T | undefined;
}

/** A source over one open handle, one prepared statement per SQL text. */
class HandleSource implements StatementSource {
  private readonly cache = new Map<string, Statement>();
  constructor(readonly db: Db) {}
  run<T>(sql: string, fn: (st: Statement) => T): T {
    let st = this.cache.get(sql);
    if (!st) this.cache.set(sql, (st = this.db.prepare(sql)));
    return fn(st);
  }
}

/** Rounding of stored probabilities: 6 decimals everywhere (DB, CSV, API). */
const round6 = (p: number): number => Math.round(p * 1e6) / 1e6;

/** The positions of `codes` in code order. */
const byCode = orderByKey;

/**
 * Inserts rows of a narrow table ROWS_PER_INSERT at a time (one multi-row
 * INSERT), the rest one by one: for prediction_drivers (5 rows per stock,
 * 550,000 at 110,000 stocks) a third less CPU than one statement per row (#16).
 * The rows land exactly as with single-row statements.
 */
class RowBatcher {
  static readonly ROWS_PER_INSERT = 64;
  private readonly many: Statement;
  private readonly one: Statement;
  private readonly buf: unknown[];
  private n = 0;
  constructor(db: Db, into: string, private readonly columns: number) {
    const row = `(${new Array(columns).fill('?').join(', ')})`;
    this.many = db.prepare(`INSERT INTO ${into} VALUES ${new Array(RowBatcher.ROWS_PER_INSERT).fill(row).join(', ')}`);
    this.one = db.prepare(`INSERT INTO ${into} VALUES ${row}`);
    this.buf = new Array(RowBatcher.ROWS_PER_INSERT * columns);
  }
  add(...values: unknown[]): void {
    const at = this.n * this.columns;
    for (let c = 0; c < this.columns; c++) this.buf[at + c] = values[c];
    if (++this.n === RowBatcher.ROWS_PER_INSERT) {
      this.many.run(this.buf);
      this.n = 0;
    }
  }
  /** Inserts the rows still buffered. */
  flush(): void {
    for (let i = 0; i < this.n; i++) this.one.run(this.buf.slice(i * this.columns, (i + 1) * this.columns));
    this.n = 0;
  }
}

/** A run counts for its date when it published its outputs and ended succeeded or budget_exceeded (docs/runs.md). */
const COMPLETED = "published = 1 AND status IN ('succeeded', 'budget_exceeded') AND model_version IS NOT NULL";

const SQL = {
  completedRun: `SELECT * FROM batch_runs WHERE prediction_date = ? AND ${COMPLETED}
    ORDER BY finished_at DESC, rowid DESC LIMIT 1`,
  completedRunOfModel: `SELECT * FROM batch_runs WHERE prediction_date = ? AND ${COMPLETED} AND model_name = ? AND model_version = ?
    ORDER BY finished_at DESC, rowid DESC LIMIT 1`,
  latestCompletedRun: `SELECT * FROM batch_runs WHERE ${COMPLETED} AND prediction_date = (SELECT max(prediction_date) FROM batch_runs WHERE ${COMPLETED})
    ORDER BY finished_at DESC, rowid DESC LIMIT 1`,
  latestPrediction: `SELECT r.run_id, r.prediction_date, r.as_of_session, r.model_version, r.model_type,
      p.bse_code, p.nse_symbol, p.company_name, p.predicted_label, p.probability, p.confidence, p.model_type AS p_model_type, p.prediction_timestamp
    FROM (SELECT run_id, prediction_date, as_of_session, model_version, model_type FROM batch_runs
          WHERE ${COMPLETED} AND prediction_date = (SELECT max(prediction_date) FROM batch_runs WHERE ${COMPLETED})
          ORDER BY finished_at DESC, rowid DESC LIMIT 1) r
    LEFT JOIN daily_predictions p ON p.bse_code = ? AND p.prediction_date = r.prediction_date AND p.model_version = r.model_version`,
  hasSucceeded: `SELECT 1 FROM batch_runs WHERE prediction_date = ? AND published = 1 AND status = 'succeeded' AND model_name = ? AND model_version = ? LIMIT 1`,
  // A challenger's rows (challenger_runs) are never a date's default rows.
  rowsModel: `SELECT model_version, model_type FROM daily_predictions d
    WHERE prediction_date = ? AND NOT EXISTS (SELECT 1 FROM challenger_runs c WHERE c.prediction_date = d.prediction_date AND c.model_version = d.model_version)
    ORDER BY prediction_timestamp DESC, prediction_id DESC LIMIT 1`,
  rowsModelBefore007: `SELECT model_version, model_type FROM daily_predictions
    WHERE prediction_date = ? ORDER BY prediction_timestamp DESC, prediction_id DESC LIMIT 1`,
  driftRun: 'SELECT * FROM drift_runs WHERE run_id = ?',
  driftSubjects: 'SELECT subject, kind, psi, level, missing_expected, missing_actual, bins FROM drift_subjects WHERE run_id = ? ORDER BY position',
  challengerRun: 'SELECT * FROM challenger_runs WHERE prediction_date = ? AND model_version = ?',
  challengersOfDate: 'SELECT * FROM challenger_runs WHERE prediction_date = ? ORDER BY recorded_at DESC',
  modelRun: `SELECT * FROM batch_runs WHERE prediction_date = ? AND ${COMPLETED} AND model_version = ?
    ORDER BY finished_at DESC, rowid DESC LIMIT 1`,
  latestModelDate: `SELECT max(d) FROM (SELECT max(prediction_date) AS d FROM batch_runs WHERE ${COMPLETED} AND model_version = ?
    UNION ALL SELECT max(prediction_date) FROM challenger_runs WHERE model_version = ?)`,
  prediction: `SELECT bse_code, nse_symbol, company_name, prediction_date, predicted_label, probability, confidence,
      model_version, model_type, prediction_timestamp
    FROM daily_predictions WHERE bse_code = ? AND prediction_date = ? AND model_version = ?`,
  ranking: `SELECT bse_code, nse_symbol, company_name, prediction_date, predicted_label, probability, confidence,
      model_version, model_type, prediction_timestamp
    FROM daily_predictions WHERE prediction_date = ? AND model_version = ? ORDER BY probability DESC, bse_code`,
  featureDates: 'SELECT DISTINCT prediction_date FROM feature_values',
  skip: 'SELECT reason, detail FROM skipped_stocks WHERE prediction_date = ? AND bse_code = ?',
  lastRun: 'SELECT * FROM batch_runs ORDER BY started_at DESC, rowid DESC LIMIT 1',
  running: "SELECT * FROM batch_runs WHERE status = 'running'",
  features: `SELECT as_of_date, imputed_count, ${FEATURE_NAMES.join(', ')} FROM feature_values
    WHERE bse_code = ? AND prediction_date = ? AND feature_set_version = ?`,
  featureRowsOfDate: `SELECT ${FEATURE_NAMES.join(', ')} FROM feature_values
    WHERE prediction_date = ? AND feature_set_version = ? ORDER BY bse_code`,
  latestFeatureDate: 'SELECT max(prediction_date) FROM feature_values WHERE feature_set_version = ?',
  explanation: `SELECT bse_code, prediction_date, model_version, base_value, margin, run_id FROM prediction_explanations
    WHERE bse_code = ? AND prediction_date = ? AND model_version = ?`,
  drivers: `SELECT feature, feature_value, contribution FROM prediction_drivers
    WHERE bse_code = ? AND prediction_date = ? AND model_version = ? ORDER BY rank`,
  completedRuns: `SELECT b.* FROM batch_runs b WHERE ${COMPLETED}
      AND b.rowid = (SELECT c.rowid FROM batch_runs c WHERE c.prediction_date = b.prediction_date AND ${COMPLETED.replace(/\b(published|status|model_version)\b/g, 'c.$1')}
                     ORDER BY c.finished_at DESC, c.rowid DESC LIMIT 1)
    ORDER BY b.prediction_date DESC LIMIT ?`,
  predictionHistory: `SELECT p.bse_code, p.nse_symbol, p.company_name, p.prediction_date, p.predicted_label, p.probability, p.confidence,
      p.model_version, p.model_type, p.prediction_timestamp, o.hit AS hit,
      EXISTS (SELECT 1 FROM batch_runs r WHERE r.prediction_date = p.prediction_date AND r.model_version = p.model_version
              AND r.rowid = (SELECT c.rowid FROM batch_runs c WHERE c.prediction_date = p.prediction_date AND ${COMPLETED.replace(/\b(published|status|model_version)\b/g, 'c.$1')}
                             ORDER BY c.finished_at DESC, c.rowid DESC LIMIT 1)) AS completed
    FROM daily_predictions p
    LEFT JOIN prediction_outcomes o ON o.bse_code = p.bse_code AND o.prediction_date = p.prediction_date AND o.model_version = p.model_version
    WHERE p.bse_code = ? ORDER BY p.prediction_date DESC, p.model_version LIMIT ?`,
  // Champions' published rows and challengers' rows (challenger_runs, migration 007) alike.
  pendingOutcomes: `SELECT prediction_date, min(model_name) AS model_name, model_version FROM (
      SELECT b.prediction_date, b.model_name, b.model_version FROM batch_runs b WHERE b.published = 1 AND b.model_version IS NOT NULL
      UNION SELECT c.prediction_date, c.model_name, c.model_version FROM challenger_runs c) x
    WHERE EXISTS (SELECT 1 FROM daily_predictions p WHERE p.prediction_date = x.prediction_date AND p.model_version = x.model_version)
      AND NOT EXISTS (SELECT 1 FROM prediction_outcomes o WHERE o.prediction_date = x.prediction_date AND o.model_version = x.model_version)
    GROUP BY prediction_date, model_version
    ORDER BY prediction_date, model_version`,
  predictionCodes: 'SELECT bse_code FROM daily_predictions WHERE prediction_date = ? AND model_version = ? ORDER BY bse_code',
  predictionsToJudge: 'SELECT bse_code, probability, predicted_label, confidence FROM daily_predictions WHERE prediction_date = ? AND model_version = ?',
  outcomeDates: 'SELECT DISTINCT model_version, prediction_date FROM prediction_outcomes',
  latestOutcomeDate: 'SELECT max(prediction_date) FROM prediction_outcomes',
  outcomeVersionsOfDate: 'SELECT DISTINCT model_version FROM prediction_outcomes WHERE prediction_date = ? ORDER BY model_version',
  topOutcomes: `SELECT model_version, prediction_date, bse_code, probability, predicted_label, confidence, hit FROM prediction_outcomes
    WHERE model_version = ? AND prediction_date = ? ORDER BY probability DESC, bse_code LIMIT ?`,
  outcomeCounts: 'SELECT count(*) AS rows, coalesce(sum(hit), 0) AS hits FROM prediction_outcomes WHERE model_version = ? AND prediction_date = ?',
  outcomesOfDate: `SELECT model_version, prediction_date, bse_code, probability, predicted_label, confidence, hit FROM prediction_outcomes
    WHERE model_version = ? AND prediction_date = ?`,
  latestOutcomeDates: 'SELECT DISTINCT prediction_date FROM prediction_outcomes WHERE model_version = ? AND prediction_date <= ? ORDER BY prediction_date DESC LIMIT ?',
} as const;

/** The columns of an outcome row (OutcomeRow), in order. */
const OUTCOME_COLS = 'model_version, prediction_date, bse_code, probability, predicted_label, confidence, hit';

/** The WHERE clause of an outcome filter on prediction_outcomes. */
function outcomeWhere(f: OutcomeFilter): { where: string; params: string[] } {
  const clauses: string[] = [];
  const params: string[] = [];
  const add = (clause: string, v: string | undefined): void => {
    if (v === undefined) return;
    clauses.push(clause);
    params.push(v);
  };
  add('model_version = ?', f.modelVersion);
  add('prediction_date >= ?', f.from);
  add('prediction_date <= ?', f.to);
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/**
 * Whether a `running` row's process is gone: it ran on this host, and its pid
 * is not alive or (a reused pid) does not hold the data directory's batch
 * lock. A run of another host cannot be checked and stays `running`. A row
 * recorded before runs kept their pid (migration 004) is gone when no live
 * process of this host holds the lock: every batch holds it while it runs.
 */
export function runIsGone(run: Pick<BatchRunRow, 'status' | 'pid' | 'host'>, dataDir: string | undefined): boolean {
  if (run.status !== 'running') return false;
  if (run.pid === null) {
    if (dataDir === undefined) return false;
    const owner = readLockOwner(lockFile(dataDir));
    return !(owner && (owner.host !== hostname() || processAlive(owner.pid)));
  }
  if (run.host !== hostname()) return false;
  if (!processAlive(run.pid)) return true;
  if (dataDir === undefined) return false;
  const owner = readLockOwner(lockFile(dataDir));
  return !(owner && owner.host === run.host && owner.pid === run.pid);
}

/** The columns of a run that say which rows it published. */
export type RunKey = Pick<BatchRunRow, 'run_id' | 'prediction_date' | 'as_of_session' | 'model_version' | 'model_type'>;

export class PredictionsStore {
  private readonly src: StatementSource;
  private constructor(
    src: StatementSource,
    /** The writable handle (undefined for read-only stores). */
    private readonly db: Db | undefined,
    /** For the liveness check of `running` rows (the batch lock lives there). */
    readonly dataDir: string | undefined,
    private readonly owned: Db | undefined,
  ) {
    this.src = src;
  }

  /** Opens predictions.db for writing (creating it and its directory), migrated, in WAL mode. */
  static openForWrite(dataDir: string): PredictionsStore {
    ensureWritableDir(dataDir, 'predictions.db');
    const file = predictionsDbPath(dataDir);
    const db = withSqliteFile(file, 'predictions.db', () => new Database(file));
    try {
      withSqliteFile(file, 'predictions.db', () => {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.pragma('busy_timeout = 5000');
        migrate(db);
      });
    } catch (e) {
      db.close();
      throw e;
    }
    return new PredictionsStore(new HandleSource(db), db, dataDir, db);
  }

  /** Opens predictions.db read-only, or explains that no batch has run. */
  static openReadonly(dataDir: string): PredictionsStore {
    const file = predictionsDbPath(dataDir);
    if (!existsSync(file)) throw missingInput(`no predictions at ${file}: run 'stockflow batch' first`);
    return PredictionsStore.openReadonlyFile(file);
  }

  /** Opens predictions.db read-only when it exists; undefined otherwise. */
  static openReadonlyIfExists(dataDir: string): PredictionsStore | undefined {
    const file = predictionsDbPath(dataDir);
    return existsSync(file) ? PredictionsStore.openReadonlyFile(file) : undefined;
  }

  private static openReadonlyFile(file: string): PredictionsStore {
    const db = openSqliteReadonly(file, { what: 'predictions.db', missing: `no predictions at ${file}: run 'stockflow batch' first` });
    return new PredictionsStore(new HandleSource(db), undefined, path.dirname(file), db);
  }

  /**
   * For `data info`: the last run of a data directory (a killed run shown as
   * interrupted), after marking such runs interrupted in predictions.db when
   * the directory and file are writable. Undefined when no batch has run.
   */
  static inspect(dataDir: string): { lastRun?: BatchRunRow; reconciled: string[]; lastFetch?: FetchRunRow } | undefined {
    const file = predictionsDbPath(dataDir);
    if (!existsSync(file)) return undefined;
    let writable = true;
    try {
      accessSync(dataDir, constants.W_OK);
      accessSync(file, constants.W_OK);
    } catch {
      writable = false;
    }
    const store = writable ? PredictionsStore.openForWrite(dataDir) : PredictionsStore.openReadonlyFile(file);
    try {
      const reconciled = writable ? store.reconcileInterrupted() : [];
      return { lastRun: store.usable() ? store.lastRun() : undefined, reconciled, lastFetch: store.lastFetchRun() };
    } finally {
      store.close();
    }
  }

  /** A read-only store over a handle the caller opens, reopens and closes (the server's). */
  static overSource(src: StatementSource, dataDir?: string): PredictionsStore {
    return new PredictionsStore(src, undefined, dataDir, undefined);
  }

  close(): void {
    this.owned?.close();
  }

  private writable(): Db {
    if (!this.db) throw new Error('predictions store opened read-only');
    return this.db;
  }

  // ---- reads -------------------------------------------------------------

  /**
   * Runs `fn`'s reads on one snapshot of predictions.db (a read transaction):
   * a run published by another process meanwhile is seen whole or not at
   * all, so the run a date names and the rows served with it always match.
   * Not re-entrant. Without a usable database `fn` runs as it is.
   */
  snapshot<T>(fn: () => T): T {
    const began = this.src.run('BEGIN', (st) => (st.run(), true)) === true;
    try {
      return fn();
    } finally {
      if (began) {
        try {
          this.src.run('COMMIT', (st) => st.run());
        } catch {
          // A read transaction has nothing to lose: a handle reopened meanwhile (the file was replaced) has none to end.
        }
      }
    }
  }

  /** True when predictions.db is open and has its tables. */
  usable(): boolean {
    try {
      return this.src.run(SQL.lastRun, () => true) === true;
    } catch {
      return false;
    }
  }

  /**
   * The completed run of `date` (of that model when given): the latest run of
   * the date whose outputs were published, i.e. that succeeded, or ended
   * budget_exceeded with its outputs published (docs/runs.md).
   */
  completedRun(date: IsoDate, model?: ModelRef): BatchRunRow | undefined {
    return model
      ? this.src.run(SQL.completedRunOfModel, (st) => st.get(date, model.name, model.version) as BatchRunRow | undefined)
      : this.src.run(SQL.completedRun, (st) => st.get(date) as BatchRunRow | undefined);
  }

  /** completedRun of the latest prediction date that has one (the API's default date). */
  latestCompletedRun(): BatchRunRow | undefined {
    return this.src.run(SQL.latestCompletedRun, (st) => st.get() as BatchRunRow | undefined);
  }

  /**
   * The stock's row for the default date (latestCompletedRun) in one
   * statement, so one read transaction: the hot path of GET /predictions/{code}.
   * `run` is undefined when no run has completed; `row` when the stock has no row for that date.
   */
  latestPrediction(code: string): { run?: RunKey; row?: PredictionRow } {
    const r = this.src.run(SQL.latestPrediction, (st) => st.get(code)) as (RunKey & { bse_code: string | null } & Record<string, unknown>) | undefined;
    if (!r) return {};
    const run: RunKey = { run_id: r.run_id, prediction_date: r.prediction_date, as_of_session: r.as_of_session, model_version: r.model_version, model_type: r.model_type };
    if (r.bse_code === null) return { run };
    return {
      run,
      row: {
        bse_code: r.bse_code,
        nse_symbol: r.nse_symbol as string | null,
        company_name: r.company_name as string | null,
        prediction_date: r.prediction_date,
        predicted_label: r.predicted_label as number,
        probability: r.probability as number,
        confidence: r.confidence as PredictionRow['confidence'],
        model_version: r.model_version,
        model_type: r.p_model_type as string | null,
        prediction_timestamp: r.prediction_timestamp as string | null,
      },
    };
  }

  /** Whether the date has a succeeded, published run of this model (a budget_exceeded run then keeps it). */
  hasSucceededRun(date: IsoDate, model: ModelRef): boolean {
    return this.src.run(SQL.hasSucceeded, (st) => st.get(date, model.name, model.version) !== undefined) ?? false;
  }

  /** For a date without any completed run: the model version whose rows were written last (rows written by hand or an older version). */
  lastRowsModel(date: IsoDate): { model_version: string; model_type: string | null } | undefined {
    type Row = { model_version: string | null; model_type: string | null } | undefined;
    let r: Row;
    try {
      r = this.src.run(SQL.rowsModel, (st) => st.get(date) as Row);
    } catch {
      // A predictions.db from before migration 007 (opened read-only, not migrated) has no challenger rows.
      r = this.src.run(SQL.rowsModelBefore007, (st) => st.get(date) as Row);
    }
    return r && r.model_version !== null ? { model_version: r.model_version, model_type: r.model_type } : undefined;
  }

  prediction(code: string, date: IsoDate, modelVersion: string): PredictionRow | undefined {
    return this.src.run(SQL.prediction, (st) => st.get(code, date, modelVersion) as PredictionRow | undefined);
  }

  /** The date's rows for a model, probability descending, ties by BSE code. */
  ranking(date: IsoDate, modelVersion: string): PredictionRow[] {
    return this.src.run(SQL.ranking, (st) => st.all(date, modelVersion) as PredictionRow[]) ?? [];
  }

  /** One page of the date's ranking and the count matching the filters; ranks are positions in the full ranking. */
  rankingPage(date: IsoDate, modelVersion: string, f: RankingFilter): { total: number; items: RankedRow[] } {
    const where = ['prediction_date = ?', 'model_version = ?'];
    const params: (string | number)[] = [date, modelVersion];
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
    if (outer.length === 0) {
      // No filter: the rank is the position in this very ordering.
      const itemsSql = `SELECT row_number() OVER (${order}) + ? AS rank, ${cols} FROM
        (SELECT ${cols} FROM daily_predictions WHERE ${where.join(' AND ')} ${order} LIMIT ? OFFSET ?) ${order}`;
      const countSql = `SELECT count(*) AS n FROM daily_predictions WHERE ${where.join(' AND ')}`;
      const items = this.src.run(itemsSql, (st) => st.all(f.offset, ...params, f.limit, f.offset)) as RankedRow[] | undefined;
      const total = this.src.run(countSql, (st) => (st.get(...params) as { n: number }).n);
      return { total: total ?? 0, items: items ?? [] };
    }
    const ranked = `SELECT row_number() OVER (${order}) AS rank, ${cols} FROM daily_predictions WHERE ${where.join(' AND ')}`;
    const itemsSql = `SELECT rank, ${cols} FROM (${ranked}) WHERE ${outer.join(' AND ')} ORDER BY rank LIMIT ? OFFSET ?`;
    const countSql = `SELECT count(*) AS n FROM daily_predictions WHERE ${[...where, ...outer].join(' AND ')}`;
    const items = this.src.run(itemsSql, (st) => st.all(...params, ...outerParams, f.limit, f.offset)) as RankedRow[] | undefined;
    const total = this.src.run(countSql, (st) => (st.get(...params, ...outerParams) as { n: number }).n);
    return { total: total ?? 0, items: items ?? [] };
  }

  skip(code: string, date: IsoDate): SkipRow | undefined {
    return this.src.run(SQL.skip, (st) => st.get(date, code) as SkipRow | undefined);
  }

  /**
   * The most recently started run, whatever its status; a `running` run
   * whose process is gone is shown as `interrupted` (read side: the row is
   * corrected by the next batch or `data info`).
   */
  lastRun(): BatchRunRow | undefined {
    const r = this.src.run(SQL.lastRun, (st) => st.get() as BatchRunRow | undefined);
    if (r && runIsGone(r, this.dataDir)) return { ...r, status: 'interrupted' };
    return r;
  }

  /** Prediction dates with stored feature rows. */
  featureDates(): string[] {
    return this.src.run(SQL.featureDates, (st) => st.pluck().all() as string[]) ?? [];
  }

  /** The stored feature row of one stock for a prediction date (the online feature reader's store). */
  storedFeatures(code: string, date: IsoDate, featureSetVersion: string = FEATURE_SET_VERSION): StoredFeatures | undefined {
    const r = this.src.run(SQL.features, (st) => st.raw(true).get(code, date, featureSetVersion) as [string, number, ...number[]] | undefined);
    if (!r) return undefined;
    return { asOf: r[0], imputed: r[1], values: Float32Array.from(r.slice(2) as number[]) };
  }

  /**
   * Every stored feature row of a prediction date (bse_code order), row-major
   * [n, N_FEATURES]: a background sample for explaining a model that has no
   * node covers (docs/models.md). Undefined when the date has none.
   */
  featureRowsOfDate(date: IsoDate, featureSetVersion: string = FEATURE_SET_VERSION): { n: number; values: Float32Array } | undefined {
    const rows = this.src.run(SQL.featureRowsOfDate, (st) => st.raw(true).all(date, featureSetVersion) as number[][]);
    if (!rows || rows.length === 0) return undefined;
    const values = new Float32Array(rows.length * N_FEATURES);
    rows.forEach((r, i) => values.set(r, i * N_FEATURES));
    return { n: rows.length, values };
  }

  /** The latest prediction date with stored feature rows (of this feature set), if any. */
  latestFeatureDate(featureSetVersion: string = FEATURE_SET_VERSION): IsoDate | undefined {
    return this.src.run(SQL.latestFeatureDate, (st) => (st.pluck().get(featureSetVersion) as string | null) ?? undefined);
  }

  /** A stock's stored explanation (base, margin, top drivers) for a date and model version, if its run stored one. */
  explanation(code: string, date: IsoDate, modelVersion: string): StoredExplanation | undefined {
    const e = this.src.run(SQL.explanation, (st) => st.get(code, date, modelVersion)) as
      | { bse_code: string; prediction_date: string; model_version: string; base_value: number; margin: number; run_id: string }
      | undefined;
    if (!e) return undefined;
    const drivers = (this.src.run(SQL.drivers, (st) => st.all(code, date, modelVersion)) ?? []) as {
      feature: string;
      feature_value: number | null;
      contribution: number;
    }[];
    return {
      bse_code: e.bse_code,
      prediction_date: e.prediction_date,
      model_version: e.model_version,
      run_id: e.run_id,
      base: e.base_value,
      margin: e.margin,
      drivers: drivers.map((d) => ({ feature: d.feature, value: d.feature_value, contribution: d.contribution })),
    };
  }

  /** The completed run of each prediction date (completedRun), newest date first, at most `limit` dates (the dashboard's date picker). */
  completedRuns(limit: number): BatchRunRow[] {
    return this.src.run(SQL.completedRuns, (st) => st.all(limit) as BatchRunRow[]) ?? [];
  }

  /**
   * A stock's stored predictions, newest first (at most `limit`), each with its realised outcome
   * (hit 1/0, or null while its horizon has not passed) and the run that wrote the date's rows when it is the date's completed run.
   */
  predictionHistory(code: string, limit: number): (PredictionRow & { hit: 0 | 1 | null; completed: 0 | 1 })[] {
    return (this.src.run(SQL.predictionHistory, (st) => st.all(code, limit)) ?? []) as (PredictionRow & { hit: 0 | 1 | null; completed: 0 | 1 })[];
  }

  /** Published (date, model) pairs whose rows have no realised outcomes yet, oldest first. */
  pendingOutcomes(): PendingOutcome[] {
    return this.src.run(SQL.pendingOutcomes, (st) => st.all() as PendingOutcome[]) ?? [];
  }

  /** The stocks of a date's stored predictions of one model version (bse_code order). */
  predictionCodes(date: IsoDate, modelVersion: string): string[] {
    return this.src.run(SQL.predictionCodes, (st) => st.pluck().all(date, modelVersion) as string[]) ?? [];
  }

  /** The (model version, date) pairs with recorded outcomes in a range, by version then date. */
  outcomeDates(f: OutcomeFilter = {}): { model_version: string; prediction_date: IsoDate }[] {
    const { where, params } = outcomeWhere(f);
    const sql = `${SQL.outcomeDates} ${where} ORDER BY model_version, prediction_date`;
    return this.src.run(sql, (st) => st.all(...params) as { model_version: string; prediction_date: IsoDate }[]) ?? [];
  }

  /** One (model version, date)'s predictions with their outcomes (in key order: bse_code). */
  outcomesOfDate(modelVersion: string, date: IsoDate): OutcomeRow[] {
    return this.src.run(SQL.outcomesOfDate, (st) => st.all(modelVersion, date) as OutcomeRow[]) ?? [];
  }

  /** Stored predictions with their realised outcome, ordered by model version, date, then bse_code. */
  outcomeRows(f: OutcomeFilter = {}): OutcomeRow[] {
    const { where, params } = outcomeWhere(f);
    const sql = `SELECT ${OUTCOME_COLS} FROM prediction_outcomes ${where} ORDER BY model_version, prediction_date, bse_code`;
    return this.src.run(sql, (st) => st.all(...params) as OutcomeRow[]) ?? [];
  }

  /**
   * What the scorecard reads: the latest prediction date with known outcomes,
   * the model version it is judged for (that of the date's completed run when
   * it has outcomes, else the first version that does), and that version's
   * latest `window` dates with outcomes up to it (newest first). Undefined when no outcome is known.
   */
  scorecardScope(window: number): { date: IsoDate; modelVersion: string; dates: IsoDate[] } | undefined {
    const date = this.src.run(SQL.latestOutcomeDate, (st) => st.pluck().get() as string | null);
    if (!date) return undefined;
    const versions = this.src.run(SQL.outcomeVersionsOfDate, (st) => st.pluck().all(date) as string[]) ?? [];
    const run = this.completedRun(date);
    const modelVersion = run?.model_version && versions.includes(run.model_version) ? run.model_version : versions[0];
    if (modelVersion === undefined) return undefined;
    const dates = this.src.run(SQL.latestOutcomeDates, (st) => st.pluck().all(modelVersion, date, window) as string[]) ?? [];
    return { date, modelVersion, dates };
  }

  /** The first k of a date's ranking (probability descending, bse_code) that have a recorded outcome, with it. */
  topOutcomes(date: IsoDate, modelVersion: string, k: number): OutcomeRow[] {
    return this.src.run(SQL.topOutcomes, (st) => st.all(modelVersion, date, k) as OutcomeRow[]) ?? [];
  }

  /**
   * A model version's judged rows from `from` to `to`, summed per calibration bin: `bins` bins of
   * width 1/bins, (lower, upper], the first including 0 (calibrationTable's rule in src/model/train/metrics.ts),
   * so that the scorecard's calibration never reads the rows themselves. Only non-empty bins, by bin.
   */
  calibrationSums(modelVersion: string, from: IsoDate, to: IsoDate, bins: number): { bin: number; rows: number; sum_p: number; hits: number }[] {
    // The bin is the number of inner edges the probability is above (edges as calibrationTable computes them).
    const bin = Array.from({ length: bins - 1 }, (_, k) => `(probability > ${String((k + 1) * (1 / bins))})`).join(' + ') || '0';
    const sql = `SELECT ${bin} AS bin, count(*) AS rows, sum(probability) AS sum_p, sum(hit) AS hits FROM prediction_outcomes
      WHERE model_version = ? AND prediction_date >= ? AND prediction_date <= ? GROUP BY 1 ORDER BY 1`;
    return (this.src.run(sql, (st) => st.all(modelVersion, from, to)) ?? []) as { bin: number; rows: number; sum_p: number; hits: number }[];
  }

  /** A date's number of recorded outcomes of one model version, and of hits among them. */
  outcomeCounts(date: IsoDate, modelVersion: string): { rows: number; hits: number } {
    return this.src.run(SQL.outcomeCounts, (st) => st.get(modelVersion, date) as { rows: number; hits: number }) ?? { rows: 0, hits: 0 };
  }

  /** Runs a read of the tables of migration 007; undefined when the database predates it (read-only, not migrated). */
  private since007<T>(fn: () => T | undefined): T | undefined {
    try {
      return fn();
    } catch (e) {
      if (/no such table/.test((e as Error).message)) return undefined;
      throw e;
    }
  }

  /** A run's stored drift (docs/monitoring.md), if it compared its rows with a reference. */
  driftOfRun(runId: string): StoredDrift | undefined {
    return this.since007(() => {
      const r = this.src.run(SQL.driftRun, (st) => st.get(runId)) as Record<string, unknown> | undefined;
      if (!r) return undefined;
      const subjects = (this.src.run(SQL.driftSubjects, (st) => st.all(runId)) ?? []) as Record<string, unknown>[];
      const rows: DriftSubjectRow[] = subjects.map((x) => ({
        name: x.subject as string,
        kind: x.kind as DriftSubjectRow['kind'],
        psi: x.psi as number,
        level: x.level as DriftSubjectRow['level'],
        bins: JSON.parse(x.bins as string) as DriftSubjectRow['bins'],
        missing_expected: x.missing_expected as number,
        missing_actual: x.missing_actual as number,
      }));
      const score = rows.find((x) => x.kind === 'score');
      if (!score) return undefined;
      return {
        run_id: runId,
        prediction_date: r.prediction_date as string,
        model_name: r.model_name as string,
        model_version: r.model_version as string,
        reference_source: r.reference_source as StoredDrift['reference_source'],
        reference_rows: r.reference_rows as number,
        reference_from: r.reference_from as string | null,
        reference_to: r.reference_to as string | null,
        rows: r.rows as number,
        thresholds: { moderate: r.psi_moderate as number, significant: r.psi_significant as number },
        floor: r.psi_floor as number,
        features: rows.filter((x) => x.kind === 'feature'),
        score,
        recorded_at: r.recorded_at as string,
      };
    });
  }

  /** The drift of a date's completed run (of the latest date with a completed run when no date is given). */
  driftOfDate(date?: IsoDate): { run?: BatchRunRow; drift?: StoredDrift } {
    const run = date === undefined ? this.latestCompletedRun() : this.completedRun(date);
    return run ? { run, drift: this.driftOfRun(run.run_id) } : {};
  }

  /** A challenger's record for a date (challenger_runs). */
  challengerRun(date: IsoDate, modelVersion: string): ChallengerRunRow | undefined {
    return this.since007(() => {
      const r = this.src.run(SQL.challengerRun, (st) => st.get(date, modelVersion)) as (Omit<ChallengerRunRow, 'comparison'> & { comparison: string | null }) | undefined;
      return r ? { ...r, comparison: r.comparison === null ? null : JSON.parse(r.comparison) } : undefined;
    });
  }

  /** The challengers recorded for a date, latest first. */
  challengersOfDate(date: IsoDate): ChallengerRunRow[] {
    return (
      this.since007(() =>
        ((this.src.run(SQL.challengersOfDate, (st) => st.all(date)) ?? []) as (Omit<ChallengerRunRow, 'comparison'> & { comparison: string | null })[]).map((r) => ({
          ...r,
          comparison: r.comparison === null ? null : JSON.parse(r.comparison),
        })),
      ) ?? []
    );
  }

  /**
   * The run whose rows of `modelVersion` answer for `date` (`?model=`): the date's completed run of that
   * version, else the batch run that scored it as the challenger. Undefined when the version has no rows that date.
   */
  modelRun(date: IsoDate, modelVersion: string): RunKey | undefined {
    const run = this.src.run(SQL.modelRun, (st) => st.get(date, modelVersion) as BatchRunRow | undefined);
    if (run) return run;
    const c = this.challengerRun(date, modelVersion);
    return c ? { run_id: c.run_id, prediction_date: c.prediction_date, as_of_session: c.as_of_session, model_version: c.model_version, model_type: c.model_type } : undefined;
  }

  /** The latest date with rows of a model version (a completed run of it, or it as the challenger). */
  latestModelDate(modelVersion: string): IsoDate | undefined {
    const q = (sql: string, ...p: string[]): string | undefined => this.src.run(sql, (st) => (st.pluck().get(...p) as string | null) ?? undefined);
    return (
      this.since007(() => q(SQL.latestModelDate, modelVersion, modelVersion)) ??
      q(`SELECT max(prediction_date) FROM batch_runs WHERE ${COMPLETED} AND model_version = ?`, modelVersion)
    );
  }

  // ---- writes ------------------------------------------------------------

  /** Stores a run's drift (replacing any stored for the run). */
  recordDrift(runId: string, date: IsoDate, d: DriftInput): void {
    const db = this.writable();
    const insRun = db.prepare(
      `INSERT OR REPLACE INTO drift_runs (run_id, prediction_date, model_name, model_version, reference_source, reference_rows, reference_from, reference_to,
         rows, psi_moderate, psi_significant, psi_floor, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const del = db.prepare('DELETE FROM drift_subjects WHERE run_id = ?');
    const ins = db.prepare(
      'INSERT INTO drift_subjects (run_id, subject, kind, position, psi, level, missing_expected, missing_actual, bins) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    db.transaction(() => {
      insRun.run(runId, date, d.model_name, d.model_version, d.reference_source, d.reference_rows, d.reference_from, d.reference_to, d.rows,
        d.thresholds.moderate, d.thresholds.significant, d.floor, new Date().toISOString());
      del.run(runId);
      [...d.features, d.score].forEach((x, i) =>
        ins.run(runId, x.name, x.kind, i, x.psi, x.level, x.missing_expected, x.missing_actual, JSON.stringify(x.bins)),
      );
    }).immediate();
  }

  /**
   * Stores a challenger's rows of a date under its own model_version, and its record (challenger_runs),
   * in one transaction. Refuses (throws) when the version is the one the date's completed run published:
   * the champion's rows are never replaced by a challenger's.
   */
  recordChallenger(c: ChallengerInput): number {
    const db = this.writable();
    const champion = this.completedRun(c.date);
    if (champion?.model_version === c.modelVersion) throw new Error(`challenger ${c.modelName}/${c.modelVersion} has the version of ${c.date}'s published rows`);
    const delPred = db.prepare('DELETE FROM daily_predictions WHERE prediction_date = ? AND model_version = ?');
    const insPred = db.prepare(
      `INSERT INTO daily_predictions (bse_code, nse_symbol, company_name, prediction_date, predicted_label, probability, confidence, model_version, model_type, prediction_timestamp)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const delOutcomes = db.prepare('DELETE FROM prediction_outcomes WHERE model_version = ? AND prediction_date = ?');
    const insRun = db.prepare(
      `INSERT OR REPLACE INTO challenger_runs (prediction_date, model_version, model_name, model_type, model_sha256, as_of_session, run_id, champion_version, rows, comparison, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    db.transaction(() => {
      delPred.run(c.date, c.modelVersion);
      for (const p of c.predictions)
        insPred.run(p.bse_code, p.nse_symbol, p.company_name, c.date, p.label, round6(p.probability), p.confidence, c.modelVersion, c.modelType, c.timestamp);
      delOutcomes.run(c.modelVersion, c.date);
      insRun.run(c.date, c.modelVersion, c.modelName, c.modelType, c.sha256, c.asOf, c.runId, c.championVersion, c.predictions.length,
        c.comparison === undefined ? null : JSON.stringify(c.comparison), new Date().toISOString());
    }).immediate();
    return c.predictions.length;
  }

  startRun(r: RunStart): void {
    this.writable()
      .prepare(
        `INSERT INTO batch_runs (run_id, prediction_date, started_at, status, threads, scope, selection, published, pid, host)
         VALUES (?, ?, ?, 'running', ?, ?, ?, 0, ?, ?)`,
      )
      .run(r.runId, r.date, r.startedAt, r.threads, r.scope, r.selection ?? null, r.pid, r.host);
  }

  /** Records how a run ended without publishing (failed, interrupted, or a run whose outputs are kept aside). */
  finishRun(runId: string, f: RunFinish): void {
    this.updateFinish(this.writable(), runId, f, false);
  }

  /**
   * Publishes a run: replaces the date's rows for its model (and the date's
   * skips and feature rows) with `rows`, and marks the run finished and
   * published, in ONE transaction, so the run a reader finds for the date
   * always matches the rows it reads. (The batch publishes in steps with
   * {@link beginPublication}, the same statements in the same order.)
   */
  publishRun(rows: RunRows, f: RunFinish): PublishedCounts {
    const pub = this.beginPublication(rows);
    try {
      for (const _ of pub.baseRows()) void _;
      pub.explanationRows(rows.explanations);
      return pub.commit(f);
    } finally {
      pub.rollback();
    }
  }

  /**
   * A run's publication in steps, inside ONE transaction held open between them (BEGIN IMMEDIATE … COMMIT):
   * the rows that need no explanation first (Publication.baseRows, in slices the caller may interleave with
   * other work on this thread), then the explanation rows, then the run's finish and the commit; or a rollback,
   * after which the date's rows are as they were. Nothing else may write through this store until it ends.
   */
  beginPublication(rows: Omit<RunRows, 'explanations'>): Publication {
    return new Publication(this.writable(), rows, (db, runId, f) => this.updateFinish(db, runId, f, true));
  }

  /**
   * Records the realised outcome of every stored prediction of one (date, model
   * version): replaces the pair's rows in one transaction. Returns the rows written.
   */
  recordOutcomes(o: OutcomeInput): number {
    const db = this.writable();
    const del = db.prepare('DELETE FROM prediction_outcomes WHERE model_version = ? AND prediction_date = ?');
    const ins = db.prepare(
      `INSERT INTO prediction_outcomes (model_version, prediction_date, bse_code, probability, predicted_label, confidence, horizon_sessions, window_end, hit, hit_on, source, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const now = new Date().toISOString();
    // The rows are read inside the write transaction: the outcomes describe exactly the rows stored now.
    return db.transaction(() => {
      del.run(o.modelVersion, o.date);
      const rows = db.prepare(SQL.predictionsToJudge).raw(true).all(o.date, o.modelVersion) as [string, number, number, string | null][];
      for (const [code, probability, label, confidence] of rows) {
        const on = o.hits.get(code);
        ins.run(o.modelVersion, o.date, code, probability, label, confidence, o.horizon, o.windowEnd, on === undefined ? 0 : 1, on ?? null, o.source(code), now);
      }
      return rows.length;
    }).immediate();
  }

  private updateFinish(db: Db, runId: string, f: RunFinish, published: boolean): void {
    db.prepare(
      `UPDATE batch_runs SET finished_at = ?, status = ?, as_of_session = coalesce(?, as_of_session),
         model_name = coalesce(?, model_name), model_version = coalesce(?, model_version), model_type = coalesce(?, model_type),
         model_sha256 = coalesce(?, model_sha256), model_roc_auc = coalesce(?, model_roc_auc), feature_set_version = coalesce(?, feature_set_version),
         universe_count = coalesce(?, universe_count), processed_count = coalesce(?, processed_count), skipped_count = coalesce(?, skipped_count),
         predicted_uc_count = coalesce(?, predicted_uc_count), high_count = coalesce(?, high_count), medium_count = coalesce(?, medium_count),
         low_count = coalesce(?, low_count), stage_ms = coalesce(?, stage_ms), input_fingerprint = coalesce(?, input_fingerprint), error = ?,
         explanations = coalesce(?, explanations), published = ?
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
      f.explanations ?? null,
      published ? 1 : 0,
      runId,
    );
  }

  /** Sets the run's stage timings (the write stage is timed after the publishing commit). */
  recordStageMs(runId: string, stageMs: Record<string, number>): void {
    this.writable().prepare('UPDATE batch_runs SET stage_ms = ? WHERE run_id = ?').run(JSON.stringify(stageMs), runId);
  }

  /** Records one `stockflow data fetch` run (fetch_runs). */
  recordFetchRun(r: FetchRunRow): void {
    this.writable()
      .prepare(
        `INSERT OR REPLACE INTO fetch_runs (run_id, started_at, finished_at, first_session, last_session, status, fetched, present, missing, failed, holidays, bytes, import_status, exit_code, files_json)
         VALUES (@run_id, @started_at, @finished_at, @first_session, @last_session, @status, @fetched, @present, @missing, @failed, @holidays, @bytes, @import_status, @exit_code, @files_json)`,
      )
      .run(r);
  }

  /** Whether this data directory's fetches are recorded (a fetch_runs table with rows): the evening fetch is in use. */
  fetchInUse(): boolean {
    return this.hasFetchRuns() && this.src.run('SELECT 1 FROM fetch_runs LIMIT 1', (st) => st.get()) !== undefined;
  }

  /** The latest fetch run that asked for a session, or undefined. */
  lastFetchRunFor(session: IsoDate): FetchRunRow | undefined {
    if (!this.hasFetchRuns()) return undefined;
    return this.src.run('SELECT * FROM fetch_runs WHERE first_session <= ? AND last_session >= ? ORDER BY finished_at DESC, run_id DESC LIMIT 1', (st) =>
      st.get(session, session) as FetchRunRow | undefined,
    );
  }

  /**
   * The files the latest fetch of a session left missing or failed, as `name (status)`, with that run;
   * undefined when no fetch asked for the session.
   */
  fetchGapsFor(session: IsoDate): { run: FetchRunRow; files: string[] } | undefined {
    const run = this.lastFetchRunFor(session);
    if (!run) return undefined;
    let files: FetchFileOutcome[] = [];
    try {
      files = JSON.parse(run.files_json) as FetchFileOutcome[];
    } catch {
      files = [];
    }
    return {
      run,
      files: files.filter((f) => f.date === session && (f.status === 'missing' || f.status === 'failed')).map((f) => `${f.file.replace(/^.*[/\\]/, '')} (${f.status})`),
    };
  }

  /** The latest fetch run, or undefined. */
  lastFetchRun(): FetchRunRow | undefined {
    if (!this.hasFetchRuns()) return undefined;
    return this.src.run('SELECT * FROM fetch_runs ORDER BY finished_at DESC, run_id DESC LIMIT 1', (st) => st.get() as FetchRunRow | undefined);
  }

  private hasFetchRuns(): boolean {
    return this.src.run("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'fetch_runs'", (st) => st.get()) !== undefined;
  }

  recordNotifications(runId: string, outcomes: unknown): void {
    this.writable().prepare('UPDATE batch_runs SET notifications = ? WHERE run_id = ?').run(JSON.stringify(outcomes), runId);
  }

  /** Marks every `running` run whose process is gone (see runIsGone) as `interrupted`; returns their ids. */
  reconcileInterrupted(): string[] {
    const db = this.writable();
    const gone = (db.prepare(SQL.running).all() as BatchRunRow[]).filter((r) => runIsGone(r, this.dataDir));
    const upd = db.prepare(
      "UPDATE batch_runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?), error = coalesce(error, ?) WHERE run_id = ? AND status = 'running'",
    );
    db.transaction(() => {
      for (const r of gone) upd.run(new Date().toISOString(), `process ${r.pid} on ${r.host} ended without finishing the run`, r.run_id);
    })();
    return gone.map((r) => r.run_id);
  }
}


/** The rows a publication wrote. */
export interface PublishedCounts {
  predictions: number;
  skipped: number;
  features: number;
  explanations: number;
}

// The hot loops of Publication.baseRows, outside the generator (plain functions: V8 optimises them as such).
function predictionRows(ins: Statement, r: Omit<RunRows, 'explanations'>, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const p = r.predictions[i];
    ins.run(p.bse_code, p.nse_symbol, p.company_name, r.date, p.label, round6(p.probability), p.confidence, r.modelVersion, r.modelType, r.timestamp);
  }
}

function featureRows(ins: Statement, r: Omit<RunRows, 'explanations'>, order: Uint32Array, from: number, to: number, row: (number | string)[]): void {
  const { codes, values, imputed } = r.features;
  for (let q = from; q < to; q++) {
    const i = order[q];
    row[0] = codes[i];
    row[1] = r.date;
    row[2] = r.asOf;
    row[3] = r.featureSetVersion;
    for (let j = 0; j < N_FEATURES; j++) row[4 + j] = values[i * N_FEATURES + j];
    row[4 + N_FEATURES] = imputed[i];
    ins.run(row);
  }
}

/** Rows between two points where {@link Publication.baseRows} lets its caller in. */
export const PUBLICATION_SLICE_ROWS = 512;

/**
 * One run's publication, open (PredictionsStore.beginPublication): the statements of one transaction in
 * publishRun's order: daily_predictions (their ids in the rows' order), skipped_stocks, feature_values, the
 * deletes of the date's explanations, outcomes and challenger rows, then the explanation rows, then the
 * run's finish. Any step that throws rolls the transaction back before it rethrows; so does rollback(),
 * which does nothing once the publication has ended. A process killed meanwhile commits nothing (SQLite
 * discards an uncommitted transaction when the database is next opened).
 */
export class Publication {
  private open = true;
  private explained = 0;
  private featureOrder: Uint32Array | undefined;
  private stepping = false;
  constructor(
    private readonly db: Db,
    private readonly r: Omit<RunRows, 'explanations'>,
    private readonly finish: (db: Db, runId: string, f: RunFinish) => void,
  ) {
    db.exec('BEGIN IMMEDIATE');
  }

  /** Whether the transaction is still open (neither committed nor rolled back). */
  get active(): boolean {
    return this.open;
  }

  /**
   * Writes the rows that need no explanation, yielding after every `slice` rows (the transaction stays
   * open meanwhile): iterate it to the end before explanationRows. A throw rolls back.
   */
  *baseRows(slice = Number.POSITIVE_INFINITY): Generator<void, void, void> {
    this.check('baseRows');
    this.stepping = true;
    const { db, r } = this;
    try {
      const insPred = db.prepare(
        `INSERT INTO daily_predictions (bse_code, nse_symbol, company_name, prediction_date, predicted_label, probability, confidence, model_version, model_type, prediction_timestamp)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const insSkip = db.prepare('INSERT INTO skipped_stocks (prediction_date, bse_code, reason, detail, run_id) VALUES (?, ?, ?, ?, ?)');
      const insFeat = db.prepare(
        `INSERT INTO feature_values (bse_code, prediction_date, as_of_date, feature_set_version, ${FEATURE_NAMES.join(', ')}, imputed_count)
       VALUES (${new Array(N_FEATURES + 5).fill('?').join(', ')})`,
      );
      const step = Math.max(1, Math.min(slice, Number.MAX_SAFE_INTEGER));
      db.prepare('DELETE FROM daily_predictions WHERE prediction_date = ? AND model_version = ?').run(r.date, r.modelVersion);
      const P = r.predictions.length;
      for (let a = 0; a < P; a += step) {
        predictionRows(insPred, r, a, Math.min(P, a + step));
        if (a + step < P || r.features.codes.length > 0) {
          yield;
          this.check('baseRows');
        }
      }
      db.prepare('DELETE FROM skipped_stocks WHERE prediction_date = ?').run(r.date);
      for (const s of r.skipped) insSkip.run(r.date, s.bse_code, s.reason, s.detail, r.runId);
      db.prepare('DELETE FROM feature_values WHERE prediction_date = ? AND feature_set_version = ?').run(r.date, r.featureSetVersion);
      // feature_values, prediction_explanations and prediction_drivers are keyed by bse_code first: rows in code order
      // append to their B-trees, where the universe's order (market cap) would insert all over them (#16: at 110,000
      // stocks the write stage took 7.0 s of CPU time, 3.8 s in code order). Those tables have no rowid: the order is not stored.
      const featureOrder = byCode(r.features.codes);
      const row = new Array<number | string>(N_FEATURES + 5);
      const FN = featureOrder.length;
      for (let a = 0; a < FN; a += step) {
        featureRows(insFeat, r, featureOrder, a, Math.min(FN, a + step), row);
        if (a + step < FN) {
          yield;
          this.check('baseRows');
        }
      }
      // The date's explanations of this model are the run's (none when it could not explain: older ones are not kept beside new rows).
      db.prepare('DELETE FROM prediction_explanations WHERE prediction_date = ? AND model_version = ?').run(r.date, r.modelVersion);
      db.prepare('DELETE FROM prediction_drivers WHERE prediction_date = ? AND model_version = ?').run(r.date, r.modelVersion);
      // The date's outcomes of this model were of the rows just replaced: recorded again once known.
      db.prepare('DELETE FROM prediction_outcomes WHERE model_version = ? AND prediction_date = ?').run(r.modelVersion, r.date);
      // Its rows are now the date's published rows, no longer a challenger's (migration 007).
      db.prepare('DELETE FROM challenger_runs WHERE prediction_date = ? AND model_version = ?').run(r.date, r.modelVersion);
      this.featureOrder = featureOrder;
      this.stepping = false;
    } catch (e) {
      this.rollback();
      throw e;
    } finally {
      // Left before its end (the caller stopped iterating): the publication cannot go on.
      if (this.stepping) this.rollback();
    }
  }

  /** The run's explanations (prediction_explanations, prediction_drivers); undefined: none (the model could not be explained). A throw rolls back. */
  explanationRows(ex: ExplanationColumns | undefined): void {
    this.check('explanationRows');
    if (!this.featureOrder) throw this.fail(new Error('publication: explanationRows before baseRows ended'));
    if (ex === undefined) return;
    const { db, r } = this;
    try {
      const insExpl = db.prepare(
        'INSERT INTO prediction_explanations (bse_code, prediction_date, model_version, base_value, margin, run_id) VALUES (?, ?, ?, ?, ?, ?)',
      );
      const drivers = new RowBatcher(db, 'prediction_drivers (bse_code, prediction_date, model_version, rank, feature, feature_value, contribution)', 7);
      // Row i's drivers are slots i × k … i × k + k − 1 until a feature of −1.
      const order = ex.codes === r.features.codes ? this.featureOrder : byCode(ex.codes);
      for (const i of order) {
        const code = ex.codes[i];
        insExpl.run(code, r.date, r.modelVersion, ex.base, ex.margin[i], r.runId);
        for (let q = 0; q < ex.k; q++) {
          const at = i * ex.k + q;
          const f = ex.feature[at];
          if (f < 0) break;
          const v = ex.value[at];
          drivers.add(code, r.date, r.modelVersion, q + 1, FEATURE_NAMES[f], Number.isNaN(v) ? null : v, ex.contribution[at]);
        }
      }
      drivers.flush();
      this.explained = ex.codes.length;
    } catch (e) {
      throw this.fail(e);
    }
  }

  /** Records the run's finish (published = 1) and commits every row written: the run is the date's. A throw rolls back. */
  commit(f: RunFinish): PublishedCounts {
    this.check('commit');
    if (!this.featureOrder) throw this.fail(new Error('publication: commit before baseRows ended'));
    try {
      this.finish(this.db, this.r.runId, f);
      this.db.exec('COMMIT');
      this.open = false;
    } catch (e) {
      throw this.fail(e);
    }
    const r = this.r;
    return { predictions: r.predictions.length, skipped: r.skipped.length, features: r.features.codes.length, explanations: this.explained };
  }

  /** Discards every row written (the date's rows stay as they were); nothing once the publication has ended. */
  rollback(): void {
    if (!this.open) return;
    this.open = false;
    // SQLite may have rolled back already (some errors end the transaction themselves).
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  private check(step: string): void {
    if (!this.open) throw new Error(`publication: ${step} after the publication ended`);
  }

  private fail(e: unknown): unknown {
    this.rollback();
    return e;
  }
}
