/**
 * `stockflow serve`: the embedded HTTP API over the data directory
 * (src/server/). Runs until SIGTERM/SIGINT, then shuts down gracefully.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { logger } from '../log.js';
import { StockflowError, isStockflowError } from '../errors.js';
import { API_PREFIX } from '../server/prefix.js';
import { action } from './run.js';

interface ServeFlags {
  host?: string;
  port?: string;
  dataDir?: string;
  modelsDir?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the prediction API (stored predictions, on-demand scoring, health, metrics, OpenAPI docs) and the dashboard at /')
    .option('--host <host>', 'address to bind (env HOST; default 127.0.0.1: this machine only)')
    .option('--port <port>', 'port (env PORT; default 8000; 0 = any free port)')
    .option('--data-dir <dir>', 'data directory with market.db and predictions.db (env STOCKFLOW_DATA_DIR)')
    .option('--models-dir <dir>', 'model registry (env STOCKFLOW_MODELS_DIR)')
    .addHelpText(
      'after',
      `
Environment: RATE_LIMIT_RPS (per client IP, default 100, 0 = off), CORS_ORIGINS
(comma-separated), STOCKFLOW_ADMIN_TOKEN (enables POST ${API_PREFIX}/models/reload),
PREFERRED_MODEL_VERSION, LOG_LEVEL; on-demand dates: STOCKFLOW_API_MAX_NEW_DATES
(per request, default 5), STOCKFLOW_API_NEW_DATES_PER_MINUTE (per client, default
30), STOCKFLOW_API_DATE_QUEUE (default 8), STOCKFLOW_API_DATE_CACHE (default 64).

Examples:
  stockflow serve
  stockflow serve --host 0.0.0.0 --port 8080 --data-dir /data
  curl -s localhost:8000${API_PREFIX}/predictions/500325`,
    )
    .action(
      action(async (f: ServeFlags) => {
        const cfg = loadConfig(f);
        if (cfg.server.port > 65535) {
          throw new StockflowError('BAD_ARGS', `${f.port !== undefined ? '--port' : 'PORT'} must be a whole number from 0 to 65535, got '${f.port ?? cfg.server.port}'`);
        }
        const log = logger();
        const [{ buildApp, DEFAULT_WEB_DIR }, { handleShutdownSignals, listen }] = await Promise.all([import('../server/app.js'), import('../server/lifecycle.js')]);
        const app = await buildApp({
          dataDir: cfg.dataDir,
          modelsDir: cfg.modelsDir,
          preferredModelVersion: cfg.preferredModelVersion,
          server: cfg.server,
          dateLimits: cfg.server.dateLimits,
          logger: log,
        });
        // Load the model now so the first request does not pay for it; the server still starts (and /health says 503) when none is usable.
        try {
          const m = await app.ctx.service.loader.current();
          log.info({ model: m.ref, type: m.meta.model_type }, 'model ready');
        } catch (e) {
          log.warn({ reason: isStockflowError(e) ? e.message : String(e) }, 'no usable model yet: /predict answers 503 until one is registered and reloaded');
        }
        const warmed = await app.ctx.service.warmUp();
        if (warmed.length > 0) log.info({ dates: warmed }, 'on-demand features warmed up');
        handleShutdownSignals(app);
        let url: string;
        try {
          url = await listen(app, cfg.server.host, cfg.server.port);
        } catch (e) {
          await app.close();
          const err = e as NodeJS.ErrnoException;
          if (err.code === 'EADDRINUSE') throw new StockflowError('BAD_ARGS', `port ${cfg.server.port} on ${cfg.server.host} is already in use: pick another with --port`);
          if (err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL')
            throw new StockflowError('BAD_ARGS', `cannot listen on ${cfg.server.host}:${cfg.server.port}: ${err.message}`);
          throw e;
        }
        process.stdout.write(`stockflow API listening on ${url}${API_PREFIX}\nOpenAPI docs: ${url}/docs   (JSON: ${url}/openapi.json)\n`);
        process.stdout.write(
          existsSync(path.join(DEFAULT_WEB_DIR, 'index.html')) ? `Dashboard: ${url}/\n` : `Dashboard: not built (${DEFAULT_WEB_DIR} is missing): run npm run build\n`,
        );
        // The open server keeps the process running; the signal handler closes it and exits.
      }),
    );
}
