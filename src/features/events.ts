/**
 * The sentiment (3) and seasonality (2) families.
 */
import { daysBetween, addDays, type IsoDate } from '../market/dates.js';
import { isUpperCircuit } from '../market/circuit.js';
import { FEATURE_INDEX } from './definition.js';
import type { Bars } from './inputs.js';

export const EARNINGS_CAP_DAYS = 120;
export const POST_RESULT_SESSIONS = 5;
/** Announcements count when their first session is among the last 250 (as `uc_count_250d`). */
export const EARNINGS_WINDOW_SESSIONS = 250;

/**
 * sentiment_7d, news_count_30d, sentiment_shift from news published in
 * [D − 30, D). Returns how many of the three had no news behind them (they
 * are then 0, the neutral value).
 */
export function sentimentFeatures(date: IsoDate, newsDates: readonly string[], scores: readonly number[], out: Float32Array | Float64Array, offset: number): number {
  const since7 = addDays(date, -7);
  const since30 = addDays(date, -30);
  let n7 = 0;
  let s7 = 0;
  let n30 = 0;
  let s30 = 0;
  for (let i = 0; i < newsDates.length; i++) {
    const d = newsDates[i];
    if (d >= date || d < since30) continue;
    n30++;
    s30 += scores[i];
    if (d >= since7) {
      n7++;
      s7 += scores[i];
    }
  }
  const mean7 = n7 > 0 ? s7 / n7 : 0;
  const mean30 = n30 > 0 ? s30 / n30 : 0;
  out[offset + FEATURE_INDEX.sentiment_7d] = mean7;
  out[offset + FEATURE_INDEX.news_count_30d] = n30;
  out[offset + FEATURE_INDEX.sentiment_shift] = n7 > 0 && n30 > 0 ? mean7 - mean30 : 0;
  return n30 === 0 ? 3 : n7 === 0 ? 2 : 0;
}

/**
 * days_to_earnings and earnings_window_uc_rate. Returns how many had no data
 * behind them (no expected date → 120; no completed post-result window → 0).
 */
export function seasonalityFeatures(
  date: IsoDate,
  nextEarnings: string | null,
  announcements: readonly string[],
  bars: Bars,
  bandPct: number,
  out: Float32Array | Float64Array,
  offset: number,
): number {
  let missing = 0;
  if (nextEarnings == null) {
    out[offset + FEATURE_INDEX.days_to_earnings] = EARNINGS_CAP_DAYS;
    missing++;
  } else {
    out[offset + FEATURE_INDEX.days_to_earnings] = Math.min(EARNINGS_CAP_DAYS, daysBetween(date, nextEarnings));
  }
  // For each past announcement, the first session on or after it starts a
  // window of 5 sessions; count it once all 5 sessions are before D. Only
  // windows starting within the last 250 sessions count (the feature's
  // documented window, independent of how many bars were loaded), and never
  // at bar 0, which has no previous close to judge a circuit against.
  let windows = 0;
  let hits = 0;
  const first = Math.max(1, bars.length - EARNINGS_WINDOW_SESSIONS);
  let i = first;
  for (const a of announcements) {
    if (first - 1 >= bars.length || a <= bars.date[first - 1]) continue; // first session before the window
    while (i < bars.length && bars.date[i] < a) i++;
    if (i + POST_RESULT_SESSIONS - 1 >= bars.length) break;
    windows++;
    for (let j = i; j < i + POST_RESULT_SESSIONS; j++) {
      if (bars.uc ? bars.uc[j] === 1 : isUpperCircuit(bars.close[j - 1], bars.close[j], bandPct)) {
        hits++;
        break;
      }
    }
  }
  out[offset + FEATURE_INDEX.earnings_window_uc_rate] = windows > 0 ? hits / windows : 0;
  if (windows === 0) missing++;
  return missing;
}
