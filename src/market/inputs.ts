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
import { bandRowsOf, exchangeData, observedFor, observedUpperHitsOf, upperHitFlags, type ExchangeData } from './exchange.js';

export interface Bars {
  length: number;
  date: string[];
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  /**
   * Per-bar upper-circuit hits (1 = hit) when market.db has exchange bands or
   * observed hits (src/market/exchange.ts); undefined otherwise, and the
   * features then judge the closes with the stock's one band, as before.
   */
  uc?: Uint8Array;
}

export interface ResultRow {
  period_end: string;
  announced_on: string;
  revenue_cr: number | null;
  net_profit_cr: number | null;
  eps: number | null;
}

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

type Stmt = Statement<unknown[]>;

/** Prepared statements for one connection (one per worker thread); `lookback` bars at most per stock. */
export class PointInTimeReader {
  private readonly prices: Stmt;
  private readonly results: Stmt;
  private readonly announced: Stmt;
  private readonly news: Stmt;
  private readonly calendar: Stmt;
  private readonly ex: ExchangeData;
  private readonly masterBand?: Stmt;
  private observed?: Set<IsoDate>;

  constructor(
    readonly db: Db,
    readonly lookback: number,
  ) {
    this.prices = db
      .prepare('SELECT trade_date, high, low, close, volume FROM daily_prices WHERE bse_code = ? AND trade_date < ? ORDER BY trade_date DESC LIMIT ?')
      .raw(true);
    this.results = db.prepare(
      'SELECT period_end, announced_on, revenue_cr, net_profit_cr, eps FROM quarterly_results WHERE bse_code = ? AND announced_on < ? ORDER BY period_end DESC LIMIT 8',
    );
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
    const rows = this.prices.all(code, date, this.lookback) as [string, number, number, number, number][];
    const n = rows.length;
    const bars: Bars = {
      length: n,
      date: new Array<string>(n),
      high: new Float64Array(n),
      low: new Float64Array(n),
      close: new Float64Array(n),
      volume: new Float64Array(n),
    };
    for (let i = 0; i < n; i++) {
      const r = rows[n - 1 - i]; // query is newest first; arrays are oldest first
      bars.date[i] = r[0];
      bars.high[i] = r[1];
      bars.low[i] = r[2];
      bars.close[i] = r[3];
      bars.volume[i] = r[4];
    }
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
    const news = this.news.all(code, addDays(date, -30), date) as [string, number][];
    const results = this.results.all(code, date) as ResultRow[];
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
