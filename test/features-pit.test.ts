/**
 * Point-in-time correctness: features for a prediction date D depend on
 * nothing dated D or later. On a small generated market, every table's rows
 * dated D or later are changed, added or removed, and every feature value
 * for D must stay byte-for-byte the same; changing a row dated D − 1 must not.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMarket } from '../src/demo/generate.js';
import { FEATURE_INDEX, FEATURE_NAMES, N_FEATURES } from '../src/features/definition.js';
import type { FeatureSet } from '../src/features/service.js';
import { computeAll } from './helpers/compute.js';

const STOCKS = 60;
const DAYS = 330;

/** Plain calendar arithmetic, independent of src/market/dates.ts. */
const addDays = (d: string, n: number): string => new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

let dir: string;
let base: string;
let sessions: string[];
/** D: a trading day with 40 sessions of data on and after it. */
let D: string;
let before: FeatureSet;

/** A copy of the base market with `edit` applied to it. */
function variant(name: string, edit: (db: Database.Database) => void): string {
  const file = path.join(dir, `${name}.db`);
  copyFileSync(base, file);
  const db = new Database(file);
  try {
    db.transaction(() => edit(db))();
  } finally {
    db.close();
  }
  return file;
}

/** Where two feature sets first differ, or null when they are identical (values compared as bytes). */
function firstDifference(a: FeatureSet, b: FeatureSet): string | null {
  if (JSON.stringify(a.ctx) !== JSON.stringify(b.ctx)) return `context ${JSON.stringify(a.ctx)} vs ${JSON.stringify(b.ctx)}`;
  if (JSON.stringify(a.block.codes) !== JSON.stringify(b.block.codes)) return 'scored codes differ';
  if (JSON.stringify(a.block.lastBar) !== JSON.stringify(b.block.lastBar)) return 'as-of sessions differ';
  if (JSON.stringify(a.block.skips) !== JSON.stringify(b.block.skips)) return `skips differ: ${JSON.stringify(a.block.skips)} vs ${JSON.stringify(b.block.skips)}`;
  if (!Buffer.from(a.imputed).equals(Buffer.from(b.imputed))) return 'imputed counts differ';
  const x = a.block.values;
  const y = b.block.values;
  if (x.length !== y.length) return `value lengths ${x.length} vs ${y.length}`;
  const bx = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  const by = Buffer.from(y.buffer, y.byteOffset, y.byteLength);
  if (bx.equals(by)) return null;
  for (let i = 0; i < x.length; i++) {
    if (!Object.is(x[i], y[i])) {
      const row = Math.floor(i / N_FEATURES);
      return `${a.block.codes[row]} ${FEATURE_NAMES[i % N_FEATURES]}: ${x[i]} vs ${y[i]}`;
    }
  }
  return 'bytes differ';
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'stockflow-pit-'));
  base = path.join(dir, 'market.db');
  await generateMarket({ file: base, stocks: STOCKS, days: DAYS, seed: 20251114 });
  const db = new Database(base, { readonly: true });
  sessions = db.prepare('SELECT DISTINCT trade_date FROM daily_prices ORDER BY trade_date').pluck().all() as string[];
  db.close();
  D = sessions[sessions.length - 40];
  // Two planted skips: one stock stops trading 10 sessions before D (its bars from D on stay), another
  // starts 200 sessions before D.
  const w = new Database(base);
  const [stale, young] = w.prepare("SELECT bse_code FROM master_stock_list WHERE status = 'ACTIVE' ORDER BY bse_code LIMIT 2").pluck().all() as string[];
  w.prepare('DELETE FROM daily_prices WHERE bse_code = ? AND trade_date >= ? AND trade_date < ?').run(stale, sessions[sessions.length - 50], D);
  w.prepare('DELETE FROM daily_prices WHERE bse_code = ? AND trade_date < ?').run(young, sessions[sessions.length - 240]);
  w.close();
  before = await computeAll(base, D);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('point-in-time: nothing dated D or later reaches the features for D', () => {
  it('the base run is a real one: most stocks scored, some skipped, some values imputed', () => {
    expect(before.ctx.asOf).toBe(sessions[sessions.length - 41]);
    expect(before.block.codes.length).toBeGreaterThan(40);
    expect(before.block.skips.map((k) => k.reason).sort()).toEqual(['INSUFFICIENT_HISTORY', 'NO_PRICE_DATA']);
    expect(before.imputed.some((n) => n > 0)).toBe(true);
  });

  it('changing and adding rows dated D or later in every dated table changes no feature, skip or count', async () => {
    const later = sessions[sessions.length - 30];
    const changed = variant('changed', (db) => {
      // daily_prices: every bar on or after D moved, volumes changed, one bar removed, bars added on D
      // (for every stock that had none: stale, suspended and delisted ones) and on a Saturday after D.
      db.prepare('UPDATE daily_prices SET open = open * 1.1, high = high * 1.1, low = low * 1.1, close = close * 1.1, volume = volume * 2 + 7 WHERE trade_date >= ?').run(D);
      db.prepare('DELETE FROM daily_prices WHERE trade_date = ? AND bse_code = (SELECT min(bse_code) FROM daily_prices WHERE trade_date = ?)').run(later, later);
      db.prepare(
        `INSERT INTO daily_prices (bse_code, trade_date, open, high, low, close, volume)
         SELECT bse_code, ?, 10, 12, 9, 11, 123 FROM master_stock_list m
          WHERE NOT EXISTS (SELECT 1 FROM daily_prices p WHERE p.bse_code = m.bse_code AND p.trade_date = ?)`,
      ).run(D, D);
      let saturday = D;
      while (new Date(`${saturday}T00:00:00Z`).getUTCDay() !== 6) saturday = addDays(saturday, 1);
      db.prepare('INSERT INTO daily_prices (bse_code, trade_date, open, high, low, close, volume) SELECT bse_code, ?, 1, 1, 1, 1, 1 FROM master_stock_list').run(saturday);
      // quarterly_results: results announced on or after D rewritten; a new, newest quarter announced on D for every stock.
      db.prepare('UPDATE quarterly_results SET revenue_cr = revenue_cr * 3 + 1, net_profit_cr = -net_profit_cr - 1, eps = eps + 1 WHERE announced_on >= ?').run(D);
      db.prepare("INSERT INTO quarterly_results (bse_code, period_end, announced_on, revenue_cr, net_profit_cr, eps) SELECT bse_code, '2030-12-31', ?, 1e6, 5e5, 99 FROM master_stock_list").run(D);
      // news_sentiment: scores on or after D flipped; a strongly positive item published on D for every stock.
      db.prepare('UPDATE news_sentiment SET score = -score WHERE published_on >= ?').run(D);
      db.prepare("INSERT INTO news_sentiment (bse_code, published_on, score, headline) SELECT bse_code, ?, 1, 'published on D' FROM master_stock_list").run(D);
      // market_holidays: a new holiday after D.
      db.prepare("INSERT OR IGNORE INTO market_holidays (holiday_on, name) VALUES (?, 'added after D')").run(later);
      // earnings_calendar is the one forward-looking input (expected dates on or after D are known in advance
      // and days_to_earnings uses them by definition), so its rows after D are not part of this check.
    });
    const after = await computeAll(changed, D);
    expect(firstDifference(before, after)).toBeNull();

    // The edits were real: a later date sees them.
    const late = sessions[sessions.length - 20];
    expect(firstDifference(await computeAll(base, late), await computeAll(changed, late))).not.toBeNull();
  });

  it('removing everything dated D or later changes nothing either', async () => {
    const truncated = variant('truncated', (db) => {
      db.prepare('DELETE FROM daily_prices WHERE trade_date >= ?').run(D);
      db.prepare('DELETE FROM quarterly_results WHERE announced_on >= ?').run(D);
      db.prepare('DELETE FROM news_sentiment WHERE published_on >= ?').run(D);
    });
    expect(firstDifference(before, await computeAll(truncated, D))).toBeNull();
  });

  it('converse: a price, a news item or a result dated D − 1 does change the features for D', async () => {
    const asOf = before.ctx.asOf;
    const scored = before.block.codes.filter((_, i) => before.block.lastBar[i] === asOf);
    const [p, n, r] = scored;
    const row = (fs: FeatureSet, code: string): Float32Array => {
      const i = fs.block.codes.indexOf(code);
      return fs.block.values.slice(i * N_FEATURES, (i + 1) * N_FEATURES);
    };

    const priced = await computeAll(
      variant('price-d-1', (db) => db.prepare('UPDATE daily_prices SET close = close * 1.03 WHERE bse_code = ? AND trade_date = ?').run(p, asOf)),
      D,
    );
    expect(row(priced, p)[FEATURE_INDEX.ret_5d]).not.toBe(row(before, p)[FEATURE_INDEX.ret_5d]);
    // The other stocks are untouched.
    for (const c of before.block.codes) if (c !== p) expect(row(priced, c)).toEqual(row(before, c));

    const dayBefore = addDays(D, -1);
    const newsed = await computeAll(
      variant('news-d-1', (db) => db.prepare("INSERT INTO news_sentiment (bse_code, published_on, score, headline) VALUES (?, ?, 0.9, 'D − 1')").run(n, dayBefore)),
      D,
    );
    expect(row(newsed, n)[FEATURE_INDEX.news_count_30d]).toBe(row(before, n)[FEATURE_INDEX.news_count_30d] + 1);

    const resulted = await computeAll(
      variant('result-d-1', (db) =>
        db
          .prepare("INSERT INTO quarterly_results (bse_code, period_end, announced_on, revenue_cr, net_profit_cr, eps) VALUES (?, '2030-12-31', ?, 1000, 250, 5)")
          .run(r, dayBefore),
      ),
      D,
    );
    // The new quarter is now the latest: its margin is 250 / 1000.
    expect(row(resulted, r)[FEATURE_INDEX.net_profit_margin]).toBe(Math.fround(0.25));
  });
});
