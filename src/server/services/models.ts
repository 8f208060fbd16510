/**
 * GET /models and POST /models/reload: the registry as the server sees it
 * (each model file checked against its recorded sha256) and the hot swap.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isStockflowError } from '../../errors.js';
import type { LoadedModel } from '../../model/loader.js';
import { MODEL_FILE } from '../../model/metadata.js';
import { listModels, readAliases } from '../../model/registry.js';
import { ApiError, hidePaths } from '../errors.js';
import type { ModelListResponseT, ReloadResponseT } from '../schemas.js';
import type { ServerSources } from './sources.js';
import { referenceSummary } from '../../model/drift.js';

/** What GET /models says of a model's drift reference: null when it has none (or an unreadable one). */
function driftReferenceOf(meta: Record<string, unknown> | null): ModelListResponseT['models'][number]['drift_reference'] {
  const r = referenceSummary(meta);
  return r === undefined || 'problem' in r ? null : r;
}

export class ModelsService {
  constructor(private readonly s: ServerSources) {}

  async models(): Promise<ModelListResponseT> {
    const modelsDir = this.s.loader.modelsDir;
    let aliases: { champion?: string; challenger?: string } = {};
    try {
      aliases = await readAliases(modelsDir);
    } catch (e) {
      this.s.log.warn({ err: (e as Error).message }, 'aliases.json unreadable');
    }
    const entries = await Promise.all(
      (await listModels(modelsDir, aliases)).map(async (e) => {
        if (e.problem !== undefined || !e.meta) return e;
        const problem = await this.checksumProblem(path.join(e.dir, MODEL_FILE), e.meta.sha256);
        return problem ? { ...e, problem } : e;
      }),
    );
    const stats = this.s.loader.stats();
    const open = new Set(stats.cachedRefs);
    return {
      serving: stats.current,
      champion: aliases.champion ?? null,
      challenger: aliases.challenger ?? null,
      models: entries.map((e) => ({
        name: e.name,
        version: e.version,
        ref: e.ref,
        model_type: e.meta?.model_type ?? null,
        feature_set_version: e.meta?.feature_set_version ?? null,
        created_at: e.meta?.created_at ?? null,
        trained_until: e.meta?.trained_until ?? null,
        sha256: e.meta?.sha256 ?? null,
        metrics: (e.meta?.metrics as Record<string, unknown> | undefined) ?? null,
        aliases: [...e.aliases],
        usable: e.problem === undefined,
        problem: e.problem === undefined ? null : hidePaths(e.problem),
        serving: e.ref === stats.current,
        loaded: open.has(e.ref) || e.ref === stats.current,
        drift_reference: driftReferenceOf(e.meta),
      })),
    };
  }

  /** model.onnx digests by path, size and mtime (so /models hashes each file once, off the event loop's critical path: streamed). */
  private readonly digests = new Map<string, { key: string; sha256: string }>();

  /** Why a model file does not match the sha256 its model.json records (undefined when it does). */
  private async checksumProblem(file: string, expected: string): Promise<string | undefined> {
    try {
      const s = await stat(file);
      const key = `${s.size}:${s.mtimeMs}:${s.ino}`;
      let d = this.digests.get(file);
      if (!d || d.key !== key) {
        const h = createHash('sha256');
        await pipeline(createReadStream(file), h);
        d = { key, sha256: h.digest('hex') };
        this.digests.set(file, d);
      }
      if (d.sha256 === expected) return undefined;
      return `sha256 mismatch: model.onnx is ${d.sha256.slice(0, 12)}…, model.json records ${expected.slice(0, 12)}… (file changed or damaged)`;
    } catch (e) {
      return `cannot read model.onnx: ${(e as Error).message}`;
    }
  }

  /** POST /models/reload: choose again and swap the new session in; the old one keeps serving until then (and on failure). */
  async reload(): Promise<ReloadResponseT> {
    const previous = this.s.loader.stats().current;
    let m: LoadedModel;
    try {
      m = await this.s.loader.reload();
    } catch (e) {
      if (isStockflowError(e) && e.kind === 'NO_MODEL') {
        const keeping = this.s.loader.stats().current;
        throw new ApiError('MODEL_UNAVAILABLE', `${e.message}${keeping ? `; still serving ${keeping}` : ''}`);
      }
      throw e;
    }
    this.s.modelRecovered();
    this.s.log.info({ previous, current: m.ref }, 'model reloaded');
    return { previous, current: m.ref, model_type: m.meta.model_type, load_ms: Math.round(m.loadMs * 100) / 100, reloaded_at: new Date().toISOString() };
  }
}
