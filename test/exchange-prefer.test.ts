/**
 * Issue 12: "for a dual-listed stock the features use one exchange's series (NSE by default, --prefer bse),
 * the same one whose band and hits define its circuit." NSE's bh files are the only lists of hits; with
 * --prefer bse a dual-listed stock's daily_prices bars are BSE's, so its hits are derived from those closes
 * with the band in force, while NSE's list still speaks for an NSE-only stock (hitListCovers,
 * src/market/exchange.ts, on the preference recorded in exchange_settings). An import asking for the other
 * preference is refused (exit 2) and leaves market.db byte-identical; an older market.db without the table
 * reads as NSE. Files are written in the exchanges' formats (test/helpers/exchange-files.ts); the expected
 * flags are computed by hand below.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importExchange } from '../src/ingest/exchange/import.js';
import { StockflowError } from '../src/errors.js';
import { openMarketReadonly } from '../src/market/db.js';
import { checkMarket } from '../src/market/check.js';
import { closeHistory, upperCircuitHits } from '../src/market/reader.js';
import { PointInTimeReader } from '../src/market/inputs.js';
import { barAt, bseUdiff, ddmmyy, ddmmyyyy, nseUdiff, prZip, secList, writeTree } from './helpers/exchange-files.js';
import { assertCliBuilt, failureLine, runCli } from './helpers/batch-fixture.js';
import { fillOutcomes } from '../src/batch/outcomes.js';
import { PredictionsStore } from '../src/predictions/store.js';
import { openPredictionsForWrite } from './helpers/predictions-db.js';
import { dumpMarket } from './helpers/db-dump.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sf-prefer-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = (label = 'd'): string => mkdtempSync(path.join(tmp, `${label}-${++n}-`));

const ISIN_A = 'INE100A01011'; // AAA: NSE + BSE 500100 (dual-listed)
const ISIN_B = 'INE900B01012'; // BBB: NSE only (key 000001)
const DUAL = '500100';
const NSE_ONLY = '000001';
const S = ['2025-09-29', '2025-09-30', '2025-10-01', '2025-10-03']; // 2025-10-02 is an NSE holiday
const AFTER = '2025-10-06'; // the next session: a reader for it sees all four bars

// Band 5% for both from S[1] on (sec_list of S[0]); the master list's band (the last session's) is 5 too.
// Upper-circuit price = prev × 1.05 floored to ₹0.05 (src/market/circuit.ts).
const NSE_AAA = [100, 105, 106, 106]; // the rule on NSE's closes: S[1] hit (105 ≥ 105), S[2] no (106 < 110.25), S[3] no
const BSE_AAA = [100, 105, 105.5, 110.75]; // the rule on BSE's closes: S[1] hit, S[2] no (105.5 < 110.25), S[3] hit (110.75 ≥ 110.75)
const NSE_BBB = [50, 52.5, 52.5, 52.5]; // the rule: S[1] hit (52.5 ≥ 52.5); the list never names it there
// NSE's bh lists: S[0] and S[1] empty, S[2] names AAA (H), S[3] names BBB (H).
const BH: { symbol: string; hl: 'H' }[][] = [[], [], [{ symbol: 'AAA', hl: 'H' }], [{ symbol: 'BBB', hl: 'H' }]];

// Hand-computed per-bar flags (bar 0 is never judged):
const AAA_BY_LIST = [0, 0, 1, 0]; // --prefer nse: NSE's list decides (not the rule on NSE's closes, which says [0, 1, 0, 0])
const AAA_BY_BSE_CLOSES = [0, 1, 0, 1]; // --prefer bse: the rule on BSE's closes
const BBB_BY_LIST = [0, 0, 0, 1]; // NSE-only: the list decides under either preference

function files(): string {
  const f: Record<string, string | Uint8Array> = {};
  S.forEach((d, i) => {
    const D = d.replace(/-/g, '');
    f[`nse/BhavCopy_NSE_CM_0_0_0_${D}_F_0000.csv`] = nseUdiff(d, [
      { symbol: 'AAA', token: '11', isin: ISIN_A, ...barAt(NSE_AAA[i], 1000 + i) },
      { symbol: 'BBB', token: '22', isin: ISIN_B, ...barAt(NSE_BBB[i], 2000 + i) },
    ]);
    f[`bse/BhavCopy_BSE_CM_0_0_0_${D}_F_0000.CSV`] = bseUdiff(d, [{ code: DUAL, scripId: 'AAA', isin: ISIN_A, ...barAt(BSE_AAA[i], 400 + i) }]);
    f[`pr/PR${ddmmyy(d)}.zip`] = prZip(d, { bh: BH[i] });
  });
  f[`bands/sec_list_${ddmmyyyy(S[0])}.csv`] = secList([
    { symbol: 'AAA', band: '5' },
    { symbol: 'BBB', band: '5' },
  ]);
  return writeTree(fresh('f'), f);
}

let FILES: string;
beforeAll(() => {
  FILES = files();
});

/** The flags every reader derives for `code`, as (features, dashboard): they must agree. */
function flags(dataDir: string, code: string): { features: number[]; dashboard: number[] } {
  const db = openMarketReadonly(dataDir);
  try {
    const bars = new PointInTimeReader(db, 10).read(code, AFTER).bars;
    expect(Array.from(bars.date)).toEqual(S);
    return {
      features: Array.from(bars.uc as ArrayLike<number>),
      dashboard: closeHistory(db, code, S[3], 4).map((s) => (s.upper_circuit ? 1 : 0)),
    };
  } finally {
    db.close();
  }
}
/** The first hit in (S[0], S[3]] of each stock: training labels and realised outcomes. */
function labels(dataDir: string): Record<string, string> {
  const db = openMarketReadonly(dataDir);
  try {
    return Object.fromEntries(upperCircuitHits(db, S[0], S[3]));
  } finally {
    db.close();
  }
}
/** Realised outcomes of a prediction for S[1] with a 3-session horizon (S[1..3], every session with a bh file): [code, hit_on, source]. */
function outcomes(dataDir: string): unknown[] {
  const raw = openPredictionsForWrite(dataDir);
  raw
    .prepare(
      `INSERT INTO batch_runs (run_id, prediction_date, started_at, finished_at, status, model_name, model_version, model_type, published)
       VALUES ('r1', ?, '2025-10-06T00:00:00Z', '2025-10-06T00:01:00Z', 'succeeded', 'upper-circuit', '1.0.0', 'GBDT', 1)`,
    )
    .run(S[1]);
  const ins = raw.prepare(
    `INSERT INTO daily_predictions (bse_code, nse_symbol, company_name, prediction_date, predicted_label, probability, confidence, model_version, model_type)
     VALUES (?, NULL, 'X', ?, 0, 0.2, 'HIGH', '1.0.0', 'GBDT')`,
  );
  for (const code of [DUAL, NSE_ONLY]) ins.run(code, S[1]);
  raw.close();
  const market = openMarketReadonly(dataDir);
  const store = PredictionsStore.openForWrite(dataDir);
  try {
    fillOutcomes(market, store, () => 3);
  } finally {
    store.close();
    market.close();
  }
  const db = openPredictionsForWrite(dataDir);
  try {
    return db.prepare('SELECT bse_code, hit_on, source FROM prediction_outcomes ORDER BY bse_code').raw(true).all();
  } finally {
    db.close();
  }
}
/** `data check`'s agreement of derived and listed hits. */
function agreement(dataDir: string): unknown {
  const db = openMarketReadonly(dataDir);
  try {
    const a = checkMarket(db).agreement;
    return a && { judged: a.judged, agree: a.agree, onlyDerived: a.onlyDerived, onlyObserved: a.onlyObserved, observedWithoutPrice: a.observedWithoutPrice };
  } finally {
    db.close();
  }
}
const setting = (dataDir: string): unknown[] => {
  const db = new Database(path.join(dataDir, 'market.db'), { readonly: true });
  try {
    return db.prepare('SELECT name, value FROM exchange_settings').raw(true).all();
  } finally {
    db.close();
  }
};
const sha = (dataDir: string): string => createHash('sha256').update(readFileSync(path.join(dataDir, 'market.db'))).digest('hex');

