/**
 * Issue 12: `stockflow data info` reports the exchange tables (listings by
 * exchange, ISIN lineage, bands in force at the last session by band with No
 * Band, the sessions with the exchange's list of hits, corporate actions by
 * kind, market-cap dates) and how often the derived hits agree with the
 * exchange's list (checkMarket's figures, with the numbers of suspect moves
 * and uncovered sessions `data check` lists). A market without exchange rows
 * says so in one line and makes no pass over the prices. Every count below is
 * worked out by hand from the rows the test inserts.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMarket, exchangeInfo } from '../src/market/check.js';
import { openMarketReadonly } from '../src/market/db.js';
import { bandHistory } from '../src/market/exchange.js';
import { generateMarket } from '../src/demo/generate.js';
import { MarketFixture, flatBars, weekdaysEnding, type FixtureBar } from './helpers/market-fixture.js';
import { assertCliBuilt, runCli } from './helpers/batch-fixture.js';

const DAYS = weekdaysEnding('2025-08-19', 10);
const LAST = DAYS[9];
const GAP = 2; // no price row from any stock on DAYS[2]: an uncovered session

const DUAL = '500001'; // NSE and BSE; band 20 (a 5% list takes effect after the last session); +20% on DAYS[3], listed
const DUAL_ISIN = '500002'; // NSE and BSE, two ISINs; band 5 then 10 from DAYS[5]; +5% on DAYS[4], not listed (only derived)
const BSE_ONLY = '500003'; // BSE; No Band; a 2:1 split ex DAYS[6]
const NSE_ONLY = '000001'; // NSE; band 2 from the last session on; a 1:1 bonus ex DAYS[8]
const CSV_ONLY = '500004'; // no listing, no band row (the master's 20%); halves on DAYS[7] with no action: suspect

let root: string;
let marketDir: string;
let plainDir: string;

/** `base` on every day but the gap, with `edits` (index into DAYS → close) applied. */
function barsWith(base: number, edits: Record<number, number> = {}, from?: [number, number]): FixtureBar[] {
  return flatBars(DAYS, base)
    .map((b, i) => {
      const close = edits[i] ?? (from && i >= from[0] ? from[1] : base);
      return { ...b, open: close, high: close, low: close, close };
    })
    .filter((_, i) => i !== GAP);
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'sf-exinfo-'));
  marketDir = path.join(root, 'exchange');
  mkdirSync(marketDir);
  const fx = new MarketFixture(path.join(marketDir, 'market.db'));
  fx.stock({ code: DUAL }).stock({ code: DUAL_ISIN }).stock({ code: BSE_ONLY, bandPct: null }).stock({ code: NSE_ONLY }).stock({ code: CSV_ONLY });
  fx.bars(DUAL, barsWith(100, { 3: 120 }));
  fx.bars(DUAL_ISIN, barsWith(100, { 4: 105 }));
  fx.bars(BSE_ONLY, barsWith(100, {}, [6, 50]));
  fx.bars(NSE_ONLY, barsWith(100, {}, [8, 50]));
  fx.bars(CSV_ONLY, barsWith(100, {}, [7, 50]));
  const listing = fx.db.prepare('INSERT INTO exchange_listings (bse_code, exchange, symbol, series, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)');
  for (const [code, ex, sym] of [
    [DUAL, 'NSE', 'DUAL'],
    [DUAL, 'BSE', DUAL],
    [DUAL_ISIN, 'NSE', 'TWOISIN'],
    [DUAL_ISIN, 'BSE', DUAL_ISIN],
    [BSE_ONLY, 'BSE', BSE_ONLY],
    [NSE_ONLY, 'NSE', 'SMEONE'],
  ]) {
    listing.run(code, ex, sym, 'EQ', DAYS[0], LAST);
  }
  const isin = fx.db.prepare('INSERT INTO security_isins (bse_code, isin, first_seen, last_seen) VALUES (?, ?, ?, ?)');
  isin.run(DUAL, 'INE000A01011', DAYS[0], LAST);
  isin.run(DUAL_ISIN, 'INE000B01011', DAYS[0], DAYS[4]);
  isin.run(DUAL_ISIN, 'INE000B01029', DAYS[5], LAST);
  isin.run(BSE_ONLY, 'INE000C01011', DAYS[0], LAST);
  isin.run(NSE_ONLY, 'INE000D01011', DAYS[0], LAST);
  const bar = fx.db.prepare('INSERT INTO exchange_prices (bse_code, exchange, trade_date, open, high, low, close, volume) VALUES (?, ?, ?, 1, 1, 1, 1, 10)');
  bar.run(DUAL, 'NSE', DAYS[8]);
  bar.run(DUAL, 'NSE', DAYS[9]);
  bar.run(NSE_ONLY, 'NSE', DAYS[9]);
  bar.run(BSE_ONLY, 'BSE', DAYS[8]);
  bar.run(BSE_ONLY, 'BSE', DAYS[9]);
  fx.band(DUAL, '2024-01-01', 20).band(DUAL, '2025-08-20', 5);
  fx.band(DUAL_ISIN, '2024-01-01', 5).band(DUAL_ISIN, DAYS[5], 10);
  fx.band(BSE_ONLY, '2024-01-01', null, 'No Band');
  fx.band(NSE_ONLY, LAST, 2);
  fx.hitSession(DAYS[3], [DUAL]).hitSession(DAYS[4], [DUAL_ISIN], 'lower');
  fx.action(BSE_ONLY, DAYS[6], 'split', 2).action(NSE_ONLY, DAYS[8], 'bonus', 2).action(DUAL, '2025-09-01', 'consolidation', 0.5);
  const cap = fx.db.prepare('INSERT INTO market_caps (bse_code, trade_date, market_cap_cr) VALUES (?, ?, ?)');
  cap.run(DUAL, DAYS[8], 1000);
  cap.run(DUAL, DAYS[9], 1010);
  cap.run(DUAL_ISIN, DAYS[9], 500);
  fx.close();

  plainDir = path.join(root, 'plain');
  mkdirSync(plainDir);
  await generateMarket({ file: path.join(plainDir, 'market.db'), stocks: 20, days: 30, seed: 5 });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** What the rows above give, counted by hand. */
