/**
 * The predictions store's rules, in-process: completedRun (docs/runs.md),
 * publishing rows and the run record in one transaction, and the read-side
 * mapping of a dead process's `running` row to `interrupted`.
 */
import { describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PredictionsStore } from '../src/predictions/store.js';
import type { DriverRow, ExplanationColumns, RunFinish, RunRows } from '../src/predictions/types.js';
import { FEATURE_NAMES } from '../src/features/definition.js';
import { N_FEATURES } from '../src/features/definition.js';
import { lockFile } from '../src/util/lockfile.js';
import { tempDirs } from './helpers/temp-dirs.js';

const D = '2025-11-14';
const dataDir = tempDirs('sf-store-');

const MODEL = { name: 'upper-circuit', version: '1.0.0', type: 'GBDT', sha256: 'x' };
const counts = { universe: 2, processed: 2, skipped: 0, predictedUc: 1, high: 1, medium: 0, low: 0 };

function rows(runId: string, probs: number[]): RunRows {
  const codes = probs.map((_, i) => `50000${i}`);
  return {
    runId,
    date: D,
    asOf: '2025-11-13',
    modelVersion: MODEL.version,
    modelType: MODEL.type,
    featureSetVersion: 'v1',
    predictions: probs.map((p, i) => ({ bse_code: codes[i], nse_symbol: null, company_name: `C${i}`, probability: p, label: p >= 0.5 ? 1 : 0, confidence: 'HIGH' })),
    skipped: [],
    features: { codes, values: new Float32Array(codes.length * N_FEATURES), imputed: new Uint8Array(codes.length) },
    timestamp: '2025-11-14T01:00:00.000Z',
  };
}

let seq = 0;
function start(s: PredictionsStore, scope: 'full' | 'subset' = 'full'): string {
  const runId = `${D}-r${++seq}`;
  s.startRun({ runId, date: D, startedAt: new Date(Date.UTC(2025, 10, 14, 1, seq)).toISOString(), threads: 1, scope, pid: process.pid, host: hostname() });
  return runId;
}
const finish = (status: RunFinish['status']): RunFinish => ({ status, model: MODEL, counts });

describe('completedRun', () => {
  it('is the latest published succeeded/budget_exceeded run: not a later failed, subset or unpublished over-budget run', () => {
    const s = PredictionsStore.openForWrite(dataDir());
    try {
      expect(s.completedRun(D)).toBeUndefined();
      const good = start(s);
      s.publishRun(rows(good, [0.9, 0.1]), finish('succeeded'));
      const failed = start(s);
      s.finishRun(failed, { status: 'failed', error: 'boom' });
      const subset = start(s, 'subset');
      s.finishRun(subset, finish('succeeded'));
      const over = start(s);
      s.finishRun(over, finish('budget_exceeded'));
      expect(s.completedRun(D)?.run_id).toBe(good);
      expect(s.completedRun(D, { name: MODEL.name, version: MODEL.version })?.run_id).toBe(good);
      expect(s.completedRun(D, { name: MODEL.name, version: '9.9.9' })).toBeUndefined();
      expect(s.latestCompletedRun()?.run_id).toBe(good);
      // A later published run (a full over-budget run of a date without a succeeded one would be) is the date's run.
      const again = start(s);
      s.publishRun(rows(again, [0.2, 0.3]), finish('succeeded'));
      expect(s.completedRun(D)?.run_id).toBe(again);
      expect(s.ranking(D, MODEL.version).map((r) => r.probability)).toEqual([0.3, 0.2]);
    } finally {
      s.close();
    }
  });
});

describe('publishRun', () => {
  it('commits the rows and the run record together: a row the database refuses leaves both as they were', () => {
    const dir = dataDir();
    const s = PredictionsStore.openForWrite(dir);
    try {
      const good = start(s);
      s.publishRun(rows(good, [0.9, 0.1]), finish('succeeded'));
      const bad = start(s);
      // probability 2 violates daily_predictions' CHECK: the whole publication rolls back.
      expect(() => s.publishRun(rows(bad, [0.4, 2]), finish('succeeded'))).toThrow(/CHECK/);
      const db = new Database(path.join(dir, 'predictions.db'), { readonly: true });
      try {
        expect(db.prepare('SELECT status, published FROM batch_runs WHERE run_id = ?').get(bad)).toEqual({ status: 'running', published: 0 });
        expect(db.prepare('SELECT probability FROM daily_predictions ORDER BY probability DESC').pluck().all()).toEqual([0.9, 0.1]);
      } finally {
        db.close();
      }
      expect(s.completedRun(D)?.run_id).toBe(good);
    } finally {
      s.close();
    }
  });
});

