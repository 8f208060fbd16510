/**
 * The ranked predictions CSV and the skipped-stocks CSV (RFC 4180 via
 * csv-stringify), and their file names.
 */
import { stringify } from 'csv-stringify/sync';
import path from 'node:path';
import type { IsoDate } from '../market/dates.js';
import type { Prediction, SkippedStock } from './types.js';

export const PREDICTION_CSV_COLUMNS = ['bse_code', 'nse_symbol', 'company_name', 'probability', 'label', 'confidence', 'market_cap_cr'] as const;
export const SKIPPED_CSV_COLUMNS = ['bse_code', 'nse_symbol', 'company_name', 'reason', 'detail'] as const;

export const predictionsCsvName = (d: IsoDate): string => `predictions_${d}.csv`;
export const skippedCsvName = (d: IsoDate): string => `skipped_stocks_${d}.csv`;
export const reportName = (d: IsoDate): string => `report_${d}.txt`;

export interface OutputPaths {
  dir: string;
  predictionsCsv: string;
  skippedCsv: string;
  report: string;
}

export function outputPaths(dir: string, d: IsoDate): OutputPaths {
  return {
    dir,
    predictionsCsv: path.join(dir, predictionsCsvName(d)),
    skippedCsv: path.join(dir, skippedCsvName(d)),
    report: path.join(dir, reportName(d)),
  };
}

export { roundProbability } from '../model/confidence.js';

export function predictionsCsv(rows: readonly Prediction[]): string {
  return stringify(
    rows.map((r) => [r.bse_code, r.nse_symbol ?? '', r.company_name, r.probability.toFixed(6), r.label, r.confidence, r.market_cap_cr ?? '']),
    { header: true, columns: [...PREDICTION_CSV_COLUMNS], record_delimiter: 'windows' },
  );
}

export function skippedCsv(rows: readonly SkippedStock[]): string {
  return stringify(
    rows.map((r) => [r.bse_code, r.nse_symbol ?? '', r.company_name, r.reason, r.detail]),
    { header: true, columns: [...SKIPPED_CSV_COLUMNS], record_delimiter: 'windows' },
  );
}
