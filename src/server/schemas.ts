/**
 * Every request and response shape of the API, defined once (TypeBox): the
 * same objects validate requests, serialize responses, make the OpenAPI
 * document (components.schemas, by `$id`) and give the handlers their
 * TypeScript types via `Static<>`.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { FEATURES } from '../features/definition.js';
import { CONFIDENCE_LEVELS } from '../model/confidence.js';
import { ERROR_CODES } from './errors.js';

/** `T | null` written as a JSON-schema type list (fast to serialize; @fastify/swagger renders it as `nullable`). */
function Nullable<T extends TSchema>(t: T): ReturnType<typeof Type.Unsafe<Static<T> | null>> {
  const { type, ...rest } = t as TSchema & { type?: string };
  if (typeof type !== 'string') throw new Error('Nullable: needs a schema with a single type');
  return Type.Unsafe<Static<T> | null>({ ...rest, type: [type, 'null'] });
}

/** A `$ref` to a shared schema (by its `$id`), typed as the schema itself. */
function Ref<T extends TSchema>(schema: T): ReturnType<typeof Type.Unsafe<Static<T>>> {
  if (!schema.$id) throw new Error('Ref: schema has no $id');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id));
}

/** A string enum as one `{type: string, enum}` schema (rather than a union of literals). */
function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string } = {}): ReturnType<typeof Type.Unsafe<T[number]>> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

export const BSE_CODE_PATTERN = '^[0-9]{6}$';
export const MAX_BATCH = 100;
export const MAX_PAGE = 1000;
/** Largest `offset` accepted (far past any date's ranking; keeps every number a safe integer). */
export const MAX_OFFSET = 1_000_000;
export const DEFAULT_PAGE = 100;

export const BseCode = Type.String({ pattern: BSE_CODE_PATTERN, description: '6-digit BSE scrip code', examples: ['500325'] });
export const IsoDateString = Type.String({ format: 'date', description: 'a calendar date, YYYY-MM-DD', examples: ['2025-11-14'] });
const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601 timestamp (UTC)', examples: ['2025-11-14T10:30:00.000Z'] });
const Confidence = StringEnum(CONFIDENCE_LEVELS, { description: 'HIGH when p ≥ 0.7 or p ≤ 0.3; LOW when 0.45 ≤ p < 0.55; MEDIUM otherwise' });
const Label = Type.Integer({ minimum: 0, maximum: 1, description: '1 = upper circuit predicted (probability ≥ 0.5)' });
const Probability = Type.Number({ minimum: 0, maximum: 1, description: 'P(upper circuit), 6 decimals' });

// ------------------------------------------------------------------ errors

export const ErrorResponse = Type.Object(
  {
    error: StringEnum(ERROR_CODES, { description: 'machine-readable error code' }),
    message: Type.String({ description: 'one sentence for a person' }),
    bse_code: Type.Optional(BseCode),
    reason: Type.Optional(
      Type.String({ description: 'FEATURE_EXTRACTION_FAILED only: NO_PRICE_DATA, INSUFFICIENT_HISTORY, TOO_MANY_MISSING, STALE_DATA or NO_PRICE_BAND' }),
    ),
    timestamp: Timestamp,
    request_id: Type.String({ description: 'the X-Request-Id of the request; every server log line about it carries the same id' }),
  },
  {
    $id: 'ErrorResponse',
    description: 'The body of every error response',
    examples: [
      {
        error: 'FEATURE_EXTRACTION_FAILED',
        message: '180 sessions before 2025-03-03, 250 needed',
        bse_code: '500325',
        reason: 'INSUFFICIENT_HISTORY',
        timestamp: '2025-11-14T10:30:00.000Z',
        request_id: '6f1c1f9e-4f1a-4c1e-9a37-0d2b8c1f7e55',
      },
    ],
  },
);
export type ErrorResponseT = Static<typeof ErrorResponse>;

// ------------------------------------------------------------------ features

export const FeatureValues = Type.Object(
  Object.fromEntries(FEATURES.map((f) => [f.name, Type.Number({ description: `${f.description} (${f.family}, ${f.window})` })])) as Record<
    (typeof FEATURES)[number]['name'],
    ReturnType<typeof Type.Number>
  >,
  { $id: 'FeatureValues', description: 'The 25 model inputs of feature set 1, by name, after imputation (exactly as scored)' },
);
export type FeatureValuesT = Static<typeof FeatureValues>;

