/**
 * Choosing and loading the model to score with.
 *
 * Candidates, in order (duplicates dropped):
 *   1. `--model <version|name/version>`
 *   2. PREFERRED_MODEL_VERSION
 *   3. the `champion` alias (models/aliases.json)
 *   4. the newest registered version, then the older ones (the name of the
 *      first candidate above, else `upper-circuit`, first; then other names)
 * A candidate that cannot be used (not registered, file missing, sha256
 * mismatch, corrupt or truncated ONNX, wrong input or output, another feature
 * set) is logged with its reason and the next is tried. Transient read errors
 * (EIO, EAGAIN, EBUSY, EMFILE) are retried 3 times with exponential backoff
 * first. When none is usable: StockflowError('NO_MODEL') listing each reason.
 *
 * ModelLoader loads lazily, keeps at most 3 onnxruntime sessions in an LRU
 * keyed by name/version, and reloads without a gap: the new session is built
 * completely before it is swapped in, and an old session is released only
 * when no lease holds it and its grace period has passed.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import type { InferenceSession } from 'onnxruntime-node';
import type { Config } from '../config.js';
import { StockflowError } from '../errors.js';
import { logger, type Logger } from '../log.js';
import { DEFAULT_MODEL_NAME, parseModelRef, refOf, type ModelMeta } from './metadata.js';
import { listModels, modelNames, modelVersions, openStoredModel, readAliases, resolveRef, type RegistryEntry } from './registry.js';
import { ModelInvalidError } from './errors.js';

export type CandidateSource = 'explicit' | 'preferred' | 'champion' | 'newest' | 'older';

export interface Candidate {
  source: CandidateSource;
  /** How the candidate was named, for messages: "--model 1.2.0", "champion", … */
  label: string;
  /** The registered name/version it resolves to (absent when it does not resolve). */
  name?: string;
  version?: string;
  /** Why it cannot be used, when known before loading (e.g. not registered). */
  problem?: string;
}

export interface CandidateOptions {
  explicit?: string;
  preferredVersion?: string;
}

const candidateText = (c: Candidate): string => (c.name && c.version && !c.label.includes(refOf(c.name, c.version)) ? `${c.label} (${refOf(c.name, c.version)})` : c.label);

/**
 * The ordered candidate list (no model is opened). Throws BAD_ARGS when
 * `--model` or PREFERRED_MODEL_VERSION is malformed.
 */
