import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { StockflowError } from '../src/errors.js';
import { ModelLoader, loaderFromConfig, modelCandidates, type ModelLoaderOptions } from '../src/model/loader.js';
import { registerModel } from '../src/model/registry.js';
import { scoreRows } from '../src/model/score.js';
import { captureLogger, sha256, sigmoid, treeModel, userMeta, writeAliasesFile, writeModel } from './helpers/onnx-fixture.js';

const NF = 25;
let tmp: string;
let modelsDir: string;
const loaders: ModelLoader[] = [];

beforeEach(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'sf-loader-'));
  modelsDir = path.join(tmp, 'models');
});
afterEach(async () => {
  await Promise.all(loaders.splice(0).map((l) => l.close()));
  rmSync(tmp, { recursive: true, force: true });
});

/** Each version gets its own right-leaf score, so a probability tells which model produced it. */
const leafOf = (version: string): number => Number(version.split('.').join('')) / 100; // 1.2.0 → 1.2
const bytesOf = (version: string): Uint8Array => treeModel({ feature: 0, threshold: 0, leftLeaf: -1, rightLeaf: leafOf(version) });
const put = (version: string, name = 'upper-circuit'): string => writeModel(modelsDir, name, version, bytesOf(version));

function loader(opts: Partial<ModelLoaderOptions> = {}): { l: ModelLoader; records: Record<string, unknown>[] } {
  const { log, records } = captureLogger();
  const l = new ModelLoader({ modelsDir, log, retryBaseMs: 1, graceMs: 0, ...opts });
  loaders.push(l);
  return { l, records };
}

const warnings = (records: Record<string, unknown>[], msg = 'model candidate unusable, trying the next'): Record<string, unknown>[] =>
  records.filter((r) => r.level === 40 && r.msg === msg);

/** One row with feature 0 = 1 (> threshold 0): P = sigmoid(right leaf of the version). */
const ROW = (() => {
  const x = new Float32Array(NF);
  x[0] = 1;
  return x;
})();

async function noModel(p: Promise<unknown>): Promise<StockflowError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StockflowError);
  expect((e as StockflowError).kind).toBe('NO_MODEL');
  expect((e as StockflowError).exitCode).toBe(3);
  return e as StockflowError;
}

describe('choosing a model', () => {
  beforeEach(() => {
    for (const v of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) put(v);
    writeAliasesFile(modelsDir, { champion: 'upper-circuit/1.2.0' });
  });

  it('orders candidates: --model, PREFERRED_MODEL_VERSION, champion, newest, then older ones', async () => {
    const c = await modelCandidates(modelsDir, { explicit: '1.0.0', preferredVersion: 'upper-circuit/1.1.0' });
    expect(c.map((x) => [x.source, `${x.name}/${x.version}`])).toEqual([
      ['explicit', 'upper-circuit/1.0.0'],
      ['preferred', 'upper-circuit/1.1.0'],
      ['champion', 'upper-circuit/1.2.0'],
      ['newest', 'upper-circuit/1.3.0'],
    ]);
    const bare = await modelCandidates(modelsDir);
    expect(bare.map((x) => `${x.source} ${x.version}`)).toEqual(['champion 1.2.0', 'newest 1.3.0', 'older 1.1.0', 'older 1.0.0']);
  });

  it.each([
    [{ explicit: '1.0.0', preferredVersion: '1.1.0' }, true, 'upper-circuit/1.0.0', 'explicit'],
    [{ preferredVersion: '1.1.0' }, true, 'upper-circuit/1.1.0', 'preferred'],
    [{}, true, 'upper-circuit/1.2.0', 'champion'],
    [{}, false, 'upper-circuit/1.3.0', 'newest'],
  ] as const)('%j (aliases: %s) → %s', async (opts, withAliases, ref, source) => {
    if (!withAliases) unlinkSync(path.join(modelsDir, 'aliases.json'));
    const { l } = loader(opts);
    const m = await l.current();
    expect(m.ref).toBe(ref);
    expect(l.stats().currentSource).toBe(source);
    // It really scores with that model.
    const [p] = await scoreRows(m, ROW, 1);
    expect(Math.abs(p - sigmoid(leafOf(m.meta.version)))).toBeLessThan(1e-6);
  });

  it('newest means semver order, not string order', async () => {
    unlinkSync(path.join(modelsDir, 'aliases.json'));
    put('1.9.0');
    put('1.10.0');
    put('0.20.0');
    const c = await modelCandidates(modelsDir);
    expect(c.map((x) => x.version)).toEqual(['1.10.0', '1.9.0', '1.3.0', '1.2.0', '1.1.0', '1.0.0', '0.20.0']);
    const { l } = loader();
    expect((await l.current()).ref).toBe('upper-circuit/1.10.0');
  });

  it('reads PREFERRED_MODEL_VERSION from the configuration', async () => {
    const cfg = loadConfig({ modelsDir }, { PREFERRED_MODEL_VERSION: '1.1.0' });
    const l = loaderFromConfig(cfg, { log: captureLogger().log });
    loaders.push(l);
    expect((await l.current()).ref).toBe('upper-circuit/1.1.0');
  });

  it('a malformed --model is a usage error, not a fallback', async () => {
    const { l } = loader({ explicit: '1.0' });
    const e = await l.current().catch((err: unknown) => err);
    expect(e).toBeInstanceOf(StockflowError);
    expect((e as StockflowError).kind).toBe('BAD_ARGS');
  });
});

