/**
 * The scorecard over time: for the scorecard's model and window (its latest
 * SCORECARD_WINDOW dates with known outcomes, src/model/evaluate.ts), each
 * date's top-20 hit rate and base rate, and the calibration over all those
 * dates' judged rows. The HTML report and GET /api/v1/performance/history show it.
 *
 * Read as the scorecard is (each date's top 20 and two counts), plus one
 * grouped sum per calibration bin: never the window's rows themselves
 * (20 dates of 11,000 stocks would be 220,000 of them every morning).
 */
import { SCORECARD_TOP, SCORECARD_WINDOW, type ScoredOutcome } from './evaluate.js';
import { CALIBRATION_BINS } from './train/metrics.js';

/** What the history reads (the predictions store has these methods; declared here so that src/model imports no store). */
export interface HistorySource {
  snapshot<T>(fn: () => T): T;
  scorecardScope(window: number): { date: string; modelVersion: string; dates: string[] } | undefined;
  /** The first k of a date's ranking (probability descending, bse_code) with their outcomes. */
  topOutcomes(date: string, modelVersion: string, k: number): ScoredOutcome[];
  outcomeCounts(date: string, modelVersion: string): { rows: number; hits: number };
  calibrationSums(modelVersion: string, from: string, to: string, bins: number): { bin: number; rows: number; sum_p: number; hits: number }[];
}

export interface ScorecardHistoryT {
  model_version: string;
  /** Oldest first. */
  points: { date: string; precision: number; hits: number; top: number; base_rate: number; rows: number }[];
  /** Non-empty bins only. */
  calibration: { lower: number; upper: number; mean_predicted: number; observed: number; rows: number }[];
  rows: number;
}

const edge = (b: number, bins: number): number => Math.round(b * (1 / bins) * 1e9) / 1e9;

/** Undefined when no outcome is known. */
export function readScorecardHistory(store: HistorySource, window: number = SCORECARD_WINDOW): ScorecardHistoryT | undefined {
  return store.snapshot(() => {
    const scope = store.scorecardScope(window);
    if (!scope || scope.dates.length === 0) return undefined;
    const mv = scope.modelVersion;
    const dates = [...scope.dates].sort();
    const points = dates.map((date) => {
      const top = store.topOutcomes(date, mv, SCORECARD_TOP);
      const hits = top.reduce((a, r) => a + r.hit, 0);
      const c = store.outcomeCounts(date, mv);
      return { date, precision: top.length > 0 ? hits / top.length : 0, hits, top: top.length, base_rate: c.rows > 0 ? c.hits / c.rows : 0, rows: c.rows };
    });
    const calibration = store
      .calibrationSums(mv, dates[0], dates[dates.length - 1], CALIBRATION_BINS)
      .filter((b) => b.rows > 0)
      .map((b) => ({ lower: edge(b.bin, CALIBRATION_BINS), upper: edge(b.bin + 1, CALIBRATION_BINS), mean_predicted: b.sum_p / b.rows, observed: b.hits / b.rows, rows: b.rows }));
    return { model_version: mv, points, calibration, rows: points.reduce((a, p) => a + p.rows, 0) };
  });
}
