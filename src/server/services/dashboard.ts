/**
 * The reads behind the dashboard (web/): the dates with a completed run, a
 * date's whole ranking with the CSV's columns and each stock's sector, the
 * date's CSV file, a stock's closes with moving averages and upper-circuit
 * days, its feature row beside its sector's median, its prediction history
 * with outcomes, and the scorecard over time. Read-only, like every service.
 */
import { existsSync, readFileSync } from 'node:fs';
import { predictionsDir } from '../../config.js';
import { FEATURE_NAMES } from '../../features/definition.js';
import { isIsoDate, type IsoDate } from '../../market/dates.js';
import { closeHistory, lastSession, sectorCodes, stockByCode } from '../../market/reader.js';
import type { Db } from '../../market/db.js';
import { readScorecardHistory, type ScorecardHistoryT } from '../../model/scorecard-history.js';
import { outputPaths } from '../../output/csv.js';
import { ApiError } from '../errors.js';
import type { RunRef } from '../predictions.js';
import type { ServerSources } from './sources.js';

/** Sessions of closes a price history holds at most (and by default: about a year). */
export const MAX_PRICE_SESSIONS = 1000;
export const DEFAULT_PRICE_SESSIONS = 250;
/** Dates the date picker lists, and predictions a stock's history lists, at most. */
export const MAX_RUNS = 500;
export const MAX_HISTORY = 500;

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export class DashboardService {
  private history: { key: string; value: ScorecardHistoryT | undefined } | undefined;

  constructor(
    private readonly s: ServerSources,
    private readonly dataDir: string,
  ) {}

  private market(): Db {
    const db = this.s.market.get();
    if (!db) throw new ApiError('DATA_UNAVAILABLE', `market data is not available: ${this.s.market.error ?? 'market.db cannot be opened'}`);
    return db;
  }

  private run(date: IsoDate | undefined): RunRef {
    if (date !== undefined && !isIsoDate(date)) throw new ApiError('INVALID_REQUEST', `date '${date}' is not a real calendar date in YYYY-MM-DD form`);
    const run = date === undefined ? this.s.predictions.latestRun() : this.s.predictions.runFor(date);
    if (run) return run;
    if (date === undefined) throw new ApiError('PREDICTION_NOT_FOUND', 'no batch run has completed yet: run stockflow batch');
    throw new ApiError('PREDICTION_NOT_FOUND', `no predictions for ${date}`);
  }

  private stock(code: string): NonNullable<ReturnType<typeof stockByCode>> {
    const st = stockByCode(this.market(), code);
    if (!st) throw new ApiError('STOCK_NOT_FOUND', `stock ${code} is not in the master list`, { bseCode: code });
    return st;
  }

  /** GET /runs: each date's completed run, newest first. */
  runs(limit: number) {
    const store = this.s.predictions.store;
    const rows = store.usable() ? store.completedRuns(limit) : [];
    return {
      items: rows.map((r) => ({
        prediction_date: r.prediction_date,
        run_id: r.run_id,
        status: r.status,
        as_of_session: r.as_of_session,
        model_name: r.model_name,
        model_version: r.model_version ?? '',
        finished_at: r.finished_at,
        processed: r.processed_count,
        predicted_uc: r.predicted_uc_count,
      })),
    };
  }

  /** GET /ranking: the date's whole ranking (probability descending, then bse_code) with the CSV's columns and the sector. */
  ranking(date: IsoDate | undefined) {
    const store = this.s.predictions.store;
    const { run, rows } = this.s.predictions.snapshot(() => {
      const r = this.run(date);
      return { run: r, rows: store.ranking(r.prediction_date, r.model_version) };
    });
    const db = this.s.market.get();
    return {
      prediction_date: run.prediction_date,
      as_of_session: run.as_of_session,
      run_id: run.run_id,
      model_version: run.model_version,
      total: rows.length,
      items: rows.map((p, i) => {
        const st = db ? stockByCode(db, p.bse_code) : undefined;
        return {
          rank: i + 1,
          bse_code: p.bse_code,
          nse_symbol: p.nse_symbol,
          company_name: p.company_name ?? st?.company_name ?? '',
          sector: st?.sector ?? null,
          probability: p.probability,
          label: p.predicted_label,
          confidence: p.confidence,
          market_cap_cr: st?.market_cap_cr ?? null,
        };
      }),
    };
  }

  /** GET /predictions.csv: the date's predictions CSV as the batch wrote it. */
  csv(date: IsoDate | undefined): { name: string; body: string } {
    const run = this.run(date);
    const file = outputPaths(predictionsDir(this.dataDir), run.prediction_date).predictionsCsv;
    if (!existsSync(file)) throw new ApiError('PREDICTION_NOT_FOUND', `the predictions CSV of ${run.prediction_date} is not in the data directory`);
    return { name: `predictions_${run.prediction_date}.csv`, body: readFileSync(file, 'utf8') };
  }

  /** GET /stocks/{code}/prices: its last `sessions` closes up to `to` (default: the last session in market.db). */
  prices(code: string, to: IsoDate | undefined, sessions: number) {
    if (to !== undefined && !isIsoDate(to)) throw new ApiError('INVALID_REQUEST', `to '${to}' is not a real calendar date in YYYY-MM-DD form`);
    const st = this.stock(code);
    const db = this.market();
    const end = to ?? lastSession(db);
    const items = end === undefined ? [] : closeHistory(db, code, end, sessions);
    return {
      bse_code: st.bse_code,
      nse_symbol: st.nse_symbol,
      company_name: st.company_name,
      sector: st.sector,
      circuit_band_pct: st.circuit_band_pct ?? null,
      market_cap_cr: st.market_cap_cr,
      upper_circuit_days: items.filter((x) => x.upper_circuit).length,
      items,
    };
  }

  /** GET /stocks/{code}/features: its stored feature row for the date beside the median of its sector's stored rows. */
  features(code: string, date: IsoDate | undefined) {
    const st = this.stock(code);
    const run = this.run(date);
    const store = this.s.predictions.store;
    const mine = store.storedFeatures(code, run.prediction_date);
    if (!mine) throw new ApiError('PREDICTION_NOT_FOUND', `no stored features for ${code} on ${run.prediction_date}`, { bseCode: code });
    const peers = sectorCodes(this.market(), st.sector)
      .map((c) => store.storedFeatures(c, run.prediction_date)?.values)
      .filter((v): v is Float32Array => v !== undefined);
    return {
      bse_code: code,
      prediction_date: run.prediction_date,
      sector: st.sector,
      sector_stocks: peers.length,
      items: FEATURE_NAMES.map((feature, j) => ({
        feature,
        value: Number.isNaN(mine.values[j]) ? null : mine.values[j],
        sector_median: median(peers.map((v) => v[j]).filter((x) => !Number.isNaN(x))),
      })),
    };
  }

  /** GET /stocks/{code}/history: its stored predictions, newest first, with outcomes where known. */
  stockHistory(code: string, limit: number) {
    const st = this.stock(code);
    const store = this.s.predictions.store;
    const rows = store.usable() ? store.predictionHistory(code, limit) : [];
    return {
      bse_code: code,
      company_name: st.company_name,
      items: rows.map((r) => ({
        prediction_date: r.prediction_date,
        model_version: r.model_version ?? '',
        probability: r.probability,
        predicted_label: r.predicted_label,
        confidence: r.confidence,
        hit: r.hit,
        completed_run: r.completed === 1,
      })),
    };
  }

  /** GET /performance/history: the scorecard over its window, date by date, and calibration (kept until a newer run or outcome date appears). */
  performanceHistory() {
    const store = this.s.predictions.store;
    if (!store.usable()) return { history: null, note: 'no predictions yet: predictions.db does not exist (run stockflow batch)' };
    const key = store.snapshot(() => `${store.latestCompletedRun()?.run_id ?? ''}|${store.scorecardScope(1)?.date ?? ''}`);
    if (this.history?.key !== key) this.history = { key, value: readScorecardHistory(store) };
    const h = this.history.value;
    return h ? { history: h, note: null } : { history: null, note: "no prediction's outcome is known yet (README \"The scorecard\")" };
  }
}