describe('publishRun: prediction_drivers written many rows per statement (#16)', () => {
  // 137 stocks × 5 drivers = 685 rows: 10 full multi-row statements of 64 and 45 rows one by one.
  const N = 137;
  const FEATURES = ['ret_5d', 'rsi_14', 'volume_dry_up', 'days_to_earnings', 'log_market_cap'];
  /** One stock's explanation as this test writes it down (what the columns below carry). */
  interface Explained {
    bse_code: string;
    base: number;
    margin: number;
    drivers: DriverRow[];
  }
  function explanationsOf(r: RunRows): Explained[] {
    return r.predictions.map((p, i) => ({
      bse_code: p.bse_code,
      base: -1.5,
      margin: i / 7,
      drivers: FEATURES.slice(0, i % 6).map((feature, k) => ({ feature, value: k === 2 ? null : k === 3 ? Number.NaN : i + k / 8, contribution: (k + 1) / (i + 1) })),
    }));
  }
  /** The same explanations as the batch hands them to publishRun (ExplanationColumns, K slots a stock). */
  function columnsOf(es: readonly Explained[]): ExplanationColumns {
    const K = 5;
    const cols: ExplanationColumns = {
      codes: es.map((e) => e.bse_code),
      base: -1.5,
      margin: Float64Array.from(es, (e) => e.margin),
      k: K,
      feature: new Int8Array(es.length * K).fill(-1),
      value: new Float64Array(es.length * K),
      contribution: new Float64Array(es.length * K),
    };
    es.forEach((e, i) =>
      e.drivers.forEach((d, q) => {
        cols.feature[i * K + q] = (FEATURE_NAMES as readonly string[]).indexOf(d.feature);
        cols.value[i * K + q] = d.value ?? Number.NaN;
        cols.contribution[i * K + q] = d.contribution;
      }),
    );
    return cols;
  }
  function explained(runId: string): RunRows & { explanations: ExplanationColumns; given: Explained[] } {
    const r = rows(runId, Array.from({ length: N }, (_, i) => (i % 10) / 10));
    const given = explanationsOf(r);
    return { ...r, explanations: columnsOf(given), given };
  }
  /** The rows publishRun must store, built here from the input one driver at a time. */
  function expectedDrivers(r: { given: readonly Explained[] }): unknown[][] {
    const out: unknown[][] = [];
    for (const e of r.given)
      e.drivers.forEach((d, k) => out.push([e.bse_code, D, MODEL.version, k + 1, d.feature, d.value === null || Number.isNaN(d.value) ? null : d.value, d.contribution]));
    return out.sort((a, b) => (a[0] === b[0] ? (a[3] as number) - (b[3] as number) : (a[0] as string) < (b[0] as string) ? -1 : 1));
  }

  it('stores every driver row, the rows of a partial last batch included, exactly as given', () => {
    const dir = dataDir();
    const s = PredictionsStore.openForWrite(dir);
    try {
      const r = explained(start(s));
      const want = expectedDrivers(r);
      expect(want.length % 64).not.toBe(0);
      s.publishRun(r, finish('succeeded'));
      const db = new Database(path.join(dir, 'predictions.db'), { readonly: true });
      try {
        const got = db.prepare('SELECT * FROM prediction_drivers ORDER BY bse_code, rank').raw(true).all();
        expect(got).toEqual(want);
        expect(db.prepare('SELECT count(*) FROM prediction_explanations').pluck().get()).toBe(N);
      } finally {
        db.close();
      }
      // A second publication of the date replaces them (nothing left from the first).
      s.publishRun(explained(start(s)), finish('succeeded'));
      const db2 = new Database(path.join(dir, 'predictions.db'), { readonly: true });
      try {
        expect(db2.prepare('SELECT count(*) FROM prediction_drivers').pluck().get()).toBe(want.length);
      } finally {
        db2.close();
      }
    } finally {
      s.close();
    }
  });

  it('stores each explanation’s base value and margin, and reports how many it stored', () => {
    const dir = dataDir();
    const s = PredictionsStore.openForWrite(dir);
    try {
      const r = explained(start(s));
      expect(s.publishRun(r, finish('succeeded')).explanations).toBe(N);
      const db = new Database(path.join(dir, 'predictions.db'), { readonly: true });
      try {
        expect(db.prepare('SELECT * FROM prediction_drivers ORDER BY bse_code, rank').raw(true).all()).toEqual(expectedDrivers(r));
        expect(db.prepare('SELECT bse_code, base_value, margin FROM prediction_explanations ORDER BY bse_code').raw(true).all()).toEqual(
          r.given.map((e) => [e.bse_code, e.base, e.margin]).sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
        );
      } finally {
        db.close();
      }
    } finally {
      s.close();
    }
  });

  it('a driver row the database refuses inside a multi-row statement rolls the whole publication back', () => {
    const dir = dataDir();
    const s = PredictionsStore.openForWrite(dir);
    try {
      const good = start(s);
      s.publishRun(explained(good), finish('succeeded'));
      const bad = explained(start(s));
      // contribution is NOT NULL, and SQLite stores a NaN as NULL: a NaN contribution for stock 31's first driver
      // (driver row 76, inside the second statement of 64 rows).
      bad.explanations.contribution[31 * bad.explanations.k] = Number.NaN;
      expect(() => s.publishRun(bad, finish('succeeded'))).toThrow(/NOT NULL/);
      expect(s.completedRun(D)?.run_id).toBe(good);
      const db = new Database(path.join(dir, 'predictions.db'), { readonly: true });
      try {
        expect(db.prepare('SELECT * FROM prediction_drivers ORDER BY bse_code, rank').raw(true).all()).toEqual(expectedDrivers(explained(good)));
      } finally {
        db.close();
      }
    } finally {
      s.close();
    }
  });
});

