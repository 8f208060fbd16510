/**
 * GET /predictions/{bse_code} and GET /predictions: the batch's stored rows.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {} from '../context.js';
import { PredictionList, PredictionListQuery, Ref, StoredPrediction, StoredPredictionQuery, StockRefParams } from '../schemas.js';
import { COMMON, errors } from './common.js';

export const predictionRoutes: FastifyPluginAsyncTypebox = async (api) => {
  const { stored } = api.ctx.service;

  api.get(
    '/predictions/:bse_code',
    {
      schema: {
        tags: ['predictions'],
        summary: 'The stored prediction for one stock',
        description:
          'The row the nightly batch wrote for this stock: `{code}` is its 6-digit key (BSE scrip code; `0` + 5 digits for an NSE-only security) or its NSE symbol, case-insensitive (404 STOCK_NOT_FOUND when no stock has it). Without `date`: the latest prediction date with a succeeded batch run. When several model versions scored a date, the one of that date’s latest succeeded run answers. With `model=X.Y.Z`: that model version’s row (e.g. the challenger’s, docs/monitoring.md) instead of the date’s published one. 404 PREDICTION_NOT_FOUND when the stock has no row for the date (with the batch’s skip reason when it was skipped), STOCK_NOT_FOUND when it is not in the master list. With `explain=1`: also `features` (the row the batch stored with it), `shap_values`, `base_value` and `margin` (exact TreeSHAP by the model version that scored it; log-odds); 404 when no feature row was stored for it, 422 EXPLANATION_UNAVAILABLE when that model cannot be explained.',
        params: StockRefParams,
        querystring: StoredPredictionQuery,
        response: { 200: Ref(StoredPrediction), ...errors(400, 404, 422, ...COMMON) },
      },
    },
    async (req) => {
      const code = stored.resolveStock(req.params.bse_code);
      return req.query.explain === '1' || req.query.explain === 'true'
        ? stored.explainStored(code, req.query.date, req.query.model)
        : stored.storedPrediction(code, req.query.date, req.query.model);
    },
  );

  api.get(
    '/predictions',
    {
      schema: {
        tags: ['predictions'],
        summary: 'The ranked predictions of a date, paginated',
        description:
          'Probability descending, ties by BSE code, as in the batch’s CSV. `rank` is the position in the date’s full ranking even when filtered. Without `date`: the latest prediction date with a succeeded batch run. With `model=X.Y.Z`: that model version’s ranking (e.g. the challenger’s, docs/monitoring.md; without `date`, its latest date); the default is always the published run’s. 404 when the date has no predictions.',
        querystring: PredictionListQuery,
        response: { 200: Ref(PredictionList), ...errors(400, 404, ...COMMON) },
      },
    },
    async (req) => stored.list(req.query),
  );
};
