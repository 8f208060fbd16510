/**
 * `stockflow data generate`: a deterministic, synthetic but realistic
 * NSE/BSE-like market written to market.db.
 *
 * Layout of the work:
 *  - `planMarket` fixes everything that is market-wide or must be unique
 *    across stocks: the trading sessions (weekdays minus NSE holidays), the
 *    quarter ends, a common market factor, the 6-digit BSE codes, names,
 *    symbols, and which stocks are SUSPENDED, DELISTED, stale, recently
 *    listed or without financials (exact counts, from a seeded shuffle).
 *  - `simulateStock` produces one stock's whole history from its own random
 *    streams, keyed by (seed, stock index, stream): a stock's rows do not
 *    depend on the order in which stocks are generated.
 *  - `generateMarket` writes it all into a temporary file beside the target in
 *    one transaction (no journal, no syncs: nobody else sees that file),
 *    builds the deferred and post-load indexes, switches the file to WAL,
 *    fsyncs it and renames it into place. When the compiled worker
 *    (worker.ts) is available, stocks are simulated on a worker thread while
 *    this thread inserts; the rows are identical either way.
 *
 * The planted signal. Each stock has a slowly varying latent "coil"
 * c_t ∈ [0, 1] (a logistic of an AR(1)) that damps daily volatility
 * (× (1 − 0.6c)) and volume (× (1 − 0.7c)), and a latent mood m_t ∈ [−1, 1]
 * (tanh of an AR(1)) from which news scores are drawn. A session closes at the
 * upper circuit with probability
 *   h_t = sigmoid(a + α_i + b1·c_t + b2·m_t + b3·clip(latest announced YoY revenue growth) + b4·[a result due within 10 days])
 * so the chance of an upper circuit in the next sessions rises with volatility
 * contraction, volume dry-up, revenue growth, positive news and earnings
 * proximity, all of which the 25 features can observe (noisily).
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, fsync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { badArgs, StockflowError } from '../errors.js';
import { TradingCalendar } from '../market/calendar.js';
import { lowerCircuitPrice, roundToTick, TICK, upperCircuitPrice } from '../market/circuit.js';
import { fromEpochDay, toEpochDay, type IsoDate } from '../market/dates.js';
import { MARKET_POST_LOAD_SQL, marketSchemaSql, type Db } from '../market/db.js';
import type { StockStatus } from '../market/types.js';
import { nseHolidaysBetween, type Holiday } from './holidays.js';
import { companyName, pickSector, SECTORS, symbolCandidates } from './names.js';
import { Rng } from './random.js';
import { removeOrphanTemps, syncDir, tempNameFor } from '../util/atomic-file.js';
import { DEMO_LAST_SESSION } from './defaults.js';


export interface GenerateOptions {
  /** The market.db to write (its directory is created if needed). */
  file: string;
  stocks: number;
  /** Trading sessions of prices, ending at DEMO_LAST_SESSION. */
  days: number;
  seed: number;
  /** Called with (0, total) first, then with increasing counts of stocks done, ending at (total, total). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Simulate on a worker thread while this thread writes (default: when the
   * compiled worker exists and there is more than one core). The rows are the
   * same either way.
   */
  useWorker?: boolean;
}

export interface GenerateSummary {
  file: string;
  stocks: number;
  active: number;
  priceRows: number;
  firstSession: IsoDate;
  lastSession: IsoDate;
  ms: number;
}

export const LIMITS = { minStocks: 1, maxStocks: 500_000, minDays: 30, maxDays: 10_000, maxSeed: 2 ** 32 - 1 } as const;

/** The hazard model's coefficients (logit scale). */
export const SIGNAL = {
  intercept: -7.1,
  coil: 4.6,
  mood: 1.4,
  growth: 2.0,
  earningsDue: 1.5,
  /** Stock-level random intercept's standard deviation. */
  stockSd: 0.35,
  /** Days ahead within which a due result raises the hazard. */
  dueWithinDays: 10,
  /** Growth is clipped to this range before entering the hazard. */
  growthClip: [-0.5, 1.0] as const,
  /** Persistence of the latent AR(1) processes per session. */
  phi: 0.97,
  volDamp: 0.6,
  volumeDamp: 0.7,
  /** How far an upper-circuit day releases the coil (on the AR(1) scale). */
  coilRelease: 1.5,
} as const;

// Random stream ids: each aspect of each stock has its own stream.
const STREAM_CODES = 1;
const STREAM_PLAN = 2;
const STREAM_MARKET = 3;
const STREAM_IDENTITY = 10;
const STREAM_RESULTS = 11;
const STREAM_PATH = 12;
const STREAM_NEWS = 13;
const STREAM_RESULTS_PLAN = 14;

export const StockKind = {
  Normal: 0,
  Suspended: 1,
  Delisted: 2,
  /** ACTIVE, but no prices in the last 10–30 sessions. */
  Stale: 3,
  /** ACTIVE, listed recently: fewer than 200 sessions of prices. */
  Recent: 4,
} as const;
export type StockKind = (typeof StockKind)[keyof typeof StockKind];

