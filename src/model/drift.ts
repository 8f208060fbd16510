/**
 * Drift (issue 14, docs/monitoring.md): a model's reference distribution of
 * each feature and of its score, and the population stability index (PSI) of a
 * run's rows against it. The one place PSI is computed: the batch, `models
 * profile`, the API and the tests all call these functions.
 *
 * Reference (stored in model.json as `drift_reference`):
 * - Bin edges are the 1/10 … 9/10 quantiles of the reference rows' finite
 *   values (the lower order statistic: the value at sorted position
 *   ceil(q·n) − 1), duplicates removed. Bins are (−∞, e1], (e1, e2], …,
 *   (ek, +∞): a value equal to an edge falls in the bin the edge closes.
 *   A feature with many ties (a mass point, e.g. an imputed value or a count
 *   that is mostly 0) therefore gets fewer than 10 bins and the mass point a
 *   bin of its own; a constant feature gets two bins, (−∞, c] with share 1 and
 *   (c, +∞) with share 0.
 * - Missing values (NaN, ±Infinity) are not binned: they have their own share,
 *   `missing_share`, which PSI compares as one more bin. (The batch's feature
 *   rows are imputed, so it is 0 for stockflow's own feature set.)
 * - Shares are the fraction of all reference rows (missing included) in each bin.
 *
 * PSI = Σ over bins (and the missing bin) of (a − e) · ln(a / e), a the run's
 * share and e the reference share, each floored at PSI_FLOOR (1e-4) first so
 * that an empty bin on either side gives a large but finite term; shares are
 * not renormalised after flooring. Two empty bins add 0.
 */
export const PSI_BINS = 10;
export const PSI_FLOOR = 1e-4;
/** README "Drift": below 0.1 stable, 0.1 to 0.25 moderate, above 0.25 significant (STOCKFLOW_PSI_MODERATE, STOCKFLOW_PSI_SIGNIFICANT). */
export const DEFAULT_PSI_THRESHOLDS: PsiThresholds = { moderate: 0.1, significant: 0.25 };
/** The subject name of the score's distribution (features use their own names). */
export const SCORE_SUBJECT = 'score';
export const REFERENCE_FORMAT = 1;

export interface PsiThresholds {
  /** PSI at or above this is a moderate shift. */
  moderate: number;
  /** PSI above this is a significant shift. */
  significant: number;
}

export type DriftLevel = 'stable' | 'moderate' | 'significant';

/** One variable's reference distribution. */
export interface ReferenceDistribution {
  /** Interior bin edges, strictly increasing (at most PSI_BINS − 1). */
  edges: number[];
  /** Share of the reference rows in each of the edges.length + 1 bins. */
  shares: number[];
  /** Share of the reference rows whose value is missing (NaN or infinite). */
  missing_share: number;
}

/** model.json's `drift_reference`. */
export interface DriftReference {
  format: number;
  /** 'training': written by `stockflow train` from its training rows; 'profile': by `stockflow models profile`. */
  source: 'training' | 'profile';
  /** Reference rows (stocks × dates). */
  rows: number;
  /** The prediction dates the rows come from. */
  from: string | null;
  to: string | null;
  bins: number;
  created_at: string;
  features: Record<string, ReferenceDistribution>;
  score: ReferenceDistribution;
}

/** One bin of a drift comparison: its bounds (null for ±∞), the reference share and the run's. */
export interface DriftBin {
  lower: number | null;
  upper: number | null;
  expected: number;
  actual: number;
}

/** PSI of one feature (or the score) in one run. */
export interface SubjectDrift {
  /** The feature's name, or 'score'. */
  name: string;
  kind: 'feature' | 'score';
  psi: number;
  level: DriftLevel;
  bins: DriftBin[];
  missing_expected: number;
  missing_actual: number;
}

