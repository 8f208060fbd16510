/**
 * A prediction's drivers: its strongest SHAP contributions (log-odds), picked
 * from the explanation of its feature row, and how the report, the CSV and
 * the predictions store show them (docs/models.md, "Explanations").
 *
 * Order: |contribution| descending, ties by the feature's position in the
 * feature set. A feature whose contribution is exactly 0 did not move the
 * prediction and is never a driver, so a stock can have fewer than K.
 */
import { FEATURE_NAMES, N_FEATURES } from '../features/definition.js';
import { f32 } from '../util/format.js';

/** Drivers stored per stock in predictions.db (prediction_drivers). */
export const TOP_K_DRIVERS = 5;
/** Drivers named in the report's "Why" column. */
export const REPORT_DRIVERS = 2;
/** Driver columns of the predictions CSV with `--explain`. */
export const CSV_DRIVERS = 3;

/** One driver: a feature, its value as scored (null when missing) and its contribution to the margin (log-odds). */
export interface Driver {
  feature: string;
  value: number | null;
  contribution: number;
}

/**
 * The K strongest contributions of row `i`: `values` and `x` are row-major
 * [n, N_FEATURES] (contributions and the feature rows as scored).
 */
export function topDrivers(values: ArrayLike<number>, x: ArrayLike<number>, i: number, k: number = TOP_K_DRIVERS): Driver[] {
  const idx: number[] = [];
  for (let j = 0; j < N_FEATURES; j++) if (values[i * N_FEATURES + j] !== 0) idx.push(j);
  idx.sort((a, b) => Math.abs(values[i * N_FEATURES + b]) - Math.abs(values[i * N_FEATURES + a]) || a - b);
  return idx.slice(0, k).map((j) => {
    const v = x[i * N_FEATURES + j];
    return { feature: FEATURE_NAMES[j], value: Number.isNaN(v) ? null : f32(v), contribution: values[i * N_FEATURES + j] };
  });
}

/** ↑ when the feature pushes towards an upper circuit (positive contribution), ↓ when away. */
export const arrow = (contribution: number): string => (contribution > 0 ? '↑' : '↓');

/** The report's "why": the strongest drivers in words, `volume_dry_up ↑, days_to_earnings ↓` ('-' when none). */
export function whyText(drivers: readonly Driver[] | undefined, n: number = REPORT_DRIVERS): string {
  const top = (drivers ?? []).slice(0, n);
  return top.length === 0 ? '-' : top.map((d) => `${d.feature} ${arrow(d.contribution)}`).join(', ');
}

/** A contribution as text: sign always shown, 4 decimals (`+0.4123`, `-0.0871`). */
export const signed = (c: number, digits = 4): string => `${c >= 0 ? '+' : '-'}${Math.abs(c).toFixed(digits)}`;

/** A CSV driver cell: `feature=value (±contribution)`, e.g. `volume_dry_up=0.21 (+0.4123)`; '' when there is no such driver. */
export function driverCell(d: Driver | undefined): string {
  if (!d) return '';
  return `${d.feature}=${d.value === null ? 'NaN' : String(d.value)} (${signed(d.contribution)})`;
}
