/** The stage timings (the text report's PERFORMANCE section). */
import { formatDuration } from '../../util/format.js';
import { escapeHtml as e } from './escape.js';
import type { HtmlReportModel } from './model.js';

export function timingsSection(r: HtmlReportModel): string {
  const total = r.stages.reduce((a, s) => a + s.ms, 0);
  const rows = r.stages.map((s) => {
    const share = total > 0 ? (100 * s.ms) / total : 0;
    return `<tr><th scope="row">${e(s.name)}</th><td class="num">${e(formatDuration(s.ms))}</td><td class="prob"><span class="bar" style="width:${share.toFixed(1)}%"></span><span class="val">${share.toFixed(0)}%</span></td></tr>`;
  });
  const throughput = (r.counts.universe / Math.max(total / 1000, 1e-3)).toFixed(1);
  return `<section id="timings" aria-labelledby="h-timings">
<h2 id="h-timings">Timings</h2>
<table><thead><tr><th scope="col">Stage</th><th scope="col">Time</th><th scope="col">Share</th></tr></thead><tbody>${rows.join('')}</tbody></table>
<p>Throughput: ${throughput} stocks/second.</p>
</section>`;
}
