/**
 * Reads exchange files: detects each source's kind by its header, parses its rows
 * with the kind's parser, applies the universe rule, and yields what happened as
 * events, in the sources' deterministic order (sources.ts). Nothing is written here.
 *
 * Stops (throws EXCHANGE_FORMAT, exit 7) at the first source whose header matches no
 * kind, or matches one except for missing/renamed columns (kinds.ts). PR bundle members
 * that stockflow does not use (an, bm, gl, hl, tt, etf, sme, corpbond, readme: see
 * SKIPPED_MEMBER) are recognised by their name and skipped, but only when their header
 * is not one of the used kinds: a used kind is always read, whatever the file is called.
 */
import { INVALID_BYTE, readCsvBatches, type CsvMarks, type CsvRecord } from '../csv.js';
import { formatError, matchHeader, unrecognisedMessage } from './kinds.js';
import { rowParser } from './parsers.js';
import { fileSources, listFiles, type IgnoredFile, type Source } from './sources.js';
import type { ExchangeKind, ExchangeRecord, ExchangeReject, SourceRef } from './types.js';
import { BadValue, dateFromName } from './values.js';

/** The NSE series imported by default (equities: EQ, BE, BZ, SM, ST). */
export const DEFAULT_NSE_SERIES: readonly string[] = ['EQ', 'BE', 'BZ', 'SM', 'ST'];

/** PR bundle members stockflow does not use, by their name: an, bm, gl, hl, tt, etf, sme, corpbond (+ date), Readme. */
export const SKIPPED_MEMBER = /^(?:(an|bm|gl|hl|tt|etf|sme|corpbond)\d{6,8}\.(?:csv|txt)|(readme)\.txt)$/i;

export interface ReadOptions {
  /** NSE series kept (default DEFAULT_NSE_SERIES), compared in upper case. */
  nseSeries?: readonly string[];
}

export type ExchangeEvent =
  | { type: 'ignored'; file: IgnoredFile }
  | { type: 'skipped'; source: SourceRef; member: string }
  | { type: 'source'; source: SourceRef; kind: ExchangeKind; nameDate: string | null }
  | { type: 'record'; source: SourceRef; kind: ExchangeKind; line: number; record: ExchangeRecord }
  | { type: 'left-out'; source: SourceRef; kind: ExchangeKind; line: number; reason: string }
  | { type: 'reject'; kind: ExchangeKind; reject: ExchangeReject }
  | { type: 'end'; source: SourceRef; kind: ExchangeKind; rows: number };

/** The group a record is counted under in summaries: NSE series, BSE group. */
export function groupOf(r: ExchangeRecord): string {
  switch (r.type) {
    case 'bse-scrip':
      return r.group ?? '-';
    case 'stockflow-action':
      return r.kind;
    default:
      return r.series;
  }
}

/** BSE groups that are not equities: F (debt instruments), G (government securities). */
export const BSE_NON_EQUITY_GROUPS: ReadonlySet<string> = new Set(['F', 'G']);

/**
 * Why a record is left out of the universe, or null to keep it:
 * NSE records whose series is not among the equity series; UDiFF bars whose instrument
 * type is not STK; BSE legacy bars whose SC_TYPE is not Q (equity); BSE bars of the
 * debt groups F and G. Every other BSE group is kept.
 */
export function leaveOut(r: ExchangeRecord, series: ReadonlySet<string>): string | null {
  if (r.type === 'price' && r.instrumentType !== null) {
    if ((r.kind === 'nse-udiff-cm' || r.kind === 'bse-udiff-cm') && r.instrumentType !== 'STK') return `instrument type ${r.instrumentType} (not STK)`;
    if (r.kind === 'bse-legacy-eq' && r.instrumentType !== 'Q') return `SC_TYPE ${r.instrumentType} (not Q, equity)`;
  }
  if (r.type === 'stockflow-action') return null;
  if (r.type === 'price' && r.exchange === 'BSE' && BSE_NON_EQUITY_GROUPS.has(r.series.toUpperCase())) return `group ${r.series} (debt) not imported`;
  const nse = r.type === 'nse-listing' || (r.type !== 'bse-scrip' && r.exchange === 'NSE');
  if (nse && !series.has(groupOf(r).toUpperCase())) return `series ${groupOf(r)} not imported`;
  return null;
}