export interface Quarter {
  end: IsoDate;
  endDay: number;
  /** The March quarter (the fiscal year's last): reported later. */
  fiscalYearEnd: boolean;
}

export interface StockIdentity {
  code: string;
  symbol: string | null;
  name: string;
  shortName: string;
  sector: number;
  kind: StockKind;
  hasResults: boolean;
  marketCapCr: number;
  bandPct: number;
  listedOn: IsoDate;
}

export interface MarketPlan {
  seed: number;
  stocks: number;
  days: number;
  sessions: IsoDate[];
  sessionDay: Int32Array;
  /** Holidays stored in market_holidays: every year the sessions touch, and the next one. */
  holidays: Holiday[];
  quarters: Quarter[];
  /** A common daily market return shared (with a per-stock beta) by all stocks. */
  marketFactor: Float64Array;
  identities: StockIdentity[];
  /** ISO strings of the days from `dayBase` on (quarter ends to past the last announcement), for speed. */
  dayBase: number;
  dayStrings: string[];
}

export interface ResultRow {
  periodEnd: IsoDate;
  announcedOn: IsoDate;
  revenueCr: number;
  netProfitCr: number;
  eps: number;
}

export interface NewsRow {
  publishedOn: IsoDate;
  score: number;
  headline: string;
}

export interface StockSim {
  id: StockIdentity;
  status: StockStatus;
  /** Price session range [first, last]; no prices when last < first. */
  first: number;
  last: number;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  /** 1 on an upper-circuit close. */
  uc: Uint8Array;
  /** Latent drivers per session (for calibration): coil, mood, hazard, clipped growth in force, result due. */
  coil: Float32Array;
  mood: Float32Array;
  hazard: Float32Array;
  growth: Float32Array;
  due: Uint8Array;
  results: ResultRow[];
  calendar: IsoDate[];
  news: NewsRow[];
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);
const round2 = (x: number): number => Math.round(x * 100) / 100;
const MIN_PRICE = 10;

function checkInt(what: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw badArgs(`${what} must be a whole number from ${lo} to ${hi}, got ${v}`);
}

function sessionsEndingAt(last: IsoDate, days: number): { sessions: IsoDate[]; holidays: Holiday[] } {
  const lastYear = Number(last.slice(0, 4));
  // Widen the holiday years backwards until they cover `days` sessions.
  let fromYear = lastYear - Math.ceil(days / 240) - 1;
  for (;;) {
    const all = nseHolidaysBetween(fromYear, lastYear + 1);
    const cal = new TradingCalendar(all.map((h) => h.date));
    const start = `${fromYear}-01-01`;
    const sessions = cal.lastSessions(last, days);
    if (sessions[0] > start) {
      const firstYear = Number(sessions[0].slice(0, 4));
      return { sessions, holidays: all.filter((h) => Number(h.date.slice(0, 4)) >= firstYear) };
    }
    fromYear -= 2;
  }
}

function quarterEndsBetween(fromDay: number, toDay: number): Quarter[] {
  const out: Quarter[] = [];
  const y0 = Number(fromEpochDay(fromDay).slice(0, 4)) - 1;
  const y1 = Number(fromEpochDay(toDay).slice(0, 4)) + 1;
  for (let y = y0; y <= y1; y++) {
    for (const md of ['03-31', '06-30', '09-30', '12-31']) {
      const end = `${y}-${md}`;
      const d = toEpochDay(end);
      if (d >= fromDay && d <= toDay) out.push({ end, endDay: d, fiscalYearEnd: md === '03-31' });
    }
  }
  return out;
}

/** Exact counts of each kind of stock, keeping the ACTIVE stocks a batch must skip under 1.55%. */
export function kindCounts(stocks: number): { suspended: number; delisted: number; stale: number; recent: number; noResults: number } {
  const suspended = Math.round(0.02 * stocks);
  const delisted = Math.round(0.01 * stocks);
  const active = stocks - suspended - delisted;
  let stale = Math.round(0.01 * active);
  let recent = Math.round(0.005 * active);
  while (stale + recent > 0.0155 * active) {
    if (recent > 0 && recent * 2 >= stale) recent--;
    else stale--;
  }
  return { suspended, delisted, stale, recent, noResults: Math.round(0.05 * stocks) };
}

