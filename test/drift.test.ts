/**
 * PSI and reference bins (src/model/drift.ts) against hand-worked numbers
 * (docs/monitoring.md): the floor on an empty bin, ties, a constant feature,
 * missing values, and a whole report's levels.
 */
import { describe, expect, it } from 'vitest';
import { binIndex, buildReference, distributionOf, driftReport, levelOf, psi, quantileEdges, referenceOf, shifted, subjectDrift } from '../src/model/drift.js';

describe('reference bins', () => {
  it('10 quantile bins of 1..20 have edges 2, 4, …, 18 and 10% each', () => {
    const v = Array.from({ length: 20 }, (_, i) => i + 1);
    const d = distributionOf(v);
    expect(d.edges).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(d.shares).toEqual(new Array(10).fill(0.1));
    expect(d.missing_share).toBe(0);
  });

  it('ties: a mass point gets one bin of its own and fewer bins result', () => {
    // sorted positions ceil(q·10) − 1 = q − 1 → 0,0,0,0,0,0,0,1,2 → edges 0, 1, 2
    const d = distributionOf([3, 0, 0, 2, 0, 0, 1, 0, 0, 0]);
    expect(d.edges).toEqual([0, 1, 2]);
    expect(d.shares).toEqual([0.7, 0.1, 0.1, 0.1]);
  });

  it('a constant feature: (−∞, c] holds everything, (c, +∞) nothing', () => {
    expect(distributionOf([5, 5, 5, 5])).toEqual({ edges: [5], shares: [1, 0], missing_share: 0 });
  });

  it('missing values have their own share and are not binned', () => {
    // finite 1, 2, 3 in 2 bins: edge at position ceil(1.5) − 1 = 1 → 2
    expect(distributionOf([1, Number.NaN, 2, 3], 2)).toEqual({ edges: [2], shares: [0.5, 0.25], missing_share: 0.25 });
    expect(quantileEdges([Number.NaN, Number.POSITIVE_INFINITY])).toEqual([]);
  });

  it('a value equal to an edge falls in the bin the edge closes', () => {
    expect([0.5, 1, 1.5, 2, 3, 3.5].map((x) => binIndex([1, 2, 3], x))).toEqual([0, 0, 1, 1, 2, 3]);
  });

  it('buildReference bins each column of row-major rows and the score', () => {
    // 4 rows × 2 features: column a = 1,2,3,4; column b constant 7
    const X = Float32Array.from([1, 7, 2, 7, 3, 7, 4, 7]);
    const r = buildReference(X, 4, ['a', 'b'], [0.1, 0.2, 0.3, 0.4], { source: 'training', bins: 2, now: new Date('2025-01-01T00:00:00Z') });
    expect(r.features.a).toEqual({ edges: [2], shares: [0.5, 0.5], missing_share: 0 });
    expect(r.features.b).toEqual({ edges: [7], shares: [1, 0], missing_share: 0 });
    expect(r.score.edges).toEqual([0.2]);
    expect(r.rows).toBe(4);
    expect(referenceOf({ drift_reference: JSON.parse(JSON.stringify(r)) })).toEqual(r);
    expect(referenceOf({})).toBeUndefined();
    expect(referenceOf({ drift_reference: { source: 'training', score: { edges: [2, 1], shares: [1, 0, 0], missing_share: 0 }, features: {} } })).toHaveProperty('problem');
  });
});

