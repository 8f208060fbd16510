/**
 * The fastify application behind `stockflow serve`: plugins (CORS, rate
 * limit, OpenAPI + Swagger UI), the request id and timing headers, the common
 * error body, metrics, and the /api/v1 routes. `buildApp` returns it ready
 * for `app.inject` (tests) or `app.listen` (the CLI).
 */
import { API_PREFIX } from './prefix.js';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController } from 'fastify';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AjvCompiler } from '@fastify/ajv-compiler';
import { PACKAGE_ROOT, type ServerConfig } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import { ModelLoader } from '../model/loader.js';
import { SCORING_SESSION_OPTIONS } from '../model/score.js';
import { ApiError, clientErrorHandler, errorBody, toApiError } from './errors.js';
import { ApiMetrics } from './metrics.js';
import { SHARED_SCHEMAS } from './schemas.js';
import { PredictionService } from './service.js';
import type { DateBuildLimits } from './date-contexts.js';
import { apiRoutes } from './routes/index.js';
import { contextPlugin, type App } from './context.js';

export type { App, AppContext } from './context.js';

export const API_VERSION = '1.0.0';
/** Largest request body accepted (a full 100-item batch is about 15 KB). */
export const DEFAULT_BODY_LIMIT = 256 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 60_000;
/** On shutdown, how long date builds may still run before their worker is stopped. */
export const DEFAULT_SHUTDOWN_BUILD_GRACE_MS = 1_000;

/** How often Node checks connections for the headers and request timeouts (its default, 30 s, made a 10 s timeout 25–40 s). */
export const CONNECTIONS_CHECK_MS = 1_000;

/** onnxruntime options for the server's sessions: the batch's own (one thread, sequential), so both score the same bits. */
export const SERVER_SESSION_OPTIONS = SCORING_SESSION_OPTIONS;


export interface AppDeps {
  dataDir: string;
  modelsDir: string;
  /** Rate limit, CORS origins, admin token (host and port are the caller's, for listen). */
  server?: Partial<Pick<ServerConfig, 'rateLimitRps' | 'corsOrigins' | 'adminToken'>>;
  preferredModelVersion?: string;
  /** A model loader to use (tests inject one); by default one over modelsDir. */
  loader?: ModelLoader;
  /** The pino logger (default: the repo's, with its redact paths). */
  logger?: Logger;
  bodyLimit?: number;
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** Feature LRU size, model retry and file re-check intervals (see PredictionService). */
  featureCacheSize?: number;
  modelRetryMs?: number;
  fileCheckMs?: number;
  /** Bounds on on-demand date builds (default DEFAULT_DATE_BUILD_LIMITS; the CLI passes the config's). */
  dateLimits?: Partial<DateBuildLimits>;
  /** On shutdown, how long date builds may still run (default 1 s). */
  shutdownBuildGraceMs?: number;
  /** Node process metrics in /metrics (default true). */
  defaultMetrics?: boolean;
  /** The dashboard's built assets (default dist/web of the package, written by `npm run build`). */
  webDir?: string;
}

/** Where `npm run build` puts the dashboard (web/ bundled by esbuild: scripts/build-web.mjs). */
export const DEFAULT_WEB_DIR = path.join(PACKAGE_ROOT, 'dist', 'web');


/**
 * Validators: query strings, path parameters and headers are text, so their
 * numbers and booleans are coerced from strings; JSON bodies are typed, so
 * nothing is coerced there (`"bse_code": 500325` and `"include_features":
 * "true"` are refused with 400).
 */
function buildValidators(): NonNullable<NonNullable<Parameters<typeof Fastify>[0]>['schemaController']> {
  const pool = AjvCompiler();
  return {
    compilersFactory: {
      buildValidator: (externalSchemas: unknown, options: { customOptions: Record<string, unknown>; plugins?: unknown[] }) => {
        const o = { ...options, plugins: options.plugins ?? [] };
        const coercing = pool(externalSchemas as Parameters<typeof pool>[0], o as Parameters<typeof pool>[1]);
        const strict = pool(externalSchemas as Parameters<typeof pool>[0], { ...o, customOptions: { ...options.customOptions, coerceTypes: false } } as Parameters<typeof pool>[1]);
        return (route: { httpPart?: string }) => (route.httpPart === 'body' ? strict : coercing)(route as Parameters<typeof strict>[0]);
      },
    },
  } as NonNullable<NonNullable<Parameters<typeof Fastify>[0]>['schemaController']>;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:@-]{1,128}$/;

