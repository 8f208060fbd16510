/**
 * `stockflow explain --date D --code X`: one prediction's waterfall as text
 * (base value, each feature's value and contribution as a signed bar, the
 * margin and the probability), exact TreeSHAP in log-odds.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../config.js';
import { logger } from '../log.js';
import { resolveDate } from './batch.js';
import { action } from './run.js';

function bseCode(value: string): string {
  if (!/^\d{6}$/.test(value.trim())) throw new InvalidArgumentError('expected a 6-digit BSE code');
  return value.trim();
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description("explain one stock's prediction: base value, each feature's SHAP contribution (log-odds) as a signed bar, margin, probability")
    .requiredOption('--date <YYYY-MM-DD|today>', 'prediction date')
    .requiredOption('--code <bse_code>', 'the stock (6-digit BSE code)', bseCode)
    .option('--model <version>', "explain with this registered model version (default: the model of the date's completed batch run, else the champion)")
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .option('--models-dir <dir>', 'model registry (env STOCKFLOW_MODELS_DIR)')
    .addHelpText(
      'after',
      `
The feature row is the one the batch stored for the date (predictions.db), else
computed now with the batch's code. A model without node covers is explained with
covers from the date's stored feature rows (else the latest stored date's).

Examples:
  stockflow explain --date 2025-11-14 --code 500325

Exit codes: 0 success; 2 bad arguments; 3 missing input, unknown stock, no usable
model, or a model that cannot be explained (one line says why).`,
    )
    .action(
      action(async (o: { date: string; code: string; model?: string; dataDir?: string; modelsDir?: string }) => {
        const cfg = loadConfig(o);
        const date = resolveDate(o.date);
        // Loaded when the command runs: the model, the features and the stores.
        const { explainStock } = await import('./explain-stock.js');
        process.stdout.write(await explainStock({ cfg, date, code: o.code, model: o.model, log: logger() }));
      }),
    );
}
