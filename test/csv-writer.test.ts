/**
 * #16 (110,000 stocks): the predictions and skipped-stocks CSVs are written
 * in pieces by the batch's own RFC 4180 writer instead of csv-stringify over
 * arrays of cells. The bytes must be what csv-stringify wrote (the expectation
 * below calls csv-stringify itself, with the options the batch used before),
 * for cells that need quoting (commas, quotes, CR, LF), empty and null cells,
 * numbers, driver cells, and more rows than one written piece holds.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { afterEach, describe, expect, it } from 'vitest';
import {
  csvCell,
  DRIVER_CSV_COLUMNS,
  predictionsCsv,
  PREDICTION_CSV_COLUMNS,
  SKIPPED_CSV_COLUMNS,
  skippedCsv,
  writePredictionsCsv,
} from '../src/output/csv.js';
import { driverCell, type Driver } from '../src/output/drivers.js';
import type { Prediction, SkippedStock } from '../src/output/types.js';
import { stageFileWith } from '../src/util/atomic-file.js';

/** What the batch wrote before #16's writer: csv-stringify over arrays of cells. */
function stringifyPredictions(rows: readonly Prediction[], drivers: boolean): string {
  const base = (r: Prediction): (string | number)[] => [r.bse_code, r.nse_symbol ?? '', r.company_name, r.probability.toFixed(6), r.label, r.confidence, r.market_cap_cr ?? ''];
  return stringify(drivers ? rows.map((r) => [...base(r), ...DRIVER_CSV_COLUMNS.map((_, k) => driverCell(r.drivers?.[k]))]) : rows.map(base), {
    header: true,
    columns: drivers ? [...PREDICTION_CSV_COLUMNS, ...DRIVER_CSV_COLUMNS] : [...PREDICTION_CSV_COLUMNS],
    record_delimiter: 'windows',
  });
}
function stringifySkipped(rows: readonly SkippedStock[]): string {
  return stringify(
    rows.map((r) => [r.bse_code, r.nse_symbol ?? '', r.company_name, r.reason, r.detail]),
    { header: true, columns: [...SKIPPED_CSV_COLUMNS], record_delimiter: 'windows' },
  );
}

const AWKWARD = ['Plain Ltd', 'Comma, Ltd', 'Say "Hi" Ltd', 'Line\nBreak', 'Carriage\rReturn', 'Both\r\nEnds', '"', ',', '', ' spaced ', 'Ünïcode ₹ Ltd', '=SUM(A1)', '-minus', "O'Brien"];

function predictions(n: number): Prediction[] {
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  return Array.from({ length: n }, (_, i) => {
    const drivers: Driver[] = Array.from({ length: i % 5 }, (_, k) => ({
      feature: ['ret_5d', 'rsi_14', 'volume_dry_up', 'days_to_earnings'][k % 4],
      value: k === 1 ? null : Math.fround(rnd() * 100 - 50),
      contribution: rnd() - 0.5,
    }));
    return {
      bse_code: String(500000 + i),
      nse_symbol: i % 3 === 0 ? null : AWKWARD[i % AWKWARD.length],
      company_name: AWKWARD[(i * 7) % AWKWARD.length],
      market_cap_cr: i % 4 === 0 ? null : i % 4 === 1 ? 0 : Math.round(rnd() * 1e6) / 100,
      probability: i % 11 === 0 ? 0 : rnd(),
      label: (i % 2) as 0 | 1,
      confidence: (['LOW', 'MEDIUM', 'HIGH'] as const)[i % 3],
      drivers: i % 6 === 0 ? undefined : drivers,
    };
  });
}

describe('the CSV writer writes what csv-stringify wrote (#16)', () => {
  it('quotes a cell only when it holds a quote, a comma or CRLF, doubling its quotes (a lone CR or LF stays bare, as csv-stringify left it)', () => {
    for (const s of AWKWARD) expect(csvCell(s)).toBe(stringify([[s]], { record_delimiter: 'windows' }).slice(0, -2));
    expect(csvCell('Line\nBreak')).toBe('Line\nBreak');
    expect(csvCell('Both\r\nEnds')).toBe('"Both\r\nEnds"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(0)).toBe('0');
    expect(csvCell(-1.5e-7)).toBe('-1.5e-7');
  });

  it('the predictions CSV, with and without driver columns, byte for byte', () => {
    const rows = predictions(600);
    expect(predictionsCsv(rows)).toBe(stringifyPredictions(rows, false));
    expect(predictionsCsv(rows, { drivers: true })).toBe(stringifyPredictions(rows, true));
    expect(predictionsCsv([])).toBe(stringifyPredictions([], false));
  });

  it('the skipped-stocks CSV byte for byte', () => {
    const rows: SkippedStock[] = AWKWARD.map((s, i) => ({
      bse_code: String(600000 + i),
      nse_symbol: i % 2 ? s : null,
      company_name: s,
      reason: i % 3 ? 'INSUFFICIENT_HISTORY' : 'NO_PRICE_BAND',
      detail: `${s}: 12 sessions, need 201`,
    }));
    expect(skippedCsv(rows)).toBe(stringifySkipped(rows));
    expect(skippedCsv([])).toBe(stringifySkipped([]));
  });

  it('a CSV larger than one written piece arrives in several pieces that join to the same bytes', () => {
    const rows = predictions(30_000);
    const pieces: string[] = [];
    writePredictionsCsv((c) => pieces.push(c), rows, { drivers: true });
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(stringifyPredictions(rows, true));
  });
});

describe('stageFileWith', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('writes the pieces under a temporary name, published only on publish()', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sf-stage-'));
    const target = path.join(dir, 'out.csv');
    writeFileSync(target, 'old');
    const staged = stageFileWith(target, (w) => {
      w('a,b\r\n');
      w('1,2\r\n');
    });
    expect(readFileSync(target, 'utf8')).toBe('old');
    expect(readFileSync(staged.temp, 'utf8')).toBe('a,b\r\n1,2\r\n');
    staged.publish();
    expect(readFileSync(target, 'utf8')).toBe('a,b\r\n1,2\r\n');
    expect(readdirSync(dir)).toEqual(['out.csv']);
  });

  it('a writer that throws leaves the target as it was and no temporary file', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sf-stage-'));
    const target = path.join(dir, 'out.csv');
    writeFileSync(target, 'old');
    expect(() =>
      stageFileWith(target, (w) => {
        w('half');
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(readFileSync(target, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['out.csv']);
    expect(existsSync(path.join(dir, 'out.csv'))).toBe(true);
  });
});
