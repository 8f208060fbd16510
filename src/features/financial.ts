/**
 * The financial family (7 features) from results announced before D, and the
 * point-in-time sector medians used to impute them.
 */
import type { Db } from '../market/db.js';
import type { IsoDate } from '../market/dates.js';
import { activeStockRows, forEachActiveResults, isCalendarDate, oddActionCodes } from '../market/reader.js';
import type { StockRef } from './types.js';
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

/** How many median inputs a stock has: its financial features (FINANCIAL_INDEXES), in that order. */
export const N_MEDIAN_INPUTS = FINANCIAL_INDEXES.length;

const scratch = new Float64Array(FEATURE_INDEX.log_market_cap + 1);

/**
 * One stock's inputs to the sector medians: its financial features (float64,
 * FINANCIAL_INDEXES order) from `results` (as sectorMedians reads them: the
 * last six quarters by period, ascending), into out[offset … offset + N_MEDIAN_INPUTS).
 */
export function medianInputs(results: readonly ResultRow[], marketCapCr: number | null, out: Float64Array, offset: number): void {
  scratch.fill(NaN);
  financialFeatures(results, marketCapCr, scratch, 0);
  for (let j = 0; j < N_MEDIAN_INPUTS; j++) out[offset + j] = scratch[FINANCIAL_INDEXES[j]];
}

/**
 * The first period_end forEachActiveResults keeps for a stock whose newest period is `latest` (canonical):
 * its SQL `date(latest, 'start of month', '-N months')` with N = (month + 2) % 3 + 15, the first day
 * of the latest period's quarter minus 15 months.
 */
export function sixQuartersSince(latest: string): string {
  const month = Number(latest.slice(5, 7));
  const total = Number(latest.slice(0, 4)) * 12 + (month - 1) - ((month + 2) % 3 + 15);
  const y = Math.floor(total / 12);
  return `${String(y).padStart(4, '0')}-${String((total % 12) + 1).padStart(2, '0')}-01`;
}

/**
 * A stock's median inputs from the point-in-time reader's results (readResults: the newest
 * `limit` periods announced before D, newest first, EPS adjusted for D), when those rows are
 * shown to hold exactly the rows sectorMedians reads (its last six quarters): every period_end
 * canonical, and either fewer than `limit` rows (the stock has no others) or the oldest before
 * the cut (every row from the cut on is among them). Then the inputs are computed from those
 * rows in ascending period order, as sectorMedians does, and this returns true; otherwise it
 * writes nothing and returns false (the caller reads the stock as sectorMedians does).
 */
export function medianInputsFromLatest(newestFirst: readonly ResultRow[], limit: number, marketCapCr: number | null, out: Float64Array, offset: number): boolean {
  const n = newestFirst.length;
  if (n === 0) {
    medianInputs(newestFirst, marketCapCr, out, offset);
    return true;
  }
  for (const r of newestFirst) if (!isCalendarDate(r.period_end)) return false;
  for (let i = 1; i < n; i++) if (!(newestFirst[i].period_end < newestFirst[i - 1].period_end)) return false;
  const since = sixQuartersSince(newestFirst[0].period_end);
  if (n >= limit && newestFirst[n - 1].period_end >= since) return false;
  const kept: ResultRow[] = [];
  for (let i = n - 1; i >= 0; i--) if (newestFirst[i].period_end >= since) kept.push(newestFirst[i]);
  medianInputs(kept, marketCapCr, out, offset);
  return true;
}

/**
 * The sector medians from every ACTIVE stock's median inputs: stock i's sector
 * is sectors[i], its inputs inputs[i·N_MEDIAN_INPUTS …]. The stocks come in
 * code order (as forEachActiveResults gives them: equal values, such as 0 and
 * −0, then keep their order through the sort).
 */
export function mediansFromInputs(date: IsoDate, sectors: readonly string[], inputs: Float64Array): SectorMedians {
  const k = N_MEDIAN_INPUTS;
  const perSector = new Map<string, number[][]>();
  const all: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < sectors.length; i++) {
    let cols = perSector.get(sectors[i]);
    if (!cols) perSector.set(sectors[i], (cols = Array.from({ length: k }, () => [])));
    for (let j = 0; j < k; j++) {
      const v = inputs[i * k + j];
      if (Number.isFinite(v)) {
        cols[j].push(v);
        all[j].push(v);
      }
    }
  }
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

