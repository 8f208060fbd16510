/**
 * The point-in-time reader's price read (src/market/price-window.ts: rows
 * through an aggregate into typed arrays) against a brute-force oracle
 * written here: every row of the stock in date order by a plain query, those
 * dated before D kept in JS, the last `lookback` taken, then each bar divided
 * (prices) or multiplied (volume) by the factors of the actions with
 * bar date < ex_date < D. On a fixture with gaps, short histories, a stock
 * with no rows, rows on and after D, awkward doubles and corporate actions,
 * over several dates and lookbacks, the values must be equal bit for bit.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMarketReadonly, type Db } from '../src/market/db.js';
import { PointInTimeReader } from '../src/market/inputs.js';
import {
  FULL_WINDOW_AFTER_READS,
  FULL_WINDOW_JUDGED_AFTER,
  PRICE_WINDOW_AGGREGATE,
  WindowBuffer,
  readPriceWindow,
  windowsSorted,
} from '../src/market/price-window.js';
import { MarketFixture, dayOfWeek, plusDays, wavyBars, weekdaysEnding, type FixtureBar } from './helpers/market-fixture.js';
import { rand } from './helpers/rand.js';

const LAST = '2025-11-28';
const DATES = weekdaysEnding(LAST, 420);

interface OracleBars {
  date: string[];
  high: number[];
  low: number[];
  close: number[];
  volume: number[];
}

/** Brute force: all rows in date order, filter < D in JS, last `lookback`, then the actions in force for D. */
function oracle(db: Db, code: string, d: string, lookback: number): OracleBars {
  const rows = db.prepare('SELECT trade_date, high, low, close, volume FROM daily_prices WHERE bse_code = ? ORDER BY trade_date').all(code) as {
    trade_date: string;
    high: number;
    low: number;
    close: number;
    volume: number;
  }[];
  const before = rows.filter((r) => r.trade_date < d);
  const win = lookback === 0 ? [] : before.slice(Math.max(0, before.length - lookback));
  const actions = (db.prepare('SELECT ex_date, factor FROM corporate_actions WHERE bse_code = ?').all(code) as { ex_date: string; factor: number }[])
    .filter((a) => a.ex_date < d)
    .sort((a, b) => (a.ex_date < b.ex_date ? 1 : -1)); // newest first: the factors compound in that order
  const out: OracleBars = { date: [], high: [], low: [], close: [], volume: [] };
  for (const r of win) {
    let f = 1;
    for (const a of actions) if (a.ex_date > r.trade_date) f *= a.factor;
    out.date.push(r.trade_date);
    out.high.push(f === 1 ? r.high : r.high / f);
    out.low.push(f === 1 ? r.low : r.low / f);
    out.close.push(f === 1 ? r.close : r.close / f);
    out.volume.push(f === 1 ? r.volume : r.volume * f);
  }
  return out;
}

function reversed(db: Db): Db {
  db.pragma('reverse_unordered_selects = ON');
  return db;
}

const bits = (a: ArrayLike<number>): string => Buffer.from(Float64Array.from(a).buffer).toString('hex');

/** Bars with random gaps (each session kept with probability `keep`) and awkward doubles. */
function gappyBars(seed: number, keep: number, dates: readonly string[]): FixtureBar[] {
  const r = rand(seed);
  const out: FixtureBar[] = [];
  for (const date of dates) {
    if (r() >= keep) continue;
    const close = 10 + r() * 1000; // full 53-bit mantissas
    out.push({ date, open: close, high: close + r() / 3, low: close - r() / 7, close, volume: Math.floor(r() * 2 ** 40) });
  }
  return out;
}

