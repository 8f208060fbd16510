/**
 * Issue 12, the read side: every reader uses the exchange tables that
 * `data import-exchange` fills (here written directly into hand-built
 * market.db files, test/helpers/market-fixture.ts): corporate actions adjust
 * history point in time (src/market/adjust.ts), the band in force by date and
 * NO_PRICE_BAND, the exchange's observed hits as the truth for the features,
 * labels and outcomes, `data check`, and a market.db made before the tables.
 * Every expectation is worked out in this file from the rows it inserts.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adjustBars, actionsOf } from '../src/market/adjust.js';
import { checkMarket } from '../src/market/check.js';
import { bandRowsOf, bandsInForce } from '../src/market/exchange.js';
import { openMarketReadonly } from '../src/market/db.js';
import { closeHistory, upperCircuitHits } from '../src/market/reader.js';
import { FEATURE_INDEX, FEATURE_NAMES, N_FEATURES, type FeatureName } from '../src/features/definition.js';
import { OnlineFeatures } from '../src/features/online.js';
import type { FeatureSet } from '../src/features/service.js';
import { buildDataset, sampleDates } from '../src/model/train/dataset.js';
import { fillOutcomes } from '../src/batch/outcomes.js';
import { budgetShare } from '../src/batch/budget.js';
import type { PredictionsStore } from '../src/predictions/store.js';
import { generateMarket } from '../src/demo/generate.js';
import { MarketFixture, flatBars, wavyBars, weekdaysEnding, type FixtureBar } from './helpers/market-fixture.js';
import { computeAll, rowOf } from './helpers/compute.js';

/** The prediction date (a Wednesday) and the as-of session (Tuesday); 300 weekday sessions, no holidays. */
const D = '2025-08-20';
const AS_OF = '2025-08-19';
const SESSIONS = weekdaysEnding(AS_OF, 300);

let root: string;
let n = 0;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'stockflow-exread-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fixture(build: (fx: MarketFixture) => void): string {
  const file = path.join(root, `m${++n}.db`);
  const fx = new MarketFixture(file);
  build(fx);
  fx.close();
  return file;
}

const get = (row: Float32Array, name: FeatureName): number => row[FEATURE_INDEX[name]];
const bytes = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

/** The same bars with prices × k and volume ÷ k before index `until` (what the exchange traded before a split or bonus). */
function scaledBefore(bars: readonly FixtureBar[], until: number, k: number): FixtureBar[] {
  return bars.map((b, i) =>
    i < until ? { date: b.date, open: b.open * k, high: b.high * k, low: b.low * k, close: b.close * k, volume: b.volume / k } : { ...b },
  );
}

/** 100 every session except the `jumps` (indexes into SESSIONS), where the close is 105 (a +5% move up, then back). */
function jumpBars(jumps: readonly number[]): FixtureBar[] {
  const at = new Set(jumps);
  return SESSIONS.map((date, i) => {
    const close = at.has(i) ? 105 : 100;
    const prev = at.has(i - 1) ? 105 : 100;
    return { date, open: prev, high: Math.max(prev, close), low: Math.min(prev, close), close, volume: 1000 + 10 * (i % 7) };
  });
}

// ───────────────────────────────────────────────────────────── adjustBars (the one function)

describe('adjustBars', () => {
  it('divides prices and multiplies volumes of the bars before each ex-date, compounding several actions', () => {
    const bars = {
      length: 5,
      date: ['2025-01-01', '2025-01-02', '2025-01-03', '2025-01-06', '2025-01-07'],
      open: [30, 30, 15, 15, 10],
      high: [33, 31.5, 16.5, 15, 11],
      low: [27, 30, 15, 13.5, 10],
      close: [30, 30, 15, 15, 10],
      volume: [100, 100, 200, 200, 300],
    };
    // A 1:1 bonus (factor 2) ex 2025-01-03, then a 1:2 bonus (factor 1.5) ex 2025-01-07, given out of order;
    // and one ex on the first bar (touches nothing before it).
    adjustBars(bars, [
      { ex_date: '2025-01-07', factor: 1.5 },
      { ex_date: '2025-01-03', factor: 2 },
      { ex_date: '2025-01-01', factor: 4 },
    ]);
    // Bars 0-1: ÷ (2 × 1.5) = ÷ 3; bars 2-3: ÷ 1.5; bar 4 as traded.
    expect(bars.close).toEqual([10, 10, 10, 10, 10]);
    expect(bars.open).toEqual([10, 10, 10, 10, 10]);
    expect(bars.high).toEqual([11, 10.5, 11, 10, 11]);
    expect(bars.low).toEqual([9, 10, 10, 9, 10]);
    expect(bars.volume).toEqual([300, 300, 300, 300, 300]);
  });

  it('leaves the bars untouched without actions', () => {
    const close = new Float64Array([1.1, 2.2]);
    const volume = new Float64Array([3, 4]);
    adjustBars({ length: 2, date: ['2025-01-01', '2025-01-02'], close, volume }, []);
    expect(Array.from(close)).toEqual([1.1, 2.2]);
    expect(Array.from(volume)).toEqual([3, 4]);
  });
});

