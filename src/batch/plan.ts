/**
 * Stage 1, plan: the prediction date's checks and its universe.
 */
import type { Db } from '../market/db.js';
import { TradingCalendar } from '../market/calendar.js';
import { activeStocks, stockByCode, sessionCountBefore, type UniverseFilter } from '../market/reader.js';
import type { IsoDate } from '../market/dates.js';
import { stalenessError } from '../market/staleness.js';
import type { Stock } from '../market/types.js';
import { extractionContext } from '../features/context.js';
import { MIN_SESSIONS } from '../features/indicators.js';
import type { ExtractionContext, SkipRecord } from '../features/types.js';
import { missingInput } from '../errors.js';


export interface PlanOptions {
  codes?: string[];
  earningsWithin?: number;
  limit?: number;
  allowStale?: boolean;
}

export interface Plan {
  ctx: ExtractionContext;
  stocks: Stock[];
  /** Requested codes that are not ACTIVE stocks (only with --codes). */
  rejected: SkipRecord[];
  calendar: TradingCalendar;
}

export function plan(db: Db, date: IsoDate, o: PlanOptions = {}): Plan {
  const calendar = TradingCalendar.fromDb(db);
  const ctx = extractionContext(db, date, calendar);
  const stale = o.allowStale ? undefined : stalenessError(ctx.asOf, date);
  if (stale) throw stale;
  const sessions = sessionCountBefore(db, date, MIN_SESSIONS);
  if (sessions < MIN_SESSIONS) {
    throw missingInput(`too little history before ${date}: ${sessions} sessions, ${MIN_SESSIONS} needed`);
  }
  const filter: UniverseFilter = { codes: o.codes, limit: o.limit };
  if (o.earningsWithin !== undefined) filter.earningsWithin = { date, days: o.earningsWithin };
  const stocks = activeStocks(db, filter);
  const rejected: SkipRecord[] = [];
  if (o.codes) {
    const found = new Set(stocks.map((s) => s.bse_code));
    for (const code of o.codes) {
      if (found.has(code)) continue;
      const s = stockByCode(db, code);
      if (!s) rejected.push({ bse_code: code, reason: 'UNKNOWN_STOCK', detail: 'not in the master list' });
      else if (s.status !== 'ACTIVE') rejected.push({ bse_code: code, reason: 'NOT_ACTIVE', detail: `status ${s.status}` });
    }
  }
  if (stocks.length === 0 && rejected.length === 0) throw missingInput(`no ACTIVE stocks match for ${date}`);
  return { ctx, stocks, rejected, calendar };
}