/** A run's drift against its model's reference: plain data for the report, the API, the gauges and the HTML page. */
export interface DriftReport {
  model_name: string;
  model_version: string;
  reference_source: DriftReference['source'];
  reference_rows: number;
  reference_from: string | null;
  reference_to: string | null;
  /** Rows of the run compared. */
  rows: number;
  thresholds: PsiThresholds;
  floor: number;
  /** Every feature in feature-set order (those the reference has). */
  features: SubjectDrift[];
  score: SubjectDrift;
}

const isMissing = (x: number): boolean => !Number.isFinite(x);

/** The bin of a (finite) value: the number of edges strictly below it. */
export function binIndex(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Quantile bin edges of the finite values (see the file comment); [] when there are none. */
export function quantileEdges(values: ArrayLike<number>, bins = PSI_BINS): number[] {
  const v: number[] = [];
  for (let i = 0; i < values.length; i++) if (!isMissing(values[i])) v.push(values[i]);
  if (v.length === 0) return [];
  v.sort((a, b) => a - b);
  const edges: number[] = [];
  for (let q = 1; q < bins; q++) {
    const e = v[Math.max(0, Math.ceil((q * v.length) / bins) - 1)];
    if (edges.length === 0 || e > edges[edges.length - 1]) edges.push(e);
  }
  return edges;
}

/** The shares of `values` in the bins of `edges`, and the missing share (fractions of all values). */
export function sharesIn(edges: readonly number[], values: ArrayLike<number>, stride = 1, offset = 0, n = values.length): { shares: number[]; missing: number } {
  const counts = new Array<number>(edges.length + 1).fill(0);
  let missing = 0;
  for (let i = 0; i < n; i++) {
    const x = values[i * stride + offset];
    if (isMissing(x)) missing++;
    else counts[binIndex(edges, x)]++;
  }
  return n === 0 ? { shares: counts, missing: 0 } : { shares: counts.map((c) => c / n), missing: missing / n };
}

/** A variable's reference distribution from its reference values. */
export function distributionOf(values: ArrayLike<number>, bins = PSI_BINS): ReferenceDistribution {
  const edges = quantileEdges(values, bins);
  const s = sharesIn(edges, values);
  return { edges, shares: s.shares, missing_share: s.missing };
}

/** PSI of two share vectors of the same bins (see the file comment for the floor). */
export function psi(expected: readonly number[], actual: readonly number[], floor = PSI_FLOOR): number {
  if (expected.length !== actual.length) throw new RangeError(`psi: ${expected.length} reference bins but ${actual.length} run bins`);
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i], floor);
    const a = Math.max(actual[i], floor);
    s += (a - e) * Math.log(a / e);
  }
  return s;
}

export function levelOf(value: number, t: PsiThresholds = DEFAULT_PSI_THRESHOLDS): DriftLevel {
  if (value > t.significant) return 'significant';
  if (value >= t.moderate) return 'moderate';
  return 'stable';
}

/** One variable's drift: the run's values (row-major with `stride`, column `offset`) against its reference. */
export function subjectDrift(
  name: string,
  kind: SubjectDrift['kind'],
  ref: ReferenceDistribution,
  values: ArrayLike<number>,
  o: { stride?: number; offset?: number; n?: number; thresholds?: PsiThresholds; floor?: number } = {},
): SubjectDrift {
  const stride = o.stride ?? 1;
  const n = o.n ?? Math.floor(values.length / stride);
  const s = sharesIn(ref.edges, values, stride, o.offset ?? 0, n);
  const value = psi([...ref.shares, ref.missing_share], [...s.shares, s.missing], o.floor ?? PSI_FLOOR);
  return {
    name,
    kind,
    psi: value,
    level: levelOf(value, o.thresholds),
    bins: ref.shares.map((e, i) => ({ lower: i === 0 ? null : ref.edges[i - 1], upper: i === ref.edges.length ? null : ref.edges[i], expected: e, actual: s.shares[i] })),
    missing_expected: ref.missing_share,
    missing_actual: s.missing,
  };
}

