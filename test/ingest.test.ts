/**
 * `stockflow data import`: validation and rejects, upsert semantics, the reject
 * threshold, and all-or-nothing transactions. Expected rejects are the lines
 * and reasons planted by hand in the fixtures; database state is compared
 * through a content hash computed here with plain SQL (every table, every
 * column with its SQLite type, rows in full order), not through the importer.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { importCsvs, type ImportFiles, type ImportSummary } from '../src/ingest/import.js';
import { StockflowError } from '../src/errors.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SAMPLES = path.join(ROOT, 'data', 'samples');
const sample = (f: string): string => path.join(SAMPLES, f);
const ALL_SAMPLES: ImportFiles = {
  master: sample('master.csv'),
  prices: sample('prices.csv'),
  results: sample('results.csv'),
  calendar: sample('calendar.csv'),
  sentiment: sample('sentiment.csv'),
  holidays: sample('holidays.csv'),
};

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'stockflow-ingest-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

let dirN = 0;
const freshDir = (): string => path.join(tmp, `d${++dirN}`);
const write = (dir: string, name: string, text: string): string => {
  const f = path.join(tmp, `${path.basename(dir)}-${name}`);
  writeFileSync(f, text);
  return f;
};

/** sha256 over every table's rows, each value with its SQLite type, in full column order. */
function dbHash(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const h = createHash('sha256');
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    for (const t of tables) {
      const cols = (db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
      const sel = cols.map((c) => `typeof(${c}) || ':' || quote(${c})`).join(', ');
      const order = cols.map((_, i) => String(i + 1)).join(', ');
      const rows = db.prepare(`SELECT ${sel} FROM ${t} ORDER BY ${order}`).raw().all();
      h.update(`${t}\n${JSON.stringify(rows)}\n`);
    }
    return h.digest('hex');
  } finally {
    db.close();
  }
}

function query<T>(file: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

const count = (file: string, table: string): number => query<{ n: number }>(file, `SELECT count(*) AS n FROM ${table}`)[0].n;
const marketDb = (dir: string): string => path.join(dir, 'market.db');
const dataLines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').slice(1).filter((l) => l !== '');

function readRejects(file: string): { file: string; line: number; reason: string; row: string }[] {
  const rows = parse(readFileSync(file, 'utf8'), { columns: true }) as { file: string; line: string; reason: string; row: string }[];
  return rows.map((r) => ({ ...r, line: Number(r.line) }));
}

async function importError(p: Promise<ImportSummary>): Promise<StockflowError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StockflowError) return e;
    throw e;
  }
  throw new Error('import succeeded but was expected to fail');
}

