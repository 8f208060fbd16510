/**
 * Checking an import CSV: its header against a table's columns, and each row's
 * values (dates, numbers, codes, enums, cross-field rules). Everything here is
 * pure; the importer adds the checks that need state (duplicate keys, codes
 * known to the master list).
 *
 * A rejected row gets every problem found in it, joined by '; ', each a short
 * specific text such as `high 101.5 < close 102`.
 */
import { StockflowError } from '../errors.js';
import { isIsoDate, parseIsoDate } from '../market/dates.js';
import { BAND_PCTS } from '../market/circuit.js';
import type { ColumnSpec, TableSpec } from './tables.js';
import { INVALID_BYTE } from './csv.js';

export type SqlValue = string | number | null;

export interface Header {
  /** The table's columns the file has, in the table's order (the order values are bound in). */
  present: ColumnSpec[];
  /** For each present column, its field index in a CSV record. */
  index: number[];
  /** Number of fields in the header row: every data row must have as many. */
  width: number;
}

/** Most characters a text cell may have (docs/csv-formats.md, Limits). */
export const MAX_TEXT_CHARS = 500;

function countInvalid(f: string): number {
  let n = 0;
  for (let i = f.indexOf(INVALID_BYTE); i !== -1; i = f.indexOf(INVALID_BYTE, i + 1)) n++;
  return n;
}

const STATUSES = ['ACTIVE', 'SUSPENDED', 'DELISTED'] as const;
const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const CODE_RE = /^\d{6}$/;

/** Quotes a cell for a message, shortened so a reason stays one short line. */
export function quoteCell(s: string): string {
  const short = s.length > 40 ? `${s.slice(0, 37)}...` : s;
  return `'${short}'`;
}

/** At most this many names are listed in one message (the rest are counted). */
export const MAX_LISTED = 10;

function listSome(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).map(quoteCell).join(', ');
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}

/**
 * Matches a header row against a table. Header names are trimmed and compared
 * case-insensitively; column order is free. Unknown, duplicated or missing
 * required columns throw one IMPORT_REJECTED error naming all of them.
 */
export function checkHeader(spec: TableSpec, fields: readonly string[], file: string): Header {
  if (fields.some((f) => f.includes(INVALID_BYTE))) {
    throw new StockflowError('IMPORT_REJECTED', `${file}: the header row is not valid UTF-8 (save the file as UTF-8); database unchanged`);
  }
  const names = fields.map((f) => f.trim().toLowerCase());
  const known = new Map(spec.columns.map((c) => [c.name, c]));
  const problems: string[] = [];

  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) problems.push(`unknown column${unknown.length > 1 ? 's' : ''} ${listSome(unknown)}`);
  const dup = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  if (dup.length > 0) problems.push(`column${dup.length > 1 ? 's' : ''} ${listSome(dup)} given more than once`);
  const missing = spec.columns.filter((c) => c.required && !names.includes(c.name)).map((c) => c.name);
  if (missing.length > 0) problems.push(`missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);

  if (problems.length > 0) {
    const hint = unknown.length === names.length ? ' (is the header row missing?)' : '';
    const expected = spec.columns.map((c) => (c.required ? c.name : `[${c.name}]`)).join(',');
    throw new StockflowError(
      'IMPORT_REJECTED',
      `${file}: ${problems.join('; ')}${hint}; a ${spec.kind} file's header is ${expected} (any order, [optional]); database unchanged`,
    );
  }
  const present = spec.columns.filter((c) => names.includes(c.name));
  return { present, index: present.map((c) => names.indexOf(c.name)), width: fields.length };
}

type Parsed = { ok: true; value: SqlValue } | { ok: false; reason: string };

const bad = (reason: string): Parsed => ({ ok: false, reason });
const good = (value: SqlValue): Parsed => ({ ok: true, value });

function parseNumber(name: string, s: string): Parsed {
  if (!NUMBER_RE.test(s)) return bad(`${name} ${quoteCell(s)} is not a number`);
  const n = Number(s);
  if (!Number.isFinite(n)) return bad(`${name} ${quoteCell(s)} is not a finite number`);
  return good(n);
}

