/**
 * The scheduler: the Scheduler class with a fake runBatch (per-second cron,
 * overlap, failures, trading days, stop), and `stockflow schedule` as a real
 * process on a small market whose dates are shifted so that its last session
 * falls in the week before today (IST): `--run-now` then runs a real batch for
 * today, during which a second `stockflow batch` is refused by the lock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Scheduler, type SchedulerOptions, type TriggerOutcome } from '../src/schedule/scheduler.js';
import { tradingDayChecker } from '../src/cli/schedule.js';
import { PredictionsStore } from '../src/predictions/store.js';
import { LOCK_NAME } from '../src/util/lockfile.js';
import { StockflowError } from '../src/errors.js';
import { captureLogger } from './helpers/onnx-fixture.js';
import {
  assertCliBuilt,
  buildMarketFixture,
  failureLine,
  LAST_SESSION,
  logRecords,
  openPredictions,
  runCli,
  startCli,
  until,
  type MarketFixture,
} from './helpers/batch-fixture.js';

const DAY_MS = 86_400_000;
const istDate = (t: number = Date.now()): string => new Date(t + 5.5 * 3_600_000).toISOString().slice(0, 10);
const addDays = (d: string, n: number): string => new Date(Date.parse(`${d}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
const dayDiff = (a: string, b: string): number => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

function scheduler(o: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'runBatch'>): { s: Scheduler; records: Record<string, unknown>[] } {
  const { log, records } = captureLogger();
  const s = new Scheduler({ cron: '0 7 * * 1-5', tz: 'Asia/Kolkata', force: false, log, isTradingDay: () => true, ...o });
  return { s, records };
}

describe('Scheduler (fake batch)', () => {
  it("a per-second cron expression triggers the batch for today's IST date, again after a failed run", async () => {
    const calls: string[] = [];
    // First run rejects, second exits 1, third 4 (error budget), the rest succeed: the scheduler must keep firing.
    const results: (() => Promise<number>)[] = [
      () => Promise.reject(new Error('child could not start')),
      () => Promise.resolve(1),
      () => Promise.resolve(4),
    ];
    const { s, records } = scheduler({
      cron: '* * * * * *',
      runBatch: (d) => {
        calls.push(d);
        return (results.shift() ?? (() => Promise.resolve(0)))();
      },
    });
    s.start();
    try {
      await until(() => s.outcomes.length >= 4, 20_000, 'four triggers');
    } finally {
      await s.stop();
    }
    const [a, b, c, e] = s.outcomes;
    expect(a).toMatchObject({ kind: 'error', error: 'child could not start' });
    expect(b).toMatchObject({ kind: 'ran', exitCode: 1 });
    expect(c).toMatchObject({ kind: 'ran', exitCode: 4 });
    expect(e).toMatchObject({ kind: 'ran', exitCode: 0 });
    const today = [istDate(Date.now() - 20_000), istDate()];
    for (const d of calls) expect(today).toContain(d);
    // Each trigger and each outcome is logged; failures at error level.
    expect(records.filter((r) => r.msg === 'batch triggered' && r.trigger === 'scheduled').length).toBeGreaterThanOrEqual(4);
    expect(records.filter((r) => r.msg === 'batch did not succeed; the scheduler keeps going' && r.level === 50).length).toBeGreaterThanOrEqual(3);
    expect(records.some((r) => r.msg === 'batch succeeded')).toBe(true);
    // Stopped: nothing scheduled any more, no more triggers.
    expect(s.nextRun()).toBeNull();
    const n = s.outcomes.length;
    await sleep(1500);
    expect(s.outcomes.length).toBe(n);
  });

  it('a trigger while a run is in progress is refused (overlap) and does not start a second run', async () => {
    const run = deferred<number>();
    let calls = 0;
    const { s, records } = scheduler({
      runBatch: () => {
        calls++;
        return run.promise;
      },
    });
    const first = s.trigger('run-now');
    expect(s.busy).toBe(true);
    const second = await s.trigger('scheduled');
    expect(second.kind).toBe('overlap');
    expect(calls).toBe(1);
    expect(records.some((r) => r.msg === 'a run is still in progress: this trigger is skipped')).toBe(true);
    run.resolve(0);
    expect((await first).kind).toBe('ran');
    expect(s.busy).toBe(false);
    // Once it has finished, the next trigger runs.
    const third = await s.trigger('scheduled');
    expect(third.kind).toBe('ran');
    expect(calls).toBe(2);
  });

  it('on a day that is not a trading day it runs nothing, unless forced; an unreadable calendar leaves the decision to the batch', async () => {
    const calls: string[] = [];
    const runBatch = (d: string): Promise<number> => {
      calls.push(d);
      return Promise.resolve(0);
    };
    const off = scheduler({ runBatch, isTradingDay: () => false });
    expect(await off.s.trigger('scheduled')).toMatchObject({ kind: 'not_trading_day' });
    expect(calls).toEqual([]);
    expect(off.records.some((r) => String(r.msg).startsWith('not a trading day'))).toBe(true);

    const forced = scheduler({ runBatch, isTradingDay: () => false, force: true });
    expect(await forced.s.trigger('scheduled')).toMatchObject({ kind: 'ran', exitCode: 0 });
    expect(calls.length).toBe(1);

    const unknown = scheduler({ runBatch, isTradingDay: () => undefined });
    expect(await unknown.s.trigger('scheduled')).toMatchObject({ kind: 'ran' });
    expect(calls.length).toBe(2);
  });

  it("the date is the scheduler time zone's calendar day (IST just after midnight, while UTC is still the day before)", async () => {
    const calls: string[] = [];
    const { s } = scheduler({
      now: () => new Date('2025-11-13T19:00:00Z'), // 00:30 IST, Friday 14th
      runBatch: (d) => {
        calls.push(d);
        return Promise.resolve(0);
      },
    });
    const o: TriggerOutcome = await s.trigger('scheduled');
    expect(o).toEqual({ kind: 'ran', date: '2025-11-14', exitCode: 0 });
    expect(calls).toEqual(['2025-11-14']);
  });

  it('stop() resolves only once the run in progress has finished', async () => {
    const run = deferred<number>();
    const { s } = scheduler({ cron: '* * * * * *', runBatch: () => run.promise });
    s.start();
    const t = s.trigger('run-now');
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    await sleep(100);
    expect(stopped).toBe(false);
    run.resolve(0);
    await stopping;
    expect(stopped).toBe(true);
    expect((await t).kind).toBe('ran');
  });

  it('rejects a bad cron expression or time zone with a BAD_ARGS error', () => {
    const runBatch = (): Promise<number> => Promise.resolve(0);
    for (const o of [{ cron: '61 7 * * *' }, { cron: 'every morning' }, { tz: 'Asia/Nowhere' }]) {
      let err: unknown;
      try {
        scheduler({ runBatch, ...o });
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(o)).toBeInstanceOf(StockflowError);
      expect((err as StockflowError).exitCode).toBe(2);
    }
  });
});

// ---------------------------------------------------------------------------
// `stockflow schedule` as a process.

/** Shifts every date in a market by `days` (a whole number of weeks keeps weekdays). */
function shiftMarket(db: Database.Database, days: number): void {
  const shift: Record<string, string[]> = {
    daily_prices: ['trade_date'],
    quarterly_results: ['period_end', 'announced_on'],
    earnings_calendar: ['expected_on'],
    news_sentiment: ['published_on'],
    market_holidays: ['holiday_on'],
    master_stock_list: ['listed_on'],
  };
  db.transaction(() => {
    for (const [table, dateCols] of Object.entries(shift)) {
      const cols = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
      const select = cols.map((c) => (dateCols.includes(c) ? `date(${c}, '+${days} days')` : c)).join(', ');
      // Through a copy: shifting a key column in place would collide with rows not yet shifted.
      db.exec(`CREATE TEMP TABLE shift_copy AS SELECT * FROM ${table}; DELETE FROM ${table};
               INSERT INTO ${table} (${cols.join(', ')}) SELECT ${select} FROM shift_copy; DROP TABLE shift_copy;`);
    }
  })();
}

