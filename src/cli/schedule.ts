/**
 * `stockflow schedule`: a long-running scheduler for hosts without cron.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { loadConfig, marketDbPath } from '../config.js';
import { logger } from '../log.js';
import { MarketStore } from '../market/store.js';
import type { IsoDate } from '../market/dates.js';
import { BatchChild } from '../schedule/child.js';
import { DEFAULT_CRON, DEFAULT_FETCH_CRON, DEFAULT_TZ, FETCH_UNTIL, Scheduler } from '../schedule/scheduler.js';
import { action } from './run.js';

/** Whether D trades, from the market's holiday table; undefined when market.db cannot be read. */
export function tradingDayChecker(dataDir: string): (d: IsoDate) => boolean | undefined {
  return (d) => {
    if (!existsSync(marketDbPath(dataDir))) return undefined;
    const market = MarketStore.open(dataDir);
    try {
      return market.calendar().isTradingDay(d);
    } finally {
      market.close();
    }
  };
}

export function registerSchedule(program: Command): void {
  program
    .command('schedule')
    .description('run the batch every trading morning (default 07:00 Asia/Kolkata, Mon–Fri) and the evening fetch (19:00) until stopped')
    .option('--cron <expr>', 'cron expression (5 fields, or 6 with seconds)', DEFAULT_CRON)
    .option('--fetch-cron <expr>', `the evening fetch's cron expression (it retries late files until ${FETCH_UNTIL})`, DEFAULT_FETCH_CRON)
    .option('--no-fetch', 'no evening fetch (the market data comes some other way)')
    .option('--tz <zone>', 'time zone of the cron expression', DEFAULT_TZ)
    .option('--run-now', 'trigger once at start, then wait for the schedule')
    .option('--force', 'run on days that are not trading days too')
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .option('--models-dir <dir>', 'model registry (env STOCKFLOW_MODELS_DIR)')
    .addHelpText('after', '\nExamples:\n  stockflow schedule\n  stockflow schedule --run-now --data-dir /data\n  stockflow schedule --cron "30 6 * * 1-5" --tz Asia/Kolkata\n  stockflow schedule --no-fetch')
    .action(
      action(async (o: { cron: string; fetchCron: string; fetch: boolean; tz: string; runNow?: boolean; force?: boolean; dataDir?: string; modelsDir?: string }) => {
        const cfg = loadConfig(o);
        const log = logger().child({ component: 'scheduler' });
        // --force reaches the batch too: otherwise the child would refuse the non-trading day the scheduler let through.
        const child = new BatchChild(['--data-dir', cfg.dataDir, '--models-dir', cfg.modelsDir, ...(o.force ? ['--force'] : [])]);
        const scheduler = new Scheduler({
          cron: o.cron,
          tz: o.tz,
          force: Boolean(o.force),
          log,
          runBatch: (d) => child.run(d),
          isTradingDay: tradingDayChecker(cfg.dataDir),
        });
        // The evening fetch (#13): `data fetch --date D --until 23:00` on trading days; the morning batch then finds the session.
        const fetchChild = new BatchChild(['--until', FETCH_UNTIL, '--data-dir', cfg.dataDir], ['data', 'fetch']);
        const evening = o.fetch
          ? new Scheduler({ cron: o.fetchCron, tz: o.tz, force: false, log, job: 'fetch', runBatch: (d) => fetchChild.run(d), isTradingDay: tradingDayChecker(cfg.dataDir) })
          : undefined;
        scheduler.start();
        evening?.start();
        const stopped = new Promise<void>((resolve) => {
          const stop = (sig: string): void => {
            log.info({ signal: sig }, 'stopping scheduler');
            child.terminate();
            fetchChild.terminate();
            void Promise.all([scheduler.stop(), evening?.stop()]).then(() => resolve());
          };
          process.once('SIGTERM', () => stop('SIGTERM'));
          process.once('SIGINT', () => stop('SIGINT'));
        });
        if (o.runNow) void scheduler.trigger('run-now');
        await stopped;
        log.info('scheduler stopped');
      }),
    );
}