describe('a candidate that fails falls through to the next, with its reason logged', () => {
  type Damage = (dir: string) => void;
  const damages: [string, Damage, RegExp][] = [
    ['file missing', (dir) => unlinkSync(path.join(dir, 'model.onnx')), /^model\.onnx missing$/],
    ['renamed file', (dir) => renameSync(path.join(dir, 'model.onnx'), path.join(dir, 'model-old.onnx')), /^model\.onnx missing$/],
    [
      'sha256 mismatch after tampering',
      (dir) => {
        const f = path.join(dir, 'model.onnx');
        const b = readFileSync(f);
        b[b.length - 3] ^= 0x01;
        writeFileSync(f, b);
      },
      /^sha256 mismatch: model\.onnx is [0-9a-f]{12}…, model\.json records [0-9a-f]{12}…/,
    ],
    [
      'truncated (sha256 no longer matches)',
      (dir) => {
        const f = path.join(dir, 'model.onnx');
        writeFileSync(f, readFileSync(f).subarray(0, 60));
      },
      /^sha256 mismatch/,
    ],
    [
      'truncated, with a model.json rewritten to match it',
      (dir) => {
        const f = path.join(dir, 'model.onnx');
        const cut = readFileSync(f).subarray(0, 60);
        writeFileSync(f, cut);
        const mf = path.join(dir, 'model.json');
        writeFileSync(mf, JSON.stringify({ ...JSON.parse(readFileSync(mf, 'utf8')), sha256: sha256(cut) }));
      },
      /^not a loadable ONNX model \(corrupt or truncated\?\): .*protobuf parsing failed/,
    ],
    [
      'another feature set',
      (dir) => {
        const mf = path.join(dir, 'model.json');
        writeFileSync(mf, JSON.stringify({ ...JSON.parse(readFileSync(mf, 'utf8')), feature_set_version: '0' }));
      },
      /^feature set version 0 ≠ current 1$/,
    ],
    [
      'wrong input width',
      (dir) => {
        const b = treeModel({ nFeatures: 24 });
        writeFileSync(path.join(dir, 'model.onnx'), b);
        const mf = path.join(dir, 'model.json');
        writeFileSync(mf, JSON.stringify({ ...JSON.parse(readFileSync(mf, 'utf8')), sha256: sha256(b) }));
      },
      /^input 'input' has shape \[N, 24\], expected \[N, 25\]/,
    ],
    ['model.json not JSON', (dir) => writeFileSync(path.join(dir, 'model.json'), '{ nope'), /^model\.json is not valid JSON$/],
  ];

  it.each(damages)('%s', async (_what, damage, reason) => {
    damage(put('1.5.0'));
    put('1.4.0');
    writeAliasesFile(modelsDir, { champion: 'upper-circuit/1.5.0' });
    const { l, records } = loader();
    const m = await l.current();
    // The champion and the newest are the same broken version; the older one serves.
    expect(m.ref).toBe('upper-circuit/1.4.0');
    expect(l.stats().currentSource).toBe('older');
    const w = warnings(records);
    expect(w).toHaveLength(1);
    expect(w[0].candidate).toBe('champion (upper-circuit/1.5.0)');
    expect(w[0].reason).toMatch(reason);
    expect(l.stats().skipped).toEqual([{ candidate: 'champion (upper-circuit/1.5.0)', reason: w[0].reason }]);
  });

  it('none usable: NO_MODEL naming every candidate and its reason', async () => {
    unlinkSync(path.join(put('1.0.0'), 'model.onnx'));
    const d = put('1.1.0');
    writeFileSync(path.join(d, 'model.onnx'), 'garbage');
    writeAliasesFile(modelsDir, { champion: 'upper-circuit/1.1.0' });
    const { l, records } = loader({ explicit: '9.9.9' });
    const e = await noModel(l.current());
    expect(e.message).toBe(
      `no usable model in ${modelsDir}: --model 9.9.9: version 9.9.9 is not registered; ` +
        `champion (upper-circuit/1.1.0): sha256 mismatch: model.onnx is ${sha256(new TextEncoder().encode('garbage')).slice(0, 12)}…, ` +
        `model.json records ${sha256(bytesOf('1.1.0')).slice(0, 12)}… (file changed or damaged); ` +
        `older (upper-circuit/1.0.0): model.onnx missing`,
    );
    expect(warnings(records)).toHaveLength(3);
    expect(l.stats().failedCandidates).toBe(3);
    expect(l.stats().current).toBeNull();
  });

  it('an empty registry: NO_MODEL', async () => {
    const { l } = loader();
    expect((await noModel(l.current())).message).toBe(`no usable model in ${modelsDir}: no model is registered`);
  });

  it('a broken aliases.json is a skipped champion, not a crash', async () => {
    put('1.0.0');
    writeFileSync(path.join(modelsDir, 'aliases.json'), '{ "champion": ');
    const { l, records } = loader();
    expect((await l.current()).ref).toBe('upper-circuit/1.0.0');
    expect(warnings(records)[0].reason).toMatch(/aliases\.json is not valid JSON/);
  });
});