describe('importing the sample CSVs', () => {
  it('loads every row, and a second import leaves identical contents', async () => {
    const dir = freshDir();
    const first = await importCsvs({ dataDir: dir, files: ALL_SAMPLES, maxRejectRate: 0.01 });
    const h1 = dbHash(marketDb(dir));
    const second = await importCsvs({ dataDir: dir, files: ALL_SAMPLES, maxRejectRate: 0.01 });
    const h2 = dbHash(marketDb(dir));
    expect(h2).toBe(h1);

    // Row counts straight from the files (the samples have no quoted line breaks).
    const expected: [string, keyof ImportFiles][] = [
      ['master_stock_list', 'master'],
      ['daily_prices', 'prices'],
      ['quarterly_results', 'results'],
      ['earnings_calendar', 'calendar'],
      ['news_sentiment', 'sentiment'],
      ['market_holidays', 'holidays'],
    ];
    for (const [table, kind] of expected) {
      const n = dataLines(ALL_SAMPLES[kind]!).length;
      expect(count(marketDb(dir), table), table).toBe(n);
      const f = second.files.find((x) => x.table === table)!;
      expect(f).toMatchObject({ rows: n, accepted: n, rejected: 0 });
    }
    expect(first.rejected).toBe(0);
    expect(first.text.endsWith('\n')).toBe(true);
    expect(first.text.trim().split('\n')).toHaveLength(7); // six files + totals
    expect(readFileSync(first.rejectsFile, 'utf8')).toBe('file,line,reason,row\n');

    // One price row and one master row, read back against the CSV text.
    const last = dataLines(ALL_SAMPLES.prices).at(-1)!.split(',');
    const [bar] = query<Record<string, unknown>>(marketDb(dir), 'SELECT * FROM daily_prices WHERE bse_code = ? AND trade_date = ?', last[0], last[1]);
    expect(bar).toEqual({ bse_code: last[0], trade_date: last[1], open: Number(last[2]), high: Number(last[3]), low: Number(last[4]), close: Number(last[5]), volume: Number(last[6]) });
    const [sus] = query<Record<string, unknown>>(marketDb(dir), "SELECT * FROM master_stock_list WHERE status = 'SUSPENDED'");
    expect(sus).toEqual({ bse_code: '531455', nse_symbol: null, company_name: 'Malabar Agro Foods Ltd', sector: 'FMCG', status: 'SUSPENDED', market_cap_cr: 42.8, circuit_band_pct: 2, listed_on: '1994-05-09' });
    // A quoted headline with a comma and doubled quotes.
    const news = query<{ headline: string }>(marketDb(dir), "SELECT headline FROM news_sentiment WHERE bse_code = '512034' AND published_on = '2024-09-23'");
    expect(news.map((r) => r.headline)).toContain('Brokerage upgrades Deccan Cement to "buy", sees 20% upside');
  });

  it('keeps the samples folder small and the sample stocks long enough for features', () => {
    const total = Object.values(ALL_SAMPLES).reduce((a, f) => a + statSync(f!).size, 0) + statSync(sample('bad_prices.csv')).size;
    expect(total).toBeLessThan(1_000_000);
    const perCode = new Map<string, number>();
    for (const l of dataLines(ALL_SAMPLES.prices)) perCode.set(l.slice(0, 6), (perCode.get(l.slice(0, 6)) ?? 0) + 1);
    expect([...perCode.values()].filter((n) => n >= 300).length).toBeGreaterThanOrEqual(3);
  });
});

