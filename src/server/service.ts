/**
 * The prediction service behind the routes: stored predictions and feature
 * rows from predictions.db, on-demand scoring over market.db with the batch's
 * feature code and model, health, and the model registry. Handlers turn its
 * ApiErrors into the common error body.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { marketDbPath, predictionsDbPath } from '../config.js';
import { isStockflowError } from '../errors.js';
import type { Logger } from '../log.js';
import { addDays, daysBetween, isIsoDate, type IsoDate } from '../market/dates.js';
import { openMarketReadonly, type Db } from '../market/db.js';
import type { Stock } from '../market/types.js';
import { FEATURE_NAMES, N_FEATURES } from '../features/definition.js';
import { OnlineFeatures, type FeatureRow } from '../features/online.js';
import { MAX_STALENESS_DAYS } from '../batch/plan.js';
import { confidenceOf, labelOf } from '../model/confidence.js';
import { roundProbability } from '../output/csv.js';
import type { LoadedModel, ModelLoader } from '../model/loader.js';
import { listModels, readAliases } from '../model/registry.js';
import { MODEL_FILE } from '../model/metadata.js';
import { scoreRows } from '../model/score.js';
import { ApiError, hidePaths } from './errors.js';
import { LazyDb, cacheStatements } from './data.js';
import { PredictionsReader, type RunRef } from './predictions.js';
import { DateContexts, type DateBuildLimits } from './date-contexts.js';
import type { DateContextResult } from '../features/date-context.js';
import type {
  BatchItemPredictionT,
  BatchItemResultT,
  FeatureRowResponseT,
  FeatureValuesT,
  HealthResponseT,
  ModelListResponseT,
  PredictRequestT,
  PredictionListQueryT,
  PredictionListT,
  ReloadResponseT,
  StoredPredictionT,
} from './schemas.js';
import { MAX_OFFSET, MAX_PAGE } from './schemas.js';

export interface ServiceOptions {
  dataDir: string;
  loader: ModelLoader;
  log: Logger;
  /** Stocks kept in the on-demand feature cache (default 1,000). */
  featureCacheSize?: number;
  /** How long a failed model load is remembered before trying again (default 5 s; reload always tries). */
  modelRetryMs?: number;
  /** How often the database files are checked for replacement (default 2 s). */
  fileCheckMs?: number;
  /** Bounds on on-demand date builds (see DateContexts). */
  dateLimits?: Partial<DateBuildLimits>;
}

/** Request counters for /health (the Prometheus metrics keep their own). */
export interface TrafficStats {
  requests: number;
  totalMs: number;
  errors5xx: number;
}

/** The shortest decimal that reads back as the same float32 (0.1 instead of 0.10000000149011612). */
export function f32(v: number): number {
  if (!Number.isFinite(v)) return v;
  for (let p = 1; p <= 9; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return s;
  }
  return v;
}

/** A numeric query parameter must be a whole number within bounds: else 400, never a database error. */
function checkInt(name: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new ApiError('INVALID_REQUEST', `query field '${name}' must be a whole number from ${min} to ${max}`);
  }
}

export function featureMap(values: Float32Array, offset = 0): FeatureValuesT {
  const out: Record<string, number> = {};
  for (let i = 0; i < N_FEATURES; i++) out[FEATURE_NAMES[i]] = f32(values[offset + i]);
  return out as FeatureValuesT;
}

interface Prepared {
  stock: Stock;
  row: FeatureRow;
}

type Outcome = { ok: true; value: Prepared } | { ok: false; error: ApiError };

const openPredictions = (file: string): Db => {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return cacheStatements(db);
};

export class PredictionService {
  readonly market: LazyDb;
  readonly predictionsDb: LazyDb;
  readonly predictions: PredictionsReader;
  readonly loader: ModelLoader;
  /** On-demand date contexts, built in a worker thread. */
  readonly dates: DateContexts;
  readonly traffic: TrafficStats = { requests: 0, totalMs: 0, errors5xx: 0 };
  private readonly log: Logger;
  private readonly startedAt = performance.now();
  private online: { generation: number; features: OnlineFeatures } | undefined;
  private modelFailure: { at: number; message: string } | undefined;
  /** Feature cache counters of earlier OnlineFeatures instances (market.db reopened). */
  private readonly featureStatsBase = { hits: 0, misses: 0, storeHits: 0 };