// ───────────────────────────────────────────────────────────── a split and a bonus adjusting history

describe('corporate actions in the point-in-time reader', () => {
  const U = '500001'; // never split
  const S = '500002'; // a 2:1 split ex X1 and a 1:2 bonus ex X2, both recorded
  const R = '500003'; // S's raw prices, no action recorded
  const X1 = 180;
  const X2 = 260;
  const base = wavyBars(SESSIONS, { base: 100 }).map((b, i) => ({ ...b, volume: 3000 * (10 + (i % 5)) }));
  const raw = scaledBefore(scaledBefore(base, X2, 1.5), X1, 2);
  let file: string;
  let fs: FeatureSet;
  beforeAll(async () => {
    file = fixture((fx) => {
      for (const c of [U, S, R]) fx.stock({ code: c });
      fx.bars(U, base).bars(S, raw).bars(R, raw);
      fx.action(S, SESSIONS[X1], 'split', 2, 'FVSPLT FRM RS 10 TO RS 5').action(S, SESSIONS[X2], 'bonus', 1.5, 'BONUS 1:2');
    });
    fs = await computeAll(file, D);
  });

  it('a split and a bonus: the adjusted series gives the unsplit series’ features', () => {
    const u = rowOf(fs, U);
    const s = rowOf(fs, S);
    for (let i = 0; i < N_FEATURES; i++) {
      const name = FEATURE_NAMES[i];
      expect(s[i], name).toBeCloseTo(u[i], 5);
      if (u[i] !== 0) expect(Math.abs(s[i] / u[i] - 1), name).toBeLessThan(1e-6);
    }
    // Hand-computed from the unsplit closes: ret_60d spans both ex-dates.
    const c = base.map((b) => b.close);
    expect(get(s, 'ret_60d')).toBeCloseTo(c[299] / c[239] - 1, 6);
    expect(get(s, 'ret_5d')).toBeCloseTo(c[299] / c[294] - 1, 6);
  });

  it('without the action rows the same raw prices give different features (the adjustment is what makes them equal)', () => {
    const r = rowOf(fs, R);
    const c = base.map((b) => b.close);
    // Unadjusted: the close 60 sessions back is 1.5× too high (before the bonus).
    expect(get(r, 'ret_60d')).toBeCloseTo(c[299] / (c[239] * 1.5) - 1, 5);
    expect(Math.abs(get(r, 'ret_60d') - get(rowOf(fs, U), 'ret_60d'))).toBeGreaterThan(0.2);
  });

  it('reads only the actions in force for D: ex_date < D', () => {
    const db = openMarketReadonly(file);
    try {
      expect(actionsOf(db, S, '0000-00-00', SESSIONS[X1])).toEqual([]); // ex-date = D: not yet in force
      expect(actionsOf(db, S, '0000-00-00', SESSIONS[X1 + 1])).toEqual([{ ex_date: SESSIONS[X1], factor: 2 }]);
      expect(actionsOf(db, S, '0000-00-00', D)).toHaveLength(2);
      expect(actionsOf(db, S, SESSIONS[X1], D)).toEqual([{ ex_date: SESSIONS[X2], factor: 1.5 }]); // bars from X1 on: only X2 touches them
      expect(actionsOf(db, U, '0000-00-00', D)).toEqual([]);
    } finally {
      db.close();
    }
  });
});

