/**
 * NSE trading holidays for the demo market.
 *
 * For 2023–2025 the list is the exchange's published one (weekday holidays,
 * including the one-off closures for elections and 22 Jan 2024). For any other
 * year it is computed from the rules the festivals follow, which lands on the
 * published date or within a day of it:
 *  - fixed dates: Republic Day, Ambedkar Jayanti, Maharashtra Day,
 *    Independence Day, Gandhi Jayanti, Christmas;
 *  - Good Friday from the Gregorian Easter computus;
 *  - the Hindu festivals from the lunar phases (mean-phase series with the
 *    principal periodic corrections, accurate to minutes) placed in the lunar
 *    month named by the sidereal solar ingress it contains (Mesha ~14 Apr,
 *    Kanya ~17 Sep, Vrischika ~16 Nov), in Indian Standard Time;
 *  - the Islamic ones (Ramzan Id, Bakri Id, Muharram) from the arithmetic
 *    (tabular) Islamic calendar.
 * Only weekdays are listed, as the exchange lists its trading holidays; two
 * festivals on one day become one row with both names.
 */
import { fromEpochDay, toEpochDay, weekday, type IsoDate } from '../market/dates.js';

export interface Holiday {
  date: IsoDate;
  name: string;
}

/** Festival keys, shared by the published table and the rules (so the two can be compared). */
export const FESTIVALS = {
  republic: 'Republic Day',
  shivratri: 'Mahashivratri',
  holi: 'Holi',
  ramzanId: 'Id-Ul-Fitr (Ramzan Id)',
  ramNavami: 'Shri Ram Navami',
  mahavir: 'Shri Mahavir Jayanti',
  goodFriday: 'Good Friday',
  ambedkar: 'Dr. Baba Saheb Ambedkar Jayanti',
  maharashtra: 'Maharashtra Day',
  bakriId: 'Bakri Id',
  muharram: 'Muharram',
  independence: 'Independence Day',
  ganesh: 'Ganesh Chaturthi',
  gandhi: 'Mahatma Gandhi Jayanti',
  dussehra: 'Dussehra',
  laxmiPujan: 'Diwali Laxmi Pujan',
  balipratipada: 'Diwali Balipratipada',
  guruNanak: 'Prakash Gurpurb Sri Guru Nanak Dev',
  christmas: 'Christmas',
} as const;

export type FestivalKey = keyof typeof FESTIVALS;

/** One festival's date in a year (weekends included). */
export interface Festival {
  key: FestivalKey;
  date: IsoDate;
}

/** The exchange's published weekday trading holidays. */
const PUBLISHED: Readonly<Record<number, readonly (readonly [string, FestivalKey | string])[]>> = {
  2023: [
    ['01-26', 'republic'],
    ['03-07', 'holi'],
    ['03-30', 'ramNavami'],
    ['04-04', 'mahavir'],
    ['04-07', 'goodFriday'],
    ['04-14', 'ambedkar'],
    ['05-01', 'maharashtra'],
    ['06-29', 'bakriId'],
    ['08-15', 'independence'],
    ['09-19', 'ganesh'],
    ['10-02', 'gandhi'],
    ['10-24', 'dussehra'],
    ['11-14', 'balipratipada'],
    ['11-27', 'guruNanak'],
    ['12-25', 'christmas'],
  ],
  2024: [
    ['01-22', 'Special holiday (Shri Ram Lalla Pran Pratishtha)'],
    ['01-26', 'republic'],
    ['03-08', 'shivratri'],
    ['03-25', 'holi'],
    ['03-29', 'goodFriday'],
    ['04-11', 'ramzanId'],
    ['04-17', 'ramNavami'],
    ['05-01', 'maharashtra'],
    ['05-20', 'General Parliamentary Elections (Mumbai)'],
    ['06-17', 'bakriId'],
    ['07-17', 'muharram'],
    ['08-15', 'independence'],
    ['10-02', 'gandhi'],
    ['11-01', 'laxmiPujan'],
    ['11-15', 'guruNanak'],
    ['11-20', 'Maharashtra Legislative Assembly Elections'],
    ['12-25', 'christmas'],
  ],
  2025: [
    ['02-26', 'shivratri'],
    ['03-14', 'holi'],
    ['03-31', 'ramzanId'],
    ['04-10', 'mahavir'],
    ['04-14', 'ambedkar'],
    ['04-18', 'goodFriday'],
    ['05-01', 'maharashtra'],
    ['08-15', 'independence'],
    ['08-27', 'ganesh'],
    ['10-02', 'gandhi'],
    ['10-02', 'dussehra'],
    ['10-21', 'laxmiPujan'],
    ['10-22', 'balipratipada'],
    ['11-05', 'guruNanak'],
    ['12-25', 'christmas'],
  ],
};

