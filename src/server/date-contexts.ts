/**
 * On-demand date contexts for the server: a prediction date's extraction
 * context and sector medians, built in one worker thread (never on the event
 * loop), cached in a bounded LRU, with concurrent builds of the same date
 * coalesced into one. New builds are bounded three ways (docs/api.md):
 * per request (400), per client per minute (429 with Retry-After) and by the
 * build queue (503 with Retry-After).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import { Piscina } from 'piscina';
import { PACKAGE_ROOT } from '../config.js';
import type { Logger } from '../log.js';
import type { IsoDate } from '../market/dates.js';
import type { DateContextResult, DateContextTask } from '../features/date-context.js';
import { ApiError } from './errors.js';

/** The compiled worker (plain JavaScript at run time). */
export const DATE_CONTEXT_WORKER = path.join(PACKAGE_ROOT, 'dist', 'workers', 'date-context.js');

export interface DateBuildLimits {
  /** Distinct not-yet-prepared dates one request may name (more: 400). */
  maxNewDatesPerRequest: number;
  /** New date builds one client (IP) may start per minute (a token bucket; 0 = no limit). */
  newDatesPerMinute: number;
  /** Builds running or waiting at once (more: 503 with Retry-After). */
  queueSize: number;
  /** Date contexts kept in memory. */
  cacheSize: number;
}

export const DEFAULT_DATE_BUILD_LIMITS: DateBuildLimits = { maxNewDatesPerRequest: 5, newDatesPerMinute: 30, queueSize: 8, cacheSize: 64 };

export interface DateContextStats {
  /** Builds started in the worker. */
  builds: number;
  /** Requests for a date whose build was already running (joined it). */
  coalesced: number;
  /** Dates answered from the cache. */
  hits: number;
  rejectedTooMany: number;
  rejectedRate: number;
  rejectedQueueFull: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export interface DateContextsOptions {
  marketFile: string;
  /** The server's current opening of market.db (cached contexts of an older one are dropped). */
  generation: () => number;
  limits?: Partial<DateBuildLimits>;
  log: Logger;
  workerFile?: string;
}

export class DateContexts {
  readonly limits: DateBuildLimits;
  readonly stats: DateContextStats = { builds: 0, coalesced: 0, hits: 0, rejectedTooMany: 0, rejectedRate: 0, rejectedQueueFull: 0 };
  private readonly cache: LRUCache<IsoDate, DateContextResult>;
  /** Builds running or waiting, by `${generation}|${date}` (a build over a replaced market.db is not joined). */
  private readonly inflight = new Map<string, Promise<DateContextResult>>();
  private readonly buckets = new LRUCache<string, Bucket>({ max: 10_000 });
  private pool: Piscina | undefined;
  private cacheGeneration = -1;
  private closed = false;
  /** Mean build time (ms), for Retry-After. */
  private meanMs = 200;

  constructor(private readonly o: DateContextsOptions) {
    this.limits = { ...DEFAULT_DATE_BUILD_LIMITS, ...o.limits };
    this.cache = new LRUCache({ max: Math.max(1, this.limits.cacheSize) });
  }

  private syncGeneration(): number {
    const g = this.o.generation();
    if (g !== this.cacheGeneration) {
      this.cache.clear();
      this.cacheGeneration = g;
    }
    return g;
  }

  /** Builds running or waiting. */
  get queued(): number {
    return this.inflight.size;
  }

  /** A prepared date, if cached (never builds). */
  peek(date: IsoDate): DateContextResult | undefined {
    this.syncGeneration();
    return this.cache.get(date);
  }

  private retryAfterQueue(): number {
    return Math.max(1, Math.ceil(((this.inflight.size + 1) * this.meanMs) / 1000));
  }

  /** Takes `n` tokens from the client's bucket, or says how many seconds until it has them. */
  private checkRate(client: string, n: number, now: number): { ok: true; take: () => void } | { ok: false; retryAfter: number } {
    const perMinute = this.limits.newDatesPerMinute;
    if (perMinute <= 0) return { ok: true, take: () => undefined };
    const perMs = perMinute / 60_000;
    const b = this.buckets.get(client) ?? { tokens: perMinute, at: now };
    const tokens = Math.min(perMinute, b.tokens + (now - b.at) * perMs);
    if (tokens + 1e-9 < n) return { ok: false, retryAfter: Math.max(1, Math.ceil((Math.min(n, perMinute) - tokens) / perMs / 1000)) };
    return { ok: true, take: () => this.buckets.set(client, { tokens: tokens - n, at: now }) };
  }