describe('an action imported after the fact', () => {
  const U = '500001';
  const S = '500002';
  const X = 200;
  const base = wavyBars(SESSIONS, { base: 100 }).map((b, i) => ({ ...b, volume: 2000 * (5 + (i % 5)) }));
  const raw = scaledBefore(base, X, 2); // a 2:1 split at X, ×2 and ÷2 are exact in binary
  const BEFORE = SESSIONS[X]; // a prediction for the ex-date itself: the split is not in force
  const EARLY = SESSIONS[X - 30];

  it('leaves predictions before the ex-date unchanged, adjusts history after it, and rewrites no raw row', async () => {
    const file = fixture((fx) => {
      fx.stock({ code: U }).stock({ code: S });
      fx.bars(U, base).bars(S, raw);
    });
    const rawRows = (): unknown[] => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare('SELECT * FROM daily_prices WHERE bse_code = ? ORDER BY trade_date').all(S);
      } finally {
        db.close();
      }
    };
    const rowsBefore = rawRows();
    const early0 = await computeAll(file, EARLY);
    const before0 = await computeAll(file, BEFORE);
    const after0 = await computeAll(file, D);
    // Before the action is known, S after its ex-date does not look like U.
    expect(bytes(rowOf(after0, S)).equals(bytes(rowOf(after0, U)))).toBe(false);

    // The late import: one corporate_actions row, nothing else.
    const db = new Database(file);
    db.prepare("INSERT INTO corporate_actions (bse_code, ex_date, kind, factor, purpose, source) VALUES (?, ?, 'split', 2, 'FVSPLT FRM RS 10 TO RS 5', 'bc')").run(S, SESSIONS[X]);
    db.close();

    const early1 = await computeAll(file, EARLY);
    const before1 = await computeAll(file, BEFORE);
    const after1 = await computeAll(file, D);
    expect(bytes(early1.block.values).equals(bytes(early0.block.values))).toBe(true);
    expect(bytes(before1.block.values).equals(bytes(before0.block.values))).toBe(true);
    // After the ex-date: S's adjusted history is U's exactly (÷2 is exact), feature for feature.
    expect(Array.from(rowOf(after1, S))).toEqual(Array.from(rowOf(after1, U)));
    expect(bytes(rowOf(after1, U)).equals(bytes(rowOf(after0, U)))).toBe(true);
    // Raw prices stay raw.
    expect(rawRows()).toEqual(rowsBefore);
  });
});

describe('an action imported while the server holds market.db open', () => {
  it('the on-demand features see it on the next request (data_version), without a restart', () => {
    const U = '500001';
    const S = '500002';
    const base = wavyBars(SESSIONS, { base: 100 }).map((b, i) => ({ ...b, volume: 2000 * (5 + (i % 5)) }));
    const file = fixture((fx) => {
      fx.stock({ code: U }).stock({ code: S });
      fx.bars(U, base).bars(S, scaledBefore(base, 200, 2));
    });
    const db = openMarketReadonly(file);
    try {
      const online = new OnlineFeatures(db);
      const first = online.get(S, D);
      const u = online.get(U, D);
      if (!first.ok || !u.ok) throw new Error('expected rows');
      expect(Array.from(first.row.values)).not.toEqual(Array.from(u.row.values));
      const w = new Database(file);
      w.prepare("INSERT INTO corporate_actions (bse_code, ex_date, kind, factor, purpose, source) VALUES (?, ?, 'split', 2, 'FVSPLT FRM RS 10 TO RS 5', 'bc')").run(S, SESSIONS[200]);
      w.close();
      const again = online.get(S, D);
      if (!again.ok) throw new Error('expected a row');
      expect(Array.from(again.row.values)).toEqual(Array.from(u.row.values));
    } finally {
      db.close();
    }
  });
});

