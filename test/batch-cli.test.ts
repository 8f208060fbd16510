/**
 * `stockflow batch` as a process (node bin/stockflow, from dist): exit codes
 * and their one-line messages, the lock, SIGTERM and SIGKILL, and resumable
 * backfills. Two generated markets: a small one (80 stocks) for most cases and
 * a medium one (1,200 stocks) where a run must last long enough to be
 * interrupted in the middle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { acquireBatchLock } from '../src/batch/lock.js';
import { LOCK_NAME } from '../src/util/lockfile.js';
import {
  assertCliBuilt,
  buildMarketFixture,
  failureLine,
  LAST_SESSION,
  logRecords,
  MODEL_B_VERSION,
  MODEL_VERSION,
  MORNING,
  openPredictions,
  outputFile,
  runCli,
  startCli,
  until,
  type MarketFixture,
  snapshot,
} from './helpers/batch-fixture.js';

let small: MarketFixture;
let medium: MarketFixture;

beforeAll(async () => {
  assertCliBuilt();
  small = await buildMarketFixture({ stocks: 80 });
  medium = await buildMarketFixture({ stocks: 1200, days: 270, seed: 3 });
});
afterAll(() => {
  small?.cleanup();
  medium?.cleanup();
});

const dirs = (dataDir: string, modelsDir = small.modelsDir): string[] => ['--data-dir', dataDir, '--models-dir', modelsDir];
const OUTPUT_NAMES = (d: string): string[] => [`predictions_${d}.csv`, `report_${d}.html`, `report_${d}.txt`, `skipped_stocks_${d}.csv`].sort();

function visibleOutputs(dataDir: string): string[] {
  const dir = path.join(dataDir, 'predictions');
  return existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')).sort() : [];
}

function hiddenFiles(dataDir: string): string[] {
  const dir = path.join(dataDir, 'predictions');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('.')) : [];
}

function runsOf(dataDir: string): { run_id: string; prediction_date: string; status: string; started_at: string; as_of_session: string | null; model_version: string | null }[] {
  if (!existsSync(path.join(dataDir, 'predictions.db'))) return [];
  const db = openPredictions(dataDir);
  try {
    return db.prepare('SELECT run_id, prediction_date, status, started_at, as_of_session, model_version FROM batch_runs ORDER BY started_at, rowid').all() as never;
  } finally {
    db.close();
  }
}


/** A pid that is certainly not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

const istToday = (): string => new Date(Date.now() + 5.5 * 3_600_000).toISOString().slice(0, 10);

describe('exit 0', () => {
  it('a morning run writes the four outputs, prints where they are, and puts the run id on every log line', () => {
    const d = small.freshDataDir();
    const r = runCli(['batch', '--date', MORNING, ...dirs(d)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^ok ${MORNING} \\(as of ${LAST_SESSION}\\): \\d+ scored, \\d+ skipped`, 'm'));
    for (const k of ['predictions', 'skipped_stocks', 'report'] as const) {
      expect(existsSync(outputFile(d, k, MORNING)), k).toBe(true);
      expect(r.stdout).toContain(outputFile(d, k, MORNING));
    }
    expect(r.stdout).toContain(path.join(d, 'predictions.db'));
    expect(visibleOutputs(d)).toEqual(OUTPUT_NAMES(MORNING));
    expect(hiddenFiles(d)).toEqual([]);
    expect(existsSync(path.join(d, LOCK_NAME))).toBe(false);

    const records = logRecords(r.stderr);
    expect(r.stderr.split('\n').filter((l) => l && !l.startsWith('{'))).toEqual([]); // JSON lines only
    const runs = runsOf(d);
    expect(runs.length).toBe(1);
    const missing = records.filter((x) => x.runId !== runs[0].run_id).map((x) => x.msg);
    expect(missing, 'log lines without the run id').toEqual([]);
    const summary = records.find((x) => x.msg === 'batch finished');
    expect(summary).toMatchObject({ status: 'succeeded', runId: runs[0].run_id });
    expect(runs[0]).toMatchObject({ prediction_date: MORNING, as_of_session: LAST_SESSION, status: 'succeeded', model_version: MODEL_VERSION });
  });

  it("--date today is today's date in Asia/Kolkata", () => {
    const d = small.freshDataDir();
    const before = istToday();
    const r = runCli(['batch', '--date', 'today', ...dirs(d)]);
    const after = istToday();
    // The market ends on 2025-11-13, so today is either stale (exit 3) or not a trading day (exit 0); either way the message names the date.
    const text = r.stdout + r.stderr;
    expect([before, after].some((t) => text.includes(t)), text).toBe(true);
  });
});

describe('exit 2: bad arguments, one line, nothing written', () => {
  const cases: [string, string[], RegExp][] = [
    ['an impossible date', ['--date', '2025-02-30'], /2025-02-30.*not a real calendar date/],
    ['a malformed date', ['--date', '14-11-2025'], /14-11-2025.*YYYY-MM-DD/],
    ['--date without its value', ['--date'], /--date/],
    ['no --date at all', [], /--date/],
    ['--from without --to', ['--from', '2025-11-10'], /--from and --to/],
    ['a --max-error-rate that is not a number', ['--date', MORNING, '--max-error-rate', 'abc'], /max-error-rate/],
    ['a --max-error-rate above 1', ['--date', MORNING, '--max-error-rate', '1.5'], /max-error-rate/],
  ];
  for (const [what, args, message] of cases) {
    it(what, () => {
      const d = small.freshDataDir();
      // The flag under test goes last, so that a missing value cannot swallow another flag.
      const r = runCli(['batch', ...dirs(d), ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(failureLine(r)).toMatch(message);
      expect(existsSync(path.join(d, 'predictions.db'))).toBe(false);
      expect(visibleOutputs(d)).toEqual([]);
    });
  }
});

describe('exit 3: missing inputs or no usable model', () => {
  it('no market.db', () => {
    const d = path.join(small.root, 'no-market');
    const r = runCli(['batch', '--date', MORNING, ...dirs(d)]);
    expect(r.code).toBe(3);
    expect(failureLine(r)).toMatch(/no market data at .*market\.db/);
  });

  it('stale data (30+ days after the last session); --allow-stale runs anyway', () => {
    const d = small.freshDataDir();
    const date = '2025-12-15'; // a Monday, 32 days after the last session
    const r = runCli(['batch', '--date', date, ...dirs(d)]);
    expect(r.code).toBe(3);
    expect(failureLine(r)).toMatch(new RegExp(`stale data: the last session before ${date} is ${LAST_SESSION}, 32 days old`));
    expect(visibleOutputs(d)).toEqual([]);

    const ok = runCli(['batch', '--date', date, '--allow-stale', ...dirs(d)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(runsOf(d).map((x) => [x.prediction_date, x.as_of_session, x.status])).toEqual([
      [date, null, 'failed'],
      [date, LAST_SESSION, 'succeeded'],
    ]);
    expect(visibleOutputs(d)).toEqual(OUTPUT_NAMES(date));
  });

  it('too little history before the date', () => {
    const d = small.freshDataDir();
    const r = runCli(['batch', '--date', '2025-03-03', ...dirs(d)]);
    expect(r.code).toBe(3);
    expect(failureLine(r)).toMatch(/too little history before 2025-03-03/);
    expect(visibleOutputs(d)).toEqual([]);
  });

  it('no usable model (an empty registry)', () => {
    const d = small.freshDataDir();
    const r = runCli(['batch', '--date', MORNING, ...dirs(d, small.emptyModelsDir)]);
    expect(r.code).toBe(3);
    expect(failureLine(r)).toMatch(/no usable model/);
    expect(visibleOutputs(d)).toEqual([]);
  });
});

describe('exit 4: error budget exceeded', () => {
  it('still writes every output, marks the run budget_exceeded and says so in one line', () => {
    const d = small.freshDataDir();
    const r = runCli(['batch', '--date', MORNING, '--max-error-rate', '0', ...dirs(d)]);
    expect(r.code).toBe(4);
    expect(failureLine(r)).toMatch(/error budget/);
    expect(visibleOutputs(d)).toEqual(OUTPUT_NAMES(MORNING));
    expect(runsOf(d).map((x) => x.status)).toEqual(['budget_exceeded']);
    const db = openPredictions(d);
    try {
      expect(db.prepare('SELECT count(*) FROM daily_predictions').pluck().get()).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });
});

describe('a date that is not a trading day', () => {
  it('says so, exits 0 and writes nothing; --force runs it', () => {
    const d = small.freshDataDir();
    const r = runCli(['batch', '--date', '2025-11-15', ...dirs(d)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2025-11-15 is a Saturday, not a trading day/);
    expect(runsOf(d)).toEqual([]);
    expect(visibleOutputs(d)).toEqual([]);

    const forced = runCli(['batch', '--date', '2025-11-15', '--force', ...dirs(d)]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(runsOf(d).map((x) => [x.prediction_date, x.status])).toEqual([['2025-11-15', 'succeeded']]);
  });
});

describe('exit 5: one batch at a time', () => {
  it('a second batch exits at once with one line naming the holder, and writes nothing', async () => {
    const d = small.freshDataDir();
    const lock = await acquireBatchLock(d);
    try {
      const r = runCli(['batch', '--date', MORNING, ...dirs(d)]);
      expect(r.code).toBe(5);
      expect(failureLine(r)).toMatch(new RegExp(`another batch is running on .* \\(pid ${process.pid} on `));
      expect(runsOf(d)).toEqual([]);
      expect(visibleOutputs(d)).toEqual([]);
    } finally {
      lock.release();
    }
    expect(existsSync(path.join(d, LOCK_NAME))).toBe(false);
  });

  it('with --wait it waits for the holder, then runs', async () => {
    const d = small.freshDataDir();
    const lock = await acquireBatchLock(d);
    let releasedAt = '';
    const p = startCli(['batch', '--date', MORNING, '--wait', ...dirs(d)]);
    try {
      await p.waitForStderr((s) => logRecords(s).some((x) => /waiting/.test(String(x.msg))));
      expect(runsOf(d)).toEqual([]);
    } finally {
      releasedAt = new Date().toISOString();
      lock.release();
    }
    const r = await p.done;
    expect(r.code, r.stderr).toBe(0);
    const runs = runsOf(d);
    expect(runs.map((x) => x.status)).toEqual(['succeeded']);
    expect(runs[0].started_at >= releasedAt).toBe(true);
  });

  it('a lock file left by a dead process is taken over', () => {
    const d = small.freshDataDir();
    const pid = deadPid();
    writeFileSync(path.join(d, LOCK_NAME), JSON.stringify({ pid, host: hostname(), startedAt: '2025-11-14T01:30:00.000Z' }));
    const r = runCli(['batch', '--date', MORNING, ...dirs(d)]);
    expect(r.code, r.stderr).toBe(0);
    expect(runsOf(d).map((x) => x.status)).toEqual(['succeeded']);
    expect(existsSync(path.join(d, LOCK_NAME))).toBe(false);
  });
});

describe('signals and crashes', () => {
  it('SIGTERM in the middle of extraction: exit 130, one line, run marked interrupted, nothing written, lock released', async () => {
    const d = medium.freshDataDir();
    const p = startCli(['batch', '--date', MORNING, ...dirs(d, medium.modelsDir)]);
    // The batch's own 'model loaded' line comes just before extraction starts.
    await p.waitForStderr((s) => logRecords(s).some((x) => x.msg === 'model loaded' && x.type === 'GBDT'));
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(r.code, r.stderr).toBe(130);
    expect(failureLine(r)).toMatch(/interrupted/);
    expect(runsOf(d).map((x) => x.status)).toEqual(['interrupted']);
    const db = openPredictions(d);
    try {
      expect(db.prepare('SELECT count(*) FROM daily_predictions').pluck().get()).toBe(0);
      expect(db.prepare('SELECT count(*) FROM skipped_stocks').pluck().get()).toBe(0);
      expect(db.prepare('SELECT count(*) FROM feature_values').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
    expect(visibleOutputs(d)).toEqual([]);
    expect(hiddenFiles(d)).toEqual([]);
    expect(existsSync(path.join(d, LOCK_NAME))).toBe(false);
  });

  it('SIGKILL during the database write leaves the earlier outputs and rows byte-identical; the next run takes the stale lock over', async () => {
    const d = medium.freshDataDir();
    const first = runCli(['batch', '--date', MORNING, '--max-error-rate', '1', ...dirs(d, medium.modelsDir)]);
    expect(first.code, first.stderr).toBe(0);
    const before = snapshot(d, MORNING);
    const csv = outputFile(d, 'predictions', MORNING);

    // The second run uses another model, so every file it would write differs from the first run's.
    const p = startCli(['batch', '--date', MORNING, '--max-error-rate', '1', '--model', MODEL_B_VERSION, ...dirs(d, medium.modelsDir)]);
    await p.waitForStderr((s) => logRecords(s).some((x) => x.msg === 'batch started'));
    // Hold predictions.db's write lock: the run's write transaction will wait on it, mid-write.
    const holder = new Database(path.join(d, 'predictions.db'));
    holder.pragma('busy_timeout = 10000');
    holder.exec('BEGIN IMMEDIATE');
    try {
      await p.waitForStderr((s) => logRecords(s).some((x) => x.msg === 'features extracted'));
      // It has reached the write stage once both CSVs are staged, or (if files were published before the commit) the CSV changed.
      await until(() => hiddenFiles(d).length >= 2 || !readFileSync(csv).equals(before.files.predictions), 20_000, 'the write stage');
      // Give a run that publishes its files before committing the time to do so (it then blocks on the lock for seconds).
      await new Promise((resolve) => setTimeout(resolve, 300));
      p.child.kill('SIGKILL');
      const r = await p.done;
      expect(r.signal).toBe('SIGKILL');
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }

    const after = snapshot(d, MORNING);
    for (const k of Object.keys(before.files)) expect(after.files[k].equals(before.files[k]), `${k} file`).toBe(true);
    expect(after.rows).toEqual(before.rows);
    expect(visibleOutputs(d)).toEqual(OUTPUT_NAMES(MORNING));
    const lockOwner = JSON.parse(readFileSync(path.join(d, LOCK_NAME), 'utf8')) as { pid: number };
    expect(lockOwner.pid).toBe(p.child.pid);
    expect(runsOf(d).map((x) => x.status)).toEqual(['succeeded', 'running']);

    const next = runCli(['batch', '--date', MORNING, '--max-error-rate', '1', '--model', MODEL_B_VERSION, ...dirs(d, medium.modelsDir)]);
    expect(next.code, next.stderr).toBe(0);
    expect(existsSync(path.join(d, LOCK_NAME))).toBe(false);
    expect(hiddenFiles(d)).toEqual([]); // the killed run's temporary files are cleaned up
    expect(readFileSync(csv).equals(before.files.predictions)).toBe(false);
    const db = openPredictions(d);
    try {
      const versions = db.prepare('SELECT model_version, count(*) AS n FROM daily_predictions GROUP BY model_version ORDER BY model_version').all();
      const n = (before.rows.daily_predictions as unknown[]).length;
      expect(versions).toEqual([
        { model_version: MODEL_VERSION, n },
        { model_version: MODEL_B_VERSION, n },
      ]);
    } finally {
      db.close();
    }
  });

  it('an interrupted backfill resumes where it stopped', async () => {
    const d = small.freshDataDir();
    const args = ['batch', '--from', '2025-11-10', '--to', '2025-11-14', '--max-error-rate', '1', ...dirs(d)];
    const p = startCli(args);
    // Stop it once two dates are done.
    await until(() => (p.stdout().match(/^ok /gm) ?? []).length >= 2, 60_000, 'two completed dates');
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(r.code, r.stderr).toBe(130);
    expect(failureLine(r)).toMatch(/interrupted/);
    const done1 = runsOf(d).filter((x) => x.status === 'succeeded').map((x) => x.prediction_date);
    expect(done1.slice(0, 2)).toEqual(['2025-11-10', '2025-11-11']);
    expect(done1.length).toBeLessThan(5);

    const again = runCli(args);
    expect(again.code, again.stderr).toBe(0);
    const skippedLog = logRecords(again.stderr)
      .filter((x) => String(x.msg).startsWith('already complete'))
      .map((x) => x.date);
    expect(skippedLog).toEqual(done1);
    const succeeded = runsOf(d).filter((x) => x.status === 'succeeded').map((x) => x.prediction_date);
    // Every trading day once, in order: the first invocation's dates, then the rest.
    expect(succeeded).toEqual(['2025-11-10', '2025-11-11', '2025-11-12', '2025-11-13', '2025-11-14']);
  });
});