describe('transient read errors', () => {
  const failing = (code: string, times: number, pattern = /model\.onnx$/): { read: (f: string) => Promise<Uint8Array>; calls: string[] } => {
    const calls: string[] = [];
    let left = times;
    return {
      calls,
      read: async (f: string) => {
        calls.push(path.basename(f));
        if (pattern.test(f) && left > 0) {
          left--;
          throw Object.assign(new Error(`${code}: simulated`), { code });
        }
        return readFile(f);
      },
    };
  };

  it('are retried (here twice) and the model loads', async () => {
    put('1.0.0');
    const r = failing('EIO', 2);
    const { l, records } = loader({ readFile: r.read });
    expect((await l.current()).ref).toBe('upper-circuit/1.0.0');
    expect(r.calls.filter((c) => c === 'model.onnx')).toHaveLength(3);
    const retries = warnings(records, 'transient read error, retrying');
    expect(retries.map((x) => [x.code, x.retry, x.waitMs])).toEqual([
      ['EIO', 1, 1],
      ['EIO', 2, 2],
    ]);
    expect(warnings(records)).toHaveLength(0);
  });

  it('after 3 retries the candidate fails and the next is tried', async () => {
    put('1.0.0');
    put('1.1.0');
    const r = failing('EBUSY', 4);
    const { l, records } = loader({ readFile: r.read });
    expect((await l.current()).ref).toBe('upper-circuit/1.0.0');
    expect(warnings(records, 'transient read error, retrying').map((x) => x.waitMs)).toEqual([1, 2, 4]);
    expect(warnings(records)[0].reason).toBe('cannot read model.onnx: EBUSY (still failing after 3 retries)');
  });

  it('a non-transient error is not retried', async () => {
    put('1.0.0');
    put('1.1.0');
    const r = failing('EACCES', 1);
    const { l, records } = loader({ readFile: r.read });
    expect((await l.current()).ref).toBe('upper-circuit/1.0.0');
    expect(warnings(records, 'transient read error, retrying')).toHaveLength(0);
    expect(warnings(records)[0].reason).toBe('cannot read model.onnx: EACCES: simulated');
  });
});

