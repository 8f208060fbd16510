/**
 * The HTML report's drift table and challenger comparison, from what the batch's
 * monitor stage hands the text report (src/output/monitoring.ts MonitorSections):
 * one source for both reports.
 */
import type { MonitorSections } from '../monitoring.js';
import type { ChallengerSection, DriftSection } from './model.js';

/** Every feature and the score, with its PSI and level; undefined when the run computed no drift. */
export function driftSectionOf(m: MonitorSections | undefined): DriftSection | undefined {
  const d = m?.drift;
  if (!d) return undefined;
  const range = d.reference_from && d.reference_to ? ` (${d.reference_from} to ${d.reference_to})` : '';
  const t = d.thresholds;
  return {
    reference: `model v${d.model_version}'s reference: ${d.reference_source}, ${d.reference_rows.toLocaleString('en-US')} rows${range}; ${d.rows.toLocaleString('en-US')} stocks today; stable < ${t.moderate}, moderate ${t.moderate} to ${t.significant}, significant > ${t.significant}`,
    rows: [d.score, ...d.features].map((s) => ({ feature: s.kind === 'score' ? 'score (the probability)' : s.name, psi: s.psi, level: s.level })),
  };
}

/** The two models' figures side by side; undefined when no challenger was scored. */
export function challengerSectionOf(m: MonitorSections | undefined): ChallengerSection | undefined {
  const c = m?.challenger;
  if (!c) return undefined;
  return {
    champion: c.champion,
    challenger: c.challenger,
    metrics: [
      { name: 'Predicted upper circuits', champion: c.champion_positive, challenger: c.challenger_positive, format: 'int' },
      { name: `Top ${c.top} overlap (stocks in both)`, champion: c.top_overlap, challenger: c.top_overlap, format: 'int' },
    ],
    note: [
      `Spearman rank correlation ${c.spearman === null ? '-' : c.spearman.toFixed(3)} over ${c.rows.toLocaleString('en-US')} stocks both scored`,
      `the predicted label differs for ${c.label_differs.toLocaleString('en-US')}`,
      c.challenger_only_top.length > 0 ? `only in the challenger's top ${c.top}: ${c.challenger_only_top.join(', ')}` : '',
    ]
      .filter((x) => x.length > 0)
      .join('; ')
      .concat('.'),
  };
}
