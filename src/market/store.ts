/**
 * The market store: market.db's read side, opened once per process (or per
 * worker thread) and passed down. It owns the master list, the trading
 * calendar, the last session and the one rule for the next prediction date,
 * and the point-in-time reads of one stock's inputs. Its SQL lives in this
 * folder (reader.ts, inputs.ts, calendar.ts); the importer (src/ingest) and
 * the generator (src/demo) are its write side.
 */
import { TradingCalendar } from './calendar.js';
import { openMarketReadonly, type Db } from './db.js';
import type { IsoDate } from './dates.js';
import { PointInTimeReader } from './inputs.js';
import {
  activeStocks,
  lastSession,
  latestSessionBefore,
  marketInfo,
  sessionsFrom,
  stockByCode,
  upperCircuitHits,
  type MarketInfo,
  type UniverseFilter,
} from './reader.js';
import type { Stock } from './types.js';

export class MarketStore {
  private cal: TradingCalendar | undefined;

  constructor(
    readonly db: Db,
    /** The market.db file, for worker threads that open their own connection. */
    readonly file: string,
  ) {}

  /** Opens `<dataDir>/market.db` (or a `.db` file) read-only, or explains how to create it. */
  static open(dataDirOrFile: string): MarketStore {
    const db = openMarketReadonly(dataDirOrFile);
    return new MarketStore(db, db.name);
  }

  close(): void {
    this.db.close();
  }

  /** The trading calendar (weekdays minus market_holidays), read once. */
  calendar(): TradingCalendar {
    return (this.cal ??= TradingCalendar.fromDb(this.db));
  }

  /** The last session with any price, or undefined for an empty market. */
  lastSession(): IsoDate | undefined {
    return lastSession(this.db);
  }

  /** The latest session with prices before `date`: the as-of session of prediction date `date`. */
  sessionBefore(date: IsoDate): IsoDate | undefined {
    return latestSessionBefore(this.db, date);
  }

  /**
   * The one rule for "the next prediction date": the first trading session
   * after `after` (by default after the last session with prices). The demo,
   * the server's default date and the scheduler's catch-up all use it; after a
   * Friday's session it is the next Monday that is not an exchange holiday.
   */
  nextPredictionDate(after?: IsoDate): IsoDate | undefined {
    const from = after ?? this.lastSession();
    return from === undefined ? undefined : this.calendar().nextSession(from);
  }

  activeStocks(filter: UniverseFilter = {}): Stock[] {
    return activeStocks(this.db, filter);
  }

  stock(code: string): Stock | undefined {
    return stockByCode(this.db, code);
  }

  /** A point-in-time reader of one stock's inputs (prices, results, news, calendar before D), `lookback` bars at most. */
  inputReader(lookback: number): PointInTimeReader {
    return new PointInTimeReader(this.db, lookback);
  }

  /** The first `n` sessions with prices on or after `date` (fewer when the market has not reached them). */
  sessionsFrom(date: IsoDate, n: number): IsoDate[] {
    return sessionsFrom(this.db, date, n);
  }

  /** Stocks that closed at their upper circuit on a session in (from, to], with the first such session (reader.ts). */
  upperCircuitHits(from: IsoDate, to: IsoDate): Map<string, IsoDate> {
    return upperCircuitHits(this.db, from, to);
  }

  info(): MarketInfo {
    return marketInfo(this.db);
  }
}
