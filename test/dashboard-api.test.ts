/**
 * The dashboard's read-only JSON routes (issue 17; docs/api.md "Dashboard
 * routes") against a generated market after a fortnight of batch runs: each
 * answer compared with what the test reads itself from market.db,
 * predictions.db and the CSV, with the rules (moving averages, the upper
 * circuit, medians, top-20 hit rates, calibration bins) written out here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import pino from 'pino';
import { parse } from 'csv-parse/sync';
import { assertCliBuilt, buildMarketFixture, MODEL_VERSION, MORNING, openPredictions, outputFile, runCli, type MarketFixture } from './helpers/batch-fixture.js';
import { buildApp, type App } from '../src/server/app.js';

let fx: MarketFixture;
let data: string;
let app: App;
let noWeb: App;
let market: Database.Database;
let preds: Database.Database;

beforeAll(async () => {
  assertCliBuilt();
  fx = await buildMarketFixture({ stocks: 60 });
  data = fx.freshDataDir();
  const r = runCli(['batch', '--from', '2025-11-03', '--to', MORNING, '--data-dir', data, '--models-dir', fx.modelsDir]);
  expect(r.code, r.stderr).toBe(0);
  const web = mkdtempSync(path.join(tmpdir(), 'sf-web-'));
  writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>dash</title>');
  writeFileSync(path.join(web, 'app.js'), 'export {};');
  const opts = { dataDir: data, modelsDir: fx.modelsDir, server: { rateLimitRps: 0 }, logger: pino({ level: 'silent' }), defaultMetrics: false, fileCheckMs: 0 };
  app = await buildApp({ ...opts, webDir: web });
  const missing = path.join(web, 'absent');
  mkdirSync(missing);
  noWeb = await buildApp({ ...opts, webDir: missing });
  market = new Database(path.join(data, 'market.db'), { readonly: true });
  preds = openPredictions(data);
}, 180_000);
afterAll(async () => {
  market?.close();
  preds?.close();
  await app?.close();
  await noWeb?.close();
  fx?.cleanup();
});

// A JSON answer read loosely: each test states the fields it checks.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = any;
const get = async (url: string): Promise<{ status: number; body: Body; raw: string; headers: Record<string, unknown> }> => {
  const r = await app.inject({ method: 'GET', url });
  let body: unknown;
  try {
    body = JSON.parse(r.body);
  } catch {
    body = undefined;
  }
  return { status: r.statusCode, body, raw: r.body, headers: r.headers };
};

const completedDates = (): string[] =>
  (preds.prepare("SELECT DISTINCT prediction_date FROM batch_runs WHERE published = 1 AND status IN ('succeeded','budget_exceeded') ORDER BY prediction_date DESC").pluck().all() as string[]);

describe('GET /api/v1/runs and /ranking', () => {
  it('lists each date with a completed run, newest first', async () => {
    const r = await get('/api/v1/runs');
    expect(r.status).toBe(200);
    expect(r.body.items.map((i: { prediction_date: string }) => i.prediction_date)).toEqual(completedDates());
    expect(r.body.items[0]).toMatchObject({ prediction_date: MORNING, status: 'succeeded', model_version: MODEL_VERSION });
    expect((await get('/api/v1/runs?limit=2')).body.items).toHaveLength(2);
    expect((await get('/api/v1/runs?limit=0')).status).toBe(400);
  });

  it("answers a date's whole ranking with the CSV's columns, in its order, and each stock's sector", async () => {
    const csv = parse(readFileSync(outputFile(data, 'predictions', '2025-11-12'), 'utf8'), { columns: true }) as Record<string, string>[];
    const r = await get('/api/v1/ranking?date=2025-11-12');
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(csv.length);
    const sector = market.prepare('SELECT sector FROM master_stock_list WHERE bse_code = ?').pluck();
    expect(
      r.body.items.map((i: Record<string, unknown>) => ({
        ...i,
        probability: (i.probability as number).toFixed(6),
        label: String(i.label),
        nse_symbol: i.nse_symbol ?? '',
        market_cap_cr: i.market_cap_cr === null ? '' : String(i.market_cap_cr),
      })),
    ).toEqual(csv.map((c, k) => ({ rank: k + 1, ...c, sector: sector.get(c.bse_code) })));
    const latest = await get('/api/v1/ranking');
    expect(latest.body.prediction_date).toBe(MORNING);
  });

  it('refuses an impossible date (400) and a date without predictions (404)', async () => {
    expect((await get('/api/v1/ranking?date=2025-02-30')).status).toBe(400);
    const none = await get('/api/v1/ranking?date=2024-01-01');
    expect(none.status).toBe(404);
    expect(none.body.message).toBe('no predictions for 2024-01-01');
  });

  it("downloads the date's CSV exactly as the batch wrote it", async () => {
    const r = await app.inject({ method: 'GET', url: '/api/v1/predictions.csv?date=2025-11-13' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/csv/);
    expect(r.headers['content-disposition']).toBe('attachment; filename="predictions_2025-11-13.csv"');
    expect(r.body).toBe(readFileSync(outputFile(data, 'predictions', '2025-11-13'), 'utf8'));
    expect((await get('/api/v1/predictions.csv?date=2024-01-01')).status).toBe(404);
  });
});

describe('GET /api/v1/stocks/{code}/…', () => {
  const code = (): string => (preds.prepare("SELECT bse_code FROM daily_predictions WHERE prediction_date = ? ORDER BY bse_code LIMIT 1 OFFSET 7").pluck().get(MORNING) as string);

  it('prices: the last N closes with 50/200-session averages and upper-circuit days, by the rule written out here', async () => {
    const c = code();
    const r = await get(`/api/v1/stocks/${c}/prices?sessions=120`);
    expect(r.status).toBe(200);
    const all = market.prepare('SELECT trade_date, close FROM daily_prices WHERE bse_code = ? ORDER BY trade_date').raw(true).all(c) as [string, number][];
    const band = market.prepare('SELECT circuit_band_pct FROM master_stock_list WHERE bse_code = ?').pluck().get(c) as number;
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const expected = all.slice(-120).map(([date, close], k) => {
      const i = all.length - 120 + k;
      const prev = Math.round(all[i - 1][1] * 100);
      const uc = Math.floor((prev * (100 + band)) / 100 / 5) * 5; // paise, down to the 5-paise tick
      return {
        date,
        close,
        sma50: i >= 49 ? mean(all.slice(i - 49, i + 1).map((x) => x[1])) : null,
        sma200: i >= 199 ? mean(all.slice(i - 199, i + 1).map((x) => x[1])) : null,
        upper_circuit: uc > prev && Math.round(close * 100) >= uc,
      };
    });
    expect(r.body.items).toHaveLength(120);
    r.body.items.forEach((x: (typeof expected)[number], k: number) => {
      const e = expected[k];
      expect(x.date).toBe(e.date);
      expect(x.close).toBe(e.close);
      expect(x.upper_circuit, x.date).toBe(e.upper_circuit);
      for (const f of ['sma50', 'sma200'] as const) {
        if (e[f] === null) expect(x[f]).toBeNull();
        else expect(x[f]).toBeCloseTo(e[f]!, 9);
      }
    });
    expect(r.body.upper_circuit_days).toBe(expected.filter((e) => e.upper_circuit).length);
    expect(r.body).toMatchObject({ bse_code: c, circuit_band_pct: band });
  });

  it('prices: marks a day the test made an upper-circuit close', async () => {
    const c = code();
    const dir = fx.freshDataDir('uc');
    const db = new Database(path.join(dir, 'market.db'));
    const [d0, d1] = db.prepare('SELECT trade_date FROM daily_prices WHERE bse_code = ? ORDER BY trade_date DESC LIMIT 2').pluck().all(c) as string[];
    db.prepare("UPDATE master_stock_list SET circuit_band_pct = 20 WHERE bse_code = ?").run(c);
    db.prepare('UPDATE daily_prices SET close = 100 WHERE bse_code = ? AND trade_date = ?').run(c, d1);
    db.prepare('UPDATE daily_prices SET close = 120, high = 120 WHERE bse_code = ? AND trade_date = ?').run(c, d0);
    db.close();
    const other = await buildApp({ dataDir: dir, modelsDir: fx.modelsDir, server: { rateLimitRps: 0 }, logger: pino({ level: 'silent' }), defaultMetrics: false, fileCheckMs: 0 });
    try {
      const r = JSON.parse((await other.inject({ method: 'GET', url: `/api/v1/stocks/${c}/prices?sessions=2` })).body);
      expect(r.items.map((x: { date: string; upper_circuit: boolean }) => [x.date, x.upper_circuit])).toEqual([
        [d1, false],
        [d0, true],
      ]);
    } finally {
      await other.close();
    }
  });

  it("features: the stored row beside the median of its sector's stored rows", async () => {
    const c = code();
    const r = await get(`/api/v1/stocks/${c}/features?date=2025-11-13`);
    expect(r.status).toBe(200);
    const sector = market.prepare('SELECT sector FROM master_stock_list WHERE bse_code = ?').pluck().get(c) as string;
    const peers = new Set(market.prepare("SELECT bse_code FROM master_stock_list WHERE sector = ? AND status = 'ACTIVE'").pluck().all(sector) as string[]);
    const rows = (preds.prepare('SELECT * FROM feature_values WHERE prediction_date = ?').all('2025-11-13') as Record<string, number | string>[]).filter((x) => peers.has(x.bse_code as string));
    const mine = rows.find((x) => x.bse_code === c)!;
    const median = (xs: number[]): number | null => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    expect(r.body.sector).toBe(sector);
    expect(r.body.sector_stocks).toBe(rows.length);
    expect(r.body.items).toHaveLength(25);
    for (const f of r.body.items as { feature: string; value: number | null; sector_median: number | null }[]) {
      const v = mine[f.feature] as number | null;
      if (v === null) expect(f.value).toBeNull();
      else expect(f.value).toBeCloseTo(v, 5);
      const m = median(rows.map((x) => x[f.feature] as number | null).filter((x): x is number => x !== null));
      if (m === null) expect(f.sector_median).toBeNull();
      else expect(f.sector_median).toBeCloseTo(m, 5);
    }
  });

  it('history: every stored prediction of the stock, newest first, with the outcome where known', async () => {
    const c = code();
    const r = await get(`/api/v1/stocks/${c}/history`);
    expect(r.status).toBe(200);
    const expected = preds
      .prepare(
        `SELECT p.prediction_date, p.probability, o.hit FROM daily_predictions p LEFT JOIN prediction_outcomes o
          ON o.bse_code = p.bse_code AND o.prediction_date = p.prediction_date AND o.model_version = p.model_version
          WHERE p.bse_code = ? ORDER BY p.prediction_date DESC`,
      )
      .all(c) as { prediction_date: string; probability: number; hit: number | null }[];
    expect(r.body.items.map((x: { prediction_date: string; probability: number; hit: number | null }) => ({ prediction_date: x.prediction_date, probability: x.probability, hit: x.hit }))).toEqual(expected);
    expect(expected.some((e) => e.hit !== null)).toBe(true);
    expect(expected.some((e) => e.hit === null)).toBe(true);
    expect(r.body.items.every((x: { completed_run: boolean }) => x.completed_run)).toBe(true);
  });

  it('404 for a stock not in the master list, 400 for a malformed code or range', async () => {
    const r = await get('/api/v1/stocks/999999/prices');
    expect(r.status).toBe(404);
    expect(r.body.error).toBe('STOCK_NOT_FOUND');
    expect((await get('/api/v1/stocks/12345/history')).status).toBe(400);
    expect((await get(`/api/v1/stocks/${code()}/prices?sessions=0`)).status).toBe(400);
    expect((await get(`/api/v1/stocks/${code()}/prices?sessions=1001`)).status).toBe(400);
  });
});

describe('GET /api/v1/performance/history', () => {
  it("gives each judged date's top-20 hit rate and base rate, and calibration bins, computed here from the outcomes", async () => {
    const r = await get('/api/v1/performance/history');
    expect(r.status).toBe(200);
    const dates = preds.prepare('SELECT DISTINCT prediction_date FROM prediction_outcomes WHERE model_version = ? ORDER BY prediction_date').pluck().all(MODEL_VERSION) as string[];
    expect(dates.length).toBeGreaterThan(1);
    const rowsOf = (d: string) =>
      preds.prepare('SELECT bse_code, probability, hit FROM prediction_outcomes WHERE model_version = ? AND prediction_date = ? ORDER BY probability DESC, bse_code').all(MODEL_VERSION, d) as {
        probability: number;
        hit: number;
      }[];
    const points = dates.map((d) => {
      const rows = rowsOf(d);
      const top = rows.slice(0, 20);
      const hits = top.reduce((a, x) => a + x.hit, 0);
      return { date: d, precision: hits / top.length, hits, top: top.length, base_rate: rows.reduce((a, x) => a + x.hit, 0) / rows.length, rows: rows.length };
    });
    expect(r.body.history.model_version).toBe(MODEL_VERSION);
    expect(r.body.history.points).toHaveLength(points.length);
    r.body.history.points.forEach((p: (typeof points)[number], k: number) => {
      expect(p).toMatchObject({ date: points[k].date, hits: points[k].hits, top: points[k].top, rows: points[k].rows });
      expect(p.precision).toBeCloseTo(points[k].precision, 12);
      expect(p.base_rate).toBeCloseTo(points[k].base_rate, 12);
    });
    // Bins of width 0.1, (lower, upper] (the first includes 0): the fixture's two probabilities fall in (0.3, 0.4] and (0.8, 0.9].
    const all = dates.flatMap(rowsOf);
    const bins = new Map<number, { n: number; p: number; y: number }>();
    for (const x of all) {
      const b = Math.max(0, Math.ceil(x.probability * 10) - 1);
      const g = bins.get(b) ?? { n: 0, p: 0, y: 0 };
      bins.set(b, { n: g.n + 1, p: g.p + x.probability, y: g.y + x.hit });
    }
    const cal = [...bins.entries()].sort((a, b) => a[0] - b[0]);
    expect(r.body.history.calibration).toHaveLength(cal.length);
    r.body.history.calibration.forEach((c: { lower: number; rows: number; mean_predicted: number; observed: number }, k: number) => {
      const [b, g] = cal[k];
      expect(c.lower).toBeCloseTo(b / 10, 9);
      expect(c.rows).toBe(g.n);
      expect(c.mean_predicted).toBeCloseTo(g.p / g.n, 9);
      expect(c.observed).toBeCloseTo(g.y / g.n, 9);
    });
    expect(r.body.history.rows).toBe(all.length);
  });
});

describe('the dashboard at /', () => {
  it('serves the built index and its bundle; unknown paths keep the common 404 body', async () => {
    const r = await app.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.body).toBe('<!doctype html><title>dash</title>');
    const js = await app.inject({ method: 'GET', url: '/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    const nope = await get('/nope.js');
    expect(nope.status).toBe(404);
    expect(nope.body.error).toBe('NOT_FOUND');
    expect(nope.body.message).toBe('no route GET /nope.js; see /docs');
  });

  it('says how to build it when dist/web is missing', async () => {
    const r = await noWeb.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(404);
    expect(JSON.parse(r.body).message).toBe('the dashboard is not built (absent/index.html is missing): run npm run build');
  });
});
