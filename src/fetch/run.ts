/**
 * One `stockflow data fetch` run (#13): for each session asked for, each enabled daily source's file (and
 * the masters when due), into `<data-dir>/raw/YYYY/MM/DD/` (masters: `<data-dir>/raw/masters/`):
 *
 * - a file already there and valid (validate.ts) is not fetched again ("present") unless `force`;
 * - a 200 answer is validated before it is kept, then written under a temporary name and renamed
 *   (src/util/atomic-file.ts): an HTML page, an empty body, a broken zip or a CSV of the wrong kind is
 *   "failed" with the URL and the reason, and nothing is written;
 * - a 404 on a trading day is "missing" (not published yet); with `until`, missing files (and requests that
 *   failed after their retries on timeouts or 5xx) are asked for again every `lateRetryMinutes` until then,
 *   and the ones still absent stay "missing" ("not published by HH:MM");
 * - days the market calendar says are not trading days are not asked for (counted as holidays);
 * - then the sessions that gained a file are imported with the exchange importer (the `importer` given), and
 *   the run is recorded in predictions.db (`fetch_runs`), whatever happened.
 *
 * Exit code: 0 when every file is fetched or present; 9 (FETCH_INCOMPLETE) when some are missing or failed
 * (what arrived is still kept and imported); an import failure keeps the importer's own code.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { EXIT_CODES, exitCodeOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { IsoDate } from '../market/dates.js';
import type { FetchFileOutcome, FetchRunRow } from '../predictions/types.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { FetchClient, FetchError } from './client.js';
import type { FetchSettings } from './config.js';
import { fillPattern, type SourceDef } from './sources.js';
import { validateBody } from './validate.js';

/** Imports downloaded files into market.db (the exchange importer); resolves with a one-line outcome. */
export type Importer = (paths: string[]) => Promise<string>;

export interface FetchRunOptions {
  dataDir: string;
  /** Trading sessions to fetch, in order. */
  sessions: IsoDate[];
  /** Days asked for that the calendar says do not trade (reported, never requested). */
  holidays: IsoDate[];
  masters: boolean;
  force: boolean;
  settings: FetchSettings;
  /** Keep asking for files not published yet until this moment (null: one pass). */
  until: Date | null;
  /** Undefined: downloads only (--no-import); `{ unavailable }`: this build cannot import (the reason is reported). */
  importer?: Importer | { unavailable: string };
  /** Records the run (predictions.db fetch_runs); errors here are logged, never thrown. */
  record?: (row: FetchRunRow) => void;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  /** Waits between passes for late files (tests pass a fake clock's). */
  sleep?: (ms: number) => Promise<void>;
}

export interface FetchRunSummary {
  runId: string;
  sessions: IsoDate[];
  holidays: IsoDate[];
  files: FetchFileOutcome[];
  counts: { fetched: number; present: number; missing: number; failed: number };
  bytes: number;
  importStatus: string;
  exitCode: number;
  /** The import's error, when it failed (its exit code is the run's). */
  importError?: Error;
}

export const rawDir = (dataDir: string): string => path.join(dataDir, 'raw');
export const sessionDir = (dataDir: string, d: IsoDate): string => path.join(rawDir(dataDir), d.slice(0, 4), d.slice(5, 7), d.slice(8, 10));
export const mastersDir = (dataDir: string): string => path.join(rawDir(dataDir), 'masters');

/** Masters are due when asked for, or when the kept EQUITY_L.csv is absent or a week old. */
export function mastersDue(dataDir: string, now: Date): boolean {
  const f = path.join(mastersDir(dataDir), 'EQUITY_L.csv');
  if (!existsSync(f)) return true;
  return now.getTime() - statSync(f).mtimeMs > 7 * 86_400_000;
}

interface Item {
  date: IsoDate | null;
  src: SourceDef & { enabled: boolean };
  url: string;
  target: string;
  outcome?: FetchFileOutcome;
  retry: boolean;
}

