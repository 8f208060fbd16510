/**
 * Exact TreeSHAP for many rows on every core: the rows are cut into chunks
 * (a quarter of each thread's share) that a pool of worker threads
 * (workers/explain.ts) and the calling thread (once its other work, the
 * batch's write, is done) take as they free up; the trees, covers and tables reach the
 * workers in shared memory (one copy, not one per task). Each row's
 * explanation depends on that row alone (the covers are computed once, on the
 * pool: prebuildOnPool, and shared), and each chunk's values land at that
 * chunk's rows, so the result is exactly the one explain(X, n) gives on one thread.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Piscina } from 'piscina';
import { PACKAGE_ROOT } from '../../config.js';
import { backgroundCoversOf, treeTables, usesTables, type Explainer, type FeatureRows, type Prebuilt, type SharedExplainer, type TreeEnsemble } from './index.js';
import type { TreeTables } from './tables.js';
import { EXPLAIN_PREPARE, type CoversTask, type ExplainChunk, type ExplainTask, type TablesAnswer, type TablesTask } from './tasks.js';

/**
 * The fewest rows in a chunk. Chunks are otherwise a quarter of each thread's share
 * (CHUNKS_PER_THREAD): the explainer walks the trees tree by tree over a chunk's rows,
 * and every chunk walks every tree's tables again, so few large chunks beat many small ones.
 */
export const EXPLAIN_CHUNK_ROWS = 256;
export const CHUNKS_PER_THREAD = 4;

/** Rows per chunk for n rows on `threads` threads. */
export function chunkRows(n: number, threads: number): number {
  return Math.max(EXPLAIN_CHUNK_ROWS, Math.ceil(n / (Math.max(1, threads) * CHUNKS_PER_THREAD)));
}

/**
 * A copy of `x` whose typed arrays live in SharedArrayBuffers: structured
 * cloning it to a worker then shares the memory instead of copying it (the
 * trees and their tables are megabytes; every task carries them).
 */
export function inSharedMemory<T>(x: T): T {
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) {
    const src = x as unknown as Uint8Array;
    // in shared memory already (tables a worker built there): shared as it is
    if (src.buffer instanceof SharedArrayBuffer) return x;
    const Ctor = (x as unknown as { constructor: new (b: SharedArrayBuffer) => Uint8Array }).constructor;
    const copy = new Ctor(new SharedArrayBuffer(src.byteLength));
    copy.set(src);
    return copy as unknown as T;
  }
  if (Array.isArray(x)) return x.map((v: unknown) => inSharedMemory(v)) as T;
  if (x !== null && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = inSharedMemory(v);
    return out as T;
  }
  return x;
}

/** The compiled worker. */
export const EXPLAIN_WORKER_FILE = path.join(PACKAGE_ROOT, 'dist', 'workers', 'explain.js');

export type { ExplainChunk, ExplainTask } from './tasks.js';

export interface ParallelOptions {
  /** Threads in all, the calling one included (1: this thread alone, as explain() does). */
  threads: number;
  signal?: AbortSignal;
  /**
   * A running pool whose workers take explain tasks (the batch's one pool, workers/batch.ts, whose
   * threads extracted the features and are warm): used instead of starting a pool, and left running.
   * It must have at least `threads − 1` threads.
   */
  pool?: Piscina;
  /**
   * Other work of the calling thread (the batch's write of the rows that need no explanation): started
   * once the workers have their first tasks (the covers), and awaited before this thread takes chunks
   * itself, and before the call returns. It should yield to the event loop now and then, which is where the
   * workers are handed their next tasks. It is called only when the chunks run on a pool (else the caller
   * does that work itself, before or after).
   */
  meanwhile?: () => Promise<void>;
  /**
   * The trees of an explainer (a function, not built yet) whose covers come from background rows: on a pool,
   * the covers (rows split between the threads) and the tables (trees split between them) are computed here
   * and handed to the function (Prebuilt), which builds the explainer with them; the same values as its own.
   */
  prebuild?: { model: TreeEnsemble; background: FeatureRows };
}

