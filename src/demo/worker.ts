/**
 * The demo generator's simulation thread: recomputes the (deterministic) plan
 * from (stocks, days, seed) and sends the stocks' rows in index order, one
 * chunk per credit the writing thread grants, so memory stays flat.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { CHUNK_STOCKS, planMarket, simulateChunk, type MarketPlan, type WorkerInput, type WorkerMessage } from './generate.js';

function requirePort(): MessagePort {
  if (!parentPort) throw new Error('src/demo/worker.ts runs only as a worker thread');
  return parentPort;
}

const port = requirePort();
const input = workerData as WorkerInput;
let plan: MarketPlan | undefined;
let next = 0;
let credit = 0;

function send(m: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

function pump(): void {
  try {
    plan ??= planMarket(input.stocks, input.days, input.seed);
    while (credit > 0 && next < plan.stocks) {
      const chunk = simulateChunk(plan, next);
      next += CHUNK_STOCKS;
      credit--;
      const transfer = chunk.flatMap((s) => [s.open.buffer, s.high.buffer, s.low.buffer, s.close.buffer, s.volume.buffer]) as ArrayBuffer[];
      send({ chunk }, transfer);
    }
    if (next >= plan.stocks) {
      send({ done: true });
      port.close();
    }
  } catch (e) {
    send({ error: e instanceof Error ? e.message : String(e) });
    port.close();
  }
}

port.on('message', (n: number) => {
  credit += n;
  pump();
});