  constructor(private readonly o: ServiceOptions) {
    this.log = o.log;
    this.loader = o.loader;
    this.market = new LazyDb({ file: marketDbPath(o.dataDir), open: (f) => cacheStatements(openMarketReadonly(f)), log: o.log, what: 'market.db', checkMs: o.fileCheckMs });
    this.predictionsDb = new LazyDb({ file: predictionsDbPath(o.dataDir), open: openPredictions, log: o.log, what: 'predictions.db', checkMs: o.fileCheckMs });
    this.predictions = new PredictionsReader(this.predictionsDb);
    this.dates = new DateContexts({ marketFile: marketDbPath(o.dataDir), generation: () => this.market.generation, limits: o.dateLimits, log: o.log });
  }

  // ---------------------------------------------------------------- sources

  /** The on-demand feature store over the current market.db handle. */
  private features(): OnlineFeatures {
    const db = this.market.get();
    if (!db) throw new ApiError('DATA_UNAVAILABLE', `market data is not available: ${this.market.error ?? 'market.db cannot be opened'}`);
    if (!this.online || this.online.generation !== this.market.generation) {
      if (this.online) {
        this.featureStatsBase.hits += this.online.features.stats.hits;
        this.featureStatsBase.misses += this.online.features.stats.misses;
        this.featureStatsBase.storeHits += this.online.features.stats.storeHits;
      }
      this.online = {
        generation: this.market.generation,
        features: new OnlineFeatures(db, () => (this.predictions.usable() ? this.predictionsDb.get() : undefined), this.o.featureCacheSize ?? 1000),
      };
    }
    return this.online.features;
  }

  featureStats(): { hits: number; misses: number; storeHits: number } {
    const s = this.online?.features.stats ?? { hits: 0, misses: 0, storeHits: 0 };
    return { hits: this.featureStatsBase.hits + s.hits, misses: this.featureStatsBase.misses + s.misses, storeHits: this.featureStatsBase.storeHits + s.storeHits };
  }

  /** Runs `fn` on the current model (held until it finishes, so a reload cannot release it underneath). */
  private async withModel<T>(fn: (m: LoadedModel) => Promise<T>): Promise<T> {
    const retryMs = this.o.modelRetryMs ?? 5000;
    if (this.modelFailure && Date.now() - this.modelFailure.at < retryMs && this.loader.stats().current === null) {
      throw new ApiError('MODEL_UNAVAILABLE', this.modelFailure.message);
    }
    let lease;
    try {
      lease = await this.loader.acquire();
    } catch (e) {
      if (isStockflowError(e) && e.kind === 'NO_MODEL') {
        this.modelFailure = { at: Date.now(), message: e.message };
        throw new ApiError('MODEL_UNAVAILABLE', e.message);
      }
      throw e;
    }
    this.modelFailure = undefined;
    try {
      return await fn(lease.model);
    } finally {
      lease.release();
    }
  }

  // ---------------------------------------------------------------- on-demand scoring

  /**
   * The date contexts the requests need (built in the worker when new; the
   * bounds there answer 400/429/503 for the whole request).
   */
  private async contextsFor(reqs: readonly PredictRequestT[], client: string): Promise<Map<IsoDate, DateContextResult>> {
    const dates = reqs.filter((r) => r.include_shap !== true && isIsoDate(r.prediction_date)).map((r) => r.prediction_date);
    if (dates.length === 0) return new Map();
    this.features();
    return this.dates.ensure(dates, client);
  }

