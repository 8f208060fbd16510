/**
 * piscina worker of the batch's one pool (src/features/pool.ts, batchPool): the
 * extraction tasks (workers/extract.ts), then the explain stage's chunks
 * (workers/explain.ts) on the same threads, already started and warm, instead
 * of a second pool started for the explain stage. The explain modules start
 * loading once a worker has finished its first extraction task, so they load
 * between extraction tasks instead of after the last one (where they kept both
 * workers idle ≈ 0.1–0.2 s on the demo market while the calling thread imputed
 * and scored); a prepare task (src/model/explain/parallel.ts) or the first
 * explain task waits for them. `stockflow features` has its own pool
 * (workers/extract.js) and never loads them.
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
  const block = extract(task as ExtractTask);
  // The import runs on this thread's event loop between the next extraction tasks.
  void explainer().catch(() => undefined);
  return block;
}
