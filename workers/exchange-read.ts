/**
 * Worker thread: reads its share of the exchange files (detection, csv-parse, the kinds' parsers) and posts
 * the events in batches, packed (src/ingest/exchange/pack.ts), to the importer, which writes them on its own thread meanwhile
 * (src/ingest/exchange/read-parallel.ts). At most IN_FLIGHT batches are unacknowledged, so memory stays
 * bounded whatever the files' size.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readFileBatches, type ReadOptions } from '../src/ingest/exchange/read.js';
import { isStockflowError } from '../src/errors.js';
import type { ReadMessage } from '../src/ingest/exchange/read-parallel.js';
import { packBatch } from '../src/ingest/exchange/pack.js';

const IN_FLIGHT = 8;
const port = parentPort!;
const { files, options } = workerData as { files: [number, string][]; options: ReadOptions };

let credit = IN_FLIGHT;
let wake: (() => void) | null = null;
port.on('message', () => {
  credit++;
  const w = wake;
  wake = null;
  w?.();
});

const post = (m: ReadMessage): void => port.postMessage(m);

async function main(): Promise<void> {
  let at = -1;
  try {
    for (const [index, file] of files) {
      at = index;
      for await (const batch of readFileBatches(file, options)) {
        if (credit === 0) await new Promise<void>((resolve) => (wake = resolve));
        credit--;
        post({ type: 'batch', file: index, batch: packBatch(batch) });
      }
      post({ type: 'file-end', file: index });
    }
  } catch (e) {
    post({ type: 'error', file: at, kind: isStockflowError(e) ? e.kind : null, message: e instanceof Error ? e.message : String(e) });
  }
  port.close();
}

void main();
