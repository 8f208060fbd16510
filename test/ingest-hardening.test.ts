/**
 * Issue 18, `stockflow data import` and `data generate` under bad input: bytes
 * that are not UTF-8, a byte-order mark, oversized headers, cells and numbers,
 * SIGTERM, temporary files of killed imports, and the data directory's lock.
 * Expected reasons and counts are written out here from the fixture bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { importCsvs } from '../src/ingest/import.js';
import { acquireBatchLock } from '../src/batch/lock.js';
import { StockflowError } from '../src/errors.js';
import { assertCliBuilt, failureLine, ROOT, runCli, startCli, until } from './helpers/batch-fixture.js';

const SAMPLES = path.join(ROOT, 'data', 'samples');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'ingest');
const PRICES = path.join(SAMPLES, 'prices.csv');
const MASTER = path.join(SAMPLES, 'master.csv');
const MASTER_HEADER = 'bse_code,nse_symbol,company_name,sector,status,market_cap_cr,circuit_band_pct,listed_on';
const PRICES_HEADER = 'bse_code,trade_date,open,high,low,close,volume';

let tmp: string;
let n = 0;
beforeAll(() => {
  assertCliBuilt();
  tmp = mkdtempSync(path.join(tmpdir(), 'sf-ingest-hard-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const freshDir = (): string => {
  const d = path.join(tmp, `d${++n}`);
  mkdirSync(d, { recursive: true });
  return d;
};
const file = (name: string, content: string | Buffer): string => {
  const f = path.join(tmp, `${++n}-${name}`);
  writeFileSync(f, content);
  return f;
};
const rejectsOf = (f: string): { file: string; line: string; reason: string; row: string }[] => parse(readFileSync(f, 'utf8'), { columns: true });
const names = (dir: string): { bse_code: string; company_name: string }[] => {
  const db = new Database(path.join(dir, 'market.db'), { readonly: true });
  try {
    return db.prepare('SELECT bse_code, company_name FROM master_stock_list ORDER BY bse_code').all() as { bse_code: string; company_name: string }[];
  } finally {
    db.close();
  }
};
const masterRows = readFileSync(MASTER, 'utf8').trim().split('\n').slice(1);

describe('Medium #6: UTF-8 only, with or without a byte-order mark', () => {
  it('a row with Latin-1 bytes is rejected with its line and reason; a UTF-8 row with the same name is stored exactly', async () => {
    const dir = freshDir();
    const s = await importCsvs({ dataDir: dir, files: { master: path.join(FIXTURES, 'master_latin1.csv'), prices: PRICES }, maxRejectRate: 1 });
    expect(s.files[0]).toMatchObject({ rows: masterRows.length + 2, accepted: masterRows.length + 1, rejected: 1 });
    const rejects = rejectsOf(s.rejectsFile);
    // Header on line 1, the sample rows, then the Latin-1 row: 'Soci\xe9t\xe9 G\xe9n\xe9rale Cr\xe8dit' has 5 non-UTF-8 bytes.
    expect(rejects).toHaveLength(1);
    expect(rejects[0].line).toBe(String(masterRows.length + 2));
    expect(rejects[0].reason).toBe('not valid UTF-8 (5 bytes that are not UTF-8: is the file Latin-1? save it as UTF-8)');
    const stored = names(dir);
    expect(stored.find((r) => r.bse_code === '590112')?.company_name).toBe('Société Générale Crèdit Ltd');
    expect(stored.find((r) => r.bse_code === '590111')).toBeUndefined();
    expect(stored.some((r) => r.company_name.includes('\uFFFD'))).toBe(false);
  });

  it('through the CLI, the default reject threshold fails the import (exit 6) and names the rejects', () => {
    const dir = freshDir();
    const r = runCli(['data', 'import', '--master', path.join(FIXTURES, 'master_latin1.csv'), '--prices', PRICES, '--data-dir', dir]);
    expect(r.code, r.stderr).toBe(6);
    expect(failureLine(r)).toMatch(/master_latin1\.csv: 1 of 10 rows rejected/);
    expect(existsSync(path.join(dir, 'market.db'))).toBe(false);
  });

  it('a byte-order mark and CRLF line ends (as Excel writes them) are accepted', async () => {
    const dir = freshDir();
    expect(readFileSync(path.join(FIXTURES, 'master_bom.csv')).subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const s = await importCsvs({ dataDir: dir, files: { master: path.join(FIXTURES, 'master_bom.csv'), prices: PRICES }, maxRejectRate: 0 });
    expect(s.files[0]).toMatchObject({ rows: masterRows.length + 1, accepted: masterRows.length + 1, rejected: 0 });
    expect(names(dir).find((r) => r.bse_code === '590112')?.company_name).toBe('Société Générale Crèdit Ltd');
  });

  it('multi-byte characters split across read chunks decode intact; a lone invalid byte anywhere is caught', async () => {
    const dir = freshDir();
    // ~200 KB of rows whose names are 3-byte and 2-byte characters: many straddle the 64 KiB chunk edges.
    const rows: string[] = [];
    for (let i = 0; i < 2000; i++) rows.push(`${String(600000 + i)},,${'₹é'.repeat(20)} ${i},Finance,ACTIVE,1,20,`);
    const text = `${MASTER_HEADER}\n${rows.join('\n')}\n`;
    const bytes = Buffer.from(text, 'utf8');
    // Break row 1500's name with one stray 0xFF byte.
    const at = bytes.indexOf(Buffer.from(' 1500,', 'utf8'));
    bytes[at] = 0xff;
    const prices = file('prices.csv', `${PRICES_HEADER}\n600000,2025-01-01,10,11,9,10,100\n`);
    const s = await importCsvs({ dataDir: dir, files: { master: file('master.csv', bytes), prices }, maxRejectRate: 1 });
    expect(s.files[0]).toMatchObject({ rows: 2000, accepted: 1999, rejected: 1 });
    const rejects = rejectsOf(s.rejectsFile);
    expect(rejects.map((x) => [x.line, x.reason])).toEqual([['1502', 'not valid UTF-8 (1 byte that is not UTF-8: is the file Latin-1? save it as UTF-8)']]);
    const stored = names(dir);
    expect(stored).toHaveLength(1999);
    for (const r of stored) expect(r.company_name).toBe(`${'₹é'.repeat(20)} ${Number(r.bse_code) - 600000}`);
  });
});

describe('Low: size limits in import', () => {
  it('5,000 unknown columns: one short line naming ten and counting the rest', () => {
    const dir = freshDir();
    const cols = Array.from({ length: 5000 }, (_, i) => `col_${i}`);
    const master = file('master.csv', `${MASTER_HEADER},${cols.join(',')}\n`);
    const r = runCli(['data', 'import', '--master', master, '--prices', PRICES, '--data-dir', dir]);
    expect(r.code).toBe(6);
    const line = failureLine(r);
    expect(line.length).toBeLessThan(1000);
    expect(line).toContain("unknown columns 'col_0', 'col_1', 'col_2', 'col_3', 'col_4', 'col_5', 'col_6', 'col_7', 'col_8', 'col_9' and 4990 more;");
  });

  it('a 600-character company name is rejected with its length; a 10 MB one fails the file with its line', async () => {
    const dir = freshDir();
    const long = 'A'.repeat(600);
    const master = file('master.csv', `${MASTER_HEADER}\n${masterRows.join('\n')}\n540999,,${long},Finance,ACTIVE,1,20,\n`);
    const s = await importCsvs({ dataDir: dir, files: { master, prices: PRICES }, maxRejectRate: 1 });
    expect(rejectsOf(s.rejectsFile).map((x) => [x.line, x.reason])).toEqual([[String(masterRows.length + 2), 'company_name is 600 characters long (at most 500)']]);

    const huge = file('huge.csv', `${MASTER_HEADER}\n${masterRows[0]}\n540998,,${'B'.repeat(10 * 1024 * 1024)},Finance,ACTIVE,1,20,\n`);
    const dir2 = freshDir();
    const err = await importCsvs({ dataDir: dir2, files: { master: huge, prices: PRICES }, maxRejectRate: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StockflowError);
    expect((err as StockflowError).exitCode).toBe(6);
    expect((err as Error).message).toBe(`${huge}: the record starting on line 3 is longer than 65536 characters (an unclosed quote?); database unchanged`);
    expect(existsSync(path.join(dir2, 'market.db'))).toBe(false);
  });

  it('prices, volumes and money outside sane ranges are rejected with a reason', async () => {
    const dir = freshDir();
    const code = masterRows[0].split(',')[0];
    const prices = file(
      'prices.csv',
      [
        PRICES_HEADER,
        `${code},2025-01-01,100,101,99,100,1000`,
        `${code},2025-01-02,1e308,1e308,1e308,1e308,1000`,
        `${code},2025-01-03,100,101,99,100,99999999999999`,
        `${code},2025-01-06,10000001,10000001,10000001,10000001,5`,
      ].join('\n'),
    );
    const results = file('results.csv', `bse_code,period_end,announced_on,revenue_cr,net_profit_cr,eps\n${code},2024-12-31,2025-01-20,1e300,-5,2\n`);
    const s = await importCsvs({ dataDir: dir, files: { master: MASTER, prices, results }, maxRejectRate: 1 });
    const got = rejectsOf(s.rejectsFile).map((x) => [path.basename(x.file), x.line, x.reason]);
    expect(got).toEqual([
      [path.basename(prices), '3', ["open '1e308'", "high '1e308'", "low '1e308'", "close '1e308'"].map((c) => `${c} is out of range (at most 1e7)`).join('; ')],
      [path.basename(prices), '4', "volume '99999999999999' is out of range (at most 1e13)"],
      [path.basename(prices), '5', ['open', 'high', 'low', 'close'].map((c) => `${c} '10000001' is out of range (at most 1e7)`).join('; ')],
      [path.basename(results), '2', "revenue_cr '1e300' is out of range (at most ±1e8)"],
    ]);
    expect(s.files[1]).toMatchObject({ rows: 4, accepted: 1, rejected: 3 });
  });
});

describe('Low: SIGTERM during an import, and temporary files of killed imports', () => {
  it('SIGTERM: exit 130, one line, rolled back, no temporary rejects file', async () => {
    const dir = freshDir();
    const code = masterRows[0].split(',')[0];
    // A prices file big enough to be interrupted in the middle (every row valid).
    const lines = [PRICES_HEADER];
    const d0 = Date.UTC(1990, 0, 1);
    for (let i = 0; i < 400_000; i++) lines.push(`${code},${new Date(d0 + i * 86_400_000).toISOString().slice(0, 10)},100,101,99,100,${i}`);
    const prices = file('big.csv', `${lines.join('\n')}\n`);
    const p = startCli(['data', 'import', '--master', MASTER, '--prices', prices, '--data-dir', dir]);
    const tmpFile = (): string[] => readdirSync(dir).filter((f) => f.includes('.tmp-'));
    await until(() => tmpFile().length === 1 || p.child.exitCode !== null, 30_000, 'the import to start');
    expect(tmpFile()).toHaveLength(1);
    expect(tmpFile()[0]).toMatch(new RegExp(`^\\.rejects\\.csv\\.tmp-${p.child.pid}-\\d+$`));
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(r.code, r.stderr).toBe(130);
    expect(failureLine(r)).toBe(`stockflow: interrupted by SIGTERM: import rolled back, ${path.join(dir, 'market.db')} unchanged`);
    expect(readdirSync(dir).filter((f) => !f.startsWith('.stockflow-batch.lock'))).toEqual([]);
  }, 60_000);

  it('the next import removes temporary rejects files of dead imports and keeps those of live ones', async () => {
    const dir = freshDir();
    const dead = path.join(dir, '.rejects.csv.tmp-99999999-1'); // above any pid_max: never a live process
    const live = path.join(dir, `.rejects.csv.tmp-${process.ppid}-1`);
    writeFileSync(dead, 'file,line,reason,row\n');
    writeFileSync(live, 'file,line,reason,row\n');
    await importCsvs({ dataDir: dir, files: { master: MASTER, prices: PRICES }, maxRejectRate: 1 });
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['market.db', 'rejects.csv', path.basename(live)].sort());
  });
});

describe('Medium #10: data generate refuses to replace a market, and generate/import respect the lock', () => {
  it('generate on an existing market exits 2 without --force and leaves it untouched', () => {
    const dir = freshDir();
    const imp = runCli(['data', 'import', '--master', MASTER, '--prices', PRICES, '--data-dir', dir]);
    expect(imp.code, imp.stderr).toBe(0);
    const market = path.join(dir, 'market.db');
    const before = readFileSync(market);
    const mtime = statSync(market).mtimeMs;
    const r = runCli(['data', 'generate', '--stocks', '10', '--days', '30', '--data-dir', dir]);
    expect(r.code).toBe(2);
    expect(failureLine(r)).toBe(`stockflow: ${market} already exists: 'data generate' would replace it (imported data included); pass --force to replace it`);
    expect(readFileSync(market).equals(before)).toBe(true);
    expect(statSync(market).mtimeMs).toBe(mtime);
    const forced = runCli(['data', 'generate', '--stocks', '10', '--days', '30', '--force', '--data-dir', dir]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(names(dir)).toHaveLength(10);
  });

  it('a held batch lock makes generate --force and import exit 5 and change nothing', async () => {
    const dir = freshDir();
    expect(runCli(['data', 'import', '--master', MASTER, '--prices', PRICES, '--data-dir', dir]).code).toBe(0);
    const market = path.join(dir, 'market.db');
    const before = readFileSync(market);
    const lock = await acquireBatchLock(dir);
    try {
      const g = runCli(['data', 'generate', '--stocks', '10', '--days', '30', '--force', '--data-dir', dir]);
      expect(g.code).toBe(5);
      expect(failureLine(g)).toMatch(new RegExp(`^stockflow: another batch is running on ${dir} \\(pid ${process.pid} `));
      const i = runCli(['data', 'import', '--master', path.join(FIXTURES, 'master_bom.csv'), '--prices', PRICES, '--data-dir', dir]);
      expect(i.code).toBe(5);
      expect(failureLine(i)).toMatch(/^stockflow: another batch is running on/);
      expect(readFileSync(market).equals(before)).toBe(true);
    } finally {
      lock.release();
    }
    const after = runCli(['data', 'import', '--master', path.join(FIXTURES, 'master_bom.csv'), '--prices', PRICES, '--data-dir', dir]);
    expect(after.code, after.stderr).toBe(0);
  });
});
