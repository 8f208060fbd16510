/**
 * The batch pipeline, function level: runBatch / runOneDate / runBackfill on a
 * small generated market (80 stocks × 300 sessions, last session 2025-11-13)
 * with the fixture single-tree model (rsi_14 ≤ 50 → 0.377541, else 0.880797).
 * Everything expected is computed here: the DDL is the spec's text, the
 * probabilities come from the tree's definition applied to independently
 * computed features, the universe filters are recomputed from market.db.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { runBatch, type BatchOptions, type BatchResult } from '../src/batch/run.js';
import { runBackfill, runOneDate, type JobContext } from '../src/batch/job.js';
import { loadScoringModel } from '../src/model/scoring-model.js';
import { computeFeatures } from '../src/features/service.js';
import { openMarketReadonly } from '../src/market/db.js';
import type { Stock } from '../src/market/types.js';
import { loadConfig } from '../src/config.js';
import { resolveDate } from '../src/cli/batch.js';
import { todayIn } from '../src/market/dates.js';
import { StockflowError } from '../src/errors.js';
import { captureLogger, sha256, FEATURE_NAMES_V1 } from './helpers/onnx-fixture.js';
import {
  buildMarketFixture,
  expectedConfidence,
  expectedLabel,
  expectedProbability,
  LAST_SESSION,
  MODEL_B_VERSION,
  MODEL_NAME,
  MODEL_VERSION,
  MORNING,
  openPredictions,
  outputFile,
  ROOT,
  TREE,
  TREE_FEATURE_NAME,
  type MarketFixture,
  snapshot,
} from './helpers/batch-fixture.js';
import type { BatchRunRow } from '../src/predictions/types.js';

/** The spec's DDL (shared/spec 003, AC4.2.5), copied from issue 5. */
const SPEC_DDL = {
  daily_predictions: `CREATE TABLE IF NOT EXISTS daily_predictions (
      prediction_id INTEGER PRIMARY KEY AUTOINCREMENT,
      bse_code TEXT NOT NULL, nse_symbol TEXT, company_name TEXT,
      prediction_date DATE NOT NULL,
      predicted_label INTEGER NOT NULL CHECK(predicted_label IN (0, 1)),
      probability REAL NOT NULL CHECK(probability BETWEEN 0 AND 1),
      confidence TEXT CHECK(confidence IN ('LOW', 'MEDIUM', 'HIGH')),
      model_version TEXT, model_type TEXT,
      prediction_timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
      UNIQUE(bse_code, prediction_date, model_version)
  );`,
  idx_date_prob: 'CREATE INDEX idx_date_prob ON daily_predictions(prediction_date, probability DESC);',
  idx_bse_date: 'CREATE INDEX idx_bse_date ON daily_predictions(bse_code, prediction_date);',
};

/**
 * Whitespace-insensitive form of a statement. SQLite stores a CREATE statement's
 * text as written except that it drops `IF NOT EXISTS` (and the final `;`).
 */
function normaliseDdl(sql: string): string {
  return sql
    .replace(/IF NOT EXISTS\s+/i, '')
    .replace(/;\s*$/, '')
    .replace(/\s+/g, ' ')
    .replace(/\s*([(),])\s*/g, '$1')
    .trim();
}

const COMMA_NAME = 'Shah "Gold", Ltd';

let fx: MarketFixture;
let commaCode = '';
let suspendedCode = '';

beforeAll(async () => {
  fx = await buildMarketFixture({
    stocks: 80,
    edit(db) {
      // A company name with a comma and a quote, on a stock that trades on the last session.
      commaCode = db
        .prepare(
          `SELECT bse_code FROM master_stock_list m WHERE status = 'ACTIVE'
             AND EXISTS (SELECT 1 FROM daily_prices p WHERE p.bse_code = m.bse_code AND p.trade_date = ?)
           ORDER BY bse_code LIMIT 1`,
        )
        .pluck()
        .get(LAST_SESSION) as string;
      db.prepare('UPDATE master_stock_list SET company_name = ? WHERE bse_code = ?').run(COMMA_NAME, commaCode);
      suspendedCode = db.prepare("SELECT bse_code FROM master_stock_list WHERE status = 'SUSPENDED' ORDER BY bse_code LIMIT 1").pluck().get() as string;
    },
  });
});
afterAll(() => fx?.cleanup());

