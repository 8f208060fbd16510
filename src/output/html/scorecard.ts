/** The scorecard: the latest judged date's figures, top-20 hits against the base rate over recent dates, and calibration. */
import { scorecardLines } from '../report.js';
import { calibrationSpec, scorecardSpec } from './charts.js';
import { escapeHtml as e, int, pct1 } from './escape.js';
import type { HtmlReportModel } from './model.js';
import { figure } from './svg.js';

export async function scorecardSection(r: HtmlReportModel): Promise<string> {
  const lines = scorecardLines(r.scorecard).slice(1);
  const parts = [`<ul>${lines.map((l) => `<li>${e(l.replace(/^- /, ''))}</li>`).join('')}</ul>`];
  const h = r.history;
  if (h && h.points.length > 0) {
    const last = h.points[h.points.length - 1];
    const mean = h.points.reduce((a, p) => a + p.precision, 0) / h.points.length;
    parts.push(
      await figure(
        scorecardSpec(h.points),
        `Top-20 hit rate against the base rate, ${h.points.length} dates`,
        `Model v${h.model_version}, ${h.points.length} judged date${h.points.length === 1 ? '' : 's'} from ${h.points[0].date} to ${last.date}: mean top-20 hit rate ${pct1(mean)}; on ${last.date} ${pct1(last.precision)} against a base rate of ${pct1(last.base_rate)}.`,
      ),
    );
  }
  if (h && h.calibration.length > 0) {
    const worst = h.calibration.reduce((a, b) => (Math.abs(b.observed - b.mean_predicted) > Math.abs(a.observed - a.mean_predicted) ? b : a));
    parts.push(
      await figure(
        calibrationSpec(h.calibration),
        'Calibration: predicted probability against observed hit rate',
        `${int(h.rows)} judged predictions in ${h.calibration.length} probability bins; the largest gap is at a mean predicted ${worst.mean_predicted.toFixed(2)}, observed ${worst.observed.toFixed(2)}. Points on the dashed diagonal are perfectly calibrated.`,
      ),
    );
  }
  return `<section id="scorecard" aria-labelledby="h-scorecard">
<h2 id="h-scorecard">Scorecard</h2>
${parts.join('\n')}
</section>`;
}
