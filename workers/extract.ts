/**
 * piscina worker: extracts features for one task of stocks. Each thread opens
 * its own read-only connection to market.db (never shared across threads) and
 * keeps it for the life of the thread. The feature values come back as a
 * transferred Float32Array, not a copy.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { openMarketReadonly } from '../src/market/db.js';
import { InputReader } from '../src/features/inputs.js';
import { extractMany } from '../src/features/extract.js';
import { workerFailure, type ExtractTask } from '../src/features/pool.js';
import type { FeatureBlock } from '../src/features/types.js';

const readers = new Map<string, InputReader>();

function readerFor(file: string): InputReader {
  let r = readers.get(file);
  if (!r) {
    r = new InputReader(openMarketReadonly(file));
    readers.set(file, r);
  }
  return r;
}

export default function extract(task: ExtractTask): unknown {
  let block: FeatureBlock;
  try {
    block = extractMany(readerFor(task.marketFile), task.refs, task.ctx, task.medianInputs);
  } catch (e) {
    // Errors cross the thread boundary by structured clone, which keeps neither an SQLite error's message
    // nor a StockflowError's kind: send both as data (pool.ts turns them back into an error).
    return workerFailure(task.marketFile, e);
  }
  return move({
    get [transferableSymbol]() {
      return block.medians
        ? [block.values.buffer, block.missing.buffer, block.medians.inputs.buffer, block.medians.known.buffer]
        : [block.values.buffer, block.missing.buffer];
    },
    get [valueSymbol](): FeatureBlock {
      return block;
    },
  });
}
