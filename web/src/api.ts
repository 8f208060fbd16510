/** The server's own JSON API (docs/api.md): one fetch helper and the shapes the pages read. */

export const API = '/api/v1';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => null)) as (T & { message?: string }) | null;
  if (!res.ok) throw new ApiFailure(res.status, body?.message ?? `${res.status} ${res.statusText}`);
  return body as T;
}

export type Confidence = 'HIGH' | 'MEDIUM' | 'LOW' | null;

export interface RunItem {
  prediction_date: string;
  run_id: string;
  status: string;
  as_of_session: string | null;
  model_name: string | null;
  model_version: string;
  processed: number | null;
  predicted_uc: number | null;
}

export interface RankingItem {
  rank: number;
  bse_code: string;
  nse_symbol: string | null;
  company_name: string;
  sector: string | null;
  probability: number;
  label: number;
  confidence: Confidence;
  market_cap_cr: number | null;
}

export interface Ranking {
  prediction_date: string;
  as_of_session: string | null;
  run_id: string | null;
  model_version: string;
  total: number;
  items: RankingItem[];
}

export interface Prices {
  bse_code: string;
  nse_symbol: string | null;
  company_name: string;
  sector: string;
  circuit_band_pct: number | null;
  market_cap_cr: number | null;
  upper_circuit_days: number;
  items: { date: string; close: number; sma50: number | null; sma200: number | null; upper_circuit: boolean }[];
}

export interface StockFeatures {
  prediction_date: string;
  sector: string;
  sector_stocks: number;
  items: { feature: string; value: number | null; sector_median: number | null }[];
}

export interface StockHistory {
  items: { prediction_date: string; model_version: string; probability: number; predicted_label: number; confidence: Confidence; hit: number | null; completed_run: boolean }[];
}

export interface Explained {
  prediction_date: string;
  probability: number;
  predicted_label: number;
  confidence: Confidence;
  model_version: string;
  shap_values?: Record<string, number>;
  base_value?: number;
  margin?: number;
}

export interface PerformanceHistory {
  history: {
    model_version: string;
    points: { date: string; precision: number; hits: number; top: number; base_rate: number; rows: number }[];
    calibration: { lower: number; upper: number; mean_predicted: number; observed: number; rows: number }[];
    rows: number;
  } | null;
  note: string | null;
}

export interface Performance {
  scorecard: {
    date: string;
    model_version: string;
    top: number;
    top_hits: number;
    top_precision: number;
    base_rate: number;
    rolling_precision: number;
    window_dates: number;
    window_from: string;
    window_to: string;
  } | null;
  note: string | null;
}

export interface Models {
  serving: string | null;
  champion: string | null;
  challenger: string | null;
  models: { ref: string; name: string; version: string; model_type: string | null; created_at: string | null; trained_until: string | null; aliases: string[]; usable: boolean; problem: string | null; serving: boolean; metrics: Record<string, unknown> | null }[];
}