/** The reference of a model from its reference rows: X row-major [n, names.length], and its scores on them. */
export function buildReference(
  X: ArrayLike<number>,
  n: number,
  names: readonly string[],
  scores: ArrayLike<number>,
  o: { source: DriftReference['source']; from?: string | null; to?: string | null; now?: Date; bins?: number },
): DriftReference {
  if (n === 0) throw new RangeError('drift reference: no rows');
  const bins = o.bins ?? PSI_BINS;
  const k = names.length;
  const col = new Float64Array(n);
  const features: Record<string, ReferenceDistribution> = {};
  names.forEach((name, j) => {
    for (let i = 0; i < n; i++) col[i] = X[i * k + j];
    features[name] = distributionOf(col, bins);
  });
  return {
    format: REFERENCE_FORMAT,
    source: o.source,
    rows: n,
    from: o.from ?? null,
    to: o.to ?? null,
    bins,
    created_at: (o.now ?? new Date()).toISOString(),
    features,
    score: distributionOf(Array.from({ length: n }, (_, i) => scores[i]), bins),
  };
}

/** A run's drift report: every feature the reference has (in `names` order) and the score. */
export function driftReport(
  ref: DriftReference,
  model: { name: string; version: string },
  X: ArrayLike<number>,
  n: number,
  names: readonly string[],
  scores: ArrayLike<number>,
  thresholds: PsiThresholds = DEFAULT_PSI_THRESHOLDS,
): DriftReport {
  const features: SubjectDrift[] = [];
  names.forEach((name, j) => {
    const r = ref.features[name];
    if (r) features.push(subjectDrift(name, 'feature', r, X, { stride: names.length, offset: j, n, thresholds }));
  });
  return {
    model_name: model.name,
    model_version: model.version,
    reference_source: ref.source,
    reference_rows: ref.rows,
    reference_from: ref.from,
    reference_to: ref.to,
    rows: n,
    thresholds,
    floor: PSI_FLOOR,
    features,
    score: subjectDrift(SCORE_SUBJECT, 'score', ref.score, scores, { n, thresholds }),
  };
}

/** The features (and the score) at or above the moderate threshold, worst first (ties by name). */
export function shifted(r: DriftReport): SubjectDrift[] {
  return [...r.features, r.score].filter((d) => d.level !== 'stable').sort((a, b) => b.psi - a.psi || (a.name < b.name ? -1 : 1));
}

function isDistribution(v: unknown): v is ReferenceDistribution {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  const nums = (a: unknown): a is number[] => Array.isArray(a) && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!nums(d.edges) || !nums(d.shares) || typeof d.missing_share !== 'number') return false;
  if (d.shares.length !== d.edges.length + 1) return false;
  for (let i = 1; i < d.edges.length; i++) if (!(d.edges[i] > d.edges[i - 1])) return false;
  return true;
}

/** model.json's drift_reference, checked; undefined when absent, a problem phrase when malformed. */
export function referenceOf(meta: Record<string, unknown> | null | undefined): DriftReference | { problem: string } | undefined {
  const raw = meta?.drift_reference;
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object') return { problem: 'drift_reference is not an object' };
  const r = raw as Record<string, unknown>;
  if (r.source !== 'training' && r.source !== 'profile') return { problem: 'drift_reference.source must be training or profile' };
  if (!isDistribution(r.score)) return { problem: 'drift_reference.score is not a distribution (edges, shares, missing_share)' };
  if (typeof r.features !== 'object' || r.features === null) return { problem: 'drift_reference.features must be an object' };
  for (const [k, v] of Object.entries(r.features)) if (!isDistribution(v)) return { problem: `drift_reference.features.${k} is not a distribution` };
  return raw as DriftReference;
}

/** One line saying what reference a model has, for `models list/show` and the API. */
export function referenceSummary(meta: Record<string, unknown> | null | undefined): { source: string; rows: number; from: string | null; to: string | null } | { problem: string } | undefined {
  const r = referenceOf(meta);
  if (r === undefined || 'problem' in r) return r;
  return { source: r.source, rows: r.rows, from: r.from, to: r.to };
}
