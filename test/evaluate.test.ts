/**
 * Issue 14, outcomes: each evaluation figure against hand-worked small cases,
 * and against numbers computed outside the project with scikit-learn
 * (test/fixtures/evaluate/make_expected.py → expected.json; the test only
 * reads the JSON); realised outcomes from the closes of a hand-built market.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brierScore, calibrationTable } from '../src/model/train/metrics.js';
import { evaluateByModel, evaluateRows, readScorecard, scorecardOf, type ScoredOutcome } from '../src/model/evaluate.js';
import { DEFAULT_HORIZON_SESSIONS, horizonSessionsOf } from '../src/model/metadata.js';
import { openMarketReadonly } from '../src/market/db.js';
import { PredictionsStore } from '../src/predictions/store.js';
import { fillOutcomes } from '../src/batch/outcomes.js';
import { MarketFixture, flatBars, weekdaysEnding, type FixtureBar } from './helpers/market-fixture.js';
import { openPredictionsForWrite } from './helpers/predictions-db.js';

const row = (date: string, code: string, probability: number, hit: 0 | 1, version = '1.0.0'): ScoredOutcome => ({
  model_version: version,
  prediction_date: date,
  bse_code: code,
  probability,
  predicted_label: probability >= 0.5 ? 1 : 0,
  confidence: probability >= 0.45 && probability < 0.55 ? 'LOW' : probability >= 0.7 || probability <= 0.3 ? 'HIGH' : 'MEDIUM',
  hit,
});

// Two dates worked by hand: D1 ranks 0.8 (hit), 0.6, 0.3 (hit), 0.1; D2 ranks 0.9, 0.5, 0.2 (hit).
const HAND: ScoredOutcome[] = [
  row('2025-10-01', '500001', 0.8, 1),
  row('2025-10-01', '500002', 0.6, 0),
  row('2025-10-01', '500003', 0.3, 1),
  row('2025-10-01', '500004', 0.1, 0),
  row('2025-10-02', '500001', 0.9, 0),
  row('2025-10-02', '500002', 0.5, 0),
  row('2025-10-02', '500003', 0.2, 1),
];

describe('evaluation figures, hand-worked', () => {
  it('Brier score is the mean squared error of the probabilities', () => {
    // (0.2² + 0.6² + 0.7² + 0.1²) / 4 = 0.9 / 4
    expect(brierScore([1, 0, 1, 0], [0.8, 0.6, 0.3, 0.1])).toBeCloseTo(0.225, 12);
    expect(brierScore([], [])).toBeNaN();
  });

  it('calibration bins are (lower, upper], a probability on an edge going to the bin below (as scikit-learn)', () => {
    const t = calibrationTable([1, 0, 1, 0, 0, 0, 1], [0.8, 0.6, 0.3, 0.1, 0.9, 0.5, 0.2]);
    expect(t).toHaveLength(10);
    // 0.1 → bin 0, 0.2 → 1, 0.3 → 2, 0.5 → 4, 0.6 → 5, 0.8 → 7, 0.9 → 8 (numpy searchsorted on linspace(0, 1, 11)[1:-1]).
    expect(t.map((b) => b.rows)).toEqual([1, 1, 1, 0, 1, 1, 0, 1, 1, 0]);
    expect(t[7]).toEqual({ lower: 0.7, upper: 0.8, rows: 1, mean_predicted: 0.8, observed: 1 });
    expect(t[3]).toEqual({ lower: 0.3, upper: 0.4, rows: 0, mean_predicted: null, observed: null });
    const two = calibrationTable([1, 0], [0.05, 0.07]);
    expect(two[0].mean_predicted).toBeCloseTo(0.06, 12);
    expect(two[0].observed).toBe(0.5);
  });

  it('evaluateRows: every figure of a two-date case', () => {
    const e = evaluateRows(HAND, { ks: [1, 2, 10], byDate: true });
    expect(e).toMatchObject({ model_version: '1.0.0', from: '2025-10-01', to: '2025-10-02', dates: 2, rows: 7, hits: 3 });
    expect(e.base_rate).toBeCloseTo(3 / 7, 12);
    // Positives 0.8, 0.3, 0.2 against negatives 0.6, 0.1, 0.9, 0.5: 0.8 beats 3, 0.3 beats 1, 0.2 beats 1 → 5 of 12.
    expect(e.roc_auc).toBeCloseTo(5 / 12, 12);
    // Pooled ranking 0.9 0.8* 0.6 0.5 0.3* 0.2* 0.1: AP = (1/3)(1/2) + (1/3)(2/5) + (1/3)(3/6).
    expect(e.pr_auc).toBeCloseTo((1 / 2 + 2 / 5 + 3 / 6) / 3, 12);
    expect(e.brier).toBeCloseTo((0.04 + 0.36 + 0.49 + 0.01 + 0.81 + 0.25 + 0.64) / 7, 12);
    expect(e.log_loss).toBeCloseTo(-(Math.log(0.8) + Math.log(0.4) + Math.log(0.3) + Math.log(0.9) + Math.log(0.1) + Math.log(0.5) + Math.log(0.2)) / 7, 12);
    // Top 1: D1 hit, D2 not → mean 0.5. Top 2: D1 1/2, D2 0/2 → 0.25. Top 10 (all): D1 2/4, D2 1/3.
    expect(e.at_k).toEqual([
      { k: 1, precision: 0.5, hits: 1, picks: 2 },
      { k: 2, precision: 0.25, hits: 1, picks: 4 },
      { k: 10, precision: expect.closeTo((0.5 + 1 / 3) / 2, 12), hits: 3, picks: 7 },
    ]);
    expect(e.by_confidence).toEqual([
      { predicted_label: 1, confidence: 'HIGH', rows: 2, hits: 1, hit_rate: 0.5 },
      { predicted_label: 1, confidence: 'MEDIUM', rows: 1, hits: 0, hit_rate: 0 },
      { predicted_label: 1, confidence: 'LOW', rows: 1, hits: 0, hit_rate: 0 },
      { predicted_label: 0, confidence: 'HIGH', rows: 3, hits: 2, hit_rate: 2 / 3 },
    ]);
    // D1 alone: pairs 0.8>0.6, 0.8>0.1, 0.3>0.1 (0.3<0.6) → 3/4; AP = ½·1 + ½·⅔.
    const d1 = e.by_date![0];
    expect(d1).toMatchObject({ date: '2025-10-01', rows: 4, hits: 2, base_rate: 0.5, roc_auc: 0.75 });
    expect(d1.pr_auc).toBeCloseTo(0.5 + 1 / 3, 12);
    expect(d1.at_k[0]).toEqual({ k: 1, precision: 1, hits: 1, picks: 1 });
  });

  it('a single-class range has no ROC-AUC (null), and no hit means no PR-AUC', () => {
    const e = evaluateRows([row('2025-10-01', '500001', 0.3, 0), row('2025-10-01', '500002', 0.2, 0)]);
    expect(e.roc_auc).toBeNull();
    expect(e.pr_auc).toBeNull();
    expect(e.base_rate).toBe(0);
  });

  it('ties in the ranking are broken by bse_code (the order the report lists)', () => {
    const e = evaluateRows([row('2025-10-01', '500009', 0.4, 0), row('2025-10-01', '500001', 0.4, 1), row('2025-10-01', '500005', 0.1, 0)], { ks: [1] });
    expect(e.at_k[0]).toEqual({ k: 1, precision: 1, hits: 1, picks: 1 });
  });

  it('the scorecard: the latest date\'s top 20 against its base rate, and precision@20 averaged over the dates', () => {
    const s = scorecardOf(HAND)!;
    expect(s).toMatchObject({ date: '2025-10-02', model_version: '1.0.0', top: 3, top_hits: 1, rows: 3, window_dates: 2, window_from: '2025-10-01', window_to: '2025-10-02' });
    expect(s.top_precision).toBeCloseTo(1 / 3, 12);
    expect(s.base_rate).toBeCloseTo(1 / 3, 12);
    // precision@20 per date: D1 2/4, D2 1/3.
    expect(s.rolling_precision).toBeCloseTo((0.5 + 1 / 3) / 2, 12);
    expect(scorecardOf([])).toBeUndefined();
  });

  it("a model's horizon: top-level horizon_sessions, else training.horizon_sessions, else the documented default", () => {
    expect(horizonSessionsOf({ horizon_sessions: 3, training: { horizon_sessions: 7 } })).toBe(3);
    expect(horizonSessionsOf({ training: { horizon_sessions: 7 } })).toBe(7);
    expect(horizonSessionsOf({ horizon_sessions: '3' })).toBe(DEFAULT_HORIZON_SESSIONS);
    expect(horizonSessionsOf(null)).toBe(5);
  });
});

interface Expected {
  made_with: string;
  rows: ScoredOutcome[];
  models: (Record<string, unknown> & {
    model_version: string;
    at_k: { k: number; precision: number; hits: number; picks: number }[];
    calibration: { rows: number; mean_predicted: number | null; observed: number | null }[];
    by_confidence: { predicted_label: number; confidence: string; rows: number; hits: number; hit_rate: number }[];
    by_date: (Record<string, unknown> & { date: string; at_k: { k: number; precision: number; hits: number; picks: number }[] })[];
  })[];
}

describe('evaluation figures against scikit-learn (test/fixtures/evaluate/expected.json)', () => {
  const fx = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'evaluate', 'expected.json'), 'utf8')) as Expected;
  const got = evaluateByModel(fx.rows, { byDate: true });
  const SCALARS = ['dates', 'rows', 'hits', 'base_rate', 'roc_auc', 'pr_auc', 'brier', 'log_loss'] as const;

  it('the fixture was made outside the project, with two model versions and ties', () => {
    expect(fx.made_with).toMatch(/^scikit-learn /);
    expect(got.map((e) => e.model_version)).toEqual(['1.0.0', '1.1.0']);
    expect(new Set(fx.rows.map((r) => r.probability)).size).toBeLessThan(fx.rows.length);
  });

  it.each([0, 1])('model %i: pooled figures, precision and hits at 10/20/100, confidence groups, calibration', (i) => {
    const e = got[i];
    const x = fx.models[i];
    for (const k of SCALARS) expect(e[k], k).toBeCloseTo(x[k] as number, 12);
    expect(e.at_k.map((a) => [a.k, a.hits, a.picks])).toEqual(x.at_k.map((a) => [a.k, a.hits, a.picks]));
    e.at_k.forEach((a, j) => expect(a.precision).toBeCloseTo(x.at_k[j].precision, 12));
    const groups = [...e.by_confidence].sort((a, b) => a.predicted_label - b.predicted_label || (a.confidence < b.confidence ? -1 : 1));
    expect(groups.map((g) => [g.predicted_label, g.confidence, g.rows, g.hits])).toEqual(x.by_confidence.map((g) => [g.predicted_label, g.confidence, g.rows, g.hits]));
    groups.forEach((g, j) => expect(g.hit_rate).toBeCloseTo(x.by_confidence[j].hit_rate, 12));
    expect(e.calibration.map((b) => b.rows)).toEqual(x.calibration.map((b) => b.rows));
    e.calibration.forEach((b, j) => {
      const xb = x.calibration[j];
      if (xb.mean_predicted === null) expect(b.mean_predicted).toBeNull();
      else expect(b.mean_predicted).toBeCloseTo(xb.mean_predicted, 12);
      if (xb.observed === null) expect(b.observed).toBeNull();
      else expect(b.observed).toBeCloseTo(xb.observed, 12);
    });
  });

  it.each([0, 1])('model %i: the figures of each date', (i) => {
    const e = got[i];
    const x = fx.models[i];
    expect(e.by_date!.map((d) => d.date)).toEqual(x.by_date.map((d) => d.date));
    e.by_date!.forEach((d, j) => {
      const xd = x.by_date[j];
      for (const k of ['rows', 'hits', 'base_rate', 'roc_auc', 'pr_auc', 'brier', 'log_loss'] as const) expect(d[k], `${d.date} ${k}`).toBeCloseTo(xd[k] as number, 12);
      expect(d.at_k.map((a) => [a.k, a.hits, a.picks])).toEqual(xd.at_k.map((a) => [a.k, a.hits, a.picks]));
      d.at_k.forEach((a, m) => expect(a.precision).toBeCloseTo(xd.at_k[m].precision, 12));
    });
  });
});

/** Closes → bars (open = previous close, high/low around it). */
function barsOf(dates: readonly string[], closes: readonly number[]): FixtureBar[] {
  return dates.map((date, i) => {
    const prev = i === 0 ? closes[0] : closes[i - 1];
    return { date, open: prev, high: Math.max(prev, closes[i]), low: Math.min(prev, closes[i]), close: closes[i], volume: 1000 };
  });
}