describe('rejected rows', () => {
  it('names each planted bad price row by line and reason (data/samples/bad_prices.csv)', async () => {
    const dir = freshDir();
    const bad = sample('bad_prices.csv');
    const s = await importCsvs({ dataDir: dir, files: { master: sample('master.csv'), prices: bad }, maxRejectRate: 1 });
    const expected = [
      [3, "trade_date '14/11/2025' is not in YYYY-MM-DD form"],
      [4, "trade_date '2025-02-30' is not a real calendar date"],
      [5, "open 'abc' is not a number"],
      [6, "high '1e999' is not a finite number"],
      [7, 'high 101.5 < close 102'],
      [8, 'low 99.50 > open 99.00'],
      [9, 'open 0 must be > 0'],
      [10, "volume '-500' is not a whole number >= 0"],
      [11, "volume '1250.5' is not a whole number >= 0"],
      [12, "bse_code '51203' is not 6 digits"],
      [13, 'bse_code 999999 is not in the master list'],
      [14, 'close is empty'],
      [15, 'expected 7 fields, found 8'],
      [16, 'duplicate of line 2 (bse_code 512034, trade_date 2025-11-14)'],
      [17, 'high 99.00 < close 100.00; low 101.00 > close 100.00'],
    ];
    const rejects = readRejects(path.join(dir, 'rejects.csv'));
    expect(rejects.map((r) => [r.line, r.reason])).toEqual(expected);
    expect(new Set(rejects.map((r) => r.file))).toEqual(new Set([bad]));
    // The `row` column is the rejected record, as one CSV line.
    const src = readFileSync(bad, 'utf8').split('\n');
    for (const r of rejects) expect(r.row).toBe(src[r.line - 1]);

    expect(s.files[1]).toEqual({ table: 'daily_prices', file: bad, rows: 17, accepted: 2, rejected: 15 });
    const kept = query<{ bse_code: string; trade_date: string; close: number }>(marketDb(dir), 'SELECT bse_code, trade_date, close FROM daily_prices ORDER BY 1, 2');
    expect(kept).toEqual([
      { bse_code: '512034', trade_date: '2025-11-14', close: 412.35 }, // line 2 wins over its duplicate on line 16
      { bse_code: '523817', trade_date: '2025-11-14', close: 105.55 },
    ]);
  });

  it('checks the other tables, with BOM, CRLF, any column order, blank lines and quoted line breaks', async () => {
    const dir = freshDir();
    const master = write(
      dir,
      'master.csv',
      '\ufeff' +
        [
          'Status, BSE_Code ,company_name,sector,circuit_band_pct,market_cap_cr,nse_symbol,listed_on',
          'ACTIVE,600001,Good One Ltd,Cement,10,120.5,GOODONE,2010-01-04',
          'LISTED,600002,Bad Status Ltd,Cement,10,,,',
          'ACTIVE,600003,Bad Band Ltd,Cement,15,,,',
          'ACTIVE,6000044,Long Code Ltd,Cement,5,,,',
          'ACTIVE,600005,,Cement,5,,,',
          'ACTIVE,600006,Neg Cap Ltd,Cement,5,-3,,',
          'ACTIVE,600007,Bad Listing Ltd,Cement,5,,,2010-13-01',
          'SUSPENDED,600001,Good One Again Ltd,Cement,10,,,',
          '"SUSPENDED","600008","Quoted, Comma Ltd","Textiles","2","","",""',
          '',
          ',,,,,,,',
          'DELISTED,600009,Two Problems Ltd,Cement,3,abc,,',
        ].join('\r\n') +
        '\r\n',
    );
    const prices = write(dir, 'prices.csv', 'bse_code,trade_date,open,high,low,close,volume\n600001,2025-09-01,10,11,9,10.5,100\n');
    const results = write(
      dir,
      'results.csv',
      [
        'bse_code,period_end,announced_on,revenue_cr,net_profit_cr,eps',
        '600001,2025-06-30,2025-08-10,100.5,-4.2,-0.5',
        '600001,2025-09-30,2025-09-15,101,5,0.6',
        '600001,2025-03-31,2025-05-20,1.2.3,5,0.6',
        '600002,2025-06-30,2025-08-10,1,1,1',
        '600001,2024-12-31,2025-02-10,,,',
        '',
      ].join('\n'),
    );
    const sentiment = write(
      dir,
      'sentiment.csv',
      [
        'bse_code,published_on,score,headline',
        '600001,2025-09-01,0.5,"Good One wins order,\nworth Rs 40 crore"',
        '600001,2025-09-02,1.5,Too happy',
        '600001,2025-09-03,-0.2,',
        '600001,2025-09-03,-0.3,',
        '"600001","2025-09-04","0.1","Multi\nline\nheadline"',
        '600001,2025-09-05,NaN,x',
        '600001,2025-09-01,0.4,"Good One wins order,\nworth Rs 40 crore"',
        '',
      ].join('\n'),
    );
    const calendar = write(dir, 'calendar.csv', 'expected_on,bse_code\n2025-11-20,600001\n2025-11-20,600099\n2025-11-31,600001\n');
    const holidays = write(dir, 'holidays.csv', 'holiday_on,name\n2025-12-25,Christmas\n2025-12-25,Christmas again\n25-12-2025,Christmas\n,Nameless\n');

    const s = await importCsvs({ dataDir: dir, files: { master, prices, results, calendar, sentiment, holidays }, maxRejectRate: 1 });
    const rejects = readRejects(path.join(dir, 'rejects.csv')).map((r) => [path.basename(r.file).replace(/^d\d+-/, ''), r.line, r.reason]);
    expect(rejects).toEqual([
      ['master.csv', 3, "status 'LISTED' is not ACTIVE, SUSPENDED or DELISTED"],
      ['master.csv', 4, 'circuit_band_pct 15 is not 2, 5, 10 or 20'],
      ['master.csv', 5, "bse_code '6000044' is not 6 digits"],
      ['master.csv', 6, 'company_name is empty'],
      ['master.csv', 7, 'market_cap_cr -3 must be >= 0'],
      ['master.csv', 8, "listed_on '2010-13-01' is not a real calendar date"],
      ['master.csv', 9, 'duplicate of line 2 (bse_code 600001)'],
      ['master.csv', 13, "market_cap_cr 'abc' is not a number; circuit_band_pct 3 is not 2, 5, 10 or 20"],
      ['results.csv', 3, 'announced_on 2025-09-15 is before period_end 2025-09-30'],
      ['results.csv', 4, "revenue_cr '1.2.3' is not a number"],
      ['results.csv', 5, 'bse_code 600002 is not in the master list'],
      ['calendar.csv', 3, 'bse_code 600099 is not in the master list'],
      ['calendar.csv', 4, "expected_on '2025-11-31' is not a real calendar date"],
      ['sentiment.csv', 4, 'score 1.5 is outside [-1, 1]'],
      ['sentiment.csv', 6, 'duplicate of line 5 (bse_code 600001, published_on 2025-09-03, headline "")'],
      ['sentiment.csv', 10, "score 'NaN' is not a number"],
      ['sentiment.csv', 11, 'duplicate of line 2 (bse_code 600001, published_on 2025-09-01, headline "Good One wins order,\\nworth Rs 40 crore")'],
      ['holidays.csv', 3, 'duplicate of line 2 (holiday_on 2025-12-25)'],
      ['holidays.csv', 4, "holiday_on '25-12-2025' is not in YYYY-MM-DD form"],
      ['holidays.csv', 5, 'holiday_on is empty'],
    ]);
    expect(s.files.map((f) => [f.table, f.rows, f.accepted, f.rejected])).toEqual([
      ['master_stock_list', 10, 2, 8],
      ['daily_prices', 1, 1, 0],
      ['quarterly_results', 5, 2, 3],
      ['earnings_calendar', 3, 1, 2],
      ['news_sentiment', 7, 3, 4],
      ['market_holidays', 4, 1, 3],
    ]);
    const db = marketDb(dir);
    expect(query(db, 'SELECT * FROM master_stock_list ORDER BY bse_code')).toEqual([
      { bse_code: '600001', nse_symbol: 'GOODONE', company_name: 'Good One Ltd', sector: 'Cement', status: 'ACTIVE', market_cap_cr: 120.5, circuit_band_pct: 10, listed_on: '2010-01-04' },
      { bse_code: '600008', nse_symbol: null, company_name: 'Quoted, Comma Ltd', sector: 'Textiles', status: 'SUSPENDED', market_cap_cr: null, circuit_band_pct: 2, listed_on: null },
    ]);
    expect(query(db, 'SELECT * FROM quarterly_results ORDER BY period_end')).toEqual([
      { bse_code: '600001', period_end: '2024-12-31', announced_on: '2025-02-10', revenue_cr: null, net_profit_cr: null, eps: null },
      { bse_code: '600001', period_end: '2025-06-30', announced_on: '2025-08-10', revenue_cr: 100.5, net_profit_cr: -4.2, eps: -0.5 },
    ]);
    expect(query(db, 'SELECT published_on, score, headline FROM news_sentiment ORDER BY published_on')).toEqual([
      { published_on: '2025-09-01', score: 0.5, headline: 'Good One wins order,\nworth Rs 40 crore' },
      { published_on: '2025-09-03', score: -0.2, headline: null },
      { published_on: '2025-09-04', score: 0.1, headline: 'Multi\nline\nheadline' },
    ]);
    expect(query(db, 'SELECT * FROM market_holidays')).toEqual([{ holiday_on: '2025-12-25', name: 'Christmas' }]);
  });
});