function options(dataDir: string, date: string, extra: Partial<BatchOptions> = {}): BatchOptions & { records: Record<string, unknown>[] } {
  const { log, records } = captureLogger();
  return {
    dataDir,
    date,
    threads: 0,
    loadModel: () => loadScoringModel({ modelsDir: fx.modelsDir }, { log }),
    log,
    records,
    ...extra,
  };
}

function jobContext(dataDir: string, flags: Partial<JobContext['flags']> = {}): JobContext & { records: Record<string, unknown>[]; lines: string[] } {
  const { log, records } = captureLogger();
  const lines: string[] = [];
  return {
    cfg: { ...loadConfig({ dataDir, modelsDir: fx.modelsDir }, {}), threads: 0 },
    flags: { maxErrorRate: 0.02, notify: false, ...flags },
    log,
    out: (l) => lines.push(l),
    records,
    lines,
  };
}

function marketStocks(where = "status = 'ACTIVE'"): Stock[] {
  const db = new Database(fx.marketFile, { readonly: true });
  try {
    return db.prepare(`SELECT * FROM master_stock_list WHERE ${where}`).all() as Stock[];
  } finally {
    db.close();
  }
}

interface PredRow {
  prediction_id: number;
  bse_code: string;
  nse_symbol: string | null;
  company_name: string | null;
  prediction_date: string;
  predicted_label: number;
  probability: number;
  confidence: string;
  model_version: string;
  model_type: string;
  prediction_timestamp: string;
}



const byCode = (a: { bse_code: string }, b: { bse_code: string }): number => (a.bse_code < b.bse_code ? -1 : a.bse_code > b.bse_code ? 1 : 0);

/** The report without the lines that carry timings. */
function untimed(report: string): string {
  const out: string[] = [];
  let inPerf = false;
  for (const line of report.split('\n')) {
    if (line === 'PERFORMANCE:') inPerf = true;
    else if (inPerf && line === '') inPerf = false;
    if (inPerf || line.startsWith('Duration:')) continue;
    out.push(line);
  }
  return out.join('\n');
}

