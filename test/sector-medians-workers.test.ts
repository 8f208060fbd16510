/**
 * A full run's sector medians from the workers' reads (#16): each ref's median
 * inputs come from the results the point-in-time reader already read for
 * extraction (its 8 newest periods), where those rows can be shown to be
 * exactly the six quarters sectorMedians reads; the other stocks are read as
 * sectorMedians reads them. The oracle is sectorMedians itself (the existing
 * read): every median must be the same float64 (Object.is), on a generated
 * market and on a hand-built one with the edge cases.
 *
 * The pool runs the compiled worker, so this needs `npm run build` first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { generateMarket } from '../src/demo/generate.js';
import { extractionContext } from '../src/features/context.js';
import { extractMany } from '../src/features/extract.js';
import { FEATURE_INDEX, FINANCIAL_INDEXES } from '../src/features/definition.js';
import { medianInputsFromLatest, N_MEDIAN_INPUTS, sectorMedians, sectorMediansFrom, sixQuartersSince, type SectorMedians } from '../src/features/financial.js';
import { InputReader } from '../src/features/inputs.js';
import { codeOrder, extractWithPool } from '../src/features/pool.js';
import { computeFeatures, refsInForce } from '../src/features/service.js';
import { openMarketReadonly, type Db } from '../src/market/db.js';
import { activeStocks } from '../src/market/reader.js';
import type { StockRef } from '../src/features/types.js';
import { MarketFixture, wavyBars, weekdaysEnding } from './helpers/market-fixture.js';

const D = '2025-11-14';
const dirs: string[] = [];
const dbs: Db[] = [];
afterAll(() => {
  for (const db of dbs) db.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Same sectors in the same order, every median the same float64 (Object.is: 0 and −0 differ, NaN equals NaN). */
function expectSameMedians(got: SectorMedians, want: SectorMedians): void {
  expect(got.date).toBe(want.date);
  expect([...got.bySector.keys()]).toEqual([...want.bySector.keys()]);
  const same = (a: Float64Array, b: Float64Array, what: string): void => {
    expect(a.length, what).toBe(b.length);
    for (let j = 0; j < a.length; j++) expect(Object.is(a[j], b[j]), `${what}[${j}]: ${a[j]} vs ${b[j]}`).toBe(true);
  };
  same(got.fallback, want.fallback, 'fallback');
  for (const [s, m] of want.bySector) same(got.bySector.get(s) as Float64Array, m, s);
}

function refsOf(db: Db, date: string): StockRef[] {
  return refsInForce(db, activeStocks(db), date);
}

/** The median inputs the calling thread would get from extraction on one reader (extractMany with medianInputs). */
function singleThreadInputs(db: Db, refs: readonly StockRef[], date: string): { inputs: Float64Array; known: Uint8Array } {
  const b = extractMany(new InputReader(db), refs, extractionContext(db, date), true);
  return b.medians as { inputs: Float64Array; known: Uint8Array };
}

describe('the cut: sixQuartersSince = SQLite date(latest, start of month, -N months)', () => {
  it('on the 1st, 15th, 28th and last day of every month, 1998–2031', () => {
    const db = new Database(':memory:');
    const q = db.prepare("SELECT date(?, 'start of month', printf('-%d months', (CAST(substr(?, 6, 2) AS INTEGER) + 2) % 3 + 15))").pluck();
    let n = 0;
    for (let y = 1998; y <= 2031; y++) {
      for (let m = 1; m <= 12; m++) {
        const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
        for (const d of [1, 15, 28, last]) {
          const iso = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
          expect(sixQuartersSince(iso), iso).toBe(q.get(iso, iso));
          n++;
        }
      }
    }
    db.close();
    expect(n).toBe(34 * 12 * 4);
  });

  it('a hand-worked case: latest 2025-09-30 (Q3) → 2024-04-01; 2025-12-31 (Q4) → 2024-07-01; 2025-01-31 → 2023-10-01', () => {
    expect(sixQuartersSince('2025-09-30')).toBe('2024-04-01');
    expect(sixQuartersSince('2025-12-31')).toBe('2024-07-01');
    expect(sixQuartersSince('2025-01-31')).toBe('2023-10-01');
  });
});

