/**
 * On-demand scoring: POST /predict, POST /batch_predict and
 * GET /features/{code}, with the batch's feature code over market.db (the
 * date contexts built in a worker thread, see DateContexts) and the
 * server's current model.
 */
import { performance } from 'node:perf_hooks';
import { FEATURE_NAMES, N_FEATURES } from '../../features/definition.js';
import type { DateContextResult } from '../../features/date-context.js';
import { OnlineFeatures, type FeatureRow } from '../../features/online.js';
import { MAX_STALENESS_DAYS, staleDays } from '../../market/staleness.js';
import { isIsoDate, type IsoDate } from '../../market/dates.js';
import type { Stock } from '../../market/types.js';
import { MarketStore } from '../../market/store.js';
import { predictionOf } from '../../model/confidence.js';
import type { LoadedModel } from '../../model/loader.js';
import { scoreRows } from '../../model/score.js';
import { f32 } from '../../util/format.js';
import { DateContexts, type DateBuildLimits } from '../date-contexts.js';
import type { Explanation } from '../../model/explain/index.js';
import { explainRows, shapFields } from './explain.js';
import { ApiError } from '../errors.js';
import type { BatchItemPredictionT, BatchItemResultT, FeatureRowResponseT, FeatureValuesT, PredictRequestT } from '../schemas.js';
import type { ServerSources } from './sources.js';

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

/** How long the batch extraction runs before letting other requests in. */
const YIELD_EVERY_MS = 10;

export interface ScoringOptions {
  dataDir: string;
  marketFile: string;
  /** Stocks kept in the on-demand feature cache (default 1,000). */
  featureCacheSize?: number;
  /** Bounds on on-demand date builds (see DateContexts). */
  dateLimits?: Partial<DateBuildLimits>;
}

export class OnDemandScoring {
  /** On-demand date contexts, built in a worker thread. */
  readonly dates: DateContexts;
  private online: { generation: number; features: OnlineFeatures } | undefined;
  /** Feature cache counters of earlier OnlineFeatures instances (market.db reopened). */
  private readonly featureStatsBase = { hits: 0, misses: 0, storeHits: 0 };

  constructor(
    private readonly s: ServerSources,
    private readonly o: ScoringOptions,
  ) {
    this.dates = new DateContexts({ marketFile: o.marketFile, generation: () => this.s.market.generation, limits: o.dateLimits, log: s.log });
  }

  /** The on-demand feature store over the current market.db handle. */
  private features(): OnlineFeatures {
    const db = this.s.market.get();
    if (!db) throw new ApiError('DATA_UNAVAILABLE', `market data is not available: ${this.s.market.error ?? 'market.db cannot be opened'}`);
    if (!this.online || this.online.generation !== this.s.market.generation) {
      if (this.online) {
        this.featureStatsBase.hits += this.online.features.stats.hits;
        this.featureStatsBase.misses += this.online.features.stats.misses;
        this.featureStatsBase.storeHits += this.online.features.stats.storeHits;
      }
      this.online = {
        generation: this.s.market.generation,
        features: new OnlineFeatures(db, this.s.predictions.featureReader(), this.o.featureCacheSize ?? 1000),
      };
    }
    return this.online.features;
  }

  featureStats(): { hits: number; misses: number; storeHits: number } {
    const s = this.online?.features.stats ?? { hits: 0, misses: 0, storeHits: 0 };
    return { hits: this.featureStatsBase.hits + s.hits, misses: this.featureStatsBase.misses + s.misses, storeHits: this.featureStatsBase.storeHits + s.storeHits };
  }

  /**
   * The date contexts the requests need (built in the worker when new; the
   * bounds there answer 400/429/503 for the whole request).
   */
  private async contextsFor(reqs: readonly PredictRequestT[], client: string): Promise<Map<IsoDate, DateContextResult>> {
    const dates = reqs.filter((r) => isIsoDate(r.prediction_date)).map((r) => r.prediction_date);
    if (dates.length === 0) return new Map();
    this.features();
    return this.dates.ensure(dates, client);
  }

