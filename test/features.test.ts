/**
 * The financial, sentiment and seasonality families, the skip rules, the
 * imputation and the feature store's column list, on hand-built market.db
 * files (test/helpers/market-fixture.ts). Every expected value below is
 * worked out in this file from the rows inserted here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_INDEX, FEATURE_NAMES, N_FEATURES, type FeatureName } from '../src/features/definition.js';
import { financialFeatures } from '../src/features/financial.js';
import type { FeatureSet } from '../src/features/service.js';
import type { ResultRow } from '../src/features/inputs.js';
import { upperCircuitPrice } from '../src/market/circuit.js';
import type { Db } from '../src/market/db.js';
import { migrate } from '../src/predictions/migrate.js';
import { MarketFixture, dayOfWeek, flatBars, plusDays, wavyBars, weekdaysEnding, type FixtureBar } from './helpers/market-fixture.js';
import { computeAll } from './helpers/compute.js';

/** The prediction date (a Wednesday) and the market's as-of session (Tuesday). */
const D = '2025-08-20';
const AS_OF = '2025-08-19';
/** 300 weekday sessions ending at the as-of session (no holidays in these fixtures). */
const SESSIONS = weekdaysEnding(AS_OF, 300);

/** Six quarter ends and their announcement dates (all well before D). */
const PERIODS = ['2024-03-31', '2024-06-30', '2024-09-30', '2024-12-31', '2025-03-31', '2025-06-30'];
const ANNOUNCED = ['2024-05-10', '2024-08-09', '2024-11-08', '2025-02-07', '2025-05-09', '2025-08-08'];

type Quarter = [revenue: number | null, profit: number | null, eps: number | null];

const f32 = (x: number): number => Math.fround(x);

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'stockflow-features-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** One stock's row of a computed feature set, by name; undefined when the stock has no row. */
function rowOf(fs: FeatureSet, code: string): { get: (n: FeatureName) => number; imputed: number; values: Float32Array } | undefined {
  const i = fs.block.codes.indexOf(code);
  if (i < 0) return undefined;
  const values = fs.block.values.subarray(i * N_FEATURES, (i + 1) * N_FEATURES);
  return { get: (n) => values[FEATURE_INDEX[n]], imputed: fs.imputed[i], values };
}

function mustRow(fs: FeatureSet, code: string): NonNullable<ReturnType<typeof rowOf>> {
  const r = rowOf(fs, code);
  if (!r) throw new Error(`${code} has no feature row; skips: ${JSON.stringify(fs.block.skips)}`);
  return r;
}

/** The median as the spec defines it (middle value, or mean of the middle two), for the hand calculations. */
const med = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

// ---------------------------------------------------------------- financial family and imputation

