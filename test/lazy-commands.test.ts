/**
 * Lazy commands: `stockflow --help` and `stockflow data info` load only what
 * they use. Every module the process resolves is recorded by a resolve hook;
 * the heavy ones (onnxruntime, fastify, piscina, nodemailer, the batch
 * pipeline) must not be among them. (Wall times are in the README's benchmark
 * table, measured with hyperfine, not here.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertCliBuilt, buildMarketFixture, type MarketFixture } from './helpers/batch-fixture.js';

const root = path.resolve(import.meta.dirname, '..');
const hook = pathToFileURL(path.join(root, 'test/fixtures/lazy/record-imports.mjs')).href;
let dir: string;
let fx: MarketFixture;

/** The modules a CLI run resolved, as package names or dist paths. */
function loaded(args: string[]): string[] {
  const record = path.join(dir, `imports-${args.join('-').replace(/[^a-z-]/g, '')}.txt`);
  execFileSync(process.execPath, ['--import', hook, path.join(root, 'bin/stockflow'), ...args], {
    env: { ...process.env, RECORD_IMPORTS: record, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return readFileSync(record, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((u) => {
      const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
      return m ? m[1] : u.startsWith('file:') ? path.relative(root, new URL(u).pathname) : u;
    });
}

const HEAVY = ['onnxruntime-node', 'fastify', 'piscina', 'nodemailer', 'prom-client', 'onnx-proto', 'csv-parse'];

beforeAll(async () => {
  assertCliBuilt();
  dir = mkdtempSync(path.join(os.tmpdir(), 'sf-lazy-'));
  fx = await buildMarketFixture({ stocks: 30, days: 300 });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  fx?.cleanup();
});

describe('lazy commands', () => {
  it('--help loads no heavy module and none of the pipeline', () => {
    const mods = loaded(['--help']);
    expect(mods).toContain('commander');
    expect(mods.filter((m) => HEAVY.includes(m))).toEqual([]);
    expect(mods.filter((m) => /^dist\/src\/(batch\/(run|job)|features\/(?!definition)|model\/(score|registry|loader)|server\/app|ingest|demo\/generate)/.test(m))).toEqual([]);
  });

  it('data info loads SQLite and the stores, not the model, the server, the pool or the mailer', () => {
    const mods = loaded(['data', 'info', '--data-dir', fx.freshDataDir()]);
    expect(mods).toContain('better-sqlite3');
    expect(mods).toContain('dist/src/market/store.js');
    expect(mods.filter((m) => HEAVY.includes(m))).toEqual([]);
  });

  it('batch loads the pipeline when it runs (the hook sees real loads)', () => {
    const mods = loaded(['batch', '--date', '2025-11-14', '--no-notify', '--max-error-rate', '1', '--data-dir', fx.freshDataDir(), '--models-dir', fx.modelsDir]);
    expect(mods).toContain('onnxruntime-node');
    expect(mods).toContain('piscina');
    // the HTML report's charts were drawn: Vega (bundled into vega-render.js by the build) loaded during the run
    expect(mods).toContain('dist/src/output/html/vega-render.js');
    // --no-notify: no email is sent, so the SMTP client is never loaded (src/notify/email.ts imports it on first send)
    expect(mods).not.toContain('nodemailer');
  });

  it('the batch pipeline loads onnx-proto only when it decodes a model (#16: ≈ 80 ms of CPU before "batch started")', () => {
    // onnx-proto is CommonJS, loaded through createRequire (src/model/onnx/read.ts): the module cache shows it.
    const job = pathToFileURL(path.join(root, 'dist/src/batch/job.js')).href;
    const read = pathToFileURL(path.join(root, 'dist/src/model/onnx/read.js')).href;
    const script = `
      import { createRequire } from 'node:module';
      const cache = createRequire(import.meta.url).cache;
      const loaded = () => Object.keys(cache).some((k) => k.includes('/node_modules/onnx-proto/'));
      await import(${JSON.stringify(job)});
      const atStart = loaded();
      const { readModelForm } = await import(${JSON.stringify(read)});
      const form = readModelForm(new Uint8Array(0));
      console.log(JSON.stringify({ atStart, afterDecode: loaded(), kind: form.kind }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, LOG_LEVEL: 'silent' }, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ atStart: false, afterDecode: true, kind: 'other' });
  });

  it('the batch pipeline loads Vega only when it runs, not with its modules (#16: ~170 ms before "batch started")', () => {
    const record = path.join(dir, 'imports-job.txt');
    const job = pathToFileURL(path.join(root, 'dist/src/batch/job.js')).href;
    execFileSync(process.execPath, ['--import', hook, '--input-type=module', '-e', `await import(${JSON.stringify(job)})`], {
      env: { ...process.env, RECORD_IMPORTS: record },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const urls = readFileSync(record, 'utf8').split('\n').filter(Boolean);
    expect(urls.some((u) => u.includes('/dist/src/batch/run.js'))).toBe(true);
    expect(urls.filter((u) => /\/node_modules\/vega(-lite)?\//.test(u))).toEqual([]);
  });
});