  /** Features for one request, or the error that request answers with. Throws only for whole-request failures (503). */
  private prepare(req: PredictRequestT, contexts: Map<IsoDate, DateContextResult>): Outcome {
    const code = req.bse_code;
    const fail = (error: ApiError): Outcome => ({ ok: false, error });
    if (req.include_shap === true) {
      return fail(new ApiError('NOT_IMPLEMENTED', 'SHAP explanations are not implemented yet: send include_shap false (or leave it out)', { bseCode: code }));
    }
    const date = req.prediction_date;
    if (!isIsoDate(date)) return fail(new ApiError('INVALID_REQUEST', `prediction_date '${date}' is not a real calendar date in YYYY-MM-DD form`, { bseCode: code }));
    const features = this.features();
    const dc = contexts.get(date);
    if (!dc) throw new Error(`date context for ${date} was not prepared`);
    // No session at all before the date.
    if (!dc.ok) return fail(new ApiError('FEATURE_EXTRACTION_FAILED', dc.message, { bseCode: code, reason: 'NO_PRICE_DATA' }));
    const found = features.get(code, date, dc.value);
    if (found.stock && req.nse_symbol !== undefined && (found.stock.nse_symbol ?? '').toUpperCase() !== req.nse_symbol.toUpperCase()) {
      const actual = found.stock.nse_symbol === null ? 'has no NSE symbol' : `is ${found.stock.nse_symbol}`;
      return fail(new ApiError('INVALID_REQUEST', `nse_symbol '${req.nse_symbol}' does not match BSE code ${code}, whose NSE symbol ${actual}`, { bseCode: code }));
    }
    if (!found.ok) {
      const s = found.skip;
      if (s.reason === 'UNKNOWN_STOCK') return fail(new ApiError('STOCK_NOT_FOUND', `stock ${code} is not in the master list`, { bseCode: code }));
      return fail(new ApiError('FEATURE_EXTRACTION_FAILED', `features for ${code} on ${date} could not be extracted: ${s.detail}`, { bseCode: code, reason: s.reason }));
    }
    const row = found.row;
    if (row.source === 'computed') {
      const age = daysBetween(row.asOf, date);
      if (age > MAX_STALENESS_DAYS) {
        return fail(
          new ApiError(
            'FEATURE_EXTRACTION_FAILED',
            `stale data: the last session before ${date} is ${row.asOf}, ${age} days earlier (limit ${MAX_STALENESS_DAYS})`,
            { bseCode: code, reason: 'STALE_DATA' },
          ),
        );
      }
    }
    return { ok: true, value: { stock: found.stock, row } };
  }

  private prediction(p: Prepared, probability: number, model: LoadedModel, timestamp: string, withFeatures: boolean): BatchItemPredictionT {
    const prob = roundProbability(probability);
    const out: BatchItemPredictionT = {
      bse_code: p.stock.bse_code,
      nse_symbol: p.stock.nse_symbol,
      company_name: p.stock.company_name,
      prediction_date: p.row.date,
      as_of_session: p.row.asOf,
      predicted_label: labelOf(prob),
      probability: prob,
      confidence: confidenceOf(prob),
      model_name: model.meta.name,
      model_version: model.meta.version,
      model_type: model.meta.model_type,
      prediction_timestamp: timestamp,
      feature_source: p.row.source,
    };
    if (withFeatures) out.features = featureMap(p.row.values);
    return out;
  }

  /** POST /predict: extract and score one stock now. */
  async predictOne(req: PredictRequestT, client: string): Promise<BatchItemPredictionT> {
    const prep = this.prepare(req, await this.contextsFor([req], client));
    if (!prep.ok) throw prep.error;
    return this.withModel(async (model) => {
      const probs = await scoreRows(model, prep.value.row.values, 1, 1);
      return this.prediction(prep.value, probs[0], model, new Date().toISOString(), req.include_features === true);
    });
  }

