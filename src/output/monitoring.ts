/**
 * The report's DRIFT and CHALLENGER sections (docs/monitoring.md), from the
 * plain data of src/model/drift.ts and src/model/compare.ts.
 */
import type { ChallengerComparison } from '../model/compare.js';
import { shifted, type DriftReport } from '../model/drift.js';

/** What the batch's monitor stage hands the report (src/batch/monitor.ts MonitorResult). */
export interface MonitorSections {
  drift?: DriftReport;
  driftNote?: string;
  challenger?: ChallengerComparison;
  challengerNote?: string;
}

const int = (n: number): string => n.toLocaleString('en-US');
const f3 = (x: number): string => x.toFixed(3);

export function driftLines(m: MonitorSections | undefined): string[] {
  const d = m?.drift;
  if (!d) return ['DRIFT:', `(${m?.driftNote ?? 'not computed'})`];
  const t = d.thresholds;
  const range = d.reference_from && d.reference_to ? ` ${d.reference_from} to ${d.reference_to}` : '';
  const lines = [
    `DRIFT (PSI of today's ${int(d.rows)} stocks against model v${d.model_version}'s reference: ${d.reference_source}, ${int(d.reference_rows)} rows${range}):`,
    `- Score: ${f3(d.score.psi)} (${d.score.level})`,
  ];
  const above = shifted(d).filter((x) => x.kind === 'feature');
  if (above.length === 0) {
    const worst = [...d.features].sort((a, b) => b.psi - a.psi)[0];
    lines.push(`- No feature at or above ${t.moderate}: all ${d.features.length} stable${worst ? ` (largest: ${worst.name} ${f3(worst.psi)})` : ''}`);
  } else {
    lines.push(`- Features at or above ${t.moderate}, worst first:`);
    const w = Math.max(...above.map((x) => x.name.length));
    for (const x of above) lines.push(`    ${x.name.padEnd(w)}  ${f3(x.psi)}  ${x.level === 'significant' ? 'SIGNIFICANT' : 'moderate'}`);
  }
  lines.push(`- Levels: stable < ${t.moderate}, moderate ${t.moderate} to ${t.significant}, significant > ${t.significant}`);
  return lines;
}

export function challengerLines(m: MonitorSections | undefined): string[] {
  const c = m?.challenger;
  if (!c) return m?.challengerNote ? ['CHALLENGER:', `(${m.challengerNote})`] : [];
  const lines = [
    `CHALLENGER (${c.challenger.name} v${c.challenger.version} beside champion ${c.champion.name} v${c.champion.version}, ${int(c.rows)} stocks both scored):`,
    `- Top ${c.top} overlap: ${c.top_overlap} of ${c.top}`,
    `- Spearman rank correlation: ${c.spearman === null ? '-' : f3(c.spearman)}`,
    `- Predicted label differs: ${int(c.label_differs)} stocks (upper circuit: champion ${int(c.champion_positive)}, challenger ${int(c.challenger_positive)})`,
  ];
  if (c.challenger_only_top.length > 0) lines.push(`- Only in the challenger's top ${c.top}: ${c.challenger_only_top.join(', ')}`);
  lines.push(
    m?.challengerNote
      ? `- ${m.challengerNote}`
      : `- Its rows are stored under model_version ${c.challenger.version} (API: ?model=${c.challenger.version}); the CSV and the API's default stay the champion's`,
  );
  return lines;
}
