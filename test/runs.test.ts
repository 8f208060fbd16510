/**
 * Which run a date means (docs/runs.md): a subset or over-budget re-run of a
 * finished date never replaces its outputs; the API, `notify --date` and a
 * backfill's resume agree on the date's completed run; a killed run is shown
 * and recorded as interrupted. The CLI runs as a process (from dist).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import pino from 'pino';
import {
  assertCliBuilt,
  buildMarketFixture,
  failureLine,
  logRecords,
  MODEL_B_VERSION,
  MORNING,
  openPredictions,
  outputFile,
  runCli,
  snapshot,
  startCli,
  until,
  type MarketFixture,
} from './helpers/batch-fixture.js';
import { buildApp } from '../src/server/app.js';

let fx: MarketFixture;

beforeAll(async () => {
  assertCliBuilt();
  fx = await buildMarketFixture({ stocks: 80 });
});
afterAll(() => fx?.cleanup());

const dirs = (dataDir: string): string[] => ['--data-dir', dataDir, '--models-dir', fx.modelsDir];

interface RunRow {
  run_id: string;
  status: string;
  scope: string;
  selection: string | null;
  published: number;
  processed_count: number | null;
  pid: number | null;
  host: string | null;
}

function runs(dataDir: string): RunRow[] {
  const db = openPredictions(dataDir);
  try {
    return db
      .prepare('SELECT run_id, status, scope, selection, published, processed_count, pid, host FROM batch_runs ORDER BY started_at, rowid')
      .all() as RunRow[];
  } finally {
    db.close();
  }
}

function csvRows(file: string): Record<string, string>[] {
  return parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
}

/** What the API serves for a date: the run id it reports, and every row (all pages). */
async function served(dataDir: string, date: string): Promise<{ status: number; runId?: string; total?: number; codes?: string[] }> {
  const app = await buildApp({ dataDir, modelsDir: fx.modelsDir, server: { rateLimitRps: 0 }, logger: pino({ level: 'silent' }), defaultMetrics: false, fileCheckMs: 0 });
  try {
    const r = await app.inject({ method: 'GET', url: `/api/v1/predictions?date=${date}&limit=1000` });
    if (r.statusCode !== 200) return { status: r.statusCode };
    const body = r.json<{ run_id: string; total: number; items: { bse_code: string }[] }>();
    return { status: 200, runId: body.run_id, total: body.total, codes: body.items.map((i) => i.bse_code) };
  } finally {
    await app.close();
  }
}

/** A full succeeded run of MORNING, and what it left. */
function fullRun(name: string): { dataDir: string; runId: string; before: ReturnType<typeof snapshot>; codes: string[] } {
  const dataDir = fx.freshDataDir(name);
  const r = runCli(['batch', '--date', MORNING, '--max-error-rate', '1', ...dirs(dataDir)]);
  expect(r.code, r.stderr).toBe(0);
  const [run] = runs(dataDir);
  expect(run).toMatchObject({ status: 'succeeded', scope: 'full', published: 1 });
  return { dataDir, runId: run.run_id, before: snapshot(dataDir, MORNING), codes: csvRows(outputFile(dataDir, 'predictions', MORNING)).map((x) => x.bse_code) };
}

/** The date's published outputs are still the full run's, and the API serves that run with its rows. */
async function expectFullRunKept(f: ReturnType<typeof fullRun>): Promise<void> {
  const after = snapshot(f.dataDir, MORNING);
  for (const k of Object.keys(f.before.files)) expect(after.files[k].equals(f.before.files[k]), `${k} file`).toBe(true);
  expect(after.rows).toEqual(f.before.rows);
  const api = await served(f.dataDir, MORNING);
  expect(api).toMatchObject({ status: 200, runId: f.runId, total: f.codes.length });
  expect(api.codes).toEqual(f.codes);
}

