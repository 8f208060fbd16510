/**
 * Environment variables and command-line flags → one typed configuration.
 * Every variable stockflow reads is read here, and documented in the README.
 */
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { badArgs } from './errors.js';

/** The package root (where package.json, sql/ and models/ live), from dist/src or src. */
export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'sql'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return start;
    dir = up;
  }
}

export const SQL_DIR = path.join(PACKAGE_ROOT, 'sql');
/** The desk's time zone: `--date today`, the scheduler's default and every 'today' are dates here. */
export const TIME_ZONE = 'Asia/Kolkata';

/** The pino level from LOG_LEVEL (default info): read here, like every other variable. */
export function logLevelFrom(env: Env = process.env): string {
  return env.LOG_LEVEL?.toLowerCase() || 'info';
}

export interface NotifyConfig {
  slackWebhookUrl?: string;
  smtpUrl?: string;
  smtpHost?: string;
  smtpPort?: number;
  smtpUser?: string;
  smtpPassword?: string;
  mailFrom?: string;
  mailTo?: string[];
}

export interface ServerConfig {
  host: string;
  port: number;
  rateLimitRps: number;
  corsOrigins: string[];
  adminToken?: string;
  /** Bounds on on-demand prediction dates (docs/api.md, "On-demand dates"). */
  dateLimits: {
    /** STOCKFLOW_API_MAX_NEW_DATES: distinct not-yet-prepared dates per request (default 5). */
    maxNewDatesPerRequest: number;
    /** STOCKFLOW_API_NEW_DATES_PER_MINUTE: new date builds per client IP per minute (default 30; 0 = no limit). */
    newDatesPerMinute: number;
    /** STOCKFLOW_API_DATE_QUEUE: date builds running or waiting at once (default 8). */
    queueSize: number;
    /** STOCKFLOW_API_DATE_CACHE: prepared dates kept in memory (default 64). */
    cacheSize: number;
  };
}

export interface Config {
  dataDir: string;
  modelsDir: string;
  logLevel: string;
  threads: number;
  preferredModelVersion?: string;
  server: ServerConfig;
  notify: NotifyConfig;
  /** Drift thresholds (docs/monitoring.md): PSI ≥ moderate is a moderate shift, > significant a significant one. */
  psi: { moderate: number; significant: number };
}

export interface CommonFlags {
  dataDir?: string;
  modelsDir?: string;
  threads?: string | number;
  host?: string;
  port?: string | number;
}

type Env = Record<string, string | undefined>;

let envFileLoaded = false;
/** Loads `.env` from the working directory once, without overriding set variables. */
export function loadDotEnv(file = '.env'): void {
  if (envFileLoaded) return;
  envFileLoaded = true;
  if (!existsSync(file)) return;
  const before = { ...process.env };
  process.loadEnvFile(file);
  for (const [k, v] of Object.entries(before)) process.env[k] = v;
}

/** Most extraction worker threads a run may use (`--threads`, STOCKFLOW_THREADS); README "Configuration". */
export const MAX_THREADS = 64;

function intFrom(value: string | number | undefined, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw badArgs(`${what} must be a whole number ${range}, got '${value}'`);
  }
  return n;
}

/**
 * One extraction worker per core. Measured on 2 cores (README "Benchmarks",
 * `npm run bench -- features`): 2 workers extract the demo market in about
 * 60% of the time of cores − 1 = 1 worker, while the calling thread only
 * waits; the calling thread taking tasks beside 1 worker comes close, beside
 * 2 it only adds contention.
 */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

function numberFrom(value: string | undefined, what: string, min: number, max: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = /^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max) throw badArgs(`${what} must be a number from ${min} to ${max}, got '${value}'`);
  return n;
}

