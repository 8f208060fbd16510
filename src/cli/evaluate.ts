/**
 * `stockflow evaluate`: how the stored predictions did against their realised
 * outcomes, per model version (README "Evaluating the model"). Records the
 * outcomes that became known first, as the batch's outcomes stage does.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../config.js';
import { badArgs } from '../errors.js';
import { logger } from '../log.js';
import { resolveDate } from './batch.js';
import { action } from './run.js';

const FORMATS = ['table', 'json', 'csv'] as const;
type EvaluateFormat = (typeof FORMATS)[number];

function format(value: string): EvaluateFormat {
  if (!(FORMATS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${FORMATS.join(', ')}`);
  return value as EvaluateFormat;
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description('how the stored predictions did: ROC-AUC, PR-AUC, Brier, log loss, precision@10/20/100, hit rate by confidence, calibration, per model version')
    .option('--from <YYYY-MM-DD>', 'first prediction date (default: the first with a known outcome)')
    .option('--to <YYYY-MM-DD>', 'last prediction date (default: the last with a known outcome)')
    .option('--model <version>', 'only this model version (1.2.0 or name/1.2.0)')
    .option('--format <format>', `output: ${FORMATS.join(', ')}`, format, 'table')
    .option('--by-date', 'also the figures of each prediction date')
    .option('--compare <a,b>', 'compare two models on the same outcomes: champion,challenger (aliases) or versions (1.0.0,1.1.0)')
    .option('--resamples <n>', 'with --compare: bootstrap resamples (default 1000)')
    .option('--seed <n>', 'with --compare: bootstrap seed (default 14)')
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .option('--models-dir <dir>', 'model registry, for the models\' horizons (env STOCKFLOW_MODELS_DIR)')
    .addHelpText(
      'after',
      `
First records the outcomes that became known (as each batch does): a prediction is
judged once its model's horizon_sessions (model.json; default 5) sessions from the
prediction date are in market.db. Only predictions with a known outcome count.

precision@K is the share of each date's top K (the report's ranking) that hit the
upper circuit, averaged over dates; hits@K sums those hits over the dates.
--format csv: one line per model (per model and date with --by-date), the summary
figures only; the confidence and calibration tables are in the table and json outputs.

--compare A,B judges both models on the same dates and stocks (those both have an
outcome for) and gives a paired bootstrap 95% interval for ROC-AUC(B) - ROC-AUC(A)
(fixed seed: the same inputs always give the same interval; docs/monitoring.md).

Examples:
  stockflow evaluate
  stockflow evaluate --compare champion,challenger
  stockflow evaluate --from 2025-10-01 --to 2025-11-14 --model 1.0.0 --format json

Exit codes: 0 success; 2 bad arguments; 3 no predictions.db, no market.db, or no
prediction with a known outcome in the range (with --compare: none both models share,
or an alias the registry does not have).`,
    )
    .action(
      action(async (o: { from?: string; to?: string; model?: string; format: EvaluateFormat; byDate?: boolean; dataDir?: string; modelsDir?: string; compare?: string; resamples?: string; seed?: string }) => {
        const cfg = loadConfig(o);
        const from = o.from === undefined ? undefined : resolveDate(o.from, '--from');
        const to = o.to === undefined ? undefined : resolveDate(o.to, '--to');
        if (o.compare !== undefined) {
          if (o.format === 'csv') throw badArgs('--compare prints a table or JSON: use --format table or --format json');
          const whole = (v: string | undefined, what: string, min: number, max: number): number | undefined => {
            if (v === undefined) return undefined;
            if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw badArgs(`${what} must be a whole number from ${min} to ${max}, got '${v}'`);
            return Number(v);
          };
          const resamples = whole(o.resamples, '--resamples', 1, 100000);
          const seed = whole(o.seed, '--seed', 0, 4294967295);
          const { compareOnOutcomes, parsePair, renderComparison } = await import('./compare-run.js');
          const [a, b] = parsePair(o.compare);
          const c = await compareOnOutcomes({ cfg, a, b, from, to, resamples, seed, log: logger() });
          process.stdout.write(o.format === 'json' ? `${JSON.stringify(c, null, 2)}\n` : renderComparison(c));
          return;
        }
        // Loaded when the command runs: the stores and the metrics.
        const { runEvaluate } = await import('./evaluate-run.js');
        const r = await runEvaluate({ cfg, from, to, model: o.model, format: o.format, byDate: o.byDate === true, log: logger() });
        if (r.note) process.stderr.write(`${r.note}\n`);
        process.stdout.write(r.text);
      }),
    );
}
