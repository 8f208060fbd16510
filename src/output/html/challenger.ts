/** The challenger comparison (given by the monitoring stage): champion and challenger figures side by side. */
import { escapeHtml as e, pct1 } from './escape.js';
import type { ChallengerSection } from './model.js';

export function challengerSection(c: ChallengerSection | undefined): string {
  if (!c) return '';
  const f = (x: number | null, kind: 'pct' | 'num' | 'int' | undefined): string =>
    x === null ? '-' : kind === 'pct' ? pct1(x) : kind === 'int' ? x.toLocaleString('en-US') : x.toFixed(3);
  return `<section id="challenger" aria-labelledby="h-challenger">
<h2 id="h-challenger">Champion and challenger</h2>
<table><thead><tr><th scope="col">Figure</th><th scope="col">Champion ${e(c.champion.name)} v${e(c.champion.version)}</th><th scope="col">Challenger ${e(c.challenger.name)} v${e(c.challenger.version)}</th></tr></thead>
<tbody>${c.metrics.map((m) => `<tr><th scope="row">${e(m.name)}</th><td class="num">${f(m.champion, m.format)}</td><td class="num">${f(m.challenger, m.format)}</td></tr>`).join('\n')}</tbody></table>
${c.note ? `<p class="note">${e(c.note)}</p>` : ''}
</section>`;
}