describe('the reject threshold and all-or-nothing imports', () => {
  it('fails past the threshold after writing the rejects, leaving the database byte-identical', async () => {
    const dir = freshDir();
    await importCsvs({ dataDir: dir, files: ALL_SAMPLES, maxRejectRate: 0.01 });
    const before = dbHash(marketDb(dir));
    const bytes = readFileSync(marketDb(dir));
    const bad = sample('bad_prices.csv');

    const e = await importError(importCsvs({ dataDir: dir, files: { master: sample('master.csv'), prices: bad }, maxRejectRate: 0.01 }));
    expect(e.kind).toBe('IMPORT_REJECTED');
    expect(e.exitCode).toBe(6);
    expect(e.message).not.toContain('\n');
    const rejectsFile = path.join(dir, 'rejects.csv');
    // 15 of 17 rejected: 88.24% (15/17 = 0.882352…).
    expect(e.message).toContain(`${bad}: 15 of 17 rows rejected (88.24% > limit 1%)`);
    expect(e.message).toContain(rejectsFile);
    expect(e.message).toContain('database unchanged');
    expect(readRejects(rejectsFile).map((r) => r.line)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);

    expect(dbHash(marketDb(dir))).toBe(before);
    expect(readFileSync(marketDb(dir)).equals(bytes)).toBe(true);
    // Line 2 and the 523817 row were valid, yet nothing of the failed import was kept.
    expect(query(marketDb(dir), "SELECT * FROM daily_prices WHERE trade_date = '2025-11-14'")).toEqual([]);
  });

  it('passes at exactly the threshold and fails one row above it', async () => {
    const dir = freshDir();
    const header = 'bse_code,trade_date,open,high,low,close,volume';
    const days = Array.from({ length: 100 }, (_, i) => new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10));
    const rows = (nBad: number): string =>
      [header, ...days.map((d, i) => (i < nBad ? `512034,${d},100,99,98,100,10` : `512034,${d},100,101,98,100,10`))].join('\n') + '\n';
    const ok = await importCsvs({ dataDir: dir, files: { master: sample('master.csv'), prices: write(dir, 'one-bad.csv', rows(1)) }, maxRejectRate: 0.01 });
    expect(ok.files[1]).toMatchObject({ rows: 100, accepted: 99, rejected: 1 });
    const before = dbHash(marketDb(dir));
    const e = await importError(importCsvs({ dataDir: dir, files: { master: sample('master.csv'), prices: write(dir, 'two-bad.csv', rows(2)) }, maxRejectRate: 0.01 }));
    expect(e.kind).toBe('IMPORT_REJECTED');
    expect(e.message).toContain('2 of 100 rows rejected (2% > limit 1%)');
    expect(dbHash(marketDb(dir))).toBe(before);
  });

  it('checks every file before failing, and names each file past the threshold', async () => {
    const dir = freshDir();
    const master = write(dir, 'master.csv', 'bse_code,company_name,sector,status,circuit_band_pct\n600001,A Ltd,Cement,ACTIVE,10\n600002,B Ltd,Cement,ACTIVE,7\n');
    const prices = write(dir, 'prices.csv', 'bse_code,trade_date,open,high,low,close,volume\n600001,2025-11-14,1,1,1,1,1\n600002,2025-11-14,1,1,1,1,1\n');
    const holidays = write(dir, 'holidays.csv', 'holiday_on,name\n2025-12-25,Christmas\n');
    const e = await importError(importCsvs({ dataDir: dir, files: { master, prices, holidays }, maxRejectRate: 0.01 }));
    expect(e.message).toContain(`${master}: 1 of 2 rows rejected (50% > limit 1%), ${prices}: 1 of 2 rows rejected (50% > limit 1%);`);
    expect(readRejects(path.join(dir, 'rejects.csv')).map((r) => [r.file, r.line, r.reason])).toEqual([
      [master, 3, 'circuit_band_pct 7 is not 2, 5, 10 or 20'],
      [prices, 3, 'bse_code 600002 is not in the master list'],
    ]);
    expect(existsSync(marketDb(dir))).toBe(false);
  });

  it('rolls back files already applied when a later file fails (here: an unknown column)', async () => {
    const dir = freshDir();
    await importCsvs({ dataDir: dir, files: ALL_SAMPLES, maxRejectRate: 0.01 });
    const before = dbHash(marketDb(dir));
    const renamed = readFileSync(sample('master.csv'), 'utf8').replace('Deccan Cement Ltd', 'Deccan Cements & Minerals Ltd');
    const master = write(dir, 'master-renamed.csv', renamed);
    const sentiment = write(dir, 'sentiment-extra.csv', 'bse_code,published_on,score,headline,source\n512034,2025-11-10,0.2,x,wire\n');
    const e = await importError(importCsvs({ dataDir: dir, files: { master, prices: sample('prices.csv'), sentiment }, maxRejectRate: 0.01 }));
    expect(e.kind).toBe('IMPORT_REJECTED');
    expect(e.message).toContain(`${sentiment}: unknown column 'source'`);
    expect(e.message).toContain('database unchanged');
    expect(dbHash(marketDb(dir))).toBe(before);
    expect(query(marketDb(dir), "SELECT company_name FROM master_stock_list WHERE bse_code = '512034'")).toEqual([{ company_name: 'Deccan Cement Ltd' }]);
  });

  it('does not leave behind a market.db that a failed import created', async () => {
    const dir = freshDir();
    const e = await importError(importCsvs({ dataDir: dir, files: { master: sample('master.csv'), prices: sample('bad_prices.csv') }, maxRejectRate: 0.01 }));
    expect(e.kind).toBe('IMPORT_REJECTED');
    expect(existsSync(marketDb(dir))).toBe(false);
    expect(existsSync(`${marketDb(dir)}-wal`)).toBe(false);
    expect(existsSync(path.join(dir, 'rejects.csv'))).toBe(true);
  });

  it('fails on a missing file before writing anything', async () => {
    const dir = freshDir();
    const missing = path.join(tmp, 'no-such-results.csv');
    const e = await importError(importCsvs({ dataDir: dir, files: { ...ALL_SAMPLES, results: missing }, maxRejectRate: 0.01 }));
    expect(e.kind).toBe('MISSING_INPUT');
    expect(e.exitCode).toBe(3);
    expect(e.message).toBe(`no such file: ${missing}`);
    expect(existsSync(dir)).toBe(false);
  });

  it('leaves an existing database and rejects file untouched on a missing file', async () => {
    const dir = freshDir();
    await importCsvs({ dataDir: dir, files: { master: sample('master.csv'), prices: sample('bad_prices.csv') }, maxRejectRate: 1 });
    const bytes = readFileSync(marketDb(dir));
    const rejects = readFileSync(path.join(dir, 'rejects.csv'));
    const e = await importError(importCsvs({ dataDir: dir, files: { master: sample('master.csv'), prices: path.join(tmp, 'nope.csv') }, maxRejectRate: 1 }));
    expect(e.kind).toBe('MISSING_INPUT');
    expect(readFileSync(marketDb(dir)).equals(bytes)).toBe(true);
    expect(readFileSync(path.join(dir, 'rejects.csv')).equals(rejects)).toBe(true);
  });

  it('rejects a bad --max-reject-rate as a bad argument', async () => {
    for (const rate of [Number.NaN, -0.1, 1.5]) {
      const e = await importError(importCsvs({ dataDir: freshDir(), files: ALL_SAMPLES, maxRejectRate: rate }));
      expect(e.kind).toBe('BAD_ARGS');
    }
  });
});

