/**
 * GET /features/{bse_code}: the online side of the feature store.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {} from '../context.js';
import { CodeParams, DateQuery, FeatureRowResponse, Ref } from '../schemas.js';
import { COMMON, errors } from './common.js';

export const featureRoutes: FastifyPluginAsyncTypebox = async (api) => {
  const { scoring } = api.ctx.service;

  api.get(
    '/features/:bse_code',
    {
      schema: {
        tags: ['features'],
        summary: 'The 25 feature values of one stock',
        description:
          'The row the batch stored for the date (source "store"), or computed now with the batch’s extraction and imputation (source "computed"). Default date: the latest succeeded batch run’s, or the morning after the last session in market.db when no run has succeeded.',
        params: CodeParams,
        querystring: DateQuery,
        response: { 200: Ref(FeatureRowResponse), ...errors(400, 404, 422, ...COMMON, 503) },
      },
    },
    async (req) => scoring.featureRow(req.params.bse_code, req.query.date, req.ip),
  );
};
