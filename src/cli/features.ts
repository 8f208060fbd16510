/**
 * `stockflow features --date D`: the feature rows the batch would score
 * (after imputation), one per stock, as CSV or JSON on stdout; skip records
 * on stderr.
 */
import type { Command } from 'commander';
import { loadConfig, marketDbPath } from '../config.js';
import { FEATURE_NAMES, N_FEATURES } from '../features/definition.js';
import { MAX_STALENESS_DAYS, stalenessError } from '../market/staleness.js';
import { badArgs } from '../errors.js';
import { action, codesArg } from './run.js';
import { resolveDate } from './batch.js';

export function registerFeatures(program: Command): void {
  program
    .command('features')
    .description('print the 25 features per stock for a prediction date, exactly as the batch scores them')
    .requiredOption('--date <YYYY-MM-DD|today>', 'prediction date: features use data before this date')
    .option('--codes <list>', 'only these BSE codes, comma-separated', codesArg)
    .option('--format <csv|json>', 'output format', 'csv')
    .option('--allow-stale', `print features even when the last session is more than ${MAX_STALENESS_DAYS} days before the date`)
    .option('--threads <n>', 'worker threads (0 = this thread; default: one per core)')
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .addHelpText('after', '\nExamples:\n  stockflow features --date 2025-11-14 --codes 500325,532978\n  stockflow features --date 2025-11-14 --format json > features.json')
    .action(
      action(async (o: { date: string; codes?: string[]; format: string; threads?: string; dataDir?: string; allowStale?: boolean }) => {
        if (o.format !== 'csv' && o.format !== 'json') throw badArgs(`--format must be csv or json, got '${o.format}'`);
        // --threads 0 means this thread; the shared config only knows pool sizes (≥ 1).
        const thisThread = o.threads !== undefined && o.threads.trim() !== '' && Number(o.threads) === 0;
        const cfg = loadConfig({ ...o, threads: thisThread ? undefined : o.threads });
        const date = resolveDate(o.date);
        const [{ stringify }, { openMarketReadonly }, { activeStocks }, { computeFeatures }, { extractionContext }] = await Promise.all([
          import('csv-stringify/sync'),
          import('../market/db.js'),
          import('../market/reader.js'),
          import('../features/service.js'),
          import('../features/context.js'),
        ]);
        const db = openMarketReadonly(cfg.dataDir);
        try {
          // The batch's and the API's staleness rule (src/market/staleness.ts).
          const ctx = extractionContext(db, date);
          const stale = o.allowStale ? undefined : stalenessError(ctx.asOf, date);
          if (stale) throw stale;
          const stocks = activeStocks(db, { codes: o.codes });
          const threads = thisThread || (o.threads === undefined && stocks.length < 500) ? 0 : cfg.threads;
          const fs = await computeFeatures(db, marketDbPath(cfg.dataDir), stocks, date, { threads, ctx });
          const { codes, values } = fs.block;
          if (o.codes) {
            const found = new Set(stocks.map((s) => s.bse_code));
            for (const c of o.codes) if (!found.has(c)) process.stderr.write(`skipped ${c}: UNKNOWN_STOCK or not ACTIVE\n`);
          }
          for (const s of fs.block.skips) process.stderr.write(`skipped ${s.bse_code}: ${s.reason} (${s.detail})\n`);
          if (o.format === 'json') {
            const rows = codes.map((code, i) => ({
              bse_code: code,
              as_of: fs.block.lastBar[i],
              imputed: fs.imputed[i],
              features: Object.fromEntries(FEATURE_NAMES.map((n, j) => [n, values[i * N_FEATURES + j]])),
            }));
            process.stdout.write(`${JSON.stringify({ date, as_of: fs.ctx.asOf, feature_names: FEATURE_NAMES, rows }, null, 2)}\n`);
          } else {
            const rows = codes.map((code, i) => [code, ...Array.from(values.subarray(i * N_FEATURES, (i + 1) * N_FEATURES))]);
            process.stdout.write(stringify(rows, { header: true, columns: ['bse_code', ...FEATURE_NAMES] }));
          }
        } finally {
          db.close();
        }
      }),
    );
}
