/**
 * GET /performance and the scorecard gauges: how the stored predictions did
 * (README "The scorecard"), computed from predictions.db's outcomes
 * (src/model/evaluate.ts) and kept until a newer run or outcome date appears.
 */
import { readScorecard, type Scorecard } from '../../model/evaluate.js';
import { shifted, type DriftReport } from '../../model/drift.js';
import { isIsoDate, type IsoDate } from '../../market/dates.js';
import { ApiError } from '../errors.js';
import type { MonitoringResponseT, PerformanceResponseT } from '../schemas.js';
import type { ServerSources } from './sources.js';

const NO_OUTCOMES =
  "no prediction's outcome is known yet: a prediction is judged once its model's horizon (horizon_sessions, default 5) has passed in market.db; run earlier dates with stockflow batch --from/--to, then a later batch or stockflow evaluate records their outcomes";

export class PerformanceService {
  private cached: { key: string; card: Scorecard | undefined } | undefined;

  constructor(private readonly s: ServerSources) {}

  /** The scorecard, or undefined when predictions.db has no known outcome (or no outcomes table yet). */
  scorecard(): Scorecard | undefined {
    const store = this.s.predictions.store;
    if (!store.usable()) return undefined;
    const key = store.snapshot(() => `${store.latestCompletedRun()?.run_id ?? ''}|${store.scorecardScope(1)?.date ?? ''}`);
    if (this.cached?.key !== key) this.cached = { key, card: readScorecard(store) };
    return this.cached.card;
  }

  private driftCache: { key: string; drift: DriftReport | undefined } | undefined;

  /** The latest completed run's drift (for the gauges), kept until a newer run completes. */
  latestDrift(): DriftReport | undefined {
    const store = this.s.predictions.store;
    if (!store.usable()) return undefined;
    const key = store.latestCompletedRun()?.run_id ?? '';
    if (this.driftCache?.key !== key) this.driftCache = { key, drift: store.driftOfDate().drift };
    return this.driftCache.drift;
  }

  /** GET /monitoring: a date's (default: the latest) completed run's drift and challengers (docs/monitoring.md). */
  monitoring(date?: IsoDate): MonitoringResponseT {
    if (date !== undefined && !isIsoDate(date)) throw new ApiError('INVALID_REQUEST', `date '${date}' is not a real calendar date in YYYY-MM-DD form`);
    const store = this.s.predictions.store;
    const empty = (note: string): MonitoringResponseT => ({ prediction_date: date ?? null, run_id: null, model_version: null, drift: null, shifted: [], challengers: [], note });
    if (!store.usable()) return empty('no predictions yet: predictions.db does not exist (run stockflow batch)');
    return store.snapshot(() => {
      const { run, drift } = store.driftOfDate(date);
      if (!run) {
        if (date !== undefined) throw new ApiError('PREDICTION_NOT_FOUND', `no completed batch run for ${date}`);
        return empty('no batch run has completed yet');
      }
      const challengers = store.challengersOfDate(run.prediction_date).map((c) => ({
        model_name: c.model_name,
        model_version: c.model_version,
        run_id: c.run_id,
        rows: c.rows,
        comparison: (c.comparison as Record<string, unknown> | null) ?? null,
      }));
      const note = drift
        ? null
        : `run ${run.run_id} has no drift figures: its model ${run.model_version ?? ''} has no reference distribution (stockflow models profile builds one), or it ran before drift was measured`;
      return {
        prediction_date: run.prediction_date,
        run_id: run.run_id,
        model_version: run.model_version,
        drift: drift ?? null,
        shifted: drift ? shifted(drift).map((d) => ({ name: d.name, psi: d.psi, level: d.level })) : [],
        challengers,
        note,
      };
    });
  }

  performance(): PerformanceResponseT {
    const card = this.scorecard();
    if (card) return { scorecard: card, note: null };
    return { scorecard: null, note: this.s.predictions.usable() ? NO_OUTCOMES : 'no predictions yet: predictions.db does not exist (run stockflow batch)' };
  }
}