let calls = 0;

/**
 * `ex.explain(X, n)`'s base, values and margins, computed on up to `threads`
 * threads. `ex` may be a function that builds the explainer: the workers are
 * then started first, so they load while this thread computes the covers.
 */
export async function explainParallel(
  explainer: Explainer | ((prebuilt?: Prebuilt) => Explainer),
  X: Float32Array,
  n: number,
  o: ParallelOptions,
): Promise<{ base: number; values: Float64Array; margin: Float64Array }> {
  // The batch's pool: every one of its threads takes chunks, and the calling thread too once its other work
  // (o.meanwhile) is done. Measured on 2 cores (README "Benchmarks"): letting it join cost less CPU time than
  // leaving the chunks to the 2 workers. A pool of our own: threads − 1 workers and this thread.
  const takers = o.pool ? Math.max(o.threads, o.pool.threads.length + 1) : o.threads;
  const rowsPer = chunkRows(n, takers);
  const chunks = Math.ceil(n / rowsPer);
  const workers = Math.min(takers - 1, chunks - 1);
  const pool =
    workers < 1
      ? undefined
      : (o.pool ??
        (existsSync(EXPLAIN_WORKER_FILE) ? new Piscina({ filename: EXPLAIN_WORKER_FILE, minThreads: workers, maxThreads: workers, idleTimeout: 1000 }) : undefined));
  // The batch's pool: its workers load the explainer's modules while this thread builds the explainer, every
  // one of them (the pool may have more threads than take chunks here, and it hands a chunk to any idle one).
  const prepared =
    pool && pool === o.pool ? Promise.allSettled(Array.from({ length: Math.max(workers, pool.threads.length) }, () => pool.run(EXPLAIN_PREPARE))) : undefined;
  let side: Promise<void> | undefined;
  try {
    // The covers and tables on the pool and this thread (which counts its share at once), then this thread's other work meanwhile.
    const building = pool && o.prebuild && typeof explainer === 'function' ? prebuildOnPool(pool, workers, o.prebuild.model, o.prebuild.background, o.signal) : undefined;
    building?.catch(() => undefined);
    if (pool && o.meanwhile) {
      side = o.meanwhile();
      side.catch(() => undefined); // awaited below, and by the caller
    }
    const ex = typeof explainer === 'function' ? explainer(await building) : explainer;
    const shared = pool ? ex.share() : undefined;
    if (!pool || !shared) {
      await side;
      const e = ex.explain(X, n);
      return { base: e.base, values: e.values, margin: e.margin };
    }
    return await onPool(pool, workers, side, ex, inSharedMemory(shared), X, n, rowsPer, o);
  } finally {
    await prepared;
    // this thread's other work never outlives the call (a failure here is the caller's to see when it awaits its own promise)
    await side?.catch(() => undefined);
    if (pool !== o.pool) await pool?.destroy();
  }
}

/**
 * A tree explainer's covers over background rows and (when it uses them) its tables, on the calling thread
 * and `workers` workers of `pool`: rows [0, n) cut into workers + 1 ranges whose node counts are summed
 * (integer counts: exact in any order, the very covers backgroundCovers gives), then the trees dealt
 * round-robin, each thread building its trees' tables (treeTables: the same function over the same covers,
 * so the same tables). Covers and tables come back in shared memory, ready for the explain chunks.
 */
