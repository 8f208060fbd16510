/**
 * `npm run bench -- serve`: the HTTP API under load, on loopback.
 *
 * The server runs in this process, in a worker thread (its own event loop,
 * as it would have its own process in production), on 127.0.0.1 port 0, with
 * the rate limit and per-request logging off. autocannon drives it from the
 * main thread; every response's latency is recorded (in fractional ms) to
 * give p50/p95/p99. Three runs:
 *   - GET  /api/v1/predictions/{code}  stored look-ups over the latest run's stocks
 *   - POST /api/v1/predict             the latest run's date: features from the store (then the LRU),
 *                                      without and with include_shap (10 connections, then 1)
 *   - POST /api/v1/predict             a date without stored features and more stocks than the
 *                                      feature LRU holds: every request extracts features now
 *                                      (again with one connection: the latency without queueing)
 * Nothing here is asserted by tests; the figures go to the README.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { MarketStore } from '../market/store.js';
import { marketDbPath } from '../config.js';
import { PredictionsStore } from '../predictions/store.js';
import { missingInput } from '../errors.js';
import { addDays, type IsoDate } from '../market/dates.js';

export interface BenchServeOptions {
  dataDir: string;
  modelsDir: string;
  /** Seconds per endpoint (default 10). */
  seconds?: number;
  /** Concurrent connections (default 10). */
  connections?: number;
}

interface AutocannonRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}

interface AutocannonInstance {
  on(event: 'response', fn: (client: unknown, statusCode: number, bytes: number, ms: number) => void): void;
  then: Promise<AutocannonResult>['then'];
}

type Autocannon = (o: { url: string; connections: number; duration: number; requests: AutocannonRequest[] }) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface WorkerConfig {
  stockflowBenchServer: true;
  dataDir: string;
  modelsDir: string;
  /** Dates whose extraction context is prepared before the runs (a one-off cost per date, not per request). */
  warmDates: string[];
}

/** The server side, when this module runs as the worker. */
async function serveInWorker(cfg: WorkerConfig): Promise<void> {
  const { buildApp } = await import('../server/app.js');
  const { listen } = await import('../server/lifecycle.js');
  const { createLogger } = await import('../log.js');
  const app = await buildApp({
    dataDir: cfg.dataDir,
    modelsDir: cfg.modelsDir,
    server: { rateLimitRps: 0 },
    logger: createLogger('warn', false),
    defaultMetrics: false,
  });
  const model = await app.ctx.service.loader.current();
  await app.ctx.service.warmUp(cfg.warmDates);
  const url = await listen(app, '127.0.0.1', 0);
  parentPort?.postMessage({ url, model: model.ref });
  parentPort?.once('message', () => {
    void app.close().then(() => parentPort?.postMessage({ closed: true }));
  });
}

if (!isMainThread && (workerData as Partial<WorkerConfig> | undefined)?.stockflowBenchServer) {
  serveInWorker(workerData as WorkerConfig).catch((e: unknown) => {
    parentPort?.postMessage({ error: e instanceof Error ? e.message : String(e) });
  });
}

