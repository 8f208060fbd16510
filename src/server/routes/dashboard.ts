/**
 * The dashboard's read-only JSON routes (web/ calls them; docs/api.md,
 * "Dashboard routes"): GET /runs, /ranking, /predictions.csv,
 * /stocks/{code}/prices, /stocks/{code}/features, /stocks/{code}/history,
 * /performance/history.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {} from '../context.js';
import { CodeParams } from '../schemas.js';
import {
  HistoryQuery,
  OptionalDateQuery,
  PerformanceHistoryResponse,
  PricesQuery,
  PricesResponse,
  RankingResponse,
  RunsQuery,
  RunsResponse,
  StockFeaturesResponse,
  StockHistoryResponse,
} from '../dashboard-schemas.js';
import { COMMON, errors } from './common.js';
import { Type } from '@sinclair/typebox';

export const dashboardRoutes: FastifyPluginAsyncTypebox = async (api) => {
  const { dashboard } = api.ctx.service;
  const tags = ['dashboard'];

  api.get(
    '/runs',
    { schema: { tags, summary: 'Prediction dates with a completed run (the date picker)', querystring: RunsQuery, response: { 200: RunsResponse, ...errors(400, ...COMMON) } } },
    async (req) => dashboard.runs(req.query.limit),
  );

  api.get(
    '/ranking',
    {
      schema: {
        tags,
        summary: 'A date’s whole ranking with the CSV’s columns and each stock’s sector',
        description: 'Every stored prediction of the date’s completed run, probability descending then BSE code (the CSV’s order); `label` and `market_cap_cr` as in the CSV, `sector` from the master list. 404 when the date has no predictions.',
        querystring: OptionalDateQuery,
        response: { 200: RankingResponse, ...errors(400, 404, ...COMMON) },
      },
    },
    async (req) => dashboard.ranking(req.query.date),
  );

  api.get(
    '/predictions.csv',
    {
      schema: {
        tags,
        summary: 'The date’s predictions CSV, as the batch wrote it (a download)',
        querystring: OptionalDateQuery,
        produces: ['text/csv'],
        response: { 200: { description: 'predictions_{date}.csv', content: { 'text/csv': { schema: Type.String() } } }, ...errors(400, 404, ...COMMON) },
      },
    },
    async (req, reply) => {
      const f = dashboard.csv(req.query.date);
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${f.name}"`).send(f.body);
    },
  );

  api.get(
    '/stocks/:bse_code/prices',
    {
      schema: {
        tags,
        summary: 'A stock’s closes with the 50- and 200-session averages and its upper-circuit days',
        description: 'Its last `sessions` closes (default 250, about a year) up to `to`, oldest first. An upper-circuit day is a close at the upper circuit from the previous close with the stock’s band (src/market/circuit.ts), as the outcomes judge it. 404 STOCK_NOT_FOUND when it is not in the master list.',
        params: CodeParams,
        querystring: PricesQuery,
        response: { 200: PricesResponse, ...errors(400, 404, ...COMMON, 503) },
      },
    },
    async (req) => dashboard.prices(req.params.bse_code, req.query.to, req.query.sessions),
  );

  api.get(
    '/stocks/:bse_code/features',
    {
      schema: {
        tags,
        summary: 'A stock’s stored feature values beside its sector’s median',
        description: 'The row the batch stored for the date (default: the latest with a completed run) and, per feature, the median of the rows stored that date for the ACTIVE stocks of its sector (missing values left out). 404 when no row was stored.',
        params: CodeParams,
        querystring: OptionalDateQuery,
        response: { 200: StockFeaturesResponse, ...errors(400, 404, ...COMMON, 503) },
      },
    },
    async (req) => dashboard.features(req.params.bse_code, req.query.date),
  );

  api.get(
    '/stocks/:bse_code/history',
    {
      schema: {
        tags,
        summary: 'A stock’s stored predictions, newest first, with their outcomes where known',
        params: CodeParams,
        querystring: HistoryQuery,
        response: { 200: StockHistoryResponse, ...errors(400, 404, ...COMMON, 503) },
      },
    },
    async (req) => dashboard.stockHistory(req.params.bse_code, req.query.limit),
  );

  api.get(
    '/performance/history',
    {
      schema: {
        tags: ['operations'],
        summary: 'The scorecard over time: each judged date’s top-20 hit rate and base rate, and calibration',
        description: 'For the scorecard’s model and window (its latest 20 dates with known outcomes): per date the share of its top 20 that hit and the share of all its stocks that hit, and the calibration (10 bins, empty ones left out) over those dates’ rows. `history` is null (with a `note`) until an outcome is known. Always 200.',
        response: { 200: PerformanceHistoryResponse, ...errors(...COMMON) },
      },
    },
    async () => dashboard.performanceHistory(),
  );
};
