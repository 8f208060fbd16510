/**
 * The batch's explain stage, after scoring: every scored stock's exact
 * TreeSHAP values (src/model/explain), turned into what the run publishes:
 * the stored explanation (base value, margin, top K drivers) and the drivers
 * the report and the `--explain` CSV show.
 */
import { N_FEATURES } from '../features/definition.js';
import { DriverTable, TOP_K_DRIVERS } from '../output/drivers.js';
import type { ExplanationColumns } from '../predictions/types.js';

/** The engine's answer for n rows: one base value, n × N_FEATURES contributions (row-major) and n margins, in log-odds. */
export interface RowExplanations {
  base: number;
  values: Float64Array;
  margin: Float64Array;
}

export interface RunDrivers {
  /** What the store keeps, in the rows' order (columns: #16, no objects per stock). */
  stored: ExplanationColumns;
  /** Row i's top drivers (row i is `codes[i]`): `table.row(i)` as objects. */
  table: DriverTable;
}

const logit = (p: number): number => Math.log(p / (1 - p));

/**
 * The run's drivers from the explanations of its scored rows (`codes[i]` is
 * row i of `X`). Checks local accuracy against the model's own output first:
 * each row's margin must give the probability onnxruntime returned (to float32
 * precision); a row that does not means the explanation is not of this model,
 * and the run stores none (the returned string says why).
 */
export function runDrivers(codes: readonly string[], X: Float32Array, probs: Float32Array, e: RowExplanations): RunDrivers | string {
  const n = codes.length;
  if (e.values.length !== n * N_FEATURES || e.margin.length !== n) return `the explainer answered ${e.margin.length} rows for ${n}`;
  for (let i = 0; i < n; i++) {
    let sum = e.base;
    for (let j = 0; j < N_FEATURES; j++) sum += e.values[i * N_FEATURES + j];
    const p = probs[i];
    // float32 probabilities: compare in probability space near 0/1, where the logit of a float32 is coarse.
    const ok = Math.abs(sum - e.margin[i]) <= 1e-9 * Math.max(1, Math.abs(e.margin[i])) && Math.abs(1 / (1 + Math.exp(-e.margin[i])) - p) <= 2e-6;
    if (!ok) return `the explanation of ${codes[i]} does not add up to the model's output (margin ${e.margin[i]}, sum ${sum}, logit of p ${logit(p)})`;
  }
  const table = DriverTable.of(e.values, X, n, TOP_K_DRIVERS);
  const stored: ExplanationColumns = { codes, base: e.base, margin: e.margin, k: table.k, feature: table.feature, value: table.value, contribution: table.contribution };
  return { stored, table };
}
