/**
 * The indicator math behind the 13 technical features.
 *
 * Every function is pure and takes numeric series ordered oldest → newest.
 * It returns the indicator's value at the as-of element, which is the last
 * element, x[end − 1] (`end` defaults to x.length; pass it when the arrays are
 * reused buffers longer than the data), or NaN when the series is too short
 * for the indicator to be defined. Inputs are assumed finite.
 *
 * Conventions follow R's TTR (and TA-Lib where the two agree), so values can
 * be checked against those libraries; docs/features.md spells out every
 * formula and the few places where TTR and TA-Lib differ:
 *  - EMA(n): multiplier 2/(n + 1), first value at index n − 1 = SMA of the
 *    first n values (TTR EMA, TA-Lib EMA in its default compatibility mode).
 *  - Wilder smoothing (RSI, ATR): first value = simple mean of the first n
 *    inputs, then avg = (avg·(n − 1) + cur) / n.
 *  - Standard deviations: sample (n − 1) for the return volatility (R sd,
 *    TTR runSD), population (n) for Bollinger bands (TTR BBands, TA-Lib BBANDS).
 *
 * They run for ~11,000 stocks × ~320 bars per night: each is one O(n) pass
 * (two for the standard deviations), allocates nothing and creates no closures.
 */
import { isUpperCircuit } from '../market/circuit.js';
import { FEATURE_INDEX } from './definition.js';

/** Sessions of history the technical set needs: its longest windows are 250 sessions. */
export const MIN_SESSIONS = 250;

/**
 * Bars the extractor loads per stock. The recursive indicators (EMA, MACD,
 * Wilder's RSI and ATR) depend on their seed; after ~300 smoothing steps the
 * seed's weight is below 2·10⁻¹⁰ ((25/27)^294, (13/14)^305), so values from
 * 320 bars agree with an arbitrarily long history to about that precision.
 */
export const LOOKBACK_SESSIONS = 320;

/** High, low, close and volume columns, oldest first (no feature uses the open); `length` is the number of bars in use. */
export interface OhlcvBars {
  readonly length: number;
  readonly high: ArrayLike<number>;
  readonly low: ArrayLike<number>;
  readonly close: ArrayLike<number>;
  readonly volume: ArrayLike<number>;
  /** Per-bar upper-circuit hits (1 = hit) when the market has exchange bands or observed hits; else the closes are judged with one band. */
  readonly uc?: ArrayLike<number>;
}

function checkPeriod(name: string, n: number, min = 1): void {
  if (!Number.isInteger(n) || n < min) throw new RangeError(`${name}: period must be an integer ≥ ${min}, got ${n}`);
}

/** Simple moving average of the last n values: mean(x[end − n … end − 1]). NaN when end < n. */
export function sma(x: ArrayLike<number>, n: number, end: number = x.length): number {
  checkPeriod('sma', n);
  if (end < n) return NaN;
  let s = 0;
  for (let i = end - n; i < end; i++) s += x[i];
  return s / n;
}

/** Mean of the last n values (the same as sma; named for volumes). NaN when end < n. */
export function meanLast(v: ArrayLike<number>, n: number, end: number = v.length): number {
  return sma(v, n, end);
}

/** Largest of the last n values. NaN when end < n. */
export function maxLast(x: ArrayLike<number>, n: number, end: number = x.length): number {
  checkPeriod('maxLast', n);
  if (end < n) return NaN;
  let m = x[end - n];
  for (let i = end - n + 1; i < end; i++) if (x[i] > m) m = x[i];
  return m;
}

/** n-session simple return close[last] / close[last − n] − 1. NaN when end < n + 1 or the base is 0. */
export function ret(close: ArrayLike<number>, n: number, end: number = close.length): number {
  checkPeriod('ret', n);
  if (end < n + 1) return NaN;
  const base = close[end - 1 - n];
  if (base === 0) return NaN;
  return close[end - 1] / base - 1;
}

/**
 * Exponential moving average at the last element (TTR `EMA(x, n)`):
 * e[n − 1] = mean(x[0 … n − 1]); e[t] = k·x[t] + (1 − k)·e[t − 1], k = 2/(n + 1).
 * NaN when end < n.
 */
export function emaLast(x: ArrayLike<number>, n: number, end: number = x.length): number {
  checkPeriod('emaLast', n);
  if (end < n) return NaN;
  let e = 0;
  for (let i = 0; i < n; i++) e += x[i];
  e /= n;
  const k = 2 / (n + 1);
  const k1 = 1 - k;
  for (let i = n; i < end; i++) e = x[i] * k + e * k1;
  return e;
}

