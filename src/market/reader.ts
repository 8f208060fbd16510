/**
 * Read-only queries on market.db that more than one stage needs: the master
 * list, the as-of session for a prediction date, and summary counts.
 * (Per-stock feature inputs are read by src/features/inputs.ts.)
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { IsoDate } from './dates.js';
import type { ResultRow } from './inputs.js';
import type { Stock } from './types.js';
import { isUpperCircuit } from './circuit.js';
import { addDays, isIsoDate } from './dates.js';
import { actionsBetween, actionsOf, adjustBars, adjustResults } from './adjust.js';
import { BandCursor, bandRowsOf, exchangeData, hitListCovers, isUpperHit, observedFor, observedSessions, observedUpperHits, observedUpperHitsOf, upperHitFlags } from './exchange.js';

export interface UniverseFilter {
  /** Only these codes (still ACTIVE ones). */
  codes?: string[];
  /** Only stocks with a result expected in [date, date + n days]. */
  earningsWithin?: { date: IsoDate; days: number };
  limit?: number;
}

const STOCK_COLUMNS = 'bse_code, nse_symbol, company_name, sector, status, market_cap_cr, circuit_band_pct, listed_on';

/** ACTIVE stocks, largest market cap first (ties and unknown caps by code). */
export function activeStocks(db: Db, filter: UniverseFilter = {}): Stock[] {
  const where = ["status = 'ACTIVE'"];
  const params: unknown[] = [];
  if (filter.codes && filter.codes.length > 0) {
    where.push(`bse_code IN (${filter.codes.map(() => '?').join(',')})`);
    params.push(...filter.codes);
  }
  if (filter.earningsWithin) {
    where.push(
      "EXISTS (SELECT 1 FROM earnings_calendar e WHERE e.bse_code = m.bse_code AND e.expected_on >= ? AND e.expected_on <= date(?, '+' || ? || ' days'))",
    );
    params.push(filter.earningsWithin.date, filter.earningsWithin.date, filter.earningsWithin.days);
  }
  let sql = `SELECT ${STOCK_COLUMNS} FROM master_stock_list m WHERE ${where.join(' AND ')}
             ORDER BY market_cap_cr IS NULL, market_cap_cr DESC, bse_code`;
  if (filter.limit !== undefined) {
    sql += ' LIMIT ?';
    params.push(filter.limit);
  }
  return db.prepare(sql).all(...params) as Stock[];
}

const byCodeStatements = new WeakMap<Db, Statement<unknown[]>>();

/** One stock of the master list (any status); the statement is prepared once per connection. */
export function stockByCode(db: Db, code: string): Stock | undefined {
  let st = byCodeStatements.get(db);
  if (!st) byCodeStatements.set(db, (st = db.prepare(`SELECT ${STOCK_COLUMNS} FROM master_stock_list WHERE bse_code = ?`)));
  return st.get(code) as Stock | undefined;
}

const byNseSymbolStatements = new WeakMap<Db, Statement<unknown[]>>();

/**
 * The key of the stock whose NSE symbol is `symbol`, compared case-insensitively (the API's look-up by
 * symbol; NSE-only securities have keys '0' + 5 digits). An active stock first, then the smallest key.
 */
export function codeOfNseSymbol(db: Db, symbol: string): string | undefined {
  let st = byNseSymbolStatements.get(db);
  if (!st) {
    st = db.prepare("SELECT bse_code FROM master_stock_list WHERE nse_symbol = ? COLLATE NOCASE ORDER BY status <> 'ACTIVE', bse_code LIMIT 1").pluck();
    byNseSymbolStatements.set(db, st);
  }
  return st.get(symbol) as string | undefined;
}

/** The latest session with any price before `date` (the market-wide as-of session), or undefined. */
export function latestSessionBefore(db: Db, date: IsoDate): IsoDate | undefined {
  const r = db.prepare('SELECT max(trade_date) AS d FROM daily_prices WHERE trade_date < ?').get(date) as { d: string | null };
  return r.d ?? undefined;
}

/** Whether the master list can be read (the server's health check): throws what SQLite says when it cannot. */
export function masterListReadable(db: Db): boolean {
  db.prepare('SELECT 1 FROM master_stock_list LIMIT 1').get();
  return true;
}

/** The last session with any price, or undefined for an empty market. */
export function lastSession(db: Db): IsoDate | undefined {
  return latestSessionBefore(db, '9999-12-31');
}

/**
 * One sequential pass over the price rows dated in [from, to] (the `+` keeps
 * it a plain table scan, no index): the benchmark's floor, what SQLite needs
 * to read the rows the extraction reads once. Raw rows, no adjustment: it
 * feeds no feature or label, only the floor figure.
 */
