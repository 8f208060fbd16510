/**
 * `stockflow data import-exchange`: the exchanges' own files into market.db
 * (docs/exchange-files.md, "What goes where").
 *
 * How it runs:
 * - One transaction for the whole import (BEGIN IMMEDIATE … COMMIT). A format error (exit 7),
 *   a file past the reject threshold (exit 6), SIGINT/SIGTERM (exit 130) or any error rolls it
 *   back: market.db is left exactly as it was (and a market.db the import created is removed).
 * - Streaming: records are staged as they arrive, through prepared statements, in TEMP tables
 *   of the same connection (SQLite keeps them on disk, not in this process's heap); only the
 *   identities (one entry per symbol/ISIN/scrip code, not per row) are kept in memory.
 * - Once every file is read, identities are resolved (the key rule below) and the staged rows
 *   are written with set-based statements (one pass each, ordered by key): the cost is linear
 *   in the rows, and the result does not depend on the order the files came in.
 *
 * The key rule (docs/exchange-files.md, "Identity"):
 * - A BSE listing (BSE UDiFF / legacy bhavcopy bar, BSE list of scrips) gives scrip code + ISIN:
 *   the key is the scrip code — unless that scrip code is already recorded as the BSE listing of
 *   a key, or its ISIN already belongs to an NSE-only key ('0…'): then that key is kept (an
 *   NSE-only security that later lists on BSE keeps its key; its BSE listing is recorded).
 * - NSE bars carrying an ISIN (UDiFF, legacy bhavcopy) are grouped by ISIN and by symbol (one
 *   security: the same ISIN under a renamed symbol, or the same symbol with a new ISIN after a
 *   sub-division). A group takes the key of its ISINs (a BSE code seen with one of them, or a
 *   recorded lineage), else the key its symbol had (a recorded NSE listing), else a new key
 *   '0' + 5 digits: the next free number, new groups numbered in the order of their smallest ISIN.
 *   A number once given is never given again (it stays in security_isins).
 * - Files without ISINs (full bhavcopy, PR pd/bh/bc/mcap, sec_list) name an NSE symbol: it is
 *   resolved to the key of the NSE listing that had the symbol on that date (else the nearest
 *   listing of the symbol in time, else EQUITY_L's ISIN for it). A symbol no ISIN-bearing file
 *   ever introduced is left out, counted with its reason.
 */
import type Database from 'better-sqlite3';
import { StockflowError, badArgs } from '../../errors.js';
import { logger } from '../../log.js';
import { nseHolidays, PUBLISHED_YEARS } from '../../demo/holidays.js';
import { TradingCalendar } from '../../market/calendar.js';
import { MARKET_POST_LOAD_SQL, type Db } from '../../market/db.js';
import type { PreferredExchange } from '../../market/exchange.js';
import { checkPreference, recordPreference } from './prefer.js';
import { withImportTransaction } from '../transaction.js';
import { DEFAULT_NSE_SERIES } from './read.js';
import { readExchangeBatchesParallel } from './read-parallel.js';
import { KIND_TITLES } from './kinds.js';
import { ReadTally, readLines, type DryRunSummary } from './summary.js';
import type { BseScrip, ExchangeKind, NseListing, PriceBar } from './types.js';

export type { PreferredExchange };

export interface ExchangeImportOptions {
  dataDir: string;
  /** NSE series kept (default EQ, BE, BZ, SM, ST). */
  nseSeries?: readonly string[];
  /** Whose bars go into daily_prices where both exchanges have one (default NSE). */
  prefer?: PreferredExchange;
  /** A file fails the import when its rejected share is above this (0…1; default 0.01). */
  maxRejectRate?: number;
  /** Where rejected rows go; default <dataDir>/rejects.csv. */
  rejectsFile?: string;
  /** Tests only: called after every staged record (to fail an import in the middle). */
  onRecord?: (n: number) => void;
}

/** The band assumed for a security no price-band list covered (BSE-only names, no sec_list given). */
export const ASSUMED_BAND_PCT = 20;

/** Sector of a security the BSE list of scrips did not cover. */
export const UNCLASSIFIED_SECTOR = 'Unclassified';

export interface ExchangeImportSummary {
  marketDb: string;
  rejectsFile: string;
  prefer: PreferredExchange;
  read: DryRunSummary;
  keys: {
    /** Keys this import wrote rows for. */
    touched: number;
    /** New keys that are BSE scrip codes. */
    newBse: number;
    /** New NSE-only keys ('0' + 5 digits) and the numbers they got. */
    newNseOnly: number;
    newNseOnlyKeys: string[];
    /** NSE groups whose ISINs or symbol pointed to more than one key (the first by the rule won). */
    ambiguous: string[];
  };
  /** Rows written per table (inserted or updated). */
  written: Record<string, number>;
  /** Rows read but not written, by reason (unknown symbol, no ex-date, …). */
  leftOut: Record<string, number>;
  master: {
    upserted: number;
    /** Securities in force with No Band at the last session (circuit_band_pct NULL). */
    noBand: number;
    /** Securities no price-band list covered: ASSUMED_BAND_PCT. */
    bandAssumed: number;
    bandAssumedKeys: string[];
    /** Names the BSE list's Industry did not classify: UNCLASSIFIED_SECTOR (or the sector already stored). */
    sectorUnclassified: number;
  };
  actions: { written: number; ignoredByKind: Record<string, number>; notUnderstood: string[] };
  /** Holidays added to market_holidays from NSE's published lists, and published ones left out because bars exist that day. */
  holidays: { seeded: number; years: number[]; keptAsSessions: string[] };
  /** Undated sec_list.csv files: the session they were taken for. */
  undatedBandLists: { label: string; listDate: string | null }[];
  text: string;
}

/** Precedence of bars of one exchange, key and session: the highest wins (UDiFF, then legacy, full, pd). */
const PRECEDENCE: Partial<Record<ExchangeKind, number>> = {
  'nse-udiff-cm': 4,
  'bse-udiff-cm': 4,
  'nse-legacy-cm': 3,
  'bse-legacy-eq': 3,
  'nse-full-bhavcopy': 2,
  'nse-pr-pd': 1,
};
const PRECEDENCE_SQL = (col: string): string =>
  `(CASE ${col} ${Object.entries(PRECEDENCE)
    .map(([k, v]) => `WHEN '${k}' THEN ${v}`)
    .join(' ')} ELSE 0 END)`;

const STATUS: Record<string, 'ACTIVE' | 'SUSPENDED' | 'DELISTED'> = { ACTIVE: 'ACTIVE', SUSPENDED: 'SUSPENDED', DELISTED: 'DELISTED' };

/** One identity seen in the files: an NSE symbol with an ISIN, an NSE symbol alone, or a BSE scrip code (with its ISIN). */
interface Ident {
  id: number;
  exchange: 'NSE' | 'BSE';
  /** 'isin': NSE symbol + ISIN; 'symbol': NSE symbol only (resolved by date); 'bse': a BSE scrip code. */
  how: 'isin' | 'symbol' | 'bse';
  symbol: string | null;
  code: string | null;
  isin: string | null;
  first: string;
  last: string;
  /** At the last date seen. */
  token: string | null;
  series: string | null;
  name: string | null;
  scripId: string | null;
}