/** An incoming X-Request-Id when it is sane (1–128 of [A-Za-z0-9._:@-]), else a new UUID. */
export function requestIdFor(req: { headers: IncomingMessage['headers'] }): string {
  const h = req.headers['x-request-id'];
  return typeof h === 'string' && REQUEST_ID_RE.test(h) ? h : randomUUID();
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const log = deps.logger ?? createLogger();
  const cfg = { rateLimitRps: 100, corsOrigins: [] as string[], ...deps.server };
  const app = Fastify({
    loggerInstance: log,
    // One log line per request, written by the onResponse hook below (with reqId, like every line about a request).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    genReqId: requestIdFor,
    requestIdHeader: false,
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    requestTimeout: deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    http: {
      headersTimeout: Math.min(deps.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS, deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
      requestTimeout: deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(CONNECTIONS_CHECK_MS, deps.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS),
    },
    // Node's own 400/408/431 in the common error body.
    clientErrorHandler,
    keepAliveTimeout: deps.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: deps.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    // Requests that arrive while closing get a 503 in the common error body (the onRequest hook below).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    schemaController: buildValidators(),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  // JSON only: any other body type answers 415 (fastify would otherwise parse text/plain).
  app.removeContentTypeParser('text/plain');

  const loader =
    deps.loader ??
    new ModelLoader({
      modelsDir: deps.modelsDir,
      preferredVersion: deps.preferredModelVersion,
      log: log.child({ component: 'model' }),
      // The server scores 1 to 100 rows at a time: one thread per run is faster than a pool hand-off and leaves the other cores to requests.
      sessionOptions: SERVER_SESSION_OPTIONS,
    });
  const service = new PredictionService({
    dataDir: deps.dataDir,
    loader,
    log,
    featureCacheSize: deps.featureCacheSize,
    modelRetryMs: deps.modelRetryMs,
    fileCheckMs: deps.fileCheckMs,
    dateLimits: deps.dateLimits,
  });
  const metrics = new ApiMetrics(
    {
      loader: () => loader.stats(),
      features: () => service.scoring.featureStats(),
      lastRun: () => (service.predictions.usable() ? service.predictions.lastRun() : null),
      dates: () => ({ ...service.dates.stats, queued: service.dates.queued }),
      scorecard: () => service.performance.scorecard(),
      drift: () => service.performance.latestDrift(),
    },
    { defaultMetrics: deps.defaultMetrics },
  );
  await app.register(contextPlugin, { service, metrics, adminToken: deps.server?.adminToken });

  for (const s of SHARED_SCHEMAS) app.addSchema(s);

  // ---- shutting down: requests still arriving on open connections get 503
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    // Never wait long for a date build: the worker is stopped after a short grace (unfinished builds answer 503).
    service.dates.stopAfter(deps.shutdownBuildGraceMs ?? DEFAULT_SHUTDOWN_BUILD_GRACE_MS);
  });
  // (Callback-style hooks here and below: they run on every request, and skip a promise each.)
  app.addHook('onRequest', (_req, reply, done) => {
    if (!closing) return done();
    reply.header('connection', 'close');
    done(new ApiError('SERVICE_UNAVAILABLE', 'the server is shutting down: retry (on another instance)'));
  });

  // ---- every response: request id, processing time; metrics and one log line per request
  app.addHook('onSend', (req, reply, payload, done) => {
    reply.header('x-request-id', req.id);
    reply.header('x-process-time', reply.elapsedTime.toFixed(3));
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const ms = reply.elapsedTime;
    const status = reply.statusCode;
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.observe(route, req.method, status, ms / 1000);
    const t = service.health.traffic;
    t.requests++;
    t.totalMs += ms;
    if (status >= 500) t.errors5xx++;
    req.log.info({ method: req.method, url: req.url, status, ms: Math.round(ms * 1000) / 1000 }, 'request completed');
    done();
  });

  // ---- errors: one body everywhere, nothing internal leaks
  app.setErrorHandler((err, req, reply) => {
    const { error, unexpected } = toApiError(err, req);
    if (unexpected) req.log.error({ err }, 'unexpected error');
    else if (error.status >= 500) req.log.warn({ code: error.code, reason: error.message }, 'request failed');
    if (error.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="stockflow"');
    if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
    // Serialized here: a route's schema for the same status (e.g. /health's 503) must not apply to an error body.
    return reply.code(error.status).type('application/json; charset=utf-8').send(JSON.stringify(errorBody(req, error)));
  });

  // ---- plugins
  if (cfg.corsOrigins.length > 0) {
    // A preflight without its headers answers 400 in the common body (@fastify/cors would answer in plain text).
    app.addHook('onRequest', (req, _reply, done) => {
      if (req.method === 'OPTIONS' && (!req.headers.origin || !req.headers['access-control-request-method'])) {
        return done(new ApiError('INVALID_REQUEST', 'an OPTIONS (CORS preflight) request needs the Origin and Access-Control-Request-Method headers'));
      }
      done();
    });
    await app.register(cors, {
      origin: cfg.corsOrigins.includes('*') ? '*' : cfg.corsOrigins,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['Content-Type', 'Authorization', 'X-Request-Id'],
      exposedHeaders: ['X-Request-Id', 'X-Process-Time', 'Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'],
      maxAge: 600,
    });
  }
  const limited = cfg.rateLimitRps > 0;
  if (limited) {
    await app.register(rateLimit, {
      global: true,
      max: cfg.rateLimitRps,
      timeWindow: 1000,
      errorResponseBuilder: (_req, c) =>
        new ApiError('RATE_LIMITED', `rate limit exceeded: at most ${c.max} requests per second per client; retry in ${c.after}`, { status: c.statusCode }),
    });
  }
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'stockflow prediction API',
        description:
          'Upper-circuit predictions for NSE/BSE stocks: the nightly batch’s stored predictions and features, and on-demand scoring with the same feature code and model. Every error answers with the ErrorResponse body.',
        version: API_VERSION,
      },
      tags: [
        { name: 'predictions', description: 'stored and on-demand predictions' },
        { name: 'features', description: 'the 25 model inputs' },
        { name: 'operations', description: 'health, metrics and models' },
        { name: 'dashboard', description: 'read-only views for the dashboard at /' },
      ],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'STOCKFLOW_ADMIN_TOKEN' } } },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });

  // ---- unknown routes: the same body (and the rate limit, so probing costs the same)
  app.setNotFoundHandler(limited ? { preHandler: app.rateLimit() } : {}, (req, reply) => {
    const path = req.url.split('?')[0];
    const e = new ApiError('NOT_FOUND', `no route ${req.method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}; see /docs`);
    return reply.code(404).type('application/json; charset=utf-8').send(JSON.stringify(errorBody(req, e)));
  });

  await app.register(apiRoutes, { prefix: API_PREFIX });

  // ---- the dashboard at / (web/, bundled at build time; nothing from a CDN)
  const webDir = deps.webDir ?? DEFAULT_WEB_DIR;
  if (existsSync(path.join(webDir, 'index.html'))) {
    // One route per built file (no wildcard), so unknown paths keep the common 404 body.
    await app.register(fastifyStatic, { root: webDir, prefix: '/', wildcard: false, index: 'index.html', cacheControl: true, maxAge: 0 });
  } else {
    app.get('/', { schema: { hide: true } }, async () => {
      throw new ApiError('NOT_FOUND', `the dashboard is not built (${path.basename(webDir)}/index.html is missing): run npm run build`);
    });
  }
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get(`${API_PREFIX}/openapi.json`, { schema: { hide: true } }, async () => app.swagger());
  app.get(`${API_PREFIX}/docs`, { schema: { hide: true } }, async (_req, reply) => reply.redirect('/docs', 302));

  app.addHook('onClose', async () => {
    await service.close();
  });
  return app;
}