describe('a morning run (2025-11-14) on a fresh data directory', () => {
  let dataDir: string;
  let result: BatchResult;
  let db: Database.Database;
  let preds: PredRow[];

  beforeAll(async () => {
    dataDir = fx.freshDataDir();
    result = await runBatch(options(dataDir, MORNING));
    db = openPredictions(dataDir);
    preds = db.prepare('SELECT * FROM daily_predictions ORDER BY probability DESC, bse_code').all() as PredRow[];
  });
  afterAll(() => db?.close());

  it("creates daily_predictions and its two indexes exactly as the spec's DDL, and the run tables", () => {
    for (const [name, ddl] of Object.entries(SPEC_DDL)) {
      const stored = db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').pluck().get(name) as string | undefined;
      expect(stored, name).toBeDefined();
      expect(normaliseDdl(stored!), name).toBe(normaliseDdl(ddl));
    }
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    expect(tables).toEqual(expect.arrayContaining(['daily_predictions', 'batch_runs', 'skipped_stocks', 'feature_values', 'prediction_explanations', 'prediction_drivers', 'prediction_outcomes', 'schema_migrations']));
    const migrations = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as { version: number; name: string }[];
    expect(migrations.map((m) => m.version)).toEqual(readdirSync(path.join(ROOT, 'sql', 'predictions')).filter((f) => f.endsWith('.sql')).sort().map((f) => Number(f.slice(0, 3))));
    expect(migrations.map((m) => m.name)).toEqual(readdirSync(path.join(ROOT, 'sql', 'predictions')).filter((f) => f.endsWith('.sql')).sort());
  });

  it('scores every ACTIVE stock once or skips it with a reason (a partition of the universe)', () => {
    const active = marketStocks().map((s) => s.bse_code).sort();
    const skipped = db.prepare('SELECT bse_code, reason FROM skipped_stocks WHERE prediction_date = ?').all(MORNING) as { bse_code: string; reason: string }[];
    const scored = preds.map((p) => p.bse_code);
    expect(new Set(scored).size).toBe(scored.length);
    expect([...scored, ...skipped.map((s) => s.bse_code)].sort()).toEqual(active);
    expect(skipped.length).toBeGreaterThan(0); // the generated market has a stale ACTIVE stock
    // A NO_PRICE_DATA skip really has no bar in the last 5 sessions up to the as-of session.
    const m = new Database(fx.marketFile, { readonly: true });
    try {
      const sessions = m.prepare('SELECT DISTINCT trade_date FROM daily_prices WHERE trade_date < ? ORDER BY trade_date DESC LIMIT 5').pluck().all(MORNING) as string[];
      for (const s of skipped.filter((x) => x.reason === 'NO_PRICE_DATA')) {
        const n = m.prepare('SELECT count(*) FROM daily_prices WHERE bse_code = ? AND trade_date >= ? AND trade_date < ?').pluck().get(s.bse_code, sessions[4], MORNING);
        expect(n, s.bse_code).toBe(0);
      }
    } finally {
      m.close();
    }
  });

  it('stores probabilities, labels and confidences that follow from the tree and the split feature', async () => {
    // The features, computed independently of the batch (single thread) and compared with feature_values.
    const market = openMarketReadonly(fx.marketFile);
    let fs;
    try {
      const stocks = marketStocks().sort(byCode);
      fs = await computeFeatures(market, fx.marketFile, stocks, MORNING, { threads: 0 });
    } finally {
      market.close();
    }
    const stored = db.prepare(`SELECT * FROM feature_values WHERE prediction_date = ?`).all(MORNING) as Record<string, number | string>[];
    expect(stored.length).toBe(fs.block.codes.length);
    const storedBy = new Map(stored.map((r) => [r.bse_code as string, r]));
    const x = new Map<string, number>();
    fs.block.codes.forEach((code, i) => {
      const row = storedBy.get(code);
      expect(row, code).toBeDefined();
      expect(row!.as_of_date).toBe(LAST_SESSION);
      FEATURE_NAMES_V1.forEach((name, j) => expect(row![name], `${code} ${name}`).toBe(fs.block.values[i * FEATURE_NAMES_V1.length + j]));
      x.set(code, fs.block.values[i * FEATURE_NAMES_V1.length + TREE.feature]);
    });
    expect(FEATURE_NAMES_V1[TREE.feature]).toBe(TREE_FEATURE_NAME);

    // Both leaves occur, so both branches are checked.
    const xs = [...x.values()];
    expect(xs.some((v) => v <= TREE.threshold)).toBe(true);
    expect(xs.some((v) => v > TREE.threshold)).toBe(true);

    expect(preds.length).toBe(x.size);
    for (const p of preds) {
      const want = expectedProbability(x.get(p.bse_code)!);
      expect(p.probability, p.bse_code).toBe(want);
      expect(p.predicted_label, p.bse_code).toBe(expectedLabel(want));
      expect(p.confidence, p.bse_code).toBe(expectedConfidence(want));
      expect(p.prediction_date).toBe(MORNING);
      expect(p.model_version).toBe(MODEL_VERSION);
      expect(p.model_type).toBe('GBDT');
    }
    // The two leaves by hand: sigmoid(−0.5) and sigmoid(2) to 6 decimals.
    expect(new Set(preds.map((p) => p.probability))).toEqual(new Set([0.377541, 0.880797]));
  });

  it('writes the predictions CSV: exact header, probability-descending order (ties by code), CRLF, RFC 4180 quoting', () => {
    const text = readFileSync(outputFile(dataDir, 'predictions', MORNING), 'utf8');
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('bse_code,nse_symbol,company_name,probability,label,confidence,market_cap_cr');
    expect(lines.at(-1)).toBe(''); // ends with CRLF
    expect(text.replace(/\r\n/g, '')).not.toContain('\n'); // no bare LF
    expect(lines.length - 2).toBe(preds.length);

    const rows = parse(text, { columns: true }) as Record<string, string>[];
    const master = new Map(marketStocks().map((s) => [s.bse_code, s]));
    // Expected order computed here: probability descending, then code ascending.
    const expected = [...preds].sort((a, b) => b.probability - a.probability || byCode(a, b));
    expect(rows.map((r) => r.bse_code)).toEqual(expected.map((p) => p.bse_code));
    rows.forEach((r, i) => {
      const p = expected[i];
      const s = master.get(r.bse_code)!;
      expect(r.nse_symbol).toBe(s.nse_symbol ?? '');
      expect(r.company_name).toBe(s.company_name);
      expect(r.probability).toBe(p.probability.toFixed(6));
      expect(r.label).toBe(String(p.predicted_label));
      expect(r.confidence).toBe(p.confidence);
      expect(r.market_cap_cr === '' ? null : Number(r.market_cap_cr)).toBe(s.market_cap_cr);
    });
    // The name with a comma and a quote is quoted, the quote doubled.
    expect(text).toContain(`,"Shah ""Gold"", Ltd",`);
    expect(rows.find((r) => r.bse_code === commaCode)?.company_name).toBe(COMMA_NAME);
  });

  it('writes the skipped CSV with its header, matching skipped_stocks row for row', () => {
    const text = readFileSync(outputFile(dataDir, 'skipped_stocks', MORNING), 'utf8');
    expect(text.split('\r\n')[0]).toBe('bse_code,nse_symbol,company_name,reason,detail');
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    const stored = db.prepare('SELECT bse_code, reason, detail FROM skipped_stocks WHERE prediction_date = ? ORDER BY bse_code').all(MORNING) as {
      bse_code: string;
      reason: string;
      detail: string;
    }[];
    const master = new Map(marketStocks('1').map((s) => [s.bse_code, s]));
    expect(rows.map((r) => r.bse_code)).toEqual(stored.map((s) => s.bse_code));
    rows.forEach((r, i) => {
      expect(r.reason).toBe(stored[i].reason);
      expect(r.detail).toBe(stored[i].detail);
      expect(r.company_name).toBe(master.get(r.bse_code)!.company_name);
      expect(r.nse_symbol).toBe(master.get(r.bse_code)!.nse_symbol ?? '');
    });
  });

  it("writes the report in the spec's layout, with counts that match the database", () => {
    const report = readFileSync(outputFile(dataDir, 'report', MORNING), 'utf8');
    expect(report).toBe(result.reportText);
    const lines = report.split('\n');
    const headings = ['BATCH PREDICTION REPORT', 'SUMMARY:', 'TOP 20 PREDICTIONS:', 'PERFORMANCE:', 'OUTPUT FILES:'];
    const at = headings.map((h) => lines.indexOf(h));
    for (let i = 0; i < headings.length; i++) expect(at[i], headings[i]).toBeGreaterThanOrEqual(0);
    expect([...at].sort((a, b) => a - b)).toEqual(at); // in this order
    expect(lines[0]).toBe('='.repeat(40));
    expect(lines).toContain(`Date: ${MORNING}`);
    expect(lines).toContain(`As-of session: ${LAST_SESSION} (features use data before ${MORNING})`);
    const modelLine = lines.find((l) => l.startsWith('Model: '));
    expect(modelLine).toContain(`v${MODEL_VERSION}`);
    expect(modelLine).toContain('ROC-AUC: 0.710');
    expect(lines.some((l) => /^Duration: \d/.test(l))).toBe(true);

    const count = (sql: string): number => db.prepare(sql).pluck().get(MORNING) as number;
    const processed = count('SELECT count(*) FROM daily_predictions WHERE prediction_date = ?');
    const skipped = count('SELECT count(*) FROM skipped_stocks WHERE prediction_date = ?');
    const uc = count('SELECT count(*) FROM daily_predictions WHERE prediction_date = ? AND predicted_label = 1');
    const ucBy = (c: string): number =>
      db.prepare('SELECT count(*) FROM daily_predictions WHERE prediction_date = ? AND predicted_label = 1 AND confidence = ?').pluck().get(MORNING, c) as number;
    const pct = (n: number, of: number): string => `${((100 * n) / of).toFixed(1)}%`;
    const universe = processed + skipped;
    expect(lines).toContain(`- Total Stocks Processed: ${processed} of ${universe} active`);
    expect(lines.find((l) => l.startsWith('- Stocks Skipped:'))).toMatch(new RegExp(`^- Stocks Skipped: ${skipped} \\(${pct(skipped, universe).replace('.', '\\.')}`));
    expect(lines).toContain(`- Predicted Upper Circuit: ${uc} (${pct(uc, processed)})`);
    expect(lines).toContain(`- High Confidence: ${ucBy('HIGH')} (${pct(ucBy('HIGH'), processed)})`);
    expect(lines).toContain(`- Medium Confidence: ${ucBy('MEDIUM')} (${pct(ucBy('MEDIUM'), processed)})`);
    expect(lines).toContain(`- Low Confidence: ${ucBy('LOW')} (${pct(ucBy('LOW'), processed)})`);

    // The top 20: rank, code and 2-decimal probability in ranking order.
    const top = lines.slice(at[2] + 3, at[2] + 23).map((l) => l.split('|').map((c) => c.trim()));
    expect(top.map((c) => c[0])).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
    expect(top.map((c) => c[1])).toEqual(preds.slice(0, 20).map((p) => p.bse_code));
    expect(top.map((c) => c[4])).toEqual(preds.slice(0, 20).map((p) => p.probability.toFixed(2)));
    expect(top.map((c) => c[5])).toEqual(preds.slice(0, 20).map((p) => p.confidence));

    for (const stage of ['Feature Extraction', 'Model Prediction', 'Database Write', 'Throughput'])
      expect(lines.some((l) => l.startsWith(`- ${stage}: `)), stage).toBe(true);
    expect(lines).toContain(`- Database: predictions.db (${processed} rows inserted)`);
    expect(lines).toContain(`- CSV: predictions_${MORNING}.csv (${processed} rows)`);
    expect(lines).toContain(`- Skipped: skipped_stocks_${MORNING}.csv (${skipped} rows)`);
  });

  it('records the run in batch_runs: both dates, the model and its sha256, counts equal to the rows', () => {
    const runs = db.prepare('SELECT * FROM batch_runs').all() as BatchRunRow[];
    expect(runs.length).toBe(1);
    const r = runs[0];
    expect(r.run_id).toBe(result.runId);
    expect(r.status).toBe('succeeded');
    expect(r.prediction_date).toBe(MORNING);
    expect(r.as_of_session).toBe(LAST_SESSION);
    expect(r.model_name).toBe(MODEL_NAME);
    expect(r.model_version).toBe(MODEL_VERSION);
    expect(r.model_sha256).toBe(sha256(readFileSync(path.join(fx.modelsDir, MODEL_NAME, MODEL_VERSION, 'model.onnx'))));
    expect(r.model_roc_auc).toBe(0.71);
    expect(r.feature_set_version).toBe('1');
    expect(r.processed_count).toBe(preds.length);
    expect(r.skipped_count).toBe(db.prepare('SELECT count(*) FROM skipped_stocks').pluck().get());
    expect(r.universe_count).toBe(marketStocks().length);
    expect(r.predicted_uc_count).toBe(preds.filter((p) => p.probability >= 0.5).length);
    expect(r.high_count).toBe(preds.filter((p) => p.probability >= 0.7).length);
    expect(r.medium_count! + r.low_count!).toBe(0); // label-1 rows are all 0.880797 (HIGH)
    expect(r.input_fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(JSON.parse(r.stage_ms!) as object)).toEqual(expect.arrayContaining(['plan', 'model_load', 'extract', 'score', 'write']));
    expect(Date.parse(r.finished_at!)).toBeGreaterThanOrEqual(Date.parse(r.started_at));
  });

  it('leaves no temporary files beside the outputs', () => {
    expect(readdirSync(path.join(dataDir, 'predictions')).sort()).toEqual(
      [`predictions_${MORNING}.csv`, `report_${MORNING}.html`, `report_${MORNING}.txt`, `skipped_stocks_${MORNING}.csv`].sort(),
    );
  });
});

