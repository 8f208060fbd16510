/**
 * Reading the exchanges' own files (src/ingest/exchange): detection by header for
 * the nine kinds, each format's quirks, zips with mixed members, the PURPOSE parser,
 * and `stockflow data import-exchange --dry-run`. The fixtures in
 * test/fixtures/exchange/ are written byte for byte in the exchanges' formats
 * (CRLF for the BSE files, the NSE legacy trailing comma, the full bhavcopy's `, `,
 * padded values); expected values are read off those bytes by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { readExchange, type ExchangeEvent } from '../src/ingest/exchange/read.js';
import { parsePurpose } from '../src/ingest/exchange/purpose.js';
import { exchangeDate } from '../src/ingest/exchange/values.js';
import type { ExchangeKind, ExchangeRecord } from '../src/ingest/exchange/types.js';
import { StockflowError } from '../src/errors.js';
import { assertCliBuilt, failureLine, runCli } from './helpers/batch-fixture.js';

const FX = path.resolve(import.meta.dirname, 'fixtures', 'exchange');
const fx = (f: string): string => path.join(FX, f);
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sf-exch-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function all(paths: string[], nseSeries?: string[]): Promise<ExchangeEvent[]> {
  const out: ExchangeEvent[] = [];
  for await (const ev of readExchange(paths, { nseSeries })) out.push(ev);
  return out;
}
const kindsOf = (evs: ExchangeEvent[]): [string, ExchangeKind][] =>
  evs.flatMap((e) => (e.type === 'source' ? [[e.source.member ?? path.basename(e.source.file), e.kind] as [string, ExchangeKind]] : []));
const records = (evs: ExchangeEvent[]): ExchangeRecord[] => evs.flatMap((e) => (e.type === 'record' ? [e.record] : []));

/** Copies a fixture under another name into the temp folder. */
function renamed(fixture: string, as: string): string {
  const dir = mkdtempSync(path.join(tmp, 'r-'));
  const p = path.join(dir, as);
  copyFileSync(fx(fixture), p);
  return p;
}

async function formatFailure(paths: string[]): Promise<StockflowError> {
  try {
    await all(paths);
  } catch (e) {
    expect(e).toBeInstanceOf(StockflowError);
    return e as StockflowError;
  }
  throw new Error('expected the read to fail');
}

function prZip(dir: string, name = 'PR161225.zip', members = readdirSync(fx('pr-members'))): string {
  const files: Record<string, Uint8Array> = {};
  for (const m of members) files[m] = new Uint8Array(readFileSync(path.join(fx('pr-members'), m)));
  const p = path.join(dir, name);
  writeFileSync(p, zipSync(files));
  return p;
}

const NINE: [string, ExchangeKind][] = [
  ['BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv', 'nse-udiff-cm'],
  ['BhavCopy_BSE_CM_0_0_0_20251216_F_0000.CSV', 'bse-udiff-cm'],
  ['cm01JAN2020bhav.csv', 'nse-legacy-cm'],
  ['EQ_ISINCODE_030123.CSV', 'bse-legacy-eq'],
  ['sec_bhavdata_full_16122025.csv', 'nse-full-bhavcopy'],
  ['pr-members/bh16122025.csv', 'nse-pr-bh'],
  ['pr-members/bc16122025.csv', 'nse-pr-bc'],
  ['pr-members/mcap16122025.csv', 'nse-pr-mcap'],
  ['pr-members/pd16122025.csv', 'nse-pr-pd'],
  ['EQUITY_L.csv', 'nse-equity-list'],
  ['List_of_scrips.csv', 'bse-scrips'],
  ['sec_list_16122025.csv', 'nse-price-bands'],
];

