/**
 * The importer reads the exchange files on worker threads (src/ingest/exchange/read-parallel.ts, the built
 * workers/exchange-read.js): the events must be exactly those of the one-thread reader, in the same order,
 * and a damaged file must stop it with the same error after the same events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateExchangeFiles } from '../src/demo/exchange-files.js';
import { readExchangeBatches, type ExchangeEvent } from '../src/ingest/exchange/read.js';
import { READ_WORKER_FILE, readExchangeBatchesParallel } from '../src/ingest/exchange/read-parallel.js';

let tmp: string;
beforeAll(() => {
  if (!existsSync(READ_WORKER_FILE)) throw new Error(`the reader worker is not built (${READ_WORKER_FILE}): run 'npm run build' first`);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sf-exparallel-'));
  generateExchangeFiles({ out: path.join(tmp, 'files'), stocks: 40, sessions: 7, seed: 9, end: '2025-12-16' });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function collect(gen: AsyncGenerator<ExchangeEvent[]>): Promise<{ events: ExchangeEvent[]; error: string | null }> {
  const events: ExchangeEvent[] = [];
  try {
    for await (const b of gen) events.push(...b);
    return { events, error: null };
  } catch (e) {
    return { events, error: `${(e as { kind?: string }).kind ?? 'Error'}: ${(e as Error).message}` };
  }
}

describe('reading exchange files on worker threads', () => {
  it('gives the one-thread reader’s events in its order', async () => {
    const paths = [path.join(tmp, 'files')];
    const one = await collect(readExchangeBatches(paths));
    const par = await collect(readExchangeBatchesParallel(paths));
    expect(one.error).toBeNull();
    expect(one.events.length).toBeGreaterThan(1000);
    expect(par).toEqual(one);
  });

  it('stops at a damaged file with the same error after the same events', async () => {
    const bad = path.join(tmp, 'files', '2025', 'zz-notes.csv');
    writeFileSync(bad, 'a,b,c\n1,2,3\n');
    try {
      const paths = [path.join(tmp, 'files')];
      const one = await collect(readExchangeBatches(paths));
      const par = await collect(readExchangeBatchesParallel(paths));
      expect(one.error).toMatch(/^EXCHANGE_FORMAT: .*zz-notes\.csv: not a known exchange file/);
      expect(par).toEqual(one);
    } finally {
      rmSync(bad);
    }
  });
});
