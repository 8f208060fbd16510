/**
 * The text report (the spec's layout, AC4.2.6), written next to the CSVs.
 */
import path from 'node:path';
import type { IsoDate } from '../market/dates.js';
import type { Prediction } from './types.js';
import type { RunCounts } from '../predictions/types.js';
import { formatDuration } from '../util/format.js';
import { whyText } from './drivers.js';
import type { Scorecard } from '../model/evaluate.js';
import { challengerLines, driftLines, type MonitorSections } from './monitoring.js';


/** The ranked rows the text report lists (with their drivers). */
export const REPORT_TOP = 20;
export interface StageTiming {
  name: string;
  ms: number;
}

export interface ReportInput {
  date: IsoDate;
  asOf: IsoDate;
  status: string;
  model: { name: string; version: string; type: string; metricName?: string; metricValue?: number };
  featureSetVersion: string;
  durationMs: number;
  /** The run's counts as the batch computed them (never recounted here). */
  counts: RunCounts;
  skippedByReason: Record<string, number>;
  ranked: readonly Prediction[];
  stages: StageTiming[];
  outputs: { database: string; dbRows: number; csv: string; csvRows: number; skippedCsv: string; skippedRows: number };
  maxErrorRate: number;
  /** Skips that do not count against the budget (NO_PRICE_BAND), and the budget's share; absent or 0: every skip counts. */
  budget?: { exempt: number; share: number };
  /** A subset run's selection (--codes, --limit, --earnings-within); undefined for a full run. */
  subset?: string;
  /** Why a run did not publish its outputs as the date's (docs/runs.md); undefined when it did. */
  notPublished?: string;
  /**
   * Why the run's stocks could not be explained (the model has neither node covers nor a background);
   * undefined when they were: the top-20 table then has a "Why" column (the two strongest drivers).
   */
  explanationsUnavailable?: string;
  /** How the drivers were computed (e.g. 'node covers recorded with the model'), when they were. */
  explanationBasis?: string;
  /** The scorecard (README "The scorecard"); undefined when no prediction's outcome is known yet. */
  scorecard?: Scorecard;
  /** Drift and the challenger (docs/monitoring.md). */
  monitor?: MonitorSections;
}

const LINE = '='.repeat(40);
const int = (n: number): string => n.toLocaleString('en-US');
const pct = (n: number, of: number): string => (of > 0 ? `${((100 * n) / of).toFixed(1)}%` : '0.0%');

function cell(s: string, w: number): string {
  return s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w);
}

