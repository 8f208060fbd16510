import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import { Command } from 'commander';
import { registerModels } from '../src/cli/models.js';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StockflowError } from '../src/errors.js';
import { findModel, listModels, promoteModel, readAliases, registerModel } from '../src/model/registry.js';
import { FEATURE_NAMES_V1, treeModel, userMeta, writeModel } from './helpers/onnx-fixture.js';

let tmp: string;
let modelsDir: string;

beforeEach(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'sf-registry-'));
  modelsDir = path.join(tmp, 'models');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function files(bytes: Uint8Array, meta: unknown, stem = 'candidate'): { onnxFile: string; metaFile: string } {
  const onnxFile = path.join(tmp, `${stem}.onnx`);
  const metaFile = path.join(tmp, `${stem}.json`);
  writeFileSync(onnxFile, bytes);
  writeFileSync(metaFile, JSON.stringify(meta));
  return { onnxFile, metaFile };
}

async function refusal(p: Promise<unknown>): Promise<StockflowError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'expected a refusal').toBeInstanceOf(StockflowError);
  return e as StockflowError;
}

const hashOf = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('register, list, show, promote', () => {
  it('registers a model built outside stockflow, filling in the metadata and keeping unknown fields', async () => {
    const bytes = treeModel();
    const now = new Date('2025-08-01T10:00:00.000Z');
    const r = await registerModel({
      modelsDir,
      ...files(bytes, userMeta('1.2.0', { model_type: 'XGBoost', notes: { by: 'analyst', tags: ['a', 'b'] }, custom_score: 3.5 })),
      now,
    });
    const dir = path.join(modelsDir, 'upper-circuit', '1.2.0');
    expect(r.dir).toBe(dir);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'model.onnx']);
    // The file was copied byte for byte.
    expect(Buffer.compare(readFileSync(path.join(dir, 'model.onnx')), Buffer.from(bytes))).toBe(0);
    const stored = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    expect(stored).toEqual({
      version: '1.2.0',
      model_type: 'XGBoost',
      feature_names: FEATURE_NAMES_V1,
      notes: { by: 'analyst', tags: ['a', 'b'] },
      custom_score: 3.5,
      name: 'upper-circuit',
      feature_set_version: '1',
      created_at: '2025-08-01T10:00:00.000Z',
      sha256: hashOf(bytes),
      n_features: 25,
    });
    // No temporary directory is left behind.
    expect(readdirSync(path.join(modelsDir, 'upper-circuit'))).toEqual(['1.2.0']);
  });

  it('lists, shows and promotes, writing aliases.json', async () => {
    await registerModel({ modelsDir, ...files(treeModel({ doc: 'a' }), userMeta('1.0.0', { metrics: { roc_auc: 0.61 }, trained_until: '2025-05-30' }), 'a') });
    await registerModel({ modelsDir, ...files(treeModel({ doc: 'b' }), userMeta('1.10.0', { model_type: 'LightGBM' }), 'b') });
    await registerModel({ modelsDir, ...files(treeModel({ doc: 'c' }), userMeta('1.9.0'), 'c'), name: 'xgb-uc' });

    const list = await listModels(modelsDir);
    // Sorted by name, newest version first (semver, not string order: 1.10.0 > 1.0.0).
    expect(list.map((e) => e.ref)).toEqual(['upper-circuit/1.10.0', 'upper-circuit/1.0.0', 'xgb-uc/1.9.0']);
    expect(list.every((e) => e.problem === undefined && e.meta !== null)).toBe(true);
    expect(list[1].meta?.metrics?.roc_auc).toBe(0.61);
    expect(list[0].meta?.model_type).toBe('LightGBM');

    expect(await promoteModel(modelsDir, '1.0.0')).toEqual({ alias: 'champion', ref: 'upper-circuit/1.0.0' });
    expect(JSON.parse(readFileSync(path.join(modelsDir, 'aliases.json'), 'utf8'))).toEqual({ champion: 'upper-circuit/1.0.0' });
    expect(await promoteModel(modelsDir, 'xgb-uc/1.9.0', 'challenger')).toEqual({ alias: 'challenger', ref: 'xgb-uc/1.9.0' });
    expect(await promoteModel(modelsDir, 'upper-circuit/1.10.0', 'champion')).toEqual({
      alias: 'champion',
      ref: 'upper-circuit/1.10.0',
      previous: 'upper-circuit/1.0.0',
    });
    expect(JSON.parse(readFileSync(path.join(modelsDir, 'aliases.json'), 'utf8'))).toEqual({
      champion: 'upper-circuit/1.10.0',
      challenger: 'xgb-uc/1.9.0',
    });
    expect(readdirSync(modelsDir).sort()).toEqual(['aliases.json', 'upper-circuit', 'xgb-uc']);

    const shown = await findModel(modelsDir, '1.10.0');
    expect(shown.ref).toBe('upper-circuit/1.10.0');
    expect(shown.aliases).toEqual(['champion']);
    expect((await findModel(modelsDir, 'xgb-uc/1.9.0')).aliases).toEqual(['challenger']);
    expect((await findModel(modelsDir, 'upper-circuit/1.0.0')).aliases).toEqual([]);

    const missing = await refusal(findModel(modelsDir, '3.0.0'));
    expect(missing.kind).toBe('MISSING_INPUT');
    expect(missing.message).toMatch(/version 3\.0\.0 is not registered/);
    const badAlias = await refusal(promoteModel(modelsDir, '1.0.0', 'production'));
    expect(badAlias.kind).toBe('BAD_ARGS');
    expect(await readAliases(modelsDir)).toEqual({ champion: 'upper-circuit/1.10.0', challenger: 'xgb-uc/1.9.0' });
  });

  it('an empty or absent registry lists nothing', async () => {
    expect(await listModels(modelsDir)).toEqual([]);
  });

  it('promote refuses a registered version whose file was damaged since', async () => {
    const dir = writeModel(modelsDir, 'upper-circuit', '2.0.0', treeModel());
    const onnx = path.join(dir, 'model.onnx');
    writeFileSync(onnx, readFileSync(onnx).subarray(0, 100));
    const e = await refusal(promoteModel(modelsDir, '2.0.0'));
    expect(e.kind).toBe('BAD_ARGS');
    expect(e.message).toMatch(/cannot promote upper-circuit\/2\.0\.0: sha256 mismatch/);
    expect(existsSync(path.join(modelsDir, 'aliases.json'))).toBe(false);
  });
});

