/**
 * Notifications of a batch run to Slack (incoming webhook) and email (SMTP).
 *
 * `notifyRun` sends to every configured channel at once, retrying each with
 * exponential backoff, and returns one outcome per channel. It never throws:
 * a notification failure must not fail or roll back the batch. No log line
 * and no outcome carries the webhook URL, the SMTP URL or the SMTP password.
 */
import type { NotifyConfig } from '../config.js';
import { logger as rootLogger, type Logger } from '../log.js';
import { createEmailSender, emailConfigProblem, renderEmail, type EmailMessage, type EmailSender } from './email.js';
import { normalizePolicy, describeError, secretsOf, safeUrl, withRetry, type RetryPolicy, type RetryResult } from './retry.js';
import { postSlack, renderSlack, type SlackMessage } from './slack.js';
import type { Channel, ChannelOutcome, RunNotice } from './types.js';

export type { Channel, ChannelOutcome, RunNotice } from './types.js';
export type { RetryPolicy } from './retry.js';
export type { EmailMessage } from './email.js';
export type { SlackMessage, SlackBlock, SlackText } from './slack.js';
export { renderSlack } from './slack.js';
export { renderEmail } from './email.js';
export { headline } from './types.js';
export { DEFAULT_RETRY, backoffMs } from './retry.js';

export interface NotifyOptions {
  log?: Logger;
  /** Render and log what would be sent; send nothing. */
  dryRun?: boolean;
  /** Attempts in all and the first backoff (default 3 tries, 1000 ms: waits of 1 s, then 2 s). */
  retry?: Partial<RetryPolicy>;
  /** Per attempt: Slack's whole request (default 10 s); SMTP's connect, greeting and socket silence (default 30 s). */
  timeoutMs?: number;
}

export const DEFAULT_SLACK_TIMEOUT_MS = 10_000;
export const DEFAULT_SMTP_TIMEOUT_MS = 30_000;

/** Why Slack cannot be used, or undefined when it can. */
function slackConfigProblem(cfg: NotifyConfig): { problem: string; partial: boolean } | undefined {
  if (!cfg.slackWebhookUrl) return { problem: 'SLACK_WEBHOOK_URL is not set', partial: false };
  const u = safeUrl(cfg.slackWebhookUrl);
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) return { problem: 'SLACK_WEBHOOK_URL is not a valid http(s) URL', partial: true };
  return undefined;
}

/** What is wrong with each channel that has some settings but cannot be used ('SLACK_WEBHOOK_URL is not …'). */
export function channelProblems(cfg: NotifyConfig): { channel: Channel; problem: string }[] {
  const out: { channel: Channel; problem: string }[] = [];
  const slack = slackConfigProblem(cfg);
  if (slack?.partial) out.push({ channel: 'slack', problem: slack.problem });
  const email = emailConfigProblem(cfg);
  if (email?.partial) out.push({ channel: 'email', problem: email.problem });
  return out;
}

/**
 * The usable channels, after logging (once per call) a warning for each
 * channel that is set but misconfigured, and an info line when nothing is set.
 */
export function checkNotifyConfig(cfg: NotifyConfig, log: Logger): Channel[] {
  for (const p of channelProblems(cfg)) log.warn({ channel: p.channel, problem: p.problem }, `${p.channel} notifications are off: ${p.problem}`);
  const channels = configuredChannels(cfg);
  if (channels.length === 0 && channelProblems(cfg).length === 0) {
    log.info('notifications are off: set SLACK_WEBHOOK_URL, and/or SMTP_URL (or SMTP_HOST) with MAIL_FROM and MAIL_TO');
  }
  return channels;
}

/** The channels with complete, well-formed settings, in sending order. */
export function configuredChannels(cfg: NotifyConfig): Channel[] {
  const out: Channel[] = [];
  if (!slackConfigProblem(cfg)) out.push('slack');
  if (!emailConfigProblem(cfg)) out.push('email');
  return out;
}

/** "slack: ok (1 attempt); email: failed after 3 attempts: …" — for batch_runs and logs. */
export function formatOutcomes(outcomes: readonly ChannelOutcome[]): string {
  return outcomes
    .map((o) => {
      if (o.skipped) return `${o.channel}: off${o.error ? ` (${o.error})` : ''}`;
      if (o.dryRun) return `${o.channel}: ${o.ok ? 'dry run' : `dry run failed: ${o.error ?? 'unknown error'}`}`;
      const tries = `${o.attempts} attempt${o.attempts === 1 ? '' : 's'}`;
      return o.ok ? `${o.channel}: ok (${tries})` : `${o.channel}: failed after ${tries}: ${o.error ?? 'unknown error'}`;
    })
    .join('; ');
}

interface ChannelPlan {
  channel: Channel;
  /** Renders the message and returns a one-attempt sender; throws only on a bad notice. */
  prepare(): { describe: Record<string, unknown>; attempt: () => Promise<void>; close: () => void };
}

