/**
 * Every chart of the HTML report and the dashboard, as Vega-Lite specs: one
 * definition, drawn to SVG in Node for the report (./svg.ts) and in the
 * browser by the dashboard (web/). Pure data in, spec out: no Node or DOM
 * import here, so esbuild bundles this same file into the dashboard.
 */
import type { TopLevelSpec } from 'vega-lite';

/** The decision threshold and the confidence bands' edges (src/model/confidence.ts). */
export const DECISION_THRESHOLD = 0.5;
export const CONFIDENCE_EDGES = [0.3, 0.45, 0.55, 0.7] as const;

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: { font: FONT, view: { stroke: null } }, background: 'white' } as const;

/** Width of a histogram bin. */
export const HISTOGRAM_STEP = 0.05;

/**
 * Probabilities counted in bins of 0.05 over [0, 1] ([lower, upper), the last one including 1), non-empty bins
 * only. Counted here, not by Vega, so that the chart's data is 20 rows whatever the number of stocks.
 * Probabilities are stored to 6 decimals, so they are binned in millionths: exact at the edges.
 */
export function histogramBins(probabilities: readonly number[]): { start: number; end: number; count: number }[] {
  const bins = Math.round(1 / HISTOGRAM_STEP);
  const width = Math.round(HISTOGRAM_STEP * 1e6);
  const counts = new Array<number>(bins).fill(0);
  for (const p of probabilities) counts[Math.min(bins - 1, Math.max(0, Math.floor(Math.round(p * 1e6) / width)))]++;
  return counts.flatMap((count, b) => (count > 0 ? [{ start: Math.round(b * width) / 1e6, end: Math.round((b + 1) * width) / 1e6, count }] : []));
}

/** A histogram of probabilities (bins of 0.05 over [0, 1]) with 0.5 and the confidence edges marked. */
export function histogramSpec(probabilities: readonly number[], o: { width?: number } = {}): TopLevelSpec {
  const rules = [
    { x: DECISION_THRESHOLD, what: 'decision 0.5' },
    ...CONFIDENCE_EDGES.map((x) => ({ x, what: `confidence edge ${x}` })),
  ];
  return {
    ...base,
    width: o.width ?? 560,
    height: 180,
    layer: [
      {
        data: { values: histogramBins(probabilities) },
        mark: { type: 'bar', color: '#4c78a8' },
        encoding: {
          x: { field: 'start', type: 'quantitative', bin: { binned: true, step: HISTOGRAM_STEP }, scale: { domain: [0, 1] }, title: 'probability' },
          x2: { field: 'end' },
          y: { field: 'count', type: 'quantitative', title: 'stocks' },
        },
      },
      {
        data: { values: rules },
        mark: { type: 'rule', strokeDash: [4, 3] },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          color: {
            condition: { test: `datum.x === ${DECISION_THRESHOLD}`, value: '#d62728' },
            value: '#888',
          },
          size: { condition: { test: `datum.x === ${DECISION_THRESHOLD}`, value: 2 }, value: 1 },
        },
      },
    ],
  } as TopLevelSpec;
}

export interface ScorecardPoint {
  date: string;
  /** Share of the date's top 20 that hit. */
  precision: number;
  /** Share of all the date's scored stocks that hit. */
  base_rate: number;
}

/** Top-20 precision against the base rate, date by date. */
export function scorecardSpec(points: readonly ScorecardPoint[], o: { width?: number } = {}): TopLevelSpec {
  const values = points.flatMap((p) => [
    { date: p.date, series: 'top-20 hit rate', value: p.precision },
    { date: p.date, series: 'base rate', value: p.base_rate },
  ]);
  return {
    ...base,
    width: o.width ?? 560,
    height: 180,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'date', type: 'ordinal', title: 'prediction date', axis: { labelAngle: -40 } },
      y: { field: 'value', type: 'quantitative', title: 'share that hit', axis: { format: '.0%' } },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['top-20 hit rate', 'base rate'], range: ['#4c78a8', '#f58518'] }, legend: { orient: 'top' } },
    },
  } as TopLevelSpec;
}

export interface CalibrationPoint {
  mean_predicted: number;
  observed: number;
  rows: number;
}