/** Every ACTIVE stock's (or, with `only`, those of them in it) code, sector and median inputs, in code order (forEachActiveResults). */
export function activeMedianInputs(db: Db, date: IsoDate, only?: ReadonlySet<string>): { codes: string[]; sectors: string[]; inputs: Float64Array } {
  const codes: string[] = [];
  const sectors: string[] = [];
  let inputs = new Float64Array(1024 * N_MEDIAN_INPUTS);
  forEachActiveResults(
    db,
    date,
    (s, results) => {
      const i = codes.length;
      if ((i + 1) * N_MEDIAN_INPUTS > inputs.length) {
        const grown = new Float64Array(inputs.length * 2);
        grown.set(inputs);
        inputs = grown;
      }
      codes.push(s.bse_code);
      sectors.push(s.sector);
      medianInputs(results, s.market_cap_cr, inputs, i * N_MEDIAN_INPUTS);
    },
    undefined,
    only,
  );
  return { codes, sectors, inputs: inputs.slice(0, codes.length * N_MEDIAN_INPUTS) };
}

/**
 * Point-in-time sector medians of the financial features on D: over every
 * ACTIVE stock of the master list, from results announced before D. The
 * batch and the server both impute with these, so a stock scores the same
 * whether it is scored alone or with the whole universe.
 */
export function sectorMedians(db: Db, date: IsoDate): SectorMedians {
  const { sectors, inputs } = activeMedianInputs(db, date);
  return mediansFromInputs(date, sectors, inputs);
}

/**
 * sectorMedians(db, date), with the median inputs the extraction gave for `refs`
 * (FeatureBlock.medians, extractMany's `medianInputs`): an ACTIVE stock takes its ref's
 * inputs when they are known, computed with the master list's market cap, and its EPS
 * adjustment is one forEachActiveResults reproduces (oddActionCodes); the others (and
 * ACTIVE stocks not among the refs) are read as sectorMedians reads them. Equal to
 * sectorMedians(db, date), value for value; `reread` counts the stocks read again.
 */
export function sectorMediansFrom(
  db: Db,
  date: IsoDate,
  refs: readonly StockRef[],
  given: { inputs: Float64Array; known: Uint8Array },
): { medians: SectorMedians; reread: number } {
  return prepareSectorMedians(db, date, refs)(given);
}

/**
 * sectorMediansFrom in two steps: the master list's reads now (while the workers extract),
 * the medians once their inputs are in.
 */
export function prepareSectorMedians(
  db: Db,
  date: IsoDate,
  refs: readonly StockRef[],
): (given: { inputs: Float64Array; known: Uint8Array }) => { medians: SectorMedians; reread: number } {
  const k = N_MEDIAN_INPUTS;
  const at = new Map<string, number>();
  refs.forEach((r, i) => at.set(r.bse_code, i));
  const odd = oddActionCodes(db, date);
  const active = activeStockRows(db);
  const sectors = active.map((s) => s[1]);
  return (given) => {
    if (given.known.length !== refs.length || given.inputs.length !== refs.length * k) throw new Error(`median inputs for ${given.known.length} refs, ${refs.length} expected`);
    const inputs = new Float64Array(active.length * k);
    const rest = new Map<string, number>();
    active.forEach(([code, , marketCap], i) => {
      const r = at.get(code);
      if (r !== undefined && given.known[r] === 1 && Object.is(refs[r].market_cap_cr, marketCap) && !odd.has(code)) {
        inputs.set(given.inputs.subarray(r * k, r * k + k), i * k);
      } else rest.set(code, i);
    });
    if (rest.size > 0) {
      const read = activeMedianInputs(db, date, new Set(rest.keys()));
      read.codes.forEach((code, j) => {
        const i = rest.get(code) as number;
        inputs.set(read.inputs.subarray(j * k, j * k + k), i * k);
      });
    }
    return { medians: mediansFromInputs(date, sectors, inputs), reread: rest.size };
  };
}