describe('detection by header', () => {
  it.each(NINE)('%s is detected as %s', async (file, kind) => {
    const evs = await all([fx(file)]);
    expect(kindsOf(evs)).toEqual([[path.basename(file), kind]]);
    expect(evs.filter((e) => e.type === 'reject')).toEqual([]);
  });

  it('a file renamed to another kind\'s name is still detected by its header', async () => {
    // The BSE UDiFF file under the NSE UDiFF name, the price bands under EQUITY_L's name, the legacy bhavcopy as a PR bh member.
    const evs = await all([
      renamed('BhavCopy_BSE_CM_0_0_0_20251216_F_0000.CSV', 'BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv'),
      renamed('sec_list_16122025.csv', 'EQUITY_L.csv'),
      renamed('cm01JAN2020bhav.csv', 'bh16122025.csv'),
    ]);
    expect(kindsOf(evs).map(([, k]) => k)).toEqual(['bse-udiff-cm', 'nse-price-bands', 'nse-legacy-cm']);
  });

  it('NSE and BSE UDiFF (same 34 columns) are told apart by Src; each row must agree, be CM, and (BSE) carry a 6-digit scrip code', async () => {
    const nse = records(await all([fx('BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv')]));
    expect(nse[0]).toMatchObject({ exchange: 'NSE', code: '2885', symbol: 'RELIANCE', series: 'EQ', isin: 'INE002A01018', tradeDate: '2025-12-16', close: 1544.3, volume: 5123456, turnoverRs: 7912345678.9, trades: 123456 });
    const bse = records(await all([fx('BhavCopy_BSE_CM_0_0_0_20251216_F_0000.CSV')]));
    expect(bse.map((r) => (r.type === 'price' ? [r.code, r.symbol, r.series] : null))).toEqual([
      ['500325', 'RELIANCE', 'A'],
      ['533022', '20MICRONS', 'B'],
      ['543210', 'XYZTRAD', 'T'],
    ]);
    // A row whose Src disagrees with the file's, and a BSE row with an NSE token: rejects with file, line and reason.
    const text = readFileSync(fx('BhavCopy_BSE_CM_0_0_0_20251216_F_0000.CSV'), 'utf8').split('\r\n');
    text[1] = text[1].replace(',CM,', ',FO,');
    text[2] = text[2].replace(',BSE,', ',NSE,');
    text[3] = text[3].replace(',543210,', ',2885,');
    const p = path.join(mkdtempSync(path.join(tmp, 'u-')), 'bse.csv');
    writeFileSync(p, text.join('\r\n'));
    const rejects = (await all([p])).flatMap((e) => (e.type === 'reject' ? [[e.reject.line, e.reject.reason]] : []));
    expect(rejects).toEqual([
      [2, "Sgmt is 'FO', not CM (a capital-market bhavcopy)"],
      [3, "Src is 'NSE' in a BSE UDiFF file"],
      [4, "FinInstrmId '2885' is not a 6-digit BSE scrip code"],
    ]);
  });

  it('a UDiFF file whose Src is neither NSE nor BSE stops (exit 7) instead of guessing', async () => {
    const text = readFileSync(fx('BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv'), 'utf8').replace(/,NSE,/g, ',MSE,');
    const p = path.join(mkdtempSync(path.join(tmp, 'm-')), 'x.csv');
    writeFileSync(p, text);
    const e = await formatFailure([p]);
    expect(e.exitCode).toBe(7);
    expect(e.message).toBe(`${p}: a UDiFF CM bhavcopy whose first row's Src is 'MSE', not NSE or BSE: cannot tell which exchange's it is; nothing imported`);
  });

  it('a renamed column fails loudly, naming the file, the kind it resembles and the columns that differ', async () => {
    const p = path.join(mkdtempSync(path.join(tmp, 'c-')), 'cm01JAN2020bhav.csv');
    writeFileSync(p, readFileSync(fx('cm01JAN2020bhav.csv'), 'utf8').replace('TOTTRDQTY', 'TOTTRDQNTY'));
    const e = await formatFailure([p]);
    expect(e.exitCode).toBe(7);
    expect(e.message).toBe(
      `${p}: looks like a NSE legacy CM bhavcopy (cmDDMMMYYYYbhav.csv) but its columns differ: missing 'TOTTRDQTY'; unexpected 'TOTTRDQNTY' (the exchange may have changed the format; nothing imported)`,
    );
    // A missing column of the BSE list of scrips (matched by name).
    const q = path.join(mkdtempSync(path.join(tmp, 'c-')), 'scrips.csv');
    writeFileSync(q, readFileSync(fx('List_of_scrips.csv'), 'utf8').replace('ISIN No', 'ISIN'));
    const f = await formatFailure([q]);
    expect(f.message).toBe(`${q}: looks like a BSE list of scrips but its columns differ: missing 'ISIN No' (the exchange may have changed the format; nothing imported)`);
  });

  it('a file that is no exchange file stops with its header named', async () => {
    const p = path.join(mkdtempSync(path.join(tmp, 'n-')), 'notes.csv');
    writeFileSync(p, 'bse_code,trade_date,open,high,low,close,volume\n500325,2025-12-16,1,1,1,1,1\n');
    const e = await formatFailure([p]);
    expect(e.exitCode).toBe(7);
    expect(e.message).toBe(`${p}: not a known exchange file (its header 'bse_code,trade_date,open,high,low,close,…' matches none of the supported kinds; docs/exchange-files.md)`);
  });
});

