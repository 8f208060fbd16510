import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import {
  sma,
  meanLast,
  maxLast,
  ret,
  emaLast,
  rsiWilder,
  atrWilder,
  stdevReturns,
  macdHist,
  bollingerWidth,
  ucCount,
  technicalFeatures,
  MIN_SESSIONS,
  LOOKBACK_SESSIONS,
  type OhlcvBars,
} from '../src/features/indicators.js';
import { FEATURES, FEATURE_INDEX, N_FEATURES } from '../src/features/definition.js';
import { isUpperCircuit, upperCircuitPrice } from '../src/market/circuit.js';

// ---------------------------------------------------------------- helpers

/** |actual − expected| ≤ 1e-9·|expected| (with a 1e-12 floor for expected 0); NaN must match NaN. */
function expectClose(actual: number, expected: number, label = ''): void {
  if (Number.isNaN(expected)) {
    expect(actual, `${label}: expected NaN`).toBeNaN();
    return;
  }
  const tol = Math.max(1e-9 * Math.abs(expected), 1e-12);
  const ok = Math.abs(actual - expected) <= tol;
  expect(ok, `${label}: got ${actual}, expected ${expected} (tolerance ${tol})`).toBe(true);
}

/** The fixture (test/fixtures/indicators/bars.csv): 300 bars of a 5%-band stock, oldest first. */
function loadFixture(): OhlcvBars & { open: Float64Array; high: Float64Array; low: Float64Array; close: Float64Array; volume: Float64Array } {
  const path = fileURLToPath(new URL('./fixtures/indicators/bars.csv', import.meta.url));
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const head = lines[0].split(',');
  const col = (name: string): number => head.indexOf(name);
  const n = lines.length - 1;
  const bars = {
    length: n,
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const f = lines[i + 1].split(',');
    bars.open[i] = Number(f[col('open')]);
    bars.high[i] = Number(f[col('high')]);
    bars.low[i] = Number(f[col('low')]);
    bars.close[i] = Number(f[col('close')]);
    bars.volume[i] = Number(f[col('volume')]);
  }
  return bars;
}

function prefix(b: ReturnType<typeof loadFixture>, len: number): OhlcvBars {
  return {
    length: len,
    high: b.high.slice(0, len),
    low: b.low.slice(0, len),
    close: b.close.slice(0, len),
    volume: b.volume.slice(0, len),
  };
}

const TECHNICAL = FEATURES.flatMap((f, i) => (f.family === 'technical' ? [{ name: f.name, index: i }] : []));

// ---------------------------------------------------------------- reference values
//
// Everything below was printed by `python3 test/fixtures/indicators/reference.py
// test/fixtures/indicators/bars.csv`: an independent implementation that builds
// each indicator as a whole TTR-style series (None = NA) in exact rational
// arithmetic (fractions.Fraction, square roots at 50 digits) and rounds only
// the final value. The fixture itself comes from `reference.py generate`
// (deterministic). Keys are prefix lengths: the value is at bar key − 1.
// `features` are the 13 technical features in set order (band 5%).

