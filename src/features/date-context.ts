/**
 * What every on-demand extraction for one prediction date shares: the
 * extraction context (as-of session, recent window) and the point-in-time
 * sector medians used for imputation. Building it reads the whole master list
 * and every quarterly result before the date (tens of milliseconds on 2,000
 * stocks, about half a second on 11,000), so the server builds it in a worker
 * thread (workers/date-context.ts) and caches it.
 */
import type { Db } from '../market/db.js';
import type { IsoDate } from '../market/dates.js';
import { isStockflowError } from '../errors.js';
import { extractionContext } from './context.js';
import { sectorMedians, type SectorMedians } from './financial.js';
import type { ExtractionContext } from './types.js';

export interface DateContext {
  ctx: ExtractionContext;
  medians: SectorMedians;
}

/**
 * The outcome of one build, as it crosses a thread boundary (structured clone
 * keeps the Map and the Float64Arrays; an Error would lose its kind): either
 * the context, or "no prices before the date" (the only expected failure).
 */
export type DateContextResult = { ok: true; value: DateContext } | { ok: false; kind: 'MISSING_INPUT'; message: string };

export function buildDateContext(db: Db, date: IsoDate): DateContextResult {
  try {
    return { ok: true, value: { ctx: extractionContext(db, date), medians: sectorMedians(db, date) } };
  } catch (e) {
    if (isStockflowError(e) && e.kind === 'MISSING_INPUT') return { ok: false, kind: 'MISSING_INPUT', message: e.message };
    throw e;
  }
}

/** The worker's task: which market file (and which opening of it) and which date. */
export interface DateContextTask {
  marketFile: string;
  /** Changes when the server reopens a replaced market.db: the worker reopens too. */
  generation: number;
  date: IsoDate;
}
