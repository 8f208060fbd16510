/**
 * A Vega-Lite spec drawn to SVG in Node (no browser, no DOM): compile to Vega,
 * run the dataflow headless (renderer 'none'), serialize the scene to SVG.
 * The result is checked to reference nothing outside itself (no href, no
 * url(...) but the SVG namespaces), so the report opens with no connection.
 */
import type { TopLevelSpec } from 'vega-lite';
import { escapeHtml } from './escape.js';

type Renderers = typeof import('./vega-render.js');
let renderers: Promise<Renderers> | undefined;

/**
 * Loads Vega and Vega-Lite (./vega-render.ts: one bundled module once built, ≈ 50 ms of CPU) once,
 * when the first chart is drawn or earlier: the batch calls this as extraction starts, so they load while the workers
 * extract instead of before the run starts (a process that draws no chart never loads them).
 */
export function preloadCharts(): Promise<Renderers> {
  renderers ??= import('./vega-render.js');
  // A failed load is reported by the chart that needs it (renderSvg), not here.
  renderers.catch(() => undefined);
  return renderers;
}

/** The namespace declarations are identifiers, not fetched; anything else that could load a resource is refused. */
const EXTERNAL = /(?:href\s*=|url\s*\(|@import|<image\b|<script\b|<foreignObject\b)/i;

/** Throws when `svg` could make a viewer fetch anything. */
export function assertSelfContained(svg: string): void {
  const stripped = svg.replace(/xmlns(?::\w+)?="[^"]*"/g, '');
  const m = EXTERNAL.exec(stripped);
  if (m) throw new Error(`chart SVG references an outside resource (${m[0]})`);
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { View, parse, compile } = await preloadCharts();
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
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