describe('the session cache', () => {
  it('holds at most 3 sessions (LRU), counting hits and misses', async () => {
    for (const v of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) put(v);
    const { l } = loader();
    for (const v of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) expect((await l.get(v)).ref).toBe(`upper-circuit/${v}`);
    let s = l.stats();
    expect(s.cachedSessions).toBe(3);
    expect(new Set(s.cachedRefs)).toEqual(new Set(['upper-circuit/1.1.0', 'upper-circuit/1.2.0', 'upper-circuit/1.3.0']));
    expect(s.openSessions).toBe(3); // the evicted 1.0.0 session was released
    expect([s.cacheHits, s.cacheMisses, s.loads]).toEqual([0, 4, 4]);
    await l.get('upper-circuit/1.3.0'); // hit
    await l.get('1.1.0'); // hit, now most recent
    await l.get('1.0.0'); // miss: evicts the least recently used, 1.2.0
    s = l.stats();
    expect([s.cacheHits, s.cacheMisses, s.loads]).toEqual([2, 5, 5]);
    expect(new Set(s.cachedRefs)).toEqual(new Set(['upper-circuit/1.0.0', 'upper-circuit/1.1.0', 'upper-circuit/1.3.0']));
    expect(s.cachedSessions).toBe(3);
    expect(s.openSessions).toBe(3);
  });

  it('get() of an unusable version is NO_MODEL with the reason', async () => {
    unlinkSync(path.join(put('1.0.0'), 'model.onnx'));
    const { l } = loader();
    expect((await noModel(l.get('1.0.0'))).message).toMatch(/model upper-circuit\/1\.0\.0 .* is unusable: model\.onnx missing$/);
    expect((await noModel(l.get('2.0.0'))).message).toMatch(/version 2\.0\.0 is not registered$/);
  });

  it('counts loads, hits, misses, load time and size', async () => {
    const dir = put('1.0.0');
    const { l } = loader();
    expect(l.stats()).toMatchObject({ current: null, loads: 0, cacheHits: 0, cacheMisses: 0, lastLoadMs: null, modelSizeBytes: null });
    const [a, b] = await Promise.all([l.current(), l.current()]);
    expect(a).toBe(b); // one load shared by concurrent first requests
    await l.current();
    const s = l.stats();
    expect(s.current).toBe('upper-circuit/1.0.0');
    expect(s.loads).toBe(1);
    expect(s.cacheMisses).toBe(2);
    expect(s.cacheHits).toBe(1);
    expect(s.modelSizeBytes).toBe(statSync(path.join(dir, 'model.onnx')).size);
    expect(s.lastLoadMs).toBe(a.loadMs);
    expect(s.lastLoadMs).toBeGreaterThan(0);
    expect(s.loadTimes).toEqual([{ ref: 'upper-circuit/1.0.0', ms: a.loadMs, at: a.loadedAt }]);
  });
});

