/**
 * The staleness rule, one for the batch, `stockflow features` and the API:
 * the last session before a prediction date D may be at most
 * MAX_STALENESS_DAYS calendar days before D. Older data means the feed did not
 * update; the batch exits 3 and `features` exits 3 unless `--allow-stale`,
 * and the API answers 422.
 */
import { missingInput, type StockflowError } from '../errors.js';
import { daysBetween, type IsoDate } from './dates.js';

/** The last session before D may be at most this many calendar days old. */
export const MAX_STALENESS_DAYS = 7;

/** Calendar days between the as-of session and D when that is over the limit; undefined when fresh. */
export function staleDays(asOf: IsoDate, date: IsoDate): number | undefined {
  const age = daysBetween(asOf, date);
  return age > MAX_STALENESS_DAYS ? age : undefined;
}

/** The MISSING_INPUT error for stale data (or undefined when fresh). */
export function stalenessError(asOf: IsoDate, date: IsoDate): StockflowError | undefined {
  const age = staleDays(asOf, date);
  if (age === undefined) return undefined;
  return missingInput(
    `stale data: the last session before ${date} is ${asOf}, ${age} days old (limit ${MAX_STALENESS_DAYS}); did the data feed update? (--allow-stale to run anyway)`,
  );
}