describe('idempotency', () => {
  it('running the same date twice replaces the rows: no duplicates, identical CSVs, the same report but for timings, the same fingerprint', async () => {
    const dataDir = fx.freshDataDir();
    const first = await runBatch(options(dataDir, MORNING));
    const files = (['predictions', 'skipped_stocks', 'report'] as const).map((k) => readFileSync(outputFile(dataDir, k, MORNING)));
    const db1 = openPredictions(dataDir);
    const rows1 = db1.prepare('SELECT bse_code, probability, predicted_label, confidence FROM daily_predictions ORDER BY bse_code').all();
    const skips1 = db1.prepare('SELECT bse_code, reason, detail FROM skipped_stocks ORDER BY bse_code').all();
    const feats1 = db1.prepare('SELECT count(*) FROM feature_values').pluck().get();
    db1.close();

    const second = await runBatch(options(dataDir, MORNING));
    expect(second.runId).not.toBe(first.runId);
    const db = openPredictions(dataDir);
    try {
      expect(db.prepare('SELECT bse_code, probability, predicted_label, confidence FROM daily_predictions ORDER BY bse_code').all()).toEqual(rows1);
      expect(db.prepare('SELECT count(*) FROM (SELECT 1 FROM daily_predictions GROUP BY bse_code, prediction_date, model_version HAVING count(*) > 1)').pluck().get()).toBe(0);
      expect(db.prepare('SELECT bse_code, reason, detail FROM skipped_stocks ORDER BY bse_code').all()).toEqual(skips1);
      expect(db.prepare('SELECT count(*) FROM feature_values').pluck().get()).toBe(feats1);
      const runs = db.prepare('SELECT run_id, status, input_fingerprint FROM batch_runs ORDER BY started_at').all() as BatchRunRow[];
      expect(runs.map((r) => r.run_id)).toEqual([first.runId, second.runId]);
      expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
      expect(runs[1].input_fingerprint).toBe(runs[0].input_fingerprint);
      // Every row of the date now belongs to the second run's write.
      expect(db.prepare('SELECT count(DISTINCT prediction_timestamp) FROM daily_predictions').pluck().get()).toBe(1);
    } finally {
      db.close();
    }
    const again = (['predictions', 'skipped_stocks', 'report'] as const).map((k) => readFileSync(outputFile(dataDir, k, MORNING)));
    expect(again[0].equals(files[0])).toBe(true);
    expect(again[1].equals(files[1])).toBe(true);
    expect(untimed(again[2].toString('utf8'))).toBe(untimed(files[2].toString('utf8')));
    expect(untimed(again[2].toString('utf8'))).toContain('TOP 20 PREDICTIONS:');
  });
});

