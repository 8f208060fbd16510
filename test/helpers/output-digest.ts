/**
 * A batch run's outputs reduced to one SHA-256 per part, for the byte-identity
 * check of issue #16 (test/batch-golden.test.ts): the CSVs byte for byte, the
 * report without its timing lines, and every output table of predictions.db
 * with every column except those that name the run or the clock
 * (prediction_timestamp, run_id). Numbers go through JSON.stringify, which
 * writes the shortest text that reads back as the same double, so two digests
 * agree only when every stored value has the same bits.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** Report lines that carry durations (they differ run to run by design). */
const TIMING_LINE = /^(Duration: |- (Planning|Model Load|Feature Extraction|Model Prediction|Explanations|Database Write|Monitoring|Outcomes|Throughput): )/;

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** The digest of the date's published outputs in `dataDir` (untagged files: a full run that published). */
export function outputDigest(dataDir: string, date: string): Record<string, string> {
  const dir = path.join(dataDir, 'predictions');
  const out: Record<string, string> = {
    predictions_csv: sha(readFileSync(path.join(dir, `predictions_${date}.csv`))),
    skipped_csv: sha(readFileSync(path.join(dir, `skipped_stocks_${date}.csv`))),
    report: sha(
      readFileSync(path.join(dir, `report_${date}.txt`), 'utf8')
        .split('\n')
        .filter((l) => !TIMING_LINE.test(l))
        .join('\n'),
    ),
  };
  const db = new Database(path.join(dataDir, 'predictions.db'), { readonly: true });
  try {
    const table = (sql: string): string => sha(JSON.stringify(db.prepare(sql).raw(true).all(date)));
    out.daily_predictions = table(
      `SELECT prediction_id, bse_code, nse_symbol, company_name, prediction_date, predicted_label, probability, confidence, model_version, model_type
       FROM daily_predictions WHERE prediction_date = ? ORDER BY prediction_id`,
    );
    out.feature_values = table('SELECT * FROM feature_values WHERE prediction_date = ? ORDER BY bse_code, feature_set_version');
    out.skipped_stocks = table('SELECT prediction_date, bse_code, reason, detail FROM skipped_stocks WHERE prediction_date = ? ORDER BY bse_code');
    out.prediction_explanations = table(
      'SELECT bse_code, prediction_date, model_version, base_value, margin FROM prediction_explanations WHERE prediction_date = ? ORDER BY bse_code, model_version',
    );
    out.prediction_drivers = table('SELECT * FROM prediction_drivers WHERE prediction_date = ? ORDER BY bse_code, model_version, rank');
    out.batch_run = table(
      `SELECT status, as_of_session, model_name, model_version, model_type, model_sha256, feature_set_version, universe_count, processed_count,
              skipped_count, predicted_uc_count, high_count, medium_count, low_count, input_fingerprint, explanations, published
       FROM batch_runs WHERE prediction_date = ? AND published = 1 ORDER BY finished_at DESC LIMIT 1`,
    );
  } finally {
    db.close();
  }
  return out;
}
