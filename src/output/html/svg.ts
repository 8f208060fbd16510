/**
 * A Vega-Lite spec drawn to SVG in Node (no browser, no DOM): compile to Vega,
 * run the dataflow headless (renderer 'none'), serialize the scene to SVG.
 * The result is checked to reference nothing outside itself (no href, no
 * url(...) but the SVG namespaces), so the report opens with no connection.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { escapeHtml } from './escape.js';

/** The namespace declarations are identifiers, not fetched; anything else that could load a resource is refused. */
const EXTERNAL = /(?:href\s*=|url\s*\(|@import|<image\b|<script\b|<foreignObject\b)/i;

/** Throws when `svg` could make a viewer fetch anything. */
export function assertSelfContained(svg: string): void {
  const stripped = svg.replace(/xmlns(?::\w+)?="[^"]*"/g, '');
  const m = EXTERNAL.exec(stripped);
  if (m) throw new Error(`chart SVG references an outside resource (${m[0]})`);
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    assertSelfContained(svg);
    return svg;
  } finally {
    view.finalize();
  }
}

/**
 * A chart with its text alternative: role="img", an aria-label, and the
 * summary as a visible caption (the SVG's own marks are hidden from
 * assistive technology, which reads the label and caption instead).
 */
export async function figure(spec: TopLevelSpec, label: string, summary: string): Promise<string> {
  const svg = (await renderSvg(spec)).replace(/^<svg /, '<svg aria-hidden="true" focusable="false" ');
  return `<figure class="chart" role="img" aria-label="${escapeHtml(label)}">${svg}<figcaption>${escapeHtml(summary)}</figcaption></figure>`;
}
