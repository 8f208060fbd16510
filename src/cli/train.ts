/**
 * `stockflow train`: train a GBDT on the market, export it to ONNX and
 * register it (optionally promoting it to champion).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT, loadConfig, marketDbPath } from '../config.js';
import { logger } from '../log.js';
import { parseIsoDate } from '../market/dates.js';
import { checkModelName, checkVersion } from '../model/metadata.js';
import { action, intArg } from './run.js';

/** Bounds of train's arguments, checked before any work (README "Limits"). */
export const MAX_HORIZON = 60;
export const MAX_DATES = 1000;
export const MIN_VALID_SHARE = 0.05;
export const MAX_VALID_SHARE = 0.5;

function validShareArg(value: string): number {
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (!(n >= MIN_VALID_SHARE && n <= MAX_VALID_SHARE)) throw new InvalidArgumentError(`expected a fraction from ${MIN_VALID_SHARE} to ${MAX_VALID_SHARE}`);
  return n;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a gradient-boosted tree model on point-in-time features, export it to ONNX and register it')
    .option('--until <YYYY-MM-DD>', 'use only dates whose label window ends before this date (default: all data)')
    .option('--horizon <sessions>', `label: an upper circuit within this many sessions (1 to ${MAX_HORIZON})`, intArg(1, MAX_HORIZON), 5)
    .option('--version <X.Y.Z>', 'version to register (default: next patch version)')
    .option('--name <name>', 'model name in the registry', 'upper-circuit')
    .option('--dates <n>', `prediction dates to sample (4 to ${MAX_DATES}; more dates: more rows, slower)`, intArg(4, MAX_DATES), 16)
    .option('--valid-share <fraction>', `share of the (latest) dates used for validation (${MIN_VALID_SHARE} to ${MAX_VALID_SHARE})`, validShareArg, 0.25)
    .option('--seed <n>', 'random seed of the trainer (0 to 4294967295)', intArg(0, 0xffffffff), 42)
    .option('--promote', 'make the new version the champion')
    .option('--threads <n>', 'worker threads for extraction (default: one per core)')
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .option('--models-dir <dir>', 'model registry (env STOCKFLOW_MODELS_DIR)')
    .addHelpText('after', '\nExamples:\n  stockflow train\n  stockflow train --until 2025-09-30 --version 1.1.0 --promote')
    .action(
      action(
        async (o: {
          until?: string; horizon: number; version?: string; name: string; dates: number; validShare: number; seed: number;
          promote?: boolean; threads?: string; dataDir?: string; modelsDir?: string;
        }) => {
          const cfg = loadConfig(o);
          if (o.until) parseIsoDate(o.until, '--until');
          if (o.version) checkVersion(o.version, '--version');
          checkModelName(o.name, '--name');
          const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
          const [{ openMarketReadonly }, { train }] = await Promise.all([import('../market/db.js'), import('../model/train/train.js')]);
          const market = openMarketReadonly(cfg.dataDir);
          try {
            const r = await train({
              market,
              marketFile: marketDbPath(cfg.dataDir),
              modelsDir: cfg.modelsDir,
              horizon: o.horizon,
              until: o.until,
              version: o.version,
              name: o.name,
              dates: o.dates,
              validShare: o.validShare,
              threads: cfg.threads,
              promote: Boolean(o.promote),
              params: { seed: o.seed },
              log: logger(),
              producerVersion: pkg.version,
            });
            const m = r.metrics;
            const f = (x: unknown): string => (typeof x === 'number' ? x.toFixed(3) : '-');
            process.stdout.write(
              [
                `registered ${r.meta.name}/${r.meta.version} in ${r.dir}${r.promoted ? ' (champion)' : ''}`,
                `rows: ${r.trainRows} train, ${r.validRows} validation`,
                `validation: ROC-AUC ${f(m.roc_auc)}, PR-AUC ${f(m.pr_auc)}, F1@0.5 ${f(m.f1_at_0_5)}, precision@100 ${f(m.precision_at_100)}, base rate ${f(m.base_rate)}`,
                `ONNX parity: max |Δp| ${r.maxParityError.toExponential(2)}`,
                `time: ${(r.ms.total / 1000).toFixed(1)} s (dataset ${(r.ms.dataset / 1000).toFixed(1)} s, fit ${(r.ms.fit / 1000).toFixed(1)} s)`,
                '',
              ].join('\n'),
            );
          } finally {
            market.close();
          }
        },
      ),
    );
}
