/**
 * One stock's point-in-time inputs as the feature code reads them: the market
 * store's reader (src/market/inputs.ts, which owns the SQL and its strict
 * `< D` cutoffs) with the indicators' lookback.
 */
import type { Db } from '../market/db.js';
import { PointInTimeReader } from '../market/inputs.js';
import { LOOKBACK_SESSIONS } from './indicators.js';

export type { Bars, ResultRow, StockInputs } from '../market/inputs.js';

export class InputReader extends PointInTimeReader {
  constructor(db: Db, lookback = LOOKBACK_SESSIONS) {
    super(db, lookback);
  }
}
