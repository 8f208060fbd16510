import type { Confidence } from '../model/confidence.js';
import type { Driver } from './drivers.js';

/** One scored stock, as written to predictions.db, the CSV and the report. */
export interface Prediction {
  bse_code: string;
  nse_symbol: string | null;
  company_name: string;
  market_cap_cr: number | null;
  probability: number;
  label: 0 | 1;
  confidence: Confidence;
  /** Its strongest drivers (./drivers.ts), when the run explained its stocks. */
  drivers?: readonly Driver[];
}

/** A skipped stock, as written to skipped_stocks and its CSV. */
export interface SkippedStock {
  bse_code: string;
  nse_symbol: string | null;
  company_name: string;
  reason: string;
  detail: string;
}