export const FeatureRowResponse = Type.Object(
  {
    bse_code: BseCode,
    prediction_date: IsoDateString,
    as_of_session: Type.String({ format: 'date', description: 'the last session with prices before the prediction date' }),
    feature_set_version: Type.String(),
    source: StringEnum(['store', 'computed'] as const, {
      description: 'store: the row the batch stored for that date; computed: extracted now with the batch’s code',
    }),
    imputed_count: Type.Integer({ minimum: 0, description: 'features that had no data and were imputed' }),
    features: Ref(FeatureValues),
  },
  { $id: 'FeatureRowResponse' },
);
export type FeatureRowResponseT = Static<typeof FeatureRowResponse>;

// ------------------------------------------------------------------ explanations

export const ShapValues = Type.Object(
  Object.fromEntries(FEATURES.map((f) => [f.name, Type.Number({ description: `contribution of ${f.name} to the margin (log-odds)` })])) as Record<
    (typeof FEATURES)[number]['name'],
    ReturnType<typeof Type.Number>
  >,
  {
    $id: 'ShapValues',
    description:
      'Exact TreeSHAP values by feature, in log-odds: how far each feature moves this stock’s margin away from `base_value` (the average margin over the training rows, or over the background sample for a model registered without node covers). `base_value` + the sum of the 25 values = `margin`, and `probability` = sigmoid(`margin`).',
  },
);
export type ShapValuesT = Static<typeof ShapValues>;

/** The explanation fields of a prediction (include_shap, explain=1). */
const explanationProperties = {
  shap_values: Type.Optional(Ref(ShapValues)),
  base_value: Type.Optional(Type.Number({ description: 'include_shap / explain=1 only: the expected margin (log-odds) the SHAP values start from' })),
  margin: Type.Optional(
    Type.Number({ description: 'include_shap / explain=1 only: the model’s margin (log-odds) for this row, base_value + Σ shap_values; probability = sigmoid(margin)' }),
  ),
};

// ------------------------------------------------------------------ predict

export const PredictRequest = Type.Object(
  {
    bse_code: BseCode,
    nse_symbol: Type.Optional(
      Type.String({ minLength: 1, maxLength: 32, description: 'optional check: must match the master list’s symbol for bse_code (case-insensitive)' }),
    ),
    prediction_date: Type.String({
      format: 'date',
      description: 'the prediction date D (YYYY-MM-DD): features use data known before D begins',
      examples: ['2025-11-14'],
    }),
    include_features: Type.Optional(Type.Boolean({ default: false, description: 'return the 25 feature values by name' })),
    include_shap: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'return `shap_values` (feature → contribution in log-odds), `base_value` and `margin`: exact TreeSHAP of this prediction. A model that cannot be explained (no node covers and no background sample) answers 422 EXPLANATION_UNAVAILABLE (per item in /batch_predict).',
      }),
    ),
  },
  {
    $id: 'PredictRequest',
    additionalProperties: false,
    examples: [{ bse_code: '500325', nse_symbol: 'RELIANCE', prediction_date: '2025-11-14', include_features: true, include_shap: false }],
  },
);
export type PredictRequestT = Static<typeof PredictRequest>;

const predictionProperties = {
  bse_code: BseCode,
  nse_symbol: Nullable(Type.String({ description: 'NSE symbol from the master list (null when the stock has none)' })),
  company_name: Type.String(),
  prediction_date: IsoDateString,
  as_of_session: Type.String({ format: 'date', description: 'the last session with prices before the prediction date' }),
  predicted_label: Label,
  probability: Probability,
  confidence: Confidence,
  model_name: Type.String(),
  model_version: Type.String({ description: 'semver of the model that scored it' }),
  model_type: Type.String({ examples: ['GBDT'] }),
  prediction_timestamp: Timestamp,
  feature_source: StringEnum(['store', 'computed'] as const, {
    description: 'where the feature row came from: the batch’s stored row, or extracted now',
  }),
  features: Type.Optional(Ref(FeatureValues)),
  ...explanationProperties,
};

export const BatchItemPrediction = Type.Object(predictionProperties, { $id: 'BatchItemPrediction' });
export type BatchItemPredictionT = Static<typeof BatchItemPrediction>;