describe('file-level problems', () => {
  const tryPrices = async (text: string): Promise<StockflowError> => {
    const dir = freshDir();
    const prices = write(dir, 'prices.csv', text);
    const e = await importError(importCsvs({ dataDir: dir, files: { master: sample('master.csv'), prices }, maxRejectRate: 1 }));
    expect(e.message).not.toContain('\n');
    expect(existsSync(marketDb(dir))).toBe(false);
    return e;
  };

  it('names unknown and missing columns', async () => {
    const e = await tryPrices('bse_code,trade_date,open,high,low,close,adj_close\n512034,2025-11-14,1,1,1,1,1\n');
    expect(e.kind).toBe('IMPORT_REJECTED');
    expect(e.message).toContain("unknown column 'adj_close'");
    expect(e.message).toContain('missing required column volume');
  });

  it('explains a missing header row', async () => {
    const e = await tryPrices('512034,2025-11-14,410,415.5,405.2,412.35,150000\n');
    expect(e.message).toContain('(is the header row missing?)');
  });

  it('rejects a column given twice', async () => {
    const e = await tryPrices('bse_code,trade_date,open,high,low,close,volume,close\n');
    expect(e.message).toContain("column 'close' given more than once");
  });

  it('rejects an empty file', async () => {
    const e = await tryPrices('');
    expect(e.kind).toBe('IMPORT_REJECTED');
    expect(e.message).toContain('is empty: a header row is required');
  });

  it('rejects a file that is not valid CSV', async () => {
    const e = await tryPrices('bse_code,trade_date,open,high,low,close,volume\n512034,"2025-11-14,410,415.5,405.2,412.35,150000\n');
    expect(e.kind).toBe('IMPORT_REJECTED');
    expect(e.message).toContain('is not valid CSV');
    expect(e.message).toContain('database unchanged');
  });

  it('counts lines in a file with old-Mac CR line endings', async () => {
    const dir = freshDir();
    const prices = write(dir, 'prices-cr.csv', 'bse_code,trade_date,open,high,low,close,volume\r\r512034,2025-11-14,1,1,1,1,1\r512034,2025-11-14,1,1,1,1,1\r');
    await importCsvs({ dataDir: dir, files: { master: sample('master.csv'), prices }, maxRejectRate: 1 });
    expect(readRejects(path.join(dir, 'rejects.csv')).map((r) => [r.line, r.reason])).toEqual([[4, 'duplicate of line 3 (bse_code 512034, trade_date 2025-11-14)']]);
  });

  it('accepts a header-only file as zero rows', async () => {
    const dir = freshDir();
    const prices = write(dir, 'prices.csv', 'bse_code,trade_date,open,high,low,close,volume\n');
    const s = await importCsvs({ dataDir: dir, files: { master: sample('master.csv'), prices }, maxRejectRate: 0 });
    expect(s.files[1]).toMatchObject({ rows: 0, accepted: 0, rejected: 0 });
  });
});

