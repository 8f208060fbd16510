/**
 * `stockflow data check` (docs/exchange-files.md, "What the readers derive"):
 * what in market.db looks wrong, read-only.
 *
 *  - Suspect moves: a close beyond its band (the band in force that session)
 *    from the previous close by more than one tick, with no split or bonus
 *    explaining it (the previous close is adjusted by the actions with an
 *    ex-date in between; the move is judged after that). The classic missed
 *    split. A No Band session cannot be judged and is not checked.
 *  - Uncovered sessions: trading days the calendar expects (weekdays minus
 *    market_holidays) between the first and the last session with prices on
 *    which no price row exists at all.
 *  - Agreement: on the sessions whose bh file was imported, how often the rule
 *    (circuit.ts, band in force, adjusted closes) agrees with the exchange's
 *    list of upper hits.
 *
 * `exchangeInfo` is what `stockflow data info` shows of the exchange tables:
 * their counts, and this check's totals (the agreement above, and how many
 * suspect moves and uncovered sessions `data check` lists).
 */
import type { Db } from './db.js';
import { EXCHANGE_TABLES } from './db.js';
import { addDays, type IsoDate } from './dates.js';
import { TradingCalendar } from './calendar.js';
import { TICK } from './circuit.js';
import { actionsBetween, type PriceAction } from './adjust.js';
import { BandCursor, bandHistory, bandsInForce, exchangeData, hasRows, hitListCovers, isUpperHit, observedSessions, observedUpperHits, type BandRow } from './exchange.js';
import { priceSessions } from './reader.js';

export interface SuspectMove {
  bse_code: string;
  date: IsoDate;
  prev_date: IsoDate;
  prev_close: number;
  close: number;
  /** close ÷ previous close, as traded (raw). */
  ratio: number;
  /** The band in force that session, in percent. */
  band_pct: number;
  /** The factor of the actions with an ex-date in (prev_date, date] that were applied (1: none). */
  factor: number;
}

export interface HitAgreement {
  /** Sessions with an imported bh file (within the price range). */
  sessions: number;
  /** Price rows judged on those sessions (with a previous close). */
  judged: number;
  /** Both the rule and the exchange say upper hit. */
  agree: number;
  /** The rule says hit, the exchange's list does not. */
  onlyDerived: number;
  /** The exchange's list says hit, the rule does not. */
  onlyObserved: number;
  /** Listed by the exchange on a session the stock has no price row for. */
  observedWithoutPrice: number;
  /** The first disagreements (at most `limit`), by stock then date. */
  examples: { bse_code: string; date: IsoDate; kind: 'only_derived' | 'only_observed' }[];
}

export interface CheckReport {
  firstSession: IsoDate | null;
  lastSession: IsoDate | null;
  priceRows: number;
  suspectMoves: SuspectMove[];
  uncoveredSessions: IsoDate[];
  /** null when market.db has no observed hits (no bh file imported). */
  agreement: HitAgreement | null;
}

const EXAMPLES = 20;