const EXPECTED = {
  listings: { NSE: 3, BSE: 3, both: 2 },
  isins: { rows: 5, changed: 1 },
  exchangeBars: { NSE: 3, BSE: 2 },
  // At 2025-08-19: DUAL 20 (its 5 is from 08-20), DUAL_ISIN 10, BSE_ONLY No Band, NSE_ONLY 2 (effective on the last session).
  bands: {
    session: LAST,
    byBand: [
      { band: '2', stocks: 1 },
      { band: '10', stocks: 1 },
      { band: '20', stocks: 1 },
      { band: 'No Band', stocks: 1 },
    ],
    withoutBandRows: 1,
  },
  hits: { sessions: 2, first: DAYS[3], last: DAYS[4], upper: 1, lower: 1 },
  actions: { split: 1, consolidation: 1, bonus: 1 },
  marketCaps: { rows: 3, dates: 2, last: LAST },
  check: {
    // The NSE list speaks for DUAL, DUAL_ISIN and NSE_ONLY (not BSE_ONLY, nor CSV_ONLY with no listing):
    // 3 stocks × 2 sessions judged; DUAL +20% listed (agree), DUAL_ISIN +5% in its 5% band not listed (only derived).
    agreement: {
      sessions: 2,
      judged: 6,
      agree: 1,
      onlyDerived: 1,
      onlyObserved: 0,
      observedWithoutPrice: 0,
      examples: [{ bse_code: DUAL_ISIN, date: DAYS[4], kind: 'only_derived' }],
    },
    // CSV_ONLY halves with no action; BSE_ONLY (No Band) is not judged; NSE_ONLY's halving is its bonus.
    suspectMoves: 1,
    uncoveredSessions: 1,
  },
};