describe('upserts', () => {
  it('updates a corrected row in place', async () => {
    const dir = freshDir();
    await importCsvs({ dataDir: dir, files: ALL_SAMPLES, maxRejectRate: 0.01 });
    const n = count(marketDb(dir), 'daily_prices');
    const first = dataLines(sample('prices.csv'))[0].split(',');
    const [code, date, open, high, low] = first;
    // A corrected close, kept within the row's own high and low.
    const corrected = Math.round(((Number(high) + Number(low)) / 2) * 100) / 100;
    expect(corrected).not.toBe(Number(first[5]));
    const fix = write(dir, 'fix.csv', `bse_code,trade_date,open,high,low,close,volume\n${code},${date},${open},${high},${low},${corrected},${first[6]}\n`);
    await importCsvs({ dataDir: dir, files: { master: sample('master.csv'), prices: fix }, maxRejectRate: 0 });
    expect(count(marketDb(dir), 'daily_prices')).toBe(n);
    expect(query(marketDb(dir), 'SELECT close FROM daily_prices WHERE bse_code = ? AND trade_date = ?', code, date)).toEqual([{ close: corrected }]);
  });

  it('updates only the columns a file has, keeping the others', async () => {
    const dir = freshDir();
    await importCsvs({ dataDir: dir, files: ALL_SAMPLES, maxRejectRate: 0.01 });
    const master = write(dir, 'status.csv', 'bse_code,company_name,sector,status,circuit_band_pct\n512034,Deccan Cement Ltd,Cement,SUSPENDED,5\n');
    const prices = write(dir, 'none.csv', 'bse_code,trade_date,open,high,low,close,volume\n');
    await importCsvs({ dataDir: dir, files: { master, prices }, maxRejectRate: 0 });
    expect(query(marketDb(dir), "SELECT * FROM master_stock_list WHERE bse_code = '512034'")).toEqual([
      { bse_code: '512034', nse_symbol: 'DECCANCEM', company_name: 'Deccan Cement Ltd', sector: 'Cement', status: 'SUSPENDED', market_cap_cr: 4820.5, circuit_band_pct: 5, listed_on: '2006-03-14' },
    ]);
    expect(count(marketDb(dir), 'master_stock_list')).toBe(8);
  });
});

