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
 * The positions of the K strongest non-zero contributions of the row at offset `o` of `values`, strongest
 * first, ties by the feature's position (the order above), written to `out` (room for k); returns how many
 * (fewer than k when fewer are non-zero). Features come in feature order, so one that only ties with those
 * kept goes after them, and a full list takes only a stronger one. topDrivers and DriverTable both pick
 * with it.
 */
function strongest(values: ArrayLike<number>, o: number, k: number, out: Int32Array): number {
  if (k <= 0) return 0;
  let m = 0;
  for (let j = 0; j < N_FEATURES; j++) {
    const c = values[o + j];
    if (c === 0) continue;
    const a = Math.abs(c);
    if (m === k) {
      if (!(a > Math.abs(values[o + out[k - 1]]))) continue;
      m--; // the weakest kept makes room
    }
    let b = m - 1;
    while (b >= 0 && Math.abs(values[o + out[b]]) < a) {
      out[b + 1] = out[b];
      b--;
    }
    out[b + 1] = j;
    m++;
  }
  return m;
}

/**
 * The K strongest contributions of row `i`: `values` and `x` are row-major
 * [n, N_FEATURES] (contributions and the feature rows as scored).
 */
export function topDrivers(values: ArrayLike<number>, x: ArrayLike<number>, i: number, k: number = TOP_K_DRIVERS): Driver[] {
  const o = i * N_FEATURES;
  const top = new Int32Array(Math.max(0, k));
  const m = strongest(values, o, k, top);
  const out: Driver[] = [];
  for (let r = 0; r < m; r++) {
    const j = top[r];
    const v = x[o + j];
    out.push({ feature: FEATURE_NAMES[j], value: Number.isNaN(v) ? null : f32(v), contribution: values[o + j] });
  }
  return out;
}

/**
 * Every row's top K drivers in columns (the batch's, #16): per slot i × k + r
 * (row i's r-th strongest) the feature's position in the feature set (−1 past
 * the row's last driver), its value as scored (the f32 value topDrivers gives;
 * NaN when missing) and its contribution. The same choice and order as
 * topDrivers (the same `strongest`), without 5 objects per stock (550,000 at 110,000 stocks).
 */
export class DriverTable {
  readonly feature: Int8Array;
  readonly value: Float64Array;
  readonly contribution: Float64Array;

  private constructor(
    readonly n: number,
    readonly k: number,
  ) {
    this.feature = new Int8Array(n * k).fill(-1);
    this.value = new Float64Array(n * k);
    this.contribution = new Float64Array(n * k);
  }

  /** The K strongest contributions of each of `n` rows: `values` and `x` are row-major [n, N_FEATURES] (as topDrivers). */
  static of(values: ArrayLike<number>, x: ArrayLike<number>, n: number, k: number = TOP_K_DRIVERS): DriverTable {
    const t = new DriverTable(n, k);
    const top = new Int32Array(Math.max(0, k));
    for (let i = 0; i < n; i++) {
      const o = i * N_FEATURES;
      const m = strongest(values, o, k, top);
      for (let r = 0; r < m; r++) {
        const j = top[r];
        const v = x[o + j];
        t.feature[i * k + r] = j;
        t.value[i * k + r] = Number.isNaN(v) ? Number.NaN : f32(v);
        t.contribution[i * k + r] = values[o + j];
      }
    }
    return t;
  }

  /** Row i's drivers as objects, strongest first. */
  row(i: number): Driver[] {
    const out: Driver[] = [];
    for (let r = 0; r < this.k; r++) {
      const f = this.feature[i * this.k + r];
      if (f < 0) break;
      const v = this.value[i * this.k + r];
      out.push({ feature: FEATURE_NAMES[f], value: Number.isNaN(v) ? null : v, contribution: this.contribution[i * this.k + r] });
    }
    return out;
  }
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
