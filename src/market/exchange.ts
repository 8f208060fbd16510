/**
 * What the readers derive from the exchange tables (docs/exchange-files.md,
 * "What the readers derive"): the band in force on a session, and which
 * sessions are upper-circuit hits (the exchange's own list where it covers a
 * session, the rule in circuit.ts on the band in force and the adjusted closes
 * elsewhere).
 *
 * Generated and CSV-imported markets have none of these rows, and a market.db
 * made before the tables existed lacks them: `exchangeData` looks once per
 * connection, and every reader then takes exactly its old path (the same
 * values, byte for byte, and no extra query per stock).
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { hasTable } from './db.js';
import type { IsoDate } from './dates.js';
import { isUpperCircuit } from './circuit.js';

/** Which exchange tables hold rows on this connection (a missing table holds none). */
export interface ExchangeData {
  /** price_bands has rows: bands by date. */
  bands: boolean;
  /** circuit_hit_sessions has rows: observed hits. */
  hits: boolean;
  /** corporate_actions has rows: adjusted history. */
  actions: boolean;
}

const presence = new WeakMap<Db, ExchangeData>();

/** Whether `table` exists and holds a row (one `LIMIT 1` probe). */
export function hasRows(db: Db, table: string): boolean {
  return hasTable(db, table) && db.prepare(`SELECT 1 FROM ${table} LIMIT 1`).get() !== undefined;
}

/**
 * Looked up once per connection. A long-lived connection (the server's) calls
 * refreshExchangeData when another connection has committed to market.db
 * (marketDataVersion changed): the statements cached on the old answer go with it.
 */
export function exchangeData(db: Db): ExchangeData {
  let p = presence.get(db);
  if (!p) presence.set(db, (p = { bands: hasRows(db, 'price_bands'), hits: hasRows(db, 'circuit_hit_sessions'), actions: hasRows(db, 'corporate_actions') }));
  return p;
}

/** Forgets what exchangeData found on this connection: the next reader looks again. */
export function refreshExchangeData(db: Db): void {
  presence.delete(db);
}

/** The exchange whose bars daily_prices holds for a dual-listed stock (`data import-exchange --prefer`). */
export type PreferredExchange = 'NSE' | 'BSE';

/**
 * The preference the importer recorded in exchange_settings ('prefer'), or null when none was (a market.db
 * made before the table existed, or never imported from exchange files): the readers then take NSE.
 */
export function recordedPreference(db: Db): PreferredExchange | null {
  if (!hasTable(db, 'exchange_settings')) return null;
  const v = db.prepare("SELECT value FROM exchange_settings WHERE name = 'prefer'").pluck().get() as string | undefined;
  return v === 'NSE' || v === 'BSE' ? v : null;
}

const covered = new WeakMap<ExchangeData, ReadonlySet<string> | null>();
const EMPTY: ReadonlySet<IsoDate> = new Set();

/**
 * Whether the exchange's lists of hits speak for a stock: it has a listing on an exchange that published
 * them (NSE's bh files; a BSE-only security is not in them, and their silence is not "no hit"), and its bars
 * are that exchange's. With the preference recorded as BSE (`--prefer bse`), a dual-listed stock (a BSE
 * listing with BSE bars in exchange_prices) has BSE's bars in daily_prices: NSE's list does not speak for
 * them, and its hits are derived from those closes with the band in force. A market whose exchange_listings
 * is empty (hits written without the importer) is covered throughout. Looked up once per connection.
 */
export function hitListCovers(db: Db): (code: string) => boolean {
  const ex = exchangeData(db);
  let set = covered.get(ex);
  if (set === undefined) {
    if (ex.hits && hasRows(db, 'exchange_listings')) {
      const listed = 'SELECT DISTINCT bse_code FROM exchange_listings WHERE exchange IN (SELECT DISTINCT exchange FROM circuit_hit_sessions)';
      const bseBars =
        recordedPreference(db) === 'BSE' && hasTable(db, 'exchange_prices')
          ? ` AND bse_code NOT IN (SELECT l.bse_code FROM exchange_listings l WHERE l.exchange = 'BSE'
                AND EXISTS (SELECT 1 FROM exchange_prices p WHERE p.bse_code = l.bse_code AND p.exchange = 'BSE'))`
          : '';
      set = new Set(db.prepare(listed + bseBars).pluck().all() as string[]);
    } else set = null;
    covered.set(ex, set);
  }
  const s = set;
  return s === null ? () => true : (code) => s.has(code);
}