  /** POST /batch_predict: every request prepared, the good ones scored together in one model run. */
  async predictMany(reqs: readonly PredictRequestT[], client: string): Promise<{ results: BatchItemResultT[]; modelVersion: string | null }> {
    const contexts = await this.contextsFor(reqs, client);
    const outcomes = reqs.map((r) => this.prepare(r, contexts));
    const good: number[] = [];
    outcomes.forEach((o, i) => o.ok && good.push(i));
    const results: BatchItemResultT[] = outcomes.map((o, index) =>
      o.ok
        ? { index, status: 200 }
        : { index, status: o.error.status, error: { error: o.error.code, message: o.error.message, ...(o.error.bseCode ? { bse_code: o.error.bseCode } : {}), ...(o.error.reason ? { reason: o.error.reason } : {}) } },
    );
    if (good.length === 0) return { results, modelVersion: null };
    return this.withModel(async (model) => {
      const X = new Float32Array(good.length * N_FEATURES);
      good.forEach((i, k) => X.set((outcomes[i] as { value: Prepared }).value.row.values, k * N_FEATURES));
      const probs = await scoreRows(model, X, good.length, good.length);
      const timestamp = new Date().toISOString();
      good.forEach((i, k) => {
        results[i].prediction = this.prediction((outcomes[i] as { value: Prepared }).value, probs[k], model, timestamp, reqs[i].include_features === true);
      });
      return { results, modelVersion: model.meta.version };
    });
  }

  // ---------------------------------------------------------------- stored rows

  private noPredictions(): ApiError {
    if (!this.predictionsDb.get()) return new ApiError('PREDICTION_NOT_FOUND', 'no predictions yet: predictions.db does not exist (run stockflow batch)');
    return new ApiError('PREDICTION_NOT_FOUND', 'no batch run has succeeded yet, so there is no latest prediction date: give ?date=');
  }

  private runFor(date: IsoDate | undefined): RunRef {
    if (date !== undefined && !isIsoDate(date)) throw new ApiError('INVALID_REQUEST', `date '${date}' is not a real calendar date in YYYY-MM-DD form`);
    const run = date === undefined ? this.predictions.latestRun() : this.predictions.runFor(date);
    if (run) return run;
    if (date === undefined) throw this.noPredictions();
    throw new ApiError('PREDICTION_NOT_FOUND', `no predictions for ${date}`);
  }

  private stockExists(code: string): boolean | undefined {
    const db = this.market.get();
    if (!db) return undefined;
    return this.market.run('SELECT 1 FROM master_stock_list WHERE bse_code = ?', (st) => st.get(code) !== undefined);
  }

  /** GET /predictions/{code}: the stored prediction (latest succeeded date by default). */
  storedPrediction(code: string, date?: IsoDate): StoredPredictionT {
    let run: RunRef;
    if (date === undefined) {
      const latest = this.predictions.latestPrediction(code);
      if (latest.row) return latest.row;
      if (!latest.run) throw this.noPredictions();
      run = latest.run;
    } else {
      run = this.runFor(date);
      const row = this.predictions.prediction(code, run);
      if (row) return row;
    }
    const skip = this.predictions.skipped(code, run.prediction_date);
    if (skip) {
      throw new ApiError('PREDICTION_NOT_FOUND', `${code} was not scored on ${run.prediction_date}: ${skip.reason}${skip.detail ? ` (${skip.detail})` : ''}`, {
        bseCode: code,
        reason: skip.reason,
      });
    }
    if (this.stockExists(code) === false) throw new ApiError('STOCK_NOT_FOUND', `stock ${code} is not in the master list`, { bseCode: code });
    throw new ApiError('PREDICTION_NOT_FOUND', `no prediction for ${code} on ${run.prediction_date}`, { bseCode: code });
  }

  /** GET /predictions: one page of a date's ranking. */
  list(q: PredictionListQueryT): PredictionListT {
    // The schema bounds these; this also catches what its coercion lets through ('1e400' as Infinity).
    checkInt('limit', q.limit, 1, MAX_PAGE);
    checkInt('offset', q.offset, 0, MAX_OFFSET);
    if (q.label !== undefined) checkInt('label', q.label, 0, 1);
    const run = this.runFor(q.date);
    const { total, items } = this.predictions.list(run, { confidence: q.confidence, label: q.label, limit: q.limit, offset: q.offset });
    return {
      prediction_date: run.prediction_date,
      as_of_session: run.as_of_session,
      model_version: run.model_version,
      model_type: run.model_type,
      run_id: run.run_id,
      total,
      limit: q.limit,
      offset: q.offset,
      items,
    };
  }

