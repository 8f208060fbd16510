/**
 * `npm run bench -- big` (not in the default parts: it needs minutes and a few
 * GB of temporary disk): the universe ten times larger. Generates
 * BIG_STOCKS × BIG_DAYS with `stockflow data generate` into a temporary
 * directory (timed as a command), then runs the bench's `batch` part on it in
 * a child process, and the same part on the demo market in another, so each
 * peak RSS is one batch's alone (the part also runs the batch once as a
 * command, with that command's own peak RSS). The temporary directory is removed after.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config.js';

export const BIG_STOCKS = 110_000;
export const BIG_DAYS = 300;

const BENCH = path.join(PACKAGE_ROOT, 'dist', 'src', 'bench', 'index.js');
const BIN = path.join(PACKAGE_ROOT, 'bin', 'stockflow');

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

export function benchBig(o: { dataDir: string; modelsDir: string }): string[] {
  const out: string[] = [];
  for (const l of batchChild(o.dataDir, o.modelsDir)) out.push(`big, demo market: ${l}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'stockflow-big-'));
  try {
    const t = performance.now();
    const g = spawnSync(process.execPath, [BIN, 'data', 'generate', '--stocks', String(BIG_STOCKS), '--days', String(BIG_DAYS), '--data-dir', dir], {
      encoding: 'utf8',
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    const ms = performance.now() - t;
    if (g.status !== 0) throw new Error(`stockflow data generate failed (exit ${g.status}): ${g.stderr.trim().split('\n').at(-1) ?? ''}`);
    out.push(`big: stockflow data generate --stocks ${BIG_STOCKS} --days ${BIG_DAYS} as a command in ${(ms / 1000).toFixed(1)} s`);
    for (const l of batchChild(dir, o.modelsDir)) out.push(`big, ${BIG_STOCKS} stocks: ${l}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
