/**
 * `npm run bench -- explain`: exact TreeSHAP for every stock of the demo
 * market's next date on one thread (the main one), against the time
 * onnxruntime takes to score the same rows in the same run.
 */
import type { Config } from '../config.js';
import { marketDbPath } from '../config.js';
import type { Logger } from '../log.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import type { Stock } from '../market/types.js';
import type { IsoDate } from '../market/dates.js';
import { computeFeatures } from '../features/service.js';
import { N_FEATURES } from '../features/definition.js';
import { loaderFromConfig } from '../model/loader.js';
import { asScoringModel } from '../model/score.js';
import { versionDir } from '../model/registry.js';
import { MODEL_FILE } from '../model/metadata.js';
import { explainerFromOnnx } from '../model/explain/index.js';
import { addDays } from '../market/dates.js';

export interface ExplainBenchInput {
  cfg: Config;
  log: Logger;
  market: Parameters<typeof computeFeatures>[0];
  stocks: Stock[];
  date: IsoDate;
  /** The batch's score stage (ms) measured earlier in this run, when the batch part ran. */
  batchScoreMs?: number;
}

export async function benchExplain(o: ExplainBenchInput): Promise<string[]> {
  const out: string[] = [];
  const { cfg } = o;
  const file = marketDbPath(cfg.dataDir);
  const fs = await computeFeatures(o.market, file, o.stocks, o.date, { threads: cfg.threads });
  // 11,000 rows (the issue's target), cycling the date's 10,5xx stocks as the model part does.
  const rows = fs.block.codes.length;
  const n = 11_000;
  const X = new Float32Array(n * N_FEATURES);
  for (let i = 0; i < n; i++) X.set(fs.block.values.subarray((i % rows) * N_FEATURES, ((i % rows) + 1) * N_FEATURES), i * N_FEATURES);
  // Background: the features a week earlier (the shipped model carries no covers).
  const bgDate = addDays(o.date, -7);
  const bgFs = await computeFeatures(o.market, file, o.stocks, bgDate, { threads: cfg.threads });

  const loader = loaderFromConfig(cfg, { log: o.log });
  try {
    const loaded = await loader.current();
    const bytes = await readFile(path.join(versionDir(cfg.modelsDir, loaded.meta.name, loaded.meta.version), MODEL_FILE));
    let t = performance.now();
    const ex = explainerFromOnnx(bytes, { background: { X: bgFs.block.values, n: bgFs.block.codes.length } });
    const setupMs = performance.now() - t;
    ex.explain(X.subarray(0, Math.min(n, 200) * N_FEATURES), Math.min(n, 200)); // warm-up
    const runs: number[] = [];
    const cpu: number[] = [];
    for (let k = 0; k < 3; k++) {
      const c = process.cpuUsage();
      t = performance.now();
      ex.explain(X, n);
      runs.push(performance.now() - t);
      const d = process.cpuUsage(c);
      cpu.push((d.user + d.system) / 1000);
    }
    cpu.sort((a, b) => a - b);
    runs.sort((a, b) => a - b);
    const med = runs[1];
    // One row at a time, as a /predict with include_shap would (explain() allocates its outputs per call).
    const single: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const s = performance.now();
      ex.explain(X.subarray((i % n) * N_FEATURES, ((i % n) + 1) * N_FEATURES), 1);
      single.push(performance.now() - s);
    }
    single.sort((a, b) => a - b);
    const model = asScoringModel(loaded);
    await model.score(X, n, 1000);
    const sruns: number[] = [];
    for (let k = 0; k < 3; k++) {
      t = performance.now();
      await model.score(X, n, 1000);
      sruns.push(performance.now() - t);
    }
    sruns.sort((a, b) => a - b);
    out.push(
      `explain: ${loaded.ref}, covers from ${ex.coverSource}${ex.coverSource === 'background' ? ` (${ex.backgroundRows} rows of ${bgDate}, set-up ${setupMs.toFixed(0)} ms)` : ''}; ` +
        `${n} rows (the ${rows} stocks of ${o.date}, cycled) on one thread, ${ex.algorithm}: median ${(med / 1000).toFixed(2)} s = ${Math.round((n / med) * 1000)} rows/s (min ${(runs[0] / 1000).toFixed(2)}, max ${(runs[2] / 1000).toFixed(2)}); CPU time median ${(cpu[1] / 1000).toFixed(2)} s (load average ${os.loadavg()[0].toFixed(1)})`,
    );
    out.push(
      `explain: ${(med / sruns[1]).toFixed(0)}× onnxruntime scoring the same rows in this run (median ${sruns[1].toFixed(1)} ms)` +
        `; one row per call: p50 ${single[1000].toFixed(3)} ms, p95 ${single[1900].toFixed(3)} ms, p99 ${single[1980].toFixed(3)} ms` +
        (o.batchScoreMs !== undefined ? `; ${(med / Math.max(o.batchScoreMs, 1)).toFixed(0)}× the batch's score stage (${o.batchScoreMs} ms)` : ''),
    );
  } finally {
    await loader.close();
  }
  return out;
}
