/**
 * `stockflow data generate | import | import-exchange | fetch | info | check`: the market database.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { loadConfig, marketDbPath } from '../config.js';
import { EXIT_CODES, badArgs } from '../errors.js';
import { DEMO_DEFAULTS } from '../demo/defaults.js';
import { logger } from '../log.js';
import { action, intArg } from './run.js';
import type { ExchangeInfo } from '../market/check.js';
import { registerFetch } from './fetch.js';

/**
 * The data directory's batch lock, for the writers of market.db: a running
 * batch (or another import or generate) makes them exit 5 (LOCKED) instead
 * of changing the market under it.
 */
async function withDataLock<T>(dataDir: string, fn: () => Promise<T>): Promise<T> {
  const { acquireBatchLock } = await import('../batch/lock.js');
  const lock = await acquireBatchLock(dataDir);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** A dry run refuses what the import would refuse: a --prefer other than the one market.db's exchange bars have (exit 2). */
async function dryRunPreference(dataDir: string, prefer: 'NSE' | 'BSE'): Promise<void> {
  const file = marketDbPath(dataDir);
  if (!existsSync(file)) return;
  const [{ openMarketReadonly }, { checkPreference }] = await Promise.all([import('../market/db.js'), import('../ingest/exchange/prefer.js')]);
  const db = openMarketReadonly(file);
  try {
    checkPreference(db, prefer, file);
  } finally {
    db.close();
  }
}

/** `data info`'s lines about the exchange tables (docs/exchange-files.md, "What `data info` shows"). */
function exchangeLines(x: ExchangeInfo | null): string[] {
  if (!x) return ['exchange:   no exchange files imported'];
  const pct = (a: number, b: number): string => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '-');
  const bands = x.bands.byBand.map((b) => `${b.band === 'No Band' ? b.band : `${b.band}%`} ${b.stocks}`).join(', ');
  const a = x.check.agreement;
  const disagree = a ? a.onlyDerived + a.onlyObserved : 0;
  return [
    `listings:   NSE ${x.listings.NSE}, BSE ${x.listings.BSE}, on both ${x.listings.both}; ISIN lineage ${x.isins.rows} rows, ISIN changes ${x.isins.changed}`,
    `bars as traded: NSE ${x.exchangeBars.NSE}, BSE ${x.exchangeBars.BSE}`,
    `bands:      in force at ${x.bands.session ?? '-'}: ${bands || 'none'}; no band list (the master's band) ${x.bands.withoutBandRows}`,
    `hit lists:  ${x.hits.sessions} sessions${x.hits.first ? ` (${x.hits.first} … ${x.hits.last})` : ''}; listed hits: upper ${x.hits.upper}, lower ${x.hits.lower}`,
    `actions:    split ${x.actions.split}, bonus ${x.actions.bonus}, consolidation ${x.actions.consolidation}`,
    `market caps: ${x.marketCaps.rows} rows, ${x.marketCaps.dates} dates, latest ${x.marketCaps.last ?? '-'}`,
    a
      ? `derived vs listed hits: ${a.judged} rows judged on ${a.sessions} sessions, ${pct(a.judged - disagree, a.judged)} agree; hits by either ${a.agree + disagree}: ` +
        `on both ${a.agree} (${pct(a.agree, a.agree + disagree)}), only derived ${a.onlyDerived}, only listed ${a.onlyObserved}` +
        (a.observedWithoutPrice > 0 ? `; listed without a price row ${a.observedWithoutPrice}` : '')
      : 'derived vs listed hits: no hit list imported (hits are derived from the closes)',
    `check:      suspect moves ${x.check.suspectMoves}, uncovered sessions ${x.check.uncoveredSessions}${x.check.suspectMoves + x.check.uncoveredSessions > 0 ? ' (stockflow data check lists them)' : ''}`,
  ];
}

