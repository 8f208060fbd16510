/**
 * Which sessions a fetch asks for. The exchanges publish a session's files in the evening; stockflow takes
 * 18:00 IST as the hour they should be out, so `stockflow data fetch` with no date fetches today's session
 * after 18:00 on a trading day, and the last session before today otherwise.
 */
import { existsSync } from 'node:fs';
import { marketDbPath, TIME_ZONE } from '../config.js';
import { badArgs } from '../errors.js';
import { TradingCalendar } from '../market/calendar.js';
import { isWeekend, todayIn, type IsoDate } from '../market/dates.js';
import { MarketStore } from '../market/store.js';
import { nseHolidaysBetween } from '../demo/holidays.js';

/** The hour (IST) from which a session's files should be out. */
export const FILES_OUT_HOUR = 18;

/** The hour and minute in IST of a moment. */
export function istClock(now: Date): { hour: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? '0');
  return { hour: get('hour'), minute: get('minute') };
}

/** The last session whose files should be out at `now`. */
export function defaultFetchDate(calendar: TradingCalendar, now: Date): IsoDate {
  const today = todayIn(TIME_ZONE, now);
  if (calendar.isTradingDay(today) && istClock(now).hour >= FILES_OUT_HOUR) return today;
  return calendar.previousSession(today);
}

/**
 * The trading calendar: market.db's holidays when it exists, else the exchange's published list (the demo's
 * table, src/demo/holidays.ts) for the years around `around`, so a first fetch on an empty data directory
 * knows the holidays too.
 */
export function fetchCalendar(dataDir: string, around: IsoDate): TradingCalendar {
  if (existsSync(marketDbPath(dataDir))) {
    const market = MarketStore.open(dataDir);
    try {
      return market.calendar();
    } finally {
      market.close();
    }
  }
  const y = Number(around.slice(0, 4));
  return new TradingCalendar(nseHolidaysBetween(y - 2, y + 1).map((h) => h.date));
}

/** The sessions in [from, to] and the weekday holidays between them. */
export function sessionsToFetch(calendar: TradingCalendar, from: IsoDate, to: IsoDate): { sessions: IsoDate[]; holidays: IsoDate[] } {
  if (from > to) throw badArgs(`--from ${from} is after --to ${to}`);
  const sessions = calendar.sessionsBetween(from, to);
  const holidays: IsoDate[] = [];
  for (let d = from; d <= to; d = new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)) {
    if (!isWeekend(d) && calendar.isHoliday(d)) holidays.push(d);
  }
  return { sessions, holidays };
}

/** `--until HH:MM` (IST) as a moment on the IST day of `now`; null when that moment has passed. */
export function untilMoment(hhmm: string, now: Date): Date | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm.trim());
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw badArgs(`--until '${hhmm}' is not a time HH:MM (IST)`);
  const at = new Date(`${todayIn(TIME_ZONE, now)}T${m[1].padStart(2, '0')}:${m[2]}:00+05:30`);
  return at.getTime() > now.getTime() ? at : null;
}
