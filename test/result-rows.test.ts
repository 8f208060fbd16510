/**
 * The point-in-time reader's results read (src/market/result-rows.ts: rows
 * through an aggregate, objects made in JS) against a brute-force oracle
 * written here: every result row of the stock by a plain query, those
 * announced before D kept in JS, sorted by period newest first, the first 8.
 * On a fixture with more than 8 results, nulls, results announced on and after
 * D, a late-announced older period and a stock with none, over many dates.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMarketReadonly, type Db } from '../src/market/db.js';
import { PointInTimeReader } from '../src/market/inputs.js';
import { RESULTS_AGGREGATE, ResultSink, readResults, resultsSorted, type ResultRow } from '../src/market/result-rows.js';
import { MarketFixture, plusDays } from './helpers/market-fixture.js';
import { rand } from './helpers/rand.js';

function oracle(db: Db, code: string, d: string): ResultRow[] {
  const all = db.prepare('SELECT period_end, announced_on, revenue_cr, net_profit_cr, eps FROM quarterly_results WHERE bse_code = ?').all(code) as ResultRow[];
  return all
    .filter((r) => r.announced_on < d)
    .sort((a, b) => (a.period_end < b.period_end ? 1 : -1))
    .slice(0, 8);
}

let dir: string;
let file: string;
const CODES = ['500001', '500002', '500003', '500004'];
const QUARTERS = ['2022-03-31', '2022-06-30', '2022-09-30', '2022-12-31', '2023-03-31', '2023-06-30', '2023-09-30', '2023-12-31', '2024-03-31', '2024-06-30', '2024-09-30', '2024-12-31', '2025-03-31', '2025-06-30'];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sf-results-'));
  file = path.join(dir, 'market.db');
  const f = new MarketFixture(file);
  for (const code of CODES) f.stock({ code });
  const r = rand(11);
  // 500001: every quarter, announced ~45 days after the period, random values with nulls.
  for (const q of QUARTERS) {
    const v = (): number | null => (r() < 0.15 ? null : (r() - 0.3) * 1000);
    f.result('500001', q, plusDays(q, 45), v(), v(), v());
  }
  // 500002: a late filing: the 2023-03-31 period announced after later periods.
  for (const q of QUARTERS.slice(0, 10)) f.result('500002', q, q === '2023-03-31' ? '2024-08-20' : plusDays(q, 40), 100, 10, 1.5);
  // 500003: two results only, one announced on a date tried as D.
  f.result('500003', '2025-03-31', '2025-05-15', 5, null, 0.25).result('500003', '2025-06-30', '2025-08-14', 6, 1, 0.3);
  // 500004: none.
  f.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the results read (aggregate, objects made in JS) equals the brute-force read', () => {
  it('for every stock on many dates: the same rows, in the same order, with the same values', () => {
    const db = openMarketReadonly(file);
    try {
      const reader = new PointInTimeReader(db, 320);
      let rows = 0;
      let full = 0;
      for (let d = '2022-01-01'; d <= '2025-12-31'; d = plusDays(d, 13)) {
        for (const date of [d, '2025-05-15', '2025-08-14', '2024-08-20', '2024-08-21']) {
          for (const code of CODES) {
            const want = oracle(db, code, date);
            expect(reader.read(code, date).results, `${code} on ${date}`).toEqual(want);
            expect(readResults(db, code, date), `${code} on ${date}`).toEqual(want);
            rows += want.length;
            if (want.length === 8) full++;
          }
        }
      }
      expect(rows).toBeGreaterThan(1000);
      expect(full).toBeGreaterThan(50); // the LIMIT mattered
      expect(resultsSorted(db)).toBe(0); // SQLite handed the rows over newest period first
    } finally {
      db.close();
    }
  });

  it('the aggregate refuses to run outside a read, and the next read still works', () => {
    const db = openMarketReadonly(file);
    try {
      const want = readResults(db, '500001', '2025-12-31');
      expect(() => db.prepare(`SELECT ${RESULTS_AGGREGATE}(period_end, announced_on, revenue_cr, net_profit_cr, eps) FROM quarterly_results`).get()).toThrow(
        /runs only inside a point-in-time read/,
      );
      expect(readResults(db, '500001', '2025-12-31')).toEqual(want);
    } finally {
      db.close();
    }
  });
});

describe('ResultSink', () => {
  const rows: [string, string, number | null, number | null, number | null][] = [
    ['2025-06-30', '2025-08-14', 6, 1, 0.3],
    ['2025-03-31', '2025-05-15', 5, null, 0.25],
    ['2024-12-31', '2025-02-10', null, null, null],
  ];
  const asRow = (r: (typeof rows)[number]): ResultRow => ({ period_end: r[0], announced_on: r[1], revenue_cr: r[2], net_profit_cr: r[3], eps: r[4] });

  it('keeps rows that come newest period first, and sorts rows that come in any other order', () => {
    const s = new ResultSink();
    s.begin();
    for (const r of rows) s.push(...r);
    expect(s.take()).toEqual(rows.map(asRow));
    expect(s.sorted).toBe(0);
    for (const order of [
      [2, 1, 0],
      [1, 2, 0],
    ]) {
      s.begin();
      for (const i of order) s.push(...rows[i]);
      expect(s.take()).toEqual(rows.map(asRow));
    }
    expect(s.sorted).toBe(2);
  });

  it('refuses a nested read', () => {
    const s = new ResultSink();
    s.begin();
    expect(() => s.begin()).toThrow(/already in progress/);
    s.abort();
    s.begin();
    expect(s.take()).toEqual([]);
  });
});