export async function modelCandidates(modelsDir: string, opts: CandidateOptions = {}): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const named = async (source: CandidateSource, label: string, text: string, what: string): Promise<void> => {
    const r = await resolveRef(modelsDir, parseModelRef(text, what));
    out.push('problem' in r ? { source, label, problem: r.problem } : { source, label, name: r.name, version: r.version });
  };
  if (opts.explicit !== undefined && opts.explicit !== '') await named('explicit', `--model ${opts.explicit}`, opts.explicit, '--model');
  if (opts.preferredVersion !== undefined && opts.preferredVersion !== '')
    await named('preferred', `PREFERRED_MODEL_VERSION=${opts.preferredVersion}`, opts.preferredVersion, 'PREFERRED_MODEL_VERSION');
  try {
    const champion = (await readAliases(modelsDir)).champion;
    if (champion !== undefined) await named('champion', 'champion', champion, 'champion alias');
  } catch (e) {
    out.push({ source: 'champion', label: 'champion', problem: e instanceof Error ? e.message : String(e) });
  }
  const primary = out.find((c) => c.name !== undefined)?.name ?? DEFAULT_MODEL_NAME;
  const names = await modelNames(modelsDir);
  const ordered = names.includes(primary) ? [primary, ...names.filter((n) => n !== primary)] : names;
  let first = true;
  for (const name of ordered)
    for (const version of await modelVersions(modelsDir, name)) {
      out.push({ source: first ? 'newest' : 'older', label: first ? 'newest' : 'older', name, version });
      first = false;
    }
  const seen = new Set<string>();
  return out.filter((c) => {
    if (c.name === undefined || c.version === undefined) return true;
    const key = refOf(c.name, c.version);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A loaded model: one onnxruntime session and its metadata. */
export interface LoadedModel {
  /** name/version */
  readonly ref: string;
  readonly meta: ModelMeta;
  readonly session: InferenceSession;
  /** Size of model.onnx in bytes. */
  readonly sizeBytes: number;
  /** model.onnx's bytes as verified (sha256) and loaded: explanations read the trees from them (src/model/explainers.ts). */
  readonly bytes: Uint8Array;
  /** Time to read, verify and open it, in milliseconds. */
  readonly loadMs: number;
  /** ISO timestamp of the load. */
  readonly loadedAt: string;
}

/** A hold on a loaded model: its session is not released before `release()`. */
export interface ModelLease {
  readonly model: LoadedModel;
  release(): void;
}

export interface LoaderStats {
  /** name/version of the current model, null before the first load. */
  current: string | null;
  /** Which rule chose it. */
  currentSource: CandidateSource | null;
  /** Size of the current model.onnx in bytes. */
  modelSizeBytes: number | null;
  /** Duration of the most recent load (ms). */
  lastLoadMs: number | null;
  /** Number of sessions opened. */
  loads: number;
  /** The most recent loads (at most 50), oldest first. */
  loadTimes: { ref: string; ms: number; at: string }[];
  /** Requests served by an already open session. */
  cacheHits: number;
  /** Requests that had to open a session first. */
  cacheMisses: number;
  /** Sessions in the LRU (at most cacheSize). */
  cachedSessions: number;
  cachedRefs: string[];
  /** Sessions opened and not yet released (cached, current, leased or in their grace period). */
  openSessions: number;
  /** Leases currently held. */
  inFlight: number;
  reloads: number;
  /** Candidates that failed to load, in total. */
  failedCandidates: number;
  /** Candidates skipped when the current model was chosen, with their reasons. */
  skipped: { candidate: string; reason: string }[];
}

export interface ModelLoaderOptions extends CandidateOptions {
  modelsDir: string;
  /** Sessions kept in the LRU (default 3). */
  cacheSize?: number;
  /** How long a session no longer current or cached stays open for holders of a plain handle (default 60 s). */
  graceMs?: number;
  /** Retries of a transient read error (default 3). */
  retries?: number;
  /** First retry delay; doubled each time (default 100 ms). */
  retryBaseMs?: number;
  /** How long `models()` reuses a listing (default 5 min). */
  metaTtlMs?: number;
  log?: Logger;
  /** How files are read (tests inject failures here). */
  readFile?: (file: string) => Promise<Uint8Array>;
  sessionOptions?: InferenceSession.SessionOptions;
}

export const TRANSIENT_READ_ERRORS: ReadonlySet<string> = new Set(['EIO', 'EAGAIN', 'EBUSY', 'EMFILE']);

interface Slot {
  model: LoadedModel;
  refs: number;
  cached: boolean;
  current: boolean;
  grace?: NodeJS.Timeout;
  released: boolean;
}

const LOAD_HISTORY = 50;

export class ModelLoader {
  readonly modelsDir: string;
  private readonly opts: Required<Pick<ModelLoaderOptions, 'cacheSize' | 'graceMs' | 'retries' | 'retryBaseMs' | 'metaTtlMs'>> & ModelLoaderOptions;
  private readonly log: Logger;
  private readonly cache: LRUCache<string, Slot>;
  private active: Slot | undefined;
  private activeSource: CandidateSource | null = null;
  private skipped: { candidate: string; reason: string }[] = [];
  private initial: Promise<Slot> | undefined;
  private reloading: Promise<LoadedModel> | undefined;
  private readonly pending = new Map<string, Promise<Slot>>();
  private readonly live = new Set<Slot>();
  private listing: { at: number; entries: RegistryEntry[] } | undefined;
  private closed = false;
  private counters = { loads: 0, hits: 0, misses: 0, reloads: 0, failed: 0, lastLoadMs: null as number | null };
  private loadTimes: { ref: string; ms: number; at: string }[] = [];

  constructor(options: ModelLoaderOptions) {
    this.opts = { cacheSize: 3, graceMs: 60_000, retries: 3, retryBaseMs: 100, metaTtlMs: 300_000, ...options };
    if (!Number.isInteger(this.opts.cacheSize) || this.opts.cacheSize < 1) throw new Error(`cacheSize must be ≥ 1, got ${this.opts.cacheSize}`);
    this.modelsDir = options.modelsDir;
    this.log = options.log ?? logger();
    this.cache = new LRUCache<string, Slot>({
      max: this.opts.cacheSize,
      dispose: (slot) => {
        slot.cached = false;
        this.orphanIfUnowned(slot);
      },
    });
  }

  /** The current model, loading it (by the selection rule) on first use. Throws NO_MODEL when none is usable. */
  async current(): Promise<LoadedModel> {
    return (await this.currentSlot()).model;
  }

  /** A hold on the current model; call `release()` when done with it. */
  async acquire(): Promise<ModelLease> {
    return this.lease(() => this.currentSlot());
  }

  /** Runs `fn` on the current model; a reload meanwhile does not release the session under it. */
  async use<T>(fn: (model: LoadedModel) => Promise<T> | T): Promise<T> {
    const l = await this.acquire();
    try {
      return await fn(l.model);
    } finally {
      l.release();
    }
  }

  /** A specific registered version (`1.2.0` or `name/1.2.0`), from the cache or loaded. Throws NO_MODEL when unusable. */
  async get(refText: string): Promise<LoadedModel> {
    return (await this.slotFor(refText)).model;
  }

  /** A hold on a specific version. */
  async acquireVersion(refText: string): Promise<ModelLease> {
    return this.lease(() => this.slotFor(refText));
  }

  /**
   * Chooses again (re-reading aliases.json) and builds the chosen model's
   * session from its files, then swaps it in. Until then, and for requests
   * already holding the old model, the old one keeps serving. Throws NO_MODEL
   * (keeping the old model) when nothing is usable.
   */
  async reload(): Promise<LoadedModel> {
    const run = async (): Promise<LoadedModel> => {
      if (this.initial) await this.initial.catch(() => undefined);
      this.counters.reloads++;
      this.listing = undefined;
      const { slot, source, skipped } = await this.choose(true);
      this.install(slot, source, skipped);
      return slot.model;
    };
    const prev = this.reloading ?? Promise.resolve();
    const p = prev.catch(() => undefined).then(run);
    this.reloading = p;
    try {
      return await p;
    } finally {
      if (this.reloading === p) this.reloading = undefined;
    }
  }

  /** Registry listing without opening sessions (cached for metaTtlMs; a reload refreshes it). */
  async models(): Promise<RegistryEntry[]> {
    const now = Date.now();
    if (this.listing && now - this.listing.at < this.opts.metaTtlMs) return this.listing.entries;
    const entries = await listModels(this.modelsDir);
    this.listing = { at: now, entries };
    return entries;
  }

  stats(): LoaderStats {
    const a = this.active;
    let inFlight = 0;
    for (const s of this.live) inFlight += s.refs;
    return {
      current: a?.model.ref ?? null,
      currentSource: a ? this.activeSource : null,
      modelSizeBytes: a?.model.sizeBytes ?? null,
      lastLoadMs: this.counters.lastLoadMs,
      loads: this.counters.loads,
      loadTimes: this.loadTimes.map((t) => ({ ...t })),
      cacheHits: this.counters.hits,
      cacheMisses: this.counters.misses,
      cachedSessions: this.cache.size,
      cachedRefs: [...this.cache.keys()],
      openSessions: this.live.size,
      inFlight,
      reloads: this.counters.reloads,
      failedCandidates: this.counters.failed,
      skipped: this.skipped.map((s) => ({ ...s })),
    };
  }

  /** Releases every session now (process shutdown). The loader is unusable afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.live];
    this.active = undefined;
    this.cache.clear();
    await Promise.all(all.map((s) => this.releaseSlot(s)));
  }

  // ------------------------------------------------------------ internals

  private async lease(get: () => Promise<Slot>): Promise<ModelLease> {
    for (;;) {
      const slot = await get();
      // A swap between the await and here may have released it: ask again.
      if (slot.released) continue;
      slot.refs++;
      let done = false;
      return {
        model: slot.model,
        release: () => {
          if (done) return;
          done = true;
          slot.refs--;
          this.releaseIfDone(slot);
        },
      };
    }
  }

  private async currentSlot(): Promise<Slot> {
    this.assertOpen();
    const a = this.active;
    if (a) {
      this.counters.hits++;
      if (a.cached) this.cache.get(a.model.ref);
      return a;
    }
    this.counters.misses++;
    if (this.reloading) {
      await this.reloading.catch(() => undefined);
      if (this.active) return this.active;
    }
    if (!this.initial) {
      const p = this.choose(false).then(({ slot, source, skipped }) => {
        if (!this.active) this.install(slot, source, skipped);
        else if (this.active !== slot) this.orphanIfUnowned(slot); // another path installed a model meanwhile
        return this.active ?? slot;
      });
      this.initial = p;
      p.then(
        () => (this.initial = undefined),
        () => (this.initial = undefined),
      );
    }
    return this.initial;
  }

  private async slotFor(refText: string): Promise<Slot> {
    this.assertOpen();
    const r = await resolveRef(this.modelsDir, parseModelRef(refText));
    if ('problem' in r) throw new StockflowError('NO_MODEL', `no usable model ${refText} in ${this.modelsDir}: ${r.problem}`);
    const ref = refOf(r.name, r.version);
    const have = this.active?.model.ref === ref ? this.active : this.cache.get(ref);
    if (have) {
      this.counters.hits++;
      return have;
    }
    this.counters.misses++;
    let p = this.pending.get(ref);
    if (!p) {
      p = this.loadSlot(r.name, r.version).then((slot) => {
        this.cache.set(ref, slot);
        slot.cached = true;
        return slot;
      });
      this.pending.set(ref, p);
      p.then(
        () => this.pending.delete(ref),
        () => this.pending.delete(ref),
      );
    }
    try {
      return await p;
    } catch (e) {
      if (e instanceof ModelInvalidError) {
        this.counters.failed++;
        this.log.warn({ model: ref, reason: e.message }, 'model unusable');
        throw new StockflowError('NO_MODEL', `model ${ref} in ${this.modelsDir} is unusable: ${e.message}`);
      }
      throw e;
    }
  }

  /** Walks the candidates; `fresh` builds a new session even when one is cached. */
  private async choose(fresh: boolean): Promise<{ slot: Slot; source: CandidateSource; skipped: { candidate: string; reason: string }[] }> {
    const candidates = await modelCandidates(this.modelsDir, { explicit: this.opts.explicit, preferredVersion: this.opts.preferredVersion });
    const skipped: { candidate: string; reason: string }[] = [];
    const skip = (c: Candidate, reason: string): void => {
      const candidate = candidateText(c);
      skipped.push({ candidate, reason });
      this.counters.failed++;
      this.log.warn({ candidate, source: c.source, reason }, 'model candidate unusable, trying the next');
    };
    for (const c of candidates) {
      if (c.problem !== undefined || c.name === undefined || c.version === undefined) {
        skip(c, c.problem ?? 'not registered');
        continue;
      }
      const ref = refOf(c.name, c.version);
      if (!fresh) {
        const cached = this.cache.get(ref);
        if (cached) return { slot: cached, source: c.source, skipped };
      }
      try {
        const slot = await this.loadSlot(c.name, c.version);
        if (skipped.length > 0) this.log.warn({ model: ref, source: c.source, skipped: skipped.length }, 'fell back to a later model candidate');
        return { slot, source: c.source, skipped };
      } catch (e) {
        if (!(e instanceof ModelInvalidError)) throw e;
        skip(c, e.message);
      }
    }
    const reasons = skipped.length > 0 ? skipped.map((s) => `${s.candidate}: ${s.reason}`).join('; ') : 'no model is registered';
    throw new StockflowError('NO_MODEL', `no usable model in ${this.modelsDir}: ${reasons}`);
  }

  private async loadSlot(name: string, version: string): Promise<Slot> {
    const t0 = performance.now();
    const opened = await openStoredModel(this.modelsDir, name, version, {
      readFile: (f) => this.readWithRetry(f),
      sessionOptions: this.opts.sessionOptions,
    });
    const ms = performance.now() - t0;
    const ref = refOf(name, version);
    const at = new Date().toISOString();
    const model: LoadedModel = Object.freeze({ ref, meta: opened.meta, session: opened.session, sizeBytes: opened.sizeBytes, bytes: opened.bytes, loadMs: ms, loadedAt: at });
    const slot: Slot = { model, refs: 0, cached: false, current: false, released: false };
    this.live.add(slot);
    this.counters.loads++;
    this.counters.lastLoadMs = ms;
    this.loadTimes.push({ ref, ms, at });
    if (this.loadTimes.length > LOAD_HISTORY) this.loadTimes.shift();
    this.log.info({ model: ref, loadMs: Math.round(ms * 10) / 10, sizeBytes: opened.sizeBytes }, 'model loaded');
    return slot;
  }

  /** Makes `slot` the current model in one synchronous step. */
  private install(slot: Slot, source: CandidateSource, skipped: { candidate: string; reason: string }[]): void {
    if (this.closed) {
      void this.releaseSlot(slot);
      this.assertOpen();
    }
    const old = this.active;
    if (old === slot) {
      this.activeSource = source;
      this.skipped = skipped;
      return;
    }
    slot.current = true;
    this.active = slot;
    this.activeSource = source;
    this.skipped = skipped;
    if (this.cache.get(slot.model.ref) !== slot) {
      this.cache.set(slot.model.ref, slot);
      slot.cached = true;
    }
    if (old) {
      old.current = false;
      this.orphanIfUnowned(old);
    }
  }

  /** A slot no longer current nor cached starts its grace period (then goes when unleased). */
  private orphanIfUnowned(slot: Slot): void {
    if (slot.cached || slot.current || slot.released || slot.grace) return;
    if (this.opts.graceMs > 0) {
      slot.grace = setTimeout(() => {
        slot.grace = undefined;
        this.releaseIfDone(slot);
      }, this.opts.graceMs);
      slot.grace.unref();
    } else this.releaseIfDone(slot);
  }

  private releaseIfDone(slot: Slot): void {
    if (slot.released || slot.refs > 0 || slot.cached || slot.current || slot.grace) return;
    void this.releaseSlot(slot);
  }

  private async releaseSlot(slot: Slot): Promise<void> {
    if (slot.released) return;
    slot.released = true;
    if (slot.grace) clearTimeout(slot.grace);
    slot.grace = undefined;
    this.live.delete(slot);
    try {
      await slot.model.session.release();
    } catch (e) {
      this.log.warn({ model: slot.model.ref, err: e }, 'releasing a model session failed');
    }
  }

  private async readWithRetry(file: string): Promise<Uint8Array> {
    const read = this.opts.readFile ?? ((f: string) => readFile(f));
    for (let attempt = 0; ; attempt++) {
      try {
        return await read(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException | undefined)?.code;
        if (code === undefined || !TRANSIENT_READ_ERRORS.has(code)) throw e;
        if (attempt >= this.opts.retries) {
          const err: NodeJS.ErrnoException = new Error(`${code} (still failing after ${this.opts.retries} retries)`);
          err.code = code;
          throw err;
        }
        const waitMs = this.opts.retryBaseMs * 2 ** attempt;
        this.log.warn({ file, code, retry: attempt + 1, waitMs }, 'transient read error, retrying');
        await sleep(waitMs);
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('ModelLoader is closed');
  }
}

/** A loader configured from stockflow's configuration (modelsDir, PREFERRED_MODEL_VERSION). */
export function loaderFromConfig(cfg: Pick<Config, 'modelsDir' | 'preferredModelVersion'>, opts: { explicit?: string; log?: Logger } = {}): ModelLoader {
  return new ModelLoader({ modelsDir: cfg.modelsDir, preferredVersion: cfg.preferredModelVersion, explicit: opts.explicit, log: opts.log });
}
