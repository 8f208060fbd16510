/**
 * Start-up cost of the CLI (lazy commands): `stockflow --help`,
 * `stockflow data info` and the batch pipeline's import, each against the floor
 * of `node -e 0` measured in the same run. Medians of `runs` runs, after one warm-up each.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from '../config.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeRuns(args: string[], runs: number): number {
  const once = (): number => {
    const t = performance.now();
    execFileSync(process.execPath, args, { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'silent' } });
    return performance.now() - t;
  };
  once();
  return median(Array.from({ length: runs }, once));
}

export function benchStartup(dataDir: string, runs = 9): string[] {
  const bin = path.join(PACKAGE_ROOT, 'bin', 'stockflow');
  const floor = timeRuns(['-e', '0'], runs);
  const rows: [string, string[]][] = [
    ['stockflow --help', [bin, '--help']],
    ['stockflow data info', [bin, 'data', 'info', '--data-dir', dataDir]],
    // What `stockflow batch` loads before it opens the stores (#16): the pipeline's modules, not Vega or onnx-proto.
    ['import the batch pipeline (dist/src/batch/job.js)', ['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(path.join(PACKAGE_ROOT, 'dist', 'src', 'batch', 'job.js')).href)})`]],
  ];
  const out = [`startup: node -e 0 (the floor): median ${floor.toFixed(0)} ms over ${runs} runs`];
  for (const [name, args] of rows) {
    const ms = timeRuns(args, runs);
    out.push(`startup: ${name}: median ${ms.toFixed(0)} ms = ${(ms / floor).toFixed(1)}× the floor`);
  }
  return out;
}