describe('point in time: exchange rows dated D or later change nothing for D', () => {
  it('bands effective from D, hits and their sessions on D or later, actions ex D or later', async () => {
    const dir = path.join(root, 'pit');
    mkdirSync(dir);
    const base = path.join(dir, 'base.db');
    await generateMarket({ file: base, stocks: 40, days: 330, seed: 31 });
    const db0 = new Database(base, { readonly: true });
    const sessions = db0.prepare('SELECT DISTINCT trade_date FROM daily_prices ORDER BY trade_date').pluck().all() as string[];
    const codes = db0.prepare("SELECT bse_code FROM master_stock_list WHERE status = 'ACTIVE' ORDER BY bse_code").pluck().all() as string[];
    db0.close();
    const date = sessions[sessions.length - 20];
    const later = sessions.slice(sessions.length - 20);
    const variant = (name: string, edit: (db: Database.Database) => void): string => {
      const file = path.join(dir, `${name}.db`);
      copyFileSync(base, file);
      const db = new Database(file);
      db.transaction(() => edit(db))();
      db.close();
      return file;
    };
    const future = variant('future', (db) => {
      for (const [i, c] of codes.entries()) {
        db.prepare('INSERT INTO price_bands (bse_code, effective_from, band_pct) VALUES (?, ?, ?)').run(c, later[i % later.length], i % 3 === 0 ? null : 2);
        db.prepare("INSERT INTO corporate_actions (bse_code, ex_date, kind, factor, purpose, source) VALUES (?, ?, 'split', 5, 'x', 't')").run(c, later[i % later.length]);
      }
      for (const d of later) db.prepare("INSERT INTO circuit_hit_sessions (trade_date, exchange) VALUES (?, 'NSE')").run(d);
      for (const c of codes) db.prepare("INSERT INTO circuit_hits (bse_code, trade_date, side) VALUES (?, ?, 'upper')").run(c, date);
    });
    const a = await computeAll(base, date);
    const b = await computeAll(future, date);
    expect(b.block.codes).toEqual(a.block.codes);
    expect(b.block.skips).toEqual(a.block.skips);
    expect(bytes(b.block.values).equals(bytes(a.block.values))).toBe(true);
    // The same rows one session earlier do change D's features (the test can fail).
    const past = variant('past', (db) => {
      db.prepare("INSERT INTO corporate_actions (bse_code, ex_date, kind, factor, purpose, source) VALUES (?, ?, 'split', 5, 'x', 't')").run(a.block.codes[0], sessions[sessions.length - 21]);
      db.prepare('INSERT INTO price_bands (bse_code, effective_from, band_pct) VALUES (?, ?, NULL)').run(a.block.codes[1], sessions[sessions.length - 21]);
    });
    const c = await computeAll(past, date);
    expect(c.block.skips.find((s) => s.bse_code === a.block.codes[1])?.reason).toBe('NO_PRICE_BAND');
    expect(bytes(rowOf(c, a.block.codes[0])).equals(bytes(rowOf(a, a.block.codes[0])))).toBe(false);
  });
});

// ───────────────────────────────────────────────────────────── bands by date

describe('the band in force by date', () => {
  // Jumps 100 → 105 (+5%: an upper circuit in a 5% band, not in a 10% one) at these sessions.
  const JUMPS = [100, 150, 200, 248, 250, 280];
  const Y = 250; // band 10 in force from SESSIONS[Y] (the sec_list of SESSIONS[Y − 1] said 10)
  const CHANGED = '500001'; // master 10 (the last band), price_bands: 5 until Y, then 10
  const PLAIN10 = '500002'; // master 10, no price_bands rows
  const PLAIN5 = '500003'; // master 5, no price_bands rows
  const LATE = '500004'; // master 5, price_bands 10 effective from D: not in force for D
  let fs: FeatureSet;
  beforeAll(async () => {
    const file = fixture((fx) => {
      fx.stock({ code: CHANGED, bandPct: 10 }).stock({ code: PLAIN10, bandPct: 10 }).stock({ code: PLAIN5, bandPct: 5 }).stock({ code: LATE, bandPct: 5 });
      for (const c of [CHANGED, PLAIN10, PLAIN5, LATE]) fx.bars(c, jumpBars(JUMPS));
      fx.band(CHANGED, '2024-01-01', 5).band(CHANGED, SESSIONS[Y], 10);
      fx.band(LATE, D, 10);
    });
    fs = await computeAll(file, D);
  });

  it('counts a hit with the band in force on its own day: a change takes effect from its effective session', () => {
    // Window: sessions 50…299. Band 5 before Y: jumps 100, 150, 200, 248 are hits; band 10 from Y on: the jump on Y itself (250) and 280 are not.
    expect(get(rowOf(fs, CHANGED), 'uc_count_250d')).toBe(4);
    expect(get(rowOf(fs, PLAIN10), 'uc_count_250d')).toBe(0);
    expect(get(rowOf(fs, PLAIN5), 'uc_count_250d')).toBe(6);
    // A band effective on D is not in force for D's features.
    expect(get(rowOf(fs, LATE), 'uc_count_250d')).toBe(6);
  });
});

