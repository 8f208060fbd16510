/**
 * The trading calendar: weekdays minus the exchange holidays in
 * `market_holidays`. Used to find as-of sessions, to walk backfills and to
 * tell the scheduler whether today is a trading day.
 */
import type { Db } from './db.js';
import { addDays, isWeekend, type IsoDate } from './dates.js';
import { holidays } from './reader.js';

export class TradingCalendar {
  private readonly holidays: Set<IsoDate>;

  constructor(holidays: Iterable<IsoDate>) {
    this.holidays = new Set(holidays);
  }

  static fromDb(db: Db): TradingCalendar {
    return new TradingCalendar(holidays(db));
  }

  isHoliday(d: IsoDate): boolean {
    return this.holidays.has(d);
  }

  isTradingDay(d: IsoDate): boolean {
    return !isWeekend(d) && !this.holidays.has(d);
  }

  /** The last trading day strictly before `d`. */
  previousSession(d: IsoDate): IsoDate {
    let x = addDays(d, -1);
    while (!this.isTradingDay(x)) x = addDays(x, -1);
    return x;
  }

  /** The first trading day strictly after `d`. */
  nextSession(d: IsoDate): IsoDate {
    let x = addDays(d, 1);
    while (!this.isTradingDay(x)) x = addDays(x, 1);
    return x;
  }

  /** Trading days in [from, to], in order. */
  sessionsBetween(from: IsoDate, to: IsoDate): IsoDate[] {
    const out: IsoDate[] = [];
    for (let x = from; x <= to; x = addDays(x, 1)) if (this.isTradingDay(x)) out.push(x);
    return out;
  }

  /** The `n` trading days ending at `d` inclusive (d itself only if it trades), oldest first. */
  lastSessions(d: IsoDate, n: number): IsoDate[] {
    const out: IsoDate[] = [];
    let x = this.isTradingDay(d) ? d : this.previousSession(d);
    while (out.length < n) {
      out.push(x);
      x = this.previousSession(x);
    }
    return out.reverse();
  }
}
