/**
 * One stock's price window: its last `lookback` bars before a date D, oldest
 * first, as typed arrays (raw prices: the caller adjusts them, inputs.ts).
 *
 * Why not `stmt.raw().all()`: better-sqlite3 builds one JS array per row
 * (≈ 1 µs per row, most of a batch's extraction time). Instead the rows go
 * through an application-defined aggregate whose step writes each row's values
 * straight into reusable typed arrays, so no row object is ever made. Two
 * statements, both on the primary key (bse_code, trade_date):
 *
 * - the general one, exactly the plain query's rows (same WHERE, ORDER BY and LIMIT):
 *     SELECT sf_price_window(trade_date, high, low, close, volume)
 *       FROM (SELECT … WHERE bse_code = ? AND trade_date < ? ORDER BY trade_date DESC LIMIT ?)
 *   Rows reach the step newest first (SQLite runs a LIMIT subquery as a
 *   co-routine in its own order); the step fills the buffers from the end and
 *   checks that each date is older than the one before. Should a future SQLite
 *   hand them over in another order, the window is sorted by date after the
 *   query (`WindowBuffer.take`), so the result never depends on it.
 * - the full-window one, for a reader that reads many stocks for one date:
 *     SELECT sf_price_values(high, low, close, volume) FROM daily_prices
 *       WHERE bse_code = ? AND trade_date >= S AND trade_date < D
 *   where S is the `lookback`-th last price session before D (the sessions are
 *   every distinct trade_date in daily_prices, read once per reader and date
 *   through the trade_date index). A stock's dates are sessions, so when it has
 *   `lookback` rows in [S, D) they are exactly those sessions: its window, whose
 *   dates are the session list itself (no date string per row, and four values
 *   per call, which better-sqlite3 passes without allocating). A stock with
 *   fewer rows there (a gap, a short history) is read again by the general
 *   statement. The rows come in primary-key order (ascending dates): the
 *   statement's plan is checked once per connection to be that one search,
 *   else only the general statement is used.
 *
 * The buffers belong to one connection (a better-sqlite3 handle lives on one
 * thread, and SQLite runs one statement of a connection at a time from JS), are
 * registered once per connection, and are only written while a read runs: the
 * aggregates refuse to run outside one (`directOnly`, and a step with no read
 * in progress throws), and a nested read is refused.
 *
 * Like the rest of the point-in-time reader, a `PriceWindows` reads one state
 * of market.db: the session list is kept for the reader's life (the server
 * makes a new reader when market.db's data_version changes, src/features/online.ts).
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { IsoDate } from './dates.js';

/** One stock's bars, oldest first. */
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

/** The aggregates' names on each connection (unlikely to clash with anything in market.db). */
export const PRICE_WINDOW_AGGREGATE = 'sf_price_window';
export const PRICE_VALUES_AGGREGATE = 'sf_price_values';

/**
 * A reader uses the full-window statement once it has read this many stocks for one date:
 * reading the session list costs about as much as a few stocks, worth it for a batch, not
 * for the server's one stock per request.
 */
export const FULL_WINDOW_AFTER_READS = 16;

/**
 * After this many full-window reads of a date, a reader whose full-window reads came short for more
 * than a third of the stocks (each then read twice) takes the general statement alone for that date.
 */
export const FULL_WINDOW_JUDGED_AFTER = 64;

/**
 * Reusable buffers for one window. General reads push rows newest first, landing
 * from the end of the buffers; full-window reads push values oldest first, from
 * the start. `take` copies the filled part out, oldest first.
 */
export class WindowBuffer {
  private date: string[] = [];
  private high = new Float64Array(0);
  private low = new Float64Array(0);
  private close = new Float64Array(0);
  private volume = new Float64Array(0);
  /** General reads: next free slot, counting down, the window is [k, capacity). Full-window reads: rows so far. */
  private k = 0;
  private capacity = 0;
  /** False once a row arrived that was not older than the one before it. */
  private newestFirst = true;
  private active = false;
  /** How many windows arrived in another order and were sorted after the query (0 in practice: tests check it). */
  sorted = 0;

  private start(capacity: number): void {
    if (this.active) throw new Error('price window: a read is already in progress on this connection');
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError(`price window: lookback ${capacity} is not a whole number of bars`);
    if (capacity > this.high.length) {
      this.date = new Array<string>(capacity);
      this.high = new Float64Array(capacity);
      this.low = new Float64Array(capacity);
      this.close = new Float64Array(capacity);
      this.volume = new Float64Array(capacity);
    }
    this.capacity = capacity;
    this.active = true;
  }

  /** Starts a general read of at most `capacity` rows, pushed newest first by `push`. */
  begin(capacity: number): void {
    this.start(capacity);
    this.k = capacity;
    this.newestFirst = true;
  }

  /** Starts a full-window read of at most `capacity` rows, pushed oldest first by `pushValues`. */
  beginValues(capacity: number): void {
    this.start(capacity);
    this.k = 0;
  }

