/** Skipped stocks by reason. */
import { escapeHtml as e, int, pctOf } from './escape.js';
import type { HtmlReportModel } from './model.js';

export function skippedSection(r: HtmlReportModel): string {
  const reasons = Object.entries(r.skippedByReason).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const body =
    reasons.length === 0
      ? '<p>No stock was skipped.</p>'
      : `<table><thead><tr><th scope="col">Reason</th><th scope="col">Stocks</th><th scope="col">Share of universe</th></tr></thead><tbody>${reasons
          .map(([k, n]) => `<tr><td>${e(k)}</td><td class="num">${int(n)}</td><td class="num">${pctOf(n, r.counts.universe)}</td></tr>`)
          .join('')}</tbody></table>`;
  return `<section id="skipped" aria-labelledby="h-skipped">
<h2 id="h-skipped">Skipped stocks</h2>
${body}
</section>`;
}
