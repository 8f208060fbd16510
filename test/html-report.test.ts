/**
 * The HTML report (issue 17): one self-contained page (no script, nothing
 * loaded from anywhere), the sections of the text report, charts drawn to
 * SVG server-side with text alternatives, and the drift and challenger
 * sections rendered only when given. Expectations are written by hand from
 * the model built here.
 */
import { describe, expect, it } from 'vitest';
import { renderHtmlReport, type HtmlReportModel } from '../src/output/html/index.js';
import { assertSelfContained } from '../src/output/html/svg.js';
import { histogramBins, waterfallSteps } from '../src/output/html/charts.js';
import type { Prediction } from '../src/output/types.js';

function prediction(i: number, p: number): Prediction {
  return {
    bse_code: String(500000 + i),
    nse_symbol: i === 3 ? null : `SYM${i}`,
    company_name: i === 1 ? 'Tata <Steel> & "Sons"' : `Company ${i}`,
    market_cap_cr: 100 + i,
    probability: p,
    label: p >= 0.5 ? 1 : 0,
    confidence: p >= 0.45 && p < 0.55 ? 'LOW' : p >= 0.7 || p <= 0.3 ? 'HIGH' : 'MEDIUM',
    drivers: [
      { feature: 'volume_dry_up', value: 0.2, contribution: 0.41 },
      { feature: 'days_to_earnings', value: 3, contribution: -0.12 },
      { feature: 'rsi_14', value: 55, contribution: 0.01 },
    ],
  };
}

// 30 stocks: probabilities 0.95, 0.92, … (step 0.03) down to 0.08.
const ranked = Array.from({ length: 30 }, (_, i) => prediction(i + 1, Math.round((0.95 - 0.03 * i) * 100) / 100));

function model(extra: Partial<HtmlReportModel> = {}): HtmlReportModel {
  return {
    date: '2025-11-14',
    asOf: '2025-11-13',
    status: 'SUCCEEDED',
    model: { name: 'upper-circuit', version: '1.0.0', type: 'gbdt', metricName: 'ROC-AUC', metricValue: 0.71 },
    featureSetVersion: 'v1',
    durationMs: 4200,
    counts: { universe: 33, processed: 30, skipped: 3, predictedUc: 15, high: 9, medium: 4, low: 2 },
    skippedByReason: { INSUFFICIENT_HISTORY: 2, NO_PRICE_DATA: 1 },
    ranked,
    stages: [
      { name: 'Planning', ms: 10 },
      { name: 'Feature Extraction', ms: 300 },
    ],
    outputs: { database: '/d/predictions.db', dbRows: 30, csv: '/d/predictions/predictions_2025-11-14.csv', csvRows: 30, skippedCsv: '/d/predictions/skipped_stocks_2025-11-14.csv', skippedRows: 3 },
    maxErrorRate: 0.05,
    explanationBasis: 'node covers recorded with the model',
    scorecard: {
      date: '2025-11-07',
      model_version: '1.0.0',
      top: 20,
      top_hits: 4,
      top_precision: 0.2,
      base_rate: 0.05,
      rows: 30,
      rolling_precision: 0.15,
      window_dates: 2,
      window_from: '2025-11-06',
      window_to: '2025-11-07',
    },
    history: {
      model_version: '1.0.0',
      points: [
        { date: '2025-11-06', precision: 0.1, base_rate: 0.04 },
        { date: '2025-11-07', precision: 0.2, base_rate: 0.05 },
      ],
      calibration: [
        { mean_predicted: 0.1, observed: 0.05, rows: 20 },
        { mean_predicted: 0.8, observed: 0.4, rows: 10 },
      ],
      rows: 30,
    },
    ...extra,
  };
}

const sectionOf = (html: string, id: string): string => {
  const m = new RegExp(`<section id="${id}"[\\s\\S]*?</section>`).exec(html);
  if (!m) throw new Error(`no section ${id}`);
  return m[0];
};

