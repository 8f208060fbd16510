/**
 * Exact TreeSHAP for many rows on every core: the rows are cut into chunks
 * that the calling thread and a pool of worker threads (workers/explain.ts)
 * take as they free up. Each row's explanation depends on that row alone
 * (the covers are computed once, by the calling thread, and shared), and each
 * chunk's values land at that chunk's rows, so the result is exactly the one
 * explain(X, n) gives on one thread.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Piscina } from 'piscina';
import { PACKAGE_ROOT } from '../../config.js';
import type { Explainer, SharedExplainer } from './index.js';

/** Rows per chunk: small enough to balance two threads, large enough that a hand-off costs little. */
export const EXPLAIN_CHUNK_ROWS = 256;

/** The compiled worker. */
export const EXPLAIN_WORKER_FILE = path.join(PACKAGE_ROOT, 'dist', 'workers', 'explain.js');

/** One chunk's task for the worker (workers/explain.ts). */
export interface ExplainTask {
  /** Names the explainer (one per call): a worker rebuilds its explainer when the key changes. */
  key: string;
  shared: SharedExplainer;
  X: Float32Array;
  n: number;
}

/** A chunk's answer: n × nFeatures values and n margins. */
export interface ExplainChunk {
  values: Float64Array;
  margin: Float64Array;
}

export interface ParallelOptions {
  /** Threads in all, the calling one included (1: this thread alone, as explain() does). */
  threads: number;
  signal?: AbortSignal;
}

let calls = 0;

/**
 * `ex.explain(X, n)`'s base, values and margins, computed on up to `threads`
 * threads. `ex` may be a function that builds the explainer: the workers are
 * then started first, so they load while this thread computes the covers.
 */
export async function explainParallel(
  explainer: Explainer | (() => Explainer),
  X: Float32Array,
  n: number,
  o: ParallelOptions,
): Promise<{ base: number; values: Float64Array; margin: Float64Array }> {
  const chunks = Math.ceil(n / EXPLAIN_CHUNK_ROWS);
  const workers = Math.min(o.threads - 1, chunks - 1);
  const pool =
    workers >= 1 && existsSync(EXPLAIN_WORKER_FILE) ? new Piscina({ filename: EXPLAIN_WORKER_FILE, minThreads: workers, maxThreads: workers, idleTimeout: 1000 }) : undefined;
  try {
    const ex = typeof explainer === 'function' ? explainer() : explainer;
    const shared = pool ? ex.share() : undefined;
    if (!pool || !shared) {
      const e = ex.explain(X, n);
      return { base: e.base, values: e.values, margin: e.margin };
    }
    return await onPool(pool, workers, ex, shared, X, n, o);
  } finally {
    await pool?.destroy();
  }
}

async function onPool(
  pool: Piscina,
  workers: number,
  ex: Explainer,
  shared: SharedExplainer,
  X: Float32Array,
  n: number,
  o: ParallelOptions,
): Promise<{ base: number; values: Float64Array; margin: Float64Array }> {
  const chunks = Math.ceil(n / EXPLAIN_CHUNK_ROWS);
  const F = ex.nFeatures;
  if (X.length !== n * F) throw new RangeError(`explain: ${X.length} values for ${n} rows × ${F} features`);
  const values = new Float64Array(n * F);
  const margin = new Float64Array(n);
  const place = (i: number, c: ExplainChunk): void => {
    values.set(c.values, i * EXPLAIN_CHUNK_ROWS * F);
    margin.set(c.margin, i * EXPLAIN_CHUNK_ROWS);
  };
  const rows = (i: number): [number, number] => [i * EXPLAIN_CHUNK_ROWS, Math.min(n, (i + 1) * EXPLAIN_CHUNK_ROWS)];
  const key = `${process.pid}-${++calls}`;
  let next = 0;
  let failed = false;
  // Each worker is given its chunks one at a time (one in flight and one queued), so the calling thread keeps the rest.
  const chain = async (): Promise<void> => {
    while (!failed && next < chunks) {
      const i = next++;
      const [a, b] = rows(i);
      try {
        const task: ExplainTask = { key, shared, X: X.slice(a * F, b * F), n: b - a };
        place(i, (await pool.run(task, { signal: o.signal })) as ExplainChunk);
      } catch (e) {
        failed = true;
        throw e instanceof Error ? e : new Error(`explanation worker failed: ${String((e as { message?: unknown })?.message ?? e)}`);
      }
    }
  };
  try {
    const all = Promise.all(Array.from({ length: workers * 2 }, chain));
    all.catch(() => undefined);
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
