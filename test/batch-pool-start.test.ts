/**
 * The batch starts its worker pool at the top of the run (#16: the threads
 * load their modules while the calling thread plans and loads the model), so
 * every way a run can stop before extraction must destroy it: a plan failure
 * (stale data), a model that cannot be loaded, an abort. The process's OS
 * thread count (/proc/self/status) tells: a worker thread is an OS thread,
 * and the count must be back where it was once the failed run returns. A
 * control first shows the count sees a pool's threads come and go.
 *
 * The pool runs the compiled worker, so this needs `npm run build` first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBatch, type BatchOptions } from '../src/batch/run.js';
import { batchPool } from '../src/features/pool.js';
import { loadScoringModel } from '../src/model/scoring-model.js';
import { StockflowError } from '../src/errors.js';
import { captureLogger } from './helpers/onnx-fixture.js';
import { buildMarketFixture, MORNING, type MarketFixture } from './helpers/batch-fixture.js';

const LINUX = existsSync('/proc/self/status');

function osThreads(): number {
  const m = /^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('no Threads: line in /proc/self/status');
  return Number(m[1]);
}

/** Polls (up to 10 s) until `ok(osThreads())`; returns the last count. */
async function threadsUntil(ok: (n: number) => boolean): Promise<number> {
  const until = Date.now() + 10_000;
  let n = osThreads();
  while (!ok(n) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    n = osThreads();
  }
  return n;
}

let fx: MarketFixture;
beforeAll(async () => {
  fx = await buildMarketFixture({ stocks: 60 });
}, 120_000);
afterAll(() => fx?.cleanup());

function options(dataDir: string, date: string, extra: Partial<BatchOptions> = {}): BatchOptions {
  const { log } = captureLogger();
  return { dataDir, date, threads: 2, loadModel: () => loadScoringModel({ modelsDir: fx.modelsDir }, { log }), log, ...extra };
}

/** Runs `o` (which must fail) twice, and returns the OS thread counts before and after the second. */
async function threadsAroundFailure(o: () => BatchOptions, error: RegExp): Promise<{ before: number; after: number }> {
  // The first run warms up whatever threads the process keeps (libuv's pool, …).
  await expect(runBatch(o())).rejects.toThrow(error);
  const before = await threadsUntil(() => true);
  await expect(runBatch(o())).rejects.toThrow(error);
  return { before, after: await threadsUntil((n) => n <= before) };
}

describe.runIf(LINUX)('a run that stops before extraction destroys the pool it started', () => {
  it('control: the OS thread count sees a 2-thread pool start and stop', async () => {
    const before = osThreads();
    const pool = batchPool(2);
    expect(await threadsUntil((n) => n >= before + 2)).toBeGreaterThanOrEqual(before + 2);
    await pool.destroy();
    expect(await threadsUntil((n) => n <= before)).toBe(before);
  });

  it('stale data (a plan failure, exit 3): no worker thread left', async () => {
    const dataDir = fx.freshDataDir();
    const t = await threadsAroundFailure(() => options(dataDir, '2025-12-15'), /stale data/);
    expect(t.after).toBe(t.before);
  });

  it('a model that cannot be loaded: no worker thread left', async () => {
    const dataDir = fx.freshDataDir();
    const t = await threadsAroundFailure(
      () =>
        options(dataDir, MORNING, {
          loadModel: () => Promise.reject(new StockflowError('NO_MODEL', 'no usable model (test)')),
        }),
      /no usable model \(test\)/,
    );
    expect(t.after).toBe(t.before);
  });

  it('an abort before extraction (interrupted): no worker thread left', async () => {
    const dataDir = fx.freshDataDir();
    const t = await threadsAroundFailure(() => {
      const c = new AbortController();
      c.abort();
      return options(dataDir, MORNING, { signal: c.signal });
    }, /interrupted/);
    expect(t.after).toBe(t.before);
  });
});

describe("the batch pool's workers", () => {
  it('run with the bounded young generation (WORKER_YOUNG_GENERATION_MB) and no bound on the old one', async () => {
    const { WORKER_YOUNG_GENERATION_MB } = await import('../src/features/pool.js');
    const pool = batchPool(2);
    try {
      await new Promise<void>((resolve) => (pool.threads.length >= 2 ? resolve() : pool.once('workerCreate', () => resolve())));
      expect(pool.threads.length).toBe(2);
      for (const w of pool.threads) {
        expect(w.resourceLimits?.maxYoungGenerationSizeMb).toBe(WORKER_YOUNG_GENERATION_MB);
        // The old generation keeps V8's own limit (unset: Node reports -1; or a default far above what a worker holds), so the bound cannot make a worker fail.
        const old = w.resourceLimits?.maxOldGenerationSizeMb ?? -1;
        expect(old <= 0 || old > 1000).toBe(true);
      }
    } finally {
      await pool.destroy();
    }
  });
});
