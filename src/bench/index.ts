/**
 * `npm run bench [-- part …]`: measures the demo market end to end.
 * Parts: generate, features, model, batch, startup, explain, monitor (the default: all seven), serve, wrk (the
 * look-up API under an external load generator, see wrk.ts), big (`once`: the batch as a command once, not best of 3)
 * (110,000 stocks × 300 sessions in a temporary directory: minutes, see big.ts), import (one year of exchange
 * files through `data import-exchange` as a child process: see import.ts).
 * The demo market is generated into the data directory if absent.
 * Figures go to stdout; nothing here is asserted by tests.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { loadConfig, marketDbPath } from '../config.js';
import { createLogger } from '../log.js';
import { generateMarket } from '../demo/generate.js';
import { DEMO_DEFAULTS } from '../demo/defaults.js';
import { openMarketReadonly } from '../market/db.js';
import { activeStocks, scanPrices } from '../market/reader.js';
import { LOOKBACK_SESSIONS } from '../features/indicators.js';
import { MarketStore } from '../market/store.js';
import { missingInput } from '../errors.js';
import { computeFeatures } from '../features/service.js';
import { N_FEATURES } from '../features/definition.js';
import { loaderFromConfig } from '../model/loader.js';
import { asScoringModel } from '../model/score.js';
import { runBatch } from '../batch/run.js';
import { acquireBatchLock } from '../batch/lock.js';
import { loadScoringModel } from '../model/scoring-model.js';
import type { ScoringModel } from '../model/types.js';

const mb = (bytes: number): string => (bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / 1024 / 1024).toFixed(0)} MB`);
const peakRss = (): string => mb(process.resourceUsage().maxRSS * 1024);
const line = (s: string): void => void process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const parts = new Set(args.length > 0 ? args : ['generate', 'features', 'model', 'batch', 'startup', 'explain', 'monitor']);
  if (parts.has('import')) {
    // The exchange-file import (#12): needs no demo market, runs on its own temporary folder.
    const { benchImport } = await import('./import.js');
    benchImport(line);
    parts.delete('import');
    if (parts.size === 0) return;
  }
  const cfg = loadConfig({});
  const log = createLogger('warn');
  line(`stockflow bench: data ${cfg.dataDir}, models ${cfg.modelsDir}, threads ${cfg.threads}, node ${process.version}`);

  if (!existsSync(marketDbPath(cfg.dataDir)) || parts.has('generate')) {
    if (existsSync(marketDbPath(cfg.dataDir))) {
      line(`generate: skipped (market exists; delete ${marketDbPath(cfg.dataDir)} to measure generation)`);
    } else {
      const s = await generateMarket({ file: marketDbPath(cfg.dataDir), ...DEMO_DEFAULTS });
      line(`generate: ${s.stocks} stocks × ${DEMO_DEFAULTS.days} sessions, ${s.priceRows} price rows in ${(s.ms / 1000).toFixed(1)} s (peak RSS so far ${peakRss()})`);
    }
  }
  const market = openMarketReadonly(cfg.dataDir);
  const date = new MarketStore(market, marketDbPath(cfg.dataDir)).nextPredictionDate();
  if (!date) throw missingInput(`no prices in ${marketDbPath(cfg.dataDir)}`);
  const stocks = activeStocks(market);

  // The floor: one sequential pass over the price rows of the window the extraction reads, best of three.
  const window = new MarketStore(market, marketDbPath(cfg.dataDir)).calendar().lastSessions(date, LOOKBACK_SESSIONS + 1);
  let floorMs = Infinity;
  let floorRows = 0;
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    floorRows = scanPrices(market, window[0], window[window.length - 2]).rows;
    floorMs = Math.min(floorMs, performance.now() - t);
  }
  const xFloor = (ms: number): string => `${(ms / floorMs).toFixed(1)}× the floor`;
  line(`floor: one SQLite pass over ${floorRows} price rows (${LOOKBACK_SESSIONS} sessions before ${date}) in ${(floorMs / 1000).toFixed(2)} s (best of 3)`);

  if (parts.has('features')) {
    // Thread scaling: worker threads alone, and with the calling thread taking tasks too.
    const variants: { threads: number; mainThread: boolean }[] = [
      { threads: 0, mainThread: true }, // the calling thread alone: the reader's cost without a pool (CPU time ≈ wall)
      { threads: 1, mainThread: false },
      { threads: 1, mainThread: true },
      { threads: 2, mainThread: false },
      { threads: 2, mainThread: true },
    ];
    for (const v of variants) {
      const t = performance.now();
      const cpu = process.cpuUsage();
      const fs = await computeFeatures(market, marketDbPath(cfg.dataDir), stocks, date, v);
      const ms = performance.now() - t;
      const used = process.cpuUsage(cpu);
      const cpuS = ((used.user + used.system) / 1e6).toFixed(2);
      const how = v.threads === 0 ? 'the calling thread alone' : `${v.threads} worker thread(s)${v.mainThread ? ' + the main thread' : ''}`;
      line(
        `features: ${stocks.length} stocks for ${date} with ${how} in ${(ms / 1000).toFixed(2)} s = ${Math.round((stocks.length / ms) * 1000)} stocks/s = ${xFloor(ms)} ` +
          `(CPU time ${cpuS} s, all threads; load average ${loadavg()[0].toFixed(1)}; ${fs.block.skips.length} skipped)`,
      );
    }
  }

  if (parts.has('model')) {
    const t = performance.now();
    const loader = loaderFromConfig(cfg, { log });
    const loaded = await loader.current();
    const loadMs = performance.now() - t;
    const model = asScoringModel(loaded);
    const n = 11_000;
    const X = new Float32Array(n * N_FEATURES);
    const fs = await computeFeatures(market, marketDbPath(cfg.dataDir), stocks, date, { threads: cfg.threads });
    for (let i = 0; i < n; i++) X.set(fs.block.values.subarray((i % fs.block.codes.length) * N_FEATURES, ((i % fs.block.codes.length) + 1) * N_FEATURES), i * N_FEATURES);
    await model.score(X, n, 1000); // warm-up
    const runs: number[] = [];
    for (let k = 0; k < 5; k++) {
      const s = performance.now();
      await model.score(X, n, 1000);
      runs.push(performance.now() - s);
    }
    runs.sort((a, b) => a - b);
    line(`model: ${loaded.ref} (${mb(loaded.sizeBytes)}) loaded in ${loadMs.toFixed(0)} ms; scoring ${n} rows in groups of 1,000: median ${runs[2].toFixed(1)} ms (min ${runs[0].toFixed(1)}, max ${runs[4].toFixed(1)})`);
    await loader.close();
  }
  let batchScoreMs: number | undefined;
  if (parts.has('batch')) {
    const lock = await acquireBatchLock(cfg.dataDir, { wait: true });
    try {
      let model: ScoringModel | undefined;
      const r = await runBatch({ dataDir: cfg.dataDir, date, threads: cfg.threads, loadModel: async () => (model = await loadScoringModel(cfg, { log })), log }).finally(
        () => model?.release(),
      );
      const total = r.durationMs;
      batchScoreMs = r.stageMs.score;
      line(`batch: ${date}: ${r.counts.universe} stocks in ${(total / 1000).toFixed(2)} s end to end = ${Math.round((r.counts.universe / total) * 1000)} stocks/s = ${xFloor(total)}; status ${r.status}`);
      line(`batch stages (ms): ${Object.entries(r.stageMs).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      line(`batch: ${r.counts.processed} scored, ${r.counts.skipped} skipped, ${r.counts.predictedUc} predicted UC (${r.counts.high} HIGH)`);
    } finally {
      lock.release();
    }
    // The batch as a command (start-up, model load and all), best of 3, with its own peak RSS.
    const { batchCommand } = await import('./command.js');
    const runs = Array.from({ length: parts.has('once') ? 1 : 3 }, () => batchCommand({ dataDir: cfg.dataDir, modelsDir: cfg.modelsDir, date }));
    const best = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
    line(
      `batch as a command: stockflow batch --date ${date} --force (default threads): best of ${runs.length} ${(best.ms / 1000).toFixed(2)} s = ${xFloor(best.ms)} ` +
        `(runs ${runs.map((r) => (r.ms / 1000).toFixed(2)).join(', ')} s; load average ${runs.map((r) => r.load.toFixed(1)).join(', ')})` +
        (best.rss !== undefined ? `; peak RSS ${mb(best.rss)}` : '') +
        (best.cpuMs !== undefined ? `; CPU time ${(best.cpuMs / 1000).toFixed(2)} s` : ''),
    );
    if (best.stageMs) line(`batch as a command, stages of the best run (ms): ${Object.entries(best.stageMs).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (best.stages)
      line(`batch as a command, per stage of the best run (CPU s of all threads / peak RSS MB at its end): ${best.stages.map((x) => `${x.stage} ${(x.cpuMs / 1000).toFixed(1)} s / ${x.peakRssMb}`).join(', ')}`);
    if (!parts.has('once')) {
      // Thread scaling of the whole command (#16): one thread, two, against the default above; best of 2 each.
      for (const threads of [1, 2].filter((t) => t !== cfg.threads)) {
        const scaled = [0, 1].map(() => batchCommand({ dataDir: cfg.dataDir, modelsDir: cfg.modelsDir, date, threads }));
        const b = scaled.reduce((a, x) => (x.ms < a.ms ? x : a));
        line(
          `batch as a command, --threads ${threads}: best of 2 ${(b.ms / 1000).toFixed(2)} s = ${xFloor(b.ms)} = ${(b.ms / best.ms).toFixed(2)}× the default (${cfg.threads} threads)` +
            (b.cpuMs !== undefined ? `; CPU time ${(b.cpuMs / 1000).toFixed(2)} s` : '') +
            (b.rss !== undefined ? `; peak RSS ${mb(b.rss)}` : '') +
            `; load average ${scaled.map((r) => r.load.toFixed(1)).join(', ')}`,
        );
      }
    }
  }

  if (parts.has('explain')) {
    const { benchExplain } = await import('./explain.js');
    for (const l of await benchExplain({ cfg, log, market, stocks, date, batchScoreMs })) line(l);
  }
  if (parts.has('monitor')) {
    // Outcomes, drift and the challenger as a share of the batch (docs/monitoring.md).
    const { benchMonitor } = await import('./monitor.js');
    const store = new MarketStore(market, marketDbPath(cfg.dataDir));
    const judged = store.calendar().lastSessions(store.lastSession() ?? date, 5)[0];
    for (const l of await benchMonitor({ cfg, log, date, judged })) line(l);
  }
  market.close();

  if (parts.has('startup')) {
    const { benchStartup } = await import('./startup.js');
    for (const l of benchStartup(cfg.dataDir)) line(l);
  }

  if (parts.has('serve')) {
    const { benchServe } = await import('./serve.js');
    line(await benchServe({ dataDir: cfg.dataDir, modelsDir: cfg.modelsDir }));
  }
  if (parts.has('wrk')) {
    const { benchWrk } = await import('./wrk.js');
    for (const l of await benchWrk({ dataDir: cfg.dataDir, modelsDir: cfg.modelsDir })) line(l);
  }
  line(`peak RSS (this process, all threads): ${peakRss()}`);

  if (parts.has('big')) {
    const { benchBig } = await import('./big.js');
    for (const l of benchBig({ dataDir: cfg.dataDir, modelsDir: cfg.modelsDir })) line(l);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exit(1);
});
