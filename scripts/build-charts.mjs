// Bundles the report's chart renderer (dist/src/output/html/vega-render.js, compiled by tsc) into one
// ES module in place, with scripts/vega-slim.mjs as `vega` (see src/output/html/vega-render.ts): the
// batch's calling thread then loads one file instead of ~150 modules of Vega, Vega-Lite and d3.
// `canvas` (an optional peer of vega-canvas, not installed) stays an import resolved at run time, as
// it was unbundled.
import { build } from 'esbuild';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.join(root, 'dist', 'src', 'output', 'html', 'vega-render.js');
if (!existsSync(file)) throw new Error(`${file} is missing: run tsc first (npm run build)`);
const slim = path.join(root, 'scripts', 'vega-slim.mjs');
await build({
  entryPoints: [file],
  outfile: file,
  allowOverwrite: true,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: ['node20'],
  external: ['canvas'],
  plugins: [{ name: 'vega-slim', setup: (b) => b.onResolve({ filter: /^vega$/ }, () => ({ path: slim })) }],
  minify: false,
  sourcemap: false,
  legalComments: 'eof',
  logLevel: 'warning',
});
// tsc's source map described the unbundled file.
rmSync(`${file}.map`, { force: true });
