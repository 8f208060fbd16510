/**
 * What a notification is about (one batch run), what came of sending it, and
 * the wording both channels share (the one-line headline, number formats).
 */
import type { Scorecard } from '../model/evaluate.js';

/** One finished (or failed) batch run, as both channels describe it. */
export interface RunNotice {
  runId: string;
  /** The prediction date (YYYY-MM-DD). */
  predictionDate: string;
  /** The last session whose data the features use. */
  asOfSession: string;
  status: 'succeeded' | 'failed' | 'budget_exceeded';
  /** Why the run failed or exceeded its error budget. */
  failureReason?: string;
  model: { name: string; version: string; type: string; rocAuc?: number };
  /**
   * Stock counts. `skippedPct` is a fraction in [0, 1] (as `BatchResult.skippedPct`):
   * 0.013 is shown as "1.3%".
   */
  counts: {
    universe: number;
    processed: number;
    skipped: number;
    skippedPct: number;
    predictedUc: number;
    high: number;
    medium: number;
    low: number;
  };
  /** HIGH-confidence label-1 names, best first (Slack shows the first 10, in this order). */
  topHighConfidence: Array<{ rank: number; bse_code: string; nse_symbol: string | null; company_name: string; probability: number }>;
  /** The text report (the email body). */
  reportText: string;
  /** Input files the evening fetch left missing for the run's data session (`stockflow data fetch`, #13). */
  dataWarning?: string;
  /** The HTML report (src/output/html/): the email's HTML body when the file exists, the text report its plain-text alternative. */
  htmlPath?: string;
  /** The predictions CSV to attach to the email (attached only when the file exists). */
  csvPath?: string;
  durationMs: number;
  /** The report's scorecard (README "The scorecard"); absent until a prediction's outcome is known. */
  scorecard?: Pick<Scorecard, 'date' | 'model_version' | 'top' | 'top_hits' | 'top_precision' | 'base_rate' | 'rolling_precision' | 'window_dates'>;
  /** Drift (docs/monitoring.md): the features (and the score) whose PSI is above the significant threshold, worst first. Absent when not measured. */
  drift?: { significant: { name: string; psi: number }[]; threshold: number };
}

export type Channel = 'slack' | 'email';

export interface ChannelOutcome {
  channel: Channel;
  /** Delivered (or, with dryRun, rendered and ready to send). */
  ok: boolean;
  /** Delivery attempts made: 0 when skipped or a dry run. */
  attempts: number;
  /** The last failure, without secrets. */
  error?: string;
  skipped?: 'not_configured';
  /** Present on the outcomes of a dry run: nothing was sent. */
  dryRun?: true;
}

/** Slack shows at most this many HIGH-confidence candidates. */
export const SLACK_TOP_N = 10;

/** 10856 → "10,856". */
export const formatCount = (n: number): string => Math.round(n).toLocaleString('en-US');

/** 0.91234 → "0.912". */
export const formatProbability = (p: number): string => p.toFixed(3);

/** A fraction as a percentage with one decimal: 0.0133 → "1.3%". */
export const formatFraction = (f: number): string => `${(100 * f).toFixed(1)}%`;

/** Whitespace (newlines included) collapsed to single spaces, cut to `max` characters. */
export function oneLine(s: string, max: number): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** "xgb-uc v1.2.0 (xgboost), ROC-AUC 0.812". */
export function describeModel(m: RunNotice['model']): string {
  const auc = m.rocAuc !== undefined && Number.isFinite(m.rocAuc) ? `, ROC-AUC ${m.rocAuc.toFixed(3)}` : '';
  return `${m.name} v${m.version} (${m.type})${auc}`;
}

/** The failure reason, or a generic one when the run gave none. */
export function failureText(n: RunNotice): string {
  const given = n.failureReason?.trim();
  if (given) return given;
  return n.status === 'budget_exceeded'
    ? `${formatFraction(n.counts.skippedPct)} of stocks were skipped, over the error budget`
    : 'no reason was recorded';
}

/**
 * The one-line summary: the email subject and the Slack notification text.
 *   stockflow 2025-11-14: 10,856 scored, 423 predicted UC, 127 HIGH
 *   stockflow 2025-11-14: ERROR BUDGET EXCEEDED, 9,000 scored, 400 predicted UC, 120 HIGH
 *   stockflow 2025-11-14: FAILED - market data for 2025-11-13 is missing
 */
export function headline(n: RunNotice): string {
  const head = `stockflow ${n.predictionDate}: `;
  const counts = `${formatCount(n.counts.processed)} scored, ${formatCount(n.counts.predictedUc)} predicted UC, ${formatCount(n.counts.high)} HIGH`;
  if (n.status === 'succeeded') return head + counts;
  if (n.status === 'budget_exceeded') return `${head}ERROR BUDGET EXCEEDED, ${counts}`;
  return `${head}FAILED - ${oneLine(failureText(n), 160)}`;
}

/** "Top 20 of 2025-11-07: 6 hit the upper circuit (30.0%) vs base rate 4.1%; rolling precision@20 25.0% over 3 dates", or undefined. */
export function scorecardText(n: RunNotice): string | undefined {
  const s = n.scorecard;
  if (!s) return undefined;
  return (
    `Top ${s.top} of ${s.date} (v${s.model_version}): ${s.top_hits} hit the upper circuit (${formatFraction(s.top_precision)}) vs base rate ${formatFraction(s.base_rate)}; ` +
    `rolling precision@20 ${formatFraction(s.rolling_precision)} over ${s.window_dates} date${s.window_dates === 1 ? '' : 's'}`
  );
}

/** "Significant input shift (PSI > 0.25): dist_52w_high 0.412, score 0.301", or undefined when there is none. */
export function driftText(n: RunNotice): string | undefined {
  const d = n.drift;
  if (!d || d.significant.length === 0) return undefined;
  return `Significant input shift (PSI > ${d.threshold}): ${d.significant.map((x) => `${x.name} ${x.psi.toFixed(3)}`).join(', ')}: the model sees inputs unlike those it learned from (docs/monitoring.md)`;
}