export function registerData(program: Command): void {
  const data = program.command('data').description('create, import and inspect the market database (data/market.db)');

  data
    .command('generate')
    .description('write a deterministic synthetic NSE/BSE market into <data-dir>/market.db')
    .option('--stocks <n>', 'number of stocks in the master list', intArg(10), DEMO_DEFAULTS.stocks)
    .option('--days <n>', 'trading sessions of prices, ending at a fixed date', intArg(30), DEMO_DEFAULTS.days)
    .option('--seed <n>', 'random seed: same seed, same rows', intArg(0), DEMO_DEFAULTS.seed)
    .option('--force', 'replace an existing market.db (imported data included)')
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .addHelpText(
      'after',
      '\nExamples:\n  stockflow data generate\n  stockflow data generate --stocks 500 --days 300 --seed 7 --data-dir /tmp/demo\n\n' +
        'An existing market.db is kept unless --force is given (exit 2). A running batch or import holds the\n' +
        "data directory's lock: generate then exits 5 without touching market.db.",
    )
    .action(
      action(async (o: { stocks: number; days: number; seed: number; force?: boolean; dataDir?: string }) => {
        const cfg = loadConfig(o);
        const file = marketDbPath(cfg.dataDir);
        if (existsSync(file) && !o.force) {
          throw badArgs(`${file} already exists: 'data generate' would replace it (imported data included); pass --force to replace it`);
        }
        const [{ generateMarket }, { progressBar }] = await Promise.all([import('../demo/generate.js'), import('./progress.js')]);
        const bar = progressBar();
        const s = await withDataLock(cfg.dataDir, () =>
          generateMarket({
            file,
            stocks: o.stocks,
            days: o.days,
            seed: o.seed,
            onProgress: (done, total) => (done === 0 ? bar.start(total, 'generate') : bar.update(done)),
          }),
        );
        bar.stop();
        logger().info(s, 'market generated');
        process.stdout.write(
          `wrote ${s.file}: ${s.stocks} stocks (${s.active} active), ${s.priceRows} price rows, sessions ${s.firstSession} … ${s.lastSession}, in ${(s.ms / 1000).toFixed(1)} s\n`,
        );
      }),
    );

  data
    .command('import')
    .description("load an analyst's own CSV files into <data-dir>/market.db (validated, upserted, all in one transaction)")
    .requiredOption('--master <file>', 'master stock list CSV')
    .requiredOption('--prices <file>', 'daily prices CSV')
    .option('--results <file>', 'quarterly results CSV')
    .option('--calendar <file>', 'earnings calendar CSV')
    .option('--sentiment <file>', 'news sentiment CSV')
    .option('--holidays <file>', 'market holidays CSV')
    .option('--max-reject-rate <fraction>', "fail the import when more than this share of a file's rows is rejected (0.01 = 1%)", (v: string) => (v.trim() === '' ? Number.NaN : Number(v)), 0.01)
    .option('--rejects <file>', 'where rejected rows go (default <data-dir>/rejects.csv)')
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .addHelpText(
      'after',
      '\nExamples:\n  stockflow data import --master data/samples/master.csv --prices data/samples/prices.csv \\\n    --results data/samples/results.csv --calendar data/samples/calendar.csv \\\n    --sentiment data/samples/sentiment.csv --holidays data/samples/holidays.csv\n  stockflow data import --master master.csv --prices prices.csv --max-reject-rate 0.05 --rejects /tmp/rejects.csv\n\nColumns, validation rules and the rejects file: docs/csv-formats.md. Exit codes: 0 imported, 2 bad flag,\n3 missing input file, 5 a batch holds the lock, 6 rejected (a file past --max-reject-rate, or unreadable as CSV); on failure the database is unchanged.',
    )
    .action(
      action(async (o: {
        master: string; prices: string; results?: string; calendar?: string; sentiment?: string; holidays?: string;
        maxRejectRate: number; rejects?: string; dataDir?: string;
      }) => {
        const cfg = loadConfig(o);
        const { importCsvs } = await import('../ingest/import.js');
        const s = await withDataLock(cfg.dataDir, () =>
          importCsvs({
            dataDir: cfg.dataDir,
            files: { master: o.master, prices: o.prices, results: o.results, calendar: o.calendar, sentiment: o.sentiment, holidays: o.holidays },
            maxRejectRate: o.maxRejectRate,
            rejectsFile: o.rejects,
          }),
        );
        process.stdout.write(s.text);
        return s.exitCode;
      }),
    );

  data
    .command('import-exchange')
    .description("import the exchanges' own files (NSE/BSE bhavcopies, PR bundles, price bands, equity masters) into <data-dir>/market.db: files, .zip archives or folders")
    .argument('<paths...>', 'files, .zip archives or folders (read recursively)')
    .option('--dry-run', 'detect, parse and validate everything and print a summary; market.db is not written')
    .option('--series <list>', 'NSE series to keep, comma-separated (default EQ,BE,BZ,SM,ST)', (v: string) => v.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean))
    .option('--prefer <exchange>', "whose bars go into daily_prices where both exchanges have one: nse or bse", 'nse')
    .option('--max-reject-rate <fraction>', "fail when more than this share of a file's rows is rejected (0.01 = 1%)", (v: string) => (v.trim() === '' ? Number.NaN : Number(v)), 0.01)
    .option('--rejects <file>', 'where rejected rows go (default <data-dir>/rejects.csv)')
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  stockflow data import-exchange ~/exchange\n  stockflow data import-exchange ~/exchange --dry-run\n' +
        '  stockflow data import-exchange PR161225.zip BhavCopy_NSE_CM_0_0_0_20251216_F_0000.csv.zip --series EQ,BE --prefer bse\n\n' +
        "Each file's kind is found from its header, not its name; what goes where, the key rule: docs/exchange-files.md.\n" +
        'One transaction: on any failure market.db is unchanged. Exit codes: 0 imported (or read, with --dry-run), 2 bad flag\n' +
        "(or a --prefer other than the one market.db's exchange bars were imported with),\n" +
        '3 a path does not exist, 5 a batch holds the lock, 6 a file past --max-reject-rate, 7 a file that is not a known\n' +
        'exchange file or whose columns changed, 130 interrupted.',
    )
    .action(
      action(async (paths: string[], o: { dryRun?: boolean; series?: string[]; prefer: string; maxRejectRate: number; rejects?: string; dataDir?: string; json?: boolean }) => {
        if (!(o.maxRejectRate >= 0 && o.maxRejectRate <= 1)) throw badArgs('--max-reject-rate must be a number from 0 to 1');
        if (o.series !== undefined && o.series.length === 0) throw badArgs('--series needs at least one series');
        const prefer = o.prefer.trim().toUpperCase();
        if (prefer !== 'NSE' && prefer !== 'BSE') throw badArgs(`--prefer must be nse or bse, not '${o.prefer}'`);
        if (o.dryRun) {
          const { dryRun, summaryText, thresholdError } = await import('../ingest/exchange/summary.js');
          await dryRunPreference(loadConfig(o).dataDir, prefer);
          const s = await dryRun(paths, { nseSeries: o.series, maxRejectRate: o.maxRejectRate });
          process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : summaryText(s));
          const err = thresholdError(s, o.maxRejectRate);
          if (err) throw err;
          return;
        }
        const cfg = loadConfig(o);
        const { importExchange } = await import('../ingest/exchange/import.js');
        const s = await withDataLock(cfg.dataDir, () =>
          importExchange(paths, { dataDir: cfg.dataDir, nseSeries: o.series, prefer, maxRejectRate: o.maxRejectRate, rejectsFile: o.rejects }),
        );
        if (o.json) {
          const { text: _text, ...rest } = s;
          process.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
        } else process.stdout.write(s.text);
      }),
    );

  registerFetch(data);

  data
    .command('info')
    .description("row counts, date range and active stocks in <data-dir>/market.db; with exchange files imported, the exchange tables' counts and how often derived circuit hits agree with the exchange's list")
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .option('--json', 'print JSON')
    .action(
      action(async (o: { dataDir?: string; json?: boolean }) => {
        const cfg = loadConfig(o);
        const [{ MarketStore }, { PredictionsStore }, { exchangeInfo }] = await Promise.all([
          import('../market/store.js'),
          import('../predictions/store.js'),
          import('../market/check.js'),
        ]);
        const market = MarketStore.open(cfg.dataDir);
        try {
          const i = market.info();
          // The exchange tables (data import-exchange): null when none holds a row.
          const exchange = exchangeInfo(market.db);
          // The last batch run; runs whose process is gone are marked interrupted here (docs/runs.md).
          const runs = PredictionsStore.inspect(cfg.dataDir);
          const last = runs?.lastRun;
          const lastRun = last ? { run_id: last.run_id, prediction_date: last.prediction_date, status: last.status, scope: last.scope, started_at: last.started_at } : null;
          // The last evening fetch (`data fetch`, predictions.db fetch_runs).
          const f = runs?.lastFetch;
          const lastFetch = f
            ? { run_id: f.run_id, sessions: f.first_session === f.last_session ? f.first_session : `${f.first_session} … ${f.last_session}`, status: f.status, fetched: f.fetched, present: f.present, missing: f.missing, failed: f.failed, finished_at: f.finished_at, import: f.import_status }
            : null;
          if (o.json) process.stdout.write(`${JSON.stringify({ ...i, exchange, lastRun, lastFetch, interruptedNow: runs?.reconciled ?? [] }, null, 2)}\n`);
          else
            process.stdout.write(
              [
                `market:     ${marketDbPath(cfg.dataDir)}`,
                `stocks:     ${i.stocks} (${i.active} active, ${i.suspended} suspended, ${i.delisted} delisted)`,
                `prices:     ${i.priceRows} rows, ${i.firstSession ?? '-'} … ${i.lastSession ?? '-'}`,
                `results:    ${i.results}`,
                `calendar:   ${i.calendar}`,
                `news:       ${i.news}`,
                `holidays:   ${i.holidays}`,
                ...exchangeLines(exchange),
                `last run:   ${lastRun ? `${lastRun.run_id} (${lastRun.prediction_date}, ${lastRun.scope}): ${lastRun.status}` : '-'}`,
                ...(runs && runs.reconciled.length > 0 ? [`marked interrupted (process gone): ${runs.reconciled.join(', ')}`] : []),
                ...(lastFetch
                  ? [`last fetch: ${lastFetch.run_id} (${lastFetch.sessions ?? 'masters'}): ${lastFetch.status}, ${lastFetch.fetched} fetched, ${lastFetch.present} present, ${lastFetch.missing} missing, ${lastFetch.failed} failed; import ${lastFetch.import.slice(0, 120)}`]
                  : []),
                '',
              ].join('\n'),
            );
        } finally {
          market.close();
        }
      }),
    );

  data
    .command('check')
    .description('suspect moves (a close beyond its band with no split or bonus explaining it), sessions the calendar expects but no price row covers, and how often derived circuit hits agree with the exchange\'s list')
    .option('--strict', `exit ${EXIT_CODES.DATA_CHECK_FINDINGS} when there are suspect moves or uncovered sessions`)
    .option('--limit <n>', 'suspect moves and sessions listed in the text output (all are in --json)', intArg(0), 50)
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .option('--json', 'print JSON')
    .addHelpText('after', `\nExit codes: 0 checked (findings are printed; without --strict they do not change the code), ${EXIT_CODES.DATA_CHECK_FINDINGS} with --strict when there are suspect moves or uncovered sessions, 3 no usable market.db.`)
    .action(
      action(async (o: { strict?: boolean; limit: number; dataDir?: string; json?: boolean }) => {
        const cfg = loadConfig(o);
        const [{ openMarketReadonly }, { checkMarket, hasFindings }] = await Promise.all([import('../market/db.js'), import('../market/check.js')]);
        const db = openMarketReadonly(cfg.dataDir);
        let r;
        try {
          r = checkMarket(db);
        } finally {
          db.close();
        }
        if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else {
          const lines = [`market:       ${marketDbPath(cfg.dataDir)}`, `prices:       ${r.priceRows} rows, ${r.firstSession ?? '-'} … ${r.lastSession ?? '-'}`];
          lines.push(`suspect moves: ${r.suspectMoves.length}${r.suspectMoves.length > 0 ? ' (stock, date, previous close → close, ratio, band)' : ''}`);
          for (const m of r.suspectMoves.slice(0, o.limit)) {
            const adj = m.factor !== 1 ? `, after factor ${m.factor}` : '';
            lines.push(`  ${m.bse_code} ${m.date}: ${m.prev_close} → ${m.close}, ratio ${m.ratio.toFixed(4)}, band ${m.band_pct}%${adj}`);
          }
          if (r.suspectMoves.length > o.limit) lines.push(`  … ${r.suspectMoves.length - o.limit} more (--json lists all)`);
          lines.push(`uncovered sessions: ${r.uncoveredSessions.length}${r.uncoveredSessions.length > 0 ? ` (${r.uncoveredSessions.slice(0, o.limit).join(', ')}${r.uncoveredSessions.length > o.limit ? ', …' : ''})` : ''}`);
          const a = r.agreement;
          if (!a) lines.push('circuit hits: no exchange list imported (hits are derived from the closes)');
          else {
            lines.push(
              `circuit hits: ${a.sessions} sessions with the exchange's list, ${a.judged} rows judged: agree ${a.agree}, only derived ${a.onlyDerived}, only observed ${a.onlyObserved}` +
                (a.observedWithoutPrice > 0 ? `, listed without a price row ${a.observedWithoutPrice}` : ''),
            );
            for (const e of a.examples.slice(0, o.limit)) lines.push(`  ${e.bse_code} ${e.date}: ${e.kind.replace('_', ' ')}`);
          }
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        return o.strict && hasFindings(r) ? EXIT_CODES.DATA_CHECK_FINDINGS : EXIT_CODES.OK;
      }),
    );
}
