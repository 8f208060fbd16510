/**
 * The model registry: a directory (cfg.modelsDir, default <package>/models)
 *
 *   models/<name>/<version>/model.onnx   the ONNX model
 *   models/<name>/<version>/model.json   its metadata (src/model/metadata.ts)
 *   models/aliases.json                  { "champion": "name/version", "challenger"?: "name/version" }
 *
 * Registering validates a model completely before anything is written, then
 * moves a fully written temporary directory into place with one rename, so a
 * half-written version never appears. Names and versions are checked so that
 * no path can leave the registry directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { badArgs, missingInput } from '../errors.js';
import { FEATURE_SET_VERSION } from '../features/definition.js';
import {
  ALIASES_FILE,
  ALIAS_NAMES,
  DEFAULT_MODEL_NAME,
  META_FILE,
  MODEL_FILE,
  checkModelName,
  checkStoredMeta,
  checkVersion,
  compareSemver,
  completeMeta,
  featureSetProblems,
  isModelName,
  isSemver,
  parseModelRef,
  parseUserMeta,
  refOf,
  type AliasName,
  type ModelMeta,
  type ModelRef,
} from './metadata.js';
import { ModelInvalidError } from './errors.js';
import { openSession } from './score.js';

/** aliases.json: alias → "name/version". */
export type Aliases = Partial<Record<AliasName, string>>;