describe('format quirks', () => {
  it('NSE legacy: the trailing comma is an empty 14th column, TIMESTAMP 01-JAN-2020, non-equity series left out', async () => {
    const evs = await all([fx('cm01JAN2020bhav.csv')]);
    const r = records(evs);
    expect(r.map((x) => (x.type === 'price' ? [x.symbol, x.series, x.tradeDate, x.isin, x.close, x.volume] : null))).toEqual([
      ['20MICRONS', 'EQ', '2020-01-01', 'INE144J01027', 38.15, 41507],
      ['RELIANCE', 'EQ', '2020-01-01', 'INE002A01018', 1520.7, 3216457],
      ['GOLDBEES', 'EQ', '2020-01-01', 'INF204KB17I5', 35.86, 812354],
    ]);
    expect(evs.flatMap((e) => (e.type === 'left-out' ? [[e.line, e.reason]] : []))).toEqual([[5, 'series N2 not imported']]);
  });

  it('BSE legacy: padded names and groups trimmed, 03-Jan-23 → 2023-01-03, SC_TYPE D left out', async () => {
    const evs = await all([fx('EQ_ISINCODE_030123.CSV')]);
    expect(records(evs).map((x) => (x.type === 'price' ? [x.code, x.name, x.series, x.tradeDate, x.open, x.trades, x.volume, x.turnoverRs] : null))).toEqual([
      ['500002', 'ABB LTD.', 'A', '2023-01-03', 2860, 1200, 15234, 43812345],
      ['500325', 'RELIANCE', 'A', '2023-01-03', 2540, 9843, 211456, 539213456],
      ['543210', 'XYZ TRADING', 'T', '2023-01-03', 12.1, 37, 50000, 635000],
    ]);
    expect(evs.flatMap((e) => (e.type === 'left-out' ? [e.reason] : []))).toEqual(['SC_TYPE D (not Q, equity)']);
  });

  it("full bhavcopy: ', ' separators, 16-Dec-2025, lakhs → rupees, '-' deliveries as null", async () => {
    const r = records(await all([fx('sec_bhavdata_full_16122025.csv')], ['EQ', 'BE', 'GB']));
    expect(r.map((x) => (x.type === 'price' ? [x.symbol, x.series, x.tradeDate, x.close, x.volume, x.turnoverRs, x.deliveryQty, x.deliveryPct] : null))).toEqual([
      ['RELIANCE', 'EQ', '2025-12-16', 1544.3, 5123456, 7889345000, 2561728, 50],
      ['20MICRONS', 'BE', '2025-12-16', 208.4, 84120, 17246000, 84120, 100],
      ['SGBDEC28', 'GB', '2025-12-16', 13299, 25, 333000, null, null],
    ]);
  });

  it("EQUITY_L: the header's leading spaces, 06-OCT-2008", async () => {
    const r = records(await all([fx('EQUITY_L.csv')]));
    expect(r[0]).toEqual({ type: 'nse-listing', symbol: '20MICRONS', name: '20 Microns Limited', series: 'BE', listedOn: '2008-10-06', paidUpValue: 5, marketLot: 1, isin: 'INE144J01027', faceValue: 5 });
    expect(r.length).toBe(3);
  });

  it('BSE list of scrips: matched by name, with extra and trailing empty columns', async () => {
    const r = records(await all([fx('List_of_scrips.csv')]));
    expect(r).toEqual([
      { type: 'bse-scrip', code: '500325', scripId: 'RELIANCE', name: 'RELIANCE INDUSTRIES LTD.', status: 'Active', isin: 'INE002A01018', group: 'A', faceValue: 10, industry: 'Refineries' },
      { type: 'bse-scrip', code: '533022', scripId: '20MICRONS', name: '20 MICRONS LTD.', status: 'Active', isin: 'INE144J01027', group: 'B', faceValue: 5, industry: 'Industrial Minerals' },
      { type: 'bse-scrip', code: '543210', scripId: 'XYZTRAD', name: 'XYZ TRADING LTD.', status: 'Suspended', isin: 'INE555X01016', group: 'T', faceValue: 1, industry: 'Trading' },
    ]);
  });

  it("sec_list: 'No Band' is a null band, GSM remarks kept, the list's date from its name", async () => {
    const evs = await all([fx('sec_list_16122025.csv')]);
    expect(records(evs).map((x) => (x.type === 'price-band' ? [x.symbol, x.series, x.bandPct, x.remarks, x.listDate] : null))).toEqual([
      ['RELIANCE', 'EQ', null, null, '2025-12-16'],
      ['20MICRONS', 'BE', 5, null, '2025-12-16'],
      ['ABCSME', 'SM', 5, 'GSM STAGE - 0', '2025-12-16'],
      ['XYZ', 'EQ', 20, null, '2025-12-16'],
    ]);
    expect(evs.flatMap((e) => (e.type === 'left-out' ? [e.reason] : []))).toEqual(['series N1 not imported']);
  });

  it('bad rows become rejects with file, line and reason, never silently dropped', async () => {
    const p = path.join(mkdtempSync(path.join(tmp, 'b-')), 'sec_list_17122025.csv');
    writeFileSync(p, 'Symbol,Series,Security Name,Band,Remarks\nAAA,EQ,A Ltd,15,\nBBB,EQ,B Ltd,5\nCCC,EQ,C Ltd,10,,extra\n');
    const evs = await all([p]);
    expect(evs.flatMap((e) => (e.type === 'reject' ? [[e.reject.source.file, e.reject.line, e.reject.reason]] : []))).toEqual([
      [p, 2, 'Band is 15, not 2, 5, 10, 20, 40 or No Band'],
      [p, 3, '4 fields, the header has 5'],
      [p, 4, '6 fields, the header has 5'],
    ]);
    expect(records(evs)).toEqual([]);
  });
});

