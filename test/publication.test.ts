/**
 * Issue #16: a run's publication in steps (PredictionsStore.beginPublication): the rows that need no
 * explanation while the workers explain, then the explanation rows, then ONE commit. The same rows as
 * publishRun's one call (the oracle: a second data directory written by publishRun); until the commit a
 * reader sees the date's earlier run; a rollback, a step that fails, an iteration left early, or a
 * SIGKILL of the process leaves the earlier rows as they were.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PredictionsStore } from '../src/predictions/store.js';
import type { ExplanationColumns, RunFinish, RunRows } from '../src/predictions/types.js';
import { N_FEATURES } from '../src/features/definition.js';
import { tempDirs } from './helpers/temp-dirs.js';

const ROOT = path.resolve(__dirname, '..');
const D = '2025-11-14';
const MODEL = { name: 'upper-circuit', version: '1.0.0', type: 'GBDT', sha256: 'x' };
const dataDir = tempDirs('sf-pub-');

/** n stocks in an order that is not the codes' (the universe's order: daily_predictions' ids follow it). */
function rows(runId: string, n: number, seed: number): RunRows & { explanations: ExplanationColumns } {
  const codes = Array.from({ length: n }, (_, i) => String(500000 + ((i * 7919) % n)));
  const values = new Float32Array(n * N_FEATURES);
  for (let i = 0; i < values.length; i++) values[i] = ((i * seed) % 101) / 7;
  const K = 3;
  const ex: ExplanationColumns = {
    codes,
    base: -1.25,
    margin: Float64Array.from(codes, (_, i) => (i - seed) / 9),
    k: K,
    feature: Int8Array.from({ length: n * K }, (_, j) => (j % K === 2 && j % 5 === 0 ? -1 : (j * seed) % N_FEATURES)),
    value: Float64Array.from({ length: n * K }, (_, j) => (j % 11 === 0 ? Number.NaN : j / 3)),
    contribution: Float64Array.from({ length: n * K }, (_, j) => (seed - j) / 17),
  };
  return {
    runId,
    date: D,
    asOf: '2025-11-13',
    modelVersion: MODEL.version,
    modelType: MODEL.type,
    featureSetVersion: 'v1',
    predictions: codes.map((c, i) => ({ bse_code: c, nse_symbol: i % 2 ? null : `S${c}`, company_name: `C${c}`, probability: ((i * seed) % 1000) / 1000, label: i % 3 ? 0 : 1, confidence: 'HIGH' })),
    skipped: [{ bse_code: '400001', reason: 'NO_PRICE_BAND', detail: `seed ${seed}` }],
    features: { codes, values, imputed: Uint8Array.from(codes, (_, i) => i % 4) },
    timestamp: `2025-11-14T01:00:0${seed % 10}.000Z`,
    explanations: ex,
  };
}

const finish = (n: number): RunFinish => ({
  status: 'succeeded',
  model: MODEL,
  counts: { universe: n + 1, processed: n, skipped: 1, predictedUc: 1, high: 1, medium: 0, low: 0 },
  explanations: 'explained (test)',
});

/** Starts run `${D}-p<k>` (the same ids in every data directory). */
function start(s: PredictionsStore, k: number): string {
  const runId = `${D}-p${k}`;
  s.startRun({ runId, date: D, startedAt: new Date(Date.UTC(2025, 10, 14, 1, k)).toISOString(), threads: 2, scope: 'full', pid: process.pid, host: hostname() });
  return runId;
}

const TABLES = {
  daily_predictions: 'SELECT * FROM daily_predictions ORDER BY prediction_id',
  skipped_stocks: 'SELECT * FROM skipped_stocks ORDER BY bse_code',
  feature_values: 'SELECT * FROM feature_values ORDER BY bse_code, feature_set_version',
  prediction_explanations: 'SELECT * FROM prediction_explanations ORDER BY bse_code',
  prediction_drivers: 'SELECT * FROM prediction_drivers ORDER BY bse_code, rank',
  runs: 'SELECT run_id, status, published, explanations, processed_count FROM batch_runs ORDER BY started_at',
};
/** Every row of the tables a publication writes, read through a connection of its own. */
function dump(dir: string): Record<string, unknown[]> {
  const db = new Database(path.join(dir, 'predictions.db'), { readonly: true });
  try {
    return Object.fromEntries(Object.entries(TABLES).map(([k, q]) => [k, db.prepare(q).all()]));
  } finally {
    db.close();
  }
}

