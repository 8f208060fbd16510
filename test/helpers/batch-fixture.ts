/**
 * Shared setup of the batch tests: one generated market per test file in a
 * temporary directory, cheap copies of it (one fresh data directory per test,
 * so each test's predictions.db and outputs are its own), a fixture model
 * registry holding a single-tree model whose output is known exactly, and
 * helpers to run the compiled CLI (`node bin/stockflow …`).
 *
 * The expected values the tests compare against are computed here from the
 * tree's definition (leaf scores → sigmoid → 6 decimals) and from hand-written
 * label/confidence rules, never with stockflow's own scoring code.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { generateMarket } from '../../src/demo/generate.js';
import { sigmoid, treeModel, writeAliasesFile, writeModel, type TreeFixture } from './onnx-fixture.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'stockflow');

/** The demo market's last session is 2025-11-13 (a Thursday): its morning run is Friday 2025-11-14. */
export const LAST_SESSION = '2025-11-13';
export const MORNING = '2025-11-14';

export const MODEL_NAME = 'upper-circuit';
export const MODEL_VERSION = '1.0.0';
/**
 * The fixture model: rsi_14 (column 3) ≤ 50 → sigmoid(−0.5) ≈ 0.377541 (label 0, MEDIUM);
 * otherwise sigmoid(2) ≈ 0.880797 (label 1, HIGH).
 */
export const TREE: Required<Pick<TreeFixture, 'feature' | 'threshold' | 'leftLeaf' | 'rightLeaf'>> = {
  feature: 3,
  threshold: 50,
  leftLeaf: -0.5,
  rightLeaf: 2,
};
export const TREE_FEATURE_NAME = 'rsi_14';
/** A second registered version (not the champion): ret_20d (column 1) ≤ 0 → sigmoid(−1), else sigmoid(1). */
export const MODEL_B_VERSION = '1.1.0';
export const TREE_B: TreeFixture = { feature: 1, threshold: 0, leftLeaf: -1, rightLeaf: 1 };
/** The recorded validation ROC-AUC of the fixture model (storedMeta's default). */
export const TREE_ROC_AUC = 0.71;

/** P(class 1) rounded to 6 decimals, for a value of the split feature. */
export function expectedProbability(x: number): number {
  const leaf = x <= TREE.threshold ? TREE.leftLeaf : TREE.rightLeaf;
  return Math.round(sigmoid(leaf) * 1e6) / 1e6;
}

/** The product's rules, written out by hand: label 1 at p ≥ 0.5; LOW near 0.5, HIGH far from it, MEDIUM between. */
export function expectedLabel(p: number): 0 | 1 {
  return p >= 0.5 ? 1 : 0;
}
export function expectedConfidence(p: number): 'HIGH' | 'MEDIUM' | 'LOW' {
  if (p >= 0.45 && p < 0.55) return 'LOW';
  if (p >= 0.7 || p <= 0.3) return 'HIGH';
  return 'MEDIUM';
}

export interface MarketFixture {
  root: string;
  /** The generated market.db every data directory copies. */
  marketFile: string;
  /** A registry holding the fixture tree as upper-circuit/1.0.0 (champion) and TREE_B as 1.1.0. */
  modelsDir: string;
  /** An empty registry (no usable model). */
  emptyModelsDir: string;
  /** A new data directory holding a copy of the market (and nothing else). */
  freshDataDir(label?: string): string;
  cleanup(): void;
}

export interface MarketFixtureOptions {
  stocks: number;
  days?: number;
  seed?: number;
  /** Edits the generated market before it is copied anywhere. */
  edit?: (db: Database.Database) => void;
}