describe('whose hits define a dual-listed stock\'s circuit', () => {
  it('--prefer nse: NSE bars, and NSE\'s list decides for the dual-listed and the NSE-only stock', async () => {
    const data = fresh();
    await importExchange([FILES], { dataDir: data, prefer: 'NSE' });
    expect(setting(data)).toEqual([['prefer', 'NSE']]);
    const db = openMarketReadonly(data);
    expect(db.prepare('SELECT close FROM daily_prices WHERE bse_code = ? ORDER BY trade_date').pluck().all(DUAL)).toEqual(NSE_AAA);
    db.close();
    expect(flags(data, DUAL)).toEqual({ features: AAA_BY_LIST, dashboard: AAA_BY_LIST });
    expect(flags(data, NSE_ONLY)).toEqual({ features: BBB_BY_LIST, dashboard: BBB_BY_LIST });
    expect(labels(data)).toEqual({ [DUAL]: S[2], [NSE_ONLY]: S[3] });
    expect(outcomes(data)).toEqual([
      [NSE_ONLY, S[3], 'exchange'],
      [DUAL, S[2], 'exchange'],
    ]);
    // data check judges both stocks on S[1..3] (rule on NSE's closes vs the list): AAA S[1] derived only, S[2] listed only;
    // BBB S[1] derived only, S[3] listed only.
    expect(agreement(data)).toEqual({ judged: 6, agree: 0, onlyDerived: 2, onlyObserved: 2, observedWithoutPrice: 0 });
  });

  it('--prefer bse: BSE bars, and the BSE closes decide for the dual-listed stock; the NSE-only stock stays with the list', async () => {
    const data = fresh();
    await importExchange([FILES], { dataDir: data, prefer: 'BSE' });
    expect(setting(data)).toEqual([['prefer', 'BSE']]);
    const db = openMarketReadonly(data);
    expect(db.prepare('SELECT close FROM daily_prices WHERE bse_code = ? ORDER BY trade_date').pluck().all(DUAL)).toEqual(BSE_AAA);
    db.close();
    expect(flags(data, DUAL)).toEqual({ features: AAA_BY_BSE_CLOSES, dashboard: AAA_BY_BSE_CLOSES });
    expect(flags(data, NSE_ONLY)).toEqual({ features: BBB_BY_LIST, dashboard: BBB_BY_LIST });
    expect(labels(data)).toEqual({ [DUAL]: S[1], [NSE_ONLY]: S[3] });
    // The outcome's source follows: the dual-listed stock's is derived from its (BSE) closes.
    expect(outcomes(data)).toEqual([
      [NSE_ONLY, S[3], 'exchange'],
      [DUAL, S[1], 'closes'],
    ]);
    // data check compares the list with the rule only where the list speaks: BBB alone (S[1] derived only, S[3] listed only);
    // AAA's listed hit on S[2] is not a hit without a price.
    expect(agreement(data)).toEqual({ judged: 3, agree: 0, onlyDerived: 1, onlyObserved: 1, observedWithoutPrice: 0 });
  });

  it('an older market.db without exchange_settings opens and reads as NSE', async () => {
    const data = fresh();
    await importExchange([FILES], { dataDir: data, prefer: 'BSE' });
    const w = new Database(path.join(data, 'market.db'));
    w.exec('DROP TABLE exchange_settings');
    w.close();
    // daily_prices still holds BSE's bars, but with no record the readers take NSE's list for every NSE-listed stock.
    expect(flags(data, DUAL)).toEqual({ features: AAA_BY_LIST, dashboard: AAA_BY_LIST });
    expect(labels(data)).toEqual({ [DUAL]: S[2], [NSE_ONLY]: S[3] });
  });
});

