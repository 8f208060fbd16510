/**
 * An explainer for a registered model version: reads its model.onnx, checks
 * the bytes against the sha256 its model.json records (the same bytes the
 * scorer's session was opened from) and the feature count, then builds the
 * explainer. Kept apart from ./index.ts so the engine itself does no I/O.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_FILE, type ModelMeta } from '../metadata.js';
import { sha256Hex, versionDir } from '../registry.js';
import { ModelInvalidError } from '../errors.js';
import { explainerFromOnnx, type Explainer, type ExplainerOptions } from './index.js';

/**
 * Throws ModelInvalidError when model.onnx cannot be read or does not match
 * `meta.sha256` / `meta.n_features`, ExplanationUnavailable when the model has
 * no explainer (see explainer()).
 */
export async function explainerForStoredModel(modelsDir: string, meta: Pick<ModelMeta, 'name' | 'version' | 'sha256' | 'n_features'>, options: ExplainerOptions = {}): Promise<Explainer> {
  const file = path.join(versionDir(modelsDir, meta.name, meta.version), MODEL_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new ModelInvalidError(`cannot read ${MODEL_FILE}: ${(e as Error).message}`);
  }
  const sha = sha256Hex(bytes);
  if (sha !== meta.sha256) throw new ModelInvalidError(`sha256 mismatch: ${MODEL_FILE} is ${sha.slice(0, 12)}…, model.json records ${meta.sha256.slice(0, 12)}… (file changed or damaged)`);
  const ex = explainerFromOnnx(bytes, options);
  if (ex.nFeatures !== meta.n_features) throw new ModelInvalidError(`${MODEL_FILE} takes ${ex.nFeatures} features, model.json says ${meta.n_features}`);
  return ex;
}
