/** The drift table (given by the monitoring stage): one row per feature, worst first. */
import { escapeHtml as e } from './escape.js';
import type { DriftSection } from './model.js';

const num = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : x.toFixed(4));

export function driftSection(d: DriftSection | undefined): string {
  if (!d) return '';
  const rows = [...d.rows].sort((a, b) => b.psi - a.psi || (a.feature < b.feature ? -1 : 1));
  const medians = rows.some((r) => r.current_median != null || r.reference_median != null);
  const mh = medians ? '<th scope="col">Median today</th><th scope="col">Reference median</th>' : '';
  const md = (r: (typeof rows)[number]): string => (medians ? `<td class="num">${num(r.current_median)}</td><td class="num">${num(r.reference_median)}</td>` : '');
  return `<section id="drift" aria-labelledby="h-drift">
<h2 id="h-drift">Feature drift</h2>
<p class="note">Against ${e(d.reference)}.</p>
<div class="scroll"><table><thead><tr><th scope="col">Feature</th><th scope="col">PSI</th><th scope="col">Level</th>${mh}</tr></thead>
<tbody>${rows.map((r) => `<tr><td>${e(r.feature)}</td><td class="num">${r.psi.toFixed(3)}</td><td><span class="lvl ${e(r.level.toLowerCase())}">${e(r.level)}</span></td>${md(r)}</tr>`).join('\n')}</tbody></table></div>
</section>`;
}
