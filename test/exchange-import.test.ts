/**
 * `stockflow data import-exchange` writing market.db (src/ingest/exchange/import.ts): the key rule
 * (dual-listed → BSE scrip code, NSE-only → '0' + 5 digits in ISIN order, never reused), ISIN lineage,
 * bands in force from the next session (No Band → NULL), observed hits and their sessions, corporate
 * actions from bc and from stockflow's CSV, market caps, --prefer, idempotency (full dump identical),
 * rollback on every failure, rejects, the summary. Files are written in the exchanges' formats by
 * test/helpers/exchange-files.ts; expected values are written out by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { importExchange, type ExchangeImportOptions } from '../src/ingest/exchange/import.js';
import { StockflowError } from '../src/errors.js';
import { acquireBatchLock } from '../src/batch/lock.js';
import { actionsCsv, barAt, bseLegacy, bseScrips, bseUdiff, ddmmyy, ddmmyyyy, equityL, fullBhav, nseLegacy, nseUdiff, prZip, secList, writeTree } from './helpers/exchange-files.js';
import { assertCliBuilt, failureLine, runCli, startCli, until } from './helpers/batch-fixture.js';
import { dumpMarket } from './helpers/db-dump.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sf-exim-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = (label = 'd'): string => mkdtempSync(path.join(tmp, `${label}-${++n}-`));

// ISINs (IN + 9 + digit). Their order decides the NSE-only numbering: ISIN_C < ISIN_B.
const ISIN_A = 'INE100A01011'; // AAA: NSE + BSE 500100
const ISIN_B = 'INE900B01012'; // BBB: NSE only
const ISIN_C = 'INE300C01013'; // CCC: NSE only
const ISIN_D = 'INE400D01014'; // BSE only 500200
const D1 = '2025-09-29'; // Mon
const D2 = '2025-09-30'; // Tue
const D3 = '2025-10-01'; // Wed; 2025-10-02 is a published NSE holiday
const D4 = '2025-10-03'; // Fri

function open(dir: string): Database.Database {
  return new Database(path.join(dir, 'market.db'), { readonly: true });
}
function q<T = Record<string, unknown>>(dir: string, sql: string, ...args: unknown[]): T[] {
  const db = open(dir);
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}
const imp = (paths: string[], dataDir: string, o: Partial<ExchangeImportOptions> = {}) => importExchange(paths, { dataDir, ...o });
async function failure(p: Promise<unknown>): Promise<StockflowError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StockflowError);
    return e as StockflowError;
  }
  throw new Error('expected the import to fail');
}

/** A small market: AAA dual-listed, BBB and CCC NSE-only, DDD BSE-only, four sessions. */
function smallMarket(dir: string): string {
  const files: Record<string, string | Uint8Array> = {};
  const closes: Record<string, number[]> = { AAA: [100, 102, 104, 106], BBB: [50, 51, 52, 53], CCC: [20, 21, 22, 23], DDD: [300, 303, 306, 309] };
  [D1, D2, D3, D4].forEach((d, i) => {
    files[`nse/BhavCopy_NSE_CM_0_0_0_${d.replace(/-/g, '')}_F_0000.csv`] = nseUdiff(d, [
      { symbol: 'AAA', token: '11', isin: ISIN_A, ...barAt(closes.AAA[i], 1000 + i) },
      { symbol: 'BBB', token: '22', isin: ISIN_B, series: 'BE', ...barAt(closes.BBB[i], 2000 + i) },
      { symbol: 'CCC', token: '33', isin: ISIN_C, series: 'SM', ...barAt(closes.CCC[i], 3000 + i) },
      { symbol: 'GSEC', token: '44', isin: 'IN0020230011', series: 'GS', ...barAt(99, 10) },
    ]);
    files[`bse/BhavCopy_BSE_CM_0_0_0_${d.replace(/-/g, '')}_F_0000.CSV`] = bseUdiff(d, [
      { code: '500100', scripId: 'AAA', isin: ISIN_A, ...barAt(closes.AAA[i] + 0.5, 400 + i) },
      { code: '500200', scripId: 'DDD', group: 'T', isin: ISIN_D, name: 'DDD TRADING LTD.', ...barAt(closes.DDD[i], 500 + i) },
      { code: '800001', scripId: 'BOND', group: 'F', isin: 'INE999F07011', ...barAt(1000, 5) },
    ]);
  });
  return writeTree(dir, files);
}