const TEMP_SQL = `
CREATE TEMP TABLE sf_bars (ident INTEGER NOT NULL, exchange TEXT NOT NULL, trade_date TEXT NOT NULL, prec INTEGER NOT NULL, seq INTEGER NOT NULL,
  source TEXT NOT NULL, series TEXT, open REAL, high REAL, low REAL, close REAL, prev_close REAL, volume INTEGER, turnover_rs REAL, trades INTEGER,
  delivery_qty INTEGER, delivery_pct REAL);
CREATE TEMP TABLE sf_bands (list_date TEXT, label TEXT NOT NULL, symbol TEXT NOT NULL, band_pct REAL, remarks TEXT, seq INTEGER NOT NULL);
CREATE TEMP TABLE sf_hits (trade_date TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL);
CREATE TEMP TABLE sf_actions (rank INTEGER NOT NULL, seq INTEGER NOT NULL, ex_date TEXT NOT NULL, bse_code TEXT, isin TEXT, symbol TEXT,
  kind TEXT NOT NULL, factor REAL NOT NULL, purpose TEXT NOT NULL, source TEXT NOT NULL);
CREATE TEMP TABLE sf_mcap (trade_date TEXT NOT NULL, symbol TEXT NOT NULL, market_cap_cr REAL NOT NULL, seq INTEGER NOT NULL);
CREATE TEMP TABLE sf_ident_key (ident INTEGER PRIMARY KEY, key TEXT NOT NULL);
CREATE TEMP TABLE sf_ident_symbol (ident INTEGER PRIMARY KEY, symbol TEXT NOT NULL);
CREATE TEMP TABLE sf_touched (key TEXT NOT NULL, trade_date TEXT NOT NULL, PRIMARY KEY (key, trade_date)) WITHOUT ROWID;
CREATE TEMP TABLE sf_keys (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TEMP TABLE sf_list_dates (list_date TEXT PRIMARY KEY, effective_from TEXT NOT NULL) WITHOUT ROWID;
CREATE TEMP TABLE sf_deliv (ident INTEGER NOT NULL, trade_date TEXT NOT NULL, seq INTEGER NOT NULL, delivery_qty INTEGER, delivery_pct REAL);
CREATE TEMP TABLE sf_sym_key (symbol TEXT PRIMARY KEY, key TEXT) WITHOUT ROWID;
CREATE TEMP TABLE sf_best (key TEXT NOT NULL, exchange TEXT NOT NULL, trade_date TEXT NOT NULL, source TEXT NOT NULL, series TEXT, open REAL, high REAL, low REAL, close REAL,
  prev_close REAL, volume INTEGER, turnover_rs REAL, trades INTEGER, delivery_qty INTEGER, delivery_pct REAL, PRIMARY KEY (key, exchange, trade_date)) WITHOUT ROWID;
CREATE TEMP TABLE sf_mcap_best (key TEXT NOT NULL, trade_date TEXT NOT NULL, market_cap_cr REAL NOT NULL, PRIMARY KEY (key, trade_date)) WITHOUT ROWID;
`;

