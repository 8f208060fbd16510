/**
 * Issue #16: the speed work must not change a single output byte. A small
 * generated market (a few hundred stocks, more sessions than the extraction's
 * lookback, skips of both kinds) is scored by `stockflow batch --explain`
 * with the shipped model (real exact TreeSHAP explanations, covers from the
 * run's rows), on one thread and on several, and every output (the CSVs, the
 * report without its timings, every row of every output table of
 * predictions.db) is reduced to digests (test/helpers/output-digest.ts) that
 * must equal the ones recorded in test/fixtures/batch-golden.json.
 *
 * The recorded digests were produced by the code before the #16 speed changes
 * (commit 3e50f7d), and re-recorded once when scoring was pinned to one onnxruntime thread
 * (SCORING_SESSION_OPTIONS in src/model/score.ts): the recorded probabilities had come from onnxruntime's
 * default of one thread per detected core (two on the machine that recorded them), which sums the trees in another
 * order, and on a machine where that default is one thread two digests (daily_predictions, predictions_csv)
 * differed while every other digest, features and explanations included, was the same. Only a deliberate change of the outputs may re-record them:
 * `STOCKFLOW_RECORD_GOLDEN=1 npx vitest run test/batch-golden.test.ts`, and the
 * commit says why.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, buildMarketFixture, MORNING, ROOT, runCli, type MarketFixture } from './helpers/batch-fixture.js';
import { outputDigest } from './helpers/output-digest.js';

const GOLDEN = path.join(ROOT, 'test', 'fixtures', 'batch-golden.json');
const SHIPPED_MODELS = path.join(ROOT, 'models');

let fx: MarketFixture;
beforeAll(async () => {
  assertCliBuilt();
  fx = await buildMarketFixture({ stocks: 420, days: 340, seed: 16 });
}, 120_000);
afterAll(() => fx?.cleanup());

function scored(threads: string): Record<string, string> {
  const dataDir = fx.freshDataDir(`t${threads}`);
  const r = runCli(['batch', '--date', MORNING, '--explain', '--no-notify', '--threads', threads, '--data-dir', dataDir, '--models-dir', SHIPPED_MODELS], {
    timeoutMs: 120_000,
  });
  expect(r.stderr.split('\n').filter((l) => l.startsWith('stockflow:'))).toEqual([]);
  expect(r.code).toBe(0);
  return outputDigest(dataDir, MORNING);
}

describe('batch outputs are byte-identical to the recorded ones (#16)', () => {
  it('one thread and several threads give the recorded digests of every output', () => {
    const one = scored('1');
    const two = scored('3');
    expect(two).toEqual(one);
    if (process.env.STOCKFLOW_RECORD_GOLDEN === '1') writeFileSync(GOLDEN, `${JSON.stringify(one, null, 2)}\n`);
    expect(existsSync(GOLDEN)).toBe(true);
    expect(one).toEqual(JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, string>);
  }, 240_000);
});
