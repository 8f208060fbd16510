/**
 * Issue 12: EPS is per share, so a split or bonus changes it. The readers
 * (src/market/adjust.ts `adjustResults`, called by the point-in-time reader and
 * the sector medians) divide the EPS of a result announced before an action's
 * ex-date by its factor, for a prediction date D after the ex-date only
 * (ex_date < D, as adjustBars does for prices). The announcement date decides:
 * a result announced on or after the ex-date already reports on the new share
 * count (IAS 33 ¶64). Every expectation is worked out here by hand from the rows
 * the tests insert.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adjustResults } from '../src/market/adjust.js';
import { openMarketReadonly } from '../src/market/db.js';
import { PointInTimeReader } from '../src/market/inputs.js';
import { FEATURE_INDEX, FINANCIAL_INDEXES, N_FEATURES } from '../src/features/definition.js';
import { sectorMedians } from '../src/features/financial.js';
import { OnlineFeatures } from '../src/features/online.js';
import { buildDataset, sampleDates } from '../src/model/train/dataset.js';
import { runBatch, type BatchOptions } from '../src/batch/run.js';
import { loadScoringModel } from '../src/model/scoring-model.js';
import { captureLogger } from './helpers/onnx-fixture.js';
import { buildMarketFixture, openPredictions, type MarketFixture as BatchMarket } from './helpers/batch-fixture.js';
import { MarketFixture, wavyBars, weekdaysEnding } from './helpers/market-fixture.js';
import { computeAll, rowOf } from './helpers/compute.js';

const SESSIONS = weekdaysEnding('2025-08-19', 300);
const EPS = FEATURE_INDEX.eps_growth_qoq;

let root: string;
let n = 0;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'stockflow-eps-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fixture(build: (fx: MarketFixture) => void): string {
  const file = path.join(root, `m${++n}.db`);
  const fx = new MarketFixture(file);
  build(fx);
  fx.close();
  return file;
}

/**
 * Three quarters of one stock: Q4 2024 (EPS 10) and Q1 2025 (EPS 12) announced before a 1:1 bonus
 * (factor 2), Q2 2025 announced after it with EPS 6.6 on the doubled share count.
 */
function threeQuarters(fx: MarketFixture, code: string): void {
  fx.result(code, '2024-12-31', '2025-02-10', 100, 10, 10)
    .result(code, '2025-03-31', '2025-05-12', 100, 10, 12)
    .result(code, '2025-06-30', '2025-07-25', 100, 10, 6.6);
}

describe('adjustResults', () => {
  it('divides the EPS of results announced before each ex-date, compounding; announced on the ex-date or later, null EPS: untouched', () => {
    const rows = [
      { announced_on: '2025-07-25', eps: 6.6 as number | null },
      { announced_on: '2025-06-16', eps: 9 as number | null },
      { announced_on: '2025-05-12', eps: 12 as number | null },
      { announced_on: '2025-02-10', eps: null as number | null },
      { announced_on: '2024-11-01', eps: -4.5 as number | null },
    ];
    // A 1:1 bonus (2) ex 2025-06-16 and a 2:1 split (2) ex 2025-01-02, given out of order; one after every row (1.5).
    adjustResults(rows, [
      { ex_date: '2025-06-16', factor: 2 },
      { ex_date: '2025-01-02', factor: 2 },
      { ex_date: '2025-08-01', factor: 1.5 },
    ]);
    expect(rows.map((r) => r.eps)).toEqual([6.6 / 1.5, 9 / 1.5, 12 / 3, null, -4.5 / 6]);
  });

  it('leaves the rows untouched without actions', () => {
    const rows = [{ announced_on: '2025-01-01', eps: 1.1 }];
    adjustResults(rows, []);
    expect(rows[0].eps).toBe(1.1);
  });
});