/** Parses one non-empty, trimmed cell of a column. */
export function parseCell(c: ColumnSpec, s: string): Parsed {
  switch (c.kind) {
    case 'code':
      return CODE_RE.test(s) ? good(s) : bad(`${c.name} ${quoteCell(s)} is not 6 digits`);
    case 'date':
      if (isIsoDate(s)) return good(s);
      try {
        parseIsoDate(s, c.name);
      } catch (e) {
        return bad((e as Error).message);
      }
      return bad(`${c.name} ${quoteCell(s)} is not a date`);
    case 'text':
      return s.length > MAX_TEXT_CHARS ? bad(`${c.name} is ${s.length} characters long (at most ${MAX_TEXT_CHARS})`) : good(s);
    case 'status':
      return (STATUSES as readonly string[]).includes(s) ? good(s) : bad(`${c.name} ${quoteCell(s)} is not ${STATUSES.slice(0, -1).join(', ')} or ${STATUSES.at(-1)}`);
    case 'price':
    case 'number':
    case 'nonneg':
    case 'volume':
    case 'band':
    case 'score': {
      const p = parseNumber(c.name, s);
      if (!p.ok) return p;
      const n = p.value as number;
      if (c.kind === 'price' && !(n > 0)) return bad(`${c.name} ${s} must be > 0`);
      if (c.kind === 'nonneg' && n < 0) return bad(`${c.name} ${s} must be >= 0`);
      if (c.kind === 'volume' && !(Number.isSafeInteger(n) && n >= 0)) return bad(`${c.name} ${quoteCell(s)} is not a whole number >= 0`);
      if (c.kind === 'band' && !(BAND_PCTS as readonly number[]).includes(n)) return bad(`${c.name} ${s} is not ${BAND_PCTS.slice(0, -1).join(', ')} or ${BAND_PCTS.at(-1)}`);
      if (c.kind === 'score' && !(n >= -1 && n <= 1)) return bad(`${c.name} ${s} is outside [-1, 1]`);
      if (c.max !== undefined && Math.abs(n) > c.max) return bad(`${c.name} ${quoteCell(s)} is out of range (at most ${c.kind === 'number' ? '±' : ''}${c.max.toExponential().replace('e+', 'e')})`);
      return good(n === 0 ? 0 : n); // no -0 in the database
    }
  }
}

export type RowCheck = { ok: true; values: SqlValue[]; key: string[] } | { ok: false; reasons: string[] };

/**
 * Checks one data row (its fields as parsed, not yet trimmed). On success,
 * `values` are bound in `header.present` order and `key` holds the row's key
 * column texts (an absent or empty optional key column counts as '').
 */
export function checkRow(spec: TableSpec, header: Header, fields: readonly string[], isKnownCode: (code: string) => boolean): RowCheck {
  const invalid = fields.reduce((a, f) => a + countInvalid(f), 0);
  if (invalid > 0) return { ok: false, reasons: [`not valid UTF-8 (${invalid} byte${invalid > 1 ? 's' : ''} that ${invalid > 1 ? 'are' : 'is'} not UTF-8: is the file Latin-1? save it as UTF-8)`] };
  if (fields.length !== header.width) return { ok: false, reasons: [`expected ${header.width} fields, found ${fields.length}`] };
  const reasons: string[] = [];
  const values: SqlValue[] = [];
  const text = new Map<string, string>();
  const num = new Map<string, number>();
  header.present.forEach((c, i) => {
    const s = fields[header.index[i]].trim();
    text.set(c.name, s);
    if (s === '') {
      if (c.required) reasons.push(`${c.name} is empty`);
      values.push(null);
      return;
    }
    const p = parseCell(c, s);
    if (!p.ok) {
      reasons.push(p.reason);
      values.push(null);
      return;
    }
    values.push(p.value);
    if (typeof p.value === 'number') num.set(c.name, p.value);
  });

  if (spec.kind === 'prices') {
    const [o, h, l, cl] = ['open', 'high', 'low', 'close'].map((n) => num.get(n));
    if (o !== undefined && h !== undefined && l !== undefined && cl !== undefined) {
      const top = cl >= o ? 'close' : 'open';
      const bottom = cl <= o ? 'close' : 'open';
      if (h < Math.max(o, cl)) reasons.push(`high ${text.get('high')} < ${top} ${text.get(top)}`);
      if (l > Math.min(o, cl)) reasons.push(`low ${text.get('low')} > ${bottom} ${text.get(bottom)}`);
    }
  }
  if (spec.kind === 'results') {
    const p = text.get('period_end') ?? '';
    const a = text.get('announced_on') ?? '';
    if (isIsoDate(p) && isIsoDate(a) && a < p) reasons.push(`announced_on ${a} is before period_end ${p}`);
  }
  if (spec.codeMustBeKnown) {
    const code = text.get('bse_code') ?? '';
    if (CODE_RE.test(code) && !isKnownCode(code)) reasons.push(`bse_code ${code} is not in the master list`);
  }
  if (reasons.length > 0) return { ok: false, reasons };
  return { ok: true, values, key: spec.key.map((k) => text.get(k) ?? '') };
}