describe('PR bundle', () => {
  it('a PR zip with mixed members: bh, bc, mcap, pd read; an, bm, gl, hl, tt, etf, sme, corpbond, readme skipped and counted', async () => {
    const zip = prZip(mkdtempSync(path.join(tmp, 'pr-')));
    const evs = await all([zip]);
    expect(kindsOf(evs)).toEqual([
      ['bc16122025.csv', 'nse-pr-bc'],
      ['bh16122025.csv', 'nse-pr-bh'],
      ['mcap16122025.csv', 'nse-pr-mcap'],
      ['pd16122025.csv', 'nse-pr-pd'],
    ]);
    expect(evs.flatMap((e) => (e.type === 'skipped' ? [e.member] : [])).sort()).toEqual(['an', 'bm', 'corpbond', 'etf', 'gl', 'hl', 'readme', 'sme', 'tt']);
    const r = records(evs);
    // bh: the session date comes from the member's name; H/L → upper/lower.
    expect(r.filter((x) => x.type === 'circuit-hit')).toEqual([
      { type: 'circuit-hit', exchange: 'NSE', tradeDate: '2025-12-16', symbol: 'ABCSME', series: 'SM', name: 'ABC SME LIMITED', side: 'upper' },
      { type: 'circuit-hit', exchange: 'NSE', tradeDate: '2025-12-16', symbol: '20MICRONS', series: 'BE', name: '20 MICRONS LTD', side: 'upper' },
      { type: 'circuit-hit', exchange: 'NSE', tradeDate: '2025-12-16', symbol: 'XYZ', series: 'EQ', name: 'XYZ LIMITED', side: 'lower' },
    ]);
    // mcap: padded values, '16 DEC 2025', rupees → crore.
    const mcap = r.filter((x) => x.type === 'market-cap');
    expect(mcap[0]).toMatchObject({ tradeDate: '2025-12-16', symbol: 'RELIANCE', name: 'RELIANCE INDUSTRIES LTD', faceValue: 10, issueSize: 13532472634, closePrice: 1544.3, marketCapRs: 20898037498746.2 });
    expect(mcap[0].type === 'market-cap' && mcap[0].marketCapCr).toBeCloseTo(2089803.74987462, 6);
    // pd: the two index rows (empty symbol) left out and counted; padded numbers.
    expect(evs.flatMap((e) => (e.type === 'left-out' && e.kind === 'nse-pr-pd' ? [e.reason] : []))).toEqual(['index row (no symbol)', 'index row (no symbol)']);
    expect(r.filter((x) => x.type === 'price').map((x) => (x.type === 'price' ? [x.symbol, x.tradeDate, x.prevClose, x.close, x.volume, x.high52, x.low52] : null))).toEqual([
      ['RELIANCE', '2025-12-16', 1538.2, 1544.3, 5123456, 1581.3, 1114.85],
      ['20MICRONS', '2025-12-16', 198.5, 208.4, 84120, 264, 155.1],
    ]);
    // bc: dates and purposes.
    const bc = r.filter((x) => x.type === 'corporate-action');
    expect(bc.map((x) => (x.type === 'corporate-action' ? [x.symbol, x.exDate, x.parsed.parts[0].kind, x.parsed.factor] : null))).toEqual([
      ['ABC', '2025-12-19', 'bonus', 2],
      ['DEF', '2025-12-18', 'split', 2],
      ['GHI', '2025-12-22', 'rights', 1],
      ['JKL', '2025-12-17', 'dividend', 1],
      ['MNO', '2025-12-23', 'demerger', 1],
      ['STU', '2025-12-26', 'consolidation', 0.1],
      ['PQR', '2025-12-24', 'other', 1],
    ]);
  });

  it('a used member is read whatever its name: a bh file named like a skipped member is still a bh file', async () => {
    const dir = mkdtempSync(path.join(tmp, 'pr-'));
    const zip = path.join(dir, 'PR161225.zip');
    writeFileSync(zip, zipSync({ 'Gl161225.csv': new Uint8Array(readFileSync(fx('pr-members/bh16122025.csv'))) }));
    const evs = await all([zip]);
    expect(kindsOf(evs)).toEqual([['Gl161225.csv', 'nse-pr-bh']]);
  });

  it('a zip nested in a zip (a UDiFF zip inside a folder archive) is read member by member, in name order', async () => {
    const dir = mkdtempSync(path.join(tmp, 'z-'));
    const inner = zipSync({ 'BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv': new Uint8Array(readFileSync(fx('BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv'))) });
    const outer = path.join(dir, 'december.zip');
    writeFileSync(outer, zipSync({ 'z/BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv.zip': inner, 'a/EQUITY_L.csv': new Uint8Array(readFileSync(fx('EQUITY_L.csv'))) }));
    const evs = await all([outer]);
    expect(evs.flatMap((e) => (e.type === 'source' ? [[e.source.label, e.kind]] : []))).toEqual([
      [`${outer}:a/EQUITY_L.csv`, 'nse-equity-list'],
      [`${outer}:z/BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv.zip:BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv`, 'nse-udiff-cm'],
    ]);
  });

  it('a changed member inside a zip names the zip and the member', async () => {
    const dir = mkdtempSync(path.join(tmp, 'pr-'));
    const zip = path.join(dir, 'PR161225.zip');
    const bh = readFileSync(fx('pr-members/bh16122025.csv'), 'utf8').replace('HIGH/LOW', 'HI/LO');
    writeFileSync(zip, zipSync({ 'bh16122025.csv': new TextEncoder().encode(bh) }));
    const e = await formatFailure([zip]);
    expect(e.message).toBe(
      `${zip}:bh16122025.csv: looks like a NSE PR bundle band hits (bhDDMMYYYY.csv) but its columns differ: missing 'HIGH/LOW'; unexpected 'HI/LO' (the exchange may have changed the format; nothing imported)`,
    );
  });
});

