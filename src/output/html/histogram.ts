/** Where today's probabilities sit: a histogram with 0.5 and the confidence edges marked. */
import { CONFIDENCE_EDGES, DECISION_THRESHOLD, histogramSpec } from './charts.js';
import { int } from './escape.js';
import type { HtmlReportModel } from './model.js';
import { figure } from './svg.js';

export async function histogramSection(r: HtmlReportModel): Promise<string> {
  const ps = r.ranked.map((p) => p.probability);
  const above = ps.filter((p) => p >= DECISION_THRESHOLD).length;
  const sorted = [...ps].sort((a, b) => a - b);
  const median = sorted.length > 0 ? sorted[Math.floor((sorted.length - 1) / 2)] : undefined;
  const summary =
    ps.length === 0
      ? 'No stock was scored.'
      : `${int(ps.length)} probabilities in 20 bins of 0.05; ${int(above)} at or above the 0.5 decision threshold; median ${median!.toFixed(3)}; dashed lines at 0.5 (red) and the confidence edges ${CONFIDENCE_EDGES.join(', ')}.`;
  return `<section id="distribution" aria-labelledby="h-dist">
<h2 id="h-dist">Distribution of probabilities</h2>
${await figure(histogramSpec(ps), 'Histogram of today\'s probabilities', summary)}
</section>`;
}