  private check(): void {
    if (!this.active) throw new Error('price window: the aggregate runs only inside a point-in-time read');
  }

  /** One row of a general read (the aggregate's step). */
  push(date: string, high: number, low: number, close: number, volume: number): void {
    this.check();
    const k = this.k - 1;
    if (k < 0) throw new Error(`price window: more than ${this.capacity} rows`);
    if (k < this.capacity - 1 && !(date < this.date[k + 1])) this.newestFirst = false;
    this.date[k] = date;
    this.high[k] = high;
    this.low[k] = low;
    this.close[k] = close;
    this.volume[k] = volume;
    this.k = k;
  }

  /** One row of a full-window read (the aggregate's step): values only, oldest first. */
  pushValues(high: number, low: number, close: number, volume: number): void {
    this.check();
    const k = this.k;
    if (k >= this.capacity) throw new Error(`price window: more than ${this.capacity} rows`);
    this.high[k] = high;
    this.low[k] = low;
    this.close[k] = close;
    this.volume[k] = volume;
    this.k = k + 1;
  }

  /** Ends the read without a window (the query failed). */
  abort(): void {
    this.active = false;
  }

  /** Ends a general read: the window as fresh arrays, oldest first. */
  take(): Bars {
    this.active = false;
    const k = this.k;
    const end = this.capacity;
    const bars: Bars = {
      length: end - k,
      date: this.date.slice(k, end),
      high: this.high.slice(k, end),
      low: this.low.slice(k, end),
      close: this.close.slice(k, end),
      volume: this.volume.slice(k, end),
    };
    // Filled from the end in arrival order: oldest first when the rows came newest first.
    if (this.newestFirst) return bars;
    this.sorted++;
    return sortedByDate(bars);
  }

  /** Ends a full-window read: how many rows came. */
  rows(): number {
    this.active = false;
    return this.k;
  }

  /** After a full-window read of `dates.length` rows: the window as fresh arrays, with `dates` (copied). */
  takeValues(dates: readonly string[]): Bars {
    const n = dates.length;
    return { length: n, date: dates.slice(), high: this.high.slice(0, n), low: this.low.slice(0, n), close: this.close.slice(0, n), volume: this.volume.slice(0, n) };
  }
}

/** The same bars ordered by date (dates are unique: the primary key). */
function sortedByDate(b: Bars): Bars {
  const order = Array.from({ length: b.length }, (_, i) => i).sort((x, y) => (b.date[x] < b.date[y] ? -1 : b.date[x] > b.date[y] ? 1 : 0));
  const pick = (a: Float64Array): Float64Array => Float64Array.from(order, (i) => a[i]);
  return { length: b.length, date: order.map((i) => b.date[i]), high: pick(b.high), low: pick(b.low), close: pick(b.close), volume: pick(b.volume) };
}

type Stmt = Statement<unknown[]>;

interface Connection {
  buffer: WindowBuffer;
  general: Stmt;
  /** The full-window statement and the session look-up, or null when this market.db cannot take that path. */
  full: { values: Stmt; sessionBefore: Stmt } | null;
}

const connections = new WeakMap<Db, Connection>();

const FULL_WINDOW_SQL = `SELECT ${PRICE_VALUES_AGGREGATE}(high, low, close, volume) FROM daily_prices WHERE bse_code = ? AND trade_date >= ? AND trade_date < ?`;
const SESSION_BEFORE_SQL = 'SELECT max(trade_date) FROM daily_prices WHERE trade_date < ?';

/** The plan's steps (EXPLAIN QUERY PLAN), one string each. */
function planOf(db: Db, sql: string, params: unknown[]): string[] {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
}

/**
 * Whether the full-window path holds on this connection: the range statement is one search on the
 * primary key (rows in ascending date order, no sort, no other index), and the session look-up is
 * an index search (an index on trade_date: `MARKET_POST_LOAD_SQL`), not a scan of every row.
 */
function fullWindowHolds(db: Db): boolean {
  const range = planOf(db, FULL_WINDOW_SQL, ['', '', '']);
  const session = planOf(db, SESSION_BEFORE_SQL, ['']);
  return (
    range.length === 1 &&
    /^SEARCH daily_prices USING PRIMARY KEY \(bse_code=\? AND trade_date>\? AND trade_date<\?\)$/.test(range[0]) &&
    session.length === 1 &&
    /^SEARCH daily_prices USING (COVERING )?INDEX \S+ \(trade_date<\?\)$/.test(session[0]) &&
    (db.pragma('reverse_unordered_selects', { simple: true }) as number) === 0
  );
}

