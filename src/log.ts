/**
 * One pino logger for the whole process, writing to stderr (stdout is kept
 * for a command's own output: CSV, JSON, tables). JSON lines when stderr is
 * not a terminal; short human lines when it is. Secrets are redacted.
 */
import pino, { type Logger, type DestinationStream } from 'pino';
import { logLevelFrom } from './config.js';

export type { Logger };

export const REDACT_PATHS = [
  'slackWebhookUrl',
  'smtpPassword',
  'smtpUrl',
  '*.slackWebhookUrl',
  '*.smtpPassword',
  '*.smtpUrl',
  'config.notify.slackWebhookUrl',
  'config.notify.smtpPassword',
  'config.notify.smtpUrl',
  'req.headers.authorization',
  'headers.authorization',
  'password',
  '*.password',
  'webhook',
  '*.webhook',
];

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const OMIT = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

/** A destination that prints `level msg key=value …` for a person at a terminal. */
function terminalStream(): DestinationStream {
  return {
    write(line: string): void {
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        const level = LEVEL_NAMES[o.level as number] ?? 'info';
        const extras = Object.entries(o)
          .filter(([k]) => !OMIT.has(k))
          .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
          .join(' ');
        process.stderr.write(`${level === 'info' ? '' : `${level}: `}${String(o.msg ?? '')}${extras ? `  (${extras})` : ''}\n`);
      } catch {
        process.stderr.write(line);
      }
    },
  };
}

export function createLogger(level = logLevelFrom(), tty = Boolean(process.stderr.isTTY)): Logger {
  const options = { level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return tty ? pino(options, terminalStream()) : pino(options, pino.destination({ fd: 2, sync: true }));
}

let root: Logger | undefined;
export function logger(): Logger {
  root ??= createLogger();
  return root;
}
export function setLogger(l: Logger): void {
  root = l;
}
