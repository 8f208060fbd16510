/**
 * The extraction worker pool (piscina). Stocks are cut into tasks of 100;
 * the result is merged back in the input order, so it equals a
 * single-threaded run exactly.
 */
import { Piscina } from 'piscina';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { PACKAGE_ROOT } from '../config.js';
import { N_FEATURES } from './definition.js';
import { extractMany } from './extract.js';
import { InputReader } from './inputs.js';
import type { Db } from '../market/db.js';
import { StockflowError, type ErrorKind } from '../errors.js';
import { sqliteFileError } from '../util/sqlite.js';
import type { ExtractionContext, FeatureBlock, StockRef } from './types.js';

export const TASK_SIZE = 100;

export interface ExtractTask {
  marketFile: string;
  ctx: ExtractionContext;
  refs: StockRef[];
}

/** What a worker sends back instead of throwing (see workers/extract.ts). */
export interface WorkerFailure {
  failure: { kind?: ErrorKind; message: string };
}

/** The failure record for an error met in a worker reading `marketFile`. */
export function workerFailure(marketFile: string, e: unknown): WorkerFailure {
  const known = sqliteFileError(marketFile, e, 'market.db');
  if (known) return { failure: { kind: known.kind, message: known.message } };
  const message = e instanceof Error || (typeof e === 'object' && e !== null && 'message' in e) ? String((e as Error).message) : String(e);
  return { failure: { message: `extraction worker failed reading ${marketFile}: ${message}` } };
}

function isFailure(x: unknown): x is WorkerFailure {
  return typeof x === 'object' && x !== null && 'failure' in x;
}

/** An error rejected by the pool as a proper Error (a worker's plain-object throw keeps its message). */
function asError(e: unknown): Error {
  if (e instanceof Error) return e;
  const message = typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : String(e);
  return new Error(`extraction worker failed: ${message}`);
}

/** Threads for `stocks` stocks: never more than there are tasks of TASK_SIZE. */
export function poolSize(threads: number, stocks: number): number {
  return Math.max(1, Math.min(threads, Math.ceil(stocks / TASK_SIZE)));
}

/** The compiled worker (workers must be plain JavaScript at run time). */
export const WORKER_FILE = path.join(PACKAGE_ROOT, 'dist', 'workers', 'extract.js');

export function mergeBlocks(blocks: readonly FeatureBlock[]): FeatureBlock {
  const n = blocks.reduce((a, b) => a + b.codes.length, 0);
  const values = new Float32Array(n * N_FEATURES);
  const missing = new Uint8Array(n);
  const out: FeatureBlock = { codes: [], lastBar: [], values, missing, skips: [] };
  let row = 0;
  for (const b of blocks) {
    values.set(b.values, row * N_FEATURES);
    missing.set(b.missing, row);
    out.codes.push(...b.codes);
    out.lastBar.push(...b.lastBar);
    out.skips.push(...b.skips);
    row += b.codes.length;
  }
  return out;
}

export interface ExtractOptions {
  threads: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Extracts all `refs` on a pool of `threads` workers. */
export async function extractWithPool(marketFile: string, refs: readonly StockRef[], ctx: ExtractionContext, o: ExtractOptions): Promise<FeatureBlock> {
  if (!existsSync(WORKER_FILE)) throw new Error(`worker not built: ${WORKER_FILE} (run npm run build)`);
  const n = poolSize(o.threads, refs.length);
  const pool = new Piscina({ filename: WORKER_FILE, minThreads: n, maxThreads: n, idleTimeout: 1000 });
  try {
    const tasks: Promise<FeatureBlock>[] = [];
    let done = 0;
    o.onProgress?.(0, refs.length);
    for (let i = 0; i < refs.length; i += TASK_SIZE) {
      const slice = refs.slice(i, i + TASK_SIZE);
      const t = (pool.run({ marketFile, ctx, refs: slice } satisfies ExtractTask, { signal: o.signal }) as Promise<FeatureBlock | WorkerFailure>).then(
        (r) => {
          if (!isFailure(r)) return r;
          throw r.failure.kind ? new StockflowError(r.failure.kind, r.failure.message) : new Error(r.failure.message);
        },
        (e: unknown) => {
          throw asError(e);
        },
      );
      tasks.push(
        t.then((b) => {
          done += slice.length;
          o.onProgress?.(done, refs.length);
          return b;
        }),
      );
    }
    return mergeBlocks(await Promise.all(tasks));
  } finally {
    await pool.destroy();
  }
}

/** The same work on the calling thread (tests, small runs, the server). */
export function extractSingleThread(db: Db, refs: readonly StockRef[], ctx: ExtractionContext): FeatureBlock {
  return extractMany(new InputReader(db), refs, ctx);
}
