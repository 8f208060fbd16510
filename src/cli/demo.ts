/**
 * `stockflow demo`: the whole product on the demo market in one command.
 * Generates the market on first use (default seed), then runs the morning
 * batch for the first trading day after its last session. Before it, once,
 * the batch of the latest date whose outcome is already known (the champion's
 * horizon of sessions ending at the last session), so that the morning
 * report's scorecard is not empty (README "The scorecard").
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { loadConfig, marketDbPath, predictionsDir } from '../config.js';
import { logger } from '../log.js';
import { DEMO_DEFAULTS, DEMO_LAST_SESSION } from '../demo/defaults.js';
import { DEFAULT_MAX_ERROR_RATE } from '../batch/budget.js';
import { action, stderrLine, stdoutLine } from './run.js';

/** A path as one shell word (quoted only when it needs to be). */
const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      `generate the demo market if absent (${DEMO_DEFAULTS.stocks} stocks, seed ${DEMO_DEFAULTS.seed}) and run its morning batch (the first time, after the latest date whose outcome is known, for the scorecard)`,
    )
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .option('--models-dir <dir>', 'model registry (env STOCKFLOW_MODELS_DIR)')
    .option('--threads <n>', 'worker threads (default: one per core)')
    .option('--no-notify', 'do not send Slack/email notifications')
    .action(
      action(async (o: { dataDir?: string; modelsDir?: string; threads?: string; notify: boolean }) => {
        const cfg = loadConfig(o);
        const log = logger();
        const [{ generateMarket }, { MarketStore }, { runOneDate }, { progressBar }, { registryHorizons }, { readAliases }, { PredictionsStore }] = await Promise.all([
          import('../demo/generate.js'),
          import('../market/store.js'),
          import('../batch/job.js'),
          import('./progress.js'),
          import('../batch/outcomes.js'),
          import('../model/registry.js'),
          import('../predictions/store.js'),
        ]);
        if (!existsSync(marketDbPath(cfg.dataDir))) {
          process.stdout.write(`no market at ${marketDbPath(cfg.dataDir)}: generating the demo market (first use only)…\n`);
          const bar = progressBar();
          const s = await generateMarket({
            file: marketDbPath(cfg.dataDir),
            ...DEMO_DEFAULTS,
            onProgress: (done, total) => (done === 0 ? bar.start(total, 'generate') : bar.update(done)),
          });
          bar.stop();
          process.stdout.write(`generated ${s.stocks} stocks, ${s.priceRows} price rows in ${(s.ms / 1000).toFixed(1)} s\n`);
        }
        const market = MarketStore.open(cfg.dataDir);
        let date: string;
        let judged: string;
        let horizon: number;
        try {
          const last = market.lastSession() ?? DEMO_LAST_SESSION;
          date = market.nextPredictionDate(last)!;
          const [name, version] = ((await readAliases(cfg.modelsDir).catch(() => ({}) as Record<string, string>)).champion ?? '').split('/');
          horizon = (await registryHorizons(cfg.modelsDir, log))(name ?? null, version ?? '');
          judged = market.calendar().lastSessions(last, horizon)[0];
        } finally {
          market.close();
        }
        const store = PredictionsStore.openReadonlyIfExists(cfg.dataDir);
        let judgedDone: boolean;
        try {
          judgedDone = store?.usable() === true && store.completedRun(judged) !== undefined;
        } finally {
          store?.close();
        }
        if (!judgedDone) {
          process.stdout.write(
            `running ${judged} first (once): its ${horizon} sessions are in the market, so the morning report's scorecard can judge it…\n`,
          );
          await runOneDate(judged, { cfg, flags: { maxErrorRate: DEFAULT_MAX_ERROR_RATE, notify: false }, log, progress: progressBar(), out: stdoutLine, err: stderrLine });
        }
        process.stdout.write(`running the morning batch for ${date}…\n`);
        const code = await runOneDate(date, { cfg, flags: { maxErrorRate: DEFAULT_MAX_ERROR_RATE, notify: o.notify }, log, progress: progressBar(), out: stdoutLine, err: stderrLine });
        // The morning page: the HTML report of the date, and the dashboard over the same data.
        const { outputPaths } = await import('../output/csv.js');
        const html = outputPaths(predictionsDir(cfg.dataDir), date).htmlReport;
        if (existsSync(html)) process.stdout.write(`\nthe morning report (HTML): ${html}\n`);
        const dirs = `--data-dir ${shellQuote(cfg.dataDir)} --models-dir ${shellQuote(cfg.modelsDir)}`;
        process.stdout.write(`the dashboard: stockflow serve ${dirs}, then open http://${cfg.server.host}:${cfg.server.port}/\n`);
        return code;
      }),
    );
}
