import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotifyConfig } from '../src/config.js';
import { backoffMs, configuredChannels, formatOutcomes, notifyRun, renderEmail, renderSlack, type RunNotice } from '../src/notify/index.js';
import { scrub, secretsOf } from '../src/notify/retry.js';
import { decodeBody, decodeHeader, leaves, param, parseMime, type MimePart } from './helpers/notify-mime.js';
import { captureLog, closedPort, startSmtpPeer, startWebhookPeer, type SmtpPeer } from './helpers/notify-peers.js';

const FAST = { tries: 3, baseMs: 5 };
const WEBHOOK_PATH = '/services/T0STOCK/B0FLOW/s3cretW3bhookT0ken';
const SMTP_USER = 'alice';
const SMTP_PASSWORD = 'p@ss:w/rd%9Z'; // characters that must be percent-encoded in a URL
const SMTP_PASSWORD_IN_URL = 'p%40ss%3Aw%2Frd%259Z';

let dir: string;
let csvPath: string;
// Written by hand: a quoted comma, non-ASCII, and characters Slack escapes.
const CSV =
  'rank,bse_code,nse_symbol,company_name,probability,label,confidence\n' +
  '1,500325,RELIANCE,"Reliance Industries, Ltd",0.91234,1,HIGH\n' +
  '2,532540,TCS,Tata Consultancy Services,0.8876,1,HIGH\n' +
  '3,500010,,Société Générale & Co <Test>,0.80049,1,HIGH\n';

// A report with a line longer than 76 characters, '=' signs and a non-ASCII
// character, so that nodemailer has to transfer-encode the body.
const REPORT = [
  '========================================',
  'BATCH PREDICTION REPORT',
  '========================================',
  'Date: 2025-11-14',
  'Model: xgboost v1.2.0 (ROC-AUC: 0.812) [xgb-uc, feature set fs-1]',
  '- Total Stocks Processed: 10,856 of 11,000 active',
  '- Predicted Upper Circuit: 423 (3.9%)',
  'Rank | BSE Code | NSE Symbol | Company Name        | Probability | Confidence',
  '3    | 500010   | -          | Société Générale &… | 0.80        | HIGH',
  '',
].join('\n');

const TOP: RunNotice['topHighConfidence'] = [
  { rank: 1, bse_code: '500325', nse_symbol: 'RELIANCE', company_name: 'Reliance Industries, Ltd', probability: 0.91234 },
  { rank: 2, bse_code: '532540', nse_symbol: 'TCS', company_name: 'Tata Consultancy Services', probability: 0.8876 },
  { rank: 3, bse_code: '500010', nse_symbol: null, company_name: 'Société Générale & Co <Test>', probability: 0.80049 },
  { rank: 4, bse_code: '500180', nse_symbol: 'HDFCBANK', company_name: 'HDFC Bank', probability: 0.79951 },
  { rank: 5, bse_code: '500209', nse_symbol: 'INFY', company_name: 'Infosys', probability: 0.7771 },
  { rank: 6, bse_code: '500112', nse_symbol: 'SBIN', company_name: 'State Bank of India', probability: 0.761 },
  { rank: 7, bse_code: '532174', nse_symbol: 'ICICIBANK', company_name: 'ICICI Bank', probability: 0.75 },
  { rank: 8, bse_code: '500875', nse_symbol: 'ITC', company_name: 'ITC', probability: 0.7444 },
  { rank: 9, bse_code: '500696', nse_symbol: 'HINDUNILVR', company_name: 'Hindustan Unilever', probability: 0.7301 },
  { rank: 10, bse_code: '532454', nse_symbol: 'BHARTIARTL', company_name: 'Bharti Airtel', probability: 0.72 },
  { rank: 11, bse_code: '500510', nse_symbol: 'LT', company_name: 'Larsen & Toubro', probability: 0.7101 },
  { rank: 12, bse_code: '500570', nse_symbol: 'TATAMOTORS', company_name: 'Tata Motors', probability: 0.705 },
];

