/**
 * The three ways features reach a consumer must agree exactly with the
 * single-threaded extraction: the piscina pool (any thread count), the
 * server's one-stock-at-a-time OnlineFeatures (computed or read back from the
 * offline store), and the `stockflow features` command.
 *
 * The pool runs the compiled worker (dist/workers/extract.js) and the command
 * runs bin/stockflow, so both need the build (`npm test` builds first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { generateMarket } from '../src/demo/generate.js';
import { FEATURE_NAMES, FEATURE_SET_VERSION, N_FEATURES } from '../src/features/definition.js';
import { OnlineFeatures } from '../src/features/online.js';
import { TASK_SIZE, WORKER_FILE } from '../src/features/pool.js';
import { computeFeatures, type FeatureSet } from '../src/features/service.js';
import { openMarketReadonly, type Db } from '../src/market/db.js';
import { activeStocks } from '../src/market/reader.js';
import type { Stock } from '../src/market/types.js';
import { openPredictionsForWrite } from './helpers/predictions-db.js';
import { PredictionsStore } from '../src/predictions/store.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STOCKS = 230;
const DAYS = 300;
/** The morning after the generated market's last session. */
const D = '2025-11-14';

/** The compiled files these tests run must be at least as new as their sources. */
function assertBuilt(): void {
  const pairs: [string, string][] = [
    ['workers/extract.ts', WORKER_FILE],
    ...['extract', 'inputs', 'indicators', 'financial', 'events', 'definition', 'pool', 'service', 'context'].map(
      (f): [string, string] => [`src/features/${f}.ts`, path.join(ROOT, 'dist', 'src', 'features', `${f}.js`)],
    ),
    ['src/cli/features.ts', path.join(ROOT, 'dist', 'src', 'cli', 'features.js')],
  ];
  for (const [src, out] of pairs) {
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(path.join(ROOT, src)).mtimeMs) {
      throw new Error(`${path.relative(ROOT, out)} is missing or older than ${src}: run 'npm run build' (npm test does) before this file`);
    }
  }
}

let dir: string;
let file: string;
let db: Db;
let stocks: Stock[];
let single: FeatureSet;

const bytes = (a: Float32Array | Uint8Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const rowOf = (fs: FeatureSet, code: string): Float32Array => {
  const i = fs.block.codes.indexOf(code);
  if (i < 0) throw new Error(`${code} not scored`);
  return fs.block.values.slice(i * N_FEATURES, (i + 1) * N_FEATURES);
};

beforeAll(async () => {
  assertBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'stockflow-pool-'));
  file = path.join(dir, 'market.db');
  await generateMarket({ file, stocks: STOCKS, days: DAYS, seed: 99 });
  db = openMarketReadonly(file);
  stocks = activeStocks(db);
  single = await computeFeatures(db, file, stocks, D, { threads: 0 });
});