describe('EPS across a 1:1 bonus in the point-in-time reader, the features, the medians and the API', () => {
  const B = '500001'; // bonus ex 2025-06-16, between Q1's announcement and Q2's period end
  const C = '500002'; // bonus ex 2025-07-10, after Q2's period end (06-30) but before its announcement (07-25)
  const R = '500003'; // B's results, no action recorded
  const U = '500004'; // results on one share count throughout: 5, 6, 6.6
  const EX_B = '2025-06-16';
  const EX_C = '2025-07-10';
  /** After Q2's announcement (Friday 07-25). */
  const LATE = '2025-07-28';
  let file: string;
  beforeAll(() => {
    expect(SESSIONS).toContain(EX_B);
    expect(SESSIONS).toContain(EX_C);
    file = fixture((fx) => {
      fx.stock({ code: B, sector: 'Beta' }).stock({ code: C, sector: 'Gamma' }).stock({ code: R, sector: 'Delta' }).stock({ code: U, sector: 'Eta' });
      for (const [i, c] of [B, C, R, U].entries()) fx.bars(c, wavyBars(SESSIONS, { phase: 3 * i }));
      threeQuarters(fx, B);
      threeQuarters(fx, C);
      threeQuarters(fx, R);
      fx.result(U, '2024-12-31', '2025-02-10', 100, 10, 5).result(U, '2025-03-31', '2025-05-12', 100, 10, 6).result(U, '2025-06-30', '2025-07-25', 100, 10, 6.6);
      fx.action(B, EX_B, 'bonus', 2, 'BONUS 1:1').action(C, EX_C, 'bonus', 2, 'BONUS 1:1');
    });
  });

  it('the reader gives the EPS as announced for D up to the ex-date, and ÷ 2 for D after it; raw rows untouched', () => {
    const db = openMarketReadonly(file);
    try {
      const reader = new PointInTimeReader(db, 300);
      const eps = (code: string, d: string): (number | null)[] => reader.read(code, d).results.map((r) => r.eps);
      // Newest period first. On the ex-date the bonus is not in force yet.
      expect(eps(B, EX_B)).toEqual([12, 10]);
      expect(eps(B, '2025-06-17')).toEqual([6, 5]);
      expect(eps(B, LATE)).toEqual([6.6, 6, 5]);
      expect(eps(R, LATE)).toEqual([6.6, 12, 10]);
      // C: Q2 (period before the ex-date, announced after it) is already on the new count: not divided.
      expect(eps(C, EX_C)).toEqual([12, 10]);
      expect(eps(C, LATE)).toEqual([6.6, 6, 5]);
      expect(db.prepare('SELECT eps FROM quarterly_results WHERE bse_code = ? ORDER BY period_end').pluck().all(B)).toEqual([10, 12, 6.6]);
    } finally {
      db.close();
    }
  });

  it('eps_growth_qoq on each side of the ex-date: the growth of the adjusted EPS, not the bonus’s halving', async () => {
    const before = await computeAll(file, EX_B);
    const after = await computeAll(file, LATE);
    // Up to the ex-date: (12 − 10) / 10.
    expect(rowOf(before, B)[EPS]).toBeCloseTo(0.2, 6);
    // After it: (6.6 − 12/2) / (12/2) = 0.1, as for U, whose share count never changed; unadjusted (R): (6.6 − 12) / 12.
    expect(rowOf(after, B)[EPS]).toBeCloseTo(0.1, 6);
    expect(rowOf(after, U)[EPS]).toBeCloseTo(0.1, 6);
    expect(rowOf(after, C)[EPS]).toBeCloseTo(0.1, 6);
    expect(rowOf(after, R)[EPS]).toBeCloseTo(-0.45, 6);
  });

  it('the sector medians use the same adjusted EPS (one stock per sector: its own value)', () => {
    const db = openMarketReadonly(file);
    try {
      const m = sectorMedians(db, LATE);
      const j = FINANCIAL_INDEXES.indexOf(EPS);
      expect(m.bySector.get('Beta')?.[j]).toBeCloseTo(0.1, 12);
      expect(m.bySector.get('Gamma')?.[j]).toBeCloseTo(0.1, 12);
      expect(m.bySector.get('Delta')?.[j]).toBeCloseTo(-0.45, 12);
      // On B's ex-date: nothing in force, (12 − 10) / 10.
      expect(sectorMedians(db, EX_B).bySector.get('Beta')?.[j]).toBeCloseTo(0.2, 12);
    } finally {
      db.close();
    }
  });

  it('training reads the same adjusted EPS (its third sampled date is the day after Q2’s announcement)', async () => {
    expect(sampleDates(SESSIONS, { horizon: 5, dates: 4 }).dates[2]).toBe(LATE);
    const db = openMarketReadonly(file);
    try {
      const ds = await buildDataset(db, file, { horizon: 5, dates: 4, validShare: 0.25, threads: 0 });
      expect(ds.train.dates[2]).toBe(LATE);
      // Four stocks per date in code order (equal market caps): B, C, R, U; the third date's rows are 8 … 11.
      const eps = (row: number): number => ds.train.X[row * N_FEATURES + EPS];
      expect(eps(8)).toBeCloseTo(0.1, 6);
      expect(eps(9)).toBeCloseTo(0.1, 6);
      expect(eps(10)).toBeCloseTo(-0.45, 6);
      expect(eps(11)).toBeCloseTo(0.1, 6);
    } finally {
      db.close();
    }
  });

  it('the on-demand path (the API) gives the same value', () => {
    const db = openMarketReadonly(file);
    try {
      const r = new OnlineFeatures(db).get(B, LATE);
      if (!r.ok) throw new Error('expected a row');
      expect(r.row.values[EPS]).toBeCloseTo(0.1, 6);
    } finally {
      db.close();
    }
  });
});

