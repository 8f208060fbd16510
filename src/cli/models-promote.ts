/**
 * What `stockflow models promote` prints before it promotes a model to
 * champion (loaded when it runs): the comparison with the current champion on
 * the same realised outcomes (src/cli/compare-run.ts), or why there is none.
 * Never stops the promotion.
 */
import { existsSync } from 'node:fs';
import { predictionsDbPath, type Config } from '../config.js';
import { isStockflowError } from '../errors.js';
import type { Logger } from '../log.js';
import { parseModelRef } from '../model/metadata.js';
import { readAliases } from '../model/registry.js';
import { compareOnOutcomes, renderComparison } from './compare-run.js';

export async function promoteComparison(cfg: Config, ref: string, log: Logger): Promise<string> {
  const champion = (await readAliases(cfg.modelsDir)).champion;
  if (champion === undefined) return '';
  const version = parseModelRef(ref).version;
  if (champion.split('/')[1] === version) return '';
  if (!existsSync(predictionsDbPath(cfg.dataDir))) return `no comparison with champion ${champion}: no predictions.db in ${cfg.dataDir}\n`;
  try {
    return renderComparison(await compareOnOutcomes({ cfg, a: 'champion', b: version, log }));
  } catch (e) {
    if (isStockflowError(e)) return `no comparison with champion ${champion}: ${e.message}\n`;
    throw e;
  }
}
