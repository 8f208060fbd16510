/**
 * What `stockflow evaluate --compare A,B` runs, and what `stockflow models
 * promote` prints before promoting (loaded when they run): two models' stored
 * predictions judged on the same realised outcomes (the same dates and
 * stocks), with a paired bootstrap confidence interval for the ROC-AUC
 * difference (src/model/compare.ts; docs/monitoring.md).
 */
import type { Config } from '../config.js';
import { badArgs, missingInput } from '../errors.js';
import type { Logger } from '../log.js';
import type { IsoDate } from '../market/dates.js';
import { openMarketReadonly } from '../market/db.js';
import { ALIAS_NAMES, parseModelRef, type AliasName } from '../model/metadata.js';
import { readAliases } from '../model/registry.js';
import { BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, pairedAucBootstrap, type OutcomeComparison } from '../model/compare.js';
import { evaluateRows, type Evaluation, type ScoredOutcome } from '../model/evaluate.js';
import { PredictionsStore } from '../predictions/store.js';
import { fillOutcomes, registryHorizons } from '../batch/outcomes.js';

export interface CompareOptions {
  cfg: Config;
  /** 'champion', 'challenger', a version or name/version. */
  a: string;
  b: string;
  from?: IsoDate;
  to?: IsoDate;
  resamples?: number;
  seed?: number;
  log: Logger;
}

/** A model as named on the command line: an alias of the registry, or a version (name/version). */
async function versionOf(spec: string, modelsDir: string): Promise<string> {
  const s = spec.trim();
  if ((ALIAS_NAMES as readonly string[]).includes(s)) {
    const ref = (await readAliases(modelsDir))[s as AliasName];
    if (ref === undefined) throw missingInput(`the registry (${modelsDir}) has no ${s} alias`);
    return ref.split('/')[1];
  }
  return parseModelRef(s, '--compare').version;
}

/** "champion,challenger" → its two parts (exit 2 when it is not two models). */
export function parsePair(text: string): [string, string] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length !== 2 || parts.some((p) => p === '')) throw badArgs(`--compare takes two models separated by a comma (champion,challenger or 1.0.0,1.1.0), got '${text}'`);
  return [parts[0], parts[1]];
}

/** Compares two models on the outcomes both have (recording those that became known first). Throws MISSING_INPUT when they share none. */
export async function compareOnOutcomes(o: CompareOptions): Promise<OutcomeComparison> {
  if (o.from !== undefined && o.to !== undefined && o.from > o.to) throw badArgs(`--from ${o.from} is after --to ${o.to}`);
  const va = await versionOf(o.a, o.cfg.modelsDir);
  const vb = await versionOf(o.b, o.cfg.modelsDir);
  if (va === vb) throw badArgs(`--compare names version ${va} twice: compare two different models`);
  PredictionsStore.openReadonly(o.cfg.dataDir).close(); // exit 3 when no batch has run
  const market = openMarketReadonly(o.cfg.dataDir);
  const store = PredictionsStore.openForWrite(o.cfg.dataDir);
  try {
    fillOutcomes(market, store, await registryHorizons(o.cfg.modelsDir, o.log));
    return store.snapshot(() => {
      const datesOf = (v: string): Set<string> => new Set(store.outcomeDates({ from: o.from, to: o.to, modelVersion: v }).map((d) => d.prediction_date));
      const db = datesOf(vb);
      const dates = [...datesOf(va)].filter((d) => db.has(d)).sort();
      const ra: ScoredOutcome[] = [];
      const rb: ScoredOutcome[] = [];
      for (const d of dates) {
        const bRows = new Map(store.outcomesOfDate(vb, d).map((r) => [r.bse_code, r]));
        for (const r of store.outcomesOfDate(va, d)) {
          const m = bRows.get(r.bse_code);
          // The same stock's outcome is the same realised fact for both; pairs are kept as stored.
          if (m && m.hit === r.hit) {
            ra.push(r);
            rb.push(m);
          }
        }
      }
      if (ra.length === 0)
        throw missingInput(
          `models ${va} and ${vb} have no prediction with a known outcome on the same date${o.from || o.to ? ` from ${o.from ?? 'the first date'} to ${o.to ?? 'the last'}` : ''}: a challenger's rows are judged once its horizon has passed`,
        );
      const y = Uint8Array.from(ra, (r) => r.hit);
      return {
        a: { spec: o.a, version: va, figures: evaluateRows(ra) },
        b: { spec: o.b, version: vb, figures: evaluateRows(rb) },
        dates: dates.length,
        from: dates[0],
        to: dates[dates.length - 1],
        rows: ra.length,
        hits: y.reduce((s, v) => s + v, 0),
        roc_auc: pairedAucBootstrap(
          y,
          Float64Array.from(ra, (r) => r.probability),
          Float64Array.from(rb, (r) => r.probability),
          { resamples: o.resamples ?? BOOTSTRAP_RESAMPLES, seed: o.seed ?? BOOTSTRAP_SEED },
        ),
      };
    });
  } finally {
    store.close();
    market.close();
  }
}

