/**
 * A deterministic "year of exchange files" in the exchanges' real formats (#12's benchmark input,
 * #13's fixtures): one file set per trading session, written under `<out>/YYYY/MM/DD/` (the layout
 * `stockflow data fetch` keeps under `<data-dir>/raw/`), and the two masters once under `<out>/masters/`.
 *
 * Per session D (docs/exchange-files.md has each format):
 * - `BhavCopy_NSE_CM_0_0_0_YYYYMMDD_F_0000.csv.zip`: the NSE UDiFF CM bhavcopy, zipped, LF lines;
 * - `BhavCopy_BSE_CM_0_0_0_YYYYMMDD_F_0000.CSV`: the BSE UDiFF CM bhavcopy, plain, CRLF lines;
 * - `PRddmmyy.zip`: `pdDDMMYYYY.csv` (index rows first, padded numbers), `bhDDMMYYYY.csv` (the band hits,
 *   exactly the closes at their band limit), `bcDDMMYYYY.csv` (actions whose ex-date is within the next three
 *   sessions, so an action is listed in up to three bundles, as the exchange does), `mcapDDMMYYYY.csv`
 *   (space-padded, `16 DEC 2025` dates), and two members stockflow skips (`Readme.txt`, `glddmmyy.csv`);
 * - `sec_bhavdata_full_DDMMYYYY.csv`: ", " separators, `16-Dec-2025`, `-` deliveries for bond series;
 * - `sec_list_DDMMYYYY.csv`: the bands in force from the next session (`No Band` for derivative stocks,
 *   `GSM STAGE - 0` remarks for a few).
 * Once: `masters/EQUITY_L.csv` (leading spaces in the header, `06-OCT-2008`) and `masters/List_of_scrips.csv`
 * (CRLF, trailing empty columns, padded groups), both as of the last session.
 *
 * The universe: `stocks` NSE securities (¾ dual-listed, ¼ NSE-only with SME series SM/ST among them) plus as
 * many BSE-only scrips as NSE-only ones, so each exchange's bhavcopy has ≈ `stocks` equity rows; a few NSE
 * gold-bond rows (series GB) that the importer leaves out. Prices move on integer paise in ₹0.05 ticks; a
 * banded stock's close is held at its band limit (src/market/circuit.ts) and listed in bh; splits (with a new
 * ISIN, as a sub-division brings) and bonuses divide the previous close on the ex-date, as the exchange does.
 * Same options → byte-identical files (zip entries carry a fixed time).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import { addDays, isWeekend, type IsoDate } from '../market/dates.js';
import { lowerCircuitPrice, upperCircuitPrice } from '../market/circuit.js';
import { nseHolidaysBetween } from './holidays.js';
import { Rng } from './random.js';
import { SECTORS, companyName, pickSector, symbolCandidates } from './names.js';

export interface ExchangeFilesOptions {
  /** Folder to write into (created). */
  out: string;
  /** NSE securities (each exchange's bhavcopy has about this many equity rows). */
  stocks: number;
  /** Trading sessions, ending at `end`. */
  sessions: number;
  seed: number;
  /** The last session (default 2025-12-31, or the trading day before it). */
  end?: IsoDate;
  onSession?: (done: number, total: number) => void;
  /** Write only these files (default all); the contents do not depend on which are written. */
  only?: readonly ExchangeFileSet[];
}

export type ExchangeFileSet = 'nse-udiff' | 'bse-udiff' | 'pr' | 'full' | 'sec-list' | 'masters';
export const EXCHANGE_FILE_SETS: readonly ExchangeFileSet[] = ['nse-udiff', 'bse-udiff', 'pr', 'full', 'sec-list', 'masters'];

export interface ExchangeFilesSummary {
  out: string;
  sessions: IsoDate[];
  files: number;
  bytes: number;
  nseRows: number;
  bseRows: number;
  hits: number;
  actions: number;
  ms: number;
}

export const EXCHANGE_FILES_DEFAULTS = { stocks: 4000, sessions: 250, seed: 1, end: '2025-12-31' } as const;

