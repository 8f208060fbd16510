/** The share of skipped stocks above which a run fails its error budget (`--max-error-rate`). */
export const DEFAULT_MAX_ERROR_RATE = 0.02;

/**
 * Skip reasons that do not count against the error budget: a stock with no fixed
 * price band (NO_PRICE_BAND) cannot hit a circuit, so there is nothing to predict
 * for it. Such stocks are listed with the skips but leave the budget's universe.
 */
export const BUDGET_EXEMPT_REASONS: ReadonlySet<string> = new Set(['NO_PRICE_BAND']);

/** The share of the budget's universe skipped: exempt skips count in neither the skips nor the universe. */
export function budgetShare(skips: readonly { reason: string }[], universe: number): number {
  const exempt = skips.filter((s) => BUDGET_EXEMPT_REASONS.has(s.reason)).length;
  const counted = universe - exempt;
  return counted > 0 ? (skips.length - exempt) / counted : 0;
}