export interface RegistryEntry {
  name: string;
  version: string;
  /** "name/version" */
  ref: string;
  dir: string;
  /** The parsed model.json, or null when it is missing or invalid (see `problem`). */
  meta: ModelMeta | null;
  /** Why this entry cannot be used, found without loading the model (missing or invalid files). */
  problem?: string;
  /** Aliases pointing at this entry. */
  aliases: AliasName[];
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const errCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/** The directory of one version; name and version are checked so the path stays inside modelsDir. */
export function versionDir(modelsDir: string, name: string, version: string): string {
  checkModelName(name);
  checkVersion(version);
  const root = path.resolve(modelsDir);
  const dir = path.resolve(root, name, version);
  const rel = path.relative(root, dir);
  if (rel.startsWith('..') || path.isAbsolute(rel) || rel.split(path.sep).length !== 2)
    throw badArgs(`model path ${name}/${version} would leave the models directory`);
  return dir;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch (e) {
    if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') return false;
    throw e;
  }
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    const ents = await readdir(dir, { withFileTypes: true });
    return ents.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (e) {
    if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') return [];
    throw e;
  }
}

/** Registered model names (directories with a valid name). */
export async function modelNames(modelsDir: string): Promise<string[]> {
  return (await subdirs(modelsDir)).filter(isModelName).sort();
}

/** Registered versions of one name, newest first (directories named X.Y.Z). */
export async function modelVersions(modelsDir: string, name: string): Promise<string[]> {
  return (await subdirs(path.join(modelsDir, name))).filter(isSemver).sort((a, b) => compareSemver(b, a));
}

// ---------------------------------------------------------------- aliases

/** Reads aliases.json ({} when absent). Throws MISSING_INPUT when it is unreadable or malformed. */
export async function readAliases(modelsDir: string): Promise<Aliases> {
  const file = path.join(modelsDir, ALIASES_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (errCode(e) === 'ENOENT') return {};
    throw missingInput(`cannot read ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw missingInput(`${file} is not valid JSON: fix it or delete it and promote a model again`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw missingInput(`${file}: expected a JSON object of alias → "name/version"`);
  const out: Aliases = {};
  for (const alias of ALIAS_NAMES) {
    const v = (raw as Record<string, unknown>)[alias];
    if (v === undefined || v === null) continue;
    const ok = typeof v === 'string' && /^[^/]+\/[^/]+$/.test(v) && isModelName(v.split('/')[0]) && isSemver(v.split('/')[1]);
    if (!ok) throw missingInput(`${file}: ${alias} is ${JSON.stringify(v)}, expected "name/X.Y.Z"`);
    out[alias] = v;
  }
  return out;
}

/** Writes aliases.json atomically (temporary file, then rename). */
export async function writeAliases(modelsDir: string, aliases: Aliases): Promise<void> {
  await mkdir(modelsDir, { recursive: true });
  const ordered: Aliases = {};
  for (const a of ALIAS_NAMES) if (aliases[a]) ordered[a] = aliases[a];
  const file = path.join(modelsDir, ALIASES_FILE);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeDurable(tmp, `${JSON.stringify(ordered, null, 2)}\n`);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

async function writeDurable(file: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(file, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not every file system lets a directory be synced; the rename itself is still atomic.
  }
}

// ---------------------------------------------------------------- listing

async function readEntry(modelsDir: string, name: string, version: string, aliases: Aliases): Promise<RegistryEntry> {
  const dir = path.join(modelsDir, name, version);
  const ref = refOf(name, version);
  const entryAliases = ALIAS_NAMES.filter((a) => aliases[a] === ref);
  const base = { name, version, ref, dir, aliases: entryAliases };
  let text: string;
  try {
    text = await readFile(path.join(dir, META_FILE), 'utf8');
  } catch (e) {
    return { ...base, meta: null, problem: errCode(e) === 'ENOENT' ? `${META_FILE} missing` : `cannot read ${META_FILE}: ${(e as Error).message}` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ...base, meta: null, problem: `${META_FILE} is not valid JSON` };
  }
  const checked = checkStoredMeta(raw);
  if ('problem' in checked) return { ...base, meta: null, problem: checked.problem };
  const meta = checked.meta;
  let problem: string | undefined;
  if (meta.name !== name || meta.version !== version) problem = `${META_FILE} describes ${refOf(meta.name, meta.version)} but is stored as ${ref}`;
  else {
    try {
      const s = await stat(path.join(dir, MODEL_FILE));
      if (!s.isFile()) problem = `${MODEL_FILE} is not a file`;
    } catch (e) {
      problem = errCode(e) === 'ENOENT' ? `${MODEL_FILE} missing` : `cannot stat ${MODEL_FILE}: ${(e as Error).message}`;
    }
  }
  return problem ? { ...base, meta, problem } : { ...base, meta };
}

/**
 * Every registered version with its metadata (no sessions are opened), sorted
 * by name, then newest version first. A missing registry directory is empty.
 * `aliases` may be passed in when already read.
 */
export async function listModels(modelsDir: string, aliases?: Aliases): Promise<RegistryEntry[]> {
  const al = aliases ?? (await readAliases(modelsDir));
  const out: RegistryEntry[] = [];
  for (const name of await modelNames(modelsDir))
    for (const version of await modelVersions(modelsDir, name)) out.push(await readEntry(modelsDir, name, version, al));
  return out;
}

/**
 * A reference to a registered version. `1.2.0` alone means the one name that
 * has that version (the default name `upper-circuit` when several do).
 * Returns the problem as a phrase when it is not registered or ambiguous.
 */
export async function resolveRef(modelsDir: string, ref: ModelRef): Promise<{ name: string; version: string } | { problem: string }> {
  if (ref.name !== undefined) {
    return (await isDir(versionDir(modelsDir, ref.name, ref.version)))
      ? { name: ref.name, version: ref.version }
      : { problem: `${refOf(ref.name, ref.version)} is not registered` };
  }
  const names: string[] = [];
  for (const name of await modelNames(modelsDir)) if (await isDir(path.join(modelsDir, name, ref.version))) names.push(name);
  if (names.length === 1) return { name: names[0], version: ref.version };
  if (names.length === 0) return { problem: `version ${ref.version} is not registered` };
  if (names.includes(DEFAULT_MODEL_NAME)) return { name: DEFAULT_MODEL_NAME, version: ref.version };
  return { problem: `version ${ref.version} is registered under several names (${names.join(', ')}): say name/${ref.version}` };
}

/** One registered entry, for `models show`. Throws BAD_ARGS for a malformed reference, MISSING_INPUT when not registered. */
export async function findModel(modelsDir: string, refText: string): Promise<RegistryEntry> {
  const r = await resolveRef(modelsDir, parseModelRef(refText));
  if ('problem' in r) throw missingInput(`${r.problem} in ${modelsDir}`);
  return readEntry(modelsDir, r.name, r.version, await readAliases(modelsDir));
}

// ---------------------------------------------------------------- opening a stored model

export interface OpenedModel {
  meta: ModelMeta;
  session: InferenceSession;
  /** Size of model.onnx in bytes. */
  sizeBytes: number;
  /** model.onnx as verified against the recorded sha256 (what explanations read the trees from). */
  bytes: Uint8Array;
}

export interface OpenOptions {
  /** How files are read (the loader passes one that retries transient errors). */
  readFile?: (file: string) => Promise<Uint8Array>;
  sessionOptions?: InferenceSession.SessionOptions;
}

/**
 * Opens a registered version after checking everything that can be wrong with
 * it: model.json present and valid, model.onnx present, its sha256 as
 * recorded, the feature set current, the ONNX loadable and keeping the
 * input/output contract. Throws ModelInvalidError with the reason.
 */
export async function openStoredModel(modelsDir: string, name: string, version: string, opts: OpenOptions = {}): Promise<OpenedModel> {
  const read = opts.readFile ?? ((f: string) => readFile(f));
  const dir = versionDir(modelsDir, name, version);
  const ref = refOf(name, version);
  let metaBytes: Uint8Array;
  try {
    metaBytes = await read(path.join(dir, META_FILE));
  } catch (e) {
    throw new ModelInvalidError(errCode(e) === 'ENOENT' ? `${META_FILE} missing` : `cannot read ${META_FILE}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(metaBytes).toString('utf8'));
  } catch {
    throw new ModelInvalidError(`${META_FILE} is not valid JSON`);
  }
  const checked = checkStoredMeta(raw);
  if ('problem' in checked) throw new ModelInvalidError(checked.problem);
  const meta = checked.meta;
  if (meta.name !== name || meta.version !== version) throw new ModelInvalidError(`${META_FILE} describes ${refOf(meta.name, meta.version)} but is stored as ${ref}`);
  const fs = featureSetProblems(meta);
  if (fs.length > 0) throw new ModelInvalidError(fs.join('; '));
  let bytes: Uint8Array;
  try {
    bytes = await read(path.join(dir, MODEL_FILE));
  } catch (e) {
    throw new ModelInvalidError(errCode(e) === 'ENOENT' ? `${MODEL_FILE} missing` : `cannot read ${MODEL_FILE}: ${(e as Error).message}`);
  }
  const sha = sha256Hex(bytes);
  if (sha !== meta.sha256)
    throw new ModelInvalidError(`sha256 mismatch: ${MODEL_FILE} is ${sha.slice(0, 12)}…, ${META_FILE} records ${meta.sha256.slice(0, 12)}… (file changed or damaged)`);
  const session = await openSession(bytes, meta.n_features, opts.sessionOptions);
  return { meta, session, sizeBytes: bytes.byteLength, bytes };
}

// ---------------------------------------------------------------- register

export interface RegisterOptions {
  modelsDir: string;
  /** The ONNX file to register (or `onnxBytes`). */
  onnxFile?: string;
  onnxBytes?: Uint8Array;
  /** The user's model.json (or `meta`, already parsed). */
  metaFile?: string;
  meta?: unknown;
  /** Model name; default: the metadata's `name`, else `upper-circuit`. */
  name?: string;
  /** Registration time for `created_at` when the metadata has none. */
  now?: Date;
}

export interface RegisterResult {
  meta: ModelMeta;
  dir: string;
  sizeBytes: number;
}

async function readInput(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    const code = errCode(e);
    if (code === 'ENOENT') throw missingInput(`${what} ${file} does not exist`);
    if (code === 'EISDIR') throw badArgs(`${what} ${file} is a directory`);
    throw missingInput(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

/**
 * Validates a model and its metadata, then copies it into the registry.
 * Throws BAD_ARGS (with the reason) for anything wrong with the model or the
 * metadata, or when the version is already registered; MISSING_INPUT for
 * files that do not exist.
 */
export async function registerModel(opts: RegisterOptions): Promise<RegisterResult> {
  // Both inputs must exist before anything else is judged.
  let metaText: string | undefined;
  if (opts.metaFile !== undefined) metaText = (await readInput(opts.metaFile, 'metadata file')).toString('utf8');
  let bytes: Uint8Array;
  let source: string;
  if (opts.onnxFile !== undefined) {
    bytes = await readInput(opts.onnxFile, 'model file');
    source = opts.onnxFile;
  } else if (opts.onnxBytes !== undefined) {
    bytes = opts.onnxBytes;
    source = 'model';
  } else throw badArgs('no model file given');

  let rawMeta = opts.meta;
  const metaSource = opts.metaFile ?? 'metadata';
  if (metaText !== undefined) {
    try {
      rawMeta = JSON.parse(metaText);
    } catch (e) {
      throw badArgs(`${metaSource} is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (rawMeta === undefined) throw badArgs('no model metadata given (--meta <model.json>)');
  const user = parseUserMeta(rawMeta, metaSource);
  const name = checkModelName(opts.name ?? user.name ?? DEFAULT_MODEL_NAME);
  const version = checkVersion(user.version);
  if (user.feature_set_version !== undefined && user.feature_set_version !== FEATURE_SET_VERSION)
    throw badArgs(`${metaSource}: feature_set_version ${user.feature_set_version} ≠ current ${FEATURE_SET_VERSION}; the model must be trained on feature set ${FEATURE_SET_VERSION}`);
  const fsProblems = featureSetProblems({ feature_names: user.feature_names, feature_set_version: FEATURE_SET_VERSION });
  if (fsProblems.length > 0) throw badArgs(`${metaSource}: ${fsProblems.join('; ')}`);
  if (user.n_features !== undefined && user.n_features !== user.feature_names.length)
    throw badArgs(`${metaSource}: n_features ${user.n_features} ≠ ${user.feature_names.length} feature names`);

  const dir = versionDir(opts.modelsDir, name, version);
  if (await isDir(dir)) throw badArgs(`${refOf(name, version)} is already registered in ${opts.modelsDir}; pick a new version`);

  const sha256 = sha256Hex(bytes);
  if (user.sha256 !== undefined && user.sha256 !== sha256)
    throw badArgs(`${metaSource}: sha256 ${user.sha256.slice(0, 12)}… does not match ${source} (${sha256.slice(0, 12)}…)`);

  try {
    const session = await openSession(bytes, user.feature_names.length);
    await session.release();
  } catch (e) {
    if (e instanceof ModelInvalidError) throw badArgs(`${source} refused: ${e.message}`);
    throw e;
  }

  const meta = completeMeta(user, { name, sha256, now: opts.now ?? new Date() });
  const nameDir = path.dirname(dir);
  await mkdir(nameDir, { recursive: true });
  const tmp = path.join(nameDir, `.tmp-${version}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    await writeDurable(path.join(tmp, MODEL_FILE), bytes);
    await writeDurable(path.join(tmp, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
    await syncDir(tmp);
    try {
      await rename(tmp, dir);
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw badArgs(`${refOf(name, version)} is already registered in ${opts.modelsDir}; pick a new version`);
      throw e;
    }
    await syncDir(nameDir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { meta, dir, sizeBytes: bytes.byteLength };
}

// ---------------------------------------------------------------- promote

export interface PromoteResult {
  alias: AliasName;
  ref: string;
  /** What the alias pointed at before, if anything. */
  previous?: string;
}

export function checkAlias(s: string): AliasName {
  if (!(ALIAS_NAMES as readonly string[]).includes(s)) throw badArgs(`alias '${s}' is not one of ${ALIAS_NAMES.join(', ')}`);
  return s as AliasName;
}

/**
 * Points an alias at a registered version after opening it once to prove it
 * usable. Throws MISSING_INPUT when the version is not registered, BAD_ARGS
 * when it cannot be used (with the reason).
 */
export async function promoteModel(modelsDir: string, refText: string, aliasText: string = 'champion'): Promise<PromoteResult> {
  const alias = checkAlias(aliasText);
  const r = await resolveRef(modelsDir, parseModelRef(refText));
  if ('problem' in r) throw missingInput(`${r.problem} in ${modelsDir}`);
  const ref = refOf(r.name, r.version);
  try {
    const m = await openStoredModel(modelsDir, r.name, r.version);
    await m.session.release();
  } catch (e) {
    if (e instanceof ModelInvalidError) throw badArgs(`cannot promote ${ref}: ${e.message}`);
    throw e;
  }
  const aliases = await readAliases(modelsDir);
  const previous = aliases[alias];
  await writeAliases(modelsDir, { ...aliases, [alias]: ref });
  return previous !== undefined ? { alias, ref, previous } : { alias, ref };
}

// ---------------------------------------------------------------- drift reference

/**
 * Writes a model's drift reference into its model.json (`drift_reference`,
 * docs/monitoring.md), atomically (a temporary file renamed over it). Only
 * model.json changes: model.onnx and its recorded sha256 stay as they are.
 */
export async function writeDriftReference(modelsDir: string, name: string, version: string, reference: unknown): Promise<string> {
  const dir = versionDir(modelsDir, name, version);
  const file = path.join(dir, META_FILE);
  const raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  const tmp = path.join(dir, `.${META_FILE}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeDurable(tmp, `${JSON.stringify({ ...raw, drift_reference: reference }, null, 2)}\n`);
    await rename(tmp, file);
    await syncDir(dir);
  } finally {
    await rm(tmp, { force: true });
  }
  return file;
}