/** Every finding over the whole of market.db (one pass over the price rows, in stock then date order). */
export function checkMarket(db: Db): CheckReport {
  const sessions = priceSessions(db);
  const first = sessions[0] ?? null;
  const last = sessions[sessions.length - 1] ?? null;
  const report: CheckReport = { firstSession: first, lastSession: last, priceRows: 0, suspectMoves: [], uncoveredSessions: [], agreement: null };
  if (first === null || last === null) return report;

  const have = new Set(sessions);
  report.uncoveredSessions = TradingCalendar.fromDb(db)
    .sessionsBetween(first, last)
    .filter((d) => !have.has(d));

  const ex = exchangeData(db);
  const actions = actionsBetween(db, '0000-00-00', last);
  const bands = bandHistory(db, last);
  const observed = observedSessions(db, first, last);
  const observedHits = observedUpperHits(db, first, last);
  const covers = hitListCovers(db);
  const agreement: HitAgreement | null = ex.hits
    ? { sessions: observed.size, judged: 0, agree: 0, onlyDerived: 0, onlyObserved: 0, observedWithoutPrice: 0, examples: [] }
    : null;
  const seenHits = new Set<string>();
  const noActions: PriceAction[] = [];
  const noBands: BandRow[] = [];

  let code = '';
  let stockActions = noActions;
  let cursor = new BandCursor(noBands, null);
  let prevDate = '';
  let prevClose = NaN;
  const rows = db
    .prepare(
      `SELECT p.bse_code, p.trade_date, p.close, m.circuit_band_pct FROM daily_prices p LEFT JOIN master_stock_list m ON m.bse_code = p.bse_code
        ORDER BY p.bse_code, p.trade_date`,
    )
    .raw(true)
    .iterate() as IterableIterator<[string, IsoDate, number, number | null]>;
  for (const [c, date, close, master] of rows) {
    report.priceRows++;
    const firstOfStock = c !== code;
    if (firstOfStock) {
      code = c;
      stockActions = actions.get(c) ?? noActions;
      // A stock's rows come in date order: its bands are walked once.
      cursor = new BandCursor(bands.get(c) ?? noBands, master ?? null);
    }
    const band = cursor.on(date);
    let adjPrev: number | undefined;
    let factor = 1;
    if (!firstOfStock) {
      for (const a of stockActions) if (a.ex_date > prevDate && a.ex_date <= date) factor *= a.factor;
      adjPrev = prevClose / factor;
      if (band !== null && adjPrev > 0) {
        const up = adjPrev * (1 + band / 100) + TICK;
        const down = adjPrev * (1 - band / 100) - TICK;
        if (close > up || close < down) {
          report.suspectMoves.push({ bse_code: c, date, prev_date: prevDate, prev_close: prevClose, close, ratio: close / prevClose, band_pct: band, factor });
        }
      }
    }
    if (agreement && observed.has(date) && covers(c)) {
      const key = `${c}|${date}`;
      const obs = observedHits.has(key);
      if (obs) seenHits.add(key);
      if (adjPrev !== undefined) {
        agreement.judged++;
        const derived = isUpperHit(adjPrev, close, band, false, false);
        if (derived && obs) agreement.agree++;
        else if (derived || obs) {
          const kind = derived ? 'only_derived' : 'only_observed';
          if (derived) agreement.onlyDerived++;
          else agreement.onlyObserved++;
          if (agreement.examples.length < EXAMPLES) agreement.examples.push({ bse_code: c, date, kind });
        }
      }
    }
    prevDate = date;
    prevClose = close;
  }
  if (agreement) {
    // A listed hit of a stock the list does not speak for (its bars are BSE's, --prefer bse) is not a hit without a price.
    for (const k of observedHits) if (!seenHits.has(k) && covers(k.slice(0, k.indexOf('|')))) agreement.observedWithoutPrice++;
    report.agreement = agreement;
  }
  return report;
}

/** Whether a report has findings that `data check --strict` fails on (suspect moves or uncovered sessions). */
export function hasFindings(r: CheckReport): boolean {
  return r.suspectMoves.length > 0 || r.uncoveredSessions.length > 0;
}

/** The exchange tables of market.db as `stockflow data info` reports them (counts, then the check's totals). */
export interface ExchangeInfo {
  /** Securities (keys) listed on each exchange, and on both (exchange_listings). */
  listings: { NSE: number; BSE: number; both: number };
  /** ISIN lineage: rows of security_isins, and keys with more than one ISIN (an ISIN change, e.g. a sub-division). */
  isins: { rows: number; changed: number };
  /** Bars as traded, by exchange (exchange_prices). */
  exchangeBars: { NSE: number; BSE: number };
  /**
   * The band in force at the last session with prices (the price_bands row with the greatest effective_from
   * on or before it), stocks per band ('No Band' for none), in band order; `withoutBandRows`: master-list
   * stocks with no price_bands row (the master's band applies).
   */
  bands: { session: IsoDate | null; byBand: { band: string; stocks: number }[]; withoutBandRows: number };
  /** Sessions with the exchange's list of hits (circuit_hit_sessions), their range, and the hits listed by side. */
  hits: { sessions: number; first: IsoDate | null; last: IsoDate | null; upper: number; lower: number };
  /** corporate_actions rows by kind. */
  actions: { split: number; consolidation: number; bonus: number };
  /** market_caps: dated rows, distinct dates and the latest. */
  marketCaps: { rows: number; dates: number; last: IsoDate | null };
  /** checkMarket's totals: derived vs observed hits (null without a list), suspect moves, uncovered sessions. */
  check: { agreement: HitAgreement | null; suspectMoves: number; uncoveredSessions: number };
}