/** Everything a run leaves behind for a date: the three files' bytes and predictions.db's rows. */

describe('atomicity', () => {
  it('a run whose database write fails publishes nothing: the earlier CSVs, report and rows stay as they were', async () => {
    const dataDir = fx.freshDataDir();
    await runBatch(options(dataDir, MORNING));
    const before = snapshot(dataDir, MORNING);

    // The next write fails inside its transaction (as a full disk would).
    const w = new Database(path.join(dataDir, 'predictions.db'));
    w.exec("CREATE TRIGGER simulated_failure BEFORE INSERT ON daily_predictions BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END");
    w.close();
    // A different model, so that its outputs would differ from the earlier ones byte for byte.
    const o = options(dataDir, MORNING);
    o.loadModel = () => loadScoringModel({ modelsDir: fx.modelsDir }, { explicit: MODEL_B_VERSION, log: o.log });
    await expect(runBatch(o)).rejects.toThrow(/simulated write failure/);

    const after = snapshot(dataDir, MORNING);
    for (const k of Object.keys(before.files)) expect(after.files[k].equals(before.files[k]), k).toBe(true);
    expect(after.rows).toEqual(before.rows);
    expect(readdirSync(path.join(dataDir, 'predictions')).filter((f) => f.startsWith('.'))).toEqual([]);
    const db = openPredictions(dataDir);
    try {
      const runs = db.prepare('SELECT status, error FROM batch_runs ORDER BY started_at, rowid').all() as { status: string; error: string | null }[];
      expect(runs.map((r) => r.status)).toEqual(['succeeded', 'failed']);
      expect(runs[1].error).toMatch(/simulated write failure/);
    } finally {
      db.close();
    }

    // Once the database accepts writes again, the same run goes through and replaces the files.
    const w2 = new Database(path.join(dataDir, 'predictions.db'));
    w2.exec('DROP TRIGGER simulated_failure');
    w2.close();
    const o2 = options(dataDir, MORNING);
    o2.loadModel = () => loadScoringModel({ modelsDir: fx.modelsDir }, { explicit: MODEL_B_VERSION, log: o2.log });
    await runBatch(o2);
    expect(readFileSync(outputFile(dataDir, 'predictions', MORNING)).equals(before.files.predictions)).toBe(false);
  });
});

