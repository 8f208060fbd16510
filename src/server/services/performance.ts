/**
 * GET /performance and the scorecard gauges: how the stored predictions did
 * (README "The scorecard"), computed from predictions.db's outcomes
 * (src/model/evaluate.ts) and kept until a newer run or outcome date appears.
 */
import { readScorecard, type Scorecard } from '../../model/evaluate.js';
import type { PerformanceResponseT } from '../schemas.js';
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

  performance(): PerformanceResponseT {
    const card = this.scorecard();
    if (card) return { scorecard: card, note: null };
    return { scorecard: null, note: this.s.predictions.usable() ? NO_OUTCOMES : 'no predictions yet: predictions.db does not exist (run stockflow batch)' };
  }
}
