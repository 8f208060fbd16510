/**
 * The exchange files end to end (#12 with #13's generator): a generated year of files in the real
 * formats (src/demo/exchange-files.ts) → `data import-exchange` (the write side) → `data check`
 * (the read side's view of what was written) → `batch`. The generator's bh lists are exactly the
 * closes at their band limit, so the readers' derived hits must agree with them on every stock the
 * lists speak for; a BSE-only security is not in NSE's lists, and their silence must not turn its
 * hits into misses. Its splits and bonuses are in the bc files, so no move is suspect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { generateExchangeFiles } from '../src/demo/exchange-files.js';
import { isUpperCircuit } from '../src/market/circuit.js';
import { upperCircuitHits } from '../src/market/reader.js';
import { assertCliBuilt, runCli } from './helpers/batch-fixture.js';

let tmp: string;
let data: string;
beforeAll(() => {
  assertCliBuilt();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sf-exe2e-'));
  data = path.join(tmp, 'data');
  generateExchangeFiles({ out: path.join(tmp, 'files'), stocks: 200, sessions: 270, seed: 3, end: '2025-11-13' });
  const r = runCli(['data', 'import-exchange', path.join(tmp, 'files'), '--data-dir', data], { timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface CheckReport {
  suspectMoves: unknown[];
  uncoveredSessions: unknown[];
  agreement: { sessions: number; judged: number; agree: number; onlyDerived: number; onlyObserved: number; observedWithoutPrice: number };
}

describe('exchange files → import → check → batch', () => {
  it('finds nothing suspect, and the derived hits agree with the exchange list on every stock it speaks for', () => {
    const r = runCli(['data', 'check', '--strict', '--json', '--data-dir', data]);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout) as CheckReport;
    expect(c.suspectMoves).toEqual([]);
    expect(c.uncoveredSessions).toEqual([]);
    expect(c.agreement.sessions).toBe(270);
    expect(c.agreement.onlyDerived).toBe(0);
    expect(c.agreement.onlyObserved).toBe(0);
    expect(c.agreement.observedWithoutPrice).toBe(0);
    // Independently: the listed hits, counted straight from the imported table, are the agreements.
    const db = new Database(path.join(data, 'market.db'), { readonly: true });
    try {
      // (a stock's first session has no previous close to judge: its listed hits are not compared)
      const listed = db
        .prepare("SELECT count(*) FROM circuit_hits h WHERE side = 'upper' AND trade_date > (SELECT min(trade_date) FROM daily_prices p WHERE p.bse_code = h.bse_code)")
        .pluck()
        .get() as number;
      expect(c.agreement.agree).toBe(listed);
      expect(listed).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it('BSE-only stocks keep their derived hits: the NSE list is silent about them, not a "no hit"', () => {
    const db = new Database(path.join(data, 'market.db'), { readonly: true });
    try {
      const bseOnly = db
        .prepare("SELECT DISTINCT bse_code FROM exchange_listings WHERE exchange = 'BSE' AND bse_code NOT IN (SELECT bse_code FROM exchange_listings WHERE exchange = 'NSE')")
        .pluck()
        .all() as string[];
      expect(bseOnly.length).toBeGreaterThan(0);
      const band = db.prepare('SELECT circuit_band_pct FROM master_stock_list WHERE bse_code = ?').pluck();
      const bars = db.prepare('SELECT trade_date, close FROM daily_prices WHERE bse_code = ? ORDER BY trade_date').raw();
      const from = db.prepare('SELECT min(trade_date) FROM daily_prices').pluck().get() as string;
      const to = db.prepare('SELECT max(trade_date) FROM daily_prices').pluck().get() as string;
      // The first hit of each BSE-only stock by the rule on its closes (they carry no actions: the generator's are NSE-listed).
      const want = new Map<string, string>();
      for (const code of bseOnly) {
        const b = band.get(code) as number;
        const rows = bars.all(code) as [string, number][];
        for (let i = 1; i < rows.length; i++)
          if (isUpperCircuit(rows[i - 1][1], rows[i][1], b)) {
            want.set(code, rows[i][0]);
            break;
          }
      }
      expect(want.size).toBeGreaterThan(0);
      // What labels and outcomes read (src/market/reader.ts upperCircuitHits), on a market where every session has a list.
      const hits = upperCircuitHits(db, from, to);
      expect(new Map([...hits].filter(([c]) => bseOnly.includes(c)))).toEqual(want);
    } finally {
      db.close();
    }
  });

  it('the morning batch runs on the imported files with no further step; No Band stocks are skipped outside the budget', () => {
    const r = runCli(['batch', '--date', '2025-11-14', '--data-dir', data, '--max-error-rate', '0.01']);
    expect(r.code, r.stderr).toBe(0);
    const skipped = readFileSync(path.join(data, 'predictions', 'skipped_stocks_2025-11-14.csv'), 'utf8').trim().split('\n').slice(1);
    const db = new Database(path.join(data, 'market.db'), { readonly: true });
    try {
      // The stocks whose band in force at the as-of session (2025-11-13) is No Band, from the band rows themselves.
      const noBand = db
        .prepare(
          `SELECT bse_code FROM price_bands p WHERE effective_from = (SELECT max(effective_from) FROM price_bands q WHERE q.bse_code = p.bse_code AND q.effective_from <= '2025-11-13')
             AND band_pct IS NULL ORDER BY bse_code`,
        )
        .pluck()
        .all() as string[];
      expect(noBand.length).toBeGreaterThan(0);
      expect(skipped.filter((l) => l.includes(',NO_PRICE_BAND,')).map((l) => l.split(',')[0])).toEqual(noBand);
      const universe = db.prepare("SELECT count(*) FROM master_stock_list WHERE status = 'ACTIVE'").pluck().get() as number;
      const csv = readFileSync(path.join(data, 'predictions', 'predictions_2025-11-14.csv'), 'utf8').trim().split('\n').slice(1);
      expect(csv.length + skipped.length).toBe(universe);
    } finally {
      db.close();
    }
  });
});
