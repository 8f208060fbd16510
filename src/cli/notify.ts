/**
 * `stockflow notify --date D`: re-send the notifications of a completed date.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { logger } from '../log.js';
import { action } from './run.js';
import { resolveDate } from './batch.js';

export function registerNotify(program: Command): void {
  program
    .command('notify')
    .description("re-send a completed date's Slack and email notifications")
    .requiredOption('--date <YYYY-MM-DD|today>', 'prediction date of a completed run')
    .option('--dry-run', 'print what would be sent; send nothing')
    .option('--data-dir <dir>', 'data directory (env STOCKFLOW_DATA_DIR)')
    .addHelpText('after', '\nExamples:\n  stockflow notify --date 2025-11-14\n  stockflow notify --date 2025-11-14 --dry-run')
    .action(
      action(async (o: { date: string; dryRun?: boolean; dataDir?: string }) => {
        const cfg = loadConfig(o);
        const [{ noticeFromDb, sendNotice }, { channelProblems, checkNotifyConfig, configuredChannels, formatOutcomes, renderEmail, renderSlack }] =
          await Promise.all([import('../batch/notice.js'), import('../notify/index.js')]);
        const notice = noticeFromDb(cfg.dataDir, resolveDate(o.date));
        const problems = channelProblems(cfg.notify);
        if (o.dryRun) {
          // Only the channels that would send; a misconfigured one is named with what is wrong.
          const channels = checkNotifyConfig(cfg.notify, logger());
          // Which run the notice describes (the date's completed run, docs/runs.md), whatever the channels.
          process.stdout.write(`notice for ${notice.predictionDate}: run ${notice.runId} (${notice.status}, as of ${notice.asOfSession})\n`);
          process.stdout.write(`channels configured: ${channels.length > 0 ? channels.join(', ') : 'none'}\n`);
          for (const p of problems) process.stdout.write(`${p.channel}: off: ${p.problem}\n`);
          if (channels.includes('slack')) process.stdout.write(`\n--- slack ---\n${JSON.stringify(renderSlack(notice), null, 2)}\n`);
          if (channels.includes('email')) {
            const mail = renderEmail(notice, cfg.notify);
            process.stdout.write(
              `\n--- email ---\nFrom: ${mail.from}\nTo: ${mail.to.join(', ')}\nSubject: ${mail.subject}\nAttachments: ${mail.attachments.map((a) => a.filename).join(', ') || 'none'}\n\n${mail.text}`,
            );
          }
          return;
        }
        if (configuredChannels(cfg.notify).length === 0) {
          checkNotifyConfig(cfg.notify, logger());
          if (problems.length > 0) for (const p of problems) process.stdout.write(`${p.channel} notifications are off: ${p.problem}\n`);
          else process.stdout.write('notifications are off: set SLACK_WEBHOOK_URL and/or SMTP_URL (or SMTP_HOST…), MAIL_FROM, MAIL_TO\n');
          return;
        }
        const outcomes = await sendNotice(notice, cfg, logger());
        process.stdout.write(`${formatOutcomes(outcomes)}\n`);
        return outcomes.every((x) => x.ok || x.skipped) ? 0 : 1;
      }),
    );
}
