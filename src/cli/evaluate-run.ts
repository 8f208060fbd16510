/**
 * What `stockflow evaluate` runs (loaded when it runs): record the outcomes
 * that became known, read the stored predictions with outcomes, compute the
 * figures (src/model/evaluate.ts) and render them as a table, JSON or CSV.
 */
import type { Config } from '../config.js';
import { badArgs, missingInput } from '../errors.js';
import type { Logger } from '../log.js';
import type { IsoDate } from '../market/dates.js';
import { openMarketReadonly } from '../market/db.js';
import { parseModelRef } from '../model/metadata.js';
import { evaluateSource, type AtK, type Evaluation } from '../model/evaluate.js';
import { PredictionsStore } from '../predictions/store.js';
import { fillOutcomes, registryHorizons } from '../batch/outcomes.js';

/** `--format` (checked by the command). */
export type EvaluateFormat = 'table' | 'json' | 'csv';

export interface EvaluateOptions {
  cfg: Config;
  from?: IsoDate;
  to?: IsoDate;
  model?: string;
  format: EvaluateFormat;
  byDate: boolean;
  log: Logger;
}

const num = (x: number | null, d = 4): string => (x === null ? '-' : x.toFixed(d));
const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const int = (n: number): string => n.toLocaleString('en-US');

function tableOf(header: string[], rows: string[][]): string[] {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd();
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)];
}

const atKCells = (a: AtK[]): string[] => a.flatMap((x) => [pct(x.precision), `${x.hits}/${x.picks}`]);

function renderTable(list: Evaluation[]): string {
  const out: string[] = [];
  for (const e of list) {
    out.push(
      `MODEL v${e.model_version}: ${e.from} to ${e.to}, ${int(e.dates)} date${e.dates === 1 ? '' : 's'}, ${int(e.rows)} predictions, ${int(e.hits)} hit the upper circuit`,
      '',
      `Base rate   ${pct(e.base_rate)}`,
      `ROC-AUC     ${num(e.roc_auc)}`,
      `PR-AUC      ${num(e.pr_auc)}`,
      `Brier       ${num(e.brier)}`,
      `Log loss    ${num(e.log_loss)}`,
      '',
      ...tableOf(
        ['Top K', 'Precision (mean over dates)', 'Hits / picks (all dates)'],
        e.at_k.map((a) => [String(a.k), pct(a.precision), `${int(a.hits)} / ${int(a.picks)}`]),
      ),
      '',
      ...tableOf(
        ['Predicted', 'Confidence', 'Rows', 'Hits', 'Hit rate'],
        e.by_confidence.map((g) => [g.predicted_label === 1 ? 'upper circuit' : 'no circuit', g.confidence, int(g.rows), int(g.hits), pct(g.hit_rate)]),
      ),
      '',
      ...tableOf(
        ['Probability bin', 'Rows', 'Mean predicted', 'Observed'],
        e.calibration.map((b) => [`${b.lower.toFixed(1)}-${b.upper.toFixed(1)}`, int(b.rows), pct(b.mean_predicted), pct(b.observed)]),
      ),
    );
    if (e.by_date) {
      out.push(
        '',
        ...tableOf(
          ['Date', 'Rows', 'Hits', 'Base rate', 'ROC-AUC', 'PR-AUC', 'Brier', 'Log loss', ...e.at_k.flatMap((a) => [`P@${a.k}`, `Hits@${a.k}`])],
          e.by_date.map((d) => [d.date, int(d.rows), int(d.hits), pct(d.base_rate), num(d.roc_auc), num(d.pr_auc), num(d.brier), num(d.log_loss), ...atKCells(d.at_k)]),
        ),
      );
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

const CSV_HEAD = ['model_version', 'from', 'to', 'dates', 'rows', 'hits', 'base_rate', 'roc_auc', 'pr_auc', 'brier', 'log_loss'];
const csvNum = (x: number | null): string => (x === null ? '' : String(x));

function renderCsv(list: Evaluation[], byDate: boolean): string {
  const ks = list[0]?.at_k.map((a) => a.k) ?? [];
  const kCols = ks.flatMap((k) => [`precision_at_${k}`, `hits_at_${k}`, `picks_at_${k}`]);
  const kCells = (a: AtK[]): string[] => a.flatMap((x) => [csvNum(x.precision), String(x.hits), String(x.picks)]);
  const lines = [[...CSV_HEAD, ...kCols].join(',')];
  for (const e of list) {
    if (!byDate) {
      lines.push([e.model_version, e.from, e.to, e.dates, e.rows, e.hits, e.base_rate, csvNum(e.roc_auc), csvNum(e.pr_auc), e.brier, e.log_loss, ...kCells(e.at_k)].join(','));
      continue;
    }
    for (const d of e.by_date ?? [])
      lines.push([e.model_version, d.date, d.date, 1, d.rows, d.hits, d.base_rate, csvNum(d.roc_auc), csvNum(d.pr_auc), d.brier, d.log_loss, ...kCells(d.at_k)].join(','));
  }
  return `${lines.join('\n')}\n`;
}

export async function runEvaluate(o: EvaluateOptions): Promise<{ text: string; note?: string }> {
  if (o.from !== undefined && o.to !== undefined && o.from > o.to) throw badArgs(`--from ${o.from} is after --to ${o.to}`);
  const version = o.model === undefined ? undefined : parseModelRef(o.model, '--model').version;
  const store = PredictionsStore.openReadonly(o.cfg.dataDir); // exit 3 when no batch has run
  store.close();
  const market = openMarketReadonly(o.cfg.dataDir);
  const writer = PredictionsStore.openForWrite(o.cfg.dataDir);
  try {
    const filled = fillOutcomes(market, writer, await registryHorizons(o.cfg.modelsDir, o.log));
    const note =
      filled.recorded.length > 0
        ? `recorded the outcomes of ${filled.recorded.length} prediction date${filled.recorded.length === 1 ? '' : 's'} (${filled.recorded.map((r) => `${r.date} v${r.modelVersion}`).join(', ')})`
        : undefined;
    const list = writer.snapshot(() => evaluateSource(writer, { from: o.from, to: o.to, modelVersion: version }, { byDate: o.byDate }));
    if (list.length === 0) {
      const range = `${o.from ?? 'the first date'} to ${o.to ?? 'the last'}${version ? ` for model ${version}` : ''}`;
      throw missingInput(
        `no prediction with a known outcome from ${range}${filled.waiting > 0 ? ` (${filled.waiting} date/model pairs wait for their horizon to pass)` : ''}`,
      );
    }
    const text =
      o.format === 'json'
        ? `${JSON.stringify({ from: o.from ?? null, to: o.to ?? null, models: list }, null, 2)}\n`
        : o.format === 'csv'
          ? renderCsv(list, o.byDate)
          : renderTable(list);
    return { text, note };
  } finally {
    writer.close();
    market.close();
  }
}
