/**
 * GET /health: the model, the databases, the traffic figures and the last
 * batch run.
 */
import { performance } from 'node:perf_hooks';
import type { LoadedModel } from '../../model/loader.js';
import { masterListReadable } from '../../market/reader.js';
import { ApiError, hidePaths } from '../errors.js';
import type { HealthResponseT } from '../schemas.js';
import type { ServerSources } from './sources.js';

/** Request counters for /health (the Prometheus metrics keep their own). */
export interface TrafficStats {
  requests: number;
  totalMs: number;
  errors5xx: number;
}

export class HealthService {
  readonly traffic: TrafficStats = { requests: 0, totalMs: 0, errors5xx: 0 };
  private readonly startedAt = performance.now();

  constructor(private readonly s: ServerSources) {}

  async health(): Promise<{ healthy: boolean; body: HealthResponseT }> {
    let marketOk = false;
    try {
      const db = this.s.market.get();
      marketOk = db !== undefined && masterListReadable(db);
    } catch (e) {
      this.s.market.error = `market.db is not readable: ${(e as Error).message}`;
    }
    let model: LoadedModel | undefined;
    let modelError: string | null = null;
    try {
      await this.s.withModel(async (m) => {
        model = m;
      });
    } catch (e) {
      modelError = e instanceof ApiError ? e.message : 'model could not be loaded';
      if (!(e instanceof ApiError)) this.s.log.error({ err: e }, 'health: unexpected model error');
    }
    const predictionsOk = this.s.predictions.usable();
    const lastRun = predictionsOk ? this.s.predictions.lastRun() : null;
    const succeeded = predictionsOk && this.s.predictions.latestRun() !== undefined;
    const healthy = model !== undefined && marketOk;
    const t = this.traffic;
    const m = model as LoadedModel | undefined;
    return {
      healthy,
      body: {
        status: !healthy ? 'unhealthy' : predictionsOk && succeeded ? 'healthy' : 'degraded',
        timestamp: new Date().toISOString(),
        model_loaded: this.s.loader.stats().current !== null,
        model_name: m?.meta.name ?? null,
        model_version: m?.meta.version ?? null,
        model_type: m?.meta.model_type ?? null,
        model_error: modelError === null ? null : hidePaths(modelError),
        market_db: marketOk,
        market_error: marketOk ? null : hidePaths(this.s.market.error ?? 'market.db is not readable'),
        predictions_db: predictionsOk,
        uptime_seconds: Math.round((performance.now() - this.startedAt) / 10) / 100,
        requests_processed: t.requests,
        avg_latency_ms: t.requests > 0 ? Math.round((1000 * t.totalMs) / t.requests) / 1000 : 0,
        error_rate: t.requests > 0 ? Math.round((1e6 * t.errors5xx) / t.requests) / 1e6 : 0,
        last_batch_run: lastRun,
      },
    };
  }

  uptimeSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }
}