/** Years whose list is the published one rather than computed. */
export const PUBLISHED_YEARS: readonly number[] = Object.keys(PUBLISHED).map(Number);

const isFestivalKey = (s: string): s is FestivalKey => Object.hasOwn(FESTIVALS, s);

// ---------------------------------------------------------------------------
// Lunar phases.

const IST = 5.5 / 24;
const JD_UNIX_EPOCH = 2440587.5;
const SYNODIC = 29.530588861;
const RAD = Math.PI / 180;

/**
 * The instant of a lunar phase as a fractional epoch day in IST: `k` an
 * integer for a new moon (k = 0 is the new moon of 6 Jan 2000), k + 0.5 for
 * the following full moon. Mean phase plus the principal periodic terms.
 */
export function lunarPhaseIst(k: number): number {
  const T = k / 1236.85;
  const T2 = T * T;
  const T3 = T2 * T;
  let jde = 2451550.09766 + SYNODIC * k + 0.00015437 * T2 - 0.00000015 * T3;
  const E = 1 - 0.002516 * T - 0.0000074 * T2;
  const M = (2.5534 + 29.1053567 * k - 0.0000014 * T2) * RAD;
  const Mp = (201.5643 + 385.81693528 * k + 0.0107582 * T2 + 0.00001238 * T3) * RAD;
  const F = (160.7108 + 390.67050284 * k - 0.0016118 * T2 - 0.00000227 * T3) * RAD;
  const Om = (124.7746 - 1.56375588 * k + 0.0020672 * T2) * RAD;
  const full = Math.abs(k - Math.floor(k) - 0.5) < 1e-9;
  jde +=
    (full ? -0.40614 : -0.4072) * Math.sin(Mp) +
    (full ? 0.17302 : 0.17241) * E * Math.sin(M) +
    (full ? 0.01614 : 0.01608) * Math.sin(2 * Mp) +
    (full ? 0.01043 : 0.01039) * Math.sin(2 * F) +
    (full ? 0.00734 : 0.00739) * E * Math.sin(Mp - M) -
    (full ? 0.00515 : 0.00514) * E * Math.sin(Mp + M) +
    (full ? 0.00209 : 0.00208) * E * E * Math.sin(2 * M) -
    0.00111 * Math.sin(Mp - 2 * F) -
    0.00057 * Math.sin(Mp + 2 * F) +
    0.00056 * E * Math.sin(2 * Mp + M) -
    0.00042 * Math.sin(3 * Mp) +
    0.00042 * E * Math.sin(M + 2 * F) +
    0.00038 * E * Math.sin(M - 2 * F) -
    0.00024 * E * Math.sin(2 * Mp - M) -
    0.00017 * Math.sin(Om);
  // TT → UT (ΔT ≈ 69 s), then to IST.
  return jde - 0.0008 - JD_UNIX_EPOCH + IST;
}

/** The lunation number of the last new moon strictly before the IST instant `t`. */
function lastNewMoonBefore(t: number): number {
  let k = Math.floor((t - lunarPhaseIst(0)) / SYNODIC) + 1;
  while (lunarPhaseIst(k) >= t) k--;
  while (lunarPhaseIst(k + 1) < t) k++;
  return k;
}

