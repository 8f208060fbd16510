/**
 * A small hand-built market.db for the feature tests: the real schema
 * (`marketSchemaSql()`), and only the rows a test chooses to insert, so every
 * expected feature value can be worked out by hand from those rows.
 *
 * Dates are plain weekday arithmetic here (no holidays unless a test adds
 * them), deliberately independent of src/market/calendar.ts.
 */
import Database from 'better-sqlite3';
import { EXCHANGE_TABLES, MARKET_POST_LOAD_SQL, marketSchemaSql, type Db } from '../../src/market/db.js';

export interface FixtureStock {
  code: string;
  sector?: string;
  status?: 'ACTIVE' | 'SUSPENDED' | 'DELISTED';
  /** null = unknown market cap (log_market_cap is then missing). */
  marketCapCr?: number | null;
  /** The master list's band (default 20); null = No Band. */
  bandPct?: 2 | 5 | 10 | 20 | 40 | null;
  name?: string;
}

export interface FixtureBar {
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

const DAY_MS = 86_400_000;
const epochDay = (d: string): number => Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10))) / DAY_MS;
const isoOf = (e: number): string => new Date(e * DAY_MS).toISOString().slice(0, 10);

/** d + n calendar days. */
export function plusDays(d: string, n: number): string {
  return isoOf(epochDay(d) + n);
}

/** 0 = Sunday … 6 = Saturday. */
export function dayOfWeek(d: string): number {
  return new Date(epochDay(d) * DAY_MS).getUTCDay();
}

/** The `n` weekdays (minus `holidays`) ending at `last` inclusive, oldest first. */
export function weekdaysEnding(last: string, n: number, holidays: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  for (let d = last; out.length < n; d = plusDays(d, -1)) {
    const w = dayOfWeek(d);
    if (w !== 0 && w !== 6 && !holidays.has(d)) out.push(d);
  }
  return out.reverse();
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * A gently wavy, never-degenerate price series on `dates`: daily moves well
 * under 1% (so no accidental circuit in any band), high/low ±1 around the
 * close, open = previous close, a volume that varies with the day.
 */
export function wavyBars(dates: readonly string[], o: { base?: number; volume?: number; phase?: number } = {}): FixtureBar[] {
  const base = o.base ?? 100;
  const vol = o.volume ?? 10_000;
  const phase = o.phase ?? 0;
  const out: FixtureBar[] = [];
  let prev = base;
  dates.forEach((date, i) => {
    const close = round2(base + 6 * Math.sin((i + phase) / 9) + 0.02 * i);
    out.push({ date, open: prev, high: round2(Math.max(prev, close) + 1), low: round2(Math.min(prev, close) - 1), close, volume: vol + 1000 * ((i + phase) % 5) });
    prev = close;
  });
  return out;
}

/** The same bar for every date (no price movement at all). */
export function flatBars(dates: readonly string[], price = 50, volume = 1000): FixtureBar[] {
  return dates.map((date) => ({ date, open: price, high: price, low: price, close: price, volume }));
}

/** Writes a market.db row by row. */
export class MarketFixture {
  readonly db: Db;

  constructor(readonly file: string) {
    this.db = new Database(file);
    // A throwaway test file: no fsync per inserted row.
    this.db.pragma('journal_mode = MEMORY');
    this.db.pragma('synchronous = OFF');
    this.db.exec(marketSchemaSql());
  }

  stock(s: FixtureStock): this {
    this.db
      .prepare('INSERT INTO master_stock_list (bse_code, nse_symbol, company_name, sector, status, market_cap_cr, circuit_band_pct, listed_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(s.code, `S${s.code}`, s.name ?? `Company ${s.code}`, s.sector ?? 'Alpha', s.status ?? 'ACTIVE', s.marketCapCr === undefined ? 1000 : s.marketCapCr, s.bandPct === undefined ? 20 : s.bandPct, null);
    return this;
  }

  bars(code: string, bars: readonly FixtureBar[]): this {
    const ins = this.db.prepare('INSERT INTO daily_prices (bse_code, trade_date, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const b of bars) ins.run(code, b.date, b.open, b.high, b.low, b.close, b.volume);
    })();
    return this;
  }

  result(code: string, periodEnd: string, announcedOn: string, revenueCr: number | null, netProfitCr: number | null, eps: number | null): this {
    this.db
      .prepare('INSERT INTO quarterly_results (bse_code, period_end, announced_on, revenue_cr, net_profit_cr, eps) VALUES (?, ?, ?, ?, ?, ?)')
      .run(code, periodEnd, announcedOn, revenueCr, netProfitCr, eps);
    return this;
  }

  news(code: string, publishedOn: string, score: number, headline?: string): this {
    this.db
      .prepare('INSERT INTO news_sentiment (bse_code, published_on, score, headline) VALUES (?, ?, ?, ?)')
      .run(code, publishedOn, score, headline ?? `${code} ${publishedOn} ${score}`);
    return this;
  }

  expected(code: string, expectedOn: string): this {
    this.db.prepare('INSERT INTO earnings_calendar (bse_code, expected_on) VALUES (?, ?)').run(code, expectedOn);
    return this;
  }

  holiday(date: string, name = 'Holiday'): this {
    this.db.prepare('INSERT INTO market_holidays (holiday_on, name) VALUES (?, ?)').run(date, name);
    return this;
  }

  // ── exchange tables (what `data import-exchange` writes), filled directly by the read-side tests ──

  /** A price_bands row: `band` (null = No Band) in force from `effectiveFrom` on. */
  band(code: string, effectiveFrom: string, band: 2 | 5 | 10 | 20 | 40 | null, remarks: string | null = null): this {
    this.db.prepare('INSERT INTO price_bands (bse_code, effective_from, band_pct, remarks) VALUES (?, ?, ?, ?)').run(code, effectiveFrom, band, remarks);
    return this;
  }

  /** A session whose bh file was imported, with the listed stocks' hits (`codes`, upper side unless `side`). */
  hitSession(date: string, codes: readonly string[] = [], side: 'upper' | 'lower' = 'upper', exchange: 'NSE' | 'BSE' = 'NSE'): this {
    this.db.prepare('INSERT OR IGNORE INTO circuit_hit_sessions (trade_date, exchange) VALUES (?, ?)').run(date, exchange);
    const ins = this.db.prepare('INSERT INTO circuit_hits (bse_code, trade_date, side) VALUES (?, ?, ?)');
    for (const c of codes) ins.run(c, date, side);
    return this;
  }

  /** A corporate action: factor = new shares per old share (split 10→5: 2, BONUS 1:2: 1.5, a consolidation < 1). */
  action(code: string, exDate: string, kind: 'split' | 'consolidation' | 'bonus', factor: number, purpose = `${kind} ${factor}`): this {
    this.db
      .prepare('INSERT INTO corporate_actions (bse_code, ex_date, kind, factor, purpose, source) VALUES (?, ?, ?, ?, ?, ?)')
      .run(code, exDate, kind, factor, purpose, 'test');
    return this;
  }

  /** Drops the exchange tables: a market.db made before they existed. */
  dropExchangeTables(): this {
    for (const t of EXCHANGE_TABLES) this.db.exec(`DROP TABLE IF EXISTS ${t}`);
    return this;
  }

  close(): void {
    this.db.exec(MARKET_POST_LOAD_SQL);
    this.db.close();
  }
}
