/**
 * Issue #16: the batch's explanations on several threads (explainParallel:
 * the calling thread and workers, chunks of rows) are exactly those of
 * explain() on one thread, bit for bit, for the shipped model with covers
 * from background rows (shared with the workers) and for a model whose covers
 * are its own; and on the batch's one pool (workers/batch.ts: the extraction
 * workers, warm, take the explain chunks; no second pool is started). Needs
 * `npm run build` (the workers are the compiled ones).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { explainerFromOnnx, readModelForm, explainer, explainerFromShared } from '../src/model/explain/index.js';
import { EXPLAIN_CHUNK_ROWS, EXPLAIN_WORKER_FILE, explainParallel } from '../src/model/explain/parallel.js';
import { N_FEATURES } from '../src/features/definition.js';
import { buildMarketFixture, MORNING, ROOT, type MarketFixture } from './helpers/batch-fixture.js';
import { runBatch } from '../src/batch/run.js';
import { loadScoringModel } from '../src/model/scoring-model.js';
import { createLogger } from '../src/log.js';
import type { ScoringModel } from '../src/model/types.js';
import { StockflowError } from '../src/errors.js';
import { BATCH_WORKER_FILE, batchPool, poolSize } from '../src/features/pool.js';
import { computeFeatures } from '../src/features/service.js';
import { openMarketReadonly } from '../src/market/db.js';
import { activeStocks } from '../src/market/reader.js';
import { lcgFeatureRows } from './helpers/rand.js';

const bytes = readFileSync(path.join(ROOT, 'models', 'upper-circuit', '1.0.0', 'model.onnx'));
const buf = (a: Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Deterministic rows (a small LCG), NaNs included (test/helpers/rand.ts). */
const rows = (n: number, seed: number): Float32Array => lcgFeatureRows(n, seed, N_FEATURES);

describe('explainParallel = explain on one thread', () => {
  it('the worker is built', () => expect(existsSync(EXPLAIN_WORKER_FILE)).toBe(true));

  it('covers from background rows: 3 threads give the same bits as 1, over several chunks and a short last one', async () => {
    const bg = rows(3000, 1);
    const ex = explainerFromOnnx(bytes, { background: { X: bg, n: 3000 } });
    expect(ex.coverSource).toBe('background');
    const n = EXPLAIN_CHUNK_ROWS * 5 + 37;
    const X = rows(n, 2);
    const one = ex.explain(X, n);
    const many = await explainParallel(ex, X, n, { threads: 3 });
    expect(many.base).toBe(one.base);
    expect(buf(many.values).equals(buf(one.values))).toBe(true);
    expect(buf(many.margin).equals(buf(one.margin))).toBe(true);
  });

  it('a shared explainer rebuilt elsewhere has the same covers, base and values', () => {
    const bg = rows(500, 3);
    const ex = explainerFromOnnx(bytes, { background: { X: bg, n: 500 } });
    const shared = ex.share();
    expect(shared).toBeDefined();
    const again = explainerFromShared(structuredClone(shared!));
    expect(again.base).toBe(ex.base);
    expect(again.backgroundRows).toBe(500);
    const X = rows(100, 4);
    expect(buf(again.explain(X, 100).values).equals(buf(ex.explain(X, 100).values))).toBe(true);
    // Different background rows give different covers: the rebuilt explainer is not merely the model's defaults.
    const other = explainerFromOnnx(bytes, { background: { X: rows(500, 9), n: 500 } });
    expect(buf(other.explain(X, 100).values).equals(buf(ex.explain(X, 100).values))).toBe(false);
  });

  it('one thread, or fewer rows than two chunks, stays on the calling thread with the same answer', async () => {
    const form = readModelForm(bytes);
    const ex = explainer(form, { background: { X: rows(200, 5), n: 200 } });
    const X = rows(50, 6);
    const one = ex.explain(X, 50);
    for (const threads of [1, 4]) {
      const r = await explainParallel(ex, X, 50, { threads });
      expect(buf(r.values).equals(buf(one.values))).toBe(true);
    }
  });
});