/** Generates a market once (call it in beforeAll) and a fixture registry beside it. */
export async function buildMarketFixture(o: MarketFixtureOptions): Promise<MarketFixture> {
  const root = mkdtempSync(path.join(tmpdir(), 'sf-batch-'));
  const marketFile = path.join(root, 'source', 'market.db');
  await generateMarket({ file: marketFile, stocks: o.stocks, days: o.days ?? 300, seed: o.seed ?? 7 });
  if (o.edit) {
    const db = new Database(marketFile);
    try {
      o.edit(db);
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
  }
  const modelsDir = path.join(root, 'models');
  writeModel(modelsDir, MODEL_NAME, MODEL_VERSION, treeModel(TREE));
  writeModel(modelsDir, MODEL_NAME, MODEL_B_VERSION, treeModel(TREE_B));
  writeAliasesFile(modelsDir, { champion: `${MODEL_NAME}/${MODEL_VERSION}` });
  const emptyModelsDir = path.join(root, 'models-empty');
  mkdirSync(emptyModelsDir, { recursive: true });
  let n = 0;
  return {
    root,
    marketFile,
    modelsDir,
    emptyModelsDir,
    freshDataDir(label = 'data') {
      const dir = path.join(root, `${label}-${++n}`);
      mkdirSync(dir, { recursive: true });
      copyFileSync(marketFile, path.join(dir, 'market.db'));
      return dir;
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Fails with a clear message when the compiled CLI is missing (`npm test` builds it first). */
export function assertCliBuilt(): void {
  const entry = path.join(ROOT, 'dist', 'src', 'cli', 'index.js');
  if (!existsSync(entry)) throw new Error(`the CLI is not built (${entry} is missing): run 'npm run build' first`);
  for (const rel of ['batch/run', 'batch/job', 'batch/lock', 'cli/batch', 'predictions/store', 'schedule/scheduler', 'cli/schedule']) {
    const src = path.join(ROOT, 'src', `${rel}.ts`);
    const out = path.join(ROOT, 'dist', 'src', `${rel}.js`);
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs)
      throw new Error(`dist is older than src/${rel}.ts: run 'npm run build' first`);
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/** The environment a CLI run sees: notifications off, one worker thread, JSON logs. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, STOCKFLOW_THREADS: '1', LOG_LEVEL: 'info' };
  for (const k of ['SLACK_WEBHOOK_URL', 'SMTP_URL', 'SMTP_HOST', 'MAIL_FROM', 'MAIL_TO', 'PREFERRED_MODEL_VERSION', 'STOCKFLOW_DATA_DIR', 'STOCKFLOW_MODELS_DIR'])
    delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `node bin/stockflow …args` to completion. */
export function runCli(args: string[], o: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: cliEnv(o.env),
    timeout: o.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A CLI process started in the background, with its output collected as it comes. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  done: Promise<CliResult>;
  /** Resolves when `pred` holds for the stderr collected so far (checked on every chunk); rejects if the process exits first. */
  waitForStderr(pred: (stderr: string) => boolean, timeoutMs?: number): Promise<void>;
}

export function startCli(args: string[], o: CliOptions = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv(o.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err += s;
    for (const w of [...waiters]) w();
  });
  const done = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
  let exited = false;
  void done.then(() => {
    exited = true;
    for (const w of [...waiters]) w();
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    waitForStderr(pred, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for the CLI's stderr; so far:\n${err}`));
        }, timeoutMs);
        const check = (): void => {
          if (pred(err)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          } else if (exited) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`the CLI exited before the awaited output; stderr:\n${err}\nstdout:\n${out}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** JSON log records among stderr lines (lines that are not JSON are left out). */
export function logRecords(stderr: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return out;
}

/**
 * Checks the one-line failure contract: stderr holds exactly one line starting
 * with `stockflow:` (returned), every other line is a JSON log record, and no
 * stack trace line appears anywhere.
 */
export function failureLine(r: CliResult): string {
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  const ours = lines.filter((l) => l.startsWith('stockflow:'));
  const other = lines.filter((l) => !l.startsWith('stockflow:'));
  const notJson = other.filter((l) => {
    try {
      JSON.parse(l);
      return false;
    } catch {
      return true;
    }
  });
  const stack = lines.filter((l) => /^\s{4}at /.test(l) || l.includes('\\n    at '));
  if (ours.length !== 1 || notJson.length > 0 || stack.length > 0)
    throw new Error(`expected exactly one 'stockflow:' line, only JSON logs otherwise, no stack; stderr was:\n${r.stderr}`);
  return ours[0];
}

/** Opens a data directory's predictions.db read-only. */
export function openPredictions(dataDir: string): Database.Database {
  return new Database(path.join(dataDir, 'predictions.db'), { readonly: true, fileMustExist: true });
}

export function outputFile(dataDir: string, kind: 'predictions' | 'skipped_stocks' | 'report', date: string): string {
  return path.join(dataDir, 'predictions', `${kind}_${date}.${kind === 'report' ? 'txt' : 'csv'}`);
}

/** Polls until `pred` holds (for states another process creates). */
export async function until(pred: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The outputs of a date (CSV and report bytes) and every row of predictions.db's run tables, for before/after comparisons. */
export function snapshot(dataDir: string, date: string): { files: Record<string, Buffer>; rows: Record<string, unknown[]> } {
  const files: Record<string, Buffer> = {};
  for (const k of ['predictions', 'skipped_stocks', 'report'] as const) files[k] = readFileSync(outputFile(dataDir, k, date));
  const db = openPredictions(dataDir);
  try {
    return {
      files,
      rows: {
        daily_predictions: db.prepare('SELECT * FROM daily_predictions ORDER BY prediction_id').all(),
        skipped_stocks: db.prepare('SELECT * FROM skipped_stocks ORDER BY prediction_date, bse_code').all(),
        feature_values: db.prepare('SELECT * FROM feature_values ORDER BY prediction_date, bse_code').all(),
      },
    };
  } finally {
    db.close();
  }
}
