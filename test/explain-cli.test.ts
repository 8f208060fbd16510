/**
 * `stockflow explain` and `stockflow batch --explain`, through the compiled
 * CLI. The fixture model is one tree (rsi_14 ≤ 50 → leaf −0.5, else 2) with
 * no node covers: a stock's waterfall is the base value (the mean leaf over
 * the date's stored feature rows), rsi_14 = leaf − base with the full bar,
 * every other feature 0, margin = leaf and probability = sigmoid(leaf), all
 * computed here from the tree's definition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { FEATURE_NAMES_V1, treeModel, writeAliasesFile, writeModel } from './helpers/onnx-fixture.js';
import { assertCliBuilt, buildMarketFixture, failureLine, MODEL_NAME, MORNING, outputFile, runCli, TREE, type MarketFixture } from './helpers/batch-fixture.js';

let fx: MarketFixture;
let dataDir: string;
let rows: { bse_code: string; rsi_14: number }[];
let base: number;

beforeAll(async () => {
  assertCliBuilt();
  fx = await buildMarketFixture({ stocks: 40 });
  dataDir = fx.freshDataDir();
  const r = runCli(['batch', '--date', MORNING, '--data-dir', dataDir, '--models-dir', fx.modelsDir, '--no-notify', '--explain']);
  expect(r.code, r.stderr).toBe(0);
  const db = new Database(path.join(dataDir, 'predictions.db'), { readonly: true });
  rows = db.prepare('SELECT bse_code, rsi_14 FROM feature_values WHERE prediction_date = ? ORDER BY bse_code').all(MORNING) as typeof rows;
  db.close();
  base = rows.reduce((a, r) => a + (r.rsi_14 <= TREE.threshold ? TREE.leftLeaf : TREE.rightLeaf), 0) / rows.length;
});
afterAll(() => fx?.cleanup());

const explain = (args: string[], modelsDir = fx.modelsDir) => runCli(['explain', ...args, '--models-dir', modelsDir]);
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const sixSigned = (c: number): string => `${c >= 0 ? '+' : '-'}${Math.abs(c).toFixed(6)}`;

describe('stockflow explain', () => {
  it('prints the waterfall: base, every feature with a signed bar (strongest first), the sum, the margin and the probability', () => {
    for (const r of [rows.find((x) => x.rsi_14 <= TREE.threshold)!, rows.find((x) => x.rsi_14 > TREE.threshold)!]) {
      const out = explain(['--date', MORNING, '--code', r.bse_code, '--data-dir', dataDir]);
      expect(out.code, out.stderr).toBe(0);
      const lines = out.stdout.split('\n');
      const leaf = r.rsi_14 <= TREE.threshold ? TREE.leftLeaf : TREE.rightLeaf;
      const c = leaf - base;
      expect(lines[0]).toContain(`${r.bse_code} (`);
      expect(lines[0]).toContain(`on ${MORNING}: model ${MODEL_NAME}/1.0.0 (GBDT)`);
      expect(lines[1]).toBe(`features as of 2025-11-13 (the batch's stored row); node covers computed from the ${rows.length} feature rows stored for ${MORNING}`);
      const num = (v: number): string => (v < 0 ? v.toFixed(6) : ` ${v.toFixed(6)}`);
      expect(lines).toContain(`${'base value'.padEnd(23)}  ${' '.repeat(12)}  ${num(base)}`);
      // rsi_14 first with the full 20-cell bar on its side; the other 24 features after it, 0 and no bar.
      const first = lines.findIndex((l) => l.startsWith('feature '));
      // The value is printed as the shortest decimal that reads back as the stored float32.
      const value = lines[first + 1].slice(25, 37).trim();
      expect(Math.fround(Number(value))).toBe(Math.fround(r.rsi_14));
      const bar = c < 0 ? `${'█'.repeat(20)}|` : `${' '.repeat(20)}|${'█'.repeat(20)}`;
      expect(lines[first + 1]).toBe(`${'rsi_14'.padEnd(23)}  ${value.padStart(12)}  ${sixSigned(c).padStart(10)}  ${bar}`);
      const rest = lines.slice(first + 2, first + 26);
      expect(rest.map((l) => l.split(/\s+/)[0])).toEqual(FEATURE_NAMES_V1.filter((f) => f !== 'rsi_14'));
      for (const l of rest) expect(l).toMatch(/ \+0\.000000 {2}\s{20}\|$/);
      expect(lines).toContain(`${'sum of contributions'.padEnd(23)}  ${' '.repeat(12)}  ${num(c)}`);
      expect(lines).toContain(`${'margin'.padEnd(23)}  ${' '.repeat(12)}  ${num(leaf)}`);
      const p = sigmoid(leaf);
      expect(out.stdout).toContain(`${'probability'.padEnd(23)}  ${' '.repeat(12)}  ${num(p)}  (sigmoid of the margin; the model gives ${Math.fround(p).toFixed(6)})`);
    }
  });

  it('batch --explain wrote the three driver columns, the first naming rsi_14 with the same contribution', () => {
    const csv = readFileSync(outputFile(dataDir, 'predictions', MORNING), 'utf8').split('\r\n');
    expect(csv[0]).toBe('bse_code,nse_symbol,company_name,probability,label,confidence,market_cap_cr,driver_1,driver_2,driver_3');
    const r = rows[0];
    const line = csv.find((l) => l.startsWith(`${r.bse_code},`))!;
    const c = (r.rsi_14 <= TREE.threshold ? TREE.leftLeaf : TREE.rightLeaf) - base;
    const m = /,rsi_14=([^ ]+) \(([+-]\d+\.\d{4})\),,$/.exec(line);
    expect(m, line).not.toBeNull();
    expect(Math.fround(Number(m![1]))).toBe(Math.fround(r.rsi_14));
    expect(m![2]).toBe(`${c >= 0 ? '+' : '-'}${Math.abs(c).toFixed(4)}`);
  });

  it('bad arguments exit 2; unknown stock, no market, no model exit 3; one line each', () => {
    const bad = explain(['--date', MORNING, '--code', '12345', '--data-dir', dataDir]);
    expect(bad.code).toBe(2);
    expect(failureLine(bad)).toMatch(/6-digit BSE code/);
    const badDate = explain(['--date', '2025-02-30', '--code', rows[0].bse_code, '--data-dir', dataDir]);
    expect(badDate.code).toBe(2);
    const unknown = explain(['--date', MORNING, '--code', '999999', '--data-dir', dataDir]);
    expect(unknown.code).toBe(3);
    expect(failureLine(unknown)).toBe('stockflow: stock 999999 is not in the master list');
    const noMarket = explain(['--date', MORNING, '--code', rows[0].bse_code, '--data-dir', path.join(fx.root, 'nowhere')]);
    expect(noMarket.code).toBe(3);
    failureLine(noMarket);
    const noModel = explain(['--date', MORNING, '--code', rows[0].bse_code, '--data-dir', dataDir], fx.emptyModelsDir);
    expect(noModel.code).toBe(3);
    expect(failureLine(noModel)).toMatch(/no usable model/);
  });

  it('a model that cannot be explained exits 3 with one line naming why (no background rows; a graph no explainer reads)', () => {
    // No batch has run here: the row is computed now, and a cover-less model has no background.
    const fresh = fx.freshDataDir('fresh');
    const noBg = explain(['--date', MORNING, '--code', rows[0].bse_code, '--data-dir', fresh]);
    expect(noBg.code).toBe(3);
    expect(failureLine(noBg)).toMatch(/^stockflow: explanations unavailable for this model: the trees carry no node covers, and no background sample .* \(model upper-circuit\/1\.0\.0\)$/);
    const modelsDir = path.join(fx.root, 'models-identity');
    writeModel(modelsDir, MODEL_NAME, '3.0.0', treeModel({ ...TREE, identityAfter: true }));
    writeAliasesFile(modelsDir, { champion: `${MODEL_NAME}/3.0.0` });
    const other = explain(['--date', MORNING, '--code', rows[0].bse_code, '--data-dir', dataDir, '--model', '3.0.0'], modelsDir);
    expect(other.code).toBe(3);
    expect(failureLine(other)).toBe(
      'stockflow: explanations unavailable for this model: the graph has 2 nodes (one TreeEnsembleClassifier or LinearClassifier expected) (model upper-circuit/3.0.0)',
    );
  });
});