interface Figures {
  label: string;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  total: number;
  /** Responses by status class, e.g. {"2xx": 9800, "4xx": 200}. */
  classes: Record<string, number>;
  errors: number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function drive(url: string, label: string, requests: AutocannonRequest[], seconds: number, connections: number): Promise<Figures> {
  let times = new Float64Array(1 << 16);
  let n = 0;
  const classes: Record<string, number> = {};
  const inst = autocannon({ url, connections, duration: seconds, requests });
  inst.on('response', (_c, status, _bytes, ms) => {
    const k = `${String(status)[0]}xx`;
    classes[k] = (classes[k] ?? 0) + 1;
    if (n === times.length) {
      const bigger = new Float64Array(times.length * 2);
      bigger.set(times);
      times = bigger;
    }
    times[n++] = ms;
  });
  const r = await inst;
  const sorted = times.slice(0, n).sort();
  return {
    label,
    rps: r.requests.total / r.duration,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    total: r.requests.total,
    classes,
    errors: r.errors + r.timeouts,
  };
}

const json = { 'content-type': 'application/json' };

function predictRequests(codes: readonly string[], date: IsoDate, shap = false): AutocannonRequest[] {
  return codes.map((code) => ({
    method: 'POST',
    path: '/api/v1/predict',
    headers: json,
    body: JSON.stringify(shap ? { bse_code: code, prediction_date: date, include_shap: true } : { bse_code: code, prediction_date: date }),
  }));
}

export async function benchServe(o: BenchServeOptions): Promise<string> {
  const seconds = o.seconds ?? 10;
  const connections = o.connections ?? 10;
  if (!existsSync(marketDbPath(o.dataDir))) throw missingInput(`no market at ${marketDbPath(o.dataDir)}: run 'stockflow data generate' first`);

  // What to ask for: the latest succeeded run's stocks, and a date without stored features.
  const market = MarketStore.open(o.dataDir);
  const active = market
    .activeStocks()
    .map((s) => s.bse_code)
    .sort();
  const lastSession = market.lastSession();
  market.close();
  if (!lastSession) throw missingInput(`no prices in ${marketDbPath(o.dataDir)}`);
  let run: { date: IsoDate; codes: string[] } | undefined;
  const storedDates = new Set<string>();
  const p = PredictionsStore.openReadonlyIfExists(o.dataDir);
  if (p) {
    try {
      const r = p.usable() ? p.latestCompletedRun() : undefined;
      if (r?.model_version) {
        const codes = p.ranking(r.prediction_date, r.model_version).map((x) => x.bse_code).sort();
        if (codes.length > 0) run = { date: r.prediction_date, codes };
      }
      for (const d of p.featureDates()) storedDates.add(d);
    } finally {
      p.close();
    }
  }
  let coldDate = addDays(lastSession, 1);
  while (storedDates.has(coldDate)) coldDate = addDays(coldDate, -1);

  const worker = new Worker(new URL(import.meta.url), {
    workerData: { stockflowBenchServer: true, dataDir: o.dataDir, modelsDir: o.modelsDir, warmDates: [coldDate] } satisfies WorkerConfig,
  });
  const started = await new Promise<{ url: string; model: string }>((resolve, reject) => {
    worker.once('message', (m: { url?: string; model?: string; error?: string }) =>
      m.url ? resolve({ url: m.url, model: m.model ?? '?' }) : reject(new Error(`server did not start: ${m.error ?? 'unknown error'}`)),
    );
    worker.once('error', reject);
  });

  const results: Figures[] = [];
  const notes: string[] = [];
  try {
    // Every stock's cold path would take as long as the run: spread the cold run over 2,500 stocks (> the 1,000-stock feature LRU).
    const coldCodes = active.filter((_, i) => i % Math.max(1, Math.floor(active.length / 2500)) === 0);
    if (run) {
      const lookups: AutocannonRequest[] = run.codes.map((c) => ({ method: 'GET', path: `/api/v1/predictions/${c}` }));
      const warm = run.codes.slice(0, 1000);
      await drive(started.url, 'warm-up', lookups.slice(0, 500), 1, connections);
      await drive(started.url, 'warm-up', predictRequests(warm, run.date), 2, connections);
      results.push(await drive(started.url, `GET  /api/v1/predictions/{code}   (${run.codes.length} stocks of ${run.date})`, lookups, seconds, connections));
      results.push(await drive(started.url, `POST /api/v1/predict  stored features (${warm.length} stocks, ${run.date})`, predictRequests(warm, run.date), seconds, connections));
      // include_shap: the same requests explained too (the explainer is built once per loaded model, in the warm-up).
      await drive(started.url, 'warm-up', predictRequests(warm, run.date, true), 1, connections);
      results.push(await drive(started.url, `POST /api/v1/predict  stored features + include_shap`, predictRequests(warm, run.date, true), seconds, connections));
      results.push(await drive(started.url, `POST /api/v1/predict  stored features, 1 connection`, predictRequests(warm, run.date), seconds, 1));
      results.push(await drive(started.url, `POST /api/v1/predict  stored features + include_shap, 1 connection`, predictRequests(warm, run.date, true), seconds, 1));
    } else {
      notes.push('no succeeded batch run in predictions.db: the look-up and stored-feature runs were skipped (run `stockflow batch` first)');
    }
    results.push(await drive(started.url, `POST /api/v1/predict  computed now   (${coldCodes.length} stocks, ${coldDate})`, predictRequests(coldCodes, coldDate), seconds, connections));
    // The same with one connection: the time one request takes, without queueing behind others.
    const later = coldCodes.map((_, i) => coldCodes[(i + Math.floor(coldCodes.length / 2)) % coldCodes.length]);
    results.push(await drive(started.url, `POST /api/v1/predict  computed now, 1 connection`, predictRequests(later, coldDate), seconds, 1));
  } finally {
    worker.postMessage('close');
    await new Promise((resolve) => {
      worker.once('message', resolve);
      setTimeout(resolve, 5000).unref();
    });
    await worker.terminate();
  }

  const fmt = (v: number, d = 2): string => v.toFixed(d).padStart(8);
  const out = [
    `serve: ${active.length} active stocks in ${o.dataDir}; model ${started.model}`,
    `serve: autocannon, ${connections} connections, ${seconds} s per run, loopback; server in a worker thread; rate limit and request logging off`,
    `${'endpoint'.padEnd(72)}   req/s   p50 ms   p95 ms   p99 ms   responses`,
    ...results.map((r) => {
      const classes = Object.entries(r.classes)
        .sort()
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      return `${r.label.padEnd(72)} ${Math.round(r.rps).toString().padStart(7)} ${fmt(r.p50)} ${fmt(r.p95)} ${fmt(r.p99)}   ${classes}${r.errors > 0 ? `, ${r.errors} socket errors/timeouts` : ''}`;
    }),
    'serve: targets: look-ups ≥ 5,000 req/s with p99 < 5 ms; /predict p95 < 10 ms',
    ...notes.map((n) => `serve: ${n}`),
  ];
  return out.join('\n');
}
