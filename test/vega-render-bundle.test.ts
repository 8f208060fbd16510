/**
 * The built chart renderer (dist/src/output/html/vega-render.js: one esbuild bundle with only the
 * Vega transforms the charts use, scripts/build-charts.mjs) draws the same SVG bytes as the whole
 * of `vega` and `vega-lite` imported as packages (the oracle), for every chart spec of the report
 * and the dashboard, on varied data; and it is a bundle: it imports nothing but Node built-ins and
 * the optional `canvas`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { assertCliBuilt } from './helpers/batch-fixture.js';
import {
  calibrationSpec,
  histogramSpec,
  priceSpec,
  scorecardSpec,
  waterfallSpec,
  waterfallSteps,
  type CalibrationPoint,
  type PricePoint,
  type ScorecardPoint,
} from '../src/output/html/charts.js';

const bundleFile = path.resolve(import.meta.dirname, '..', 'dist', 'src', 'output', 'html', 'vega-render.js');
type Renderer = typeof import('../src/output/html/vega-render.js');
let bundle: Renderer;

beforeAll(async () => {
  assertCliBuilt();
  bundle = (await import(pathToFileURL(bundleFile).href)) as Renderer;
});

async function draw(r: Pick<Renderer, 'View' | 'parse' | 'compile'>, spec: TopLevelSpec): Promise<string> {
  const view = new r.View(r.parse(r.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A small deterministic generator, so the data vary without being random between runs. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function specs(seed: number): [string, TopLevelSpec][] {
  const r = lcg(seed);
  const probabilities = Array.from({ length: 500 + seed * 37 }, () => Math.round(r() * 1e6) / 1e6);
  const dates = Array.from({ length: 30 }, (_, i) => new Date(Date.UTC(2025, 9, 1 + i)).toISOString().slice(0, 10));
  const score: ScorecardPoint[] = dates.map((date) => ({ date, precision: r(), base_rate: r() * 0.6 }));
  const calibration: CalibrationPoint[] = Array.from({ length: 10 }, (_, i) => ({ mean_predicted: (i + r()) / 10, observed: r(), rows: 1 + Math.floor(r() * 900) }));
  let close = 100 + r() * 50;
  const prices: PricePoint[] = dates.map((date, i) => {
    close *= 1 + (r() - 0.5) / 20;
    return { date, close, sma50: i < 5 ? null : close * (0.95 + r() / 10), sma200: i < 10 ? null : close * (0.9 + r() / 5), upper_circuit: r() < 0.2 };
  });
  const contributions = Array.from({ length: 8 }, (_, i) => ({ feature: `feature_${i}`, contribution: (r() - 0.5) * 2 }));
  return [
    ['histogram', histogramSpec(probabilities)],
    ['histogram (narrow)', histogramSpec(probabilities.slice(0, 3), { width: 240 })],
    ['histogram (empty)', histogramSpec([])],
    ['scorecard', scorecardSpec(score)],
    ['scorecard (one date)', scorecardSpec(score.slice(0, 1))],
    ['calibration', calibrationSpec(calibration)],
    ['price', priceSpec(prices)],
    ['waterfall', waterfallSpec(waterfallSteps(-0.3, 0.2, contributions))],
  ];
}

describe('the bundled chart renderer', () => {
  for (const seed of [1, 2, 3]) {
    it(`draws the same SVG bytes as vega and vega-lite, every chart (data seed ${seed})`, async () => {
      for (const [name, spec] of specs(seed)) {
        const expected = await draw({ View: vega.View, parse: vega.parse, compile }, spec);
        expect(expected, name).toMatch(/^<svg /);
        expect(await draw(bundle, spec), name).toBe(expected);
      }
    });
  }

  it('is one bundle: no import but Node built-ins and the optional canvas', () => {
    const text = readFileSync(bundleFile, 'utf8');
    const specifiers = [...text.matchAll(/(?:^(?:import|export)\s[^'"]*?from\s*|\bimport\s*\(\s*)["']([^"']+)["']/gm)].map((m) => m[1]);
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((s) => !s.startsWith('node:') && !['fs', 'canvas'].includes(s))).toEqual([]);
    expect(text).not.toMatch(/from\s*["']vega(-[a-z-]+)?["']/);
  });

  it('does not register the transforms the charts never use (a spec with one fails to parse, as documented)', () => {
    const spec = { data: [{ name: 't', values: [], transform: [{ type: 'force' }] }] };
    expect(() => vega.parse(spec as vega.Spec)).not.toThrow();
    expect(() => bundle.parse(spec as never)).toThrow(/force/i);
  });
});