let dir: string;
let file: string;
const CODES = ['500001', '500002', '500003', '500004', '500005', '500006', '500007', '500008', '500009', '500010'];
/** A Saturday session (a special trading day) that only 500010 traded: every other stock lacks that session. */
const SATURDAY = plusDays(DATES.filter((d) => dayOfWeek(d) === 5).at(-3) as string, 1);

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sf-pw-'));
  file = path.join(dir, 'market.db');
  const f = new MarketFixture(file);
  for (const code of CODES) f.stock({ code });
  f.bars('500001', wavyBars(DATES)) // every session, up to LAST (rows on and after every D tried)
    .bars('500002', gappyBars(2, 0.6, DATES)) // many gaps: the window reaches further back
    .bars('500003', wavyBars(DATES.slice(-30))) // fewer bars than the lookback
    // 500004: no rows at all
    .bars('500005', gappyBars(5, 0.97, DATES)) // a few gaps, and actions:
    .action('500005', DATES[100], 'split', 2) // long before the window of the latest D
    .action('500005', DATES[300], 'bonus', 1.5)
    .action('500005', DATES[350], 'consolidation', 0.1)
    .action('500005', plusDays(DATES[380], 1), 'split', 5) // an ex-date between sessions (a Saturday or later)
    .action('500005', DATES[410], 'split', 3) // in force only for the last dates tried
    .bars('500006', [{ date: DATES[0], open: 1, high: 1, low: 1, close: 1, volume: 0 }]) // one ancient bar
    .bars('500007', gappyBars(7, 0.9, DATES.slice(0, 200))) // stopped trading long ago
    .bars('500008', [
      // values SQLite stores in other ways: an integral REAL, a huge volume, zero volume
      { date: DATES[410], open: 5, high: 7, low: 3, close: 5, volume: 2 ** 53 - 1 },
      { date: DATES[411], open: 5, high: 5, low: 5, close: 5, volume: 0 },
      { date: DATES[412], open: 1e-300, high: 1.7976931348623157e308, low: 5e-324, close: 0.1 + 0.2, volume: 1 },
    ])
    .bars('500009', wavyBars(DATES, { phase: 3, base: 250 })) // every session too
    .bars('500010', wavyBars([...DATES, SATURDAY].sort(), { phase: 7 })); // every session and the Saturday
  f.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the price window (aggregate into typed arrays) equals the brute-force read', () => {
  const dates = [DATES[0], DATES[1], DATES[150], plusDays(DATES[300], 1), DATES[351], DATES[381], SATURDAY, plusDays(SATURDAY, 2), DATES[411], LAST, plusDays(LAST, 1), '2030-01-01'];
  const lookbacks = [0, 1, 5, 250, 320, 1000];

  /** Every stock on every date, three rounds each (the full-window statement starts at a reader's 16th read of a date). */
  function compareAll(db: Db, lookback: number, reader = new PointInTimeReader(db, lookback)): { checked: number; nonEmpty: number } {
    let checked = 0;
    let nonEmpty = 0;
    for (const d of dates) {
      for (let round = 0; round < 3; round++) {
        for (const code of CODES) {
          const got = reader.read(code, d).bars;
          const want = oracle(db, code, d, lookback);
          const where = `${code} on ${d}, lookback ${lookback}, round ${round}`;
          expect(got.length, where).toBe(want.date.length);
          expect(got.date, where).toEqual(want.date);
          expect(bits(got.high), where).toBe(bits(want.high));
          expect(bits(got.low), where).toBe(bits(want.low));
          expect(bits(got.close), where).toBe(bits(want.close));
          expect(bits(got.volume), where).toBe(bits(want.volume));
          checked++;
          if (want.date.length > 0) nonEmpty++;
        }
      }
    }
    return { checked, nonEmpty };
  }

  it('for every stock, date and lookback, by either statement: same dates, and prices and volumes bit for bit (after adjustment)', () => {
    const db = openMarketReadonly(file);
    try {
      let checked = 0;
      let nonEmpty = 0;
      let full = 0;
      let general = 0;
      for (const lookback of lookbacks) {
        const reader = new PointInTimeReader(db, lookback);
        const r = compareAll(db, lookback, reader);
        checked += r.checked;
        nonEmpty += r.nonEmpty;
        full += reader.prices.stats.full;
        general += reader.prices.stats.general;
      }
      expect(checked).toBe(lookbacks.length * dates.length * CODES.length * 3);
      expect(nonEmpty).toBeGreaterThan(600);
      // Both statements were exercised: full windows of every-session stocks, and the general read for the rest.
      expect(full).toBeGreaterThan(100);
      expect(general).toBeGreaterThan(100);
      // The oracle really exercised the actions: some bars of 500005 were adjusted for the latest date.
      const raw = db.prepare('SELECT close FROM daily_prices WHERE bse_code = ? AND trade_date = ?').pluck().get('500005', DATES[390]) as number | undefined;
      const adj = new PointInTimeReader(db, 1000).read('500005', LAST).bars;
      const i = adj.date.indexOf(DATES[390]);
      if (raw !== undefined && i >= 0) expect(adj.close[i]).toBe(raw / 3);
      // SQLite handed every window over newest first: the fast path, no sort after the query.
      expect(windowsSorted(db)).toBe(0);
    } finally {
      db.close();
    }
  });

  it('a market.db without the trade_date index, or a connection reading unordered selects in reverse, takes the general statement only, with the same bars', () => {
    const copy = path.join(dir, 'no-index.db');
    copyFileSync(file, copy);
    const w = new Database(copy);
    w.exec('DROP INDEX idx_prices_date');
    w.close();
    for (const [what, db] of [
      ['no index', openMarketReadonly(copy)],
      ['reverse_unordered_selects', reversed(openMarketReadonly(file))],
    ] as const) {
      try {
        const reader = new PointInTimeReader(db, 320);
        const r = compareAll(db, 320, reader);
        expect(r.nonEmpty, what).toBeGreaterThan(50);
        expect(reader.prices.stats.full, what).toBe(0);
        expect(reader.prices.stats.general, what).toBe(r.checked);
      } finally {
        db.close();
      }
    }
  });

  it('readers with different lookbacks on one connection share its buffers without mixing windows', () => {
    const db = openMarketReadonly(file);
    try {
      const long = new PointInTimeReader(db, 320);
      const short = new PointInTimeReader(db, 3);
      for (const code of CODES) {
        const a = long.read(code, LAST).bars;
        const b = short.read(code, LAST).bars;
        const a2 = long.read(code, LAST).bars; // after the short read reused the buffers
        expect(a2.date).toEqual(a.date);
        expect(bits(a2.close)).toBe(bits(a.close));
        expect(b.date).toEqual(a.date.slice(-3));
        expect(bits(b.close)).toBe(bits(a.close.slice(-3)));
      }
      // The arrays handed out are the caller's own: a later read does not overwrite them.
      const first = readPriceWindow(db, '500001', LAST, 10);
      const copy = bits(first.close);
      readPriceWindow(db, '500002', LAST, 10);
      expect(bits(first.close)).toBe(copy);
    } finally {
      db.close();
    }
  });
});