describe('a running row whose process is gone', () => {
  it('reads as interrupted (read-only), is recorded by reconcileInterrupted; a live run holding the lock or another host’s run stays running', () => {
    const dir = dataDir();
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const s = PredictionsStore.openForWrite(dir);
    try {
      s.startRun({ runId: 'other-host', date: D, startedAt: '2025-11-14T00:00:00.000Z', threads: 1, scope: 'full', pid: dead, host: `${hostname()}-elsewhere` });
      s.startRun({ runId: 'live', date: D, startedAt: '2025-11-14T00:01:00.000Z', threads: 1, scope: 'full', pid: process.pid, host: hostname() });
      s.startRun({ runId: 'dead', date: D, startedAt: '2025-11-14T00:02:00.000Z', threads: 1, scope: 'full', pid: dead, host: hostname() });
      const ro = PredictionsStore.openReadonly(dir);
      try {
        expect(ro.lastRun()).toMatchObject({ run_id: 'dead', status: 'interrupted' });
        expect(() => ro.reconcileInterrupted()).toThrow(/read-only/);
      } finally {
        ro.close();
      }
      // 'live' is this process, holding the data directory's batch lock as a batch does.
      writeFileSync(lockFile(dir), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2025-11-14T00:01:00.000Z' }));
      expect(s.reconcileInterrupted()).toEqual(['dead']);
      const db = new Database(path.join(dir, 'predictions.db'), { readonly: true });
      try {
        expect(db.prepare('SELECT run_id, status FROM batch_runs ORDER BY started_at').all()).toEqual([
          { run_id: 'other-host', status: 'running' },
          { run_id: 'live', status: 'running' },
          { run_id: 'dead', status: 'interrupted' },
        ]);
        // Without the lock, a live pid that is not the batch's (a reused pid) is gone too.
        rmSync(lockFile(dir));
        expect(s.reconcileInterrupted()).toEqual(['live']);
      } finally {
        db.close();
      }
    } finally {
      s.close();
    }
  });

  it('a running row from before runs kept their pid (migration 004) is gone unless a live batch holds the lock', () => {
    const dir = dataDir();
    const s = PredictionsStore.openForWrite(dir);
    try {
      s.startRun({ runId: 'old', date: D, startedAt: '2025-11-13T00:00:00.000Z', threads: 1, scope: 'full', pid: process.pid, host: hostname() });
      // As an older stockflow recorded it: no pid, no host.
      const db = new Database(path.join(dir, 'predictions.db'));
      db.prepare("UPDATE batch_runs SET pid = NULL, host = NULL WHERE run_id = 'old'").run();
      db.close();
      // A live batch holds the lock: it may be the one that wrote the row, so it stays running.
      writeFileSync(lockFile(dir), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2025-11-14T00:01:00.000Z' }));
      expect(s.reconcileInterrupted()).toEqual([]);
      // A lock left by a dead process, or none: nobody runs it.
      const dead = spawnSync(process.execPath, ['-e', '']).pid!;
      writeFileSync(lockFile(dir), JSON.stringify({ pid: dead, host: hostname(), startedAt: '2025-11-14T00:01:00.000Z' }));
      expect(s.reconcileInterrupted()).toEqual(['old']);
    } finally {
      s.close();
    }
  });
});

describe('snapshot', () => {
  it("a date's run and its rows come from one snapshot even when another connection publishes between the two reads", () => {
    const dir = dataDir();
    const w = PredictionsStore.openForWrite(dir);
    const r = PredictionsStore.openReadonly(dir);
    try {
      const first = start(w);
      w.publishRun(rows(first, [0.9, 0.1]), finish('succeeded'));
      const seen = r.snapshot(() => {
        const run = r.completedRun(D);
        // Another run of the same date and model is published between the two reads.
        const second = start(w);
        w.publishRun(rows(second, [0.2, 0.3]), finish('succeeded'));
        return { run: run?.run_id, probs: r.ranking(D, MODEL.version).map((x) => x.probability) };
      });
      expect(seen).toEqual({ run: first, probs: [0.9, 0.1] });
      // Outside the snapshot the new run and its rows are seen together.
      expect(r.completedRun(D)?.run_id).not.toBe(first);
      expect(r.ranking(D, MODEL.version).map((x) => x.probability)).toEqual([0.3, 0.2]);
      // Without a snapshot the same interleaving pairs the old run with the new rows (what the snapshot prevents).
      const run = r.completedRun(D)?.run_id;
      const third = start(w);
      w.publishRun(rows(third, [0.5, 0.6]), finish('succeeded'));
      expect(run).not.toBe(third);
      expect(r.ranking(D, MODEL.version).map((x) => x.probability)).toEqual([0.6, 0.5]);
    } finally {
      r.close();
      w.close();
    }
  });
});