const BAND_ORDER = ['2', '5', '10', '20', '40', 'No Band'];

/**
 * The exchange tables' counts and the check's totals; null (after one `LIMIT 1` probe per table) when no
 * exchange table holds a row, as in a generated, CSV-imported or older market.db. With exchange rows it makes
 * checkMarket's one pass over the price rows, the cost of `data check`.
 */
export function exchangeInfo(db: Db): ExchangeInfo | null {
  const present = new Set<string>(EXCHANGE_TABLES.filter((t) => hasRows(db, t)));
  if (present.size === 0) return null;
  const count = (t: string, sql: string): number => (present.has(t) ? (db.prepare(sql).pluck().get() as number) : 0);
  const byKey = <K extends string>(t: string, sql: string, keys: readonly K[]): Record<K, number> => {
    const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
    if (present.has(t)) for (const [k, n] of db.prepare(sql).raw(true).all() as [K, number][]) if (k in out) out[k] = n;
    return out;
  };

  const listings = {
    ...byKey('exchange_listings', 'SELECT exchange, count(DISTINCT bse_code) FROM exchange_listings GROUP BY exchange', ['NSE', 'BSE'] as const),
    both: count('exchange_listings', "SELECT count(*) FROM (SELECT bse_code FROM exchange_listings GROUP BY bse_code HAVING count(DISTINCT exchange) = 2)"),
  };
  const isins = {
    rows: count('security_isins', 'SELECT count(*) FROM security_isins'),
    changed: count('security_isins', 'SELECT count(*) FROM (SELECT bse_code FROM security_isins GROUP BY bse_code HAVING count(*) > 1)'),
  };
  const exchangeBars = byKey('exchange_prices', 'SELECT exchange, count(*) FROM exchange_prices GROUP BY exchange', ['NSE', 'BSE'] as const);

  const session = (db.prepare('SELECT max(trade_date) FROM daily_prices').pluck().get() as IsoDate | null) ?? null;
  const inForce = session !== null ? bandsInForce(db, addDays(session, 1)) : new Map<string, number | null>();
  const perBand = new Map<string, number>();
  for (const b of inForce.values()) {
    const k = b === null ? 'No Band' : String(b);
    perBand.set(k, (perBand.get(k) ?? 0) + 1);
  }
  const masterCodes = db.prepare('SELECT bse_code FROM master_stock_list').pluck().all() as string[];
  const bands = {
    session,
    byBand: [...perBand].sort((a, b) => BAND_ORDER.indexOf(a[0]) - BAND_ORDER.indexOf(b[0])).map(([band, stocks]) => ({ band, stocks })),
    withoutBandRows: masterCodes.filter((c) => !inForce.has(c)).length,
  };

  const range = present.has('circuit_hit_sessions')
    ? (db.prepare('SELECT count(*), min(trade_date), max(trade_date) FROM circuit_hit_sessions').raw(true).get() as [number, IsoDate | null, IsoDate | null])
    : ([0, null, null] as const);
  const sides = byKey('circuit_hits', 'SELECT side, count(*) FROM circuit_hits GROUP BY side', ['upper', 'lower'] as const);
  const hits = { sessions: range[0], first: range[1], last: range[2], upper: sides.upper, lower: sides.lower };

  const actions = byKey('corporate_actions', 'SELECT kind, count(*) FROM corporate_actions GROUP BY kind', ['split', 'consolidation', 'bonus'] as const);
  const caps = present.has('market_caps')
    ? (db.prepare('SELECT count(*), count(DISTINCT trade_date), max(trade_date) FROM market_caps').raw(true).get() as [number, number, IsoDate | null])
    : ([0, 0, null] as const);
  const marketCaps = { rows: caps[0], dates: caps[1], last: caps[2] };

  const r = checkMarket(db);
  return {
    listings,
    isins,
    exchangeBars,
    bands,
    hits,
    actions,
    marketCaps,
    check: { agreement: r.agreement, suspectMoves: r.suspectMoves.length, uncoveredSessions: r.uncoveredSessions.length },
  };
}
