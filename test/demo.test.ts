import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMarket, type GenerateSummary } from '../src/demo/generate.js';
import { DEMO_LAST_SESSION } from '../src/demo/defaults.js';
import { festivalDates, nseHolidays, FESTIVALS, PUBLISHED_YEARS } from '../src/demo/holidays.js';
import { Rng } from '../src/demo/random.js';
import { StockflowError } from '../src/errors.js';
import { openMarketReadonly } from '../src/market/db.js';

const STOCKS = 150;
const DAYS = 300;
const TABLES = ['master_stock_list', 'daily_prices', 'quarterly_results', 'earnings_calendar', 'news_sentiment', 'market_holidays'];

interface Bar {
  trade_date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}
interface Master {
  bse_code: string;
  nse_symbol: string | null;
  company_name: string;
  sector: string;
  status: string;
  market_cap_cr: number;
  circuit_band_pct: number;
  listed_on: string | null;
}

// Independent helpers: plain calendar arithmetic and integer paise.
const DAY_MS = 86_400_000;
const epoch = (d: string): number => Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10))) / DAY_MS;
const dow = (d: string): number => new Date(epoch(d) * DAY_MS).getUTCDay();
const iso = (e: number): string => new Date(e * DAY_MS).toISOString().slice(0, 10);
const paise = (p: number): number => Math.round(p * 100);
/** The upper-circuit price in paise: previous close + band, floored to a 5-paise tick (integer arithmetic). */
const ucPaise = (prev: number, band: number): number => Math.floor((paise(prev) * (100 + band)) / 500) * 5;
const lcPaise = (prev: number, band: number): number => Math.ceil((paise(prev) * (100 - band)) / 500) * 5;

function tableHash(db: Database.Database, table: string): string {
  const cols = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
  const rows = db.prepare(`SELECT ${cols.join(',')} FROM ${table} ORDER BY ${cols.join(',')}`).raw().all();
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}

let dir: string;
let fileA: string;
let fileB: string;
let fileC: string;
let summary: GenerateSummary;
const progress: [number, number][] = [];
let listingA: string[];
let db: Database.Database;
let master: Master[];
let bars: Map<string, Bar[]>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sf-demo-'));
  fileA = path.join(dir, 'a', 'nested', 'market.db'); // the directory does not exist yet
  fileB = path.join(dir, 'b', 'market.db');
  fileC = path.join(dir, 'c', 'market.db');
  summary = await generateMarket({ file: fileA, stocks: STOCKS, days: DAYS, seed: 42, onProgress: (d, t) => progress.push([d, t]) });
  listingA = readdirSync(path.dirname(fileA));
  await generateMarket({ file: fileB, stocks: STOCKS, days: DAYS, seed: 42 });
  await generateMarket({ file: fileC, stocks: STOCKS, days: DAYS, seed: 7 });
  db = new Database(fileA, { readonly: true });
  master = db.prepare('SELECT * FROM master_stock_list ORDER BY bse_code').all() as Master[];
  bars = new Map();
  for (const r of db.prepare('SELECT * FROM daily_prices ORDER BY bse_code, trade_date').all() as (Bar & { bse_code: string })[]) {
    const list = bars.get(r.bse_code) ?? [];
    list.push(r);
    bars.set(r.bse_code, list);
  }
});

