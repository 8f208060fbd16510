/**
 * Point-in-time adjustment for splits, consolidations and bonuses
 * (corporate_actions, docs/exchange-files.md "What the readers derive").
 *
 * market.db keeps prices as traded; the adjustment is applied when reading,
 * so an action imported late fixes history without rewriting it. The rule:
 * a reader as of session S applies every action with ex_date <= S (for a
 * prediction date D: ex_date < D), to the bars dated before its ex_date:
 * prices ÷ factor, volumes × factor. Several actions compound.
 *
 * `adjustBars` is the one function every reader of price history calls (the
 * point-in-time reader behind the batch, the server and training; the label
 * and outcome reader; `data check`).
 *
 * Per-share results too (`adjustResults`): a quarterly result's EPS is per
 * share, so a reader as of session S divides the EPS of every result announced
 * before an action's ex-date (announced_on < ex_date, ex_date <= S) by its
 * factor. The announcement date decides, not the period end: a result
 * announced on or after the ex-date already reports its EPS on the new share
 * count (Ind AS 33 / IAS 33 ¶64 restates per-share figures for a bonus or split
 * made after the period but before the results are approved), so dividing it
 * again would count the action twice. Revenue and profit are totals: untouched.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { IsoDate } from './dates.js';
import { exchangeData, type ExchangeData } from './exchange.js';

/** One action as the readers use it: its ex-date and its factor (new shares per old share). */
export interface PriceAction {
  ex_date: IsoDate;
  factor: number;
}

/** Columns adjustBars rewrites in place; any of the price and volume columns may be absent. */
export interface AdjustableBars {
  readonly length: number;
  readonly date: ArrayLike<string>;
  close: { [i: number]: number };
  open?: { [i: number]: number };
  high?: { [i: number]: number };
  low?: { [i: number]: number };
  volume?: { [i: number]: number };
}

/**
 * Applies `actions` to `bars` (oldest first) in place: bar i is divided (prices)
 * or multiplied (volume) by the product of the factors of every action with
 * ex_date > date[i]. The caller passes only the actions in force (ex_date <= its
 * as-of session). No actions: the bars are not touched at all.
 */
export function adjustBars(bars: AdjustableBars, actions: readonly PriceAction[]): void {
  if (actions.length === 0) return;
  const newestFirst = [...actions].sort((a, b) => (a.ex_date < b.ex_date ? 1 : a.ex_date > b.ex_date ? -1 : 0));
  const { open, high, low, close, volume } = bars;
  let k = 0;
  let f = 1;
  for (let i = bars.length - 1; i >= 0; i--) {
    const d = bars.date[i];
    while (k < newestFirst.length && newestFirst[k].ex_date > d) f *= newestFirst[k++].factor;
    if (f === 1) continue;
    close[i] /= f;
    if (open) open[i] /= f;
    if (high) high[i] /= f;
    if (low) low[i] /= f;
    if (volume) volume[i] *= f;
  }
}

/** Columns adjustResults rewrites in place (quarterly_results rows as the readers hold them). */
export interface AdjustableResult {
  readonly announced_on: string;
  eps: number | null;
}

/**
 * Applies `actions` (those in force for the reader: ex_date < D) to `results`
 * in place, in any order: each EPS is divided by the product of the factors of
 * every action with ex_date > its announced_on. A null EPS stays null; no
 * actions: nothing is touched.
 */
export function adjustResults(results: readonly AdjustableResult[], actions: readonly PriceAction[]): void {
  if (actions.length === 0) return;
  for (const r of results) {
    if (r.eps === null) continue;
    let f = 1;
    for (const a of actions) if (a.ex_date > r.announced_on) f *= a.factor;
    if (f !== 1) r.eps /= f;
  }
}

/**
 * One stock's results read for prediction date `before` (announced_on < before),
 * adjusted in place for the actions in force for it (ex_date < before) by
 * adjustResults. No query when the results are empty or market.db has no actions.
 */
export function adjustResultsOf(db: Db, code: string, results: readonly AdjustableResult[], before: IsoDate): void {
  if (results.length === 0 || !exchangeData(db).actions) return;
  let since = results[0].announced_on;
  for (const r of results) if (r.announced_on < since) since = r.announced_on;
  adjustResults(results, actionsOf(db, code, since, before));
}

/** Keyed by the connection's ExchangeData (exchange.ts): a refreshed connection prepares again. */
const statements = new WeakMap<ExchangeData, Statement<unknown[]> | null>();

/**
 * The actions of one stock in force for a reader as of the session before `before`
 * (ex_date < before) that touch bars on or after `since` (ex_date > since), oldest
 * first. Empty (and no query) when market.db has no corporate actions at all.
 */
export function actionsOf(db: Db, code: string, since: IsoDate, before: IsoDate): PriceAction[] {
  const ex = exchangeData(db);
  let st = statements.get(ex);
  if (st === undefined) {
    st = ex.actions ? db.prepare('SELECT ex_date, factor FROM corporate_actions WHERE bse_code = ? AND ex_date > ? AND ex_date < ? ORDER BY ex_date') : null;
    statements.set(ex, st);
  }
  return st === null ? [] : (st.all(code, since, before) as PriceAction[]);
}

/** Every stock's actions with since < ex_date <= until, by stock (oldest first); empty when there are none. */
export function actionsBetween(db: Db, since: IsoDate, until: IsoDate): Map<string, PriceAction[]> {
  const out = new Map<string, PriceAction[]>();
  if (!exchangeData(db).actions) return out;
  const rows = db
    .prepare('SELECT bse_code, ex_date, factor FROM corporate_actions WHERE ex_date > ? AND ex_date <= ? ORDER BY bse_code, ex_date')
    .all(since, until) as (PriceAction & { bse_code: string })[];
  for (const r of rows) {
    let l = out.get(r.bse_code);
    if (!l) out.set(r.bse_code, (l = []));
    l.push({ ex_date: r.ex_date, factor: r.factor });
  }
  return out;
}
