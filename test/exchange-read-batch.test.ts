/**
 * Issue 12, the read side end to end on a generated market with exchange rows
 * written into it: many `No Band` stocks are skipped by the batch with
 * NO_PRICE_BAND and do not consume the error budget (exit 0); the API answers
 * 422 with that reason; `stockflow data check` prints its findings and its
 * exit codes (0; 8 with --strict when there are findings).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { runBatch, type BatchOptions } from '../src/batch/run.js';
import { noticeFromResult } from '../src/batch/notice.js';
import { loadScoringModel } from '../src/model/scoring-model.js';
import { buildApp } from '../src/server/app.js';
import { captureLogger } from './helpers/onnx-fixture.js';
import { assertCliBuilt, buildMarketFixture, MORNING, outputFile, runCli, type MarketFixture } from './helpers/batch-fixture.js';

const STOCKS = 80;
const BUDGET = 0.05;
let fx: MarketFixture;
let noBand: string[];
let bandedAgain: string;
let noBandLater: string;

beforeAll(async () => {
  assertCliBuilt();
  fx = await buildMarketFixture({
    stocks: STOCKS,
    edit: (db) => {
      const active = db.prepare("SELECT bse_code FROM master_stock_list WHERE status = 'ACTIVE' ORDER BY bse_code").pluck().all() as string[];
      // 30 stocks with a NULL master band, 5 more made No Band by a price_bands row; one NULL-master stock is
      // banded again by a price_bands row, and one gets No Band only from the morning on (not in force yet).
      const nullMaster = active.slice(0, 31);
      const byRows = active.slice(31, 36);
      bandedAgain = nullMaster[30];
      noBandLater = active[36];
      noBand = [...nullMaster.slice(0, 30), ...byRows].sort();
      const setNull = db.prepare('UPDATE master_stock_list SET circuit_band_pct = NULL WHERE bse_code = ?');
      for (const c of nullMaster) setNull.run(c);
      const band = db.prepare('INSERT INTO price_bands (bse_code, effective_from, band_pct, remarks) VALUES (?, ?, ?, ?)');
      for (const c of byRows) band.run(c, '2024-01-01', null, 'No Band');
      band.run(bandedAgain, '2024-01-01', 10, null);
      band.run(noBandLater, MORNING, null, 'No Band');
    },
  });
}, 120_000);
afterAll(() => fx?.cleanup());

function options(dataDir: string, o: Partial<BatchOptions> = {}): BatchOptions {
  const { log } = captureLogger();
  return { dataDir, date: MORNING, threads: 0, loadModel: () => loadScoringModel({ modelsDir: fx.modelsDir }, { log }), log, modelsDir: fx.modelsDir, ...o };
}

describe('NO_PRICE_BAND in the batch and the API', () => {
  it('skips every No Band stock with its reason, lists them, and leaves the error budget alone', async () => {
    const dataDir = fx.freshDataDir('noband');
    // A budget of 5%: 35 of the ~80 stocks are No Band (over 40% of the universe if they counted).
    const r = await runBatch(options(dataDir, { maxErrorRate: BUDGET }));
    const byReason = new Map<string, string[]>();
    const csv = readFileSync(outputFile(dataDir, 'skipped_stocks', MORNING), 'utf8').trim().split('\n').slice(1);
    for (const line of csv) {
      const [code, , , reason] = line.split(',');
      byReason.set(reason, [...(byReason.get(reason) ?? []), code]);
    }
    const counted = r.counts.skipped - noBand.length;
    expect(byReason.get('NO_PRICE_BAND')).toEqual(noBand);
    expect(r.counts.skipped).toBe(csv.length);
    expect(r.skippedPct).toBe(counted / (r.counts.universe - noBand.length));
    // The generated market's own skips (if any) stay within the budget; the No Band ones alone would exceed it.
    expect(r.skippedPct).toBeLessThanOrEqual(BUDGET);
    expect(noBand.length / r.counts.universe).toBeGreaterThan(BUDGET);
    expect(r.status).toBe('succeeded');
    expect(r.exitCode).toBe(0);
    expect(r.ranked.map((p) => p.bse_code)).toContain(bandedAgain);
    expect(r.ranked.map((p) => p.bse_code)).toContain(noBandLater);
    expect(r.reportText).toContain(`    NO_PRICE_BAND: ${noBand.length}`);
    expect(r.reportText).toContain(`${noBand.length} with no price band are not counted: ${(100 * r.skippedPct).toFixed(1)}% of the other ${r.counts.universe - noBand.length}`);
    // The notification shows the plain share skipped (as a notice re-sent from predictions.db does).
    expect(noticeFromResult(r).counts.skippedPct).toBe(r.counts.skipped / r.counts.universe);
  }, 120_000);

  it('the CLI batch exits 0 with them', () => {
    const dataDir = fx.freshDataDir('noband-cli');
    const r = runCli(['batch', '--date', MORNING, '--data-dir', dataDir, '--models-dir', fx.modelsDir, '--threads', '1', '--max-error-rate', String(BUDGET)]);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('the API answers 422 FEATURE_EXTRACTION_FAILED with reason NO_PRICE_BAND', async () => {
    const app = await buildApp({ dataDir: fx.freshDataDir('noband-api'), modelsDir: fx.modelsDir, logger: captureLogger().log, defaultMetrics: false });
    try {
      const res = await app.inject({ method: 'POST', url: '/api/v1/predict', payload: { bse_code: noBand[0], prediction_date: MORNING } });
      expect(res.statusCode).toBe(422);
      const body = res.json<{ error: string; reason: string; message: string }>();
      expect(body.error).toBe('FEATURE_EXTRACTION_FAILED');
      expect(body.reason).toBe('NO_PRICE_BAND');
      expect(body.message).toContain('No Band');
      const ok = await app.inject({ method: 'POST', url: '/api/v1/predict', payload: { bse_code: bandedAgain, prediction_date: MORNING } });
      expect(ok.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('stockflow data check', () => {
  it('a generated market is clean: exit 0 even with --strict', () => {
    const r = runCli(['data', 'check', '--strict', '--data-dir', fx.freshDataDir('check-clean')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('suspect moves: 0');
    expect(r.stdout).toContain('uncovered sessions: 0');
    expect(r.stdout).toContain('circuit hits: no exchange list imported');
  });

  it('findings: printed with exit 0, exit 8 with --strict; --json lists them', () => {
    const dataDir = fx.freshDataDir('check-findings');
    const db = new Database(path.join(dataDir, 'market.db'));
    // A stock with a band (the master list's, no price_bands row) that trades on the last session.
    const code = db
      .prepare(
        `SELECT min(m.bse_code) FROM master_stock_list m WHERE m.status = 'ACTIVE' AND m.circuit_band_pct IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM price_bands b WHERE b.bse_code = m.bse_code)
            AND EXISTS (SELECT 1 FROM daily_prices p WHERE p.bse_code = m.bse_code AND p.trade_date = (SELECT max(trade_date) FROM daily_prices))`,
      )
      .pluck()
      .get() as string;
    const last = db.prepare('SELECT max(trade_date) FROM daily_prices').pluck().get() as string;
    // The last close halves with no corporate action: a missed split.
    const prev = db.prepare('SELECT close FROM daily_prices WHERE bse_code = ? AND trade_date < ? ORDER BY trade_date DESC LIMIT 1').pluck().get(code, last) as number;
    db.prepare('UPDATE daily_prices SET close = ?, low = ? WHERE bse_code = ? AND trade_date = ?').run(prev / 2, prev / 2, code, last);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const plain = runCli(['data', 'check', '--data-dir', dataDir]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('suspect moves: 1');
    expect(plain.stdout).toContain(`${code} ${last}:`);
    expect(plain.stdout).toContain('ratio 0.5000');
    const strict = runCli(['data', 'check', '--strict', '--data-dir', dataDir]);
    expect(strict.code).toBe(8);
    const json = runCli(['data', 'check', '--json', '--data-dir', dataDir]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { suspectMoves: { bse_code: string; date: string; ratio: number }[] };
    expect(report.suspectMoves.map((m) => [m.bse_code, m.date])).toEqual([[code, last]]);
    expect(report.suspectMoves[0].ratio).toBeCloseTo(0.5, 12);
  });

  it('no market.db: exit 3 with one line', () => {
    const dir = path.join(fx.root, 'empty-check');
    const r = runCli(['data', 'check', '--data-dir', dir]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('stockflow:'))).toHaveLength(1);
  });
});
