/**
 * The prediction rule: a model's probability → the stored probability (6
 * decimals), the label and the confidence. The batch, the server and the
 * report all call `predictionOf`; label and confidence are decided on the
 * rounded probability, so what is stored always agrees with what is shown.
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

/** Probabilities are stored and shown with 6 decimals everywhere (DB, CSV, API). */
export const roundProbability = (p: number): number => Math.round(p * 1e6) / 1e6;

export interface PredictionOutcome {
  probability: number;
  label: 0 | 1;
  confidence: Confidence;
}

/** The one rule from a model's P(upper circuit) to what stockflow stores and shows. */
export function predictionOf(p: number): PredictionOutcome {
  const probability = roundProbability(p);
  return { probability, label: labelOf(probability), confidence: confidenceOf(probability) };
}
