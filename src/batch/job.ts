/**
 * A batch job as the CLI and the scheduler start it: take the lock, handle
 * SIGINT/SIGTERM, run one date (or a backfill of trading days), notify, and
 * turn the outcome into an exit code.
 */
import { existsSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import type { Config } from '../config.js';
import { EXIT_CODES, StockflowError } from '../errors.js';
import type { Logger } from '../log.js';
import { weekday, type IsoDate } from '../market/dates.js';
import { openMarketReadonly } from '../market/db.js';
import { TradingCalendar } from '../market/calendar.js';
import { PredictionsStore } from '../predictions/store.js';
import { loadScoringModel } from '../model/scoring-model.js';
import type { ScoringModel } from '../model/types.js';
import type { Progress } from './progress.js';
import { acquireBatchLock } from './lock.js';
import type { LockOwner } from '../util/lockfile.js';
import { runBatch, type BatchResult } from './run.js';
import { sendFailureNotice, sendRunNotifications } from './notice.js';

export interface JobFlags {
  codes?: string[];
  limit?: number;
  earningsWithin?: number;
  maxErrorRate: number;
  model?: string;
  allowStale?: boolean;
  wait?: boolean;
  notify: boolean;
  force?: boolean;
  /** `--explain`: three driver columns in the predictions CSV. */
  explain?: boolean;
}

export interface JobContext {
  cfg: Config;
  flags: JobFlags;
  log: Logger;
  progress?: Progress;
  /** Where the one-line summary goes (the CLI passes stdout: the batch itself prints nothing). */
  out: (line: string) => void;
  /** Where the one-line failure message of a run that exceeded its error budget goes (the CLI passes stderr; default: `out`). */
  err?: (line: string) => void;
}

/** Logs, once, that --wait is waiting for another batch (otherwise the wait is silent). */
const onLockWait =
  (log: Logger) =>
  (holder: LockOwner): void =>
    log.info({ holder }, 'waiting for another batch to finish (--wait)');

/** An AbortController tripped by SIGINT/SIGTERM for the life of `fn`. */
async function withSignals<T>(log: Logger, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  // The extraction pool adds one abort listener per task (100 stocks): no limit, no warning on stderr.
  setMaxListeners(0, ac.signal);
  const onSignal = (sig: NodeJS.Signals): void => {
    log.warn({ signal: sig }, 'stopping: finishing nothing half-done');
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(ac.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * One date under the lock. `model` is a model the caller loaded and will release (a backfill loads and
 * verifies its model once); without it the run loads its own and releases it when done.
 */
async function runLocked(date: IsoDate, c: JobContext, signal: AbortSignal, model?: ScoringModel): Promise<BatchResult> {
  const f = c.flags;
  let own: ScoringModel | undefined;
  const result = await runBatch({
    dataDir: c.cfg.dataDir,
    date,
    threads: c.cfg.threads,
    codes: f.codes,
    limit: f.limit,
    earningsWithin: f.earningsWithin,
    allowStale: f.allowStale,
    maxErrorRate: f.maxErrorRate,
    loadModel: async (log) => model ?? (own = await loadScoringModel(c.cfg, { explicit: f.model, log })),
    log: c.log,
    signal,
    progress: c.progress,
    csvDrivers: f.explain === true,
    modelsDir: c.cfg.modelsDir,
    psiThresholds: c.cfg.psi,
  }).finally(() => own?.release());
  if (f.notify) await sendRunNotifications(result, c.cfg, c.log.child({ runId: result.runId, date }));
  const out = c.out;
  const pct = (100 * result.skippedPct).toFixed(1);
  out(
    `${result.status === 'succeeded' ? 'ok' : 'FAILED (error budget)'} ${date} (as of ${result.asOf}): ${result.counts.processed} scored, ` +
      `${result.counts.skipped} skipped (${pct}%), ${result.counts.predictedUc} predicted upper circuit, ${result.counts.high} HIGH` +
      (result.scope === 'subset' ? ` [subset: ${result.selection ?? ''}]` : ''),
  );
  if (result.explanations.startsWith('unavailable')) out(`explanations ${result.explanations} (the run stores no drivers)`);
  if (!result.published) out(`not published: ${result.notPublished ?? ''}; this run's own files:`);
  out(`report:      ${result.paths.report}`);
  if (existsSync(result.paths.htmlReport)) out(`html report: ${result.paths.htmlReport}`);
  out(`predictions: ${result.paths.predictionsCsv}`);
  out(`skipped:     ${result.paths.skippedCsv}`);
  out(`database:    ${result.paths.database}`);
  return result;
}

/** Why D is not a trading day ('Saturday', 'an exchange holiday'), or undefined when it is one. */
export function notTradingReason(dataDir: string, date: IsoDate): string | undefined {
  const market = openMarketReadonly(dataDir);
  try {
    const cal = TradingCalendar.fromDb(market);
    if (cal.isTradingDay(date)) return undefined;
    return cal.isHoliday(date) ? 'an exchange holiday' : weekday(date) === 0 ? 'a Sunday' : 'a Saturday';
  } finally {
    market.close();
  }
}

export async function runOneDate(date: IsoDate, c: JobContext): Promise<number> {
  const why = c.flags.force ? undefined : notTradingReason(c.cfg.dataDir, date);
  if (why) {
    c.out(`${date} is ${why}, not a trading day: nothing to do (--force to run anyway)`);
    c.log.info({ date, reason: why }, 'not a trading day');
    return EXIT_CODES.OK;
  }
  const lock = await acquireBatchLock(c.cfg.dataDir, { wait: c.flags.wait, onWait: onLockWait(c.log) });
  try {
    return await withSignals(c.log, async (signal) => {
      const r = await runLocked(date, c, signal);
      if (r.status === 'budget_exceeded')
        (c.err ?? c.out)(
          `stockflow: error budget exceeded on ${date}: ${(100 * r.skippedPct).toFixed(1)}% of stocks skipped, limit ${(100 * c.flags.maxErrorRate).toFixed(1)}% ` +
            (r.published
              ? '(outputs written, run marked budget_exceeded)'
              : r.scope === 'subset'
                ? `(subset run: its own files written, the date's outputs unchanged, run marked budget_exceeded)`
                : `(the earlier succeeded outputs of ${date} were kept; this run's files are ${r.paths.predictionsCsv} and its report; run marked budget_exceeded)`),
        );
      return r.exitCode;
    });
  } catch (e) {
    const kind = e instanceof StockflowError ? e.kind : 'INTERNAL';
    if (c.flags.notify && kind !== 'INTERRUPTED' && kind !== 'BAD_ARGS') await sendFailureNotice(date, (e as Error).message, c.cfg, c.log);
    throw e;
  } finally {
    lock.release();
  }
}

/** Trading days in [from, to]: the prediction dates of a backfill. */
export function backfillDates(dataDir: string, from: IsoDate, to: IsoDate): IsoDate[] {
  const market = openMarketReadonly(dataDir);
  try {
    return TradingCalendar.fromDb(market).sessionsBetween(from, to);
  } finally {
    market.close();
  }
}


export async function runBackfill(from: IsoDate, to: IsoDate, c: JobContext): Promise<number> {
  const lock = await acquireBatchLock(c.cfg.dataDir, { wait: c.flags.wait, onWait: onLockWait(c.log) });
  try {
    const dates = backfillDates(c.cfg.dataDir, from, to);
    if (dates.length === 0) {
      c.log.info({ from, to }, 'no trading days in range');
      return EXIT_CODES.OK;
    }
    const model = await loadScoringModel(c.cfg, { explicit: c.flags.model, log: c.log });
    // Resume: a date whose completed run (PredictionsStore.completedRun, docs/runs.md) is of this model is done. Read-only.
    const store = PredictionsStore.openReadonlyIfExists(c.cfg.dataDir);
    const completed = (d: IsoDate): string | undefined =>
      store?.usable() ? store.completedRun(d, { name: model.name, version: model.version })?.run_id : undefined;
    let worst: number = EXIT_CODES.OK;
    const overBudget: IsoDate[] = [];
    return await withSignals(c.log, async (signal) => {
      for (const d of dates) {
        const doneRun = c.flags.force ? undefined : completed(d);
        if (doneRun !== undefined) {
          c.log.info({ date: d, model: model.version, completedRun: doneRun }, 'already complete, skipped (use --force to re-run)');
          continue;
        }
        if (signal.aborted) throw new StockflowError('INTERRUPTED', `interrupted before ${d}; completed dates are kept, re-run to resume`);
        const r = await runLocked(d, c, signal, model);
        worst = Math.max(worst, r.exitCode);
        if (r.status === 'budget_exceeded') overBudget.push(d);
      }
      if (overBudget.length > 0)
        (c.err ?? c.out)(
          `stockflow: error budget exceeded on ${overBudget.length} of ${dates.length} dates (${overBudget.join(', ')}): outputs written, runs marked budget_exceeded`,
        );
      return worst;
    }).finally(async () => {
      store?.close();
      await model.release();
    });
  } finally {
    lock.release();
  }
}
