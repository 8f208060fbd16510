/** The summary section: the text report's header and SUMMARY lines, as a definition list and a table. */
import path from 'node:path';
import { formatDuration } from '../../util/format.js';
import { escapeHtml as e, int, pctOf } from './escape.js';
import type { HtmlReportModel } from './model.js';

export function summarySection(r: HtmlReportModel): string {
  const c = r.counts;
  const metric = r.model.metricName && r.model.metricValue !== undefined ? ` (${r.model.metricName}: ${r.model.metricValue.toFixed(3)})` : '';
  const facts: [string, string][] = [['Date', r.date]];
  if (r.asOf !== r.date) facts.push(['As-of session', `${r.asOf} (features use data before ${r.date})`]);
  facts.push(
    ['Model', `${r.model.type} v${r.model.version}${metric} [${r.model.name}, feature set ${r.featureSetVersion}]`],
    ['Duration', formatDuration(r.durationMs)],
    ['Status', r.status],
  );
  if (r.explanationsUnavailable === undefined && r.explanationBasis !== undefined) facts.push(['Explanations', `exact TreeSHAP in log-odds (${r.explanationBasis})`]);
  if (r.subset !== undefined) facts.push(['Scope', `SUBSET (${r.subset}): not the whole date; the date's stored predictions and files are unchanged`]);
  if (r.notPublished !== undefined) facts.push(['Published', `no (${r.notPublished})`]);
  const rows: [string, string, string][] = [
    ['Stocks processed', `${int(c.processed)} of ${int(c.universe)} active`, ''],
    ['Stocks skipped', int(c.skipped), `${pctOf(c.skipped, c.universe)} (budget ${(100 * r.maxErrorRate).toFixed(1)}%)`],
    ['Predicted upper circuit', int(c.predictedUc), pctOf(c.predictedUc, c.processed)],
    ['High confidence', int(c.high), pctOf(c.high, c.processed)],
    ['Medium confidence', int(c.medium), pctOf(c.medium, c.processed)],
    ['Low confidence', int(c.low), pctOf(c.low, c.processed)],
  ];
  const failed = r.status !== 'SUCCEEDED';
  return `<section id="summary" aria-labelledby="h-summary">
<h2 id="h-summary">Summary</h2>
<dl class="facts">${facts.map(([k, v]) => `<dt>${e(k)}</dt><dd${k === 'Status' && failed ? ' class="bad"' : ''}>${e(v)}</dd>`).join('')}</dl>
<table class="counts"><tbody>${rows.map(([k, n, p]) => `<tr><th scope="row">${e(k)}</th><td class="num">${e(n)}</td><td class="num">${e(p)}</td></tr>`).join('')}</tbody></table>
<p class="files">Files: ${e(path.basename(r.outputs.csv))} (${int(r.outputs.csvRows)} rows), ${e(path.basename(r.outputs.skippedCsv))} (${int(r.outputs.skippedRows)} rows), ${
    r.notPublished === undefined ? `${e(path.basename(r.outputs.database))} (${int(r.outputs.dbRows)} rows inserted)` : `${e(path.basename(r.outputs.database))} (run recorded in batch_runs only)`
  }</p>
</section>`;
}