describe('PSI', () => {
  it('hand-worked: an empty reference bin is floored at 1e-4', () => {
    // (0.4−0.5)ln(0.8) + (0.4−0.3)ln(4/3) + (0.1−0.2)ln(0.5) + (0.1−0.0001)ln(1000)
    // = 0.022314 + 0.028768 + 0.069315 + 0.690085 = 0.810482
    expect(psi([0.5, 0.3, 0.2, 0], [0.4, 0.4, 0.1, 0.1])).toBeCloseTo(0.810482, 6);
  });

  it('hand-worked: an empty run bin is floored too; two empty bins add nothing', () => {
    // (1−0.5)ln(2) + (0.0001−0.5)ln(0.0001/0.5) = 0.346574 + 4.257745
    expect(psi([0.5, 0.5, 0], [1, 0, 0])).toBeCloseTo(4.604318, 6);
    expect(psi([1, 0, 0], [1, 0, 0])).toBe(0);
  });

  it('subjectDrift bins the run with the reference edges (same bins)', () => {
    const ref = { edges: [2], shares: [0.5, 0.5], missing_share: 0 };
    // run 1, 1, 1, 3 → shares 0.75, 0.25: 0.25·ln 1.5 + 0.25·ln 2 = 0.274653
    const d = subjectDrift('x', 'feature', ref, [1, 1, 1, 3]);
    expect(d.psi).toBeCloseTo(0.274653, 6);
    expect(d.level).toBe('significant');
    expect(d.bins).toEqual([
      { lower: null, upper: 2, expected: 0.5, actual: 0.75 },
      { lower: 2, upper: null, expected: 0.5, actual: 0.25 },
    ]);
    // column 1 of 2-wide rows
    expect(subjectDrift('x', 'feature', ref, [9, 1, 9, 1, 9, 1, 9, 3], { stride: 2, offset: 1 }).psi).toBeCloseTo(0.274653, 6);
  });

  it('levels: below 0.1 stable, 0.1 to 0.25 moderate, above 0.25 significant; configurable', () => {
    expect([0.05, 0.1, 0.25, 0.2501].map((x) => levelOf(x))).toEqual(['stable', 'moderate', 'moderate', 'significant']);
    expect(levelOf(0.15, { moderate: 0.2, significant: 0.5 })).toBe('stable');
  });

  it('a report lists the shifted subjects worst first', () => {
    const ref = {
      format: 1,
      source: 'training' as const,
      rows: 4,
      from: null,
      to: null,
      bins: 2,
      created_at: '2025-01-01T00:00:00.000Z',
      features: { a: { edges: [2], shares: [0.5, 0.5], missing_share: 0 }, b: { edges: [2], shares: [0.5, 0.5], missing_share: 0 } },
      score: { edges: [0.5], shares: [0.5, 0.5], missing_share: 0 },
    };
    // a: 1,3,1,3 (no shift); b: all ≤ 2 (4.604); score: 3 of 4 ≤ 0.5 (0.275)
    const X = [1, 1, 3, 1, 1, 2, 3, 2];
    const r = driftReport(ref, { name: 'm', version: '1.0.0' }, X, 4, ['a', 'b'], [0.1, 0.2, 0.3, 0.9]);
    expect(r.features.map((f) => [f.name, f.level])).toEqual([
      ['a', 'stable'],
      ['b', 'significant'],
    ]);
    expect(shifted(r).map((d) => d.name)).toEqual(['b', 'score']);
    expect(r.score.psi).toBeCloseTo(0.274653, 6);
  });
});

describe('the shipped model', () => {
  it("carries a valid reference of its own training rows (the demo's drift section needs it)", async () => {
    const { readFileSync } = await import('node:fs');
    const { FEATURE_NAMES } = await import('../src/features/definition.js');
    const meta = JSON.parse(readFileSync(new URL('../models/upper-circuit/1.0.0/model.json', import.meta.url), 'utf8')) as Record<string, unknown> & { training: { train_rows: number; train_dates: { from: string; to: string } } };
    const ref = referenceOf(meta);
    expect(ref).toBeDefined();
    expect(ref).not.toHaveProperty('problem');
    const r = ref as Exclude<typeof ref, { problem: string } | undefined>;
    expect(r).toMatchObject({ source: 'training', rows: meta.training.train_rows, from: meta.training.train_dates.from, to: meta.training.train_dates.to });
    expect(Object.keys(r.features)).toEqual([...FEATURE_NAMES]);
    for (const d of [...Object.values(r.features), r.score]) expect(d.shares.reduce((a, b) => a + b, 0) + d.missing_share).toBeCloseTo(1, 9);
  });
});
