/**
 * Calendar dates as 'YYYY-MM-DD' strings, the one representation used across
 * market.db, predictions.db, the CLI and the API. All arithmetic is done on
 * UTC midnights so that no local time zone can shift a date.
 */
import { badArgs } from '../errors.js';
import { TIME_ZONE } from '../config.js';

export type IsoDate = string;

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** True when `s` is a real calendar date written as YYYY-MM-DD. */
export function isIsoDate(s: string): boolean {
  const m = ISO_RE.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1) return false;
  const dt = new Date(Date.UTC(y, mo - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d;
}

/** Parses a user-supplied date or throws a BAD_ARGS error naming the flag. */
export function parseIsoDate(s: string, what = 'date'): IsoDate {
  if (!ISO_RE.test(s)) throw badArgs(`${what} '${s}' is not in YYYY-MM-DD form`);
  if (!isIsoDate(s)) throw badArgs(`${what} '${s}' is not a real calendar date`);
  return s;
}

export function toEpochDay(d: IsoDate): number {
  const m = ISO_RE.exec(d);
  if (!m) throw new Error(`not an ISO date: ${d}`);
  return Math.round(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS);
}

export function fromEpochDay(n: number): IsoDate {
  return new Date(n * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(d: IsoDate, n: number): IsoDate {
  return fromEpochDay(toEpochDay(d) + n);
}

/** Whole calendar days from a to b (b − a). */
export function daysBetween(a: IsoDate, b: IsoDate): number {
  return toEpochDay(b) - toEpochDay(a);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekday(d: IsoDate): number {
  return (toEpochDay(d) + 4) % 7; // 1970-01-01 was a Thursday
}

export function isWeekend(d: IsoDate): boolean {
  const w = weekday(d);
  return w === 0 || w === 6;
}

/** Today's date in a time zone (the desk's: Asia/Kolkata). */
export function todayIn(timeZone = TIME_ZONE, now: Date = new Date()): IsoDate {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}
