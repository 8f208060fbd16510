/**
 * The HTML report (`report_{date}.html` beside the text report): one
 * self-contained file, inline CSS and inline SVG charts drawn server-side
 * from the Vega-Lite specs of ./charts.ts; no script, and nothing the page
 * loads from anywhere (it opens from an email or a file share offline).
 */
import { challengerSection } from './challenger.js';
import { driftSection } from './drift.js';
import { challengerSectionOf, driftSectionOf } from './monitoring.js';
import { escapeHtml as e } from './escape.js';
import { histogramSection } from './histogram.js';
import type { HtmlReportModel } from './model.js';
import { scorecardSection } from './scorecard.js';
import { skippedSection } from './skipped.js';
import { REPORT_CSS } from './style.js';
import { summarySection } from './summary.js';
import { timingsSection } from './timings.js';
import { topSection } from './top.js';

export type { HtmlReportModel, ScorecardHistory, DriftSection, DriftRow, ChallengerSection } from './model.js';

/** The page's Content-Security-Policy: nothing may load, and no script may run. */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

export async function renderHtmlReport(r: HtmlReportModel): Promise<string> {
  const sections = [
    summarySection(r),
    topSection(r),
    await histogramSection(r),
    await scorecardSection(r),
    driftSection(r.drift ?? driftSectionOf(r.monitor)),
    challengerSection(r.challenger ?? challengerSectionOf(r.monitor)),
    skippedSection(r),
    timingsSection(r),
  ].filter((s) => s.length > 0);
  const title = `stockflow ${r.date}${r.subset !== undefined ? ' (subset)' : ''}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<title>${e(title)}: batch prediction report</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header><h1>Batch prediction report: ${e(r.date)}</h1><p>${e(r.status)} · model ${e(r.model.name)} v${e(r.model.version)}</p></header>
${sections.join('\n')}
<footer>stockflow · upper-circuit predictions for ${e(r.date)}</footer>
</main>
</body>
</html>
`;
}