const MON = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const Mon = MON.map((m) => m[0] + m.slice(1).toLowerCase());
const parts = (d: IsoDate): [string, string, string] => [d.slice(0, 4), d.slice(5, 7), d.slice(8, 10)];
/** 16122025 */
export const ddmmyyyy = (d: IsoDate): string => { const [y, m, dd] = parts(d); return `${dd}${m}${y}`; };
/** 161225 */
export const ddmmyy = (d: IsoDate): string => { const [y, m, dd] = parts(d); return `${dd}${m}${y.slice(2)}`; };
/** 20251216 */
export const yyyymmdd = (d: IsoDate): string => d.replace(/-/g, '');
/** 16-Dec-2025 */
const dMonY = (d: IsoDate): string => { const [y, m, dd] = parts(d); return `${dd}-${Mon[Number(m) - 1]}-${y}`; };
/** 16 DEC 2025 */
const dMONY = (d: IsoDate): string => { const [y, m, dd] = parts(d); return `${dd} ${MON[Number(m) - 1]} ${y}`; };
/** 06-OCT-2008 */
const dMONYdash = (d: IsoDate): string => { const [y, m, dd] = parts(d); return `${dd}-${MON[Number(m) - 1]}-${y}`; };

/** The names the exchanges give one session's files. */
export const sessionFileNames = (d: IsoDate): Record<'nseUdiff' | 'bseUdiff' | 'pr' | 'full' | 'secList', string> => ({
  nseUdiff: `BhavCopy_NSE_CM_0_0_0_${yyyymmdd(d)}_F_0000.csv.zip`,
  bseUdiff: `BhavCopy_BSE_CM_0_0_0_${yyyymmdd(d)}_F_0000.CSV`,
  pr: `PR${ddmmyy(d)}.zip`,
  full: `sec_bhavdata_full_${ddmmyyyy(d)}.csv`,
  secList: `sec_list_${ddmmyyyy(d)}.csv`,
});

const rs = (paise: number): string => (paise / 100).toFixed(2);
const rsBig = (paise: bigint): string => `${paise / 100n}.${String(paise % 100n).padStart(2, '0')}`;
const padL = (s: string, n: number): string => s.padStart(n, ' ');
const padR = (s: string, n: number): string => s.padEnd(n, ' ');

/** An ISIN with its real check digit (letters → numbers, Luhn over the digits). */
export function isinOf(body11: string): string {
  const digits = [...body11].map((c) => (c >= 'A' && c <= 'Z' ? String(c.charCodeAt(0) - 55) : c)).join('');
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let v = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return `${body11}${(10 - (sum % 10)) % 10}`;
}

const TICK_PAISE = 5;
const toTick = (p: number): number => Math.max(TICK_PAISE, Math.round(p / TICK_PAISE) * TICK_PAISE);
const BANDS = [2, 5, 10, 20] as const;

interface Action {
  exIndex: number;
  purpose: string;
  /** Prices before the ex-date ÷ factor (1 for dividends). */
  factor: number;
  split: boolean;
  newFace?: number;
}

interface Sec {
  i: number;
  name: string;
  symbol: string;
  nse: boolean;
  bse: boolean;
  nseSeries: string;
  bseGroup: string;
  bseCode: string;
  token: string;
  isinBody: string;
  isinSerial: number;
  face: number;
  shares: bigint;
  listed: IsoDate;
  band: number | null;
  nextBand: number | null;
  gsm: boolean;
  vol: number;
  close: number;
  bseClose: number;
  hi52: number;
  lo52: number;
  action: Action | null;
  rng: Rng;
}

const isinNow = (s: Sec): string => isinOf(`${s.isinBody}${String(s.isinSerial).padStart(2, '0')}`);

function tradingDays(end: IsoDate, n: number): IsoDate[] {
  const y = Number(end.slice(0, 4));
  const hol = new Set(nseHolidaysBetween(y - Math.ceil(n / 240) - 1, y).map((h) => h.date));
  const out: IsoDate[] = [];
  for (let d = end; out.length < n; d = addDays(d, -1)) if (!isWeekend(d) && !hol.has(d)) out.push(d);
  return out.reverse();
}

const alnum = (rng: Rng, n: number): string => {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let s = '';
  for (let k = 0; k < n; k++) s += A[rng.int(0, A.length - 1)];
  return s;
};

