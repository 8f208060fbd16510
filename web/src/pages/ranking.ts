/**
 * Today's ranked list (#/ or #/?date=D): the latest completed run (a date
 * picker for earlier ones), sortable by any column, filterable by sector,
 * confidence, market-cap range and label, searchable by code, symbol or
 * name; the CSV's columns; a link to the date's CSV.
 */
import { API, getJson, type Ranking, type RankingItem, type RunItem } from '../api.js';
import { announce, esc, fmtInt } from '../dom.js';

type Key = 'rank' | 'bse_code' | 'nse_symbol' | 'company_name' | 'sector' | 'probability' | 'label' | 'confidence' | 'market_cap_cr';
const COLUMNS: { key: Key; title: string; num?: boolean; opt?: boolean; phoneOff?: boolean }[] = [
  { key: 'rank', title: 'Rank', num: true },
  { key: 'bse_code', title: 'BSE code', phoneOff: true },
  { key: 'nse_symbol', title: 'NSE symbol', opt: true },
  { key: 'company_name', title: 'Company' },
  { key: 'sector', title: 'Sector', opt: true },
  { key: 'probability', title: 'Probability', num: true },
  { key: 'label', title: 'Label', num: true, opt: true },
  { key: 'confidence', title: 'Confidence' },
  { key: 'market_cap_cr', title: 'Market cap (cr)', num: true, opt: true },
];
const PAGE = 100;
const CONF_ORDER: Record<string, number> = { HIGH: 0, MEDIUM: 1, LOW: 2 };

interface State {
  sort: Key;
  dir: 1 | -1;
  shown: number;
}

function compare(a: RankingItem, b: RankingItem, key: Key): number {
  const va = key === 'confidence' ? CONF_ORDER[a.confidence ?? ''] ?? 9 : a[key];
  const vb = key === 'confidence' ? CONF_ORDER[b.confidence ?? ''] ?? 9 : b[key];
  if (va === vb) return 0;
  if (va === null || va === undefined) return 1;
  if (vb === null || vb === undefined) return -1;
  return va < vb ? -1 : 1;
}