describe('financial family (hand-built market)', () => {
  // Sector Alpha: A, B, C, E active and S suspended; sector Beta: F alone, with no results.
  const A = '500001';
  const B = '500002';
  const C = '500003';
  const E = '500004';
  const S = '500005';
  const F = '500006';
  // Oldest quarter first (PERIODS order): [revenue, net profit, EPS].
  const qA: Quarter[] = [[96, 8, 1.6], [100, -10, -2], [110, 5, 1], [115, 6, 1.2], [120, 9, 2.5], [150, 12, 2.0]];
  const qB: Quarter[] = [[40, 4, 0.8], [42, 4, 0.8], [44, 4.4, 0.9], [45, 4.5, 1.0], [50, 5, 1.1]];
  const qBonD: Quarter = [1000, 500, 50]; // B's 2025-06-30 quarter, announced ON D: must not be used
  const qC: Quarter[] = [[50, 2, 0.5], [60, 3, 0.6], [62, 3.1, 0.7], [64, 3.2, 0.8], [60, 4, 1.0], [66, 6.6, 1.2]];
  const qE: Quarter[] = [[200, 20, 3], [210, 21, 3.2], [220, 22, 3.4], [230, 23, 3.6], [260, 26, 4], [231, 23.1, 3]];
  const qS: Quarter[] = [[10, 1, 1], [10, 1, 1], [10, 1, 1], [10, 1, 1], [10, 1, 1], [100, 50, 10]];

  let fs: FeatureSet;
  beforeAll(async () => {
    const file = path.join(root, 'financial.db');
    const fx = new MarketFixture(file);
    const add = (code: string, sector: string, cap: number | null, quarters: Quarter[], status: 'ACTIVE' | 'SUSPENDED' = 'ACTIVE', phase = 0): void => {
      fx.stock({ code, sector, marketCapCr: cap, status }).bars(code, wavyBars(SESSIONS, { phase }));
      quarters.forEach(([r, p, e], k) => fx.result(code, PERIODS[k], ANNOUNCED[k], r, p, e));
      fx.news(code, plusDays(D, -2), 0.1).expected(code, plusDays(D, 30));
    };
    add(A, 'Alpha', 5000, qA.slice(0, 5), 'ACTIVE', 1);
    fx.result(A, PERIODS[5], plusDays(D, -1), ...qA[5]); // announced D − 1: used
    add(B, 'Alpha', null, qB, 'ACTIVE', 2);
    fx.result(B, PERIODS[5], D, ...qBonD); // announced on D: not used
    add(C, 'Alpha', 2000, qC, 'ACTIVE', 3);
    add(E, 'Alpha', 800, qE, 'ACTIVE', 4);
    add(S, 'Alpha', 1_000_000, qS, 'SUSPENDED', 5);
    add(F, 'Beta', 300, [], 'ACTIVE', 6);
    fx.close();
    fs = await computeAll(file, D);
  });

  it('scores exactly the five ACTIVE stocks, none skipped', () => {
    expect(fs.block.skips).toEqual([]);
    expect([...fs.block.codes].sort()).toEqual([A, B, C, E, F]);
    expect(fs.ctx).toEqual({ date: D, asOf: AS_OF, recentSince: '2025-08-13' });
  });

  it('computes all 7 from six quarters, with a negative year-earlier profit and the D − 1 announcement used', () => {
    const r = mustRow(fs, A);
    // Latest quarter 2025-06-30 (announced D − 1): revenue 150, profit 12, EPS 2.0.
    // Year earlier 2024-06-30: revenue 100, profit −10. Previous quarter 2025-03-31: revenue 120, EPS 2.5.
    // Previous quarter's year earlier 2024-03-31: revenue 96.
    expect(r.get('revenue_growth_yoy')).toBe(f32(150 / 100 - 1)); // 0.5
    expect(r.get('profit_growth_yoy')).toBe(f32((12 - -10) / 10)); // 2.2: growth from a loss is positive
    expect(r.get('net_profit_margin')).toBe(f32(12 / 150)); // 0.08
    expect(r.get('npm_trend')).toBe(f32(12 / 150 - -10 / 100)); // 0.18
    expect(r.get('eps_growth_qoq')).toBe(f32((2.0 - 2.5) / 2.5)); // −0.2
    expect(r.get('revenue_acceleration')).toBe(f32(150 / 100 - 1 - (120 / 96 - 1))); // 0.5 − 0.25
    expect(r.get('log_market_cap')).toBe(f32(Math.log(5000)));
    expect(r.imputed).toBe(0);
  });

  it('ignores the result announced ON D; the missing quarter and market cap are imputed with the sector median of the other ACTIVE stocks', () => {
    const r = mustRow(fs, B);
    // Latest usable quarter is 2025-03-31 (50, 5, 1.1); a year earlier 2024-03-31 (40, 4); previous 2024-12-31 (EPS 1.0).
    expect(r.get('revenue_growth_yoy')).toBe(f32(50 / 40 - 1));
    expect(r.get('profit_growth_yoy')).toBe(f32((5 - 4) / 4));
    expect(r.get('net_profit_margin')).toBe(f32(5 / 50));
    expect(r.get('npm_trend')).toBe(f32(5 / 50 - 4 / 40));
    expect(r.get('eps_growth_qoq')).toBe(f32((1.1 - 1.0) / 1.0));
    // revenue_acceleration needs 2023-12-31, which B does not have → Alpha's median over A, C, E
    // (S is SUSPENDED and excluded: with it the median would be (−0.1 + 0.25)/2).
    const accel = [150 / 100 - 1 - (120 / 96 - 1), 66 / 60 - 1 - (60 / 50 - 1), 231 / 210 - 1 - (260 / 200 - 1)];
    expect(med(accel)).toBeCloseTo(-0.1, 12);
    expect(r.get('revenue_acceleration')).toBe(f32(med(accel)));
    // Unknown market cap → Alpha's median of ln(5000), ln(2000), ln(800) = ln(2000) (with S's 10⁶ it would differ).
    expect(r.get('log_market_cap')).toBe(f32(Math.log(2000)));
    expect(r.imputed).toBe(2);
  });

  it('C and E, the sector peers, come out as worked by hand', () => {
    const c = mustRow(fs, C);
    expect(c.get('revenue_growth_yoy')).toBe(f32(66 / 60 - 1));
    expect(c.get('profit_growth_yoy')).toBe(f32((6.6 - 3) / 3));
    expect(c.get('net_profit_margin')).toBe(f32(6.6 / 66));
    expect(c.get('npm_trend')).toBe(f32(6.6 / 66 - 3 / 60));
    expect(c.get('eps_growth_qoq')).toBe(f32((1.2 - 1.0) / 1.0));
    expect(c.get('revenue_acceleration')).toBe(f32(66 / 60 - 1 - (60 / 50 - 1)));
    const e = mustRow(fs, E);
    expect(e.get('eps_growth_qoq')).toBe(f32((3 - 4) / 4));
    expect(e.get('revenue_acceleration')).toBe(f32(231 / 210 - 1 - (260 / 200 - 1)));
  });

  it('a sector with no data falls back to the universe median of the ACTIVE stocks', () => {
    const r = mustRow(fs, F);
    // Per feature, A, B, C, E (F itself has none; S is not ACTIVE).
    const rev = [150 / 100 - 1, 50 / 40 - 1, 66 / 60 - 1, 231 / 210 - 1];
    const profit = [(12 + 10) / 10, (5 - 4) / 4, (6.6 - 3) / 3, (23.1 - 21) / 21];
    const margin = [12 / 150, 5 / 50, 6.6 / 66, 23.1 / 231];
    const trend = [12 / 150 + 10 / 100, 5 / 50 - 4 / 40, 6.6 / 66 - 3 / 60, 23.1 / 231 - 21 / 210];
    const eps = [(2 - 2.5) / 2.5, (1.1 - 1) / 1, (1.2 - 1) / 1, (3 - 4) / 4];
    const accel = [150 / 100 - 1 - (120 / 96 - 1), 66 / 60 - 1 - (60 / 50 - 1), 231 / 210 - 1 - (260 / 200 - 1)]; // B has none
    expect(r.get('revenue_growth_yoy')).toBe(f32(med(rev)));
    expect(med(rev)).toBeCloseTo((0.1 + 0.25) / 2, 12);
    expect(r.get('profit_growth_yoy')).toBe(f32(med(profit)));
    expect(med(profit)).toBeCloseTo((0.25 + 1.2) / 2, 12);
    expect(r.get('net_profit_margin')).toBe(f32(med(margin)));
    expect(r.get('npm_trend')).toBe(f32(med(trend)));
    expect(med(trend)).toBeCloseTo(0.025, 12);
    expect(r.get('eps_growth_qoq')).toBe(f32(med(eps)));
    expect(med(eps)).toBeCloseTo(-0.05, 12);
    expect(r.get('revenue_acceleration')).toBe(f32(med(accel)));
    // Beta does have a log_market_cap (F's own), which is not missing.
    expect(r.get('log_market_cap')).toBe(f32(Math.log(300)));
    // 6 financial values imputed + earnings_window_uc_rate (no past announcements) neutral-filled.
    expect(r.imputed).toBe(7);
  });

  it('financialFeatures: zero or negative bases and absent values give NaN; input order does not matter', () => {
    const rows = (qs: Quarter[]): ResultRow[] =>
      qs.map(([revenue_cr, net_profit_cr, eps], k) => ({ period_end: PERIODS[k], announced_on: ANNOUNCED[k], revenue_cr, net_profit_cr, eps }));
    const run = (rs: ResultRow[], cap: number | null): Float64Array => {
      const out = new Float64Array(N_FEATURES).fill(-999);
      financialFeatures(rs, cap, out, 0);
      return out;
    };
    const at = (o: Float64Array, n: FeatureName): number => o[FEATURE_INDEX[n]];
    // Year-earlier revenue 0 and profit 0; previous EPS 0; latest revenue 0 (no margin).
    const z = run(rows([[10, 1, 1], [0, 0, 1], [5, 1, 1], [5, 1, 1], [8, 1, 0], [0, 2, 3]]), 0);
    expect(at(z, 'revenue_growth_yoy')).toBeNaN();
    expect(at(z, 'profit_growth_yoy')).toBeNaN();
    expect(at(z, 'net_profit_margin')).toBeNaN();
    expect(at(z, 'npm_trend')).toBeNaN();
    expect(at(z, 'eps_growth_qoq')).toBeNaN();
    expect(at(z, 'revenue_acceleration')).toBeNaN();
    expect(at(z, 'log_market_cap')).toBeNaN();
    // Negative previous EPS: (−1 − (−2)) / |−2| = 0.5; nulls → NaN; the technical slots are untouched.
    const n = run(rows([[10, 1, 1], [20, null, 1], [5, 1, 1], [5, 1, 1], [8, 1, -2], [null, 2, -1]]), 100);
    expect(at(n, 'eps_growth_qoq')).toBe(0.5);
    expect(at(n, 'revenue_growth_yoy')).toBeNaN();
    expect(at(n, 'profit_growth_yoy')).toBeNaN();
    expect(at(n, 'log_market_cap')).toBe(Math.log(100));
    expect(at(n, 'ret_5d')).toBe(-999);
    // Shuffled input and a gap year: same answer as in order.
    const inOrder = rows(qA);
    const shuffled = [inOrder[3], inOrder[0], inOrder[5], inOrder[1], inOrder[4], inOrder[2]];
    expect(run(shuffled, 5000)).toEqual(run(inOrder, 5000));
    // Only the latest quarter: margin is defined, everything comparative is not.
    const one = run(rows(qA).slice(5), 5000);
    expect(at(one, 'net_profit_margin')).toBe(12 / 150);
    for (const k of ['revenue_growth_yoy', 'profit_growth_yoy', 'npm_trend', 'eps_growth_qoq', 'revenue_acceleration'] as const) expect(at(one, k)).toBeNaN();
  });
});