describe('register refuses bad models and metadata, writing nothing', () => {
  const good = (): Uint8Array => treeModel();
  const cases: [string, () => { bytes: Uint8Array; meta: unknown; name?: string }, 'BAD_ARGS' | 'MISSING_INPUT', RegExp][] = [
    [
      'corrupt bytes',
      () => {
        const b = Uint8Array.from(good());
        for (let i = 8; i < b.length; i += 5) b[i] ^= 0xa5;
        return { bytes: b, meta: userMeta('1.0.0') };
      },
      'BAD_ARGS',
      /refused: not a loadable ONNX model/,
    ],
    ['truncated file', () => ({ bytes: good().subarray(0, Math.floor(good().length / 2)), meta: userMeta('1.0.0') }), 'BAD_ARGS', /refused: not a loadable ONNX model/],
    ['not ONNX at all', () => ({ bytes: new TextEncoder().encode('{"hello": "world"}'), meta: userMeta('1.0.0') }), 'BAD_ARGS', /refused: not a loadable ONNX model/],
    ['wrong input width', () => ({ bytes: treeModel({ nFeatures: 24 }), meta: userMeta('1.0.0') }), 'BAD_ARGS', /refused: input 'input' has shape \[N, 24\], expected \[N, 25\]/],
    [
      'missing probabilities output',
      () => ({ bytes: treeModel({ outputs: 'no-probabilities' }), meta: userMeta('1.0.0') }),
      'BAD_ARGS',
      /refused: no output named 'probabilities' \(outputs: label, scores\)/,
    ],
    ['ZipMap output', () => ({ bytes: treeModel({ outputs: 'zipmap' }), meta: userMeta('1.0.0') }), 'BAD_ARGS', /ZipMap\? convert with zipmap=False/],
    [
      'feature names differing at two positions',
      () => {
        const names = [...FEATURE_NAMES_V1];
        [names[2], names[3]] = [names[3], names[2]];
        names[24] = 'earnings_surprise';
        return { bytes: good(), meta: userMeta('1.0.0', { feature_names: names }) };
      },
      'BAD_ARGS',
      /feature names differ from feature set 1: #3: expected ret_60d, got rsi_14; #4: expected rsi_14, got ret_60d; #25: expected earnings_window_uc_rate, got earnings_surprise$/,
    ],
    [
      'one feature missing',
      () => ({ bytes: good(), meta: userMeta('1.0.0', { feature_names: FEATURE_NAMES_V1.slice(0, 24) }) }),
      'BAD_ARGS',
      /expected 25 features, got 24; #25: expected earnings_window_uc_rate, got \(none\)/,
    ],
    ['another feature set version', () => ({ bytes: good(), meta: userMeta('1.0.0', { feature_set_version: '2' }) }), 'BAD_ARGS', /feature_set_version 2 ≠ current 1/],
    ['bad semver', () => ({ bytes: good(), meta: userMeta('1.2') }), 'BAD_ARGS', /version "1\.2" is not semver/],
    ['version with a path in it', () => ({ bytes: good(), meta: userMeta('../../1.0.0') }), 'BAD_ARGS', /is not semver/],
    ['path-escaping name', () => ({ bytes: good(), meta: userMeta('1.0.0'), name: '../outside' }), 'BAD_ARGS', /model name '\.\.\/outside' is not allowed/],
    ['name with a slash', () => ({ bytes: good(), meta: userMeta('1.0.0'), name: 'a/b' }), 'BAD_ARGS', /model name 'a\/b' is not allowed/],
    ['dot-dot name', () => ({ bytes: good(), meta: userMeta('1.0.0'), name: 'a..b' }), 'BAD_ARGS', /model name 'a\.\.b' is not allowed/],
    ['name in the metadata escaping', () => ({ bytes: good(), meta: userMeta('1.0.0', { name: '..' }) }), 'BAD_ARGS', /name "\.\." is not an allowed model name/],
    ['missing required fields', () => ({ bytes: good(), meta: { version: '1.0.0' } }), 'BAD_ARGS', /missing required fields model_type, feature_names/],
    ['sha256 that does not match', () => ({ bytes: good(), meta: userMeta('1.0.0', { sha256: 'ab'.repeat(32) }) }), 'BAD_ARGS', /sha256 abababababab… does not match/],
    ['n_features that does not match', () => ({ bytes: good(), meta: userMeta('1.0.0', { n_features: 26 }) }), 'BAD_ARGS', /n_features 26 ≠ 25 feature names/],
  ];

  it.each(cases)('%s', async (_what, make, kind, message) => {
    const c = make();
    const e = await refusal(registerModel({ modelsDir, ...files(c.bytes, c.meta), name: c.name }));
    expect(e.kind).toBe(kind);
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain('\n');
    // Nothing was written, inside or outside the registry.
    expect(existsSync(modelsDir) ? readdirSync(modelsDir, { recursive: true }) : []).toEqual([]);
    expect(readdirSync(tmp).sort()).toEqual(['candidate.json', 'candidate.onnx']);
  });

  it('a duplicate version is refused and the registered one is untouched', async () => {
    const first = treeModel({ doc: 'first' });
    await registerModel({ modelsDir, ...files(first, userMeta('1.0.0'), 'first') });
    const e = await refusal(registerModel({ modelsDir, ...files(treeModel({ doc: 'second' }), userMeta('1.0.0'), 'second') }));
    expect(e.kind).toBe('BAD_ARGS');
    expect(e.message).toMatch(/upper-circuit\/1\.0\.0 is already registered/);
    expect(hashOf(readFileSync(path.join(modelsDir, 'upper-circuit', '1.0.0', 'model.onnx')))).toBe(hashOf(first));
  });

  it('missing files are MISSING_INPUT; malformed JSON is BAD_ARGS', async () => {
    const { onnxFile, metaFile } = files(treeModel(), userMeta('1.0.0'));
    const noOnnx = await refusal(registerModel({ modelsDir, onnxFile: path.join(tmp, 'nope.onnx'), metaFile }));
    expect(noOnnx.kind).toBe('MISSING_INPUT');
    expect(noOnnx.message).toMatch(/model file .*nope\.onnx does not exist/);
    const noMeta = await refusal(registerModel({ modelsDir, onnxFile, metaFile: path.join(tmp, 'nope.json') }));
    expect(noMeta.kind).toBe('MISSING_INPUT');
    writeFileSync(metaFile, '{ "version": "1.0.0", ');
    const badJson = await refusal(registerModel({ modelsDir, onnxFile, metaFile }));
    expect(badJson.kind).toBe('BAD_ARGS');
    expect(badJson.message).toMatch(/is not valid JSON/);
  });

  it('accepts a numeric feature_set_version equal to the current one', async () => {
    const r = await registerModel({ modelsDir, ...files(treeModel(), userMeta('0.1.0', { feature_set_version: 1 })) });
    expect(r.meta.feature_set_version).toBe('1');
  });
});