/** Predicted against observed per probability bin, with the diagonal of perfect calibration. */
export function calibrationSpec(points: readonly CalibrationPoint[], o: { width?: number } = {}): TopLevelSpec {
  const side = o.width ?? 260;
  return {
    ...base,
    width: side,
    height: side,
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: 'line', color: '#bbb', strokeDash: [4, 3] },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { domain: [0, 1] }, title: 'mean predicted probability' },
          y: { field: 'y', type: 'quantitative', scale: { domain: [0, 1] }, title: 'observed hit rate' },
        },
      },
      {
        data: { values: points.map((p) => ({ ...p })) },
        mark: { type: 'line', color: '#4c78a8', strokeWidth: 2 },
        encoding: {
          x: { field: 'mean_predicted', type: 'quantitative' },
          y: { field: 'observed', type: 'quantitative' },
        },
      },
      {
        data: { values: points.map((p) => ({ ...p })) },
        mark: { type: 'circle', color: '#4c78a8', opacity: 0.9 },
        encoding: {
          x: { field: 'mean_predicted', type: 'quantitative' },
          y: { field: 'observed', type: 'quantitative' },
          size: { field: 'rows', type: 'quantitative', scale: { range: [30, 300] }, title: 'predictions', legend: { orient: 'bottom' } },
        },
      },
    ],
  } as TopLevelSpec;
}

export interface PricePoint {
  date: string;
  close: number;
  sma50: number | null;
  sma200: number | null;
  upper_circuit: boolean;
}

/** Closes with the 50- and 200-session averages, and the upper-circuit days marked. */
export function priceSpec(points: readonly PricePoint[], o: { width?: number } = {}): TopLevelSpec {
  const lines = points.flatMap((p) => [
    { date: p.date, series: 'close', value: p.close },
    ...(p.sma50 === null ? [] : [{ date: p.date, series: '50-session average', value: p.sma50 }]),
    ...(p.sma200 === null ? [] : [{ date: p.date, series: '200-session average', value: p.sma200 }]),
  ]);
  const hits = points.filter((p) => p.upper_circuit).map((p) => ({ date: p.date, value: p.close, series: 'upper circuit' }));
  return {
    ...base,
    width: o.width ?? 560,
    height: 220,
    layer: [
      {
        data: { values: lines },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x: { field: 'date', type: 'temporal', title: null },
          y: { field: 'value', type: 'quantitative', title: 'price', scale: { zero: false } },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: { domain: ['close', '50-session average', '200-session average', 'upper circuit'], range: ['#4c78a8', '#f58518', '#54a24b', '#d62728'] },
            legend: { orient: 'top' },
          },
        },
      },
      {
        data: { values: hits },
        mark: { type: 'point', shape: 'triangle-up', filled: true, size: 60 },
        encoding: {
          x: { field: 'date', type: 'temporal' },
          y: { field: 'value', type: 'quantitative' },
          color: { field: 'series', type: 'nominal' },
        },
      },
    ],
  } as TopLevelSpec;
}

export interface WaterfallStep {
  label: string;
  /** Where the bar starts and ends on the log-odds axis. */
  start: number;
  end: number;
  kind: 'base' | 'up' | 'down' | 'total';
}

/**
 * The steps from the base value to the margin (log-odds): the base, each
 * contribution in the order given, then the margin. `contributions` of
 * features not listed are summed into "other features" when they are not 0.
 */
export function waterfallSteps(baseValue: number, margin: number, contributions: readonly { feature: string; contribution: number }[]): WaterfallStep[] {
  const steps: WaterfallStep[] = [{ label: 'base value', start: 0, end: baseValue, kind: 'base' }];
  let at = baseValue;
  for (const c of contributions) {
    steps.push({ label: c.feature, start: at, end: at + c.contribution, kind: c.contribution >= 0 ? 'up' : 'down' });
    at += c.contribution;
  }
  const rest = margin - at;
  if (Math.abs(rest) > 1e-9) steps.push({ label: 'other features', start: at, end: margin, kind: rest >= 0 ? 'up' : 'down' });
  steps.push({ label: 'margin (log-odds)', start: 0, end: margin, kind: 'total' });
  return steps;
}

/** A horizontal waterfall of waterfallSteps. */
export function waterfallSpec(steps: readonly WaterfallStep[], o: { width?: number } = {}): TopLevelSpec {
  return {
    ...base,
    width: o.width ?? 520,
    height: { step: 22 },
    data: { values: steps.map((s, i) => ({ ...s, order: i })) },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: { field: 'order' }, title: null },
      x: { field: 'start', type: 'quantitative', title: 'log-odds' },
      x2: { field: 'end' },
      color: {
        field: 'kind',
        type: 'nominal',
        title: null,
        scale: { domain: ['base', 'up', 'down', 'total'], range: ['#999', '#d62728', '#1f77b4', '#4c78a8'] },
        legend: { orient: 'top', labelExpr: "{base: 'base value', up: 'towards a circuit', down: 'away', total: 'margin'}[datum.label]" },
      },
    },
  } as TopLevelSpec;
}