describe('a bonus imported after the fact', () => {
  const B = '500001';
  const EX = '2025-06-16';
  const LATE = '2025-07-28';

  it('changes the EPS inputs of dates after its ex-date, and leaves those up to it byte-identical', async () => {
    const file = fixture((fx) => {
      fx.stock({ code: B }).bars(B, wavyBars(SESSIONS));
      threeQuarters(fx, B);
    });
    const early0 = await computeAll(file, EX);
    const late0 = await computeAll(file, LATE);
    expect(rowOf(late0, B)[EPS]).toBeCloseTo(-0.45, 6);
    const w = new Database(file);
    w.prepare("INSERT INTO corporate_actions (bse_code, ex_date, kind, factor, purpose, source) VALUES (?, ?, 'bonus', 2, 'BONUS 1:1', 'bc')").run(B, EX);
    w.close();
    const early1 = await computeAll(file, EX);
    const late1 = await computeAll(file, LATE);
    expect(Buffer.from(early1.block.values.buffer).equals(Buffer.from(early0.block.values.buffer))).toBe(true);
    expect(rowOf(late1, B)[EPS]).toBeCloseTo(0.1, 6);
  });
});

describe('in the batch: an action imported after a run', () => {
  // The demo market's sessions end Thursday 2025-11-13. One stock's results are replaced by two quarters:
  // EPS 12 announced 2025-08-05, then 6.6 announced 2025-11-12 on the share count doubled by a 1:1 bonus ex 2025-11-11.
  let fx: BatchMarket;
  let code: string;
  beforeAll(async () => {
    fx = await buildMarketFixture({
      stocks: 30,
      edit: (db) => {
        code = db.prepare("SELECT bse_code FROM master_stock_list WHERE status = 'ACTIVE' ORDER BY bse_code LIMIT 1").pluck().get() as string;
        db.prepare('DELETE FROM quarterly_results WHERE bse_code = ?').run(code);
        const ins = db.prepare('INSERT INTO quarterly_results (bse_code, period_end, announced_on, revenue_cr, net_profit_cr, eps) VALUES (?, ?, ?, 100, 10, ?)');
        ins.run(code, '2025-06-30', '2025-08-05', 12);
        ins.run(code, '2025-09-30', '2025-11-12', 6.6);
      },
    });
  }, 120_000);
  afterAll(() => fx?.cleanup());

  function options(dataDir: string, date: string): BatchOptions {
    const { log } = captureLogger();
    return { dataDir, date, threads: 0, loadModel: () => loadScoringModel({ modelsDir: fx.modelsDir }, { log }), log, modelsDir: fx.modelsDir };
  }

  it('the stored run keeps the inputs it was made with; the next date’s inputs use the action', async () => {
    const dataDir = fx.freshDataDir('eps');
    const stored = (date: string): number => {
      const p = openPredictions(dataDir);
      try {
        return p.prepare('SELECT eps_growth_qoq FROM feature_values WHERE bse_code = ? AND prediction_date = ?').pluck().get(code, date) as number;
      } finally {
        p.close();
      }
    };
    const m = new Database(path.join(dataDir, 'market.db'), { readonly: true });
    expect(m.prepare("SELECT count(*) FROM daily_prices WHERE trade_date = '2025-11-11'").pluck().get()).toBeGreaterThan(0);
    m.close();
    await runBatch(options(dataDir, '2025-11-13'));
    // (6.6 − 12) / 12: no action known.
    expect(stored('2025-11-13')).toBeCloseTo(-0.45, 5);
    const w = new Database(path.join(dataDir, 'market.db'));
    w.prepare("INSERT INTO corporate_actions (bse_code, ex_date, kind, factor, purpose, source) VALUES (?, '2025-11-11', 'bonus', 2, 'BONUS 1:1', 'bc')").run(code);
    w.close();
    await runBatch(options(dataDir, '2025-11-14'));
    // (6.6 − 12/2) / (12/2); the stored row of 2025-11-13 is as it was.
    expect(stored('2025-11-14')).toBeCloseTo(0.1, 5);
    expect(stored('2025-11-13')).toBeCloseTo(-0.45, 5);
  }, 120_000);
});