function universe(o: ExchangeFilesOptions, sessions: IsoDate[]): { secs: Sec[]; bonds: Sec[] } {
  const rng = new Rng(o.seed, 0x5ec);
  const dual = Math.round(o.stocks * 0.75);
  const nseOnly = o.stocks - dual;
  const total = o.stocks + nseOnly; // + BSE-only
  const usedSym = new Set<string>();
  const secs: Sec[] = [];
  const mk = (i: number, nse: boolean, bse: boolean, bond = false): Sec => {
    const sector = SECTORS[pickSector(rng)];
    const np = companyName(rng, sector);
    let symbol = bond ? `SGBJ${String(i).padStart(4, '0')}` : (symbolCandidates(np).find((c) => !usedSym.has(c)) ?? '');
    for (let k = 2; symbol === '' || usedSym.has(symbol); k++) symbol = `${np.root.slice(0, 7)}${k}`;
    usedSym.add(symbol);
    const sme = nse && !bse && !bond && rng.chance(0.6);
    const nseSeries = bond ? 'GB' : sme ? (rng.chance(0.7) ? 'SM' : 'ST') : rng.weighted([90, 7, 3]) === 0 ? 'EQ' : rng.chance(0.7) ? 'BE' : 'BZ';
    const bseGroup = ['A', 'B', 'T', 'X', 'M', 'XT'][rng.weighted([10, 40, 15, 25, 5, 5])];
    const fno = nseSeries === 'EQ' && bse && rng.chance(0.06);
    const band = fno ? null : sme ? 5 : nseSeries === 'BE' || nseSeries === 'BZ' ? (rng.chance(0.5) ? 5 : 2) : BANDS[rng.weighted([5, 35, 30, 30])];
    const face = [1, 2, 5, 10][rng.weighted([20, 15, 15, 50])];
    const close = toTick(Math.min(2_000_000, Math.max(1000, Math.exp(rng.normal() * 1.1 + 5.3) * 100)));
    const listedDay = addDays(sessions[0], -rng.int(60, 9000));
    return {
      i,
      name: bond ? `SGB ${2016 + (i % 9)} SERIES ${i}` : np.name,
      symbol,
      nse,
      bse,
      nseSeries,
      bseGroup,
      bseCode: String(500000 + i * 3 + rng.int(0, 2)),
      token: String(1000 + i * 7 + rng.int(0, 6)),
      isinBody: `${bond ? 'IN0020' : 'INE'}${alnum(rng, bond ? 3 : 6)}`,
      isinSerial: 1,
      face,
      shares: BigInt(rng.int(1, 900)) * 1_000_000n + BigInt(rng.int(0, 999_999)),
      listed: listedDay,
      band,
      nextBand: band,
      gsm: band !== null && rng.chance(0.02),
      // Daily volatility: narrower for the narrow bands, so about 2% of banded stocks end a session at a limit.
      vol: (0.006 + rng.float() * 0.014) * (band === 2 ? 0.5 : 1),
      close,
      bseClose: close,
      hi52: close,
      lo52: close,
      action: null,
      rng: new Rng(o.seed, 0x9e1, i),
    };
  };
  for (let i = 0; i < total; i++) secs.push(mk(i, i < o.stocks, i < dual || i >= o.stocks));
  // The ISIN body must be unique (alnum collisions are unlikely but possible).
  const seenIsin = new Set<string>();
  for (const s of secs) {
    while (seenIsin.has(s.isinBody)) s.isinBody = `INE${alnum(rng, 6)}`;
    seenIsin.add(s.isinBody);
  }
  const bonds: Sec[] = [];
  for (let k = 0; k < Math.max(1, Math.floor(o.stocks / 200)); k++) bonds.push(mk(total + k, true, false, true));

  // Corporate actions: about one stock in a hundred gets a split or a bonus (a few more get dividends),
  // with the ex-date at least 5 sessions in, so the bc rows announcing it are in the files.
  const eligible = secs.filter((s) => s.nse && ['EQ', 'BE', 'SM'].includes(s.nseSeries));
  const n = Math.min(eligible.length, Math.max(2, Math.round(o.stocks / 100)));
  const picked = rng.shuffle(eligible.slice()).slice(0, n + Math.ceil(n / 2));
  if (sessions.length >= 6) {
    picked.forEach((s, k) => {
      const exIndex = rng.int(5, sessions.length - 1);
      if (k >= n) {
        s.action = { exIndex, purpose: `INTDIV - RS ${rng.int(1, 20)} PER SH`, factor: 1, split: false };
      } else if (k % 2 === 0 && s.face > 1) {
        const to = s.face === 10 ? rng.pick([5, 2, 1]) : s.face === 5 ? 1 : 1;
        s.action = { exIndex, purpose: `FVSPLT FRM RS ${s.face} TO RS ${to}`, factor: s.face / to, split: true, newFace: to };
      } else {
        const [a, b] = rng.pick([[1, 1], [1, 2], [2, 1], [3, 2]] as const);
        s.action = { exIndex, purpose: `BONUS ${a}:${b}`, factor: (a + b) / b, split: false };
      }
    });
  }
  return { secs, bonds };
}