  /**
   * The contexts of `dates` (valid ISO dates), building the missing ones in
   * the worker. Throws the 400/429/503 ApiErrors described above before any
   * build starts.
   */
  async ensure(dates: Iterable<IsoDate>, client: string, o: { unlimited?: boolean } = {}): Promise<Map<IsoDate, DateContextResult>> {
    if (this.closed) throw new ApiError('SERVICE_UNAVAILABLE', 'the server is shutting down: retry (on another instance)');
    const generation = this.syncGeneration();
    const out = new Map<IsoDate, DateContextResult>();
    const waiting: [IsoDate, Promise<DateContextResult>][] = [];
    const fresh: IsoDate[] = [];
    for (const d of new Set(dates)) {
      const c = this.cache.get(d);
      if (c) {
        this.stats.hits++;
        out.set(d, c);
        continue;
      }
      const running = this.inflight.get(`${generation}|${d}`);
      if (running) {
        this.stats.coalesced++;
        waiting.push([d, running]);
        continue;
      }
      fresh.push(d);
    }
    if (fresh.length > 0 && o.unlimited) {
      for (const d of fresh) waiting.push([d, this.start(d, generation)]);
    } else if (fresh.length > 0) {
      const L = this.limits;
      if (fresh.length > L.maxNewDatesPerRequest) {
        this.stats.rejectedTooMany++;
        throw new ApiError(
          'INVALID_REQUEST',
          `this request names ${fresh.length} prediction dates that are not prepared yet; at most ${L.maxNewDatesPerRequest} per request: split it into smaller requests`,
        );
      }
      const rate = this.checkRate(client, fresh.length, Date.now());
      if (!rate.ok) {
        this.stats.rejectedRate++;
        throw new ApiError('RATE_LIMITED', `too many new prediction dates: at most ${L.newDatesPerMinute} per minute per client; retry in ${rate.retryAfter} s`, {
          retryAfter: rate.retryAfter,
        });
      }
      if (this.inflight.size + fresh.length > L.queueSize) {
        this.stats.rejectedQueueFull++;
        const retryAfter = this.retryAfterQueue();
        throw new ApiError('SERVICE_UNAVAILABLE', `busy preparing other prediction dates (at most ${L.queueSize} at once): retry in ${retryAfter} s`, { retryAfter });
      }
      rate.take();
      for (const d of fresh) waiting.push([d, this.start(d, generation)]);
    }
    const results = await Promise.all(waiting.map(([, p]) => p));
    waiting.forEach(([d], i) => out.set(d, results[i]));
    return out;
  }

  private workers(): Piscina {
    if (!this.pool) {
      const filename = this.o.workerFile ?? DATE_CONTEXT_WORKER;
      if (!existsSync(filename)) throw new Error(`worker not built: ${filename} (run npm run build)`);
      this.pool = new Piscina({ filename, minThreads: 0, maxThreads: 1, idleTimeout: 60_000 });
    }
    return this.pool;
  }

  private start(date: IsoDate, generation: number): Promise<DateContextResult> {
    this.stats.builds++;
    const t0 = Date.now();
    const task: DateContextTask = { marketFile: this.o.marketFile, generation, date };
    const key = `${generation}|${date}`;
    const p = (this.workers().run(task) as Promise<DateContextResult>)
      .then(
        (r) => {
          this.meanMs = 0.8 * this.meanMs + 0.2 * (Date.now() - t0);
          if (generation === this.cacheGeneration) this.cache.set(date, r);
          return r;
        },
        (e: unknown) => {
          if (this.closed) throw new ApiError('SERVICE_UNAVAILABLE', 'the server is shutting down: retry (on another instance)');
          this.o.log.error({ date, err: (e as Error).message }, 'building a date context failed');
          throw new ApiError('DATA_UNAVAILABLE', `market data for ${date} could not be read`);
        },
      )
      .finally(() => {
        if (this.inflight.get(key) === p) this.inflight.delete(key);
      });
    this.inflight.set(key, p);
    return p;
  }

  private stopTimer: NodeJS.Timeout | undefined;

  /**
   * Shutting down: builds may still run (and start, for requests already in
   * flight) for `graceMs`; then the worker is stopped and the builds not done
   * are abandoned (their requests answer 503). Returns at once.
   */
  stopAfter(graceMs: number): void {
    if (this.closed || this.stopTimer) return;
    this.stopTimer = setTimeout(() => void this.close(), graceMs);
    this.stopTimer.unref();
  }

  /** Stops the worker at once (builds in flight are abandoned: their requests answer 503). */
  async close(): Promise<void> {
    if (this.stopTimer) clearTimeout(this.stopTimer);
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await pool.destroy();
    this.cache.clear();
  }
}
