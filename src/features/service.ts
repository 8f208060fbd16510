/**
 * Features for many stocks on one date, ready to score: extraction (on the
 * pool or on this thread), then imputation with the point-in-time sector
 * medians. The batch, `stockflow features` and training all call this.
 */
import type { Db } from '../market/db.js';
import type { Stock } from '../market/types.js';
import type { IsoDate } from '../market/dates.js';
import { bandsInForce } from '../market/exchange.js';
import { extractionContext } from './context.js';
import { imputeBlock } from './extract.js';
import { prepareSectorMedians, sectorMedians, type SectorMedians } from './financial.js';
import { extractSingleThread, extractWithPool, type ExtractOptions } from './pool.js';
import type { ExtractionContext, FeatureBlock, StockRef } from './types.js';

/**
 * The extraction refs for prediction date `date`: each stock's band is the one in
 * force at the as-of session (price_bands' latest row before D, else the master
 * list's band; null = No Band, skipped as NO_PRICE_BAND). One query per date.
 */
export function refsInForce(db: Db, stocks: readonly Stock[], date: IsoDate): StockRef[] {
  const bands = bandsInForce(db, date);
  return stocks.map((s) => {
    const b = bands.get(s.bse_code);
    return { bse_code: s.bse_code, circuit_band_pct: b === undefined ? s.circuit_band_pct : b, market_cap_cr: s.market_cap_cr };
  });
}

export interface FeatureSet {
  ctx: ExtractionContext;
  /** Imputed values, row-major [codes.length, N_FEATURES]. */
  block: FeatureBlock;
  /** Values imputed per row. */
  imputed: Uint8Array;
}

export interface ComputeOptions {
  /** Worker threads; 0 runs on the calling thread. */
  threads: number;
  /** The calling thread takes tasks too (pool runs only). */
  mainThread?: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  ctx?: ExtractionContext;
  /** Pool runs: a pool the caller owns (batchPool in ./pool.ts), left running for its next stage. */
  pool?: ExtractOptions['pool'];
  /**
   * Pool runs over every ACTIVE stock (the batch's full runs): the sector medians from the
   * results the workers read for extraction (sectorMediansFrom), instead of this thread reading
   * every ACTIVE stock's results again. The same medians in every case; with fewer stocks, more
   * of them are read again.
   */
  workerMedians?: boolean;
}

export async function computeFeatures(db: Db, marketFile: string, stocks: readonly Stock[], date: IsoDate, o: ComputeOptions): Promise<FeatureSet> {
  const ctx = o.ctx ?? extractionContext(db, date);
  const refs = refsInForce(db, stocks, date);
  let block: FeatureBlock;
  let medians: SectorMedians;
  if (o.threads > 0 && o.workerMedians) {
    // The tasks are handed out first; this thread reads the master list while the workers extract.
    const pooled = extractWithPool(marketFile, refs, ctx, { ...o, medianInputs: true });
    let finish: ReturnType<typeof prepareSectorMedians>;
    try {
      finish = prepareSectorMedians(db, date, refs);
    } catch (e) {
      await pooled.catch(() => undefined);
      throw e;
    }
    block = await pooled;
    medians = finish(block.medians as NonNullable<FeatureBlock['medians']>).medians;
    delete block.medians;
  } else if (o.threads > 0) {
    // The pool's first tasks are handed out before extractWithPool first waits: this thread reads
    // the sector medians while the workers extract, instead of after them.
    const pooled = extractWithPool(marketFile, refs, ctx, o);
    try {
      medians = sectorMedians(db, date);
    } catch (e) {
      await pooled.catch(() => undefined);
      throw e;
    }
    block = await pooled;
  } else {
    o.onProgress?.(0, refs.length);
    block = extractSingleThread(db, refs, ctx);
    o.onProgress?.(refs.length, refs.length);
    medians = sectorMedians(db, date);
  }
  const sectors = new Map(stocks.map((s) => [s.bse_code, s.sector]));
  const imputed = imputeBlock(block, (c) => sectors.get(c) ?? '', medians);
  return { ctx, block, imputed };
}
