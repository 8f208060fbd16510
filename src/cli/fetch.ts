/**
 * `stockflow data fetch`: download each session's exchange files into <data-dir>/raw/YYYY/MM/DD/ and import
 * them (src/fetch; README "The evening fetch"). Modules load when the command runs.
 */
import type { Command } from 'commander';
import { TIME_ZONE, loadConfig } from '../config.js';
import { badArgs } from '../errors.js';
import { logger } from '../log.js';
import { parseIsoDate, todayIn, type IsoDate } from '../market/dates.js';
import { action } from './run.js';
import type { Importer } from '../fetch/run.js';

/** A date flag: YYYY-MM-DD or 'today' (in Asia/Kolkata). */
const dateFlag = (s: string, flag: string, now: Date): IsoDate => (s === 'today' ? todayIn(TIME_ZONE, now) : parseIsoDate(s, flag));

interface FetchFlags {
  date?: string;
  from?: string;
  to?: string;
  masters?: boolean;
  force?: boolean;
  import: boolean;
  until?: string;
  dataDir?: string;
  json?: boolean;
}

export function registerFetch(data: Command): void {
  data
    .command('fetch')
    .description("download a session's exchange files (NSE UDiFF bhavcopy, PR bundle, full bhavcopy, sec_list, BSE UDiFF bhavcopy; masters weekly) into <data-dir>/raw/ and import them")
    .option('--date <date>', 'one session (YYYY-MM-DD or today; default: the last session whose files should be out, after 18:00 IST)')
    .option('--from <date>', 'first session of a range')
    .option('--to <date>', 'last session of a range (default: the default date)')
    .option('--masters', 'fetch the masters (EQUITY_L, BSE list of scrips) too (otherwise weekly)')
    .option('--force', 'fetch again files already present and valid')
    .option('--no-import', 'download only; do not import into market.db')
    .option('--until <HH:MM>', 'keep asking for files not published yet until this time (IST), every lateRetryMinutes')
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  stockflow data fetch                       # the evening: today\'s files after 18:00 IST\n' +
        '  stockflow data fetch --until 23:00         # the scheduled job: retry late files until 23:00 IST\n' +
        '  stockflow data fetch --from 2025-12-01 --to 2025-12-16 --no-import\n\n' +
        'URLs, rate, timeouts and retries: <data-dir>/fetch.json or STOCKFLOW_FETCH_* variables; HTTPS_PROXY is honoured\n' +
        '(README "The evening fetch"). Exit codes: 0 every file fetched or present, 2 bad flag or settings,\n' +
        '9 some files missing (not published) or failed (the rest kept and imported); an import failure keeps its own code.',
    )
    .action(
      action(async (o: FetchFlags) => {
        if (o.date !== undefined && (o.from !== undefined || o.to !== undefined)) throw badArgs('--date cannot be combined with --from/--to');
        if (o.to !== undefined && o.from === undefined) throw badArgs('--to needs --from');
        const cfg = loadConfig(o);
        const now = new Date();
        const [{ defaultFetchDate, fetchCalendar, sessionsToFetch, untilMoment }, { loadFetchSettings }, { runFetch, fetchSummaryText, mastersDue }, { PredictionsStore }] =
          await Promise.all([import('../fetch/dates.js'), import('../fetch/config.js'), import('../fetch/run.js'), import('../predictions/store.js')]);
        const settings = loadFetchSettings(cfg.dataDir);
        const until = o.until !== undefined ? untilMoment(o.until, now) : null;
        const first = o.date !== undefined ? dateFlag(o.date, '--date', now) : o.from !== undefined ? dateFlag(o.from, '--from', now) : undefined;
        const calendar = fetchCalendar(cfg.dataDir, first ?? now.toISOString().slice(0, 10));
        let from: IsoDate;
        let to: IsoDate;
        if (o.date !== undefined) from = to = dateFlag(o.date, '--date', now);
        else if (o.from !== undefined) {
          from = dateFlag(o.from, '--from', now);
          to = o.to !== undefined ? dateFlag(o.to, '--to', now) : defaultFetchDate(calendar, now);
        } else from = to = defaultFetchDate(calendar, now);
        const { sessions, holidays } = sessionsToFetch(calendar, from, to);
        const masters = (Boolean(o.masters) || mastersDue(cfg.dataDir, now)) && settings.sources.some((x) => !x.daily && x.enabled);
        if (sessions.length === 0 && !masters) {
          process.stdout.write(`${from === to ? `${from} is not a trading day (weekend or exchange holiday)` : `no trading session from ${from} to ${to}`}: nothing to fetch\n`);
          return 0;
        }
        const log = logger();
        const s = await runFetch({
          dataDir: cfg.dataDir,
          sessions,
          holidays,
          masters,
          force: Boolean(o.force),
          settings,
          until,
          importer: o.import ? await exchangeImporter(cfg.dataDir) : undefined,
          record: (row) => {
            const store = PredictionsStore.openForWrite(cfg.dataDir);
            try {
              store.recordFetchRun(row);
            } finally {
              store.close();
            }
          },
          log,
        });
        process.stdout.write(o.json ? `${JSON.stringify({ ...s, importError: s.importError?.message }, null, 2)}\n` : fetchSummaryText(s));
        if (s.importError) throw s.importError;
        return s.exitCode;
      }),
    );
}

/**
 * The import step: the exchange importer (src/ingest/exchange/import.ts) writing the downloaded folders into
 * market.db in one transaction, under the data directory's lock (a running batch: exit 5, the files stay).
 */
async function exchangeImporter(dataDir: string): Promise<Importer> {
  const [{ importExchange }, { acquireBatchLock }] = await Promise.all([import('../ingest/exchange/import.js'), import('../batch/lock.js')]);
  return async (paths) => {
    const lock = await acquireBatchLock(dataDir);
    try {
      const s = await importExchange(paths, { dataDir });
      const rows = Object.entries(s.written)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      return `${paths.length} folder(s) into ${s.marketDb}: ${s.keys.touched} securities; rows ${rows || 'none'}; rejects ${s.read.rejectCount}`;
    } finally {
      lock.release();
    }
  };
}