/** The observed sessions that speak for `code` (hitListCovers): all of them, or none. */
export function observedFor(db: Db, code: string, observed: ReadonlySet<IsoDate>): ReadonlySet<IsoDate> {
  return observed.size === 0 || hitListCovers(db)(code) ? observed : EMPTY;
}

/** A stock's band changes, oldest first: [effective_from, band_pct (null = No Band)]. */
export type BandRow = readonly [IsoDate, number | null];

/**
 * The band in force on dates asked in ascending order: the row with the greatest effective_from <= date,
 * else `fallback` (master_stock_list.circuit_band_pct). One pass over a stock's rows however many dates are
 * asked (an imported market has a band row per stock per sec_list): every reader that judges a stock's bars
 * one after the other walks its bands with one of these.
 */
export class BandCursor {
  private at = -1;
  constructor(
    private readonly rows: readonly BandRow[],
    private readonly fallback: number | null,
  ) {}

  /** The band in force on `date`, which is not before the date asked last. */
  on(date: IsoDate): number | null {
    const rows = this.rows;
    while (this.at + 1 < rows.length && rows[this.at + 1][0] <= date) this.at++;
    return this.at >= 0 ? rows[this.at][1] : this.fallback;
  }
}

/**
 * The band in force for a prediction date D (at its as-of session: the row with
 * the greatest effective_from < D) for every stock that has band rows; a stock
 * absent from the map has the master list's band.
 */
export function bandsInForce(db: Db, before: IsoDate): Map<string, number | null> {
  const out = new Map<string, number | null>();
  if (!exchangeData(db).bands) return out;
  // One pass in key order; SQLite takes a bare column (band_pct) from the row that gives the max().
  const rows = db
    .prepare('SELECT bse_code, band_pct, max(effective_from) FROM price_bands WHERE effective_from < ? GROUP BY bse_code')
    .raw(true)
    .all(before) as [string, number | null, string][];
  for (const [code, band] of rows) out.set(code, band);
  return out;
}

/** Keyed by the connection's ExchangeData: a refreshed connection prepares again. */
const oneBand = new WeakMap<ExchangeData, Statement<unknown[]> | null>();

/** One stock's band in force for prediction date `before` (as bandsInForce), or undefined when it has no band rows. */
export function bandInForce(db: Db, code: string, before: IsoDate): number | null | undefined {
  const ex = exchangeData(db);
  let st = oneBand.get(ex);
  if (st === undefined) {
    st = ex.bands
      ? db.prepare('SELECT band_pct FROM price_bands WHERE bse_code = ? AND effective_from < ? ORDER BY effective_from DESC LIMIT 1').raw(true)
      : null;
    oneBand.set(ex, st);
  }
  if (st === null) return undefined;
  const r = st.get(code, before) as [number | null] | undefined;
  return r === undefined ? undefined : r[0];
}

const rowsOf = new WeakMap<ExchangeData, Statement<unknown[]> | null>();

/**
 * One stock's band rows that matter for sessions in [since, before): the last row
 * in force on `since` and the changes after it, oldest first (two index seeks, however
 * long the history). Empty when market.db has no bands.
 */
export function bandRowsOf(db: Db, code: string, since: IsoDate, before: IsoDate): BandRow[] {
  const ex = exchangeData(db);
  let st = rowsOf.get(ex);
  if (st === undefined) {
    st = ex.bands
      ? db
          .prepare(
            `SELECT effective_from, band_pct FROM price_bands WHERE bse_code = ? AND effective_from < ?
                AND effective_from >= coalesce((SELECT max(effective_from) FROM price_bands WHERE bse_code = ? AND effective_from <= ?), '')
              ORDER BY effective_from`,
          )
          .raw(true)
      : null;
    rowsOf.set(ex, st);
  }
  return st === null ? [] : (st.all(code, before, code, since) as BandRow[]);
}