describe('PURPOSE parser', () => {
  it.each([
    ['FVSPLT FRM RS 10 TO RS 5', 'split', 2],
    ['FV SPLIT FROM RS 10/- PER SHARE TO RE 1/- PER SHARE', 'split', 10],
    ['FV CONSL FRM RS 1 TO RS 10', 'consolidation', 0.1],
    ['CONSOLIDATION OF SHARES FROM RS 2 TO RS 10', 'consolidation', 0.2],
    ['BONUS 1:1', 'bonus', 2],
    ['BONUS 3:2', 'bonus', 2.5],
    ['RIGHTS 45:301@PRM RS 290', 'rights', 1],
    ['INTDIV - RS 7 PER SH', 'dividend', 1],
    ['INTEREST PAYMENT', 'interest', 1],
    ['DEMERGER', 'demerger', 1],
  ])('%s → %s, factor %d', (purpose, kind, factor) => {
    const p = parsePurpose(purpose);
    expect(p.parts.map((x) => x.kind)).toEqual([kind]);
    expect(p.factor).toBeCloseTo(factor, 12);
    expect(p.understood).toBe(true);
  });

  it('details: bonus ratio, rights ratio and premium, dividend amount; a meeting with a dividend; what is not understood', () => {
    expect(parsePurpose('BONUS 1:1').parts[0]).toEqual({ kind: 'bonus', text: 'BONUS 1:1', factor: 2, ratio: [1, 1] });
    expect(parsePurpose('RIGHTS 45:301@PRM RS 290').parts[0]).toEqual({ kind: 'rights', text: 'RIGHTS 45:301@PRM RS 290', ratio: [45, 301], amountRs: 290 });
    expect(parsePurpose('INTDIV - RS 7 PER SH').parts[0]).toEqual({ kind: 'dividend', text: 'INTDIV - RS 7 PER SH', amountRs: 7 });
    expect(parsePurpose('AGM/DIVIDEND - RS 8 PER SHARE')).toEqual({
      parts: [{ kind: 'meeting', text: 'AGM' }, { kind: 'dividend', text: 'DIVIDEND - RS 8 PER SHARE', amountRs: 8 }],
      understood: true,
      factor: 1,
    });
    expect(parsePurpose('BONUS 1:1/FVSPLT FRM RS 10 TO RS 2').factor).toBe(10);
    const odd = parsePurpose('SCHEME OF ARRANGEMENT');
    expect(odd).toEqual({ parts: [{ kind: 'other', text: 'SCHEME OF ARRANGEMENT' }], understood: false, factor: 1 });
    expect(parsePurpose('FVSPLT').understood).toBe(false); // a split without its face values has no factor
  });
});

