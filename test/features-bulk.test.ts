/**
 * The extraction path (computeFeatures on this thread and on the pool, which
 * read a task's stocks with a few range scans) must give byte for byte the
 * feature block of the per-stock oracle: the market store's
 * PointInTimeReader (five strict `< D` queries per stock) through extractMany
 * and the same imputation. Two markets: a generated one (several tasks,
 * skips, imputed rows) and a hand-built one with every cutoff edge (rows on
 * D, news exactly 30 days back, same-day news, suspended stretches, stale and
 * short histories, results announced on D).
 *
 * The pool runs the compiled worker, so this needs `npm run build` first.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMarket } from '../src/demo/generate.js';
import { StockflowError } from '../src/errors.js';
import { extractionContext } from '../src/features/context.js';
import { extractMany, imputeBlock } from '../src/features/extract.js';
import { financialFeatures, median, sectorMedians } from '../src/features/financial.js';
import { FINANCIAL_INDEXES, N_FEATURES } from '../src/features/definition.js';
import type { ResultRow } from '../src/market/inputs.js';
import { LOOKBACK_SESSIONS } from '../src/features/indicators.js';
import { TASK_SIZE, WORKER_FILE } from '../src/features/pool.js';
import { computeFeatures, type FeatureSet } from '../src/features/service.js';
import { openMarketReadonly, type Db } from '../src/market/db.js';
import { PointInTimeReader } from '../src/market/inputs.js';
import { activeStocks } from '../src/market/reader.js';
import type { Stock } from '../src/market/types.js';
import { MarketFixture, plusDays, wavyBars, weekdaysEnding } from './helpers/market-fixture.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const D = '2025-11-14';

const bytes = (a: Float32Array | Uint8Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The oracle: one PointInTimeReader query set per stock, then the batch's imputation. */
function oracle(db: Db, stocks: readonly Stock[], date: string): FeatureSet {
  const ctx = extractionContext(db, date);
  const refs = stocks.map((s) => ({ bse_code: s.bse_code, circuit_band_pct: s.circuit_band_pct, market_cap_cr: s.market_cap_cr }));
  const block = extractMany(new PointInTimeReader(db, LOOKBACK_SESSIONS), refs, ctx);
  const sectors = new Map(stocks.map((s) => [s.bse_code, s.sector]));
  const imputed = imputeBlock(block, (c) => sectors.get(c) ?? '', sectorMedians(db, date));
  return { ctx, block, imputed };
}

function expectIdentical(got: FeatureSet, want: FeatureSet): void {
  expect(got.ctx).toEqual(want.ctx);
  expect(got.block.codes).toEqual(want.block.codes);
  expect(got.block.lastBar).toEqual(want.block.lastBar);
  expect(got.block.skips).toEqual(want.block.skips);
  expect(bytes(got.block.missing).equals(bytes(want.block.missing))).toBe(true);
  expect(bytes(got.block.values).equals(bytes(want.block.values))).toBe(true);
  expect(bytes(got.imputed).equals(bytes(want.imputed))).toBe(true);
}

