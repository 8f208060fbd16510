/**
 * The email for a run (subject, HTML body with the text report as its
 * plain-text alternative, CSV attachment) and its SMTP
 * transport (nodemailer), from SMTP_URL or SMTP_HOST/PORT/USER/PASSWORD.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { NotifyConfig } from '../config.js';
import { driftText, failureText, headline, scorecardText, type RunNotice } from './types.js';
import { safeUrl } from './retry.js';

export interface EmailMessage {
  from: string;
  to: string[];
  subject: string;
  text: string;
  /** The HTML report as the body (the text is then its plain-text alternative); absent when the run wrote none. */
  html?: string;
  attachments: Array<{ filename: string; path: string }>;
}

/** True when `p` names an existing regular file. */
function isFile(p: string): boolean {
  try {
    return existsSync(p) && statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The HTML report with the failure lines as a banner at the top of its body. */
function htmlBody(html: string, banner: string[]): string {
  if (banner.length === 0) return html;
  const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const div = `<div role="alert" style="background:#fde8e7;border:1px solid #b42318;color:#7a1a12;padding:10px 14px;margin:12px;border-radius:6px;font-weight:600">${banner.map(esc).join('<br>')}</div>`;
  const at = html.search(/<body[^>]*>/i);
  if (at < 0) return div + html;
  const end = html.indexOf('>', at) + 1;
  return html.slice(0, end) + div + html.slice(end);
}

/**
 * The message: the headline as subject; the report as the body, after a
 * failure line when the run failed or exceeded its error budget (the HTML
 * report, when `htmlPath` names an existing file, as the HTML body with the
 * same failure lines as a banner, and the text report as its plain-text
 * alternative); the predictions CSV attached when `csvPath` names an existing file.
 */
export function renderEmail(n: RunNotice, cfg: NotifyConfig): EmailMessage {
  const lines: string[] = [];
  if (n.status === 'failed') lines.push(`RUN FAILED: ${failureText(n)}`, `Run ${n.runId}.`, '');
  if (n.status === 'budget_exceeded') lines.push(`ERROR BUDGET EXCEEDED: ${failureText(n)}`, 'Predictions were written, but too many stocks were skipped.', '');
  if (n.dataWarning) lines.push(`INPUT DATA: ${n.dataWarning}`, '');
  const banner = lines.filter((l) => l.length > 0);
  const drift = driftText(n);
  if (drift) lines.push(`DRIFT: ${drift}`, '');
  const card = scorecardText(n);
  if (card) lines.push(`SCORECARD: ${card}`, '');
  lines.push(n.reportText.length > 0 ? n.reportText : '(no report was written for this run)');
  const html = n.htmlPath && isFile(n.htmlPath) ? htmlBody(readFileSync(n.htmlPath, 'utf8'), banner) : undefined;
  const attachments = n.csvPath && isFile(n.csvPath) ? [{ filename: path.basename(n.csvPath), path: path.resolve(n.csvPath) }] : [];
  return {
    from: cfg.mailFrom ?? '',
    to: [...(cfg.mailTo ?? [])],
    subject: headline(n),
    text: lines.join('\n'),
    ...(html === undefined ? {} : { html }),
    attachments,
  };
}

/**
 * What keeps email from being sent, or undefined when it is fully configured.
 * `partial` is true when some email setting is present (a misconfiguration
 * worth a warning) rather than none at all (email is simply off).
 */
export function emailConfigProblem(cfg: NotifyConfig): { problem: string; partial: boolean } | undefined {
  const any = Boolean(cfg.smtpUrl || cfg.smtpHost || cfg.smtpUser || cfg.smtpPassword || cfg.smtpPort || cfg.mailFrom || cfg.mailTo?.length);
  const problems: string[] = [];
  if (cfg.smtpUrl) {
    const u = safeUrl(cfg.smtpUrl);
    if (!u || (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') || !u.hostname) problems.push('SMTP_URL is not a valid smtp:// or smtps:// URL');
  }
  const missing: string[] = [];
  if (!cfg.smtpUrl && !cfg.smtpHost) missing.push('SMTP_URL (or SMTP_HOST)');
  if (!cfg.mailFrom) missing.push('MAIL_FROM');
  if (!cfg.mailTo || cfg.mailTo.length === 0) missing.push('MAIL_TO');
  if (missing.length > 0) problems.push(`email needs ${missing.join(', ')}`);
  if (problems.length === 0) return undefined;
  return { problem: problems.join('; '), partial: any };
}

/**
 * nodemailer SMTP options. SMTP_URL wins over the separate settings. Port
 * 465 (or smtps://) means TLS from the start; otherwise nodemailer upgrades
 * with STARTTLS when the server offers it. `timeoutMs` bounds connecting,
 * the greeting and each silence on the socket.
 */
export function smtpOptions(cfg: NotifyConfig, timeoutMs: number): SMTPTransport.Options {
  const timeouts = { connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs };
  if (cfg.smtpUrl) return { url: cfg.smtpUrl, ...timeouts, logger: false, debug: false };
  const port = cfg.smtpPort ?? 587;
  return {
    host: cfg.smtpHost,
    port,
    secure: port === 465,
    auth: cfg.smtpUser ? { user: cfg.smtpUser, pass: cfg.smtpPassword ?? '' } : undefined,
    ...timeouts,
    logger: false,
    debug: false,
  };
}

export interface EmailSender {
  send(message: EmailMessage): Promise<void>;
  close(): void;
}

/**
 * A sender over one nodemailer transport; each `send` is one delivery attempt. nodemailer (≈ 50 ms of
 * module loading) is imported by the first `send`, not with this module: the batch imports the notify
 * stage at start, and a run that sends no email never loads it.
 */
export function createEmailSender(cfg: NotifyConfig, timeoutMs: number): EmailSender {
  let transport: Transporter<SMTPTransport.SentMessageInfo> | undefined;
  let loading: Promise<Transporter<SMTPTransport.SentMessageInfo>> | undefined;
  const open = () => (loading ??= import('nodemailer').then((m) => (transport = m.default.createTransport(smtpOptions(cfg, timeoutMs)))));
  return {
    async send(m: EmailMessage): Promise<void> {
      const info = await (await open()).sendMail({
        from: m.from,
        to: m.to,
        subject: m.subject,
        text: m.text,
        ...(m.html === undefined ? {} : { html: m.html }),
        attachments: m.attachments.map((a) => ({ filename: a.filename, path: a.path, contentType: 'text/csv; charset=utf-8' })),
      });
      if (info.rejected.length > 0 && info.accepted.length === 0) {
        throw new Error(`the SMTP server rejected every recipient (${info.rejected.length})`);
      }
    },
    close(): void {
      // A transport still being created (close without a finished send) is closed once it exists.
      if (transport) transport.close();
      else void loading?.then((t) => t.close(), () => undefined);
    },
  };
}