describe('identity: the key rule', () => {
  it('dual-listed → BSE scrip code; NSE-only → 0 + 5 digits in ISIN order; BSE-only → its code; listings and lineage recorded', async () => {
    const data = fresh();
    const files = smallMarket(fresh('f'));
    const s = await imp([files], data);
    expect(q(data, 'SELECT bse_code, nse_symbol, company_name, sector, status, circuit_band_pct FROM master_stock_list ORDER BY bse_code')).toEqual([
      { bse_code: '000001', nse_symbol: 'CCC', company_name: 'CCC LTD', sector: 'Unclassified', status: 'ACTIVE', circuit_band_pct: 20 },
      { bse_code: '000002', nse_symbol: 'BBB', company_name: 'BBB LTD', sector: 'Unclassified', status: 'ACTIVE', circuit_band_pct: 20 },
      { bse_code: '500100', nse_symbol: 'AAA', company_name: 'AAA LTD', sector: 'Unclassified', status: 'ACTIVE', circuit_band_pct: 20 },
      { bse_code: '500200', nse_symbol: null, company_name: 'DDD TRADING LTD.', sector: 'Unclassified', status: 'ACTIVE', circuit_band_pct: 20 },
    ]);
    expect(q(data, 'SELECT bse_code, exchange, symbol, token, series, first_seen, last_seen FROM exchange_listings ORDER BY exchange, symbol')).toEqual([
      { bse_code: '500100', exchange: 'BSE', symbol: '500100', token: 'AAA', series: 'A', first_seen: D1, last_seen: D4 },
      { bse_code: '500200', exchange: 'BSE', symbol: '500200', token: 'DDD', series: 'T', first_seen: D1, last_seen: D4 },
      { bse_code: '500100', exchange: 'NSE', symbol: 'AAA', token: '11', series: 'EQ', first_seen: D1, last_seen: D4 },
      { bse_code: '000002', exchange: 'NSE', symbol: 'BBB', token: '22', series: 'BE', first_seen: D1, last_seen: D4 },
      { bse_code: '000001', exchange: 'NSE', symbol: 'CCC', token: '33', series: 'SM', first_seen: D1, last_seen: D4 },
    ]);
    expect(q(data, 'SELECT * FROM security_isins ORDER BY bse_code')).toEqual([
      { bse_code: '000001', isin: ISIN_C, first_seen: D1, last_seen: D4 },
      { bse_code: '000002', isin: ISIN_B, first_seen: D1, last_seen: D4 },
      { bse_code: '500100', isin: ISIN_A, first_seen: D1, last_seen: D4 },
      { bse_code: '500200', isin: ISIN_D, first_seen: D1, last_seen: D4 },
    ]);
    // Every exchange's bars; daily_prices from NSE for AAA (NSE by default), BSE for the BSE-only DDD.
    expect(q(data, "SELECT exchange, count(*) AS n FROM exchange_prices GROUP BY exchange ORDER BY 1")).toEqual([
      { exchange: 'BSE', n: 8 },
      { exchange: 'NSE', n: 12 },
    ]);
    expect(q(data, "SELECT close, volume FROM daily_prices WHERE bse_code = '500100' ORDER BY trade_date")).toEqual([100, 102, 104, 106].map((c, i) => ({ close: c, volume: 1000 + i })));
    expect(q(data, "SELECT close FROM daily_prices WHERE bse_code = '500200' ORDER BY trade_date").map((r) => r.close)).toEqual([300, 303, 306, 309]);
    // The summary: kept by series/group, left out and why, the keys, the assumed bands.
    const nse = s.read.kinds.find((k) => k.kind === 'nse-udiff-cm');
    expect(nse).toMatchObject({ kept: 12, keptBy: { EQ: 4, BE: 4, SM: 4 }, leftOut: 4, leftOutBy: { 'series GS not imported': 4 } });
    const bse = s.read.kinds.find((k) => k.kind === 'bse-udiff-cm');
    expect(bse).toMatchObject({ kept: 8, keptBy: { A: 4, T: 4 }, leftOut: 4, leftOutBy: { 'group F (debt) not imported': 4 } });
    expect(s.keys).toMatchObject({ touched: 4, newBse: 2, newNseOnly: 2, newNseOnlyKeys: ['000001', '000002'] });
    expect(s.master).toMatchObject({ upserted: 4, bandAssumed: 4, bandAssumedKeys: ['000001', '000002', '500100', '500200'], noBand: 0 });
    expect(s.text).toContain('band assumed 20% (no price-band list covered them) 4');
  });

  it('NSE-only keys are never reused: the next import gives the next free number and finds the old ones by ISIN or symbol; a later BSE listing keeps the key', async () => {
    const data = fresh();
    await imp([smallMarket(fresh('f'))], data);
    const D5 = '2025-10-06';
    const later = writeTree(fresh('g'), {
      'nse.csv': nseUdiff(D5, [
        { symbol: 'EEE', token: '55', isin: 'INE000E01015', ...barAt(10) }, // new, smallest ISIN of all: still the next number
        { symbol: 'BBB', token: '22', isin: ISIN_B, series: 'BE', ...barAt(54) },
        { symbol: 'CCC', token: '33', isin: 'INE300C01021', series: 'SM', ...barAt(11.5) }, // CCC's ISIN changed (a split): same key by symbol
      ]),
      // BBB lists on BSE with scrip code 590000: it keeps 000002; the BSE listing is recorded.
      'bse.CSV': bseUdiff(D5, [{ code: '590000', scripId: 'BBB', isin: ISIN_B, ...barAt(54.1) }]),
    });
    const s = await imp([later], data);
    expect(s.keys).toMatchObject({ newNseOnly: 1, newNseOnlyKeys: ['000003'], newBse: 0 });
    expect(q(data, "SELECT bse_code, nse_symbol FROM master_stock_list WHERE bse_code LIKE '0%' ORDER BY 1")).toEqual([
      { bse_code: '000001', nse_symbol: 'CCC' },
      { bse_code: '000002', nse_symbol: 'BBB' },
      { bse_code: '000003', nse_symbol: 'EEE' },
    ]);
    expect(q(data, "SELECT bse_code, exchange, symbol FROM exchange_listings WHERE bse_code = '000002' ORDER BY exchange")).toEqual([
      { bse_code: '000002', exchange: 'BSE', symbol: '590000' },
      { bse_code: '000002', exchange: 'NSE', symbol: 'BBB' },
    ]);
    expect(q(data, "SELECT count(*) AS n FROM master_stock_list WHERE bse_code = '590000'")).toEqual([{ n: 0 }]);
    expect(q(data, "SELECT isin, first_seen, last_seen FROM security_isins WHERE bse_code = '000001' ORDER BY first_seen")).toEqual([
      { isin: ISIN_C, first_seen: D1, last_seen: D4 },
      { isin: 'INE300C01021', first_seen: D5, last_seen: D5 },
    ]);
  });

  it('an ISIN change in one import (sub-division) extends the lineage of one key, on NSE and BSE alike', async () => {
    const data = fresh();
    const OLD = 'INE700X01010';
    const NEW = 'INE700X01028';
    const files = writeTree(fresh('f'), {
      'a.csv': nseLegacy(D1, [{ symbol: 'XSPLIT', isin: OLD, ...barAt(200) }]),
      'b.csv': nseUdiff(D2, [{ symbol: 'XSPLIT', token: '77', isin: NEW, ...barAt(100) }]),
      'c.CSV': bseUdiff(D1, [{ code: '533333', scripId: 'XSPLIT', isin: OLD, ...barAt(200.5) }]),
      'd.CSV': bseUdiff(D2, [{ code: '533333', scripId: 'XSPLIT', isin: NEW, ...barAt(100.5) }]),
    });
    await imp([files], data);
    expect(q(data, 'SELECT * FROM security_isins ORDER BY first_seen')).toEqual([
      { bse_code: '533333', isin: OLD, first_seen: D1, last_seen: D1 },
      { bse_code: '533333', isin: NEW, first_seen: D2, last_seen: D2 },
    ]);
    expect(q(data, 'SELECT bse_code, nse_symbol FROM master_stock_list')).toEqual([{ bse_code: '533333', nse_symbol: 'XSPLIT' }]);
  });
});

