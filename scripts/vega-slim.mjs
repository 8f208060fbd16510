// The part of `vega` the HTML report's charts use, standing in for `vega` in the Node bundle of
// src/output/html/vega-render.ts (scripts/build-charts.mjs). Same registrations as vega's own entry
// (build/vega.module.js), minus the transform packages the charts never use (geo, force, hierarchy,
// label, regression, voronoi, wordcloud, crossfilter: a spec that used one would fail to parse with
// "Unrecognized transform type", not draw differently). vega-lite imports four helpers of vega-util
// from `vega`: the re-export of vega-util covers them.
import { extend } from 'vega-util';
import { transforms } from 'vega-dataflow';
import * as tx from 'vega-transforms';
import * as vtx from 'vega-view-transforms';
import * as encode from 'vega-encode';

extend(transforms, tx, vtx, encode);

export * from 'vega-util';
export { View } from 'vega-view';
export { parse } from 'vega-parser';
