/**
 * Monitoring (#/monitoring): the scorecard over time, calibration, drift per
 * feature (GET /api/v1/monitoring, when this server has it), model versions and aliases.
 */
import { calibrationSpec, scorecardSpec } from '../../../src/output/html/charts.js';
import { API, getJson, type Models, type Performance, type PerformanceHistory } from '../api.js';
import { chartWidth, drawChart, esc, fmtInt, fmtPct } from '../dom.js';

const MONITORING = `${API}/monitoring`;

/** Whether the server documents GET /api/v1/monitoring (asked of its OpenAPI document, so no request fails). */
async function hasMonitoring(): Promise<boolean> {
  const doc = await getJson<{ paths?: Record<string, unknown> }>('/openapi.json');
  return Object.prototype.hasOwnProperty.call(doc.paths ?? {}, MONITORING);
}

/** Rows of {feature, psi, …} wherever the monitoring answer keeps them. */
function driftRows(body: unknown): Record<string, unknown>[] {
  const seen = [body, (body as { drift?: unknown })?.drift, (body as { drift?: { features?: unknown } })?.drift?.features, (body as { features?: unknown })?.features];
  for (const v of seen) if (Array.isArray(v) && v.every((r) => r && typeof r === 'object' && 'feature' in r)) return v as Record<string, unknown>[];
  return [];
}

export async function monitoringPage(main: HTMLElement): Promise<void> {
  const [perf, hist, models, monitoring] = await Promise.all([
    getJson<Performance>(`${API}/performance`),
    getJson<PerformanceHistory>(`${API}/performance/history`),
    getJson<Models>(`${API}/models`),
    hasMonitoring(),
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
  if (!monitoring) {
    dHost.innerHTML = '<p class="note">Drift per feature: not available (this server has no GET /api/v1/monitoring).</p>';
    return;
  }
  const rows = driftRows(await getJson<unknown>(MONITORING));
  if (rows.length === 0) {
    dHost.innerHTML = '<p class="note">Drift per feature: the monitoring answer holds no feature rows yet.</p>';
    return;
  }
  const cols = Object.keys(rows[0]);
  dHost.innerHTML = `<div class="table-wrap"><table><thead><tr>${cols.map((c) => `<th scope="col">${esc(c)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${cols.map((c) => `<td>${esc(typeof r[c] === 'number' ? Number((r[c] as number).toFixed(4)) : (r[c] as string))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}