describe('bands, hits, actions, market caps', () => {
  function marketWithPr(dir: string): string {
    smallMarket(dir);
    return writeTree(dir, {
      // The list of 1 Oct (Wed) is in force from 3 Oct (2 Oct is a holiday); the list of 29 Sep from 30 Sep.
      [`bands/sec_list_${ddmmyyyy(D1)}.csv`]: secList([
        { symbol: 'AAA', band: '10' },
        { symbol: 'BBB', series: 'BE', band: '5', remarks: 'GSM STAGE - 0' },
        { symbol: 'CCC', series: 'SM', band: '5' },
        { symbol: 'ZZZ', band: '20' },
      ]),
      [`bands/sec_list_${ddmmyyyy(D3)}.csv`]: secList([
        { symbol: 'AAA', band: 'No Band' },
        { symbol: 'BBB', series: 'BE', band: '2' },
        { symbol: 'CCC', series: 'SM', band: '5' },
      ]),
      [`pr/PR${ddmmyy(D2)}.zip`]: prZip(D2, {
        bh: [{ symbol: 'BBB', series: 'BE', hl: 'H' }, { symbol: 'CCC', series: 'SM', hl: 'L' }, { symbol: 'NOPE', hl: 'H' }],
        bc: [
          { symbol: 'AAA', exDate: D3, purpose: 'FVSPLT FRM RS 10 TO RS 5' },
          { symbol: 'AAA', series: 'BE', exDate: D3, purpose: 'FVSPLT FRM RS 10 TO RS 5' }, // one row per series: one action
          { symbol: 'BBB', series: 'BE', exDate: D4, purpose: 'BONUS 1:1' },
          { symbol: 'CCC', series: 'SM', exDate: D4, purpose: 'FV CONSL FRM RS 1 TO RS 10' },
          { symbol: 'AAA', exDate: D2, purpose: 'INTDIV - RS 7 PER SH' },
          { symbol: 'AAA', exDate: D2, purpose: 'SCHEME OF ARRANGEMENT' },
        ],
        mcap: [{ symbol: 'AAA', capRs: 5_000_000_000, close: 102 }],
      }),
      [`pr/PR${ddmmyy(D3)}.zip`]: prZip(D3, { bh: [], mcap: [{ symbol: 'AAA', capRs: 6_200_000_000, close: 104 }] }),
    });
  }

  it('bands take effect at the next session (calendar with holidays), No Band is NULL; the master keeps the band of the last session', async () => {
    const data = fresh();
    const s = await imp([marketWithPr(fresh('f'))], data);
    expect(q(data, 'SELECT * FROM price_bands ORDER BY bse_code, effective_from')).toEqual([
      { bse_code: '000001', effective_from: D2, band_pct: 5, remarks: null },
      { bse_code: '000001', effective_from: D4, band_pct: 5, remarks: null },
      { bse_code: '000002', effective_from: D2, band_pct: 5, remarks: 'GSM STAGE - 0' },
      { bse_code: '000002', effective_from: D4, band_pct: 2, remarks: null },
      { bse_code: '500100', effective_from: D2, band_pct: 10, remarks: null },
      { bse_code: '500100', effective_from: D4, band_pct: null, remarks: null },
    ]);
    expect(q(data, "SELECT holiday_on FROM market_holidays WHERE holiday_on BETWEEN '2025-09-01' AND '2025-10-31' ORDER BY 1").map((r) => r.holiday_on)).toEqual(['2025-10-02', '2025-10-21', '2025-10-22']);
    expect(q(data, 'SELECT bse_code, circuit_band_pct FROM master_stock_list ORDER BY 1')).toEqual([
      { bse_code: '000001', circuit_band_pct: 5 },
      { bse_code: '000002', circuit_band_pct: 2 },
      { bse_code: '500100', circuit_band_pct: null },
      { bse_code: '500200', circuit_band_pct: 20 }, // BSE-only: no list covers it
    ]);
    expect(s.master).toMatchObject({ noBand: 1, bandAssumed: 1, bandAssumedKeys: ['500200'] });
    expect(s.leftOut).toMatchObject({ 'NSE price bands (sec_list): symbol unknown (no NSE listing)': 1, 'NSE PR band hits (bh): symbol unknown (no NSE listing)': 1 });
  });

  it('an undated sec_list.csv is the list of the last session, in force from the next one', async () => {
    const data = fresh();
    const dir = smallMarket(fresh('f'));
    writeTree(dir, { 'sec_list.csv': secList([{ symbol: 'AAA', band: '20' }]) });
    const s = await imp([dir], data);
    expect(q(data, 'SELECT * FROM price_bands')).toEqual([{ bse_code: '500100', effective_from: '2025-10-06', band_pct: 20, remarks: null }]);
    expect(s.undatedBandLists).toEqual([{ label: path.join(dir, 'sec_list.csv'), listDate: D4 }]);
    // Not yet in force at the last session: the master takes it (the only band known).
    expect(q(data, "SELECT circuit_band_pct FROM master_stock_list WHERE bse_code = '500100'")).toEqual([{ circuit_band_pct: 20 }]);
  });

  it('observed hits by date and side, the sessions their bh files cover (an empty bh file too); a re-imported session replaces its hits', async () => {
    const data = fresh();
    await imp([marketWithPr(fresh('f'))], data);
    expect(q(data, 'SELECT * FROM circuit_hits ORDER BY bse_code')).toEqual([
      { bse_code: '000001', trade_date: D2, side: 'lower' },
      { bse_code: '000002', trade_date: D2, side: 'upper' },
    ]);
    expect(q(data, 'SELECT * FROM circuit_hit_sessions ORDER BY 1')).toEqual([
      { trade_date: D2, exchange: 'NSE' },
      { trade_date: D3, exchange: 'NSE' },
    ]);
    // The exchange's corrected list for D2: only BBB.
    const fix = writeTree(fresh('g'), { [`PR${ddmmyy(D2)}.zip`]: prZip(D2, { bh: [{ symbol: 'BBB', series: 'BE', hl: 'H' }] }) });
    await imp([fix], data);
    expect(q(data, 'SELECT * FROM circuit_hits')).toEqual([{ bse_code: '000002', trade_date: D2, side: 'upper' }]);
  });

  it('corporate actions: split, bonus, consolidation from bc (dividends ignored, the rest listed); the stockflow CSV by bse_code, nse_symbol or isin, winning over bc', async () => {
    const data = fresh();
    const dir = marketWithPr(fresh('f'));
    const s1 = await imp([dir], data);
    expect(q(data, 'SELECT * FROM corporate_actions ORDER BY bse_code')).toEqual([
      { bse_code: '000001', ex_date: D4, kind: 'consolidation', factor: 0.1, purpose: 'FV CONSL FRM RS 1 TO RS 10', source: 'nse-pr-bc' },
      { bse_code: '000002', ex_date: D4, kind: 'bonus', factor: 2, purpose: 'BONUS 1:1', source: 'nse-pr-bc' },
      { bse_code: '500100', ex_date: D3, kind: 'split', factor: 2, purpose: 'FVSPLT FRM RS 10 TO RS 5', source: 'nse-pr-bc' },
    ]);
    expect(s1.actions.ignoredByKind).toEqual({ dividend: 1 });
    expect(s1.actions.notUnderstood).toEqual(['SCHEME OF ARRANGEMENT']);
    expect(s1.text).toContain('not understood: SCHEME OF ARRANGEMENT');

    writeTree(dir, {
      'actions/my-actions.csv': actionsCsv(
        ['bse_code', 'nse_symbol', 'isin', 'ex_date', 'kind', 'factor', 'purpose'],
        [
          ['500200', '', '', D3, 'bonus', '1.5', 'BONUS 1:2'],
          ['', 'BBB', '', D4, 'bonus', '3', 'BONUS 2:1 (corrected)'],
          ['', '', ISIN_C, D2, 'split', '10', 'FV 10 to 1'],
          ['', 'UNKNOWN', '', D2, 'split', '2', ''],
        ],
      ),
    });
    const data2 = fresh();
    const s2 = await imp([dir], data2);
    expect(q(data2, 'SELECT bse_code, ex_date, kind, factor, source FROM corporate_actions ORDER BY bse_code, ex_date')).toEqual([
      { bse_code: '000001', ex_date: D2, kind: 'split', factor: 10, source: 'stockflow-actions' },
      { bse_code: '000001', ex_date: D4, kind: 'consolidation', factor: 0.1, source: 'nse-pr-bc' },
      { bse_code: '000002', ex_date: D4, kind: 'bonus', factor: 3, source: 'stockflow-actions' },
      { bse_code: '500100', ex_date: D3, kind: 'split', factor: 2, source: 'nse-pr-bc' },
      { bse_code: '500200', ex_date: D3, kind: 'bonus', factor: 1.5, source: 'stockflow-actions' },
    ]);
    expect(s2.leftOut['stockflow corporate actions CSV: security unknown']).toBe(1);
  });

  it('market caps by date (Market Cap(Rs.) ÷ 10^7); the master keeps the latest', async () => {
    const data = fresh();
    await imp([marketWithPr(fresh('f'))], data);
    expect(q(data, 'SELECT * FROM market_caps ORDER BY trade_date')).toEqual([
      { bse_code: '500100', trade_date: D2, market_cap_cr: 500 },
      { bse_code: '500100', trade_date: D3, market_cap_cr: 620 },
    ]);
    expect(q(data, "SELECT market_cap_cr FROM master_stock_list WHERE bse_code = '500100'")).toEqual([{ market_cap_cr: 620 }]);
  });

  it('masters: EQUITY_L names and listing dates, the BSE list\'s industry and status; deliveries of the full bhavcopy go into the NSE bar', async () => {
    const data = fresh();
    const dir = smallMarket(fresh('f'));
    writeTree(dir, {
      'masters/EQUITY_L.csv': equityL([{ symbol: 'AAA', name: 'Aaa Industries Limited', listedOn: '2001-05-17', isin: ISIN_A }]),
      'masters/List_of_scrips.csv': bseScrips([
        { code: '500100', scripId: 'AAA', name: 'Aaa Industries Ltd', isin: ISIN_A, industry: 'Refineries' },
        { code: '500200', scripId: 'DDD', name: 'Ddd Trading Ltd', isin: ISIN_D, industry: 'Trading', status: 'Suspended' },
        { code: '599999', scripId: 'NOBARS', name: 'No Bars Ltd', isin: 'INE555N01019' },
      ]),
      [`sec_bhavdata_full_${ddmmyyyy(D2)}.csv`]: fullBhav(D2, [
        { symbol: 'AAA', ...barAt(999), deliveryQty: 600, deliveryPct: 58.48 },
        { symbol: 'BBB', series: 'BE', ...barAt(51), deliveryQty: null, deliveryPct: null },
      ]),
    });
    const s = await imp([dir], data);
    expect(q(data, 'SELECT bse_code, company_name, sector, status, listed_on FROM master_stock_list WHERE bse_code IN (?, ?) ORDER BY 1', '500100', '500200')).toEqual([
      { bse_code: '500100', company_name: 'Aaa Industries Limited', sector: 'Refineries', status: 'ACTIVE', listed_on: '2001-05-17' },
      { bse_code: '500200', company_name: 'DDD TRADING LTD', sector: 'Trading', status: 'SUSPENDED', listed_on: null },
    ]);
    // The UDiFF bar wins over the full bhavcopy's (close 102, not 999); its deliveries are merged in.
    expect(q(data, "SELECT close, delivery_qty, delivery_pct, source FROM exchange_prices WHERE bse_code = '500100' AND exchange = 'NSE' AND trade_date = ?", D2)).toEqual([
      { close: 102, delivery_qty: 600, delivery_pct: 58.48, source: 'nse-udiff-cm' },
    ]);
    expect(s.leftOut['BSE list of scrips: no bars imported for it (not added to the master list)']).toBe(1);
  });
});