interface Bar {
  prev: number;
  open: number;
  high: number;
  low: number;
  close: number;
  last: number;
  volume: number;
  trades: number;
  turnoverPaise: number;
  hit: 'H' | 'L' | null;
}

/** One session's bar for a security from its previous (adjusted) close and its band. */
function nseBar(s: Sec, prevAdj: number, band: number | null): Bar {
  const r = s.rng;
  let ret = r.normal() * s.vol;
  if (r.chance(0.008)) ret += (r.chance(0.6) ? 1 : -1) * r.uniform(0.05, 0.3);
  const uc = band === null ? Infinity : Math.round(upperCircuitPrice(prevAdj / 100, band) * 100);
  const lc = band === null ? TICK_PAISE : Math.max(TICK_PAISE, Math.round(lowerCircuitPrice(prevAdj / 100, band) * 100));
  const limit = (p: number): number => Math.min(uc, Math.max(lc, p));
  let close = limit(toTick(prevAdj * Math.exp(Math.max(-0.2, Math.min(0.2, ret)))));
  let hit: Bar['hit'] = null;
  if (band !== null && uc > prevAdj && close >= uc) {
    close = uc;
    hit = 'H';
  } else if (band !== null && lc < prevAdj && close <= lc) {
    close = lc;
    hit = 'L';
  }
  const open = limit(toTick(prevAdj * Math.exp(r.normal() * s.vol * 0.4)));
  const high = hit === 'H' ? uc : limit(toTick(Math.max(open, close) * (1 + Math.abs(r.normal()) * s.vol * 0.5)));
  const low = hit === 'L' ? lc : limit(toTick(Math.min(open, close) * (1 - Math.abs(r.normal()) * s.vol * 0.5)));
  const hi = Math.max(high, open, close);
  const lo = Math.min(low, open, close);
  const last = hit ? close : Math.min(hi, Math.max(lo, close + TICK_PAISE * r.int(-1, 1)));
  const volume = Math.max(1, Math.round(Math.exp(r.normal() * 0.8 + 9) * (hit ? 2 : 1)));
  const avg = Math.round((hi + lo + close) / 3);
  return { prev: prevAdj, open, high: hi, low: lo, close, last, volume, trades: Math.max(1, Math.round(volume / r.int(20, 200))), turnoverPaise: volume * avg, hit };
}

/** The BSE bar of a dual-listed stock: NSE's prices a tick apart, its own volume. */
function bseBarFrom(s: Sec, b: Bar, prevBse: number): Bar {
  const r = s.rng;
  const j = (p: number): number => Math.max(TICK_PAISE, p + TICK_PAISE * r.int(-1, 1));
  const open = j(b.open);
  const close = j(b.close);
  const high = Math.max(j(b.high), open, close);
  const low = Math.min(j(b.low), open, close);
  const volume = Math.max(1, Math.round(b.volume * r.uniform(0.05, 0.2)));
  return { prev: prevBse, open, high, low, close, last: close, volume, trades: Math.max(1, Math.round(volume / r.int(20, 200))), turnoverPaise: volume * Math.round((high + low + close) / 3), hit: null };
}

const UDIFF_HEADER =
  'TradDt,BizDt,Sgmt,Src,FinInstrmTp,FinInstrmId,ISIN,TckrSymb,SctySrs,XpryDt,FininstrmActlXpryDt,StrkPric,OptnTp,FinInstrmNm,OpnPric,HghPric,LwPric,ClsPric,LastPric,PrvsClsgPric,UndrlygPric,SttlmPric,OpnIntrst,ChngInOpnIntrst,TtlTradgVol,TtlTrfVal,TtlNbOfTxsExctd,SsnId,NewBrdLotQty,Rmks,Rsvd1,Rsvd2,Rsvd3,Rsvd4';

