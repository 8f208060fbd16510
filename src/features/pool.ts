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
import { N_MEDIAN_INPUTS } from './financial.js';
import { extractMany } from './extract.js';
import { InputReader } from './inputs.js';
import { openMarketReadonly, type Db } from '../market/db.js';
import { StockflowError, type ErrorKind } from '../errors.js';
import { sqliteFileError } from '../util/sqlite.js';
import type { ExtractionContext, FeatureBlock, StockRef } from './types.js';
import { orderByKey } from '../util/order.js';

export const TASK_SIZE = 100;

export interface ExtractTask {
  marketFile: string;
  ctx: ExtractionContext;
  refs: StockRef[];
  /** Also each ref's inputs to the sector medians (extractMany's `medianInputs`). */
  medianInputs?: boolean;
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

/** The batch's worker: extraction tasks as WORKER_FILE's, then the explain stage's chunks (workers/batch.ts). */
export const BATCH_WORKER_FILE = path.join(PACKAGE_ROOT, 'dist', 'workers', 'batch.js');

/**
 * The young generation of each pool worker's V8 heap, in MB (Node's default on this 24 GB machine is larger).
 * A worker's garbage is short-lived (one stock's windows and rows at a time), so a smaller young generation
 * costs no measurable CPU and keeps each worker's resident memory down: the 110,000-stock batch's peak RSS
 * 488 → 436 MB (4 MB: 429 MB; 16 MB: 453 MB), the 11,000-stock one 265–273 → 265–266 MB, CPU time the same
 * within noise (README "Benchmarks", #16 round 3). Only the young generation is bounded: the old one is not,
 * so no worker can run out of memory because of it.
 */
export const WORKER_YOUNG_GENERATION_MB = 8;

/** Options every extraction/batch pool is made with. */
function poolOptions(filename: string, n: number): ConstructorParameters<typeof Piscina>[0] {
  return { filename, minThreads: n, maxThreads: n, idleTimeout: 1000, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } };
}

/**
 * The batch's one pool, for `stocks` stocks on `threads` threads (poolSize), or on `threads` threads when
 * the stock count is not known yet (the batch starts it before its plan): extraction runs on it
 * (ExtractOptions.pool), then the explain stage's chunks on the same warm threads
 * (src/model/explain/parallel.ts), instead of a second pool started for them. The caller destroys it.
 */
export function batchPool(threads: number, stocks?: number): Piscina {
  if (!existsSync(BATCH_WORKER_FILE)) throw new Error(`worker not built: ${BATCH_WORKER_FILE} (run npm run build)`);
  const n = stocks === undefined ? Math.max(1, threads) : poolSize(threads, stocks);
  return new Piscina(poolOptions(BATCH_WORKER_FILE, n));
}

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
  // Per input ref (skipped or not), so the blocks' parts follow one another in input order.
  if (blocks.length > 0 && blocks.every((b) => b.medians)) {
    const refs = blocks.reduce((a, b) => a + (b.medians as NonNullable<FeatureBlock['medians']>).known.length, 0);
    const medians = { inputs: new Float64Array(refs * N_MEDIAN_INPUTS), known: new Uint8Array(refs) };
    let at = 0;
    for (const b of blocks) {
      const m = b.medians as NonNullable<FeatureBlock['medians']>;
      medians.inputs.set(m.inputs, at * N_MEDIAN_INPUTS);
      medians.known.set(m.known, at);
      at += m.known.length;
    }
    out.medians = medians;
  }
  return out;
}

export interface ExtractOptions {
  /** Worker threads (at most one per task of TASK_SIZE). */
  threads: number;
  /** The calling thread takes tasks too, between hand-offs to the workers (see mainThreadDefault). */
  mainThread?: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** A pool the caller owns and destroys (batchPool, of poolSize(threads, stocks) threads), used instead of one of this call's own. */
  pool?: Piscina;
  /** Also every ref's inputs to the sector medians (FeatureBlock.medians). */
  medianInputs?: boolean;
}

/** Tasks handed to each worker ahead of time, so a worker never waits while the calling thread extracts. */
const IN_FLIGHT_PER_WORKER = 2;

/**
 * The positions of `refs` in bse_code order (ties in input order), or undefined when a code
 * repeats (the block could not be put back in input order by code alone) or they are in that
 * order already.
 */
export function codeOrder(refs: readonly StockRef[]): number[] | undefined {
  const order = Array.from(orderByKey(refs.map((r) => r.bse_code)));
  let moved = false;
  for (let p = 0; p < order.length; p++) {
    if (order[p] !== p) moved = true;
    if (p > 0 && refs[order[p]].bse_code === refs[order[p - 1]].bse_code) return undefined;
  }
  return moved ? order : undefined;
}

/**
 * `block`, extracted from the refs at positions `order` (codeOrder: distinct codes), put back
 * in input order: the rows (codes, last bars, values, missing counts) and the skips each in
 * the order of their refs in the input, the median inputs per input ref.
 */
