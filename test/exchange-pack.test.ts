/**
 * The reader threads post their events packed (src/ingest/exchange/pack.ts): price bars, market caps, band hits
 * and price bands as flat arrays of values, every other event as it is. Through a structured clone (what
 * postMessage does), unpacking must give back exactly the events read, in order, for every kind of file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packBatch, unpackBatch } from '../src/ingest/exchange/pack.js';
import { readExchangeBatches, type ExchangeEvent } from '../src/ingest/exchange/read.js';
import { barAt, nseUdiff } from './helpers/exchange-files.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sf-expack-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('packed reader events', () => {
  it('unpack(structuredClone(pack(batch))) is the batch, for every fixture file (all nine formats, PR members, rejects)', async () => {
    // A UDiFF file with a bad row (a reject) and a left-out series, besides the byte-faithful fixtures.
    const bad = path.join(tmp, 'BhavCopy_NSE_CM_0_0_0_20251217_F_0000.csv');
    writeFileSync(
      bad,
      nseUdiff('2025-12-17', [
        { symbol: 'AAA', token: '11', isin: 'INE100A01011', ...barAt(100) },
        { symbol: 'GSEC', token: '44', isin: 'IN0020230011', series: 'GS', ...barAt(99) },
      ]) + '2025-12-17,2025-12-17,CM,NSE,STK,12,INE200B01012,BBB,EQ,,,,,BBB LTD,oops,1,1,1,1,1,,1,,,1,1,1,F1,1,,,,,\n',
    );
    const seen = new Set<string>();
    let batches = 0;
    for await (const b of readExchangeBatches([path.join(import.meta.dirname, 'fixtures', 'exchange'), bad])) {
      batches++;
      for (const ev of b) seen.add(ev.type === 'record' ? `record:${ev.record.type}` : ev.type);
      const packed = structuredClone(packBatch(b));
      const back: ExchangeEvent[] = unpackBatch(packed);
      expect(back).toStrictEqual(b);
    }
    expect(batches).toBeGreaterThan(10);
    // The test covers what it claims: every packed record type and the events sent as they are.
    for (const t of ['record:price', 'record:market-cap', 'record:circuit-hit', 'record:price-band', 'record:corporate-action', 'record:nse-listing', 'record:bse-scrip', 'source', 'end', 'reject', 'left-out', 'skipped']) {
      expect(seen, t).toContain(t);
    }
  });

  it('packs the bulk records as values only: no property names travel with each row', () => {
    const source = { file: 'f.csv', member: null, label: 'f.csv' };
    const rec = { type: 'record' as const, source, kind: 'nse-pr-bh' as const, line: 2, record: { type: 'circuit-hit' as const, exchange: 'NSE' as const, tradeDate: '2025-12-16', symbol: 'AAA', series: 'EQ', name: 'AAA LTD', side: 'upper' as const } };
    const p = packBatch([rec, { ...rec, line: 3 }]);
    expect(p.other).toEqual([]);
    expect(p.sources).toEqual([source]);
    expect(p.flat).toEqual([3, 0, 'nse-pr-bh', 2, 'NSE', '2025-12-16', 'AAA', 'EQ', 'AAA LTD', 'upper', 3, 0, 'nse-pr-bh', 3, 'NSE', '2025-12-16', 'AAA', 'EQ', 'AAA LTD', 'upper']);
  });
});