const REF: Record<number, { features: number[]; primitives: Record<string, number> }> = {
  // first 60 bars
  60: {
    features: [0.022619673855865333, 0.07186179011211175, NaN, 68.72870675047317, 0.012666651860717356, 0.749437200186684, 0.8783371874551336, NaN, 0.09403197304689405, NaN, 0.0010029400709424207, 0.1009159549140228, NaN],
    primitives: {
      'sma(close, 7)': 289.65,
      'emaLast(close, 10)': 287.6534182674745,
      'emaLast(close, 26)': 279.26129303182097,
      'ret(close, 1)': 0.0012017167381974249,
      'rsiWilder(close, 14)': 68.72870675047317,
      'rsiWilder(close, 5)': 70.14176324759902,
      'atrWilder(high, low, close, 14)': 3.693595682585181,
      'atrWilder(high, low, close, 7)': 3.4922812215141383,
      'stdevReturns(close, 10)': 0.010505684961135792,
      'stdevReturns(close, 50)': 0.014018099126276141,
      'meanLast(volume, 10)': 212284.7,
      'maxLast(high, 250)': NaN,
      'macdHist(close, 12, 26, 9)': 0.29245732468680985,
      'macdHist(close, 5, 10, 4)': -0.21870709549983344,
      'bollingerWidth(close, 20, 2)': 0.1009159549140228,
      'bollingerWidth(close, 10, 1.5)': 0.034399543404589145,
      'ucCount(close, 5, 250)': NaN,
      'ucCount(close, 5, 30)': 1.0,
    },
  },
  // first 249 bars
  249: {
    features: [-0.02874331550802139, 0.1263565891472868, 0.22347591781744694, 59.7970389978268, 0.018831763117496316, 0.8031355476979862, 0.9470437951919894, NaN, 0.09564787249765487, 0.14319163684114042, 0.003432175236336602, 0.26698128338168764, NaN],
    primitives: {
      'sma(close, 7)': 373.23571428571427,
      'emaLast(close, 10)': 365.8846349429871,
      'emaLast(close, 26)': 349.3760396344812,
      'ret(close, 1)': -0.02430835347837765,
      'rsiWilder(close, 14)': 59.7970389978268,
      'rsiWilder(close, 5)': 40.658461594954176,
      'atrWilder(high, low, close, 14)': 6.840637952430537,
      'atrWilder(high, low, close, 7)': 6.23393810776226,
      'stdevReturns(close, 10)': 0.019878794046996332,
      'stdevReturns(close, 50)': 0.02475148074814343,
      'meanLast(volume, 10)': 211359.7,
      'maxLast(high, 250)': NaN,
      'macdHist(close, 12, 26, 9)': 1.2467376545992708,
      'macdHist(close, 5, 10, 4)': -2.6633728262664813,
      'bollingerWidth(close, 20, 2)': 0.26698128338168764,
      'bollingerWidth(close, 10, 1.5)': 0.06356278488961735,
      'ucCount(close, 5, 250)': NaN,
      'ucCount(close, 5, 30)': 1.0,
    },
  },
  // first 250 bars
  250: {
    features: [-0.046767355590885004, 0.08767951625094482, 0.183193553691827, 57.11836667356089, 0.018441039090955423, 0.8152970239033296, 0.9227925241713256, -0.05104194144025323, 0.08270382520239564, 0.13071328442743005, -0.00020497030314761444, 0.2626326415872563, 5.0],
    primitives: {
      'sma(close, 7)': 371.6142857142857,
      'emaLast(close, 10)': 364.7692467715349,
      'emaLast(close, 26)': 350.14448114303815,
      'ret(close, 1)': -0.009635237439779766,
      'rsiWilder(close, 14)': 57.11836667356089,
      'rsiWilder(close, 5)': 34.680171477763686,
      'atrWilder(high, low, close, 14)': 6.634163812971213,
      'atrWilder(high, low, close, 7)': 5.9076612352247935,
      'stdevReturns(close, 10)': 0.020103017329585856,
      'stdevReturns(close, 50)': 0.02465729266781855,
      'meanLast(volume, 10)': 208989.4,
      'maxLast(high, 250)': 379.1,
      'macdHist(close, 12, 26, 9)': -0.0737380665573543,
      'macdHist(close, 5, 10, 4)': -2.975300117382048,
      'bollingerWidth(close, 20, 2)': 0.2626326415872563,
      'bollingerWidth(close, 10, 1.5)': 0.046650407948191974,
      'ucCount(close, 5, 250)': 5.0,
      'ucCount(close, 5, 30)': 1.0,
    },
  },
  // first 300 bars (the whole fixture)
  300: {
    features: [0.0479164423387531, 0.1826467371491068, 0.3873129009265859, 74.86473901977088, 0.018486538848049003, 1.1325067109397524, 1.7320572651114765, 0.0, 0.1691663022532761, 0.3924639257123643, 0.002422176135076783, 0.18440291886004534, 6.0],
    primitives: {
      'sma(close, 7)': 467.8142857142857,
      'emaLast(close, 10)': 463.5247479395578,
      'emaLast(close, 26)': 443.05768615166807,
      'ret(close, 1)': 0.04995145107347071,
      'rsiWilder(close, 14)': 74.86473901977088,
      'rsiWilder(close, 5)': 84.96624686543831,
      'atrWilder(high, low, close, 14)': 8.995549803460644,
      'atrWilder(high, low, close, 7)': 9.497253360488012,
      'stdevReturns(close, 10)': 0.023841524435885716,
      'stdevReturns(close, 50)': 0.021051993957812445,
      'meanLast(volume, 10)': 205050.5,
      'maxLast(high, 250)': 486.6,
      'macdHist(close, 12, 26, 9)': 1.1786309073283627,
      'macdHist(close, 5, 10, 4)': 0.7404510137133746,
      'bollingerWidth(close, 20, 2)': 0.18440291886004534,
      'bollingerWidth(close, 10, 1.5)': 0.05280064026524918,
      'ucCount(close, 5, 250)': 6.0,
      'ucCount(close, 5, 30)': 2.0,
    },
  },
};

