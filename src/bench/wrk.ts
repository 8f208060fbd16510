/**
 * `npm run bench -- wrk`: the look-up API under load, measured from OUTSIDE
 * the server's process (issue #16): `stockflow serve` runs as its own process
 * on loopback with rate limiting off (RATE_LIMIT_RPS=0) and no request log
 * lines (LOG_LEVEL=warn: the per-request line is written at info), and
 * `wrk` (Debian's, /usr/bin/wrk) drives GET /api/v1/predictions/{code} over
 * the latest run's stocks with 32 connections, a Lua script cycling the codes
 * and reporting p50/p95/p99 from wrk's own latency histogram. Three saturated
 * runs (each connection sends again as soon as it has its answer: the p50 is
 * the queue's) and three paced ones (PACE_MS between an answer and the next
 * request: ≈ 6,000 req/s offered, the latency of a request at that rate) after
 * a warm-up; the machine's 1-minute load average is printed beside each.
 * Nothing here is asserted by tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config.js';
import { missingInput } from '../errors.js';
import { PredictionsStore } from '../predictions/store.js';

const BIN = path.join(PACKAGE_ROOT, 'bin', 'stockflow');
/** The paced runs' wait between a response and the connection's next request (32 connections → ≈ 6,000 req/s offered). */
export const PACE_MS = 5;
export const WRK = '/usr/bin/wrk';

export interface WrkOptions {
  dataDir: string;
  modelsDir: string;
  connections?: number;
  seconds?: number;
  runs?: number;
  /** wrk threads (default: one per core, at most 4). */
  threads?: number;
}

export interface WrkFigures {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
  load: number;
}

/** A free loopback port (bound then released: the server takes it a moment later). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`stockflow serve exited (${child.exitCode}) before answering`);
    try {
      const r = await fetch(`${url}/api/v1/health`);
      await r.arrayBuffer();
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`stockflow serve did not answer ${url}/api/v1/health within ${ms} ms`);
}

/** The Lua script: cycle the codes; at the end, one machine-readable line from wrk's latency histogram (µs). */
function luaScript(codes: readonly string[], delayMs = 0): string {
  return `${delayMs > 0 ? `function delay() return ${delayMs} end\n` : ''}local codes = {${codes.map((c) => `"${c.replace(/[^0-9A-Za-z_-]/g, '')}"`).join(',')}}
local i = 0
function init(args) i = math.random(#codes) end
function request()
  i = i + 1
  return wrk.format("GET", "/api/v1/predictions/" .. codes[(i % #codes) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("stockflow-wrk %d %d %d %d %.1f %.1f %.1f %.1f\\n", summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
`;
}

