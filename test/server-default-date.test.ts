/**
 * The server's default date with no batch run yet: the market store's one
 * rule (the next trading session after market.db's last session). The market
 * here ends on Friday 2025-11-14, so the default is Monday 2025-11-17 (not
 * Saturday 2025-11-15), or Tuesday 2025-11-18 when the Monday is an exchange
 * holiday. Dates worked by hand from a calendar.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { buildApp, type App } from '../src/server/app.js';
import { MarketFixture, plusDays, wavyBars, weekdaysEnding } from './helpers/market-fixture.js';
import { treeModel, writeAliasesFile, writeModel } from './helpers/onnx-fixture.js';

const FRIDAY = '2025-11-14';
const CODE = '500001';
let root: string;
const apps: App[] = [];

function market(dataDir: string, holidays: string[]): void {
  mkdirSync(dataDir, { recursive: true });
  const fx = new MarketFixture(path.join(dataDir, 'market.db'));
  fx.stock({ code: CODE }).stock({ code: '500002', sector: 'Alpha' });
  const dates = weekdaysEnding(FRIDAY, 300);
  fx.bars(CODE, wavyBars(dates)).bars('500002', wavyBars(dates, { phase: 3 }));
  for (const code of [CODE, '500002'])
    for (let q = 0; q < 8; q++) {
      const end = plusDays('2025-09-30', -91 * q);
      fx.result(code, end, plusDays(end, 40), 100 + q, 10 + q, 1 + q / 10);
    }
  for (const h of holidays) fx.holiday(h);
  fx.close();
}

async function defaultDate(name: string, holidays: string[]): Promise<{ status: number; date?: string }> {
  const dataDir = path.join(root, name);
  market(dataDir, holidays);
  const app = await buildApp({
    dataDir,
    modelsDir: path.join(root, 'models'),
    server: { rateLimitRps: 0 },
    logger: pino({ level: 'silent' }),
    defaultMetrics: false,
    fileCheckMs: 0,
  });
  apps.push(app);
  const r = await app.inject({ method: 'GET', url: `/api/v1/features/${CODE}` });
  return { status: r.statusCode, date: (r.json() as { prediction_date?: string }).prediction_date };
}

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'sf-default-date-'));
  const modelsDir = path.join(root, 'models');
  writeModel(modelsDir, 'upper-circuit', '1.0.0', treeModel());
  writeAliasesFile(modelsDir, { champion: 'upper-circuit/1.0.0' });
});
afterAll(async () => {
  for (const a of apps) await a.close();
  rmSync(root, { recursive: true, force: true });
});

describe("the server's default date without a batch run", () => {
  it("after a Friday's last session is the next Monday", async () => {
    expect(await defaultDate('plain', [])).toEqual({ status: 200, date: '2025-11-17' });
  });

  it('skips a Monday exchange holiday', async () => {
    expect(await defaultDate('holiday', ['2025-11-17'])).toEqual({ status: 200, date: '2025-11-18' });
  });
});
