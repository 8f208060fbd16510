/**
 * One row parser per kind: fields (already trimmed by the CSV reader, which also
 * absorbs the full bhavcopy's `, ` separators and the padded values) → one
 * normalised record, or a row to leave out with its reason (PR pd's index rows).
 * A value that cannot be read throws BadValue: the caller makes the row a reject.
 */
import { norm, type ColumnIndex } from './kinds.js';
import { parsePurpose } from './purpose.js';
import type { ExchangeKind, ExchangeRecord, PriceBar } from './types.js';
import { BadValue, count, exchangeDate, num, optionalCount, optionalDate, optionalNum, optionalText, text } from './values.js';

export type RowResult = ExchangeRecord | { leftOut: string };

export interface RowContext {
  /** The session date the file's name carries (bh, pd, sec_list), or null. */
  nameDate: string | null;
  /** The label of the source, for messages. */
  label: string;
}

export type RowParser = (get: (column: string) => string | undefined, ctx: RowContext) => RowResult;

/** Checks a bar's prices: all > 0, low ≤ open, close ≤ high. */
function checkBar(b: PriceBar): PriceBar {
  for (const k of ['open', 'high', 'low', 'close'] as const) if (!(b[k] > 0)) throw new BadValue(`${k} must be > 0 (got ${b[k]})`);
  if (b.high < Math.max(b.open, b.close, b.low)) throw new BadValue(`high ${b.high} is below open/close/low`);
  if (b.low > Math.min(b.open, b.close)) throw new BadValue(`low ${b.low} is above open/close`);
  return b;
}

const ISIN = /^IN[A-Z0-9]{9}\d$/;
function isin(raw: string | undefined, required: boolean): string | null {
  const s = (raw ?? '').trim().toUpperCase();
  if (s === '') {
    if (required) throw new BadValue('ISIN is empty');
    return null;
  }
  if (!ISIN.test(s)) throw new BadValue(`not an Indian ISIN: '${s}'`);
  return s;
}

function nameDate(ctx: RowContext): string {
  if (ctx.nameDate === null) throw new BadValue('no session date: the file carries none and its name has none (keep the exchange\'s name, e.g. bhDDMMYYYY.csv or PRddmmyy.zip)');
  return ctx.nameDate;
}

const bar = (b: Omit<PriceBar, 'type' | 'deliveryQty' | 'deliveryPct' | 'high52' | 'low52'> & Partial<Pick<PriceBar, 'deliveryQty' | 'deliveryPct' | 'high52' | 'low52'>>): PriceBar =>
  checkBar({ type: 'price', deliveryQty: null, deliveryPct: null, high52: null, low52: null, ...b });

function udiff(exchange: 'NSE' | 'BSE'): RowParser {
  const kind: ExchangeKind = exchange === 'NSE' ? 'nse-udiff-cm' : 'bse-udiff-cm';
  return (g) => {
    const sgmt = text(g('Sgmt'), 'Sgmt');
    if (sgmt !== 'CM') throw new BadValue(`Sgmt is '${sgmt}', not CM (a capital-market bhavcopy)`);
    const src = text(g('Src'), 'Src');
    if (src !== exchange) throw new BadValue(`Src is '${src}' in a ${exchange} UDiFF file`);
    const code = text(g('FinInstrmId'), 'FinInstrmId');
    if (exchange === 'BSE' ? !/^\d{6}$/.test(code) : !/^\d+$/.test(code)) {
      throw new BadValue(exchange === 'BSE' ? `FinInstrmId '${code}' is not a 6-digit BSE scrip code` : `FinInstrmId '${code}' is not an NSE token`);
    }
    return bar({
      exchange,
      kind,
      tradeDate: exchangeDate(g('TradDt') ?? ''),
      symbol: text(g('TckrSymb'), 'TckrSymb'),
      code,
      isin: isin(g('ISIN'), false),
      series: text(g('SctySrs'), 'SctySrs'),
      name: optionalText(g('FinInstrmNm')),
      open: num(g('OpnPric'), 'OpnPric'),
      high: num(g('HghPric'), 'HghPric'),
      low: num(g('LwPric'), 'LwPric'),
      close: num(g('ClsPric'), 'ClsPric'),
      last: optionalNum(g('LastPric'), 'LastPric'),
      prevClose: optionalNum(g('PrvsClsgPric'), 'PrvsClsgPric'),
      volume: count(g('TtlTradgVol'), 'TtlTradgVol'),
      turnoverRs: optionalNum(g('TtlTrfVal'), 'TtlTrfVal'),
      trades: optionalCount(g('TtlNbOfTxsExctd'), 'TtlNbOfTxsExctd'),
      instrumentType: text(g('FinInstrmTp'), 'FinInstrmTp'),
    });
  };
}

