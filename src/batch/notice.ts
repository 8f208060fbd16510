/**
 * Stage 6, notify: after a run's outputs are committed, tell Slack and email.
 * A notification failure never changes the run's outcome or exit code: it is
 * retried (inside notifyRun), logged and recorded on the run in batch_runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Config } from '../config.js';
import { predictionsDir } from '../config.js';
import { missingInput } from '../errors.js';
import type { Logger } from '../log.js';
import type { IsoDate } from '../market/dates.js';
import { checkNotifyConfig, notifyRun, type ChannelOutcome, type RunNotice } from '../notify/index.js';
import { outputPaths } from '../output/csv.js';
import { PredictionsStore } from '../predictions/store.js';
import type { BatchResult } from './run.js';
import { readScorecard, type Scorecard } from '../model/evaluate.js';
import { DEFAULT_PSI_THRESHOLDS, type DriftReport } from '../model/drift.js';

/** The notice's drift: what is above the significant threshold, worst first (docs/monitoring.md). */
function noticeDrift(d: DriftReport | undefined): RunNotice['drift'] {
  if (!d) return undefined;
  const t = d.thresholds ?? DEFAULT_PSI_THRESHOLDS;
  const significant = [...d.features, d.score]
    .filter((x) => x.level === 'significant')
    .sort((a, b) => b.psi - a.psi)
    .map((x) => ({ name: x.name, psi: x.psi }));
  return { significant, threshold: t.significant };
}

/** A section of the notice read from an older predictions.db that lacks its table is left out. */
function orUndefined<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

const noticeCard = (s: Scorecard | undefined): RunNotice['scorecard'] => (s ? { ...s } : undefined);

interface Ranked {
  bse_code: string;
  nse_symbol: string | null;
  company_name: string | null;
  probability: number;
  label: number;
  confidence: string | null;
}

function topHigh(ranked: readonly Ranked[]): RunNotice['topHighConfidence'] {
  return ranked
    .filter((p) => p.label === 1 && p.confidence === 'HIGH')
    .map((p, i) => ({ rank: i + 1, bse_code: p.bse_code, nse_symbol: p.nse_symbol, company_name: p.company_name ?? '', probability: p.probability }));
}

export function noticeFromResult(r: BatchResult): RunNotice {
  return {
    runId: r.runId,
    predictionDate: r.date,
    asOfSession: r.asOf,
    status: r.status === 'succeeded' ? 'succeeded' : r.status === 'budget_exceeded' ? 'budget_exceeded' : 'failed',
    failureReason: r.status === 'budget_exceeded' ? `${(100 * r.skippedPct).toFixed(1)}% of stocks skipped exceeds the error budget` : undefined,
    model: { name: r.model.name, version: r.model.version, type: r.model.type, rocAuc: r.model.rocAuc },
    // The plain share skipped, as a notice re-sent from predictions.db shows it (the budget's share, without
    // NO_PRICE_BAND stocks, is in failureReason).
    counts: { ...r.counts, skippedPct: r.counts.universe > 0 ? r.counts.skipped / r.counts.universe : 0 },
    topHighConfidence: topHigh(r.ranked),
    reportText: r.reportText,
    htmlPath: r.paths.htmlReport,
    csvPath: r.paths.predictionsCsv,
    durationMs: r.durationMs,
    scorecard: noticeCard(r.scorecard),
    drift: noticeDrift(r.monitor.drift),
  };
}


