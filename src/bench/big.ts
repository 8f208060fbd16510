/**
 * `npm run bench -- big` (not in the default parts: it needs minutes and a few
 * GB of disk): the universe ten times larger. Runs the bench's `batch` part
 * (`once`) on the data directory's market (the demo market, or any market
 * given by STOCKFLOW_DATA_DIR, e.g. 11,000 × 300 for a like-for-like
 * comparison) and on a BIG_STOCKS × BIG_DAYS market, each in its own child
 * process so each peak RSS is one batch's alone (the part also runs the batch
 * once as a command, with that command's own peak RSS and its per-stage CPU
 * time and memory). The big market is STOCKFLOW_BENCH_BIG_DIR when it holds a
 * market.db (kept, not regenerated: generating takes minutes); otherwise it is
 * generated with `stockflow data generate` into a temporary directory (timed
 * as a command, with its CPU time and peak RSS) that is removed after.
 * The last line sets the two markets' figures side by side: memory as the universe grows.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { marketDbPath, PACKAGE_ROOT } from '../config.js';
import { timeCli } from './command.js';

export const BIG_STOCKS = 110_000;
export const BIG_DAYS = 300;

const BENCH = path.join(PACKAGE_ROOT, 'dist', 'src', 'bench', 'index.js');

/** The bench's batch part in its own process on `dataDir`: its lines (floor, batch, stages, peak RSS). */
function batchChild(dataDir: string, modelsDir: string): string[] {
  const r = spawnSync(process.execPath, [BENCH, 'batch', 'once'], {
    encoding: 'utf8',
    env: { ...process.env, STOCKFLOW_DATA_DIR: dataDir, STOCKFLOW_MODELS_DIR: modelsDir },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`bench batch on ${dataDir} failed (exit ${r.status}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  return r.stdout.trim().split('\n').filter((l) => !l.startsWith('stockflow bench:'));
}

/** What the side-by-side line needs from a market's lines: stocks, the command's peak RSS and × the floor. */
export function figuresOf(lines: readonly string[]): { stocks?: number; peakMb?: number; xFloor?: number } {
  const all = lines.join('\n');
  const stocks = /batch: \S+: (\d+) stocks/.exec(all);
  const command = /batch as a command:.*?= ([\d.]+)× the floor.*?peak RSS (\d+) MB/.exec(all);
  return { stocks: stocks ? Number(stocks[1]) : undefined, xFloor: command ? Number(command[1]) : undefined, peakMb: command ? Number(command[2]) : undefined };
}

/** `stockflow data generate` of the big market into `dir`, as a command: wall time, CPU time and peak RSS (with /usr/bin/time). */
function generate(dir: string): string {
  const g = timeCli(['data', 'generate', '--stocks', String(BIG_STOCKS), '--days', String(BIG_DAYS), '--data-dir', dir], { ...process.env, LOG_LEVEL: 'warn' });
  if (g.status !== 0) throw new Error(`stockflow data generate failed (exit ${g.status}): ${g.stderr.trim().split('\n').at(-1) ?? ''}`);
  const more = g.cpuMs !== undefined && g.rss !== undefined ? `; CPU time ${(g.cpuMs / 1000).toFixed(1)} s, peak RSS ${Math.round(g.rss / (1024 * 1024))} MB` : '';
  return `big: stockflow data generate --stocks ${BIG_STOCKS} --days ${BIG_DAYS} as a command in ${(g.ms / 1000).toFixed(1)} s${more} (load average ${g.load[1].toFixed(1)})`;
}

export function benchBig(o: { dataDir: string; modelsDir: string }): string[] {
  const out: string[] = [];
  const small = batchChild(o.dataDir, o.modelsDir);
  for (const l of small) out.push(`big, comparison market (${o.dataDir}): ${l}`);
  const given = process.env.STOCKFLOW_BENCH_BIG_DIR;
  const reuse = given !== undefined && given !== '' && existsSync(marketDbPath(given));
  const dir = reuse ? given : mkdtempSync(path.join(tmpdir(), 'stockflow-big-'));
  let big: string[];
  try {
    if (reuse) out.push(`big: the market in ${dir} (STOCKFLOW_BENCH_BIG_DIR; not generated)`);
    else out.push(generate(dir));
    big = batchChild(dir, o.modelsDir);
    for (const l of big) out.push(`big, ${dir}: ${l}`);
  } finally {
    if (!reuse) rmSync(dir, { recursive: true, force: true });
  }
  const a = figuresOf(small);
  const b = figuresOf(big);
  if (a.stocks && b.stocks && a.peakMb && b.peakMb)
    out.push(
      `big: memory as the universe grows: ${a.stocks} → ${b.stocks} stocks (${(b.stocks / a.stocks).toFixed(1)}×): peak RSS as a command ${a.peakMb} → ${b.peakMb} MB ` +
        `(${(b.peakMb / a.peakMb).toFixed(2)}×, +${(((b.peakMb - a.peakMb) * 1024) / (b.stocks - a.stocks)).toFixed(1)} KB per added stock); ` +
        `× the floor ${a.xFloor ?? '?'} → ${b.xFloor ?? '?'}`,
    );
  return out;
}
