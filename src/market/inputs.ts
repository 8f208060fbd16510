/**
 * Point-in-time reads of one stock's inputs for a prediction date D.
 * Every query has a strict `< D` cutoff: prices with trade_date < D, results
 * with announced_on < D, news with published_on < D. Only the earnings
 * calendar looks forward (expected dates on or after D are known in advance).
 * Bars (and results' EPS) come back adjusted for the splits and bonuses in force
 * for D (adjust.ts: ex_date < D, raw rows untouched) and, when market.db has exchange bands or
 * observed hits, with per-bar upper-circuit flags (exchange.ts).
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { addDays, type IsoDate } from './dates.js';
import { actionsOf, adjustBars, adjustResultsOf } from './adjust.js';
import { PriceWindows, type Bars } from './price-window.js';
import { prepareResults, readResults, type ResultRow } from './result-rows.js';
import { bandRowsOf, exchangeData, observedFor, observedUpperHitsOf, upperHitFlags, type ExchangeData } from './exchange.js';

export interface StockInputs {
  bars: Bars;
  /** Results announced before D, newest period first (at most 8). */
  results: ResultRow[];
  /** Announcement dates before D and on/after the first loaded bar, oldest first. */
  announcements: string[];
  /** News scores published in [D − 30 days, D), with their dates. */
  newsDates: string[];
  newsScores: number[];
  /** The next expected result date on or after D, if any. */
  nextEarnings: string | null;
}

export type { Bars } from './price-window.js';
export type { ResultRow } from './result-rows.js';

type Stmt = Statement<unknown[]>;

/** Prepared statements for one connection (one per worker thread); `lookback` bars at most per stock. */
export class PointInTimeReader {
  /** The price windows (price-window.ts: straight into typed arrays; a full-window statement for many stocks of one date). */
  readonly prices: PriceWindows;
  private readonly announced: Stmt;
  private readonly news: Stmt;
  private readonly calendar: Stmt;
  private readonly ex: ExchangeData;
  private readonly masterBand?: Stmt;
  private observed?: Set<IsoDate>;
  /** The start of the news window (D − 30 days) of the last date read: one date for a whole batch. */
  private newsSince: { date: IsoDate; since: IsoDate } | undefined;

  constructor(
    readonly db: Db,
    readonly lookback: number,
  ) {
    this.prices = new PriceWindows(db, lookback);
    prepareResults(db);
    this.announced = db
      .prepare('SELECT announced_on FROM quarterly_results WHERE bse_code = ? AND announced_on < ? AND announced_on >= ? ORDER BY announced_on')
      .pluck(true);
    this.news = db.prepare('SELECT published_on, score FROM news_sentiment WHERE bse_code = ? AND published_on >= ? AND published_on < ?').raw(true);
    this.calendar = db.prepare('SELECT min(expected_on) FROM earnings_calendar WHERE bse_code = ? AND expected_on >= ?').pluck(true);
    // Exchange data (bands by date, observed hits, corporate actions): looked up once per connection.
    this.ex = exchangeData(db);
    if (this.ex.bands || this.ex.hits) {
      this.masterBand = db.prepare('SELECT circuit_band_pct FROM master_stock_list WHERE bse_code = ?').pluck(true);
    }
  }

  /** The sessions with an imported bh file (read once per reader). */
  private observedSessions(): Set<IsoDate> {
    return (this.observed ??= new Set(this.db.prepare('SELECT trade_date FROM circuit_hit_sessions').pluck().all() as IsoDate[]));
  }

  read(code: string, date: IsoDate): StockInputs {
    // The last `lookback` bars before D, oldest first (price-window.ts).
    const bars = this.prices.read(code, date);
    const n = bars.length;
    if (n > 0) {
      // Splits and bonuses in force for D (ex_date < D) adjust the bars before their ex-date.
      if (this.ex.actions) adjustBars(bars, actionsOf(this.db, code, bars.date[0], date));
      if (this.masterBand) {
        const bands = bandRowsOf(this.db, code, bars.date[0], date);
        const hits = observedUpperHitsOf(this.db, code, bars.date[0], date);
        const observed = this.ex.hits ? observedFor(this.db, code, this.observedSessions()) : new Set<IsoDate>();
        const master = (this.masterBand.get(code) as number | null | undefined) ?? null;
        bars.uc = upperHitFlags(bars.date, bars.close, n, bands, master, observed, hits);
      }
    }
    if (this.newsSince?.date !== date) this.newsSince = { date, since: addDays(date, -30) };
    const news = this.news.all(code, this.newsSince.since, date) as [string, number][];
    const results = readResults(this.db, code, date);
    // EPS is per share: divided for the splits and bonuses in force for D that came after its announcement (adjust.ts).
    if (this.ex.actions) adjustResultsOf(this.db, code, results, date);
    return {
      bars,
      results,
      announcements: n > 0 ? (this.announced.all(code, date, bars.date[0]) as string[]) : [],
      newsDates: news.map((r) => r[0]),
      newsScores: news.map((r) => r[1]),
      nextEarnings: (this.calendar.get(code, date) as string | null) ?? null,
    };
  }
}
