/**
 * The batch writes the HTML report beside the text report (issue 17): the
 * date's report_D.html for a publishing run, report_D.subset-<runId>.html for
 * a subset run (the date's own left as it was), with the run's top 20 in the
 * CSV's order. The CLI runs as a process (from dist).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { assertCliBuilt, buildMarketFixture, MORNING, outputFile, runCli, type MarketFixture } from './helpers/batch-fixture.js';

let fx: MarketFixture;
beforeAll(async () => {
  assertCliBuilt();
  fx = await buildMarketFixture({ stocks: 40 });
});
afterAll(() => fx?.cleanup());

const topCodes = (html: string): string[] => [...html.matchAll(/<tr><td class="num">\d+<\/td><td>(\d{6})<\/td>/g)].map((m) => m[1]);

describe('the batch writes the HTML report', () => {
  it("writes report_D.html with the CSV's top 20, and a subset run its own tagged file", () => {
    const data = fx.freshDataDir();
    const r = runCli(['batch', '--date', MORNING, '--data-dir', data, '--models-dir', fx.modelsDir]);
    expect(r.code).toBe(0);
    const file = outputFile(data, 'report', MORNING).replace(/\.txt$/, '.html');
    const html = readFileSync(file, 'utf8');
    const csv = parse(readFileSync(outputFile(data, 'predictions', MORNING), 'utf8'), { columns: true }) as { bse_code: string }[];
    expect(topCodes(html)).toEqual(csv.slice(0, 20).map((row) => row.bse_code));
    expect(html).not.toMatch(/<script\b/i);
    expect(html).toContain('<section id="distribution"');

    const sub = runCli(['batch', '--date', MORNING, '--codes', csv[25].bse_code, '--data-dir', data, '--models-dir', fx.modelsDir]);
    expect(sub.code).toBe(0);
    const dir = path.dirname(file);
    const tagged = readdirSync(dir).filter((f) => /^report_2025-11-14\.subset-.+\.html$/.test(f));
    expect(tagged).toHaveLength(1);
    expect(topCodes(readFileSync(path.join(dir, tagged[0]), 'utf8'))).toEqual([csv[25].bse_code]);
    expect(readFileSync(file, 'utf8')).toBe(html);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(existsSync(file)).toBe(true);
  });
});

describe('stockflow demo', () => {
  it("ends by printing the HTML report's path and the command that serves the dashboard", () => {
    const data = fx.freshDataDir('demo');
    const r = runCli(['demo', '--data-dir', data, '--models-dir', fx.modelsDir, '--no-notify'], { env: { PORT: '8123' } });
    expect(r.code, r.stderr).toBe(0);
    const html = path.join(data, 'predictions', `report_${MORNING}.html`);
    expect(existsSync(html)).toBe(true);
    const tail = r.stdout.trimEnd().split('\n').slice(-2);
    expect(tail).toEqual([
      `the morning report (HTML): ${html}`,
      `the dashboard: stockflow serve --data-dir ${data} --models-dir ${fx.modelsDir}, then open http://127.0.0.1:8123/`,
    ]);
  });
});
