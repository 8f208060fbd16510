import type { IsoDate } from './dates.js';

export type StockStatus = 'ACTIVE' | 'SUSPENDED' | 'DELISTED';

export interface Stock {
  bse_code: string;
  nse_symbol: string | null;
  company_name: string;
  sector: string;
  status: StockStatus;
  market_cap_cr: number | null;
  circuit_band_pct: number;
  listed_on: IsoDate | null;
}
