/**
 * One stock's latest quarterly results for a prediction date D: at most 8
 * announced before D, newest period first (the point-in-time reader, inputs.ts).
 *
 * Like the price window (price-window.ts), the rows go through an aggregate
 * whose step makes each ResultRow as a plain JS object, instead of
 * better-sqlite3 building a row object per row (about half the cost of this
 * read):
 *
 *   SELECT sf_results(period_end, announced_on, revenue_cr, net_profit_cr, eps)
 *     FROM (SELECT … WHERE bse_code = ? AND announced_on < ? ORDER BY period_end DESC LIMIT 8)
 *
 * The subquery is the plain query. Rows arrive newest period first; the step
 * checks it, and the rows are sorted by period (newest first) after the query
 * should they ever come in another order. The sink belongs to one connection
 * and runs only inside a read (`directOnly`; a step outside a read throws).
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { IsoDate } from './dates.js';

export interface ResultRow {
  period_end: string;
  announced_on: string;
  revenue_cr: number | null;
  net_profit_cr: number | null;
  eps: number | null;
}

/** How many results the reader keeps per stock (the financial features look back at most 5 quarters). */
export const RESULTS_PER_STOCK = 8;

export const RESULTS_AGGREGATE = 'sf_results';

/** Collects one read's rows (newest period first). */
export class ResultSink {
  private rows: ResultRow[] = [];
  private newestFirst = true;
  private active = false;
  /** Reads whose rows came in another order and were sorted (0 in practice: tests check it). */
  sorted = 0;

  begin(): void {
    if (this.active) throw new Error('results: a read is already in progress on this connection');
    this.rows = [];
    this.newestFirst = true;
    this.active = true;
  }

  push(period_end: string, announced_on: string, revenue_cr: number | null, net_profit_cr: number | null, eps: number | null): void {
    if (!this.active) throw new Error(`results: ${RESULTS_AGGREGATE}() runs only inside a point-in-time read`);
    const n = this.rows.length;
    if (n > 0 && !(period_end < this.rows[n - 1].period_end)) this.newestFirst = false;
    this.rows.push({ period_end, announced_on, revenue_cr, net_profit_cr, eps });
  }

  abort(): void {
    this.active = false;
  }

  take(): ResultRow[] {
    this.active = false;
    const rows = this.rows;
    this.rows = [];
    if (this.newestFirst) return rows;
    this.sorted++;
    return rows.sort((a, b) => (a.period_end < b.period_end ? 1 : a.period_end > b.period_end ? -1 : 0));
  }
}

const connections = new WeakMap<Db, { sink: ResultSink; statement: Statement<unknown[]> }>();

function connectionOf(db: Db): { sink: ResultSink; statement: Statement<unknown[]> } {
  let c = connections.get(db);
  if (!c) {
    const sink = new ResultSink();
    const step = (_acc: unknown, periodEnd: string, announcedOn: string, revenue: number | null, profit: number | null, eps: number | null): void => {
      sink.push(periodEnd, announcedOn, revenue, profit, eps);
    };
    // The typings know only one argument per row; SQLite passes the five columns.
    db.aggregate(RESULTS_AGGREGATE, { start: 0, step: step as unknown as (total: number, next: number) => void, directOnly: true });
    const statement = db
      .prepare(
        `SELECT ${RESULTS_AGGREGATE}(period_end, announced_on, revenue_cr, net_profit_cr, eps) FROM
           (SELECT period_end, announced_on, revenue_cr, net_profit_cr, eps FROM quarterly_results
             WHERE bse_code = ? AND announced_on < ? ORDER BY period_end DESC LIMIT ${RESULTS_PER_STOCK})`,
      )
      .pluck(true);
    connections.set(db, (c = { sink, statement }));
  }
  return c;
}

/** Registers the aggregate and prepares the statement on `db` (once per connection). */
export function prepareResults(db: Db): void {
  connectionOf(db);
}

/** How many reads on `db` had their rows sorted after the query (for tests). */
export function resultsSorted(db: Db): number {
  return connections.get(db)?.sink.sorted ?? 0;
}

/** The results of `code` announced before `before`: the latest periods, newest first, at most RESULTS_PER_STOCK. */
export function readResults(db: Db, code: string, before: IsoDate): ResultRow[] {
  const { sink, statement } = connectionOf(db);
  sink.begin();
  try {
    statement.get(code, before);
  } catch (e) {
    sink.abort();
    throw e;
  }
  return sink.take();
}
