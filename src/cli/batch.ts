/**
 * `stockflow batch`: the nightly job for one date, or a backfill over a range.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { MAX_THREADS, TIME_ZONE, loadConfig } from '../config.js';
import { badArgs } from '../errors.js';
import { logger } from '../log.js';
import { parseIsoDate, todayIn, type IsoDate } from '../market/dates.js';
import { DEFAULT_MAX_ERROR_RATE } from '../batch/budget.js';
import type { JobFlags } from '../batch/job.js';
import { action, codesArg, intArg, stderrLine, stdoutLine } from './run.js';

/** Bounds of the batch's numeric flags (README "Limits"). */
export const MAX_LIMIT = 1_000_000;
export const MAX_EARNINGS_WITHIN_DAYS = 3660;

/** What `stockflow batch` parses: the job's own flags (one type, src/batch/job.ts), the dates, and the common directories. */
export interface BatchFlags extends JobFlags {
  date?: string;
  from?: string;
  to?: string;
  threads?: string;
  dataDir?: string;
  modelsDir?: string;
}

/** `--date today` is today in Asia/Kolkata; anything else must be a real YYYY-MM-DD date. */
export function resolveDate(s: string, flag = '--date'): IsoDate {
  return s === 'today' ? todayIn(TIME_ZONE) : parseIsoDate(s, flag);
}

/** commander argument parser (an InvalidArgumentError becomes commander's one-line usage error, exit 2). */
function rate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a fraction between 0 and 1');
  return n;
}

export function registerBatch(program: Command): void {
  program
    .command('batch')
    .description('score every ACTIVE stock for a prediction date: predictions.db, ranked CSV, skipped list, text report')
    .option('--date <YYYY-MM-DD|today>', 'prediction date (the morning before its session); today = today in Asia/Kolkata')
    .option('--from <YYYY-MM-DD>', 'backfill: first prediction date (trading days only)')
    .option('--to <YYYY-MM-DD>', 'backfill: last prediction date')
    .option('--force', 'run on a day that is not a trading day, and re-run backfill dates already completed with the same model')
    .option('--codes <list>', 'only these BSE codes, comma-separated', codesArg)
    .option('--limit <n>', `only the first n stocks by market cap (at most ${MAX_LIMIT})`, intArg(1, MAX_LIMIT))
    .option('--earnings-within <days>', `only stocks with results expected within this many days (at most ${MAX_EARNINGS_WITHIN_DAYS})`, intArg(0, MAX_EARNINGS_WITHIN_DAYS))
    .option('--max-error-rate <fraction>', 'fail the run when more than this share of stocks is skipped', rate, DEFAULT_MAX_ERROR_RATE)
    .option('--model <version>', 'score with this registered model version (or name/version)')
    .option('--threads <n>', `worker threads, 1 to ${MAX_THREADS} (default: one per core, env STOCKFLOW_THREADS)`)
    .option('--allow-stale', 'run even when the last session is more than 7 days before the date')
    .option('--wait', 'wait for another running batch instead of exiting')
    .option('--no-notify', 'do not send Slack/email notifications')
    .option('--explain', 'add the three strongest drivers (driver_1..3: feature=value (±log-odds contribution)) to the predictions CSV')
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .option('--models-dir <dir>', 'model registry (env STOCKFLOW_MODELS_DIR)')
    .addHelpText(
      'after',
      `
Examples:
  stockflow batch --date 2025-11-14
  stockflow batch --date today --data-dir /data
  stockflow batch --date 2025-11-14 --earnings-within 30 --max-error-rate 0.05
  stockflow batch --from 2025-10-01 --to 2025-10-31        # backfill, resumable
  stockflow batch --date 2025-11-14 --explain              # CSV with driver_1..driver_3

Exit codes: 0 success; 1 unexpected error; 2 bad arguments; 3 missing inputs
or no usable model; 4 error budget exceeded (outputs written); 5 another
batch holds the lock; 130 interrupted.`,
    )
    .action(
      action(async (f: BatchFlags) => {
        const cfg = loadConfig(f);
        if (f.date && (f.from || f.to)) throw badArgs('give either --date or --from/--to, not both');
        // Loaded when the command runs, so that `--help` and other commands never load the pipeline.
        const [{ runBackfill, runOneDate }, { progressBar }] = await Promise.all([import('../batch/job.js'), import('./progress.js')]);
        const common = { cfg, flags: f, log: logger(), progress: progressBar(), out: stdoutLine, err: stderrLine };
        if (f.from || f.to) {
          if (!f.from || !f.to) throw badArgs('a backfill needs both --from and --to');
          const from = resolveDate(f.from, '--from');
          const to = resolveDate(f.to, '--to');
          if (from > to) throw badArgs(`--from ${from} is after --to ${to}`);
          return runBackfill(from, to, common);
        }
        if (!f.date) throw badArgs("missing --date (YYYY-MM-DD or 'today')");
        return runOneDate(resolveDate(f.date), common);
      }),
    );
}