function connectionOf(db: Db): Connection {
  let c = connections.get(db);
  if (!c) {
    const buffer = new WindowBuffer();
    // Returning nothing leaves the (unused) accumulator as it is. The typings know only one argument per row.
    const step = (_acc: unknown, date: string, high: number, low: number, close: number, volume: number): void => {
      buffer.push(date, high, low, close, volume);
    };
    const stepValues = (_acc: unknown, high: number, low: number, close: number, volume: number): void => {
      buffer.pushValues(high, low, close, volume);
    };
    db.aggregate(PRICE_WINDOW_AGGREGATE, { start: 0, step: step as unknown as (total: number, next: number) => void, directOnly: true });
    db.aggregate(PRICE_VALUES_AGGREGATE, { start: 0, step: stepValues as unknown as (total: number, next: number) => void, directOnly: true });
    const general = db
      .prepare(
        `SELECT ${PRICE_WINDOW_AGGREGATE}(trade_date, high, low, close, volume) FROM
           (SELECT trade_date, high, low, close, volume FROM daily_prices WHERE bse_code = ? AND trade_date < ? ORDER BY trade_date DESC LIMIT ?)`,
      )
      .pluck(true);
    const full = fullWindowHolds(db) ? { values: db.prepare(FULL_WINDOW_SQL).pluck(true), sessionBefore: db.prepare(SESSION_BEFORE_SQL).pluck(true) } : null;
    connections.set(db, (c = { buffer, general, full }));
  }
  return c;
}

/** How many windows on `db` were not handed over newest first and had to be sorted (for tests). */
export function windowsSorted(db: Db): number {
  return connections.get(db)?.buffer.sorted ?? 0;
}

/**
 * The last `lookback` bars of `code` dated before `before`, oldest first, as
 * stored (unadjusted); fewer when the stock has fewer, none when it has none.
 * The general statement alone (one stock; `PriceWindows` for many).
 */
export function readPriceWindow(db: Db, code: string, before: IsoDate, lookback: number): Bars {
  const { buffer, general } = connectionOf(db);
  buffer.begin(lookback);
  try {
    general.get(code, before, lookback);
  } catch (e) {
    buffer.abort();
    throw e;
  }
  return buffer.take();
}

/** How many stocks a `PriceWindows` has read by each statement (for tests). */
export interface PriceWindowStats {
  /** Stocks read by the full-window statement alone. */
  full: number;
  /** Stocks read by the general statement (after a full-window read came short, or without one). */
  general: number;
  /** Full-window reads that came short (read again by the general statement). */
  short: number;
}

/**
 * The price windows of many stocks, `lookback` bars each (one per point-in-time reader):
 * the full-window statement where it holds, the general one otherwise (module comment).
 */
export class PriceWindows {
  private readonly conn: Connection;
  /** The date whose reads are being counted, and the last `lookback` sessions before it once read. */
  private date: IsoDate | undefined;
  private readsForDate = 0;
  private sessions: string[] | null = null;
  /** Full-window reads tried for the date, and how many came short. */
  private triesForDate = 0;
  private shortForDate = 0;
  readonly stats: PriceWindowStats = { full: 0, general: 0, short: 0 };

  constructor(
    readonly db: Db,
    readonly lookback: number,
  ) {
    this.conn = connectionOf(db);
  }

  /** The last `lookback` price sessions before `before`, oldest first, or null when there are fewer. */
  private sessionsBefore(before: IsoDate): string[] | null {
    const st = this.conn.full?.sessionBefore;
    if (!st || this.lookback === 0) return null;
    const out = new Array<string>(this.lookback);
    let d: string | null = before;
    for (let i = this.lookback - 1; i >= 0; i--) {
      d = st.get(d) as string | null;
      if (d === null) return null;
      out[i] = d;
    }
    return out;
  }

  read(code: string, before: IsoDate): Bars {
    if (before !== this.date) {
      this.date = before;
      this.readsForDate = 0;
      this.sessions = null;
      this.triesForDate = 0;
      this.shortForDate = 0;
    }
    if (++this.readsForDate === FULL_WINDOW_AFTER_READS) this.sessions = this.sessionsBefore(before);
    const sessions = this.sessions;
    if (sessions !== null && this.conn.full) {
      const { buffer } = this.conn;
      buffer.beginValues(this.lookback);
      try {
        this.conn.full.values.get(code, sessions[0], before);
      } catch (e) {
        buffer.abort();
        throw e;
      }
      this.triesForDate++;
      if (buffer.rows() === this.lookback) {
        this.stats.full++;
        return buffer.takeValues(sessions);
      }
      // A short window (a gap, a short history) is read again by the general statement. When that is the
      // case for more than a third of the stocks tried (a market of thinly traded stocks), trying first no
      // longer pays (a full-window read costs about 2/3 of a general one, measured on the demo market): the
      // rest of the date takes the general statement directly. Either way the bars are the same.
      this.stats.short++;
      this.shortForDate++;
      if (this.triesForDate >= FULL_WINDOW_JUDGED_AFTER && this.shortForDate * 3 > this.triesForDate) this.sessions = null;
    }
    this.stats.general++;
    return readPriceWindow(this.db, code, before, this.lookback);
  }
}
