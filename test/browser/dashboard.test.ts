/**
 * The morning page in a real browser (issue 17): Debian's chromium driven by
 * playwright-core. `stockflow serve` (the built CLI, as a process) over a
 * small generated market with a week of batch runs:
 * - the dashboard's first 20 rows and their order are the API's, a sector
 *   filter leaves exactly that sector's stocks, a stock opened from the
 *   keyboard draws its price chart and its waterfall as SVG, the monitoring
 *   page's drift table is the API's (GET /api/v1/monitoring), worst first, and no
 *   page fits wider than a phone;
 * - the HTML report the batch wrote renders with no network request at all;
 * - any console error, page error, failed request or HTTP error fails the test.
 * Screenshots go to test/browser/artifacts/ (gitignored).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { assertCliBuilt, buildMarketFixture, MORNING, ROOT, runCli, startCli, until, type CliProcess, type MarketFixture } from '../helpers/batch-fixture.js';

// The callbacks given to page.evaluate and $$eval run in the browser; the test program has no DOM lib, so the
// little of the DOM they touch is declared here.
declare const document: {
  body: { dataset: Record<string, string> };
  getElementById(id: string): { hasAttribute(name: string): boolean; focus(): void } | null;
  activeElement: { id: string } | null;
  documentElement: { scrollWidth: number };
};
declare const location: { hash: string };
type HTMLElement = { dataset: Record<string, string> };

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test', 'browser', 'artifacts');
const DESK = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

let fx: MarketFixture;
let data: string;
let server: CliProcess;
let base: string;
let browser: Browser;
const problems: string[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A page whose every console error, page error, failed request and HTTP error is recorded as a problem. */
async function watchedPage(viewport: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText ?? ''})`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return page;
}

async function ready(page: Page): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.ready === 'true' && !document.getElementById('main')?.hasAttribute('aria-busy'));
}

async function go(page: Page, hash: string): Promise<void> {
  await page.evaluate(() => (document.body.dataset.ready = ''));
  await page.evaluate((h) => (location.hash = h), hash);
  await ready(page);
}

async function api<T>(p: string): Promise<T> {
  const r = await fetch(`${base}${p}`);
  expect(r.status, p).toBe(200);
  return (await r.json()) as T;
}

beforeAll(async () => {
  assertCliBuilt();
  if (!existsSync(path.join(ROOT, 'dist', 'web', 'app.js'))) throw new Error("the dashboard is not built (dist/web/app.js is missing): run 'npm run build' first");
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install -y --no-install-recommends chromium (or set CHROMIUM_PATH)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  fx = await buildMarketFixture({ stocks: 60 });
  data = fx.freshDataDir();
  // A week of runs; the fixture model (registered without a drift reference) is profiled on the first
  // six, so the morning's run measures drift (what an outside model's operator does: docs/monitoring.md).
  const week = runCli(['batch', '--from', '2025-11-06', '--to', '2025-11-13', '--data-dir', data, '--models-dir', fx.modelsDir]);
  expect(week.code, week.stderr).toBe(0);
  const prof = runCli(['models', 'profile', '1.0.0', '--data-dir', data, '--models-dir', fx.modelsDir]);
  expect(prof.code, prof.stderr).toBe(0);
  const r = runCli(['batch', '--date', MORNING, '--data-dir', data, '--models-dir', fx.modelsDir]);
  expect(r.code, r.stderr).toBe(0);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = startCli(['serve', '--data-dir', data, '--models-dir', fx.modelsDir, '--port', String(port)], { env: { RATE_LIMIT_RPS: '0' } });
  await server.waitForStderr((s) => s.includes('Server listening at'), 30_000);
  await until(() => server.stdout().includes(`Dashboard: ${base}/\n`), 10_000, 'the dashboard line');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.done;
  }
  fx?.cleanup();
});

describe('the dashboard', () => {
  it('lists the 20 first rows in the API’s order, filters by sector, opens a stock by keyboard and draws its charts', async () => {
    const page = await watchedPage(DESK);
    await page.goto(`${base}/`);
    await ready(page);
    const top = await api<{ items: { bse_code: string }[] }>('/api/v1/predictions?limit=20');
    expect(top.items).toHaveLength(20);
    const codes = await page.$$eval('#ranking tbody tr', (trs) => trs.slice(0, 20).map((tr) => (tr as HTMLElement).dataset.code));
    expect(codes).toEqual(top.items.map((i) => i.bse_code));
    await page.screenshot({ path: path.join(ARTIFACTS, 'ranking-1280.png'), fullPage: true });

    // Filter by the first row's sector: exactly that sector's stocks remain, in rank order.
    const ranking = await api<{ items: { bse_code: string; sector: string; rank: number }[] }>('/api/v1/ranking');
    const sector = ranking.items[0].sector;
    await page.selectOption('#f-sector', sector);
    const filtered = await page.$$eval('#ranking tbody tr', (trs) => trs.map((tr) => [(tr as HTMLElement).dataset.code, tr.children[4].textContent]));
    const expected = ranking.items.filter((i) => i.sector === sector);
    expect(filtered).toEqual(expected.map((i) => [i.bse_code, sector]));
    expect(await page.textContent('#count')).toBe(`${expected.length} of ${ranking.items.length} stocks`);

    // Keyboard: a loaded page puts focus on its content, so Tab reaches its first control (the date picker);
    // the first stock's link opens its page with Enter.
    expect(await page.getAttribute('a.skip', 'href')).toBe('#main');
    await page.evaluate(() => document.getElementById('main')!.focus());
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('f-date');
    const code = expected[0].bse_code;
    await page.evaluate(() => (document.body.dataset.ready = ''));
    await page.focus(`#ranking tbody tr[data-code="${code}"] td:nth-child(2) a`);
    await page.keyboard.press('Enter');
    await ready(page);
    expect(page.url()).toBe(`${base}/#/stock/${code}?date=${MORNING}`);

    // The price chart: an SVG with the close and both averages as lines, labelled and summarised.
    const price = page.locator('#price-chart figure[role="img"]');
    expect(await price.getAttribute('aria-label')).toMatch(new RegExp(`^Closes of .+ from \\d{4}-\\d{2}-\\d{2} to 2025-11-13$`));
    expect(await page.locator('#price-chart svg path[aria-roledescription="line mark"]').count()).toBe(3);
    expect(await page.locator('#price-chart figcaption').textContent()).toMatch(/50-session average [\d.]+; 200-session average [\d.]+; \d+ upper-circuit days?/);
    const box = await page.locator('#price-chart svg').boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    // The waterfall: base value, one bar per driver shown, the margin; its bars sum to the stored probability's margin.
    const explained = await api<{ shap_values: Record<string, number>; base_value: number; margin: number; probability: number }>(`/api/v1/predictions/${code}?date=${MORNING}&explain=1`);
    const drivers = Object.values(explained.shap_values).filter((v) => v !== 0).length;
    const bars = await page.locator('#waterfall svg path[aria-roledescription="bar"]').count();
    expect(bars).toBeGreaterThanOrEqual(2 + Math.min(drivers, 8));
    expect(await page.locator('#waterfall figure[role="img"]').getAttribute('aria-label')).toBe(
      `Explanation waterfall: from the base value ${explained.base_value.toFixed(3)} to the margin ${explained.margin.toFixed(3)} (log-odds)`,
    );
    expect(await page.locator('#features tbody tr').count()).toBe(25);
    expect(await page.locator('#history tbody tr').count()).toBe((await api<{ items: unknown[] }>(`/api/v1/stocks/${code}/history`)).items.length);
    await page.screenshot({ path: path.join(ARTIFACTS, 'stock-1280.png'), fullPage: true });

    await go(page, '#/monitoring');
    // The drift table: the score and every feature of the latest run, worst first, as the API has them.
    const mon = await api<{ drift: { features: { name: string; psi: number }[]; score: { psi: number } } }>('/api/v1/monitoring');
    const want = [{ name: 'score (the probability)', psi: mon.drift.score.psi }, ...mon.drift.features]
      .sort((a, b) => b.psi - a.psi || (a.name < b.name ? -1 : 1))
      .map((r) => [r.name, r.psi.toFixed(3)]);
    const got = await page.locator('#drift tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent)));
    expect(got).toEqual(want);
    expect(await page.locator('#h-models ~ div tbody tr').count()).toBe(2);
    await page.screenshot({ path: path.join(ARTIFACTS, 'monitoring-1280.png'), fullPage: true });
    await page.close();
    expect(problems).toEqual([]);
  });

  it('fits a phone: no page is wider than the screen, and the CSV link downloads the date’s file', async () => {
    const page = await watchedPage(PHONE);
    await page.goto(`${base}/`);
    await ready(page);
    const code = await page.$eval('#ranking tbody tr', (tr) => (tr as HTMLElement).dataset.code!);
    for (const [name, hash] of [
      ['ranking', '#/'],
      ['stock', `#/stock/${code}?date=${MORNING}`],
      ['monitoring', '#/monitoring'],
    ] as const) {
      if (name !== 'ranking') await go(page, hash);
      expect(await page.evaluate(() => document.documentElement.scrollWidth), name).toBeLessThanOrEqual(PHONE.width);
      // The ranking's phone columns (rank, company, probability, confidence) fit without scrolling sideways.
      if (name === 'ranking') expect(await page.$eval('#ranking', (t) => t.parentElement!.scrollWidth - t.parentElement!.clientWidth)).toBeLessThanOrEqual(0);
      await page.screenshot({ path: path.join(ARTIFACTS, `${name}-390.png`), fullPage: true });
    }
    await go(page, '#/');
    const href = await page.getAttribute('#csv', 'href');
    expect(href).toBe(`/api/v1/predictions.csv?date=${MORNING}`);
    const csv = await fetch(`${base}${href}`);
    expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="predictions_${MORNING}.csv"`);
    await page.close();
    expect(problems).toEqual([]);
  });
});

describe('the HTML report', () => {
  it('renders from the file with no network request, its charts drawn', async () => {
    const file = path.join(data, 'predictions', `report_${MORNING}.html`);
    const url = pathToFileURL(file).href;
    for (const [w, vp] of [
      ['1280', DESK],
      ['390', PHONE],
    ] as const) {
      const page = await browser.newPage({ viewport: vp });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      // Anything but the file itself would be a network request: refuse and record it.
      await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
      await page.goto(url, { waitUntil: 'load' });
      expect(await page.locator('figure.chart svg').count()).toBeGreaterThanOrEqual(2);
      expect((await page.locator('#distribution svg').boundingBox())!.width).toBeGreaterThan(200);
      expect(await page.locator('#top tbody tr').count()).toBe(20);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(vp.width);
      await page.screenshot({ path: path.join(ARTIFACTS, `report-${w}.png`), fullPage: true });
      expect(requests).toEqual([url]);
      await page.close();
    }
  });
});