/** The fixture's planted upper-circuit sessions (see reference.py generate) and near misses (one tick short). */
const PLANTED_UC = [30, 100, 101, 180, 240, 275, 299];
const PLANTED_NEAR_MISS = [120, 200, 290];

/** Evaluates a reference key against the TypeScript function, on arrays cut to `len` or via `end`. */
function primitive(name: string, b: OhlcvBars, end: number): number {
  const { high, low, close, volume } = b;
  switch (name) {
    case 'sma(close, 7)': return sma(close, 7, end);
    case 'emaLast(close, 10)': return emaLast(close, 10, end);
    case 'emaLast(close, 26)': return emaLast(close, 26, end);
    case 'ret(close, 1)': return ret(close, 1, end);
    case 'rsiWilder(close, 14)': return rsiWilder(close, 14, end);
    case 'rsiWilder(close, 5)': return rsiWilder(close, 5, end);
    case 'atrWilder(high, low, close, 14)': return atrWilder(high, low, close, 14, end);
    case 'atrWilder(high, low, close, 7)': return atrWilder(high, low, close, 7, end);
    case 'stdevReturns(close, 10)': return stdevReturns(close, 10, end);
    case 'stdevReturns(close, 50)': return stdevReturns(close, 50, end);
    case 'meanLast(volume, 10)': return meanLast(volume, 10, end);
    case 'maxLast(high, 250)': return maxLast(high, 250, end);
    case 'macdHist(close, 12, 26, 9)': return macdHist(close, 12, 26, 9, end);
    case 'macdHist(close, 5, 10, 4)': return macdHist(close, 5, 10, 4, end);
    case 'bollingerWidth(close, 20, 2)': return bollingerWidth(close, 20, 2, end);
    case 'bollingerWidth(close, 10, 1.5)': return bollingerWidth(close, 10, 1.5, end);
    case 'ucCount(close, 5, 250)': return ucCount(close, 5, 250, end);
    case 'ucCount(close, 5, 30)': return ucCount(close, 5, 30, end);
    default: throw new Error(`no mapping for ${name}`);
  }
}

const fixture = loadFixture();