const dirs: string[] = [];
const dbs: Db[] = [];
afterAll(() => {
  for (const db of dbs) db.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

beforeAll(() => {
  for (const f of ['workers/extract.ts', 'src/features/extract.ts', 'src/features/pool.ts', 'src/market/inputs.ts']) {
    const out = f.startsWith('workers/') ? WORKER_FILE : path.join(ROOT, 'dist', f.replace(/\.ts$/, '.js'));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(path.join(ROOT, f)).mtimeMs) throw new Error(`${out} is missing or older than ${f}: run 'npm run build'`);
  }
});

describe('extraction = per-stock oracle, generated market', () => {
  let db: Db;
  let file: string;
  let stocks: Stock[];
  let want: FeatureSet;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'stockflow-bulk-'));
    dirs.push(dir);
    file = path.join(dir, 'market.db');
    await generateMarket({ file, stocks: 260, days: 340, seed: 7 });
    db = openMarketReadonly(file);
    dbs.push(db);
    stocks = activeStocks(db);
    want = oracle(db, stocks, D);
  });

  it('the market spans several tasks and has skips and imputed rows', () => {
    expect(stocks.length).toBeGreaterThan(2 * TASK_SIZE);
    expect(want.block.skips.length).toBeGreaterThan(0);
    expect(want.imputed.some((n) => n > 0)).toBe(true);
  });

  for (const o of [{ threads: 0 }, { threads: 1 }, { threads: 2 }, { threads: 1, mainThread: true }, { threads: 2, mainThread: true }]) {
    it(`${JSON.stringify(o)}: identical codes, last bars, skips, missing counts, values and imputed counts (bytes)`, async () => {
      const progress: number[] = [];
      expectIdentical(await computeFeatures(db, file, stocks, D, { ...o, onProgress: (d) => progress.push(d) }), want);
      expect(progress[0]).toBe(0);
      expect(progress.at(-1)).toBe(stocks.length);
      for (let k = 1; k < progress.length; k++) expect(progress[k]).toBeGreaterThan(progress[k - 1]);
    });
  }

  it('the calling thread taking tasks reports a damaged market.db as the workers do (message and exit code)', async () => {
    const notDb = path.join(path.dirname(file), 'not-a-db.db');
    writeFileSync(notDb, 'hello, not a database'.repeat(10));
    // More tasks than the two handed to the one worker: the calling thread reads the third.
    expect(stocks.length).toBeGreaterThan(2 * TASK_SIZE);
    const err = await computeFeatures(db, notDb, stocks, D, { threads: 1, mainThread: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StockflowError);
    expect((err as StockflowError).exitCode).toBe(3);
    expect((err as Error).message).toBe(`${notDb} is not an SQLite database (market.db damaged or replaced: no SQLite header)`);
  });

  it('sector medians (read block by block, last six quarters only) equal medians over every ACTIVE stock\'s whole result history', () => {
    // The oracle: every result announced before D of every ACTIVE stock, in one plain query, period order.
    const k = FINANCIAL_INDEXES.length;
    for (const date of [D, '2025-09-03', '2025-03-10']) {
      const all = db
        .prepare(
          `SELECT r.bse_code, r.period_end, r.announced_on, r.revenue_cr, r.net_profit_cr, r.eps FROM quarterly_results r
            JOIN master_stock_list m ON m.bse_code = r.bse_code WHERE m.status = 'ACTIVE' AND r.announced_on < ? ORDER BY r.bse_code, r.period_end`,
        )
        .all(date) as (ResultRow & { bse_code: string })[];
      const byCode = new Map<string, ResultRow[]>();
      for (const r of all) byCode.set(r.bse_code, [...(byCode.get(r.bse_code) ?? []), r]);
      // Some stock must have more than six quarters of history for the cut to matter.
      expect(Math.max(...[...byCode.values()].map((l) => l.length))).toBeGreaterThan(6);
      const cols = new Map<string, number[][]>();
      const every: number[][] = Array.from({ length: k }, () => []);
      const tmp = new Float64Array(N_FEATURES);
      for (const s of db.prepare("SELECT bse_code, sector, market_cap_cr FROM master_stock_list WHERE status = 'ACTIVE'").all() as Stock[]) {
        tmp.fill(NaN);
        financialFeatures(byCode.get(s.bse_code) ?? [], s.market_cap_cr, tmp, 0);
        const c = cols.get(s.sector) ?? Array.from({ length: k }, () => []);
        cols.set(s.sector, c);
        FINANCIAL_INDEXES.forEach((fi, j) => {
          if (Number.isFinite(tmp[fi])) {
            c[j].push(tmp[fi]);
            every[j].push(tmp[fi]);
          }
        });
      }
      const fallback = every.map((col) => (Number.isFinite(median(col)) ? median(col) : 0));
      const got = sectorMedians(db, date);
      expect(Array.from(got.fallback)).toEqual(fallback);
      expect([...got.bySector.keys()].sort()).toEqual([...cols.keys()].sort());
      for (const [sector, c] of cols) expect(Array.from(got.bySector.get(sector)!)).toEqual(c.map((col, j) => (Number.isFinite(median(col)) ? median(col) : fallback[j])));
    }
  });

  it('also for an earlier date inside the history (cutoffs move with D)', async () => {
    const earlier = '2025-09-03';
    expectIdentical(await computeFeatures(db, file, stocks, earlier, { threads: 0 }), oracle(db, stocks, earlier));
  });
});

