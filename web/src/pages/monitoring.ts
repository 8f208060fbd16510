/**
 * Monitoring (#/monitoring): the scorecard over time, calibration, drift per
 * feature (GET /api/v1/monitoring), model versions and aliases.
 */
import { calibrationSpec, scorecardSpec } from '../../../src/output/html/charts.js';
import { API, ApiFailure, getJson, type Models, type Performance, type PerformanceHistory } from '../api.js';
import { chartWidth, drawChart, esc, fmtInt, fmtPct } from '../dom.js';

const MONITORING = `${API}/monitoring`;

/** GET /api/v1/monitoring (docs/monitoring.md): the latest completed run's PSI per feature and of the score, and its challengers. */
interface Subject {
  name: string;
  kind: 'feature' | 'score';
  psi: number;
  level: 'stable' | 'moderate' | 'significant';
}
interface Monitoring {
  prediction_date: string | null;
  model_version: string | null;
  drift: {
    model_version: string;
    reference_source: string;
    reference_rows: number;
    rows: number;
    thresholds: { moderate: number; significant: number };
    features: Subject[];
    score: Subject;
  } | null;
  challengers: { model_name: string; model_version: string; rows: number; comparison: Record<string, unknown> | null }[];
  note: string | null;
}

/** The drift table (worst first, the score included) and the challengers, as HTML. */
function driftHtml(m: Monitoring): string {
  const d = m.drift;
  if (!d) return `<p class="note">Drift per feature: ${esc(m.note ?? 'not computed for this run')}.</p>`;
  const rows = [d.score, ...d.features].sort((a, b) => b.psi - a.psi || (a.name < b.name ? -1 : 1));
  const t = d.thresholds;
  const table = `<p class="note">${esc(m.prediction_date ?? '')}: ${fmtInt(d.rows)} stocks against model v${esc(d.model_version)}'s reference (${esc(d.reference_source)}, ${fmtInt(
    d.reference_rows,
  )} rows). Stable below ${t.moderate}, moderate ${t.moderate} to ${t.significant}, significant above ${t.significant}.</p>
<div class="table-wrap"><table><thead><tr><th scope="col">Feature</th><th scope="col">PSI</th><th scope="col">Level</th></tr></thead><tbody>${rows
    .map((r) => `<tr><td>${esc(r.kind === 'score' ? 'score (the probability)' : r.name)}</td><td class="num">${r.psi.toFixed(3)}</td><td>${esc(r.level)}</td></tr>`)
    .join('')}</tbody></table></div>`;
  const ch = m.challengers.map((c) => {
    const cmp = c.comparison ?? {};
    const fig = (k: string): string => (typeof cmp[k] === 'number' ? String(Number((cmp[k] as number).toFixed(3))) : '-');
    return `<li>${esc(c.model_name)} v${esc(c.model_version)}: top-20 overlap ${fig('top_overlap')}, Spearman ${fig('spearman')}, labels differ ${fig('label_differs')} (${fmtInt(c.rows)} rows)</li>`;
  });
  return table + (ch.length > 0 ? `<h3>Challengers</h3><ul>${ch.join('')}</ul>` : '');
}

export async function monitoringPage(main: HTMLElement): Promise<void> {
  const [perf, hist, models, monitoring] = await Promise.all([
    getJson<Performance>(`${API}/performance`),
    getJson<PerformanceHistory>(`${API}/performance/history`),
    getJson<Models>(`${API}/models`),
    // 404: no completed run yet, so no drift either (said in the drift section, the rest of the page still drawn).
    getJson<Monitoring>(MONITORING).catch((e: unknown) => {
      if (e instanceof ApiFailure && e.status === 404) return null;
      throw e;
    }),
  ]);
  const s = perf.scorecard;
  main.innerHTML = `
<h1>Monitoring</h1>
<section class="card" aria-labelledby="h-sc"><h2 id="h-sc">Scorecard</h2>
${s ? `<p>On ${esc(s.date)} (model v${esc(s.model_version)}): ${s.top_hits} of the top ${s.top} hit the upper circuit (${fmtPct(s.top_precision)}) against a base rate of ${fmtPct(s.base_rate)}; precision@20 over ${s.window_dates} dates (${esc(s.window_from)} to ${esc(s.window_to)}): ${fmtPct(s.rolling_precision)}.</p>` : `<p class="note">${esc(perf.note ?? '')}</p>`}
<div class="grid2"><div id="sc-chart"></div><div id="cal-chart"></div></div></section>
<section class="card" aria-labelledby="h-drift"><h2 id="h-drift">Drift per feature</h2><div id="drift"></div></section>
<section class="card" aria-labelledby="h-models"><h2 id="h-models">Model versions and aliases</h2>
<p>Serving: <strong>${esc(models.serving ?? 'none')}</strong>; champion: ${esc(models.champion ?? '-')}; challenger: ${esc(models.challenger ?? '-')}.</p>
<div class="table-wrap"><table><thead><tr><th scope="col">Model</th><th scope="col">Type</th><th scope="col">Aliases</th><th scope="col">Trained until</th><th scope="col">Created</th><th scope="col">Usable</th></tr></thead>
<tbody>${models.models
    .map(
      (m) =>
        `<tr><td>${esc(m.ref)}${m.serving ? ' <strong>(serving)</strong>' : ''}</td><td>${esc(m.model_type ?? '-')}</td><td>${esc(m.aliases.join(', ') || '-')}</td><td>${esc(m.trained_until ?? '-')}</td><td>${esc(m.created_at ?? '-')}</td><td>${m.usable ? 'yes' : `<span class="bad">no: ${esc(m.problem ?? '')}</span>`}</td></tr>`,
    )
    .join('')}</tbody></table></div></section>`;

  const h = hist.history;
  const scHost = main.querySelector<HTMLElement>('#sc-chart')!;
  const calHost = main.querySelector<HTMLElement>('#cal-chart')!;
  if (h && h.points.length > 0) {
    const mean = h.points.reduce((a, p) => a + p.precision, 0) / h.points.length;
    await drawChart(
      scHost,
      scorecardSpec(h.points, { width: chartWidth(scHost, 520) }),
      `Top-20 hit rate against the base rate over ${h.points.length} dates`,
      `Model v${h.model_version}, ${h.points.length} judged dates from ${h.points[0].date} to ${h.points[h.points.length - 1].date}: mean top-20 hit rate ${fmtPct(mean)}.`,
    );
    await drawChart(
      calHost,
      calibrationSpec(h.calibration, { width: Math.min(320, chartWidth(calHost, 320)) }),
      'Calibration: predicted probability against observed hit rate',
      `${fmtInt(h.rows)} judged predictions in ${h.calibration.length} probability bins; points on the diagonal are perfectly calibrated.`,
    );
  } else scHost.innerHTML = `<p class="note">${esc(hist.note ?? 'no outcome known yet')}</p>`;

  const dHost = main.querySelector<HTMLElement>('#drift')!;
  dHost.innerHTML = monitoring ? driftHtml(monitoring) : '<p class="note">Drift per feature: no completed batch run yet.</p>';
}
