/**
 * POST /predict and POST /batch_predict: score now, with the batch's feature
 * code and the server's current model.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {} from '../context.js';
import { BatchPredictRequest, BatchPredictResponse, MAX_BATCH, PredictRequest, PredictResponse, Ref } from '../schemas.js';
import { COMMON, errors } from './common.js';

const ms = (t0: number): number => Math.round((performance.now() - t0) * 1000) / 1000;

export const predictRoutes: FastifyPluginAsyncTypebox = async (api) => {
  const { scoring } = api.ctx.service;

  api.post(
    '/predict',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Score one stock now',
        description:
          'Extracts the stock’s 25 features as of the prediction date (the stored row when the batch has one for that date, else computed with the batch’s code) and scores them with the current model. A date with no prices before it answers 422 with reason NO_PRICE_DATA; a date whose last session is more than 7 days earlier answers 422 with reason STALE_DATA (as the batch refuses stale data).',
        body: Ref(PredictRequest),
        response: { 200: Ref(PredictResponse), ...errors(400, 404, 413, 415, 422, ...COMMON, 503) },
      },
    },
    async (req) => {
      const t0 = performance.now();
      const p = await scoring.predictOne(req.body, req.ip);
      return { ...p, processing_time_ms: ms(t0) };
    },
  );

  api.post(
    '/batch_predict',
    {
      schema: {
        tags: ['predictions'],
        summary: `Score up to ${MAX_BATCH} requests together`,
        description: `Each request is checked and its features extracted as in /predict; those that succeed are scored together in one model run. The response is 200 whenever the batch itself is valid: each item in \`results\` carries the status it would have had alone, and either \`prediction\` or \`error\`. A malformed item, or more than ${MAX_BATCH} items, fails the whole batch with 400. Prediction dates the server has not prepared yet are bounded (docs/api.md, "On-demand dates: bounds"): too many in one batch answers 400, too many per client per minute 429, a full build queue 503, the last two with Retry-After.`,
        body: Ref(BatchPredictRequest),
        response: { 200: Ref(BatchPredictResponse), ...errors(400, 413, 415, ...COMMON, 503) },
      },
    },
    async (req) => {
      const t0 = performance.now();
      const { results, modelVersion } = await scoring.predictMany(req.body.predictions, req.ip);
      const succeeded = results.filter((r) => r.status === 200).length;
      return { count: results.length, succeeded, failed: results.length - succeeded, model_version: modelVersion, results, processing_time_ms: ms(t0) };
    },
  );
};
