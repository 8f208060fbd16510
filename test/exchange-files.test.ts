/**
 * The year-of-files generator (src/demo/exchange-files.ts, #12's benchmark input): every file it writes is
 * detected as its kind by the importer's own detector and read with no rejects; the same seed gives the same
 * bytes; the contents hold together (bh lists exactly the closes at their band limit, checked with
 * src/market/circuit.ts; a split or bonus divides the previous close on its ex-date; dual-listed, NSE-only and
 * BSE-only securities; No Band stocks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateExchangeFiles, isinOf, type ExchangeFilesSummary } from '../src/demo/exchange-files.js';
import { readExchange, type ExchangeEvent } from '../src/ingest/exchange/read.js';
import type { ExchangeKind, PriceBar } from '../src/ingest/exchange/types.js';
import { isUpperCircuit } from '../src/market/circuit.js';
import { parseExchangeFilesArgs } from '../src/bench/exchange-files.js';

let tmp: string;
let a: string;
let sum: ExchangeFilesSummary;
let events: ExchangeEvent[];
const OPTS = { stocks: 60, sessions: 12, seed: 5, end: '2025-12-16' };

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((e) => (statSync(path.join(dir, e)).isDirectory() ? walk(path.join(dir, e)).map((f) => path.join(e, f)) : [e]));
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sf-exfiles-'));
  a = path.join(tmp, 'a');
  sum = generateExchangeFiles({ out: a, ...OPTS });
  events = [];
  for await (const ev of readExchange([a])) events.push(ev);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('generated exchange files', () => {
  it('writes one file set per session in the exchange layout, plus the two masters', () => {
    const files = walk(a);
    expect(sum.sessions).toHaveLength(12);
    expect(sum.sessions[11]).toBe('2025-12-16');
    expect(files).toContain('2025/12/16/BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv.zip');
    expect(files).toContain('2025/12/16/BhavCopy_BSE_CM_0_0_0_20251216_F_0000.CSV');
    expect(files).toContain('2025/12/16/PR161225.zip');
    expect(files).toContain('2025/12/16/sec_bhavdata_full_16122025.csv');
    expect(files).toContain('2025/12/16/sec_list_16122025.csv');
    expect(files).toContain('masters/EQUITY_L.csv');
    expect(files).toContain('masters/List_of_scrips.csv');
    expect(files).toHaveLength(12 * 5 + 2);
    expect(sum.files).toBe(files.length);
  });

  it('every file and member is detected as its kind and read with no rejects', () => {
    const kinds = new Map<string, ExchangeKind>();
    for (const e of events) if (e.type === 'source') kinds.set(e.source.member ?? path.basename(e.source.file), e.kind);
    expect(kinds.get('BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv')).toBe('nse-udiff-cm');
    expect(kinds.get('BhavCopy_BSE_CM_0_0_0_20251216_F_0000.CSV')).toBe('bse-udiff-cm');
    expect(kinds.get('sec_bhavdata_full_16122025.csv')).toBe('nse-full-bhavcopy');
    expect(kinds.get('sec_list_16122025.csv')).toBe('nse-price-bands');
    expect(kinds.get('pd16122025.csv')).toBe('nse-pr-pd');
    expect(kinds.get('bh16122025.csv')).toBe('nse-pr-bh');
    expect(kinds.get('bc16122025.csv')).toBe('nse-pr-bc');
    expect(kinds.get('mcap16122025.csv')).toBe('nse-pr-mcap');
    expect(kinds.get('EQUITY_L.csv')).toBe('nse-equity-list');
    expect(kinds.get('List_of_scrips.csv')).toBe('bse-scrips');
    expect(events.filter((e) => e.type === 'source')).toHaveLength(12 * 8 + 2);
    expect(events.filter((e) => e.type === 'reject')).toEqual([]);
    // Two skipped members per bundle (Readme.txt, glddmmyy.csv); the pd index rows and the gold bonds are left out, nothing else.
    expect(events.filter((e) => e.type === 'skipped')).toHaveLength(24);
    const leftOut = new Set(events.flatMap((e) => (e.type === 'left-out' ? [e.reason] : [])));
    expect([...leftOut].sort()).toEqual(['index row (no symbol)', 'series GB not imported']);
  });

  it('is byte-identical for the same seed and different for another', () => {
    const b = path.join(tmp, 'b');
    generateExchangeFiles({ out: b, ...OPTS });
    const files = walk(a);
    expect(walk(b)).toEqual(files);
    for (const f of files) expect(readFileSync(path.join(b, f)).equals(readFileSync(path.join(a, f))), f).toBe(true);
    const c = path.join(tmp, 'c');
    generateExchangeFiles({ out: c, ...OPTS, seed: 6 });
    const f = '2025/12/16/BhavCopy_BSE_CM_0_0_0_20251216_F_0000.CSV';
    expect(readFileSync(path.join(c, f)).equals(readFileSync(path.join(a, f)))).toBe(false);
  });

  it('--only writes a subset whose files are the same bytes as in the whole set', () => {
    const d = path.join(tmp, 'only');
    generateExchangeFiles({ out: d, ...OPTS, only: ['bse-udiff', 'masters'] });
    const f = '2025/12/16/BhavCopy_BSE_CM_0_0_0_20251216_F_0000.CSV';
    expect(walk(d)).toHaveLength(12 + 2);
    expect(readFileSync(path.join(d, f)).equals(readFileSync(path.join(a, f)))).toBe(true);
    expect(readFileSync(path.join(d, 'masters/EQUITY_L.csv')).equals(readFileSync(path.join(a, 'masters/EQUITY_L.csv')))).toBe(true);
    expect(() => parseExchangeFilesArgs(['--out', 'x', '--only', 'pr,bhav'])).toThrow("--only takes a list of nse-udiff, bse-udiff, pr, full, sec-list, masters (got 'pr,bhav')");
  });

  it('keeps each format\'s quirks', () => {
    const bse = readFileSync(path.join(a, '2025/12/16/BhavCopy_BSE_CM_0_0_0_20251216_F_0000.CSV'), 'utf8');
    expect(bse.split('\r\n')[1]).toMatch(/^2025-12-16,2025-12-16,CM,BSE,STK,\d{6},IN/);
    const full = readFileSync(path.join(a, '2025/12/16/sec_bhavdata_full_16122025.csv'), 'utf8').split('\n');
    expect(full[0]).toBe('SYMBOL, SERIES, DATE1, PREV_CLOSE, OPEN_PRICE, HIGH_PRICE, LOW_PRICE, LAST_PRICE, CLOSE_PRICE, AVG_PRICE, TTL_TRD_QNTY, TURNOVER_LACS, NO_OF_TRADES, DELIV_QTY, DELIV_PER');
    expect(full[1]).toContain(', 16-Dec-2025, ');
    expect(full.some((l) => l.endsWith(', -, -'))).toBe(true);
    const eq = readFileSync(path.join(a, 'masters/EQUITY_L.csv'), 'utf8').split('\n');
    expect(eq[0]).toBe('SYMBOL,NAME OF COMPANY, SERIES, DATE OF LISTING, PAID UP VALUE, MARKET LOT, ISIN NUMBER, FACE VALUE');
    expect(eq[1]).toMatch(/,\d{2}-[A-Z]{3}-\d{4},/);
    const scrips = readFileSync(path.join(a, 'masters/List_of_scrips.csv'), 'utf8');
    expect(scrips.split('\r\n')[0].endsWith(',,')).toBe(true);
    // ISIN check digits are the real ones: Reliance's.
    expect(isinOf('INE002A0101')).toBe('INE002A01018');
  });

  it('lists in bh exactly the NSE closes at their band limit, with the band of the previous sec_list', () => {
    const bars = new Map<string, PriceBar>(); // date|symbol → bar
    const bands = new Map<string, number | null>(); // listDate|symbol → band for the next session
    const hits = new Set<string>();
    for (const e of events) {
      if (e.type !== 'record') continue;
      const r = e.record;
      if (r.type === 'price' && r.kind === 'nse-udiff-cm') bars.set(`${r.tradeDate}|${r.symbol}`, r);
      if (r.type === 'price-band') bands.set(`${r.listDate}|${r.symbol}`, r.bandPct);
      if (r.type === 'circuit-hit') hits.add(`${r.tradeDate}|${r.symbol}|${r.side}`);
    }
    let checked = 0;
    let upper = 0;
    for (let k = 1; k < sum.sessions.length; k++) {
      const d = sum.sessions[k];
      for (const [key, b] of bars) {
        if (!key.startsWith(`${d}|`)) continue;
        const band = bands.get(`${sum.sessions[k - 1]}|${b.symbol}`);
        if (band === undefined || band === null || b.prevClose === null) continue;
        checked++;
        const uc = isUpperCircuit(b.prevClose, b.close, band);
        if (uc) upper++;
        expect(hits.has(`${d}|${b.symbol}|upper`), `${d} ${b.symbol}`).toBe(uc);
      }
    }
    expect(checked).toBeGreaterThan(300);
    expect(upper).toBeGreaterThan(0);
    expect(bands.size).toBeGreaterThan(0);
    expect([...bands.values()]).toContain(null); // some No Band stocks
  });

  it('divides the previous close on a split or bonus ex-date, and lists the action in bc first', () => {
    const actions = events.flatMap((e) => (e.type === 'record' && e.record.type === 'corporate-action' ? [e.record] : []));
    const adjusting = actions.filter((x) => x.parsed.factor !== 1);
    expect(adjusting.length).toBeGreaterThan(0);
    const close = new Map<string, number>();
    const prev = new Map<string, number>();
    for (const e of events) {
      if (e.type === 'record' && e.record.type === 'price' && e.record.kind === 'nse-udiff-cm') {
        close.set(`${e.record.tradeDate}|${e.record.symbol}`, e.record.close);
        prev.set(`${e.record.tradeDate}|${e.record.symbol}`, e.record.prevClose as number);
      }
    }
    const seen = new Set<string>();
    for (const x of adjusting) {
      if (seen.has(x.symbol)) continue;
      seen.add(x.symbol);
      const factor = x.parsed.factor;
      const k = sum.sessions.indexOf(x.exDate as string);
      expect(k).toBeGreaterThan(0);
      const before = close.get(`${sum.sessions[k - 1]}|${x.symbol}`) as number;
      expect(Math.abs(prev.get(`${x.exDate}|${x.symbol}`)! - before / factor)).toBeLessThanOrEqual(0.03);
    }
  });

  it('has dual-listed, NSE-only and BSE-only securities (by ISIN)', () => {
    const nse = new Set<string>();
    const bse = new Set<string>();
    for (const e of events) {
      if (e.type === 'record' && e.record.type === 'price' && e.record.isin) (e.record.exchange === 'NSE' ? nse : bse).add(e.record.isin);
    }
    const both = [...nse].filter((i) => bse.has(i));
    expect(both.length).toBeGreaterThan(20);
    expect([...nse].filter((i) => !bse.has(i)).length).toBeGreaterThan(5);
    expect([...bse].filter((i) => !nse.has(i)).length).toBeGreaterThan(5);
  });

  it('parses its flags and refuses bad ones', () => {
    expect(parseExchangeFilesArgs(['--out', 'x', '--stocks', '10', '--sessions', '3', '--seed', '9'])).toMatchObject({ out: 'x', stocks: 10, sessions: 3, seed: 9 });
    expect(() => parseExchangeFilesArgs(['--stocks', '10'])).toThrow('--out DIR is required');
    expect(() => parseExchangeFilesArgs(['--out', 'x', '--stocks', 'ten'])).toThrow('--stocks must be a whole number');
  });
});
