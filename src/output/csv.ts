/**
 * The ranked predictions CSV and the skipped-stocks CSV (RFC 4180 via
 * csv-stringify), and their file names.
 */
import { stringify } from 'csv-stringify/sync';
import path from 'node:path';
import type { IsoDate } from '../market/dates.js';
import type { Prediction, SkippedStock } from './types.js';
import { CSV_DRIVERS, driverCell } from './drivers.js';

export const PREDICTION_CSV_COLUMNS = ['bse_code', 'nse_symbol', 'company_name', 'probability', 'label', 'confidence', 'market_cap_cr'] as const;
/** The extra columns of `stockflow batch --explain`: the three strongest drivers, `feature=value (±contribution)`. */
export const DRIVER_CSV_COLUMNS = Array.from({ length: CSV_DRIVERS }, (_, k) => `driver_${k + 1}`);
export const SKIPPED_CSV_COLUMNS = ['bse_code', 'nse_symbol', 'company_name', 'reason', 'detail'] as const;

/**
 * A date's files are predictions_D.csv, skipped_stocks_D.csv, report_D.txt, report_D.html;
 * a run that does not publish them (docs/runs.md) writes its own, with a tag
 * before the extension: predictions_D.subset-<runId>.csv, predictions_D.run-<runId>.csv.
 */
const tagged = (tag?: string): string => (tag ? `.${tag}` : '');
export const predictionsCsvName = (d: IsoDate, tag?: string): string => `predictions_${d}${tagged(tag)}.csv`;
export const skippedCsvName = (d: IsoDate, tag?: string): string => `skipped_stocks_${d}${tagged(tag)}.csv`;
export const reportName = (d: IsoDate, tag?: string): string => `report_${d}${tagged(tag)}.txt`;
/** The HTML report beside the text report (src/output/html/). */
export const htmlReportName = (d: IsoDate, tag?: string): string => `report_${d}${tagged(tag)}.html`;

export interface OutputPaths {
  dir: string;
  predictionsCsv: string;
  skippedCsv: string;
  report: string;
  htmlReport: string;
}

export function outputPaths(dir: string, d: IsoDate, tag?: string): OutputPaths {
  return {
    dir,
    predictionsCsv: path.join(dir, predictionsCsvName(d, tag)),
    skippedCsv: path.join(dir, skippedCsvName(d, tag)),
    report: path.join(dir, reportName(d, tag)),
    htmlReport: path.join(dir, htmlReportName(d, tag)),
  };
}


/**
 * The ranked predictions: the spec's 7 columns, and with `drivers` (`--explain`)
 * the three driver columns after them (empty cells when the run could not explain).
 */
export function predictionsCsv(rows: readonly Prediction[], o: { drivers?: boolean } = {}): string {
  const base = (r: Prediction): (string | number)[] => [r.bse_code, r.nse_symbol ?? '', r.company_name, r.probability.toFixed(6), r.label, r.confidence, r.market_cap_cr ?? ''];
  return stringify(
    o.drivers ? rows.map((r) => [...base(r), ...DRIVER_CSV_COLUMNS.map((_, k) => driverCell(r.drivers?.[k]))]) : rows.map(base),
    { header: true, columns: o.drivers ? [...PREDICTION_CSV_COLUMNS, ...DRIVER_CSV_COLUMNS] : [...PREDICTION_CSV_COLUMNS], record_delimiter: 'windows' },
  );
}

export function skippedCsv(rows: readonly SkippedStock[]): string {
  return stringify(
    rows.map((r) => [r.bse_code, r.nse_symbol ?? '', r.company_name, r.reason, r.detail]),
    { header: true, columns: [...SKIPPED_CSV_COLUMNS], record_delimiter: 'windows' },
  );
}