/** The notice of the date's completed run (PredictionsStore.completedRun), rebuilt from predictions.db and the report file. */
export function noticeFromDb(dataDir: string, date: IsoDate): RunNotice {
  const store = PredictionsStore.openReadonly(dataDir);
  try {
    const run = store.usable() ? store.completedRun(date) : undefined;
    if (!run) throw missingInput(`no completed batch run for ${date} in predictions.db`);
    const ranked = store.ranking(date, run.model_version ?? '').map((r) => ({ ...r, label: r.predicted_label }));
    const paths = outputPaths(predictionsDir(dataDir), date);
    const universe = run.universe_count ?? 0;
    const skipped = run.skipped_count ?? 0;
    return {
      runId: run.run_id,
      predictionDate: date,
      asOfSession: run.as_of_session ?? '',
      status: run.status === 'succeeded' ? 'succeeded' : 'budget_exceeded',
      failureReason: run.status === 'succeeded' ? undefined : (run.error ?? 'error budget exceeded'),
      model: { name: run.model_name ?? '', version: run.model_version ?? '', type: run.model_type ?? '', rocAuc: run.model_roc_auc ?? undefined },
      counts: {
        universe,
        processed: run.processed_count ?? 0,
        skipped,
        skippedPct: universe > 0 ? skipped / universe : 0,
        predictedUc: run.predicted_uc_count ?? 0,
        high: run.high_count ?? 0,
        medium: run.medium_count ?? 0,
        low: run.low_count ?? 0,
      },
      topHighConfidence: topHigh(ranked),
      reportText: existsSync(paths.report) ? readFileSync(paths.report, 'utf8') : `(report file ${paths.report} is missing)\n`,
      htmlPath: paths.htmlReport,
      csvPath: paths.predictionsCsv,
      durationMs: run.finished_at ? Date.parse(run.finished_at) - Date.parse(run.started_at) : 0,
      scorecard: noticeCard(orUndefined(() => readScorecard(store))),
      drift: noticeDrift(orUndefined(() => store.driftOfRun(run.run_id))),
    };
  } finally {
    store.close();
  }
}

/** Sends the run's notifications and records the outcome on the run; never throws. */
export async function sendNotice(n: RunNotice, cfg: Config, log: Logger, o: { dryRun?: boolean; dataDir?: string } = {}): Promise<ChannelOutcome[]> {
  if (checkNotifyConfig(cfg.notify, log).length === 0) return [];
  const outcomes = await notifyRun(n, cfg.notify, { log, dryRun: o.dryRun });
  if (!o.dryRun) {
    try {
      const store = PredictionsStore.openForWrite(o.dataDir ?? cfg.dataDir);
      try {
        store.recordNotifications(n.runId, outcomes);
      } finally {
        store.close();
      }
    } catch (e) {
      log.warn({ error: (e as Error).message }, 'could not record notification outcomes');
    }
  }
  return outcomes;
}

/**
 * What the evening fetch (#13) left missing for a session, as one line for the notice; undefined when every
 * file arrived, or when this data directory does not use the fetch.
 */
export function fetchWarning(dataDir: string, session: IsoDate): string | undefined {
  if (!session) return undefined;
  const store = PredictionsStore.openReadonlyIfExists(dataDir);
  if (!store) return undefined;
  try {
    const gaps = store.usable() ? store.fetchGapsFor(session) : undefined;
    if (!gaps || gaps.files.length === 0) return undefined;
    return `the evening fetch of ${session} left ${gaps.files.length} file(s) missing: ${gaps.files.join(', ')} (stockflow data fetch --date ${session})`;
  } finally {
    store.close();
  }
}

export async function sendRunNotifications(r: BatchResult, cfg: Config, log: Logger): Promise<ChannelOutcome[]> {
  const n = noticeFromResult(r);
  n.dataWarning = fetchWarning(cfg.dataDir, r.asOf);
  return sendNotice(n, cfg, log);
}

/** Tells the channels that a run failed before it could write its outputs. */
export async function sendFailureNotice(date: IsoDate, error: string, cfg: Config, log: Logger): Promise<ChannelOutcome[]> {
  if (checkNotifyConfig(cfg.notify, log).length === 0) return [];
  const notice: RunNotice = {
    runId: '',
    predictionDate: date,
    asOfSession: '',
    status: 'failed',
    failureReason: error,
    model: { name: '', version: '', type: '' },
    counts: { universe: 0, processed: 0, skipped: 0, skippedPct: 0, predictedUc: 0, high: 0, medium: 0, low: 0 },
    topHighConfidence: [],
    reportText: '',
    durationMs: 0,
  };
  return notifyRun(notice, cfg.notify, { log });
}
