import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { loaderFromConfig } from './loader.js';
import { asScoringModel } from './score.js';
import type { ScoringModel } from './types.js';

/**
 * The model a batch scores with: chosen and loaded by the registry's rule
 * (--model, PREFERRED_MODEL_VERSION, champion, newest; failures fall through),
 * and verified once. Its `release()` closes the loader and every session it
 * opened. Throws NO_MODEL (exit 3) when none is usable.
 */
export async function loadScoringModel(cfg: Pick<Config, 'modelsDir' | 'preferredModelVersion'>, o: { explicit?: string; log?: Logger } = {}): Promise<ScoringModel> {
  const loader = loaderFromConfig(cfg, o);
  try {
    return asScoringModel(await loader.current(), () => loader.close());
  } catch (e) {
    await loader.close();
    throw e;
  }
}