function drawCodes(seed: number, stocks: number): string[] {
  const lo = 500000;
  const span = stocks <= 22500 ? 45000 : 500000;
  const pool = new Int32Array(span);
  for (let i = 0; i < span; i++) pool[i] = lo + i;
  const rng = new Rng(seed, STREAM_CODES);
  for (let i = 0; i < stocks; i++) {
    const j = i + Math.floor(rng.float() * (span - i));
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  return Array.from(pool.subarray(0, stocks))
    .sort((a, b) => a - b)
    .map(String);
}

/** Everything market-wide or unique across stocks, fixed by (stocks, days, seed). */
export function planMarket(stocks: number, days: number, seed: number): MarketPlan {
  checkInt('--stocks', stocks, LIMITS.minStocks, LIMITS.maxStocks);
  checkInt('--days', days, LIMITS.minDays, LIMITS.maxDays);
  checkInt('--seed', seed, 0, LIMITS.maxSeed);

  const { sessions, holidays } = sessionsEndingAt(DEMO_LAST_SESSION, days);
  const sessionDay = Int32Array.from(sessions, toEpochDay);
  const firstDay = sessionDay[0];
  const lastDay = sessionDay[days - 1];
  // Quarters: from 7 quarters before the last one announced by the first session, to the
  // quarter after the last session (whose results are still to come).
  const quarters = quarterEndsBetween(firstDay - 61 - 8 * 92, lastDay + 60);
  const latestBefore = quarters.filter((q) => q.endDay <= firstDay - 61).length - 1;
  quarters.splice(0, Math.max(0, latestBefore - 7));

  const marketRng = new Rng(seed, STREAM_MARKET);
  const marketFactor = new Float64Array(days);
  let vol = 0.009;
  for (let t = 0; t < days; t++) {
    vol = clamp(0.009 + 0.94 * (vol - 0.009) + 0.0012 * marketRng.normal(), 0.005, 0.02);
    marketFactor[t] = 0.0003 + vol * marketRng.normal();
  }

  const codes = drawCodes(seed, stocks);
  const counts = kindCounts(stocks);
  const kinds = new Uint8Array(stocks);
  const planRng = new Rng(seed, STREAM_PLAN);
  const order = planRng.shuffle(Array.from({ length: stocks }, (_, i) => i));
  let k = 0;
  for (let n = 0; n < counts.suspended; n++) kinds[order[k++]] = StockKind.Suspended;
  for (let n = 0; n < counts.delisted; n++) kinds[order[k++]] = StockKind.Delisted;
  for (let n = 0; n < counts.stale; n++) kinds[order[k++]] = StockKind.Stale;
  for (let n = 0; n < counts.recent; n++) kinds[order[k++]] = StockKind.Recent;
  const noResults = new Uint8Array(stocks);
  const order2 = new Rng(seed, STREAM_RESULTS_PLAN).shuffle(Array.from({ length: stocks }, (_, i) => i));
  for (let n = 0; n < counts.noResults; n++) noResults[order2[n]] = 1;

  const listedLo = Math.min(toEpochDay('1988-01-01'), firstDay - 3000);
  const listedHi = firstDay - 30;
  const names = new Set<string>();
  const symbols = new Set<string>();
  const identities: StockIdentity[] = [];
  for (let i = 0; i < stocks; i++) {
    const rng = new Rng(seed, i, STREAM_IDENTITY);
    const sector = pickSector(rng);
    let parts = companyName(rng, SECTORS[sector]);
    for (let tries = 0; names.has(parts.name) && tries < 40; tries++) parts = companyName(rng, SECTORS[sector]);
    if (names.has(parts.name)) {
      const base = parts.name.replace(/ (LTD|LIMITED|\(INDIA\) LTD)$/, '');
      let n = 2;
      while (names.has(`${base} (${n}) LTD`)) n++;
      parts = { ...parts, name: `${base} (${n}) LTD` };
    }
    names.add(parts.name);

    // Market cap in crore: log-normal, median ~400, a long right tail.
    const marketCapCr = round2(clamp(rng.logNormal(Math.log(400), 2.0), 5, 2_000_000));
    const small = marketCapCr < 500;
    const bandPct = [2, 5, 10, 20][rng.weighted(small ? [0.14, 0.36, 0.2, 0.3] : [0.03, 0.14, 0.3, 0.53])];

    let symbol: string | null = null;
    const bseOnly = rng.chance(marketCapCr < 100 ? 0.3 : marketCapCr < 1000 ? 0.1 : 0.01);
    if (!bseOnly) {
      symbol = symbolCandidates(parts).find((s) => !symbols.has(s)) ?? null;
      if (symbol === null) {
        const stem = symbolCandidates(parts)[0].slice(0, 8);
        for (let n = 0; symbol === null; n++) {
          const s = stem + String.fromCharCode(65 + (n % 26)) + (n >= 26 ? String.fromCharCode(65 + Math.floor(n / 26) - 1) : '');
          if (!symbols.has(s)) symbol = s;
        }
      }
      symbols.add(symbol);
    }
    const kind = kinds[i] as StockKind;
    // Older codes were listed earlier: listing dates follow the code order, with noise.
    const u = clamp((i + rng.float()) / stocks, 0, 1);
    const listedOn = fromEpochDay(Math.floor(listedLo + (listedHi - listedLo) * Math.pow(u, 0.8)));
    identities.push({
      code: codes[i],
      symbol,
      name: parts.name,
      shortName: symbol ?? parts.root,
      sector,
      kind,
      hasResults: noResults[i] === 0,
      marketCapCr,
      bandPct,
      listedOn,
    });
  }
  const dayBase = quarters[0].endDay;
  const dayStrings: string[] = [];
  for (let d = dayBase; d <= quarters[quarters.length - 1].endDay + 70; d++) dayStrings.push(fromEpochDay(d));
  return { seed, stocks, days, sessions, sessionDay, holidays, quarters, marketFactor, identities, dayBase, dayStrings };
}

// ---------------------------------------------------------------------------
// One stock.

const POSITIVE = [
  'bags order worth Rs {n} crore',
  'net profit jumps {p}% in the quarter',
  'board approves bonus issue',
  'promoter group raises stake',
  'wins contract from state utility',
  'brokerage upgrades to buy',
  'announces capacity expansion',
  'revenue beats street estimates',
  'signs MoU for new plant',
  'order book hits record high',
  'completes debt reduction plan',
  'gets USFDA nod for new product',
] as const;
const NEUTRAL = [
  'schedules board meeting',
  'clarifies on news report',
  'announces AGM date',
  'appoints new independent director',
  'shares in focus after block deal',
  'files quarterly shareholding pattern',
  'management reiterates guidance',
  'to consider fund raising',
] as const;
const NEGATIVE = [
  'net profit falls {p}% in the quarter',
  'promoter pledges more shares',
  'receives GST demand notice',
  'brokerage downgrades to sell',
  'plant shutdown hits output',
  'auditor resigns citing concerns',
  'margins under pressure on input costs',
  'loses key client contract',
  'faces SEBI show-cause notice',
  'misses revenue estimates',
] as const;

function headlineFor(rng: Rng, who: string, score: number): string {
  const list = score > 0.25 ? POSITIVE : score < -0.25 ? NEGATIVE : NEUTRAL;
  const t = rng.pick(list)
    .replace('{n}', String(rng.int(5, 900)))
    .replace('{p}', String(rng.int(8, 140)));
  return `${who} ${t}`;
}

/** A weekday on or near `day`, keeping `day − end` within [30, 60]. */
function announceDay(end: number, lag: number): number {
  let d = end + lag;
  const w = (d + 4) % 7;
  if (w === 6) d += d + 2 - end <= 60 ? 2 : -1;
  else if (w === 0) d += d + 1 - end <= 60 ? 1 : -2;
  return d;
}

/** One stock's full history, from its own random streams. */
export function simulateStock(plan: MarketPlan, i: number): StockSim {
  const { seed, days, sessionDay, quarters, dayBase, dayStrings } = plan;
  const iso = (d: number): IsoDate => dayStrings[d - dayBase];
  const id = plan.identities[i];
  const band = id.bandPct;
  const lastDay = sessionDay[days - 1];

  // Price range by kind.
  const pathRng = new Rng(seed, i, STREAM_PATH);
  let first = 0;
  let last = days - 1;
  let status: StockStatus = 'ACTIVE';
  switch (id.kind) {
    case StockKind.Suspended:
      status = 'SUSPENDED';
      last = days - 1 - pathRng.int(5, Math.min(120, days - 20));
      break;
    case StockKind.Delisted:
      status = 'DELISTED';
      last = days - 1 - pathRng.int(Math.min(20, days - 20), Math.min(300, days - 20));
      break;
    case StockKind.Stale:
      last = days - 1 - pathRng.int(10, 30);
      break;
    case StockKind.Recent:
      first = days - Math.min(pathRng.int(40, 199), days - 1);
      break;
    default:
      break;
  }
  const stopDay = status === 'ACTIVE' ? Infinity : sessionDay[last];

  // Quarterly results: announcement dates, revenue with persistent YoY growth, margins.
  const resRng = new Rng(seed, i, STREAM_RESULTS);
  const sector = SECTORS[id.sector];
  const habit = resRng.uniform(33, 55);
  const nq = quarters.length;
  const annDay = new Int32Array(nq);
  const revenue = new Float64Array(nq);
  const netProfit = new Float64Array(nq);
  const yoy = new Float64Array(nq);
  const muG = 0.1 + 0.1 * resRng.normal();
  const baseMargin = sector.margin + 0.07 * resRng.normal();
  const quarterSales = (id.marketCapCr / sector.capToQuarterSales) * resRng.logNormal(-0.35, 0.5);
  const season = [resRng.uniform(0.9, 1.1), resRng.uniform(0.9, 1.1), resRng.uniform(0.9, 1.1), resRng.uniform(0.95, 1.2)];
  let gDev = 0.15 * resRng.normal();
  let mDev = 0;
  for (let q = 0; q < nq; q++) {
    const lag = clamp(Math.round(habit + (quarters[q].fiscalYearEnd ? 8 : 0) + 4 * resRng.normal()), 30, 60);
    annDay[q] = announceDay(quarters[q].endDay, lag);
    let r: number;
    if (q < 4) r = quarterSales * season[q % 4] * resRng.logNormal(0, 0.06);
    else {
      gDev = 0.6 * gDev + 0.16 * resRng.normal();
      const g = clamp(muG + gDev, -0.6, 2.0);
      r = revenue[q - 4] * (1 + g);
    }
    revenue[q] = Math.max(0.5, round2(r));
    if (q >= 4) yoy[q] = revenue[q] / revenue[q - 4] - 1;
    mDev = 0.5 * mDev + 0.035 * resRng.normal();
    const margin = baseMargin + mDev + (q >= 4 ? 0.15 * (yoy[q] - muG) : 0);
    netProfit[q] = round2(revenue[q] * margin);
  }
  const calendarOffsets = quarters.map(() => (resRng.chance(0.55) ? 0 : resRng.int(-2, 2)));

  // Latent paths, prices and volumes.
  const open = new Float64Array(days).fill(NaN);
  const high = new Float64Array(days).fill(NaN);
  const low = new Float64Array(days).fill(NaN);
  const close = new Float64Array(days).fill(NaN);
  const volume = new Float64Array(days).fill(NaN);
  const uc = new Uint8Array(days);
  const coil = new Float32Array(days);
  const mood = new Float32Array(days);
  const hazard = new Float32Array(days);
  const growth = new Float32Array(days);
  const due = new Uint8Array(days);

  const phi = SIGNAL.phi;
  const innov = Math.sqrt(1 - phi * phi);
  const alpha = SIGNAL.stockSd * pathRng.normal() + (band === 2 ? 0.1 : band === 5 ? 0.25 : band === 20 ? -0.2 : 0);
  const moodBias = 0.25 * pathRng.normal();
  const smallness = clamp((Math.log10(2_000_000) - Math.log10(id.marketCapCr)) / 5.6, 0, 1);
  const sigmaBase = Math.min((band / 100) * 0.3, (0.011 + 0.02 * smallness) * pathRng.logNormal(0, 0.25));
  const beta = clamp(0.5 + 0.6 * (1 - smallness) + 0.25 * pathRng.normal(), 0.1, 1.8);
  let price = roundToTick(clamp(pathRng.logNormal(Math.log(140), 1.1), 15, 25000));
  const anchor0 = Math.log(price);
  const trend = 0.0002 * pathRng.normal();
  const kappa = 0.004;
  const baseVolume = Math.max(200, (id.marketCapCr * 1e7 * pathRng.logNormal(Math.log(0.0012), 0.6)) / price);
  const zeroVolumeP = id.marketCapCr < 50 ? 0.01 : id.marketCapCr < 200 ? 0.003 : 0.0005;
  const expectedUcLog = sigmoid(SIGNAL.intercept + alpha + SIGNAL.coil * 0.45) * Math.log(1 + band / 100);

  let x = pathRng.normal();
  let y = pathRng.normal();
  let qAnn = 0; // quarters announced so far (in order of announcement day, which follows quarter order)
  const [gLo, gHi] = SIGNAL.growthClip;
  for (let t = 0; t < days; t++) {
    const today = sessionDay[t];
    x = phi * x + innov * pathRng.normal();
    y = phi * y + innov * pathRng.normal();
    const c = sigmoid(1.8 * x - 0.3);
    const m = Math.tanh(0.9 * y + moodBias);
    while (qAnn < nq && annDay[qAnn] <= today) qAnn++;
    let g = 0;
    let isDue = 0;
    if (id.hasResults) {
      const latest = qAnn - 1;
      if (latest >= 4) g = clamp(yoy[latest], gLo, gHi);
      if (qAnn < nq && annDay[qAnn] - today <= SIGNAL.dueWithinDays) isDue = 1;
      if (latest >= 0 && annDay[latest] === today) isDue = 1;
    }
    const h = sigmoid(SIGNAL.intercept + alpha + SIGNAL.coil * c + SIGNAL.mood * m + SIGNAL.growth * g + SIGNAL.earningsDue * isDue);
    coil[t] = c;
    mood[t] = m;
    hazard[t] = h;
    growth[t] = g;
    due[t] = isDue;

    // Draw every session's numbers even outside the price range, so the stream stays aligned.
    const uHit = pathRng.float();
    const uZero = pathRng.float();
    const z = pathRng.normal();
    const zOpen = pathRng.normal();
    const zHigh = Math.abs(pathRng.normal());
    const zLow = Math.abs(pathRng.normal());
    const zVol = pathRng.normal();
    const uSpike = pathRng.float();
    if (t < first || t > last) continue;

    const prev = price;
    const ucP = upperCircuitPrice(prev, band);
    const lcP = lowerCircuitPrice(prev, band);
    const floor = Math.max(lcP, MIN_PRICE);
    const damp = 1 - SIGNAL.volDamp * c;
    const sig = sigmaBase * damp;
    const volLevel = baseVolume * (1 - SIGNAL.volumeDamp * c);
    let o: number;
    let hi: number;
    let lo: number;
    let cl: number;
    let v: number;
    if (uHit < h) {
      cl = ucP;
      o = clamp(roundToTick(prev * Math.exp(Math.abs(zOpen) * sig * 0.8)), floor, ucP);
      hi = ucP;
      lo = Math.min(o, clamp(roundToTick(o * Math.exp(-zLow * sig * 0.4)), floor, o));
      v = volLevel * Math.exp(0.5 * zVol - 0.125) * (2 + 2 * uSpike);
      uc[t] = 1;
      x -= SIGNAL.coilRelease;
    } else if (uZero < zeroVolumeP) {
      o = hi = lo = cl = prev;
      v = 0;
    } else {
      const r = -kappa * (Math.log(prev) - anchor0 - trend * t) - expectedUcLog + damp * (beta * plan.marketFactor[t] + sigmaBase * z);
      cl = clamp(roundToTick(prev * Math.exp(r)), floor, ucP - TICK);
      o = clamp(roundToTick(prev * Math.exp(0.35 * sig * zOpen)), floor, ucP);
      const top = Math.max(o, cl);
      const bottom = Math.min(o, cl);
      hi = clamp(roundToTick(top * Math.exp(0.45 * sig * zHigh)), top, ucP);
      lo = clamp(roundToTick(bottom * Math.exp(-0.45 * sig * zLow)), floor, bottom);
      v = volLevel * Math.exp(0.5 * zVol - 0.125) * (1 + 0.35 * Math.abs(z));
    }
    open[t] = o;
    high[t] = hi;
    low[t] = lo;
    close[t] = cl;
    volume[t] = v === 0 ? 0 : Math.max(1, Math.round(v));
    price = cl;
  }

  // Rows: results (announced by the last session, and while still trading), the calendar, news.
  const results: ResultRow[] = [];
  const calendar: IsoDate[] = [];
  if (id.hasResults) {
    const lastClose = last >= first ? close[last] : price;
    const sharesCr = id.marketCapCr / lastClose;
    for (let q = 0; q < nq; q++) {
      if (annDay[q] > stopDay) break;
      const expected = iso(annDay[q] + calendarOffsets[q]);
      if (annDay[q] <= lastDay) {
        results.push({
          periodEnd: quarters[q].end,
          announcedOn: iso(annDay[q]),
          revenueCr: revenue[q],
          netProfitCr: netProfit[q],
          eps: round2(netProfit[q] / sharesCr),
        });
        calendar.push(expected);
      } else if (status === 'ACTIVE') calendar.push(expected);
    }
  }

  const newsRng = new Rng(seed, i, STREAM_NEWS);
  const news: NewsRow[] = [];
  const perDay = (1.2 + 0.6 * Math.log10(id.marketCapCr)) / 30;
  const newsFrom = first;
  const newsTo = status === 'ACTIVE' ? days - 1 : last;
  for (let t = newsFrom; t <= newsTo; t++) {
    const gap = t === 0 ? 1 : sessionDay[t] - sessionDay[t - 1];
    const n = newsRng.poisson(perDay * gap * (0.7 + 0.8 * Math.abs(mood[t])));
    if (n === 0) continue;
    const used = new Set<string>();
    for (let j = 0; j < n; j++) {
      const published = iso(sessionDay[t] - newsRng.int(0, gap - 1));
      const score = Math.round(clamp(0.7 * mood[t] + 0.3 * newsRng.normal(), -1, 1) * 1000) / 1000;
      let headline = headlineFor(newsRng, id.shortName, score);
      for (let tries = 0; used.has(`${published}|${headline}`) && tries < 20; tries++) headline = headlineFor(newsRng, id.shortName, score);
      if (used.has(`${published}|${headline}`)) continue;
      used.add(`${published}|${headline}`);
      news.push({ publishedOn: published, score, headline });
    }
  }
  news.sort((a, b) => (a.publishedOn < b.publishedOn ? -1 : a.publishedOn > b.publishedOn ? 1 : 0));

  return { id, status, first, last, open, high, low, close, volume, uc, coil, mood, hazard, growth, due, results, calendar, news };
}


// ---------------------------------------------------------------------------
// What the writer needs of a simulated stock (compact, transferable between threads).

export interface StockRows {
  index: number;
  status: StockStatus;
  /** First price session index; the price arrays hold sessions first … first + length − 1. */
  first: number;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  results: ResultRow[];
  calendar: IsoDate[];
  news: NewsRow[];
}

export function toRows(s: StockSim, index: number): StockRows {
  const n = Math.max(0, s.last - s.first + 1);
  const part = (a: Float64Array): Float64Array => a.slice(s.first, s.first + n);
  return {
    index,
    status: s.status,
    first: s.first,
    open: part(s.open),
    high: part(s.high),
    low: part(s.low),
    close: part(s.close),
    volume: part(s.volume),
    results: s.results,
    calendar: s.calendar,
    news: s.news,
  };
}

/** Stocks per message between the simulating and the writing thread. */
export const CHUNK_STOCKS = 100;

export interface WorkerInput {
  stocks: number;
  days: number;
  seed: number;
}

/** Messages from the worker: a chunk of stocks in index order, the end, or a failure. */
export type WorkerMessage = { chunk: StockRows[] } | { done: true } | { error: string };

/** Simulates chunks [k·CHUNK, …) on demand; the worker thread and the in-thread path share it. */
export function simulateChunk(plan: MarketPlan, from: number): StockRows[] {
  const out: StockRows[] = [];
  for (let i = from; i < Math.min(plan.stocks, from + CHUNK_STOCKS); i++) out.push(toRows(simulateStock(plan, i), i));
  return out;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

function workerAvailable(): boolean {
  return WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL)) && availableParallelism() > 1;
}

