/**
 * Request and response shapes of the dashboard's read-only routes
 * (src/server/routes/dashboard.ts): validation, OpenAPI and types from one
 * TypeBox schema each, as in schemas.ts.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { BseCode, IsoDateString } from './schemas.js';
import { DEFAULT_PRICE_SESSIONS, MAX_HISTORY, MAX_PRICE_SESSIONS, MAX_RUNS } from './services/dashboard.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Confidence = Type.Union([Type.Literal('HIGH'), Type.Literal('MEDIUM'), Type.Literal('LOW'), Type.Null()]);

export const RunsQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: MAX_RUNS, default: 60 }) }, { additionalProperties: false });
export type RunsQueryT = Static<typeof RunsQuery>;

export const RunsResponse = Type.Object({
  items: Type.Array(
    Type.Object({
      prediction_date: IsoDateString,
      run_id: Type.String(),
      status: Type.String(),
      as_of_session: Nullable(Type.String()),
      model_name: Nullable(Type.String()),
      model_version: Type.String(),
      finished_at: Nullable(Type.String()),
      processed: Nullable(Type.Integer()),
      predicted_uc: Nullable(Type.Integer()),
    }),
    { description: 'each prediction date’s completed run (docs/runs.md), newest date first' },
  ),
});

export const OptionalDateQuery = Type.Object(
  { date: Type.Optional({ ...IsoDateString, description: 'prediction date (default: the latest with a completed run)' }) },
  { additionalProperties: false },
);
export type OptionalDateQueryT = Static<typeof OptionalDateQuery>;

export const RankingResponse = Type.Object({
  prediction_date: IsoDateString,
  as_of_session: Nullable(Type.String()),
  run_id: Nullable(Type.String()),
  model_version: Type.String(),
  total: Type.Integer(),
  items: Type.Array(
    Type.Object({
      rank: Type.Integer({ minimum: 1 }),
      bse_code: BseCode,
      nse_symbol: Nullable(Type.String()),
      company_name: Type.String(),
      sector: Nullable(Type.String()),
      probability: Type.Number(),
      label: Type.Integer(),
      confidence: Confidence,
      market_cap_cr: Nullable(Type.Number()),
    }),
  ),
});

export const PricesQuery = Type.Object(
  {
    to: Type.Optional({ ...IsoDateString, description: 'the last session to include (default: the last session in market.db)' }),
    sessions: Type.Integer({ minimum: 1, maximum: MAX_PRICE_SESSIONS, default: DEFAULT_PRICE_SESSIONS }),
  },
  { additionalProperties: false },
);
export type PricesQueryT = Static<typeof PricesQuery>;

export const PricesResponse = Type.Object({
  bse_code: BseCode,
  nse_symbol: Nullable(Type.String()),
  company_name: Type.String(),
  sector: Type.String(),
  circuit_band_pct: Nullable(Type.Number()),
  market_cap_cr: Nullable(Type.Number()),
  upper_circuit_days: Type.Integer(),
  items: Type.Array(
    Type.Object({
      date: IsoDateString,
      close: Type.Number(),
      sma50: Nullable(Type.Number()),
      sma200: Nullable(Type.Number()),
      upper_circuit: Type.Boolean(),
    }),
  ),
});

export const StockFeaturesResponse = Type.Object({
  bse_code: BseCode,
  prediction_date: IsoDateString,
  sector: Type.String(),
  sector_stocks: Type.Integer({ description: 'stocks of the sector with a stored feature row for the date (the stock included)' }),
  items: Type.Array(Type.Object({ feature: Type.String(), value: Nullable(Type.Number()), sector_median: Nullable(Type.Number()) })),
});

export const HistoryQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: MAX_HISTORY, default: 120 }) }, { additionalProperties: false });
export type HistoryQueryT = Static<typeof HistoryQuery>;

export const StockHistoryResponse = Type.Object({
  bse_code: BseCode,
  company_name: Type.String(),
  items: Type.Array(
    Type.Object({
      prediction_date: IsoDateString,
      model_version: Type.String(),
      probability: Type.Number(),
      predicted_label: Type.Integer(),
      confidence: Confidence,
      hit: Type.Union([Type.Integer({ minimum: 0, maximum: 1 }), Type.Null()], { description: '1 when it closed at its upper circuit within the model’s horizon, 0 when not, null while unknown' }),
      completed_run: Type.Boolean({ description: 'the row belongs to the date’s completed run (the one the API and the CSV show)' }),
    }),
  ),
});

export const PerformanceHistoryResponse = Type.Object({
  history: Type.Union([
    Type.Object({
      model_version: Type.String(),
      points: Type.Array(
        Type.Object({
          date: IsoDateString,
          precision: Type.Number({ description: 'share of the date’s top 20 that hit' }),
          hits: Type.Integer(),
          top: Type.Integer(),
          base_rate: Type.Number(),
          rows: Type.Integer(),
        }),
      ),
      calibration: Type.Array(
        Type.Object({ lower: Type.Number(), upper: Type.Number(), mean_predicted: Type.Number(), observed: Type.Number(), rows: Type.Integer() }),
      ),
      rows: Type.Integer(),
    }),
    Type.Null(),
  ]),
  note: Nullable(Type.String()),
});