/**
 * Every stock's band changes with effective_from <= until, oldest first (the whole history: data check).
 * A row that repeats the band before it is left out: the band in force on any date (BandCursor) is the same,
 * and an imported market has a row per stock per sec_list, nearly all repeats.
 */
export function bandHistory(db: Db, until: IsoDate): Map<string, BandRow[]> {
  const out = new Map<string, BandRow[]>();
  if (!exchangeData(db).bands) return out;
  const rows = db
    .prepare('SELECT bse_code, effective_from, band_pct FROM price_bands WHERE effective_from <= ? ORDER BY bse_code, effective_from')
    .raw(true)
    .iterate(until) as IterableIterator<[string, IsoDate, number | null]>;
  let code = '';
  let l: BandRow[] = [];
  for (const [c, from, band] of rows) {
    if (c !== code) {
      code = c;
      out.set(c, (l = []));
    } else if (l[l.length - 1][1] === band) continue;
    l.push([from, band]);
  }
  return out;
}

/** The sessions in [from, to] whose bh file was imported (their circuit_hits rows are the truth). */
export function observedSessions(db: Db, from: IsoDate, to: IsoDate): Set<IsoDate> {
  if (!exchangeData(db).hits) return new Set();
  return new Set(db.prepare('SELECT trade_date FROM circuit_hit_sessions WHERE trade_date >= ? AND trade_date <= ?').pluck().all(from, to) as IsoDate[]);
}

/** The exchange's upper hits dated in [from, to], as `code|date` keys. */
export function observedUpperHits(db: Db, from: IsoDate, to: IsoDate): Set<string> {
  if (!exchangeData(db).hits || !hasTable(db, 'circuit_hits')) return new Set();
  const rows = db
    .prepare("SELECT bse_code, trade_date FROM circuit_hits WHERE side = 'upper' AND trade_date >= ? AND trade_date <= ?")
    .raw(true)
    .all(from, to) as [string, IsoDate][];
  return new Set(rows.map(([c, d]) => `${c}|${d}`));
}

const hitStatements = new WeakMap<ExchangeData, Statement<unknown[]> | null>();

/** One stock's upper hits on the exchange's list dated in [since, before); empty (and no query) when no list was imported. */
export function observedUpperHitsOf(db: Db, code: string, since: IsoDate, before: IsoDate): Set<IsoDate> {
  const ex = exchangeData(db);
  let st = hitStatements.get(ex);
  if (st === undefined) {
    st = ex.hits ? db.prepare("SELECT trade_date FROM circuit_hits WHERE bse_code = ? AND side = 'upper' AND trade_date >= ? AND trade_date < ?").pluck(true) : null;
    hitStatements.set(ex, st);
  }
  return st === null ? new Set() : new Set(st.all(code, since, before) as IsoDate[]);
}

/**
 * Whether bar i of one stock is an upper-circuit hit: on an observed session,
 * whether the exchange listed it (`observedHit`); elsewhere the rule in
 * circuit.ts from the previous (adjusted) close, with the band in force on
 * that bar's date (none, No Band: never a hit). i = 0 has no previous close:
 * only an observed session can say.
 */
export function isUpperHit(
  prevClose: number | undefined,
  close: number,
  band: number | null,
  observed: boolean,
  observedHit: boolean,
): boolean {
  if (observed) return observedHit;
  if (prevClose === undefined || band === null) return false;
  return isUpperCircuit(prevClose, close, band);
}

/**
 * Per-bar upper-hit flags of one stock's bars (oldest first; closes already
 * adjusted), by isUpperHit. Bar 0 is always 0: the features never judge the
 * first loaded bar (it has no previous close in the window).
 */
export function upperHitFlags(
  dates: ArrayLike<IsoDate>,
  close: ArrayLike<number>,
  n: number,
  bands: readonly BandRow[],
  masterBand: number | null,
  observed: ReadonlySet<IsoDate>,
  observedHits: ReadonlySet<IsoDate>,
): Uint8Array {
  const flags = new Uint8Array(n);
  const band = new BandCursor(bands, masterBand);
  for (let i = 1; i < n; i++) {
    const d = dates[i];
    if (isUpperHit(close[i - 1], close[i], band.on(d), observed.has(d), observedHits.has(d))) flags[i] = 1;
  }
  return flags;
}