export const PredictResponse = Type.Object(
  { ...predictionProperties, processing_time_ms: Type.Number({ description: 'time spent in the handler' }) },
  {
    $id: 'PredictResponse',
    examples: [
      {
        bse_code: '500325',
        nse_symbol: 'RELIANCE',
        company_name: 'Reliance Industries',
        prediction_date: '2025-11-14',
        as_of_session: '2025-11-13',
        predicted_label: 1,
        probability: 0.87,
        confidence: 'HIGH',
        model_name: 'upper-circuit',
        model_version: '1.2.0',
        model_type: 'GBDT',
        prediction_timestamp: '2025-11-14T10:30:00.000Z',
        feature_source: 'store',
        processing_time_ms: 0.42,
      },
    ],
  },
);
export type PredictResponseT = Static<typeof PredictResponse>;

export const BatchPredictRequest = Type.Object(
  {
    predictions: Type.Array(Ref(PredictRequest), {
      minItems: 1,
      maxItems: MAX_BATCH,
      description: `1 to ${MAX_BATCH} requests, scored together in one model run`,
    }),
  },
  { $id: 'BatchPredictRequest', additionalProperties: false },
);
export type BatchPredictRequestT = Static<typeof BatchPredictRequest>;

export const BatchItemError = Type.Object(
  {
    error: Type.String({ description: 'an error code, as in ErrorResponse' }),
    message: Type.String(),
    bse_code: Type.Optional(BseCode),
    reason: Type.Optional(Type.String()),
  },
  { $id: 'BatchItemError' },
);

export const BatchItemResult = Type.Object(
  {
    index: Type.Integer({ minimum: 0, description: 'position of the request in `predictions`' }),
    status: Type.Integer({ description: 'the HTTP status this item would have had alone (200, 400, 404, 422)' }),
    prediction: Type.Optional(Ref(BatchItemPrediction)),
    error: Type.Optional(Ref(BatchItemError)),
  },
  { $id: 'BatchItemResult', description: 'exactly one of `prediction` (status 200) and `error` is present' },
);
export type BatchItemResultT = Static<typeof BatchItemResult>;

export const BatchPredictResponse = Type.Object(
  {
    count: Type.Integer({ minimum: 0 }),
    succeeded: Type.Integer({ minimum: 0 }),
    failed: Type.Integer({ minimum: 0 }),
    model_version: Nullable(Type.String({ description: 'the model that scored the batch (null when no item reached scoring)' })),
    results: Type.Array(Ref(BatchItemResult), { description: 'one per request, in request order' }),
    processing_time_ms: Type.Number(),
  },
  { $id: 'BatchPredictResponse' },
);
export type BatchPredictResponseT = Static<typeof BatchPredictResponse>;

// ------------------------------------------------------------------ stored predictions

export const StoredPrediction = Type.Object(
  {
    bse_code: BseCode,
    nse_symbol: Nullable(Type.String()),
    company_name: Nullable(Type.String()),
    prediction_date: IsoDateString,
    as_of_session: Nullable(Type.String({ format: 'date' })),
    predicted_label: Label,
    probability: Probability,
    confidence: Confidence,
    model_version: Type.String(),
    model_type: Nullable(Type.String()),
    prediction_timestamp: Nullable(Type.String({ description: 'when the batch scored it' })),
    run_id: Nullable(Type.String({ description: 'the batch run that wrote it' })),
    features: Type.Optional(Ref(FeatureValues)),
    ...explanationProperties,
  },
  { $id: 'StoredPrediction', description: 'with `?explain=1` also `features` (the stored row explained), `shap_values`, `base_value` and `margin`' },
);
export type StoredPredictionT = Static<typeof StoredPrediction>;

export const PredictionListItem = Type.Object(
  {
    rank: Type.Integer({ minimum: 1, description: 'position in the date’s full ranking (probability descending, ties by BSE code)' }),
    bse_code: BseCode,
    nse_symbol: Nullable(Type.String()),
    company_name: Nullable(Type.String()),
    probability: Probability,
    predicted_label: Label,
    confidence: Confidence,
  },
  { $id: 'PredictionListItem' },
);
export type PredictionListItemT = Static<typeof PredictionListItem>;