export async function prebuildOnPool(pool: Piscina, workers: number, model: TreeEnsemble, bg: FeatureRows, signal?: AbortSignal): Promise<Prebuilt> {
  const { n } = bg;
  if (!Number.isInteger(n) || n < 0 || bg.X.length !== n * model.nFeatures) throw new RangeError(`background: ${bg.X.length} values for ${n} rows × ${model.nFeatures} features`);
  if (workers < 1) throw new RangeError('prebuildOnPool: no worker');
  const parts = workers + 1;
  const per = Math.ceil(n / parts);
  const shared = inSharedMemory(model);
  const X = inSharedMemory(bg.X);
  const guard = <T>(p: Promise<T>): Promise<T> => {
    p.catch(() => undefined); // awaited below; a rejection while this thread counts is not unhandled
    return p;
  };
  const asked = Array.from({ length: workers }, (_, w) => {
    const task: CoversTask = { kind: 'explain-covers', model: shared, X, from: Math.min(n, w * per), to: Math.min(n, (w + 1) * per) };
    return guard(pool.run(task, { signal }) as Promise<Float64Array[]>);
  });
  const covers = model.trees.map((t) => new Float64Array(new SharedArrayBuffer(t.mode.length * Float64Array.BYTES_PER_ELEMENT)));
  backgroundCoversOf(model, bg.X, Math.min(n, workers * per), n, covers);
  for (const part of await Promise.all(asked)) {
    part.forEach((c, k) => {
      const into = covers[k];
      for (let i = 0; i < c.length; i++) into[i] += c[i];
    });
  }
  if (!usesTables(model)) return { covers, rows: n };
  const mine: number[] = [];
  const theirs: number[][] = Array.from({ length: workers }, () => []);
  model.trees.forEach((_, k) => (k % parts === workers ? mine : theirs[k % parts]).push(k));
  const tablesAsked = theirs.map((trees) => {
    const task: TablesTask = { kind: 'explain-tables', model: shared, covers, trees };
    return guard(pool.run(task, { signal }) as Promise<TablesAnswer>);
  });
  const tables: (TreeTables | null)[] = new Array<TreeTables | null>(model.trees.length).fill(null);
  for (const k of mine) tables[k] = inSharedMemory(treeTables(model, k, covers[k]));
  (await Promise.all(tablesAsked)).forEach((answer, w) => theirs[w].forEach((k, j) => (tables[k] = answer[j])));
  return { covers, rows: n, tables };
}

async function onPool(
  pool: Piscina,
  workers: number,
  side: Promise<void> | undefined,
  ex: Explainer,
  shared: SharedExplainer,
  X: Float32Array,
  n: number,
  rowsPer: number,
  o: ParallelOptions,
): Promise<{ base: number; values: Float64Array; margin: Float64Array }> {
  const chunks = Math.ceil(n / rowsPer);
  const F = ex.nFeatures;
  if (X.length !== n * F) throw new RangeError(`explain: ${X.length} values for ${n} rows × ${F} features`);
  const values = new Float64Array(n * F);
  const margin = new Float64Array(n);
  const place = (i: number, c: ExplainChunk): void => {
    values.set(c.values, i * rowsPer * F);
    margin.set(c.margin, i * rowsPer);
  };
  const rows = (i: number): [number, number] => [i * rowsPer, Math.min(n, (i + 1) * rowsPer)];
  const key = `${process.pid}-${++calls}`;
  let next = 0;
  let failed = false;
  // Each worker is given one chunk at a time, so the calling thread keeps the rest.
  const chain = async (): Promise<void> => {
    while (!failed && next < chunks) {
      const i = next++;
      const [a, b] = rows(i);
      try {
        const task: ExplainTask = { kind: 'explain', key, shared, X: X.slice(a * F, b * F), n: b - a };
        place(i, (await pool.run(task, { signal: o.signal })) as ExplainChunk);
      } catch (e) {
        failed = true;
        throw e instanceof Error ? e : new Error(`explanation worker failed: ${String((e as { message?: unknown })?.message ?? e)}`);
      }
    }
  };
  try {
    const all = Promise.all(Array.from({ length: workers }, chain));
    all.catch(() => undefined);
    if (side) {
      try {
        await side;
      } catch (e) {
        failed = true;
        throw e;
      }
    }
    while (!failed && next < chunks) {
      if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new Error('aborted');
      const i = next++;
      const [a, b] = rows(i);
      const e = ex.explain(X.subarray(a * F, b * F), b - a);
      place(i, e);
      // Let the workers' answers in (and hand them their next chunk) before taking another.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await all;
    return { base: ex.base, values, margin };
  } finally {
    failed = true;
  }
}
