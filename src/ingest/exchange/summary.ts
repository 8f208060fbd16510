/**
 * `stockflow data import-exchange --dry-run`: detect, parse and validate every
 * source and summarise what an import would keep, leave out and reject.
 * Writes nothing.
 */
import { StockflowError } from '../../errors.js';
import { KIND_ORDER, KIND_TITLES } from './kinds.js';
import { groupOf, readExchangeBatches, type ExchangeEvent, type ReadOptions } from './read.js';
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

/** Counts the events of a read, per kind (the dry run's summary, and the read half of an import's). */
export class ReadTally {
  private readonly kinds = new Map<ExchangeKind, KindSummary>();
  private readonly files = new Set<string>();
  private readonly skipped: Record<string, number> = {};
  private readonly ignored: { file: string; reason: string }[] = [];
  private readonly rejects: ExchangeReject[] = [];
  private readonly overThreshold: DryRunSummary['overThreshold'] = [];
  private rejectCount = 0;
  private sources = 0;
  private sourceRejects = 0;

  constructor(private readonly maxRejectRate: number) {}

  private k(kind: ExchangeKind): KindSummary {
    let s = this.kinds.get(kind);
    if (!s) {
      s = { kind, title: KIND_TITLES[kind], files: 0, rows: 0, kept: 0, keptBy: {}, leftOut: 0, leftOutBy: {}, rejects: 0, firstDate: null, lastDate: null };
      if (kind === 'nse-pr-bc') s.actions = { understood: 0, notUnderstood: 0, byKind: {}, notUnderstoodPurposes: [] };
      this.kinds.set(kind, s);
    }
    return s;
  }

  add(ev: ExchangeEvent): void {
    switch (ev.type) {
      case 'ignored':
        this.ignored.push(ev.file);
        break;
      case 'skipped':
        this.files.add(ev.source.file);
        this.sources++;
        inc(this.skipped, ev.member);
        break;
      case 'source':
        this.files.add(ev.source.file);
        this.sources++;
        this.sourceRejects = 0;
        this.k(ev.kind).files++;
        break;
      case 'record': {
        const s = this.k(ev.kind);
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
        const s = this.k(ev.kind);
        s.leftOut++;
        inc(s.leftOutBy, ev.reason);
        break;
      }
      case 'reject':
        this.k(ev.kind).rejects++;
        this.rejectCount++;
        this.sourceRejects++;
        if (this.rejects.length < MAX_LISTED_REJECTS) this.rejects.push(ev.reject);
        break;
      case 'end': {
        this.k(ev.kind).rows += ev.rows;
        if (ev.rows > 0 && this.sourceRejects / ev.rows > this.maxRejectRate) this.overThreshold.push({ label: ev.source.label, rows: ev.rows, rejects: this.sourceRejects });
        break;
      }
    }
  }

  result(): DryRunSummary {
    return {
      files: this.files.size,
      sources: this.sources,
      kinds: KIND_ORDER.filter((x) => this.kinds.has(x)).map((x) => this.kinds.get(x) as KindSummary),
      skipped: this.skipped,
      skippedCount: Object.values(this.skipped).reduce((a, b) => a + b, 0),
      ignored: this.ignored,
      rejects: this.rejects,
      rejectCount: this.rejectCount,
      overThreshold: this.overThreshold,
    };
  }
}

export async function dryRun(paths: readonly string[], o: ReadOptions & { maxRejectRate: number }): Promise<DryRunSummary> {
  const t = new ReadTally(o.maxRejectRate);
  for await (const batch of readExchangeBatches(paths, o)) for (const ev of batch) t.add(ev);
  return t.result();
}

const counts = (o: Record<string, number>): string =>
  Object.entries(o)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, n]) => `${key} ${n}`)
    .join(', ');

/** The summary as the CLI prints it. */
export function summaryText(s: DryRunSummary): string {
  return `dry run: market.db not written; ${readLines(s).join('\n')}\n`;
}

/** The read half of a summary: files, then per kind what was kept, left out and rejected. */
export function readLines(s: DryRunSummary): string[] {
  const lines = [`${s.files} file(s), ${s.sources} file(s)/zip member(s) read`];
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
  return lines;
}

/** The exit-6 error for sources past the reject threshold (after the summary is printed). */
export function thresholdError(s: DryRunSummary, maxRejectRate: number): StockflowError | null {
  if (s.overThreshold.length === 0) return null;
  const f = s.overThreshold[0];
  const more = s.overThreshold.length > 1 ? ` (and ${s.overThreshold.length - 1} more file(s))` : '';
  return new StockflowError('IMPORT_REJECTED', `${f.label}: ${f.rejects} of ${f.rows} rows rejected, more than --max-reject-rate ${maxRejectRate}${more}`);
}