const PARSERS: Record<ExchangeKind, RowParser> = {
  'nse-udiff-cm': udiff('NSE'),
  'bse-udiff-cm': udiff('BSE'),

  'nse-legacy-cm': (g) =>
    bar({
      exchange: 'NSE',
      kind: 'nse-legacy-cm',
      tradeDate: exchangeDate(g('TIMESTAMP') ?? ''),
      symbol: text(g('SYMBOL'), 'SYMBOL'),
      code: null,
      isin: isin(g('ISIN'), false),
      series: text(g('SERIES'), 'SERIES'),
      name: null,
      open: num(g('OPEN'), 'OPEN'),
      high: num(g('HIGH'), 'HIGH'),
      low: num(g('LOW'), 'LOW'),
      close: num(g('CLOSE'), 'CLOSE'),
      last: optionalNum(g('LAST'), 'LAST'),
      prevClose: optionalNum(g('PREVCLOSE'), 'PREVCLOSE'),
      volume: count(g('TOTTRDQTY'), 'TOTTRDQTY'),
      turnoverRs: optionalNum(g('TOTTRDVAL'), 'TOTTRDVAL'),
      trades: optionalCount(g('TOTALTRADES'), 'TOTALTRADES'),
      instrumentType: null,
    }),

  'bse-legacy-eq': (g) => {
    const code = text(g('SC_CODE'), 'SC_CODE');
    if (!/^\d{6}$/.test(code)) throw new BadValue(`SC_CODE '${code}' is not a 6-digit BSE scrip code`);
    return bar({
      exchange: 'BSE',
      kind: 'bse-legacy-eq',
      tradeDate: exchangeDate(g('TRADING_DATE') ?? ''),
      symbol: null,
      code,
      isin: isin(g('ISIN_CODE'), false),
      series: text(g('SC_GROUP'), 'SC_GROUP'),
      name: optionalText(g('SC_NAME')),
      open: num(g('OPEN'), 'OPEN'),
      high: num(g('HIGH'), 'HIGH'),
      low: num(g('LOW'), 'LOW'),
      close: num(g('CLOSE'), 'CLOSE'),
      last: optionalNum(g('LAST'), 'LAST'),
      prevClose: optionalNum(g('PREVCLOSE'), 'PREVCLOSE'),
      volume: count(g('NO_OF_SHRS'), 'NO_OF_SHRS'),
      turnoverRs: optionalNum(g('NET_TURNOV'), 'NET_TURNOV'),
      trades: optionalCount(g('NO_TRADES'), 'NO_TRADES'),
      instrumentType: text(g('SC_TYPE'), 'SC_TYPE'),
    });
  },

  'nse-full-bhavcopy': (g) => {
    const lacs = optionalNum(g('TURNOVER_LACS'), 'TURNOVER_LACS');
    return bar({
      exchange: 'NSE',
      kind: 'nse-full-bhavcopy',
      tradeDate: exchangeDate(g('DATE1') ?? ''),
      symbol: text(g('SYMBOL'), 'SYMBOL'),
      code: null,
      isin: null,
      series: text(g('SERIES'), 'SERIES'),
      name: null,
      open: num(g('OPEN_PRICE'), 'OPEN_PRICE'),
      high: num(g('HIGH_PRICE'), 'HIGH_PRICE'),
      low: num(g('LOW_PRICE'), 'LOW_PRICE'),
      close: num(g('CLOSE_PRICE'), 'CLOSE_PRICE'),
      last: optionalNum(g('LAST_PRICE'), 'LAST_PRICE'),
      prevClose: optionalNum(g('PREV_CLOSE'), 'PREV_CLOSE'),
      volume: count(g('TTL_TRD_QNTY'), 'TTL_TRD_QNTY'),
      // lakhs → rupees, rounded to the paisa (1 lakh = 10⁵).
      turnoverRs: lacs === null ? null : Math.round(lacs * 1e7) / 100,
      trades: optionalCount(g('NO_OF_TRADES'), 'NO_OF_TRADES'),
      deliveryQty: optionalCount(g('DELIV_QTY'), 'DELIV_QTY'),
      deliveryPct: optionalNum(g('DELIV_PER'), 'DELIV_PER'),
      instrumentType: null,
    });
  },

  'nse-pr-pd': (g, ctx) => {
    if ((g('SYMBOL') ?? '').trim() === '') return { leftOut: 'index row (no symbol)' };
    return bar({
      exchange: 'NSE',
      kind: 'nse-pr-pd',
      tradeDate: nameDate(ctx),
      symbol: text(g('SYMBOL'), 'SYMBOL'),
      code: null,
      isin: null,
      series: text(g('SERIES'), 'SERIES'),
      name: optionalText(g('SECURITY')),
      open: num(g('OPEN_PRICE'), 'OPEN_PRICE'),
      high: num(g('HIGH_PRICE'), 'HIGH_PRICE'),
      low: num(g('LOW_PRICE'), 'LOW_PRICE'),
      close: num(g('CLOSE_PRICE'), 'CLOSE_PRICE'),
      last: null,
      prevClose: optionalNum(g('PREV_CL_PR'), 'PREV_CL_PR'),
      volume: count(g('NET_TRDQTY'), 'NET_TRDQTY'),
      turnoverRs: optionalNum(g('NET_TRDVAL'), 'NET_TRDVAL'),
      trades: optionalCount(g('TRADES'), 'TRADES'),
      instrumentType: null,
      high52: optionalNum(g('HI_52_WK'), 'HI_52_WK'),
      low52: optionalNum(g('LO_52_WK'), 'LO_52_WK'),
    });
  },

  'nse-pr-bh': (g, ctx) => {
    const hl = text(g('HIGH/LOW'), 'HIGH/LOW').toUpperCase();
    if (hl !== 'H' && hl !== 'L') throw new BadValue(`HIGH/LOW is '${hl}', not H or L`);
    return {
      type: 'circuit-hit',
      exchange: 'NSE',
      tradeDate: nameDate(ctx),
      symbol: text(g('SYMBOL'), 'SYMBOL'),
      series: text(g('SERIES'), 'SERIES'),
      name: text(g('SECURITY'), 'SECURITY'),
      side: hl === 'H' ? 'upper' : 'lower',
    };
  },

  'nse-pr-bc': (g) => {
    const purpose = text(g('PURPOSE'), 'PURPOSE');
    return {
      type: 'corporate-action',
      exchange: 'NSE',
      symbol: text(g('SYMBOL'), 'SYMBOL'),
      series: text(g('SERIES'), 'SERIES'),
      name: text(g('SECURITY'), 'SECURITY'),
      recordDate: optionalDate(g('RECORD_DT')),
      bookClosureStart: optionalDate(g('BC_STRT_DT')),
      bookClosureEnd: optionalDate(g('BC_END_DT')),
      exDate: optionalDate(g('EX_DT')),
      noDeliveryStart: optionalDate(g('ND_STRT_DT')),
      noDeliveryEnd: optionalDate(g('ND_END_DT')),
      purpose,
      parsed: parsePurpose(purpose),
    };
  },

  'nse-pr-mcap': (g) => {
    const marketCapRs = num(g('Market Cap(Rs.)'), 'Market Cap(Rs.)');
    if (marketCapRs < 0) throw new BadValue('Market Cap(Rs.) is negative');
    return {
      type: 'market-cap',
      exchange: 'NSE',
      tradeDate: exchangeDate(g('Trade Date') ?? ''),
      symbol: text(g('Symbol'), 'Symbol'),
      series: text(g('Series'), 'Series'),
      name: text(g('Security Name'), 'Security Name'),
      category: optionalText(g('Category')),
      lastTradeDate: optionalDate(g('Last Trade Date')),
      faceValue: optionalNum(g('Face Value(Rs.)'), 'Face Value(Rs.)'),
      issueSize: optionalNum(g('Issue Size'), 'Issue Size'),
      closePrice: optionalNum(g('Close Price/Paid up value(Rs.)'), 'Close Price/Paid up value(Rs.)'),
      marketCapRs,
      marketCapCr: marketCapRs / 1e7,
    };
  },

  'nse-equity-list': (g) => ({
    type: 'nse-listing',
    symbol: text(g('SYMBOL'), 'SYMBOL'),
    name: text(g('NAME OF COMPANY'), 'NAME OF COMPANY'),
    series: text(g('SERIES'), 'SERIES'),
    listedOn: optionalDate(g('DATE OF LISTING')),
    paidUpValue: optionalNum(g('PAID UP VALUE'), 'PAID UP VALUE'),
    marketLot: optionalCount(g('MARKET LOT'), 'MARKET LOT'),
    isin: isin(g('ISIN NUMBER'), true) as string,
    faceValue: optionalNum(g('FACE VALUE'), 'FACE VALUE'),
  }),

  'bse-scrips': (g) => {
    const code = text(g('Security Code'), 'Security Code');
    if (!/^\d{6}$/.test(code)) throw new BadValue(`Security Code '${code}' is not a 6-digit BSE scrip code`);
    const name = optionalText(g('Security Name')) ?? optionalText(g('Issuer Name'));
    if (name === null) throw new BadValue('Security Name and Issuer Name are empty');
    return {
      type: 'bse-scrip',
      code,
      scripId: text(g('Security Id'), 'Security Id'),
      name,
      status: text(g('Status'), 'Status'),
      isin: isin(g('ISIN No'), true) as string,
      group: optionalText(g('Group')),
      faceValue: optionalNum(g('Face Value'), 'Face Value'),
      industry: optionalText(g('Industry')),
    };
  },

  'stockflow-actions': (g) => {
    const bseCode = optionalText(g('bse_code'));
    if (bseCode !== null && !/^\d{6}$/.test(bseCode)) throw new BadValue(`bse_code '${bseCode}' is not 6 digits`);
    const id = isin(g('isin'), false);
    const nseSymbol = optionalText(g('nse_symbol'));
    if (bseCode === null && id === null && nseSymbol === null) throw new BadValue('bse_code, isin and nse_symbol are all empty');
    const kind = text(g('kind'), 'kind').toLowerCase();
    if (kind !== 'split' && kind !== 'consolidation' && kind !== 'bonus') throw new BadValue(`kind is '${kind}', not split, consolidation or bonus`);
    const factor = num(g('factor'), 'factor');
    if (!(factor > 0)) throw new BadValue(`factor must be > 0 (got ${factor})`);
    if (kind === 'consolidation' ? factor >= 1 : factor <= 1) throw new BadValue(`a ${kind}'s factor must be ${kind === 'consolidation' ? 'below' : 'above'} 1 (got ${factor})`);
    return { type: 'stockflow-action', bseCode, isin: id, nseSymbol: nseSymbol?.toUpperCase() ?? null, exDate: exchangeDate(g('ex_date') ?? ''), kind, factor, purpose: optionalText(g('purpose')) };
  },

  'nse-price-bands': (g, ctx) => {
    const band = text(g('Band'), 'Band');
    let bandPct: number | null;
    if (/^no\s*band$/i.test(band)) bandPct = null;
    else {
      bandPct = num(band, 'Band');
      if (![2, 5, 10, 20, 40].includes(bandPct)) throw new BadValue(`Band is ${band}, not 2, 5, 10, 20, 40 or No Band`);
    }
    return {
      type: 'price-band',
      exchange: 'NSE',
      listDate: ctx.nameDate,
      symbol: text(g('Symbol'), 'Symbol'),
      series: text(g('Series'), 'Series'),
      name: text(g('Security Name'), 'Security Name'),
      bandPct,
      remarks: optionalText(g('Remarks')),
    };
  },
};

/** The parser of a kind, over a header's column index. */
export function rowParser(kind: ExchangeKind, columns: ColumnIndex): (fields: readonly string[], ctx: RowContext) => RowResult {
  const parse = PARSERS[kind];
  // Column positions by the names the parsers ask for, normalised once per file (not once per cell).
  const at = new Map<string, number | undefined>();
  let row: readonly string[] = [];
  const get = (c: string): string | undefined => {
    let i = at.get(c);
    if (i === undefined && !at.has(c)) at.set(c, (i = columns.get(norm(c))));
    return i === undefined ? undefined : row[i];
  };
  return (fields, ctx) => {
    row = fields;
    return parse(get, ctx);
  };
}
