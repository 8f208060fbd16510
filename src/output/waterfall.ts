/**
 * `stockflow explain`'s text: the waterfall of one prediction. The base value,
 * then every feature (its value as scored and its contribution, as a signed
 * bar), strongest first, then the margin and the probability.
 *
 * All in log-odds: base + Σ contributions = margin, p = sigmoid(margin).
 */
import { FEATURE_NAMES, N_FEATURES } from '../features/definition.js';
import { f32 } from '../util/format.js';
import { signed } from './drivers.js';

/** Bar cells on each side of the axis for the largest |contribution|. */
export const BAR_WIDTH = 20;

export interface WaterfallInput {
  bse_code: string;
  nse_symbol: string | null;
  company_name: string | null;
  date: string;
  asOf: string;
  /** Where the feature row came from: the batch's stored row, or computed now. */
  featureSource: 'store' | 'computed';
  model: { name: string; version: string; type: string };
  /** How the explainer knows the training distribution (node covers recorded with the model, a background sample…). */
  basis?: string;
  base: number;
  /** The row's N_FEATURES contributions and feature values, in feature-set order. */
  values: ArrayLike<number>;
  x: ArrayLike<number>;
  margin: number;
  /** The model's own probability (onnxruntime), shown beside sigmoid(margin). */
  probability: number;
}

/** A signed bar: `len` cells left of the axis for a negative contribution, right of it for a positive one. */
export function bar(c: number, max: number, width: number = BAR_WIDTH): string {
  const len = max > 0 ? Math.round((Math.abs(c) / max) * width) : 0;
  const left = c < 0 ? `${' '.repeat(width - len)}${'█'.repeat(len)}` : ' '.repeat(width);
  const right = c > 0 ? '█'.repeat(len).padEnd(width) : ' '.repeat(width);
  return `${left}|${right}`.trimEnd();
}

const num = (v: number, digits = 6): string => (v < 0 ? v.toFixed(digits) : ` ${v.toFixed(digits)}`);

export function renderWaterfall(w: WaterfallInput): string {
  const order = Array.from({ length: N_FEATURES }, (_, j) => j).sort((a, b) => Math.abs(w.values[b]) - Math.abs(w.values[a]) || a - b);
  const max = Math.max(0, ...order.map((j) => Math.abs(w.values[j])));
  let sum = 0;
  for (let j = 0; j < N_FEATURES; j++) sum += w.values[j];
  const name = [w.nse_symbol, w.company_name].filter((s) => s !== null && s !== '').join(', ');
  const nameW = Math.max(...FEATURE_NAMES.map((n) => n.length));
  const lines = [
    `${w.bse_code}${name ? ` (${name})` : ''} on ${w.date}: model ${w.model.name}/${w.model.version} (${w.model.type})`,
    `features as of ${w.asOf} (${w.featureSource === 'store' ? "the batch's stored row" : 'computed now'})${w.basis ? `; ${w.basis}` : ''}`,
    'SHAP values in log-odds: base value + the contributions = margin; probability = sigmoid(margin)',
    '',
    `${'base value'.padEnd(nameW)}  ${''.padStart(12)}  ${num(w.base)}`,
    `${'feature'.padEnd(nameW)}  ${'value'.padStart(12)}  ${'contribution'.padStart(10)}`,
  ];
  for (const j of order) {
    const v = w.x[j];
    const value = Number.isNaN(v) ? 'NaN' : String(f32(v));
    lines.push(`${FEATURE_NAMES[j].padEnd(nameW)}  ${value.padStart(12)}  ${signed(w.values[j], 6).padStart(10)}  ${bar(w.values[j], max)}`);
  }
  lines.push(
    '',
    `${'sum of contributions'.padEnd(nameW)}  ${''.padStart(12)}  ${num(sum)}`,
    `${'margin'.padEnd(nameW)}  ${''.padStart(12)}  ${num(w.margin)}`,
    `${'probability'.padEnd(nameW)}  ${''.padStart(12)}  ${num(1 / (1 + Math.exp(-w.margin)))}  (sigmoid of the margin; the model gives ${w.probability.toFixed(6)})`,
  );
  return `${lines.join('\n')}\n`;
}