export function renderReport(r: ReportInput): string {
  const c = r.counts;
  const metric = r.model.metricName && r.model.metricValue !== undefined ? ` (${r.model.metricName}: ${r.model.metricValue.toFixed(3)})` : '';
  const lines: string[] = [
    LINE,
    'BATCH PREDICTION REPORT',
    LINE,
    `Date: ${r.date}`,
  ];
  if (r.asOf !== r.date) lines.push(`As-of session: ${r.asOf} (features use data before ${r.date})`);
  lines.push(
    `Model: ${r.model.type} v${r.model.version}${metric} [${r.model.name}, feature set ${r.featureSetVersion}]`,
    `Duration: ${formatDuration(r.durationMs)}`,
    `Status: ${r.status}`,
  );
  if (r.explanationsUnavailable === undefined && r.explanationBasis !== undefined) lines.push(`Explanations: exact TreeSHAP in log-odds (${r.explanationBasis})`);
  if (r.subset !== undefined) lines.push(`Scope: SUBSET (${r.subset}): not the whole date; the date's stored predictions and files are unchanged`);
  if (r.notPublished !== undefined) lines.push(`Published: no (${r.notPublished})`);
  lines.push(
    '',
    'SUMMARY:',
    `- Total Stocks Processed: ${int(c.processed)} of ${int(c.universe)} active`,
    r.budget && r.budget.exempt > 0
      ? `- Stocks Skipped: ${int(c.skipped)} (${pct(c.skipped, c.universe)}; ${int(r.budget.exempt)} with no price band are not counted: ${(100 * r.budget.share).toFixed(1)}% of the other ${int(c.universe - r.budget.exempt)} against the budget of ${(100 * r.maxErrorRate).toFixed(1)}%)`
      : `- Stocks Skipped: ${int(c.skipped)} (${pct(c.skipped, c.universe)}; budget ${(100 * r.maxErrorRate).toFixed(1)}%)`,
  );
  for (const [reason, n] of Object.entries(r.skippedByReason).sort()) lines.push(`    ${reason}: ${int(n)}`);
  lines.push(
    `- Predicted Upper Circuit: ${int(c.predictedUc)} (${pct(c.predictedUc, c.processed)})`,
    `- High Confidence: ${int(c.high)} (${pct(c.high, c.processed)})`,
    `- Medium Confidence: ${int(c.medium)} (${pct(c.medium, c.processed)})`,
    `- Low Confidence: ${int(c.low)} (${pct(c.low, c.processed)})`,
    '',
    'TOP 20 PREDICTIONS:',
  );
  const why = r.explanationsUnavailable === undefined;
  if (!why) lines.push(`(explanations unavailable: ${r.explanationsUnavailable})`);
  lines.push(
    `Rank | BSE Code | NSE Symbol | Company Name        | Probability | Confidence${why ? ' | Why' : ''}`,
    `-----|----------|------------|---------------------|-------------|------------${why ? '|-----' : ''}`,
  );
  r.ranked.slice(0, REPORT_TOP).forEach((p, i) => {
    const row = `${cell(String(i + 1), 4)} | ${cell(p.bse_code, 8)} | ${cell(p.nse_symbol ?? '-', 10)} | ${cell(p.company_name, 19)} | ${cell(p.probability.toFixed(2), 11)} | `;
    lines.push(why ? `${row}${cell(p.confidence, 10)} | ${whyText(p.drivers)}` : `${row}${p.confidence}`);
  });
  if (r.ranked.length === 0) lines.push('(no stocks scored)');
  lines.push('', ...scorecardLines(r.scorecard));
  lines.push('', ...driftLines(r.monitor));
  const ch = challengerLines(r.monitor);
  if (ch.length > 0) lines.push('', ...ch);
  const total = r.stages.reduce((a, s) => a + s.ms, 0);
  lines.push('', 'PERFORMANCE:');
  for (const s of r.stages) {
    const per = c.processed > 0 ? ` (avg ${(s.ms / Math.max(1, c.processed)).toFixed(3)}ms/stock)` : '';
    lines.push(`- ${s.name}: ${formatDuration(s.ms)}${s.name === 'Feature Extraction' || s.name === 'Model Prediction' || s.name === 'Explanations' ? per : ''}`);
  }
  lines.push(`- Throughput: ${(c.universe / Math.max(total / 1000, 1e-3)).toFixed(1)} stocks/second`);
  lines.push(
    '',
    'OUTPUT FILES:',
    r.notPublished === undefined
      ? `- Database: ${path.basename(r.outputs.database)} (${int(r.outputs.dbRows)} rows inserted)`
      : `- Database: ${path.basename(r.outputs.database)} (no rows written: the run is recorded in batch_runs only)`,
    `- CSV: ${path.basename(r.outputs.csv)} (${int(r.outputs.csvRows)} rows)`,
    `- Skipped: ${path.basename(r.outputs.skippedCsv)} (${int(r.outputs.skippedRows)} rows)`,
    '',
    LINE,
    '',
  );
  return lines.join('\n');
}

const pct1 = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** The report's SCORECARD section. */
export function scorecardLines(s: Scorecard | undefined): string[] {
  if (!s) return ['SCORECARD:', '(no outcome known yet: a prediction is judged once its model\'s horizon has passed; see README "The scorecard")'];
  return [
    'SCORECARD:',
    `- Latest judged date: ${s.date} (model v${s.model_version}, ${int(s.rows)} stocks scored)`,
    `- Top ${s.top}: ${s.top_hits} hit the upper circuit (${pct1(s.top_precision)}) vs base rate ${pct1(s.base_rate)}` +
      (s.base_rate > 0 ? ` (${(s.top_precision / s.base_rate).toFixed(1)}x)` : ''),
    `- Rolling precision@20: ${pct1(s.rolling_precision)} over ${s.window_dates} date${s.window_dates === 1 ? '' : 's'} (${s.window_from} to ${s.window_to})`,
  ];
}
