/**
 * Shortcuts of the exchange read path keep its answers:
 * - exchangeDate (src/ingest/exchange/values.ts) remembers the last spelling it read (every row of a bhavcopy
 *   has the same date): a remembered answer is only ever given for the same text, and a bad date still throws
 *   every time, also right after a good one and when read twice;
 * - rows are searched for INVALID_BYTE only once one has reached the parser (src/ingest/csv.ts, CsvMarks): a
 *   byte that is not UTF-8 deep in a file (past the first batches), or a U+FDD0 spelled in valid UTF-8, still
 *   makes its row a reject, and only that row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readExchange } from '../src/ingest/exchange/read.js';
import { BadValue, exchangeDate } from '../src/ingest/exchange/values.js';
import { barAt, nseUdiff } from './helpers/exchange-files.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sf-exshort-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('exchangeDate, remembered', () => {
  it('gives each spelling its own date, in any order, and never remembers a failure', () => {
    expect(exchangeDate('2025-12-16')).toBe('2025-12-16');
    expect(exchangeDate('2025-12-16')).toBe('2025-12-16');
    expect(exchangeDate('16-Dec-2025')).toBe('2025-12-16');
    expect(exchangeDate('03-Jan-23')).toBe('2023-01-03');
    expect(() => exchangeDate('2025-02-30')).toThrow(BadValue);
    expect(() => exchangeDate('2025-02-30')).toThrow("not a real date: '2025-02-30'");
    expect(exchangeDate('03-Jan-23')).toBe('2023-01-03');
    expect(() => exchangeDate('')).toThrow('date is empty');
    expect(() => exchangeDate('')).toThrow('date is empty');
    expect(exchangeDate('2024-07-08')).toBe('2024-07-08');
    expect(exchangeDate(' 2024-07-08 ')).toBe('2024-07-08');
  });
});

describe('INVALID_BYTE, searched for once one has arrived', () => {
  it('a Latin-1 byte on line 2001 and a U+FDD0 on line 3001 are rejects; the other 2,998 rows are kept', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({ symbol: `S${i}`, token: String(1000 + i), isin: `INE${String(100000 + i)}A01010`.slice(0, 11) + '0', ...barAt(100) }));
    const lines = nseUdiff('2025-12-16', rows).split('\n');
    const bad = (s: string): string => s.replace(/,S(\d+) LTD,/, ',S$1 Caf\u00e9 LTD,');
    const latin1 = Buffer.from(`${bad(lines[2000])}\n`, 'latin1');
    const fdd0 = Buffer.from(`${lines[3000].replace(/,S(\d+) LTD,/, ',S$1 \uFDD0 LTD,')}\n`, 'utf8');
    const file = path.join(tmp, 'BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv');
    writeFileSync(file, Buffer.concat([Buffer.from(`${lines.slice(0, 2000).join('\n')}\n`), latin1, Buffer.from(`${lines.slice(2001, 3000).join('\n')}\n`), fdd0]));
    const rejects: [number, string][] = [];
    let kept = 0;
    for await (const ev of readExchange([file])) {
      if (ev.type === 'reject') rejects.push([ev.reject.line, ev.reject.reason]);
      if (ev.type === 'record') kept++;
    }
    expect(rejects).toEqual([
      [2001, 'not valid UTF-8'],
      [3001, 'not valid UTF-8'],
    ]);
    expect(kept).toBe(2998);
  });
});
