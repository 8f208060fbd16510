/**
 * `stockflow notify --date D`: re-send the notifications of a completed date.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { logger } from '../log.js';
import { noticeFromDb, sendNotice } from '../batch/notice.js';
import { formatOutcomes, renderEmail, renderSlack, configuredChannels } from '../notify/index.js';
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
        const notice = noticeFromDb(cfg.dataDir, resolveDate(o.date));
        const channels = configuredChannels(cfg.notify);
        if (o.dryRun) {
          process.stdout.write(`channels configured: ${channels.length > 0 ? channels.join(', ') : 'none'}\n\n`);
          process.stdout.write(`--- slack ---\n${JSON.stringify(renderSlack(notice), null, 2)}\n\n`);
          const mail = renderEmail(notice, cfg.notify);
          process.stdout.write(
            `--- email ---\nFrom: ${mail.from}\nTo: ${mail.to.join(', ')}\nSubject: ${mail.subject}\nAttachments: ${mail.attachments.map((a) => a.filename).join(', ') || 'none'}\n\n${mail.text}`,
          );
          return;
        }
        if (channels.length === 0) {
          process.stdout.write('notifications are off: set SLACK_WEBHOOK_URL and/or SMTP_URL (or SMTP_HOST…), MAIL_FROM, MAIL_TO\n');
          return;
        }
        const outcomes = await sendNotice(notice, cfg, logger());
        process.stdout.write(`${formatOutcomes(outcomes)}\n`);
        return outcomes.every((x) => x.ok || x.skipped) ? 0 : 1;
      }),
    );
}
