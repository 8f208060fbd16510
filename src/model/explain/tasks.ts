/**
 * The messages of the explain stage's workers (workers/explain.ts, and the
 * batch's one pool, workers/batch.ts), in a module of their own so that a
 * worker can tell them apart without loading the explainer.
 */
import type { SharedExplainer } from './index.js';

/** One chunk's task for a worker. */
export interface ExplainTask {
  kind: 'explain';
  /** Names the explainer (one per call): a worker rebuilds its explainer when the key changes. */
  key: string;
  shared: SharedExplainer;
  X: Float32Array;
  n: number;
}

/** Asks a worker of the batch's pool to load the explainer's modules now (it answers true). */
export interface ExplainPrepare {
  kind: 'explain-prepare';
}

export const EXPLAIN_PREPARE: ExplainPrepare = { kind: 'explain-prepare' };

/** A chunk's answer: n × nFeatures values and n margins. */
export interface ExplainChunk {
  values: Float64Array;
  margin: Float64Array;
}

const kindOf = (x: unknown): unknown => (typeof x === 'object' && x !== null ? (x as { kind?: unknown }).kind : undefined);

export function isExplainTask(x: unknown): x is ExplainTask {
  return kindOf(x) === 'explain';
}

export function isExplainPrepare(x: unknown): x is ExplainPrepare {
  return kindOf(x) === 'explain-prepare';
}