describe('bars from several kinds of file', () => {
  it('a later import of a worse kind of file (PR pd) does not replace a UDiFF bar; it fills a session no bhavcopy covered', async () => {
    const data = fresh();
    await imp([smallMarket(fresh('f'))], data);
    const D5 = '2025-10-06';
    const pr = writeTree(fresh('g'), {
      [`PR${ddmmyy(D2)}.zip`]: prZip(D2, { pd: [{ symbol: 'AAA', ...barAt(777) }] }),
      [`PR${ddmmyy(D5)}.zip`]: prZip(D5, { pd: [{ symbol: 'AAA', ...barAt(108) }] }),
    });
    const s = await imp([pr], data);
    expect(s.read.kinds.find((k) => k.kind === 'nse-pr-pd')).toMatchObject({ kept: 2, leftOut: 4, leftOutBy: { 'index row (no symbol)': 4 } });
    expect(q(data, "SELECT trade_date, close, source FROM exchange_prices WHERE bse_code = '500100' AND exchange = 'NSE' AND trade_date IN (?, ?) ORDER BY 1", D2, D5)).toEqual([
      { trade_date: D2, close: 102, source: 'nse-udiff-cm' },
      { trade_date: D5, close: 108, source: 'nse-pr-pd' },
    ]);
    expect(q(data, "SELECT close FROM daily_prices WHERE bse_code = '500100' AND trade_date = ?", D5)).toEqual([{ close: 108 }]);
  });
});

