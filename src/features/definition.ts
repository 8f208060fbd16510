/**
 * Feature set v1: the one definition of the model's inputs, in input order.
 * Training, the batch, the server, the feature store and docs/features.md
 * all read this list; nothing else names the features.
 */
export const FEATURE_SET_VERSION = '1';

export type FeatureFamily = 'technical' | 'financial' | 'sentiment' | 'seasonality';

export interface FeatureDef {
  name: string;
  family: FeatureFamily;
  /** The window in sessions (technical), quarters (financial) or calendar days (sentiment, seasonality). */
  window: string;
  description: string;
}

export const FEATURES = [
  { name: 'ret_5d', family: 'technical', window: '5 sessions', description: 'close / close 5 sessions earlier − 1' },
  { name: 'ret_20d', family: 'technical', window: '20 sessions', description: 'close / close 20 sessions earlier − 1' },
  { name: 'ret_60d', family: 'technical', window: '60 sessions', description: 'close / close 60 sessions earlier − 1' },
  { name: 'rsi_14', family: 'technical', window: '14 sessions', description: "RSI(14) with Wilder's smoothing, 0–100" },
  { name: 'atr_14_pct', family: 'technical', window: '14 sessions', description: "Wilder's ATR(14) / close" },
  { name: 'volatility_contraction', family: 'technical', window: '10/50 sessions', description: 'stdev of daily returns over 10 sessions / over 50 sessions' },
  { name: 'volume_dry_up', family: 'technical', window: '10/50 sessions', description: 'mean volume over 10 sessions / over 50 sessions' },
  { name: 'dist_52w_high', family: 'technical', window: '250 sessions', description: 'close / highest high of 250 sessions − 1' },
  { name: 'dist_sma_50', family: 'technical', window: '50 sessions', description: 'close / SMA(50) − 1' },
  { name: 'dist_sma_200', family: 'technical', window: '200 sessions', description: 'close / SMA(200) − 1' },
  { name: 'macd_hist_pct', family: 'technical', window: '12/26/9 sessions', description: 'MACD(12, 26, 9) histogram / close' },
  { name: 'bb_width_20', family: 'technical', window: '20 sessions', description: '(upper − lower) / middle of Bollinger(20, 2), population stdev' },
  { name: 'uc_count_250d', family: 'technical', window: '250 sessions', description: 'upper-circuit closes in the last 250 sessions' },
  { name: 'revenue_growth_yoy', family: 'financial', window: '5 quarters', description: 'latest quarter revenue / same quarter a year earlier − 1' },
  { name: 'profit_growth_yoy', family: 'financial', window: '5 quarters', description: '(net profit − year-earlier net profit) / |year-earlier net profit|' },
  { name: 'net_profit_margin', family: 'financial', window: '1 quarter', description: 'latest quarter net profit / revenue' },
  { name: 'npm_trend', family: 'financial', window: '5 quarters', description: 'net profit margin now − margin 4 quarters earlier' },
  { name: 'eps_growth_qoq', family: 'financial', window: '2 quarters', description: '(EPS − previous quarter EPS) / |previous quarter EPS|' },
  { name: 'revenue_acceleration', family: 'financial', window: '6 quarters', description: "this quarter's revenue YoY growth − last quarter's" },
  { name: 'log_market_cap', family: 'financial', window: '—', description: 'ln(market cap in ₹ crore) from the master list' },
  { name: 'sentiment_7d', family: 'sentiment', window: '7 days', description: 'mean news score published in the 7 days before D (0 when none)' },
  { name: 'news_count_30d', family: 'sentiment', window: '30 days', description: 'news items published in the 30 days before D' },
  { name: 'sentiment_shift', family: 'sentiment', window: '7/30 days', description: '7-day mean score − 30-day mean score (0 when either has no news)' },
  { name: 'days_to_earnings', family: 'seasonality', window: '120 days', description: 'calendar days from D to the next expected result date on or after D, capped at 120' },
  { name: 'earnings_window_uc_rate', family: 'seasonality', window: '250 sessions', description: 'share of past result announcements followed by an upper-circuit close within 5 sessions' },
] as const satisfies readonly FeatureDef[];

export type FeatureName = (typeof FEATURES)[number]['name'];

export const FEATURE_NAMES: readonly FeatureName[] = FEATURES.map((f) => f.name);
export const N_FEATURES = FEATURES.length;

/** Column index of each feature in a row. */
export const FEATURE_INDEX: Readonly<Record<FeatureName, number>> = Object.fromEntries(
  FEATURE_NAMES.map((n, i) => [n, i]),
) as Record<FeatureName, number>;

/** Indexes of the financial features: the ones imputed with the sector median. */
export const FINANCIAL_INDEXES: readonly number[] = FEATURES.flatMap((f, i) => (f.family === 'financial' ? [i] : []));

/** Names in `names` that differ from the current set, position by position (for model validation messages). */
export function diffFeatureNames(names: readonly string[]): string[] {
  const out: string[] = [];
  if (names.length !== N_FEATURES) out.push(`expected ${N_FEATURES} features, got ${names.length}`);
  for (let i = 0; i < Math.max(names.length, N_FEATURES); i++) {
    const want = FEATURE_NAMES[i];
    const got = names[i];
    if (want !== got) out.push(`#${i + 1}: expected ${want ?? '(none)'}, got ${got ?? '(none)'}`);
  }
  return out;
}
