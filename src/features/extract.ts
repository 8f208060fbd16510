/**
 * Feature extraction: one stock's inputs → its 25 raw values (NaN where the
 * data has none), or a skip record. The same function serves the worker pool,
 * the single-threaded path, the server and training.
 */
import { FEATURES, N_FEATURES, FINANCIAL_INDEXES } from './definition.js';
import { financialFeatures, medianInputsFromLatest, N_MEDIAN_INPUTS, type SectorMedians } from './financial.js';
import { RESULTS_PER_STOCK } from '../market/result-rows.js';
import { sentimentFeatures, seasonalityFeatures } from './events.js';
import { technicalFeatures, MIN_SESSIONS } from './indicators.js';
import type { InputReader, StockInputs } from './inputs.js';
import type { ExtractionContext, FeatureBlock, SkipRecord, StockRef } from './types.js';

/** Share of features that may be missing before a stock is skipped. */
export const MAX_MISSING_SHARE = 0.5;

/** Values used for a technical feature whose formula is undefined (a flat or volume-less history). */
const TECHNICAL_NEUTRAL: Partial<Record<(typeof FEATURES)[number]['name'], number>> = {
  rsi_14: 50,
  volatility_contraction: 1,
  volume_dry_up: 1,
};
const TECHNICAL_INDEXES = FEATURES.flatMap((f, i) => (f.family === 'technical' ? [i] : []));

export interface ExtractOutcome {
  /** How many features had no underlying data (before imputation). */
  missing: number;
  skip?: SkipRecord;
}

/**
 * Writes one stock's raw features into out[offset … offset + 25). Financial
 * values stay NaN when missing (imputed later with sector medians); the other
 * families get their documented neutral value and count as missing.
 */
export function extractStock(inputs: StockInputs, ref: StockRef, ctx: ExtractionContext, out: Float32Array | Float64Array, offset: number): ExtractOutcome {
  const { bars } = inputs;
  const code = ref.bse_code;
  const band = ref.circuit_band_pct;
  // No fixed band (NSE 'No Band'): the stock cannot hit a circuit, so there is nothing to predict.
  if (band === null) return { missing: N_FEATURES, skip: { bse_code: code, reason: 'NO_PRICE_BAND', detail: `no fixed price band in force before ${ctx.date}` } };
  if (bars.length === 0) return { missing: N_FEATURES, skip: { bse_code: code, reason: 'NO_PRICE_DATA', detail: `no price bars before ${ctx.date}` } };
  const last = bars.date[bars.length - 1];
  if (last < ctx.recentSince) {
    return { missing: N_FEATURES, skip: { bse_code: code, reason: 'NO_PRICE_DATA', detail: `last bar ${last}, none in the 5 sessions since ${ctx.recentSince}` } };
  }
  if (bars.length < MIN_SESSIONS) {
    return { missing: N_FEATURES, skip: { bse_code: code, reason: 'INSUFFICIENT_HISTORY', detail: `${bars.length} sessions before ${ctx.date}, ${MIN_SESSIONS} needed` } };
  }
  let missing = 0;
  technicalFeatures(bars, band, out, offset);
  for (const i of TECHNICAL_INDEXES) {
    if (!Number.isFinite(out[offset + i])) {
      out[offset + i] = TECHNICAL_NEUTRAL[FEATURES[i].name] ?? 0;
      missing++;
    }
  }
  financialFeatures(inputs.results, ref.market_cap_cr, out, offset);
  for (const i of FINANCIAL_INDEXES) if (!Number.isFinite(out[offset + i])) missing++;
  missing += sentimentFeatures(ctx.date, inputs.newsDates, inputs.newsScores, out, offset);
  missing += seasonalityFeatures(ctx.date, inputs.nextEarnings, inputs.announcements, bars, band, out, offset);
  if (missing > MAX_MISSING_SHARE * N_FEATURES) {
    return { missing, skip: { bse_code: code, reason: 'TOO_MANY_MISSING', detail: `${missing} of ${N_FEATURES} features have no data` } };
  }
  return { missing };
}

/**
 * Extracts many stocks with one reader (one thread's share of the work). With
 * `medianInputs`, also each ref's inputs to the sector medians from the results
 * it read (FeatureBlock.medians), so a full run need not read them again.
 */
export function extractMany(reader: InputReader, refs: readonly StockRef[], ctx: ExtractionContext, medianInputs = false): FeatureBlock {
  const values = new Float32Array(refs.length * N_FEATURES);
  const missing = new Uint8Array(refs.length);
  const codes: string[] = [];
  const lastBar: string[] = [];
  const skips: SkipRecord[] = [];
  const medians = medianInputs ? { inputs: new Float64Array(refs.length * N_MEDIAN_INPUTS).fill(NaN), known: new Uint8Array(refs.length) } : undefined;
  let n = 0;
  for (let k = 0; k < refs.length; k++) {
    const ref = refs[k];
    const inputs = reader.read(ref.bse_code, ctx.date);
    if (medians && medianInputsFromLatest(inputs.results, RESULTS_PER_STOCK, ref.market_cap_cr, medians.inputs, k * N_MEDIAN_INPUTS)) medians.known[k] = 1;
    const off = n * N_FEATURES;
    const r = extractStock(inputs, ref, ctx, values, off);
    if (r.skip) {
      skips.push(r.skip);
      values.fill(0, off, off + N_FEATURES);
      continue;
    }
    codes.push(ref.bse_code);
    lastBar.push(inputs.bars.date[inputs.bars.length - 1]);
    missing[n] = r.missing;
    n++;
  }
  const block: FeatureBlock = { codes, lastBar, values: values.slice(0, n * N_FEATURES), missing: missing.slice(0, n), skips };
  if (medians) block.medians = medians;
  return block;
}

/** Replaces one row's missing financial values with its sector's medians, in place. */
export function imputeRow(values: Float32Array | Float64Array, offset: number, sector: string, medians: SectorMedians): void {
  const med = medians.bySector.get(sector) ?? medians.fallback;
  FINANCIAL_INDEXES.forEach((fi, j) => {
    if (!Number.isFinite(values[offset + fi])) values[offset + fi] = med[j];
  });
}

/**
 * Replaces missing financial values with the sector medians for D, in place.
 * Returns the number of values imputed per row (financial NaNs plus the
 * neutral-filled ones counted at extraction).
 */
export function imputeBlock(block: FeatureBlock, sectorOf: (code: string) => string, medians: SectorMedians): Uint8Array {
  for (let r = 0; r < block.codes.length; r++) imputeRow(block.values, r * N_FEATURES, sectorOf(block.codes[r]), medians);
  return block.missing.slice();
}
