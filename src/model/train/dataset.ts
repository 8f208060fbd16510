/**
 * Point-in-time training sets: sampled prediction dates × ACTIVE stocks.
 * Each row's features are exactly what the morning run of that date would
 * compute (the same extraction and imputation); its label is 1 when an
 * upper-circuit close happens within `horizon` sessions after the as-of
 * session, i.e. in the sessions from the prediction date on.
 */
import type { Db } from '../../market/db.js';
import { activeStocks, priceSessions, upperCircuitHits } from '../../market/reader.js';
import type { IsoDate } from '../../market/dates.js';
import { N_FEATURES } from '../../features/definition.js';
import { MIN_SESSIONS } from '../../features/indicators.js';
import { computeFeatures } from '../../features/service.js';
import { missingInput } from '../../errors.js';

export interface DatasetPart {
  X: Float32Array;
  y: Uint8Array;
  n: number;
  dates: IsoDate[];
}

export interface Dataset {
  train: DatasetPart;
  valid: DatasetPart;
  horizon: number;
}

export interface DatasetOptions {
  horizon: number;
  /** Only labels whose whole window ends before this date (default: after the last session). */
  until?: IsoDate;
  /** Number of prediction dates to sample. */
  dates: number;
  /** Share of the sampled dates (the latest ones) used for validation. */
  validShare: number;
  threads: number;
  onDate?: (date: IsoDate, i: number, total: number) => void;
}

/**
 * Sampled prediction dates: each is a session (so its as-of session is the
 * session before it), with MIN_SESSIONS of history before it and `horizon`
 * sessions from it on before `until`; evenly spaced, the spacing at least
 * `horizon + 1` sessions so that label windows of consecutive dates never overlap.
 */
export function sampleDates(sessions: readonly IsoDate[], o: { horizon: number; dates: number; until?: IsoDate }): { dates: IsoDate[]; index: Map<IsoDate, number> } {
  const usable = o.until ? sessions.filter((d) => d < o.until!) : sessions;
  const first = MIN_SESSIONS; // index of the first date with MIN_SESSIONS sessions before it
  const last = usable.length - o.horizon; // the window [i, i + horizon) must exist
  if (last <= first) return { dates: [], index: new Map() };
  const step = Math.max(o.horizon + 1, Math.floor((last - first) / Math.max(1, o.dates)));
  const dates: IsoDate[] = [];
  for (let i = last - 1; i >= first && dates.length < o.dates; i -= step) dates.push(usable[i]);
  dates.reverse();
  return { dates, index: new Map(sessions.map((d, i) => [d, i])) };
}

/**
 * Labels for stocks scored on `date`: an upper-circuit hit in sessions [date … date + horizon),
 * the moves judged from the as-of session's close (upperCircuitHits: the exchange's list where
 * it covers a session, else the rule on the band in force and the adjusted closes).
 */
function labels(db: Db, codes: readonly string[], asOf: IsoDate, windowEnd: IsoDate): Uint8Array {
  const hit = upperCircuitHits(db, asOf, windowEnd);
  return Uint8Array.from(codes, (c) => (hit.has(c) ? 1 : 0));
}

export async function buildDataset(db: Db, marketFile: string, o: DatasetOptions): Promise<Dataset> {
  const sessions = priceSessions(db);
  const { dates, index } = sampleDates(sessions, o);
  if (dates.length < 4) throw missingInput(`too little history to train: ${sessions.length} sessions in market.db, at least ${MIN_SESSIONS + 4 * (o.horizon + 1)} needed with --horizon ${o.horizon}`);
  const stocks = activeStocks(db);
  const nValid = Math.max(1, Math.round(dates.length * o.validShare));
  const splitAt = dates.length - nValid;
  const parts: { X: Float32Array[]; y: Uint8Array[]; n: number; dates: IsoDate[] }[] = [
    { X: [], y: [], n: 0, dates: [] },
    { X: [], y: [], n: 0, dates: [] },
  ];
  for (let k = 0; k < dates.length; k++) {
    const date = dates[k];
    o.onDate?.(date, k, dates.length);
    // The gap: a training date's label window must end before the first validation date.
    if (k < splitAt && splitAt < dates.length) {
      const endIdx = (index.get(date) ?? 0) + o.horizon - 1;
      if (endIdx >= (index.get(dates[splitAt]) ?? Infinity)) continue;
    }
    const fs = await computeFeatures(db, marketFile, stocks, date, { threads: o.threads });
    const windowEnd = sessions[(index.get(date) ?? 0) + o.horizon - 1];
    const y = labels(db, fs.block.codes, fs.ctx.asOf, windowEnd);
    const part = parts[k < splitAt ? 0 : 1];
    part.X.push(fs.block.values);
    part.y.push(y);
    part.n += fs.block.codes.length;
    part.dates.push(date);
  }
  const join = (p: (typeof parts)[number]): DatasetPart => {
    const X = new Float32Array(p.n * N_FEATURES);
    const y = new Uint8Array(p.n);
    let r = 0;
    p.X.forEach((x, i) => {
      X.set(x, r * N_FEATURES);
      y.set(p.y[i], r);
      r += p.y[i].length;
    });
    return { X, y, n: p.n, dates: p.dates };
  };
  return { train: join(parts[0]), valid: join(parts[1]), horizon: o.horizon };
}