export function inInputOrder(block: FeatureBlock, refs: readonly StockRef[], order: readonly number[]): FeatureBlock {
  const n = refs.length;
  // Per input position: its row in `block` (≥ 0) or −1 − its skip's index.
  const at = new Int32Array(n);
  let row = 0;
  let skip = 0;
  for (const i of order) {
    const code = refs[i].bse_code;
    if (row < block.codes.length && block.codes[row] === code) at[i] = row++;
    else if (skip < block.skips.length && block.skips[skip].bse_code === code) at[i] = -1 - skip++;
    else throw new Error(`extraction: no row or skip for ${code}`);
  }
  if (row !== block.codes.length || skip !== block.skips.length) throw new Error('extraction: rows or skips left over');
  const out: FeatureBlock = { codes: [], lastBar: [], values: new Float32Array(block.values.length), missing: new Uint8Array(block.missing.length), skips: [] };
  let r = 0;
  for (let i = 0; i < n; i++) {
    const a = at[i];
    if (a < 0) {
      out.skips.push(block.skips[-1 - a]);
      continue;
    }
    out.codes.push(block.codes[a]);
    out.lastBar.push(block.lastBar[a]);
    out.values.set(block.values.subarray(a * N_FEATURES, (a + 1) * N_FEATURES), r * N_FEATURES);
    out.missing[r] = block.missing[a];
    r++;
  }
  const m = block.medians;
  if (m) {
    const k = N_MEDIAN_INPUTS;
    const inputs = new Float64Array(m.inputs.length);
    const known = new Uint8Array(n);
    order.forEach((i, p) => {
      inputs.set(m.inputs.subarray(p * k, (p + 1) * k), i * k);
      known[i] = m.known[p];
    });
    out.medians = { inputs, known };
  }
  return out;
}

/**
 * Extracts all `refs` on a pool of `threads` workers (and on the calling
 * thread too with `mainThread`). The tasks are cut from the refs in bse_code
 * order (each stock's reads are index seeks by code: in code order they touch
 * neighbouring pages, ≈5% less CPU on the demo market than in market-cap
 * order); each task's block lands in its own slot, and the merged block is put
 * back in input order (inInputOrder), so it equals a single-threaded run exactly.
 */
export async function extractWithPool(marketFile: string, inputRefs: readonly StockRef[], ctx: ExtractionContext, o: ExtractOptions): Promise<FeatureBlock> {
  const order = codeOrder(inputRefs);
  const refs = order ? order.map((i) => inputRefs[i]) : inputRefs;
  if (!existsSync(WORKER_FILE)) throw new Error(`worker not built: ${WORKER_FILE} (run npm run build)`);
  const n = poolSize(o.threads, refs.length);
  const tasks = Math.ceil(refs.length / TASK_SIZE);
  const blocks = new Array<FeatureBlock>(tasks);
  const pool = o.pool ?? new Piscina(poolOptions(WORKER_FILE, n));
  let next = 0;
  let done = 0;
  let failed = false;
  const slice = (i: number): StockRef[] => refs.slice(i * TASK_SIZE, (i + 1) * TASK_SIZE);
  const finished = (i: number, b: FeatureBlock): void => {
    blocks[i] = b;
    done += b.codes.length + b.skips.length;
    o.onProgress?.(done, refs.length);
  };
  // One chain per slot in flight: run a task on the pool, then the next one not yet taken.
  const chain = async (): Promise<void> => {
    while (!failed && next < tasks) {
      const i = next++;
      let r: FeatureBlock | WorkerFailure;
      try {
        r = (await pool.run({ marketFile, ctx, refs: slice(i), medianInputs: o.medianInputs } satisfies ExtractTask, { signal: o.signal })) as FeatureBlock | WorkerFailure;
      } catch (e) {
        failed = true;
        throw asError(e);
      }
      if (isFailure(r)) {
        failed = true;
        throw r.failure.kind ? new StockflowError(r.failure.kind, r.failure.message) : new Error(r.failure.message);
      }
      finished(i, r);
    }
  };
  try {
    o.onProgress?.(0, refs.length);
    const chains = Array.from({ length: Math.min(tasks, n * IN_FLIGHT_PER_WORKER) }, chain);
    // Keep a rejected chain from going unhandled while the calling thread is still busy.
    const all = Promise.all(chains);
    all.catch(() => undefined);
    if (o.mainThread) {
      let reader: InputReader | undefined;
      try {
        while (!failed && next < tasks) {
          if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new Error('aborted');
          const i = next++;
          let b: FeatureBlock;
          try {
            reader ??= new InputReader(openMarketReadonly(marketFile));
            b = extractMany(reader, slice(i), ctx, o.medianInputs);
          } catch (e) {
            failed = true;
            const f = workerFailure(marketFile, e).failure;
            throw f.kind ? new StockflowError(f.kind, f.message) : new Error(f.message);
          }
          finished(i, b);
          // Let the workers' finished tasks in (and hand them new ones) before taking the next.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      } finally {
        reader?.db.close();
      }
    }
    await all;
    const merged = mergeBlocks(blocks);
    return order ? inInputOrder(merged, inputRefs, order) : merged;
  } finally {
    failed = true;
    if (pool !== o.pool) await pool.destroy();
  }
}

/** The same work on the calling thread (tests, small runs, the server). */
export function extractSingleThread(db: Db, refs: readonly StockRef[], ctx: ExtractionContext): FeatureBlock {
  return extractMany(new InputReader(db), refs, ctx);
}