class Dsu {
  private readonly parent = new Map<string, string>();
  find(x: string): string {
    let p = this.parent.get(x);
    if (p === undefined) {
      this.parent.set(x, x);
      return x;
    }
    while (p !== x) {
      const gp = this.parent.get(p) as string;
      this.parent.set(x, gp);
      x = p;
      p = this.parent.get(x) as string;
    }
    return x;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
}

const byStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const inc = (o: Record<string, number>, k: string, n = 1): void => {
  if (n !== 0) o[k] = (o[k] ?? 0) + n;
};

interface Listing {
  key: string;
  first: string;
  last: string;
}

/** The key of the listing that had `symbol` on `date`, else the nearest listing in time (ties: the smaller key). */
function pickListing(ls: readonly Listing[], date: string): string {
  if (ls.length === 1) return ls[0].key;
  let best: Listing | null = null;
  let bestGap = Infinity;
  for (const l of ls) {
    const gap = date < l.first ? Date.parse(l.first) - Date.parse(date) : date > l.last ? Date.parse(date) - Date.parse(l.last) : 0;
    if (gap < bestGap || (gap === bestGap && best !== null && l.key < best.key)) {
      best = l;
      bestGap = gap;
    }
  }
  return (best as Listing).key;
}

/**
 * Imports exchange files into <dataDir>/market.db (see the module comment). The caller holds the
 * data directory's batch lock (the CLI takes it, as for `data import`).
 */
export async function importExchange(paths: readonly string[], opts: ExchangeImportOptions): Promise<ExchangeImportSummary> {
  const maxRejectRate = opts.maxRejectRate ?? 0.01;
  if (!(Number.isFinite(maxRejectRate) && maxRejectRate >= 0 && maxRejectRate <= 1)) throw badArgs('--max-reject-rate must be a number from 0 to 1');
  const prefer: PreferredExchange = opts.prefer ?? 'NSE';
  if (prefer !== 'NSE' && prefer !== 'BSE') throw badArgs(`--prefer must be nse or bse, not '${String(prefer)}'`);
  const nseSeries = opts.nseSeries ?? DEFAULT_NSE_SERIES;
  if (nseSeries.length === 0) throw badArgs('--series needs at least one series');

  return withImportTransaction(opts.dataDir, opts.rejectsFile, async ({ db, marketDb, rejects, stopIfInterrupted, commit }) => {
    // Refused before a file is read: daily_prices would mix the exchanges session by session.
    checkPreference(db, prefer, marketDb);
    const run = new Run(db, prefer, opts);
    const tally = new ReadTally(maxRejectRate);
    let n = 0;
    for await (const batch of readExchangeBatchesParallel(paths, { nseSeries })) {
      stopIfInterrupted();
      for (const ev of batch) {
        tally.add(ev);
        if (ev.type === 'reject') rejects.add(ev.reject.source.label, ev.reject.line, ev.reject.reason, ev.reject.fields);
        else if (ev.type === 'source') run.source(ev.kind, ev.nameDate, ev.source.label);
        else if (ev.type === 'record') {
          run.record(ev.kind, ev.record, ev.source.label);
          opts.onRecord?.(++n);
        }
      }
    }
    const read = tally.result();
    if (read.overThreshold.length > 0) {
      const rejectsFile = rejects.finish();
      const f = read.overThreshold[0];
      const more = read.overThreshold.length > 1 ? ` (and ${read.overThreshold.length - 1} more file(s))` : '';
      throw new StockflowError(
        'IMPORT_REJECTED',
        `${f.label}: ${f.rejects} of ${f.rows} rows rejected, more than --max-reject-rate ${maxRejectRate}${more}; rejected rows listed in ${rejectsFile}; database unchanged`,
      );
    }
    stopIfInterrupted();
    const out = run.finish();
    recordPreference(db, prefer);
    commit();
    const rejectsFile = rejects.finish();
    const summary: ExchangeImportSummary = { marketDb, rejectsFile, prefer, read: tally.result(), ...out, text: '' };
    summary.text = importText(summary);
    return summary;
  });
}

type FinishResult = Omit<ExchangeImportSummary, 'marketDb' | 'rejectsFile' | 'prefer' | 'read' | 'text'>;

/** One import's staging and resolution, on the open transaction. */
class Run {
  private readonly idents = new Map<string, Ident>();
  private seq = 0;
  private readonly hitSessions = new Set<string>();
  private readonly undatedLists: { label: string; listDate: string | null }[] = [];
  private readonly nseMaster = new Map<string, NseListing>();
  private readonly bseScrips = new Map<string, BseScrip>();
  private readonly ignoredActions: Record<string, number> = {};
  private readonly notUnderstood: string[] = [];
  private readonly leftOutEarly: { kind: ExchangeKind; reason: string }[] = [];
  private readonly identKey = new Map<number, string>();
  private readonly startedAt = Date.now();
  private readonly startCpu = process.cpuUsage();
  private readonly insBar: Database.Statement;
  private readonly insBand: Database.Statement;
  private readonly insHit: Database.Statement;
  private readonly insAction: Database.Statement;
  private readonly insMcap: Database.Statement;
  private readonly insDeliv: Database.Statement;
  /** NSE symbols the symbol-only rows (bands, hits, market caps) name: their keys are looked up once each. */
  private readonly symbols = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly prefer: PreferredExchange,
    private readonly opts: ExchangeImportOptions,
  ) {
    // A large page cache for market.db's pages (the upserts stay off the disk as far as they fit), a smaller one for
    // the staging tables (read once, in order): RSS stays well under 500 MB for a year of files.
    db.pragma('cache_size = -131072');
    db.pragma('temp.cache_size = -32768');
    db.exec(TEMP_SQL);
    this.insBar = db.prepare(
      'INSERT INTO sf_bars VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insBand = db.prepare('INSERT INTO sf_bands VALUES (?, ?, ?, ?, ?, ?)');
    this.insHit = db.prepare('INSERT INTO sf_hits VALUES (?, ?, ?)');
    this.insAction = db.prepare('INSERT INTO sf_actions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.insMcap = db.prepare('INSERT INTO sf_mcap VALUES (?, ?, ?, ?)');
    this.insDeliv = db.prepare('INSERT INTO sf_deliv VALUES (?, ?, ?, ?, ?)');
  }

  private ident(key: string, make: () => Omit<Ident, 'id'>, date: string, bar: PriceBar | null): Ident {
    let x = this.idents.get(key);
    if (!x) {
      x = { id: this.idents.size + 1, ...make() };
      this.idents.set(key, x);
    }
    if (date < x.first) x.first = date;
    if (date >= x.last) {
      x.last = date;
      if (bar) {
        if (bar.exchange === 'NSE' && bar.code !== null) x.token = bar.code;
        if (bar.exchange === 'BSE' && bar.symbol !== null) x.scripId = bar.symbol;
        x.series = bar.series;
        if (bar.name !== null) x.name = bar.name;
      }
    }
    return x;
  }

  source(kind: ExchangeKind, nameDate: string | null, label: string): void {
    if (kind === 'nse-pr-bh') {
      if (nameDate !== null) this.hitSessions.add(nameDate);
    }
    if (kind === 'nse-price-bands' && nameDate === null) this.undatedLists.push({ label, listDate: null });
  }

  record(kind: ExchangeKind, r: import('./types.js').ExchangeRecord, label: string): void {
    const seq = ++this.seq;
    switch (r.type) {
      case 'price': {
        const prec = PRECEDENCE[kind] ?? 0;
        let id: Ident;
        if (r.exchange === 'BSE') {
          const code = r.code as string;
          id = this.ident(`B|${code}|${r.isin ?? ''}`, () => ({ exchange: 'BSE', how: 'bse', symbol: null, code, isin: r.isin, first: r.tradeDate, last: r.tradeDate, token: null, series: null, name: null, scripId: null }), r.tradeDate, r);
        } else if (r.isin !== null) {
          const symbol = (r.symbol as string).toUpperCase();
          id = this.ident(`N|${symbol}|${r.isin}`, () => ({ exchange: 'NSE', how: 'isin', symbol, code: null, isin: r.isin, first: r.tradeDate, last: r.tradeDate, token: null, series: null, name: null, scripId: null }), r.tradeDate, r);
        } else {
          const symbol = (r.symbol as string).toUpperCase();
          id = this.ident(`S|${symbol}`, () => ({ exchange: 'NSE', how: 'symbol', symbol, code: null, isin: null, first: r.tradeDate, last: r.tradeDate, token: null, series: null, name: null, scripId: null }), r.tradeDate, r);
        }
        this.insBar.run(id.id, r.exchange, r.tradeDate, prec, seq, kind, r.series, r.open, r.high, r.low, r.close, r.prevClose, r.volume, r.turnoverRs, r.trades, r.deliveryQty, r.deliveryPct);
        if (kind === 'nse-full-bhavcopy') this.insDeliv.run(id.id, r.tradeDate, seq, r.deliveryQty, r.deliveryPct);
        break;
      }
      case 'price-band': {
        const symbol = r.symbol.toUpperCase();
        this.symbols.add(symbol);
        this.insBand.run(r.listDate, label, symbol, r.bandPct, r.remarks, seq);
        break;
      }
      case 'circuit-hit': {
        const symbol = r.symbol.toUpperCase();
        this.symbols.add(symbol);
        this.insHit.run(r.tradeDate, symbol, r.side);
        break;
      }
      case 'corporate-action': {
        for (const p of r.parsed.parts) {
          if (p.kind === 'other') {
            if (!this.notUnderstood.includes(r.purpose)) this.notUnderstood.push(r.purpose);
          } else if (p.factor === undefined || (p.kind !== 'split' && p.kind !== 'consolidation' && p.kind !== 'bonus')) inc(this.ignoredActions, p.kind);
          else if (r.exDate === null) this.leftOutEarly.push({ kind, reason: `${p.kind} without an ex-date` });
          else this.insAction.run(0, seq, r.exDate, null, null, r.symbol.toUpperCase(), p.kind, p.factor, r.purpose, 'nse-pr-bc');
        }
        break;
      }
      case 'stockflow-action':
        this.insAction.run(1, seq, r.exDate, r.bseCode, r.isin, r.nseSymbol, r.kind, r.factor, r.purpose ?? `${r.kind} ${r.factor}`, 'stockflow-actions');
        break;
      case 'market-cap': {
        const symbol = r.symbol.toUpperCase();
        this.symbols.add(symbol);
        this.insMcap.run(r.tradeDate, symbol, r.marketCapCr, seq);
        break;
      }
      case 'nse-listing':
        this.nseMaster.set(r.symbol.toUpperCase(), r);
        break;
      case 'bse-scrip':
        this.bseScrips.set(r.code, r);
        break;
    }
  }

  finish(): FinishResult {
    const db = this.db;
    const written: Record<string, number> = {};
    const leftOut: Record<string, number> = {};
    let t = this.startedAt;
    let cpu = this.startCpu;
    const phase = (name: string): void => {
      const c = process.cpuUsage(cpu);
      logger().debug({ phase: name, ms: Date.now() - t, cpuMs: Math.round((c.user + c.system) / 1000) }, 'import-exchange phase');
      t = Date.now();
      cpu = process.cpuUsage();
    };
    phase('read');
    const leave = (kind: ExchangeKind, reason: string, n: number): void => {
      inc(leftOut, `${KIND_TITLES[kind]}: ${reason}`, n);
    };
    for (const l of this.leftOutEarly) leave(l.kind, l.reason, 1);

    // ── 1. Identity ──────────────────────────────────────────────────────────────────────────
    const isinKeys = new Map<string, { key: string; last: string }[]>();
    for (const r of db.prepare('SELECT isin, bse_code AS key, last_seen AS last FROM security_isins ORDER BY isin, last_seen DESC, bse_code').all() as { isin: string; key: string; last: string }[]) {
      const a = isinKeys.get(r.isin) ?? [];
      a.push({ key: r.key, last: r.last });
      isinKeys.set(r.isin, a);
    }
    const existingIsinKey = (isin: string): string | undefined => isinKeys.get(isin)?.[0].key;
    const bseListing = new Map<string, string>();
    for (const r of db.prepare("SELECT symbol, bse_code AS key FROM exchange_listings WHERE exchange = 'BSE' ORDER BY symbol, last_seen DESC, bse_code").all() as { symbol: string; key: string }[]) {
      if (!bseListing.has(r.symbol)) bseListing.set(r.symbol, r.key);
    }
    const nseListingKey = new Map<string, string>();
    for (const r of db.prepare("SELECT symbol, bse_code AS key FROM exchange_listings WHERE exchange = 'NSE' ORDER BY symbol, last_seen DESC, bse_code").all() as { symbol: string; key: string }[]) {
      if (!nseListingKey.has(r.symbol)) nseListingKey.set(r.symbol, r.key);
    }
    const existingKeys = new Set(db.prepare('SELECT bse_code FROM master_stock_list UNION SELECT bse_code FROM security_isins').pluck().all() as string[]);

    const bseKeyOf = (code: string, isin: string | null): string => {
      const listed = bseListing.get(code);
      if (listed !== undefined) return listed;
      const byIsin = isin === null ? undefined : existingIsinKey(isin);
      if (byIsin !== undefined && byIsin.startsWith('0')) return byIsin;
      return code;
    };
    const identKey = this.identKey;
    // ISIN → key from this import's BSE listings (bars and the list of scrips).
    const isinFromBse = new Map<string, string>();
    const bseIdents = [...this.idents.values()].filter((x) => x.how === 'bse').sort((a, b) => byStr(a.code as string, b.code as string) || byStr(a.isin ?? '', b.isin ?? ''));
    for (const x of bseIdents) {
      const key = bseKeyOf(x.code as string, x.isin);
      identKey.set(x.id, key);
      if (x.isin !== null && !isinFromBse.has(x.isin)) isinFromBse.set(x.isin, key);
    }
    for (const s of [...this.bseScrips.values()].sort((a, b) => byStr(a.code, b.code))) {
      if (!isinFromBse.has(s.isin)) isinFromBse.set(s.isin, bseKeyOf(s.code, s.isin));
    }

    // NSE groups: ISIN-bearing identities joined by ISIN and by symbol.
    const dsu = new Dsu();
    const nseIdents = [...this.idents.values()].filter((x) => x.how === 'isin');
    for (const x of nseIdents) dsu.union(`S:${x.symbol}`, `I:${x.isin}`);
    const groups = new Map<string, Ident[]>();
    for (const x of nseIdents) {
      const root = dsu.find(`S:${x.symbol}`);
      const g = groups.get(root) ?? [];
      g.push(x);
      groups.set(root, g);
    }
    const ambiguous: string[] = [];
    const fresh: { minIsin: string; members: Ident[] }[] = [];
    for (const members of groups.values()) {
      // ISINs latest first, then symbols latest first: the first that has a key gives it.
      const byLast = [...members].sort((a, b) => byStr(b.last, a.last) || byStr(a.isin as string, b.isin as string) || byStr(a.symbol as string, b.symbol as string));
      const candidates: string[] = [];
      for (const x of byLast) {
        const k = isinFromBse.get(x.isin as string) ?? existingIsinKey(x.isin as string);
        if (k !== undefined && !candidates.includes(k)) candidates.push(k);
      }
      for (const x of byLast) {
        const k = nseListingKey.get(x.symbol as string);
        if (k !== undefined && !candidates.includes(k)) candidates.push(k);
      }
      if (candidates.length > 1) ambiguous.push(`${[...new Set(members.map((m) => m.symbol as string))].sort(byStr).join('/')} → ${candidates.join(', ')} (kept ${candidates[0]})`);
      if (candidates.length > 0) for (const x of members) identKey.set(x.id, candidates[0]);
      else fresh.push({ minIsin: members.map((m) => m.isin as string).sort(byStr)[0], members });
    }
    fresh.sort((a, b) => byStr(a.minIsin, b.minIsin));
    const maxRow = db
      .prepare(
        "SELECT max(k) FROM (SELECT max(bse_code) AS k FROM master_stock_list WHERE bse_code LIKE '0%' UNION ALL SELECT max(bse_code) FROM security_isins WHERE bse_code LIKE '0%' UNION ALL SELECT max(bse_code) FROM exchange_listings WHERE bse_code LIKE '0%')",
      )
      .pluck()
      .get() as string | null;
    let next = maxRow === null ? 1 : Number(maxRow) + 1;
    const newNseOnlyKeys: string[] = [];
    for (const g of fresh) {
      if (next > 99_999) throw new StockflowError('IMPORT_REJECTED', 'no NSE-only key left (000001 … 099999 all given); database unchanged');
      const key = String(next++).padStart(6, '0');
      newNseOnlyKeys.push(key);
      for (const x of g.members) identKey.set(x.id, key);
    }
    const newBse = new Set([...identKey.values()].filter((k) => !k.startsWith('0') && !existingKeys.has(k))).size;

    phase('identity');
    // ── 2. Lineage and listings ─────────────────────────────────────────────────────────────
    const lineage = new Map<string, { key: string; isin: string; first: string; last: string }>();
    const listings = new Map<string, { key: string; exchange: 'NSE' | 'BSE'; symbol: string; token: string | null; series: string | null; first: string; last: string }>();
    for (const x of [...this.idents.values()].sort((a, b) => a.id - b.id)) {
      const key = identKey.get(x.id);
      if (key === undefined) continue;
      if (x.isin !== null) {
        const id = `${key}|${x.isin}`;
        const l = lineage.get(id);
        if (!l) lineage.set(id, { key, isin: x.isin, first: x.first, last: x.last });
        else {
          if (x.first < l.first) l.first = x.first;
          if (x.last > l.last) l.last = x.last;
        }
      }
      const symbol = x.exchange === 'NSE' ? (x.symbol as string) : (x.code as string);
      const token = x.exchange === 'NSE' ? x.token : x.scripId;
      const id = `${x.exchange}|${symbol}|${key}`;
      const l = listings.get(id);
      if (!l) listings.set(id, { key, exchange: x.exchange, symbol, token, series: x.series, first: x.first, last: x.last });
      else {
        if (x.first < l.first) l.first = x.first;
        if (x.last >= l.last) {
          l.last = x.last;
          l.token = token ?? l.token;
          l.series = x.series ?? l.series;
        }
      }
    }
    const upLineage = db.prepare(
      `INSERT INTO security_isins (bse_code, isin, first_seen, last_seen) VALUES (?, ?, ?, ?)
       ON CONFLICT (bse_code, isin) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)
       WHERE excluded.first_seen < first_seen OR excluded.last_seen > last_seen`,
    );
    written.security_isins = 0;
    for (const l of [...lineage.values()].sort((a, b) => byStr(a.key, b.key) || byStr(a.isin, b.isin))) written.security_isins += upLineage.run(l.key, l.isin, l.first, l.last).changes;
    const upListing = db.prepare(
      `INSERT INTO exchange_listings (bse_code, exchange, symbol, token, series, first_seen, last_seen) VALUES (@key, @exchange, @symbol, @token, @series, @first, @last)
       ON CONFLICT (exchange, symbol, bse_code) DO UPDATE SET
         token = CASE WHEN excluded.last_seen >= last_seen THEN coalesce(excluded.token, token) ELSE token END,
         series = CASE WHEN excluded.last_seen >= last_seen THEN coalesce(excluded.series, series) ELSE series END,
         first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)
       WHERE excluded.first_seen < first_seen OR excluded.last_seen > last_seen
         OR (excluded.last_seen >= last_seen AND (coalesce(excluded.token, token) IS NOT token OR coalesce(excluded.series, series) IS NOT series))`,
    );
    written.exchange_listings = 0;
    for (const l of [...listings.values()].sort((a, b) => byStr(a.exchange, b.exchange) || byStr(a.symbol, b.symbol) || byStr(a.key, b.key))) written.exchange_listings += upListing.run(l).changes;

    phase('lineage and listings');
    // ── 3. Symbols → keys, by date ───────────────────────────────────────────────────────────
    const nseListings = new Map<string, Listing[]>();
    for (const r of db.prepare("SELECT symbol, bse_code AS key, first_seen AS first, last_seen AS last FROM exchange_listings WHERE exchange = 'NSE' ORDER BY symbol, bse_code").all() as (Listing & { symbol: string })[]) {
      const a = nseListings.get(r.symbol) ?? [];
      a.push(r);
      nseListings.set(r.symbol, a);
    }
    const lineageStmt = db.prepare('SELECT bse_code FROM security_isins WHERE isin = ? ORDER BY last_seen DESC, bse_code LIMIT 1').pluck();
    const lineageKey = (isin: string): string | undefined => lineageStmt.get(isin) as string | undefined;
    const masterIsinKey = new Map<string, string | null>();
    const symbolKey = (symbol: string, date: string): string | null => {
      const ls = nseListings.get(symbol);
      if (ls) return pickListing(ls, date);
      let k = masterIsinKey.get(symbol);
      if (k === undefined) {
        const m = this.nseMaster.get(symbol);
        k = m ? (lineageKey(m.isin) ?? null) : null;
        masterIsinKey.set(symbol, k);
      }
      return k;
    };
    db.function('sf_key', { deterministic: true }, (symbol: unknown, date: unknown) => symbolKey(String(symbol), String(date)));
    // A symbol's key depends on the date only when several NSE listings had the symbol: every other symbol (one
    // listing, or none: EQUITY_L's ISIN or unknown) is resolved here once, not once per staged row by sf_key.
    const dateFree = (symbol: string): boolean => (nseListings.get(symbol)?.length ?? 0) <= 1;
    const putKey = db.prepare('INSERT INTO sf_ident_key VALUES (?, ?)');
    const putSym = db.prepare('INSERT INTO sf_ident_symbol VALUES (?, ?)');
    for (const x of this.idents.values()) {
      const k = identKey.get(x.id) ?? (x.how === 'symbol' && dateFree(x.symbol as string) ? symbolKey(x.symbol as string, '') : null);
      if (k !== null) putKey.run(x.id, k);
      else putSym.run(x.id, x.symbol);
    }
    const putSymKey = db.prepare('INSERT INTO sf_sym_key VALUES (?, ?)');
    for (const symbol of [...this.symbols].sort(byStr)) if (dateFree(symbol)) putSymKey.run(symbol, symbolKey(symbol, ''));
    /** The key of a symbol-only row `t` on its date column (sf_sym_key joined as `sk`). */
    const keyOf = (t: string, date: string): string => `CASE WHEN sk.symbol IS NOT NULL THEN sk.key ELSE sf_key(${t}.symbol, ${t}.${date}) END`;

    phase('symbols');
    // ── 4. Bars → exchange_prices (the best file kind per key, exchange and session) ───────────
    const RESOLVED = `SELECT coalesce(k.key, sf_key(s.symbol, b.trade_date)) AS key, b.* FROM sf_bars b LEFT JOIN sf_ident_key k ON k.ident = b.ident LEFT JOIN sf_ident_symbol s ON s.ident = b.ident`;
    for (const r of db
      .prepare(`SELECT b.source, count(*) AS n FROM sf_bars b JOIN sf_ident_symbol s ON s.ident = b.ident WHERE sf_key(s.symbol, b.trade_date) IS NULL GROUP BY b.source ORDER BY b.source`)
      .all() as { source: ExchangeKind; n: number }[]) {
      leave(r.source, 'symbol unknown (no file with its ISIN: an NSE bhavcopy, EQUITY_L, or an earlier import)', r.n);
    }
    // The bar each key, exchange and session gets from this import: the best kind of file, then the last one read
    // (the same one the staged rows would leave behind if upserted one by one in the order they were read). Picked
    // once, in key order (the first of each group is kept), so exchange_prices is then written in its own order.
    phase('exchange_prices: left out');
    db.prepare(
      `INSERT OR IGNORE INTO sf_best
       SELECT key, exchange, trade_date, source, series, open, high, low, close, prev_close, volume, turnover_rs, trades, delivery_qty, delivery_pct
       FROM (${RESOLVED}) WHERE key IS NOT NULL ORDER BY key, exchange, trade_date, prec DESC, seq DESC`,
    ).run();
    phase('exchange_prices: one bar per key, exchange and session');
    written.exchange_prices = db
      .prepare(
        `INSERT INTO exchange_prices (bse_code, exchange, trade_date, series, open, high, low, close, prev_close, volume, turnover_rs, trades, delivery_qty, delivery_pct, source)
         SELECT key, exchange, trade_date, series, open, high, low, close, prev_close, volume, turnover_rs, trades, delivery_qty, delivery_pct, source
         FROM sf_best WHERE true ORDER BY key, exchange, trade_date
         ON CONFLICT (bse_code, exchange, trade_date) DO UPDATE SET
           series = excluded.series, open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, prev_close = excluded.prev_close,
           volume = excluded.volume, turnover_rs = excluded.turnover_rs, trades = excluded.trades,
           delivery_qty = coalesce(excluded.delivery_qty, delivery_qty), delivery_pct = coalesce(excluded.delivery_pct, delivery_pct), source = excluded.source
         WHERE ${PRECEDENCE_SQL('excluded.source')} >= ${PRECEDENCE_SQL('exchange_prices.source')}
           AND (series IS NOT excluded.series OR open IS NOT excluded.open OR high IS NOT excluded.high OR low IS NOT excluded.low OR close IS NOT excluded.close
             OR prev_close IS NOT excluded.prev_close OR volume IS NOT excluded.volume OR turnover_rs IS NOT excluded.turnover_rs OR trades IS NOT excluded.trades
             OR (excluded.delivery_qty IS NOT NULL AND delivery_qty IS NOT excluded.delivery_qty) OR (excluded.delivery_pct IS NOT NULL AND delivery_pct IS NOT excluded.delivery_pct)
             OR source IS NOT excluded.source)`,
      )
      .run().changes;
    phase('exchange_prices: written');
    // Deliveries from the full bhavcopy go into the NSE bar of that session, whichever file gave the bar.
    written.deliveries = db
      .prepare(
        `UPDATE exchange_prices SET delivery_qty = d.delivery_qty, delivery_pct = d.delivery_pct
         FROM (SELECT key, trade_date, delivery_qty, delivery_pct FROM (
                 SELECT coalesce(k.key, sf_key(s.symbol, r.trade_date)) AS key, r.trade_date, r.delivery_qty, r.delivery_pct,
                        row_number() OVER (PARTITION BY coalesce(k.key, sf_key(s.symbol, r.trade_date)), r.trade_date ORDER BY r.seq DESC) AS rn
                 FROM sf_deliv r LEFT JOIN sf_ident_key k ON k.ident = r.ident LEFT JOIN sf_ident_symbol s ON s.ident = r.ident) WHERE key IS NOT NULL AND rn = 1) d
         WHERE exchange_prices.bse_code = d.key AND exchange_prices.exchange = 'NSE' AND exchange_prices.trade_date = d.trade_date
           AND (exchange_prices.delivery_qty IS NOT d.delivery_qty OR exchange_prices.delivery_pct IS NOT d.delivery_pct)`,
      )
      .run().changes;
    db.prepare('INSERT OR IGNORE INTO sf_touched SELECT key, trade_date FROM sf_best ORDER BY 1, 2').run();
    db.prepare('INSERT OR IGNORE INTO sf_keys SELECT DISTINCT key FROM sf_touched').run();

    phase('exchange_prices: deliveries, sessions touched');
    // ── 5. daily_prices: the preferred exchange's bar of each touched session, else the other's ──
    const other = this.prefer === 'NSE' ? 'BSE' : 'NSE';
    // Into an empty daily_prices (a first import), the date index is built once after the rows rather than kept up
    // row by row (a year: 1.25 M rows, ≈ 1.4 s less CPU); DROP INDEX is part of the transaction, so a failure keeps it.
    const rebuildIndex = db.prepare('SELECT 1 FROM daily_prices LIMIT 1').get() === undefined;
    if (rebuildIndex) db.exec('DROP INDEX IF EXISTS idx_prices_date');
    written.daily_prices = db
      .prepare(
        `INSERT INTO daily_prices (bse_code, trade_date, open, high, low, close, volume)
         SELECT t.key, t.trade_date, coalesce(p.open, o.open), coalesce(p.high, o.high), coalesce(p.low, o.low), coalesce(p.close, o.close), coalesce(p.volume, o.volume)
         FROM sf_touched t
         LEFT JOIN exchange_prices p ON p.bse_code = t.key AND p.exchange = @prefer AND p.trade_date = t.trade_date
         LEFT JOIN exchange_prices o ON p.bse_code IS NULL AND o.bse_code = t.key AND o.exchange = @other AND o.trade_date = t.trade_date
         WHERE p.bse_code IS NOT NULL OR o.bse_code IS NOT NULL ORDER BY t.key, t.trade_date
         ON CONFLICT (bse_code, trade_date) DO UPDATE SET open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, volume = excluded.volume
         WHERE open IS NOT excluded.open OR high IS NOT excluded.high OR low IS NOT excluded.low OR close IS NOT excluded.close OR volume IS NOT excluded.volume`,
      )
      .run({ prefer: this.prefer, other }).changes;
    if (rebuildIndex) db.exec(MARKET_POST_LOAD_SQL);

    phase('daily_prices');
    // ── 6. Holidays: NSE's published lists for the years the import covers ─────────────────────
    const years = (db.prepare("SELECT DISTINCT CAST(substr(trade_date, 1, 4) AS INTEGER) FROM sf_touched UNION SELECT DISTINCT CAST(substr(list_date, 1, 4) AS INTEGER) FROM sf_bands WHERE list_date IS NOT NULL ORDER BY 1").pluck().all() as number[]).filter(
      (y) => PUBLISHED_YEARS.includes(y),
    );
    const hasBars = db.prepare('SELECT 1 FROM daily_prices WHERE trade_date = ? LIMIT 1').pluck();
    const addHoliday = db.prepare('INSERT OR IGNORE INTO market_holidays (holiday_on, name) VALUES (?, ?)');
    let seeded = 0;
    const keptAsSessions: string[] = [];
    for (const y of years) {
      for (const h of nseHolidays(y)) {
        if (hasBars.get(h.date) !== undefined) keptAsSessions.push(h.date);
        else seeded += addHoliday.run(h.date, h.name).changes;
      }
    }
    written.market_holidays = seeded;
    const calendar = TradingCalendar.fromDb(db);
    const lastSession = db.prepare('SELECT max(trade_date) FROM daily_prices').pluck().get() as string | null;

    phase('holidays');
    // ── 7. Price bands: a list for session D is in force from the next session ──────────────────
    const undatedDate = lastSession;
    for (const u of this.undatedLists) u.listDate = undatedDate;
    if (undatedDate === null) {
      const n = db.prepare('SELECT count(*) FROM sf_bands WHERE list_date IS NULL').pluck().get() as number;
      leave('nse-price-bands', 'sec_list.csv without a date and market.db has no session to date it by', n);
    } else db.prepare('UPDATE sf_bands SET list_date = ? WHERE list_date IS NULL').run(undatedDate);
    const putEff = db.prepare('INSERT INTO sf_list_dates VALUES (?, ?)');
    for (const d of db.prepare('SELECT DISTINCT list_date FROM sf_bands WHERE list_date IS NOT NULL ORDER BY 1').pluck().all() as string[]) putEff.run(d, calendar.nextSession(d));
    leave('nse-price-bands', 'symbol unknown (no NSE listing)', db.prepare(`SELECT count(*) FROM sf_bands b LEFT JOIN sf_sym_key sk ON sk.symbol = b.symbol WHERE b.list_date IS NOT NULL AND ${keyOf('b', 'list_date')} IS NULL`).pluck().get() as number);
    written.price_bands = db
      .prepare(
        `INSERT INTO price_bands (bse_code, effective_from, band_pct, remarks)
         SELECT key, effective_from, band_pct, remarks FROM (
           SELECT ${keyOf('b', 'list_date')} AS key, l.effective_from, b.band_pct, b.remarks,
                  row_number() OVER (PARTITION BY ${keyOf('b', 'list_date')}, l.effective_from ORDER BY b.seq) AS rn
           FROM sf_bands b JOIN sf_list_dates l ON l.list_date = b.list_date LEFT JOIN sf_sym_key sk ON sk.symbol = b.symbol
         ) WHERE key IS NOT NULL AND rn = 1 ORDER BY key, effective_from
         ON CONFLICT (bse_code, effective_from) DO UPDATE SET band_pct = excluded.band_pct, remarks = excluded.remarks
         WHERE band_pct IS NOT excluded.band_pct OR remarks IS NOT excluded.remarks`,
      )
      .run().changes;
    db.prepare(`INSERT OR IGNORE INTO sf_keys SELECT DISTINCT key FROM (SELECT ${keyOf('b', 'list_date')} AS key FROM sf_bands b LEFT JOIN sf_sym_key sk ON sk.symbol = b.symbol WHERE b.list_date IS NOT NULL) WHERE key IS NOT NULL`).run();

    phase('price_bands');
    // ── 8. Observed circuit hits: a session's bh file replaces that session's hits ──────────────
    leave('nse-pr-bh', 'symbol unknown (no NSE listing)', db.prepare(`SELECT count(*) FROM sf_hits h LEFT JOIN sf_sym_key sk ON sk.symbol = h.symbol WHERE ${keyOf('h', 'trade_date')} IS NULL`).pluck().get() as number);
    const sessions = [...this.hitSessions].sort(byStr);
    const delHits = db.prepare('DELETE FROM circuit_hits WHERE trade_date = ?');
    const addSession = db.prepare("INSERT INTO circuit_hit_sessions (trade_date, exchange) VALUES (?, 'NSE') ON CONFLICT (trade_date) DO NOTHING");
    let deleted = 0;
    written.circuit_hit_sessions = 0;
    for (const d of sessions) {
      deleted += delHits.run(d).changes;
      written.circuit_hit_sessions += addSession.run(d).changes;
    }
    const inserted = db
      .prepare(
        `INSERT OR IGNORE INTO circuit_hits (bse_code, trade_date, side) SELECT DISTINCT key, trade_date, side FROM (
           SELECT ${keyOf('h', 'trade_date')} AS key, h.trade_date, h.side FROM sf_hits h LEFT JOIN sf_sym_key sk ON sk.symbol = h.symbol) WHERE key IS NOT NULL ORDER BY 1, 2, 3`,
      )
      .run().changes;
    written.circuit_hits = inserted;
    if (deleted > 0) written.circuit_hits_replaced = deleted;

    phase('circuit_hits');
    // ── 9. Corporate actions (bc first, then the stockflow CSV: the analyst's own list wins) ────
    const keysNow = new Set([...existingKeys, ...identKey.values()]);
    const codeKey = (code: string): string | null => bseListing.get(code) ?? (keysNow.has(code) ? code : null);
    const actions = db.prepare('SELECT rowid, * FROM sf_actions ORDER BY rank, seq').all() as {
      rowid: number; rank: number; ex_date: string; bse_code: string | null; isin: string | null; symbol: string | null; kind: string; factor: number; purpose: string; source: string;
    }[];
    const upAction = db.prepare(
      `INSERT INTO corporate_actions (bse_code, ex_date, kind, factor, purpose, source) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (bse_code, ex_date, kind) DO UPDATE SET factor = excluded.factor, purpose = excluded.purpose, source = excluded.source
       WHERE factor IS NOT excluded.factor OR purpose IS NOT excluded.purpose OR source IS NOT excluded.source`,
    );
    const addKey = db.prepare('INSERT OR IGNORE INTO sf_keys VALUES (?)');
    written.corporate_actions = 0;
    let actionsWritten = 0;
    for (const a of actions) {
      let key: string | null = null;
      if (a.bse_code !== null) key = codeKey(a.bse_code);
      if (key === null && a.isin !== null) key = lineageKey(a.isin) ?? null;
      if (key === null && a.symbol !== null) key = symbolKey(a.symbol, a.ex_date);
      const kind: ExchangeKind = a.rank === 0 ? 'nse-pr-bc' : 'stockflow-actions';
      if (key === null) {
        leave(kind, 'security unknown', 1);
        continue;
      }
      written.corporate_actions += upAction.run(key, a.ex_date, a.kind, a.factor, a.purpose, a.source).changes;
      actionsWritten++;
      addKey.run(key);
    }

    phase('corporate_actions');
    // ── 10. Market capitalisation ────────────────────────────────────────────────────────────
    const MCAP = `SELECT ${keyOf('m', 'trade_date')} AS key, m.trade_date, m.market_cap_cr, m.seq FROM sf_mcap m LEFT JOIN sf_sym_key sk ON sk.symbol = m.symbol`;
    leave('nse-pr-mcap', 'symbol unknown (no NSE listing)', db.prepare(`SELECT count(*) FROM (${MCAP}) WHERE key IS NULL`).pluck().get() as number);
    // The last value read for each key and session (the first of its group in this order), then written in key order.
    db.prepare(`INSERT OR IGNORE INTO sf_mcap_best SELECT key, trade_date, market_cap_cr FROM (${MCAP}) WHERE key IS NOT NULL ORDER BY key, trade_date, seq DESC`).run();
    written.market_caps = db
      .prepare(
        `INSERT INTO market_caps (bse_code, trade_date, market_cap_cr) SELECT key, trade_date, market_cap_cr FROM sf_mcap_best WHERE true ORDER BY key, trade_date
         ON CONFLICT (bse_code, trade_date) DO UPDATE SET market_cap_cr = excluded.market_cap_cr WHERE market_cap_cr IS NOT excluded.market_cap_cr`,
      )
      .run().changes;
    db.prepare('INSERT OR IGNORE INTO sf_keys SELECT DISTINCT key FROM sf_mcap_best').run();

    phase('market_caps');
    // ── 11. The master list, for every key this import touched (or a master file named) that has bars ──
    const hasPrices = db.prepare('SELECT 1 FROM exchange_prices WHERE bse_code = ? LIMIT 1').pluck();
    let noBars = 0;
    for (const s of this.bseScrips.values()) {
      const key = codeKey(s.code) ?? lineageKey(s.isin) ?? null;
      if (key !== null && hasPrices.get(key) !== undefined) addKey.run(key);
      else noBars++;
    }
    leave('bse-scrips', 'no bars imported for it (not added to the master list)', noBars);
    noBars = 0;
    for (const m of this.nseMaster.values()) {
      const key = nseListings.has(m.symbol.toUpperCase()) ? symbolKey(m.symbol.toUpperCase(), '9999-12-31') : (lineageKey(m.isin) ?? null);
      if (key !== null && hasPrices.get(key) !== undefined) addKey.run(key);
      else noBars++;
    }
    leave('nse-equity-list', 'no bars imported for it (not added to the master list)', noBars);
    phase('master files');
    const master = this.master(lastSession);
    written.master_stock_list = master.upserted;
    phase('master_stock_list');

    return {
      keys: { touched: db.prepare('SELECT count(*) FROM sf_keys').pluck().get() as number, newBse, newNseOnly: newNseOnlyKeys.length, newNseOnlyKeys, ambiguous },
      written,
      leftOut,
      master,
      actions: { written: actionsWritten, ignoredByKind: this.ignoredActions, notUnderstood: this.notUnderstood },
      holidays: { seeded, years, keptAsSessions },
      undatedBandLists: this.undatedLists,
    };
  }

  private master(lastSession: string | null): ExchangeImportSummary['master'] {
    const db = this.db;
    const keys = db.prepare('SELECT key FROM sf_keys k WHERE EXISTS (SELECT 1 FROM exchange_prices e WHERE e.bse_code = k.key) ORDER BY key').pluck().all() as string[];
    const existing = db.prepare('SELECT * FROM master_stock_list WHERE bse_code = ?');
    const nseOf = db.prepare("SELECT symbol FROM exchange_listings INDEXED BY idx_listing_code WHERE bse_code = ? AND exchange = 'NSE' ORDER BY last_seen DESC, symbol LIMIT 1").pluck();
    const bseOf = db.prepare("SELECT symbol FROM exchange_listings INDEXED BY idx_listing_code WHERE bse_code = ? AND exchange = 'BSE' ORDER BY last_seen DESC, symbol").pluck();
    const isinsOf = db.prepare('SELECT isin FROM security_isins WHERE bse_code = ? ORDER BY last_seen DESC, isin').pluck();
    const mcapOf = db.prepare('SELECT market_cap_cr FROM market_caps WHERE bse_code = ? ORDER BY trade_date DESC LIMIT 1').pluck();
    const bandAt = db.prepare('SELECT band_pct FROM price_bands WHERE bse_code = ? AND effective_from <= ? ORDER BY effective_from DESC LIMIT 1');
    const firstBand = db.prepare('SELECT band_pct FROM price_bands WHERE bse_code = ? ORDER BY effective_from LIMIT 1');
    // The name the latest bar of a key carried (for a key no master file names).
    const barNames = new Map<string, { last: string; name: string }>();
    for (const x of this.idents.values()) {
      const k = this.identKey.get(x.id);
      if (k === undefined || x.name === null) continue;
      const b = barNames.get(k);
      if (!b || x.last > b.last || (x.last === b.last && x.name < b.name)) barNames.set(k, { last: x.last, name: x.name });
    }
    const scripByIsin = new Map<string, BseScrip>();
    for (const s of [...this.bseScrips.values()].sort((a, b) => byStr(a.code, b.code))) if (!scripByIsin.has(s.isin)) scripByIsin.set(s.isin, s);
    const nseByIsin = new Map<string, NseListing>();
    for (const s of [...this.nseMaster.values()].sort((a, b) => byStr(a.symbol, b.symbol))) if (!nseByIsin.has(s.isin)) nseByIsin.set(s.isin, s);
    const upsert = db.prepare(
      `INSERT INTO master_stock_list (bse_code, nse_symbol, company_name, sector, status, market_cap_cr, circuit_band_pct, listed_on)
       VALUES (@bse_code, @nse_symbol, @company_name, @sector, @status, @market_cap_cr, @circuit_band_pct, @listed_on)
       ON CONFLICT (bse_code) DO UPDATE SET nse_symbol = excluded.nse_symbol, company_name = excluded.company_name, sector = excluded.sector, status = excluded.status,
         market_cap_cr = excluded.market_cap_cr, circuit_band_pct = excluded.circuit_band_pct, listed_on = excluded.listed_on
       WHERE nse_symbol IS NOT excluded.nse_symbol OR company_name IS NOT excluded.company_name OR sector IS NOT excluded.sector OR status IS NOT excluded.status
         OR market_cap_cr IS NOT excluded.market_cap_cr OR circuit_band_pct IS NOT excluded.circuit_band_pct OR listed_on IS NOT excluded.listed_on`,
    );
    let upserted = 0;
    let noBand = 0;
    let sectorUnclassified = 0;
    const bandAssumedKeys: string[] = [];
    for (const key of keys) {
      const old = existing.get(key) as { nse_symbol: string | null; company_name: string; sector: string; status: string; market_cap_cr: number | null; circuit_band_pct: number | null; listed_on: string | null } | undefined;
      const nse = (nseOf.get(key) as string | undefined) ?? old?.nse_symbol ?? null;
      const isins = isinsOf.all(key) as string[];
      const codes = [...(bseOf.all(key) as string[]), key];
      const scrip = codes.map((c) => this.bseScrips.get(c)).find((s) => s !== undefined) ?? isins.map((i) => scripByIsin.get(i)).find((s) => s !== undefined);
      const eq = (nse !== null ? this.nseMaster.get(nse) : undefined) ?? isins.map((i) => nseByIsin.get(i)).find((s) => s !== undefined);
      const name = eq?.name ?? scrip?.name ?? old?.company_name ?? barNames.get(key)?.name ?? nse ?? key;
      let sector = scrip?.industry ?? old?.sector ?? UNCLASSIFIED_SECTOR;
      if (sector === UNCLASSIFIED_SECTOR) sectorUnclassified++;
      const status = (scrip ? STATUS[scrip.status.trim().toUpperCase()] : undefined) ?? old?.status ?? 'ACTIVE';
      const mcap = (mcapOf.get(key) as number | undefined) ?? old?.market_cap_cr ?? null;
      let band: number | null;
      const at = lastSession === null ? undefined : (bandAt.get(key, lastSession) as { band_pct: number | null } | undefined);
      const first = at ?? (firstBand.get(key) as { band_pct: number | null } | undefined);
      if (first !== undefined) band = first.band_pct;
      else if (old !== undefined) band = old.circuit_band_pct;
      else {
        band = ASSUMED_BAND_PCT;
        bandAssumedKeys.push(key);
      }
      if (band === null) noBand++;
      sector = sector.trim() === '' ? UNCLASSIFIED_SECTOR : sector;
      const listedOn = eq?.listedOn ?? old?.listed_on ?? null;
      upserted += upsert.run({ bse_code: key, nse_symbol: nse, company_name: name, sector, status, market_cap_cr: mcap, circuit_band_pct: band, listed_on: listedOn }).changes;
    }
    return { upserted, noBand, bandAssumed: bandAssumedKeys.length, bandAssumedKeys, sectorUnclassified };
  }
}

const counts = (o: Record<string, number>): string =>
  Object.entries(o)
    .sort(([a], [b]) => byStr(a, b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

/** The import's summary as the CLI prints it. */
export function importText(s: ExchangeImportSummary): string {
  const lines = [`imported into ${s.marketDb} (daily_prices from ${s.prefer} where both exchanges have a bar): ${readLines(s.read).join('\n')}`];
  lines.push(`keys: ${s.keys.touched} written (${s.keys.newBse} new BSE scrip codes, ${s.keys.newNseOnly} new NSE-only keys${s.keys.newNseOnly > 0 ? `: ${s.keys.newNseOnlyKeys.slice(0, 10).join(', ')}${s.keys.newNseOnly > 10 ? ', …' : ''}` : ''})`);
  for (const a of s.keys.ambiguous) lines.push(`  identity pointing to several keys: ${a}`);
  lines.push(`rows written (inserted or changed): ${counts(s.written) || '-'}`);
  if (Object.keys(s.leftOut).length > 0) lines.push(`left out when writing: ${counts(s.leftOut)}`);
  lines.push(
    `master list: ${s.master.upserted} row(s) written; No Band ${s.master.noBand}; band assumed ${ASSUMED_BAND_PCT}% (no price-band list covered them) ${s.master.bandAssumed}${s.master.bandAssumed > 0 ? ` (${s.master.bandAssumedKeys.slice(0, 10).join(', ')}${s.master.bandAssumed > 10 ? ', …' : ''})` : ''}; sector ${UNCLASSIFIED_SECTOR} ${s.master.sectorUnclassified}`,
  );
  lines.push(`corporate actions: ${s.actions.written} written; ignored (no price factor): ${counts(s.actions.ignoredByKind) || '-'}`);
  for (const p of s.actions.notUnderstood) lines.push(`  not understood: ${p}`);
  if (s.holidays.years.length > 0) {
    lines.push(`holidays: ${s.holidays.seeded} added from NSE's published lists for ${s.holidays.years.join(', ')}${s.holidays.keptAsSessions.length > 0 ? `; kept as sessions (bars exist): ${s.holidays.keptAsSessions.join(', ')}` : ''}`);
  }
  for (const u of s.undatedBandLists) lines.push(`undated price-band list ${u.label}: taken as the list of ${u.listDate ?? '(no session)'}, in force from the next session`);
  lines.push(`rejects: ${s.read.rejectCount}${s.read.rejectCount > 0 ? ` (listed in ${s.rejectsFile})` : ''}`);
  return `${lines.join('\n')}\n`;
}
