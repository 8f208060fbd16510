/**
 * `stockflow models list | show | register | promote`: the model registry.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { logger } from '../log.js';
import { ALIAS_NAMES, DEFAULT_MODEL_NAME } from '../model/metadata.js';
import type { RegistryEntry } from '../model/registry.js';
import { referenceSummary } from '../model/drift.js';
import { resolveDate } from './batch.js';

/** The registry, loaded when a models command runs (it brings onnxruntime). */
const registry = (): Promise<typeof import('../model/registry.js')> => import('../model/registry.js');
import { action } from './run.js';

interface DirFlags {
  modelsDir?: string;
}

const MODELS_DIR_HELP = 'model registry directory (env STOCKFLOW_MODELS_DIR; default <package>/models)';

function kb(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} kB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A plain text table: columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function listRow(e: RegistryEntry): string[] {
  const m = e.meta;
  const auc = m?.metrics?.roc_auc;
  return [
    e.name,
    e.version,
    m?.model_type ?? '?',
    m?.feature_set_version ?? '?',
    typeof auc === 'number' ? auc.toFixed(3) : '-',
    typeof m?.trained_until === 'string' ? m.trained_until : '-',
    driftCell(m),
    e.aliases.join(',') || '-',
  ];
}

/** The registry's word on a model's drift reference (docs/monitoring.md): its source, 'none' or 'invalid'. */
export function driftCell(meta: Record<string, unknown> | null | undefined): string {
  const r = referenceSummary(meta);
  return r === undefined ? 'none' : 'problem' in r ? 'invalid' : r.source;
}

/** One line on a model's drift reference, for `models show`. */
export function driftLine(e: RegistryEntry): string {
  const r = referenceSummary(e.meta);
  if (r === undefined) return `drift reference: none (stockflow models profile ${e.ref} --from D1 --to D2 builds one from stored feature rows)`;
  if ('problem' in r) return `drift reference: invalid (${r.problem}); stockflow models profile ${e.ref} --force replaces it`;
  return `drift reference: ${r.source}, ${r.rows.toLocaleString('en-US')} rows${r.from && r.to ? ` (${r.from} to ${r.to})` : ''}`;
}

export function formatList(entries: RegistryEntry[], modelsDir: string): string {
  if (entries.length === 0) return `no models registered in ${modelsDir}\n`;
  const out = [table(['NAME', 'VERSION', 'TYPE', 'FEATURE SET', 'ROC-AUC', 'TRAINED UNTIL', 'DRIFT REF', 'ALIASES'], entries.map(listRow))];
  const broken = entries.filter((e) => e.problem !== undefined);
  if (broken.length > 0) out.push('', ...broken.map((e) => `unusable: ${e.ref}: ${e.problem}`));
  const none = entries.filter((e) => e.meta && driftCell(e.meta) === 'none');
  if (none.length > 0) out.push('', `no drift reference: ${none.map((e) => e.ref).join(', ')} (stockflow models profile <model> --from D1 --to D2)`);
  return `${out.join('\n')}\n`;
}

