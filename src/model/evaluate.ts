/**
 * How stored predictions did against their realised outcomes (issue 14):
 * `stockflow evaluate`, the report's scorecard and GET /api/v1/performance
 * all compute their figures here, from rows the predictions store reads
 * (prediction_outcomes joined with daily_predictions). README "Evaluating
 * the model" says what each figure means.
 *
 * Definitions:
 * - ROC-AUC, PR-AUC (average precision), log loss: src/model/train/metrics.ts, pooled over every row.
 * - Brier score: mean (p − outcome)², pooled.
 * - Base rate: the share of rows whose stock hit its upper circuit.
 * - Top K of a date: its first K predictions in the ranking order (probability
 *   descending, then bse_code): the list the report and the CSV show.
 *   precision@K = mean over dates of (hits in the date's top K ÷ min(K, rows of the date));
 *   hits@K = the hits in the top K summed over dates (picks@K the stocks listed).
 * - Hit rate by confidence: per (predicted label, confidence) group, the share that hit.
 * - Calibration: 10 equal-width probability bins (calibrationTable).
 */
import { CALIBRATION_BINS, brierScore, calibrationTable, logLoss, prAuc, rocAuc, type CalibrationBin } from './train/metrics.js';

/** One stored prediction and its outcome (the predictions store's OutcomeRow has this shape). */
export interface ScoredOutcome {
  model_version: string;
  prediction_date: string;
  bse_code: string;
  probability: number;
  predicted_label: 0 | 1;
  confidence: string;
  hit: 0 | 1;
}

export const TOP_KS = [10, 20, 100] as const;

export interface AtK {
  k: number;
  /** Mean over dates of the share of the date's top K that hit (null without dates). */
  precision: number | null;
  /** Hits in the top K, summed over dates. */
  hits: number;
  /** Stocks in the top K, summed over dates (K per date, fewer on a date with fewer rows). */
  picks: number;
}

export interface ConfidenceGroup {
  predicted_label: 0 | 1;
  confidence: string;
  rows: number;
  hits: number;
  hit_rate: number;
}

/** The figures computed over a set of judged rows: one date's, or a whole range's. */
export interface Figures {
  rows: number;
  hits: number;
  base_rate: number;
  /** Null when every row has the same outcome (undefined for one class). */
  roc_auc: number | null;
  /** Null without any hit. */
  pr_auc: number | null;
  brier: number;
  log_loss: number;
  at_k: AtK[];
}

export interface DateFigures extends Figures {
  date: string;
}

export interface Evaluation extends Figures {
  model_version: string;
  from: string;
  to: string;
  dates: number;
  by_confidence: ConfidenceGroup[];
  calibration: CalibrationBin[];
  by_date?: DateFigures[];
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** The ranking order of one date's rows: probability descending, then bse_code. */
function ranked<T extends ScoredOutcome>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => b.probability - a.probability || (a.bse_code < b.bse_code ? -1 : a.bse_code > b.bse_code ? 1 : 0));
}

/** Hits among the first k of a date's rows already in ranking order. */
function hitsInRankedTop(rows: readonly ScoredOutcome[], k: number): { hits: number; picks: number } {
  const picks = Math.min(k, rows.length);
  let hits = 0;
  for (let i = 0; i < picks; i++) hits += rows[i].hit;
  return { hits, picks };
}

/** Hits among the first k of a date's ranking. */
export function hitsInTop(rows: readonly ScoredOutcome[], k: number): { hits: number; picks: number } {
  return hitsInRankedTop(ranked(rows), k);
}

/** Rows by date (dates in order), each date's rows in ranking order. */
function groupByDate<T extends ScoredOutcome>(rows: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    let g = m.get(r.prediction_date);
    if (!g) m.set(r.prediction_date, (g = []));
    g.push(r);
  }
  return new Map([...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([d, g]) => [d, ranked(g)]));
}

/** precision@K and hits@K over dates whose rows are in ranking order (groupByDate). */
function atK(byDate: Map<string, ScoredOutcome[]>, ks: readonly number[]): AtK[] {
  return ks.map((k) => {
    let hits = 0;
    let picks = 0;
    let sum = 0;
    for (const rows of byDate.values()) {
      const t = hitsInRankedTop(rows, k);
      hits += t.hits;
      picks += t.picks;
      sum += t.picks > 0 ? t.hits / t.picks : 0;
    }
    return { k, precision: byDate.size > 0 ? sum / byDate.size : null, hits, picks };
  });
}

function pooled(rows: readonly ScoredOutcome[]): { y: Uint8Array; p: Float64Array; hits: number } {
  const y = Uint8Array.from(rows, (r) => r.hit);
  const p = Float64Array.from(rows, (r) => r.probability);
  return { y, p, hits: y.reduce((a, v) => a + v, 0) };
}

