/**
 * Issue 14, drift and the challenger end to end on a generated market
 * (docs/monitoring.md): a model without a reference (the report says so, the
 * registry says so), `stockflow models profile` building one from the stored
 * feature rows, the batch's PSI (recomputed here from feature_values and the
 * reference's bins with the formula written out), the challenger scored on the
 * same rows and stored under its own version but never served by default,
 * ?model=, GET /api/v1/monitoring, the gauges, `evaluate --compare` and
 * `models promote`'s comparison.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { runBatch, type BatchOptions, type BatchResult } from '../src/batch/run.js';
import { noticeFromResult } from '../src/batch/notice.js';
import { openChallenger } from '../src/batch/monitor.js';
import { loadScoringModel } from '../src/model/scoring-model.js';
import { buildApp, type App } from '../src/server/app.js';
import { FEATURE_NAMES } from '../src/features/definition.js';
import { renderEmail, renderSlack } from '../src/notify/index.js';
import { captureLogger } from './helpers/onnx-fixture.js';
import { assertCliBuilt, buildMarketFixture, failureLine, MODEL_B_VERSION, MODEL_VERSION, MORNING, openPredictions, runCli, type MarketFixture } from './helpers/batch-fixture.js';

let fx: MarketFixture;
let modelsDir: string;
let sessions: string[];
beforeAll(async () => {
  fx = await buildMarketFixture({ stocks: 80 });
  modelsDir = path.join(fx.root, 'models-monitor');
  cpSync(fx.modelsDir, modelsDir, { recursive: true });
  const db = new Database(fx.marketFile, { readonly: true });
  sessions = db.prepare('SELECT DISTINCT trade_date FROM daily_prices ORDER BY trade_date').pluck().all() as string[];
  db.close();
});
afterAll(() => fx?.cleanup());

function options(dataDir: string, date: string): BatchOptions {
  const { log } = captureLogger();
  return { dataDir, date, threads: 0, loadModel: () => loadScoringModel({ modelsDir }, { log }), log, modelsDir };
}

const metaFile = (version: string): string => path.join(modelsDir, 'upper-circuit', version, 'model.json');
type Dist = { edges: number[]; shares: number[]; missing_share: number };

/** PSI written out: each bin's share, floored at 1e-4, Σ (a − e) ln(a / e); a value v is in bin i when edges[i−1] < v ≤ edges[i]. */
function psiByHand(ref: Dist, values: number[]): number {
  const k = ref.edges.length;
  const counts = new Array<number>(k + 1).fill(0);
  for (const v of values) {
    let i = 0;
    while (i < k && v > ref.edges[i]) i++;
    counts[i]++;
  }
  let s = 0;
  const term = (e: number, a: number): number => {
    const ee = Math.max(e, 1e-4);
    const aa = Math.max(a, 1e-4);
    return (aa - ee) * Math.log(aa / ee);
  };
  counts.forEach((c, i) => (s += term(ref.shares[i], c / values.length)));
  return s + term(ref.missing_share, 0);
}

