/**
 * A batch with real notification peers: a local SMTP server and a local
 * webhook receive what `stockflow batch` sends after its outputs are
 * committed; a failing webhook is retried, recorded on the run, and does not
 * change the batch's exit code; with nothing configured the batch says
 * notifications are off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { decodeBody, decodeHeader, leaves, parseMime } from './helpers/notify-mime.js';
import { startSmtpPeer, startWebhookPeer, type SmtpPeer } from './helpers/notify-peers.js';
import { MORNING, assertCliBuilt, buildMarketFixture, openPredictions, outputFile, startCli, type MarketFixture } from './helpers/batch-fixture.js';

let fx: MarketFixture;
let smtp: SmtpPeer;

beforeAll(async () => {
  assertCliBuilt();
  fx = await buildMarketFixture({ stocks: 40, days: 300 });
  smtp = await startSmtpPeer('desk', 's3cret');
});
afterAll(async () => {
  await smtp?.close();
  fx?.cleanup();
});

interface Row {
  bse_code: string;
  probability: number;
}

function highCandidates(dataDir: string): Row[] {
  const db = openPredictions(dataDir);
  try {
    return db
      .prepare(
        "SELECT bse_code, probability FROM daily_predictions WHERE prediction_date = ? AND predicted_label = 1 AND confidence = 'HIGH' ORDER BY probability DESC, bse_code",
      )
      .all(MORNING) as Row[];
  } finally {
    db.close();
  }
}

function notifications(dataDir: string): Array<{ channel: string; ok: boolean; attempts: number; error?: string }> {
  const db = openPredictions(dataDir);
  try {
    const r = db.prepare('SELECT notifications FROM batch_runs WHERE prediction_date = ?').pluck().get(MORNING) as string | null;
    return r ? JSON.parse(r) : [];
  } finally {
    db.close();
  }
}

describe('batch → notifications', () => {
  it('delivers Slack and email with the right content after the outputs are written', async () => {
    const hook = await startWebhookPeer(() => ({ status: 200, body: 'ok' }));
    try {
      const dataDir = fx.freshDataDir('notify');
      const before = smtp.messages.length;
      const p = startCli(['batch', '--date', MORNING, '--data-dir', dataDir, '--models-dir', fx.modelsDir], {
        env: {
          SLACK_WEBHOOK_URL: hook.url('/services/T0/B0/secret-token'),
          SMTP_URL: `smtp://desk:s3cret@127.0.0.1:${smtp.port}`,
          MAIL_FROM: 'stockflow@example.com',
          MAIL_TO: 'desk@example.com,analyst@example.com',
        },
      });
      const r = await p.done;
      expect(r.code).toBe(0);

      // Slack: one POST whose JSON names the date and the top HIGH candidates in order.
      expect(hook.requests).toHaveLength(1);
      const body = hook.requests[0].body;
      expect(() => JSON.parse(body)).not.toThrow();
      expect(body).toContain(MORNING);
      const top = highCandidates(dataDir).slice(0, 10);
      expect(top.length).toBeGreaterThan(0); // the fixture tree makes some HIGH label-1 names
      let at = -1;
      for (const c of top) {
        const i = body.indexOf(c.bse_code);
        expect(i).toBeGreaterThan(at);
        at = i;
      }

      // Email: one message, subject with the date, the report as the body, the CSV attached byte for byte.
      expect(smtp.messages.length).toBe(before + 1);
      const mail = smtp.messages[smtp.messages.length - 1];
      expect(mail.user).toBe('desk');
      expect(mail.rcptTo.sort()).toEqual(['analyst@example.com', 'desk@example.com']);
      const root = parseMime(mail.raw);
      expect(decodeHeader(root.headers.get('subject') ?? '')).toContain(`stockflow ${MORNING}`);
      const parts = leaves(root);
      const text = parts.find((x) => /^text\/plain/i.test(x.headers.get('content-type') ?? '') && !/attachment/i.test(x.headers.get('content-disposition') ?? ''));
      expect(decodeBody(text!).toString('utf8').replace(/\r\n/g, '\n')).toContain(readFileSync(outputFile(dataDir, 'report', MORNING), 'utf8').split('\n')[1]);
      const att = parts.find((x) => /^attachment/i.test(x.headers.get('content-disposition') ?? ''));
      expect(decodeBody(att!).equals(readFileSync(outputFile(dataDir, 'predictions', MORNING)))).toBe(true);

      // Both outcomes recorded on the run; the secret never reaches the log.
      const n = notifications(dataDir);
      expect(n.map((o) => [o.channel, o.ok])).toEqual(
        expect.arrayContaining([
          ['slack', true],
          ['email', true],
        ]),
      );
      expect(r.stderr).not.toContain('secret-token');
      expect(r.stderr).not.toContain('s3cret');
    } finally {
      await hook.close();
    }
  }, 60_000);

  it('a webhook that keeps failing is retried 3 times, recorded on the run, and the batch still exits 0', async () => {
    const hook = await startWebhookPeer(() => ({ status: 500, body: 'down' }));
    try {
      const dataDir = fx.freshDataDir('notify-fail');
      const p = startCli(['batch', '--date', MORNING, '--data-dir', dataDir, '--models-dir', fx.modelsDir], {
        env: { SLACK_WEBHOOK_URL: hook.url('/services/T0/B0/secret-token') },
      });
      const r = await p.done;
      expect(r.code).toBe(0);
      expect(hook.requests).toHaveLength(3);
      const slack = notifications(dataDir).find((o) => o.channel === 'slack');
      expect(slack).toMatchObject({ ok: false, attempts: 3 });
      expect(slack?.error).toBeTruthy();
      // The outputs are all there.
      expect(readFileSync(outputFile(dataDir, 'predictions', MORNING), 'utf8').split('\r\n')[0]).toBe(
        'bse_code,nse_symbol,company_name,probability,label,confidence,market_cap_cr',
      );
    } finally {
      await hook.close();
    }
  }, 60_000);

  it('with nothing configured, the batch runs and says notifications are off', async () => {
    const dataDir = fx.freshDataDir('notify-off');
    const r = await startCli(['batch', '--date', MORNING, '--data-dir', dataDir, '--models-dir', fx.modelsDir]).done;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('notifications are off');
    expect(notifications(dataDir)).toEqual([]);
  }, 60_000);

  it('stockflow notify re-sends a completed date (and --dry-run only prints)', async () => {
    const dataDir = fx.freshDataDir('renotify');
    expect((await startCli(['batch', '--date', MORNING, '--no-notify', '--data-dir', dataDir, '--models-dir', fx.modelsDir]).done).code).toBe(0);
    const hook = await startWebhookPeer(() => ({ status: 200, body: 'ok' }));
    try {
      const env = { SLACK_WEBHOOK_URL: hook.url('/services/T0/B0/secret-token') };
      const dry = await startCli(['notify', '--date', MORNING, '--dry-run', '--data-dir', dataDir], { env }).done;
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain('--- slack ---');
      expect(dry.stdout).toContain(MORNING);
      expect(hook.requests).toHaveLength(0);
      const real = await startCli(['notify', '--date', MORNING, '--data-dir', dataDir], { env }).done;
      expect(real.code).toBe(0);
      expect(hook.requests).toHaveLength(1);
      expect(hook.requests[0].body).toContain(MORNING);
      const missing = await startCli(['notify', '--date', '2025-11-13', '--data-dir', dataDir], { env }).done;
      expect(missing.code).toBe(3);
      expect(missing.stderr.trim().split('\n').filter((l) => l.startsWith('stockflow:'))).toEqual(['stockflow: no completed batch run for 2025-11-13 in predictions.db']);
    } finally {
      await hook.close();
    }
  }, 60_000);
});