export const PredictionList = Type.Object(
  {
    prediction_date: IsoDateString,
    as_of_session: Nullable(Type.String({ format: 'date' })),
    model_version: Type.String(),
    model_type: Nullable(Type.String()),
    run_id: Nullable(Type.String()),
    total: Type.Integer({ minimum: 0, description: 'rows matching the filters' }),
    limit: Type.Integer(),
    offset: Type.Integer(),
    items: Type.Array(Ref(PredictionListItem)),
  },
  { $id: 'PredictionList' },
);
export type PredictionListT = Static<typeof PredictionList>;

const ModelVersionParam = Type.String({
  pattern: '^\\d{1,9}\\.\\d{1,9}\\.\\d{1,9}$',
  description: 'a model version X.Y.Z: its rows (e.g. the challenger’s) instead of the date’s published rows; without `date`, its latest date',
});

export const PredictionListQuery = Type.Object({
  date: Type.Optional(Type.String({ format: 'date', description: 'prediction date (default: the latest date with a succeeded batch run)' })),
  confidence: Type.Optional(Confidence),
  label: Type.Optional(Label),
  limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE }),
  offset: Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0 }),
  model: Type.Optional(ModelVersionParam),
});
export type PredictionListQueryT = Static<typeof PredictionListQuery>;

export const DateQuery = Type.Object({
  date: Type.Optional(Type.String({ format: 'date', description: 'prediction date YYYY-MM-DD' })),
});
export type DateQueryT = Static<typeof DateQuery>;

export const StoredPredictionQuery = Type.Object({
  date: Type.Optional(Type.String({ format: 'date', description: 'prediction date YYYY-MM-DD' })),
  model: Type.Optional(ModelVersionParam),
  explain: Type.Optional(
    StringEnum(['1', 'true', '0', 'false'] as const, {
      description:
        '1/true: explain the stored prediction with the feature row the batch stored for it (404 PREDICTION_NOT_FOUND when there is none) and the model version that scored it; 422 EXPLANATION_UNAVAILABLE when that model cannot be explained',
    }),
  ),
});
export type StoredPredictionQueryT = Static<typeof StoredPredictionQuery>;

export const CodeParams = Type.Object({ bse_code: BseCode });
/** A stock look-up: its 6-digit key, or its NSE symbol (case-insensitive). */
export const STOCK_REF_PATTERN = '^(?:[0-9]{6}|(?=[A-Za-z0-9&._-]{1,30}$)[0-9&._-]*[A-Za-z][A-Za-z0-9&._-]*)$';
export const StockRefParams = Type.Object({
  bse_code: Type.String({
    pattern: STOCK_REF_PATTERN,
    description: "the stock's 6-digit key (the BSE scrip code; '0' + 5 digits for an NSE-only security) or its NSE symbol, case-insensitive",
    examples: ['500325', 'RELIANCE'],
  }),
});
export type CodeParamsT = Static<typeof CodeParams>;

// ------------------------------------------------------------------ health

export const BatchRunSummary = Type.Object(
  {
    run_id: Type.String(),
    prediction_date: IsoDateString,
    as_of_session: Nullable(Type.String()),
    status: Type.String({ description: 'running, succeeded, failed, budget_exceeded or interrupted' }),
    started_at: Type.String(),
    finished_at: Nullable(Type.String()),
    model_version: Nullable(Type.String()),
    counts: Type.Object({
      universe: Nullable(Type.Integer()),
      processed: Nullable(Type.Integer()),
      skipped: Nullable(Type.Integer()),
      predicted_uc: Nullable(Type.Integer()),
      high: Nullable(Type.Integer()),
      medium: Nullable(Type.Integer()),
      low: Nullable(Type.Integer()),
    }),
  },
  { $id: 'BatchRunSummary', description: 'the most recently started batch run, whatever its status' },
);
export type BatchRunSummaryT = Static<typeof BatchRunSummary>;