describe('one preference per market.db', () => {
  it('the same preference again is accepted and changes nothing; the other is refused before anything is written', async () => {
    const data = fresh();
    await importExchange([FILES], { dataDir: data, prefer: 'BSE' });
    const before = dumpMarket(data);
    await importExchange([FILES], { dataDir: data, prefer: 'BSE' });
    expect(dumpMarket(data)).toEqual(before);
    const e = await importExchange([FILES], { dataDir: data, prefer: 'NSE' }).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(StockflowError);
    expect((e as StockflowError).exitCode).toBe(2);
    expect((e as StockflowError).message).toMatch(/^market\.db's exchange bars were imported with --prefer bse; --prefer nse would mix/);
    expect(dumpMarket(data)).toEqual(before);
  });

  it('a market.db whose exchange bars predate the record is taken as NSE: --prefer bse refused, --prefer nse records NSE', async () => {
    const data = fresh();
    await importExchange([FILES], { dataDir: data, prefer: 'NSE' });
    const w = new Database(path.join(data, 'market.db'));
    w.exec('DELETE FROM exchange_settings');
    w.close();
    const e = await importExchange([FILES], { dataDir: data, prefer: 'BSE' }).then(
      () => null,
      (x: unknown) => x,
    );
    expect((e as StockflowError).exitCode).toBe(2);
    expect((e as StockflowError).message).toContain('imported with --prefer nse (read as such: that import predates the recorded preference)');
    expect(setting(data)).toEqual([]);
    await importExchange([FILES], { dataDir: data, prefer: 'NSE' });
    expect(setting(data)).toEqual([['prefer', 'NSE']]);
  });

  it('no exchange bars yet (a price-band list alone): nothing recorded, a later --prefer bse is accepted', async () => {
    const data = fresh();
    const s = await importExchange([path.join(FILES, 'bands')], { dataDir: data, prefer: 'NSE' });
    expect(s.read.kinds.map((k) => [k.kind, k.rows])).toEqual([['nse-price-bands', 2]]);
    expect(setting(data)).toEqual([]);
    await importExchange([FILES], { dataDir: data, prefer: 'BSE' });
    expect(setting(data)).toEqual([['prefer', 'BSE']]);
  });

  describe('the CLI', () => {
    beforeAll(() => assertCliBuilt());

    it('the other preference: exit 2, one line, market.db byte-identical; a dry run refuses it too', () => {
      const data = fresh();
      const first = runCli(['data', 'import-exchange', FILES, '--data-dir', data]);
      expect(first.code, first.stderr).toBe(0);
      const bytes = sha(data);
      const rows = dumpMarket(data);
      const file = path.resolve(data, 'market.db');
      const line =
        "stockflow: market.db's exchange bars were imported with --prefer nse; --prefer bse would mix the exchanges' bars in daily_prices session by session: " +
        `import with --prefer nse, or into a new data directory; ${file} unchanged`;
      const refused = runCli(['data', 'import-exchange', FILES, '--prefer', 'bse', '--data-dir', data]);
      expect(refused.code, refused.stderr).toBe(2);
      expect(failureLine(refused)).toBe(line);
      const dry = runCli(['data', 'import-exchange', FILES, '--dry-run', '--prefer', 'BSE', '--data-dir', data]);
      expect(dry.code, dry.stderr).toBe(2);
      expect(failureLine(dry)).toBe(line);
      expect(dry.stdout).toBe('');
      expect(sha(data)).toBe(bytes);
      expect(dumpMarket(data)).toEqual(rows);
      const same = runCli(['data', 'import-exchange', FILES, '--dry-run', '--prefer', 'nse', '--data-dir', data]);
      expect(same.code, same.stderr).toBe(0);
    });
  });
});
