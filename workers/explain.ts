/**
 * piscina worker: exact TreeSHAP for one chunk of rows (src/model/explain/parallel.ts
 * hands the chunks out). The explainer is rebuilt here from what the calling
 * thread shared (the decoded trees and the covers it computed), once per call
 * (`key`), so every thread explains with the same covers; the values and
 * margins come back as transferred buffers.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { backgroundCoversOf, explainerFromShared, treeTables, type Explainer } from '../src/model/explain/index.js';
import { inSharedMemory } from '../src/model/explain/parallel.js';
import { isCoversTask, isTablesTask, type CoversTask, type ExplainChunk, type ExplainTask, type TablesAnswer, type TablesTask } from '../src/model/explain/tasks.js';

let built: { key: string; ex: Explainer } | undefined;

export default function explain(task: ExplainTask | CoversTask | TablesTask): unknown {
  // The explainer's build, split between threads (src/model/explain/parallel.ts, prebuildOnPool).
  if (isCoversTask(task)) {
    const counts = backgroundCoversOf(task.model, task.X, task.from, task.to);
    return move({
      get [transferableSymbol]() {
        return counts.map((c) => c.buffer);
      },
      get [valueSymbol](): Float64Array[] {
        return counts;
      },
    });
  }
  if (isTablesTask(task)) {
    const tables: TablesAnswer = inSharedMemory(task.trees.map((k) => treeTables(task.model, k, task.covers[k])));
    return tables;
  }
  if (built?.key !== task.key) built = { key: task.key, ex: explainerFromShared(task.shared) };
  const e = built.ex.explain(task.X, task.n);
  const chunk: ExplainChunk = { values: e.values, margin: e.margin };
  return move({
    get [transferableSymbol]() {
      return [chunk.values.buffer, chunk.margin.buffer];
    },
    get [valueSymbol](): ExplainChunk {
      return chunk;
    },
  });
}