async function* chunksInThread(plan: MarketPlan): AsyncGenerator<StockRows[]> {
  for (let from = 0; from < plan.stocks; from += CHUNK_STOCKS) {
    yield simulateChunk(plan, from);
  }
}

async function* chunksFromWorker(plan: MarketPlan): AsyncGenerator<StockRows[]> {
  const worker = new Worker(WORKER_URL, { workerData: { stocks: plan.stocks, days: plan.days, seed: plan.seed } satisfies WorkerInput });
  const queue: WorkerMessage[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  let finished = false;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (m: WorkerMessage) => {
    queue.push(m);
    notify();
  });
  worker.on('error', (e: Error) => {
    failure = e;
    notify();
  });
  worker.on('exit', (code) => {
    if (!finished && !failure) failure = new Error(`the generator worker stopped (exit code ${code})`);
    notify();
  });
  // Credits: at most a few chunks in flight, so memory stays flat however large the market.
  worker.postMessage(4);
  try {
    for (;;) {
      while (queue.length === 0 && !failure) await new Promise<void>((resolve) => (wake = resolve));
      const m = queue.shift();
      if (m === undefined) throw failure ?? new Error('the generator worker failed');
      if ('error' in m) throw new Error(`generator worker: ${m.error}`);
      if ('done' in m) {
        finished = true;
        return;
      }
      worker.postMessage(1);
      yield m.chunk;
    }
  } finally {
    finished = true;
    await worker.terminate();
  }
}