const sleepReal = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runFetch(o: FetchRunOptions): Promise<FetchRunSummary> {
  const now = o.now ?? (() => new Date());
  const sleep = o.sleep ?? sleepReal;
  const startedAt = now().toISOString();
  const runId = `fetch-${startedAt.replace(/[-:]/g, '').slice(0, 15)}-${randomUUID().slice(0, 6)}`;
  const log = o.log.child({ component: 'fetch', runId });
  const client = new FetchClient({
    ratePerSecond: o.settings.ratePerSecond,
    timeoutMs: o.settings.timeoutMs,
    retries: o.settings.retries,
    backoffMs: o.settings.backoffMs,
    env: o.env,
    onRetry: (url, attempt, why, waitMs) => log.warn({ url, attempt, why, waitMs }, 'retrying'),
  });

  const items: Item[] = [];
  for (const d of o.sessions) {
    for (const src of o.settings.sources.filter((s) => s.daily && s.enabled)) {
      items.push({ date: d, src, url: fillPattern(src.url, d), target: path.join(sessionDir(o.dataDir, d), fillPattern(src.file, d)), retry: false });
    }
  }
  if (o.masters) {
    const ref = o.sessions[o.sessions.length - 1] ?? now().toISOString().slice(0, 10);
    for (const src of o.settings.sources.filter((s) => !s.daily && s.enabled)) {
      items.push({ date: null, src, url: fillPattern(src.url, ref), target: path.join(mastersDir(o.dataDir), fillPattern(src.file, ref)), retry: false });
    }
  }

  const outcome = (it: Item, status: FetchFileOutcome['status'], bytes: number, detail?: string): void => {
    it.outcome = { date: it.date, source: it.src.id, url: it.url, file: path.relative(o.dataDir, it.target), status, bytes, ...(detail ? { detail } : {}) };
    const line = { date: it.date, source: it.src.id, url: it.url, status, bytes, detail };
    if (status === 'failed') log.error(line, 'file failed');
    else if (status === 'missing') log.warn(line, 'file missing');
    else log.info(line, `file ${status}`);
  };

  const one = async (it: Item): Promise<void> => {
    it.retry = false;
    // Present and valid: not fetched again (masters are refetched whenever they are due).
    if (!o.force && it.date !== null && existsSync(it.target)) {
      const v = await validateBody(it.src, path.basename(it.target), readFileSync(it.target), it.target);
      if (v.ok) return outcome(it, 'present', 0);
      log.warn({ file: it.target, why: v.why }, 'the file on disk is not valid: fetching it again');
    }
    let answer;
    try {
      answer = await client.get(it.url);
    } catch (e) {
      if (!(e instanceof FetchError)) throw e;
      it.retry = e.transient;
      return outcome(it, 'failed', 0, e.message);
    }
    if (answer.status === 404) {
      it.retry = true;
      return outcome(it, 'missing', 0, `${it.url}: not published yet (HTTP 404)`);
    }
    if (answer.status === 401 || answer.status === 403) {
      return outcome(it, 'failed', 0, `${it.url}: refused (HTTP ${answer.status}): the exchange may block this client or address; use a proxy (HTTPS_PROXY) or a mirror`);
    }
    if (answer.status !== 200) return outcome(it, 'failed', 0, `${it.url}: HTTP ${answer.status}`);
    const v = await validateBody(it.src, path.basename(it.target), answer.body, it.url);
    if (!v.ok) return outcome(it, 'failed', 0, v.why);
    mkdirSync(path.dirname(it.target), { recursive: true });
    writeFileAtomic(it.target, answer.body);
    outcome(it, 'fetched', answer.body.byteLength);
  };

  try {
    let pending = items;
    for (let pass = 1; ; pass++) {
      for (const it of pending) await one(it);
      pending = pending.filter((it) => it.retry);
      if (pending.length === 0 || o.until === null) break;
      const waitMs = o.settings.lateRetryMinutes * 60_000;
      if (now().getTime() + waitMs > o.until.getTime()) break;
      log.info({ pending: pending.map((it) => `${it.date ?? 'masters'} ${it.src.id}`), pass, nextInMs: waitMs, until: o.until.toISOString() }, 'files not published yet: asking again later');
      await sleep(waitMs);
    }
    if (o.until !== null) {
      const by = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Kolkata', hour: '2-digit', minute: '2-digit' }).format(o.until);
      for (const it of items) if (it.outcome?.status === 'missing') it.outcome.detail = `${it.url}: not published by ${by} IST (HTTP 404)`;
    }
    // A session none of whose files exists: the exchange was probably closed on a day the calendar counts as a trading day.
    for (const d of o.sessions) {
      const its = items.filter((it) => it.date === d);
      if (its.length > 1 && its.every((it) => it.outcome?.status === 'missing')) {
        for (const it of its) if (it.outcome) it.outcome.detail += ` (no file of ${d} is published: if the exchanges were closed that day, market.db's calendar lacks the holiday)`;
      }
    }
  } finally {
    await client.close();
  }

  const files = items.map((it) => it.outcome as FetchFileOutcome);
  const count = (s: FetchFileOutcome['status']): number => files.filter((f) => f.status === s).length;
  const counts = { fetched: count('fetched'), present: count('present'), missing: count('missing'), failed: count('failed') };
  const bytes = files.reduce((a, f) => a + f.bytes, 0);
  let exitCode: number = counts.missing + counts.failed > 0 ? EXIT_CODES.FETCH_INCOMPLETE : EXIT_CODES.OK;

  // Import what arrived: the folders of sessions that gained a file this run, and the masters if refreshed.
  let importStatus: string;
  let importError: Error | undefined;
  const fresh = items.filter((it) => it.outcome?.status === 'fetched');
  const paths = [...new Set(fresh.map((it) => (it.date === null ? mastersDir(o.dataDir) : sessionDir(o.dataDir, it.date))))].sort();
  if (!o.importer) importStatus = 'skipped (--no-import)';
  else if (paths.length === 0) importStatus = 'nothing new';
  else if (typeof o.importer !== 'function') importStatus = `not done: ${o.importer.unavailable}`;
  else {
    try {
      importStatus = `imported: ${await o.importer(paths)}`;
    } catch (e) {
      importError = e as Error;
      importStatus = `failed: ${(e as Error).message}`;
      exitCode = exitCodeOf(e);
      log.error({ paths, error: (e as Error).message }, 'import failed');
    }
  }

  const summary: FetchRunSummary = { runId, sessions: o.sessions, holidays: o.holidays, files, counts, bytes, importStatus, exitCode, importError };
  log.info({ sessions: o.sessions.length, holidays: o.holidays.length, ...counts, bytes, importStatus, exitCode }, 'fetch finished');
  try {
    o.record?.({
      run_id: runId,
      started_at: startedAt,
      finished_at: now().toISOString(),
      first_session: o.sessions[0] ?? null,
      last_session: o.sessions[o.sessions.length - 1] ?? null,
      status: exitCode === 0 ? 'ok' : counts.fetched + counts.present > 0 ? 'incomplete' : 'failed',
      fetched: counts.fetched,
      present: counts.present,
      missing: counts.missing,
      failed: counts.failed,
      holidays: o.holidays.length,
      bytes,
      import_status: importStatus,
      exit_code: exitCode,
      files_json: JSON.stringify(files),
    });
  } catch (e) {
    log.warn({ error: (e as Error).message }, 'could not record the fetch run in predictions.db');
  }
  return summary;
}

/** The summary a person reads (stdout). */
export function fetchSummaryText(s: FetchRunSummary): string {
  const out: string[] = [];
  const range = s.sessions.length === 0 ? 'no trading session' : s.sessions.length === 1 ? s.sessions[0] : `${s.sessions[0]} … ${s.sessions[s.sessions.length - 1]} (${s.sessions.length} sessions)`;
  out.push(`fetch ${range}: ${s.counts.fetched} fetched, ${s.counts.present} present (skipped), ${s.counts.missing} missing, ${s.counts.failed} failed, ${(s.bytes / 1024 / 1024).toFixed(1)} MB` + (s.holidays.length > 0 ? `; ${s.holidays.length} holiday(s) not asked for: ${s.holidays.join(', ')}` : ''));
  for (const f of s.files) if (f.status === 'missing' || f.status === 'failed') out.push(`  ${f.status} ${f.date ?? 'masters'} ${f.source}: ${f.detail ?? f.url}`);
  out.push(`import: ${s.importStatus}`);
  return `${out.join('\n')}\n`;
}
