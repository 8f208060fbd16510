/**
 * `stockflow data fetch` as a user runs it (the built CLI, a child process) against loopback stand-ins of the
 * exchanges, configured through STOCKFLOW_FETCH_*_URL; and the morning batch's check that catches a fetch that
 * never succeeded (exit 3 naming the missing files, which the failure notice carries).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateExchangeFiles } from '../src/demo/exchange-files.js';
import { PredictionsStore } from '../src/predictions/store.js';
import { renderSlack } from '../src/notify/slack.js';
import { renderEmail } from '../src/notify/email.js';
import { fetchWarning, noticeFromDb } from '../src/batch/notice.js';
import { fetchEnv, startExchangeServer, type ExchangeServer } from './helpers/exchange-server.js';
import { BIN, ROOT, assertCliBuilt, buildMarketFixture, cliEnv, failureLine, openPredictions, runCli, type CliResult, type MarketFixture } from './helpers/batch-fixture.js';

let tmp: string;
let files: string;
let nse: ExchangeServer;
let bse: ExchangeServer;
let fx: MarketFixture;

/** The CLI run without blocking the event loop (the stand-in servers live in this process). */
function cli(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv({ LOG_LEVEL: 'warn', ...env }) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const SETTINGS = { STOCKFLOW_FETCH_TIMEOUT_MS: '400', STOCKFLOW_FETCH_RETRIES: '1', STOCKFLOW_FETCH_BACKOFF_MS: '10', STOCKFLOW_FETCH_RATE: '50' };

beforeAll(async () => {
  assertCliBuilt();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sf-fetch-cli-'));
  files = path.join(tmp, 'exchange');
  generateExchangeFiles({ out: files, stocks: 20, sessions: 4, seed: 2, end: '2025-10-06' });
  nse = await startExchangeServer(files);
  bse = await startExchangeServer(files);
  fx = await buildMarketFixture({ stocks: 30 });
});
afterAll(async () => {
  await nse?.close();
  await bse?.close();
  fx?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

describe('stockflow data fetch (CLI)', () => {
  it('fetches a session and the masters, prints the summary, records the run; a second run finds them present', async () => {
    const dir = path.join(tmp, 'd1');
    const env = { ...fetchEnv(nse.base, bse.base), ...SETTINGS };
    const r = await cli(['data', 'fetch', '--date', '2025-10-06', '--no-import', '--data-dir', dir], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('fetch 2025-10-06: 7 fetched, 0 present (skipped), 0 missing, 0 failed, ' + r.stdout.split(', ')[4].split('\n')[0] + '\nimport: skipped (--no-import)\n');
    expect(existsSync(path.join(dir, 'raw', '2025', '10', '06', 'PR061025.zip'))).toBe(true);
    expect(existsSync(path.join(dir, 'raw', 'masters', 'EQUITY_L.csv'))).toBe(true);
    const again = await cli(['data', 'fetch', '--date', '2025-10-06', '--no-import', '--data-dir', dir], env);
    expect(again.code).toBe(0);
    expect(again.stdout.split('\n')[0]).toMatch(/^fetch 2025-10-06: 0 fetched, 5 present \(skipped\), 0 missing, 0 failed, 0\.0 MB$/);
    const db = openPredictions(dir);
    try {
      const rows = db.prepare('SELECT status, fetched, present, missing, failed, exit_code FROM fetch_runs ORDER BY finished_at').all();
      expect(rows).toEqual([
        { status: 'ok', fetched: 7, present: 0, missing: 0, failed: 0, exit_code: 0 },
        { status: 'ok', fetched: 0, present: 5, missing: 0, failed: 0, exit_code: 0 },
      ]);
    } finally {
      db.close();
    }
  });

  it('a holiday: says so, asks for nothing, exit 0', async () => {
    const before = nse.requests.length + bse.requests.length;
    const r = await cli(['data', 'fetch', '--date', '2025-10-02', '--no-import', '--data-dir', path.join(tmp, 'd2')], {
      ...fetchEnv(nse.base, bse.base),
      ...SETTINGS,
      STOCKFLOW_FETCH_NSE_EQUITY_LIST_URL: 'off',
      STOCKFLOW_FETCH_BSE_SCRIPS_URL: 'off',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('2025-10-02 is not a trading day (weekend or exchange holiday): nothing to fetch\n');
    expect(nse.requests.length + bse.requests.length).toBe(before);
  });

  it('a file not published: exit 9, the summary names it, the rest is kept', async () => {
    nse.always('sec_bhavdata_full_03102025.csv', '404');
    const dir = path.join(tmp, 'd3');
    const r = await cli(['data', 'fetch', '--date', '2025-10-03', '--no-import', '--data-dir', dir], { ...fetchEnv(nse.base, bse.base), ...SETTINGS });
    expect(r.code).toBe(9);
    expect(r.stdout).toContain(`  missing 2025-10-03 nse-full: ${nse.base}/products/content/sec_bhavdata_full_03102025.csv: not published yet (HTTP 404)\n`);
    expect(r.stdout.split('\n')[0]).toMatch(/^fetch 2025-10-03: 6 fetched, 0 present \(skipped\), 1 missing, 0 failed/);
    expect(existsSync(path.join(dir, 'raw', '2025', '10', '03', 'PR031025.zip'))).toBe(true);
    const store = PredictionsStore.openReadonly(dir);
    try {
      expect(store.fetchGapsFor('2025-10-03')?.files).toEqual(['sec_bhavdata_full_03102025.csv (missing)']);
    } finally {
      store.close();
    }
  });

  it('bad flags and settings: one line, exit 2', async () => {
    const dir = path.join(tmp, 'd4');
    const a = await cli(['data', 'fetch', '--date', '2025-10-03', '--from', '2025-10-01', '--data-dir', dir], {});
    expect(a.code).toBe(2);
    expect(failureLine(a)).toBe('stockflow: --date cannot be combined with --from/--to');
    const b = await cli(['data', 'fetch', '--date', '2025-13-03', '--data-dir', dir], {});
    expect(b.code).toBe(2);
    expect(failureLine(b)).toBe("stockflow: --date '2025-13-03' is not a real calendar date");
    const c = await cli(['data', 'fetch', '--data-dir', dir], { STOCKFLOW_FETCH_NSE_PR_URL: 'https://x/PR{DDMMYYY}.zip' });
    expect(c.code).toBe(2);
    expect(failureLine(c)).toContain('STOCKFLOW_FETCH_NSE_PR_URL: unknown placeholder {DDMMYYY}');
  });
});

describe("stockflow schedule's evening job", () => {
  it('runs `data fetch --date D --until 23:00 --data-dir …` as a child, as the scheduler does', async () => {
    const { BatchChild } = await import('../src/schedule/child.js');
    const { FETCH_UNTIL } = await import('../src/schedule/scheduler.js');
    const dir = path.join(tmp, 'sched');
    const child = new BatchChild(['--until', FETCH_UNTIL, '--data-dir', dir], ['data', 'fetch']);
    const saved = { ...process.env };
    Object.assign(process.env, fetchEnv(nse.base, bse.base), SETTINGS, { LOG_LEVEL: 'silent' });
    try {
      expect(await child.run('2025-10-06')).toBe(0);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
    expect(existsSync(path.join(dir, 'raw', '2025', '10', '06', 'BhavCopy_NSE_CM_0_0_0_20251006_F_0000.csv.zip'))).toBe(true);
  });
});

describe('the morning batch after a fetch that never succeeded', () => {
  const record = (dir: string, session: string, files: { file: string; status: 'missing' | 'failed' | 'fetched' }[]): void => {
    const store = PredictionsStore.openForWrite(dir);
    try {
      store.recordFetchRun({
        run_id: `fetch-test-${session}`,
        started_at: `${session}T13:30:00.000Z`,
        finished_at: `${session}T17:30:00.000Z`,
        first_session: session,
        last_session: session,
        status: files.every((f) => f.status === 'fetched') ? 'ok' : 'incomplete',
        fetched: files.filter((f) => f.status === 'fetched').length,
        present: 0,
        missing: files.filter((f) => f.status === 'missing').length,
        failed: files.filter((f) => f.status === 'failed').length,
        holidays: 0,
        bytes: 0,
        import_status: 'nothing new',
        exit_code: 9,
        files_json: JSON.stringify(files.map((f) => ({ date: session, source: 'x', url: `http://x/${f.file}`, file: `raw/2025/11/14/${f.file}`, status: f.status, bytes: 0 }))),
      });
    } finally {
      store.close();
    }
  };

  it('stops with exit 3 naming the missing files when the session is not in market.db', () => {
    // The fixture market ends on 2025-11-13; the batch of Monday 2025-11-17 expects Friday 2025-11-14.
    const dir = fx.freshDataDir('gap');
    record(dir, '2025-11-14', [
      { file: 'BhavCopy_NSE_CM_0_0_0_20251114_F_0000.csv.zip', status: 'missing' },
      { file: 'PR141125.zip', status: 'failed' },
      { file: 'BhavCopy_BSE_CM_0_0_0_20251114_F_0000.CSV', status: 'fetched' },
    ]);
    const r = runCli(['batch', '--date', '2025-11-17', '--data-dir', dir, '--models-dir', fx.modelsDir]);
    expect(r.code).toBe(3);
    expect(failureLine(r)).toBe(
      "stockflow: market data for 2025-11-14 is missing (market.db ends at 2025-11-13): the last fetch (fetch-test-2025-11-14, incomplete) left missing: BhavCopy_NSE_CM_0_0_0_20251114_F_0000.csv.zip (missing), PR141125.zip (failed); run 'stockflow data fetch --date 2025-11-14' (--allow-stale to run anyway)",
    );
  });

  it('without recorded fetches (data imported another way) the same batch runs: the check applies only where the fetch is used', () => {
    const dir = fx.freshDataDir('nofetch');
    const r = runCli(['batch', '--date', '2025-11-17', '--data-dir', dir, '--models-dir', fx.modelsDir]);
    expect(r.code).toBe(0);
  });

  it('when the data is there but files were missing, the notices say which (Slack and email)', () => {
    const dir = fx.freshDataDir('warn');
    record(dir, '2025-11-13', [{ file: 'sec_list_13112025.csv', status: 'missing' }]);
    const r = runCli(['batch', '--date', '2025-11-14', '--data-dir', dir, '--models-dir', fx.modelsDir]);
    expect(r.code).toBe(0);
    const w = fetchWarning(dir, '2025-11-13');
    expect(w).toBe('the evening fetch of 2025-11-13 left 1 file(s) missing: sec_list_13112025.csv (missing) (stockflow data fetch --date 2025-11-13)');
    const n = { ...noticeFromDb(dir, '2025-11-14'), dataWarning: w };
    expect(JSON.stringify(renderSlack(n).blocks)).toContain('*Input data:* the evening fetch of 2025-11-13 left 1 file(s) missing: sec_list_13112025.csv');
    expect(renderEmail(n, { mailFrom: 'a@b', mailTo: ['c@d'] } as never).text).toContain('INPUT DATA: the evening fetch of 2025-11-13 left 1 file(s) missing');
    expect(fetchWarning(fx.freshDataDir('none'), '2025-11-13')).toBeUndefined();
  });
});

describe('end to end: the evening fetch from the exchanges, then the morning batch', () => {
  it('history imported once; the evening fetch downloads and imports the session; the 07:00 batch of the next day runs on it', async () => {
    // 260 sessions of exchange files ending Thu 2025-11-13 (more than the 250 the features need).
    const out = path.join(tmp, 'e2e-files');
    const g = generateExchangeFiles({ out, stocks: 12, sessions: 260, seed: 4, end: '2025-11-13' });
    const last = g.sessions[g.sessions.length - 1];
    expect(last).toBe('2025-11-13');
    const data = path.join(tmp, 'e2e-data');
    // The history, as an analyst imports it once: every session folder but the last, and the masters.
    const history = g.sessions.slice(0, -1).map((d) => path.join(out, d.slice(0, 4), d.slice(5, 7), d.slice(8, 10)));
    const imported = await cli(['data', 'import-exchange', ...history, path.join(out, 'masters'), '--data-dir', data], {});
    expect(imported.code, imported.stderr).toBe(0);
    const morning0 = runCli(['batch', '--date', '2025-11-14', '--data-dir', data, '--models-dir', fx.modelsDir], { timeoutMs: 120_000 });
    // Before the evening fetch, the market ends on the 12th: the session of the 13th is missing (no fetch recorded
    // yet, so only the staleness rule applies and the batch runs on stale data as of the 12th).
    expect(morning0.code, morning0.stderr).toBe(0);
    expect(morning0.stdout).toContain('(as of 2025-11-12)');

    // The evening of the 13th: files served by the stand-ins, configured as a user would.
    const srvN = await startExchangeServer(out);
    const srvB = await startExchangeServer(out);
    try {
      const evening = await cli(['data', 'fetch', '--date', last, '--data-dir', data], { ...fetchEnv(srvN.base, srvB.base), ...SETTINGS });
      expect(evening.code, evening.stderr).toBe(0);
      expect(evening.stdout.split('\n')[0]).toMatch(/^fetch 2025-11-13: 7 fetched, 0 present \(skipped\), 0 missing, 0 failed/);
      // 12 NSE securities (9 dual-listed, 3 NSE-only) and 3 BSE-only scrips: 15 securities, one daily bar each.
      expect(evening.stdout).toMatch(/\nimport: imported: 2 folder\(s\) into .*market\.db: 15 securities; rows .*daily_prices 15,.*; rejects 0\n/);
    } finally {
      await srvN.close();
      await srvB.close();
    }
    const db = openPredictions(data);
    try {
      expect(db.prepare('SELECT status, fetched, import_status FROM fetch_runs').get()).toMatchObject({ status: 'ok', fetched: 7 });
    } finally {
      db.close();
    }
    const info = runCli(['data', 'info', '--data-dir', data]);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/\nlast fetch: fetch-\S+ \(2025-11-13\): ok, 7 fetched, 0 present, 0 missing, 0 failed; import imported: 2 folder\(s\)/);

    // The next morning: the batch of Friday the 14th runs as of the 13th, the session the fetch brought.
    const morning = runCli(['batch', '--date', '2025-11-14', '--data-dir', data, '--models-dir', fx.modelsDir], { timeoutMs: 120_000 });
    expect(morning.code, morning.stderr).toBe(0);
    expect(morning.stdout).toContain('ok 2025-11-14 (as of 2025-11-13)');
    const p = openPredictions(data);
    try {
      const run = p.prepare("SELECT as_of_session, universe_count FROM batch_runs WHERE prediction_date = '2025-11-14' AND status = 'succeeded' ORDER BY finished_at DESC LIMIT 1").get() as { as_of_session: string; universe_count: number };
      expect(run.as_of_session).toBe('2025-11-13');
      expect(run.universe_count).toBe(15);
    } finally {
      p.close();
    }
  }, 240_000);
});