describe('the batch\u2019s one pool: extraction, then the explain chunks on the same warm threads', () => {
  let fx: MarketFixture;
  beforeAll(async () => {
    fx = await buildMarketFixture({ stocks: 900, days: 300, seed: 11 });
  }, 120_000);
  afterAll(() => fx?.cleanup());

  it('the worker is built', () => expect(existsSync(BATCH_WORKER_FILE)).toBe(true));

  it('features and explanations equal one thread\u2019s to the bit; the explain tasks ran on the pool, which is left running', async () => {
    const db = openMarketReadonly(fx.marketFile);
    try {
      const stocks = activeStocks(db);
      const threads = 3;
      const single = await computeFeatures(db, fx.marketFile, stocks, MORNING, { threads: 0 });
      const pool = batchPool(threads, stocks.length);
      try {
        expect(pool.threads.length).toBe(poolSize(threads, stocks.length));
        const pooled = await computeFeatures(db, fx.marketFile, stocks, MORNING, { threads, pool });
        expect(pooled.block.codes).toEqual(single.block.codes);
        expect(Buffer.from(pooled.block.values.buffer).equals(Buffer.from(single.block.values.buffer))).toBe(true);
        const extracted = pool.completed;
        expect(extracted).toBeGreaterThan(0);

        const n = pooled.block.codes.length;
        // the batch's background: the run's own rows
        const ex = explainerFromOnnx(bytes, { background: { X: pooled.block.values, n } });
        const one = ex.explain(pooled.block.values, n);
        const many = await explainParallel(ex, pooled.block.values, n, { threads, pool });
        expect(many.base).toBe(one.base);
        expect(buf(many.values).equals(buf(one.values))).toBe(true);
        expect(buf(many.margin).equals(buf(one.margin))).toBe(true);
        // the pool's two workers (threads − 1) each loaded the explainer (a prepare task) and took the first
        // chunks (each takes one before the calling thread takes any: n rows are four chunks); the pool still runs
        expect(n).toBeGreaterThan(3 * EXPLAIN_CHUNK_ROWS);
        expect(pool.completed - extracted).toBeGreaterThanOrEqual(2 + 2);
        const again = await explainParallel(ex, pooled.block.values, n, { threads, pool });
        expect(buf(again.values).equals(buf(one.values))).toBe(true);
      } finally {
        await pool.destroy();
      }
    } finally {
      db.close();
    }
  }, 120_000);
});

describe('the batch stopped while it explains on several threads', () => {
  let fx: MarketFixture;
  beforeAll(async () => {
    fx = await buildMarketFixture({ stocks: 340, days: 300, seed: 5 });
  }, 120_000);
  afterAll(() => fx?.cleanup());

  it('ends interrupted (exit-code kind INTERRUPTED, batch_runs status interrupted), not failed', async () => {
    const dataDir = fx.freshDataDir();
    const ac = new AbortController();
    const log = createLogger('silent', false);
    let model: ScoringModel | undefined;
    const run = runBatch({
      dataDir,
      date: MORNING,
      threads: 2,
      log,
      signal: ac.signal,
      // The shipped model (no covers of its own: the explainer is built from the run's rows); the signal fires as the explain stage starts.
      loadModel: async (l) => {
        const m = await loadScoringModel({ modelsDir: path.join(ROOT, 'models') }, { log: l });
        model = m;
        return {
          ...m,
          explainer: (bg) => {
            ac.abort();
            return m.explainer(bg);
          },
        };
      },
    }).finally(() => model?.release());
    const e = await run.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(StockflowError);
    expect((e as StockflowError).kind).toBe('INTERRUPTED');
    const db = new Database(path.join(dataDir, 'predictions.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT status FROM batch_runs').pluck().all()).toEqual(['interrupted']);
    } finally {
      db.close();
    }
  }, 120_000);
});
