/**
 * The dashboard served at / by `stockflow serve` (README "The dashboard"):
 * hash routes #/ (ranking), #/stock/CODE (a stock), #/monitoring, each page
 * drawn from the server's own JSON API.
 */
import { ApiFailure } from './api.js';
import { announce, esc } from './dom.js';
import { monitoringPage } from './pages/monitoring.js';
import { rankingPage } from './pages/ranking.js';
import { stockPage } from './pages/stock.js';

let generation = 0;

async function route(): Promise<void> {
  const main = document.getElementById('main')!;
  const hash = location.hash.replace(/^#/, '') || '/';
  const [pathPart, query = ''] = hash.split('?');
  const params = new URLSearchParams(query);
  const mine = ++generation;
  const stock = /^\/stock\/(\d{6})$/.exec(pathPart);
  const page = stock ? 'stock' : pathPart === '/monitoring' ? 'monitoring' : 'ranking';
  document.querySelectorAll<HTMLAnchorElement>('header nav a').forEach((a) => {
    if (a.dataset.nav === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  main.setAttribute('aria-busy', 'true');
  main.innerHTML = '<p class="loading">Loading…</p>';
  try {
    if (stock) await stockPage(main, stock[1], params);
    else if (page === 'monitoring') await monitoringPage(main);
    else await rankingPage(main, params);
    if (mine !== generation) return;
    document.title = `stockflow: ${main.querySelector('h1')?.textContent ?? page}`;
    announce(`${main.querySelector('h1')?.textContent ?? page} loaded`);
    main.focus({ preventScroll: true });
  } catch (e) {
    if (mine !== generation) return;
    const msg = e instanceof ApiFailure ? `${e.message} (HTTP ${e.status})` : (e as Error).message;
    main.innerHTML = `<h1>Could not load this page</h1><p class="card bad" role="alert">${esc(msg)}</p>`;
  } finally {
    if (mine === generation) main.removeAttribute('aria-busy');
    document.body.dataset.ready = String(mine === generation);
  }
}

window.addEventListener('hashchange', () => void route());
// The skip link moves focus to the content without touching the hash (the hash is the route).
document.querySelector<HTMLAnchorElement>('a.skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  document.getElementById('main')?.focus();
});
void route();
