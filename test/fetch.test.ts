/**
 * `stockflow data fetch` (#13) against local stand-ins for the exchanges' servers (test/helpers/exchange-server.ts):
 * no test reaches the internet. The sources are pointed at loopback through the same STOCKFLOW_FETCH_*_URL
 * variables a user would set. Each failure mode of the issue has its test: a slow answer (timeout → retry), a 503
 * then success, a 404 for a holiday (never asked for) and for a file not published yet (retried until --until,
 * then missing), an HTML page with status 200, a truncated zip, a header change, a cookie the client must send back;
 * and a proxy (HTTP_PROXY / HTTPS_PROXY) that sees the requests.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateExchangeFiles } from '../src/demo/exchange-files.js';
import { loadFetchSettings } from '../src/fetch/config.js';
import { runFetch, type FetchRunOptions, type FetchRunSummary } from '../src/fetch/run.js';
import { defaultFetchDate, sessionsToFetch, untilMoment } from '../src/fetch/dates.js';
import { fillPattern } from '../src/fetch/sources.js';
import { TradingCalendar } from '../src/market/calendar.js';
import { nseHolidaysBetween } from '../src/demo/holidays.js';
import { createLogger } from '../src/log.js';
import type { FetchRunRow } from '../src/predictions/types.js';
import { fetchEnv, startConnectProxy, startExchangeServer, type ExchangeServer } from './helpers/exchange-server.js';

const D = '2025-10-06'; // a Monday
const PREV = '2025-10-03'; // the Friday before (2025-10-02 is Gandhi Jayanti, an exchange holiday)
let tmp: string;
let files: string;
let nse: ExchangeServer;
let bse: ExchangeServer;
let dataDir: string;
let n = 0;
const log = createLogger('silent');

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sf-fetch-'));
  files = path.join(tmp, 'exchange');
  generateExchangeFiles({ out: files, stocks: 20, sessions: 6, seed: 2, end: D });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeEach(async () => {
  nse = await startExchangeServer(files);
  bse = await startExchangeServer(files);
  dataDir = path.join(tmp, `data-${++n}`);
});
afterEach(async () => {
  await nse.close();
  await bse.close();
});

const TEST_SETTINGS = { STOCKFLOW_FETCH_TIMEOUT_MS: '400', STOCKFLOW_FETCH_RETRIES: '2', STOCKFLOW_FETCH_BACKOFF_MS: '20', STOCKFLOW_FETCH_RATE: '50' };
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...fetchEnv(nse.base, bse.base), ...TEST_SETTINGS, ...extra });

async function fetchRun(o: Partial<FetchRunOptions> & { env?: NodeJS.ProcessEnv } = {}): Promise<FetchRunSummary & { rows: FetchRunRow[] }> {
  const e = o.env ?? env();
  const rows: FetchRunRow[] = [];
  const s = await runFetch({
    dataDir,
    sessions: [D],
    holidays: [],
    masters: false,
    force: false,
    settings: loadFetchSettings(dataDir, e),
    until: null,
    log,
    env: e,
    record: (r) => rows.push(r),
    ...o,
  });
  return { ...s, rows };
}

const day = (d: string): string => path.join(dataDir, 'raw', d.slice(0, 4), d.slice(5, 7), d.slice(8, 10));
const genDay = (d: string): string => path.join(files, d.slice(0, 4), d.slice(5, 7), d.slice(8, 10));
const NAMES = (d: string): string[] =>
  [
    'BhavCopy_BSE_CM_0_0_0_{YYYYMMDD}_F_0000.CSV',
    'BhavCopy_NSE_CM_0_0_0_{YYYYMMDD}_F_0000.csv.zip',
    'PR{DDMMYY}.zip',
    'sec_bhavdata_full_{DDMMYYYY}.csv',
    'sec_list_{DDMMYYYY}.csv',
  ].map((p) => fillPattern(p, d));
const dataRequests = (s: ExchangeServer): string[] => s.requests.map((r) => r.path);

describe('data fetch: a normal evening', () => {
  it('downloads the five daily files of a session into raw/YYYY/MM/DD, byte for byte, and records the run', async () => {
    const s = await fetchRun();
    expect(s.counts).toEqual({ fetched: 5, present: 0, missing: 0, failed: 0 });
    expect(s.exitCode).toBe(0);
    expect(readdirSync(day(D)).sort()).toEqual(NAMES(D).sort());
    for (const f of NAMES(D)) expect(readFileSync(path.join(day(D), f)).equals(readFileSync(path.join(genDay(D), f))), f).toBe(true);
    expect(s.bytes).toBe(NAMES(D).reduce((a, f) => a + readFileSync(path.join(genDay(D), f)).length, 0));
    expect(s.rows).toHaveLength(1);
    expect(s.rows[0]).toMatchObject({ status: 'ok', fetched: 5, present: 0, missing: 0, failed: 0, first_session: D, last_session: D, exit_code: 0 });
    // NSE's four files from the NSE host, BSE's from the BSE host; no temporary file left behind.
    expect(dataRequests(nse)).toHaveLength(4);
    expect(dataRequests(bse)).toEqual([`/download/BhavCopy/Equity/BhavCopy_BSE_CM_0_0_0_20251006_F_0000.CSV`]);
    expect(readdirSync(day(D)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('sends browser-like headers', async () => {
    await fetchRun();
    const h = nse.requests[0].headers;
    expect(h['user-agent']).toMatch(/^Mozilla\/5\.0 .*Chrome\/\d+/);
    expect(h['accept-language']).toContain('en');
    expect(h.accept).toContain('text/html');
    expect(h.referer).toBe(`${nse.base}/`);
  });

  it('spaces the requests to one host (at most STOCKFLOW_FETCH_RATE a second)', async () => {
    await fetchRun({ env: env({ STOCKFLOW_FETCH_RATE: '5' }) });
    const at = nse.requests.map((r) => r.at);
    expect(at).toHaveLength(4);
    // A lower bound only: the client waits 200 ms between two requests to a host; it may wait longer, never less.
    // The times are the stand-in's arrival times, so one request delayed on its way (a busy machine) shortens the
    // next gap by that delay: 50 ms of slack, while an unspaced client's gaps are a few ms.
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(150);
  });

  it('does not fetch again a file present and valid; --force does', async () => {
    await fetchRun();
    const before = nse.requests.length + bse.requests.length;
    const again = await fetchRun();
    expect(again.counts).toEqual({ fetched: 0, present: 5, missing: 0, failed: 0 });
    expect(again.importStatus).toBe('skipped (--no-import)');
    expect(nse.requests.length + bse.requests.length).toBe(before);
    const forced = await fetchRun({ force: true });
    expect(forced.counts.fetched).toBe(5);
    expect(nse.requests.length + bse.requests.length).toBe(before + 5);
  });

  it('fetches again a file on disk that is not valid (a truncated leftover)', async () => {
    await fetchRun();
    const pr = path.join(day(D), 'PR061025.zip');
    writeFileSync(pr, readFileSync(pr).subarray(0, 100));
    const s = await fetchRun();
    expect(s.counts).toEqual({ fetched: 1, present: 4, missing: 0, failed: 0 });
    expect(readFileSync(pr).equals(readFileSync(path.join(genDay(D), 'PR061025.zip')))).toBe(true);
  });

  it('fetches the masters into raw/masters when asked', async () => {
    const s = await fetchRun({ masters: true });
    expect(s.counts.fetched).toBe(7);
    expect(readFileSync(path.join(dataDir, 'raw', 'masters', 'EQUITY_L.csv')).equals(readFileSync(path.join(files, 'masters', 'EQUITY_L.csv')))).toBe(true);
    expect(existsSync(path.join(dataDir, 'raw', 'masters', 'List_of_scrips.csv'))).toBe(true);
  });
});

describe('data fetch: the failure modes', () => {
  it('a slow answer: the request times out and is retried', async () => {
    nse.queue('PR061025.zip', 'slow');
    const s = await fetchRun();
    expect(s.counts).toEqual({ fetched: 5, present: 0, missing: 0, failed: 0 });
    expect(dataRequests(nse).filter((p) => p.endsWith('PR061025.zip'))).toHaveLength(2);
  });

  it('a timeout on every attempt: failed, naming the URL', async () => {
    nse.always('sec_list_06102025.csv', 'slow');
    const s = await fetchRun();
    const f = s.files.find((x) => x.source === 'nse-sec-list');
    expect(f?.status).toBe('failed');
    expect(f?.detail).toBe(`${nse.base}/content/equities/sec_list_06102025.csv: timed out (after 3 attempts)`);
    expect(s.exitCode).toBe(9);
    expect(existsSync(path.join(day(D), 'sec_list_06102025.csv'))).toBe(false);
  });

  it('a 503 then success: retried with backoff', async () => {
    bse.queue('BhavCopy_BSE_CM_0_0_0_20251006_F_0000.CSV', '503', '503');
    const s = await fetchRun();
    expect(s.counts.fetched).toBe(5);
    expect(dataRequests(bse)).toHaveLength(3);
  });

  it('a 404 on a holiday: the calendar knows, the day is never asked for', async () => {
    const cal = new TradingCalendar(nseHolidaysBetween(2025, 2025).map((h) => h.date));
    const { sessions, holidays } = sessionsToFetch(cal, '2025-10-01', PREV);
    expect(sessions).toEqual(['2025-10-01', PREV]);
    expect(holidays).toEqual(['2025-10-02']);
    const s = await fetchRun({ sessions, holidays });
    expect(s.counts).toEqual({ fetched: 10, present: 0, missing: 0, failed: 0 });
    expect([...dataRequests(nse), ...dataRequests(bse)].filter((p) => /20251002|021025|02102025/.test(p))).toEqual([]);
    expect(s.rows[0].holidays).toBe(1);
  });

  it('a 404 on a trading day: not published yet; asked again until --until, then missing', async () => {
    let t = Date.parse('2025-10-06T13:30:00Z'); // 19:00 IST
    const clock = { now: () => new Date(t), sleep: async (ms: number) => void (t += ms) };
    const until = new Date(Date.parse('2025-10-06T17:30:00Z')); // 23:00 IST
    nse.queue('PR061025.zip', '404', '404'); // published on the third ask
    nse.always('sec_bhavdata_full_06102025.csv', '404'); // never published
    const s = await fetchRun({ until, ...clock, env: env({ STOCKFLOW_FETCH_LATE_RETRY_MINUTES: '15' }) });
    expect(dataRequests(nse).filter((p) => p.endsWith('PR061025.zip'))).toHaveLength(3);
    // 19:00, 19:15, … 23:00: 17 asks in all for the file that never comes, 15 minutes apart.
    expect(dataRequests(nse).filter((p) => p.endsWith('sec_bhavdata_full_06102025.csv'))).toHaveLength(17);
    expect(s.counts).toEqual({ fetched: 4, present: 0, missing: 1, failed: 0 });
    const miss = s.files.find((f) => f.status === 'missing');
    expect(miss?.detail).toBe(`${nse.base}/products/content/sec_bhavdata_full_06102025.csv: not published by 23:00 IST (HTTP 404)`);
    expect(s.exitCode).toBe(9);
    expect(s.rows[0]).toMatchObject({ status: 'incomplete', missing: 1, fetched: 4 });
  });

  it('a session none of whose files is published: missing, with a hint that the calendar may lack a holiday', async () => {
    const s = await fetchRun({ sessions: ['2025-10-07'] }); // no files were generated for it
    expect(s.counts).toEqual({ fetched: 0, present: 0, missing: 5, failed: 0 });
    expect(s.files[0].detail).toBe(`${nse.base}/content/cm/BhavCopy_NSE_CM_0_0_0_20251007_F_0000.csv.zip: not published yet (HTTP 404) (no file of 2025-10-07 is published: if the exchanges were closed that day, market.db's calendar lacks the holiday)`);
    expect(s.rows[0].status).toBe('failed');
  });

  it('an HTML page with status 200: an error naming the URL, never data', async () => {
    nse.always('BhavCopy_NSE_CM_0_0_0_20251006_F_0000.csv.zip', 'html');
    const s = await fetchRun();
    const f = s.files.find((x) => x.source === 'nse-udiff');
    expect(f?.status).toBe('failed');
    expect(f?.detail).toBe(`${nse.base}/content/cm/BhavCopy_NSE_CM_0_0_0_20251006_F_0000.csv.zip: an HTML page, not the NSE UDiFF CM bhavcopy (the exchange may be blocking this client, or the file is not published)`);
    expect(existsSync(path.join(day(D), 'BhavCopy_NSE_CM_0_0_0_20251006_F_0000.csv.zip'))).toBe(false);
    expect(s.counts).toEqual({ fetched: 4, present: 0, missing: 0, failed: 1 });
  });

  it('a real CSV labelled text/html is judged by its bytes and kept', async () => {
    nse.always('sec_list_06102025.csv', 'labelled-html');
    const s = await fetchRun();
    expect(s.counts).toEqual({ fetched: 5, present: 0, missing: 0, failed: 0 });
  });

  it('an empty body: an error naming the URL', async () => {
    nse.always('sec_list_06102025.csv', 'empty');
    const s = await fetchRun();
    expect(s.files.find((x) => x.source === 'nse-sec-list')?.detail).toBe(`${nse.base}/content/equities/sec_list_06102025.csv: empty body`);
  });

  it('a truncated zip: an error naming the URL, nothing written', async () => {
    nse.always('PR061025.zip', 'truncated');
    const s = await fetchRun();
    const f = s.files.find((x) => x.source === 'nse-pr');
    expect(f?.status).toBe('failed');
    expect(f?.detail).toMatch(new RegExp(`^${nse.base.replace(/\./g, '\\.')}/archives/equities/bhavcopy/pr/PR061025\\.zip: a zip that does not open \\(.*\\): truncated or not a zip$`));
    expect(existsSync(path.join(day(D), 'PR061025.zip'))).toBe(false);
  });

  it('a header change: an error naming the URL and the columns that differ', async () => {
    nse.always('sec_bhavdata_full_06102025.csv', 'header-change');
    const s = await fetchRun();
    const f = s.files.find((x) => x.source === 'nse-full');
    expect(f?.status).toBe('failed');
    expect(f?.detail).toContain(`${nse.base}/products/content/sec_bhavdata_full_06102025.csv: looks like a NSE full bhavcopy with deliveries`);
    expect(f?.detail).toContain("missing 'CLOSE_PRICE'; unexpected 'CLS_PRICE'");
    expect(existsSync(path.join(day(D), 'sec_bhavdata_full_06102025.csv'))).toBe(false);
  });

  it('a file of another kind where one is expected (a BSE bhavcopy at the NSE sec_list URL): failed', async () => {
    const s = await fetchRun({ env: env({ STOCKFLOW_FETCH_NSE_SEC_LIST_URL: `${bse.base}/download/BhavCopy/Equity/BhavCopy_BSE_CM_0_0_0_{YYYYMMDD}_F_0000.CSV` }) });
    expect(s.files.find((x) => x.source === 'nse-sec-list')?.detail).toContain('a BSE UDiFF CM bhavcopy, not the NSE price bands (sec_list) expected here');
  });

  it('a cookie the server sets is sent back to that host', async () => {
    nse.requireCookie('nsit', 'abc123');
    const s = await fetchRun();
    expect(s.counts).toEqual({ fetched: 5, present: 0, missing: 0, failed: 0 });
    const cookies = nse.requests.map((r) => r.headers.cookie ?? null);
    expect(cookies[0]).toBeNull();
    expect(cookies.slice(1)).toEqual(['nsit=abc123', 'nsit=abc123', 'nsit=abc123']);
    // One jar per host: the BSE host never sees NSE's cookie.
    expect(bse.requests.map((r) => r.headers.cookie ?? null)).toEqual([null]);
  });

  it('the stand-in really refuses a client that does not send the cookie back (so the test above can fail)', async () => {
    nse.requireCookie('nsit', 'abc123');
    const url = `${nse.base}/content/equities/sec_list_06102025.csv`;
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(url)).status).toBe(403);
    expect((await fetch(url, { headers: { cookie: 'nsit=abc123' } })).status).toBe(200);
  });
});

describe('data fetch: proxy', () => {
  it('goes through HTTP_PROXY/HTTPS_PROXY when set, and not for hosts in NO_PROXY', async () => {
    const proxy = await startConnectProxy();
    try {
      const s = await fetchRun({ env: env({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url }) });
      expect(s.counts.fetched).toBe(5);
      expect(proxy.tunnels.length).toBeGreaterThan(0);
      expect(new Set(proxy.tunnels)).toEqual(new Set([nse.base.replace('http://', ''), bse.base.replace('http://', '')]));
      const before = proxy.tunnels.length;
      const s2 = await fetchRun({ force: true, env: env({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }) });
      expect(s2.counts.fetched).toBe(5);
      expect(proxy.tunnels.length).toBe(before);
    } finally {
      await proxy.close();
    }
  });
});

describe('data fetch: dates and settings', () => {
  const cal = new TradingCalendar(nseHolidaysBetween(2025, 2025).map((h) => h.date));
  it('defaults to today after 18:00 IST on a trading day, else the session before', () => {
    expect(defaultFetchDate(cal, new Date('2025-10-06T12:29:00Z'))).toBe(PREV); // 17:59 IST Monday
    expect(defaultFetchDate(cal, new Date('2025-10-06T12:30:00Z'))).toBe(D); // 18:00 IST
    expect(defaultFetchDate(cal, new Date('2025-10-05T15:00:00Z'))).toBe(PREV); // Sunday evening
    expect(defaultFetchDate(cal, new Date('2025-10-02T15:00:00Z'))).toBe('2025-10-01'); // a holiday's evening
    expect(defaultFetchDate(cal, new Date('2025-10-06T19:00:00Z'))).toBe(D); // 00:30 IST Tuesday: Monday's
  });

  it('--until is a moment in IST today, or none once it has passed', () => {
    expect(untilMoment('23:00', new Date('2025-10-06T13:30:00Z'))?.toISOString()).toBe('2025-10-06T17:30:00.000Z');
    expect(untilMoment('19:00', new Date('2025-10-06T13:31:00Z'))).toBeNull();
    expect(() => untilMoment('25:00', new Date())).toThrow("--until '25:00' is not a time HH:MM (IST)");
  });

  it('reads fetch.json, and the environment wins over it', () => {
    const dir = path.join(tmp, 'cfg');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'fetch.json'), JSON.stringify({ sources: { 'nse-pr': { url: 'https://mirror.example/pr/PR{DDMMYY}.zip' }, 'bse-scrips': { enabled: false } }, ratePerSecond: 1 }));
    const s = loadFetchSettings(dir, {});
    expect(s.sources.find((x) => x.id === 'nse-pr')?.url).toBe('https://mirror.example/pr/PR{DDMMYY}.zip');
    expect(s.sources.find((x) => x.id === 'bse-scrips')?.enabled).toBe(false);
    expect(s.sources.find((x) => x.id === 'nse-udiff')?.url).toBe('https://nsearchives.nseindia.com/content/cm/BhavCopy_NSE_CM_0_0_0_{YYYYMMDD}_F_0000.csv.zip');
    expect(s.ratePerSecond).toBe(1);
    const e = loadFetchSettings(dir, { STOCKFLOW_FETCH_NSE_PR_URL: 'http://127.0.0.1:9/PR{DDMMYY}.zip', STOCKFLOW_FETCH_RATE: '3', STOCKFLOW_FETCH_BSE_UDIFF_URL: 'off' });
    expect(e.sources.find((x) => x.id === 'nse-pr')?.url).toBe('http://127.0.0.1:9/PR{DDMMYY}.zip');
    expect(e.sources.find((x) => x.id === 'bse-udiff')?.enabled).toBe(false);
    expect(e.ratePerSecond).toBe(3);
    expect(fillPattern('x/{YYYYMMDD}/{DDMMYYYY}/{DDMMYY}/{MON}/{Mon}', '2025-12-16')).toBe('x/20251216/16122025/161225/DEC/Dec');
  });

  it('refuses bad settings with one line naming the file or variable', () => {
    const dir = path.join(tmp, 'cfg-bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'fetch.json'), '{ "sources": { "nse-bhav": {} } }');
    expect(() => loadFetchSettings(dir, {})).toThrow(`${path.join(dir, 'fetch.json')}: unknown source 'nse-bhav'`);
    writeFileSync(path.join(dir, 'fetch.json'), '{ not json');
    expect(() => loadFetchSettings(dir, {})).toThrow('not valid fetch settings');
    rmSync(path.join(dir, 'fetch.json'));
    expect(() => loadFetchSettings(dir, { STOCKFLOW_FETCH_NSE_PR_URL: 'https://x/PR{DDMMYYY}.zip' })).toThrow('STOCKFLOW_FETCH_NSE_PR_URL: unknown placeholder {DDMMYYY}');
    expect(() => loadFetchSettings(dir, { STOCKFLOW_FETCH_NSE_PR_URL: 'ftp://x/PR.zip' })).toThrow('is not an http(s) URL');
    expect(() => loadFetchSettings(dir, { STOCKFLOW_FETCH_RETRIES: '-1' })).toThrow('STOCKFLOW_FETCH_RETRIES must be a whole number ≥ 0');
  });
});
