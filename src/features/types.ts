import type { IsoDate } from '../market/dates.js';

export type SkipReason = 'NO_PRICE_DATA' | 'INSUFFICIENT_HISTORY' | 'TOO_MANY_MISSING' | 'UNKNOWN_STOCK' | 'NOT_ACTIVE' | 'NO_PRICE_BAND';

/** A stock that could not be scored, and why. Nothing is dropped without one. */
export interface SkipRecord {
  bse_code: string;
  reason: SkipReason;
  detail: string;
}

/** What every extraction for one prediction date shares. */
export interface ExtractionContext {
  /** The prediction date D: information cutoff is the start of D. */
  date: IsoDate;
  /** The last session with prices before D (market-wide). */
  asOf: IsoDate;
  /** The first of the last 5 calendar sessions ending at `asOf`: a stock with no bar since is NO_PRICE_DATA. */
  recentSince: IsoDate;
}

/** The per-stock facts extraction needs from the master list. */
export interface StockRef {
  bse_code: string;
  /**
   * The band in force at the as-of session (price_bands, else the master list's band):
   * `refsInForce` in service.ts. null = No Band: the stock is skipped with NO_PRICE_BAND.
   */
  circuit_band_pct: number | null;
  market_cap_cr: number | null;
}

/** Raw (pre-imputation) features of many stocks: row-major [n, N_FEATURES], NaN where missing. */
export interface FeatureBlock {
  codes: string[];
  /** The last bar's date per stock (its own as-of session). */
  lastBar: string[];
  values: Float32Array;
  /** Features with no underlying data per stock (before imputation). */
  missing: Uint8Array;
  skips: SkipRecord[];
  /**
   * Asked for (extractMany's `medianInputs`): every input ref's median inputs (financial.ts,
   * N_MEDIAN_INPUTS per ref, skipped or not, in input order) and whether they are known
   * (medianInputsFromLatest); an unknown ref's inputs are NaN.
   */
  medians?: { inputs: Float64Array; known: Uint8Array };
}
