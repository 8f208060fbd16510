/**
 * The scorecard over time: for the scorecard's model and window (its latest
 * SCORECARD_WINDOW dates with known outcomes, src/model/evaluate.ts), each
 * date's top-20 hit rate and base rate, and the calibration over all those
 * dates' judged rows. The HTML report and GET /api/v1/performance/history show it.
 */
import { SCORECARD_TOP, SCORECARD_WINDOW, evaluateRows, type ScoredOutcome } from './evaluate.js';

export interface HistorySource {
  snapshot<T>(fn: () => T): T;
  scorecardScope(window: number): { date: string; modelVersion: string; dates: string[] } | undefined;
  outcomesOfDate(modelVersion: string, date: string): ScoredOutcome[];
}

export interface ScorecardHistoryT {
  model_version: string;
  /** Oldest first. */
  points: { date: string; precision: number; hits: number; top: number; base_rate: number; rows: number }[];
  /** Non-empty bins only. */
  calibration: { lower: number; upper: number; mean_predicted: number; observed: number; rows: number }[];
  rows: number;
}

/** Undefined when no outcome is known. */
export function readScorecardHistory(store: HistorySource, window: number = SCORECARD_WINDOW): ScorecardHistoryT | undefined {
  return store.snapshot(() => {
    const scope = store.scorecardScope(window);
    if (!scope || scope.dates.length === 0) return undefined;
    const rows = [...scope.dates].reverse().flatMap((d) => store.outcomesOfDate(scope.modelVersion, d));
    if (rows.length === 0) return undefined;
    const ev = evaluateRows(rows, { byDate: true, ks: [SCORECARD_TOP] });
    return {
      model_version: scope.modelVersion,
      points: (ev.by_date ?? []).map((d) => {
        const k = d.at_k[0];
        return { date: d.date, precision: k.precision ?? 0, hits: k.hits, top: k.picks, base_rate: d.base_rate, rows: d.rows };
      }),
      calibration: ev.calibration
        .filter((b) => b.rows > 0 && b.mean_predicted !== null && b.observed !== null)
        .map((b) => ({ lower: b.lower, upper: b.upper, mean_predicted: b.mean_predicted!, observed: b.observed!, rows: b.rows })),
      rows: ev.rows,
    };
  });
}
