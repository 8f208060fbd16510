/**
 * The services behind the routes, over one set of sources (the databases
 * and the model loader): stored predictions, on-demand scoring, health, and
 * the model registry, the scorecard. Each is its own small class in services/; this one
 * builds them together and closes them together. Handlers turn their
 * ApiErrors into the common error body.
 */
import type { Logger } from '../log.js';
import type { IsoDate } from '../market/dates.js';
import type { ModelLoader } from '../model/loader.js';
import type { DateBuildLimits } from './date-contexts.js';
import { HealthService } from './services/health.js';
import { ModelsService } from './services/models.js';
import { OnDemandScoring } from './services/scoring.js';
import { PerformanceService } from './services/performance.js';
import { ServerSources } from './services/sources.js';
import { StoredPredictions } from './services/stored.js';
import { DashboardService } from './services/dashboard.js';

export interface ServiceOptions {
  dataDir: string;
  loader: ModelLoader;
  log: Logger;
  /** Stocks kept in the on-demand feature cache (default 1,000). */
  featureCacheSize?: number;
  /** How long a failed model load is remembered before trying again (default 5 s; reload always tries). */
  modelRetryMs?: number;
  /** How often the database files are checked for replacement (default 2 s). */
  fileCheckMs?: number;
  /** Bounds on on-demand date builds (see DateContexts). */
  dateLimits?: Partial<DateBuildLimits>;
}

export class PredictionService {
  readonly sources: ServerSources;
  readonly stored: StoredPredictions;
  readonly scoring: OnDemandScoring;
  readonly health: HealthService;
  readonly models: ModelsService;
  readonly performance: PerformanceService;
  readonly dashboard: DashboardService;

  constructor(o: ServiceOptions) {
    this.sources = new ServerSources(o);
    this.stored = new StoredPredictions(this.sources);
    this.scoring = new OnDemandScoring(this.sources, { dataDir: o.dataDir, marketFile: this.sources.marketFile, featureCacheSize: o.featureCacheSize, dateLimits: o.dateLimits });
    this.health = new HealthService(this.sources);
    this.models = new ModelsService(this.sources);
    this.performance = new PerformanceService(this.sources);
    this.dashboard = new DashboardService(this.sources, o.dataDir);
  }

  get market(): ServerSources['market'] {
    return this.sources.market;
  }

  get predictionsDb(): ServerSources['predictionsDb'] {
    return this.sources.predictionsDb;
  }

  get predictions(): ServerSources['predictions'] {
    return this.sources.predictions;
  }

  get loader(): ModelLoader {
    return this.sources.loader;
  }

  get dates(): OnDemandScoring['dates'] {
    return this.scoring.dates;
  }

  /** See OnDemandScoring.warmUp. */
  warmUp(extra: readonly IsoDate[] = []): Promise<IsoDate[]> {
    return this.scoring.warmUp(extra);
  }

  async close(): Promise<void> {
    await this.scoring.close();
    await this.sources.close();
  }
}
