/**
 * Issue 18, the CLI's inputs: every bad flag, damaged database, read-only data
 * directory and stale date gets one `stockflow:` line and its documented exit
 * code, and nothing runs before the arguments are checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { buildApp } from '../src/server/app.js';
import { computeFeatures } from '../src/features/service.js';
import { poolSize, TASK_SIZE } from '../src/features/pool.js';
import { openMarketReadonly } from '../src/market/db.js';
import { activeStocks } from '../src/market/reader.js';
import { StockflowError } from '../src/errors.js';
import { acquireBatchLock, lockHolder } from '../src/batch/lock.js';
import { assertCliBuilt, buildMarketFixture, failureLine, logRecords, MORNING, runCli, startCli, type MarketFixture } from './helpers/batch-fixture.js';

let small: MarketFixture;
let short: MarketFixture;

beforeAll(async () => {
  assertCliBuilt();
  small = await buildMarketFixture({ stocks: 60 });
  // 60 sessions: too few for any training date (each needs 250 sessions of history).
  short = await buildMarketFixture({ stocks: 20, days: 60, seed: 5 });
});
afterAll(() => {
  small?.cleanup();
  short?.cleanup();
});

const dirs = (dataDir: string, modelsDir = small.modelsDir): string[] => ['--data-dir', dataDir, '--models-dir', modelsDir];

describe('Medium #1: --threads / STOCKFLOW_THREADS are bounded', () => {
  it('--threads 100000 exits 2 with one line, before any run starts', () => {
    const d = small.freshDataDir();
    const r = runCli(['batch', '--date', MORNING, '--threads', '100000', ...dirs(d)]);
    expect(r.code).toBe(2);
    expect(failureLine(r)).toMatch(/--threads must be a whole number from 1 to 64, got '100000'/);
    expect(existsSync(path.join(d, 'predictions.db'))).toBe(false);
  });

  it('STOCKFLOW_THREADS=65 exits 2; 64 is accepted by features', () => {
    const d = small.freshDataDir();
    const r = runCli(['features', '--date', MORNING, '--codes', codeOf(d), '--data-dir', d], { env: { STOCKFLOW_THREADS: '65' } });
    expect(r.code).toBe(2);
    expect(failureLine(r)).toMatch(/STOCKFLOW_THREADS must be a whole number from 1 to 64, got '65'/);
    const ok = runCli(['features', '--date', MORNING, '--codes', codeOf(d), '--threads', '64', '--data-dir', d]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('the pool never starts more threads than there are tasks', () => {
    expect(TASK_SIZE).toBe(100);
    // ceil(stocks / 100) tasks, written out by hand.
    expect(poolSize(64, 1)).toBe(1);
    expect(poolSize(64, 100)).toBe(1);
    expect(poolSize(64, 101)).toBe(2);
    expect(poolSize(64, 291)).toBe(3);
    expect(poolSize(2, 291)).toBe(2);
    expect(poolSize(8, 0)).toBe(1);
  });
});

function codeOf(dataDir: string): string {
  const db = new Database(path.join(dataDir, 'market.db'), { readonly: true });
  try {
    return db.prepare("SELECT bse_code FROM master_stock_list WHERE status = 'ACTIVE' ORDER BY bse_code LIMIT 1").pluck().get() as string;
  } finally {
    db.close();
  }
}

/** A data directory whose market.db is edited by `sql` (run with a writable connection). */
function editedMarket(sql: string): string {
  const d = small.freshDataDir('edited');
  const db = new Database(path.join(d, 'market.db'));
  db.exec(sql);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return d;
}

