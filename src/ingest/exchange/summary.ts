/**
 * `stockflow data import-exchange --dry-run`: detect, parse and validate every
 * source and summarise what an import would keep, leave out and reject.
 * Writes nothing.
 */
import { StockflowError } from '../../errors.js';
import { KIND_ORDER, KIND_TITLES } from './kinds.js';
import { groupOf, readExchange, type ReadOptions } from './read.js';
import type { ExchangeKind, ExchangeReject, PurposeKind } from './types.js';

export interface KindSummary {
  kind: ExchangeKind;
  title: string;
  files: number;
  rows: number;
  kept: number;
  keptBy: Record<string, number>;
  leftOut: number;
  leftOutBy: Record<string, number>;
  rejects: number;
  /** Corporate-action files only. */
  actions?: { understood: number; notUnderstood: number; byKind: Partial<Record<PurposeKind, number>>; notUnderstoodPurposes: string[] };
  /** Session dates seen (first and last), where the kind has them. */
  firstDate: string | null;
  lastDate: string | null;
}

export interface DryRunSummary {
  files: number;
  sources: number;
  kinds: KindSummary[];
  skipped: Record<string, number>;
  skippedCount: number;
  ignored: { file: string; reason: string }[];
  rejects: ExchangeReject[];
  rejectCount: number;
  /** Sources whose rejected share passed the threshold. */
  overThreshold: { label: string; rows: number; rejects: number }[];
}

const MAX_LISTED_REJECTS = 20;

const inc = (o: Record<string, number>, k: string, n = 1): void => {
  o[k] = (o[k] ?? 0) + n;
};

export async function dryRun(paths: readonly string[], o: ReadOptions & { maxRejectRate: number }): Promise<DryRunSummary> {
  const kinds = new Map<ExchangeKind, KindSummary>();
  const files = new Set<string>();
  const skipped: Record<string, number> = {};
  const ignored: { file: string; reason: string }[] = [];
  const rejects: ExchangeReject[] = [];
  const overThreshold: DryRunSummary['overThreshold'] = [];
  let rejectCount = 0;
  let sources = 0;
  let sourceRejects = 0;
  const k = (kind: ExchangeKind): KindSummary => {
    let s = kinds.get(kind);
    if (!s) {
      s = { kind, title: KIND_TITLES[kind], files: 0, rows: 0, kept: 0, keptBy: {}, leftOut: 0, leftOutBy: {}, rejects: 0, firstDate: null, lastDate: null };
      if (kind === 'nse-pr-bc') s.actions = { understood: 0, notUnderstood: 0, byKind: {}, notUnderstoodPurposes: [] };
      kinds.set(kind, s);
    }
    return s;
  };
  for await (const ev of readExchange(paths, o)) {
    switch (ev.type) {
      case 'ignored':
        ignored.push(ev.file);
        break;
      case 'skipped':
        files.add(ev.source.file);
        sources++;
        inc(skipped, ev.member);
        break;
      case 'source':
        files.add(ev.source.file);
        sources++;
        sourceRejects = 0;
        k(ev.kind).files++;
        break;
      case 'record': {
        const s = k(ev.kind);
        s.kept++;
        inc(s.keptBy, groupOf(ev.record));
        const r = ev.record;
        const date = r.type === 'price' || r.type === 'circuit-hit' || r.type === 'market-cap' ? r.tradeDate : r.type === 'price-band' ? r.listDate : null;
        if (date !== null) {
          if (s.firstDate === null || date < s.firstDate) s.firstDate = date;
          if (s.lastDate === null || date > s.lastDate) s.lastDate = date;
        }
        if (r.type === 'corporate-action' && s.actions) {
          if (r.parsed.understood) s.actions.understood++;
          else {
            s.actions.notUnderstood++;
            if (!s.actions.notUnderstoodPurposes.includes(r.purpose)) s.actions.notUnderstoodPurposes.push(r.purpose);
          }
          for (const p of r.parsed.parts) s.actions.byKind[p.kind] = (s.actions.byKind[p.kind] ?? 0) + 1;
        }
        break;
      }
      case 'left-out': {
        const s = k(ev.kind);
        s.leftOut++;
        inc(s.leftOutBy, ev.reason);
        break;
      }
      case 'reject':
        k(ev.kind).rejects++;
        rejectCount++;
        sourceRejects++;
        if (rejects.length < MAX_LISTED_REJECTS) rejects.push(ev.reject);
        break;
      case 'end': {
        k(ev.kind).rows += ev.rows;
        if (ev.rows > 0 && sourceRejects / ev.rows > o.maxRejectRate) overThreshold.push({ label: ev.source.label, rows: ev.rows, rejects: sourceRejects });
        break;
      }
    }
  }
  return {
    files: files.size,
    sources,
    kinds: KIND_ORDER.filter((x) => kinds.has(x)).map((x) => kinds.get(x) as KindSummary),
    skipped,
    skippedCount: Object.values(skipped).reduce((a, b) => a + b, 0),
    ignored,
    rejects,
    rejectCount,
    overThreshold,
  };
}

const counts = (o: Record<string, number>): string =>
  Object.entries(o)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, n]) => `${key} ${n}`)
    .join(', ');

/** The summary as the CLI prints it. */
export function summaryText(s: DryRunSummary): string {
  const lines = [`dry run: market.db not written; ${s.files} file(s), ${s.sources} file(s)/zip member(s) read`];
  for (const k of s.kinds) {
    const dates = k.firstDate === null ? '' : k.firstDate === k.lastDate ? ` [${k.firstDate}]` : ` [${k.firstDate} … ${k.lastDate}]`;
    lines.push(`${k.title}: ${k.files} file(s), ${k.rows} row(s)${dates}`);
    lines.push(`  kept ${k.kept}${k.kept > 0 ? ` (${counts(k.keptBy)})` : ''}`);
    if (k.leftOut > 0) lines.push(`  left out ${k.leftOut}: ${counts(k.leftOutBy)}`);
    if (k.rejects > 0) lines.push(`  rejected ${k.rejects}`);
    if (k.actions) {
      lines.push(`  corporate actions: ${k.actions.understood} understood, ${k.actions.notUnderstood} not understood; parts: ${counts(k.actions.byKind) || '-'}`);
      for (const p of k.actions.notUnderstoodPurposes) lines.push(`    not understood: ${p}`);
    }
  }
  if (s.skippedCount > 0) lines.push(`skipped PR members (not used): ${s.skippedCount} (${counts(s.skipped)})`);
  if (s.ignored.length > 0) lines.push(`ignored files: ${s.ignored.length} (${s.ignored.map((f) => `${f.file}: ${f.reason}`).join('; ')})`);
  lines.push(`rejects: ${s.rejectCount}`);
  for (const r of s.rejects) lines.push(`  ${r.source.label}:${r.line}: ${r.reason}`);
  if (s.rejectCount > s.rejects.length) lines.push(`  … and ${s.rejectCount - s.rejects.length} more`);
  return `${lines.join('\n')}\n`;
}

/** The exit-6 error for sources past the reject threshold (after the summary is printed). */
export function thresholdError(s: DryRunSummary, maxRejectRate: number): StockflowError | null {
  if (s.overThreshold.length === 0) return null;
  const f = s.overThreshold[0];
  const more = s.overThreshold.length > 1 ? ` (and ${s.overThreshold.length - 1} more file(s))` : '';
  return new StockflowError('IMPORT_REJECTED', `${f.label}: ${f.rejects} of ${f.rows} rows rejected, more than --max-reject-rate ${maxRejectRate}${more}`);
}
