/**
 * Issue #16: the explainer's covers and tables built on several threads (prebuildOnPool: background rows
 * split between the calling thread and the workers, their node counts summed; trees dealt round-robin, each
 * thread building its trees' tables) are the one-thread build's to the bit: every cover and every table
 * value compared with Object.is, and the explanations of an explainer built with them equal to the bit
 * too, with a row count that does not divide evenly (a short last part) and with fewer rows than threads.
 * Needs `npm run build` (the workers are the compiled ones).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Piscina } from 'piscina';
import { backgroundCovers, explainer, readModelForm, treeTables, usesTables, type TreeEnsemble } from '../src/model/explain/index.js';
import type { TreeTables } from '../src/model/explain/tables.js';
import { EXPLAIN_WORKER_FILE, prebuildOnPool } from '../src/model/explain/parallel.js';
import { N_FEATURES } from '../src/features/definition.js';
import { ROOT } from './helpers/batch-fixture.js';
import { lcgFeatureRows } from './helpers/rand.js';

const form = readModelForm(readFileSync(path.join(ROOT, 'models', 'upper-circuit', '1.0.0', 'model.onnx'))) as TreeEnsemble;

/** Deterministic rows (a small LCG), NaNs included (test/helpers/rand.ts). */
const rows = (n: number, seed: number): Float32Array => lcgFeatureRows(n, seed, N_FEATURES);

/** Every element of two typed arrays, by Object.is; the first difference, or undefined. */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): string | undefined {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `at ${i}: ${a[i]} vs ${b[i]}`;
  return undefined;
}

function sameTables(a: TreeTables | null, b: TreeTables | null): string | undefined {
  if (a === null || b === null) return a === b ? undefined : 'null vs tables';
  for (const k of Object.keys(b) as (keyof TreeTables)[]) {
    const x = a[k];
    const y = b[k];
    if (ArrayBuffer.isView(y)) {
      const d = firstDiff(x as ArrayLike<number>, y as ArrayLike<number>);
      if (d) return `${k} ${d}`;
    } else if (!Object.is(x, y)) return `${k}: ${String(x)} vs ${String(y)}`;
  }
  return undefined;
}

describe('the explainer built on several threads = built on one', () => {
  let pool: Piscina;
  beforeAll(() => {
    pool = new Piscina({ filename: EXPLAIN_WORKER_FILE, minThreads: 2, maxThreads: 2 });
  });
  afterAll(async () => pool?.destroy());

  it('the shipped model has no covers of its own and uses tables (what this test exercises)', () => {
    expect(form.kind).toBe('trees');
    expect(form.hasCovers).toBe(false);
    expect(usesTables(form)).toBe(true);
  });

  for (const n of [2501, 2]) {
    it(`${n} background rows on the calling thread and 2 workers: covers, tables and explanations to the bit`, async () => {
      const X = rows(n, 7 + n);
      const bg = { X, n };
      const pre = await prebuildOnPool(pool, 2, form, bg);
      expect(pre.rows).toBe(n);
      // the oracle: the one-thread build, as explainer() does it
      const covers = backgroundCovers(form, bg);
      expect(pre.covers.length).toBe(covers.length);
      covers.forEach((c, k) => expect(firstDiff(pre.covers[k], c), `tree ${k} covers`).toBeUndefined());
      expect(covers[0][0]).toBe(n);
      expect(pre.tables?.length).toBe(form.trees.length);
      form.trees.forEach((_, k) => expect(sameTables(pre.tables![k], treeTables(form, k, covers[k])), `tree ${k} tables`).toBeUndefined());
      // in shared memory, ready for the explain chunks (no copy per task)
      expect(pre.covers.every((c) => c.buffer instanceof SharedArrayBuffer)).toBe(true);
      expect(pre.tables!.every((t) => t === null || t.table.buffer instanceof SharedArrayBuffer)).toBe(true);

      const one = explainer(form, { background: bg });
      const withPre = explainer(form, { background: bg, covers: { covers: pre.covers, rows: pre.rows }, tables: pre.tables });
      expect(withPre.base).toBe(one.base);
      expect(withPre.backgroundRows).toBe(one.backgroundRows);
      const Y = rows(300, 99);
      const a = one.explain(Y, 300);
      const b = withPre.explain(Y, 300);
      expect(firstDiff(b.values, a.values)).toBeUndefined();
      expect(firstDiff(b.margin, a.margin)).toBeUndefined();
    }, 60_000);
  }
});
