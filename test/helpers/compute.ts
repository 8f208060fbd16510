/**
 * The features of every ACTIVE stock of a fixture market.db on a date, computed as the batch computes them
 * (computeFeatures on the calling thread), and one stock's row of them: what the feature and exchange-read
 * tests check by hand.
 */
import { openMarketReadonly } from '../../src/market/db.js';
import { activeStocks } from '../../src/market/reader.js';
import { N_FEATURES } from '../../src/features/definition.js';
import { computeFeatures, type FeatureSet } from '../../src/features/service.js';

export async function computeAll(file: string, date: string): Promise<FeatureSet> {
  const db = openMarketReadonly(file);
  try {
    return await computeFeatures(db, file, activeStocks(db), date, { threads: 0 });
  } finally {
    db.close();
  }
}

/** `code`'s feature row (a copy); throws, naming the run's skips, when it has none. */
export function rowOf(fs: FeatureSet, code: string): Float32Array {
  const i = fs.block.codes.indexOf(code);
  if (i < 0) throw new Error(`${code} has no feature row; skips: ${JSON.stringify(fs.block.skips)}`);
  return fs.block.values.slice(i * N_FEATURES, (i + 1) * N_FEATURES);
}
