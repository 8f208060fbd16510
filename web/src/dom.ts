/** Small DOM helpers: escaping, number formats, and a chart drawn from a Vega-Lite spec into an accessible figure. */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export function esc(s: string | number | null | undefined): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export const fmtInt = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
export const fmtPct = (x: number): string => `${(100 * x).toFixed(1)}%`;
export const fmtNum = (x: number | null | undefined, d = 4): string => (x === null || x === undefined ? '-' : Number(x.toFixed(d)).toString());

/** Announces a change to screen readers (the page's live region). */
export function announce(text: string): void {
  const s = document.getElementById('status');
  if (s) s.textContent = text;
}

/**
 * Draws `spec` into `host` as an SVG inside a role="img" figure with an
 * aria-label and a visible text summary (the same specs the HTML report draws in Node).
 */
export async function drawChart(host: HTMLElement, spec: TopLevelSpec, label: string, summary: string): Promise<void> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = (await view.toSVG()).replace(/^<svg /, '<svg aria-hidden="true" focusable="false" ');
    host.innerHTML = `<figure class="chart" role="img" aria-label="${esc(label)}">${svg}<figcaption>${esc(summary)}</figcaption></figure>`;
  } finally {
    view.finalize();
  }
}

/** A width for a chart that fits its card (phone or desk). */
export function chartWidth(host: HTMLElement, max = 900): number {
  return Math.max(240, Math.min(max, (host.clientWidth || 600) - 90));
}