describe('error budget', () => {
  it('a skip rate above --max-error-rate still writes every output, marks the run budget_exceeded and exits 4', async () => {
    const dataDir = fx.freshDataDir();
    const r = await runBatch(options(dataDir, MORNING, { maxErrorRate: 0 }));
    expect(r.counts.skipped).toBeGreaterThan(0);
    expect(r.status).toBe('budget_exceeded');
    expect(r.exitCode).toBe(4);
    for (const k of ['predictions', 'skipped_stocks', 'report'] as const) expect(existsSync(outputFile(dataDir, k, MORNING)), k).toBe(true);
    const db = openPredictions(dataDir);
    try {
      expect(db.prepare('SELECT status FROM batch_runs').pluck().all()).toEqual(['budget_exceeded']);
      expect(db.prepare('SELECT count(*) FROM daily_predictions').pluck().get()).toBe(r.counts.processed);
    } finally {
      db.close();
    }
    expect(readFileSync(outputFile(dataDir, 'report', MORNING), 'utf8')).toMatch(/^Status: FAILED: .*error budget/m);
  });
});

/**
 * A subset run's rows: its own files (a subset run publishes no rows, docs/runs.md),
 * after checking that it stored none and recorded itself as a subset.
 */
function subsetRows(dataDir: string, r: BatchResult, selection: string): { scored: string[]; skipped: Record<string, string>[] } {
  const db = openPredictions(dataDir);
  try {
    expect(db.prepare('SELECT count(*) FROM daily_predictions').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM skipped_stocks').pluck().get()).toBe(0);
    expect(db.prepare('SELECT scope, selection, published FROM batch_runs').all()).toEqual([{ scope: 'subset', selection, published: 0 }]);
  } finally {
    db.close();
  }
  expect(path.basename(r.paths.predictionsCsv)).toBe(`predictions_${r.date}.subset-${r.runId}.csv`);
  expect(existsSync(outputFile(dataDir, 'predictions', r.date))).toBe(false);
  const read = (f: string): Record<string, string>[] => parse(readFileSync(f, 'utf8'), { columns: true }) as Record<string, string>[];
  return { scored: read(r.paths.predictionsCsv).map((x) => x.bse_code), skipped: read(r.paths.skippedCsv) };
}

describe('plan options', () => {
  it('--codes: only those stocks; an unknown code is UNKNOWN_STOCK and a SUSPENDED one NOT_ACTIVE', async () => {
    const dataDir = fx.freshDataDir();
    const active = marketStocks().map((s) => s.bse_code).sort();
    const codes = [active[3], active[10], '999999', suspendedCode];
    const r = await runBatch(options(dataDir, MORNING, { codes, maxErrorRate: 1 }));
    const got = subsetRows(dataDir, r, `--codes ${codes.join(',')}`);
    expect(got.scored.sort()).toEqual([active[3], active[10]]);
    expect(r.counts.universe).toBe(4);
    expect(got.skipped.map((x) => `${x.bse_code}:${x.reason}`).sort()).toEqual([`${suspendedCode}:NOT_ACTIVE`, '999999:UNKNOWN_STOCK'].sort());
  });

  it('--limit 10: the 10 largest ACTIVE stocks by market cap', async () => {
    const dataDir = fx.freshDataDir();
    const want = marketStocks()
      .sort((a, b) => (b.market_cap_cr ?? -Infinity) - (a.market_cap_cr ?? -Infinity) || byCode(a, b))
      .slice(0, 10)
      .map((s) => s.bse_code)
      .sort();
    const r = await runBatch(options(dataDir, MORNING, { limit: 10, maxErrorRate: 1 }));
    const rows = subsetRows(dataDir, r, '--limit 10');
    expect([...rows.scored, ...rows.skipped.map((x) => x.bse_code)].sort()).toEqual(want);
  });

  it('--earnings-within 30: only stocks with a result expected in the next 30 days', async () => {
    const dataDir = fx.freshDataDir();
    const m = new Database(fx.marketFile, { readonly: true });
    const cal = m.prepare("SELECT e.bse_code, e.expected_on FROM earnings_calendar e JOIN master_stock_list s USING (bse_code) WHERE s.status = 'ACTIVE'").all() as {
      bse_code: string;
      expected_on: string;
    }[];
    m.close();
    const day = (d: string): number => Date.parse(`${d}T00:00:00Z`) / 86_400_000;
    const want = [...new Set(cal.filter((e) => day(e.expected_on) >= day(MORNING) && day(e.expected_on) <= day(MORNING) + 30).map((e) => e.bse_code))].sort();
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(marketStocks().length);
    const r = await runBatch(options(dataDir, MORNING, { earningsWithin: 30, maxErrorRate: 1 }));
    const rows = subsetRows(dataDir, r, '--earnings-within 30');
    expect([...rows.scored, ...rows.skipped.map((x) => x.bse_code)].sort()).toEqual(want);
  });
});

describe('dates', () => {
  it('todayIn(Asia/Kolkata) is the IST calendar day, which differs from the UTC day just before midnight UTC', () => {
    const lateUtc = new Date('2025-11-13T19:00:00Z'); // 00:30 IST on the 14th
    expect(lateUtc.toISOString().slice(0, 10)).toBe('2025-11-13');
    expect(todayIn('Asia/Kolkata', lateUtc)).toBe('2025-11-14');
    expect(todayIn('Asia/Kolkata', new Date('2025-11-13T18:29:59Z'))).toBe('2025-11-13'); // 23:59:59 IST
    expect(todayIn('Asia/Kolkata', new Date('2025-11-13T18:30:00Z'))).toBe('2025-11-14'); // 00:00:00 IST
  });

  it("resolveDate('today') is today in IST; other values must be real YYYY-MM-DD dates", () => {
    const before = new Date(Date.now() + 5.5 * 3_600_000).toISOString().slice(0, 10);
    const got = resolveDate('today');
    const after = new Date(Date.now() + 5.5 * 3_600_000).toISOString().slice(0, 10);
    expect([before, after]).toContain(got);
    expect(resolveDate('2025-11-14')).toBe('2025-11-14');
    for (const bad of ['2025-02-30', '14-11-2025', '2025-11-14T00:00', 'tomorrow', '']) {
      let err: unknown;
      try {
        resolveDate(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(StockflowError);
      expect((err as StockflowError).exitCode, bad).toBe(2);
    }
  });

  it('a non-trading date does nothing (exit 0, no outputs, no run recorded) unless forced', async () => {
    const dataDir = fx.freshDataDir();
    const c = jobContext(dataDir);
    expect(await runOneDate('2025-11-15', c)).toBe(0);
    expect(c.lines.join('\n')).toMatch(/2025-11-15 is a Saturday, not a trading day/);
    expect(existsSync(path.join(dataDir, 'predictions'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'predictions.db'))).toBe(false);

    const forced = jobContext(dataDir, { force: true, maxErrorRate: 1 });
    expect(await runOneDate('2025-11-15', forced)).toBe(0);
    const db = openPredictions(dataDir);
    try {
      expect(db.prepare('SELECT prediction_date, as_of_session, status FROM batch_runs').all()).toEqual([
        { prediction_date: '2025-11-15', as_of_session: LAST_SESSION, status: 'succeeded' },
      ]);
    } finally {
      db.close();
    }
  });

  it('a backfill runs the trading days in order, a second one skips the completed dates (and says so), --force re-runs them', async () => {
    const dataDir = fx.freshDataDir();
    // Fri 7th, Sat 8th, Sun 9th, Mon 10th, Tue 11th: three trading days.
    const trading = ['2025-11-07', '2025-11-10', '2025-11-11'];
    const c1 = jobContext(dataDir, { maxErrorRate: 1 });
    expect(await runBackfill('2025-11-07', '2025-11-11', c1)).toBe(0);
    const runs = (): { prediction_date: string; as_of_session: string; status: string }[] => {
      const db = openPredictions(dataDir);
      try {
        return db.prepare('SELECT prediction_date, as_of_session, status FROM batch_runs ORDER BY started_at, rowid').all() as never;
      } finally {
        db.close();
      }
    };
    expect(runs()).toEqual([
      { prediction_date: '2025-11-07', as_of_session: '2025-11-06', status: 'succeeded' },
      { prediction_date: '2025-11-10', as_of_session: '2025-11-07', status: 'succeeded' },
      { prediction_date: '2025-11-11', as_of_session: '2025-11-10', status: 'succeeded' },
    ]);
    for (const d of trading) expect(existsSync(outputFile(dataDir, 'predictions', d)), d).toBe(true);
    expect(existsSync(outputFile(dataDir, 'predictions', '2025-11-08'))).toBe(false);

    const c2 = jobContext(dataDir, { maxErrorRate: 1 });
    expect(await runBackfill('2025-11-07', '2025-11-11', c2)).toBe(0);
    expect(runs().length).toBe(3);
    const skippedLogs = c2.records.filter((r) => String(r.msg).startsWith('already complete'));
    expect(skippedLogs.map((r) => r.date)).toEqual(trading);

    const c3 = jobContext(dataDir, { maxErrorRate: 1, force: true });
    expect(await runBackfill('2025-11-07', '2025-11-11', c3)).toBe(0);
    expect(runs().map((r) => r.prediction_date)).toEqual([...trading, ...trading]);
  });

  it('a backfill loads and verifies its model once for all its dates (the loader logs each session it opens)', async () => {
    const dataDir = fx.freshDataDir();
    const c = jobContext(dataDir, { maxErrorRate: 1 });
    expect(await runBackfill('2025-11-07', '2025-11-11', c)).toBe(0);
    const opened = c.records.filter((r) => r.msg === 'model loaded' && r.loadMs !== undefined);
    expect(opened).toHaveLength(1);
    // …while each of the three runs still says which model it scored with.
    expect(c.records.filter((r) => r.msg === 'model loaded' && r.loadMs === undefined)).toHaveLength(3);
  });
});