describe('the HTML report', () => {
  it('is one self-contained page: no script, no link, nothing fetched, a CSP that forbids loading', async () => {
    const html = await renderHtmlReport(model());
    expect(html).not.toMatch(/<script\b/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/\bsrc\s*=/i);
    expect(html).not.toMatch(/@import|url\(/i);
    // The only URLs in the page are the SVG namespace identifiers.
    const urls = html.match(/https?:\/\/[^\s"')]+/g) ?? [];
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).toContain('<style>');
  });

  it('has the summary of the text report', async () => {
    const s = sectionOf(await renderHtmlReport(model()), 'summary');
    expect(s).toContain('2025-11-13 (features use data before 2025-11-14)');
    expect(s).toContain('gbdt v1.0.0 (ROC-AUC: 0.710) [upper-circuit, feature set v1]');
    expect(s).toMatch(/Stocks processed<\/th><td class="num">30 of 33 active/);
    expect(s).toMatch(/Stocks skipped<\/th><td class="num">3<\/td><td class="num">9\.1% \(budget 5\.0%\)/);
    expect(s).toMatch(/Predicted upper circuit<\/th><td class="num">15<\/td><td class="num">50\.0%/);
  });

  it('lists the top 20 in order with a probability bar, confidence and the two strongest drivers, escaping text', async () => {
    const s = sectionOf(await renderHtmlReport(model()), 'top');
    const rows = s.match(/<tr><td class="num">\d+<\/td>.*?<\/tr>/g) ?? [];
    expect(rows).toHaveLength(20);
    rows.forEach((r, i) => {
      expect(r).toContain(`<td class="num">${i + 1}</td><td>${500001 + i}</td>`);
      const p = Math.round((0.95 - 0.03 * i) * 100) / 100;
      expect(r).toContain(`style="width:${(100 * p).toFixed(1)}%"`);
      expect(r).toContain(`<span class="val">${p.toFixed(2)}</span>`);
      expect(r).toContain('volume_dry_up ↑');
      expect(r).toContain('days_to_earnings ↓');
      expect(r).not.toContain('rsi_14');
    });
    expect(rows[0]).toContain('Tata &lt;Steel&gt; &amp; &quot;Sons&quot;');
    expect(rows[2]).toContain('<td>-</td>');
    expect(rows[0]).toContain('<span class="conf high">HIGH</span>');
    expect(s).not.toContain('500021');
  });

  it('says why there is no "Why" column when the run could not explain', async () => {
    const s = sectionOf(await renderHtmlReport(model({ explanationsUnavailable: 'no node covers and no background', explanationBasis: undefined })), 'top');
    expect(s).toContain('Explanations unavailable: no node covers and no background');
    expect(s).not.toContain('>Why<');
  });

  it('draws the histogram, scorecard and calibration as inline SVG with text alternatives', async () => {
    const html = await renderHtmlReport(model());
    const figures = html.match(/<figure class="chart" role="img" aria-label="[^"]+"><svg [\s\S]*?<\/svg><figcaption>[^<]+<\/figcaption><\/figure>/g) ?? [];
    expect(figures).toHaveLength(3);
    const hist = sectionOf(html, 'distribution');
    // 16 of the 30 probabilities are ≥ 0.5 (0.95 … 0.50); the median (15th smallest of 0.08 … 0.95) is 0.50.
    expect(hist).toContain('30 probabilities in 20 bins of 0.05; 16 at or above the 0.5 decision threshold; median 0.500');
    // One bar per non-empty bin: 0.08 … 0.95 in steps of 0.03 leave only [0, 0.05) empty, so 19 bars.
    expect(hist.match(/aria-roledescription="bar"/g)).toHaveLength(19);
    expect(hist).toContain('aria-label="probability: 0.85 – 0.9; stocks: 2"');
    // The five marked thresholds, the decision one in red.
    expect(hist.match(/aria-roledescription="rule mark"/g)).toHaveLength(5);
    expect(hist).toMatch(/aria-label="x: 0\.5"[^>]*stroke="#d62728"/);
    const sc = sectionOf(html, 'scorecard');
    expect(sc).toContain('Top 20: 4 hit the upper circuit (20.0%) vs base rate 5.0% (4.0x)');
    expect(sc).toContain('2 judged dates from 2025-11-06 to 2025-11-07: mean top-20 hit rate 15.0%; on 2025-11-07 20.0% against a base rate of 5.0%');
    expect(sc).toContain('the largest gap is at a mean predicted 0.80, observed 0.40');
    for (const f of figures) expect(() => assertSelfContained(f)).not.toThrow();
  });

  it('renders no drift or challenger section unless given, and both when given', async () => {
    const plain = await renderHtmlReport(model());
    expect(plain).not.toContain('id="drift"');
    expect(plain).not.toContain('id="challenger"');
    const html = await renderHtmlReport(
      model({
        drift: {
          reference: 'the training window 2024-01-01 to 2025-06-30',
          rows: [
            { feature: 'rsi_14', psi: 0.05, level: 'stable', current_median: 51.2, reference_median: 50 },
            { feature: 'volume_dry_up', psi: 0.31, level: 'significant', current_median: 0.4, reference_median: 0.2 },
          ],
        },
        challenger: {
          champion: { name: 'upper-circuit', version: '1.0.0' },
          challenger: { name: 'upper-circuit', version: '1.1.0' },
          metrics: [
            { name: 'precision@20', champion: 0.2, challenger: 0.25, format: 'pct' },
            { name: 'ROC-AUC', champion: 0.71, challenger: null },
          ],
          note: 'scored on the same 30 rows',
        },
      }),
    );
    const d = sectionOf(html, 'drift');
    expect(d.indexOf('volume_dry_up')).toBeLessThan(d.indexOf('rsi_14'));
    expect(d).toContain('<td class="num">0.310</td><td><span class="lvl significant">significant</span></td><td class="num">0.4000</td><td class="num">0.2000</td>');
    const c = sectionOf(html, 'challenger');
    expect(c).toContain('Challenger upper-circuit v1.1.0');
    expect(c).toContain('<th scope="row">precision@20</th><td class="num">20.0%</td><td class="num">25.0%</td>');
    expect(c).toContain('<th scope="row">ROC-AUC</th><td class="num">0.710</td><td class="num">-</td>');
  });

  it("renders the batch monitor stage's drift report and comparison (the text report's data) as the two sections", async () => {
    const bin = { lower: null, upper: null, expected: 1, actual: 1 };
    const subject = (name: string, psi: number, level: 'stable' | 'moderate' | 'significant', kind: 'feature' | 'score' = 'feature') => ({
      name,
      kind,
      psi,
      level,
      bins: [bin],
      missing_expected: 0,
      missing_actual: 0,
    });
    const html = await renderHtmlReport(
      model({
        monitor: {
          drift: {
            model_name: 'upper-circuit',
            model_version: '1.0.0',
            reference_source: 'training',
            reference_rows: 127404,
            reference_from: '2024-01-01',
            reference_to: '2025-06-30',
            rows: 33,
            thresholds: { moderate: 0.1, significant: 0.25 },
            floor: 1e-4,
            features: [subject('rsi_14', 0.02, 'stable'), subject('days_to_earnings', 4.46, 'significant'), subject('ret_5d', 0.12, 'moderate')],
            score: subject('score', 0.05, 'stable', 'score'),
          },
          challenger: {
            champion: { name: 'upper-circuit', version: '1.0.0' },
            challenger: { name: 'upper-circuit', version: '1.1.0' },
            rows: 33,
            top: 20,
            top_overlap: 17,
            spearman: 0.912345,
            label_differs: 4,
            challenger_positive: 9,
            champion_positive: 7,
            challenger_only_top: ['500003', '500009', '500010'],
          },
        },
      }),
    );
    const d = sectionOf(html, 'drift');
    // Worst first: days_to_earnings 4.460, ret_5d 0.120, score 0.050, rsi_14 0.020; no median columns without medians.
    const order = ['days_to_earnings', 'ret_5d', 'score (the probability)', 'rsi_14'].map((f) => d.indexOf(`<td>${f}</td>`));
    expect(order.every((x, i) => x > 0 && (i === 0 || x > order[i - 1]))).toBe(true);
    expect(d).toContain('<td>days_to_earnings</td><td class="num">4.460</td><td><span class="lvl significant">significant</span></td></tr>');
    expect(d).toContain('127,404 rows (2024-01-01 to 2025-06-30); 33 stocks today; stable &lt; 0.1, moderate 0.1 to 0.25, significant &gt; 0.25');
    expect(d).not.toContain('Median today');
    const c = sectionOf(html, 'challenger');
    expect(c).toContain('<th scope="row">Predicted upper circuits</th><td class="num">7</td><td class="num">9</td>');
    expect(c).toContain('<th scope="row">Top 20 overlap (stocks in both)</th><td class="num">17</td><td class="num">17</td>');
    expect(c).toContain("Spearman rank correlation 0.912 over 33 stocks both scored; the predicted label differs for 4; only in the challenger&#39;s top 20: 500003, 500009, 500010.");
  });

  it('lists skipped stocks by reason and the stage timings', async () => {
    const html = await renderHtmlReport(model());
    const s = sectionOf(html, 'skipped');
    expect(s.indexOf('INSUFFICIENT_HISTORY')).toBeLessThan(s.indexOf('NO_PRICE_DATA'));
    expect(s).toContain('<td>INSUFFICIENT_HISTORY</td><td class="num">2</td><td class="num">6.1%</td>');
    const t = sectionOf(html, 'timings');
    expect(t).toMatch(/Feature Extraction<\/th><td class="num">[^<]+<\/td><td class="prob"><span class="bar" style="width:96\.8%"/);
    expect(t).toContain('Throughput: 106.5 stocks/second.');
  });

  it('shows no scorecard chart before any outcome is known', async () => {
    const s = sectionOf(await renderHtmlReport(model({ scorecard: undefined, history: undefined })), 'scorecard');
    expect(s).toContain('no outcome known yet');
    expect(s).not.toContain('<svg');
  });
});

describe('chart safety and the waterfall', () => {
  it('refuses SVG that would load something', () => {
    expect(() => assertSelfContained('<svg xmlns="http://www.w3.org/2000/svg"><image href="http://x/y.png"/></svg>')).toThrow(/outside resource/);
    expect(() => assertSelfContained('<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(http://x)"/></svg>')).toThrow(/outside resource/);
    expect(() => assertSelfContained('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><rect/></svg>')).not.toThrow();
  });

  it('bins probabilities by 0.05, [lower, upper), exactly at the edges, 1 in the last bin, empty bins left out', () => {
    expect(histogramBins([0, 0.049999, 0.05, 0.15, 0.15, 0.199999, 0.5, 0.999999, 1])).toEqual([
      { start: 0, end: 0.05, count: 2 },
      { start: 0.05, end: 0.1, count: 1 },
      { start: 0.15, end: 0.2, count: 3 },
      { start: 0.5, end: 0.55, count: 1 },
      { start: 0.95, end: 1, count: 2 },
    ]);
  });

  it('steps from the base value through each contribution to the margin, with the rest as "other features"', () => {
    const s = waterfallSteps(-2, -0.5, [
      { feature: 'a', contribution: 1 },
      { feature: 'b', contribution: -0.25 },
    ]);
    expect(s).toEqual([
      { label: 'base value', start: 0, end: -2, kind: 'base' },
      { label: 'a', start: -2, end: -1, kind: 'up' },
      { label: 'b', start: -1, end: -1.25, kind: 'down' },
      { label: 'other features', start: -1.25, end: -0.5, kind: 'up' },
      { label: 'margin (log-odds)', start: 0, end: -0.5, kind: 'total' },
    ]);
  });
});