const udiffRow = (d: IsoDate, src: 'NSE' | 'BSE', id: string, isin: string, sym: string, series: string, name: string, b: Bar): string =>
  `${d},${d},CM,${src},STK,${id},${isin},${sym},${series},,,,,${name},${rs(b.open)},${rs(b.high)},${rs(b.low)},${rs(b.close)},${rs(b.last)},${rs(b.prev)},,${rs(b.close)},,,${b.volume},${rs(b.turnoverPaise)},${b.trades},F1,1,,,,,`;

/** Zip bytes with a fixed entry time, so the same content gives the same bytes. */
function zip(members: Record<string, string>, d: IsoDate): Uint8Array {
  const mtime = new Date(`${d}T18:00:00Z`);
  const z: Zippable = {};
  for (const [name, text] of Object.entries(members)) z[name] = [Buffer.from(text, 'utf8'), { mtime, level: 6 }];
  return zipSync(z, { mtime });
}

export function generateExchangeFiles(o: ExchangeFilesOptions): ExchangeFilesSummary {
  const t0 = performance.now();
  if (!(Number.isInteger(o.stocks) && o.stocks >= 4)) throw new RangeError('stocks must be a whole number ≥ 4');
  if (!(Number.isInteger(o.sessions) && o.sessions >= 1)) throw new RangeError('sessions must be a whole number ≥ 1');
  const sessions = tradingDays(o.end ?? EXCHANGE_FILES_DEFAULTS.end, o.sessions);
  const { secs, bonds } = universe(o, sessions);
  const nseSecs = secs.filter((s) => s.nse);
  const bseSecs = secs.filter((s) => s.bse);
  const sum: ExchangeFilesSummary = { out: o.out, sessions, files: 0, bytes: 0, nseRows: 0, bseRows: 0, hits: 0, actions: 0, ms: 0 };
  const wanted = new Set(o.only ?? EXCHANGE_FILE_SETS);
  const write = (dir: string, name: string, content: string | Uint8Array): void => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, name), content);
    sum.files++;
    sum.bytes += typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength;
  };
  const indexRng = new Rng(o.seed, 0x1d);
  let nifty = 2_400_000;
  let bank = 5_200_000;

  sessions.forEach((d, k) => {
    const names = sessionFileNames(d);
    const dir = path.join(o.out, d.slice(0, 4), d.slice(5, 7), d.slice(8, 10));
    const nseRows: string[] = [UDIFF_HEADER];
    const bseRows: string[] = [UDIFF_HEADER];
    const full: string[] = ['SYMBOL, SERIES, DATE1, PREV_CLOSE, OPEN_PRICE, HIGH_PRICE, LOW_PRICE, LAST_PRICE, CLOSE_PRICE, AVG_PRICE, TTL_TRD_QNTY, TURNOVER_LACS, NO_OF_TRADES, DELIV_QTY, DELIV_PER'];
    const pd: string[] = ['MKT,SERIES,SYMBOL,SECURITY,PREV_CL_PR,OPEN_PRICE,HIGH_PRICE,LOW_PRICE,CLOSE_PRICE,NET_TRDVAL,NET_TRDQTY,IND_SEC,CORP_IND,TRADES,HI_52_WK,LO_52_WK'];
    const bh: string[] = ['SYMBOL,SERIES,SECURITY,HIGH/LOW'];
    const bc: string[] = ['SERIES,SYMBOL,SECURITY,RECORD_DT,BC_STRT_DT,BC_END_DT,EX_DT,ND_STRT_DT,ND_END_DT,PURPOSE'];
    const mcap: string[] = ['Trade Date,Symbol,Series,Security Name,Category,Last Trade Date,Face Value(Rs.),Issue Size,Close Price/Paid up value(Rs.),Market Cap(Rs.)'];
    const secList: string[] = ['Symbol,Series,Security Name,Band,Remarks'];

    // The indices (pd's first rows).
    for (const [label, level, set] of [
      ['Nifty 50', nifty, (v: number) => (nifty = v)],
      ['Nifty Bank', bank, (v: number) => (bank = v)],
    ] as const) {
      const c = Math.max(100_000, Math.round(level * Math.exp(indexRng.normal() * 0.009)));
      const op = Math.round(level * Math.exp(indexRng.normal() * 0.003));
      const hi = Math.max(c, op) + indexRng.int(0, 8000);
      const lo = Math.min(c, op) - indexRng.int(0, 8000);
      set(c);
      pd.push(`Y, , ,${label},${padL(rs(level), 10)},${padL(rs(op), 10)},${padL(rs(hi), 10)},${padL(rs(lo), 10)},${padL(rs(c), 10)},${padL(rs(indexRng.int(1e9, 9e9) * 100), 18)},${padL(String(indexRng.int(1e7, 9e8)), 11)},Y, ,       ,${padL(rs(Math.round(c * 1.12)), 10)},${padL(rs(Math.round(c * 0.86)), 10)}`);
    }

    for (const s of secs) {
      const a = s.action;
      const exToday = a !== null && a.exIndex === k;
      if (exToday) {
        sum.actions++;
        if (a.factor !== 1) {
          s.close = toTick(s.close / a.factor);
          s.bseClose = toTick(s.bseClose / a.factor);
          s.hi52 = toTick(s.hi52 / a.factor);
          s.lo52 = toTick(s.lo52 / a.factor);
          s.shares = BigInt(Math.round(Number(s.shares) * a.factor));
        }
        if (a.split && a.newFace !== undefined) {
          s.face = a.newFace;
          s.isinSerial++; // a sub-division brings a new ISIN
        }
      }
      s.band = s.nextBand;
      const isin = isinNow(s);
      let nb: Bar | null = null;
      if (s.nse) {
        nb = nseBar(s, s.close, s.band);
        s.close = nb.close;
        s.hi52 = Math.max(s.hi52, nb.high);
        s.lo52 = Math.min(s.lo52, nb.low);
        nseRows.push(udiffRow(d, 'NSE', s.token, isin, s.symbol, s.nseSeries, s.name, nb));
        const delivery = s.nseSeries === 'BE' || s.nseSeries === 'BZ' ? nb.volume : Math.round(nb.volume * s.rng.uniform(0.15, 0.8));
        full.push(
          [s.symbol, s.nseSeries, dMonY(d), rs(nb.prev), rs(nb.open), rs(nb.high), rs(nb.low), rs(nb.last), rs(nb.close), rs(Math.round(nb.turnoverPaise / nb.volume)), String(nb.volume), (nb.turnoverPaise / 1e7).toFixed(2), String(nb.trades), String(delivery), ((delivery / nb.volume) * 100).toFixed(2)].join(', '),
        );
        pd.push(
          `N,${s.nseSeries},${s.symbol},${s.name},${padL(rs(nb.prev), 10)},${padL(rs(nb.open), 10)},${padL(rs(nb.high), 10)},${padL(rs(nb.low), 10)},${padL(rs(nb.close), 10)},${padL(rs(nb.turnoverPaise), 18)},${padL(String(nb.volume), 11)},N,${exToday && a.factor !== 1 ? 'XB' : ' '},${padL(String(nb.trades), 8)},${padL(rs(s.hi52), 10)},${padL(rs(s.lo52), 10)}`,
        );
        if (nb.hit) {
          bh.push(`${s.symbol},${s.nseSeries},${s.name},${nb.hit}`);
          sum.hits++;
        }
        mcap.push(
          `${dMONY(d)},${padR(s.symbol, 10)},${s.nseSeries},${padR(s.name, 30)},Listed,${dMONY(d)},${padL(rs(s.face * 100), 10)},${padL(String(s.shares), 13)},${padL(rs(nb.close), 10)},${padL(rsBig(BigInt(nb.close) * s.shares), 18)}`,
        );
        // The band in force from the next session: a rare step to a neighbouring band.
        if (s.band !== null && s.rng.chance(0.003)) {
          const j = BANDS.indexOf(s.band as (typeof BANDS)[number]);
          s.nextBand = BANDS[Math.max(0, Math.min(BANDS.length - 1, j + (s.rng.chance(0.5) ? 1 : -1)))];
        }
        secList.push(`${s.symbol},${s.nseSeries},${s.name.replace(/\bLTD\b/, 'Limited')},${s.nextBand === null ? 'No Band' : String(s.nextBand)},${s.gsm ? 'GSM STAGE - 0' : ''}`);
        // bc: actions going ex within the next three sessions.
        if (a !== null && a.exIndex > k && a.exIndex <= k + 3) {
          const ex = dMonY(sessions[a.exIndex]);
          bc.push(`${s.nseSeries},${s.symbol},${s.name},${ex},,,${ex},,,${a.purpose}`);
        }
      }
      if (s.bse) {
        const bb = nb ? bseBarFrom(s, nb, s.bseClose) : nseBar(s, s.bseClose, s.band ?? 20);
        s.bseClose = bb.close;
        bseRows.push(udiffRow(d, 'BSE', s.bseCode, isin, s.symbol.slice(0, 12), s.bseGroup, `${s.name}.`.replace(/\.\.$/, '.'), bb));
      }
    }
    for (const s of bonds) {
      const nb = nseBar(s, s.close, null);
      s.close = nb.close;
      nseRows.push(udiffRow(d, 'NSE', s.token, isinNow(s), s.symbol, 'GB', s.name, nb));
      full.push([s.symbol, 'GB', dMonY(d), rs(nb.prev), rs(nb.open), rs(nb.high), rs(nb.low), rs(nb.last), rs(nb.close), rs(Math.round(nb.turnoverPaise / nb.volume)), String(nb.volume), (nb.turnoverPaise / 1e7).toFixed(2), String(nb.trades), '-', '-'].join(', '));
    }
    sum.nseRows += nseSecs.length + bonds.length;
    sum.bseRows += bseSecs.length;

    const nl = (rows: string[], eol = '\n'): string => rows.join(eol) + eol;
    if (wanted.has('nse-udiff')) write(dir, names.nseUdiff, zip({ [names.nseUdiff.replace(/\.zip$/, '')]: nl(nseRows) }, d));
    if (wanted.has('bse-udiff')) write(dir, names.bseUdiff, nl(bseRows, '\r\n'));
    if (wanted.has('full')) write(dir, names.full, nl(full));
    if (wanted.has('sec-list')) write(dir, names.secList, nl(secList));
    if (wanted.has('pr')) write(
      dir,
      names.pr,
      zip(
        {
          [`pd${ddmmyyyy(d)}.csv`]: nl(pd),
          [`bh${ddmmyyyy(d)}.csv`]: nl(bh),
          [`bc${ddmmyyyy(d)}.csv`]: nl(bc),
          [`mcap${ddmmyyyy(d)}.csv`]: nl(mcap),
          [`gl${ddmmyy(d)}.csv`]: nl(['GAIN_LOSS,SECURITY,CLOSE_PRIC,PREV_CL_PR,PERCENT_CG', 'G,NIFTY 50,0.00,0.00,0.00']),
          'Readme.txt': 'The PR bundle holds: pd, bh, bc, mcap, an, bm, gl, hl, tt, etf, sme, corpbond files.\r\n',
        },
        d,
      ),
    );
    o.onSession?.(k + 1, sessions.length);
  });

  // The masters, as of the last session.
  const mdir = path.join(o.out, 'masters');
  const eq = ['SYMBOL,NAME OF COMPANY, SERIES, DATE OF LISTING, PAID UP VALUE, MARKET LOT, ISIN NUMBER, FACE VALUE'];
  for (const s of nseSecs) eq.push(`${s.symbol},${s.name.replace(/\bLTD\b/, 'Limited')},${s.nseSeries},${dMONYdash(s.listed)},${s.face},1,${isinNow(s)},${s.face}`);
  if (wanted.has('masters')) write(mdir, 'EQUITY_L.csv', eq.join('\n') + '\n');
  const bse = ['Security Code,Issuer Name,Security Id,Security Name,Status,Group,Face Value,ISIN No,Industry,Instrument,Sector Name,Industry New Name,Igroup Name,ISubgroup Name,,'];
  for (const s of bseSecs) bse.push(`${s.bseCode},${s.name.replace(/\bLTD\b/, 'Ltd')},${s.symbol.slice(0, 12)},${s.name}.,Active,${padR(s.bseGroup, 2)},${rs(s.face * 100)},${isinNow(s)},Diversified,Equity,,,,,,`);
  if (wanted.has('masters')) write(mdir, 'List_of_scrips.csv', bse.join('\r\n') + '\r\n');
  sum.ms = Math.round(performance.now() - t0);
  return sum;
}
