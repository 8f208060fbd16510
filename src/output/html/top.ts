/** The top 20: rank, codes, name, a probability bar, confidence and the two strongest drivers. */
import { REPORT_DRIVERS, arrow, signed } from '../drivers.js';
import { escapeHtml as e } from './escape.js';
import type { HtmlReportModel } from './model.js';

export const TOP_N = 20;

export function topSection(r: HtmlReportModel): string {
  const why = r.explanationsUnavailable === undefined;
  const rows = r.ranked.slice(0, TOP_N).map((p, i) => {
    const pc = (100 * p.probability).toFixed(1);
    const drivers = (p.drivers ?? []).slice(0, REPORT_DRIVERS);
    const whyCell = drivers.length === 0 ? '-' : drivers.map((d) => `<span class="drv ${d.contribution > 0 ? 'up' : 'down'}" title="${e(signed(d.contribution))} log-odds">${e(d.feature)} ${arrow(d.contribution)}</span>`).join(' ');
    return `<tr><td class="num">${i + 1}</td><td>${e(p.bse_code)}</td><td>${e(p.nse_symbol ?? '-')}</td><td>${e(p.company_name)}</td>` +
      `<td class="prob"><span class="bar" style="width:${pc}%"></span><span class="val">${p.probability.toFixed(2)}</span></td>` +
      `<td><span class="conf ${p.confidence.toLowerCase()}">${e(p.confidence)}</span></td>${why ? `<td>${whyCell}</td>` : ''}</tr>`;
  });
  return `<section id="top" aria-labelledby="h-top">
<h2 id="h-top">Top ${TOP_N} predictions</h2>
${why ? '' : `<p class="note">Explanations unavailable: ${e(r.explanationsUnavailable ?? '')}</p>`}
<div class="scroll"><table class="top"><thead><tr><th scope="col">Rank</th><th scope="col">BSE code</th><th scope="col">NSE symbol</th><th scope="col">Company</th><th scope="col">Probability</th><th scope="col">Confidence</th>${why ? '<th scope="col">Why</th>' : ''}</tr></thead>
<tbody>${rows.length > 0 ? rows.join('\n') : `<tr><td colspan="${why ? 7 : 6}">(no stocks scored)</td></tr>`}</tbody></table></div>
</section>`;
}
