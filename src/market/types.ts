import type { IsoDate } from './dates.js';

export type StockStatus = 'ACTIVE' | 'SUSPENDED' | 'DELISTED';

export interface Stock {
  bse_code: string;
  nse_symbol: string | null;
  company_name: string;
  sector: string;
  status: StockStatus;
  market_cap_cr: number | null;
  /** The band in force at the last session; null = No Band (no fixed circuit: the batch skips it, NO_PRICE_BAND). */
  circuit_band_pct: number | null;
  listed_on: IsoDate | null;
}
