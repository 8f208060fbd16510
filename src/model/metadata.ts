/**
 * The model.json contract: the metadata stored next to every registered
 * model.onnx, its validation, and the name/version rules that keep registry
 * paths inside models/. docs/models.md describes the same contract for people.
 */
import { badArgs } from '../errors.js';
import { FEATURE_SET_VERSION, diffFeatureNames } from '../features/definition.js';
import { isIsoDate } from '../market/dates.js';

export const MODEL_FILE = 'model.onnx';
export const META_FILE = 'model.json';
export const ALIASES_FILE = 'aliases.json';
export const DEFAULT_MODEL_NAME = 'upper-circuit';

/** The registry's aliases (aliases.json): the model that scores, and the one watched beside it. */
export const ALIAS_NAMES = ['champion', 'challenger'] as const;
export type AliasName = (typeof ALIAS_NAMES)[number];

/** Validation metrics; stockflow's trainer fills all five, a model trained elsewhere may carry none. */
export interface ModelMetrics {
  roc_auc?: number | null;
  pr_auc?: number | null;
  f1_at_0_5?: number | null;
  precision_at_100?: number | null;
  base_rate?: number | null;
  [key: string]: unknown;
}

/** model.json as stored in the registry (every required field present and checked). */
export interface ModelMeta {
  name: string;
  /** Semver X.Y.Z. */
  version: string;
  /** e.g. "GBDT", "XGBoost", "LightGBM". */
  model_type: string;
  /** Input columns, in input order. */
  feature_names: string[];
  feature_set_version: string;
  metrics?: ModelMetrics;
  /** Last as-of date of the training data (YYYY-MM-DD). */
  trained_until?: string;
  /** ISO 8601 timestamp. */
  created_at: string;
  /** Hex sha256 of model.onnx. */
  sha256: string;
  n_features: number;
  /** Unknown fields are kept as they are. */
  [key: string]: unknown;
}

/** What a user must supply to `models register`: the rest is filled in. */
export interface UserModelMeta {
  version: string;
  model_type: string;
  feature_names: string[];
  name?: string;
  feature_set_version?: string;
  metrics?: ModelMetrics;
  trained_until?: string;
  created_at?: string;
  sha256?: string;
  n_features?: number;
  [key: string]: unknown;
}

const SEMVER_RE = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;
const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;
const SHA256_RE = /^[0-9a-f]{64}$/;

export function isSemver(v: string): boolean {
  return SEMVER_RE.test(v);
}

/** Semver order of two X.Y.Z versions (negative when a < b). */
export function compareSemver(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

/** A model name that is safe as one path segment: lowercase, no slashes, no `..`. */
export function isModelName(s: string): boolean {
  return s.length <= 100 && NAME_RE.test(s) && !s.includes('..');
}

export function checkModelName(s: string, what = 'model name'): string {
  if (!isModelName(s)) throw badArgs(`${what} '${s}' is not allowed: use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit (no '..', no slashes)`);
  return s;
}

export function checkVersion(v: string, what = 'version'): string {
  if (!isSemver(v)) throw badArgs(`${what} '${v}' is not a semver version X.Y.Z (e.g. 1.2.0)`);
  return v;
}

/** A model reference as typed by a user: `1.2.0` or `upper-circuit/1.2.0`. */
export interface ModelRef {
  name?: string;
  version: string;
}

export function parseModelRef(s: string, what = 'model'): ModelRef {
  const t = s.trim();
  const parts = t.split('/');
  if (parts.length === 1) return { version: checkVersion(t, `${what} version`) };
  if (parts.length === 2) return { name: checkModelName(parts[0], `${what} name`), version: checkVersion(parts[1], `${what} version`) };
  throw badArgs(`${what} '${s}' is neither a version (1.2.0) nor name/version (upper-circuit/1.2.0)`);
}

export const refOf = (name: string, version: string): string => `${name}/${version}`;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isIsoTimestamp = (s: string): boolean => /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s));

/**
 * Problems with the fields both user and stored metadata may carry, as short
 * phrases (empty when fine). Missing required fields are checked by the callers.
 */
function fieldProblems(m: Record<string, unknown>): string[] {
  const p: string[] = [];
  if ('version' in m && (typeof m.version !== 'string' || !isSemver(m.version))) p.push(`version ${JSON.stringify(m.version)} is not semver X.Y.Z`);
  if ('model_type' in m && (typeof m.model_type !== 'string' || m.model_type.trim() === '')) p.push('model_type must be a non-empty string');
  if ('feature_names' in m && (!Array.isArray(m.feature_names) || !m.feature_names.every((x) => typeof x === 'string')))
    p.push('feature_names must be an array of strings');
  if ('name' in m && m.name !== undefined && (typeof m.name !== 'string' || !isModelName(m.name))) p.push(`name ${JSON.stringify(m.name)} is not an allowed model name`);
  if ('feature_set_version' in m && m.feature_set_version !== undefined && typeof m.feature_set_version !== 'string')
    p.push('feature_set_version must be a string');
  if ('metrics' in m && m.metrics !== undefined) {
    if (!isObject(m.metrics)) p.push('metrics must be an object');
    else
      for (const k of ['roc_auc', 'pr_auc', 'f1_at_0_5', 'precision_at_100', 'base_rate'])
        // null (or NaN, which JSON stores as null) marks a metric that could not be computed.
        if (k in m.metrics && m.metrics[k] !== null && typeof m.metrics[k] !== 'number') p.push(`metrics.${k} must be a number`);
  }
  if ('trained_until' in m && m.trained_until !== undefined && (typeof m.trained_until !== 'string' || !isIsoDate(m.trained_until)))
    p.push(`trained_until ${JSON.stringify(m.trained_until)} is not a YYYY-MM-DD date`);
  if ('created_at' in m && m.created_at !== undefined && (typeof m.created_at !== 'string' || !isIsoTimestamp(m.created_at)))
    p.push(`created_at ${JSON.stringify(m.created_at)} is not an ISO 8601 timestamp`);
  if ('sha256' in m && m.sha256 !== undefined && (typeof m.sha256 !== 'string' || !SHA256_RE.test(m.sha256)))
    p.push('sha256 must be 64 lowercase hex digits');
  if ('n_features' in m && m.n_features !== undefined && (!Number.isInteger(m.n_features) || (m.n_features as number) < 1))
    p.push('n_features must be a positive whole number');
  return p;
}

