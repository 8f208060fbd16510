/**
 * GET /performance: the scorecard of the morning report (README "The scorecard").
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {} from '../context.js';
import { PerformanceResponse, Ref } from '../schemas.js';
import { COMMON, errors } from './common.js';

export const performanceRoutes: FastifyPluginAsyncTypebox = async (api) => {
  const { performance } = api.ctx.service;

  api.get(
    '/performance',
    {
      schema: {
        tags: ['operations'],
        summary: 'How the stored predictions did: the morning report’s scorecard',
        description:
          'For the latest prediction date whose outcome is known: how many of its top 20 hit the upper circuit, against the date’s base rate, and precision@20 averaged over the model’s last 20 judged dates. `scorecard` is null (with a `note`) until an outcome is known. Always 200.',
        response: { 200: Ref(PerformanceResponse), ...errors(...COMMON) },
      },
    },
    async () => performance.performance(),
  );
};
