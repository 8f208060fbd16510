/**
 * What every server service reads from: market.db and predictions.db
 * (read-only, reopened when replaced), the stored-predictions reader, and
 * the model loader with the remembered failure of its last load.
 */
import { marketDbPath, predictionsDbPath } from '../../config.js';
import { isStockflowError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { openMarketReadonly, type Db } from '../../market/db.js';
import type { LoadedModel, ModelLoader } from '../../model/loader.js';
import { LazyDb, cacheStatements } from '../data.js';
import { ApiError, hidePaths } from '../errors.js';
import { openSqliteReadonly } from '../../util/sqlite.js';
import { PredictionsReader } from '../predictions.js';

export interface SourcesOptions {
  dataDir: string;
  loader: ModelLoader;
  log: Logger;
  /** How long a failed model load is remembered before trying again (default 5 s; reload always tries). */
  modelRetryMs?: number;
  /** How often the database files are checked for replacement (default 2 s). */
  fileCheckMs?: number;
}

// Read-only, through the shared opener: a read-only data directory works, and a damaged file is named.
const openPredictions = (file: string): Db =>
  cacheStatements(openSqliteReadonly(file, { what: 'predictions.db', missing: `no predictions at ${file}: run 'stockflow batch' first` }));

export class ServerSources {
  readonly market: LazyDb;
  readonly predictionsDb: LazyDb;
  readonly predictions: PredictionsReader;
  readonly loader: ModelLoader;
  readonly log: Logger;
  readonly marketFile: string;
  private modelFailure: { at: number; message: string } | undefined;

  constructor(private readonly o: SourcesOptions) {
    this.log = o.log;
    this.loader = o.loader;
    this.marketFile = marketDbPath(o.dataDir);
    this.market = new LazyDb({ file: this.marketFile, open: (f) => cacheStatements(openMarketReadonly(f)), log: o.log, what: 'market.db', checkMs: o.fileCheckMs });
    this.predictionsDb = new LazyDb({ file: predictionsDbPath(o.dataDir), open: openPredictions, log: o.log, what: 'predictions.db', checkMs: o.fileCheckMs });
    this.predictions = new PredictionsReader(this.predictionsDb, o.dataDir);
  }

  /** Runs `fn` on the current model (held until it finishes, so a reload cannot release it underneath). */
  async withModel<T>(fn: (m: LoadedModel) => Promise<T>): Promise<T> {
    const retryMs = this.o.modelRetryMs ?? 5000;
    if (this.modelFailure && Date.now() - this.modelFailure.at < retryMs && this.loader.stats().current === null) {
      throw new ApiError('MODEL_UNAVAILABLE', this.modelFailure.message);
    }
    let lease;
    try {
      lease = await this.loader.acquire();
    } catch (e) {
      if (isStockflowError(e) && e.kind === 'NO_MODEL') {
        this.modelFailure = { at: Date.now(), message: e.message };
        throw new ApiError('MODEL_UNAVAILABLE', e.message);
      }
      throw e;
    }
    this.modelFailure = undefined;
    try {
      return await fn(lease.model);
    } finally {
      lease.release();
    }
  }

  /**
   * Runs `fn` on a specific registered version (the one that scored a stored prediction), held until it finishes.
   * Undefined-free: throws ApiError EXPLANATION_UNAVAILABLE naming the version when it cannot be loaded.
   */
  async withModelVersion<T>(version: string, fn: (m: LoadedModel) => Promise<T>): Promise<T> {
    let lease;
    try {
      lease = await this.loader.acquireVersion(version);
    } catch (e) {
      if (isStockflowError(e)) throw new ApiError('EXPLANATION_UNAVAILABLE', `the model version that scored it (${version}) cannot be loaded: ${hidePaths(e.message)}`);
      throw e;
    }
    try {
      return await fn(lease.model);
    } finally {
      lease.release();
    }
  }

  /** A model loaded (a reload): forget the last failure. */
  modelRecovered(): void {
    this.modelFailure = undefined;
  }

  async close(): Promise<void> {
    this.market.close();
    this.predictionsDb.close();
    await this.loader.close();
  }
}
