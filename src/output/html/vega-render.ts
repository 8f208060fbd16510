/**
 * What the report's charts need from Vega and Vega-Lite (./svg.ts): compile a
 * Vega-Lite spec, parse the Vega spec, run it headless in a View.
 *
 * `npm run build` replaces this module's compiled file (dist/.../vega-render.js)
 * with one esbuild bundle (scripts/build-charts.mjs) in which `vega` is the part
 * of Vega these charts use (scripts/vega-slim.mjs: the View, the parser, and the
 * transforms of vega-transforms, vega-view-transforms and vega-encode; not the
 * geo, force, hierarchy, label, regression, voronoi, word-cloud and crossfilter
 * ones). Loading the whole of `vega` and `vega-lite` as ~150 separate modules
 * cost ≈ 400 ms of wall time and ≈ 230 ms of CPU on the calling thread while the
 * workers extract; the bundle loads in ≈ 50 ms of CPU. The SVGs are the same
 * bytes: test/vega-render-bundle.test.ts draws every chart of the report with
 * both and compares.
 */
export { View, parse } from 'vega';
export { compile } from 'vega-lite';