export function scanPrices(db: Db, from: IsoDate, to: IsoDate): { rows: number; checksum: number } {
  const r = db
    .prepare('SELECT count(*) AS rows, sum(high + low + close + volume) AS checksum FROM daily_prices WHERE +trade_date BETWEEN ? AND ?')
    .get(from, to) as { rows: number; checksum: number | null };
  return { rows: r.rows, checksum: r.checksum ?? 0 };
}

/** Every session with prices, oldest first. */
export function priceSessions(db: Db): IsoDate[] {
  return db.prepare('SELECT DISTINCT trade_date FROM daily_prices ORDER BY trade_date').pluck().all() as string[];
}

/** Every ACTIVE stock of the master list as [bse_code, sector, market_cap_cr], in code order. */
export function activeStockRows(db: Db): [string, string, number | null][] {
  return db.prepare("SELECT bse_code, sector, market_cap_cr FROM master_stock_list WHERE status = 'ACTIVE' ORDER BY bse_code").raw(true).all() as [
    string,
    string,
    number | null,
  ][];
}

/**
 * The stocks whose EPS adjustment for `date` forEachActiveResults might not reproduce from the
 * point-in-time reader's (which asks actionsOf for ex_date < date, where forEachActiveResults
 * takes ex_date <= the day before): an action before `date` whose ex_date is not a canonical
 * calendar date, or two on one ex_date (their factors' product could be taken in another order).
 */
export function oddActionCodes(db: Db, date: IsoDate): Set<string> {
  const out = new Set<string>();
  if (!exchangeData(db).actions) return out;
  const rows = db.prepare('SELECT bse_code, ex_date FROM corporate_actions WHERE ex_date < ? ORDER BY bse_code, ex_date').raw(true).all(date) as [string, string][];
  for (let i = 0; i < rows.length; i++) {
    const [code, ex] = rows[i];
    if (!isCalendarDate(ex) || (i > 0 && rows[i - 1][0] === code && rows[i - 1][1] === ex)) out.add(code);
  }
  return out;
}

/** YYYY-MM-DD naming a real calendar day (isIsoDate) of year 1000 or later. */
export function isCalendarDate(d: string): boolean {
  return d[0] !== '0' && isIsoDate(d);
}

/** Stocks per range query of {@link forEachActiveResults}: bounds the rows held at once, whatever the universe. */
export const RESULTS_BLOCK_STOCKS = 2000;

/**
 * Every ACTIVE stock's sector and market cap with its results announced before
 * `date` (for sector medians), one stock at a time, in code order; a stock's
 * results in period order, their EPS adjusted for the splits and bonuses in force
 * for D as the point-in-time reader adjusts them (adjust.ts). The results are read block by block (one range scan
 * of the primary key per RESULTS_BLOCK_STOCKS stocks), so memory stays flat as
 * the universe grows. With `only`, just the ACTIVE stocks in it (the batch's
 * stocks whose median inputs its workers could not give, src/features/service.ts).
 */
export function forEachActiveResults(
  db: Db,
  date: IsoDate,
  fn: (stock: { bse_code: string; sector: string; market_cap_cr: number | null }, results: ResultRow[]) => void,
  block = RESULTS_BLOCK_STOCKS,
  only?: ReadonlySet<string>,
): void {
  let stocks = activeStockRows(db);
  // `only`: those of the ACTIVE stocks, read one stock per query (the same query, from the code to itself):
  // a few stocks scattered over the universe, whose range would cover the rows of every stock between them.
  if (only) {
    stocks = stocks.filter((s) => only.has(s[0]));
    block = 1;
  }
  // Only the results of the stock's last six quarters (by period, among those announced before D): the financial
  // features look back at most five quarters from the latest (src/features/financial.ts), so older rows change nothing.
  // The cut is the first day of the latest period's quarter minus 15 months; a period_end SQLite cannot read as a
  // date keeps every row of its stock.
  const range = db
    .prepare(
      `WITH l AS (
         SELECT bse_code, date(max(period_end), 'start of month', printf('-%d months', (CAST(substr(max(period_end), 6, 2) AS INTEGER) + 2) % 3 + 15)) AS since
           FROM quarterly_results WHERE bse_code >= ? AND bse_code <= ? AND announced_on < ? GROUP BY bse_code)
       SELECT r.bse_code, r.period_end, r.announced_on, r.revenue_cr, r.net_profit_cr, r.eps
         FROM l JOIN quarterly_results r ON r.bse_code = l.bse_code AND (l.since IS NULL OR r.period_end >= l.since)
        WHERE r.announced_on < ? ORDER BY r.bse_code, r.period_end`,
    )
    .raw(true);
  // EPS per share, adjusted as the point-in-time reader does (adjust.ts): the actions in force for D (ex_date < D).
  const actions = actionsBetween(db, '0000-00-00', addDays(date, -1));
  for (let a = 0; a < stocks.length; a += block) {
    const part = stocks.slice(a, a + block);
    const rows = range.all(part[0][0], part[part.length - 1][0], date, date) as [string, string, string, number | null, number | null, number | null][];
    const byCode = new Map<string, ResultRow[]>();
    for (const r of rows) {
      let list = byCode.get(r[0]);
      if (!list) byCode.set(r[0], (list = []));
      list.push({ period_end: r[1], announced_on: r[2], revenue_cr: r[3], net_profit_cr: r[4], eps: r[5] });
    }
    for (const [bse_code, sector, market_cap_cr] of part) {
      const results = byCode.get(bse_code) ?? [];
      if (actions.size > 0 && results.length > 0) adjustResults(results, actions.get(bse_code) ?? []);
      fn({ bse_code, sector, market_cap_cr }, results);
    }
  }
}

