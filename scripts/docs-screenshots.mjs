// The README's screenshots (docs/screenshots/): the dashboard's three pages and the HTML report at
// 1280 px and at phone width (390 px), first screen only, in Debian's chromium.
//   node scripts/docs-screenshots.mjs http://127.0.0.1:8000 data/predictions/report_2025-11-14.html [bse_code]
/* global process, console, document, location */
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [base, report, code] = process.argv.slice(2);
if (!base || !report) {
  console.error('usage: node scripts/docs-screenshots.mjs <server url> <report html> [bse_code]');
  process.exit(2);
}
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'screenshots');
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  for (const [w, viewport] of [['1280', { width: 1280, height: 860 }], ['phone', { width: 390, height: 800 }]]) {
    const page = await browser.newPage({ viewport });
    await page.goto(`${base}/`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    const first = code ?? (await page.$eval('#ranking tbody tr', (tr) => tr.dataset.code));
    for (const [name, hash] of [['ranking', '#/'], ['stock', `#/stock/${first}`], ['monitoring', '#/monitoring']]) {
      await page.evaluate((h) => { document.body.dataset.ready = ''; location.hash = h; }, hash);
      await page.waitForFunction(() => document.body.dataset.ready === 'true');
      await page.screenshot({ path: path.join(out, `dashboard-${name}-${w}.png`) });
    }
    await page.goto(pathToFileURL(path.resolve(report)).href);
    await page.screenshot({ path: path.join(out, `report-${w}.png`) });
    await page.close();
  }
} finally {
  await browser.close();
}