describe('band rows read for a window', () => {
  it('the row in force at its start and the changes inside it, nothing older; the band in force for D', () => {
    const C = '500001';
    const file = fixture((fx) => {
      fx.stock({ code: C, bandPct: 20 }).bars(C, flatBars(SESSIONS.slice(-5)));
      fx.band(C, '2024-01-01', 5).band(C, '2025-03-03', 10).band(C, '2025-06-02', null).band(C, '2025-08-20', 20).band(C, '2025-09-01', 2);
    });
    const db = openMarketReadonly(file);
    try {
      expect(bandRowsOf(db, C, '2025-04-01', D)).toEqual([
        ['2025-03-03', 10],
        ['2025-06-02', null],
      ]);
      expect(bandRowsOf(db, C, '2025-03-03', '2025-03-04')).toEqual([['2025-03-03', 10]]);
      expect(bandRowsOf(db, C, '2023-01-01', '2024-06-01')).toEqual([['2024-01-01', 5]]);
      expect(bandsInForce(db, D)).toEqual(new Map([[C, null]])); // the change effective on D is not in force for D
      expect(bandsInForce(db, '2025-08-21')).toEqual(new Map([[C, 20]]));
      expect(bandsInForce(db, '2024-01-01')).toEqual(new Map()); // no row before: the master list's band
    } finally {
      db.close();
    }
  });
});

// ───────────────────────────────────────────────────────────── NO_PRICE_BAND

describe('NO_PRICE_BAND', () => {
  const NOBAND_MASTER = '500001'; // master NULL, no price_bands: No Band
  const NOBAND_ROWS = '500002'; // master 20, price_bands NULL since 2024: No Band
  const BANDED_AGAIN = '500003'; // master NULL, price_bands 10 since 2024: scored with 10
  const NOBAND_LATER = '500004'; // master 20, price_bands NULL from D: not in force for D, scored
  let file: string;
  beforeAll(() => {
    file = fixture((fx) => {
      fx.stock({ code: NOBAND_MASTER, bandPct: null }).stock({ code: NOBAND_ROWS }).stock({ code: BANDED_AGAIN, bandPct: null }).stock({ code: NOBAND_LATER });
      for (const c of [NOBAND_MASTER, NOBAND_ROWS, BANDED_AGAIN, NOBAND_LATER]) fx.bars(c, wavyBars(SESSIONS));
      fx.band(NOBAND_ROWS, '2024-01-01', null, 'No Band').band(BANDED_AGAIN, '2024-01-01', 10).band(NOBAND_LATER, D, null);
    });
  });

  it('skips a stock whose band in force at the as-of session is No Band, with its own reason', async () => {
    const fs = await computeAll(file, D);
    expect(fs.block.codes).toEqual([BANDED_AGAIN, NOBAND_LATER]);
    expect(fs.block.skips.map((s) => [s.bse_code, s.reason])).toEqual([
      [NOBAND_MASTER, 'NO_PRICE_BAND'],
      [NOBAND_ROWS, 'NO_PRICE_BAND'],
    ]);
  });

  it('the on-demand path (the API) answers the same skip', () => {
    const db = openMarketReadonly(file);
    try {
      const online = new OnlineFeatures(db);
      const r = online.get(NOBAND_ROWS, D);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.skip.reason).toBe('NO_PRICE_BAND');
      expect(online.get(BANDED_AGAIN, D).ok).toBe(true);
      expect(online.get(NOBAND_LATER, D).ok).toBe(true);
    } finally {
      db.close();
    }
  });

  it('does not count against the error budget', () => {
    const skips = [...Array.from({ length: 40 }, () => ({ reason: 'NO_PRICE_BAND' })), { reason: 'NO_PRICE_DATA' }];
    // 100 stocks, 40 without a band: 1 counted skip of the 60 that could be scored.
    expect(budgetShare(skips, 100)).toBeCloseTo(1 / 60, 12);
    expect(budgetShare(skips.slice(0, 40), 40)).toBe(0);
  });
});

// ───────────────────────────────────────────────────────────── observed hits: features