/** The exchange holidays in market_holidays. */
export function holidays(db: Db): IsoDate[] {
  return db.prepare('SELECT holiday_on FROM market_holidays').pluck().all() as string[];
}

/** The number of distinct sessions with prices before `date` (bounded, for history checks). */
export function sessionCountBefore(db: Db, date: IsoDate, atMost: number): number {
  const r = db
    .prepare('SELECT count(*) AS n FROM (SELECT DISTINCT trade_date FROM daily_prices WHERE trade_date < ? ORDER BY trade_date DESC LIMIT ?)')
    .get(date, atMost) as { n: number };
  return r.n;
}

export interface MarketInfo {
  stocks: number;
  active: number;
  suspended: number;
  delisted: number;
  priceRows: number;
  firstSession: IsoDate | null;
  lastSession: IsoDate | null;
  results: number;
  calendar: number;
  news: number;
  holidays: number;
}

export function marketInfo(db: Db): MarketInfo {
  const one = <T>(sql: string): T => db.prepare(sql).get() as T;
  const status = db.prepare('SELECT status, count(*) AS n FROM master_stock_list GROUP BY status').all() as { status: string; n: number }[];
  const by = (s: string): number => status.find((r) => r.status === s)?.n ?? 0;
  const range = one<{ a: string | null; b: string | null }>('SELECT min(trade_date) AS a, max(trade_date) AS b FROM daily_prices');
  return {
    stocks: status.reduce((a, r) => a + r.n, 0),
    active: by('ACTIVE'),
    suspended: by('SUSPENDED'),
    delisted: by('DELISTED'),
    priceRows: one<{ n: number }>('SELECT count(*) AS n FROM daily_prices').n,
    firstSession: range.a,
    lastSession: range.b,
    results: one<{ n: number }>('SELECT count(*) AS n FROM quarterly_results').n,
    calendar: one<{ n: number }>('SELECT count(*) AS n FROM earnings_calendar').n,
    news: one<{ n: number }>('SELECT count(*) AS n FROM news_sentiment').n,
    holidays: one<{ n: number }>('SELECT count(*) AS n FROM market_holidays').n,
  };
}

/** The first `n` sessions with prices on or after `date`, oldest first (fewer when the market has not reached them). */
export function sessionsFrom(db: Db, date: IsoDate, n: number): IsoDate[] {
  return db.prepare('SELECT DISTINCT trade_date FROM daily_prices WHERE trade_date >= ? ORDER BY trade_date LIMIT ?').pluck().all(date, n) as string[];
}

/**
 * Stocks with an upper-circuit hit on a session in (from, to], each with the
 * first such session: the truth for training labels and realised outcomes.
 * `from` is the session whose close the first move starts from (a prediction
 * date's as-of session). A session a stock did not trade is skipped: its next
 * close is judged from its last close before.
 *
 * Which sessions are hits (docs/exchange-files.md, "What the readers derive"):
 * on a session whose bh file was imported (circuit_hit_sessions) the
 * exchange's list says (circuit_hits, upper side); elsewhere the rule in
 * circuit.ts, from the previous close adjusted for the splits and bonuses with
 * an ex-date in the window (adjust.ts), with the band in force on that session
 * (price_bands, else the master list's band; No Band: never). A market without
 * exchange rows takes the plain path: the master list's band on the raw closes.
 */