const day = (y: number, m: number, d: number): number => toEpochDay(`${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);

// ---------------------------------------------------------------------------
// Good Friday (anonymous Gregorian computus) and the tabular Islamic calendar.

function easterSunday(y: number): number {
  const a = y % 19;
  const b = Math.floor(y / 100);
  const c = y % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const dayOfMonth = ((h + l - 7 * m + 114) % 31) + 1;
  return day(y, month, dayOfMonth);
}

/** Epoch day of an Islamic (tabular, civil epoch) date. */
function islamicToEpochDay(y: number, m: number, d: number): number {
  const jd = d + Math.ceil(29.5 * (m - 1)) + (y - 1) * 354 + Math.floor((3 + 11 * y) / 30) + 1948439.5 - 1;
  return Math.round(jd - JD_UNIX_EPOCH);
}

/** Every occurrence in Gregorian year `y` of the Islamic date (month, day). */
function islamicInYear(y: number, month: number, dayOfMonth: number): number[] {
  const from = day(y, 1, 1);
  const to = day(y, 12, 31);
  const approx = Math.floor(((y - 622) * 33) / 32);
  const out: number[] = [];
  for (let h = approx - 1; h <= approx + 2; h++) {
    const e = islamicToEpochDay(h, month, dayOfMonth);
    if (e >= from && e <= to) out.push(e);
  }
  return out;
}

/** Every festival of the NSE list in year `y`, computed by rule (weekends included), date order. */
export function festivalDates(y: number): Festival[] {
  const out: { key: FestivalKey; e: number }[] = [];
  const add = (key: FestivalKey, e: number): void => {
    out.push({ key, e });
  };
  add('republic', day(y, 1, 26));
  add('ambedkar', day(y, 4, 14));
  add('maharashtra', day(y, 5, 1));
  add('independence', day(y, 8, 15));
  add('gandhi', day(y, 10, 2));
  add('christmas', day(y, 12, 25));
  add('goodFriday', easterSunday(y) - 2);

  // Chaitra begins with the last new moon before the Sun enters sidereal Aries (~14 Apr).
  const kChaitra = lastNewMoonBefore(day(y, 4, 14) + 0.5);
  const chaitra = lunarPhaseIst(kChaitra);
  add('holi', Math.floor(lunarPhaseIst(kChaitra - 0.5) + 0.25)); // the day after Phalguna Purnima's evening
  add('shivratri', Math.floor(lunarPhaseIst(kChaitra - 1) - 2)); // Magha Krishna Chaturdashi
  add('ramNavami', Math.floor(chaitra + 8.3));
  add('mahavir', Math.floor(chaitra + 12.6));
  // Bhadrapada: the lunar month containing the ingress into sidereal Virgo (~17 Sep).
  add('ganesh', Math.floor(lunarPhaseIst(lastNewMoonBefore(day(y, 9, 17) + 0.5)) + 3.8));
  // Diwali's Amavasya ends Ashvin: the last new moon before the ingress into sidereal Scorpio (~16 Nov).
  const kKartika = lastNewMoonBefore(day(y, 11, 16) + 0.5);
  const diwaliNewMoon = lunarPhaseIst(kKartika);
  const laxmiPujan = Math.floor(diwaliNewMoon - 0.75); // Amavasya prevailing at that evening
  add('laxmiPujan', laxmiPujan);
  add('balipratipada', Math.floor(diwaliNewMoon - 0.27) + 1); // first sunrise in Pratipada
  add('dussehra', laxmiPujan - 19);
  add('guruNanak', Math.floor(lunarPhaseIst(kKartika + 0.5) - 0.27)); // Kartik Purnima at sunrise

  for (const e of islamicInYear(y, 10, 1)) add('ramzanId', e);
  for (const e of islamicInYear(y, 12, 10)) add('bakriId', e);
  for (const e of islamicInYear(y, 1, 10)) add('muharram', e);

  return out
    .sort((a, b) => a.e - b.e || (a.key < b.key ? -1 : 1))
    .map(({ key, e }) => ({ key, date: fromEpochDay(e) }));
}

function weekdayList(entries: readonly { date: IsoDate; name: string }[]): Holiday[] {
  const byDate = new Map<IsoDate, string[]>();
  for (const { date, name } of entries) {
    const w = weekday(date);
    if (w === 0 || w === 6) continue;
    const names = byDate.get(date) ?? [];
    if (!names.includes(name)) names.push(name);
    byDate.set(date, names);
  }
  return [...byDate.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([date, names]) => ({ date, name: names.join(' / ') }));
}

/** NSE weekday trading holidays of year `y`, in date order. */
export function nseHolidays(y: number): Holiday[] {
  if (!Number.isInteger(y) || y < 1900 || y > 2199) throw new RangeError(`no holiday rules for year ${y}`);
  const published = PUBLISHED[y];
  if (published) {
    return weekdayList(published.map(([md, what]) => ({ date: `${y}-${md}`, name: isFestivalKey(what) ? FESTIVALS[what] : what })));
  }
  return weekdayList(festivalDates(y).map((f) => ({ date: f.date, name: FESTIVALS[f.key] })));
}

/** The holidays of every year in [from, to], in date order. */
export function nseHolidaysBetween(fromYear: number, toYear: number): Holiday[] {
  const out: Holiday[] = [];
  for (let y = fromYear; y <= toYear; y++) out.push(...nseHolidays(y));
  return out;
}