// ---------------------------------------------------------------------------
// Writing.

/** Multi-row INSERTs: a statement for `size` rows at a time, and a one-row statement for the rest. */
class BatchInsert {
  private readonly full: Database.Statement;
  private readonly one: Database.Statement;
  private readonly args: unknown[];
  private k = 0;
  rows = 0;

  constructor(db: Db, table: string, columns: readonly string[], private readonly size: number) {
    const tuple = `(${columns.map(() => '?').join(',')})`;
    const head = `INSERT INTO ${table} (${columns.join(',')}) VALUES `;
    this.full = db.prepare(head + Array(size).fill(tuple).join(','));
    this.one = db.prepare(head + tuple);
    this.args = new Array(size * columns.length);
  }

  push(...values: unknown[]): void {
    for (const v of values) this.args[this.k++] = v;
    this.rows++;
    if (this.k === this.args.length) {
      this.full.run(this.args);
      this.k = 0;
    }
  }

  flush(): void {
    const width = this.args.length / this.size;
    for (let at = 0; at < this.k; at += width) this.one.run(this.args.slice(at, at + width));
    this.k = 0;
  }
}

function removeDbFiles(file: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(file + suffix, { force: true });
}

/** Empties the WAL of a database about to be replaced, so no stale WAL is ever paired with the new file. */
function quiesceTarget(file: string): void {
  if (!existsSync(file)) return;
  try {
    const db = new Database(file, { fileMustExist: true });
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
  } catch {
    // Not a database, or unreadable: it is replaced whole below.
  }
}