const num = (x: number | null, d = 4): string => (x === null ? '-' : x.toFixed(d));
const signed = (x: number | null, d = 4): string => (x === null ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(d)}`);
const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

/** The comparison as a readable table. */
export function renderComparison(c: OutcomeComparison): string {
  const at20 = (e: Evaluation): number | null => e.at_k.find((k) => k.k === 20)?.precision ?? null;
  const A = c.a.figures;
  const B = c.b.figures;
  const d = (x: number | null, y: number | null): number | null => (x === null || y === null ? null : y - x);
  const rows: [string, string, string, string][] = [
    ['ROC-AUC', num(A.roc_auc), num(B.roc_auc), signed(c.roc_auc.difference)],
    ['PR-AUC', num(A.pr_auc), num(B.pr_auc), signed(d(A.pr_auc, B.pr_auc))],
    ['Brier', num(A.brier), num(B.brier), signed(d(A.brier, B.brier))],
    ['Log loss', num(A.log_loss), num(B.log_loss), signed(d(A.log_loss, B.log_loss))],
    ['Precision@20', pct(at20(A)), pct(at20(B)), signed(d(at20(A), at20(B)) === null ? null : 100 * d(at20(A), at20(B))!, 1) + ' pts'],
  ];
  const w = [12, Math.max(9, c.a.spec.length + 4 + c.a.version.length), Math.max(9, c.b.spec.length + 4 + c.b.version.length), 10];
  const head = ['', `A ${c.a.spec} v${c.a.version}`, `B ${c.b.spec} v${c.b.version}`, 'B − A'];
  const line = (r: string[]): string => r.map((x, i) => (i === 0 ? x.padEnd(w[0]) : x.padStart(Math.max(w[i], head[i].length)))).join('  ');
  const r = c.roc_auc;
  const ci =
    r.ci_lower === null || r.ci_upper === null
      ? 'no interval: no resample had both outcomes'
      : `${Math.round(100 * r.level)}% CI of the ROC-AUC difference: [${signed(r.ci_lower)}, ${signed(r.ci_upper)}] (paired bootstrap, ${r.resamples.toLocaleString('en-US')} resamples, seed ${r.seed}${r.degenerate > 0 ? `, ${r.degenerate} with one class left out` : ''})`;
  const verdict =
    r.ci_lower === null || r.ci_upper === null
      ? ''
      : r.ci_lower > 0
        ? 'B ranks better than A: the interval is above 0.'
        : r.ci_upper < 0
          ? 'B ranks worse than A: the interval is below 0.'
          : 'No clear difference in ranking: the interval contains 0.';
  return [
    `COMPARE A = ${c.a.spec} v${c.a.version}, B = ${c.b.spec} v${c.b.version}`,
    `on the same ${c.dates} date${c.dates === 1 ? '' : 's'} (${c.from} to ${c.to}): ${c.rows.toLocaleString('en-US')} predictions each, ${c.hits.toLocaleString('en-US')} hit the upper circuit`,
    '',
    line(head),
    ...rows.map(line),
    '',
    ci,
    ...(verdict ? [verdict] : []),
    '',
  ].join('\n');
}