describe('dates', () => {
  it.each([
    ['01-JAN-2020', '2020-01-01'],
    ['03-Jan-23', '2023-01-03'],
    ['16-Dec-2025', '2025-12-16'],
    ['16 DEC 2025', '2025-12-16'],
    ['06-OCT-2008', '2008-10-06'],
    ['2024-07-08', '2024-07-08'],
  ])('%s → %s', (raw, iso) => expect(exchangeDate(raw)).toBe(iso));

  it('impossible dates are refused', () => {
    expect(() => exchangeDate('30-FEB-2024')).toThrow("not a real date: '30-FEB-2024'");
    expect(() => exchangeDate('16/12/2025')).toThrow("not a date: '16/12/2025'");
  });
});

describe('stockflow data import-exchange', () => {
  let folder: string;
  beforeAll(() => {
    assertCliBuilt();
    // The folder an analyst keeps: nse/, bse/, pr/ (zipped bundles), masters/.
    folder = mkdtempSync(path.join(tmp, 'desk-'));
    for (const d of ['nse', 'bse', 'pr', 'masters']) mkdirSync(path.join(folder, d));
    const nseUdiff = zipSync({ 'BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv': new Uint8Array(readFileSync(fx('BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv'))) });
    writeFileSync(path.join(folder, 'nse', 'BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv.zip'), nseUdiff);
    for (const f of ['cm01JAN2020bhav.csv', 'sec_bhavdata_full_16122025.csv', 'sec_list_16122025.csv']) copyFileSync(fx(f), path.join(folder, 'nse', f));
    for (const f of ['BhavCopy_BSE_CM_0_0_0_20251216_F_0000.CSV', 'EQ_ISINCODE_030123.CSV']) copyFileSync(fx(f), path.join(folder, 'bse', f));
    for (const f of ['EQUITY_L.csv', 'List_of_scrips.csv']) copyFileSync(fx(f), path.join(folder, 'masters', f));
    prZip(path.join(folder, 'pr'));
    writeFileSync(path.join(folder, 'notes.txt'), 'my notes\n');
  });

  it('--dry-run on a folder of exchange files prints the summary and exits 0', () => {
    const r = runCli(['data', 'import-exchange', folder, '--dry-run']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'dry run: market.db not written; 9 file(s), 21 file(s)/zip member(s) read',
        'NSE UDiFF CM bhavcopy: 1 file(s), 4 row(s) [2025-12-16]',
        '  kept 3 (BE 1, EQ 1, SM 1)',
        '  left out 1: series N1 not imported 1',
        'BSE UDiFF CM bhavcopy: 1 file(s), 3 row(s) [2025-12-16]',
        '  kept 3 (A 1, B 1, T 1)',
        'NSE legacy CM bhavcopy: 1 file(s), 4 row(s) [2020-01-01]',
        '  kept 3 (EQ 3)',
        '  left out 1: series N2 not imported 1',
        'BSE legacy bhavcopy (EQ_ISINCODE): 1 file(s), 4 row(s) [2023-01-03]',
        '  kept 3 (A 2, T 1)',
        '  left out 1: SC_TYPE D (not Q, equity) 1',
        'NSE full bhavcopy with deliveries: 1 file(s), 3 row(s) [2025-12-16]',
        '  kept 2 (BE 1, EQ 1)',
        '  left out 1: series GB not imported 1',
        'NSE PR band hits (bh): 1 file(s), 3 row(s) [2025-12-16]',
        '  kept 3 (BE 1, EQ 1, SM 1)',
        'NSE PR corporate actions (bc): 1 file(s), 7 row(s)',
        '  kept 7 (EQ 7)',
        '  corporate actions: 6 understood, 1 not understood; parts: bonus 1, consolidation 1, demerger 1, dividend 1, other 1, rights 1, split 1',
        '    not understood: SCHEME OF ARRANGEMENT',
        'NSE PR market cap (mcap): 1 file(s), 2 row(s) [2025-12-16]',
        '  kept 2 (BE 1, EQ 1)',
        'NSE PR price data (pd): 1 file(s), 4 row(s) [2025-12-16]',
        '  kept 2 (BE 1, EQ 1)',
        '  left out 2: index row (no symbol) 2',
        'NSE equity master (EQUITY_L): 1 file(s), 3 row(s)',
        '  kept 3 (BE 1, EQ 1, SM 1)',
        'BSE list of scrips: 1 file(s), 3 row(s)',
        '  kept 3 (A 1, B 1, T 1)',
        'NSE price bands (sec_list): 1 file(s), 5 row(s) [2025-12-16]',
        '  kept 4 (BE 1, EQ 2, SM 1)',
        '  left out 1: series N1 not imported 1',
        'skipped PR members (not used): 9 (an 1, bm 1, corpbond 1, etf 1, gl 1, hl 1, readme 1, sme 1, tt 1)',
        `ignored files: 1 (${path.join(folder, 'notes.txt')}: not .csv or .zip)`,
        'rejects: 0',
        '',
      ].join('\n'),
    );
  });

  it('--json prints the same summary as JSON', () => {
    const r = runCli(['data', 'import-exchange', folder, '--dry-run', '--json', '--series', 'EQ']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { files: number; skippedCount: number; rejectCount: number; kinds: { kind: string; kept: number; leftOutBy: Record<string, number> }[] };
    expect([s.files, s.skippedCount, s.rejectCount]).toEqual([9, 9, 0]);
    // --series EQ: the UDiFF's BE and SM rows are now left out too.
    expect(s.kinds.find((k) => k.kind === 'nse-udiff-cm')).toMatchObject({ kept: 1, leftOutBy: { 'series BE not imported': 1, 'series N1 not imported': 1, 'series SM not imported': 1 } });
  });

  it('--dry-run on a file with a renamed column: one line naming it and the columns, exit 7', () => {
    const p = path.join(mkdtempSync(path.join(tmp, 'cli-')), 'sec_list_16122025.csv');
    writeFileSync(p, readFileSync(fx('sec_list_16122025.csv'), 'utf8').replace('Band,', 'Price Band,'));
    const r = runCli(['data', 'import-exchange', folder, p, '--dry-run']);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('');
    expect(failureLine(r)).toBe(
      `stockflow: ${p}: looks like a NSE price bands (sec_list_DDMMYYYY.csv) but its columns differ: missing 'Band'; unexpected 'Price Band' (the exchange may have changed the format; nothing imported)`,
    );
  });

  it('without --dry-run it writes into the data directory\'s market.db (test/exchange-import.test.ts covers what)', () => {
    const dataDir = mkdtempSync(path.join(tmp, 'data-'));
    const r = runCli(['data', 'import-exchange', folder, '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`imported into ${path.join(dataDir, 'market.db')}`);
  });

  it('a path that does not exist is exit 3; rejects past --max-reject-rate are exit 6 after the summary', () => {
    const missing = path.join(tmp, 'nope');
    const r = runCli(['data', 'import-exchange', missing, '--dry-run']);
    expect(r.code).toBe(3);
    expect(failureLine(r)).toBe(`stockflow: no such file or folder: ${missing}`);
    const p = path.join(mkdtempSync(path.join(tmp, 'cli-')), 'sec_list_17122025.csv');
    writeFileSync(p, 'Symbol,Series,Security Name,Band,Remarks\nAAA,EQ,A Ltd,15,\nBBB,EQ,B Ltd,5,\n');
    const s = runCli(['data', 'import-exchange', p, '--dry-run']);
    expect(s.code).toBe(6);
    expect(s.stdout).toContain(`rejects: 1\n  ${p}:2: Band is 15, not 2, 5, 10, 20, 40 or No Band\n`);
    expect(failureLine(s)).toBe(`stockflow: ${p}: 1 of 2 rows rejected, more than --max-reject-rate 0.01`);
  });
});

describe('inputs', () => {
  it("a bh member without a date in its name takes the session date from its bundle's name (PRddmmyy.zip)", async () => {
    const dir = mkdtempSync(path.join(tmp, 'pr-'));
    const zip = path.join(dir, 'PR171225.zip');
    writeFileSync(zip, zipSync({ 'bh.csv': new Uint8Array(readFileSync(fx('pr-members/bh16122025.csv'))) }));
    const r = records(await all([zip]));
    expect(r.map((x) => (x.type === 'circuit-hit' ? x.tradeDate : null))).toEqual(['2025-12-17', '2025-12-17', '2025-12-17']);
    // With no date anywhere in the names, each row is a reject saying so (a bh file carries no date).
    const loose = renamed('pr-members/bh16122025.csv', 'hits.csv');
    const rejects = (await all([loose])).flatMap((e) => (e.type === 'reject' ? [e.reject.reason] : []));
    expect(rejects.length).toBe(3);
    expect(rejects[0]).toMatch(/^no session date: the file carries none and its name has none/);
  });

  it('a file named twice (alone and inside a folder given too) is read once; folders are walked in name order', async () => {
    const dir = mkdtempSync(path.join(tmp, 'f-'));
    mkdirSync(path.join(dir, 'b'));
    mkdirSync(path.join(dir, 'a'));
    copyFileSync(fx('EQUITY_L.csv'), path.join(dir, 'b', 'EQUITY_L.csv'));
    copyFileSync(fx('sec_list_16122025.csv'), path.join(dir, 'a', 'sec_list_16122025.csv'));
    copyFileSync(fx('List_of_scrips.csv'), path.join(dir, 'Z.csv'));
    const evs = await all([path.join(dir, 'b', 'EQUITY_L.csv'), dir]);
    expect(evs.flatMap((e) => (e.type === 'source' ? [path.relative(dir, e.source.file)] : []))).toEqual(['b/EQUITY_L.csv', 'Z.csv', 'a/sec_list_16122025.csv']);
  });

  it('a row with bytes that are not UTF-8 is a reject, not a mangled name', async () => {
    const dir = mkdtempSync(path.join(tmp, 'u8-'));
    const p = path.join(dir, 'EQUITY_L.csv');
    const bytes = Buffer.concat([readFileSync(fx('EQUITY_L.csv')), Buffer.from('CAFE,Caf'), Buffer.from([0xe9]), Buffer.from(' Limited,EQ,06-OCT-2008,10,1,INE000A01010,10\n')]);
    writeFileSync(p, bytes);
    const evs = await all([p]);
    expect(evs.flatMap((e) => (e.type === 'reject' ? [[e.reject.line, e.reject.reason]] : []))).toEqual([[5, 'not valid UTF-8']]);
  });
});