describe('realised outcomes from the closes of a hand-built market', () => {
  // 10 sessions; a prediction on S[4] (as of S[3]) with horizon 3 is judged on S[4], S[5], S[6].
  const S = weekdaysEnding('2025-11-14', 10);
  const D = S[4];
  const LATE = S[8]; // its window S[8..10] is not complete: S[10] is not in the market yet
  const HORIZON = 3;
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sf-outcomes-'));
    const m = new MarketFixture(path.join(dir, 'market.db'));
    const flat = (c: number): number[] => S.map(() => c);
    const withClose = (base: number[], i: number, ...rest: number[]): number[] => base.map((c, j) => (j >= i && j - i < rest.length ? rest[j - i] : j >= i ? rest[rest.length - 1] : c));
    // 500001 (20%): 100 → 120 on S[5], the upper circuit (100 × 1.2 = 120.00): hit on S[5].
    m.stock({ code: '500001', bandPct: 20 }).bars('500001', barsOf(S, withClose(flat(100), 5, 120)));
    // 500002 (5%): 105 on S[4], the prediction date itself, judged from the as-of close 100: hit on S[4].
    m.stock({ code: '500002', bandPct: 5 }).bars('500002', barsOf(S, withClose(flat(100), 4, 105)));
    // 500003 (10%): 109.95 on S[6], one tick under 110.00: no hit.
    m.stock({ code: '500003', bandPct: 10 }).bars('500003', barsOf(S, withClose(flat(100), 6, 109.95)));
    // 500004 (20%): 120 on S[7], after the window: no hit.
    m.stock({ code: '500004', bandPct: 20 }).bars('500004', barsOf(S, withClose(flat(100), 7, 120)));
    // 500005 (5%): 105 on S[3], the as-of session (before the window), flat after: no hit.
    m.stock({ code: '500005', bandPct: 5 }).bars('500005', barsOf(S, withClose(flat(100), 3, 105)));
    // 500006 (2%) at ₹2.00: the band rounds to no move (2.04 floors to 2.00), 2.05 is no circuit: no hit.
    m.stock({ code: '500006', bandPct: 2 }).bars('500006', barsOf(S, withClose(flat(2), 5, 2.05)));
    // 500007 (5%): not traded on S[4]; 105 on S[5] from its last close 100 (S[3]): hit on S[5].
    m.stock({ code: '500007', bandPct: 5 }).bars('500007', barsOf(S, withClose(flat(100), 5, 105)).filter((b) => b.date !== S[4]));
    m.stock({ code: '500008', bandPct: 20 }).bars('500008', flatBars(S, 50));
    m.db.close();

    const db = openPredictionsForWrite(dir);
    const ins = db.prepare(
      `INSERT INTO daily_predictions (bse_code, nse_symbol, company_name, prediction_date, predicted_label, probability, confidence, model_version, model_type)
       VALUES (?, NULL, ?, ?, ?, ?, ?, '1.0.0', 'GBDT')`,
    );
    const probs: Record<string, number> = { '500001': 0.9, '500002': 0.2, '500003': 0.7, '500004': 0.4, '500005': 0.1, '500006': 0.05, '500007': 0.6, '500008': 0.3 };
    for (const date of [D, LATE]) {
      db.prepare(
        `INSERT INTO batch_runs (run_id, prediction_date, started_at, finished_at, status, model_name, model_version, model_type, published)
         VALUES (?, ?, '2025-11-14T00:00:00Z', '2025-11-14T00:01:00Z', 'succeeded', 'upper-circuit', '1.0.0', 'GBDT', 1)`,
      ).run(`run-${date}`, date);
      for (const [code, p] of Object.entries(probs)) ins.run(code, `Company ${code}`, date, p >= 0.5 ? 1 : 0, p, 'HIGH');
    }
    db.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records who hit within the horizon, on which session, and leaves a date whose window has not passed waiting', () => {
    const market = openMarketReadonly(dir);
    const store = PredictionsStore.openForWrite(dir);
    try {
      expect(store.pendingOutcomes().map((p) => p.prediction_date)).toEqual([D, LATE]);
      const filled = fillOutcomes(market, store, () => HORIZON);
      expect(filled.recorded).toEqual([{ date: D, modelVersion: '1.0.0', horizon: 3, windowEnd: S[6], rows: 8, hits: 3 }]);
      expect(filled.waiting).toBe(1);
      const rows = store.outcomeRows({});
      // Each with the prediction it judges (probability copied from daily_predictions).
      expect(rows.map((r) => [r.bse_code, r.probability, r.hit])).toEqual([
        ['500001', 0.9, 1],
        ['500002', 0.2, 1],
        ['500003', 0.7, 0],
        ['500004', 0.4, 0],
        ['500005', 0.1, 0],
        ['500006', 0.05, 0],
        ['500007', 0.6, 1],
        ['500008', 0.3, 0],
      ]);
      // A second pass has nothing new to record.
      expect(fillOutcomes(market, store, () => HORIZON).recorded).toEqual([]);
      // The scorecard judges D: 3 of its 8 (its top 20) hit, the base rate is the same 3/8.
      expect(readScorecard(store)).toMatchObject({ date: D, top: 8, top_hits: 3, base_rate: 3 / 8, window_dates: 1 });
      // With a 2-session horizon the late date's window S[8..9] is complete.
      expect(fillOutcomes(market, store, () => 2).recorded.map((r) => [r.date, r.windowEnd, r.hits])).toEqual([[LATE, S[9], 0]]);
    } finally {
      store.close();
      market.close();
    }
    const raw = openPredictionsForWrite(dir);
    try {
      const on = raw.prepare("SELECT bse_code, hit_on, source, horizon_sessions FROM prediction_outcomes WHERE prediction_date = ? AND hit = 1 ORDER BY bse_code").all(D);
      expect(on).toEqual([
        { bse_code: '500001', hit_on: S[5], source: 'closes', horizon_sessions: 3 },
        { bse_code: '500002', hit_on: S[4], source: 'closes', horizon_sessions: 3 },
        { bse_code: '500007', hit_on: S[5], source: 'closes', horizon_sessions: 3 },
      ]);
    } finally {
      raw.close();
    }
  });

  it("a publishing run that replaces a date's rows drops that date's outcomes of its model; the next pass records them for the new rows", () => {
    const market = openMarketReadonly(dir);
    const store = PredictionsStore.openForWrite(dir);
    try {
      expect(store.outcomeRows({ from: D, to: D })).toHaveLength(8);
      store.publishRun(
        {
          runId: 'republish',
          date: D,
          asOf: S[3],
          modelVersion: '1.0.0',
          modelType: 'GBDT',
          featureSetVersion: '1',
          predictions: [
            { bse_code: '500001', nse_symbol: null, company_name: 'Company 500001', probability: 0.1, label: 0, confidence: 'HIGH' },
            { bse_code: '500003', nse_symbol: null, company_name: 'Company 500003', probability: 0.8, label: 1, confidence: 'HIGH' },
          ],
          skipped: [],
          features: { codes: [], values: new Float32Array(0), imputed: new Uint8Array(0) },
          timestamp: '2025-11-14T00:02:00Z',
        },
        { status: 'succeeded' },
      );
      expect(store.outcomeRows({ from: D, to: D })).toEqual([]);
      expect(store.pendingOutcomes().map((p) => p.prediction_date)).toEqual([D]);
      expect(fillOutcomes(market, store, () => HORIZON).recorded).toEqual([{ date: D, modelVersion: '1.0.0', horizon: 3, windowEnd: S[6], rows: 2, hits: 1 }]);
      expect(store.outcomeRows({ from: D, to: D }).map((r) => [r.bse_code, r.probability, r.hit])).toEqual([
        ['500001', 0.1, 1],
        ['500003', 0.8, 0],
      ]);
    } finally {
      store.close();
      market.close();
    }
  });
});
