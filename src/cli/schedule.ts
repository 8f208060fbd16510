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
import { DEFAULT_CRON, DEFAULT_TZ, Scheduler } from '../schedule/scheduler.js';
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
    .description('run the batch every trading morning (default 07:00 Asia/Kolkata, Mon–Fri) until stopped')
    .option('--cron <expr>', 'cron expression (5 fields, or 6 with seconds)', DEFAULT_CRON)
    .option('--tz <zone>', 'time zone of the cron expression', DEFAULT_TZ)
    .option('--run-now', 'trigger once at start, then wait for the schedule')
    .option('--force', 'run on days that are not trading days too')
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .option('--models-dir <dir>', 'model registry (env STOCKFLOW_MODELS_DIR)')
    .addHelpText('after', '\nExamples:\n  stockflow schedule\n  stockflow schedule --run-now --data-dir /data\n  stockflow schedule --cron "30 6 * * 1-5" --tz Asia/Kolkata')
    .action(
      action(async (o: { cron: string; tz: string; runNow?: boolean; force?: boolean; dataDir?: string; modelsDir?: string }) => {
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
        scheduler.start();
        const stopped = new Promise<void>((resolve) => {
          const stop = (sig: string): void => {
            log.info({ signal: sig }, 'stopping scheduler');
            child.terminate();
            void scheduler.stop().then(resolve);
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
