/**
 * Explanations in the API: `include_shap` on /predict and /batch_predict, and
 * `?explain=1` on GET /predictions/{code}. The explainer is the loaded model's
 * (built once per loaded model and kept with it, src/model/explainers.ts), so
 * a hot reload brings a new one. A model without node covers of its own is
 * explained with covers from a background sample: the feature rows the batch
 * stored for the latest prediction date in predictions.db, taken when the
 * model's explainer is first built.
 */
import { FEATURE_NAMES, N_FEATURES } from '../../features/definition.js';
import type { LoadedModel } from '../../model/loader.js';
import { ExplanationUnavailable, explainerOf } from '../../model/explainers.js';
import type { Explanation } from '../../model/explain/index.js';
import { ApiError } from '../errors.js';
import type { ShapValuesT } from '../schemas.js';
import type { ServerSources } from './sources.js';

export interface ShapFields {
  shap_values: ShapValuesT;
  base_value: number;
  margin: number;
}

/** The explanation of rows X [n, N_FEATURES] by `model`; 422 EXPLANATION_UNAVAILABLE when the model cannot be explained. */
export function explainRows(s: ServerSources, model: LoadedModel, X: Float32Array, n: number, bseCode?: string): Explanation {
  try {
    return explainerOf(model, () => s.predictions.backgroundRows()).explain(X, n);
  } catch (e) {
    if (e instanceof ExplanationUnavailable) throw new ApiError('EXPLANATION_UNAVAILABLE', `${e.message} (model ${model.ref})`, { bseCode });
    throw e;
  }
}

/** Row i of an explanation as the API's fields: feature → contribution, base value, margin (all log-odds). */
export function shapFields(e: Explanation, i: number): ShapFields {
  const shap: Record<string, number> = {};
  for (let j = 0; j < N_FEATURES; j++) shap[FEATURE_NAMES[j]] = e.values[i * N_FEATURES + j];
  return { shap_values: shap as ShapValuesT, base_value: e.base, margin: e.margin[i] };
}
