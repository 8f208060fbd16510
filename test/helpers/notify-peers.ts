/**
 * Real peers for the notification tests: an SMTP server (smtp-server) and an
 * HTTP server standing in for a Slack webhook, both on 127.0.0.1 with a
 * random port, plus a pino logger that writes into a string.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { REDACT_PATHS, type Logger } from '../../src/log.js';

export interface ReceivedMail {
  /** The whole message as the server received it (headers and MIME body). */
  raw: Buffer;
  /** The authenticated user, if the client logged in. */
  user?: string;
  mailFrom: string;
  rcptTo: string[];
}

export interface SmtpPeer {
  port: number;
  messages: ReceivedMail[];
  /** Every AUTH attempt: the credentials the client presented, and whether they were accepted. */
  logins: Array<{ username: string; password: string; accepted: boolean }>;
  close(): Promise<void>;
}

/**
 * A plain-text SMTP server (no TLS, STARTTLS disabled). AUTH is optional, but
 * when a client logs in its credentials must be `user`/`password`.
 */
export async function startSmtpPeer(user: string, password: string): Promise<SmtpPeer> {
  const messages: ReceivedMail[] = [];
  const logins: SmtpPeer['logins'] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      const accepted = auth.username === user && auth.password === password;
      logins.push({ username: auth.username ?? '', password: auth.password ?? '', accepted });
      if (!accepted) return callback(new Error('Invalid username or password'));
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          raw: Buffer.concat(chunks),
          user: typeof session.user === 'string' ? session.user : undefined,
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    logins,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ReceivedRequest {
  method: string;
  path: string;
  contentType: string;
  body: string;
}

/** What the webhook answers to its n-th request (1-based): a status and body, or no answer at all. */
export type WebhookBehaviour = (n: number) => { status: number; body: string } | 'hang';

export interface WebhookPeer {
  url: (path: string) => string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

export async function startWebhookPeer(behaviour: WebhookBehaviour): Promise<WebhookPeer> {
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        contentType: String(req.headers['content-type'] ?? ''),
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const answer = behaviour(requests.length);
      if (answer === 'hang') return; // never answer; close() drops the socket
      res.writeHead(answer.status, { 'content-type': 'text/plain' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: (p: string) => `http://127.0.0.1:${port}${p}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: bind one, note it, close it. */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface CapturedLog {
  log: Logger;
  /** Everything written so far (JSON lines). */
  text(): string;
  entries(): Array<Record<string, unknown>>;
}

/** A debug-level pino logger with the application's redact paths, writing into memory. */
export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const log = pino(
    { level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    { write: (s: string) => void lines.push(s) },
  );
  const text = (): string => lines.join('');
  return {
    log,
    text,
    entries: () =>
      text()
        .split('\n')
        .filter((l) => l.trim().length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
