/**
 * Stage 3b, rank: probabilities → labels, confidence, and the ranked list
 * (probability descending, ties by BSE code so the order is deterministic).
 */
import { predictionOf } from '../model/confidence.js';
import type { Stock } from '../market/types.js';
import type { Prediction } from '../output/types.js';

export function rank(codes: readonly string[], probs: Float32Array, stocks: ReadonlyMap<string, Stock>): Prediction[] {
  const out: Prediction[] = codes.map((code, i) => {
    const s = stocks.get(code);
    return {
      bse_code: code,
      nse_symbol: s?.nse_symbol ?? null,
      company_name: s?.company_name ?? '',
      market_cap_cr: s?.market_cap_cr ?? null,
      ...predictionOf(probs[i]),
    };
  });
  return out.sort((a, b) => b.probability - a.probability || (a.bse_code < b.bse_code ? -1 : a.bse_code > b.bse_code ? 1 : 0));
}
