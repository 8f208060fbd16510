/**
 * The email carries the HTML report (issue 17): HTML body = the report file,
 * the text report as its plain-text alternative, the CSV still attached;
 * a failed or over-budget run's banner is at the top of the HTML body; Slack
 * is unchanged. Delivered to a real SMTP server on loopback and read back
 * with the tests' own MIME reader.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifyRun, renderEmail, renderSlack, type RunNotice } from '../src/notify/index.js';
import { decodeBody, leaves, param, parseMime } from './helpers/notify-mime.js';
import { captureLog, startSmtpPeer, type SmtpPeer } from './helpers/notify-peers.js';

let dir: string;
let smtp: SmtpPeer;
const CSV = 'bse_code,nse_symbol,company_name,probability,label,confidence,market_cap_cr\r\n500325,RELIANCE,Reliance,0.912340,1,HIGH,1000\r\n';
const HTML = '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>r</title></head><body><main><h1>Batch prediction report: 2025-11-14</h1><p>Société Générale — 0.91 ' + 'x'.repeat(120) + '</p></main></body></html>\n';
const REPORT = 'BATCH PREDICTION REPORT\nDate: 2025-11-14\n';

function notice(over: Partial<RunNotice> = {}): RunNotice {
  return {
    runId: '2025-11-14-abcd1234',
    predictionDate: '2025-11-14',
    asOfSession: '2025-11-13',
    status: 'succeeded',
    model: { name: 'upper-circuit', version: '1.0.0', type: 'gbdt' },
    counts: { universe: 10, processed: 9, skipped: 1, skippedPct: 0.1, predictedUc: 3, high: 2, medium: 1, low: 0 },
    topHighConfidence: [{ rank: 1, bse_code: '500325', nse_symbol: 'RELIANCE', company_name: 'Reliance', probability: 0.91234 }],
    reportText: REPORT,
    htmlPath: path.join(dir, 'report_2025-11-14.html'),
    csvPath: path.join(dir, 'predictions_2025-11-14.csv'),
    durationMs: 1000,
    ...over,
  };
}

const cfg = (): Parameters<typeof notifyRun>[1] => ({ smtpUrl: `smtp://127.0.0.1:${smtp.port}`, mailFrom: 'sf@example.com', mailTo: ['desk@example.com'] });

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sf-mailhtml-'));
  writeFileSync(path.join(dir, 'predictions_2025-11-14.csv'), CSV);
  writeFileSync(path.join(dir, 'report_2025-11-14.html'), HTML);
  smtp = await startSmtpPeer('u', 'p');
});
afterAll(async () => {
  await smtp.close();
  rmSync(dir, { recursive: true, force: true });
});

async function deliver(n: RunNotice): Promise<ReturnType<typeof leaves>> {
  const before = smtp.messages.length;
  const out = await notifyRun(n, cfg(), { log: captureLog().log, retry: { tries: 1, baseMs: 1 }, timeoutMs: 5000 });
  expect(out[1]).toEqual({ channel: 'email', ok: true, attempts: 1 });
  const root = parseMime(smtp.messages[before].raw);
  return leaves(root);
}

describe('the email with the HTML report', () => {
  it('sends the HTML report as the body, the text report as its plain-text alternative, and the CSV attached', async () => {
    const parts = await deliver(notice());
    const body = parts.filter((p) => !/attachment/i.test(p.headers.get('content-disposition') ?? ''));
    expect(body.map((p) => (p.headers.get('content-type') ?? '').split(';')[0].toLowerCase())).toEqual(['text/plain', 'text/html']);
    expect(decodeBody(body[0]).toString('utf8').replace(/\r\n/g, '\n')).toBe(REPORT);
    expect(decodeBody(body[1]).toString('utf8').replace(/\r\n/g, '\n')).toBe(HTML);
    const att = parts.filter((p) => /attachment/i.test(p.headers.get('content-disposition') ?? ''));
    expect(att).toHaveLength(1);
    expect(param(att[0].headers.get('content-disposition') ?? '', 'filename')).toBe('predictions_2025-11-14.csv');
    expect(decodeBody(att[0]).toString('utf8')).toBe(CSV);
  });

  it('puts the over-budget lines as a banner at the top of the HTML body, as in the text', async () => {
    const parts = await deliver(notice({ status: 'budget_exceeded', failureReason: '30.0% of stocks skipped <exceeds> the error budget' }));
    const html = decodeBody(parts.find((p) => /^text\/html/i.test(p.headers.get('content-type') ?? ''))!).toString('utf8').replace(/\r\n/g, '\n');
    const banner = html.indexOf('role="alert"');
    expect(banner).toBeGreaterThan(html.indexOf('<body>'));
    expect(banner).toBeLessThan(html.indexOf('<main>'));
    expect(html).toContain('ERROR BUDGET EXCEEDED: 30.0% of stocks skipped &lt;exceeds&gt; the error budget<br>Predictions were written, but too many stocks were skipped.');
    expect(html.replace(/<div role="alert"[^]*?<\/div>/, '')).toBe(HTML);
  });

  it('sends text only when the run wrote no HTML report', async () => {
    const parts = await deliver(notice({ htmlPath: path.join(dir, 'absent.html') }));
    expect(parts.some((p) => /^text\/html/i.test(p.headers.get('content-type') ?? ''))).toBe(false);
    expect(renderEmail(notice({ htmlPath: undefined }), cfg()).html).toBeUndefined();
  });

  it('leaves Slack unchanged: the same message with or without the HTML report', () => {
    expect(renderSlack(notice())).toEqual(renderSlack(notice({ htmlPath: undefined })));
    expect(JSON.stringify(renderSlack(notice()))).not.toMatch(/\.html|file:/);
  });
});
