/**
 * The predictions store's side of drift and the challenger (migration 007):
 * a challenger's rows never become a date's default rows, never replace the
 * published rows, and are served by version; a run's drift reads back as
 * stored. The PSI thresholds' environment variables.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PredictionsStore } from '../src/predictions/store.js';
import { psiThresholdsFrom } from '../src/config.js';
import { StockflowError } from '../src/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sf-monitor-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rows = (p: number[]): { bse_code: string; nse_symbol: null; company_name: string; probability: number; label: 0 | 1; confidence: 'HIGH' | 'MEDIUM' | 'LOW' }[] =>
  p.map((x, i) => ({ bse_code: String(500000 + i), nse_symbol: null, company_name: `C${i}`, probability: x, label: x >= 0.5 ? 1 : 0, confidence: 'HIGH' }));

describe('challenger rows in the store', () => {
  it('are kept under their version, never the default rows of a date, and served by version', () => {
    const store = PredictionsStore.openForWrite(dir);
    try {
      const date = '2025-11-14';
      const challenger = { runId: 'r1', date, asOf: '2025-11-13', modelName: 'm', modelVersion: '2.0.0', modelType: 'GBDT', sha256: 'x', championVersion: '1.0.0', timestamp: '2025-11-14T01:00:00Z', comparison: { top_overlap: 3 } };
      expect(store.recordChallenger({ ...challenger, predictions: rows([0.9, 0.2, 0.6]) })).toBe(3);
      // No completed run of the date: the fallback to "the rows written last" does not pick the challenger's.
      expect(store.completedRun(date)).toBeUndefined();
      expect(store.lastRowsModel(date)).toBeUndefined();
      // By version: its run and ranking.
      expect(store.modelRun(date, '2.0.0')).toMatchObject({ run_id: 'r1', model_version: '2.0.0', as_of_session: '2025-11-13' });
      expect(store.latestModelDate('2.0.0')).toBe(date);
      expect(store.ranking(date, '2.0.0').map((r) => r.probability)).toEqual([0.9, 0.6, 0.2]);
      expect(store.challengersOfDate(date)).toEqual([expect.objectContaining({ model_version: '2.0.0', champion_version: '1.0.0', rows: 3, comparison: { top_overlap: 3 } })]);
      // Its rows await outcomes like a published run's.
      expect(store.pendingOutcomes()).toEqual([{ prediction_date: date, model_name: 'm', model_version: '2.0.0' }]);
      // Replacing: the same date and version again replaces the rows.
      store.recordChallenger({ ...challenger, runId: 'r2', predictions: rows([0.1]) });
      expect(store.ranking(date, '2.0.0')).toHaveLength(1);
      expect(store.modelRun(date, '2.0.0')?.run_id).toBe('r2');
    } finally {
      store.close();
    }
  });

  it("refuses a challenger with the version of the date's published rows", () => {
    const store = PredictionsStore.openForWrite(dir);
    try {
      const date = '2025-11-17';
      store.startRun({ runId: 'p1', date, startedAt: '2025-11-17T00:00:00Z', threads: 1, scope: 'full', pid: process.pid, host: 'h' });
      const fv = { codes: [] as string[], values: new Float32Array(0), imputed: new Uint8Array(0) };
      store.publishRun(
        { runId: 'p1', date, asOf: '2025-11-14', modelVersion: '1.0.0', modelType: 'GBDT', featureSetVersion: '1', predictions: rows([0.7]), skipped: [], features: fv, timestamp: 't' },
        { status: 'succeeded', model: { name: 'm', version: '1.0.0', type: 'GBDT', sha256: 'x' } },
      );
      expect(() =>
        store.recordChallenger({ runId: 'p1', date, asOf: '2025-11-14', modelName: 'm', modelVersion: '1.0.0', modelType: 'GBDT', sha256: 'x', championVersion: '1.0.0', predictions: rows([0.1]), timestamp: 't', comparison: null }),
      ).toThrow(/has the version of 2025-11-17's published rows/);
      expect(store.ranking(date, '1.0.0').map((r) => r.probability)).toEqual([0.7]);
    } finally {
      store.close();
    }
  });

  it('a run’s drift reads back as stored', () => {
    const store = PredictionsStore.openForWrite(dir);
    try {
      const subject = (name: string, kind: 'feature' | 'score', psi: number) => ({
        name,
        kind,
        psi,
        level: psi > 0.25 ? ('significant' as const) : ('stable' as const),
        bins: [
          { lower: null, upper: 1, expected: 0.5, actual: 0.25 },
          { lower: 1, upper: null, expected: 0.5, actual: 0.75 },
        ],
        missing_expected: 0,
        missing_actual: 0,
      });
      const d = {
        model_name: 'm', model_version: '1.0.0', reference_source: 'training' as const, reference_rows: 10, reference_from: '2025-01-01', reference_to: '2025-06-30',
        rows: 4, thresholds: { moderate: 0.1, significant: 0.25 }, floor: 1e-4, features: [subject('a', 'feature', 0.3), subject('b', 'feature', 0.01)], score: subject('score', 'score', 0.05),
      };
      store.recordDrift('p1', '2025-11-17', d);
      expect(store.driftOfRun('p1')).toMatchObject({ ...d, run_id: 'p1', prediction_date: '2025-11-17' });
      expect(store.driftOfDate('2025-11-17').drift?.features.map((f) => f.name)).toEqual(['a', 'b']);
      expect(store.driftOfRun('nope')).toBeUndefined();
    } finally {
      store.close();
    }
  });
});

describe('STOCKFLOW_PSI_MODERATE and STOCKFLOW_PSI_SIGNIFICANT', () => {
  it('default to 0.1 and 0.25, are read as numbers, and refuse nonsense with exit 2', () => {
    expect(psiThresholdsFrom({})).toEqual({ moderate: 0.1, significant: 0.25 });
    expect(psiThresholdsFrom({ STOCKFLOW_PSI_MODERATE: '0.2', STOCKFLOW_PSI_SIGNIFICANT: '.5' })).toEqual({ moderate: 0.2, significant: 0.5 });
    for (const env of [{ STOCKFLOW_PSI_MODERATE: 'high' }, { STOCKFLOW_PSI_SIGNIFICANT: '-1' }, { STOCKFLOW_PSI_MODERATE: '0.3', STOCKFLOW_PSI_SIGNIFICANT: '0.2' }]) {
      let err: unknown;
      try {
        psiThresholdsFrom(env);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(env)).toBeInstanceOf(StockflowError);
      expect((err as StockflowError).exitCode).toBe(2);
    }
  });
});