describe('extraction = per-stock oracle, cutoff edges', () => {
  let db: Db;
  let file: string;
  let stocks: Stock[];
  beforeAll(() => {
    const dir = mkdtempSync(path.join(tmpdir(), 'stockflow-bulk-edges-'));
    dirs.push(dir);
    file = path.join(dir, 'market.db');
    const fx = new MarketFixture(file);
    const last = '2025-11-13';
    const days = weekdaysEnding(last, 420);
    const add = (code: string, dates: readonly string[], phase: number, o: { cap?: number | null; sector?: string } = {}): void => {
      fx.stock({ code, marketCapCr: o.cap === undefined ? 1000 + phase : o.cap, sector: o.sector ?? (phase % 2 ? 'Alpha' : 'Beta') }).bars(code, wavyBars(dates, { phase }));
    };
    // Full history, plus a bar dated D itself (after the cutoff: must not be read).
    add('500001', [...days, D], 1);
    // Suspended for 200 sessions inside the window: its last 320 bars reach far further back.
    add('500002', [...days.slice(0, 300), ...days.slice(380)], 2);
    // Short history (fewer than the 250 sessions needed).
    add('500003', days.slice(-120), 3);
    // Stale: no bar in the last five sessions.
    add('500004', days.slice(0, -8), 4);
    // Listed but never traded.
    fx.stock({ code: '500005' });
    // Results: one announced on D (after the cutoff), one the day before; more than 8 quarters.
    add('500006', days, 6, { cap: null });
    for (let q = 0; q < 11; q++) {
      const periodEnd = plusDays('2023-03-31', 91 * q);
      fx.result('500006', periodEnd, plusDays(periodEnd, 40), 100 + q * 3.3, q % 3 === 0 ? null : 10 + q * 0.7, 1.1 * q);
    }
    fx.result('500006', '2025-09-30', D, 500, 50, 5);
    fx.result('500001', '2025-06-30', '2025-11-13', 321.5, 12.25, 2.5);
    fx.result('500001', '2025-03-31', '2025-05-20', 300.1, 11.5, 2.25);
    // News: on D (excluded), exactly D − 30 (included), D − 31 (excluded), same-day items whose sum depends on order.
    add('500007', days, 7);
    fx.news('500007', D, 0.9);
    fx.news('500007', plusDays(D, -30), -0.4);
    fx.news('500007', plusDays(D, -31), 0.8);
    fx.news('500007', plusDays(D, -2), 0.1, 'a');
    fx.news('500007', plusDays(D, -2), 0.2, 'c');
    fx.news('500007', plusDays(D, -2), 0.3, 'b');
    fx.news('500007', plusDays(D, -7), 0.7);
    fx.news('500001', plusDays(D, -1), -0.25);
    // Calendar: one expected on D (looks forward: included), one before D, one later.
    add('500008', days, 8);
    fx.expected('500008', '2025-10-01');
    fx.expected('500008', D);
    fx.expected('500008', '2026-02-10');
    fx.expected('500001', '2025-12-20');
    // More stocks than one task so task boundaries are crossed, interleaved codes out of order.
    for (let k = 0; k < 130; k++) {
      const code = String(510000 + ((k * 37) % 130) * 3);
      add(code, k % 11 === 0 ? days.slice(0, 200).concat(days.slice(300)) : days, 10 + k);
      if (k % 4 === 0) fx.result(code, '2025-06-30', plusDays('2025-07-20', k % 60), 50 + k, k % 5 === 0 ? null : 4 + k / 10, 0.5);
      if (k % 3 === 0) fx.news(code, plusDays(D, -(k % 35)), ((k % 7) - 3) / 5);
      if (k % 5 === 0) fx.expected(code, plusDays(D, k % 40));
    }
    fx.close();
    db = openMarketReadonly(file);
    dbs.push(db);
    stocks = activeStocks(db);
  });

  it('covers the edges', () => {
    const want = oracle(db, stocks, D);
    const reasons = new Set(want.block.skips.map((s) => s.reason));
    expect(reasons).toEqual(new Set(['NO_PRICE_DATA', 'INSUFFICIENT_HISTORY']));
    expect(want.block.codes).toContain('500002');
    expect(stocks.length).toBeGreaterThan(TASK_SIZE);
  });

  for (const date of [D, '2025-11-13', '2025-08-01']) {
    for (const o of [{ threads: 0 }, { threads: 2 }, { threads: 1, mainThread: true }]) {
      it(`D ${date}, ${JSON.stringify(o)}: byte-identical to the oracle`, async () => {
        expectIdentical(await computeFeatures(db, file, stocks, date, o), oracle(db, stocks, date));
      });
    }
  }
});