export async function rankingPage(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const runs = (await getJson<{ items: RunItem[] }>(`${API}/runs`)).items;
  if (runs.length === 0) {
    main.innerHTML = '<h1>Ranking</h1><p class="card">No batch run has completed yet: run <code>stockflow batch</code>.</p>';
    return;
  }
  const date = params.get('date') ?? runs[0].prediction_date;
  const data = await getJson<Ranking>(`${API}/ranking?date=${encodeURIComponent(date)}`);
  const sectors = [...new Set(data.items.map((i) => i.sector).filter((s): s is string => s !== null))].sort();
  const run = runs.find((r) => r.prediction_date === data.prediction_date);
  main.innerHTML = `
<h1>Ranking for ${esc(data.prediction_date)}</h1>
<p class="muted">Model v${esc(data.model_version)}${data.as_of_session ? `, data up to ${esc(data.as_of_session)}` : ''}${run ? `, run ${esc(run.run_id)} (${esc(run.status)})` : ''}: ${fmtInt(data.total)} stocks.</p>
<section class="card" aria-labelledby="h-filter">
<h2 id="h-filter" class="visually-hidden">Date and filters</h2>
<form class="filters" role="search" onsubmit="return false">
  <label>Date<select name="date" id="f-date">${runs.map((r) => `<option value="${esc(r.prediction_date)}"${r.prediction_date === data.prediction_date ? ' selected' : ''}>${esc(r.prediction_date)}</option>`).join('')}</select></label>
  <label>Search<input type="search" name="q" id="f-q" placeholder="code, symbol or name" autocomplete="off"></label>
  <label>Sector<select name="sector" id="f-sector"><option value="">all sectors</option>${sectors.map((s) => `<option>${esc(s)}</option>`).join('')}</select></label>
  <label>Confidence<select name="confidence" id="f-conf"><option value="">any</option><option>HIGH</option><option>MEDIUM</option><option>LOW</option></select></label>
  <label>Label<select name="label" id="f-label"><option value="">any</option><option value="1">1 (upper circuit)</option><option value="0">0</option></select></label>
  <label>Market cap from (cr)<input type="number" name="capmin" id="f-capmin" min="0" step="any"></label>
  <label>to (cr)<input type="number" name="capmax" id="f-capmax" min="0" step="any"></label>
</form>
</section>
<section class="card" aria-labelledby="h-list">
<div class="toolbar"><h2 id="h-list">Predictions</h2><span id="count" class="muted"></span>
<a id="csv" href="${API}/predictions.csv?date=${encodeURIComponent(data.prediction_date)}" download>Download the CSV of ${esc(data.prediction_date)}</a></div>
<div class="table-wrap"><table id="ranking"><caption class="visually-hidden">Predictions of ${esc(data.prediction_date)}; column headers sort</caption>
<thead><tr>${COLUMNS.map((c) => `<th scope="col" data-key="${c.key}" class="${c.num ? 'num' : ''}${c.opt ? ' col-opt' : ''}${c.phoneOff ? ' col-phone-off' : ''}"${c.key === 'rank' ? ' aria-sort="ascending"' : ''}><button type="button" class="sort">${c.title}</button></th>`).join('')}</tr></thead>
<tbody></tbody></table></div>
<p><button type="button" id="more" hidden>Show more</button></p>
</section>`;

  const st: State = { sort: 'rank', dir: 1, shown: PAGE };
  const $ = <T extends HTMLElement>(id: string): T => main.querySelector<T>(`#${id}`)!;
  const tbody = main.querySelector('tbody')!;

  const filtered = (): RankingItem[] => {
    const q = $<HTMLInputElement>('f-q').value.trim().toLowerCase();
    const sector = $<HTMLSelectElement>('f-sector').value;
    const conf = $<HTMLSelectElement>('f-conf').value;
    const label = $<HTMLSelectElement>('f-label').value;
    const min = $<HTMLInputElement>('f-capmin').value;
    const max = $<HTMLInputElement>('f-capmax').value;
    const rows = data.items.filter(
      (r) =>
        (q === '' || r.bse_code.includes(q) || (r.nse_symbol ?? '').toLowerCase().includes(q) || r.company_name.toLowerCase().includes(q)) &&
        (sector === '' || r.sector === sector) &&
        (conf === '' || r.confidence === conf) &&
        (label === '' || String(r.label) === label) &&
        (min === '' || (r.market_cap_cr !== null && r.market_cap_cr >= Number(min))) &&
        (max === '' || (r.market_cap_cr !== null && r.market_cap_cr <= Number(max))),
    );
    return rows.sort((a, b) => st.dir * compare(a, b, st.sort) || a.rank - b.rank);
  };

  const render = (): void => {
    const rows = filtered();
    const link = (r: RankingItem, text: string): string => `<a href="#/stock/${esc(r.bse_code)}?date=${encodeURIComponent(data.prediction_date)}">${esc(text)}</a>`;
    tbody.innerHTML = rows
      .slice(0, st.shown)
      .map(
        (r) =>
          `<tr data-code="${esc(r.bse_code)}"><td class="num">${r.rank}</td><td class="col-phone-off">${link(r, r.bse_code)}</td><td class="col-opt">${esc(r.nse_symbol ?? '-')}</td><td class="name">${link(r, r.company_name)}</td>` +
          `<td class="col-opt">${esc(r.sector ?? '-')}</td><td class="num">${r.probability.toFixed(6)}</td><td class="num col-opt">${r.label}</td>` +
          `<td><span class="conf ${esc(r.confidence ?? '')}">${esc(r.confidence ?? '-')}</span></td><td class="num col-opt">${r.market_cap_cr === null ? '-' : r.market_cap_cr.toFixed(2)}</td></tr>`,
      )
      .join('');
    const more = $<HTMLButtonElement>('more');
    more.hidden = rows.length <= st.shown;
    more.textContent = `Show ${Math.min(PAGE, rows.length - st.shown)} more`;
    const text = `${fmtInt(rows.length)} of ${fmtInt(data.total)} stocks${rows.length > st.shown ? `, first ${fmtInt(st.shown)} shown` : ''}`;
    $('count').textContent = text;
    announce(text);
  };

  main.querySelectorAll<HTMLButtonElement>('th button.sort').forEach((b) =>
    b.addEventListener('click', () => {
      const th = b.parentElement as HTMLTableCellElement;
      const key = th.dataset.key as Key;
      st.dir = st.sort === key ? (-st.dir as 1 | -1) : key === 'probability' || key === 'market_cap_cr' ? -1 : 1;
      st.sort = key;
      main.querySelectorAll('th[aria-sort]').forEach((t) => t.removeAttribute('aria-sort'));
      th.setAttribute('aria-sort', st.dir === 1 ? 'ascending' : 'descending');
      render();
    }),
  );
  for (const id of ['f-q', 'f-sector', 'f-conf', 'f-label', 'f-capmin', 'f-capmax'])
    $(id).addEventListener('input', () => {
      st.shown = PAGE;
      render();
    });
  $('f-date').addEventListener('change', (e) => {
    location.hash = `#/?date=${encodeURIComponent((e.target as HTMLSelectElement).value)}`;
  });
  $('more').addEventListener('click', () => {
    st.shown += PAGE;
    render();
  });
  render();
}