describe('medianInputsFromLatest: known only when the rows are provably the six quarters', () => {
  const row = (period_end: string, announced_on = '2025-11-01') => ({ period_end, announced_on, revenue_cr: 100, net_profit_cr: 10, eps: 1 });
  const out = new Float64Array(N_MEDIAN_INPUTS);
  it('8 rows all from the cut on: unknown; 8 rows with the oldest before it: known; fewer than 8: known', () => {
    const inCut = ['2025-09-30', '2025-08-31', '2025-06-30', '2025-03-31', '2024-12-31', '2024-09-30', '2024-06-30', '2024-04-30'].map((p) => row(p));
    expect(medianInputsFromLatest(inCut, 8, 1000, out, 0)).toBe(false);
    const below = [...inCut.slice(0, 7), row('2024-03-31')];
    expect(medianInputsFromLatest(below, 8, 1000, out, 0)).toBe(true);
    expect(medianInputsFromLatest(inCut.slice(0, 7), 8, 1000, out, 0)).toBe(true);
    expect(medianInputsFromLatest([], 8, 1000, out, 0)).toBe(true);
    expect(Object.is(out[FINANCIAL_INDEXES.indexOf(FEATURE_INDEX.log_market_cap)], Math.log(1000))).toBe(true);
  });
  it('a period_end that is not a canonical calendar date: unknown', () => {
    for (const bad of ['2025-6-30', '2025-06-31', '2025-06-30 ', '0999-06-30']) {
      expect(medianInputsFromLatest([row('2025-09-30'), row(bad)], 8, 1000, out, 0), bad).toBe(false);
    }
  });
});