describe('a market of thinly traded stocks', () => {
  it('after FULL_WINDOW_JUDGED_AFTER full-window tries of a date, more than a third of them short, the rest of the date takes the general statement; same bars', () => {
    const thin = path.join(dir, 'thin.db');
    const f = new MarketFixture(thin);
    const codes = Array.from({ length: 150 }, (_, i) => String(600000 + i));
    codes.forEach((code, i) => f.stock({ code }).bars(code, gappyBars(100 + i, 0.8, DATES)));
    f.close();
    const db = openMarketReadonly(thin);
    try {
      const reader = new PointInTimeReader(db, 320);
      for (const code of codes) {
        const got = reader.read(code, LAST).bars;
        const want = oracle(db, code, LAST, 320);
        expect(got.date, code).toEqual(want.date);
        expect(bits(got.close), code).toBe(bits(want.close));
        expect(bits(got.volume), code).toBe(bits(want.volume));
      }
      // Reads 1–15: general; 16 on: full-window tries, all short (every stock has gaps), until the 64th; then general only.
      expect(reader.prices.stats).toEqual({ full: 0, short: FULL_WINDOW_JUDGED_AFTER, general: codes.length });
      // A new date is judged afresh.
      for (const code of codes.slice(0, FULL_WINDOW_AFTER_READS + 1)) reader.read(code, DATES[410]);
      expect(reader.prices.stats.short).toBe(FULL_WINDOW_JUDGED_AFTER + 2);
    } finally {
      db.close();
    }
  });
});

