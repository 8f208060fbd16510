/**
 * Writing the HTML report beside the text report (atomically: temp file,
 * fsync, rename), with the scorecard's history read from the predictions
 * store. The run's rows and files are committed before this runs, so a
 * failure here is logged and never fails the run.
 */
import type { Logger } from '../../log.js';
import { readScorecardHistory, type HistorySource } from '../../model/scorecard-history.js';
import { removeOrphanTemps, writeFileAtomic } from '../../util/atomic-file.js';
import { renderHtmlReport } from './index.js';
import type { HtmlReportModel, ScorecardHistory } from './model.js';

export { preloadCharts } from './svg.js';

/** The history as the report draws it, or undefined when none is known (or it cannot be read). */
export function historyFor(store: HistorySource, log?: Logger): ScorecardHistory | undefined {
  const t0 = performance.now();
  try {
    const h = readScorecardHistory(store);
    log?.debug({ ms: Math.round(performance.now() - t0), dates: h?.points.length ?? 0 }, 'scorecard history read for the HTML report');
    return h && { model_version: h.model_version, points: h.points, calibration: h.calibration, rows: h.rows };
  } catch (e) {
    log?.warn({ error: (e as Error).message }, 'scorecard history not read for the HTML report');
    return undefined;
  }
}

/** Renders and writes the report; returns false (after a warning) when it could not. */
export async function writeHtmlReport(file: string, model: HtmlReportModel, log?: Logger): Promise<boolean> {
  const t0 = performance.now();
  try {
    removeOrphanTemps(file);
    writeFileAtomic(file, await renderHtmlReport(model));
    log?.info({ file, ms: Math.round(performance.now() - t0) }, 'HTML report written');
    return true;
  } catch (e) {
    log?.warn({ error: (e as Error).message, file }, 'HTML report not written (the run and its other files are unaffected)');
    return false;
  }
}
