/**
 * Worker thread: builds one prediction date's context (extraction context
 * and sector medians) for the server, off its event loop. The thread opens
 * market.db read-only itself and reopens it when the server has (a replaced
 * file, seen as a new generation).
 */
import { openMarketReadonly, type Db } from '../src/market/db.js';
import { buildDateContext, type DateContextResult, type DateContextTask } from '../src/features/date-context.js';

let open: { file: string; generation: number; db: Db } | undefined;

function dbFor(task: DateContextTask): Db {
  if (!open || open.file !== task.marketFile || open.generation !== task.generation) {
    open?.db.close();
    open = undefined;
    open = { file: task.marketFile, generation: task.generation, db: openMarketReadonly(task.marketFile) };
  }
  return open.db;
}

export default function build(task: DateContextTask): DateContextResult {
  try {
    return buildDateContext(dbFor(task), task.date);
  } catch (e) {
    // Keep the message across the thread boundary (a thrown error from a worker can lose it).
    throw new Error(e instanceof Error ? e.message : String(e));
  }
}