describe('observed hits (bh) as the truth for the features', () => {
  const O = '500001';
  // Derived (band 5): jumps at 100, 150, 200, 248, 250, 280 → 6 in the window.
  // Observed: session 150 listed nobody (its jump is not a hit), sessions 120 and 125 list O (no jump, but hits).
  let fs: FeatureSet;
  let plain: FeatureSet;
  beforeAll(async () => {
    const build = (observed: boolean) =>
      fixture((fx) => {
        fx.stock({ code: O, bandPct: 5 }).bars(O, jumpBars([100, 150, 200, 248, 250, 280]));
        // A result announced on session 150: its 5-session window 150…154 holds the jump at 150.
        fx.result(O, '2024-12-31', SESSIONS[150], 100, 10, 1);
        if (observed) fx.hitSession(SESSIONS[150], []).hitSession(SESSIONS[120], [O]).hitSession(SESSIONS[125], [O]);
      });
    plain = await computeAll(build(false), D);
    fs = await computeAll(build(true), D);
  });

  it('uc_count_250d counts the exchange’s list on its sessions and the rule elsewhere', () => {
    expect(get(rowOf(plain, O), 'uc_count_250d')).toBe(6);
    expect(get(rowOf(fs, O), 'uc_count_250d')).toBe(6 - 1 + 2);
  });

  it('earnings_window_uc_rate too: the observed session without O in the list is no hit', () => {
    expect(get(rowOf(plain, O), 'earnings_window_uc_rate')).toBe(1);
    expect(get(rowOf(fs, O), 'earnings_window_uc_rate')).toBe(0);
  });
});

// ───────────────────────────────────────────────────────────── observed hits: labels and outcomes