export function upperCircuitHits(db: Db, from: IsoDate, to: IsoDate): Map<string, IsoDate> {
  const rows = db
    .prepare(
      `SELECT p.bse_code, p.trade_date, p.close, m.circuit_band_pct FROM daily_prices p JOIN master_stock_list m ON m.bse_code = p.bse_code
        WHERE p.trade_date >= ? AND p.trade_date <= ? ORDER BY p.bse_code, p.trade_date`,
    )
    .raw(true)
    .all(from, to) as [string, string, number, number | null][];
  const hits = new Map<string, IsoDate>();
  const ex = exchangeData(db);
  if (!ex.bands && !ex.hits && !ex.actions) {
    for (let i = 1; i < rows.length; i++) {
      const [code, date, close, band] = rows[i];
      if (rows[i - 1][0] !== code || hits.has(code) || band === null) continue;
      if (isUpperCircuit(rows[i - 1][2], close, band)) hits.set(code, date);
    }
    return hits;
  }
  const actions = actionsBetween(db, from, to);
  const beforeEnd = addDays(to, 1);
  const observed = observedSessions(db, addDays(from, 1), to);
  const observedHits = observedUpperHits(db, addDays(from, 1), to);
  const covers = hitListCovers(db);
  for (let start = 0; start < rows.length; ) {
    const code = rows[start][0];
    let end = start + 1;
    while (end < rows.length && rows[end][0] === code) end++;
    const n = end - start;
    const date = new Array<IsoDate>(n);
    const close = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      date[i] = rows[start + i][1];
      close[i] = rows[start + i][2];
    }
    adjustBars({ length: n, date, close }, actions.get(code) ?? []);
    const band = new BandCursor(bandRowsOf(db, code, from, beforeEnd), rows[start][3]);
    const listed = covers(code);
    for (let i = 0; i < n; i++) {
      const d = date[i];
      if (d <= from) continue;
      if (isUpperHit(i > 0 ? close[i - 1] : undefined, close[i], band.on(d), listed && observed.has(d), observedHits.has(`${code}|${d}`))) {
        hits.set(code, d);
        break;
      }
    }
    start = end;
  }
  return hits;
}

/** One session of a stock's price history for the dashboard: the close, its moving averages and whether it closed at the upper circuit. */
export interface CloseSession {
  date: IsoDate;
  close: number;
  /** Mean of the 50 (200) closes ending at this session; null until the stock has that many. */
  sma50: number | null;
  sma200: number | null;
  /** An upper-circuit day, judged as the features and outcomes judge it (the exchange's list where imported, else the rule on the band in force and the adjusted closes). */
  upper_circuit: boolean;
}

/**
 * A stock's last `n` sessions with a close on or before `to`, oldest first, with the 50- and
 * 200-session simple moving averages of its closes (read from the 199 closes before them too). Closes are adjusted for
 * the splits and bonuses in force after `to` (as a reader as of the next session sees them).
 */
export function closeHistory(db: Db, code: string, to: IsoDate, n: number): CloseSession[] {
  const rows = db
    .prepare('SELECT trade_date, close FROM daily_prices WHERE bse_code = ? AND trade_date <= ? ORDER BY trade_date DESC LIMIT ?')
    .raw(true)
    .all(code, to, n + 199) as [string, number][];
  rows.reverse();
  const band = (db.prepare('SELECT circuit_band_pct FROM master_stock_list WHERE bse_code = ?').pluck().get(code) as number | null | undefined) ?? null;
  const m = rows.length;
  const date = rows.map((r) => r[0]);
  const close = Float64Array.from(rows, (r) => r[1]);
  // The series every reader as of the session after `to` sees: splits and bonuses in force adjusted,
  // hits from the exchange's list where it covers a session, else the rule on the band in force that day.
  let flags: Uint8Array;
  if (m === 0) flags = new Uint8Array(0);
  else {
    const after = addDays(to, 1);
    adjustBars({ length: m, date, close }, actionsOf(db, code, date[0], after));
    const ex = exchangeData(db);
    const observed = observedFor(db, code, observedSessions(db, date[0], to));
    flags = upperHitFlags(date, close, m, ex.bands ? bandRowsOf(db, code, date[0], after) : [], band, observed, observedUpperHitsOf(db, code, date[0], after));
  }
  const sma = (i: number, w: number): number | null => {
    if (i + 1 < w) return null;
    let s = 0;
    for (let k = i - w + 1; k <= i; k++) s += close[k];
    return s / w;
  };
  const out: CloseSession[] = [];
  for (let i = Math.max(0, m - n); i < m; i++) {
    out.push({ date: date[i], close: close[i], sma50: sma(i, 50), sma200: sma(i, 200), upper_circuit: flags[i] === 1 });
  }
  return out;
}

/** The ACTIVE stocks of a sector (bse_code order). */
export function sectorCodes(db: Db, sector: string): string[] {
  return db.prepare("SELECT bse_code FROM master_stock_list WHERE sector = ? AND status = 'ACTIVE' ORDER BY bse_code").pluck().all(sector) as string[];
}
