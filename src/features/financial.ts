/**
 * The financial family (7 features) from results announced before D, and the
 * point-in-time sector medians used to impute them.
 */
import type { Db } from '../market/db.js';
import type { IsoDate } from '../market/dates.js';
import { forEachActiveResults } from '../market/reader.js';
import { FEATURE_INDEX, FINANCIAL_INDEXES } from './definition.js';
import type { ResultRow } from './inputs.js';

/** Quarter number of a period end: year·4 + quarter (0..3). */
function quarterOf(periodEnd: string): number {
  return Number(periodEnd.slice(0, 4)) * 4 + Math.floor((Number(periodEnd.slice(5, 7)) - 1) / 3);
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number =>
  a == null || b == null || !(b > 0) ? NaN : a / b - 1;
const change = (a: number | null | undefined, b: number | null | undefined): number =>
  a == null || b == null || b === 0 ? NaN : (a - b) / Math.abs(b);
const margin = (r: ResultRow | undefined): number =>
  r == null || r.net_profit_cr == null || r.revenue_cr == null || !(r.revenue_cr > 0) ? NaN : r.net_profit_cr / r.revenue_cr;

/**
 * Writes the 7 financial features into `out` at `offset` (NaN where the data
 * does not allow them). `results` are the stock's results announced before D,
 * in any order; the latest quarter is the newest period among them.
 */
export function financialFeatures(results: readonly ResultRow[], marketCapCr: number | null, out: Float32Array | Float64Array, offset: number): void {
  const byQuarter = new Map<number, ResultRow>();
  let latest = -Infinity;
  for (const r of results) {
    const q = quarterOf(r.period_end);
    byQuarter.set(q, r);
    if (q > latest) latest = q;
  }
  const q0 = byQuarter.get(latest);
  const q1 = byQuarter.get(latest - 1);
  const q4 = byQuarter.get(latest - 4);
  const q5 = byQuarter.get(latest - 5);
  const yoy0 = ratio(q0?.revenue_cr, q4?.revenue_cr);
  const yoy1 = ratio(q1?.revenue_cr, q5?.revenue_cr);
  out[offset + FEATURE_INDEX.revenue_growth_yoy] = yoy0;
  out[offset + FEATURE_INDEX.profit_growth_yoy] = change(q0?.net_profit_cr, q4?.net_profit_cr);
  out[offset + FEATURE_INDEX.net_profit_margin] = margin(q0);
  out[offset + FEATURE_INDEX.npm_trend] = margin(q0) - margin(q4);
  out[offset + FEATURE_INDEX.eps_growth_qoq] = change(q0?.eps, q1?.eps);
  out[offset + FEATURE_INDEX.revenue_acceleration] = yoy0 - yoy1;
  out[offset + FEATURE_INDEX.log_market_cap] = marketCapCr != null && marketCapCr > 0 ? Math.log(marketCapCr) : NaN;
}

/** Median of finite values (mean of the middle two for an even count); NaN for none. */
export function median(values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Per sector, the median of each financial feature; `fallback` is the universe-wide median. */
export interface SectorMedians {
  date: IsoDate;
  bySector: Map<string, Float64Array>;
  fallback: Float64Array;
}

/**
 * Point-in-time sector medians of the financial features on D: over every
 * ACTIVE stock of the master list, from results announced before D. The
 * batch and the server both impute with these, so a stock scores the same
 * whether it is scored alone or with the whole universe.
 */
export function sectorMedians(db: Db, date: IsoDate): SectorMedians {
  const k = FINANCIAL_INDEXES.length;
  const perSector = new Map<string, number[][]>();
  const all: number[][] = Array.from({ length: k }, () => []);
  const tmp = new Float64Array(FEATURE_INDEX.log_market_cap + 1);
  // Stock by stock (the medians sort their values, so the order of stocks does not matter).
  forEachActiveResults(db, date, (s, results) => {
    tmp.fill(NaN);
    financialFeatures(results, s.market_cap_cr, tmp, 0);
    let cols = perSector.get(s.sector);
    if (!cols) perSector.set(s.sector, (cols = Array.from({ length: k }, () => [])));
    FINANCIAL_INDEXES.forEach((fi, j) => {
      const v = tmp[fi];
      if (Number.isFinite(v)) {
        cols[j].push(v);
        all[j].push(v);
      }
    });
  });
  const fallback = Float64Array.from(all, (col) => {
    const m = median(col);
    return Number.isFinite(m) ? m : 0;
  });
  const bySector = new Map<string, Float64Array>();
  for (const [sector, cols] of perSector) {
    bySector.set(
      sector,
      Float64Array.from(cols, (col, j) => {
        const m = median(col);
        return Number.isFinite(m) ? m : fallback[j];
      }),
    );
  }
  return { date, bySector, fallback };
}
