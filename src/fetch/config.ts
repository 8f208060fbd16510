/**
 * The fetch's settings: the documented defaults, then `<data-dir>/fetch.json` (or the file
 * STOCKFLOW_FETCH_CONFIG names), then environment variables, the last one winning.
 *
 * fetch.json (every key optional):
 *   {
 *     "sources": { "nse-udiff": { "url": "https://mirror.example/cm/BhavCopy_NSE_CM_0_0_0_{YYYYMMDD}_F_0000.csv.zip" },
 *                  "bse-scrips": { "enabled": false } },
 *     "ratePerSecond": 2, "timeoutMs": 30000, "retries": 3, "backoffMs": 1000, "lateRetryMinutes": 15
 *   }
 * Environment: STOCKFLOW_FETCH_<SOURCE>_URL (e.g. STOCKFLOW_FETCH_NSE_UDIFF_URL; the value `off` disables the
 * source), STOCKFLOW_FETCH_RATE, STOCKFLOW_FETCH_TIMEOUT_MS, STOCKFLOW_FETCH_RETRIES, STOCKFLOW_FETCH_BACKOFF_MS,
 * STOCKFLOW_FETCH_LATE_RETRY_MINUTES; HTTPS_PROXY / HTTP_PROXY / NO_PROXY for the proxy.
 * A bad value is exit 2 with one line naming the file or variable.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { badArgs } from '../errors.js';
import { SOURCES, envNameOf, unknownPlaceholders, type SourceDef, type SourceId } from './sources.js';

export interface FetchSettings {
  sources: (SourceDef & { enabled: boolean })[];
  ratePerSecond: number;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  /** How long to wait between passes for files not published yet (with --until). */
  lateRetryMinutes: number;
  /** Where the settings came from, for the log. */
  configFile: string | null;
}

export const FETCH_DEFAULTS = { ratePerSecond: 2, timeoutMs: 30_000, retries: 3, backoffMs: 1_000, lateRetryMinutes: 15 } as const;

export const fetchConfigPath = (dataDir: string, env: NodeJS.ProcessEnv = process.env): string => env.STOCKFLOW_FETCH_CONFIG || path.join(dataDir, 'fetch.json');

function checkUrl(url: string, where: string): string {
  let u: URL;
  try {
    u = new URL(url.replace(/\{[A-Za-z]+\}/g, 'X'));
  } catch {
    throw badArgs(`${where}: '${url}' is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badArgs(`${where}: '${url}' is not an http(s) URL`);
  const unknown = unknownPlaceholders(url);
  if (unknown.length > 0) throw badArgs(`${where}: unknown placeholder ${unknown.map((k) => `{${k}}`).join(', ')} in '${url}' (known: {YYYYMMDD} {DDMMYYYY} {DDMMYY} {YYYY} {MM} {DD} {MON} {Mon})`);
  return url;
}

function positive(v: unknown, where: string, integer: boolean, min: number): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw badArgs(`${where} must be ${integer ? 'a whole number' : 'a number'} ≥ ${min} (got ${JSON.stringify(v)})`);
  }
  return n;
}

export function loadFetchSettings(dataDir: string, env: NodeJS.ProcessEnv = process.env): FetchSettings {
  const file = fetchConfigPath(dataDir, env);
  let json: Record<string, unknown> = {};
  let configFile: string | null = null;
  if (existsSync(file)) {
    configFile = file;
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
      json = parsed as Record<string, unknown>;
    } catch (e) {
      throw badArgs(`${file}: not valid fetch settings (${(e as Error).message})`);
    }
  } else if (env.STOCKFLOW_FETCH_CONFIG) throw badArgs(`STOCKFLOW_FETCH_CONFIG names ${file}, which does not exist`);

  const known = new Set(['sources', 'ratePerSecond', 'timeoutMs', 'retries', 'backoffMs', 'lateRetryMinutes']);
  for (const k of Object.keys(json)) if (!known.has(k)) throw badArgs(`${file}: unknown key '${k}' (known: ${[...known].join(', ')})`);
  const jsonSources = (json.sources ?? {}) as Record<string, { url?: unknown; enabled?: unknown }>;
  if (typeof jsonSources !== 'object' || Array.isArray(jsonSources)) throw badArgs(`${file}: "sources" must be an object keyed by source id`);
  for (const id of Object.keys(jsonSources)) {
    if (!SOURCES.some((s) => s.id === id)) throw badArgs(`${file}: unknown source '${id}' (known: ${SOURCES.map((s) => s.id).join(', ')})`);
  }

  const sources = SOURCES.map((s) => {
    const j = jsonSources[s.id as SourceId] ?? {};
    let url = s.url;
    let enabled = true;
    if (j.url !== undefined) {
      if (typeof j.url !== 'string') throw badArgs(`${file}: sources.${s.id}.url must be a string`);
      url = checkUrl(j.url, `${file}: sources.${s.id}.url`);
    }
    if (j.enabled !== undefined) {
      if (typeof j.enabled !== 'boolean') throw badArgs(`${file}: sources.${s.id}.enabled must be true or false`);
      enabled = j.enabled;
    }
    const e = env[envNameOf(s.id)];
    if (e !== undefined && e.trim() !== '') {
      if (/^(off|none|disabled)$/i.test(e.trim())) enabled = false;
      else {
        url = checkUrl(e.trim(), envNameOf(s.id));
        enabled = true;
      }
    }
    return { ...s, url, enabled };
  });

  const pick = (key: keyof typeof FETCH_DEFAULTS, envName: string, integer: boolean, min: number): number => {
    if (env[envName] !== undefined && env[envName] !== '') return positive(env[envName], envName, integer, min);
    if (json[key] !== undefined) return positive(json[key], `${file}: ${key}`, integer, min);
    return FETCH_DEFAULTS[key];
  };
  return {
    sources,
    ratePerSecond: pick('ratePerSecond', 'STOCKFLOW_FETCH_RATE', false, 0.01),
    timeoutMs: pick('timeoutMs', 'STOCKFLOW_FETCH_TIMEOUT_MS', true, 1),
    retries: pick('retries', 'STOCKFLOW_FETCH_RETRIES', true, 0),
    backoffMs: pick('backoffMs', 'STOCKFLOW_FETCH_BACKOFF_MS', true, 0),
    lateRetryMinutes: pick('lateRetryMinutes', 'STOCKFLOW_FETCH_LATE_RETRY_MINUTES', false, 0),
    configFile,
  };
}
