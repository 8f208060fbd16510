/**
 * The events a reader thread posts to the importer, packed (workers/exchange-read.ts → read-parallel.ts). A
 * structured clone of a record object writes every property name with every row and rebuilds each object key
 * by key on the other side: for a year of files (≈ 4 M records) that cost more of the importer's thread than
 * staging the rows. The four record types that come by the million (price bars, market caps, band hits, price
 * bands) travel as flat arrays of their values in a fixed key order; every other event travels as it is.
 * `unpackBatch(packBatch(b))` equals `b`, in order.
 */
import type { ExchangeEvent } from './read.js';
import type { CircuitHit, ExchangeKind, ExchangeRecord, MarketCap, PriceBand, PriceBar, SourceRef } from './types.js';

type Row = unknown[];
/** Per packed type: its values in a fixed order, and the record again from them (object literals: one shape each). */
interface Codec<R extends ExchangeRecord> {
  width: number;
  put(r: R, f: Row): void;
  get(f: Row, i: number): R;
}
const price: Codec<PriceBar> = {
  width: 22,
  put: (r, f) => {
    f.push(r.exchange, r.kind, r.tradeDate, r.symbol, r.code, r.isin, r.series, r.name, r.open, r.high, r.low, r.close, r.last, r.prevClose);
    f.push(r.volume, r.turnoverRs, r.trades, r.deliveryQty, r.deliveryPct, r.instrumentType, r.high52, r.low52);
  },
  get: (f, i) => ({
    type: 'price',
    exchange: f[i] as PriceBar['exchange'],
    kind: f[i + 1] as ExchangeKind,
    tradeDate: f[i + 2] as string,
    symbol: f[i + 3] as string | null,
    code: f[i + 4] as string | null,
    isin: f[i + 5] as string | null,
    series: f[i + 6] as string,
    name: f[i + 7] as string | null,
    open: f[i + 8] as number,
    high: f[i + 9] as number,
    low: f[i + 10] as number,
    close: f[i + 11] as number,
    last: f[i + 12] as number | null,
    prevClose: f[i + 13] as number | null,
    volume: f[i + 14] as number,
    turnoverRs: f[i + 15] as number | null,
    trades: f[i + 16] as number | null,
    deliveryQty: f[i + 17] as number | null,
    deliveryPct: f[i + 18] as number | null,
    instrumentType: f[i + 19] as string | null,
    high52: f[i + 20] as number | null,
    low52: f[i + 21] as number | null,
  }),
};
const marketCap: Codec<MarketCap> = {
  width: 12,
  put: (r, f) => {
    f.push(r.exchange, r.tradeDate, r.symbol, r.series, r.name, r.category, r.lastTradeDate, r.faceValue, r.issueSize, r.closePrice, r.marketCapRs, r.marketCapCr);
  },
  get: (f, i) => ({
    type: 'market-cap',
    exchange: f[i] as 'NSE',
    tradeDate: f[i + 1] as string,
    symbol: f[i + 2] as string,
    series: f[i + 3] as string,
    name: f[i + 4] as string,
    category: f[i + 5] as string | null,
    lastTradeDate: f[i + 6] as string | null,
    faceValue: f[i + 7] as number | null,
    issueSize: f[i + 8] as number | null,
    closePrice: f[i + 9] as number | null,
    marketCapRs: f[i + 10] as number,
    marketCapCr: f[i + 11] as number,
  }),
};
const circuitHit: Codec<CircuitHit> = {
  width: 6,
  put: (r, f) => {
    f.push(r.exchange, r.tradeDate, r.symbol, r.series, r.name, r.side);
  },
  get: (f, i) => ({
    type: 'circuit-hit',
    exchange: f[i] as 'NSE',
    tradeDate: f[i + 1] as string,
    symbol: f[i + 2] as string,
    series: f[i + 3] as string,
    name: f[i + 4] as string,
    side: f[i + 5] as CircuitHit['side'],
  }),
};
const priceBand: Codec<PriceBand> = {
  width: 7,
  put: (r, f) => {
    f.push(r.exchange, r.listDate, r.symbol, r.series, r.name, r.bandPct, r.remarks);
  },
  get: (f, i) => ({
    type: 'price-band',
    exchange: f[i] as 'NSE',
    listDate: f[i + 1] as string | null,
    symbol: f[i + 2] as string,
    series: f[i + 3] as string,
    name: f[i + 4] as string,
    bandPct: f[i + 5] as number | null,
    remarks: f[i + 6] as string | null,
  }),
};

/** By tag (1…4; 0: an event sent as it is). */
const CODECS = [null, price, marketCap, circuitHit, priceBand] as const;
const tagOf = (r: ExchangeRecord): number => (r.type === 'price' ? 1 : r.type === 'market-cap' ? 2 : r.type === 'circuit-hit' ? 3 : r.type === 'price-band' ? 4 : 0);

export interface PackedBatch {
  /** The sources the packed records came from (one, as a rule). */
  sources: SourceRef[];
  /** Events sent as they are, in order. */
  other: ExchangeEvent[];
  /** Per event: 0 (take the next of `other`), or a type's tag, its source's index, the event's kind and line, then the record's values. */
  flat: unknown[];
}

export function packBatch(batch: readonly ExchangeEvent[]): PackedBatch {
  const sources: SourceRef[] = [];
  const other: ExchangeEvent[] = [];
  const flat: unknown[] = [];
  let last: SourceRef | null = null;
  let at = -1;
  for (const ev of batch) {
    const tag = ev.type === 'record' ? tagOf(ev.record) : 0;
    if (ev.type !== 'record' || tag === 0) {
      flat.push(0);
      other.push(ev);
      continue;
    }
    if (ev.source !== last) {
      last = ev.source;
      at = sources.indexOf(ev.source);
      if (at === -1) at = sources.push(ev.source) - 1;
    }
    flat.push(tag, at, ev.kind, ev.line);
    (CODECS[tag] as Codec<ExchangeRecord>).put(ev.record, flat);
  }
  return { sources, other, flat };
}

export function unpackBatch(p: PackedBatch): ExchangeEvent[] {
  const out: ExchangeEvent[] = [];
  const f = p.flat;
  let o = 0;
  let i = 0;
  while (i < f.length) {
    const tag = f[i++] as number;
    if (tag === 0) {
      out.push(p.other[o++]);
      continue;
    }
    const codec = CODECS[tag] as Codec<ExchangeRecord>;
    const source = p.sources[f[i++] as number];
    const kind = f[i++] as ExchangeKind;
    const line = f[i++] as number;
    out.push({ type: 'record', source, kind, line, record: codec.get(f, i) });
    i += codec.width;
  }
  return out;
}
