/**
 * The exchange files read on worker threads while the importer writes on its own: the same batches of
 * events, in the same order, as readExchangeBatches (read.ts). Files are dealt to the workers in turn
 * (file k to worker k mod W); each reads its files in order, and this side hands them on in file order, so
 * the importer sees exactly the sequential order (and the first failing file's error first). Reading
 * (csv-parse and the parsers) is about 60% of an import's CPU, writing (SQLite) the rest: on two cores they
 * overlap. Without the built worker (tests from the sources before `npm run build`) it reads in the calling thread.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PACKAGE_ROOT } from '../../config.js';
import { StockflowError, type ErrorKind } from '../../errors.js';
import { unpackBatch, type PackedBatch } from './pack.js';
import { readExchangeBatches, type ExchangeEvent, type ReadOptions } from './read.js';
import { listFiles } from './sources.js';

export type ReadMessage =
  | { type: 'batch'; file: number; batch: PackedBatch }
  | { type: 'file-end'; file: number }
  | { type: 'error'; file: number; kind: ErrorKind | null; message: string };

export const READ_WORKER_FILE = path.join(PACKAGE_ROOT, 'dist', 'workers', 'exchange-read.js');
/**
 * A reader's young generation (V8's default is 16 MB): the CSV fields, rows and records it allocates die young, and
 * a larger nursery is scavenged less often (≈ 3% less CPU for a year of files; 128 MB would cost ≈ 180 MB of RSS).
 */
const READER_YOUNG_GENERATION_MB = 48;
/** At most this many reader threads (one per core, fewer when there are fewer files). */
const MAX_READERS = 4;

interface Reader {
  worker: Worker;
  queue: ReadMessage[];
  failed: Error | null;
}

export async function* readExchangeBatchesParallel(paths: readonly string[], o: ReadOptions = {}): AsyncGenerator<ExchangeEvent[]> {
  const { files, ignored } = listFiles(paths);
  const n = Math.min(MAX_READERS, availableParallelism(), files.length);
  if (!existsSync(READ_WORKER_FILE) || n < 1) {
    yield* readExchangeBatches(paths, o);
    return;
  }
  if (ignored.length > 0) yield ignored.map((f): ExchangeEvent => ({ type: 'ignored', file: f }));
  let wake: (() => void) | null = null;
  const signal = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const readers: Reader[] = [];
  for (let w = 0; w < n; w++) {
    const share = files.map((f, k): [number, string] => [k, f]).filter(([k]) => k % n === w);
    const r: Reader = { worker: new Worker(READ_WORKER_FILE, { workerData: { files: share, options: o }, resourceLimits: { maxYoungGenerationSizeMb: READER_YOUNG_GENERATION_MB } }), queue: [], failed: null };
    r.worker.on('message', (m: ReadMessage) => {
      r.queue.push(m);
      signal();
    });
    r.worker.on('error', (e) => {
      r.failed ??= e;
      signal();
    });
    r.worker.on('exit', (code) => {
      r.failed ??= new Error(`an exchange-file reader stopped (exit code ${code})`);
      signal();
    });
    readers.push(r);
  }
  try {
    for (let k = 0; k < files.length; k++) {
      const r = readers[k % n];
      for (;;) {
        if (r.queue.length === 0) {
          if (r.failed) throw r.failed;
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        const m = r.queue.shift()!;
        if (m.type === 'error') throw m.kind ? new StockflowError(m.kind, m.message) : new Error(m.message);
        if (m.file !== k) throw new Error(`exchange-file reader out of order: file ${m.file} while reading file ${k}`);
        if (m.type === 'file-end') break;
        r.worker.postMessage(1);
        yield unpackBatch(m.batch);
      }
    }
  } finally {
    for (const r of readers) {
      r.worker.removeAllListeners();
      void r.worker.terminate();
    }
  }
}