describe('a publication in steps', () => {
  const N = 1500;
  it('writes exactly the rows of publishRun, and a reader sees the earlier run until the commit', () => {
    // the oracle: publishRun, in one call
    const oracleDir = dataDir();
    const o = PredictionsStore.openForWrite(oracleDir);
    try {
      o.publishRun(rows(start(o, 1), N, 3), finish(N));
      o.publishRun(rows(start(o, 2), N, 5), finish(N));
    } finally {
      o.close();
    }

    const dir = dataDir();
    const s = PredictionsStore.openForWrite(dir);
    try {
      s.publishRun(rows(start(s, 1), N, 3), finish(N));
      const r = rows(start(s, 2), N, 5);
      const first = dump(dir);
      const pub = s.beginPublication(r);
      let slices = 0;
      for (const _ of pub.baseRows(100)) {
        void _;
        slices++;
        // mid-publication, another connection reads the date's earlier rows
        if (slices % 7 === 1) expect(dump(dir)).toEqual(first);
      }
      // 1500 predictions and 1500 feature rows, 100 at a time: a pause between every two slices
      expect(slices).toBe(2 * (N / 100) - 1);
      expect(dump(dir)).toEqual(first);
      pub.explanationRows(r.explanations);
      expect(dump(dir)).toEqual(first);
      expect(pub.commit(finish(N))).toEqual({ predictions: N, skipped: 1, features: N, explanations: N });
      expect(pub.active).toBe(false);
      expect(() => pub.rollback()).not.toThrow();
    } finally {
      s.close();
    }
    const got = dump(dir);
    const want = dump(oracleDir);
    for (const k of Object.keys(TABLES)) expect(got[k], k).toEqual(want[k]);
    expect((got.prediction_drivers as unknown[]).length).toBeGreaterThan(2 * N);
  });

  it('a rollback, a step that fails, or an iteration left early leaves the date\u2019s rows as they were; the store publishes again afterwards', () => {
    const dir = dataDir();
    const s = PredictionsStore.openForWrite(dir);
    try {
      s.publishRun(rows(start(s, 1), 200, 3), finish(200));
      const first = dump(dir);

      // rolled back after every row but the commit's
      const a = rows(start(s, 2), 300, 5);
      const pa = s.beginPublication(a);
      for (const _ of pa.baseRows(64)) void _;
      pa.explanationRows(a.explanations);
      pa.rollback();
      expect(pa.active).toBe(false);
      expect(() => pa.commit(finish(300))).toThrow(/after the publication ended/);

      // a NaN contribution is refused (NOT NULL) after the base rows: the whole publication rolls back
      const b = rows(start(s, 3), 300, 7);
      expect(b.explanations.feature[4]).toBeGreaterThanOrEqual(0);
      b.explanations.contribution[4] = Number.NaN;
      const pb = s.beginPublication(b);
      for (const _ of pb.baseRows()) void _;
      expect(() => pb.explanationRows(b.explanations)).toThrow(/NOT NULL/);
      expect(pb.active).toBe(false);

      // the caller stops iterating half way (a stop between slices)
      const c = rows(start(s, 4), 300, 9);
      const pc = s.beginPublication(c);
      let k = 0;
      for (const _ of pc.baseRows(50)) {
        void _;
        if (++k === 3) break;
      }
      expect(pc.active).toBe(false);
      expect(() => pc.explanationRows(c.explanations)).toThrow(/after the publication ended/);

      const now = dump(dir);
      for (const t of ['daily_predictions', 'skipped_stocks', 'feature_values', 'prediction_explanations', 'prediction_drivers']) expect(now[t], t).toEqual(first[t]);
      expect((now.runs as { status: string; published: number }[]).map((x) => [x.status, x.published])).toEqual([
        ['succeeded', 1],
        ['running', 0],
        ['running', 0],
        ['running', 0],
      ]);

      // no transaction left open: the next publication commits
      const e = rows(start(s, 5), 250, 11);
      s.publishRun(e, finish(250));
      expect((dump(dir).daily_predictions as unknown[]).length).toBe(250);
    } finally {
      s.close();
    }
  });

  it('a SIGKILL after the base rows (the transaction open) leaves the earlier rows; the next open finds no trace of it', () => {
    const dir = dataDir();
    const s = PredictionsStore.openForWrite(dir);
    let first: Record<string, unknown[]>;
    try {
      s.publishRun(rows(start(s, 1), 400, 3), finish(400));
      first = dump(dir);
    } finally {
      s.close();
    }
    // A child process begins a second publication, writes its base rows and explanation rows (more than SQLite's page cache holds), and kills itself.
    const script = `
      const { PredictionsStore } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/predictions/store.js'))});
      const s = PredictionsStore.openForWrite(${JSON.stringify(dir)});
      s.startRun({ runId: 'killed', date: '${D}', startedAt: '2025-11-14T02:00:00.000Z', threads: 2, scope: 'full', pid: process.pid, host: 'h' });
      const n = 20000, F = ${N_FEATURES};
      const codes = Array.from({ length: n }, (_, i) => String(600000 + i));
      const pub = s.beginPublication({ runId: 'killed', date: '${D}', asOf: '2025-11-13', modelVersion: '${MODEL.version}', modelType: 'GBDT', featureSetVersion: 'v1',
        predictions: codes.map((c) => ({ bse_code: c, nse_symbol: null, company_name: 'K', probability: 0.5, label: 1, confidence: 'HIGH' })),
        skipped: [], features: { codes, values: new Float32Array(n * F).fill(1), imputed: new Uint8Array(n) }, timestamp: 't' });
      for (const _ of pub.baseRows(1000)) void _;
      process.stdout.write('base rows written\\n');
      process.kill(process.pid, 'SIGKILL');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout, r.stderr).toContain('base rows written');
    expect(r.signal).toBe('SIGKILL');
    const after = dump(dir);
    for (const t of ['daily_predictions', 'skipped_stocks', 'feature_values', 'prediction_explanations', 'prediction_drivers']) expect(after[t], t).toEqual(first[t]);
    expect((after.runs as { run_id: string; status: string }[]).map((x) => x.status)).toEqual(['succeeded', 'running']);
  }, 90_000);
});