function notice(over: Partial<RunNotice> = {}): RunNotice {
  return {
    runId: '2025-11-14-abcd1234',
    predictionDate: '2025-11-14',
    asOfSession: '2025-11-13',
    status: 'succeeded',
    model: { name: 'xgb-uc', version: '1.2.0', type: 'xgboost', rocAuc: 0.8123 },
    counts: { universe: 11000, processed: 10856, skipped: 144, skippedPct: 144 / 11000, predictedUc: 423, high: 127, medium: 200, low: 96 },
    topHighConfidence: TOP,
    reportText: REPORT,
    csvPath,
    durationMs: 503_000,
    ...over,
  };
}

/** Every string under a `text` key, in document order. */
function slackTexts(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(slackTexts);
  if (v && typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => (k === 'text' && typeof x === 'string' ? [x] : slackTexts(x)));
  }
  return [];
}

function blocksText(payload: unknown): string {
  return slackTexts((payload as { blocks: unknown }).blocks).join('\n');
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'stockflow-notify-'));
  csvPath = path.join(dir, 'predictions_2025-11-14.csv');
  writeFileSync(csvPath, CSV, 'utf8');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('configuration', () => {
  it('lists only fully configured channels', () => {
    expect(configuredChannels({})).toEqual([]);
    expect(configuredChannels({ slackWebhookUrl: 'https://hooks.slack.com/services/A/B/C' })).toEqual(['slack']);
    expect(configuredChannels({ smtpHost: 'mail.example.com', mailFrom: 'a@example.com', mailTo: ['b@example.com'] })).toEqual(['email']);
    expect(configuredChannels({ smtpUrl: 'smtp://u:p@mail.example.com:587', mailFrom: 'a@example.com', mailTo: ['b@example.com'] })).toEqual(['email']);
    // half configured: no recipients, no sender, a URL that is not a URL
    expect(configuredChannels({ smtpHost: 'mail.example.com', mailFrom: 'a@example.com' })).toEqual([]);
    expect(configuredChannels({ smtpHost: 'mail.example.com', mailTo: ['b@example.com'] })).toEqual([]);
    expect(configuredChannels({ slackWebhookUrl: 'not a url' })).toEqual([]);
    expect(configuredChannels({ smtpUrl: 'http://mail.example.com', mailFrom: 'a@example.com', mailTo: ['b@example.com'] })).toEqual([]);
  });

  it('skips unconfigured channels without trying, says notifications are off, and explains a half configuration', async () => {
    const cap = captureLog();
    const off = await notifyRun(notice(), {}, { log: cap.log, retry: FAST });
    expect(off).toEqual([
      { channel: 'slack', ok: false, attempts: 0, skipped: 'not_configured' },
      { channel: 'email', ok: false, attempts: 0, skipped: 'not_configured' },
    ]);
    expect(cap.text()).toContain('notifications are off');

    const half = await notifyRun(notice(), { smtpHost: '127.0.0.1', mailTo: ['b@example.com'] }, { log: cap.log, retry: FAST });
    expect(half[1]).toMatchObject({ channel: 'email', ok: false, attempts: 0, skipped: 'not_configured' });
    expect(half[1].error).toContain('MAIL_FROM');
    expect(cap.entries().some((e) => e.level === 40 && e.channel === 'email')).toBe(true);
  });

  it('backs off exponentially: 1 s then 2 s by default', () => {
    expect(backoffMs({ tries: 3, baseMs: 1000 }, 1)).toBe(1000);
    expect(backoffMs({ tries: 3, baseMs: 1000 }, 2)).toBe(2000);
  });

  it('scrubs every form of a secret from text', () => {
    const cfg: NotifyConfig = {
      slackWebhookUrl: `https://hooks.example.com${WEBHOOK_PATH}`,
      smtpUrl: `smtp://${SMTP_USER}:${SMTP_PASSWORD_IN_URL}@mail.example.com:587`,
    };
    const s = secretsOf(cfg);
    const text = `a ${WEBHOOK_PATH} b ${SMTP_PASSWORD} c ${SMTP_PASSWORD_IN_URL} d ${cfg.smtpUrl} e ${cfg.slackWebhookUrl}`;
    expect(scrub(text, s)).toBe('a [redacted] b [redacted] c [redacted] d [redacted] e [redacted]');
  });
});