/**
 * Wilder's RSI at the last element (TTR `RSI(x, n)`, TA-Lib `RSI`).
 * Changes d[t] = c[t] − c[t − 1] from t = 1; gains max(d, 0), losses max(−d, 0).
 * First averages = simple means of d[1 … n]; then avg = (avg·(n − 1) + cur)/n
 * through the last bar. RSI = 100 − 100/(1 + avgGain/avgLoss): 100 when the
 * average loss is 0, and 50 when both averages are 0 (a flat series; TA-Lib
 * gives 0 and TTR NaN there — 50, "no direction", is our documented choice).
 * NaN when end < n + 1.
 */
export function rsiWilder(close: ArrayLike<number>, n = 14, end: number = close.length): number {
  checkPeriod('rsiWilder', n);
  if (end < n + 1) return NaN;
  let gain = 0;
  let loss = 0;
  for (let t = 1; t <= n; t++) {
    const d = close[t] - close[t - 1];
    if (d > 0) gain += d;
    else if (d < 0) loss -= d;
  }
  gain /= n;
  loss /= n;
  const m = n - 1;
  for (let t = n + 1; t < end; t++) {
    const d = close[t] - close[t - 1];
    if (d > 0) {
      gain = (gain * m + d) / n;
      loss = (loss * m) / n;
    } else {
      gain = (gain * m) / n;
      loss = (loss * m - d) / n;
    }
  }
  if (gain === 0 && loss === 0) return 50;
  return 100 - 100 / (1 + gain / loss);
}

/**
 * Wilder's ATR at the last element (TA-Lib `ATR`, TTR `ATR(HLC, n)`).
 * TR[t] = max(h[t], c[t − 1]) − min(l[t], c[t − 1]) for t ≥ 1 (bar 0 has no TR);
 * ATR[n] = mean(TR[1 … n]); then ATR = (ATR·(n − 1) + TR)/n. NaN when end < n + 1.
 */
export function atrWilder(
  high: ArrayLike<number>,
  low: ArrayLike<number>,
  close: ArrayLike<number>,
  n = 14,
  end: number = close.length,
): number {
  checkPeriod('atrWilder', n);
  if (end < n + 1) return NaN;
  let atr = 0;
  for (let t = 1; t <= n; t++) {
    const pc = close[t - 1];
    const hi = high[t] > pc ? high[t] : pc;
    const lo = low[t] < pc ? low[t] : pc;
    atr += hi - lo;
  }
  atr /= n;
  const m = n - 1;
  for (let t = n + 1; t < end; t++) {
    const pc = close[t - 1];
    const hi = high[t] > pc ? high[t] : pc;
    const lo = low[t] < pc ? low[t] : pc;
    atr = (atr * m + (hi - lo)) / n;
  }
  return atr;
}

/**
 * Sample standard deviation (n − 1 denominator; R `sd`, TTR `runSD`) of the
 * last n daily simple returns r[t] = c[t]/c[t − 1] − 1, t = end − n … end − 1.
 * Two-pass (mean, then squared deviations) for accuracy. NaN when n < 2,
 * end < n + 1, or a previous close in the window is 0.
 */
export function stdevReturns(close: ArrayLike<number>, n: number, end: number = close.length): number {
  checkPeriod('stdevReturns', n, 2);
  if (end < n + 1) return NaN;
  const start = end - n;
  let s = 0;
  for (let t = start; t < end; t++) {
    const pc = close[t - 1];
    if (pc === 0) return NaN;
    s += close[t] / pc - 1;
  }
  const mean = s / n;
  let ss = 0;
  for (let t = start; t < end; t++) {
    const dev = close[t] / close[t - 1] - 1 - mean;
    ss += dev * dev;
  }
  return Math.sqrt(ss / (n - 1));
}

/**
 * MACD histogram at the last element (TTR `MACD(x, fast, slow, sig, maType =
 * "EMA", percent = FALSE)`): macd = EMA_fast − EMA_slow, each EMA over the whole
 * series seeded with its own SMA (see emaLast); macd is defined from index
 * max(fast, slow) − 1; signal = EMA_sig of the macd line, seeded with the mean
 * of its first `sig` defined values; histogram = macd − signal.
 * NaN when end < max(fast, slow) + sig − 1.
 */
export function macdHist(close: ArrayLike<number>, fast = 12, slow = 26, signal = 9, end: number = close.length): number {
  checkPeriod('macdHist fast', fast);
  checkPeriod('macdHist slow', slow);
  checkPeriod('macdHist signal', signal);
  const m0 = (fast > slow ? fast : slow) - 1; // first index where the MACD line is defined
  const s0 = m0 + signal - 1; // first index where the signal line is defined
  if (end < s0 + 1) return NaN;
  const kf = 2 / (fast + 1);
  const ks = 2 / (slow + 1);
  const kg = 2 / (signal + 1);
  const kf1 = 1 - kf;
  const ks1 = 1 - ks;
  const kg1 = 1 - kg;
  let ef = 0;
  let es = 0;
  let sig = 0;
  let macd = 0;
  for (let t = 0; t < end; t++) {
    const x = close[t];
    if (t < fast) {
      ef += x;
      if (t === fast - 1) ef /= fast;
    } else {
      ef = x * kf + ef * kf1;
    }
    if (t < slow) {
      es += x;
      if (t === slow - 1) es /= slow;
    } else {
      es = x * ks + es * ks1;
    }
    if (t >= m0) {
      macd = ef - es;
      if (t < s0) {
        sig += macd;
      } else if (t === s0) {
        sig = (sig + macd) / signal;
      } else {
        sig = macd * kg + sig * kg1;
      }
    }
  }
  return macd - sig;
}

