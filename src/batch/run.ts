/**
 * The nightly pipeline for one prediction date:
 * plan → extract (worker pool) → score → write → report, under the data
 * directory's batch lock. Notification is the caller's (src/batch/notice.ts)
 * so that a notification failure can never change what was written.
 */
import { BUDGET_EXEMPT_REASONS, DEFAULT_MAX_ERROR_RATE, budgetShare } from './budget.js';
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { marketDbPath, predictionsDbPath, predictionsDir } from '../config.js';
import { EXIT_CODES, StockflowError, missingInput } from '../errors.js';
import type { Logger } from '../log.js';
import type { IsoDate } from '../market/dates.js';
import { openMarketReadonly } from '../market/db.js';
import type { Stock } from '../market/types.js';
import { FEATURE_SET_VERSION, N_FEATURES } from '../features/definition.js';
import { computeFeatures } from '../features/service.js';
import { batchPool } from '../features/pool.js';
import type { Piscina } from 'piscina';
import type { SkipRecord } from '../features/types.js';
import { outputPaths, writePredictionsCsv, writeSkippedCsv, type OutputPaths } from '../output/csv.js';
import { REPORT_TOP, renderReport, type ReportInput, type StageTiming } from '../output/report.js';
import { TOP_N } from '../output/html/top.js';
import type { Driver } from '../output/drivers.js';
import { historyFor, preloadCharts, writeHtmlReport } from '../output/html/write.js';
import { removeOrphanTemps, stageFileWith, writeFileAtomic, type StagedFile } from '../util/atomic-file.js';
import type { Prediction, SkippedStock } from '../output/types.js';
import { PUBLICATION_SLICE_ROWS, PredictionsStore, type Publication } from '../predictions/store.js';
import type { RunCounts, RunFinish, RunScope, RunStatus } from '../predictions/types.js';
import type { ScoringModel } from '../model/types.js';
import { ExplanationUnavailable, type Explainer, type Prebuilt } from '../model/explainers.js';
import { explainParallel } from '../model/explain/parallel.js';
import { readScorecard, type Scorecard } from '../model/evaluate.js';
import { runDrivers, type RunDrivers } from './explain.js';
import { fillOutcomes, registryHorizons } from './outcomes.js';
import { monitorRun, type MonitorResult } from './monitor.js';
import type { PsiThresholds } from '../model/drift.js';
import { plan, type PlanOptions } from './plan.js';
import { rank } from './rank.js';
import type { Progress } from './progress.js';

export const SCORE_GROUP_SIZE = 1000;

export interface BatchOptions extends PlanOptions {
  dataDir: string;
  date: IsoDate;
  threads: number;
  maxErrorRate?: number;
  /** Loads the model to score with (called once per run, after planning), logging with the run's logger. */
  loadModel: (log: Logger) => Promise<ScoringModel>;
  log: Logger;
  signal?: AbortSignal;
  progress?: Progress;
  /** `--explain`: the predictions CSV gets the three driver columns (default: the spec's 7 columns). */
  csvDrivers?: boolean;
  /** The model registry, for the horizons of the models whose outcomes the run records (default: DEFAULT_HORIZON_SESSIONS). */
  modelsDir?: string;
  /** Drift thresholds (Config.psi; docs/monitoring.md). */
  psiThresholds?: PsiThresholds;
}

export type BatchCounts = RunCounts;