describe('indicators against the independent Python reference', () => {
  it('the fixture is the one the reference was run on', () => {
    expect(fixture.length).toBe(300);
    expect(fixture.close[0]).toBe(247.8);
    expect(fixture.close[299]).toBe(486.6);
  });

  for (const len of [60, 249, 250, 300]) {
    it(`every primitive matches on the first ${len} bars (arrays cut to length)`, () => {
      const b = prefix(fixture, len);
      for (const [name, want] of Object.entries(REF[len].primitives)) expectClose(primitive(name, b, len), want, `${name} @${len}`);
    });

    it(`every primitive matches at end = ${len} on the full arrays (later bars ignored)`, () => {
      for (const [name, want] of Object.entries(REF[len].primitives)) expectClose(primitive(name, fixture, len), want, `${name} end=${len}`);
    });

    it(`technicalFeatures matches the 13 reference features on the first ${len} bars`, () => {
      const out = new Float64Array(N_FEATURES);
      technicalFeatures(prefix(fixture, len), 5, out, 0);
      TECHNICAL.forEach(({ name, index }, k) => expectClose(out[index], REF[len].features[k], `${name} @${len}`));
    });
  }

  it('the reference feature order is the feature set order', () => {
    // REF.features lists the technical features in the order of definition.ts, which starts with them.
    expect(TECHNICAL.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('uses bars.length, not the arrays’ length', () => {
    const out = new Float64Array(N_FEATURES);
    technicalFeatures({ ...fixture, length: 250 }, 5, out, 0);
    TECHNICAL.forEach(({ name, index }, k) => expectClose(out[index], REF[250].features[k], name));
  });

  it('writes only the technical slots of the row at the offset, into a Float32Array', () => {
    const out = new Float32Array(3 * N_FEATURES).fill(-7);
    technicalFeatures(fixture, 5, out, N_FEATURES);
    const wide = new Float64Array(N_FEATURES);
    technicalFeatures(fixture, 5, wide, 0);
    for (let i = 0; i < out.length; i++) {
      const inRow = i >= N_FEATURES && i < 2 * N_FEATURES;
      const k = i - N_FEATURES;
      if (inRow && FEATURES[k].family === 'technical') {
        expect(out[i], FEATURES[k].name).toBe(Math.fround(wide[k]));
        expect(Math.abs(out[i] - REF[300].features[k]), FEATURES[k].name).toBeLessThanOrEqual(1e-7 * Math.abs(REF[300].features[k]));
      } else {
        expect(out[i]).toBe(-7);
      }
    }
  });
});

// ---------------------------------------------------------------- closed forms

describe('closed forms and hand computations', () => {
  it('sma / meanLast / maxLast / ret on small series', () => {
    const x = [1, 2, 3, 4, 10];
    expect(sma(x, 3)).toBe((3 + 4 + 10) / 3);
    expect(sma(x, 5)).toBe(4);
    expect(meanLast([500, 1000, 1500], 2)).toBe(1250);
    expect(maxLast([5, 9, 1, 2], 3)).toBe(9);
    expect(maxLast([5, 9, 1, 2], 2)).toBe(2);
    expect(ret([100, 50, 80, 110], 3)).toBeCloseTo(0.1, 15);
    expect(ret([100, 50, 80, 110], 1)).toBeCloseTo(110 / 80 - 1, 15);
  });

  it('EMA of a linear series lags it by b·(n − 1)/2 from the seed on', () => {
    // x_t = a + b·t: the SMA seed of the first n values is x_{n−1} − b(n−1)/2, which is
    // already the EMA's steady-state lag b(1 − k)/k = b(n − 1)/2, so EMA_t = x_t − b(n − 1)/2.
    const a = 100;
    const b = 0.5;
    const x = Float64Array.from({ length: 50 }, (_, t) => a + b * t);
    for (const n of [3, 10, 26]) {
      for (const end of [n, n + 1, 37, 50]) expectClose(emaLast(x, n, end), a + b * (end - 1) - (b * (n - 1)) / 2, `EMA(${n}) end ${end}`);
    }
  });

  it('MACD of a linear series: line = 7b, signal = 7b, histogram 0', () => {
    // EMA12 = x − 5.5b, EMA26 = x − 12.5b ⇒ MACD = 7b at every bar; its EMA9 is 7b.
    const x = Float64Array.from({ length: 80 }, (_, t) => 200 + 1.25 * t);
    expect(Math.abs(macdHist(x))).toBeLessThan(1e-10);
    expect(Math.abs(macdHist(x, 12, 26, 9, 34))).toBeLessThan(1e-10);
  });

  it('MACD histogram by hand on a short series (fast 2, slow 3, signal 2)', () => {
    // c = 1, 2, 4, 8, 16. EMA2 (k = 2/3): e1 = 1.5, e2 = 2/3·4 + 1/3·1.5 = 19/6, e3 = 2/3·8 + 1/3·19/6 = 115/18,
    // e4 = 2/3·16 + 1/3·115/18 = 691/54. EMA3 (k = 1/2): e2 = 7/3, e3 = 31/6, e4 = 127/12.
    // MACD: m2 = 19/6 − 7/3 = 5/6, m3 = 115/18 − 31/6 = 22/18 = 11/9, m4 = 691/54 − 127/12 = (1382 − 1143)/108 = 239/108.
    // Signal EMA2 seeded at m3: (5/6 + 11/9)/2 = 37/36; then 2/3·239/108 + 1/3·37/36 = 478/324 + 111/324 = 589/324.
    // Histogram = 239/108 − 589/324 = (717 − 589)/324 = 128/324 = 32/81.
    const c = [1, 2, 4, 8, 16];
    expectClose(macdHist(c, 2, 3, 2), 32 / 81, 'hist');
    // At end = 4 the signal is just its seed: 11/9 − 37/36 = 7/36.
    expectClose(macdHist(c, 2, 3, 2, 4), 7 / 36, 'hist end 4');
  });

  it('RSI: rising → 100, falling → 0, flat → 50 (documented choice)', () => {
    const up = Float64Array.from({ length: 30 }, (_, t) => 100 + t);
    const down = Float64Array.from({ length: 30 }, (_, t) => 100 - t);
    const flat = new Float64Array(30).fill(100);
    expect(rsiWilder(up)).toBe(100);
    expect(rsiWilder(down)).toBe(0);
    expect(rsiWilder(flat)).toBe(50);
  });

  it('RSI by hand: 7 gains of 2 and 7 losses of 1, then a gain of 3', () => {
    // First averages 14/14 = 1 and 7/14 = 0.5 → RS 2 → RSI 200/3.
    // Next change +3: gain (1·13 + 3)/14 = 16/14, loss 0.5·13/14 = 6.5/14 → RSI = 100·16/22.5 = 640/9.
    const c = [50];
    for (let i = 0; i < 7; i++) c.push(c[c.length - 1] + 2, c[c.length - 1] + 2 - 1);
    expectClose(rsiWilder(c, 14), 200 / 3, 'seed');
    c.push(c[c.length - 1] + 3);
    expectClose(rsiWilder(c, 14), 640 / 9, 'one step');
  });

  it('ATR of constant-range bars without gaps is the range', () => {
    const n = 60;
    const close = new Float64Array(n).fill(100);
    const high = new Float64Array(n).fill(101.5);
    const low = new Float64Array(n).fill(99);
    expectClose(atrWilder(high, low, close), 2.5, 'ATR');
  });

  it('ATR by hand with gaps: the true range uses the previous close (n = 2)', () => {
    // bar 1 gaps down below the previous close 100: TR = 100 − 94 = 6.
    // bar 2: h 96, l 94, prev close 94.5 → TR 2.  ATR₂ = (6 + 2)/2 = 4.
    // bar 3 gaps up above the previous close 95: h 97, l 96 → TR = 97 − 95 = 2.  ATR₃ = (4·1 + 2)/2 = 3.
    const high = [101, 95, 96, 97];
    const low = [99, 94, 94, 96];
    const close = [100, 94.5, 95, 96.5];
    expectClose(atrWilder(high, low, close, 2, 3), 4, 'ATR seed');
    expectClose(atrWilder(high, low, close, 2), 3, 'ATR step');
  });

  it('sample stdev of alternating ±10% returns is sqrt(10·0.01/9)', () => {
    const c = [100];
    for (let i = 0; i < 30; i++) c.push(c[c.length - 1] * (i % 2 === 0 ? 1.1 : 0.9));
    expectClose(stdevReturns(c, 10), Math.sqrt(0.1 / 9), 'sd');
    // Two returns: sample sd of {r1, r2} = |r1 − r2|/√2.
    expectClose(stdevReturns([10, 11, 9.9], 2), Math.abs(0.1 - -0.1) / Math.SQRT2, 'sd of two');
  });

  it('Bollinger width uses the population stdev: 2k·σ/SMA', () => {
    const x = Float64Array.from({ length: 40 }, (_, t) => (t % 2 === 0 ? 98 : 102)); // σ = 2, mean 100
    expectClose(bollingerWidth(x), 0.08, 'BB(20, 2)');
    expectClose(bollingerWidth(x, 10, 1.5), 0.06, 'BB(10, 1.5)');
    expect(bollingerWidth(new Float64Array(20).fill(50))).toBe(0);
  });

  it('technicalFeatures on a flat market with drying volume', () => {
    const n = MIN_SESSIONS;
    const bars: OhlcvBars = {
      length: n,
      high: new Float64Array(n).fill(101),
      low: new Float64Array(n).fill(99),
      close: new Float64Array(n).fill(100),
      volume: Float64Array.from({ length: n }, (_, t) => (t >= n - 10 ? 500 : 1000)),
    };
    const out = new Float64Array(N_FEATURES);
    technicalFeatures(bars, 5, out, 0);
    const f = (name: keyof typeof FEATURE_INDEX): number => out[FEATURE_INDEX[name]];
    expect(f('ret_5d')).toBe(0);
    expect(f('ret_20d')).toBe(0);
    expect(f('ret_60d')).toBe(0);
    expect(f('rsi_14')).toBe(50);
    expectClose(f('atr_14_pct'), 0.02, 'atr_14_pct');
    expect(f('volatility_contraction')).toBeNaN(); // 0/0: both stdevs are 0
    expectClose(f('volume_dry_up'), 500 / 900, 'volume_dry_up'); // mean(10) = 500, mean(50) = (40·1000 + 10·500)/50
    expectClose(f('dist_52w_high'), 100 / 101 - 1, 'dist_52w_high');
    expect(f('dist_sma_50')).toBe(0);
    expect(f('dist_sma_200')).toBe(0);
    expectClose(f('macd_hist_pct'), 0, 'macd_hist_pct');
    expect(f('bb_width_20')).toBe(0);
    expect(f('uc_count_250d')).toBe(0);
  });

  it('dist_52w_high looks back exactly 250 highs, including the as-of bar', () => {
    const n = 300;
    const close = new Float64Array(n).fill(100);
    const high = new Float64Array(n).fill(100);
    const bars = { length: n, open: close, high, low: close, close, volume: new Float64Array(n).fill(1) };
    const out = new Float64Array(N_FEATURES);
    high[n - 250] = 125; // the oldest bar of the window
    technicalFeatures(bars, 5, out, 0);
    expectClose(out[FEATURE_INDEX.dist_52w_high], 100 / 125 - 1, 'in window');
    high[n - 250] = 100;
    high[n - 251] = 125; // one bar too old
    technicalFeatures(bars, 5, out, 0);
    expect(out[FEATURE_INDEX.dist_52w_high]).toBe(0);
  });
});

// ---------------------------------------------------------------- upper circuits

describe('upper-circuit count', () => {
  it('the fixture’s circuit days are exactly the planted ones; near misses are not', () => {
    const found: number[] = [];
    for (let t = 1; t < fixture.length; t++) if (isUpperCircuit(fixture.close[t - 1], fixture.close[t], 5)) found.push(t);
    expect(found).toEqual(PLANTED_UC);
    for (const t of PLANTED_NEAR_MISS) {
      expect(fixture.close[t]).toBeCloseTo(upperCircuitPrice(fixture.close[t - 1], 5) - 0.05, 9);
    }
  });

  it('counts the planted days inside each trailing window', () => {
    // Window of the last n sessions ending at bar end − 1: bars max(1, end − n) … end − 1.
    const expected = (end: number, n: number): number => PLANTED_UC.filter((t) => t >= Math.max(1, end - n) && t < end).length;
    for (const [end, n] of [[300, 250], [250, 250], [299, 250], [300, 25], [300, 1], [276, 176], [102, 2], [101, 71], [100, 70]] as const) {
      expect(ucCount(fixture.close, 5, n, end), `end ${end} n ${n}`).toBe(expected(end, n));
    }
    expect(ucCount(fixture.close, 5)).toBe(6); // 100, 101, 180, 240, 275, 299; 30 is older than 250 sessions
    expect(ucCount(fixture.close, 5, 250, 250)).toBe(5); // with exactly 250 bars, bar 0 has no previous close
  });

  it('depends on the band: a 10% band sees none of the 5% circuits', () => {
    expect(ucCount(fixture.close, 10)).toBe(0);
  });

  it('hand-made series: ₹100 → 105 → 110.25 are circuits at 5%, 115.70 falls one tick short', () => {
    // uc(100) = 105.00; uc(105) = 110.25 (exactly on the tick); uc(110.25) = floor(115.7625/0.05)·0.05 = 115.75.
    const c = [100, 105, 110.25, 115.7, 115.75];
    expect(ucCount(c, 5, 4)).toBe(2); // 105 and 110.25; 115.70 < 115.75; 115.70 → 115.75 is far below uc(115.70) = 121.45
    const d = [100, 105, 110.25, 115.75];
    expect(ucCount(d, 5, 3)).toBe(3);
    expect(ucCount(d, 20, 3)).toBe(0);
  });
});

// ---------------------------------------------------------------- short history

describe('NaN when history is too short', () => {
  const c = (len: number): Float64Array => fixture.close.subarray(0, len);
  const h = (len: number): Float64Array => fixture.high.subarray(0, len);
  const l = (len: number): Float64Array => fixture.low.subarray(0, len);

  it('each indicator is defined from its minimum length and NaN one bar earlier', () => {
    const cases: [string, number, (len: number) => number][] = [
      ['sma(20)', 20, (n) => sma(c(n), 20)],
      ['maxLast(250)', 250, (n) => maxLast(h(n), 250)],
      ['ret(5)', 6, (n) => ret(c(n), 5)],
      ['ret(60)', 61, (n) => ret(c(n), 60)],
      ['emaLast(12)', 12, (n) => emaLast(c(n), 12)],
      ['rsiWilder(14)', 15, (n) => rsiWilder(c(n))],
      ['atrWilder(14)', 15, (n) => atrWilder(h(n), l(n), c(n))],
      ['stdevReturns(50)', 51, (n) => stdevReturns(c(n), 50)],
      ['macdHist(12, 26, 9)', 34, (n) => macdHist(c(n))],
      ['bollingerWidth(20)', 20, (n) => bollingerWidth(c(n))],
      ['ucCount(250)', 250, (n) => ucCount(c(n), 5)],
    ];
    for (const [name, min, f] of cases) {
      expect(Number.isFinite(f(min)), `${name} at ${min}`).toBe(true);
      expect(f(min - 1), `${name} at ${min - 1}`).toBeNaN();
    }
    expect(sma([], 1)).toBeNaN();
  });

  it('all 13 features are defined from MIN_SESSIONS bars; 249 bars leave the two 250-session ones NaN', () => {
    const out = new Float64Array(N_FEATURES);
    technicalFeatures(prefix(fixture, MIN_SESSIONS), 5, out, 0);
    for (const { name, index } of TECHNICAL) expect(Number.isFinite(out[index]), name).toBe(true);
    technicalFeatures(prefix(fixture, MIN_SESSIONS - 1), 5, out, 0);
    const nan = TECHNICAL.filter(({ index }) => Number.isNaN(out[index])).map((t) => t.name);
    expect(nan).toEqual(['dist_52w_high', 'uc_count_250d']);
  });

  it('an empty history gives 13 NaNs and no error', () => {
    const out = new Float64Array(N_FEATURES).fill(1);
    const empty = new Float64Array(0);
    technicalFeatures({ length: 0, high: empty, low: empty, close: empty, volume: empty }, 5, out, 0);
    for (const { index } of TECHNICAL) expect(out[index]).toBeNaN();
    expect(out[FEATURE_INDEX.revenue_growth_yoy]).toBe(1);
  });

  it('the history constants', () => {
    expect(MIN_SESSIONS).toBe(250);
    expect(LOOKBACK_SESSIONS).toBe(320);
  });

  it('rejects a non-integer or zero period', () => {
    expect(() => sma([1, 2], 0)).toThrow(RangeError);
    expect(() => emaLast([1, 2], 1.5)).toThrow(RangeError);
    expect(() => stdevReturns([1, 2, 3], 1)).toThrow(RangeError);
  });
});
