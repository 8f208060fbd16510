/**
 * `npm run bench -- monitor`: what outcomes, drift and the challenger add to
 * the demo market's batch (issue 14: under 10%). In a temporary data
 * directory (market.db linked) and a temporary registry (the champion, with a
 * reference; a challenger: the champion's model registered again under the
 * next patch version, so it costs what a real challenger of the same size
 * costs). Before each measured run the judged date (whose horizon has passed)
 * is run again: publishing drops its outcomes and its own outcomes stage records
 * them again, a date's ~10,500 outcomes: that stage's time is the cost of
 * recording one date's outcomes, as a nightly run does. Best of two runs each,
 * without and with the challenger alias.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { marketDbPath, type Config } from '../config.js';
import type { Logger } from '../log.js';
import type { IsoDate } from '../market/dates.js';
import { runBatch, type BatchResult } from '../batch/run.js';
import { loadScoringModel } from '../model/scoring-model.js';
import { readAliases, writeDriftReference } from '../model/registry.js';
import { buildReference, referenceOf } from '../model/drift.js';
import { FEATURE_NAMES } from '../features/definition.js';
import type { ScoringModel } from '../model/types.js';

export async function benchMonitor(o: { cfg: Config; log: Logger; date: IsoDate; judged: IsoDate }): Promise<string[]> {
  const root = mkdtempSync(path.join(tmpdir(), 'sf-bench-monitor-'));
  const out: string[] = [];
  try {
    const dataDir = path.join(root, 'data');
    const modelsDir = path.join(root, 'models');
    cpSync(o.cfg.modelsDir, modelsDir, { recursive: true });
    mkdirSync(dataDir);
    symlinkSync(path.resolve(marketDbPath(o.cfg.dataDir)), marketDbPath(dataDir));
    const champion = (await readAliases(modelsDir)).champion;
    if (!champion) throw new Error(`no champion alias in ${o.cfg.modelsDir}`);
    const [name, version] = champion.split('/');
    const [a, b, c] = version.split('.').map(Number);
    const challengerVersion = `${a}.${b}.${c + 1000}`;
    const dir = path.join(modelsDir, name);
    cpSync(path.join(dir, version), path.join(dir, challengerVersion), { recursive: true });
    const metaFile = path.join(dir, challengerVersion, 'model.json');
    writeFileSync(metaFile, JSON.stringify({ ...JSON.parse(readFileSync(metaFile, 'utf8')), version: challengerVersion }));

    const run = async (date: IsoDate): Promise<BatchResult> => {
      let model: ScoringModel | undefined;
      return runBatch({
        dataDir,
        date,
        threads: o.cfg.threads,
        loadModel: async () => (model = await loadScoringModel({ modelsDir }, { log: o.log })),
        log: o.log,
        modelsDir,
        psiThresholds: o.cfg.psi,
      }).finally(() => model?.release());
    };
    await run(o.judged);
    const warm = await run(o.date);
    const meta = JSON.parse(readFileSync(path.join(dir, version, 'model.json'), 'utf8')) as Record<string, unknown>;
    if (referenceOf(meta) === undefined) {
      // A champion without a reference: one from the judged date's rows, for the cost (the figures are not the point here).
      const m = await loadScoringModel({ modelsDir }, { log: o.log });
      try {
        const { PredictionsStore } = await import('../predictions/store.js');
        const store = PredictionsStore.openReadonly(dataDir);
        const rows = store.featureRowsOfDate(o.judged);
        store.close();
        if (!rows) throw new Error(`no stored feature rows of ${o.judged}`);
        await writeDriftReference(modelsDir, name, version, buildReference(rows.values, rows.n, FEATURE_NAMES, await m.score(rows.values, rows.n), { source: 'profile', from: o.judged, to: o.judged }));
        out.push(`monitor: ${champion} has no drift reference: one profiled from ${o.judged}'s ${rows.n} stored rows for this measurement`);
      } finally {
        await m.release();
      }
    }
    void warm;
    const measure = async (withChallenger: boolean): Promise<{ run: BatchResult; recordMs: number }> => {
      writeFileSync(path.join(modelsDir, 'aliases.json'), JSON.stringify(withChallenger ? { champion, challenger: `${name}/${challengerVersion}` } : { champion }));
      let best: BatchResult | undefined;
      let recordMs = Infinity;
      for (let k = 0; k < 2; k++) {
        const j = await run(o.judged); // re-published: its outcomes are dropped and recorded again by its own outcomes stage
        recordMs = Math.min(recordMs, j.stageMs.outcomes ?? 0);
        const r = await run(o.date);
        if (!best || r.durationMs < best.durationMs) best = r;
      }
      return { run: best!, recordMs };
    };
    const without = await measure(false);
    const withC = await measure(true);
    const s = (x: number): string => `${(x / 1000).toFixed(2)} s`;
    // What issue 14 adds to a nightly run: the monitor stage, and the outcomes stage recording one date's outcomes.
    const added = (m: { run: BatchResult; recordMs: number }): number => (m.run.stageMs.monitor ?? 0) + m.recordMs;
    const rest = (r: BatchResult): number => r.durationMs - (r.stageMs.monitor ?? 0) - (r.stageMs.outcomes ?? 0);
    const share = (m: { run: BatchResult; recordMs: number }): string => `${((100 * added(m)) / rest(m.run)).toFixed(1)}%`;
    out.push(
      `monitor: batch of ${o.date} (${without.run.counts.universe} stocks), best of 2; recording ${o.judged}'s ${without.run.scorecard?.rows ?? '?'} outcomes (the judged run's outcomes stage): ${without.recordMs} ms without, ${withC.recordMs} ms with the challenger's rows too`,
      `monitor:   without a challenger: ${s(without.run.durationMs)} end to end; drift ${without.run.monitor.drift ? 'computed' : 'not computed'}: monitor stage ${without.run.stageMs.monitor} ms + recording outcomes ${without.recordMs} ms = ${share(without)} of the rest of the run (${s(rest(without.run))})`,
      `monitor:   with a challenger:    ${s(withC.run.durationMs)} end to end; monitor stage ${withC.run.stageMs.monitor} ms (PSI + the challenger's load, scoring, comparison and rows) + recording outcomes ${withC.recordMs} ms = ${share(withC)} of the rest of the run (${s(rest(withC.run))})`,
      `monitor:   stages with a challenger (ms): ${Object.entries(withC.run.stageMs).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    );
    return out;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
