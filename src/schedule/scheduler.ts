/**
 * The in-process scheduler (`stockflow schedule`) for hosts and containers
 * without a system cron: node-cron fires at 07:00 Asia/Kolkata on weekdays,
 * the trigger checks the market calendar, and the batch runs as a child
 * process (`stockflow batch --date D`), so a crash in a run can never take
 * the scheduler down. A trigger while a run is in progress is refused; the
 * batch's own lock also refuses runs started any other way (cron, a person).
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../log.js';
import { todayIn, type IsoDate } from '../market/dates.js';
import { badArgs } from '../errors.js';
import { TIME_ZONE } from '../config.js';

export const DEFAULT_CRON = '0 7 * * 1-5';
/** The evening fetch (#13): 19:00 IST on weekdays; the fetch itself retries late files until FETCH_UNTIL. */
export const DEFAULT_FETCH_CRON = '0 19 * * 1-5';
export const FETCH_UNTIL = '23:00';
export const DEFAULT_TZ = TIME_ZONE;

export type TriggerOutcome =
  | { kind: 'ran'; date: IsoDate; exitCode: number }
  | { kind: 'not_trading_day'; date: IsoDate }
  | { kind: 'overlap'; date: IsoDate }
  | { kind: 'error'; date: IsoDate; error: string };

export interface SchedulerOptions {
  cron: string;
  tz: string;
  force: boolean;
  log: Logger;
  /** Runs the batch for a date and resolves with its exit code. */
  runBatch: (date: IsoDate) => Promise<number>;
  /** Whether a date is a trading day (undefined when the calendar cannot be read: the batch decides). */
  isTradingDay: (date: IsoDate) => boolean | undefined;
  now?: () => Date;
  /** The job's name in the log (default 'batch'; the evening job is 'fetch'). */
  job?: string;
}

export function validateCron(expr: string): void {
  if (!cron.validate(expr)) throw badArgs(`--cron '${expr}' is not a valid cron expression`);
}

export function validateTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw badArgs(`--tz '${tz}' is not a known time zone`);
  }
}

export class Scheduler {
  private task?: ScheduledTask;
  private running?: Promise<TriggerOutcome>;
  readonly outcomes: TriggerOutcome[] = [];

  constructor(private readonly o: SchedulerOptions) {
    validateCron(o.cron);
    validateTimeZone(o.tz);
  }

  start(): void {
    const job = this.o.job ?? 'batch';
    this.task = cron.schedule(this.o.cron, () => void this.trigger('scheduled'), { timezone: this.o.tz, name: `stockflow-${job}` });
    this.o.log.info({ job, cron: this.o.cron, tz: this.o.tz, next: this.nextRun()?.toISOString() }, 'scheduler started');
  }

  nextRun(): Date | null {
    return this.task?.getNextRun() ?? null;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** One trigger: check the calendar, refuse overlap, run, log the outcome; never throws. */
  async trigger(reason: 'scheduled' | 'run-now'): Promise<TriggerOutcome> {
    const date = todayIn(this.o.tz, this.o.now?.() ?? new Date());
    const job = this.o.job ?? 'batch';
    const log = this.o.log.child({ job, trigger: reason, date });
    let outcome: TriggerOutcome;
    if (this.running) {
      outcome = { kind: 'overlap', date };
      log.warn('a run is still in progress: this trigger is skipped');
    } else if (!this.o.force && this.o.isTradingDay(date) === false) {
      outcome = { kind: 'not_trading_day', date };
      log.info('not a trading day (weekend or exchange holiday): nothing to run');
    } else {
      log.info(`${job} triggered`);
      this.running = this.o
        .runBatch(date)
        .then((exitCode): TriggerOutcome => ({ kind: 'ran', date, exitCode }))
        .catch((e: unknown): TriggerOutcome => ({ kind: 'error', date, error: (e as Error).message }));
      try {
        outcome = await this.running;
      } finally {
        this.running = undefined;
      }
      if (outcome.kind === 'ran' && outcome.exitCode === 0) log.info({ exitCode: 0 }, `${job} succeeded`);
      else log.error({ outcome }, `${job} did not succeed; the scheduler keeps going`);
    }
    this.outcomes.push(outcome);
    const next = this.nextRun();
    if (next) log.info({ next: next.toISOString() }, 'next run');
    return outcome;
  }

  /** Stops firing; resolves when a run in progress has finished. */
  async stop(): Promise<void> {
    await this.task?.stop();
    await this.task?.destroy();
    this.task = undefined;
    if (this.running) await this.running;
  }
}
