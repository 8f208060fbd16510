/**
 * GET /health, GET /metrics, GET /models, POST /models/reload.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {} from '../context.js';
import { HealthResponse, ModelListResponse, Ref, ReloadResponse } from '../schemas.js';
import { COMMON, errors, requireAdmin } from './common.js';

export const operationRoutes: FastifyPluginAsyncTypebox = async (api) => {
  const { service, metrics, adminToken } = api.ctx;
  const { health, models } = service;

  api.get(
    '/health',
    {
      config: { rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Health: model, databases, traffic and the last batch run',
        description:
          '200 when a model is loadable and market.db readable (status "healthy", or "degraded" while predictions.db is missing or has no succeeded run); 503 with the same body (status "unhealthy") otherwise. Not rate limited.',
        response: {
          200: Ref(HealthResponse),
          503: Type.Unsafe({ $ref: `${HealthResponse.$id}#`, description: 'unhealthy: no usable model, or market.db not readable' }),
          ...errors(500),
        },
      },
    },
    async (_req, reply) => {
      const h = await health.health();
      return reply.code(h.healthy ? 200 : 503).send(h.body);
    },
  );

  api.get(
    '/metrics',
    {
      config: { rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text exposition format)',
        produces: ['text/plain'],
        response: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: Type.String() } } }, ...errors(500) },
      },
    },
    async (_req, reply) => {
      const text = await metrics.text();
      return reply.type(metrics.contentType).send(text);
    },
  );

  api.get(
    '/models',
    {
      schema: {
        tags: ['operations'],
        summary: 'Registered models (metadata, and each file checked against its sha256; nothing is loaded)',
        response: { 200: Ref(ModelListResponse), ...errors(...COMMON) },
      },
    },
    async () => models.models(),
  );

  api.post(
    '/models/reload',
    {
      onRequest: async (req) => requireAdmin(req, adminToken),
      schema: {
        tags: ['operations'],
        summary: 'Choose the model again and hot-swap it in (admin)',
        description:
          'Re-reads aliases.json and PREFERRED_MODEL_VERSION, builds the chosen model’s session completely, then swaps it in; requests in flight finish on the old one. When nothing is usable the old model keeps serving and the answer is 503. Requires Authorization: Bearer <STOCKFLOW_ADMIN_TOKEN>; disabled (403) when no token is configured.',
        security: [{ bearerAuth: [] }],
        response: { 200: Ref(ReloadResponse), ...errors(401, 403, ...COMMON, 503) },
      },
    },
    async () => models.reload(),
  );
};