const LEVEL_ORDER = ['HIGH', 'MEDIUM', 'LOW'];

/**
 * One model version's figures, accumulated a date at a time (so that a year of
 * predictions is never held as row objects at once): the pooled labels and
 * probabilities in typed arrays, the per-date top-K counts, the confidence groups.
 */
class Accumulator {
  private y = new Uint8Array(1024);
  private p = new Float64Array(1024);
  private n = 0;
  private hits = 0;
  private readonly dates: string[] = [];
  private readonly kSums: { hits: number; picks: number; precision: number }[];
  private readonly groups = new Map<string, ConfidenceGroup>();
  private readonly byDate: DateFigures[] = [];

  constructor(
    private readonly version: string,
    private readonly ks: readonly number[],
    private readonly keepByDate: boolean,
  ) {
    this.kSums = ks.map(() => ({ hits: 0, picks: 0, precision: 0 }));
  }

  /** One date's rows (any order). */
  add(date: string, rows: readonly ScoredOutcome[]): void {
    if (rows.length === 0) return;
    const r = ranked(rows);
    this.dates.push(date);
    if (this.n + r.length > this.y.length) {
      const cap = Math.max(this.n + r.length, 2 * this.y.length);
      const y = new Uint8Array(cap);
      y.set(this.y.subarray(0, this.n));
      const p = new Float64Array(cap);
      p.set(this.p.subarray(0, this.n));
      this.y = y;
      this.p = p;
    }
    for (const row of r) {
      this.y[this.n] = row.hit;
      this.p[this.n] = row.probability;
      this.n++;
      this.hits += row.hit;
      const key = `${row.predicted_label}:${row.confidence}`;
      let g = this.groups.get(key);
      if (!g) this.groups.set(key, (g = { predicted_label: row.predicted_label, confidence: row.confidence, rows: 0, hits: 0, hit_rate: 0 }));
      g.rows++;
      g.hits += row.hit;
    }
    const atKs = this.ks.map((k, j) => {
      const t = hitsInRankedTop(r, k);
      const s = this.kSums[j];
      s.hits += t.hits;
      s.picks += t.picks;
      s.precision += t.hits / t.picks;
      return { k, precision: t.hits / t.picks, hits: t.hits, picks: t.picks };
    });
    if (this.keepByDate) {
      const d = pooled(r);
      this.byDate.push({
        date,
        rows: r.length,
        hits: d.hits,
        base_rate: d.hits / r.length,
        roc_auc: finite(rocAuc(d.y, d.p)),
        pr_auc: finite(prAuc(d.y, d.p)),
        brier: brierScore(d.y, d.p),
        log_loss: logLoss(d.y, d.p),
        at_k: atKs,
      });
    }
  }

  finish(): Evaluation {
    if (this.n === 0) throw new RangeError('evaluate: no rows');
    const y = this.y.subarray(0, this.n);
    const p = this.p.subarray(0, this.n);
    const sorted = [...this.dates].sort();
    const e: Evaluation = {
      model_version: this.version,
      from: sorted[0],
      to: sorted[sorted.length - 1],
      dates: this.dates.length,
      rows: this.n,
      hits: this.hits,
      base_rate: this.hits / this.n,
      roc_auc: finite(rocAuc(y, p)),
      pr_auc: finite(prAuc(y, p)),
      brier: brierScore(y, p),
      log_loss: logLoss(y, p),
      at_k: this.ks.map((k, j) => ({ k, precision: this.kSums[j].precision / this.dates.length, hits: this.kSums[j].hits, picks: this.kSums[j].picks })),
      by_confidence: [...this.groups.values()]
        .map((g) => ({ ...g, hit_rate: g.hits / g.rows }))
        .sort((a, b) => b.predicted_label - a.predicted_label || LEVEL_ORDER.indexOf(a.confidence) - LEVEL_ORDER.indexOf(b.confidence)),
      calibration: calibrationTable(y, p, CALIBRATION_BINS),
    };
    if (this.keepByDate) e.by_date = [...this.byDate].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
    return e;
  }
}

/** Every figure for one model version's rows (all of one version). Throws on no rows. */
export function evaluateRows(rows: readonly ScoredOutcome[], o: { byDate?: boolean; ks?: readonly number[] } = {}): Evaluation {
  if (rows.length === 0) throw new RangeError('evaluateRows: no rows');
  const acc = new Accumulator(rows[0].model_version, o.ks ?? TOP_KS, o.byDate === true);
  for (const [date, dr] of groupByDate(rows)) acc.add(date, dr);
  return acc.finish();
}

/** evaluateRows per model version (rows of several versions), versions in sorted order. */
export function evaluateByModel(rows: readonly ScoredOutcome[], o: { byDate?: boolean } = {}): Evaluation[] {
  const m = new Map<string, ScoredOutcome[]>();
  for (const r of rows) {
    let g = m.get(r.model_version);
    if (!g) m.set(r.model_version, (g = []));
    g.push(r);
  }
  return [...m.keys()].sort().map((v) => evaluateRows(m.get(v)!, o));
}