describe('--prefer, idempotency, rollback, rejects', () => {
  it('--prefer bse: daily_prices holds BSE bars where both exchanges have one', async () => {
    const data = fresh();
    await imp([smallMarket(fresh('f'))], data, { prefer: 'BSE' });
    expect(q(data, "SELECT close, volume FROM daily_prices WHERE bse_code = '500100' ORDER BY trade_date")).toEqual([100.5, 102.5, 104.5, 106.5].map((c, i) => ({ close: c, volume: 400 + i })));
    expect(q(data, "SELECT close FROM daily_prices WHERE bse_code = '000002' ORDER BY trade_date").map((r) => r.close)).toEqual([50, 51, 52, 53]);
  });

  it('--series: only the NSE series given are imported; the others are counted as left out, with their reason', async () => {
    const data = fresh();
    const s = await imp([smallMarket(fresh('f'))], data, { nseSeries: ['EQ', 'SM'] });
    expect(s.read.kinds.find((k) => k.kind === 'nse-udiff-cm')).toMatchObject({ kept: 8, keptBy: { EQ: 4, SM: 4 }, leftOutBy: { 'series BE not imported': 4, 'series GS not imported': 4 } });
    expect(q(data, 'SELECT bse_code, nse_symbol FROM master_stock_list ORDER BY 1')).toEqual([
      { bse_code: '000001', nse_symbol: 'CCC' },
      { bse_code: '500100', nse_symbol: 'AAA' },
      { bse_code: '500200', nse_symbol: null },
    ]);
  });

  it('importing the same files twice leaves every table identical (and so does another order of the paths)', async () => {
    const dir = fresh('f');
    smallMarket(dir);
    writeTree(dir, {
      [`sec_list_${ddmmyyyy(D1)}.csv`]: secList([{ symbol: 'AAA', band: '10' }]),
      [`PR${ddmmyy(D2)}.zip`]: prZip(D2, { bh: [{ symbol: 'AAA', hl: 'H' }], bc: [{ symbol: 'AAA', exDate: D3, purpose: 'BONUS 1:1' }], mcap: [{ symbol: 'AAA', capRs: 1e10, close: 102 }] }),
      [`sec_bhavdata_full_${ddmmyyyy(D1)}.csv`]: fullBhav(D1, [{ symbol: 'AAA', ...barAt(100), deliveryQty: 10, deliveryPct: 1 }]),
    });
    const data = fresh();
    await imp([dir], data);
    const once = dumpMarket(data);
    expect(once.exchange_prices.length).toBe(20);
    const again = await imp([dir], data);
    expect(dumpMarket(data)).toEqual(once);
    // Nothing to change the second time (a session's bh hits are replaced by the same ones).
    expect(Object.entries(again.written).filter(([, k]) => k > 0)).toEqual([
      ['circuit_hits', 1],
      ['circuit_hits_replaced', 1],
    ]);
    // The same files named one by one in reverse order: the same database.
    const data2 = fresh();
    const all: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (p: string) => all.push(p))(path.join(d, e.name));
    };
    walk(dir);
    await imp(all.sort().reverse(), data2);
    expect(dumpMarket(data2)).toEqual(once);
  });

  it('a failure leaves market.db exactly as it was: a changed format (exit 7), an error thrown mid-import, the reject threshold (exit 6)', async () => {
    const data = fresh();
    await imp([smallMarket(fresh('f'))], data);
    const before = dumpMarket(data);
    const more = writeTree(fresh('g'), {
      'a.csv': nseUdiff('2025-10-06', [{ symbol: 'NEWCO', isin: 'INE123N01010', ...barAt(10) }]),
      'b.csv': secList([{ symbol: 'AAA', band: '5' }]),
      'z.csv': 'SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQNTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,\n',
    });
    const e7 = await failure(imp([more], data));
    expect(e7.exitCode).toBe(7);
    expect(e7.message).toContain("missing 'TOTTRDQTY'");
    expect(dumpMarket(data)).toEqual(before);

    rmSync(path.join(more, 'z.csv'));
    await expect(
      imp([more], data, {
        onRecord: (k) => {
          if (k === 2) throw new Error('boom');
        },
      }),
    ).rejects.toThrow('boom');
    expect(dumpMarket(data)).toEqual(before);

    // One bad row of two in a file: past the default 1%.
    writeFileSync(path.join(more, 'c.csv'), nseUdiff('2025-10-06', [{ symbol: 'OK', isin: 'INE124N01018', ...barAt(10) }, { symbol: 'BAD', isin: 'NOTANISIN', ...barAt(10) }]));
    const rejectsFile = path.join(data, 'rejects.csv');
    const e6 = await failure(imp([more], data));
    expect(e6.exitCode).toBe(6);
    expect(e6.message).toContain('1 of 2 rows rejected');
    expect(dumpMarket(data)).toEqual(before);
    expect(readFileSync(rejectsFile, 'utf8')).toContain(`${path.join(more, 'c.csv')},3,not an Indian ISIN: 'NOTANISIN'`);

    // A new market.db is not left behind by a failed first import.
    const empty = fresh();
    await failure(imp([path.join(more, 'c.csv')], empty));
    expect(existsSync(path.join(empty, 'market.db'))).toBe(false);
  });

  it('rejects go to the rejects file with file, line and reason; under the threshold the import goes on', async () => {
    const data = fresh();
    const dir = writeTree(fresh('f'), {
      'n.csv': nseUdiff(D1, [
        { symbol: 'OK', isin: 'INE124N01018', ...barAt(10) },
        { symbol: 'BAD', isin: 'INE125N01016', open: 10, high: 9, low: 8, close: 10, volume: 1 },
      ]),
    });
    const s = await imp([dir], data, { maxRejectRate: 0.5 });
    expect(s.read.rejectCount).toBe(1);
    const rows = readFileSync(s.rejectsFile, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('file,line,reason,row');
    expect(rows[1]).toMatch(new RegExp(`^${path.join(dir, 'n.csv').replace(/[/.]/g, '\\$&')},3,high 9 is below open/close/low,`));
    expect(q(data, 'SELECT bse_code, nse_symbol FROM master_stock_list')).toEqual([{ bse_code: '000001', nse_symbol: 'OK' }]);
  });
});

