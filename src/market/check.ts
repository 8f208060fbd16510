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
 */
import type { Db } from './db.js';
import type { IsoDate } from './dates.js';
import { TradingCalendar } from './calendar.js';
import { TICK } from './circuit.js';
import { actionsBetween, type PriceAction } from './adjust.js';
import { bandHistory, bandOn, exchangeData, hitListCovers, isUpperHit, observedSessions, observedUpperHits, type BandRow } from './exchange.js';
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
  let stockBands = noBands;
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
      stockBands = bands.get(c) ?? noBands;
    }
    const band = bandOn(stockBands, date, master ?? null);
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
    for (const k of observedHits) if (!seenHits.has(k)) agreement.observedWithoutPrice++;
    report.agreement = agreement;
  }
  return report;
}

/** Whether a report has findings that `data check --strict` fails on (suspect moves or uncovered sessions). */
export function hasFindings(r: CheckReport): boolean {
  return r.suspectMoves.length > 0 || r.uncoveredSessions.length > 0;
}