describe('hand-built market with the edge cases', () => {
  let db: Db;
  let file: string;
  // Results: [period_end, announced_on, revenue, profit, eps]
  type R = [string, string, number | null, number | null, number | null];
  const quarters = (from: number, n: number, base: number): R[] =>
    Array.from({ length: n }, (_, i) => {
      const y = 2022 + Math.floor((from + i) / 4);
      const q = (from + i) % 4;
      const pe = `${y}-${['03-31', '06-30', '09-30', '12-31'][q]}`;
      const ann = q === 3 ? `${y + 1}-02-10` : `${y}-${String(q * 3 + 5).padStart(2, '0')}-10`;
      return [pe, ann, base + 7 * i + (i % 3), base / 10 + i - (i % 2) * 3, 1 + i * 0.25];
    });

  beforeAll(() => {
    const dir = mkdtempSync(path.join(tmpdir(), 'stockflow-medians-'));
    dirs.push(dir);
    file = path.join(dir, 'market.db');
    const fx = new MarketFixture(file);
    const days = weekdaysEnding('2025-11-13', 300);
    let phase = 0;
    const stock = (code: string, sector: string, results: R[], o: { cap?: number | null; band?: null; status?: 'SUSPENDED'; bars?: false } = {}): void => {
      fx.stock({ code, sector, marketCapCr: o.cap === undefined ? 500 + 37 * phase : o.cap, bandPct: o.band, status: o.status });
      if (o.bars !== false) fx.bars(code, wavyBars(days, { phase: ++phase }));
      for (const r of results) fx.result(code, ...r);
    };
    // Two period_ends in the latest quarter: period order keeps 2025-06-30 for Q2 (the newest-first order would keep 06-15).
    stock('600001', 'Alpha', [...quarters(9, 4, 300), ['2025-06-15', '2025-07-20', 410, 30, 2.5], ['2025-06-30', '2025-08-05', 450, 61, 3.1]]);
    // Ten results in six quarters (monthly and quarterly period_ends): the reader's 8 are all from the cut on.
    stock('600002', 'Alpha', [
      ['2024-04-30', '2024-06-01', 200, 20, 1],
      ['2024-06-30', '2024-08-01', 210, 19, 1.1],
      ['2024-08-31', '2024-10-01', 220, 25, 1.2],
      ['2024-10-31', '2024-12-01', 230, 21, 1.3],
      ['2024-12-31', '2025-02-01', 240, 26, 1.4],
      ['2025-02-28', '2025-04-01', 250, 22, 1.5],
      ['2025-04-30', '2025-06-01', 260, 28, 1.6],
      ['2025-06-30', '2025-08-01', 270, 23, 1.7],
      ['2025-08-31', '2025-10-01', 280, 31, 1.8],
      ['2025-09-30', '2025-10-20', 290, 27, 1.9],
    ]);
    // EPS adjusted by a split in force for D (ex_date after some announcements).
    stock('600003', 'Beta', quarters(6, 8, 800));
    fx.action('600003', '2025-05-20', 'split', 2);
    // No results at all.
    stock('600004', 'Beta', []);
    // A non-canonical period_end (the SQL cut may treat it otherwise): read again.
    stock('600005', 'Gamma', [...quarters(10, 3, 150), ['2025-6-30', '2025-08-01', 190, 12, 0.9]]);
    // No price band: skipped by extraction, its results still count.
    stock('600006', 'Gamma', quarters(8, 6, 640), { band: null });
    // Twelve quarters: more than 8 results, the reader's oldest is before the cut.
    stock('600007', 'Alpha', quarters(3, 12, 520));
    // Two actions on one ex_date: read again.
    stock('600008', 'Beta', quarters(7, 7, 330));
    fx.action('600008', '2025-03-10', 'split', 2);
    fx.action('600008', '2025-03-10', 'bonus', 1.5);
    // SUSPENDED: in neither.
    stock('600009', 'Alpha', quarters(8, 6, 999), { status: 'SUSPENDED' });
    stock('600010', 'Gamma', quarters(9, 5, 410));
    // No bars, no results, no market cap: a sector with no values (its medians fall back).
    stock('600011', 'Empty', [], { cap: null, bars: false });
    // The newest result announced on D itself (after the cutoff).
    stock('600012', 'Beta', [...quarters(7, 6, 720), ['2025-09-30', D, 999, 99, 9]]);
    // A period_end that is no calendar day: read again.
    stock('600015', 'Gamma', [...quarters(10, 3, 260), ['2025-06-31', '2025-08-01', 300, 33, 2]]);
    // An action with an ex_date that is not a date, before D as a string but after D − 1 (the reader's actionsOf
    // takes it, forEachActiveResults does not), between the last two announcements: read again.
    stock('600016', 'Alpha', [...quarters(9, 5, 610), ['2025-09-30', '2025-11-13T10', 700, 80, 3]]);
    fx.action('600016', '2025-11-13T09', 'split', 2);
    fx.close();
    db = openMarketReadonly(file);
    dbs.push(db);
  });

  it('single thread and pool: the medians equal sectorMedians (every value), on D and two earlier dates', async () => {
    for (const date of [D, '2025-08-04', '2025-03-12']) {
      const refs = refsOf(db, date);
      const want = sectorMedians(db, date);
      expectSameMedians(sectorMediansFrom(db, date, refs, singleThreadInputs(db, refs, date)).medians, want);
      const pooled = await extractWithPool(file, refs, extractionContext(db, date), { threads: 2, medianInputs: true });
      expectSameMedians(sectorMediansFrom(db, date, refs, pooled.medians as { inputs: Float64Array; known: Uint8Array }).medians, want);
    }
  });

  it('which stocks the workers give (hand-worked) and which are read again', () => {
    const refs = refsOf(db, D);
    const given = singleThreadInputs(db, refs, D);
    const known = refs.filter((_, i) => given.known[i] === 1).map((r) => r.bse_code).sort();
    expect(known).toEqual(['600001', '600003', '600004', '600006', '600007', '600008', '600010', '600011', '600012', '600016']);
    // Not known (600002, 600005, 600015) and odd actions (600008, 600016).
    expect(sectorMediansFrom(db, D, refs, given).reread).toBe(5);
  });

  it('two period_ends in one quarter: the inputs use the later one (period order), as sectorMedians does', () => {
    const refs = refsOf(db, D);
    const given = singleThreadInputs(db, refs, D);
    const i = refs.findIndex((r) => r.bse_code === '600001');
    const j = FINANCIAL_INDEXES.indexOf(FEATURE_INDEX.net_profit_margin);
    expect(Object.is(given.inputs[i * N_MEDIAN_INPUTS + j], 61 / 450)).toBe(true);
  });

  it('refs without some ACTIVE stock, or with another market cap: those are read again, the medians stay equal', () => {
    const all = refsOf(db, D);
    const given = singleThreadInputs(db, all, D);
    const keep = all.map((r, i) => [r, i] as const).filter(([r]) => r.bse_code !== '600010');
    const refs = keep.map(([r]) => (r.bse_code === '600007' ? { ...r, market_cap_cr: 1 } : r));
    const sub = {
      inputs: Float64Array.from(keep.flatMap(([, i]) => [...given.inputs.subarray(i * N_MEDIAN_INPUTS, (i + 1) * N_MEDIAN_INPUTS)])),
      known: Uint8Array.from(keep.map(([, i]) => given.known[i])),
    };
    const got = sectorMediansFrom(db, D, refs, sub);
    expect(got.reread).toBe(7);
    expectSameMedians(got.medians, sectorMedians(db, D));
  });

  it('the inputs alone (sectorMedians with every stock given wrong inputs would differ): the test can fail', () => {
    const refs = refsOf(db, D);
    const given = singleThreadInputs(db, refs, D);
    given.inputs.fill(1);
    const got = sectorMediansFrom(db, D, refs, given).medians;
    expect(got.bySector.get('Alpha')?.[0]).not.toBe(sectorMedians(db, D).bySector.get('Alpha')?.[0]);
  });
});

