/**
 * The careful HTTP client of `stockflow data fetch` (#13): the exchanges refuse bare clients, block busy
 * ones and answer errors with HTML pages, so every request
 * - sends browser-like headers (a desktop Chrome User-Agent, Accept, Accept-Language, a Referer of the host's
 *   own site);
 * - keeps one cookie jar per host: a cookie the server sets (Set-Cookie, on any answer, redirects included)
 *   is sent back to that host on the next requests, until it expires;
 * - waits its turn: at most `ratePerSecond` requests per second per host (requests to one host are spaced,
 *   hosts do not wait for each other);
 * - retries timeouts, dropped connections, 429 and 5xx answers with exponential backoff
 *   (`backoffMs` × 2^attempt, at most `retries` times); other answers (200, 404, …) are returned as they are;
 * - follows up to 5 redirects; decodes gzip/deflate/br bodies;
 * - goes through `HTTPS_PROXY` / `HTTP_PROXY` unless `NO_PROXY` matches (undici's EnvHttpProxyAgent, read
 *   from the environment it is given).
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { EnvHttpProxyAgent, request, type Dispatcher } from 'undici';

export const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-US,en;q=0.9',
  'accept-encoding': 'gzip, deflate, br',
  connection: 'keep-alive',
};

export interface ClientOptions {
  ratePerSecond: number;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  /** The environment the proxy settings are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Called before each retry (for the log). */
  onRetry?: (url: string, attempt: number, why: string, waitMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface HttpAnswer {
  url: string;
  status: number;
  contentType: string;
  body: Buffer;
  /** Requests made for this answer (1 + retries + redirects). */
  requests: number;
}

/** A request that failed after its retries: the URL and why. */
export class FetchError extends Error {
  constructor(
    readonly url: string,
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = 'FetchError';
  }
}

interface Cookie {
  value: string;
  expires: number | null;
}

const sleepReal = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether an undici/network error is worth retrying (timeouts, resets, refused connections). */
function transientError(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  const name = (e as Error).name ?? '';
  return (
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    /^UND_ERR_(HEADERS_TIMEOUT|BODY_TIMEOUT|CONNECT_TIMEOUT|SOCKET|CLOSED)$/.test(code) ||
    /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|ENETUNREACH)$/.test(code)
  );
}