/** What `stockflow evaluate` reads (the predictions store has these methods). */
export interface EvaluationSource {
  outcomeDates(f: { from?: string; to?: string; modelVersion?: string }): { model_version: string; prediction_date: string }[];
  outcomesOfDate(modelVersion: string, date: string): ScoredOutcome[];
}

/** evaluateByModel over a store's outcomes, read one (model, date) at a time; [] when none is in the range. */
export function evaluateSource(src: EvaluationSource, f: { from?: string; to?: string; modelVersion?: string }, o: { byDate?: boolean } = {}): Evaluation[] {
  const out: Evaluation[] = [];
  let acc: Accumulator | undefined;
  let version: string | undefined;
  for (const { model_version, prediction_date } of src.outcomeDates(f)) {
    if (model_version !== version) {
      if (acc) out.push(acc.finish());
      acc = new Accumulator(model_version, TOP_KS, o.byDate === true);
      version = model_version;
    }
    acc!.add(prediction_date, src.outcomesOfDate(model_version, prediction_date));
  }
  if (acc) out.push(acc.finish());
  return out;
}

/** The number of stocks the scorecard judges, and the number of dates its rolling precision covers. */
export const SCORECARD_TOP = 20;
export const SCORECARD_WINDOW = 20;

/** The morning scorecard (README "The scorecard"). */
export interface Scorecard {
  /** The latest prediction date whose outcomes are known. */
  date: string;
  model_version: string;
  /** Stocks in that date's top 20 (20, or fewer on a date with fewer rows), and how many hit their upper circuit. */
  top: number;
  top_hits: number;
  /** top_hits ÷ top. */
  top_precision: number;
  /** The date's base rate: the share of all its scored stocks that hit. */
  base_rate: number;
  /** Stocks scored that date. */
  rows: number;
  /** Mean precision@20 over the model's latest `window_dates` dates with known outcomes (up to 20). */
  rolling_precision: number;
  window_dates: number;
  /** First and last date of the window. */
  window_from: string;
  window_to: string;
}

/**
 * The scorecard from one model version's rows of its latest dates with known
 * outcomes (the latest date among them is the one judged). Each date's top 20
 * is enough; `judged` gives the judged date's count of rows and hits when
 * `rows` holds only its top (else they are counted from `rows`). Undefined without rows.
 */
export function scorecardOf(rows: readonly ScoredOutcome[], judged?: { rows: number; hits: number }): Scorecard | undefined {
  if (rows.length === 0) return undefined;
  const byDate = groupByDate(rows);
  const dates = [...byDate.keys()];
  const date = dates[dates.length - 1];
  const day = byDate.get(date)!;
  const t = hitsInRankedTop(day, SCORECARD_TOP);
  const counts = judged ?? { rows: day.length, hits: day.reduce((a, r) => a + r.hit, 0) };
  const rolling = atK(byDate, [SCORECARD_TOP])[0];
  return {
    date,
    model_version: rows[0].model_version,
    top: t.picks,
    top_hits: t.hits,
    top_precision: t.picks > 0 ? t.hits / t.picks : 0,
    base_rate: counts.rows > 0 ? counts.hits / counts.rows : 0,
    rows: counts.rows,
    rolling_precision: rolling.precision ?? 0,
    window_dates: dates.length,
    window_from: dates[0],
    window_to: date,
  };
}

/** What the scorecard reads (the predictions store has these methods; declared here so that src/model imports no store). */
export interface ScorecardSource {
  snapshot<T>(fn: () => T): T;
  scorecardScope(window: number): { date: string; modelVersion: string; dates: string[] } | undefined;
  /** The first k of a date's ranking (probability descending, bse_code) with their outcomes. */
  topOutcomes(date: string, modelVersion: string, k: number): ScoredOutcome[];
  /** A date's number of judged predictions and of hits. */
  outcomeCounts(date: string, modelVersion: string): { rows: number; hits: number };
}

/** The scorecard over a store's outcomes (its latest judged date and that model's last SCORECARD_WINDOW dates), or undefined when none is known. */
export function readScorecard(store: ScorecardSource): Scorecard | undefined {
  return store.snapshot(() => {
    const scope = store.scorecardScope(SCORECARD_WINDOW);
    if (!scope || scope.dates.length === 0) return undefined;
    // Only each date's top 20 is read (the index on date and probability), and the judged date's two counts.
    const rows = scope.dates.flatMap((d) => store.topOutcomes(d, scope.modelVersion, SCORECARD_TOP));
    return scorecardOf(rows, store.outcomeCounts(scope.date, scope.modelVersion));
  });
}
