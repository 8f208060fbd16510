/**
 * Prometheus metrics (prom-client, one registry per app): request counts and
 * latency per route, method and status, plus model, feature-cache and batch
 * figures read from their sources at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LoaderStats } from '../model/loader.js';
import type { BatchRunSummaryT } from './schemas.js';
import type { DateContextStats } from './date-contexts.js';
import type { Scorecard } from '../model/evaluate.js';
import type { DriftReport } from '../model/drift.js';

export interface MetricSources {
  loader: () => LoaderStats;
  features: () => { hits: number; misses: number; storeHits: number };
  lastRun: () => BatchRunSummaryT | null;
  dates?: () => DateContextStats & { queued: number };
  /** The scorecard of GET /performance (undefined until an outcome is known). */
  scorecard?: () => Scorecard | undefined;
  /** The latest completed run's drift (GET /monitoring; undefined when its model has no reference). */
  drift?: () => DriftReport | undefined;
}

/** A counter whose value is read from elsewhere when scraped. */
function readCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

const epochSeconds = (iso: string | null): number => (iso ? Date.parse(iso) / 1000 : NaN);

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly duration: Histogram<'route' | 'method' | 'status'>;

  constructor(sources: MetricSources, o: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'http_requests_total', help: 'HTTP responses sent, by route template, method and status', labelNames: ['route', 'method', 'status'], registers });
    this.duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to sending its response, by route template, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });

    new Gauge({
      name: 'stockflow_model_load_seconds',
      help: 'Time the most recent model load took (read, verify sha256, open the onnxruntime session)',
      registers,
      collect() {
        const ms = sources.loader().lastLoadMs;
        this.set(ms === null ? NaN : ms / 1000);
      },
    });
    new Gauge({
      name: 'stockflow_model_info',
      help: 'The model the server scores with (value 1; labels name the model)',
      labelNames: ['model', 'source'],
      registers,
      collect() {
        this.reset();
        const s = sources.loader();
        if (s.current) this.set({ model: s.current, source: s.currentSource ?? '' }, 1);
      },
    });
    new Gauge({
      name: 'stockflow_model_size_bytes',
      help: 'Size of the current model.onnx',
      registers,
      collect() {
        const b = sources.loader().modelSizeBytes;
        this.set(b === null ? NaN : b);
      },
    });
    new Gauge({
      name: 'stockflow_model_sessions_open',
      help: 'onnxruntime sessions open (cached, current, leased or in their grace period)',
      registers,
      collect() {
        this.set(sources.loader().openSessions);
      },
    });
    readCounter(this.registry, 'stockflow_model_loads_total', 'Model sessions opened', () => sources.loader().loads);
    readCounter(this.registry, 'stockflow_model_reloads_total', 'Hot reloads requested', () => sources.loader().reloads);
    readCounter(this.registry, 'stockflow_model_cache_hits_total', 'Model requests served by an open session', () => sources.loader().cacheHits);
    readCounter(this.registry, 'stockflow_model_cache_misses_total', 'Model requests that had to open a session first', () => sources.loader().cacheMisses);
    readCounter(this.registry, 'stockflow_feature_cache_hits_total', 'On-demand feature rows served from the in-memory LRU', () => sources.features().hits);
    readCounter(this.registry, 'stockflow_feature_cache_misses_total', 'On-demand feature rows not in the LRU (read from the store or computed)', () => sources.features().misses);
    readCounter(this.registry, 'stockflow_feature_store_hits_total', 'Cache misses answered from the batch’s stored feature rows', () => sources.features().storeHits);
    const dates = sources.dates;
    if (dates) {
      readCounter(this.registry, 'stockflow_date_context_builds_total', 'On-demand date contexts built in the worker thread', () => dates().builds);
      readCounter(this.registry, 'stockflow_date_context_coalesced_total', 'Requests that joined a build of the same date already running', () => dates().coalesced);
      readCounter(this.registry, 'stockflow_date_context_cache_hits_total', 'Dates answered from the date-context cache', () => dates().hits);
      const rejected = new Counter({
        name: 'stockflow_date_context_rejected_total',
        help: 'Requests refused by the on-demand date bounds (too_many: 400, rate: 429, queue_full: 503)',
        labelNames: ['reason'],
        registers,
        collect() {
          const s = dates();
          this.reset();
          this.inc({ reason: 'too_many' }, s.rejectedTooMany);
          this.inc({ reason: 'rate' }, s.rejectedRate);
          this.inc({ reason: 'queue_full' }, s.rejectedQueueFull);
        },
      });
      void rejected;
      new Gauge({
        name: 'stockflow_date_context_queue',
        help: 'Date-context builds running or waiting',
        registers,
        collect() {
          this.set(dates().queued);
        },
      });
    }

    new Gauge({
      name: 'stockflow_last_batch_run_timestamp_seconds',
      help: 'When the most recent batch run finished (started, while it is running), Unix seconds',
      registers,
      collect() {
        const r = sources.lastRun();
        this.set(r ? epochSeconds(r.finished_at ?? r.started_at) : NaN);
      },
    });
    new Gauge({
      name: 'stockflow_last_batch_run_info',
      help: 'The most recent batch run (value 1; labels describe it)',
      labelNames: ['run_id', 'prediction_date', 'status'],
      registers,
      collect() {
        this.reset();
        const r = sources.lastRun();
        if (r) this.set({ run_id: r.run_id, prediction_date: r.prediction_date, status: r.status }, 1);
      },
    });
    new Gauge({
      name: 'stockflow_last_batch_run_stocks',
      help: 'Counts of the most recent batch run: universe, processed, skipped, predicted_uc, high, medium, low',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        const r = sources.lastRun();
        if (!r) return;
        for (const [kind, v] of Object.entries(r.counts)) if (v !== null) this.set({ kind }, v);
      },
    });
    const scorecard = sources.scorecard;
    if (scorecard) {
      // The scorecard's figures (README "The scorecard"), labelled with the judged model version; absent until an outcome is known.
      const figure = (name: string, help: string, read: (s: Scorecard) => number): void =>
        void new Gauge({
          name,
          help,
          labelNames: ['model_version'],
          registers,
          collect() {
            this.reset();
            const s = scorecard();
            if (s) this.set({ model_version: s.model_version }, read(s));
          },
        });
      figure('stockflow_scorecard_date_timestamp_seconds', 'The latest prediction date whose outcome is known (midnight UTC), Unix seconds', (s) => Date.parse(`${s.date}T00:00:00Z`) / 1000);
      figure('stockflow_scorecard_top20_hits', "How many of that date's top 20 hit the upper circuit within the model's horizon", (s) => s.top_hits);
      figure('stockflow_scorecard_top20_precision', "The share of that date's top 20 that hit the upper circuit", (s) => s.top_precision);
      figure('stockflow_scorecard_base_rate', "The share of all that date's scored stocks that hit the upper circuit", (s) => s.base_rate);
      figure('stockflow_scorecard_rolling_precision_at_20', "Precision@20 averaged over the model's last 20 judged dates", (s) => s.rolling_precision);
      figure('stockflow_scorecard_rolling_dates', 'Judged dates in the rolling window (at most 20)', (s) => s.window_dates);
    }
    const drift = sources.drift;
    if (drift) {
      // docs/monitoring.md: one series per feature, and the score's PSI, of the latest completed run.
      new Gauge({
        name: 'stockflow_feature_psi',
        help: "Population stability index of each feature in the latest completed run against its model's reference (< 0.1 stable, > 0.25 significant by default)",
        labelNames: ['feature', 'model_version'],
        registers,
        collect() {
          this.reset();
          const d = drift();
          if (d) for (const f of d.features) this.set({ feature: f.name, model_version: d.model_version }, f.psi);
        },
      });
      new Gauge({
        name: 'stockflow_score_psi',
        help: "Population stability index of the model's score in the latest completed run against its reference",
        labelNames: ['model_version'],
        registers,
        collect() {
          this.reset();
          const d = drift();
          if (d) this.set({ model_version: d.model_version }, d.score.psi);
        },
      });
      new Gauge({
        name: 'stockflow_drift_significant_features',
        help: 'Features whose PSI is above the significant threshold in the latest completed run',
        labelNames: ['model_version'],
        registers,
        collect() {
          this.reset();
          const d = drift();
          if (d) this.set({ model_version: d.model_version }, d.features.filter((f) => f.level === 'significant').length);
        },
      });
    }
    if (o.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  observe(route: string, method: string, status: number, seconds: number): void {
    const labels = { route, method, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
