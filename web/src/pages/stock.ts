/**
 * A stock (#/stock/CODE?date=D): a year of closes with the 50- and
 * 200-session averages and its upper-circuit days, its feature values beside
 * its sector's median, the explanation waterfall for the date, and its
 * prediction history with outcomes where known.
 */
import { priceSpec, waterfallSpec, waterfallSteps } from '../../../src/output/html/charts.js';
import { API, ApiFailure, getJson, type Explained, type Prices, type StockFeatures, type StockHistory } from '../api.js';
import { chartWidth, drawChart, esc, fmtInt, fmtNum, fmtPct } from '../dom.js';

/** Drivers the waterfall shows by name; the rest are summed into "other features". */
const WATERFALL_DRIVERS = 8;

async function orNote<T>(p: Promise<T>): Promise<T | string> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiFailure) return e.message;
    throw e;
  }
}

export async function stockPage(main: HTMLElement, code: string, params: URLSearchParams): Promise<void> {
  const date = params.get('date');
  const q = date ? `?date=${encodeURIComponent(date)}` : '';
  const [prices, explained, features, history] = await Promise.all([
    getJson<Prices>(`${API}/stocks/${code}/prices`),
    orNote(getJson<Explained>(`${API}/predictions/${code}${q ? `${q}&` : '?'}explain=1`)),
    orNote(getJson<StockFeatures>(`${API}/stocks/${code}/features${q}`)),
    getJson<StockHistory>(`${API}/stocks/${code}/history`),
  ]);
  const p = typeof explained === 'string' ? undefined : explained;
  const back = `#/${p ? `?date=${encodeURIComponent(p.prediction_date)}` : ''}`;
  main.innerHTML = `
<p><a href="${back}">← Back to the ranking</a></p>
<h1>${esc(prices.company_name)} <span class="muted">${esc(prices.bse_code)}${prices.nse_symbol ? ` · ${esc(prices.nse_symbol)}` : ''}</span></h1>
<section class="card" aria-labelledby="h-facts"><h2 id="h-facts">Prediction${p ? ` for ${esc(p.prediction_date)}` : ''}</h2>
<dl class="facts">
<dt>Sector</dt><dd>${esc(prices.sector)}</dd>
<dt>Circuit band</dt><dd>${prices.circuit_band_pct === null ? 'no fixed band' : `${prices.circuit_band_pct}%`}</dd>
<dt>Market cap</dt><dd>${prices.market_cap_cr === null ? '-' : `${fmtInt(prices.market_cap_cr)} cr`}</dd>
${p ? `<dt>Probability</dt><dd>${p.probability.toFixed(6)} (label ${p.predicted_label}, ${esc(p.confidence ?? '-')}, model v${esc(p.model_version)})</dd>` : `<dt>Prediction</dt><dd class="note">${esc(String(explained))}</dd>`}
</dl></section>
<section class="card" aria-labelledby="h-price"><h2 id="h-price">Closes, last ${fmtInt(prices.items.length)} sessions</h2><div id="price-chart"></div></section>
<div class="grid2">
<section class="card" aria-labelledby="h-why"><h2 id="h-why">Why: the explanation${p ? ` for ${esc(p.prediction_date)}` : ''}</h2><div id="waterfall"></div></section>
<section class="card" aria-labelledby="h-feat"><h2 id="h-feat">Features beside the sector’s median</h2><div id="features" class="table-wrap"></div></section>
</div>
<section class="card" aria-labelledby="h-hist"><h2 id="h-hist">Prediction history</h2><div id="history" class="table-wrap"></div></section>`;

  const priceHost = main.querySelector<HTMLElement>('#price-chart')!;
  if (prices.items.length === 0) priceHost.innerHTML = '<p class="note">No prices in market.db.</p>';
  else {
    const first = prices.items[0];
    const last = prices.items[prices.items.length - 1];
    const hits = prices.items.filter((x) => x.upper_circuit).map((x) => x.date);
    await drawChart(
      priceHost,
      priceSpec(prices.items, { width: chartWidth(priceHost) }),
      `Closes of ${prices.company_name} from ${first.date} to ${last.date}`,
      `Close from ${first.close.toFixed(2)} on ${first.date} to ${last.close.toFixed(2)} on ${last.date}` +
        (last.sma50 !== null ? `; 50-session average ${last.sma50.toFixed(2)}` : '') +
        (last.sma200 !== null ? `; 200-session average ${last.sma200.toFixed(2)}` : '') +
        `; ${hits.length} upper-circuit day${hits.length === 1 ? '' : 's'}${hits.length > 0 ? ` (${hits.slice(-5).join(', ')}${hits.length > 5 ? ', …' : ''})` : ''}.`,
    );
  }

  const wfHost = main.querySelector<HTMLElement>('#waterfall')!;
  if (p && p.shap_values && p.base_value !== undefined && p.margin !== undefined) {
    const contributions = Object.entries(p.shap_values)
      .map(([feature, contribution]) => ({ feature, contribution }))
      .filter((c) => c.contribution !== 0)
      .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
      .slice(0, WATERFALL_DRIVERS);
    const steps = waterfallSteps(p.base_value, p.margin, contributions);
    const top = contributions.slice(0, 3).map((c) => `${c.feature} ${c.contribution > 0 ? '+' : ''}${c.contribution.toFixed(3)}`);
    await drawChart(
      wfHost,
      waterfallSpec(steps, { width: chartWidth(wfHost, 520) }),
      `Explanation waterfall: from the base value ${p.base_value.toFixed(3)} to the margin ${p.margin.toFixed(3)} (log-odds)`,
      `From the base value ${p.base_value.toFixed(3)} to the margin ${p.margin.toFixed(3)} log-odds (probability ${fmtPct(p.probability)}); strongest: ${top.join(', ') || 'none'}.`,
    );
  } else wfHost.innerHTML = `<p class="note">No explanation: ${esc(typeof explained === 'string' ? explained : 'the model gave none')}</p>`;

  const fHost = main.querySelector<HTMLElement>('#features')!;
  fHost.innerHTML =
    typeof features === 'string'
      ? `<p class="note">${esc(features)}</p>`
      : `<table><caption class="muted">${esc(features.sector)}: median of ${fmtInt(features.sector_stocks)} stocks’ rows of ${esc(features.prediction_date)}</caption>
<thead><tr><th scope="col">Feature</th><th scope="col" class="num">Value</th><th scope="col" class="num">Sector median</th></tr></thead>
<tbody>${features.items.map((f) => `<tr><th scope="row">${esc(f.feature)}</th><td class="num">${fmtNum(f.value)}</td><td class="num">${fmtNum(f.sector_median)}</td></tr>`).join('')}</tbody></table>`;

  const hHost = main.querySelector<HTMLElement>('#history')!;
  hHost.innerHTML =
    history.items.length === 0
      ? '<p class="note">No stored prediction.</p>'
      : `<table><thead><tr><th scope="col">Date</th><th scope="col">Model</th><th scope="col" class="num">Probability</th><th scope="col" class="num">Label</th><th scope="col">Confidence</th><th scope="col">Outcome</th></tr></thead>
<tbody>${history.items
          .map(
            (h) =>
              `<tr><td><a href="#/stock/${esc(code)}?date=${encodeURIComponent(h.prediction_date)}">${esc(h.prediction_date)}</a></td><td>v${esc(h.model_version)}${h.completed_run ? '' : ' <span class="muted">(not the date’s run)</span>'}</td><td class="num">${h.probability.toFixed(6)}</td><td class="num">${h.predicted_label}</td><td>${esc(h.confidence ?? '-')}</td>` +
              `<td>${h.hit === null ? '<span class="muted">not known yet</span>' : h.hit === 1 ? '<span class="hit">hit the upper circuit</span>' : '<span class="miss">no hit</span>'}</td></tr>`,
          )
          .join('')}</tbody></table>`;
}