describe('hot reload', () => {
  it('builds the new model, swaps it in, and a scoring call already running finishes on the old one', async () => {
    put('1.0.0');
    put('1.1.0');
    writeAliasesFile(modelsDir, { champion: 'upper-circuit/1.0.0' });
    // One cached session and no grace period: only the lease keeps the old session open.
    const { l } = loader({ cacheSize: 1, graceMs: 0 });
    const old = await l.current();
    expect(old.ref).toBe('upper-circuit/1.0.0');

    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let sawDuringUse = '';
    const inFlight = l.use(async (m) => {
      sawDuringUse = m.ref;
      await gate; // the reload happens while this request holds the old model
      return scoreRows(m, ROW, 1);
    });
    await Promise.resolve();

    writeAliasesFile(modelsDir, { champion: 'upper-circuit/1.1.0' });
    const reloading = l.reload();
    // Until the new session is built, requests keep getting the old model.
    expect((await l.current()).ref).toBe('upper-circuit/1.0.0');
    const fresh = await reloading;
    expect(fresh.ref).toBe('upper-circuit/1.1.0');
    expect((await l.current()).ref).toBe('upper-circuit/1.1.0');

    let s = l.stats();
    expect(s.openSessions).toBe(2); // the old one is held by the request in flight
    expect(s.inFlight).toBe(1);
    expect(s.cachedRefs).toEqual(['upper-circuit/1.1.0']);

    open();
    const [p] = await inFlight;
    expect(sawDuringUse).toBe('upper-circuit/1.0.0');
    expect(Math.abs(p - sigmoid(leafOf('1.0.0')))).toBeLessThan(1e-6);
    s = l.stats();
    expect(s.inFlight).toBe(0);
    expect(s.openSessions).toBe(1); // released once the request finished
    expect(s.reloads).toBe(1);
    expect(s.loads).toBe(2);
    // New requests score with the new model.
    const [q] = await l.use((m) => scoreRows(m, ROW, 1));
    expect(Math.abs(q - sigmoid(leafOf('1.1.0')))).toBeLessThan(1e-6);
  });

  it('a plain handle stays usable for the grace period after a swap', async () => {
    put('1.0.0');
    put('1.1.0');
    writeAliasesFile(modelsDir, { champion: 'upper-circuit/1.0.0' });
    const { l } = loader({ cacheSize: 1, graceMs: 60_000 });
    const old = await l.current();
    writeAliasesFile(modelsDir, { champion: 'upper-circuit/1.1.0' });
    await l.reload();
    expect(l.stats().openSessions).toBe(2);
    const [p] = await scoreRows(old, ROW, 1);
    expect(Math.abs(p - sigmoid(leafOf('1.0.0')))).toBeLessThan(1e-6);
  });

  it('a reload that finds nothing usable keeps serving the old model', async () => {
    const dir = put('1.0.0');
    const { l } = loader();
    expect((await l.current()).ref).toBe('upper-circuit/1.0.0');
    writeFileSync(path.join(dir, 'model.onnx'), 'broken');
    await noModel(l.reload());
    expect((await l.current()).ref).toBe('upper-circuit/1.0.0');
    const [p] = await l.use((m) => scoreRows(m, ROW, 1));
    expect(Math.abs(p - sigmoid(leafOf('1.0.0')))).toBeLessThan(1e-6);
  });

  it('reloading the same version builds a fresh session from the files', async () => {
    put('1.0.0');
    const { l } = loader();
    const a = await l.current();
    const b = await l.reload();
    expect(b.ref).toBe(a.ref);
    expect(b.session).not.toBe(a.session);
    expect(l.stats().loads).toBe(2);
    expect(l.stats().openSessions).toBe(1);
  });
});

describe('metadata without sessions', () => {
  it('lists the registry without loading any model', async () => {
    put('1.0.0');
    put('1.1.0');
    const { l } = loader();
    const entries = await l.models();
    expect(entries.map((e) => e.ref)).toEqual(['upper-circuit/1.1.0', 'upper-circuit/1.0.0']);
    expect(l.stats().loads).toBe(0);
    put('1.2.0');
    expect((await l.models()).length).toBe(2); // cached within the TTL
    await l.reload();
    expect((await l.models()).length).toBe(3); // a reload refreshes it
  });
});

describe('a model built outside stockflow', () => {
  it('registers and scores through the same path', async () => {
    const spec = { feature: 12, threshold: 2.5, leftLeaf: -2.2, rightLeaf: 1.7 };
    const onnxFile = path.join(tmp, 'external.onnx');
    const metaFile = path.join(tmp, 'external.json');
    writeFileSync(onnxFile, treeModel(spec));
    writeFileSync(metaFile, JSON.stringify(userMeta('3.0.0', { model_type: 'LightGBM' })));
    await registerModel({ modelsDir, onnxFile, metaFile });
    const { l } = loader();
    const m = await l.current();
    expect(m.meta.model_type).toBe('LightGBM');
    const X = new Float32Array(3 * NF);
    X[12] = 0; // ≤ 2.5
    X[NF + 12] = 3; // > 2.5
    X[2 * NF + 12] = 2.5; // ≤ 2.5
    const p = await scoreRows(m, X, 3);
    const want = [sigmoid(-2.2), sigmoid(1.7), sigmoid(-2.2)];
    for (let i = 0; i < 3; i++) expect(Math.abs(p[i] - want[i])).toBeLessThan(1e-6);
  });
});
