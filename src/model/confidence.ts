/**
 * The one confidence rule and the one label rule; the batch, the server and
 * the report all call these.
 *
 * - `LOW`    when 0.45 ≤ p < 0.55 (close to the 0.5 decision threshold)
 * - `HIGH`   when p ≥ 0.7 or p ≤ 0.3
 * - `MEDIUM` otherwise (0.3 < p < 0.45 or 0.55 ≤ p < 0.7)
 */
export type Confidence = 'HIGH' | 'MEDIUM' | 'LOW';

export const CONFIDENCE_LEVELS: readonly Confidence[] = ['HIGH', 'MEDIUM', 'LOW'];

export function confidenceOf(p: number): Confidence {
  if (p >= 0.45 && p < 0.55) return 'LOW';
  if (p >= 0.7 || p <= 0.3) return 'HIGH';
  return 'MEDIUM';
}

/** 1 (predicted upper circuit) when p ≥ 0.5, else 0. */
export function labelOf(p: number): 0 | 1 {
  return p >= 0.5 ? 1 : 0;
}