// ---------------------------------------------------------------- sentiment, seasonality, skip rules

describe('sentiment, seasonality and skip rules (hand-built market)', () => {
  const N1 = '510001';
  const N0 = '510002';
  const NOLD = '510003';
  const K0 = '510004';
  const K17 = '510005';
  const KNONE = '510006';
  const K200 = '510007';
  const K120 = '510009';
  const U = '510008';
  const NOBARS = '520001';
  const STALE = '520002';
  const EDGE = '520003';
  const SHORT = '520004';
  const OK250 = '520005';
  const FUTURE = '520006';
  const M12 = '520007';
  const M13 = '520008';
  const M14 = '520009';
  const FLAT = '520010';
  const ZEROVOL = '520011';

  // U's planted announcements (as session indexes into SESSIONS) and upper-circuit closes.
  const n = SESSIONS.length; // 300; the uc-rate window is the last 250 sessions: indexes 50 … 299
  const k2 = SESSIONS.findIndex((d, i) => i > 110 && dayOfWeek(d) === 1); // a Monday
  const U_ANN = {
    beforeWindow: 49, // first session 49 is outside the last 250 → not counted (although followed by a UC)
    firstInWindow: 50, // hit (UC at 52)
    saturday: k2, // announced the Saturday before session k2: hit on the 5th session (k2 + 4)
    sixthSession: 180, // UC only on the 6th session → miss
    noUc: 230, // miss
    lastComplete: n - 5, // window 295 … 299 complete, no UC → miss
    incomplete: n - 4, // window would need the session of D → not counted (if counted: a miss, rate 2/6)
  };
  const U_UC = [50, 52, k2 + 4, 180 + 5];

  let fs: FeatureSet;
  beforeAll(async () => {
    const file = path.join(root, 'events.db');
    const fx = new MarketFixture(file);
    /** A stock with everything present unless switched off. */
    const full = (
      code: string,
      o: { bars?: FixtureBar[]; results?: boolean; news?: boolean; calendar?: boolean; cap?: number | null; band?: 5 | 20 } = {},
    ): void => {
      fx.stock({ code, marketCapCr: o.cap === undefined ? 1000 : o.cap, bandPct: o.band ?? 20 });
      const bars = o.bars ?? wavyBars(SESSIONS, { phase: Number(code) % 17 });
      if (bars.length > 0) fx.bars(code, bars);
      if (o.results !== false) {
        const base = 100 + (Number(code) % 7);
        PERIODS.forEach((p, k) => fx.result(code, p, ANNOUNCED[k], base + 5 * k, 10 + k, 1 + k / 10));
      }
      if (o.news !== false) fx.news(code, plusDays(D, -2), 0.1);
      if (o.calendar !== false) fx.expected(code, plusDays(D, 30));
    };

    // Sentiment.
    full(N1, { news: false });
    for (const [dd, s] of [[-8, -0.4], [-7, 0.6], [-3, 0.2], [0, 1.0], [-30, 0.5], [-31, -1.0], [2, 1.0]] as const) fx.news(N1, plusDays(D, dd), s);
    full(N0, { news: false });
    full(NOLD, { news: false });
    fx.news(NOLD, plusDays(D, -10), 0.3).news(NOLD, plusDays(D, -20), -0.5);

    // days_to_earnings.
    full(K0, { calendar: false });
    fx.expected(K0, plusDays(D, -1)).expected(K0, D).expected(K0, plusDays(D, 50));
    full(K17, { calendar: false });
    fx.expected(K17, plusDays(D, 40)).expected(K17, plusDays(D, 17));
    full(KNONE, { calendar: false });
    fx.expected(KNONE, plusDays(D, -3)); // a past expected date is no next date
    full(K200, { calendar: false });
    fx.expected(K200, plusDays(D, 200));
    full(K120, { calendar: false });
    fx.expected(K120, plusDays(D, 119));

    // earnings_window_uc_rate on a 5% band.
    const ub = wavyBars(SESSIONS, { phase: 3 });
    for (const j of U_UC) {
      ub[j].close = upperCircuitPrice(ub[j - 1].close, 5);
      ub[j].high = Math.max(ub[j].high, ub[j].close);
    }
    full(U, { bars: ub, results: false, band: 5 });
    let q = 0;
    for (const idx of Object.values(U_ANN)) {
      const announced = idx === k2 ? plusDays(SESSIONS[k2], -2) : SESSIONS[idx];
      fx.result(U, `20${10 + Math.floor(q / 4)}-${['03-31', '06-30', '09-30', '12-31'][q % 4]}`, announced, 100, 10, 1);
      q++;
    }
    fx.result(U, '2025-06-30', D, 100, 10, 1); // announced on D: never an announcement for D

    // Skip rules.
    fx.stock({ code: NOBARS });
    full(STALE, { bars: wavyBars(weekdaysEnding('2025-08-12', 300)) }); // the session before the last five
    full(EDGE, { bars: wavyBars(weekdaysEnding('2025-08-13', 300)) }); // the first of the last five
    full(SHORT, { bars: wavyBars(SESSIONS.slice(-249)) });
    full(OK250, { bars: wavyBars(SESSIONS.slice(-250)) });
    full(FUTURE, { bars: wavyBars(weekdaysEnding(plusDays(D, 14), 11)) }); // bars only on D and later
    const bare = { results: false, news: false, calendar: false, cap: null };
    full(M12, bare); // 7 financial + 3 sentiment + 1 calendar + 1 announcements = 12
    full(M13, { ...bare, bars: wavyBars(SESSIONS).map((b) => ({ ...b, volume: 0 })) }); // + volume_dry_up = 13
    full(M14, { ...bare, bars: flatBars(SESSIONS, 40, 0) }); // + volatility_contraction = 14
    full(FLAT, { bars: flatBars(SESSIONS, 40, 500) });
    full(ZEROVOL, { bars: wavyBars(SESSIONS).map((b) => ({ ...b, volume: 0 })) });
    fx.close();
    fs = await computeAll(file, D);
  });

  it('sentiment over [D − 7, D) and [D − 30, D): the item on D and the one on D − 31 are ignored', () => {
    const r = mustRow(fs, N1);
    const mean7 = (0.6 + 0.2) / 2; // D − 7, D − 3
    const mean30 = (-0.4 + 0.6 + 0.2 + 0.5) / 4; // D − 8, D − 7, D − 3, D − 30
    expect(r.get('sentiment_7d')).toBe(f32(mean7));
    expect(r.get('news_count_30d')).toBe(4);
    expect(r.get('sentiment_shift')).toBe(f32(mean7 - mean30));
    expect(r.imputed).toBe(0);
  });

  it('no news → 0, 0, 0 counted as 3 missing; news only older than 7 days → 0, n, 0 counted as 2', () => {
    const r = mustRow(fs, N0);
    expect([r.get('sentiment_7d'), r.get('news_count_30d'), r.get('sentiment_shift')]).toEqual([0, 0, 0]);
    expect(r.imputed).toBe(3);
    const o = mustRow(fs, NOLD);
    expect([o.get('sentiment_7d'), o.get('news_count_30d'), o.get('sentiment_shift')]).toEqual([0, 2, 0]);
    expect(o.imputed).toBe(2);
  });

  it('days_to_earnings: expected on D → 0, later → days, none → 120 (missing), beyond 120 → 120 (not missing)', () => {
    expect(mustRow(fs, K0).get('days_to_earnings')).toBe(0);
    expect(mustRow(fs, K17).get('days_to_earnings')).toBe(17);
    expect(mustRow(fs, K120).get('days_to_earnings')).toBe(119);
    const none = mustRow(fs, KNONE);
    expect(none.get('days_to_earnings')).toBe(120);
    expect(none.imputed).toBe(1);
    const far = mustRow(fs, K200);
    expect(far.get('days_to_earnings')).toBe(120);
    expect(far.imputed).toBe(0);
  });

  it('earnings_window_uc_rate: completed 5-session windows starting in the last 250 sessions, hit when any closes at the upper circuit', () => {
    expect(dayOfWeek(plusDays(SESSIONS[k2], -2))).toBe(6);
    // Counted: firstInWindow (hit), saturday (hit on the 5th session), sixthSession (miss), noUc (miss), lastComplete (miss).
    // Not counted: beforeWindow (outside the last 250 sessions), incomplete (needs D's session), the one announced on D.
    const r = mustRow(fs, U);
    expect(r.get('earnings_window_uc_rate')).toBe(f32(2 / 5));
    // The planted closes really are upper circuits in the technical count too (all 4 within the last 250 sessions).
    expect(r.get('uc_count_250d')).toBe(4);
  });

  it('skips with a reason and a detail: no bars, stale, short history, too many missing; nothing dropped silently', () => {
    const skips = new Map(fs.block.skips.map((s) => [s.bse_code, s]));
    expect(skips.get(NOBARS)).toMatchObject({ reason: 'NO_PRICE_DATA' });
    expect(skips.get(NOBARS)!.detail).toContain(D);
    expect(skips.get(FUTURE)).toMatchObject({ reason: 'NO_PRICE_DATA' });
    expect(skips.get(STALE)).toMatchObject({ reason: 'NO_PRICE_DATA' });
    expect(skips.get(STALE)!.detail).toContain('2025-08-12');
    expect(skips.get(STALE)!.detail).toContain('2025-08-13');
    expect(skips.get(SHORT)).toMatchObject({ reason: 'INSUFFICIENT_HISTORY' });
    expect(skips.get(SHORT)!.detail).toMatch(/\b249\b/);
    expect(skips.get(M13)).toMatchObject({ reason: 'TOO_MANY_MISSING' });
    expect(skips.get(M13)!.detail).toMatch(/\b13 of 25\b/);
    expect(skips.get(M14)).toMatchObject({ reason: 'TOO_MANY_MISSING' });
    expect(skips.get(M14)!.detail).toMatch(/\b14 of 25\b/);
    expect([...skips.keys()].sort()).toEqual([NOBARS, STALE, SHORT, FUTURE, M13, M14].sort());
    for (const s of fs.block.skips) expect(s.detail.length).toBeGreaterThan(10);
    // Every ACTIVE stock is either scored or skipped, exactly once.
    const all = [...fs.block.codes, ...skips.keys()].sort();
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(20);
  });

  it('keeps the edge cases: last bar on the first of the 5 sessions, exactly 250 sessions, 12 missing', () => {
    expect(mustRow(fs, EDGE).imputed).toBe(0);
    const edge = fs.block.codes.indexOf(EDGE);
    expect(fs.block.lastBar[edge]).toBe('2025-08-13');
    expect(mustRow(fs, OK250).imputed).toBe(0);
    const m = mustRow(fs, M12);
    expect(m.imputed).toBe(12);
    // Neutral values of the non-financial families when they have no data.
    expect([m.get('sentiment_7d'), m.get('news_count_30d'), m.get('sentiment_shift')]).toEqual([0, 0, 0]);
    expect(m.get('days_to_earnings')).toBe(120);
    expect(m.get('earnings_window_uc_rate')).toBe(0);
    // After imputation no value is NaN, anywhere.
    expect(fs.block.values.every(Number.isFinite)).toBe(true);
  });

  it('undefined technical features get their neutral value and count as missing', () => {
    const flat = mustRow(fs, FLAT);
    expect(flat.get('volatility_contraction')).toBe(1); // 0 / 0
    expect(flat.get('rsi_14')).toBe(50);
    expect(flat.get('ret_5d')).toBe(0);
    expect(flat.get('bb_width_20')).toBe(0);
    expect(flat.imputed).toBe(1);
    const zv = mustRow(fs, ZEROVOL);
    expect(zv.get('volume_dry_up')).toBe(1); // 0 / 0
    expect(zv.imputed).toBe(1);
  });
});

// ---------------------------------------------------------------- the offline store's columns

describe('feature_values (predictions.db)', () => {
  it('has the 25 feature columns in FEATURE_NAMES order, between the keys and imputed_count', () => {
    const db: Db = new Database(':memory:');
    try {
      migrate(db);
      const cols = (db.prepare('PRAGMA table_info(feature_values)').all() as { name: string; pk: number }[]).map((c) => c.name);
      expect(cols).toEqual(['bse_code', 'prediction_date', 'as_of_date', 'feature_set_version', ...FEATURE_NAMES, 'imputed_count']);
      expect(cols.slice(4, 4 + N_FEATURES)).toEqual([...FEATURE_NAMES]);
    } finally {
      db.close();
    }
  });
});
