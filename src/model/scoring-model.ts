import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { loaderFromConfig } from './loader.js';
import { asScoringModel } from './score.js';

/**
 * What the batch and the server need of a model: its identity and a scoring
 * function over row-major feature rows [n, N_FEATURES].
 */
export interface ScoringModel {
  name: string;
  version: string;
  type: string;
  sha256: string;
  rocAuc?: number;
  /** P(upper circuit) per row, computed in groups of `groupSize` rows per onnxruntime run. */
  score(X: Float32Array, n: number, groupSize?: number): Promise<Float32Array>;
}

/**
 * The model a batch scores with: chosen and loaded by the registry's rule
 * (--model, PREFERRED_MODEL_VERSION, champion, newest; failures fall through),
 * loaded once per run. Throws NO_MODEL (exit 3) when none is usable.
 */
export async function loadScoringModel(cfg: Pick<Config, 'modelsDir' | 'preferredModelVersion'>, o: { explicit?: string; log?: Logger } = {}): Promise<ScoringModel> {
  const loader = loaderFromConfig(cfg, o);
  return asScoringModel(await loader.current());
}
