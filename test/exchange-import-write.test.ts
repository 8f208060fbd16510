/**
 * How `data import-exchange` writes what it staged (src/ingest/exchange/import.ts, steps 3-10): one bar per key,
 * exchange and session picked before writing (the best kind of file, then the last read), the summary's
 * "rows written" counting each row once, and a symbol that two securities had at different times resolved by the
 * date of each row (the one path that still looks a key up per row). Expected values are written out by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { importExchange } from '../src/ingest/exchange/import.js';
import { barAt, bseUdiff, ddmmyy, ddmmyyyy, nseUdiff, prZip, secList, writeTree } from './helpers/exchange-files.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sf-exw-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = (label = 'd'): string => mkdtempSync(path.join(tmp, `${label}-${++n}-`));
function q(dir: string, sql: string, ...args: unknown[]): unknown[] {
  const db = new Database(path.join(dir, 'market.db'), { readonly: true });
  try {
    return db.prepare(sql).all(...args);
  } finally {
    db.close();
  }
}

const ISIN_A = 'INE100A01011';
const D1 = '2025-09-29'; // Mon
const D2 = '2025-09-30'; // Tue
const D4 = '2025-10-03'; // Fri (1 Oct is a session, 2 Oct a holiday)
const udiffName = (d: string): string => `BhavCopy_NSE_CM_0_0_0_${d.replace(/-/g, '')}_F_0000.csv`;

describe('one bar per key, exchange and session', () => {
  it('the better kind of file wins whatever the order; of two of the same kind the last read wins; each row is counted once', async () => {
    // Read in this order (folders sorted by name): a PR pd bar, then two UDiFF bhavcopies of the same session.
    const dir = writeTree(fresh('f'), {
      [`a/PR${ddmmyy(D2)}.zip`]: prZip(D2, { pd: [{ symbol: 'AAA', ...barAt(777) }] }),
      [`b/${udiffName(D2)}`]: nseUdiff(D2, [{ symbol: 'AAA', token: '11', isin: ISIN_A, ...barAt(103) }]),
      [`c/${udiffName(D2)}`]: nseUdiff(D2, [{ symbol: 'AAA', token: '11', isin: ISIN_A, ...barAt(104) }]),
    });
    const data = fresh();
    const s = await importExchange([dir], { dataDir: data });
    expect(q(data, 'SELECT bse_code, exchange, trade_date, close, source FROM exchange_prices')).toEqual([
      { bse_code: '000001', exchange: 'NSE', trade_date: D2, close: 104, source: 'nse-udiff-cm' },
    ]);
    expect(q(data, 'SELECT bse_code, trade_date, close FROM daily_prices')).toEqual([{ bse_code: '000001', trade_date: D2, close: 104 }]);
    // One row inserted, nothing updated (the pd bar and the first bhavcopy's are never written and then replaced).
    expect(s.written.exchange_prices).toBe(1);
    expect(s.written.daily_prices).toBe(1);

    // The same folders named in reverse order: the pd bar still loses, and the bhavcopy read last is now b's.
    const data2 = fresh();
    const s2 = await importExchange([path.join(dir, 'c'), path.join(dir, 'b'), path.join(dir, 'a')], { dataDir: data2 });
    expect(q(data2, 'SELECT close, source FROM exchange_prices')).toEqual([{ close: 103, source: 'nse-udiff-cm' }]);
    expect(s2.written.exchange_prices).toBe(1);
  });

  it('market caps: the last value read for a key and session; counted once', async () => {
    const dir = writeTree(fresh('f'), {
      [`a/${udiffName(D2)}`]: nseUdiff(D2, [{ symbol: 'AAA', token: '11', isin: ISIN_A, ...barAt(100) }]),
      [`b/PR${ddmmyy(D2)}.zip`]: prZip(D2, { mcap: [{ symbol: 'AAA', capRs: 1e10, close: 100 }] }),
      [`c/PR${ddmmyy(D2)}.zip`]: prZip(D2, { mcap: [{ symbol: 'AAA', capRs: 2e10, close: 100 }] }),
    });
    const data = fresh();
    const s = await importExchange([dir], { dataDir: data });
    expect(q(data, 'SELECT * FROM market_caps')).toEqual([{ bse_code: '000001', trade_date: D2, market_cap_cr: 2000 }]);
    expect(s.written.market_caps).toBe(1);
  });
});

describe("daily_prices' date index", () => {
  it('a first import builds it after the rows; it is there, with its definition, after a first and a later import', async () => {
    const indexes = (dir: string): unknown[] => q(dir, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'daily_prices' AND sql IS NOT NULL");
    const want = [{ name: 'idx_prices_date', sql: 'CREATE INDEX idx_prices_date ON daily_prices (trade_date)' }];
    const data = fresh();
    await importExchange([writeTree(fresh('f'), { [udiffName(D1)]: nseUdiff(D1, [{ symbol: 'AAA', token: '11', isin: ISIN_A, ...barAt(100) }]) })], { dataDir: data });
    expect(indexes(data)).toEqual(want);
    await importExchange([writeTree(fresh('f'), { [udiffName(D2)]: nseUdiff(D2, [{ symbol: 'AAA', token: '11', isin: ISIN_A, ...barAt(101) }]) })], { dataDir: data });
    expect(indexes(data)).toEqual(want);
    expect(q(data, 'SELECT trade_date, close FROM daily_prices INDEXED BY idx_prices_date WHERE trade_date >= ? ORDER BY trade_date', D1)).toEqual([
      { trade_date: D1, close: 100 },
      { trade_date: D2, close: 101 },
    ]);
  });
});

describe('a symbol two securities had', () => {
  it('rows naming it (pd, mcap, bh, sec_list) go to the security that had it on their date, else the nearest in time', async () => {
    const ISIN_X = 'INE500X01010';
    const ISIN_Y = 'INE900Y01012';
    // XYZ is 500100's NSE symbol on D1; on D4 the symbol belongs to another security (ISIN_Y, BSE 500900).
    const data = fresh();
    await importExchange(
      [
        writeTree(fresh('f'), {
          [udiffName(D1)]: nseUdiff(D1, [{ symbol: 'XYZ', token: '7', isin: ISIN_X, ...barAt(100) }]),
          'BhavCopy_BSE_CM_0_0_0_20250929_F_0000.CSV': bseUdiff(D1, [{ code: '500100', scripId: 'XYZ', isin: ISIN_X, ...barAt(100.5) }]),
        }),
      ],
      { dataDir: data },
    );
    const second = await importExchange(
      [
        writeTree(fresh('f'), {
          [udiffName(D4)]: nseUdiff(D4, [{ symbol: 'XYZ', token: '8', isin: ISIN_Y, ...barAt(40) }]),
          'BhavCopy_BSE_CM_0_0_0_20251003_F_0000.CSV': bseUdiff(D4, [{ code: '500900', scripId: 'XYZNEW', isin: ISIN_Y, ...barAt(40.5) }]),
        }),
      ],
      { dataDir: data },
    );
    expect(second.keys.ambiguous).toEqual(['XYZ → 500900, 500100 (kept 500900)']);
    expect(q(data, "SELECT bse_code, first_seen, last_seen FROM exchange_listings WHERE exchange = 'NSE' AND symbol = 'XYZ' ORDER BY 1")).toEqual([
      { bse_code: '500100', first_seen: D1, last_seen: D1 },
      { bse_code: '500900', first_seen: D4, last_seen: D4 },
    ]);
    const s = await importExchange(
      [
        writeTree(fresh('f'), {
          // D2 is one day from 500100's listing, three from 500900's: 500100.
          [`PR${ddmmyy(D2)}.zip`]: prZip(D2, { pd: [{ symbol: 'XYZ', ...barAt(101) }], mcap: [{ symbol: 'XYZ', capRs: 1e9, close: 101 }] }),
          [`PR${ddmmyy(D4)}.zip`]: prZip(D4, { bh: [{ symbol: 'XYZ', hl: 'H' }], mcap: [{ symbol: 'XYZ', capRs: 3e9, close: 40 }] }),
          [`sec_list_${ddmmyyyy(D2)}.csv`]: secList([{ symbol: 'XYZ', band: '10' }]),
          [`sec_list_${ddmmyyyy(D4)}.csv`]: secList([{ symbol: 'XYZ', band: '5' }]),
        }),
      ],
      { dataDir: data },
    );
    expect(q(data, "SELECT bse_code, trade_date, close, source FROM exchange_prices WHERE exchange = 'NSE' ORDER BY trade_date")).toEqual([
      { bse_code: '500100', trade_date: D1, close: 100, source: 'nse-udiff-cm' },
      { bse_code: '500100', trade_date: D2, close: 101, source: 'nse-pr-pd' },
      { bse_code: '500900', trade_date: D4, close: 40, source: 'nse-udiff-cm' },
    ]);
    expect(q(data, 'SELECT * FROM market_caps ORDER BY trade_date')).toEqual([
      { bse_code: '500100', trade_date: D2, market_cap_cr: 100 },
      { bse_code: '500900', trade_date: D4, market_cap_cr: 300 },
    ]);
    expect(q(data, 'SELECT bse_code, trade_date, side FROM circuit_hits')).toEqual([{ bse_code: '500900', trade_date: D4, side: 'upper' }]);
    // sec_list of D2 → in force from D3 (1 Oct) for 500100; of D4 → from the next session (6 Oct) for 500900.
    expect(q(data, 'SELECT bse_code, effective_from, band_pct FROM price_bands ORDER BY 1')).toEqual([
      { bse_code: '500100', effective_from: '2025-10-01', band_pct: 10 },
      { bse_code: '500900', effective_from: '2025-10-06', band_pct: 5 },
    ]);
    expect(s.leftOut).toEqual({});
  });
});