describe('Medium #3: damaged databases name the file and exit 3', () => {
  it('a market.db that is not SQLite', () => {
    const d = small.freshDataDir();
    const file = path.join(d, 'market.db');
    writeFileSync(file, 'bse_code,close\n500325,101.5\n'.repeat(200));
    for (const args of [['data', 'info', '--data-dir', d], ['batch', '--date', MORNING, ...dirs(d)], ['features', '--date', MORNING, '--data-dir', d]]) {
      const r = runCli(args);
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(3);
      expect(failureLine(r)).toBe(`stockflow: ${file} is not an SQLite database (market.db damaged or replaced: no SQLite header)`);
    }
  });

  it('a truncated market.db', () => {
    const d = small.freshDataDir();
    const file = path.join(d, 'market.db');
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const r = runCli(['data', 'info', '--data-dir', d]);
    expect(r.code).toBe(3);
    expect(failureLine(r)).toMatch(new RegExp(`^stockflow: ${file.replace(/[.]/g, '\\.')} is damaged \\(market\\.db truncated: ${Math.floor(bytes.length / 2)} bytes, its header says ${bytes.length}\\)$`));
  });

  it('a market.db without market_holidays', () => {
    const d = editedMarket('DROP TABLE market_holidays');
    const r = runCli(['batch', '--date', MORNING, ...dirs(d)]);
    expect(r.code).toBe(3);
    expect(failureLine(r)).toBe(`stockflow: ${path.join(d, 'market.db')} is not a complete stockflow market database: table market_holidays missing`);
  });

  it('a daily_prices without its volume column (read by the workers)', () => {
    const d = editedMarket('ALTER TABLE daily_prices DROP COLUMN volume');
    const r = runCli(['batch', '--date', MORNING, '--threads', '2', ...dirs(d)]);
    expect(r.code).toBe(3);
    expect(failureLine(r)).toBe(`stockflow: ${path.join(d, 'market.db')} is not a complete stockflow market database: daily_prices has no column volume`);
  });

  it('a predictions.db that is not SQLite', () => {
    const d = small.freshDataDir();
    const file = path.join(d, 'predictions.db');
    writeFileSync(file, 'x'.repeat(8192));
    const r = runCli(['batch', '--date', MORNING, ...dirs(d)]);
    expect(r.code).toBe(3);
    expect(failureLine(r)).toMatch(new RegExp(`^stockflow: ${file.replace(/[.]/g, '\\.')} is not an SQLite database \\(predictions\\.db`));
    expect(readFileSync(file, 'utf8')).toBe('x'.repeat(8192));
  });

  it('an error in an extraction worker keeps its message and kind', async () => {
    const d = small.freshDataDir();
    const db = openMarketReadonly(d);
    try {
      const stocks = activeStocks(db).slice(0, 3);
      const notDb = path.join(d, 'not-a-db.db');
      writeFileSync(notDb, 'hello, not a database'.repeat(10));
      const err = await computeFeatures(db, notDb, stocks, MORNING, { threads: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StockflowError);
      expect((err as StockflowError).exitCode).toBe(3);
      expect((err as Error).message).toBe(`${notDb} is not an SQLite database (market.db damaged or replaced: no SQLite header)`);
    } finally {
      db.close();
    }
  });
});

/** A read-only file system holding a copy of the market (tests run as root: permission bits would not stop root). */
function readOnlyDataDir(from?: string): { dir: string; release: () => void } {
  const dir = path.join(small.root, `ro-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', dir]);
  try {
    if (from) execFileSync('cp', ['-a', `${from}/.`, dir]);
    else copyFileSync(small.marketFile, path.join(dir, 'market.db'));
    execFileSync('mount', ['-o', 'remount,ro', dir]);
  } catch (e) {
    execFileSync('umount', [dir]);
    throw e;
  }
  return { dir, release: () => execFileSync('umount', [dir]) };
}

describe('Medium #4: a read-only data directory', () => {
  it('data info and features work; batch names the directory it cannot write (exit 3)', () => {
    const ro = readOnlyDataDir();
    try {
      expect(() => writeFileSync(path.join(ro.dir, 'probe'), 'x')).toThrow(/EROFS/);
      // The market is in WAL mode, like every generated one.
      const info = runCli(['data', 'info', '--json', '--data-dir', ro.dir]);
      expect(info.code, info.stderr).toBe(0);
      const src = new Database(small.marketFile, { readonly: true });
      const priceRows = src.prepare('SELECT count(*) FROM daily_prices').pluck().get();
      const journal = src.pragma('journal_mode', { simple: true });
      src.close();
      expect(journal).toBe('wal');
      expect((JSON.parse(info.stdout) as { priceRows: number }).priceRows).toBe(priceRows);

      const code = codeOf(path.dirname(small.marketFile));
      const f = runCli(['features', '--date', MORNING, '--codes', code, '--data-dir', ro.dir]);
      expect(f.code, f.stderr).toBe(0);
      // The same row as from a writable copy.
      const rw = small.freshDataDir();
      const g = runCli(['features', '--date', MORNING, '--codes', code, '--data-dir', rw]);
      expect(f.stdout).toBe(g.stdout);
      const pooled = runCli(['features', '--date', MORNING, '--threads', '2', '--data-dir', ro.dir]);
      expect(pooled.code, pooled.stderr).toBe(0);

      const b = runCli(['batch', '--date', MORNING, ...dirs(ro.dir)]);
      expect(b.code).toBe(3);
      expect(failureLine(b)).toBe(`stockflow: the directory ${ro.dir} is not writable (needed for the batch lock)`);
    } finally {
      ro.release();
    }
  });
});

describe('Medium #4: predictions.db on a read-only data directory', () => {
  it('notify --dry-run reads a finished run from a read-only directory', () => {
    const d = small.freshDataDir('ro-src');
    const run = runCli(['batch', '--date', MORNING, '--no-notify', ...dirs(d)]);
    expect(run.code, run.stderr).toBe(0);
    // As a writer leaves it when it closes last: no -wal, no -shm.
    const w = new Database(path.join(d, 'predictions.db'));
    w.pragma('wal_checkpoint(TRUNCATE)');
    w.close();
    expect(['predictions.db-wal', 'predictions.db-shm'].filter((f) => existsSync(path.join(d, f)))).toEqual([]);
    const ro = readOnlyDataDir(d);
    const want = runCli(['notify', '--date', MORNING, '--dry-run', '--data-dir', d], { env: { SLACK_WEBHOOK_URL: 'https://hooks.example.com/x' } });
    expect(want.code, want.stderr).toBe(0);
    try {
      const got = runCli(['notify', '--date', MORNING, '--dry-run', '--data-dir', ro.dir], { env: { SLACK_WEBHOOK_URL: 'https://hooks.example.com/x' } });
      expect(got.code, got.stderr).toBe(0);
      expect(got.stdout).toBe(want.stdout.replaceAll(d, ro.dir));
    } finally {
      ro.release();
    }
  });
});

describe('Medium #4: the server on a read-only data directory', () => {
  it('answers /health and the stored predictions as from a writable copy', async () => {
    const d = small.freshDataDir('ro-serve');
    const run = runCli(['batch', '--date', MORNING, '--no-notify', ...dirs(d)]);
    expect(run.code, run.stderr).toBe(0);
    const w = new Database(path.join(d, 'predictions.db'));
    w.pragma('wal_checkpoint(TRUNCATE)');
    const code = w.prepare('SELECT bse_code FROM daily_predictions ORDER BY probability DESC, bse_code LIMIT 1').pluck().get() as string;
    w.close();
    const ask = async (dataDir: string): Promise<{ health: number; healthy: unknown; prediction: unknown }> => {
      const app = await buildApp({ dataDir, modelsDir: small.modelsDir, server: { rateLimitRps: 0 }, logger: pino({ level: 'silent' }), defaultMetrics: false, fileCheckMs: 0 });
      try {
        const h = await app.inject({ method: 'GET', url: '/health' });
        const p = await app.inject({ method: 'GET', url: `/api/v1/predictions/${code}?date=${MORNING}` });
        expect(p.statusCode, p.body).toBe(200);
        return { health: h.statusCode, healthy: (h.json() as { status: unknown }).status, prediction: p.json() };
      } finally {
        await app.close();
      }
    };
    const want = await ask(d);
    const ro = readOnlyDataDir(d);
    try {
      expect(await ask(ro.dir)).toEqual(want);
    } finally {
      ro.release();
    }
  });
});

describe('Medium #5: one staleness rule; features has --allow-stale', () => {
  it('features on a date 55 days after the last session exits 3 like batch; --allow-stale prints', () => {
    const d = small.freshDataDir();
    const date = '2026-01-07'; // a Wednesday, 55 days after 2025-11-13
    const r = runCli(['features', '--date', date, '--data-dir', d]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(failureLine(r)).toBe(`stockflow: stale data: the last session before ${date} is 2025-11-13, 55 days old (limit 7); did the data feed update? (--allow-stale to run anyway)`);
    const b = runCli(['batch', '--date', date, ...dirs(d)]);
    expect(b.code).toBe(3);
    expect(failureLine(b)).toBe(failureLine(r));
    const ok = runCli(['features', '--date', date, '--allow-stale', '--codes', codeOf(d), '--data-dir', d]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim().split('\n')).toHaveLength(2);
    // Seven days is still fresh: 2025-11-20 is exactly 7 days after the last session.
    const fresh = runCli(['features', '--date', '2025-11-20', '--codes', codeOf(d), '--data-dir', d]);
    expect(fresh.code, fresh.stderr).toBe(0);
  });
});

describe('Medium #7 (CLI): numeric flags are bounded', () => {
  const cases: [string, string[], RegExp][] = [
    ['--limit past 2^53', ['--limit', '99999999999999999999'], /--limit.*expected a whole number from 1 to 1000000/],
    ['--limit in exponent form', ['--limit', '1e3'], /--limit.*expected a whole number/],
    ['--earnings-within too large', ['--earnings-within', '99999'], /--earnings-within.*from 0 to 3660/],
  ];
  for (const [name, flags, message] of cases) {
    it(`batch ${name}: exit 2`, () => {
      const d = small.freshDataDir();
      const r = runCli(['batch', '--date', MORNING, ...dirs(d), ...flags]);
      expect(r.code, r.stderr).toBe(2);
      expect(failureLine(r)).toMatch(message);
      expect(existsSync(path.join(d, 'predictions.db'))).toBe(false);
    });
  }
  it('data generate --stocks past 2^53: exit 2', () => {
    const r = runCli(['data', 'generate', '--stocks', '99999999999999999999', '--data-dir', path.join(small.root, 'never')]);
    expect(r.code).toBe(2);
    expect(failureLine(r)).toMatch(/--stocks/);
  });
  it('serve --port 99999: exit 2', () => {
    const r = runCli(['serve', '--port', '99999', '--data-dir', small.freshDataDir()]);
    expect(r.code).toBe(2);
    expect(failureLine(r)).toMatch(/--port must be a whole number from 0 to 65535, got '99999'/);
  });
});

describe('Medium #8: train checks every argument before any work', () => {
  const started = (stderr: string): boolean => logRecords(stderr).some((l) => String(l.msg).startsWith('training set'));
  for (const [name, flags, message] of [
    ['--valid-share 1.5', ['--valid-share', '1.5'], /--valid-share.*from 0\.05 to 0\.5/],
    ['--name ../x', ['--name', '../x'], /--name '\.\.\/x' is not allowed/],
    ['--horizon 100000', ['--horizon', '100000'], /--horizon.*from 1 to 60/],
    ['a version already registered', ['--version', '1.0.0'], /upper-circuit\/1\.0\.0 is already registered/],
  ] as [string, string[], RegExp][]) {
    it(`${name}: exit 2, no extraction`, () => {
      const d = small.freshDataDir();
      const r = runCli(['train', ...flags, ...dirs(d)]);
      expect(r.code, r.stderr).toBe(2);
      expect(failureLine(r)).toMatch(message);
      expect(started(r.stderr)).toBe(false);
    });
  }
  it('too little history exits 3', () => {
    const d = short.freshDataDir();
    const r = runCli(['train', ...dirs(d, short.emptyModelsDir)]);
    expect(r.code, r.stderr).toBe(3);
    expect(failureLine(r)).toMatch(/^stockflow: too little history to train: 60 sessions in market\.db/);
    expect(started(r.stderr)).toBe(false);
  });
});

describe('Medium #9: a misconfigured notification channel says what is wrong', () => {
  let done: string;
  /** The dry run's first line: which run the notice describes (read back from batch_runs). */
  let header: string;
  beforeAll(() => {
    done = small.freshDataDir('notify');
    const r = runCli(['batch', '--date', MORNING, '--no-notify', ...dirs(done)]);
    expect(r.code, r.stderr).toBe(0);
    const db = new Database(path.join(done, 'predictions.db'), { readonly: true });
    const run = db.prepare('SELECT run_id, as_of_session FROM batch_runs').get() as { run_id: string; as_of_session: string };
    db.close();
    header = `notice for ${MORNING}: run ${run.run_id} (succeeded, as of ${run.as_of_session})\n`;
  });
  const warnings = (stderr: string): string[] => logRecords(stderr).filter((l) => l.level === 40).map((l) => String(l.msg));
  const offInfo = (stderr: string): boolean => logRecords(stderr).some((l) => String(l.msg).startsWith('notifications are off: set'));

  const cases: [string, Record<string, string>, string][] = [
    ['SLACK_WEBHOOK_URL=ftp://…', { SLACK_WEBHOOK_URL: 'ftp://hooks.example.com/services/T0/B0/x' }, 'slack notifications are off: SLACK_WEBHOOK_URL is not a valid http(s) URL'],
    [
      'SMTP_URL=http://…',
      { SMTP_URL: 'http://mail.example.com', MAIL_FROM: 'sf@example.com', MAIL_TO: 'desk@example.com' },
      'email notifications are off: SMTP_URL is not a valid smtp:// or smtps:// URL',
    ],
    ['SMTP_URL and MAIL_FROM without MAIL_TO', { SMTP_URL: 'smtp://127.0.0.1:1', MAIL_FROM: 'sf@example.com' }, 'email notifications are off: email needs MAIL_TO'],
  ];
  for (const [name, env, warning] of cases) {
    it(`${name}: notify --dry-run names the problem, renders no channel, logs one warning`, () => {
      const r = runCli(['notify', '--date', MORNING, '--dry-run', '--data-dir', done], { env });
      expect(r.code, r.stderr).toBe(0);
      const [channel, problem] = warning.split(' notifications are off: ');
      expect(r.stdout).toBe(`${header}channels configured: none\n${channel}: off: ${problem}\n`);
      expect(warnings(r.stderr)).toEqual([warning]);
      expect(offInfo(r.stderr)).toBe(false);
    });
  }

  it('a batch with a misconfigured channel warns about it instead of saying nothing is set', () => {
    const d = small.freshDataDir();
    const r = runCli(['batch', '--date', MORNING, ...dirs(d)], { env: { SLACK_WEBHOOK_URL: 'ftp://hooks.example.com/x' } });
    expect(r.code, r.stderr).toBe(0);
    expect(warnings(r.stderr)).toEqual(['slack notifications are off: SLACK_WEBHOOK_URL is not a valid http(s) URL']);
    expect(offInfo(r.stderr)).toBe(false);
  });

  it('notify --dry-run renders only the configured channel', () => {
    const env = { SMTP_URL: 'smtp://127.0.0.1:1', MAIL_FROM: 'sf@example.com', MAIL_TO: 'desk@example.com' };
    const r = runCli(['notify', '--date', MORNING, '--dry-run', '--data-dir', done], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.startsWith(`${header}channels configured: email\n\n--- email ---\nFrom: sf@example.com\nTo: desk@example.com\n`)).toBe(true);
    expect(r.stdout).not.toContain('--- slack ---');
    expect(warnings(r.stderr)).toEqual([]);
  });
});

describe('Low: SIGTERM before the batch has started its work', () => {
  it('exits 130 with one line (not a silent death by signal), here while --wait waits for the lock', async () => {
    // A batch holding the lock keeps the new one in its start-up phase (before it has any work to stop).
    const d = small.freshDataDir();
    const lock = await acquireBatchLock(d);
    try {
      const p = startCli(['batch', '--date', MORNING, '--wait', ...dirs(d)]);
      await p.waitForStderr((s) => s.includes('waiting for another batch to finish'));
      p.child.kill('SIGTERM');
      const r = await p.done;
      expect(r.signal).toBe(null);
      expect(r.code).toBe(130);
      expect(failureLine(r)).toBe('stockflow: interrupted by SIGTERM');
      expect(existsSync(path.join(d, 'predictions.db'))).toBe(false);
      expect(lockHolder(d)?.pid).toBe(process.pid);
    } finally {
      lock.release();
    }
  });
});

describe('Low: an unknown option with a suggestion', () => {
  it('is one stockflow: line', () => {
    const r = runCli(['batch', '--dat', MORNING]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("stockflow: unknown option '--dat' (Did you mean --date?) (see --help)\n");
  });
});
