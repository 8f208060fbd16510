/**
 * The extraction context for a prediction date D: the market-wide as-of
 * session (the last session with prices before D) and the window in which a
 * stock must have traded to be scored.
 */
import type { Db } from '../market/db.js';
import { TradingCalendar } from '../market/calendar.js';
import { latestSessionBefore } from '../market/reader.js';
import type { IsoDate } from '../market/dates.js';
import { missingInput } from '../errors.js';
import type { ExtractionContext } from './types.js';

export const RECENT_SESSIONS = 5;

export function extractionContext(db: Db, date: IsoDate, calendar: TradingCalendar = TradingCalendar.fromDb(db)): ExtractionContext {
  const asOf = latestSessionBefore(db, date);
  if (!asOf) throw missingInput(`no prices before ${date} in market.db`);
  const recentSince = calendar.lastSessions(asOf, RECENT_SESSIONS)[0];
  return { date, asOf, recentSince };
}