describe('exchangeInfo', () => {
  it('counts every exchange table and takes the agreement from the check', () => {
    const db = openMarketReadonly(marketDir);
    try {
      const x = exchangeInfo(db);
      expect(x).toEqual(EXPECTED);
      // The same figures data check prints (one definition).
      const c = checkMarket(db);
      expect(x?.check).toEqual({ agreement: c.agreement, suspectMoves: c.suspectMoves.length, uncoveredSessions: c.uncoveredSessions.length });
    } finally {
      db.close();
    }
  });

  it('is null on a generated market (empty exchange tables) and on one made before the tables', () => {
    const db = openMarketReadonly(plainDir);
    try {
      expect(exchangeInfo(db)).toBeNull();
    } finally {
      db.close();
    }
    const old = path.join(root, 'old.db');
    const fx = new MarketFixture(old);
    fx.stock({ code: DUAL }).bars(DUAL, barsWith(100)).dropExchangeTables().close();
    const db2 = openMarketReadonly(old);
    try {
      expect(exchangeInfo(db2)).toBeNull();
    } finally {
      db2.close();
    }
  });
});

describe('stockflow data info', () => {
  beforeAll(() => assertCliBuilt());

  it('prints the exchange lines, and --json carries the same figures', () => {
    const t = runCli(['data', 'info', '--data-dir', marketDir]);
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.split('\n');
    expect(lines).toContain('listings:   NSE 3, BSE 3, on both 2; ISIN lineage 5 rows, ISIN changes 1');
    expect(lines).toContain('bars as traded: NSE 3, BSE 2');
    expect(lines).toContain(`bands:      in force at ${LAST}: 2% 1, 10% 1, 20% 1, No Band 1; no band list (the master's band) 1`);
    expect(lines).toContain(`hit lists:  2 sessions (${DAYS[3]} … ${DAYS[4]}); listed hits: upper 1, lower 1`);
    expect(lines).toContain('actions:    split 1, bonus 1, consolidation 1');
    expect(lines).toContain(`market caps: 3 rows, 2 dates, latest ${LAST}`);
    // 6 judged, 5 agree (83.3%); of 2 hits by either, 1 on both (50.0%).
    expect(lines).toContain('derived vs listed hits: 6 rows judged on 2 sessions, 83.3% agree; hits by either 2: on both 1 (50.0%), only derived 1, only listed 0');
    expect(lines).toContain('check:      suspect moves 1, uncovered sessions 1 (stockflow data check lists them)');
    const j = runCli(['data', 'info', '--json', '--data-dir', marketDir]);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout).exchange).toEqual(EXPECTED);
  });

  it('a market without exchange rows: one line, and exchange null in --json', () => {
    const t = runCli(['data', 'info', '--data-dir', plainDir]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout.split('\n')).toContain('exchange:   no exchange files imported');
    expect(t.stdout).not.toContain('hit lists:');
    const j = runCli(['data', 'info', '--json', '--data-dir', plainDir]);
    expect(JSON.parse(j.stdout).exchange).toBeNull();
  });
});

describe("data check's band history", () => {
  it('keeps the band changes only (a sec_list per session repeats the band), and judges each session with the band in force', () => {
    const file = path.join(root, 'bands.db');
    const fx = new MarketFixture(file);
    // 100 → 104 on DAYS[6] (+4%), 104 → 109.2 on DAYS[8] (+5%).
    fx.stock({ code: DUAL }).bars(DUAL, barsWith(100, { 6: 104, 7: 104, 8: 109.2, 9: 109.2 }));
    for (const [i, band] of [[0, 5], [1, 5], [3, 2], [4, 2], [5, 2], [7, 10], [8, 10], [9, 2]] as const) fx.band(DUAL, DAYS[i], band);
    fx.close();
    const db = openMarketReadonly(file);
    try {
      expect(bandHistory(db, LAST).get(DUAL)).toEqual([
        [DAYS[0], 5],
        [DAYS[3], 2],
        [DAYS[7], 10],
        [DAYS[9], 2],
      ]);
      // DAYS[6]: +4% under the 2% band in force since DAYS[3] (its last row is on DAYS[5]): suspect. DAYS[8]: +5% under 10%: not.
      expect(checkMarket(db).suspectMoves.map((m) => [m.date, m.band_pct])).toEqual([[DAYS[6], 2]]);
    } finally {
      db.close();
    }
  });
});