/** The events of one source, in batches (one per batch of CSV records). */
async function* events(source: Source, series: ReadonlySet<string>): AsyncGenerator<ExchangeEvent[]> {
  const marks: CsvMarks = { invalidByte: false };
  const it = readCsvBatches(source.open(), source.ref.label, marks)[Symbol.asyncIterator]();
  let buf: CsvRecord[] = [];
  let pos = 0;
  const nextRecord = async (): Promise<IteratorResult<CsvRecord>> => {
    while (pos >= buf.length) {
      const r = await it.next();
      if (r.done) return { done: true, value: undefined };
      buf = r.value;
      pos = 0;
    }
    return { done: false, value: buf[pos++] };
  };
  const skippable = SKIPPED_MEMBER.exec(source.name);
  let first: IteratorResult<CsvRecord>;
  try {
    first = await nextRecord();
  } catch (e) {
    if (skippable) {
      yield [{ type: 'skipped', source: source.ref, member: (skippable[1] ?? skippable[2]).toLowerCase() }];
      return;
    }
    throw e;
  }
  if (first.done) {
    if (skippable) {
      yield [{ type: 'skipped', source: source.ref, member: (skippable[1] ?? skippable[2]).toLowerCase() }];
      return;
    }
    throw formatError(`${source.ref.label}: empty file (no header): not a known exchange file`);
  }
  const header = first.value.fields;
  const m = matchHeader(header);
  if (!m.ok) {
    if (skippable) {
      await it.return?.(undefined);
      yield [{ type: 'skipped', source: source.ref, member: (skippable[1] ?? skippable[2]).toLowerCase() }];
      return;
    }
    throw formatError(unrecognisedMessage(source.ref.label, header, m));
  }

  let pending: CsvRecord | null = null;
  let kind: ExchangeKind;
  if (m.kind === 'udiff-cm') {
    const next = await nextRecord();
    if (next.done) throw formatError(`${source.ref.label}: a UDiFF CM bhavcopy with no rows: cannot tell NSE's from BSE's (by Src); nothing imported`);
    pending = next.value;
    const src = (pending.fields[m.columns.get('SRC') as number] ?? '').trim().toUpperCase();
    if (src !== 'NSE' && src !== 'BSE') {
      throw formatError(`${source.ref.label}: a UDiFF CM bhavcopy whose first row's Src is '${src}', not NSE or BSE: cannot tell which exchange's it is; nothing imported`);
    }
    kind = src === 'NSE' ? 'nse-udiff-cm' : 'bse-udiff-cm';
  } else kind = m.kind;
  // The session date a name carries: the member's own name first, then the zips holding it (PRddmmyy.zip).
  const nameDate = [source.name, ...source.containers].map(dateFromName).find((d) => d !== null) ?? null;
  const head: ExchangeEvent[] = [{ type: 'source', source: source.ref, kind, nameDate }];

  const width = Math.max(...m.columns.values()) + 1;
  const parse = rowParser(kind, m.columns);
  const ctx = { nameDate, label: source.ref.label };
  let rows = 0;
  const handle = (rec: CsvRecord): ExchangeEvent | null => {
    const f = rec.fields;
    if (f.every((x) => x === '')) return null; // a spreadsheet's trailing ,,,, row
    rows++;
    const reject = (reason: string): ExchangeEvent => ({ type: 'reject', kind, reject: { source: source.ref, line: rec.line, reason, fields: f } });
    if (f.length < width) return reject(`${f.length} fields, the header has ${width}`);
    for (let i = header.length; i < f.length; i++) if (f[i] !== '') return reject(`${f.length} fields, the header has ${header.length}`);
    if (marks.invalidByte && f.some((x) => x.includes(INVALID_BYTE))) return reject('not valid UTF-8');
    try {
      const r = parse(f, ctx);
      if ('leftOut' in r) return { type: 'left-out', source: source.ref, kind, line: rec.line, reason: r.leftOut };
      const why = leaveOut(r, series);
      if (why !== null) return { type: 'left-out', source: source.ref, kind, line: rec.line, reason: why };
      return { type: 'record', source: source.ref, kind, line: rec.line, record: r };
    } catch (e) {
      if (e instanceof BadValue) return reject(e.message);
      throw e;
    }
  };
  if (pending) {
    const ev = handle(pending);
    if (ev) head.push(ev);
  }
  for (; pos < buf.length; pos++) {
    const ev = handle(buf[pos]);
    if (ev) head.push(ev);
  }
  yield head;
  for (let r = await it.next(); !r.done; r = await it.next()) {
    const out: ExchangeEvent[] = [];
    for (const rec of r.value) {
      const ev = handle(rec);
      if (ev) out.push(ev);
    }
    if (out.length > 0) yield out;
  }
  yield [{ type: 'end', source: source.ref, kind, rows }];
}

/** Every event of an exchange import over the paths (files, zips, folders). */
export async function* readExchange(paths: readonly string[], o: ReadOptions = {}): AsyncGenerator<ExchangeEvent> {
  for await (const batch of readExchangeBatches(paths, o)) yield* batch;
}

/** The events of one file of `listFiles` (every source in it: a zip's members), in batches, as readExchangeBatches gives them. */
export async function* readFileBatches(file: string, o: ReadOptions = {}): AsyncGenerator<ExchangeEvent[]> {
  const series = new Set((o.nseSeries ?? DEFAULT_NSE_SERIES).map((s) => s.toUpperCase()));
  for (const source of fileSources(file)) yield* events(source, series);
}

/** The events of `readExchange`, in the same order, in batches (one await per batch of rows, not per row). */
export async function* readExchangeBatches(paths: readonly string[], o: ReadOptions = {}): AsyncGenerator<ExchangeEvent[]> {
  const series = new Set((o.nseSeries ?? DEFAULT_NSE_SERIES).map((s) => s.toUpperCase()));
  const { files, ignored } = listFiles(paths);
  if (ignored.length > 0) yield ignored.map((f): ExchangeEvent => ({ type: 'ignored', file: f }));
  for (const file of files) {
    for (const source of fileSources(file)) yield* events(source, series);
  }
}