/** A generated market in a temporary directory (removed, and its connection closed, after the file's tests). */
async function generated(prefix: string, o: { stocks: number; days: number; seed: number }): Promise<{ db: Db; file: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  const file = path.join(dir, 'market.db');
  await generateMarket({ file, ...o });
  const db = openMarketReadonly(file);
  dbs.push(db);
  return { db, file };
}

describe('generated market', () => {
  let db: Db;
  let file: string;
  beforeAll(async () => {
    ({ db, file } = await generated('stockflow-medians-gen-', { stocks: 320, days: 400, seed: 11 }));
  });

  it('the medians equal sectorMedians on three dates; most stocks come from the workers', async () => {
    for (const date of [D, '2025-09-03', '2025-03-10']) {
      const refs = refsOf(db, date);
      const pooled = await extractWithPool(file, refs, extractionContext(db, date), { threads: 2, medianInputs: true });
      const got = sectorMediansFrom(db, date, refs, pooled.medians as { inputs: Float64Array; known: Uint8Array });
      expectSameMedians(got.medians, sectorMedians(db, date));
      expect(got.reread).toBeLessThan(refs.length / 10);
    }
  });

  it('computeFeatures with workerMedians gives the same feature set, byte for byte', async () => {
    const stocks = activeStocks(db);
    const want = await computeFeatures(db, file, stocks, D, { threads: 2 });
    const got = await computeFeatures(db, file, stocks, D, { threads: 2, workerMedians: true });
    expect(got.block.medians).toBeUndefined();
    expect(got.block.codes).toEqual(want.block.codes);
    expect(got.block.skips).toEqual(want.block.skips);
    expect(Buffer.from(got.block.values.buffer).equals(Buffer.from(want.block.values.buffer))).toBe(true);
    expect(Buffer.from(got.imputed.buffer).equals(Buffer.from(want.imputed.buffer))).toBe(true);
  });
});

describe('the pool extracts in bse_code order and gives the block back in input order', () => {
  let db: Db;
  let file: string;
  beforeAll(async () => {
    ({ db, file } = await generated('stockflow-order-', { stocks: 300, days: 340, seed: 5 }));
  });

  const bytes = (a: Float32Array | Float64Array | Uint8Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

  it('codeOrder: the positions by code; none for refs already in code order or with a repeated code', () => {
    const ref = (bse_code: string): StockRef => ({ bse_code, circuit_band_pct: 20, market_cap_cr: 1 });
    expect(codeOrder(['500003', '500001', '500002'].map(ref))).toEqual([1, 2, 0]);
    expect(codeOrder(['500001', '500002'].map(ref))).toBeUndefined();
    expect(codeOrder(['500002', '500001', '500002'].map(ref))).toBeUndefined();
  });

  for (const how of ['market cap (the batch)', 'shuffled'] as const) {
    it(`refs by ${how}: the pool's block equals one reader's over the refs in that order (rows, skips, median inputs; bytes)`, async () => {
      let refs = refsInForce(db, activeStocks(db), D);
      if (how === 'shuffled') refs = refs.map((r, i) => [r, (i * 7919) % 1009] as const).sort((a, b) => a[1] - b[1]).map(([r]) => r);
      else refs = [...refs].sort((a, b) => (b.market_cap_cr ?? -Infinity) - (a.market_cap_cr ?? -Infinity) || (a.bse_code < b.bse_code ? -1 : 1));
      expect(codeOrder(refs)).toBeDefined();
      const ctx = extractionContext(db, D);
      const want = extractMany(new InputReader(db), refs, ctx, true);
      expect(want.skips.length).toBeGreaterThan(0);
      for (const o of [{ threads: 2 }, { threads: 1, mainThread: true }]) {
        const got = await extractWithPool(file, refs, ctx, { ...o, medianInputs: true });
        expect(got.codes).toEqual(want.codes);
        expect(got.lastBar).toEqual(want.lastBar);
        expect(got.skips).toEqual(want.skips);
        expect(bytes(got.missing).equals(bytes(want.missing))).toBe(true);
        expect(bytes(got.values).equals(bytes(want.values))).toBe(true);
        expect(bytes(got.medians?.inputs as Float64Array).equals(bytes(want.medians?.inputs as Float64Array))).toBe(true);
        expect(bytes(got.medians?.known as Uint8Array).equals(bytes(want.medians?.known as Uint8Array))).toBe(true);
      }
    });
  }
});