describe('drift and the challenger', () => {
  let dataDir: string;
  let early: string;
  let first: BatchResult;
  let morning: BatchResult;
  let profiled: ReturnType<typeof runCli>;

  beforeAll(async () => {
    assertCliBuilt();
    dataDir = fx.freshDataDir('monitor');
    early = sessions[sessions.length - 5];
    await runBatch(options(dataDir, early));
    first = await runBatch(options(dataDir, MORNING));
    profiled = runCli(['models', 'profile', MODEL_VERSION, '--from', early, '--to', early, '--data-dir', dataDir, '--models-dir', modelsDir]);
    writeFileSync(path.join(modelsDir, 'aliases.json'), JSON.stringify({ champion: `upper-circuit/${MODEL_VERSION}`, challenger: `upper-circuit/${MODEL_B_VERSION}` }));
    morning = await runBatch(options(dataDir, MORNING));
    // The early date again: the challenger's rows of a date whose outcomes are known.
    await runBatch(options(dataDir, early));
  }, 180_000);

  it('a model without a reference: the report says how to build one, nothing is stored', () => {
    expect(first.monitor.drift).toBeUndefined();
    expect(first.reportText).toContain(`DRIFT:\n(model upper-circuit/${MODEL_VERSION} has no reference distribution: stockflow models profile ${MODEL_VERSION} --from D1 --to D2 builds one)`);
    expect(first.reportText).not.toContain('CHALLENGER');
    const db = openPredictions(dataDir);
    try {
      expect(db.prepare('SELECT count(*) FROM drift_runs WHERE run_id = ?').pluck().get(first.runId)).toBe(0);
    } finally {
      db.close();
    }
  });

  it('models profile builds the reference from the stored feature rows (bins recomputed here)', () => {
    expect(profiled.code, profiled.stderr).toBe(0);
    const ref = JSON.parse(readFileSync(metaFile(MODEL_VERSION), 'utf8')).drift_reference as { source: string; rows: number; from: string; to: string; features: Record<string, Dist>; score: Dist };
    const db = openPredictions(dataDir);
    let rsi: number[];
    try {
      rsi = (db.prepare('SELECT rsi_14 FROM feature_values WHERE prediction_date = ?').pluck().all(early) as number[]).sort((a, b) => a - b);
    } finally {
      db.close();
    }
    expect(profiled.stdout).toContain(`profiled upper-circuit/${MODEL_VERSION}: ${rsi.length} stored feature rows of 1 date (${early} to ${early})`);
    expect(ref).toMatchObject({ source: 'profile', rows: rsi.length, from: early, to: early });
    const edges = [...new Set([1, 2, 3, 4, 5, 6, 7, 8, 9].map((q) => rsi[Math.ceil((q * rsi.length) / 10) - 1]))];
    expect(ref.features.rsi_14.edges).toEqual(edges);
    expect(ref.features.rsi_14.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(Object.keys(ref.features)).toEqual([...FEATURE_NAMES]);
  });

  it('the registry says which model has no reference; profile refuses to overwrite and needs stored rows', () => {
    const list = runCli(['models', 'list', '--models-dir', modelsDir]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`upper-circuit +${MODEL_VERSION.replace(/\./g, '\\.')} .* profile +champion`));
    expect(list.stdout).toContain(`no drift reference: upper-circuit/${MODEL_B_VERSION}`);
    const show = runCli(['models', 'show', MODEL_B_VERSION, '--models-dir', modelsDir]);
    expect(show.stdout).toContain(`drift reference: none (stockflow models profile upper-circuit/${MODEL_B_VERSION} --from D1 --to D2`);
    const again = runCli(['models', 'profile', MODEL_VERSION, '--data-dir', dataDir, '--models-dir', modelsDir]);
    expect(again.code).toBe(2);
    expect(failureLine(again)).toMatch(/^stockflow: upper-circuit\/1\.0\.0 already has a drift reference \(profile, \d+ rows\): --force replaces it$/);
    const empty = runCli(['models', 'profile', MODEL_B_VERSION, '--from', '2020-01-01', '--to', '2020-01-31', '--data-dir', dataDir, '--models-dir', modelsDir]);
    expect(empty.code).toBe(3);
    expect(failureLine(empty)).toMatch(/^stockflow: no stored feature rows 2020-01-01 to 2020-01-31 in predictions\.db/);
    expect(JSON.parse(readFileSync(metaFile(MODEL_B_VERSION), 'utf8')).drift_reference).toBeUndefined();
  });

  it("the batch's PSI of each feature and of the score, stored with the run and listed worst first", () => {
    const d = morning.monitor.drift!;
    expect(d).toBeDefined();
    const ref = JSON.parse(readFileSync(metaFile(MODEL_VERSION), 'utf8')).drift_reference as { features: Record<string, Dist>; score: Dist };
    const db = openPredictions(dataDir);
    try {
      const rows = db.prepare(`SELECT ${FEATURE_NAMES.join(', ')} FROM feature_values WHERE prediction_date = ?`).all(MORNING) as Record<string, number>[];
      expect(d.rows).toBe(rows.length);
      for (const f of d.features) expect(f.psi, f.name).toBeCloseTo(psiByHand(ref.features[f.name], rows.map((r) => r[f.name])), 9);
      const stored = db.prepare('SELECT subject, psi, level FROM drift_subjects WHERE run_id = ? ORDER BY position').all(morning.runId) as { subject: string; psi: number; level: string }[];
      expect(stored.map((s) => s.subject)).toEqual([...FEATURE_NAMES, 'score']);
      expect(stored.map((s) => s.psi)).toEqual([...d.features.map((f) => f.psi), d.score.psi]);
      expect(db.prepare('SELECT psi_moderate, psi_significant, psi_floor FROM drift_runs WHERE run_id = ?').get(morning.runId)).toEqual({ psi_moderate: 0.1, psi_significant: 0.25, psi_floor: 1e-4 });
    } finally {
      db.close();
    }
    const above = [...d.features, d.score].filter((x) => x.psi >= 0.1).sort((a, b) => b.psi - a.psi);
    expect(morning.reportText).toContain(`DRIFT (PSI of today's ${d.rows} stocks against model v${MODEL_VERSION}'s reference: profile, ${d.reference_rows} rows ${early} to ${early}):`);
    expect(morning.reportText).toContain(`- Score: ${d.score.psi.toFixed(3)} (${d.score.level})`);
    const feats = above.filter((x) => x.kind === 'feature');
    if (feats.length > 0) {
      const section = morning.reportText.split('- Features at or above 0.1, worst first:\n')[1].split('\n- Levels')[0];
      expect(section.split('\n').map((l) => l.trim().split(/ +/)[0])).toEqual(feats.map((f) => f.name));
    }
  });

  it("the challenger: scored on the same rows, stored under its version, compared; the CSV stays the champion's", async () => {
    const c = morning.monitor.challenger!;
    expect(c).toBeDefined();
    const db = openPredictions(dataDir);
    let champ: { bse_code: string; probability: number; predicted_label: number }[];
    let chall: { bse_code: string; probability: number; predicted_label: number }[];
    try {
      const q = 'SELECT bse_code, probability, predicted_label FROM daily_predictions WHERE prediction_date = ? AND model_version = ? ORDER BY probability DESC, bse_code';
      champ = db.prepare(q).all(MORNING, MODEL_VERSION) as typeof champ;
      chall = db.prepare(q).all(MORNING, MODEL_B_VERSION) as typeof chall;
      expect(db.prepare('SELECT run_id, champion_version, rows FROM challenger_runs WHERE prediction_date = ? AND model_version = ?').get(MORNING, MODEL_B_VERSION)).toEqual({
        run_id: morning.runId,
        champion_version: MODEL_VERSION,
        rows: champ.length,
      });
      // One extraction: the challenger's probabilities are its scores of the feature rows the run stored.
      const X = db.prepare(`SELECT ${FEATURE_NAMES.join(', ')} FROM feature_values WHERE prediction_date = ? ORDER BY bse_code`).raw(true).all(MORNING) as number[][];
      const codes = db.prepare('SELECT bse_code FROM feature_values WHERE prediction_date = ? ORDER BY bse_code').pluck().all(MORNING) as string[];
      const b = await loadScoringModel({ modelsDir }, { explicit: MODEL_B_VERSION });
      try {
        const p = await b.score(Float32Array.from(X.flat()), X.length);
        const byCode = new Map(chall.map((r) => [r.bse_code, r.probability]));
        codes.forEach((code, i) => expect(byCode.get(code)).toBeCloseTo(p[i], 6));
      } finally {
        await b.release();
      }
    } finally {
      db.close();
    }
    expect(chall).toHaveLength(champ.length);
    const topA = new Set(champ.slice(0, 20).map((r) => r.bse_code));
    expect(c.top_overlap).toBe(chall.slice(0, 20).filter((r) => topA.has(r.bse_code)).length);
    const labelB = new Map(chall.map((r) => [r.bse_code, r.predicted_label]));
    expect(c.label_differs).toBe(champ.filter((r) => labelB.get(r.bse_code) !== r.predicted_label).length);
    expect(morning.reportText).toContain(`CHALLENGER (upper-circuit v${MODEL_B_VERSION} beside champion upper-circuit v${MODEL_VERSION}, ${champ.length} stocks both scored):`);
    expect(morning.reportText).toContain(`- Top 20 overlap: ${c.top_overlap} of 20`);
    // The CSV is the champion's.
    const csv = readFileSync(morning.paths.predictionsCsv, 'utf8').trim().split('\n').slice(1);
    expect(csv.map((l) => l.split(',')[0])).toEqual(champ.map((r) => r.bse_code));
  });

  describe('the API', () => {
    let app: App;
    beforeAll(async () => {
      app = await buildApp({ dataDir, modelsDir, logger: captureLogger().log, defaultMetrics: false });
    });
    afterAll(() => app?.close());

    it("serves the champion's rows by default and the challenger's with ?model=", async () => {
      const def = (await app.inject({ method: 'GET', url: `/api/v1/predictions?date=${MORNING}&limit=5` })).json();
      expect(def.model_version).toBe(MODEL_VERSION);
      const latest = (await app.inject({ method: 'GET', url: '/api/v1/predictions?limit=5' })).json();
      expect(latest.model_version).toBe(MODEL_VERSION);
      const ch = await app.inject({ method: 'GET', url: `/api/v1/predictions?date=${MORNING}&model=${MODEL_B_VERSION}&limit=500` });
      expect(ch.statusCode).toBe(200);
      expect(ch.json()).toMatchObject({ model_version: MODEL_B_VERSION, run_id: morning.runId, total: morning.counts.processed });
      const code = ch.json().items[0].bse_code as string;
      const one = (await app.inject({ method: 'GET', url: `/api/v1/predictions/${code}?model=${MODEL_B_VERSION}` })).json();
      expect(one).toMatchObject({ bse_code: code, model_version: MODEL_B_VERSION, prediction_date: MORNING, probability: ch.json().items[0].probability });
      expect((await app.inject({ method: 'GET', url: `/api/v1/predictions/${code}` })).json().model_version).toBe(MODEL_VERSION);
      expect((await app.inject({ method: 'GET', url: '/api/v1/predictions?model=9.9.9' })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/api/v1/predictions?model=latest' })).statusCode).toBe(400);
    });

    it('GET /monitoring: the latest run’s drift, what shifted, the challengers; a date; bad dates', async () => {
      const r = await app.inject({ method: 'GET', url: '/api/v1/monitoring' });
      expect(r.statusCode).toBe(200);
      const m = r.json();
      // The early date was run last but the latest date with a completed run is the morning's.
      expect(m).toMatchObject({ prediction_date: MORNING, run_id: morning.runId, model_version: MODEL_VERSION, note: null });
      expect(m.drift.features).toHaveLength(FEATURE_NAMES.length);
      expect(m.drift.features[0]).toEqual(JSON.parse(JSON.stringify(morning.monitor.drift!.features[0])));
      expect(m.drift.score.psi).toBe(morning.monitor.drift!.score.psi);
      expect(m.shifted.map((s: { name: string }) => s.name)).toEqual(
        [...morning.monitor.drift!.features, morning.monitor.drift!.score].filter((x) => x.psi >= 0.1).sort((a, b) => b.psi - a.psi).map((x) => x.name),
      );
      expect(m.challengers).toEqual([expect.objectContaining({ model_version: MODEL_B_VERSION, run_id: morning.runId, comparison: JSON.parse(JSON.stringify(morning.monitor.challenger)) })]);
      const e = (await app.inject({ method: 'GET', url: `/api/v1/monitoring?date=${early}` })).json();
      expect(e.prediction_date).toBe(early);
      expect(e.drift).not.toBeNull();
      expect((await app.inject({ method: 'GET', url: '/api/v1/monitoring?date=2020-01-01' })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/api/v1/monitoring?date=2025-02-30' })).statusCode).toBe(400);
    });

    it('GET /models says which model has a reference; the PSI gauges', async () => {
      const models = (await app.inject({ method: 'GET', url: '/api/v1/models' })).json().models as { version: string; drift_reference: unknown }[];
      expect(models.find((x) => x.version === MODEL_VERSION)?.drift_reference).toMatchObject({ source: 'profile', from: early, to: early });
      expect(models.find((x) => x.version === MODEL_B_VERSION)?.drift_reference).toBeNull();
      const text = (await app.inject({ method: 'GET', url: '/api/v1/metrics' })).body;
      const d = morning.monitor.drift!;
      for (const f of d.features) expect(text).toContain(`stockflow_feature_psi{feature="${f.name}",model_version="${MODEL_VERSION}"} ${f.psi}`);
      expect(text).toContain(`stockflow_score_psi{model_version="${MODEL_VERSION}"} ${d.score.psi}`);
    });
  });

  it('evaluate --compare: both models on the same outcomes, the same interval every time', () => {
    const args = ['evaluate', '--compare', 'champion,challenger', '--data-dir', dataDir, '--models-dir', modelsDir, '--format', 'json', '--resamples', '200'];
    const a = runCli(args);
    expect(a.code, a.stderr).toBe(0);
    const b = runCli(args);
    expect(b.stdout).toBe(a.stdout);
    const c = JSON.parse(a.stdout);
    expect(c).toMatchObject({ a: { version: MODEL_VERSION }, b: { version: MODEL_B_VERSION }, dates: 1, from: early, to: early });
    expect(c.rows).toBe(c.a.figures.rows);
    const r = c.roc_auc;
    expect(r).toMatchObject({ resamples: 200, seed: 14, level: 0.95 });
    expect(r.difference).toBeCloseTo(c.b.figures.roc_auc - c.a.figures.roc_auc, 12);
    expect(r.ci_lower).toBeLessThanOrEqual(r.difference);
    expect(r.ci_upper).toBeGreaterThanOrEqual(r.difference);
    const t = runCli(['evaluate', '--compare', `${MODEL_VERSION},${MODEL_B_VERSION}`, '--data-dir', dataDir, '--models-dir', modelsDir, '--resamples', '200']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain(`COMPARE A = ${MODEL_VERSION} v${MODEL_VERSION}, B = ${MODEL_B_VERSION} v${MODEL_B_VERSION}`);
    expect(t.stdout).toContain('95% CI of the ROC-AUC difference: [');
    expect(runCli(['evaluate', '--compare', 'champion', '--data-dir', dataDir, '--models-dir', modelsDir]).code).toBe(2);
    expect(runCli(['evaluate', '--compare', 'champion,challenger', '--format', 'csv', '--data-dir', dataDir, '--models-dir', modelsDir]).code).toBe(2);
  });

  it('models promote prints the comparison with the champion before promoting', () => {
    const copy = path.join(fx.root, 'models-promote');
    cpSync(modelsDir, copy, { recursive: true });
    const r = runCli(['models', 'promote', MODEL_B_VERSION, '--data-dir', dataDir, '--models-dir', copy]);
    expect(r.code, r.stderr).toBe(0);
    const [cmp, after] = r.stdout.split(`champion → upper-circuit/${MODEL_B_VERSION}`);
    expect(cmp).toContain(`COMPARE A = champion v${MODEL_VERSION}, B = ${MODEL_B_VERSION} v${MODEL_B_VERSION}`);
    expect(after).toContain(`(was upper-circuit/${MODEL_VERSION})`);
  });

  it('a challenger that is the model scoring the run, or shares its version, is skipped with the reason', async () => {
    expect(await openChallenger(modelsDir, { name: 'upper-circuit', version: MODEL_B_VERSION })).toBe(
      `the challenger alias names the model scoring this run (upper-circuit/${MODEL_B_VERSION})`,
    );
    expect(await openChallenger(modelsDir, { name: 'other', version: MODEL_B_VERSION })).toMatch(/has the version of the model scoring this run \(other\/1\.1\.0\): rows are keyed by version$/);
    const m = await openChallenger(modelsDir, { name: 'upper-circuit', version: MODEL_VERSION });
    expect(typeof m).toBe('object');
    if (typeof m === 'object') await m.release();
  });

  it('the notice: the scorecard, and a significant shift in Slack and the email', () => {
    const d = morning.monitor.drift!;
    const shiftedRun: BatchResult = {
      ...morning,
      monitor: { ...morning.monitor, drift: { ...d, features: d.features.map((f, i) => (i === 3 ? { ...f, psi: 0.731, level: 'significant' as const } : { ...f, psi: 0.01, level: 'stable' as const })) } },
    };
    const n = noticeFromResult(shiftedRun);
    expect(n.drift).toEqual({ significant: [{ name: FEATURE_NAMES[3], psi: 0.731 }, ...(d.score.level === 'significant' ? [{ name: 'score', psi: d.score.psi }] : [])], threshold: 0.25 });
    const slack = JSON.stringify(renderSlack(n).blocks);
    // Slack's mrkdwn escapes '>'.
    expect(slack).toContain(`Significant input shift (PSI &gt; 0.25): ${FEATURE_NAMES[3]} 0.731`);
    const s = morning.scorecard!;
    const card = `Top ${s.top} of ${s.date} (v${s.model_version}): ${s.top_hits} hit the upper circuit`;
    expect(slack).toContain(card);
    const mail = renderEmail(n, { mailFrom: 'a@b.c', mailTo: ['d@e.f'] }).text;
    expect(mail.split('\n')[0]).toBe(`DRIFT: Significant input shift (PSI > 0.25): ${FEATURE_NAMES[3]} 0.731${d.score.level === 'significant' ? `, score ${d.score.psi.toFixed(3)}` : ''}: the model sees inputs unlike those it learned from (docs/monitoring.md)`);
    expect(mail).toContain(`SCORECARD: ${card}`);
    // No significant shift: no drift line.
    expect(JSON.stringify(renderSlack(noticeFromResult({ ...shiftedRun, monitor: {} })).blocks)).not.toContain('Drift');
  });
});