  /** Features for one request, or the error that request answers with. Throws only for whole-request failures (503). */
  private prepare(req: PredictRequestT, contexts: Map<IsoDate, DateContextResult>): Outcome {
    const code = req.bse_code;
    const fail = (error: ApiError): Outcome => ({ ok: false, error });
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
      if (s.reason === 'NO_PRICE_BAND') {
        const msg = `stock ${code} has no fixed price band in force for ${date} (NSE 'No Band'): it cannot hit a circuit, so it is not scored`;
        return fail(new ApiError('FEATURE_EXTRACTION_FAILED', msg, { bseCode: code, reason: s.reason }));
      }
      return fail(new ApiError('FEATURE_EXTRACTION_FAILED', `features for ${code} on ${date} could not be extracted: ${s.detail}`, { bseCode: code, reason: s.reason }));
    }
    const row = found.row;
    if (row.source === 'computed') {
      const age = staleDays(row.asOf, date);
      if (age !== undefined) {
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
    const rule = predictionOf(probability);
    const out: BatchItemPredictionT = {
      bse_code: p.stock.bse_code,
      nse_symbol: p.stock.nse_symbol,
      company_name: p.stock.company_name,
      prediction_date: p.row.date,
      as_of_session: p.row.asOf,
      predicted_label: rule.label,
      probability: rule.probability,
      confidence: rule.confidence,
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
    return this.s.withModel(async (model) => {
      const probs = await scoreRows(model, prep.value.row.values, 1, 1);
      const out = this.prediction(prep.value, probs[0], model, new Date().toISOString(), req.include_features === true);
      if (req.include_shap === true) Object.assign(out, shapFields(explainRows(this.s, model, prep.value.row.values, 1, req.bse_code), 0));
      return out;
    });
  }

  /** POST /batch_predict: every request prepared, the good ones scored together in one model run. */
  async predictMany(reqs: readonly PredictRequestT[], client: string): Promise<{ results: BatchItemResultT[]; modelVersion: string | null }> {
    const contexts = await this.contextsFor(reqs, client);
    // One stock's extraction takes about a millisecond; a batch of 100 yields to the event loop every few, so other requests are not held up behind it.
    const outcomes: Outcome[] = [];
    let t0 = performance.now();
    for (const r of reqs) {
      outcomes.push(this.prepare(r, contexts));
      if (performance.now() - t0 > YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        t0 = performance.now();
      }
    }
    const good: number[] = [];
    outcomes.forEach((o, i) => o.ok && good.push(i));
    const results: BatchItemResultT[] = outcomes.map((o, index) =>
      o.ok
        ? { index, status: 200 }
        : { index, status: o.error.status, error: { error: o.error.code, message: o.error.message, ...(o.error.bseCode ? { bse_code: o.error.bseCode } : {}), ...(o.error.reason ? { reason: o.error.reason } : {}) } },
    );
    if (good.length === 0) return { results, modelVersion: null };
    return this.s.withModel(async (model) => {
      const X = new Float32Array(good.length * N_FEATURES);
      good.forEach((i, k) => X.set((outcomes[i] as { value: Prepared }).value.row.values, k * N_FEATURES));
      const probs = await scoreRows(model, X, good.length, good.length);
      const timestamp = new Date().toISOString();
      // include_shap items: explained together; a model that cannot be explained fails just those items (422).
      const shapAt = good.map((i, k) => (reqs[i].include_shap === true ? k : -1)).filter((k) => k >= 0);
      let explained: { rows: Map<number, number>; e: Explanation } | ApiError | undefined;
      if (shapAt.length > 0) {
        const Xs = new Float32Array(shapAt.length * N_FEATURES);
        shapAt.forEach((k, m) => Xs.set(X.subarray(k * N_FEATURES, (k + 1) * N_FEATURES), m * N_FEATURES));
        try {
          explained = { rows: new Map(shapAt.map((k, m) => [k, m])), e: explainRows(this.s, model, Xs, shapAt.length) };
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          explained = e;
        }
      }
      good.forEach((i, k) => {
        const p = this.prediction((outcomes[i] as { value: Prepared }).value, probs[k], model, timestamp, reqs[i].include_features === true);
        if (reqs[i].include_shap === true && explained instanceof ApiError) {
          const code = reqs[i].bse_code;
          results[i] = { index: i, status: explained.status, error: { error: explained.code, message: explained.message, bse_code: code } };
          return;
        }
        if (reqs[i].include_shap === true && explained && !(explained instanceof ApiError)) Object.assign(p, shapFields(explained.e, explained.rows.get(k)!));
        results[i].prediction = p;
      });
      return { results, modelVersion: model.meta.version };
    });
  }

  /**
   * The next prediction date by the market store's one rule: the trading
   * session after market.db's last session (a Friday's is the next Monday that
   * is not a holiday), or undefined for a market without prices.
   */
  private nextPredictionDate(): IsoDate | undefined {
    this.features();
    const db = this.s.market.get();
    return db ? new MarketStore(db, this.s.marketFile).nextPredictionDate() : undefined;
  }

  /** The default date of /features: the latest completed run's, else the next prediction date after market.db's last session. */
  private defaultFeatureDate(): IsoDate {
    const run = this.s.predictions.latestRun();
    if (run) return run.prediction_date;
    const next = this.nextPredictionDate();
    if (!next) throw new ApiError('DATA_UNAVAILABLE', 'market.db has no prices');
    return next;
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

  /**
   * Prepares (in the worker) what the first on-demand request of a date
   * would otherwise wait for: the latest run's date, the morning after the
   * last session, and `extra` dates. Not bound by the per-request and
   * per-client limits. Never throws.
   */
  async warmUp(extra: readonly IsoDate[] = []): Promise<IsoDate[]> {
    try {
      const next = this.nextPredictionDate();
      const dates = new Set<IsoDate>();
      const run = this.s.predictions.latestRun();
      if (run) dates.add(run.prediction_date);
      if (next) dates.add(next);
      for (const d of extra) dates.add(d);
      const built = await this.dates.ensure(dates, 'warm-up', { unlimited: true });
      return [...built].filter(([, r]) => r.ok).map(([d]) => d);
    } catch (e) {
      this.s.log.warn({ err: (e as Error).message }, 'warm-up failed');
      return [];
    }
  }

  async close(): Promise<void> {
    await this.dates.close();
    this.online = undefined;
  }
}