describe('the aggregate is safe to have on the connection', () => {
  it('refuses to run outside a point-in-time read, and the next read still works', () => {
    const db = openMarketReadonly(file);
    try {
      const want = readPriceWindow(db, '500001', LAST, 5);
      expect(() => db.prepare(`SELECT ${PRICE_WINDOW_AGGREGATE}(trade_date, high, low, close, volume) FROM daily_prices`).get()).toThrow(
        /runs only inside a point-in-time read/,
      );
      const again = readPriceWindow(db, '500001', LAST, 5);
      expect(again.date).toEqual(want.date);
      expect(bits(again.close)).toBe(bits(want.close));
    } finally {
      db.close();
    }
  });

  it('a lookback that is not a whole number of bars is refused, and leaves no read in progress', () => {
    const db = openMarketReadonly(file);
    try {
      expect(() => readPriceWindow(db, '500001', LAST, -1)).toThrow(/not a whole number/);
      expect(() => readPriceWindow(db, '500001', LAST, 2.5)).toThrow(/not a whole number/);
      expect(readPriceWindow(db, '500001', LAST, 2).date).toEqual(DATES.slice(-3, -1));
    } finally {
      db.close();
    }
  });

  it('a nested read on the same buffers is refused', () => {
    const b = new WindowBuffer();
    b.begin(4);
    expect(() => b.begin(4)).toThrow(/already in progress/);
    b.abort();
    b.begin(1);
    b.push('2025-01-02', 1, 1, 1, 1);
    expect(() => b.push('2025-01-01', 1, 1, 1, 1)).toThrow(/more than 1 rows/);
  });
});

describe('WindowBuffer', () => {
  const rows: [string, number, number, number, number][] = [
    ['2025-01-06', 6.1, 5.1, 5.6, 60],
    ['2025-01-03', 3.1, 2.1, 2.6, 30],
    ['2025-01-02', 2.1, 1.1, 1.6, 20],
    ['2025-01-01', 1.1, 0.1, 0.6, 10],
  ];
  const oldestFirst = [...rows].reverse();

  it('rows pushed newest first come out oldest first', () => {
    const b = new WindowBuffer();
    b.begin(10);
    for (const r of rows) b.push(...r);
    const bars = b.take();
    expect(bars.length).toBe(4);
    expect(bars.date).toEqual(oldestFirst.map((r) => r[0]));
    expect(Array.from(bars.close)).toEqual(oldestFirst.map((r) => r[3]));
    expect(b.sorted).toBe(0);
  });

  it('rows pushed in any other order are sorted by date after the query (should SQLite ever change its order)', () => {
    const b = new WindowBuffer();
    for (const order of [
      [3, 2, 1, 0],
      [1, 0, 3, 2],
      [2, 3, 0, 1],
    ]) {
      b.begin(4);
      for (const i of order) b.push(...rows[i]);
      const bars = b.take();
      expect(bars.date).toEqual(oldestFirst.map((r) => r[0]));
      expect(Array.from(bars.high)).toEqual(oldestFirst.map((r) => r[1]));
      expect(Array.from(bars.low)).toEqual(oldestFirst.map((r) => r[2]));
      expect(Array.from(bars.close)).toEqual(oldestFirst.map((r) => r[3]));
      expect(Array.from(bars.volume)).toEqual(oldestFirst.map((r) => r[4]));
    }
    expect(b.sorted).toBe(3);
  });
});