export function registerModels(program: Command): void {
  const models = program
    .command('models')
    .description('the model registry: list, show, register (models trained elsewhere too) and promote ONNX models');

  models
    .command('list')
    .description('registered models with their type, feature set, ROC-AUC, training date and aliases')
    .option('--json', 'print JSON')
    .option('--models-dir <dir>', MODELS_DIR_HELP)
    .action(
      action(async (o: DirFlags & { json?: boolean }) => {
        const cfg = loadConfig(o);
        const { readAliases, listModels } = await registry();
        const aliases = await readAliases(cfg.modelsDir);
        const entries = await listModels(cfg.modelsDir, aliases);
        if (o.json) {
          const models = entries.map((e) => ({
            ref: e.ref,
            name: e.name,
            version: e.version,
            aliases: e.aliases,
            ...(e.problem ? { problem: e.problem } : {}),
            drift_reference: referenceSummary(e.meta) ?? null,
            meta: e.meta,
          }));
          process.stdout.write(`${JSON.stringify({ modelsDir: cfg.modelsDir, aliases, models }, null, 2)}\n`);
        } else process.stdout.write(formatList(entries, cfg.modelsDir));
      }),
    );

  models
    .command('show')
    .description("one model's model.json and the aliases that point at it")
    .argument('<model>', `version (1.2.0) or name/version (${DEFAULT_MODEL_NAME}/1.2.0)`)
    .option('--json', 'print one JSON object {meta, aliases, dir}')
    .option('--models-dir <dir>', MODELS_DIR_HELP)
    .action(
      action(async (ref: string, o: DirFlags & { json?: boolean }) => {
        const cfg = loadConfig(o);
        const { findModel } = await registry();
        const e = await findModel(cfg.modelsDir, ref);
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify({ ref: e.ref, dir: e.dir, aliases: e.aliases, ...(e.problem ? { problem: e.problem } : {}), drift_reference: referenceSummary(e.meta) ?? null, meta: e.meta }, null, 2)}\n`,
          );
          return;
        }
        const lines = [];
        // The drift reference's bins are long: the text shows one line on it (--json has it whole).
        if (e.meta) lines.push(JSON.stringify({ ...e.meta, drift_reference: undefined }, null, 2), driftLine(e));
        lines.push(`aliases: ${e.aliases.join(', ') || '(none)'}`, `dir:     ${e.dir}`);
        if (e.problem) lines.push(`unusable: ${e.problem}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );

  models
    .command('register')
    .description('validate an ONNX model and its metadata, then copy it into the registry')
    .argument('<file.onnx>', 'the model: float input [N, 25], a `probabilities` tensor output [N, 2] (no ZipMap)')
    .requiredOption('--meta <model.json>', 'metadata: needs version, model_type and feature_names (in input order); the rest is filled in')
    .option('--name <name>', `model name (default: the metadata's name, else ${DEFAULT_MODEL_NAME})`)
    .option('--models-dir <dir>', MODELS_DIR_HELP)
    .addHelpText(
      'after',
      '\nExample:\n  stockflow models register xgb.onnx --meta xgb.json\n  stockflow models promote 1.3.0\n\nSee docs/models.md for the metadata contract.',
    )
    .action(
      action(async (file: string, o: DirFlags & { meta: string; name?: string }) => {
        const cfg = loadConfig(o);
        const { registerModel } = await registry();
        const r = await registerModel({ modelsDir: cfg.modelsDir, onnxFile: file, metaFile: o.meta, name: o.name });
        logger().info({ model: `${r.meta.name}/${r.meta.version}`, dir: r.dir, sha256: r.meta.sha256 }, 'model registered');
        process.stdout.write(
          `registered ${r.meta.name}/${r.meta.version} (${r.meta.model_type}, ${kb(r.sizeBytes)}, sha256 ${r.meta.sha256.slice(0, 12)}…) in ${r.dir}\n` +
            `to score with it by default: stockflow models promote ${r.meta.name}/${r.meta.version}\n`,
        );
      }),
    );

  models
    .command('profile')
    .description("build a model's drift reference (quantile bins of each feature and of its score) from stored feature rows, into its model.json")
    .argument('<model>', `version (1.2.0) or name/version (${DEFAULT_MODEL_NAME}/1.2.0)`)
    .option('--from <YYYY-MM-DD>', 'first prediction date of the stored feature rows (default: the first stored)')
    .option('--to <YYYY-MM-DD>', 'last prediction date (default: the last stored)')
    .option('--force', 'replace a reference the model already has')
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .option('--models-dir <dir>', MODELS_DIR_HELP)
    .addHelpText(
      'after',
      '\nFor a model registered from outside (stockflow train writes the reference itself): the\n' +
        "feature rows the batch stored for those dates (predictions.db feature_values), scored by the\n" +
        'model, give each feature\'s and the score\'s 10 quantile bins (docs/monitoring.md).\n\n' +
        'Exit codes: 0 written; 2 bad arguments, or a reference exists (without --force); 3 the model is\n' +
        'not registered, no predictions.db, or no stored feature rows in the range.',
    )
    .action(
      action(async (ref: string, o: DirFlags & { from?: string; to?: string; force?: boolean; dataDir?: string }) => {
        const cfg = loadConfig(o);
        const from = o.from === undefined ? undefined : resolveDate(o.from, '--from');
        const to = o.to === undefined ? undefined : resolveDate(o.to, '--to');
        const { runProfile } = await import('./models-profile.js');
        const r = await runProfile({ cfg, ref, from, to, force: o.force === true });
        logger().info({ model: r.ref, rows: r.reference.rows, dates: r.dates.length }, 'drift reference written');
        process.stdout.write(
          `profiled ${r.ref}: ${r.reference.rows.toLocaleString('en-US')} stored feature rows of ${r.dates.length} date${r.dates.length === 1 ? '' : 's'} ` +
            `(${r.dates[0]} to ${r.dates[r.dates.length - 1]}); drift reference written to ${r.file}\n`,
        );
      }),
    );

  models
    .command('promote')
    .description('point an alias (champion: what production scores with) at a registered model, after checking it loads')
    .argument('<model>', `version (1.2.0) or name/version (${DEFAULT_MODEL_NAME}/1.2.0)`)
    .option('--alias <alias>', `${ALIAS_NAMES.join(' or ')}`, 'champion')
    .option('--models-dir <dir>', MODELS_DIR_HELP)
    .option('--data-dir <dir>', 'data directory, for the comparison printed first (env STOCKFLOW_DATA_DIR)')
    .addHelpText(
      'after',
      '\nBefore promoting to champion, prints how the model did against the current champion on the\n' +
        'same realised outcomes (stockflow evaluate --compare champion,<model>), when predictions.db has them.',
    )
    .action(
      action(async (ref: string, o: DirFlags & { alias: string; dataDir?: string }) => {
        const cfg = loadConfig(o);
        const { promoteModel } = await registry();
        if (o.alias === 'champion') {
          const { promoteComparison } = await import('./models-promote.js');
          process.stdout.write(await promoteComparison(cfg, ref, logger()));
        }
        const r = await promoteModel(cfg.modelsDir, ref, o.alias);
        logger().info({ alias: r.alias, model: r.ref, previous: r.previous }, 'model promoted');
        process.stdout.write(`${r.alias} → ${r.ref}${r.previous ? ` (was ${r.previous})` : ''}\n`);
      }),
    );
}