describe('Slack', () => {
  it('renders the date, model, counts and the top 10 HIGH names in order', () => {
    const m = renderSlack(notice());
    expect(m.text).toBe('stockflow 2025-11-14: 10,856 scored, 423 predicted UC, 127 HIGH');
    const all = blocksText(m);
    for (const s of ['2025-11-14', 'xgb-uc', 'v1.2.0', 'xgboost', 'ROC-AUC 0.812', '10,856', '11,000', '144', '1.3%', '423', 'HIGH 127', 'MEDIUM 200', 'LOW 96']) {
      expect(all).toContain(s);
    }
    // 0.91234 → 0.912, 0.8876 → 0.888, 0.80049 → 0.800, 0.79951 → 0.800
    expect(all).toContain('RELIANCE* Reliance Industries, Ltd (BSE 500325) - 0.912');
    expect(all).toContain('TCS* Tata Consultancy Services (BSE 532540) - 0.888');
    expect(all).toContain('3. Société Générale &amp; Co &lt;Test&gt; (BSE 500010) - 0.800');
    expect(all).toContain('HDFCBANK* HDFC Bank (BSE 500180) - 0.800');
    const order = ['RELIANCE', 'TCS', '500010', 'HDFCBANK', 'INFY', 'SBIN', 'ICICIBANK', 'ITC', 'HINDUNILVR', 'BHARTIARTL'];
    const at = order.map((s) => all.indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(all).not.toContain('Larsen'); // the 11th
    expect(all).not.toContain('TATAMOTORS'); // the 12th
    expect(all).not.toMatch(/fail/i);
  });

  it('says "none" when there are no HIGH-confidence candidates', () => {
    const all = blocksText(renderSlack(notice({ topHighConfidence: [], counts: { ...notice().counts, high: 0 } })));
    expect(all).toMatch(/candidates\*\nnone$/m);
  });

  it('renders a clear failure message for a failed run and an exceeded budget', () => {
    const failed = renderSlack(notice({ status: 'failed', failureReason: 'market data for 2025-11-13 is missing', topHighConfidence: [] }));
    expect(failed.text).toBe('stockflow 2025-11-14: FAILED - market data for 2025-11-13 is missing');
    expect(blocksText(failed)).toContain('The batch run failed:* market data for 2025-11-13 is missing');

    const budget = renderSlack(notice({ status: 'budget_exceeded', failureReason: 'skipped 6.10% > 5.00%' }));
    expect(budget.text).toBe('stockflow 2025-11-14: ERROR BUDGET EXCEEDED, 10,856 scored, 423 predicted UC, 127 HIGH');
    expect(blocksText(budget)).toContain('exceeded its error budget:* skipped 6.10% &gt; 5.00%');
    expect(blocksText(budget)).toContain('RELIANCE');
  });

  it('POSTs the JSON to the webhook once when it answers 200', async () => {
    const peer = await startWebhookPeer(() => ({ status: 200, body: 'ok' }));
    try {
      const out = await notifyRun(notice(), { slackWebhookUrl: peer.url(WEBHOOK_PATH) }, { log: captureLog().log, retry: FAST });
      expect(out[0]).toEqual({ channel: 'slack', ok: true, attempts: 1 });
      expect(peer.requests).toHaveLength(1);
      const r = peer.requests[0];
      expect(r.method).toBe('POST');
      expect(r.path).toBe(WEBHOOK_PATH);
      expect(r.contentType).toMatch(/^application\/json/);
      const body = JSON.parse(r.body) as { text: string; blocks: unknown[] };
      expect(body.text).toBe('stockflow 2025-11-14: 10,856 scored, 423 predicted UC, 127 HIGH');
      const all = blocksText(body);
      const at = ['RELIANCE', 'TCS', '500010', 'HDFCBANK', 'INFY'].map((s) => all.indexOf(s));
      expect(at.every((i) => i >= 0)).toBe(true);
      expect([...at].sort((a, b) => a - b)).toEqual(at);
      expect(all).toContain('10,856');
      expect(all).toContain('2025-11-14');
    } finally {
      await peer.close();
    }
  });

  it('sends the failure message of a failed run to the webhook', async () => {
    const peer = await startWebhookPeer(() => ({ status: 200, body: 'ok' }));
    try {
      const n = notice({ status: 'failed', failureReason: 'no model found', topHighConfidence: [] });
      const out = await notifyRun(n, { slackWebhookUrl: peer.url(WEBHOOK_PATH) }, { log: captureLog().log, retry: FAST });
      expect(out[0].ok).toBe(true);
      const body = JSON.parse(peer.requests[0].body) as { text: string };
      expect(body.text).toContain('FAILED - no model found');
      expect(blocksText(body)).toContain('The batch run failed:* no model found');
    } finally {
      await peer.close();
    }
  });

  it('retries a 500 and succeeds on the third attempt', async () => {
    const peer = await startWebhookPeer((n) => (n <= 2 ? { status: 500, body: 'oops' } : { status: 200, body: 'ok' }));
    try {
      const cap = captureLog();
      const run = notifyRun(notice(), { slackWebhookUrl: peer.url(WEBHOOK_PATH) }, { log: cap.log, retry: FAST });
      await expect(run).resolves.toEqual([
        { channel: 'slack', ok: true, attempts: 3 },
        { channel: 'email', ok: false, attempts: 0, skipped: 'not_configured' },
      ]);
      expect(peer.requests).toHaveLength(3);
      expect(new Set(peer.requests.map((r) => r.body)).size).toBe(1); // the same message each time
      const warns = cap.entries().filter((e) => e.level === 40 && e.channel === 'slack');
      expect(warns.map((w) => w.attempt)).toEqual([1, 2]);
      expect(String(warns[0].error)).toContain('500');
    } finally {
      await peer.close();
    }
  });

  it('gives up after 3 attempts when the webhook always answers 500, without throwing', async () => {
    const peer = await startWebhookPeer(() => ({ status: 500, body: 'internal error' }));
    try {
      const out = await notifyRun(notice(), { slackWebhookUrl: peer.url(WEBHOOK_PATH) }, { log: captureLog().log, retry: FAST });
      expect(out[0]).toMatchObject({ channel: 'slack', ok: false, attempts: 3 });
      expect(out[0].error).toContain('HTTP 500');
      expect(out[0].error).toContain('internal error');
      expect(peer.requests).toHaveLength(3);
      expect(formatOutcomes(out)).toBe(`slack: failed after 3 attempts: ${out[0].error}; email: off`);
    } finally {
      await peer.close();
    }
  });

  it('times out a webhook that never answers, retries, then records the failure', async () => {
    const peer = await startWebhookPeer(() => 'hang');
    try {
      const out = await notifyRun(notice(), { slackWebhookUrl: peer.url(WEBHOOK_PATH) }, { log: captureLog().log, retry: FAST, timeoutMs: 150 });
      expect(out[0]).toMatchObject({ channel: 'slack', ok: false, attempts: 3 });
      expect(out[0].error).toMatch(/timed out/);
      expect(peer.requests).toHaveLength(3);
    } finally {
      await peer.close();
    }
  });

  it('retries a refused connection, then records it', async () => {
    const port = await closedPort();
    const out = await notifyRun(notice(), { slackWebhookUrl: `http://127.0.0.1:${port}${WEBHOOK_PATH}` }, { log: captureLog().log, retry: FAST });
    expect(out[0]).toMatchObject({ channel: 'slack', ok: false, attempts: 3 });
    expect(out[0].error).toMatch(/ECONNREFUSED/);
  });
});

function mailParts(raw: Buffer): { root: MimePart; text: string; attachments: MimePart[] } {
  const root = parseMime(raw);
  const all = leaves(root);
  const textPart = all.find((p) => /^text\/plain/i.test(p.headers.get('content-type') ?? '') && !/attachment/i.test(p.headers.get('content-disposition') ?? ''));
  if (!textPart) throw new Error('no text/plain body');
  return {
    root,
    text: decodeBody(textPart).toString('utf8').replace(/\r\n/g, '\n'),
    attachments: all.filter((p) => /^attachment/i.test(p.headers.get('content-disposition') ?? '')),
  };
}

describe('email', () => {
  let smtp: SmtpPeer;
  beforeAll(async () => {
    smtp = await startSmtpPeer(SMTP_USER, SMTP_PASSWORD);
  });
  afterAll(async () => {
    await smtp.close();
  });

  const mailCfg = (over: NotifyConfig): NotifyConfig => ({
    mailFrom: 'stockflow@example.com',
    mailTo: ['desk@example.com', 'analyst@example.com'],
    ...over,
  });

  it('renders subject, body and attachment', () => {
    const m = renderEmail(notice(), mailCfg({}));
    expect(m.subject).toBe('stockflow 2025-11-14: 10,856 scored, 423 predicted UC, 127 HIGH');
    expect(m.text).toBe(REPORT);
    expect(m.attachments).toEqual([{ filename: 'predictions_2025-11-14.csv', path: csvPath }]);
    expect(renderEmail(notice({ csvPath: path.join(dir, 'absent.csv') }), mailCfg({})).attachments).toEqual([]);
    const failed = renderEmail(notice({ status: 'failed', failureReason: 'disk\nfull' }), mailCfg({}));
    expect(failed.subject).toBe('stockflow 2025-11-14: FAILED - disk full');
    expect(failed.text.startsWith('RUN FAILED: disk\nfull\n')).toBe(true);
  });

  it('delivers over SMTP_URL with its credentials: subject, report body and the exact CSV', async () => {
    const before = smtp.messages.length;
    const cfg = mailCfg({ smtpUrl: `smtp://${SMTP_USER}:${SMTP_PASSWORD_IN_URL}@127.0.0.1:${smtp.port}` });
    const out = await notifyRun(notice(), cfg, { log: captureLog().log, retry: FAST, timeoutMs: 5000 });
    expect(out[1]).toEqual({ channel: 'email', ok: true, attempts: 1 });
    expect(smtp.messages.length).toBe(before + 1);
    const got = smtp.messages[before];
    expect(got.user).toBe(SMTP_USER);
    expect(smtp.logins.at(-1)).toEqual({ username: SMTP_USER, password: SMTP_PASSWORD, accepted: true });
    expect(got.mailFrom).toBe('stockflow@example.com');
    expect(got.rcptTo).toEqual(['desk@example.com', 'analyst@example.com']);

    const { root, text, attachments } = mailParts(got.raw);
    expect(decodeHeader(root.headers.get('subject') ?? '')).toBe('stockflow 2025-11-14: 10,856 scored, 423 predicted UC, 127 HIGH');
    expect(root.headers.get('from')).toContain('stockflow@example.com');
    expect(root.headers.get('to')).toContain('desk@example.com');
    expect(root.headers.get('to')).toContain('analyst@example.com');
    expect(text.replace(/\n+$/, '')).toBe(REPORT.replace(/\n+$/, ''));
    expect(text).toContain('Rank | BSE Code | NSE Symbol | Company Name        | Probability | Confidence');
    expect(text).toContain('Société Générale &…');
    expect(attachments).toHaveLength(1);
    const att = attachments[0];
    expect(att.headers.get('content-transfer-encoding')?.toLowerCase()).toBe('base64');
    expect(param(att.headers.get('content-disposition') ?? '', 'filename')).toBe('predictions_2025-11-14.csv');
    expect(att.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(decodeBody(att).equals(readFileSync(csvPath))).toBe(true);
    expect(decodeBody(att).toString('utf8')).toBe(CSV);
  });

  it('delivers with SMTP_HOST/PORT/USER/PASSWORD, and the failure text of a failed run', async () => {
    const before = smtp.messages.length;
    const cfg = mailCfg({ smtpHost: '127.0.0.1', smtpPort: smtp.port, smtpUser: SMTP_USER, smtpPassword: SMTP_PASSWORD });
    const n = notice({ status: 'failed', failureReason: 'Société: 3 workers crashed', reportText: '', csvPath: undefined, topHighConfidence: [] });
    const out = await notifyRun(n, cfg, { log: captureLog().log, retry: FAST, timeoutMs: 5000 });
    expect(out[1]).toEqual({ channel: 'email', ok: true, attempts: 1 });
    const got = smtp.messages[before];
    expect(got.user).toBe(SMTP_USER);
    const { root, text, attachments } = mailParts(got.raw);
    expect(decodeHeader(root.headers.get('subject') ?? '')).toBe('stockflow 2025-11-14: FAILED - Société: 3 workers crashed');
    expect(root.headers.get('subject')).toMatch(/^=\?UTF-8\?/i); // non-ASCII: sent as encoded words
    expect(text).toContain('RUN FAILED: Société: 3 workers crashed');
    expect(attachments).toHaveLength(0);
  });

  it('sends without the attachment when the CSV is missing, and says so', async () => {
    const before = smtp.messages.length;
    const cap = captureLog();
    const cfg = mailCfg({ smtpHost: '127.0.0.1', smtpPort: smtp.port });
    const out = await notifyRun(notice({ csvPath: path.join(dir, 'gone.csv') }), cfg, { log: cap.log, retry: FAST, timeoutMs: 5000 });
    expect(out[1]).toEqual({ channel: 'email', ok: true, attempts: 1 });
    const got = smtp.messages[before];
    expect(got.user).toBeUndefined(); // no SMTP_USER: no AUTH
    expect(mailParts(got.raw).attachments).toHaveLength(0);
    expect(cap.entries().some((e) => e.level === 40 && String(e.msg).includes('does not exist'))).toBe(true);
  });

  it('retries a rejected login 3 times, records the failure and does not throw', async () => {
    const before = { messages: smtp.messages.length, logins: smtp.logins.length };
    const cfg = mailCfg({ smtpHost: '127.0.0.1', smtpPort: smtp.port, smtpUser: SMTP_USER, smtpPassword: 'wrong-password' });
    const out = await notifyRun(notice(), cfg, { log: captureLog().log, retry: FAST, timeoutMs: 5000 });
    expect(out[1]).toMatchObject({ channel: 'email', ok: false, attempts: 3 });
    expect(out[1].error).toContain('535');
    const logins = smtp.logins.slice(before.logins);
    expect(logins).toEqual(Array.from({ length: 3 }, () => ({ username: SMTP_USER, password: 'wrong-password', accepted: false })));
    expect(smtp.messages.length).toBe(before.messages);
  });
});

describe('both channels, dry runs and bad input', () => {
  it('sends to Slack and email in one call', async () => {
    const smtp = await startSmtpPeer(SMTP_USER, SMTP_PASSWORD);
    const hook = await startWebhookPeer(() => ({ status: 200, body: 'ok' }));
    try {
      const cfg: NotifyConfig = {
        slackWebhookUrl: hook.url(WEBHOOK_PATH),
        smtpUrl: `smtp://${SMTP_USER}:${SMTP_PASSWORD_IN_URL}@127.0.0.1:${smtp.port}`,
        mailFrom: 'stockflow@example.com',
        mailTo: ['desk@example.com'],
      };
      const out = await notifyRun(notice(), cfg, { log: captureLog().log, retry: FAST, timeoutMs: 5000 });
      expect(out).toEqual([
        { channel: 'slack', ok: true, attempts: 1 },
        { channel: 'email', ok: true, attempts: 1 },
      ]);
      expect(hook.requests).toHaveLength(1);
      expect(smtp.messages).toHaveLength(1);
      expect(formatOutcomes(out)).toBe('slack: ok (1 attempt); email: ok (1 attempt)');
    } finally {
      await hook.close();
      await smtp.close();
    }
  });

  it('dry run renders and logs but sends nothing', async () => {
    const smtp = await startSmtpPeer(SMTP_USER, SMTP_PASSWORD);
    const hook = await startWebhookPeer(() => ({ status: 200, body: 'ok' }));
    try {
      const cap = captureLog();
      const cfg: NotifyConfig = {
        slackWebhookUrl: hook.url(WEBHOOK_PATH),
        smtpHost: '127.0.0.1',
        smtpPort: smtp.port,
        mailFrom: 'stockflow@example.com',
        mailTo: ['desk@example.com'],
      };
      const out = await notifyRun(notice(), cfg, { log: cap.log, dryRun: true, retry: FAST });
      expect(out).toEqual([
        { channel: 'slack', ok: true, attempts: 0, dryRun: true },
        { channel: 'email', ok: true, attempts: 0, dryRun: true },
      ]);
      expect(hook.requests).toHaveLength(0);
      expect(smtp.messages).toHaveLength(0);
      expect(smtp.logins).toHaveLength(0);
      const email = cap.entries().find((e) => e.channel === 'email' && String(e.msg).startsWith('dry run'));
      expect(email?.subject).toBe('stockflow 2025-11-14: 10,856 scored, 423 predicted UC, 127 HIGH');
      expect(email?.attachments).toEqual(['predictions_2025-11-14.csv']);
      expect(cap.text()).not.toContain(WEBHOOK_PATH);
    } finally {
      await hook.close();
      await smtp.close();
    }
  });

  it('a malformed notice gives failed outcomes, not an exception', async () => {
    const hook = await startWebhookPeer(() => ({ status: 200, body: 'ok' }));
    try {
      const broken = { runId: 'x', predictionDate: '2025-11-14' } as unknown as RunNotice;
      const cfg: NotifyConfig = { slackWebhookUrl: hook.url(WEBHOOK_PATH), smtpHost: '127.0.0.1', mailFrom: 'a@example.com', mailTo: ['b@example.com'] };
      const out = await notifyRun(broken, cfg, { log: captureLog().log, retry: FAST });
      expect(out.map((o) => [o.channel, o.ok, o.attempts])).toEqual([
        ['slack', false, 0],
        ['email', false, 0],
      ]);
      expect(out.every((o) => typeof o.error === 'string' && o.error.length > 0)).toBe(true);
      expect(hook.requests).toHaveLength(0);
    } finally {
      await hook.close();
    }
  });
});

describe('secrets', () => {
  it('never logs or records the webhook URL, the SMTP URL or the SMTP password', async () => {
    // A webhook that echoes the request path (the secret part) in its 500 answer,
    // and an SMTP server that refuses the password.
    const hook = await startWebhookPeer(() => ({ status: 500, body: `no_service for ${WEBHOOK_PATH}` }));
    const smtp = await startSmtpPeer(SMTP_USER, 'the-right-one');
    const refused = await closedPort();
    try {
      const cap = captureLog();
      const viaUrl: NotifyConfig = {
        slackWebhookUrl: hook.url(WEBHOOK_PATH),
        smtpUrl: `smtp://${SMTP_USER}:${SMTP_PASSWORD_IN_URL}@127.0.0.1:${smtp.port}`,
        mailFrom: 'stockflow@example.com',
        mailTo: ['desk@example.com'],
      };
      const viaParts: NotifyConfig = {
        slackWebhookUrl: `http://127.0.0.1:${refused}${WEBHOOK_PATH}`,
        smtpHost: '127.0.0.1',
        smtpPort: smtp.port,
        smtpUser: SMTP_USER,
        smtpPassword: SMTP_PASSWORD,
        mailFrom: 'stockflow@example.com',
        mailTo: ['desk@example.com'],
      };
      const a = await notifyRun(notice(), viaUrl, { log: cap.log, retry: FAST, timeoutMs: 5000 });
      const b = await notifyRun(notice(), viaParts, { log: cap.log, retry: FAST, timeoutMs: 5000 });
      for (const o of [...a, ...b]) expect(o).toMatchObject({ ok: false, attempts: 3 });
      // the password really was presented (and refused) each time
      expect(smtp.logins.filter((l) => l.password === SMTP_PASSWORD)).toHaveLength(6);

      const text = cap.text();
      const entries = cap.entries();
      // the failures were logged: a warning per failed attempt (3) and an error, per channel per call
      expect(entries.filter((e) => e.level === 40)).toHaveLength(12);
      expect(entries.filter((e) => e.level === 50)).toHaveLength(4);
      expect(text).toContain('[redacted]'); // the echoed path was scrubbed, not dropped
      const recorded = JSON.stringify([a, b]);
      for (const secret of [viaUrl.slackWebhookUrl!, viaParts.slackWebhookUrl!, WEBHOOK_PATH, 's3cretW3bhookT0ken', viaUrl.smtpUrl!, SMTP_PASSWORD, SMTP_PASSWORD_IN_URL]) {
        expect(text).not.toContain(secret);
        expect(recorded).not.toContain(secret);
      }
    } finally {
      await hook.close();
      await smtp.close();
    }
  });
});