/** STOCKFLOW_PSI_MODERATE (default 0.1) and STOCKFLOW_PSI_SIGNIFICANT (default 0.25); moderate must not exceed significant. */
export function psiThresholdsFrom(env: Env): { moderate: number; significant: number } {
  const moderate = numberFrom(env.STOCKFLOW_PSI_MODERATE, 'STOCKFLOW_PSI_MODERATE', 0, 100) ?? 0.1;
  const significant = numberFrom(env.STOCKFLOW_PSI_SIGNIFICANT, 'STOCKFLOW_PSI_SIGNIFICANT', 0, 100) ?? 0.25;
  if (moderate > significant) throw badArgs(`STOCKFLOW_PSI_MODERATE (${moderate}) must not exceed STOCKFLOW_PSI_SIGNIFICANT (${significant})`);
  return { moderate, significant };
}

export function loadConfig(flags: CommonFlags = {}, env: Env = process.env): Config {
  const dataDir = path.resolve(flags.dataDir ?? env.STOCKFLOW_DATA_DIR ?? 'data');
  const modelsDir = path.resolve(flags.modelsDir ?? env.STOCKFLOW_MODELS_DIR ?? path.join(PACKAGE_ROOT, 'models'));
  const threads =
    intFrom(flags.threads, '--threads', 1, MAX_THREADS) ?? intFrom(env.STOCKFLOW_THREADS, 'STOCKFLOW_THREADS', 1, MAX_THREADS) ?? Math.min(defaultThreads(), MAX_THREADS);
  const mailTo = env.MAIL_TO?.split(',').map((s) => s.trim()).filter(Boolean);
  return {
    dataDir,
    modelsDir,
    logLevel: logLevelFrom(env),
    threads,
    preferredModelVersion: env.PREFERRED_MODEL_VERSION || undefined,
    server: {
      host: flags.host ?? env.HOST ?? '127.0.0.1',
      port: intFrom(flags.port, '--port', 0, 65535) ?? intFrom(env.PORT ?? env.API_PORT, 'PORT', 0, 65535) ?? 8000,
      rateLimitRps: intFrom(env.RATE_LIMIT_RPS, 'RATE_LIMIT_RPS', 0) ?? 100,
      corsOrigins: (env.CORS_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      adminToken: env.STOCKFLOW_ADMIN_TOKEN || undefined,
      dateLimits: {
        maxNewDatesPerRequest: intFrom(env.STOCKFLOW_API_MAX_NEW_DATES, 'STOCKFLOW_API_MAX_NEW_DATES', 1) ?? 5,
        newDatesPerMinute: intFrom(env.STOCKFLOW_API_NEW_DATES_PER_MINUTE, 'STOCKFLOW_API_NEW_DATES_PER_MINUTE', 0) ?? 30,
        queueSize: intFrom(env.STOCKFLOW_API_DATE_QUEUE, 'STOCKFLOW_API_DATE_QUEUE', 1) ?? 8,
        cacheSize: intFrom(env.STOCKFLOW_API_DATE_CACHE, 'STOCKFLOW_API_DATE_CACHE', 1) ?? 64,
      },
    },
    notify: {
      slackWebhookUrl: env.SLACK_WEBHOOK_URL || undefined,
      smtpUrl: env.SMTP_URL || undefined,
      smtpHost: env.SMTP_HOST || undefined,
      smtpPort: intFrom(env.SMTP_PORT, 'SMTP_PORT', 1, 65535),
      smtpUser: env.SMTP_USER || undefined,
      smtpPassword: env.SMTP_PASSWORD || undefined,
      mailFrom: env.MAIL_FROM || undefined,
      mailTo: mailTo && mailTo.length > 0 ? mailTo : undefined,
    },
    psi: psiThresholdsFrom(env),
  };
}

export const marketDbPath = (dataDir: string): string => path.join(dataDir, 'market.db');
export const predictionsDbPath = (dataDir: string): string => path.join(dataDir, 'predictions.db');
export const predictionsDir = (dataDir: string): string => path.join(dataDir, 'predictions');