function wrkOnce(url: string, script: string, o: Required<Pick<WrkOptions, 'connections' | 'seconds' | 'threads'>>): WrkFigures {
  const load = os.loadavg()[0];
  const r = spawnSync(WRK, ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.seconds}s`, '--timeout', '2s', '-s', script, url], {
    encoding: 'utf8',
    timeout: (o.seconds + 30) * 1000,
  });
  const m = /stockflow-wrk (\d+) (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m) throw new Error(`wrk failed (exit ${r.status}): ${(r.stderr || r.stdout || '').trim().split('\n').at(-1) ?? ''}`);
  const [requests, durationUs, non2xx, socketErrors] = [1, 2, 3, 4].map((i) => Number(m[i]));
  const us = (i: number): number => Number(m[i]) / 1000;
  return { rps: requests / (durationUs / 1e6), p50: us(5), p95: us(6), p99: us(7), max: us(8), requests, non2xx, socketErrors, load };
}

export async function benchWrk(o: WrkOptions): Promise<string[]> {
  if (!existsSync(WRK)) return [`wrk: skipped (${WRK} is not installed: apt-get install wrk)`];
  const connections = o.connections ?? 32;
  const seconds = o.seconds ?? 10;
  const runs = o.runs ?? 3;
  const threads = o.threads ?? Math.max(1, Math.min(4, os.availableParallelism()));
  const p = PredictionsStore.openReadonlyIfExists(o.dataDir);
  let codes: string[] = [];
  let date = '';
  try {
    const run = p?.usable() ? p.latestCompletedRun() : undefined;
    if (run?.model_version) {
      date = run.prediction_date;
      codes = p!.ranking(run.prediction_date, run.model_version).map((x) => x.bse_code);
    }
  } finally {
    p?.close();
  }
  if (codes.length === 0) throw missingInput(`no succeeded batch run in ${o.dataDir}/predictions.db: run 'stockflow batch' first`);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'stockflow-wrk-'));
  const script = path.join(dir, 'lookups.lua');
  writeFileSync(script, luaScript(codes));
  // Paced: each connection waits PACE_MS after a response before its next request, so the 32 connections offer
  // about 32 / PACE_MS requests per ms (≈ 6,000/s), below saturation: the latency of a request, not of a queue.
  const paced = path.join(dir, 'paced.lua');
  writeFileSync(paced, luaScript(codes, PACE_MS));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, RATE_LIMIT_RPS: '0', LOG_LEVEL: 'warn' };
  const server = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', o.dataDir, '--models-dir', o.modelsDir], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  server.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const figures: WrkFigures[] = [];
  const pacedFigures: WrkFigures[] = [];
  try {
    await waitHealthy(url, server, 30_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}${stderr ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`);
    });
    wrkOnce(url, script, { connections, seconds: 2, threads }); // warm-up
    for (let k = 0; k < runs; k++) figures.push(wrkOnce(url, script, { connections, seconds, threads }));
    for (let k = 0; k < runs; k++) pacedFigures.push(wrkOnce(url, paced, { connections, seconds, threads }));
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => {
      if (server.exitCode !== null) resolve(undefined);
      server.once('exit', resolve);
      setTimeout(() => {
        server.kill('SIGKILL');
        resolve(undefined);
      }, 5000).unref();
    });
    rmSync(dir, { recursive: true, force: true });
  }
  const out = [
    `wrk: GET /api/v1/predictions/{code} over the ${codes.length} stocks of ${date}; wrk ${threads} threads, ${connections} connections, ${seconds} s per run; ` +
      `stockflow serve in its own process on loopback (RATE_LIMIT_RPS=0, LOG_LEVEL=warn: no rate limit, no request log lines); ${os.availableParallelism()} cores`,
  ];
  figures.forEach((f, i) =>
    out.push(
      `wrk run ${i + 1}: ${Math.round(f.rps)} req/s, p50 ${f.p50.toFixed(2)} ms, p95 ${f.p95.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, max ${f.max.toFixed(1)} ms; ` +
        `${f.requests} responses, ${f.non2xx} non-2xx, ${f.socketErrors} socket errors; load average before the run ${f.load.toFixed(2)}`,
    ),
  );
  const best = figures.reduce((a, b) => (b.rps > a.rps ? b : a));
  out.push(`wrk: saturated (every connection sends again at once): best ${Math.round(best.rps)} req/s with p99 ${best.p99.toFixed(2)} ms at load average ${best.load.toFixed(2)}`);
  pacedFigures.forEach((f, i) =>
    out.push(
      `wrk paced run ${i + 1} (${PACE_MS} ms between a response and the connection's next request): ${Math.round(f.rps)} req/s, p50 ${f.p50.toFixed(2)} ms, p95 ${f.p95.toFixed(2)} ms, ` +
        `p99 ${f.p99.toFixed(2)} ms, max ${f.max.toFixed(1)} ms; ${f.non2xx} non-2xx, ${f.socketErrors} socket errors; load average before the run ${f.load.toFixed(2)}`,
    ),
  );
  out.push('wrk: target ≥ 5,000 req/s with p99 < 5 ms at 32 connections');
  return out;
}