/**
 * Bollinger band width at the last element: (upper − lower)/middle with
 * middle = SMA(n) and bands middle ± k·σ, σ the POPULATION standard deviation
 * of the last n values (TTR `BBands`, TA-Lib `BBANDS`): = 2k·σ/SMA.
 * NaN when end < n or the middle band is 0.
 */
export function bollingerWidth(close: ArrayLike<number>, n = 20, k = 2, end: number = close.length): number {
  checkPeriod('bollingerWidth', n);
  if (end < n) return NaN;
  let s = 0;
  for (let i = end - n; i < end; i++) s += close[i];
  const mid = s / n;
  if (mid === 0) return NaN;
  let ss = 0;
  for (let i = end - n; i < end; i++) {
    const dev = close[i] - mid;
    ss += dev * dev;
  }
  return (2 * k * Math.sqrt(ss / n)) / mid;
}

/**
 * Upper-circuit closes among the last n sessions: sessions t in
 * [max(1, end − n), end) with isUpperCircuit(c[t − 1], c[t], bandPct).
 * The very first bar of the series has no previous close and so never counts
 * (with exactly n bars, n − 1 sessions can be judged). NaN when end < n.
 */
export function ucCount(close: ArrayLike<number>, bandPct: number, n = 250, end: number = close.length): number {
  checkPeriod('ucCount', n);
  if (end < n) return NaN;
  let count = 0;
  for (let t = end - n > 1 ? end - n : 1; t < end; t++) {
    if (isUpperCircuit(close[t - 1], close[t], bandPct)) count++;
  }
  return count;
}

/**
 * The same count from per-bar hit flags (observed hits and bands by date,
 * src/market/exchange.ts): flags t in [max(1, end − n), end). NaN when end < n.
 */
export function ucCountFlags(uc: ArrayLike<number>, n = 250, end: number = uc.length): number {
  checkPeriod('ucCountFlags', n);
  if (end < n) return NaN;
  let count = 0;
  for (let t = end - n > 1 ? end - n : 1; t < end; t++) if (uc[t] === 1) count++;
  return count;
}

/** a / b − 1, NaN when b is 0. */
function relTo(a: number, b: number): number {
  return b === 0 ? NaN : a / b - 1;
}

/** a / b, NaN when b is 0. */
function ratio(a: number, b: number): number {
  return b === 0 ? NaN : a / b;
}

/**
 * Writes the 13 technical features of the as-of session (the last bar) into
 * out[offset + FEATURE_INDEX[name]], NaN where a feature is undefined. Other
 * positions of the row are left untouched. `bandPct` is the stock's circuit band
 * (used when the bars carry no per-bar hit flags).
 */
export function technicalFeatures(bars: OhlcvBars, bandPct: number, out: Float64Array | Float32Array, offset: number): void {
  const end = bars.length;
  const { high, low, close, volume } = bars;
  const c = end > 0 ? close[end - 1] : NaN;
  out[offset + FEATURE_INDEX.ret_5d] = ret(close, 5, end);
  out[offset + FEATURE_INDEX.ret_20d] = ret(close, 20, end);
  out[offset + FEATURE_INDEX.ret_60d] = ret(close, 60, end);
  out[offset + FEATURE_INDEX.rsi_14] = rsiWilder(close, 14, end);
  out[offset + FEATURE_INDEX.atr_14_pct] = ratio(atrWilder(high, low, close, 14, end), c);
  out[offset + FEATURE_INDEX.volatility_contraction] = ratio(stdevReturns(close, 10, end), stdevReturns(close, 50, end));
  out[offset + FEATURE_INDEX.volume_dry_up] = ratio(meanLast(volume, 10, end), meanLast(volume, 50, end));
  out[offset + FEATURE_INDEX.dist_52w_high] = relTo(c, maxLast(high, 250, end));
  out[offset + FEATURE_INDEX.dist_sma_50] = relTo(c, sma(close, 50, end));
  out[offset + FEATURE_INDEX.dist_sma_200] = relTo(c, sma(close, 200, end));
  out[offset + FEATURE_INDEX.macd_hist_pct] = ratio(macdHist(close, 12, 26, 9, end), c);
  out[offset + FEATURE_INDEX.bb_width_20] = bollingerWidth(close, 20, 2, end);
  out[offset + FEATURE_INDEX.uc_count_250d] = bars.uc ? ucCountFlags(bars.uc, 250, end) : ucCount(close, bandPct, 250, end);
}