  /** The default date of /features: the latest succeeded run's, else the morning after the last session in market.db. */
  private defaultFeatureDate(): IsoDate {
    const run = this.predictions.latestRun();
    if (run) return run.prediction_date;
    this.features();
    const last = this.market.run('SELECT max(trade_date) AS d FROM daily_prices', (st) => (st.get() as { d: string | null }).d);
    if (!last) throw new ApiError('DATA_UNAVAILABLE', 'market.db has no prices');
    return addDays(last, 1);
  }

  /** GET /features/{code}: the stored feature row, or computed now. */
  async featureRow(code: string, date: IsoDate | undefined, client: string): Promise<FeatureRowResponseT> {
    const d = date ?? this.defaultFeatureDate();
    const req = { bse_code: code, prediction_date: d };
    const prep = this.prepare(req, await this.contextsFor([req], client));
    if (!prep.ok) throw prep.error;
    const r = prep.value.row;
    return {
      bse_code: code,
      prediction_date: r.date,
      as_of_session: r.asOf,
      feature_set_version: r.featureSetVersion,
      source: r.source,
      imputed_count: r.imputed,
      features: featureMap(r.values),
    };
  }

  // ---------------------------------------------------------------- health and models

  async health(): Promise<{ healthy: boolean; body: HealthResponseT }> {
    let marketOk = false;
    try {
      marketOk = this.market.run('SELECT count(*) AS n FROM (SELECT 1 FROM master_stock_list LIMIT 1)', (st) => (st.get() as { n: number }).n >= 0) === true;
    } catch (e) {
      this.market.error = `market.db is not readable: ${(e as Error).message}`;
    }
    let model: LoadedModel | undefined;
    let modelError: string | null = null;
    try {
      await this.withModel(async (m) => {
        model = m;
      });
    } catch (e) {
      modelError = e instanceof ApiError ? e.message : 'model could not be loaded';
      if (!(e instanceof ApiError)) this.log.error({ err: e }, 'health: unexpected model error');
    }
    const predictionsOk = this.predictions.usable();
    const lastRun = predictionsOk ? this.predictions.lastRun() : null;
    const succeeded = predictionsOk && this.predictions.latestRun() !== undefined;
    const healthy = model !== undefined && marketOk;
    const t = this.traffic;
    const m = model as LoadedModel | undefined;
    return {
      healthy,
      body: {
        status: !healthy ? 'unhealthy' : predictionsOk && succeeded ? 'healthy' : 'degraded',
        timestamp: new Date().toISOString(),
        model_loaded: this.loader.stats().current !== null,
        model_name: m?.meta.name ?? null,
        model_version: m?.meta.version ?? null,
        model_type: m?.meta.model_type ?? null,
        model_error: modelError === null ? null : hidePaths(modelError),
        market_db: marketOk,
        market_error: marketOk ? null : hidePaths(this.market.error ?? 'market.db is not readable'),
        predictions_db: predictionsOk,
        uptime_seconds: Math.round((performance.now() - this.startedAt) / 10) / 100,
        requests_processed: t.requests,
        avg_latency_ms: t.requests > 0 ? Math.round((1000 * t.totalMs) / t.requests) / 1000 : 0,
        error_rate: t.requests > 0 ? Math.round((1e6 * t.errors5xx) / t.requests) / 1e6 : 0,
        last_batch_run: lastRun,
      },
    };
  }

