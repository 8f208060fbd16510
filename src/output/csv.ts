/**
 * The ranked predictions CSV and the skipped-stocks CSV (RFC 4180, CRLF line
 * ends, a header row), and their file names. The rows are written in pieces
 * to a sink (the staged file), never held as one string or as arrays of
 * cells: at 110,000 stocks the CSV is 7-15 MB (#16). The quoting is
 * csv-stringify's as the batch called it (test/csv-writer.test.ts compares
 * them byte for byte): see csvCell; numbers as JavaScript prints them; empty
 * and null cells empty.
 */
import path from 'node:path';
import type { IsoDate } from '../market/dates.js';
import type { Prediction, SkippedStock } from './types.js';
import { CSV_DRIVERS, driverCell, type Driver } from './drivers.js';

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
 * A CSV cell as csv-stringify wrote it with CRLF record ends: quoted when it
 * holds `"`, `,` or CRLF, its `"` doubled. A lone CR or LF stays unquoted
 * (csv-stringify's rule once the record delimiter is set; kept for byte-identical files).
 */
export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? String(v) : v;
  return s.includes('"') ? `"${s.replace(/"/g, '""')}"` : s.includes(',') || s.includes('\r\n') ? `"${s}"` : s;
}

/** Where a CSV goes, piece by piece (an AtomicFile, or a string for tests). */
export type CsvSink = (chunk: string) => void;

/** Rows buffered before each write to the sink. */
const CHUNK_CHARS = 1 << 20;

/** Writes a header and `rows` rows (`cells(i)` gives row i's cells) as CSV lines with CRLF ends. */
function writeCsv(sink: CsvSink, header: readonly string[], rows: number, cells: (i: number) => (string | number | null | undefined)[]): void {
  let buf = `${header.map(csvCell).join(',')}\r\n`;
  for (let i = 0; i < rows; i++) {
    buf += `${cells(i).map(csvCell).join(',')}\r\n`;
    if (buf.length >= CHUNK_CHARS) {
      sink(buf);
      buf = '';
    }
  }
  if (buf.length > 0) sink(buf);
}

/**
 * The ranked predictions: the spec's 7 columns, and with `drivers` (`--explain`)
 * the three driver columns after them (empty cells when the run could not explain).
 */
export function writePredictionsCsv(
  sink: CsvSink,
  rows: readonly Prediction[],
  o: { drivers?: boolean; driversOf?: (r: Prediction) => readonly Driver[] | undefined } = {},
): void {
  // A row's drivers: its own, or (the batch, #16) looked up as its line is written, so 110,000 stocks' drivers are never objects at once.
  const driversOf = o.driversOf ?? ((r: Prediction) => r.drivers);
  const base = (r: Prediction): (string | number | null)[] => [r.bse_code, r.nse_symbol, r.company_name, r.probability.toFixed(6), r.label, r.confidence, r.market_cap_cr];
  if (!o.drivers) writeCsv(sink, PREDICTION_CSV_COLUMNS, rows.length, (i) => base(rows[i]));
  else
    writeCsv(sink, [...PREDICTION_CSV_COLUMNS, ...DRIVER_CSV_COLUMNS], rows.length, (i) => {
      const r = rows[i];
      const cells = base(r);
      const drivers = driversOf(r);
      for (let k = 0; k < CSV_DRIVERS; k++) cells.push(driverCell(drivers?.[k]));
      return cells;
    });
}

export function writeSkippedCsv(sink: CsvSink, rows: readonly SkippedStock[]): void {
  writeCsv(sink, SKIPPED_CSV_COLUMNS, rows.length, (i) => {
    const r = rows[i];
    return [r.bse_code, r.nse_symbol, r.company_name, r.reason, r.detail];
  });
}

/** A writer's output as one string (tests, small files). */
function collected(write: (sink: CsvSink) => void): string {
  const parts: string[] = [];
  write((c) => parts.push(c));
  return parts.join('');
}

/** The predictions CSV as one string (see writePredictionsCsv). */
export function predictionsCsv(rows: readonly Prediction[], o: { drivers?: boolean } = {}): string {
  return collected((sink) => writePredictionsCsv(sink, rows, o));
}

/** The skipped-stocks CSV as one string (see writeSkippedCsv). */
export function skippedCsv(rows: readonly SkippedStock[]): string {
  return collected((sink) => writeSkippedCsv(sink, rows));
}