describe('the CLI', () => {
  beforeAll(() => assertCliBuilt());

  it('imports, prints the summary, exits 0; a bad --prefer is exit 2; a running batch\'s lock is exit 5', async () => {
    const data = fresh();
    const files = smallMarket(fresh('f'));
    const r = runCli(['data', 'import-exchange', files, '--data-dir', data]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('keys: 4 written (2 new BSE scrip codes, 2 new NSE-only keys: 000001, 000002)');
    const bad = runCli(['data', 'import-exchange', files, '--prefer', 'mcx', '--data-dir', data]);
    expect(bad.code).toBe(2);
    expect(failureLine(bad)).toBe("stockflow: --prefer must be nse or bse, not 'mcx'");
    const before = dumpMarket(data);
    const lock = await acquireBatchLock(data);
    try {
      const locked = runCli(['data', 'import-exchange', smallMarket(fresh('g')), '--prefer', 'bse', '--data-dir', data]);
      expect(locked.code, locked.stderr).toBe(5);
    } finally {
      lock.release();
    }
    expect(dumpMarket(data)).toEqual(before);
  });

  it('SIGTERM: exit 130, rolled back, market.db unchanged', async () => {
    const data = fresh();
    const small = smallMarket(fresh('f'));
    expect(runCli(['data', 'import-exchange', small, '--data-dir', data]).code).toBe(0);
    const before = dumpMarket(data);
    // A file big enough to be interrupted in the middle.
    const rows = Array.from({ length: 150_000 }, (_, i) => ({ symbol: `S${i}`, token: String(i + 1), isin: `IN${String(i).padStart(9, '0')}${i % 10}`, ...barAt(10 + (i % 50)) }));
    const big = path.join(fresh('b'), 'big.csv');
    writeFileSync(big, nseUdiff('2025-10-06', rows));
    const p = startCli(['data', 'import-exchange', big, '--data-dir', data]);
    const tmpFile = (): string[] => readdirSync(data).filter((f) => f.includes('.tmp-'));
    await until(() => tmpFile().length === 1 || p.child.exitCode !== null, 30_000, 'the import to start');
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(r.code, r.stderr).toBe(130);
    expect(failureLine(r)).toBe(`stockflow: interrupted by SIGTERM: import rolled back, ${path.join(data, 'market.db')} unchanged`);
    expect(dumpMarket(data)).toEqual(before);
  }, 60_000);
});

describe('end to end: exchange files → import → stockflow batch', () => {
  beforeAll(() => assertCliBuilt());

  it('after an import of real-format files (legacy then UDiFF bhavcopies, PR bundles, a price-band list), the batch runs on them with no further step', async () => {
    const { nseHolidays } = await import('../src/demo/holidays.js');
    const { treeModel, writeAliasesFile, writeModel } = await import('./helpers/onnx-fixture.js');
    const { MODEL_NAME, MODEL_VERSION, TREE, openPredictions } = await import('./helpers/batch-fixture.js');
    const holidays = new Set([2024, 2025].flatMap((y) => nseHolidays(y).map((h) => h.date)));
    // 270 sessions ending Thu 2025-11-13 (weekdays, NSE's published holidays left out): more than the 250 the features need.
    const sessions: string[] = [];
    for (let t = Date.UTC(2025, 10, 13); sessions.length < 270; t -= 86_400_000) {
      const d = new Date(t).toISOString().slice(0, 10);
      const wd = new Date(t).getUTCDay();
      if (wd !== 0 && wd !== 6 && !holidays.has(d)) sessions.unshift(d);
    }
    const px = (base: number, i: number, phase: number): number => Math.round(base * (1 + 0.06 * Math.sin(i / 6 + phase)) * 100) / 100;
    const files: Record<string, string | Uint8Array> = {};
    sessions.forEach((d, i) => {
      const prev = i === 0 ? undefined : i - 1;
      const bar = (base: number, phase: number, vol: number) => barAt(px(base, i, phase), vol + (i % 13) * 10, prev === undefined ? undefined : px(base, prev, phase));
      const nse = [
        { symbol: 'AAA', token: '11', isin: ISIN_A, ...bar(100, 0, 5000) },
        { symbol: 'BBB', token: '22', isin: ISIN_B, ...bar(40, 1, 9000) },
      ];
      const bse = [
        { code: '500100', scripId: 'AAA', isin: ISIN_A, ...bar(100.2, 0, 700) },
        { code: '500300', scripId: 'CCC', group: 'B', isin: ISIN_D, name: 'CCC LTD', ...bar(250, 2, 800) },
      ];
      const ymd = d.replace(/-/g, '');
      if (d < '2024-07-08') {
        files[`nse/cm${d.slice(8)}${['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'][Number(d.slice(5, 7)) - 1]}${d.slice(0, 4)}bhav.csv`] = nseLegacy(d, nse);
        files[`bse/EQ_ISINCODE_${ddmmyy(d)}.CSV`] = bseLegacy(d, bse);
      } else {
        files[`nse/BhavCopy_NSE_CM_0_0_0_${ymd}_F_0000.csv`] = nseUdiff(d, nse);
        files[`bse/BhavCopy_BSE_CM_0_0_0_${ymd}_F_0000.CSV`] = bseUdiff(d, bse);
      }
      if (i >= sessions.length - 30) files[`pr/PR${ddmmyy(d)}.zip`] = prZip(d, { bh: i % 7 === 0 ? [{ symbol: 'BBB', hl: 'H' }] : [], mcap: [{ symbol: 'AAA', capRs: 1e11, close: px(100, i, 0) }] });
    });
    const last = sessions[sessions.length - 1];
    files[`nse/sec_list_${ddmmyyyy(last)}.csv`] = secList([
      { symbol: 'AAA', band: '5' },
      { symbol: 'BBB', band: '20' },
    ]);
    const dir = writeTree(fresh('e2e'), files);
    const data = fresh('data');
    const imported = runCli(['data', 'import-exchange', dir, '--data-dir', data], { timeoutMs: 120_000 });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('keys: 3 written (2 new BSE scrip codes, 1 new NSE-only keys: 000001)');

    const modelsDir = path.join(fresh('models'));
    writeModel(modelsDir, MODEL_NAME, MODEL_VERSION, treeModel(TREE));
    writeAliasesFile(modelsDir, { champion: `${MODEL_NAME}/${MODEL_VERSION}` });
    const r = runCli(['batch', '--date', '2025-11-14', '--data-dir', data, '--models-dir', modelsDir], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const db = openPredictions(data);
    try {
      expect(db.prepare("SELECT bse_code FROM daily_predictions WHERE prediction_date = '2025-11-14' ORDER BY bse_code").pluck().all()).toEqual(['000001', '500100', '500300']);
      expect(db.prepare('SELECT count(*) FROM skipped_stocks').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
    // The master list the batch read: bands of the last session's list (in force from the 14th: not yet at the last
    // session, so the only list known), the BSE-only CCC assumed 20.
    expect(q(data, 'SELECT bse_code, nse_symbol, circuit_band_pct FROM master_stock_list ORDER BY 1')).toEqual([
      { bse_code: '000001', nse_symbol: 'BBB', circuit_band_pct: 20 },
      { bse_code: '500100', nse_symbol: 'AAA', circuit_band_pct: 5 },
      { bse_code: '500300', nse_symbol: null, circuit_band_pct: 20 },
    ]);
    expect(q(data, 'SELECT count(*) AS n FROM daily_prices')).toEqual([{ n: 270 * 3 }]);
  }, 180_000);
});
