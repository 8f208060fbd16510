/**
 * Issue 12: an outcome's `source` is per stock, not per date. NSE's bh files
 * (the only list of hits) speak only for NSE-listed securities
 * (hitListCovers, src/market/exchange.ts): on a date whose window the list
 * covers, a dual-listed or NSE-only stock's outcome comes from the exchange,
 * while a BSE-only stock's is derived from its closes, and says so. Hand-built
 * market.db and predictions.db; the expected rows are written out here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMarketReadonly } from '../src/market/db.js';
import { PredictionsStore } from '../src/predictions/store.js';
import { fillOutcomes } from '../src/batch/outcomes.js';
import { MarketFixture, weekdaysEnding, type FixtureBar } from './helpers/market-fixture.js';
import { openPredictionsForWrite } from './helpers/predictions-db.js';

const S = weekdaysEnding('2025-11-14', 10);
/** Horizon 3: D's window is S[4], S[5], S[6] (all three with an NSE bh file); LATE's is S[6..8] (S[7], S[8] without). */
const D = S[4];
const LATE = S[6];
const HORIZON = 3;

const DUAL_LISTED = '500001'; // NSE and BSE; flat; the NSE list names it on S[5]: hit, from the exchange
const DUAL_JUMP = '500002'; // NSE and BSE; +5% on S[5] in a 5% band, the list does not name it: no hit, from the exchange
const BSE_ONLY = '500003'; // BSE only; the same +5% jump: the list is silent about it, the rule says hit, from the closes
const NSE_ONLY = '000001'; // NSE only (the 0… key); flat, not listed: no hit, from the exchange

/** 100 every session, 105 from session `at` on (index into S), or flat without `at`. */
function bars(at?: number): FixtureBar[] {
  return S.map((date, i) => {
    const close = at !== undefined && i >= at ? 105 : 100;
    const prev = at !== undefined && i - 1 >= at ? 105 : 100;
    return { date, open: prev, high: Math.max(prev, close), low: Math.min(prev, close), close, volume: 1000 };
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sf-outcome-source-'));
  const m = new MarketFixture(path.join(dir, 'market.db'));
  m.stock({ code: DUAL_LISTED, bandPct: 5 }).bars(DUAL_LISTED, bars());
  m.stock({ code: DUAL_JUMP, bandPct: 5 }).bars(DUAL_JUMP, bars(5));
  m.stock({ code: BSE_ONLY, bandPct: 5 }).bars(BSE_ONLY, bars(5));
  m.stock({ code: NSE_ONLY, bandPct: 5 }).bars(NSE_ONLY, bars());
  const listing = m.db.prepare('INSERT INTO exchange_listings (bse_code, exchange, symbol, series, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)');
  for (const [code, exchange, symbol] of [
    [DUAL_LISTED, 'NSE', 'DUALA'],
    [DUAL_LISTED, 'BSE', DUAL_LISTED],
    [DUAL_JUMP, 'NSE', 'DUALB'],
    [DUAL_JUMP, 'BSE', DUAL_JUMP],
    [BSE_ONLY, 'BSE', BSE_ONLY],
    [NSE_ONLY, 'NSE', 'SMEONE'],
  ]) {
    listing.run(code, exchange, symbol, exchange === 'NSE' ? 'EQ' : 'A', S[0], S[9]);
  }
  m.hitSession(S[4], []).hitSession(S[5], [DUAL_LISTED]).hitSession(S[6], []);
  m.close();

  const db = openPredictionsForWrite(dir);
  const ins = db.prepare(
    `INSERT INTO daily_predictions (bse_code, nse_symbol, company_name, prediction_date, predicted_label, probability, confidence, model_version, model_type)
     VALUES (?, NULL, ?, ?, 0, 0.2, 'HIGH', '1.0.0', 'GBDT')`,
  );
  for (const date of [D, LATE]) {
    db.prepare(
      `INSERT INTO batch_runs (run_id, prediction_date, started_at, finished_at, status, model_name, model_version, model_type, published)
       VALUES (?, ?, '2025-11-14T00:00:00Z', '2025-11-14T00:01:00Z', 'succeeded', 'upper-circuit', '1.0.0', 'GBDT', 1)`,
    ).run(`run-${date}`, date);
    for (const code of [DUAL_LISTED, DUAL_JUMP, BSE_ONLY, NSE_ONLY]) ins.run(code, `Company ${code}`, date);
  }
  db.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("an outcome's source, stock by stock", () => {
  it('on a date whose window the NSE list covers: exchange for NSE-listed stocks, closes for a BSE-only stock; a date it does not cover: closes', () => {
    const market = openMarketReadonly(dir);
    const store = PredictionsStore.openForWrite(dir);
    try {
      const filled = fillOutcomes(market, store, () => HORIZON);
      expect(filled.recorded.map((r) => [r.date, r.rows])).toEqual([
        [D, 4],
        [LATE, 4],
      ]);
    } finally {
      store.close();
      market.close();
    }
    const raw = openPredictionsForWrite(dir);
    try {
      const rows = raw.prepare('SELECT prediction_date, bse_code, hit, hit_on, source FROM prediction_outcomes ORDER BY prediction_date, bse_code').raw(true).all();
      expect(rows).toEqual([
        [D, NSE_ONLY, 0, null, 'exchange'],
        [D, DUAL_LISTED, 1, S[5], 'exchange'],
        [D, DUAL_JUMP, 0, null, 'exchange'],
        [D, BSE_ONLY, 1, S[5], 'closes'],
        // LATE's window reaches S[7] and S[8], which no bh file covers: every outcome is (partly) derived.
        [LATE, NSE_ONLY, 0, null, 'closes'],
        [LATE, DUAL_LISTED, 0, null, 'closes'],
        [LATE, DUAL_JUMP, 0, null, 'closes'],
        [LATE, BSE_ONLY, 0, null, 'closes'],
      ]);
    } finally {
      raw.close();
    }
  });
});
