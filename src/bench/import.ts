/**
 * `npm run bench -- import`: one year of exchange files in the real formats (src/demo/exchange-files.ts;
 * 4,000 NSE securities + 4,000 BSE rows a session × 250 sessions ≈ 2 M price rows by default) generated into a
 * temporary folder, then `stockflow data import-exchange` run on it as a child process, twice: `--dry-run` (detect,
 * parse, validate) and the real import into an empty data directory. Each run reports wall seconds and the
 * child's peak RSS (from `/usr/bin/time` where it exists, else unknown: src/bench/command.ts, timeCli); a failed run prints its exit code and
 * the child's `stockflow: …` line, its CPU time (user + system) and the load average around it; the import's CPU is
 * also given as a multiple of the dry run's (reading alone, measured in the same run). #12's target: the import under
 * 60 s with peak RSS under 500 MB.
 *
 * Sizes: STOCKFLOW_BENCH_IMPORT_STOCKS, STOCKFLOW_BENCH_IMPORT_SESSIONS (defaults 4000, 250); the files are #12's set
 * (UDiFF NSE + BSE, PR bundles, masters), STOCKFLOW_BENCH_IMPORT_ALL=1 adds the full bhavcopies and sec_lists;
 * STOCKFLOW_BENCH_KEEP=1 keeps the temporary folder (its path is printed).
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { timeCli } from './command.js';
import { EXCHANGE_FILES_DEFAULTS, EXCHANGE_FILE_SETS, generateExchangeFiles, type ExchangeFileSet } from '../demo/exchange-files.js';


export interface ChildFigures {
  exitCode: number;
  seconds: number;
  peakRssMb: number | null;
  /** The child's CPU time, user + system, in seconds (from /usr/bin/time; null without it). */
  cpuSeconds: number | null;
  /** The 1-minute load average before and after the run. */
  load: [number, number];
  errorLine: string | null;
  stdoutTail: string;
}

/** Runs the CLI as a child with `args` (timeCli): wall time and, with /usr/bin/time, its peak RSS and CPU time. */
function timeImport(args: string[], env: NodeJS.ProcessEnv): ChildFigures {
  const r = timeCli(args, env);
  return {
    exitCode: r.status,
    seconds: r.ms / 1000,
    peakRssMb: r.rss !== undefined ? r.rss / (1024 * 1024) : null,
    cpuSeconds: r.cpuMs !== undefined ? r.cpuMs / 1000 : null,
    load: r.load,
    errorLine: r.stderr.split('\n').find((l) => l.startsWith('stockflow:')) ?? null,
    stdoutTail: r.stdout.trim().split('\n').slice(-3).join(' | '),
  };
}

const envInt = (name: string, dflt: number): number => {
  const v = process.env[name];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : dflt;
};

/** Runs the part; each line goes to `emit` as soon as it is measured. */
export function benchImport(emit: (line: string) => void): void {
  const out = { push: emit };
  const stocks = envInt('STOCKFLOW_BENCH_IMPORT_STOCKS', EXCHANGE_FILES_DEFAULTS.stocks);
  const sessions = envInt('STOCKFLOW_BENCH_IMPORT_SESSIONS', EXCHANGE_FILES_DEFAULTS.sessions);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'stockflow-bench-import-'));
  try {
    const files = path.join(tmp, 'exchange');
    // #12's benchmark set: the NSE and BSE UDiFF bhavcopies and the PR bundles (and the masters); STOCKFLOW_BENCH_IMPORT_ALL=1
    // adds the full bhavcopies and the sec_lists (the whole evening fetch: about twice the rows).
    const all = process.env.STOCKFLOW_BENCH_IMPORT_ALL === '1';
    const only: ExchangeFileSet[] = all ? [...EXCHANGE_FILE_SETS] : ['nse-udiff', 'bse-udiff', 'pr', 'masters'];
    const s = generateExchangeFiles({ out: files, stocks, sessions, seed: EXCHANGE_FILES_DEFAULTS.seed, end: EXCHANGE_FILES_DEFAULTS.end, only });
    out.push(
      `import: generated ${s.files} files (${only.join(', ')}; ${(s.bytes / 1024 / 1024).toFixed(0)} MB) for ${s.sessions.length} sessions: ${s.nseRows} NSE + ${s.bseRows} BSE UDiFF rows ` +
        `(plus the PR pd rows of the same NSE bars) in ${(s.ms / 1000).toFixed(1)} s`,
    );
    const dataDir = path.join(tmp, 'data');
    mkdirSync(dataDir);
    const env = { ...process.env, STOCKFLOW_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    const report = (what: string, f: ChildFigures, floor?: ChildFigures): string =>
      `import: ${what}: ${f.exitCode === 0 ? 'ok' : `FAILED (exit ${f.exitCode}: ${f.errorLine ?? 'no stockflow: line'})`} in ${f.seconds.toFixed(1)} s, ` +
      `CPU ${f.cpuSeconds === null ? 'unknown' : `${f.cpuSeconds.toFixed(1)} s user+sys`}` +
      (floor?.cpuSeconds && f.cpuSeconds !== null ? ` (${(f.cpuSeconds / floor.cpuSeconds).toFixed(2)}× the dry run's)` : '') +
      `, peak RSS ${f.peakRssMb === null ? 'unknown (no /usr/bin/time)' : `${f.peakRssMb.toFixed(0)} MB`}, load ${f.load[0].toFixed(2)} → ${f.load[1].toFixed(2)}` +
      (f.exitCode === 0 && f.stdoutTail ? ` [${f.stdoutTail.slice(0, 300)}]` : '');
    // The dry run reads every file on one thread (detect, parse, validate) and writes nothing: the floor the import's CPU is compared with.
    const dry = timeImport(['data', 'import-exchange', files, '--dry-run'], env);
    out.push(report('data import-exchange --dry-run (read only, one thread)', dry));
    out.push(report('data import-exchange (into an empty market.db)', timeImport(['data', 'import-exchange', files], env), dry));
    out.push('import: target (#12): under 60 s, peak RSS under 500 MB');
    if (process.env.STOCKFLOW_BENCH_KEEP === '1') out.push(`import: files and data kept in ${tmp}`);
  } finally {
    if (process.env.STOCKFLOW_BENCH_KEEP !== '1') rmSync(tmp, { recursive: true, force: true });
  }
}