/** A subset run's selection as text ("--codes 500325,500180 --limit 10"), or undefined for a full run. */
export function subsetSelection(o: PlanOptions): string | undefined {
  const parts: string[] = [];
  if (o.codes !== undefined) parts.push(`--codes ${o.codes.join(',')}`);
  if (o.limit !== undefined) parts.push(`--limit ${o.limit}`);
  if (o.earningsWithin !== undefined) parts.push(`--earnings-within ${o.earningsWithin}`);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

export interface BatchResult {
  runId: string;
  scope: RunScope;
  /** The subset run's selection (see subsetSelection). */
  selection?: string;
  /**
   * Whether this run's rows and files are now the date's (docs/runs.md).
   * When false the run wrote only its own tagged files (paths) and its batch_runs row.
   */
  published: boolean;
  /** Why it did not publish, for the summary and the report. */
  notPublished?: string;
  date: IsoDate;
  asOf: IsoDate;
  status: RunStatus;
  exitCode: number;
  counts: BatchCounts;
  /** Skips counted by the error budget ÷ its universe (NO_PRICE_BAND stocks leave both: budget.ts). */
  skippedPct: number;
  model: { name: string; version: string; type: string; sha256: string; rocAuc?: number };
  paths: OutputPaths & { database: string };
  stageMs: Record<string, number>;
  durationMs: number;
  /** The ranked predictions; the rows the reports list (the top REPORT_TOP / TOP_N) carry their drivers. */
  ranked: Prediction[];
  reportText: string;
  fingerprint: string;
  /** 'explained (<basis>)' or 'unavailable: <reason>' (batch_runs.explanations). */
  explanations: string;
  /** The scorecard the report shows (undefined when no outcome is known yet). */
  scorecard?: Scorecard;
  /** Drift against the model's reference and the challenger's comparison (src/batch/monitor.ts). */
  monitor: MonitorResult;
}

const MB = 1024 * 1024;

/** The process's memory in MB: resident now and at its peak (all threads), the main thread's V8 heap, and memory outside it (typed arrays, SQLite, native). */
export function memorySnapshot(): { rssMb: number; peakRssMb: number; heapUsedMb: number; externalMb: number; arrayBuffersMb: number } {
  const m = process.memoryUsage();
  const r = (b: number): number => Math.round(b / MB);
  return { rssMb: r(m.rss), peakRssMb: r(process.resourceUsage().maxRSS * 1024), heapUsedMb: r(m.heapUsed), externalMb: r(m.external), arrayBuffersMb: r(m.arrayBuffers) };
}

function interrupted(): StockflowError {
  return new StockflowError('INTERRUPTED', 'interrupted: stopped before writing; earlier outputs are untouched');
}

/** Runs one date. The caller holds the batch lock. */
/**
 * The evening fetch's check (#13): when this data directory's fetches are recorded (predictions.db
 * fetch_runs), the session before D must be in market.db; otherwise the fetch never succeeded and the batch
 * stops (exit 3) naming the files that were missing, which the failure notice carries. Without recorded
 * fetches (data imported by hand, the demo) the staleness rule alone applies.
 */
export function fetchGapError(store: PredictionsStore, expected: IsoDate, asOf: IsoDate): StockflowError | undefined {
  if (asOf >= expected || !store.fetchInUse()) return undefined;
  const gaps = store.fetchGapsFor(expected);
  const why = !gaps
    ? 'no fetch asked for it'
    : gaps.files.length > 0
      ? `the last fetch (${gaps.run.run_id}, ${gaps.run.status}) left missing: ${gaps.files.join(', ')}`
      : `the last fetch (${gaps.run.run_id}) got its files but the import did not land (import: ${gaps.run.import_status})`;
  return missingInput(`market data for ${expected} is missing (market.db ends at ${asOf}): ${why}; run 'stockflow data fetch --date ${expected}' (--allow-stale to run anyway)`);
}

export async function runBatch(o: BatchOptions): Promise<BatchResult> {
  const t0 = performance.now();
  const runId = `${o.date}-${randomUUID().slice(0, 8)}`;
  const log = o.log.child({ runId, date: o.date });
  const stageMs: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
    const s = performance.now();
    const cpu = process.cpuUsage();
    try {
      return await fn();
    } finally {
      stageMs[name] = Math.round(performance.now() - s);
      // LOG_LEVEL=debug: the stage's CPU time (all threads: steadier than wall time on a shared machine), memory at its
      // end and the process's peak so far (all threads): which stage raised it (README "Benchmarks", #16).
      if (log.isLevelEnabled('debug')) {
        const c = process.cpuUsage(cpu);
        log.debug({ stage: name, ms: stageMs[name], cpuMs: Math.round((c.user + c.system) / 1000), memory: memorySnapshot() }, 'stage memory');
      }
    }
  };
  const checkAbort = (): void => {
    if (o.signal?.aborted) throw interrupted();
  };

  const marketFile = marketDbPath(o.dataDir);
  const market = openMarketReadonly(o.dataDir);
  const selection = subsetSelection(o);
  const scope: RunScope = selection === undefined ? 'full' : 'subset';
  let out: PredictionsStore;
  try {
    out = PredictionsStore.openForWrite(o.dataDir);
  } catch (e) {
    market.close();
    throw e;
  }
  const gone = out.reconcileInterrupted();
  if (gone.length > 0) log.warn({ runs: gone }, 'earlier runs whose process is gone marked interrupted');
  out.startRun({ runId, date: o.date, startedAt: new Date().toISOString(), threads: o.threads, scope, selection, pid: process.pid, host: hostname() });
  log.info({ threads: o.threads, scope, selection }, 'batch started');
  // Set once the run's outcome is committed: a later failure (writing the report) must not rewrite it.
  let committed = false;
  // The write's staged CSVs and its open publication (from the explain stage on): discarded, rolled back, on failure.
  const staged: StagedFile[] = [];
  let publication: Publication | undefined;
  // The run's worker pool (extraction, then explanations), destroyed after the explain stage or on failure.
  let pool: Piscina | undefined;
  let stopping: Promise<void> | undefined;
  try {
    // The pool starts first: its threads load their modules while this one plans and loads the model. Its size
    // is the thread count (a run of fewer than threads × TASK_SIZE stocks leaves the threads beyond its tasks
    // idle). Every exit from here on, failures included, destroys it (the finally below).
    if (o.threads > 0) pool = batchPool(o.threads);
    // plan
    const p = await timed('plan', () => plan(market, o.date, o));
    if (!o.allowStale) {
      const gap = fetchGapError(out, p.calendar.previousSession(o.date), p.ctx.asOf);
      if (gap) throw gap;
    }
    const stocks = new Map<string, Stock>(p.stocks.map((s) => [s.bse_code, s]));
    log.info({ asOf: p.ctx.asOf, universe: p.stocks.length }, 'planned');
    const model = await timed('model_load', () => o.loadModel(log));
    log.info({ model: `${model.name}/${model.version}`, type: model.type }, 'model loaded');
    checkAbort();

    // While the workers extract, this thread (after its share of the sector medians, src/features/service.ts) loads the
    // HTML report's chart renderer and decodes the model's trees for the explain stage.
    void preloadCharts();
    const prepared = setImmediate(() => model.prepareExplainer?.());
    // extract, on the run's one pool, whose warm threads take the explain stage's chunks after it
    const fs = await timed('extract', () =>
      computeFeatures(market, marketFile, p.stocks, o.date, {
        threads: o.threads,
        ctx: p.ctx,
        // (threads 0, tests only: extraction on this thread, no pool)
        pool,
        // A full run's workers read every ACTIVE stock's results: the sector medians come from those reads.
        workerMedians: scope === 'full',
        signal: o.signal,
        onProgress: (done, total) => (done === 0 ? o.progress?.start(total, 'extract') : o.progress?.update(done)),
      }),
    ).catch((e: unknown) => {
      if (o.signal?.aborted) throw interrupted();
      throw e;
    });
    o.progress?.stop();
    clearImmediate(prepared);
    if (o.threads < 2) {
      // One thread: the explain stage runs on this one alone; the workers stop now.
      stopping = pool?.destroy();
      pool = undefined;
    }
    checkAbort();
    const n = fs.block.codes.length;
    log.info({ extracted: n, skipped: fs.block.skips.length }, 'features extracted');

    // score
    const probs = await timed('score', () => model.score(fs.block.values, n, SCORE_GROUP_SIZE));
    const ranked = rank(fs.block.codes, probs, stocks);
    checkAbort();

    // What the write needs and the explanations do not: the skips, the counts, whether the run publishes, where.
    const skips: SkipRecord[] = [...p.rejected, ...fs.block.skips];
    const skipped: SkippedStock[] = skips
      .map((s) => {
        const st = stocks.get(s.bse_code);
        return { bse_code: s.bse_code, nse_symbol: st?.nse_symbol ?? null, company_name: st?.company_name ?? '', reason: s.reason, detail: s.detail };
      })
      .sort((a, b) => (a.bse_code < b.bse_code ? -1 : a.bse_code > b.bse_code ? 1 : 0));
    const universe = p.stocks.length + p.rejected.length;
    const uc = ranked.filter((r) => r.label === 1);
    const counts: BatchCounts = {
      universe,
      processed: ranked.length,
      skipped: skipped.length,
      predictedUc: uc.length,
      high: uc.filter((r) => r.confidence === 'HIGH').length,
      medium: uc.filter((r) => r.confidence === 'MEDIUM').length,
      low: uc.filter((r) => r.confidence === 'LOW').length,
    };
    // NO_PRICE_BAND skips are listed but leave the budget's universe (budget.ts).
    const skippedPct = budgetShare(skipped, universe);
    const maxErrorRate = o.maxErrorRate ?? DEFAULT_MAX_ERROR_RATE;
    const status: RunStatus = skippedPct > maxErrorRate ? 'budget_exceeded' : 'succeeded';
    const fingerprint = createHash('sha256')
      .update(JSON.stringify({ date: o.date, asOf: p.ctx.asOf, fs: FEATURE_SET_VERSION, model: model.sha256, codes: fs.block.codes, skips }))
      .update(new Uint8Array(fs.block.values.buffer, fs.block.values.byteOffset, n * N_FEATURES * 4))
      .digest('hex');
    const modelInfo = { name: model.name, version: model.version, type: model.type, sha256: model.sha256, rocAuc: model.rocAuc };
    // Publication (docs/runs.md): a full run that succeeded publishes; a full run over its
    // budget publishes only when the date has no succeeded run of this model; a subset run never.
    // The batch lock (held by the caller) keeps this check and the commit below together.
    const reason =
      scope === 'subset'
        ? `a subset run (${selection ?? ''}) never changes the date's stored rows or files`
        : status !== 'succeeded' && out.hasSucceededRun(o.date, model)
          ? "the date's earlier succeeded run is kept"
          : undefined;
    const published = reason === undefined;
    // The report of a run that does not publish names the run whose outputs the date keeps (completedRun, docs/runs.md).
    const kept = published ? undefined : out.completedRun(o.date);
    const notPublished = reason === undefined ? undefined : kept ? `${reason}; the date's outputs are run ${kept.run_id}'s` : reason;
    const tag = published ? undefined : `${scope === 'subset' ? 'subset' : 'run'}-${runId}`;
    const paths = { ...outputPaths(predictionsDir(o.dataDir), o.date, tag), database: predictionsDbPath(o.dataDir) };
    const timestamp = new Date().toISOString();

    // The write's first part, which needs no explanation (#16): the skipped CSV, the predictions CSV without
    // driver columns, and (a published run) the prediction, skip and feature rows, inside the publication's
    // transaction, which stays open until the explanation rows join them and ONE commit publishes the lot. On
    // several threads it runs while the pool's workers explain (explainParallel's meanwhile), in slices that
    // let the workers' answers in; on one thread after the explanations. The CSVs are staged here and
    // published only after the commit: a run that fails or is killed before it commits replaces no earlier file.
    let base: Promise<void> | undefined;
    const writeBase = (): Promise<void> =>
      (base ??= (async () => {
        checkAbort();
        for (const f of [paths.predictionsCsv, paths.skippedCsv, paths.report]) removeOrphanTemps(f);
        staged.push(stageFileWith(paths.skippedCsv, (w) => writeSkippedCsv(w, skipped)));
        if (!o.csvDrivers) staged.push(stageFileWith(paths.predictionsCsv, (w) => writePredictionsCsv(w, ranked)));
        if (!published) return;
        publication = out.beginPublication({
          runId,
          date: o.date,
          asOf: p.ctx.asOf,
          modelVersion: model.version,
          modelType: model.type,
          featureSetVersion: FEATURE_SET_VERSION,
          predictions: ranked,
          skipped,
          features: { codes: fs.block.codes, values: fs.block.values, imputed: fs.imputed },
          timestamp,
        });
        for (const _ of publication.baseRows(PUBLICATION_SLICE_ROWS)) {
          void _;
          await new Promise<void>((resolve) => setImmediate(resolve));
          checkAbort();
        }
      })());

    // explain: every scored stock (docs/models.md, "Explanations"). A model that cannot be
    // explained leaves the run as it is: no drivers stored, the report says why.
    // (Its time includes the write's first part when that runs meanwhile: see writeBase.)
    let explainBasis = '';
    const explained = await timed('explain', async (): Promise<RunDrivers | string> => {
      try {
        // On every thread the run may use (this one and the pool's workers, started while this one builds the explainer): the same values as on one.
        let basis = '';
        const build = (prebuilt?: Prebuilt): Explainer => {
          const ex = model.explainer(() => ({ X: fs.block.values, n, what: `the run's ${n.toLocaleString('en-US')} feature rows` }), prebuilt);
          basis = ex.basis;
          return ex;
        };
        // On the pool, the explainer's covers and tables too (the workers would otherwise wait for this thread).
        const trees = pool ? model.backgroundTrees?.() : undefined;
        const e = await explainParallel(build, fs.block.values, n, {
          threads: o.threads,
          signal: o.signal,
          pool,
          meanwhile: pool ? writeBase : undefined,
          prebuild: trees && { model: trees, background: { X: fs.block.values, n } },
        });
        const d = runDrivers(fs.block.codes, fs.block.values, probs, e);
        if (typeof d !== 'string') explainBasis = basis;
        return d;
      } catch (e) {
        if (e instanceof ExplanationUnavailable) return e.reason;
        if (o.signal?.aborted) throw interrupted();
        throw e;
      }
    });
    // The workers stop while this thread writes.
    if (pool) {
      stopping = pool.destroy();
      pool = undefined;
    }
    const explanations = typeof explained === 'string' ? `unavailable: ${explained}` : `explained (${explainBasis})`;
    if (typeof explained === 'string') log.warn({ reason: explained }, 'explanations unavailable: the run stores no drivers');
    // The drivers stay in their columns (#16): the rows the reports list get theirs as objects, the CSV looks each row's up as it writes it.
    let driversOf: ((r: Prediction) => Driver[] | undefined) | undefined;
    if (typeof explained !== 'string') {
      const rowOf = new Map(fs.block.codes.map((c, i) => [c, i]));
      driversOf = (r) => {
        const i = rowOf.get(r.bse_code);
        return i === undefined ? undefined : explained.table.row(i);
      };
      for (const r of ranked.slice(0, Math.max(REPORT_TOP, TOP_N))) r.drivers = driversOf(r);
    }
    checkAbort();

    // write: the rest (the first part when it has not run yet), then the commit
    const finish: RunFinish = {
      status,
      asOf: p.ctx.asOf,
      model: modelInfo,
      featureSetVersion: FEATURE_SET_VERSION,
      counts,
      stageMs,
      fingerprint,
      explanations,
      error: status === 'budget_exceeded' ? `skipped ${(100 * skippedPct).toFixed(2)}% > ${(100 * maxErrorRate).toFixed(2)}%` : undefined,
    };
    const written = await timed('write', async () => {
      let rows = 0;
      try {
        await writeBase();
        if (o.csvDrivers) staged.push(stageFileWith(paths.predictionsCsv, (w) => writePredictionsCsv(w, ranked, { drivers: true, driversOf })));
        if (publication) {
          // The explanation rows and the run's finish (published = 1) join the rows above: one commit.
          publication.explanationRows(typeof explained === 'string' ? undefined : explained.stored);
          rows = publication.commit(finish).predictions;
        } else {
          out.finishRun(runId, finish);
        }
        committed = true;
      } catch (e) {
        publication?.rollback();
        throw e;
      }
      for (const f of staged) f.publish();
      return { predictions: rows };
    });

    // monitor: drift against the model's reference, and the challenger on the same feature rows (docs/monitoring.md).
    const monitored = await timed('monitor', () =>
      monitorRun({
        out,
        runId,
        date: o.date,
        asOf: p.ctx.asOf,
        published,
        modelsDir: o.modelsDir,
        model,
        codes: fs.block.codes,
        values: fs.block.values,
        probs,
        ranked,
        stocks,
        thresholds: o.psiThresholds,
        timestamp,
        groupSize: SCORE_GROUP_SIZE,
        log,
      }),
    );

    // outcomes: the realised outcomes that became known (docs/runs.md, "Outcomes"), and the
    // scorecard the report shows. Never fails the run: its rows and files are already written.
    const card = await timed('outcomes', async (): Promise<Scorecard | undefined> => {
      try {
        const filled = fillOutcomes(market, out, await registryHorizons(o.modelsDir, log));
        if (filled.recorded.length > 0)
          log.info({ dates: filled.recorded.map((r) => `${r.date} ${r.modelVersion}`), waiting: filled.waiting }, 'outcomes recorded');
        return readScorecard(out);
      } catch (e) {
        log.warn({ error: (e as Error).message }, 'outcomes not recorded (the run is unaffected; the next batch or `stockflow evaluate` records them)');
        return undefined;
      }
    });
    try {
      out.recordStageMs(runId, stageMs);
    } catch (e) {
      log.warn({ error: (e as Error).message }, 'could not record the write stage timing');
    }

    // report
    const skippedByReason: Record<string, number> = {};
    for (const s of skipped) skippedByReason[s.reason] = (skippedByReason[s.reason] ?? 0) + 1;
    const stageNames: [string, string][] = [
      ['plan', 'Planning'],
      ['model_load', 'Model Load'],
      ['extract', 'Feature Extraction'],
      ['score', 'Model Prediction'],
      ['explain', 'Explanations'],
      ['write', 'Database Write'],
      ['monitor', 'Monitoring'],
      ['outcomes', 'Outcomes'],
    ];
    const stages: StageTiming[] = stageNames.map(([k, name]) => ({ name, ms: stageMs[k] ?? 0 }));
    const durationMs = Math.round(performance.now() - t0);
    const reportInput: ReportInput = {
      date: o.date,
      asOf: p.ctx.asOf,
      status: status === 'succeeded' ? 'SUCCEEDED' : `FAILED: ${(100 * skippedPct).toFixed(1)}% skipped exceeds the ${(100 * maxErrorRate).toFixed(1)}% error budget`,
      model: { name: model.name, version: model.version, type: model.type, metricName: model.rocAuc !== undefined ? 'ROC-AUC' : undefined, metricValue: model.rocAuc },
      featureSetVersion: FEATURE_SET_VERSION,
      durationMs,
      counts,
      skippedByReason,
      ranked,
      stages,
      outputs: {
        database: paths.database,
        dbRows: written.predictions,
        csv: paths.predictionsCsv,
        csvRows: ranked.length,
        skippedCsv: paths.skippedCsv,
        skippedRows: skipped.length,
      },
      maxErrorRate,
      budget: { exempt: skipped.filter((s) => BUDGET_EXEMPT_REASONS.has(s.reason)).length, share: skippedPct },
      subset: selection,
      notPublished,
      explanationsUnavailable: typeof explained === 'string' ? explained : undefined,
      explanationBasis: typeof explained === 'string' ? undefined : explainBasis,
      scorecard: card,
      monitor: monitored,
    };
    const reportText = renderReport(reportInput);
    writeFileAtomic(paths.report, reportText);
    await writeHtmlReport(paths.htmlReport, { ...reportInput, history: card && historyFor(out, log) }, log);
    const result: BatchResult = {
      runId,
      scope,
      selection,
      published,
      notPublished,
      date: o.date,
      asOf: p.ctx.asOf,
      status,
      exitCode: status === 'succeeded' ? EXIT_CODES.OK : EXIT_CODES.ERROR_BUDGET,
      counts,
      skippedPct,
      model: modelInfo,
      paths,
      stageMs,
      durationMs,
      ranked,
      reportText,
      fingerprint,
      explanations,
      scorecard: card,
      monitor: monitored,
    };
    log.info({ status, published, ...counts, skippedPct: Number((100 * skippedPct).toFixed(2)), stageMs, durationMs, report: paths.report }, 'batch finished');
    return result;
  } catch (e) {
    o.progress?.stop();
    const status: RunStatus = e instanceof StockflowError && e.kind === 'INTERRUPTED' ? 'interrupted' : 'failed';
    // An open publication ends first: its rows are discarded, and the run's bookkeeping below is not part of them.
    if (!committed) {
      try {
        publication?.rollback();
      } catch {
        // (the error that stopped the run is the one to report)
      }
      for (const f of staged) f.discard();
      try {
        out.finishRun(runId, { status, stageMs, error: (e as Error).message });
      } catch {
        // The run's own bookkeeping must not hide the error that stopped it.
      }
    }
    log.error({ status, error: (e as Error).message }, 'batch did not complete');
    throw e;
  } finally {
    await Promise.all([stopping, pool?.destroy()]);
    market.close();
    out.close();
  }
}

