/**
 * The normalised records read from the exchanges' own files (docs/exchange-files.md).
 * Every date is ISO `YYYY-MM-DD`; every number is a finite JS number with the
 * file's padding trimmed; an absent optional value is `null`. These are what a
 * writer of market.db consumes; this layer itself writes nothing.
 */

/** The nine kinds of file, plus the four PR bundle members that are four of them. */
export type ExchangeKind =
  | 'nse-udiff-cm'
  | 'bse-udiff-cm'
  | 'nse-legacy-cm'
  | 'bse-legacy-eq'
  | 'nse-full-bhavcopy'
  | 'nse-pr-bh'
  | 'nse-pr-bc'
  | 'nse-pr-mcap'
  | 'nse-pr-pd'
  | 'nse-equity-list'
  | 'bse-scrips'
  | 'nse-price-bands'
  | 'stockflow-actions';

export type Exchange = 'NSE' | 'BSE';

/** Where a record came from: `file` is the path, `member` the zip member (nested zips joined with `:`). */
export interface SourceRef {
  file: string;
  member: string | null;
  /** `file` or `file:member`, as messages print it. */
  label: string;
}

/** One session's bar of one security on one exchange, as traded (no adjustment). */
export interface PriceBar {
  type: 'price';
  exchange: Exchange;
  kind: ExchangeKind;
  tradeDate: string;
  /** NSE symbol, or BSE scrip id (TckrSymb / SC_NAME is not an id: legacy BSE files carry no scrip id, then null). */
  symbol: string | null;
  /** NSE token (UDiFF FinInstrmId) or the BSE scrip code (6 digits); null where the file has none. */
  code: string | null;
  isin: string | null;
  /** NSE series (EQ, BE, …) or BSE group (A, B, T, X, …). */
  series: string;
  name: string | null;
  open: number;
  high: number;
  low: number;
  close: number;
  last: number | null;
  prevClose: number | null;
  /** Shares traded. */
  volume: number;
  /** Traded value in rupees (the full bhavcopy's lakhs are converted). */
  turnoverRs: number | null;
  trades: number | null;
  /** Full bhavcopy only: delivered quantity and its percentage of volume (`-` in the file → null). */
  deliveryQty: number | null;
  deliveryPct: number | null;
  /** UDiFF: FinInstrmTp (STK for equities); BSE legacy: SC_TYPE (Q for equities); else null. */
  instrumentType: string | null;
  /** PR pd only: 52-week high and low. */
  high52: number | null;
  low52: number | null;
}

/** The exchange's own list of band hits (PR `bh` member) for one session. */
export interface CircuitHit {
  type: 'circuit-hit';
  exchange: 'NSE';
  /** From the member's or the bundle's name (bhDDMMYYYY.csv, PRddmmyy.zip): the file carries no date. */
  tradeDate: string;
  symbol: string;
  series: string;
  name: string;
  side: 'upper' | 'lower';
}

export type PurposeKind = 'split' | 'consolidation' | 'bonus' | 'dividend' | 'interest' | 'rights' | 'demerger' | 'meeting' | 'other';

/** One part of a PURPOSE text (`AGM/DIVIDEND - RS 8 PER SHARE` has two). */
export interface PurposePart {
  kind: PurposeKind;
  /** The text of this part, trimmed. */
  text: string;
  /**
   * Price adjustment factor: prices before the ex-date are divided by it, volumes multiplied.
   * split FV a → b: a/b (> 1); consolidation: a/b (< 1); bonus a:b: (a+b)/b. Absent for kinds that do not adjust here.
   */
  factor?: number;
  /** bonus and rights ratio `a:b`. */
  ratio?: [number, number];
  /** dividend per share, rights premium, in rupees, when stated. */
  amountRs?: number;
}

export interface ParsedPurpose {
  parts: PurposePart[];
  /** True when no part is `other`. */
  understood: boolean;
  /** The product of the parts' factors (1 when none adjusts). */
  factor: number;
}

/** A corporate action from a PR `bc` member: one row per series. */
export interface CorporateAction {
  type: 'corporate-action';
  exchange: 'NSE';
  symbol: string;
  series: string;
  name: string;
  recordDate: string | null;
  bookClosureStart: string | null;
  bookClosureEnd: string | null;
  exDate: string | null;
  noDeliveryStart: string | null;
  noDeliveryEnd: string | null;
  purpose: string;
  parsed: ParsedPurpose;
}

/** PR `mcap` member: market capitalisation by date. */
export interface MarketCap {
  type: 'market-cap';
  exchange: 'NSE';
  tradeDate: string;
  symbol: string;
  series: string;
  name: string;
  category: string | null;
  lastTradeDate: string | null;
  faceValue: number | null;
  issueSize: number | null;
  closePrice: number | null;
  marketCapRs: number;
  /** marketCapRs ÷ 10⁷. */
  marketCapCr: number;
}

/** NSE equity master (EQUITY_L.csv). */
export interface NseListing {
  type: 'nse-listing';
  symbol: string;
  name: string;
  series: string;
  listedOn: string | null;
  paidUpValue: number | null;
  marketLot: number | null;
  isin: string;
  faceValue: number | null;
}

/** BSE list of scrips. */
export interface BseScrip {
  type: 'bse-scrip';
  code: string;
  scripId: string;
  name: string;
  status: string;
  isin: string;
  group: string | null;
  faceValue: number | null;
  industry: string | null;
}

/** NSE price band (sec_list): the band (percent) or null for `No Band` (dynamic bands, no fixed circuit). */
export interface PriceBand {
  type: 'price-band';
  exchange: 'NSE';
  /** The list's date from its name (sec_list_DDMMYYYY.csv); null for `sec_list.csv`. Takes effect on the next session. */
  listDate: string | null;
  symbol: string;
  series: string;
  name: string;
  bandPct: number | null;
  remarks: string | null;
}

/**
 * A row of stockflow's own CSV of corporate actions (docs/exchange-files.md): the security by
 * `bse_code`, `isin` or `nse_symbol` (the first given that is known wins), the ex-date, the kind and its factor.
 */
export interface ActionRow {
  type: 'stockflow-action';
  bseCode: string | null;
  isin: string | null;
  nseSymbol: string | null;
  exDate: string;
  kind: 'split' | 'consolidation' | 'bonus';
  factor: number;
  purpose: string | null;
}

export type ExchangeRecord = PriceBar | CircuitHit | CorporateAction | MarketCap | NseListing | BseScrip | PriceBand | ActionRow;

/** A row that could not be read: never dropped silently. */
export interface ExchangeReject {
  source: SourceRef;
  line: number;
  reason: string;
  fields: readonly string[];
}
