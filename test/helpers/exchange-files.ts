/**
 * Writers of the exchanges' file formats for tests, byte-faithful to their quirks
 * (test/fixtures/exchange holds one hand-written file of each): CRLF line ends in the
 * BSE files, the NSE legacy header's trailing comma, the full bhavcopy's `, `, space-padded
 * PR mcap/pd values and padded BSE legacy names, each format's date spelling, PRddmmyy.zip bundles.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { zipSync } from 'fflate';
import { UDIFF_COLUMNS } from '../../src/ingest/exchange/kinds.js';

export interface Bar {
  open: number;
  high: number;
  low: number;
  close: number;
  prev?: number;
  volume: number;
}

const MON = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const parts = (d: string): [string, string, string] => d.split('-') as [string, string, string];
/** 01-JAN-2020 */
export const dMonYYYY = (d: string): string => {
  const [y, m, dd] = parts(d);
  return `${dd}-${MON[Number(m) - 1]}-${y}`;
};
/** 16-Dec-2025 */
export const dMonYYYYTitle = (d: string): string => {
  const [y, m, dd] = parts(d);
  const mon = MON[Number(m) - 1];
  return `${dd}-${mon[0]}${mon.slice(1).toLowerCase()}-${y}`;
};
/** 03-Jan-23 */
export const dMonYY = (d: string): string => dMonYYYYTitle(d).replace(/-(\d{2})(\d{2})$/, '-$2');
/** 16 DEC 2025 */
export const dSpaceMon = (d: string): string => dMonYYYY(d).replace(/-/g, ' ');
/** DDMMYYYY */
export const ddmmyyyy = (d: string): string => {
  const [y, m, dd] = parts(d);
  return `${dd}${m}${y}`;
};
/** DDMMYY */
export const ddmmyy = (d: string): string => ddmmyyyy(d).slice(0, 4) + d.slice(2, 4);
const f2 = (x: number): string => x.toFixed(2);

export interface NseRow extends Bar {
  symbol: string;
  series?: string;
  token?: string;
  isin: string;
  name?: string;
}