  async models(): Promise<ModelListResponseT> {
    const modelsDir = this.loader.modelsDir;
    let aliases: { champion?: string; challenger?: string } = {};
    try {
      aliases = await readAliases(modelsDir);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'aliases.json unreadable');
    }
    const entries = await Promise.all(
      (await listModels(modelsDir, aliases)).map(async (e) => {
        if (e.problem !== undefined || !e.meta) return e;
        const problem = await this.checksumProblem(path.join(e.dir, MODEL_FILE), e.meta.sha256);
        return problem ? { ...e, problem } : e;
      }),
    );
    const stats = this.loader.stats();
    const open = new Set(stats.cachedRefs);
    return {
      serving: stats.current,
      champion: aliases.champion ?? null,
      challenger: aliases.challenger ?? null,
      models: entries.map((e) => ({
        name: e.name,
        version: e.version,
        ref: e.ref,
        model_type: e.meta?.model_type ?? null,
        feature_set_version: e.meta?.feature_set_version ?? null,
        created_at: e.meta?.created_at ?? null,
        trained_until: e.meta?.trained_until ?? null,
        sha256: e.meta?.sha256 ?? null,
        metrics: (e.meta?.metrics as Record<string, unknown> | undefined) ?? null,
        aliases: [...e.aliases],
        usable: e.problem === undefined,
        problem: e.problem === undefined ? null : hidePaths(e.problem),
        serving: e.ref === stats.current,
        loaded: open.has(e.ref) || e.ref === stats.current,
      })),
    };
  }

  /** model.onnx digests by path, size and mtime (so /models hashes each file once, off the event loop's critical path: streamed). */
  private readonly digests = new Map<string, { key: string; sha256: string }>();

  /** Why a model file does not match the sha256 its model.json records (undefined when it does). */
  private async checksumProblem(file: string, expected: string): Promise<string | undefined> {
    try {
      const s = await stat(file);
      const key = `${s.size}:${s.mtimeMs}:${s.ino}`;
      let d = this.digests.get(file);
      if (!d || d.key !== key) {
        const h = createHash('sha256');
        await pipeline(createReadStream(file), h);
        d = { key, sha256: h.digest('hex') };
        this.digests.set(file, d);
      }
      if (d.sha256 === expected) return undefined;
      return `sha256 mismatch: model.onnx is ${d.sha256.slice(0, 12)}…, model.json records ${expected.slice(0, 12)}… (file changed or damaged)`;
    } catch (e) {
      return `cannot read model.onnx: ${(e as Error).message}`;
    }
  }

  /** POST /models/reload: choose again and swap the new session in; the old one keeps serving until then (and on failure). */
  async reload(): Promise<ReloadResponseT> {
    const previous = this.loader.stats().current;
    let m: LoadedModel;
    try {
      m = await this.loader.reload();
    } catch (e) {
      if (isStockflowError(e) && e.kind === 'NO_MODEL') {
        const keeping = this.loader.stats().current;
        throw new ApiError('MODEL_UNAVAILABLE', `${e.message}${keeping ? `; still serving ${keeping}` : ''}`);
      }
      throw e;
    }
    this.modelFailure = undefined;
    this.log.info({ previous, current: m.ref }, 'model reloaded');
    return { previous, current: m.ref, model_type: m.meta.model_type, load_ms: Math.round(m.loadMs * 100) / 100, reloaded_at: new Date().toISOString() };
  }

  /**
   * Prepares (in the worker) what the first on-demand request of a date
   * would otherwise wait for: the latest run's date, the morning after the
   * last session, and `extra` dates. Not bound by the per-request and
   * per-client limits. Never throws.
   */
  async warmUp(extra: readonly IsoDate[] = []): Promise<IsoDate[]> {
    try {
      this.features();
      const last = this.market.run('SELECT max(trade_date) AS d FROM daily_prices', (st) => (st.get() as { d: string | null }).d);
      const dates = new Set<IsoDate>();
      const run = this.predictions.latestRun();
      if (run) dates.add(run.prediction_date);
      if (last) dates.add(addDays(last, 1));
      for (const d of extra) dates.add(d);
      const built = await this.dates.ensure(dates, 'warm-up', { unlimited: true });
      return [...built].filter(([, r]) => r.ok).map(([d]) => d);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'warm-up failed');
      return [];
    }
  }

  uptimeSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  async close(): Promise<void> {
    await this.dates.close();
    this.market.close();
    this.predictionsDb.close();
    this.online = undefined;
    await this.loader.close();
  }
}
