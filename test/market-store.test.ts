/**
 * The market store's one rule for the next prediction date, worked by hand on
 * a calendar: 2025-11-14 is a Friday, 2025-11-17 the Monday after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MarketStore } from '../src/market/store.js';
import { MarketFixture, flatBars } from './helpers/market-fixture.js';

let dir: string;

function market(name: string, dates: string[], holidays: string[] = []): MarketStore {
  const file = path.join(dir, `${name}.db`);
  const fx = new MarketFixture(file).stock({ code: '500001' }).stock({ code: '500002', status: 'SUSPENDED' });
  fx.bars('500001', flatBars(dates));
  for (const h of holidays) fx.holiday(h);
  fx.close();
  return MarketStore.open(file);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sf-market-store-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('MarketStore', () => {
  it("after a Friday's last session the next prediction date is the Monday, not the Saturday", () => {
    const m = market('friday', ['2025-11-12', '2025-11-13', '2025-11-14']);
    expect(m.lastSession()).toBe('2025-11-14');
    expect(m.nextPredictionDate()).toBe('2025-11-17');
    m.close();
  });

  it('skips an exchange holiday on the Monday (and a weekday after a weekday session is the next day)', () => {
    const m = market('holiday', ['2025-11-13', '2025-11-14'], ['2025-11-17']);
    expect(m.nextPredictionDate()).toBe('2025-11-18');
    expect(m.nextPredictionDate('2025-11-13')).toBe('2025-11-14');
    expect(m.calendar().isHoliday('2025-11-17')).toBe(true);
    m.close();
  });

  it('the as-of session of a date is the last session strictly before it; an empty market has none', () => {
    const m = market('asof', ['2025-11-13', '2025-11-14']);
    expect(m.sessionBefore('2025-11-17')).toBe('2025-11-14');
    expect(m.sessionBefore('2025-11-14')).toBe('2025-11-13');
    expect(m.sessionBefore('2025-11-13')).toBeUndefined();
    expect(m.activeStocks().map((s) => s.bse_code)).toEqual(['500001']);
    expect(m.stock('500002')?.status).toBe('SUSPENDED');
    m.close();
    const empty = market('empty', []);
    expect(empty.lastSession()).toBeUndefined();
    expect(empty.nextPredictionDate()).toBeUndefined();
    empty.close();
  });
});