async function runChannel(
  plan: ChannelPlan,
  policy: RetryPolicy,
  dryRun: boolean,
  secrets: readonly string[],
  log: Logger,
): Promise<ChannelOutcome> {
  const channel = plan.channel;
  let prepared: ReturnType<ChannelPlan['prepare']>;
  try {
    prepared = plan.prepare();
  } catch (e) {
    const error = describeError(e, secrets);
    log.error({ channel, error }, 'notification could not be prepared');
    return { channel, ok: false, attempts: 0, error, ...(dryRun ? { dryRun: true as const } : {}) };
  }
  if (dryRun) {
    log.info({ channel, ...prepared.describe }, 'dry run: notification not sent');
    prepared.close();
    return { channel, ok: true, attempts: 0, dryRun: true };
  }
  let result: RetryResult;
  try {
    result = await withRetry(
      () => prepared.attempt(),
      policy,
      (e) => describeError(e, secrets),
      (f) => log.warn({ channel, attempt: f.attempt, tries: f.tries, error: f.error, retryInMs: f.retryInMs }, `${channel} notification attempt failed`),
    );
  } finally {
    try {
      prepared.close();
    } catch {
      // closing an idle transport cannot lose anything
    }
  }
  if (result.ok) {
    log.info({ channel, attempts: result.attempts }, `${channel} notification sent`);
    return { channel, ok: true, attempts: result.attempts };
  }
  log.error({ channel, attempts: result.attempts, error: result.error }, `${channel} notification failed; the run is unaffected`);
  return { channel, ok: false, attempts: result.attempts, error: result.error };
}

function slackPlan(n: RunNotice, cfg: NotifyConfig, timeoutMs: number): ChannelPlan {
  return {
    channel: 'slack',
    prepare() {
      const message: SlackMessage = renderSlack(n);
      const url = cfg.slackWebhookUrl as string;
      return {
        describe: { text: message.text, payload: JSON.stringify(message) },
        attempt: () => postSlack(url, message, timeoutMs),
        close: () => undefined,
      };
    },
  };
}

function emailPlan(n: RunNotice, cfg: NotifyConfig, timeoutMs: number, log: Logger): ChannelPlan {
  return {
    channel: 'email',
    prepare() {
      const message: EmailMessage = renderEmail(n, cfg);
      if (n.csvPath && message.attachments.length === 0) {
        log.warn({ channel: 'email', csv: n.csvPath }, 'the predictions CSV does not exist; sending the email without it');
      }
      let sender: EmailSender | undefined;
      return {
        describe: {
          from: message.from,
          to: message.to,
          subject: message.subject,
          attachments: message.attachments.map((a) => a.filename),
          body: message.text,
          html: message.html === undefined ? 'none' : `${message.html.length} characters`,
        },
        attempt: () => {
          sender ??= createEmailSender(cfg, timeoutMs);
          return sender.send(message);
        },
        close: () => sender?.close(),
      };
    },
  };
}

/**
 * Sends `n` to every configured channel (concurrently) and returns one
 * outcome per channel, Slack first. A channel that is not configured comes
 * back `{ ok: false, attempts: 0, skipped: 'not_configured' }` (with an
 * `error` naming what is missing when it is half configured). Never throws.
 */
export async function notifyRun(n: RunNotice, cfg: NotifyConfig, opts: NotifyOptions = {}): Promise<ChannelOutcome[]> {
  let log: Logger;
  try {
    log = (opts.log ?? rootLogger()).child({ component: 'notify', runId: n?.runId, date: n?.predictionDate });
  } catch {
    log = rootLogger();
  }
  try {
    const policy = normalizePolicy(opts.retry);
    const dryRun = opts.dryRun === true;
    const secrets = secretsOf(cfg);
    const timeout = (fallback: number): number =>
      opts.timeoutMs !== undefined && Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0 ? opts.timeoutMs : fallback;

    const work: Array<Promise<ChannelOutcome>> = [];
    const checks: Array<[Channel, { problem: string; partial: boolean } | undefined, () => ChannelPlan]> = [
      ['slack', slackConfigProblem(cfg), () => slackPlan(n, cfg, timeout(DEFAULT_SLACK_TIMEOUT_MS))],
      ['email', emailConfigProblem(cfg), () => emailPlan(n, cfg, timeout(DEFAULT_SMTP_TIMEOUT_MS), log)],
    ];
    for (const [channel, problem, plan] of checks) {
      if (problem) {
        if (problem.partial) log.warn({ channel, problem: problem.problem }, `${channel} notifications are off: ${problem.problem}`);
        work.push(
          Promise.resolve({ channel, ok: false, attempts: 0, skipped: 'not_configured' as const, ...(problem.partial ? { error: problem.problem } : {}) }),
        );
      } else {
        work.push(runChannel(plan(), policy, dryRun, secrets, log));
      }
    }
    const outcomes = await Promise.all(work);
    if (outcomes.every((o) => o.skipped) && outcomes.every((o) => !o.error)) {
      log.info('notifications are off: set SLACK_WEBHOOK_URL, and/or SMTP_URL (or SMTP_HOST) with MAIL_FROM and MAIL_TO');
    }
    return outcomes;
  } catch (e) {
    // Unreachable in practice (each channel catches its own failures), but a
    // notification must never fail the batch.
    const error = describeError(e, safeSecrets(cfg));
    try {
      log.error({ error }, 'notifications failed unexpectedly; the run is unaffected');
    } catch {
      // nothing more to do
    }
    return (['slack', 'email'] as const).map((channel) => ({ channel, ok: false, attempts: 0, error }));
  }
}

function safeSecrets(cfg: NotifyConfig): string[] {
  try {
    return secretsOf(cfg);
  } catch {
    return [];
  }
}
