/**
 * Retrying a delivery with exponential backoff, and turning whatever it threw
 * into one line of text that carries no secret (that text is logged and
 * recorded on the run).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { NotifyConfig } from '../config.js';

export interface RetryPolicy {
  /** Attempts in all (not retries after the first). */
  tries: number;
  /** The wait after the first failed attempt; it doubles after each further one. */
  baseMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { tries: 3, baseMs: 1000 };

/** A policy with sane bounds: at least 1 try, a non-negative finite base. */
export function normalizePolicy(p: Partial<RetryPolicy> | undefined): RetryPolicy {
  const tries = p?.tries;
  const baseMs = p?.baseMs;
  return {
    tries: tries !== undefined && Number.isFinite(tries) ? Math.max(1, Math.floor(tries)) : DEFAULT_RETRY.tries,
    baseMs: baseMs !== undefined && Number.isFinite(baseMs) ? Math.max(0, baseMs) : DEFAULT_RETRY.baseMs,
  };
}

/** The wait after failed attempt number `attempt` (1-based): base, 2·base, 4·base, … */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  return policy.baseMs * 2 ** (attempt - 1);
}

export interface RetryResult {
  ok: boolean;
  attempts: number;
  error?: string;
}

export interface AttemptFailure {
  attempt: number;
  tries: number;
  error: string;
  /** Milliseconds until the next attempt; undefined when this was the last. */
  retryInMs?: number;
}

/**
 * Runs `attempt` until it resolves or `policy.tries` attempts have failed.
 * Never throws: failures come back in the result, each one also passed to
 * `onFailure` already described by `describe`.
 */
export async function withRetry(
  attempt: (n: number) => Promise<void>,
  policy: RetryPolicy,
  describe: (e: unknown) => string,
  onFailure: (f: AttemptFailure) => void,
): Promise<RetryResult> {
  let error = '';
  for (let n = 1; n <= policy.tries; n++) {
    try {
      await attempt(n);
      return { ok: true, attempts: n };
    } catch (e) {
      error = describe(e);
      const last = n === policy.tries;
      const retryInMs = last ? undefined : backoffMs(policy, n);
      try {
        onFailure({ attempt: n, tries: policy.tries, error, retryInMs });
      } catch {
        // a failing logger must not stop the retries
      }
      if (retryInMs !== undefined && retryInMs > 0) await sleep(retryInMs);
    }
  }
  return { ok: false, attempts: policy.tries, error };
}

/**
 * Every form in which a configured secret could show up in an error message:
 * the webhook URL and its path (the secret part of a Slack webhook), the SMTP
 * URL, and the SMTP password both as given and as written inside a URL.
 * Longest first, so that a longer secret is replaced before a part of it.
 */
export function secretsOf(cfg: NotifyConfig): string[] {
  const found = new Set<string>();
  const add = (s: string | undefined): void => {
    if (s) found.add(s);
  };
  const addPassword = (p: string | undefined): void => {
    if (!p) return;
    add(p);
    add(encodeURIComponent(p));
  };
  add(cfg.slackWebhookUrl);
  if (cfg.slackWebhookUrl) {
    const u = safeUrl(cfg.slackWebhookUrl);
    if (u && u.pathname.length > 1) add(u.pathname + u.search);
  }
  add(cfg.smtpUrl);
  addPassword(cfg.smtpPassword);
  if (cfg.smtpUrl) {
    const u = safeUrl(cfg.smtpUrl);
    if (u?.password) {
      add(u.password);
      addPassword(safeDecode(u.password));
    }
  }
  return [...found].sort((a, b) => b.length - a.length);
}

/** `text` with each secret replaced by "[redacted]". */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out;
}

const MAX_ERROR_CHARS = 500;

/**
 * One line for a thrown value: its code, its message and, for fetch's
 * "fetch failed", the underlying cause; secrets scrubbed.
 */
export function describeError(e: unknown, secrets: readonly string[]): string {
  const parts: string[] = [];
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !e.message.includes(code)) parts.push(`${code}:`);
    parts.push(e.message || e.name);
    const cause = e.cause;
    if (cause instanceof Error) {
      const cc = (cause as { code?: unknown }).code;
      parts.push(`(${typeof cc === 'string' && !cause.message.includes(cc) ? `${cc}: ` : ''}${cause.message})`);
    }
  } else {
    parts.push(String(e));
  }
  const text = scrub(parts.join(' ').replace(/\s+/g, ' ').trim(), secrets);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
}

export function safeUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
