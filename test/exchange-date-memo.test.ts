/**
 * exchangeDate (src/ingest/exchange/values.ts) remembers the last spelling it read (every row of a bhavcopy
 * has the same date): a remembered answer is only ever given for the same text, and a bad date still throws
 * every time, also right after a good one and when read twice.
 */
import { describe, expect, it } from 'vitest';
import { BadValue, exchangeDate } from '../src/ingest/exchange/values.js';

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
