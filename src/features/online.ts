/**
 * The online side of the feature store, for one stock at a time (the
 * server): the row the nightly batch stored for that date if there is one,
 * otherwise computed now with the same extraction and imputation as the
 * batch. Computed rows are kept in an LRU of at most 1,000 stocks.
 */
import { LRUCache } from 'lru-cache';
import { marketDataVersion, type Db } from '../market/db.js';
import type { IsoDate } from '../market/dates.js';
import { stockByCode } from '../market/reader.js';
import { bandInForce, refreshExchangeData } from '../market/exchange.js';
import type { Stock } from '../market/types.js';
import { FEATURE_SET_VERSION, N_FEATURES } from './definition.js';
import { extractionContext } from './context.js';
import type { DateContext } from './date-context.js';
import { extractStock, imputeRow } from './extract.js';
import { sectorMedians, type SectorMedians } from './financial.js';
import { InputReader } from './inputs.js';
import type { ExtractionContext, SkipRecord } from './types.js';

export interface FeatureRow {
  bse_code: string;
  date: IsoDate;
  asOf: IsoDate;
  featureSetVersion: string;
  values: Float32Array;
  imputed: number;
  source: 'store' | 'computed';
}

/**
 * Reads the stored feature row of a stock for a prediction date (feature
 * set FEATURE_SET_VERSION), or undefined: the predictions store's
 * `storedFeatures`, which owns feature_values.
 */
export type StoredFeatureReader = (code: string, date: IsoDate) => { asOf: IsoDate; imputed: number; values: Float32Array } | undefined;

export type FeatureLookup = { ok: true; row: FeatureRow; stock: Stock } | { ok: false; skip: SkipRecord; stock?: Stock };

export interface OnlineStats {
  hits: number;
  misses: number;
  storeHits: number;
}

export class OnlineFeatures {
  private reader: InputReader;
  /** market.db's data_version when the reader and the caches were made (an import into the open file changes it). */
  private version: number;
  private readonly rows: LRUCache<string, FeatureRow>;
  private readonly contexts = new LRUCache<IsoDate, ExtractionContext>({ max: 64 });
  private readonly medians = new LRUCache<IsoDate, SectorMedians>({ max: 8 });
  readonly stats: OnlineStats = { hits: 0, misses: 0, storeHits: 0 };

  constructor(
    private readonly market: Db,
    private readonly store?: StoredFeatureReader,
    maxStocks = 1000,
  ) {
    this.reader = new InputReader(market);
    this.version = marketDataVersion(market);
    this.rows = new LRUCache({ max: maxStocks });
  }

  context(date: IsoDate): ExtractionContext {
    let c = this.contexts.get(date);
    if (!c) this.contexts.set(date, (c = extractionContext(this.market, date)));
    return c;
  }

  private mediansFor(date: IsoDate): SectorMedians {
    let m = this.medians.get(date);
    if (!m) this.medians.set(date, (m = sectorMedians(this.market, date)));
    return m;
  }

  private fromStore(code: string, date: IsoDate): FeatureRow | undefined {
    const r = this.store?.(code, date);
    if (!r) return undefined;
    return { bse_code: code, date, asOf: r.asOf, featureSetVersion: FEATURE_SET_VERSION, values: r.values, imputed: r.imputed, source: 'store' };
  }

  /**
   * The feature row of one stock for prediction date D. `prepared` is D's
   * context built elsewhere (the server builds it in a worker thread); without
   * it, the context and medians are built here, on the calling thread.
   */
  get(code: string, date: IsoDate, prepared?: DateContext): FeatureLookup {
    // Another connection committed to market.db (an import into the open file, e.g. a corporate action
    // imported late): look at the exchange tables again and drop what was computed from the old rows.
    const v = marketDataVersion(this.market);
    if (v !== this.version) {
      this.version = v;
      refreshExchangeData(this.market);
      this.reader = new InputReader(this.market);
      this.clear();
    }
    const stock = stockByCode(this.market, code);
    if (!stock) return { ok: false, skip: { bse_code: code, reason: 'UNKNOWN_STOCK', detail: 'not in the master list' } };
    const ctx = prepared?.ctx ?? this.context(date);
    const key = `${code}|${date}|${ctx.asOf}|${FEATURE_SET_VERSION}`;
    const cached = this.rows.get(key);
    if (cached) {
      this.stats.hits++;
      return { ok: true, row: cached, stock };
    }
    this.stats.misses++;
    const stored = this.fromStore(code, date);
    if (stored) {
      this.stats.storeHits++;
      this.rows.set(key, stored);
      return { ok: true, row: stored, stock };
    }
    const values = new Float32Array(N_FEATURES);
    const inputs = this.reader.read(code, date);
    // The band in force at the as-of session, as the batch's refsInForce (null = No Band: NO_PRICE_BAND).
    const band = bandInForce(this.market, code, date);
    const ref = { bse_code: code, circuit_band_pct: band === undefined ? stock.circuit_band_pct : band, market_cap_cr: stock.market_cap_cr };
    const r = extractStock(inputs, ref, ctx, values, 0);
    if (r.skip) return { ok: false, skip: r.skip, stock };
    imputeRow(values, 0, stock.sector, prepared?.medians ?? this.mediansFor(date));
    const row: FeatureRow = { bse_code: code, date, asOf: ctx.asOf, featureSetVersion: FEATURE_SET_VERSION, values, imputed: r.missing, source: 'computed' };
    this.rows.set(key, row);
    return { ok: true, row, stock };
  }

  clear(): void {
    this.rows.clear();
    this.contexts.clear();
    this.medians.clear();
  }
}
