/**
 * Cell values of the exchanges' files: their date spellings and padded numbers.
 * A value that cannot be read throws `BadValue` (the row becomes a reject with its reason).
 */

export class BadValue extends Error {}

const MONTHS: Record<string, number> = { JAN: 1, FEB: 2, MAR: 3, APR: 4, MAY: 5, JUN: 6, JUL: 7, AUG: 8, SEP: 9, OCT: 10, NOV: 11, DEC: 12 };

function iso(y: number, m: number, d: number, raw: string): string {
  const t = new Date(Date.UTC(y, m - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) throw new BadValue(`not a real date: '${raw}'`);
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

const lastDate = { raw: '\u0000', iso: '' };

/**
 * A date in any spelling the exchanges use, as ISO `YYYY-MM-DD`:
 * `2024-07-08` (UDiFF), `01-JAN-2020` (NSE legacy), `03-Jan-23` (BSE legacy: two-digit years are 20yy),
 * `16-Dec-2025` (full bhavcopy), `16 DEC 2025` (PR mcap), `06-OCT-2008` (EQUITY_L). Month names in any case.
 */
export function exchangeDate(raw: string): string {
  // Every row of a bhavcopy carries the same date: the last spelling read is remembered (a pure function).
  if (raw === lastDate.raw) return lastDate.iso;
  const d = parseDate(raw);
  lastDate.raw = raw;
  lastDate.iso = d;
  return d;
}

function parseDate(raw: string): string {
  const s = raw.trim();
  let m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (m) return iso(Number(m[1]), Number(m[2]), Number(m[3]), raw);
  m = /^(\d{1,2})[- ]([A-Za-z]{3})[- ](\d{4}|\d{2})$/.exec(s);
  if (m) {
    const month = MONTHS[m[2].toUpperCase()];
    if (month === undefined) throw new BadValue(`not a date: '${raw}'`);
    const y = m[3].length === 2 ? 2000 + Number(m[3]) : Number(m[3]);
    return iso(y, month, Number(m[1]), raw);
  }
  throw new BadValue(s === '' ? 'date is empty' : `not a date: '${raw}'`);
}

/** An optional date: empty (or `-`) → null. */
export function optionalDate(raw: string | undefined): string | null {
  const s = (raw ?? '').trim();
  return s === '' || s === '-' ? null : exchangeDate(s);
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;

/** A plain decimal with its padding trimmed. */
export function num(raw: string | undefined, what: string): number {
  const s = (raw ?? '').trim();
  if (s === '') throw new BadValue(`${what} is empty`);
  if (!NUMBER.test(s)) throw new BadValue(`${what} is not a number: '${s}'`);
  const n = Number(s);
  if (!Number.isFinite(n)) throw new BadValue(`${what} is not a finite number: '${s}'`);
  return n;
}

/** An optional number: empty or `-` → null. */
export function optionalNum(raw: string | undefined, what: string): number | null {
  const s = (raw ?? '').trim();
  return s === '' || s === '-' ? null : num(s, what);
}

/** A whole number ≥ 0 (volumes, trades). */
export function count(raw: string | undefined, what: string): number {
  const n = num(raw, what);
  if (!Number.isSafeInteger(n) || n < 0) throw new BadValue(`${what} is not a whole number ≥ 0: '${(raw ?? '').trim()}'`);
  return n;
}

export function optionalCount(raw: string | undefined, what: string): number | null {
  const s = (raw ?? '').trim();
  return s === '' || s === '-' ? null : count(s, what);
}

/** A required text cell, trimmed and inner runs of spaces kept. */
export function text(raw: string | undefined, what: string): string {
  const s = (raw ?? '').trim();
  if (s === '') throw new BadValue(`${what} is empty`);
  return s;
}

export function optionalText(raw: string | undefined): string | null {
  const s = (raw ?? '').trim();
  return s === '' ? null : s;
}

/**
 * The session date a file's name carries, for the files that carry none inside
 * (PR bh and pd members, sec_list): `…DDMMYYYY.csv` or `…ddmmyy(.csv|.zip)` at the end of the name.
 */
export function dateFromName(name: string): string | null {
  const base = name.replace(/^.*[/:\\]/, '').replace(/\.[A-Za-z]+$/, '');
  let m = /(\d{2})(\d{2})(\d{4})$/.exec(base);
  if (m && Number(m[3]) >= 1990) {
    try {
      return iso(Number(m[3]), Number(m[2]), Number(m[1]), name);
    } catch {
      return null;
    }
  }
  m = /(?:^|\D)(\d{2})(\d{2})(\d{2})$/.exec(base);
  if (m) {
    try {
      return iso(2000 + Number(m[3]), Number(m[2]), Number(m[1]), name);
    } catch {
      return null;
    }
  }
  return null;
}