function describe(e: unknown): string {
  const code = (e as { code?: string }).code;
  const name = (e as Error).name;
  if (name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timed out';
  return code ? `${code}: ${(e as Error).message}` : (e as Error).message;
}

export class FetchClient {
  private readonly dispatcher: Dispatcher;
  private readonly jars = new Map<string, Map<string, Cookie>>();
  private readonly nextSlot = new Map<string, number>();
  private readonly sleep: (ms: number) => Promise<void>;
  /** Requests sent per host (for the summary and the tests). */
  readonly requestsByHost = new Map<string, number>();

  constructor(private readonly o: ClientOptions) {
    const env = o.env ?? process.env;
    const httpProxy = env.http_proxy ?? env.HTTP_PROXY ?? '';
    this.dispatcher = new EnvHttpProxyAgent({
      httpProxy,
      httpsProxy: env.https_proxy ?? env.HTTPS_PROXY ?? httpProxy,
      noProxy: env.no_proxy ?? env.NO_PROXY ?? '',
      connectTimeout: o.timeoutMs,
    });
    this.sleep = o.sleep ?? sleepReal;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** The cookies held for a host (name → value), for tests and debugging. */
  cookies(host: string): Record<string, string> {
    return Object.fromEntries([...(this.jars.get(host) ?? new Map<string, Cookie>()).entries()].map(([k, c]) => [k, c.value]));
  }

  private cookieHeader(host: string): string | undefined {
    const jar = this.jars.get(host);
    if (!jar) return undefined;
    const now = Date.now();
    const pairs: string[] = [];
    for (const [k, c] of jar) {
      if (c.expires !== null && c.expires <= now) jar.delete(k);
      else pairs.push(`${k}=${c.value}`);
    }
    return pairs.length > 0 ? pairs.join('; ') : undefined;
  }

  private storeCookies(host: string, setCookie: string | string[] | undefined): void {
    if (setCookie === undefined) return;
    const jar = this.jars.get(host) ?? new Map<string, Cookie>();
    this.jars.set(host, jar);
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let expires: number | null = null;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'max-age' && /^-?\d+$/.test(v.trim())) expires = Date.now() + Number(v.trim()) * 1000;
        else if (key === 'expires' && expires === null) {
          const t = Date.parse(v.trim());
          if (Number.isFinite(t)) expires = t;
        }
      }
      if (expires !== null && expires <= Date.now()) jar.delete(name);
      else jar.set(name, { value, expires });
    }
  }

  /** Waits until this host may be asked again (at most ratePerSecond requests a second). */
  private async turn(host: string): Promise<void> {
    const gap = 1000 / this.o.ratePerSecond;
    const now = Date.now();
    const at = Math.max(now, this.nextSlot.get(host) ?? 0);
    this.nextSlot.set(host, at + gap);
    if (at > now) await this.sleep(at - now);
  }

  private async once(url: URL): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const host = url.host;
    await this.turn(host);
    this.requestsByHost.set(host, (this.requestsByHost.get(host) ?? 0) + 1);
    const headers: Record<string, string> = { ...BROWSER_HEADERS, referer: `${url.protocol}//${host}/` };
    const cookie = this.cookieHeader(host);
    if (cookie) headers.cookie = cookie;
    const res = await request(url, {
      method: 'GET',
      headers,
      dispatcher: this.dispatcher,
      headersTimeout: this.o.timeoutMs,
      bodyTimeout: this.o.timeoutMs,
      signal: AbortSignal.timeout(this.o.timeoutMs * 4),
    });
    const raw = Buffer.from(await res.body.arrayBuffer());
    this.storeCookies(host, res.headers['set-cookie']);
    const enc = String(res.headers['content-encoding'] ?? '').toLowerCase();
    let body = raw;
    try {
      if (enc === 'gzip' || enc === 'x-gzip') body = gunzipSync(raw);
      else if (enc === 'deflate') body = inflateSync(raw);
      else if (enc === 'br') body = brotliDecompressSync(raw);
    } catch (e) {
      throw Object.assign(new Error(`the ${enc} body cannot be decoded (${(e as Error).message})`), { code: 'ECONNRESET' });
    }
    return { status: res.statusCode, headers: res.headers, body };
  }

  /** GETs a URL with the retries and redirects above; throws FetchError when it gives up. */
  async get(target: string): Promise<HttpAnswer> {
    let url = new URL(target);
    let requests = 0;
    let redirects = 0;
    for (let attempt = 0; ; ) {
      let why: string;
      try {
        requests++;
        const r = await this.once(url);
        const location = r.headers.location;
        if ([301, 302, 303, 307, 308].includes(r.status) && typeof location === 'string') {
          if (++redirects > 5) throw new FetchError(target, `${target}: more than 5 redirects`, false);
          url = new URL(location, url);
          continue;
        }
        if (r.status !== 429 && r.status < 500) {
          return { url: url.toString(), status: r.status, contentType: String(r.headers['content-type'] ?? ''), body: r.body, requests };
        }
        why = `HTTP ${r.status}`;
      } catch (e) {
        if (e instanceof FetchError) throw e;
        if (!transientError(e)) throw new FetchError(target, `${target}: ${describe(e)}`, false);
        why = describe(e);
      }
      if (attempt >= this.o.retries) throw new FetchError(target, `${target}: ${why} (after ${attempt + 1} attempts)`, true);
      const wait = this.o.backoffMs * 2 ** attempt;
      attempt++;
      this.o.onRetry?.(target, attempt, why, wait);
      await this.sleep(wait);
    }
  }
}