afterAll(() => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('worker pool = single thread', () => {
  it('the market spans several tasks and has skips and imputed rows', () => {
    expect(stocks.length).toBeGreaterThan(2 * TASK_SIZE);
    expect(single.block.skips.length).toBeGreaterThan(0);
    expect(single.imputed.some((n) => n >= 6)).toBe(true);
    // Rows and skips keep the input order; every stock is one or the other.
    const skipped = new Set(single.block.skips.map((s) => s.bse_code));
    expect(single.block.codes).toEqual(stocks.map((s) => s.bse_code).filter((c) => !skipped.has(c)));
    expect(single.block.skips.map((s) => s.bse_code)).toEqual(stocks.map((s) => s.bse_code).filter((c) => skipped.has(c)));
  });

  for (const threads of [1, 2]) {
    it(`${threads} worker thread(s): identical codes, values (bytes), as-of sessions, skips and imputed counts`, async () => {
      const progress: [number, number][] = [];
      const pooled = await computeFeatures(db, file, stocks, D, { threads, onProgress: (d, t) => progress.push([d, t]) });
      expect(pooled.ctx).toEqual(single.ctx);
      expect(pooled.block.codes).toEqual(single.block.codes);
      expect(pooled.block.lastBar).toEqual(single.block.lastBar);
      expect(pooled.block.skips).toEqual(single.block.skips);
      expect(bytes(pooled.block.values).equals(bytes(single.block.values))).toBe(true);
      expect(bytes(pooled.imputed).equals(bytes(single.imputed))).toBe(true);
      expect(progress[0]).toEqual([0, stocks.length]);
      expect(progress.at(-1)).toEqual([stocks.length, stocks.length]);
      for (let k = 1; k < progress.length; k++) expect(progress[k][0]).toBeGreaterThanOrEqual(progress[k - 1][0]);
    });
  }
});

describe('OnlineFeatures (one stock at a time) = the batch', () => {
  it('computes each row exactly as the batch does, imputed ones included, and caches it', () => {
    const noResults = new Set(db.prepare('SELECT bse_code FROM master_stock_list WHERE bse_code NOT IN (SELECT bse_code FROM quarterly_results)').pluck().all() as string[]);
    const imputedCode = single.block.codes.find((c) => noResults.has(c));
    expect(imputedCode).toBeDefined();
    const codes = [single.block.codes[0], single.block.codes[1], single.block.codes.at(-1)!, imputedCode!];
    const online = new OnlineFeatures(db);
    for (const code of codes) {
      const got = online.get(code, D);
      expect(got.ok).toBe(true);
      if (!got.ok) continue;
      expect(got.row.source).toBe('computed');
      expect(got.row.asOf).toBe(single.ctx.asOf);
      expect(got.row.featureSetVersion).toBe(FEATURE_SET_VERSION);
      expect(bytes(got.row.values).equals(bytes(rowOf(single, code)))).toBe(true);
      expect(got.row.imputed).toBe(single.imputed[single.block.codes.indexOf(code)]);
    }
    expect(online.stats).toEqual({ hits: 0, misses: codes.length, storeHits: 0 });
    const again = online.get(imputedCode!, D);
    expect(again.ok && again.row.imputed).toBeGreaterThanOrEqual(6);
    expect(online.stats).toEqual({ hits: 1, misses: codes.length, storeHits: 0 });
  });

  it('answers a skipped stock with the batch skip, and an unknown code as UNKNOWN_STOCK', () => {
    const online = new OnlineFeatures(db);
    const skip = single.block.skips[0];
    expect(online.get(skip.bse_code, D)).toMatchObject({ ok: false, skip });
    expect(online.get('999999', D)).toMatchObject({ ok: false, skip: { bse_code: '999999', reason: 'UNKNOWN_STOCK' } });
  });

  it('answers from predictions.db feature_values when the batch stored a row (source store)', () => {
    const pdb = openPredictionsForWrite(path.join(dir, 'pred'));
    try {
      const [stored, other] = single.block.codes;
      const values = FEATURE_NAMES.map((_, j) => (j + 1) / 8); // exact in float32
      const ins = pdb.prepare(
        `INSERT INTO feature_values (bse_code, prediction_date, as_of_date, feature_set_version, ${FEATURE_NAMES.join(', ')}, imputed_count)
         VALUES (${new Array(N_FEATURES + 5).fill('?').join(', ')})`,
      );
      ins.run(stored, D, '2025-11-12', FEATURE_SET_VERSION, ...values, 3);
      // A row of another feature-set version is not an answer for this one.
      ins.run(other, D, '2025-11-12', `${FEATURE_SET_VERSION}-old`, ...values, 3);
      const store = PredictionsStore.openReadonly(path.join(dir, 'pred'));
      onTestFinished(() => store.close());
      const online = new OnlineFeatures(db, (code, date) => store.storedFeatures(code, date));
      const got = online.get(stored, D);
      expect(got).toMatchObject({ ok: true, row: { source: 'store', asOf: '2025-11-12', imputed: 3, date: D } });
      expect(got.ok && Array.from(got.row.values)).toEqual(values);
      const computed = online.get(other, D);
      expect(computed.ok && computed.row.source).toBe('computed');
      expect(computed.ok && bytes(computed.row.values).equals(bytes(rowOf(single, other)))).toBe(true);
      expect(online.stats).toEqual({ hits: 0, misses: 2, storeHits: 1 });
      online.get(stored, D);
      expect(online.stats).toEqual({ hits: 1, misses: 2, storeHits: 1 });
    } finally {
      pdb.close();
    }
  });
});

describe('stockflow features (CLI)', () => {
  const CLI = path.join(ROOT, 'bin', 'stockflow');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, 'features', ...args, '--data-dir', dir], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'warn' } });

  let picked: string[];
  let skipped: { bse_code: string; reason: string; detail: string };
  beforeAll(() => {
    const imputed = single.block.codes.find((_, i) => single.imputed[i] >= 6)!;
    picked = [single.block.codes[5], imputed];
    skipped = single.block.skips[0];
  });

  it('CSV: header, one row per scored code with the batch values; skips on stderr', () => {
    const r = run('--date', D, '--codes', [...picked, skipped.bse_code, '999999'].join(','));
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(['bse_code', ...FEATURE_NAMES].join(','));
    expect(lines).toHaveLength(1 + picked.length);
    const byCode = new Map(lines.slice(1).map((l) => [l.split(',')[0], l.split(',').slice(1)]));
    expect([...byCode.keys()].sort()).toEqual([...picked].sort());
    for (const code of picked) {
      const want = rowOf(single, code);
      const got = byCode.get(code)!;
      expect(got).toHaveLength(N_FEATURES);
      got.forEach((v, j) => expect(Math.fround(Number(v)), `${code} ${FEATURE_NAMES[j]}`).toBe(want[j]));
    }
    const err = r.stderr.trimEnd().split('\n');
    expect(err).toContain(`skipped ${skipped.bse_code}: ${skipped.reason} (${skipped.detail})`);
    expect(err).toContain('skipped 999999: UNKNOWN_STOCK or not ACTIVE');
    expect(err).toHaveLength(2);
  });

  it('JSON with --threads 0: the same values, the as-of session and the imputed counts', () => {
    const r = run('--date', D, '--codes', picked.join(','), '--format', 'json', '--threads', '0');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { date: string; as_of: string; feature_names: string[]; rows: { bse_code: string; imputed: number; features: Record<string, number> }[] };
    expect(out.date).toBe(D);
    expect(out.as_of).toBe(single.ctx.asOf);
    expect(out.feature_names).toEqual([...FEATURE_NAMES]);
    expect(out.rows.map((x) => x.bse_code).sort()).toEqual([...picked].sort());
    for (const row of out.rows) {
      const want = rowOf(single, row.bse_code);
      expect(Object.keys(row.features)).toEqual([...FEATURE_NAMES]);
      FEATURE_NAMES.forEach((n, j) => expect(Math.fround(row.features[n]), n).toBe(want[j]));
      expect(row.imputed).toBe(single.imputed[single.block.codes.indexOf(row.bse_code)]);
    }
  });

  it('a bad date exits 2 with one line on stderr', () => {
    const r = run('--date', '2025-02-30');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^stockflow: .*2025-02-30.*\n$/);
  });
});

describe('the pool needs a market file it can open', () => {
  it('a worker reading a missing database rejects instead of hanging', async () => {
    const missing = path.join(dir, 'nope', 'market.db');
    await expect(computeFeatures(db, missing, stocks.slice(0, 3), D, { threads: 1 })).rejects.toThrow(/no market data at/);
  });
});
