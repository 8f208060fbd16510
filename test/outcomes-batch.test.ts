/**
 * Issue 14, outcomes end to end on a generated market: the batch's outcomes
 * stage records the outcomes of an earlier date once its horizon has passed,
 * the morning report's scorecard, `stockflow evaluate` (exit codes, JSON), and
 * GET /api/v1/performance with its gauges. The expected hits are recounted
 * here from the raw closes and bands of market.db with the exchange's rule
 * written out (previous close × (1 + band), floored to the ₹0.05 tick).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { runBatch, type BatchOptions, type BatchResult } from '../src/batch/run.js';
import { loadScoringModel } from '../src/model/scoring-model.js';
import { buildApp, type App } from '../src/server/app.js';
import { captureLogger } from './helpers/onnx-fixture.js';
import { assertCliBuilt, buildMarketFixture, failureLine, MODEL_VERSION, MORNING, openPredictions, runCli, type MarketFixture } from './helpers/batch-fixture.js';

let fx: MarketFixture;
let sessions: string[];
beforeAll(async () => {
  fx = await buildMarketFixture({ stocks: 80 });
  const db = new Database(fx.marketFile, { readonly: true });
  sessions = db.prepare('SELECT DISTINCT trade_date FROM daily_prices ORDER BY trade_date').pluck().all() as string[];
  db.close();
});
afterAll(() => fx?.cleanup());

function options(dataDir: string, date: string): BatchOptions {
  const { log } = captureLogger();
  return { dataDir, date, threads: 0, loadModel: () => loadScoringModel({ modelsDir: fx.modelsDir }, { log }), log, modelsDir: fx.modelsDir };
}

/** Hits recounted from market.db: a close at or above floor(prev × (100 + band) / 100 / 0.05) × 0.05 (and above prev), in (asOf, windowEnd]. */
function recountHits(dataDir: string, asOf: string, windowEnd: string): Set<string> {
  const db = new Database(`${dataDir}/market.db`, { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT p.bse_code AS code, p.close AS close, m.circuit_band_pct AS band FROM daily_prices p JOIN master_stock_list m USING (bse_code)
          WHERE p.trade_date BETWEEN ? AND ? ORDER BY p.bse_code, p.trade_date`,
      )
      .all(asOf, windowEnd) as { code: string; close: number; band: number }[];
    const hits = new Set<string>();
    for (let i = 1; i < rows.length; i++) {
      if (rows[i].code !== rows[i - 1].code) continue;
      const prev = rows[i - 1].close;
      const uc = Math.floor((prev * (100 + rows[i].band)) / 100 / 0.05 + 1e-6) * 0.05;
      if (uc > prev + 1e-9 && rows[i].close >= uc - 0.025) hits.add(rows[i].code);
    }
    return hits;
  } finally {
    db.close();
  }
}

describe('the outcomes stage, the scorecard, evaluate and /performance', () => {
  let dataDir: string;
  let early: string;
  let first: BatchResult;
  let morning: BatchResult;

  beforeAll(async () => {
    dataDir = fx.freshDataDir('outcomes');
    // The fixture models carry no horizon: the default 5 sessions. The early date's window is its 5 sessions up to the last one.
    early = sessions[sessions.length - 5];
    // The morning alone: nothing is known. Then the early date (a backfill: its window is already in market.db,
    // so its own run records its outcomes), then the morning again.
    first = await runBatch(options(dataDir, MORNING));
    await runBatch(options(dataDir, early));
    morning = await runBatch(options(dataDir, MORNING));
  }, 120_000);

  it("before any horizon has passed the report says so; the early date's outcomes are recorded once its window is in market.db", () => {
    expect(first.scorecard).toBeUndefined();
    expect(first.reportText).toContain('SCORECARD:\n(no outcome known yet');
    expect(first.stageMs).toHaveProperty('outcomes');
    const db = openPredictions(dataDir);
    try {
      const preds = db.prepare('SELECT bse_code FROM daily_predictions WHERE prediction_date = ? ORDER BY bse_code').pluck().all(early) as string[];
      const outs = db.prepare('SELECT bse_code, hit, window_end, horizon_sessions FROM prediction_outcomes WHERE prediction_date = ? ORDER BY bse_code').all(early) as {
        bse_code: string;
        hit: number;
        window_end: string;
        horizon_sessions: number;
      }[];
      expect(outs.map((o) => o.bse_code)).toEqual(preds);
      expect(new Set(outs.map((o) => `${o.window_end}/${o.horizon_sessions}`))).toEqual(new Set([`${sessions[sessions.length - 1]}/5`]));
      const expected = recountHits(dataDir, sessions[sessions.length - 6], sessions[sessions.length - 1]);
      const got = outs.filter((o) => o.hit === 1).map((o) => o.bse_code);
      expect(got).toEqual(preds.filter((c) => expected.has(c)));
      expect(got.length).toBeGreaterThan(0);
      // The morning's own predictions wait for their horizon.
      expect(db.prepare('SELECT count(*) FROM prediction_outcomes WHERE prediction_date = ?').pluck().get(MORNING)).toBe(0);
      const stage = JSON.parse(db.prepare('SELECT stage_ms FROM batch_runs WHERE run_id = ?').pluck().get(morning.runId) as string) as Record<string, number>;
      expect(stage).toHaveProperty('outcomes');
    } finally {
      db.close();
    }
  });

  it("the morning report's scorecard: the early date's top 20 against its base rate", () => {
    const db = openPredictions(dataDir);
    let top: number[];
    let all: number[];
    try {
      const q = `SELECT o.hit FROM daily_predictions p JOIN prediction_outcomes o USING (bse_code, prediction_date, model_version)
        WHERE p.prediction_date = ? ORDER BY p.probability DESC, p.bse_code`;
      all = db.prepare(q).pluck().all(early) as number[];
      top = all.slice(0, 20);
    } finally {
      db.close();
    }
    const hits = top.reduce((a, h) => a + h, 0);
    const base = all.reduce((a, h) => a + h, 0) / all.length;
    expect(morning.scorecard).toMatchObject({ date: early, model_version: MODEL_VERSION, top: 20, top_hits: hits, rows: all.length, window_dates: 1 });
    expect(morning.scorecard!.base_rate).toBeCloseTo(base, 12);
    expect(morning.scorecard!.rolling_precision).toBeCloseTo(hits / 20, 12);
    const report = readFileSync(morning.paths.report, 'utf8');
    expect(report).toContain(`- Latest judged date: ${early} (model v${MODEL_VERSION}, ${all.length} stocks scored)`);
    expect(report).toContain(`- Top 20: ${hits} hit the upper circuit (${((100 * hits) / 20).toFixed(1)}%) vs base rate ${(100 * base).toFixed(1)}%`);
    expect(report).toContain(`- Rolling precision@20: ${((100 * hits) / 20).toFixed(1)}% over 1 date (${early} to ${early})`);
    expect(report).toMatch(/- Outcomes: /);
  });

  describe('GET /api/v1/performance and the gauges', () => {
    let app: App;
    beforeAll(async () => {
      app = await buildApp({ dataDir, modelsDir: fx.modelsDir, logger: captureLogger().log, defaultMetrics: false });
    });
    afterAll(() => app?.close());

    it('returns the same scorecard as the report', async () => {
      const r = await app.inject({ method: 'GET', url: '/api/v1/performance' });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ scorecard: JSON.parse(JSON.stringify(morning.scorecard)), note: null });
    });

    it('exposes the figures as Prometheus gauges', async () => {
      const text = (await app.inject({ method: 'GET', url: '/api/v1/metrics' })).body;
      const s = morning.scorecard!;
      expect(text).toContain(`stockflow_scorecard_top20_hits{model_version="${MODEL_VERSION}"} ${s.top_hits}`);
      expect(text).toContain(`stockflow_scorecard_base_rate{model_version="${MODEL_VERSION}"} ${s.base_rate}`);
      expect(text).toContain(`stockflow_scorecard_rolling_precision_at_20{model_version="${MODEL_VERSION}"} ${s.rolling_precision}`);
      expect(text).toContain(`stockflow_scorecard_date_timestamp_seconds{model_version="${MODEL_VERSION}"} ${Date.parse(`${early}T00:00:00Z`) / 1000}`);
    });

    it('is 200 with a null scorecard and a note before any outcome is known', async () => {
      const empty = await buildApp({ dataDir: fx.freshDataDir('no-outcomes'), modelsDir: fx.modelsDir, logger: captureLogger().log, defaultMetrics: false });
      try {
        const r = await empty.inject({ method: 'GET', url: '/api/v1/performance' });
        expect(r.statusCode).toBe(200);
        expect(r.json().scorecard).toBeNull();
        expect(r.json().note).toMatch(/no predictions yet/);
        expect((await empty.inject({ method: 'GET', url: '/api/v1/metrics' })).body).not.toContain('stockflow_scorecard_top20_hits{');
      } finally {
        await empty.close();
      }
    });
  });

  describe('stockflow evaluate', () => {
    beforeAll(() => assertCliBuilt());

    it('--format json: the early date, its counts and the hits in its top 10/20/100', () => {
      const r = runCli(['evaluate', '--data-dir', dataDir, '--models-dir', fx.modelsDir, '--format', 'json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { models: { model_version: string; from: string; to: string; dates: number; rows: number; hits: number; at_k: { k: number; hits: number }[] }[] };
      expect(out.models).toHaveLength(1);
      const m = out.models[0];
      const s = morning.scorecard!;
      expect(m).toMatchObject({ model_version: MODEL_VERSION, from: early, to: early, dates: 1, rows: s.rows });
      expect(m.hits).toBe(Math.round(s.base_rate * s.rows));
      expect(m.at_k.find((a) => a.k === 20)?.hits).toBe(s.top_hits);
    });

    it('the table and csv formats', () => {
      const t = runCli(['evaluate', '--data-dir', dataDir, '--models-dir', fx.modelsDir, '--by-date']);
      expect(t.code, t.stderr).toBe(0);
      expect(t.stdout).toContain(`MODEL v${MODEL_VERSION}: ${early} to ${early}, 1 date,`);
      expect(t.stdout).toMatch(/ROC-AUC +\d\.\d{4}/);
      expect(t.stdout).toContain('Probability bin');
      const c = runCli(['evaluate', '--data-dir', dataDir, '--models-dir', fx.modelsDir, '--format', 'csv']);
      expect(c.code, c.stderr).toBe(0);
      const [head, line, ...rest] = c.stdout.trim().split('\n');
      expect(head.split(',').slice(0, 4)).toEqual(['model_version', 'from', 'to', 'dates']);
      expect(line.startsWith(`${MODEL_VERSION},${early},${early},1,`)).toBe(true);
      expect(rest).toEqual([]);
    });

    it('bad input: one line and a documented exit code', () => {
      const nothing = runCli(['evaluate', '--data-dir', dataDir, '--from', MORNING]);
      expect(nothing.code).toBe(3);
      expect(failureLine(nothing)).toMatch(/^stockflow: no prediction with a known outcome from 2025-11-14/);
      const reversed = runCli(['evaluate', '--data-dir', dataDir, '--from', '2025-11-10', '--to', '2025-11-01']);
      expect(reversed.code).toBe(2);
      expect(failureLine(reversed)).toBe('stockflow: --from 2025-11-10 is after --to 2025-11-01');
      expect(runCli(['evaluate', '--data-dir', dataDir, '--format', 'xml']).code).toBe(2);
      expect(runCli(['evaluate', '--data-dir', dataDir, '--model', 'latest']).code).toBe(2);
      const none = runCli(['evaluate', '--data-dir', fx.freshDataDir('never-ran')]);
      expect(none.code).toBe(3);
      expect(failureLine(none)).toMatch(/^stockflow: no predictions at .*predictions\.db: run 'stockflow batch' first$/);
    });
  });
});
