/**
 * GET /monitoring: the drift of a run's inputs and score against its model's
 * reference, and the challengers scored beside it (docs/monitoring.md).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {} from '../context.js';
import { MonitoringQuery, MonitoringResponse, Ref } from '../schemas.js';
import { COMMON, errors } from './common.js';

export const monitoringRoutes: FastifyPluginAsyncTypebox = async (api) => {
  const { performance } = api.ctx.service;

  api.get(
    '/monitoring',
    {
      schema: {
        tags: ['operations'],
        summary: 'Drift (PSI per feature and of the score) and the champion/challenger comparison of a run',
        description:
          'For the date’s completed run (default: the latest date with one): the population stability index of each feature and of the score against the model’s reference distribution, with the bins compared; `shifted` lists those at or above the moderate threshold, worst first; `challengers` the models scored beside it with their comparison. `drift` is null (with a `note`) when the model has no reference. 400 for a malformed date, 404 when the date has no completed run.',
        querystring: MonitoringQuery,
        response: { 200: Ref(MonitoringResponse), ...errors(400, 404, ...COMMON) },
      },
    },
    async (req) => performance.monitoring(req.query.date),
  );
};
