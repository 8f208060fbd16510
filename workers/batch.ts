/**
 * piscina worker of the batch's one pool (src/features/pool.ts, batchPool): the
 * extraction tasks (workers/extract.ts), then the explain stage's chunks
 * (workers/explain.ts) on the same threads, already started and warm, instead
 * of a second pool started for the explain stage. The explain modules load on
 * the first explain task, or earlier on a prepare task
 * (src/model/explain/parallel.ts sends one to each worker it will use while
 * the calling thread builds the explainer), so extraction alone (and
 * `stockflow features`, which has its own pool) never loads them.
 */
import extract from './extract.js';
import { isExplainPrepare, isExplainStageTask } from '../src/model/explain/tasks.js';
import type { ExtractTask } from '../src/features/pool.js';

let explainModule: Promise<typeof import('./explain.js')> | undefined;
const explainer = (): Promise<typeof import('./explain.js')> => (explainModule ??= import('./explain.js'));

export default async function batch(task: unknown): Promise<unknown> {
  if (isExplainPrepare(task)) {
    await explainer();
    return true;
  }
  if (isExplainStageTask(task)) return (await explainer()).default(task);
  return extract(task as ExtractTask);
}