/**
 * Flushes a file to disk in the background while it is being written (on the
 * libuv thread pool, overlapping the CPU work), so the final sync before the
 * rename has little left to do.
 */
class BackgroundFlush {
  private fd: number | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(file: string) {
    this.fd = openSync(file, 'r');
  }

  kick(): void {
    if (this.inFlight || this.fd === undefined) return;
    const fd = this.fd;
    this.inFlight = new Promise<void>((resolve) => fsync(fd, () => resolve())).then(() => {
      this.inFlight = undefined;
    });
  }

  /** Waits for a flush in progress, then syncs what is left. */
  async finish(): Promise<void> {
    await this.inFlight;
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    this.close();
  }

  /** Waits for a flush in progress and lets the file go unsynced (it is about to be deleted). */
  async abandon(): Promise<void> {
    await this.inFlight;
    this.close();
  }

  private close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Writes a whole demo market to `o.file`, atomically. */
export async function generateMarket(o: GenerateOptions): Promise<GenerateSummary> {
  const t0 = performance.now();
  const plan = planMarket(o.stocks, o.days, o.seed);
  const target = path.resolve(o.file);
  const dir = path.dirname(target);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw badArgs(`cannot create the data directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  removeOrphanTemps(target);
  const tmp = tempNameFor(target);
  removeDbFiles(tmp);

  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals): void => {
    interrupted = s;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let db: Db | undefined;
  let flush: BackgroundFlush | undefined;
  try {
    db = new Database(tmp);
    flush = new BackgroundFlush(tmp);
    // No rollback journal for a file nobody else can see (better-sqlite3's defensive mode forbids it otherwise).
    db.unsafeMode(true);
    db.pragma('journal_mode = OFF');
    db.unsafeMode(false);
    db.pragma('synchronous = OFF');
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('temp_store = MEMORY');
    db.pragma('cache_size = -65536');
    db.exec(marketSchemaSql());
    // Secondary indexes are cheaper built once after the load than maintained row by row.
    const deferred = db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
      .all() as { name: string; sql: string }[];
    for (const ix of deferred) db.exec(`DROP INDEX "${ix.name}"`);
    db.exec('BEGIN');

    const holidays = new BatchInsert(db, 'market_holidays', ['holiday_on', 'name'], 50);
    for (const h of plan.holidays) holidays.push(h.date, h.name);
    holidays.flush();

    const master = new BatchInsert(
      db,
      'master_stock_list',
      ['bse_code', 'nse_symbol', 'company_name', 'sector', 'status', 'market_cap_cr', 'circuit_band_pct', 'listed_on'],
      50,
    );
    const prices = new BatchInsert(db, 'daily_prices', ['bse_code', 'trade_date', 'open', 'high', 'low', 'close', 'volume'], 100);
    const results = new BatchInsert(db, 'quarterly_results', ['bse_code', 'period_end', 'announced_on', 'revenue_cr', 'net_profit_cr', 'eps'], 50);
    const calendar = new BatchInsert(db, 'earnings_calendar', ['bse_code', 'expected_on'], 50);
    const news = new BatchInsert(db, 'news_sentiment', ['bse_code', 'published_on', 'score', 'headline'], 100);

    const total = plan.stocks;
    o.onProgress?.(0, total);
    let active = 0;
    let firstPriceSession = Infinity;
    let done = 0;
    const chunks = (o.useWorker ?? workerAvailable()) ? chunksFromWorker(plan) : chunksInThread(plan);
    for await (const chunk of chunks) {
      for (const s of chunk) {
        const id = plan.identities[s.index];
        if (s.status === 'ACTIVE') active++;
        master.push(id.code, id.symbol, id.name, SECTORS[id.sector].name, s.status, id.marketCapCr, id.bandPct, id.kind === StockKind.Recent ? plan.sessions[s.first] : id.listedOn);
        const n = s.close.length;
        for (let k = 0; k < n; k++) prices.push(id.code, plan.sessions[s.first + k], s.open[k], s.high[k], s.low[k], s.close[k], s.volume[k]);
        if (n > 0) firstPriceSession = Math.min(firstPriceSession, s.first);
        for (const r of s.results) results.push(id.code, r.periodEnd, r.announcedOn, r.revenueCr, r.netProfitCr, r.eps);
        for (const d of s.calendar) calendar.push(id.code, d);
        for (const x of s.news) news.push(id.code, x.publishedOn, x.score, x.headline);
      }
      if (chunk.length === 0 || chunk[0].index !== done) throw new Error(`generator chunks out of order at stock ${done}`);
      done += chunk.length;
      o.onProgress?.(done, total);
      flush.kick();
      // Back to the event loop between chunks (worker messages alone can keep it busy): timers, progress bars, signals.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (interrupted) throw new StockflowError('INTERRUPTED', `interrupted by ${interrupted}: ${target} left as it was`);
    }
    if (done !== total) throw new Error(`generator produced ${done} of ${total} stocks`);
    for (const b of [master, prices, results, calendar, news]) b.flush();
    db.exec('COMMIT');
    // The indexes' sorts in temporary files (the OS caches them), not in memory: sorting 32.6 M price rows (110,000
    // stocks × 300 sessions) in memory took the generator's peak RSS to 2.3 GB (#16).
    db.pragma('temp_store = FILE');
    for (const ix of deferred) db.exec(ix.sql);
    db.exec(MARKET_POST_LOAD_SQL);
    db.pragma('analysis_limit = 1000');
    db.exec('ANALYZE');
    // Leave the file in the state every other opener expects.
    db.pragma('locking_mode = NORMAL');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.close();
    db = undefined;
    if (interrupted) throw new StockflowError('INTERRUPTED', `interrupted by ${interrupted}: ${target} left as it was`);

    // The rows were written without syncs: make them durable before the file takes the target's name.
    await flush.finish();
    quiesceTarget(target);
    renameSync(tmp, target);
    removeDbFiles(tmp);
    syncDir(dir);

    const priceRows = prices.rows;
    return {
      file: target,
      stocks: plan.stocks,
      active,
      priceRows,
      firstSession: plan.sessions[Number.isFinite(firstPriceSession) ? firstPriceSession : 0],
      lastSession: plan.sessions[plan.days - 1],
      ms: Math.round(performance.now() - t0),
    };
  } catch (e) {
    if (db?.open) db.close();
    await flush?.abandon();
    removeDbFiles(tmp);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

