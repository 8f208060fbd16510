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

export interface PriceBar {
  trade_date: IsoDate;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface QuarterlyResult {
  period_end: IsoDate;
  announced_on: IsoDate;
  revenue_cr: number | null;
  net_profit_cr: number | null;
  eps: number | null;
}

export interface NewsItem {
  published_on: IsoDate;
  score: number;
}