/** Checks the metadata a user supplies to `register`; throws BAD_ARGS naming the first problems. */
export function parseUserMeta(input: unknown, source: string): UserModelMeta {
  if (!isObject(input)) throw badArgs(`${source}: expected a JSON object`);
  const raw: Record<string, unknown> =
    typeof input.feature_set_version === 'number' ? { ...input, feature_set_version: String(input.feature_set_version) } : input;
  const missing = ['version', 'model_type', 'feature_names'].filter((k) => raw[k] === undefined);
  if (missing.length > 0) throw badArgs(`${source}: missing required field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  const p = fieldProblems(raw);
  if (p.length > 0) throw badArgs(`${source}: ${p.join('; ')}`);
  return raw as UserModelMeta;
}

/**
 * Checks a stored model.json. Returns the problem as one phrase instead of
 * throwing: the registry lists such entries and the loader skips them.
 */
export function checkStoredMeta(raw: unknown): { meta: ModelMeta } | { problem: string } {
  if (!isObject(raw)) return { problem: 'model.json is not a JSON object' };
  const required = ['name', 'version', 'model_type', 'feature_names', 'feature_set_version', 'created_at', 'sha256', 'n_features'];
  const missing = required.filter((k) => raw[k] === undefined);
  if (missing.length > 0) return { problem: `model.json lacks ${missing.join(', ')}` };
  const p = fieldProblems(raw);
  const names = raw.feature_names as unknown[];
  if (p.length === 0 && names.length !== raw.n_features) p.push(`n_features ${String(raw.n_features)} ≠ ${names.length} feature names`);
  if (p.length > 0) return { problem: `model.json: ${p.join('; ')}` };
  return { meta: raw as ModelMeta };
}

/** Why a model's declared features do not fit the current feature set (empty when they do). */
export function featureSetProblems(meta: Pick<ModelMeta, 'feature_names' | 'feature_set_version'>): string[] {
  const out: string[] = [];
  if (meta.feature_set_version !== FEATURE_SET_VERSION)
    out.push(`feature set version ${meta.feature_set_version} ≠ current ${FEATURE_SET_VERSION}`);
  const diff = diffFeatureNames(meta.feature_names);
  if (diff.length > 0) out.push(`feature names differ from feature set ${FEATURE_SET_VERSION}: ${diff.join('; ')}`);
  return out;
}

/**
 * The stored metadata for a user's: name, sha256, n_features and (when absent)
 * created_at and feature_set_version filled in; unknown fields kept as given.
 */
export function completeMeta(user: UserModelMeta, fill: { name: string; sha256: string; now: Date }): ModelMeta {
  const known = new Set(['name', 'version', 'model_type', 'feature_set_version', 'n_features', 'feature_names', 'metrics', 'trained_until', 'created_at', 'sha256']);
  const unknown = Object.fromEntries(Object.entries(user).filter(([k]) => !known.has(k)));
  return {
    name: fill.name,
    version: user.version,
    model_type: user.model_type,
    feature_set_version: user.feature_set_version ?? FEATURE_SET_VERSION,
    n_features: user.feature_names.length,
    feature_names: [...user.feature_names],
    ...(user.metrics !== undefined ? { metrics: user.metrics } : {}),
    ...(user.trained_until !== undefined ? { trained_until: user.trained_until } : {}),
    created_at: user.created_at ?? fill.now.toISOString(),
    sha256: fill.sha256,
    ...unknown,
  };
}

/** The label horizon assumed for a model whose model.json does not say (the trainer's default, `stockflow train --horizon`). */
export const DEFAULT_HORIZON_SESSIONS = 5;

/**
 * A model's label horizon in sessions: `horizon_sessions` at the top of
 * model.json, else `training.horizon_sessions` (where stockflow's trainer
 * records it), else DEFAULT_HORIZON_SESSIONS. A value that is not a whole
 * number from 1 to 250 counts as absent.
 */
export function horizonSessionsOf(meta: Record<string, unknown> | null | undefined): number {
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 250;
  const training = meta?.training;
  const nested = isObject(training) ? training.horizon_sessions : undefined;
  if (ok(meta?.horizon_sessions)) return meta.horizon_sessions;
  if (ok(nested)) return nested;
  return DEFAULT_HORIZON_SESSIONS;
}