/** NSE UDiFF CM bhavcopy (LF line ends). */
export function nseUdiff(date: string, rows: readonly NseRow[]): string {
  const lines = [UDIFF_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(
      [date, date, 'CM', 'NSE', 'STK', r.token ?? '1000', r.isin, r.symbol, r.series ?? 'EQ', '', '', '', '', r.name ?? `${r.symbol} LTD`, f2(r.open), f2(r.high), f2(r.low), f2(r.close), f2(r.close), f2(r.prev ?? r.open), '', f2(r.close), '', '', String(r.volume), f2(r.volume * r.close), '100', 'F1', '1', '', '', '', '', ''].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

export interface BseRow extends Bar {
  code: string;
  scripId?: string;
  group?: string;
  isin: string;
  name?: string;
}

/** BSE UDiFF CM bhavcopy (CRLF line ends). */
export function bseUdiff(date: string, rows: readonly BseRow[]): string {
  const lines = [UDIFF_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(
      [date, date, 'CM', 'BSE', 'STK', r.code, r.isin, r.scripId ?? `S${r.code}`, r.group ?? 'A', '', '', '', '', r.name ?? `SCRIP ${r.code} LTD.`, f2(r.open), f2(r.high), f2(r.low), f2(r.close), f2(r.close), f2(r.prev ?? r.open), '', f2(r.close), '', '', String(r.volume), f2(r.volume * r.close), '10', 'F1', '1', '', '', '', '', ''].join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** NSE legacy bhavcopy: the header (and every row) ends with a comma. */
export function nseLegacy(date: string, rows: readonly NseRow[]): string {
  const lines = ['SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,'];
  for (const r of rows) lines.push(`${r.symbol},${r.series ?? 'EQ'},${r.open},${r.high},${r.low},${r.close},${r.close},${r.prev ?? r.open},${r.volume},${(r.volume * r.close).toFixed(2)},${dMonYYYY(date)},50,${r.isin},`);
  return `${lines.join('\n')}\n`;
}

/** BSE legacy EQ_ISINCODE bhavcopy: padded names and groups, CRLF. */
export function bseLegacy(date: string, rows: readonly BseRow[]): string {
  const lines = ['SC_CODE,SC_NAME,SC_GROUP,SC_TYPE,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,NO_TRADES,NO_OF_SHRS,NET_TURNOV,TDCLOINDI,ISIN_CODE,TRADING_DATE,FILLER2,FILLER3'];
  for (const r of rows) {
    lines.push(`${r.code},${(r.name ?? `SCRIP ${r.code}`).padEnd(12)},${(r.group ?? 'A').padEnd(2)},Q,${f2(r.open)},${f2(r.high)},${f2(r.low)},${f2(r.close)},${f2(r.close)},${f2(r.prev ?? r.open)},10,${r.volume},${(r.volume * r.close).toFixed(2)},,${r.isin},${dMonYY(date)},,`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

export interface FullRow extends Bar {
  symbol: string;
  series?: string;
  deliveryQty: number | null;
  deliveryPct: number | null;
}

/** NSE full bhavcopy with deliveries: a space after every comma. */
export function fullBhav(date: string, rows: readonly FullRow[]): string {
  const lines = ['SYMBOL, SERIES, DATE1, PREV_CLOSE, OPEN_PRICE, HIGH_PRICE, LOW_PRICE, LAST_PRICE, CLOSE_PRICE, AVG_PRICE, TTL_TRD_QNTY, TURNOVER_LACS, NO_OF_TRADES, DELIV_QTY, DELIV_PER'];
  for (const r of rows) {
    lines.push(
      [r.symbol, r.series ?? 'EQ', dMonYYYYTitle(date), f2(r.prev ?? r.open), f2(r.open), f2(r.high), f2(r.low), f2(r.close), f2(r.close), f2(r.close), r.volume, ((r.volume * r.close) / 1e5).toFixed(2), 10, r.deliveryQty ?? '-', r.deliveryPct === null ? '-' : f2(r.deliveryPct)].join(', '),
    );
  }
  return `${lines.join('\n')}\n`;
}

export interface PrBundle {
  /** bh rows: symbol, series, side H/L. `[]` writes an empty bh file (header only). */
  bh?: readonly { symbol: string; series?: string; hl: 'H' | 'L' }[];
  /** bc rows. */
  bc?: readonly { symbol: string; series?: string; exDate: string | null; purpose: string }[];
  /** mcap rows: market cap in rupees. */
  mcap?: readonly { symbol: string; series?: string; capRs: number; close: number }[];
  /** pd rows (two index rows come first). */
  pd?: readonly (Bar & { symbol: string; series?: string })[];
}

/** NSE PR bundle: PRddmmyy.zip with bhDDMMYYYY.csv, bcDDMMYYYY.csv, mcapDDMMYYYY.csv, pdDDMMYYYY.csv (and an unused member). */
export function prZip(date: string, b: PrBundle): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  const D = ddmmyyyy(date);
  if (b.bh) files[`bh${D}.csv`] = enc(`SYMBOL,SERIES,SECURITY,HIGH/LOW\n${b.bh.map((r) => `${r.symbol},${r.series ?? 'EQ'},${r.symbol} LIMITED,${r.hl}\n`).join('')}`);
  if (b.bc) {
    files[`bc${D}.csv`] = enc(
      `SERIES,SYMBOL,SECURITY,RECORD_DT,BC_STRT_DT,BC_END_DT,EX_DT,ND_STRT_DT,ND_END_DT,PURPOSE\n${b.bc
        .map((r) => `${r.series ?? 'EQ'},${r.symbol},${r.symbol} LIMITED,${r.exDate ? dMonYYYYTitle(r.exDate) : ''},,,${r.exDate ? dMonYYYYTitle(r.exDate) : ''},,,${r.purpose}\n`)
        .join('')}`,
    );
  }
  if (b.mcap) {
    files[`mcap${D}.csv`] = enc(
      `Trade Date,Symbol,Series,Security Name,Category,Last Trade Date,Face Value(Rs.),Issue Size,Close Price/Paid up value(Rs.),Market Cap(Rs.)\n${b.mcap
        .map((r) => `${dSpaceMon(date)},${r.symbol.padEnd(10)},${r.series ?? 'EQ'},${`${r.symbol} LTD`.padEnd(30)},Listed,${dSpaceMon(date)},${'10.00'.padStart(10)},${String(Math.round(r.capRs / r.close)).padStart(13)},${f2(r.close).padStart(10)},${r.capRs.toFixed(2).padStart(18)}\n`)
        .join('')}`,
    );
  }
  if (b.pd) {
    const idx = (n: string): string => `Y, , ,${n},  26027.30,  26012.10,  26047.15,  25925.45,  25960.55,  293456789012.34,  345678901,Y, ,       ,  26325.80,  21743.65\n`;
    files[`pd${D}.csv`] = enc(
      `MKT,SERIES,SYMBOL,SECURITY,PREV_CL_PR,OPEN_PRICE,HIGH_PRICE,LOW_PRICE,CLOSE_PRICE,NET_TRDVAL,NET_TRDQTY,IND_SEC,CORP_IND,TRADES,HI_52_WK,LO_52_WK\n${idx('Nifty 50')}${idx('Nifty Bank')}${b.pd
        .map((r) => `N,${r.series ?? 'EQ'},${r.symbol},${r.symbol} LTD,${f2(r.prev ?? r.open).padStart(10)},${f2(r.open).padStart(10)},${f2(r.high).padStart(10)},${f2(r.low).padStart(10)},${f2(r.close).padStart(10)},${(r.volume * r.close).toFixed(2).padStart(16)},${String(r.volume).padStart(10)},N, ,${'12'.padStart(7)},${f2(r.high).padStart(10)},${f2(r.low).padStart(10)}\n`)
        .join('')}`,
    );
  }
  files[`Gl${ddmmyy(date)}.csv`] = enc('GAIN_LOSS,SECURITY,CLOSE_PRIC,PREV_CL_PR,PERCENT_CG\nG,ABC LIMITED,110.00,100.00,10.00\n');
  return zipSync(files);
}

/** NSE price bands; `date` null writes the undated sec_list.csv name (the caller chooses the name). */
export function secList(rows: readonly { symbol: string; series?: string; band: string; remarks?: string }[]): string {
  return `Symbol,Series,Security Name,Band,Remarks\n${rows.map((r) => `${r.symbol},${r.series ?? 'EQ'},${r.symbol} Limited,${r.band},${r.remarks ?? ''}\n`).join('')}`;
}

/** NSE EQUITY_L.csv: leading spaces in the header. */
export function equityL(rows: readonly { symbol: string; name: string; series?: string; listedOn: string; isin: string }[]): string {
  return `SYMBOL,NAME OF COMPANY, SERIES, DATE OF LISTING, PAID UP VALUE, MARKET LOT, ISIN NUMBER, FACE VALUE\n${rows
    .map((r) => `${r.symbol},${r.name},${r.series ?? 'EQ'},${dMonYYYY(r.listedOn)},10,1,${r.isin},10\n`)
    .join('')}`;
}

/** BSE list of scrips: CRLF, trailing empty columns, padded group. */
export function bseScrips(rows: readonly { code: string; scripId: string; name: string; status?: string; group?: string; isin: string; industry?: string }[]): string {
  const header = 'Security Code,Issuer Name,Security Id,Security Name,Status,Group,Face Value,ISIN No,Industry,Instrument,,';
  return `${[header, ...rows.map((r) => `${r.code},${r.name},${r.scripId},${r.name.toUpperCase()},${r.status ?? 'Active'},${(r.group ?? 'A').padEnd(2)},10.00,${r.isin},${r.industry ?? ''},Equity,,`)].join('\r\n')}\r\n`;
}

/** stockflow's own corporate actions CSV. */
export function actionsCsv(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  return `${[columns.join(','), ...rows.map((r) => r.join(','))].join('\n')}\n`;
}

/** Writes `files` (relative name → text or bytes) under `dir`. */
export function writeTree(dir: string, files: Record<string, string | Uint8Array>): string {
  for (const [rel, body] of Object.entries(files)) {
    const p = path.join(dir, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, body);
  }
  return dir;
}

/** A bar around `close` that passes the parsers' checks. */
export function barAt(close: number, volume = 1000, prev?: number): Bar {
  const open = prev ?? close;
  return { open, high: Math.max(open, close) * 1.01, low: Math.min(open, close) * 0.99, close, prev: prev ?? close, volume };
}