describe('a subset run never changes a finished date (issue 18 High#1)', () => {
  it('--codes 999999 after a full run: exit 4, its own files, the full run’s rows, files and served run intact', async () => {
    const f = fullRun('typo');
    const r = runCli(['batch', '--date', MORNING, '--codes', '999999', ...dirs(f.dataDir)]);
    expect(r.code, r.stderr).toBe(4);
    expect(failureLine(r)).toMatch(/error budget exceeded on 2025-11-14: 100\.0% .*subset run: its own files written, the date's outputs unchanged/);
    await expectFullRunKept(f);
    const sub = runs(f.dataDir)[1];
    expect(sub).toMatchObject({ status: 'budget_exceeded', scope: 'subset', selection: '--codes 999999', published: 0 });
    const tag = `subset-${sub.run_id}`;
    for (const [kind, file] of [
      ['predictions', `predictions_${MORNING}.${tag}.csv`],
      ['skipped', `skipped_stocks_${MORNING}.${tag}.csv`],
      ['report', `report_${MORNING}.${tag}.txt`],
    ])
      expect(r.stdout, kind).toContain(path.join(f.dataDir, 'predictions', file));
    const dir = path.join(f.dataDir, 'predictions');
    expect(csvRows(path.join(dir, `predictions_${MORNING}.${tag}.csv`))).toEqual([]);
    expect(csvRows(path.join(dir, `skipped_stocks_${MORNING}.${tag}.csv`)).map((x) => `${x.bse_code}:${x.reason}`)).toEqual(['999999:UNKNOWN_STOCK']);
    expect(readFileSync(path.join(dir, `report_${MORNING}.${tag}.txt`), 'utf8')).toMatch(/^Scope: SUBSET \(--codes 999999\)/m);
    expect(readFileSync(path.join(dir, `report_${MORNING}.${tag}.txt`), 'utf8')).toContain(`the date's outputs are run ${f.runId}'s`);
  }, 60_000);

  it('--codes <one real code> after a full run: exit 0, the one stock in its own file with the full run’s probability; the date unchanged', async () => {
    const f = fullRun('one-code');
    const full = csvRows(outputFile(f.dataDir, 'predictions', MORNING));
    const pick = full[Math.floor(full.length / 2)];
    const r = runCli(['batch', '--date', MORNING, '--codes', pick.bse_code, ...dirs(f.dataDir)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^ok ${MORNING} .*\\[subset: --codes ${pick.bse_code}\\]$`, 'm'));
    await expectFullRunKept(f);
    const sub = runs(f.dataDir)[1];
    expect(sub).toMatchObject({ status: 'succeeded', scope: 'subset', published: 0, processed_count: 1 });
    const own = csvRows(path.join(f.dataDir, 'predictions', `predictions_${MORNING}.subset-${sub.run_id}.csv`));
    expect(own).toEqual([pick]);
  }, 60_000);
});

describe('an over-budget run never replaces a succeeded one (issue 18 High#1)', () => {
  it('a budget_exceeded full run after a succeeded one keeps the date’s outputs and writes its own .run-<id> files, exit 4', async () => {
    const f = fullRun('budget');
    const r = runCli(['batch', '--date', MORNING, '--max-error-rate', '0', ...dirs(f.dataDir)]);
    expect(r.code, r.stderr).toBe(4);
    expect(failureLine(r)).toMatch(/the earlier succeeded outputs of 2025-11-14 were kept/);
    await expectFullRunKept(f);
    const second = runs(f.dataDir)[1];
    expect(second).toMatchObject({ status: 'budget_exceeded', scope: 'full', published: 0 });
    const own = readdirSync(path.join(f.dataDir, 'predictions')).filter((x) => x.includes(`.run-${second.run_id}.`)).sort();
    expect(own).toEqual([
      `predictions_${MORNING}.run-${second.run_id}.csv`,
      `report_${MORNING}.run-${second.run_id}.html`,
      `report_${MORNING}.run-${second.run_id}.txt`,
      `skipped_stocks_${MORNING}.run-${second.run_id}.csv`,
    ]);
    // Its own CSV has what it scored: the same stocks as the kept run (same model, same inputs).
    expect(csvRows(path.join(f.dataDir, 'predictions', own[0]))).toEqual(csvRows(outputFile(f.dataDir, 'predictions', MORNING)));
    expect(readFileSync(path.join(f.dataDir, 'predictions', own[2]), 'utf8')).toContain(`\nPublished: no (the date's earlier succeeded run is kept; the date's outputs are run ${f.runId}'s)\n`);
  }, 60_000);

  it('a budget_exceeded run of a date with no succeeded run of its model publishes (and the API serves it)', async () => {
    const f = fullRun('budget-other-model');
    const r = runCli(['batch', '--date', MORNING, '--max-error-rate', '0', '--model', MODEL_B_VERSION, ...dirs(f.dataDir)]);
    expect(r.code, r.stderr).toBe(4);
    const second = runs(f.dataDir)[1];
    expect(second).toMatchObject({ status: 'budget_exceeded', scope: 'full', published: 1 });
    const api = await served(f.dataDir, MORNING);
    expect(api).toMatchObject({ status: 200, runId: second.run_id, total: second.processed_count });
    expect(api.codes).toEqual(csvRows(outputFile(f.dataDir, 'predictions', MORNING)).map((x) => x.bse_code));
  }, 60_000);
});

describe('one completed run per date (issue 11)', () => {
  it('the API, notify --date --dry-run and a backfill resume agree on the run of D when a failed run follows a succeeded one', async () => {
    const f = fullRun('agree');
    // A later run of D that fails after it started (no usable model in an empty registry).
    const empty = path.join(f.dataDir, 'no-models');
    mkdirSync(empty);
    const failed = runCli(['batch', '--date', MORNING, '--data-dir', f.dataDir, '--models-dir', empty]);
    expect(failed.code).toBe(3);
    expect(runs(f.dataDir).map((x) => x.status)).toEqual(['succeeded', 'failed']);

    const api = await served(f.dataDir, MORNING);
    expect(api.runId).toBe(f.runId);
    const dry = runCli(['notify', '--date', MORNING, '--dry-run', '--data-dir', f.dataDir]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`run ${f.runId}`);
    const backfill = runCli(['batch', '--from', MORNING, '--to', MORNING, '--max-error-rate', '1', ...dirs(f.dataDir)]);
    expect(backfill.code, backfill.stderr).toBe(0);
    const skipped = logRecords(backfill.stderr).filter((x) => String(x.msg).startsWith('already complete'));
    expect(skipped.map((x) => [x.date, x.completedRun])).toEqual([[MORNING, f.runId]]);
    expect(runs(f.dataDir)).toHaveLength(2); // resume ran nothing
  }, 60_000);
});

describe('a killed batch is interrupted, not running (issue 18 Medium#2)', () => {
  it('SIGKILL mid-run: /health and the metric show interrupted; data info and the next batch record it', async () => {
    const big = await buildMarketFixture({ stocks: 1200, days: 270, seed: 3 });
    try {
      const dataDir = big.freshDataDir('killed');
      const p = startCli(['batch', '--date', MORNING, '--max-error-rate', '1', '--data-dir', dataDir, '--models-dir', big.modelsDir]);
      await p.waitForStderr((s) => logRecords(s).some((x) => x.msg === 'batch started'));
      await until(() => existsSync(path.join(dataDir, 'predictions.db')) && runs(dataDir).length === 1, 20_000, 'the run row');
      const pid = p.child.pid!;
      // While it runs: running, with its pid and host.
      expect(runs(dataDir)[0]).toMatchObject({ status: 'running', pid });
      const app = await buildApp({ dataDir, modelsDir: big.modelsDir, server: { rateLimitRps: 0 }, logger: pino({ level: 'silent' }), defaultMetrics: false, fileCheckMs: 0 });
      try {
        const live = (await app.inject({ method: 'GET', url: '/api/v1/health' })).json<{ last_batch_run: { status: string } }>();
        expect(live.last_batch_run.status).toBe('running');
        p.child.kill('SIGKILL');
        expect((await p.done).signal).toBe('SIGKILL');
        expect(runs(dataDir)[0].status).toBe('running'); // the row as the killed process left it
        const health = (await app.inject({ method: 'GET', url: '/api/v1/health' })).json<{ last_batch_run: { run_id: string; status: string } }>();
        expect(health.last_batch_run).toMatchObject({ run_id: runs(dataDir)[0].run_id, status: 'interrupted' });
        const metrics = (await app.inject({ method: 'GET', url: '/api/v1/metrics' })).body;
        expect(metrics).toMatch(/stockflow_last_batch_run_info\{[^}]*status="interrupted"[^}]*\} 1/);
      } finally {
        await app.close();
      }
      const info = runCli(['data', 'info', '--data-dir', dataDir]);
      expect(info.code, info.stderr).toBe(0);
      expect(info.stdout).toMatch(/^last run: .*: interrupted$/m);
      expect(info.stdout).toContain(`marked interrupted (process gone): ${runs(dataDir)[0].run_id}`);
      expect(runs(dataDir)[0].status).toBe('interrupted');
    } finally {
      big.cleanup();
    }
  }, 120_000);

  it('the next batch marks a killed run interrupted before it starts', async () => {
    const dataDir = fx.freshDataDir('killed-next');
    const p = startCli(['batch', '--date', MORNING, '--max-error-rate', '1', ...dirs(dataDir)]);
    await p.waitForStderr((s) => logRecords(s).some((x) => x.msg === 'batch started'));
    p.child.kill('SIGKILL');
    await p.done;
    expect(runs(dataDir).map((x) => x.status)).toEqual(['running']);
    const next = runCli(['batch', '--date', MORNING, '--max-error-rate', '1', ...dirs(dataDir)]);
    expect(next.code, next.stderr).toBe(0);
    expect(logRecords(next.stderr).some((x) => String(x.msg).includes('marked interrupted'))).toBe(true);
    expect(runs(dataDir).map((x) => x.status)).toEqual(['interrupted', 'succeeded']);
  }, 60_000);
});