describe('observed hits as labels and outcomes', () => {
  const P = '500001'; // a +5% jump on an observed session, not listed: no hit
  const Q = '500002'; // flat, listed on that session: hit
  const R = '500003'; // a +5% jump on the next (unobserved) session: derived hit
  const T = '500004'; // a 1:1 bonus ex two sessions later, the raw close 100 → 52.5: +5% on the adjusted close
  // The label window of the training date at index 272 (sampleDates with 300 sessions, horizon 5, 4 dates).
  const t = 272;
  let file: string;
  beforeAll(() => {
    file = fixture((fx) => {
      for (const c of [P, Q, R, T]) fx.stock({ code: c, bandPct: 5 });
      fx.bars(P, jumpBars([t])).bars(Q, jumpBars([])).bars(R, jumpBars([t + 1]));
      const bonus = jumpBars([]).map((b, i) => (i >= t + 2 ? { ...b, open: 52.5, high: 52.5, low: 52.5, close: 52.5 } : b));
      fx.bars(T, bonus).action(T, SESSIONS[t + 2], 'bonus', 2, 'BONUS 1:1');
      fx.hitSession(SESSIONS[t], [Q]);
    });
  });

  it('upperCircuitHits (labels and outcomes) takes the exchange’s list where it exists and the adjusted rule elsewhere', () => {
    const db = openMarketReadonly(file);
    try {
      const hits = upperCircuitHits(db, SESSIONS[t - 1], SESSIONS[t + 4]);
      expect(Object.fromEntries(hits)).toEqual({ [Q]: SESSIONS[t], [R]: SESSIONS[t + 1], [T]: SESSIONS[t + 2] });
    } finally {
      db.close();
    }
  });

  it('the training labels of that date are those hits', async () => {
    const { dates } = sampleDates(SESSIONS, { horizon: 5, dates: 4 });
    expect(dates).toEqual([SESSIONS[261], SESSIONS[272], SESSIONS[283], SESSIONS[294]]);
    const db = openMarketReadonly(file);
    try {
      const ds = await buildDataset(db, file, { horizon: 5, dates: 4, validShare: 0.25, threads: 0 });
      expect(ds.train.dates).toEqual([SESSIONS[261], SESSIONS[272], SESSIONS[283]]);
      // Four stocks per date, in code order (equal market caps): the second date's labels.
      expect(ds.train.n).toBe(12);
      expect(Array.from(ds.train.y.subarray(4, 8))).toEqual([0, 1, 1, 1]);
      expect(Array.from(ds.train.y.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    } finally {
      db.close();
    }
  });

  it('the outcomes stage records them, with source exchange only when the list covers the whole window', () => {
    const db = openMarketReadonly(file);
    try {
      const recorded: { date: string; hits: Record<string, string>; source: string }[] = [];
      const store = {
        pendingOutcomes: () => [
          { prediction_date: SESSIONS[t], model_name: 'm', model_version: '1' },
          { prediction_date: SESSIONS[t], model_name: 'one', model_version: '2' },
        ],
        recordOutcomes: (o: { date: string; hits: Map<string, string>; source: (code: string) => string }) => {
          // One source for all four here: exchange_listings is empty, so the list speaks for every stock.
          const sources = new Set([P, Q, R, T].map((c) => o.source(c)));
          expect(sources.size).toBe(1);
          recorded.push({ date: o.date, hits: Object.fromEntries(o.hits), source: [...sources][0] });
          return o.hits.size;
        },
        predictionCodes: () => [P, Q, R, T],
      } as unknown as PredictionsStore;
      const out = fillOutcomes(db, store, (name) => (name === 'one' ? 1 : 5));
      expect(out.recorded.map((r) => r.hits)).toEqual([3, 1]);
      expect(recorded).toEqual([
        { date: SESSIONS[t], hits: { [Q]: SESSIONS[t], [R]: SESSIONS[t + 1], [T]: SESSIONS[t + 2] }, source: 'closes' },
        // A one-session window on the observed session: the exchange's list alone.
        { date: SESSIONS[t], hits: { [Q]: SESSIONS[t] }, source: 'exchange' },
      ]);
    } finally {
      db.close();
    }
  });
});

// ───────────────────────────────────────────────────────────── data check

describe('data check', () => {
  const DAYS = weekdaysEnding('2025-08-19', 30);
  const GAP = 10; // no price row from any stock: uncovered
  const HOLIDAY = 20; // a holiday with no price row: expected
  const codes = { A1: '500001', A2: '500002', A3: '500003', B: '500004', M: '500005', N: '500006', S: '500007', W: '500008' };
  const days = DAYS.filter((_, i) => i !== GAP && i !== HOLIDAY);
  /** Flat at 100, then `after` from session `from` on (an index into DAYS). */
  const step = (from: number, after: number, base = 100): FixtureBar[] =>
    flatBars(days, base).map((b) => (b.date >= DAYS[from] ? { ...b, open: after, high: after, low: after, close: after } : b));
  const spike = (at: number, to: number): FixtureBar[] => flatBars(days, 100).map((b) => (b.date === DAYS[at] ? { ...b, high: to, close: to } : b));
  let file: string;
  beforeAll(() => {
    file = fixture((fx) => {
      for (const c of Object.values(codes)) fx.stock({ code: c, bandPct: c === codes.N ? null : 20 });
      fx.holiday(DAYS[HOLIDAY]);
      fx.bars(codes.A1, spike(5, 120)); // +20% on the observed session, listed: agree
      fx.bars(codes.A2, spike(5, 120)); // +20%, not listed: only derived
      fx.bars(codes.A3, flatBars(days, 100)); // flat, listed: only observed
      fx.bars(codes.B, step(25, 108)).band(codes.B, DAYS[22], 5); // +8% under the 5% band in force since session 22: suspect
      fx.bars(codes.M, step(15, 50)); // halves with no action: the missed split
      fx.bars(codes.N, step(15, 130)); // No Band: cannot be judged
      fx.bars(codes.S, step(15, 50)).action(codes.S, DAYS[15], 'split', 2); // explained by its split
      fx.bars(codes.W, step(15, 50)).action(codes.W, DAYS[15], 'bonus', 1.5); // a 1.5 factor leaves -25%: suspect
      fx.hitSession(DAYS[5], [codes.A1, codes.A3, '500099']); // 500099 has no price row that day
    });
  });

  it('lists suspect moves, uncovered sessions and the derived-versus-observed agreement', () => {
    const db = openMarketReadonly(file);
    try {
      const r = checkMarket(db);
      expect(r.firstSession).toBe(DAYS[0]);
      expect(r.lastSession).toBe(DAYS[29]);
      expect(r.priceRows).toBe(8 * 28);
      expect(r.uncoveredSessions).toEqual([DAYS[GAP]]);
      expect(r.suspectMoves.map((m) => [m.bse_code, m.date, m.ratio, m.band_pct, m.factor])).toEqual([
        [codes.B, DAYS[25], 1.08, 5, 1],
        [codes.M, DAYS[15], 0.5, 20, 1],
        [codes.W, DAYS[15], 0.5, 20, 1.5],
      ]);
      // Session 5: 8 stocks with a previous close are judged.
      expect(r.agreement).toEqual({
        sessions: 1,
        judged: 8,
        agree: 1,
        onlyDerived: 1,
        onlyObserved: 1,
        observedWithoutPrice: 1,
        examples: [
          { bse_code: codes.A2, date: DAYS[5], kind: 'only_derived' },
          { bse_code: codes.A3, date: DAYS[5], kind: 'only_observed' },
        ],
      });
    } finally {
      db.close();
    }
  });
});

// ───────────────────────────────────────────────────────────── a market.db made before the tables

describe('a market.db made before the exchange tables', () => {
  it('opens, gives byte-identical features and the same hits, and checks clean', async () => {
    const dir = path.join(root, 'pre');
    mkdirSync(dir);
    const withTables = path.join(dir, 'with.db');
    await generateMarket({ file: withTables, stocks: 40, days: 300, seed: 12 });
    const without = path.join(dir, 'without.db');
    copyFileSync(withTables, without);
    const w = new Database(without);
    for (const t of ['security_isins', 'exchange_listings', 'exchange_prices', 'price_bands', 'circuit_hits', 'circuit_hit_sessions', 'corporate_actions', 'market_caps']) {
      w.exec(`DROP TABLE ${t}`);
    }
    w.close();
    const db = openMarketReadonly(withTables);
    const last = db.prepare('SELECT max(trade_date) FROM daily_prices').pluck().get() as string;
    const sessions = db.prepare('SELECT DISTINCT trade_date FROM daily_prices ORDER BY trade_date DESC LIMIT 10').pluck().all() as string[];
    db.close();
    const date = sessions[5];
    const a = await computeAll(withTables, date);
    const b = await computeAll(without, date);
    expect(b.block.codes).toEqual(a.block.codes);
    expect(bytes(b.block.values).equals(bytes(a.block.values))).toBe(true);
    const da = openMarketReadonly(withTables);
    const dbb = openMarketReadonly(without);
    try {
      expect(upperCircuitHits(dbb, sessions[6], last)).toEqual(upperCircuitHits(da, sessions[6], last));
      const r = checkMarket(dbb);
      expect(r.agreement).toBeNull();
      expect(r.suspectMoves).toEqual([]);
      expect(r.uncoveredSessions).toEqual([]);
    } finally {
      da.close();
      dbb.close();
    }
  });
});

describe("the dashboard's close history reads the same series as the features", () => {
  it('adjusts closes for an action in force after the chart end, and marks hits from the list and the band in force', () => {
    const S = '500100';
    // 100 everywhere; +5% jumps at sessions 250 and 280; a 2:1 split on session 290 (raw closes halve from there).
    const raw = jumpBars([250, 280]).map((b, i) => (i >= 290 ? { ...b, open: b.open / 2, high: b.high / 2, low: b.low / 2, close: b.close / 2, volume: b.volume * 2 } : b));
    const file = fixture((fx) => {
      fx.stock({ code: S, bandPct: 5 }).bars(S, raw);
      fx.action(S, SESSIONS[290], 'split', 2, 'FVSPLT FRM RS 10 TO RS 5');
      // The band is 10 from session 270 on: the +5% jump at 280 is no longer a hit by the rule ...
      fx.band(S, '2024-01-01', 5).band(S, SESSIONS[270], 10);
      // ... but the exchange listed it on session 280, and listed nothing on session 250.
      fx.hitSession(SESSIONS[250], []).hitSession(SESSIONS[280], [S]);
    });
    const db = openMarketReadonly(file);
    try {
      const before = closeHistory(db, S, SESSIONS[289], 300);
      const after = closeHistory(db, S, SESSIONS[299], 300);
      // Before the ex-date the chart shows the raw closes; from it on, history halves (the split is in force).
      expect(before.at(-1)).toMatchObject({ date: SESSIONS[289], close: 100 });
      expect(after.find((s) => s.date === SESSIONS[100])?.close).toBe(50);
      expect(after.at(-1)?.close).toBe(50);
      // The split session is a move from 50 (adjusted) to 50: no hit; the two jumps: 250 not listed, 280 listed.
      expect(after.filter((s) => s.upper_circuit).map((s) => s.date)).toEqual([SESSIONS[280]]);
      // The 50-session average of a flat adjusted series ending on a flat stretch is its level.
      expect(after.at(-1)?.sma50).toBeCloseTo((48 * 50 + 2 * 52.5) / 50, 10);
    } finally {
      db.close();
    }
  });
});