// End to end through bin/stockflow; needs the compiled CLI (`npm test` builds it first).
const CLI = path.join(ROOT, 'bin', 'stockflow');
const built =
  existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'index.js')) &&
  existsSync(path.join(ROOT, 'dist', 'src', 'ingest', 'import.js')) &&
  statSync(path.join(ROOT, 'dist', 'src', 'ingest', 'import.js')).mtimeMs >= statSync(path.join(ROOT, 'src', 'ingest', 'import.ts')).mtimeMs;

describe.skipIf(!built)('stockflow data import (CLI, needs npm run build)', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'data', 'import', ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'warn' } });

  it('imports, prints a summary, and exits 0 / 6 / 3', () => {
    const dir = freshDir();
    const ok = run('--master', sample('master.csv'), '--prices', sample('prices.csv'), '--holidays', sample('holidays.csv'), '--data-dir', dir);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^daily_prices\s+.*prices\.csv\s+2010 rows\s+2010 accepted\s+0 rejected$/m);
    expect(ok.stdout).toMatch(/^total: 2049 rows, 2049 accepted, 0 rejected/m);
    const before = dbHash(marketDb(dir));

    const rejected = run('--master', sample('master.csv'), '--prices', sample('bad_prices.csv'), '--data-dir', dir, '--rejects', path.join(dir, 'bad.csv'));
    expect(rejected.status).toBe(6);
    expect(rejected.stderr.trim().split('\n')).toHaveLength(1);
    expect(rejected.stderr).toMatch(/^stockflow: import rejected: .*bad_prices\.csv: 15 of 17 rows rejected/);
    expect(readRejects(path.join(dir, 'bad.csv'))).toHaveLength(15);
    expect(dbHash(marketDb(dir))).toBe(before);

    const missing = run('--master', path.join(dir, 'nope.csv'), '--prices', sample('prices.csv'), '--data-dir', dir);
    expect(missing.status).toBe(3);
    expect(missing.stderr).toBe(`stockflow: no such file: ${path.join(dir, 'nope.csv')}\n`);

    // '1%' is not read as 1 (= 100%): the flag takes a fraction.
    const badFlag = run('--master', sample('master.csv'), '--prices', sample('prices.csv'), '--data-dir', dir, '--max-reject-rate', '1%');
    expect(badFlag.status).toBe(2);
    expect(badFlag.stderr).toBe('stockflow: --max-reject-rate must be a number between 0 and 1 (0.01 = 1%)\n');
  });
});