describe('stockflow schedule (a real process)', () => {
  let fx: MarketFixture;
  let today: string;
  let lastSession: string;
  let todayTrades = true;

  beforeAll(async () => {
    assertCliBuilt();
    today = istDate();
    // Move the market so that its last session (a Thursday) is 1–7 days before today.
    const weeks = Math.floor((dayDiff(LAST_SESSION, today) - 1) / 7);
    lastSession = addDays(LAST_SESSION, 7 * weeks);
    fx = await buildMarketFixture({
      stocks: 80,
      edit(db) {
        shiftMarket(db, 7 * weeks);
        db.prepare('DELETE FROM market_holidays WHERE holiday_on = ?').run(today);
      },
    });
    const wd = new Date(`${today}T00:00:00Z`).getUTCDay();
    todayTrades = wd !== 0 && wd !== 6;
  });
  afterAll(() => fx?.cleanup());

  const dirs = (d: string): string[] => ['--data-dir', d, '--models-dir', fx.modelsDir];

  it('tradingDayChecker reads the market calendar', () => {
    const d = fx.freshDataDir();
    const check = tradingDayChecker(d);
    const saturday = addDays(lastSession, 2);
    expect(check(lastSession)).toBe(true);
    expect(check(saturday)).toBe(false);
    const db = new Database(path.join(d, 'market.db'), { readonly: true });
    const holiday = db.prepare("SELECT holiday_on FROM market_holidays WHERE strftime('%w', holiday_on) NOT IN ('0', '6') LIMIT 1").pluck().get() as string;
    db.close();
    expect(check(holiday)).toBe(false);
    expect(tradingDayChecker(path.join(fx.root, 'nowhere'))(lastSession)).toBeUndefined();
  });

  it('--run-now runs the batch once (a concurrent batch is refused by the lock meanwhile), then waits; SIGTERM stops it with exit 0', async () => {
    const d = fx.freshDataDir();
    // predictions.db exists and its write lock is held: the scheduled batch, once started, holds the batch lock and waits here.
    PredictionsStore.openForWrite(d).close();
    const holder = new Database(path.join(d, 'predictions.db'));
    holder.pragma('busy_timeout = 10000');
    holder.exec('BEGIN IMMEDIATE');
    const force = todayTrades ? [] : ['--force'];
    const sched = startCli(['schedule', '--run-now', '--cron', '0 7 * * 1-5', ...force, ...dirs(d)]);
    try {
      await until(() => {
        if (!existsSync(path.join(d, LOCK_NAME))) return false;
        try {
          const owner = JSON.parse(readFileSync(path.join(d, LOCK_NAME), 'utf8')) as { pid: number };
          return owner.pid !== sched.child.pid; // held by the scheduler's batch child
        } catch {
          return false;
        }
      }, 30_000, 'the scheduled batch to take the lock');
      const second = runCli(['batch', '--date', today, ...force, ...dirs(d)]);
      expect(second.code, second.stderr).toBe(5);
      expect(failureLine(second)).toMatch(/another batch is running/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    // The scheduled run completes and is recorded; the scheduler keeps waiting for the next 07:00.
    await sched.waitForStderr((s) => logRecords(s).some((r) => r.msg === 'next run' && r.trigger === 'run-now'));
    expect(sched.child.exitCode).toBeNull();
    const db = openPredictions(d);
    try {
      const runs = db.prepare('SELECT prediction_date, as_of_session, status FROM batch_runs').all();
      expect(runs).toEqual([{ prediction_date: today, as_of_session: lastSession, status: 'succeeded' }]);
    } finally {
      db.close();
    }
    const records = logRecords(sched.stderr());
    expect(records.some((r) => r.msg === 'batch succeeded' && r.trigger === 'run-now')).toBe(true);
    const next = records.find((r) => r.msg === 'next run');
    expect(next?.next).toEqual(expect.any(String));
    // 07:00 IST is 01:30 UTC.
    expect(String(next?.next)).toMatch(/T01:30:00\.000Z$/);

    sched.child.kill('SIGTERM');
    const r = await sched.done;
    expect(r.code, r.stderr).toBe(0);
    expect(logRecords(r.stderr).some((x) => x.msg === 'scheduler stopped')).toBe(true);
  });

  it('SIGTERM during a scheduled run stops the batch cleanly (run marked interrupted) before the scheduler exits 0', async () => {
    const d = fx.freshDataDir();
    PredictionsStore.openForWrite(d).close();
    const holder = new Database(path.join(d, 'predictions.db'));
    holder.pragma('busy_timeout = 10000');
    holder.exec('BEGIN IMMEDIATE');
    const force = todayTrades ? [] : ['--force'];
    const sched = startCli(['schedule', '--run-now', ...force, ...dirs(d)]);
    try {
      await sched.waitForStderr((s) => logRecords(s).some((r) => r.msg === 'batch triggered'));
      await until(() => existsSync(path.join(d, LOCK_NAME)), 30_000, 'the scheduled batch to take the lock');
      sched.child.kill('SIGTERM');
      await sched.waitForStderr((s) => logRecords(s).some((r) => r.msg === 'stopping scheduler'));
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    const r = await sched.done;
    expect(r.code, r.stderr).toBe(0);
    const records = logRecords(r.stderr);
    // The child saw the signal and stopped with 130; the scheduler waited for it.
    expect(records.some((x) => x.msg === 'batch did not succeed; the scheduler keeps going' && (x.outcome as TriggerOutcome).kind === 'ran' && (x.outcome as { exitCode: number }).exitCode === 130)).toBe(true);
    expect(records.findIndex((x) => x.msg === 'scheduler stopped')).toBeGreaterThan(records.findIndex((x) => x.msg === 'batch did not succeed; the scheduler keeps going'));
    const db = openPredictions(d);
    try {
      expect(db.prepare('SELECT status FROM batch_runs').pluck().all()).toEqual(['interrupted']);
      expect(db.prepare('SELECT count(*) FROM daily_predictions').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
    expect(existsSync(path.join(d, LOCK_NAME))).toBe(false);
  });

  it('on an exchange holiday --run-now runs nothing; with --force the batch runs anyway', async () => {
    const d = fx.freshDataDir();
    const m = new Database(path.join(d, 'market.db'));
    m.prepare('INSERT INTO market_holidays (holiday_on, name) VALUES (?, ?)').run(today, 'Test holiday');
    m.close();

    const plain = startCli(['schedule', '--run-now', ...dirs(d)]);
    await plain.waitForStderr((s) => logRecords(s).some((r) => String(r.msg).startsWith('not a trading day')));
    plain.child.kill('SIGTERM');
    expect((await plain.done).code).toBe(0);
    expect(existsSync(path.join(d, 'predictions.db'))).toBe(false);

    const forced = startCli(['schedule', '--run-now', '--force', ...dirs(d)]);
    await forced.waitForStderr((s) => logRecords(s).some((r) => r.msg === 'next run' && r.trigger === 'run-now'));
    forced.child.kill('SIGTERM');
    expect((await forced.done).code).toBe(0);
    expect(existsSync(path.join(d, 'predictions.db'))).toBe(true);
    const db = openPredictions(d);
    try {
      expect(db.prepare('SELECT prediction_date, status FROM batch_runs').all()).toEqual([{ prediction_date: today, status: 'succeeded' }]);
    } finally {
      db.close();
    }
  });
});