export const HealthResponse = Type.Object(
  {
    status: StringEnum(['healthy', 'degraded', 'unhealthy'] as const, {
      description: 'healthy: model, market.db and predictions.db usable; degraded: /predict works but predictions.db is missing or has no succeeded run (still 200); unhealthy: no usable model or market.db (503)',
    }),
    timestamp: Timestamp,
    model_loaded: Type.Boolean({ description: 'a model session is open' }),
    model_name: Nullable(Type.String()),
    model_version: Nullable(Type.String()),
    model_type: Nullable(Type.String()),
    model_error: Nullable(Type.String({ description: 'why no model is usable' })),
    market_db: Type.Boolean({ description: 'market.db is open and readable' }),
    market_error: Nullable(Type.String()),
    predictions_db: Type.Boolean({ description: 'predictions.db is open and readable' }),
    uptime_seconds: Type.Number(),
    requests_processed: Type.Integer({ description: 'responses sent since start' }),
    avg_latency_ms: Type.Number({ description: 'mean response time since start' }),
    error_rate: Type.Number({ description: 'share of responses with a 5xx status since start' }),
    last_batch_run: Type.Union([Ref(BatchRunSummary), Type.Null()]),
  },
  {
    $id: 'HealthResponse',
    examples: [
      {
        status: 'healthy',
        timestamp: '2025-11-14T10:30:00.000Z',
        model_loaded: true,
        model_name: 'upper-circuit',
        model_version: '1.2.0',
        model_type: 'GBDT',
        model_error: null,
        market_db: true,
        market_error: null,
        predictions_db: true,
        uptime_seconds: 3600,
        requests_processed: 15432,
        avg_latency_ms: 0.8,
        error_rate: 0.002,
        last_batch_run: null,
      },
    ],
  },
);
export type HealthResponseT = Static<typeof HealthResponse>;

// ------------------------------------------------------------------ models

export const ModelEntry = Type.Object(
  {
    name: Type.String(),
    version: Type.String(),
    ref: Type.String({ description: 'name/version' }),
    model_type: Nullable(Type.String()),
    feature_set_version: Nullable(Type.String()),
    created_at: Nullable(Type.String()),
    trained_until: Nullable(Type.String()),
    sha256: Nullable(Type.String()),
    metrics: Nullable(Type.Record(Type.String(), Type.Unknown())),
    aliases: Type.Array(Type.String()),
    usable: Type.Boolean({ description: 'false when its files are missing or invalid (found without loading it)' }),
    problem: Nullable(Type.String()),
    serving: Type.Boolean({ description: 'the model the server scores with now' }),
    loaded: Type.Boolean({ description: 'an onnxruntime session is open for it' }),
    drift_reference: Nullable(
      Type.Object(
        { source: Type.String(), rows: Type.Integer(), from: Nullable(Type.String()), to: Type.Union([Type.String(), Type.Null()]) },
        { description: 'the reference distribution drift is measured against (null: none; stockflow models profile builds one)' },
      ),
    ),
  },
  { $id: 'ModelEntry' },
);
export type ModelEntryT = Static<typeof ModelEntry>;

export const ModelListResponse = Type.Object(
  {
    serving: Nullable(Type.String({ description: 'name/version the server scores with (null before the first load)' })),
    champion: Nullable(Type.String()),
    challenger: Nullable(Type.String()),
    models: Type.Array(Ref(ModelEntry)),
  },
  { $id: 'ModelListResponse' },
);
export type ModelListResponseT = Static<typeof ModelListResponse>;

export const ReloadResponse = Type.Object(
  {
    previous: Nullable(Type.String({ description: 'name/version served before the reload' })),
    current: Type.String({ description: 'name/version served now' }),
    model_type: Type.String(),
    load_ms: Type.Number(),
    reloaded_at: Timestamp,
  },
  { $id: 'ReloadResponse' },
);
export type ReloadResponseT = Static<typeof ReloadResponse>;

// ------------------------------------------------------------------ performance

export const PerformanceScorecard = Type.Object(
  {
    date: { ...IsoDateString, description: 'the latest prediction date whose outcome is known (its model’s horizon has passed)' },
    model_version: Type.String({ description: 'the model whose predictions are judged (that of the date’s completed run)' }),
    rows: Type.Integer({ description: 'stocks scored that date' }),
    top: Type.Integer({ description: 'stocks in the date’s top 20 (fewer on a date with fewer stocks)' }),
    top_hits: Type.Integer({ description: 'how many of them hit the upper circuit within the horizon' }),
    top_precision: Type.Number({ description: 'top_hits ÷ top' }),
    base_rate: Type.Number({ description: 'the share of all the date’s scored stocks that hit the upper circuit (what picking at random would give)' }),
    rolling_precision: Type.Number({ description: 'precision@20 (share of a date’s top 20 that hit) averaged over the model’s last window_dates judged dates' }),
    window_dates: Type.Integer({ description: 'judged dates in the rolling window (at most 20)' }),
    window_from: IsoDateString,
    window_to: IsoDateString,
  },
  { $id: 'PerformanceScorecard' },
);
export type PerformanceScorecardT = Static<typeof PerformanceScorecard>;

