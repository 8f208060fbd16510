/**
 * The messages of the explain stage's workers (workers/explain.ts, and the
 * batch's one pool, workers/batch.ts), in a module of their own so that a
 * worker can tell them apart without loading the explainer.
 */
import type { SharedExplainer, TreeEnsemble } from './index.js';
import type { TreeTables } from './tables.js';

/** One chunk's task for a worker. */
export interface ExplainTask {
  kind: 'explain';
  /** Names the explainer (one per call): a worker rebuilds its explainer when the key changes. */
  key: string;
  shared: SharedExplainer;
  X: Float32Array;
  n: number;
}

/** Counts background rows [from, to) of X through every tree (backgroundCoversOf); answers one Float64Array per tree. */
export interface CoversTask {
  kind: 'explain-covers';
  model: TreeEnsemble;
  X: Float32Array;
  from: number;
  to: number;
}

/** Builds the tables of trees `trees` over `covers` (treeTables); answers them in that order, in shared memory. */
export interface TablesTask {
  kind: 'explain-tables';
  model: TreeEnsemble;
  covers: readonly Float64Array[];
  trees: number[];
}

export type TablesAnswer = (TreeTables | null)[];

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

export function isCoversTask(x: unknown): x is CoversTask {
  return kindOf(x) === 'explain-covers';
}

export function isTablesTask(x: unknown): x is TablesTask {
  return kindOf(x) === 'explain-tables';
}

/** A task of the explain stage (a chunk, covers, tables): workers/explain.ts takes them all. */
export function isExplainStageTask(x: unknown): x is ExplainTask | CoversTask | TablesTask {
  return isExplainTask(x) || isCoversTask(x) || isTablesTask(x);
}

export function isExplainPrepare(x: unknown): x is ExplainPrepare {
  return kindOf(x) === 'explain-prepare';
}
