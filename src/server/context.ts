/**
 * The types the app and its route plugins share, kept apart from app.ts so
 * that the routes never import the app that registers them: the fastify
 * instance type with the TypeBox provider, and the `ctx` decorator (the
 * services) the context plugin hangs on the root instance.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import type { ApiMetrics } from './metrics.js';
import type { PredictionService } from './service.js';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse<IncomingMessage>, FastifyBaseLogger, TypeBoxTypeProvider>;

/** Services hung on the app for the routes and the CLI. */
export interface AppContext {
  service: PredictionService;
  metrics: ApiMetrics;
  adminToken?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: AppContext;
  }
}

/**
 * Decorates the root instance with `ctx` (a fastify-plugin, so the
 * decoration is not encapsulated: every route plugin registered after it
 * sees it).
 */
export const contextPlugin = fp<AppContext>(
  async (app, ctx) => {
    app.decorate('ctx', { service: ctx.service, metrics: ctx.metrics, adminToken: ctx.adminToken });
  },
  { name: 'stockflow-context', fastify: '5.x' },
);