export const PerformanceResponse = Type.Object(
  {
    scorecard: Type.Union([Ref(PerformanceScorecard), Type.Null()]),
    note: Nullable(Type.String({ description: 'why there is no scorecard yet' })),
  },
  { $id: 'PerformanceResponse' },
);
export type PerformanceResponseT = Static<typeof PerformanceResponse>;

// ------------------------------------------------------------------ monitoring (docs/monitoring.md)

const Level = StringEnum(['stable', 'moderate', 'significant'] as const, { description: 'PSI below the moderate threshold: stable; up to the significant one: moderate; above it: significant' });

export const DriftSubject = Type.Object(
  {
    name: Type.String({ description: 'the feature, or `score` for the model’s probability' }),
    kind: StringEnum(['feature', 'score'] as const),
    psi: Type.Number({ description: 'population stability index against the model’s reference' }),
    level: Level,
    bins: Type.Array(
      Type.Object({
        lower: Nullable(Type.Number({ description: 'exclusive lower bound (null: unbounded)' })),
        upper: Nullable(Type.Number({ description: 'inclusive upper bound (null: unbounded)' })),
        expected: Type.Number({ description: 'share of the reference rows in the bin' }),
        actual: Type.Number({ description: 'share of the run’s rows in the bin' }),
      }),
    ),
    missing_expected: Type.Number(),
    missing_actual: Type.Number(),
  },
  { $id: 'DriftSubject' },
);

export const DriftReportSchema = Type.Object(
  {
    model_name: Type.String(),
    model_version: Type.String(),
    reference_source: StringEnum(['training', 'profile'] as const),
    reference_rows: Type.Integer(),
    reference_from: Nullable(Type.String()),
    reference_to: Nullable(Type.String()),
    rows: Type.Integer({ description: 'the run’s rows compared' }),
    thresholds: Type.Object({ moderate: Type.Number(), significant: Type.Number() }),
    floor: Type.Number({ description: 'the share an empty bin counts as' }),
    features: Type.Array(Ref(DriftSubject)),
    score: Ref(DriftSubject),
  },
  { $id: 'DriftReport' },
);

export const MonitoringQuery = Type.Object({
  date: Type.Optional(Type.String({ format: 'date', description: 'prediction date (default: the latest date with a completed batch run)' })),
});
export type MonitoringQueryT = Static<typeof MonitoringQuery>;

export const MonitoringResponse = Type.Object(
  {
    prediction_date: Nullable(IsoDateString),
    run_id: Nullable(Type.String({ description: 'the date’s completed run' })),
    model_version: Nullable(Type.String()),
    drift: Type.Union([Ref(DriftReportSchema), Type.Null()]),
    shifted: Type.Array(Type.Object({ name: Type.String(), psi: Type.Number(), level: Level }), {
      description: 'features (and the score) at or above the moderate threshold, worst first',
    }),
    challengers: Type.Array(
      Type.Object({
        model_name: Type.String(),
        model_version: Type.String({ description: 'its rows: GET /predictions?model=<this>' }),
        run_id: Type.String(),
        rows: Type.Integer(),
        comparison: Nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'top-20 overlap, Spearman rank correlation, labels that differ' })),
      }),
    ),
    note: Nullable(Type.String({ description: 'why there is no drift section' })),
  },
  { $id: 'MonitoringResponse' },
);
export type MonitoringResponseT = Static<typeof MonitoringResponse>;

/** The shared schemas, registered with `app.addSchema` (components.schemas in the OpenAPI document). */
export const SHARED_SCHEMAS: readonly TSchema[] = [
  ErrorResponse,
  FeatureValues,
  FeatureRowResponse,
  ShapValues,
  PredictRequest,
  BatchItemPrediction,
  PredictResponse,
  BatchPredictRequest,
  BatchItemError,
  BatchItemResult,
  BatchPredictResponse,
  StoredPrediction,
  PredictionListItem,
  PredictionList,
  BatchRunSummary,
  HealthResponse,
  ModelEntry,
  ModelListResponse,
  ReloadResponse,
  PerformanceScorecard,
  PerformanceResponse,
  DriftSubject,
  DriftReportSchema,
  MonitoringResponse,
];

/** `$ref` to the error body, for the error statuses of a route's response map. */
export const ErrorRef = Ref(ErrorResponse);
export { Ref };