describe('the models command', () => {
  async function cli(...args: string[]): Promise<string> {
    const program = new Command().exitOverride();
    registerModels(program);
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      await program.parseAsync(['node', 'stockflow', 'models', ...args, '--models-dir', modelsDir]);
    } finally {
      spy.mockRestore();
    }
    expect(process.exitCode ?? 0).toBe(0);
    return out;
  }

  it('register, promote, list and show print what happened', async () => {
    const { onnxFile, metaFile } = files(treeModel(), userMeta('1.2.0', { model_type: 'XGBoost', metrics: { roc_auc: 0.6789 }, trained_until: '2025-06-30' }));
    expect(await cli('list')).toBe(`no models registered in ${modelsDir}\n`);
    expect(await cli('register', onnxFile, '--meta', metaFile)).toMatch(/^registered upper-circuit\/1\.2\.0 \(XGBoost, [\d.]+ kB, sha256 [0-9a-f]{12}…\)/);
    expect(await cli('promote', '1.2.0')).toBe('champion → upper-circuit/1.2.0\n');
    expect((await cli('list')).split('\n')).toEqual([
      'NAME           VERSION  TYPE     FEATURE SET  ROC-AUC  TRAINED UNTIL  DRIFT REF  ALIASES',
      'upper-circuit  1.2.0    XGBoost  1            0.679    2025-06-30     none       champion',
      '',
      'no drift reference: upper-circuit/1.2.0 (stockflow models profile <model> --from D1 --to D2)',
      '',
    ]);
    const listed = JSON.parse(await cli('list', '--json')) as { aliases: unknown; models: { ref: string; meta: { sha256: string } }[] };
    expect(listed.aliases).toEqual({ champion: 'upper-circuit/1.2.0' });
    expect(listed.models.map((m) => m.ref)).toEqual(['upper-circuit/1.2.0']);
    expect(listed.models[0].meta.sha256).toBe(hashOf(readFileSync(onnxFile)));
    const shown = JSON.parse(await cli('show', 'upper-circuit/1.2.0', '--json')) as { aliases: string[]; meta: { version: string } };
    expect(shown.aliases).toEqual(['champion']);
    expect(shown.meta.version).toBe('1.2.0');
    expect(await cli('show', '1.2.0')).toMatch(/"model_type": "XGBoost"[\s\S]*\ndrift reference: none \(stockflow models profile upper-circuit\/1\.2\.0 --from D1 --to D2[^\n]*\naliases: champion\ndir: /);
  });
});