afterAll(() => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('generateMarket: the file', () => {
  it('reports what it wrote and leaves no temporary files', () => {
    expect(summary.stocks).toBe(STOCKS);
    expect(summary.file).toBe(path.resolve(fileA));
    expect(summary.lastSession).toBe('2025-11-13');
    expect(summary.priceRows).toBe((db.prepare('SELECT count(*) AS n FROM daily_prices').get() as { n: number }).n);
    expect(summary.active).toBe(master.filter((m) => m.status === 'ACTIVE').length);
    expect(summary.firstSession).toBe((db.prepare('SELECT min(trade_date) AS d FROM daily_prices').get() as { d: string }).d);
    expect(listingA).toEqual(['market.db']);
  });

  it('reports progress from (0, total) upwards to (total, total)', () => {
    expect(progress[0]).toEqual([0, STOCKS]);
    expect(progress[progress.length - 1]).toEqual([STOCKS, STOCKS]);
    for (let i = 1; i < progress.length; i++) expect(progress[i][0]).toBeGreaterThan(progress[i - 1][0]);
  });

  it('is a WAL-mode market database that the readers open', () => {
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const ro = openMarketReadonly(fileA);
    try {
      const idx = ro.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'idx_prices_date'").get();
      expect(idx).toBeDefined();
    } finally {
      ro.close();
    }
  });

  it('is deterministic: the same seed gives identical tables, another seed different ones', () => {
    const b = new Database(fileB, { readonly: true });
    const c = new Database(fileC, { readonly: true });
    try {
      for (const t of TABLES) expect(tableHash(b, t), t).toBe(tableHash(db, t));
      for (const t of ['master_stock_list', 'daily_prices', 'quarterly_results', 'news_sentiment']) expect(tableHash(c, t), t).not.toBe(tableHash(db, t));
    } finally {
      b.close();
      c.close();
    }
  });

  it('leaves an existing market.db untouched when generation fails part way', async () => {
    const target = path.join(dir, 'keep', 'market.db');
    await generateMarket({ file: target, stocks: 20, days: 40, seed: 1 });
    const before = readFileSync(target);
    await expect(
      generateMarket({
        file: target,
        stocks: 300,
        days: 40,
        seed: 2,
        onProgress: (done) => {
          if (done >= 200) throw new Error('boom');
        },
      }),
    ).rejects.toThrow('boom');
    expect(readFileSync(target).equals(before)).toBe(true);
    expect(readdirSync(path.dirname(target))).toEqual(['market.db']);
  });

  it('removes temporary files left by a dead process, and replaces a non-database target', async () => {
    const d = path.join(dir, 'stale');
    const target = path.join(d, 'market.db');
    await generateMarket({ file: target, stocks: 10, days: 30, seed: 3 });
    writeFileSync(path.join(d, 'market.db.tmp-999999999'), 'half written');
    writeFileSync(target, 'not a database');
    await generateMarket({ file: target, stocks: 10, days: 30, seed: 3 });
    expect(readdirSync(d)).toEqual(['market.db']);
    const x = new Database(target, { readonly: true });
    try {
      expect((x.prepare('SELECT count(*) AS n FROM master_stock_list').get() as { n: number }).n).toBe(10);
    } finally {
      x.close();
    }
  });

  // The worker thread runs compiled JavaScript, so this compares the two paths of the built
  // module (npm test builds first); it is skipped when nothing is built.
  const builtGenerate = path.resolve('dist/src/demo/generate.js');
  it.skipIf(!existsSync(path.resolve('dist/src/demo/worker.js')))('writes the same tables on a worker thread as on the calling thread', async () => {
    const built = (await import(pathToFileURL(builtGenerate).href)) as typeof import('../src/demo/generate.js');
    const w = path.join(dir, 'worker', 'market.db');
    const t = path.join(dir, 'thread', 'market.db');
    const steps: number[] = [];
    await built.generateMarket({ file: w, stocks: 250, days: 60, seed: 11, useWorker: true, onProgress: (d) => steps.push(d) });
    await built.generateMarket({ file: t, stocks: 250, days: 60, seed: 11, useWorker: false });
    expect(steps).toEqual([0, 100, 200, 250]);
    const a = new Database(w, { readonly: true });
    const b = new Database(t, { readonly: true });
    try {
      for (const table of TABLES) expect(tableHash(a, table), table).toBe(tableHash(b, table));
    } finally {
      a.close();
      b.close();
    }
  });

  it('refuses impossible sizes with a BAD_ARGS error', async () => {
    for (const bad of [{ stocks: 0, days: 100, seed: 1 }, { stocks: 10, days: 5, seed: 1 }, { stocks: 10, days: 100, seed: -1 }, { stocks: 1.5, days: 100, seed: 1 }]) {
      const err = await generateMarket({ file: path.join(dir, 'bad', 'market.db'), ...bad }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StockflowError);
      expect((err as StockflowError).kind).toBe('BAD_ARGS');
    }
  });
});

describe('generateMarket: the master list', () => {
  it('has unique 6-digit codes, unique uppercase symbols (some null), names, ~20 sectors, bands and caps', () => {
    expect(master).toHaveLength(STOCKS);
    expect(new Set(master.map((m) => m.bse_code)).size).toBe(STOCKS);
    for (const m of master) {
      expect(m.bse_code).toMatch(/^5[0-4]\d{4}$/);
      expect(m.company_name).toMatch(/^[A-Z][A-Z0-9 &().-]+ (LTD|LIMITED)$/);
      expect([2, 5, 10, 20]).toContain(m.circuit_band_pct);
      expect(m.market_cap_cr).toBeGreaterThan(0);
      expect(m.listed_on).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    const symbols = master.map((m) => m.nse_symbol).filter((s): s is string => s !== null);
    expect(symbols.length).toBeLessThan(STOCKS);
    expect(symbols.length).toBeGreaterThan(STOCKS * 0.7);
    expect(new Set(symbols).size).toBe(symbols.length);
    for (const s of symbols) expect(s).toMatch(/^[A-Z]{3,10}$/);
    expect(new Set(master.map((m) => m.sector)).size).toBeGreaterThanOrEqual(15);
    expect(new Set(master.map((m) => m.circuit_band_pct)).size).toBe(4);
    // Log-normal caps: median in the hundreds of crore, a long right tail.
    const caps = master.map((m) => m.market_cap_cr).sort((a, b) => a - b);
    const median = caps[Math.floor(caps.length / 2)];
    expect(median).toBeGreaterThan(80);
    expect(median).toBeLessThan(2000);
    expect(caps[caps.length - 1] / median).toBeGreaterThan(50);
  });

  it('mixes statuses and plants the dirt later stages must handle', () => {
    const lastSessions = [...new Set([...bars.values()].flatMap((b) => b.map((x) => x.trade_date)))].sort();
    const end = lastSessions[lastSessions.length - 1];
    const by = (s: string): Master[] => master.filter((m) => m.status === s);
    expect(by('SUSPENDED').length).toBeGreaterThanOrEqual(2);
    expect(by('DELISTED').length).toBeGreaterThanOrEqual(1);
    for (const m of [...by('SUSPENDED'), ...by('DELISTED')]) {
      const b = bars.get(m.bse_code) ?? [];
      expect(b.length).toBeGreaterThan(0);
      expect(b[b.length - 1].trade_date < end).toBe(true);
    }
    const active = by('ACTIVE');
    // Stale: ACTIVE, last bar 10–30 sessions before the end.
    const stale = active.filter((m) => {
      const b = bars.get(m.bse_code) ?? [];
      const gap = lastSessions.length - 1 - lastSessions.indexOf(b[b.length - 1].trade_date);
      return gap >= 10 && gap <= 30;
    });
    // Recently listed: fewer than 200 sessions, listed on the first bar.
    const recent = active.filter((m) => {
      const b = bars.get(m.bse_code) ?? [];
      return b.length < 200 && m.listed_on === b[0].trade_date && b[b.length - 1].trade_date === end;
    });
    expect(stale.length).toBeGreaterThanOrEqual(1);
    expect(recent.length).toBeGreaterThanOrEqual(1);
    // The batch skips these (no bar in the last 5 sessions, or too little history): well under its 2% budget.
    const recentFive = lastSessions.slice(-5)[0];
    const skipped = active.filter((m) => {
      const b = bars.get(m.bse_code) ?? [];
      return b.length < 250 || b[b.length - 1].trade_date < recentFive;
    });
    expect(skipped.length).toBeGreaterThanOrEqual(2);
    expect(skipped.length / active.length).toBeLessThan(0.02);
    // Some stocks have no financials at all.
    const withResults = new Set((db.prepare('SELECT DISTINCT bse_code FROM quarterly_results').pluck().all() as string[]));
    const without = master.filter((m) => !withResults.has(m.bse_code)).length;
    expect(without).toBeGreaterThanOrEqual(3);
    expect(without).toBeLessThanOrEqual(STOCKS * 0.1);
  });
});

describe('generateMarket: prices', () => {
  it('trades on weekdays that are not listed holidays, every one of them, ending at the last session', () => {
    const holidays = new Set(db.prepare('SELECT holiday_on FROM market_holidays').pluck().all() as string[]);
    const dates = (db.prepare('SELECT DISTINCT trade_date FROM daily_prices ORDER BY 1').pluck().all() as string[]);
    expect(dates).toHaveLength(DAYS);
    expect(dates[dates.length - 1]).toBe(DEMO_LAST_SESSION);
    const expected: string[] = [];
    for (let e = epoch(dates[0]); e <= epoch(DEMO_LAST_SESSION); e++) {
      const d = iso(e);
      if (dow(d) !== 0 && dow(d) !== 6 && !holidays.has(d)) expected.push(d);
    }
    expect(dates).toEqual(expected);
    // Real NSE holidays of the period are there, and the next year is filled in.
    for (const d of ['2024-10-02', '2024-11-01', '2025-03-14', '2025-08-15', '2025-10-21', '2025-10-22', '2025-12-25', '2026-01-26']) expect(holidays.has(d), d).toBe(true);
    const years = [...holidays].map((d) => d.slice(0, 4));
    expect(years.filter((y) => y === '2026').length).toBeGreaterThanOrEqual(10);
    expect(years.includes(dates[0].slice(0, 4))).toBe(true);
    for (const d of holidays) expect([0, 6]).not.toContain(dow(d));
  });

  it('keeps every close within its band, upper circuits exactly at the band with high = close, OHLC consistent, on the tick', () => {
    // Violations are collected (cheap) and asserted once, naming the offending rows.
    const bad: string[] = [];
    const check = (ok: boolean, what: string, code: string, d: string): void => {
      if (!ok && bad.length < 20) bad.push(`${code} ${d}: ${what}`);
    };
    let ucDays = 0;
    let zeroDays = 0;
    let n = 0;
    for (const m of master) {
      const b = bars.get(m.bse_code) ?? [];
      for (let i = 0; i < b.length; i++) {
        const x = b[i];
        const c = m.bse_code;
        const d = x.trade_date;
        n++;
        for (const p of [x.open, x.high, x.low, x.close]) {
          check(Math.abs(p * 100 - paise(p)) < 1e-6 && paise(p) % 5 === 0, `${p} off the 0.05 tick`, c, d);
          check(p >= 10, `${p} below Rs 10`, c, d);
        }
        check(x.high >= Math.max(x.open, x.close), 'high < max(open, close)', c, d);
        check(x.low <= Math.min(x.open, x.close), 'low > min(open, close)', c, d);
        check(Number.isInteger(x.volume) && x.volume >= 0, `volume ${x.volume}`, c, d);
        if (i === 0) continue;
        const prev = b[i - 1].close;
        const up = ucPaise(prev, m.circuit_band_pct);
        const down = lcPaise(prev, m.circuit_band_pct);
        // Every price of the day within ±band of the previous close.
        check(paise(x.close) <= up && paise(x.high) <= up, `above the upper band ${up / 100} (prev ${prev})`, c, d);
        check(paise(x.close) >= down && paise(x.low) >= down, `below the lower band ${down / 100} (prev ${prev})`, c, d);
        check(x.close <= prev * (1 + m.circuit_band_pct / 100) + 1e-9, 'close above prev × (1 + band)', c, d);
        check(x.close >= prev * (1 - m.circuit_band_pct / 100) - 1e-9, 'close below prev × (1 − band)', c, d);
        if (paise(x.close) === up) {
          ucDays++;
          check(x.high === x.close, 'upper-circuit day with high ≠ close', c, d);
        }
        if (x.volume === 0) {
          zeroDays++;
          check(x.open === prev && x.high === prev && x.low === prev && x.close === prev, 'zero-volume day that moved', c, d);
        }
      }
    }
    expect(bad).toEqual([]);
    expect(ucDays / n).toBeGreaterThan(0.003);
    expect(ucDays / n).toBeLessThan(0.05);
    expect(zeroDays).toBeGreaterThan(0);
    expect(zeroDays / n).toBeLessThan(0.01);
  });

  it('has heavy-tailed volumes', () => {
    const vols = (db.prepare('SELECT volume FROM daily_prices WHERE volume > 0').pluck().all() as number[]).sort((a, b) => a - b);
    const q = (p: number): number => vols[Math.floor(p * (vols.length - 1))];
    expect(q(0.99) / q(0.5)).toBeGreaterThan(20);
    expect(vols[0]).toBeGreaterThanOrEqual(1);
  });
});

describe('generateMarket: results, calendar and news', () => {
  it('announces quarterly results 30–60 days after the quarter end, with enough history', () => {
    const rows = db.prepare('SELECT * FROM quarterly_results ORDER BY bse_code, period_end').all() as {
      bse_code: string; period_end: string; announced_on: string; revenue_cr: number; net_profit_cr: number; eps: number;
    }[];
    expect(rows.length).toBeGreaterThan(STOCKS * 8);
    const bad: string[] = [];
    for (const r of rows) {
      const lag = epoch(r.announced_on) - epoch(r.period_end);
      const where = `${r.bse_code} ${r.period_end}`;
      if (!['03-31', '06-30', '09-30', '12-31'].includes(r.period_end.slice(5))) bad.push(`${where}: not a quarter end`);
      if (lag < 30 || lag > 60) bad.push(`${where}: announced ${lag} days after the quarter end`);
      if (r.announced_on > DEMO_LAST_SESSION) bad.push(`${where}: announced in the future (${r.announced_on})`);
      if (!(r.revenue_cr > 0)) bad.push(`${where}: revenue ${r.revenue_cr}`);
      if (r.eps !== 0 && r.net_profit_cr !== 0 && Math.sign(r.eps) !== Math.sign(r.net_profit_cr)) bad.push(`${where}: EPS sign differs from profit`);
    }
    expect(bad.slice(0, 20)).toEqual([]);
    expect(rows.some((r) => r.net_profit_cr < 0)).toBe(true);
    // ≥ 6 quarters announced before each stock's first bar (so financial features exist from the start).
    const firstBar = new Map([...bars].map(([c, b]) => [c, b[0].trade_date]));
    const before = new Map<string, number>();
    for (const r of rows) if (r.announced_on < (firstBar.get(r.bse_code) ?? '')) before.set(r.bse_code, (before.get(r.bse_code) ?? 0) + 1);
    const codes = new Set(rows.map((r) => r.bse_code));
    expect([...codes].filter((c) => (before.get(c) ?? 0) < 6)).toEqual([]);
  });

  it('lists expected result dates near the real ones, including upcoming ones for active stocks', () => {
    const anns = db.prepare('SELECT bse_code, announced_on FROM quarterly_results').all() as { bse_code: string; announced_on: string }[];
    const cal = db.prepare('SELECT bse_code, expected_on FROM earnings_calendar').all() as { bse_code: string; expected_on: string }[];
    const annBy = new Map<string, number[]>();
    for (const a of anns) {
      const list = annBy.get(a.bse_code) ?? [];
      list.push(epoch(a.announced_on));
      annBy.set(a.bse_code, list);
    }
    const far = cal
      .filter((x) => x.expected_on <= '2025-11-11')
      .filter((c) => !(annBy.get(c.bse_code) ?? []).some((a) => Math.abs(a - epoch(c.expected_on)) <= 2));
    expect(far).toEqual([]);
    const upcoming = new Set(cal.filter((c) => c.expected_on > DEMO_LAST_SESSION).map((c) => c.bse_code));
    expect(master.filter((x) => x.status === 'ACTIVE' && annBy.has(x.bse_code) && !upcoming.has(x.bse_code))).toEqual([]);
    expect(master.filter((x) => x.status !== 'ACTIVE' && upcoming.has(x.bse_code))).toEqual([]);
  });

  it('has a few news items per stock per month, scores in [-1, 1], headlines', () => {
    const r = db.prepare('SELECT count(*) AS n, min(score) AS lo, max(score) AS hi, min(length(headline)) AS h FROM news_sentiment').get() as { n: number; lo: number; hi: number; h: number };
    const months = DAYS / 21;
    expect(r.n / STOCKS / months).toBeGreaterThan(1);
    expect(r.n / STOCKS / months).toBeLessThan(8);
    expect(r.lo).toBeGreaterThanOrEqual(-1);
    expect(r.hi).toBeLessThanOrEqual(1);
    expect(r.h).toBeGreaterThan(10);
  });
});

describe('generateMarket: the planted signal', () => {
  // Observations: (stock, session t) with 50 sessions behind and 5 ahead; label = an upper-circuit
  // close (by the integer-paise rule above) in sessions t+1..t+5.
  interface Obs { label: number; volRatio: number; retRatio: number; dte: number; sent: number }
  let obs: Obs[];

  beforeAll(() => {
    const band = new Map(master.map((m) => [m.bse_code, m.circuit_band_pct]));
    const cal = new Map<string, number[]>();
    for (const c of db.prepare('SELECT bse_code, expected_on FROM earnings_calendar ORDER BY 2').all() as { bse_code: string; expected_on: string }[]) {
      const list = cal.get(c.bse_code) ?? [];
      list.push(epoch(c.expected_on));
      cal.set(c.bse_code, list);
    }
    const news = new Map<string, { d: number; s: number }[]>();
    for (const n of db.prepare('SELECT bse_code, published_on, score FROM news_sentiment').all() as { bse_code: string; published_on: string; score: number }[]) {
      const list = news.get(n.bse_code) ?? [];
      list.push({ d: epoch(n.published_on), s: n.score });
      news.set(n.bse_code, list);
    }
    obs = [];
    for (const [code, b] of bars) {
      const bp = band.get(code) ?? 0;
      const uc = b.map((x, i) => (i > 0 && paise(x.close) === ucPaise(b[i - 1].close, bp) ? 1 : 0));
      const ret = b.map((x, i) => (i > 0 ? x.close / b[i - 1].close - 1 : 0));
      const sd = (from: number, to: number): number => {
        const xs = ret.slice(from, to + 1);
        const mu = xs.reduce((a, v) => a + v, 0) / xs.length;
        return Math.sqrt(xs.reduce((a, v) => a + (v - mu) ** 2, 0) / (xs.length - 1));
      };
      const meanVol = (from: number, to: number): number => b.slice(from, to + 1).reduce((a, x) => a + x.volume, 0) / (to - from + 1);
      for (let t = 51; t + 5 < b.length; t++) {
        const d = epoch(b[t + 1].trade_date);
        const next = (cal.get(code) ?? []).find((e) => e >= d);
        const week = (news.get(code) ?? []).filter((n) => n.d >= d - 7 && n.d < d);
        obs.push({
          label: uc.slice(t + 1, t + 6).some((u) => u === 1) ? 1 : 0,
          volRatio: meanVol(t - 9, t) / Math.max(1, meanVol(t - 49, t)),
          retRatio: sd(t - 9, t) / sd(t - 49, t),
          dte: next === undefined ? 120 : Math.min(120, next - d),
          sent: week.length ? week.reduce((a, n) => a + n.s, 0) / week.length : 0,
        });
      }
    }
  });

  const rate = (xs: Obs[]): number => xs.reduce((a, o) => a + o.label, 0) / xs.length;
  const terciles = (key: (o: Obs) => number): [number, number] => {
    const sorted = [...obs].sort((a, b) => key(a) - key(b));
    const k = Math.floor(sorted.length / 3);
    return [rate(sorted.slice(0, k)), rate(sorted.slice(sorted.length - k))];
  };

  it('has a label rate (upper circuit within 5 sessions) of a few percent', () => {
    expect(obs.length).toBeGreaterThan(20000);
    const r = rate(obs);
    expect(r).toBeGreaterThan(0.03);
    expect(r).toBeLessThan(0.12);
  });

  it('raises the upper-circuit rate after a volume dry-up and a volatility contraction', () => {
    const [lowVol, highVol] = terciles((o) => o.volRatio);
    expect(lowVol).toBeGreaterThan(1.5 * highVol);
    const [lowRet, highRet] = terciles((o) => o.retRatio);
    expect(lowRet).toBeGreaterThan(1.15 * highRet);
  });

  it('raises it with positive news and a result due soon', () => {
    const [neg, pos] = terciles((o) => o.sent);
    expect(pos).toBeGreaterThan(1.2 * neg);
    const soon = obs.filter((o) => o.dte <= 10);
    const far = obs.filter((o) => o.dte > 30);
    expect(rate(soon)).toBeGreaterThan(1.3 * rate(far));
  });
});

describe('holidays', () => {
  it('computes festival dates within a day of the published NSE lists', () => {
    for (const y of PUBLISHED_YEARS) {
      const rules = festivalDates(y);
      for (const h of nseHolidays(y)) {
        const keys = Object.entries(FESTIVALS).filter(([, name]) => h.name.split(' / ').includes(name)).map(([k]) => k);
        for (const k of keys) {
          const near = rules.filter((f) => f.key === k).some((f) => Math.abs(epoch(f.date) - epoch(h.date)) <= 1);
          expect(near, `${y} ${h.name} ${h.date}`).toBe(true);
        }
      }
    }
  });

  it('knows the fixed and the computable dates of other years', () => {
    const y2026 = new Map(nseHolidays(2026).map((h) => [h.date, h.name]));
    expect(y2026.get('2026-01-26')).toBe('Republic Day');
    expect(y2026.get('2026-04-03')).toBe('Good Friday'); // Easter 2026 is 5 April
    expect(y2026.get('2026-12-25')).toBe('Christmas');
    expect(y2026.has('2026-08-15')).toBe(false); // a Saturday: not a trading holiday
    const y2019 = new Map(nseHolidays(2019).map((h) => [h.date, h.name]));
    expect(y2019.get('2019-04-19')).toBe('Good Friday'); // Easter 2019 is 21 April
    // Diwali 2019: Laxmi Pujan on Sunday 27 October, Balipratipada on the 28th (the rule may be a day off).
    const bali = [...y2019].filter(([, name]) => name.includes('Balipratipada')).map(([d]) => d);
    expect(bali).toHaveLength(1);
    expect(Math.abs(epoch(bali[0]) - epoch('2019-10-28'))).toBeLessThanOrEqual(1);
    for (const y of [2019, 2026, 2030]) {
      const list = nseHolidays(y);
      expect(list.length).toBeGreaterThanOrEqual(10);
      expect(list.length).toBeLessThanOrEqual(20);
      for (const h of list) expect([0, 6]).not.toContain(dow(h.date));
    }
  });
});

describe('Rng', () => {
  it('is a pure function of its keys', () => {
    const a = new Rng(42, 7, 1);
    const b = new Rng(42, 7, 1);
    const c = new Rng(42, 8, 1);
    const xa = Array.from({ length: 50 }, () => a.nextUint32());
    expect(Array.from({ length: 50 }, () => b.nextUint32())).toEqual(xa);
    expect(Array.from({ length: 50 }, () => c.nextUint32())).not.toEqual(xa);
  });

  it('draws uniforms and normals with the right moments', () => {
    const r = new Rng(1, 2, 3);
    const n = 200_000;
    let su = 0;
    let sz = 0;
    let sz2 = 0;
    let tail = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = r.float();
      if (!(u >= 0 && u < 1)) outside++;
      su += u;
      const z = r.normal();
      sz += z;
      sz2 += z * z;
      if (Math.abs(z) > 1.96) tail++;
    }
    expect(outside).toBe(0);
    expect(su / n).toBeCloseTo(0.5, 2);
    expect(sz / n).toBeCloseTo(0, 1);
    expect(sz2 / n).toBeCloseTo(1, 1);
    expect(tail / n).toBeGreaterThan(0.045);
    expect(tail / n).toBeLessThan(0.055);
  });
});
