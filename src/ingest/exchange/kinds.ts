/**
 * Which exchange file a header is: detection by the columns, never by the file's name.
 *
 * Rules (docs/exchange-files.md, "Detection"):
 * - Column names are compared after trimming (EQUITY_L's ` SERIES`, the full
 *   bhavcopy's `, `) and case-insensitively; empty columns at the end of the
 *   header (the NSE legacy bhavcopy's trailing comma) are not columns.
 * - A fixed-format kind matches when the header holds exactly its columns, in any order.
 * - The BSE list of scrips matches by name: its required columns must all be there
 *   (`Security Name` or `Issuer Name`), extra ones are tolerated.
 * - The NSE and BSE UDiFF CM bhavcopies have the same 34 columns. They are told apart by
 *   the first data row's `Src` (`NSE` or `BSE`); each row is then checked to agree (a BSE
 *   row's `FinInstrmId` must be a 6-digit scrip code). A UDiFF file without rows, or whose
 *   `Src` is neither, stops the import: stockflow does not guess.
 * - A header that matches no kind stops the import with one line naming the file, the
 *   kind it most resembles (most columns in common) and the columns that differ.
 */
import { StockflowError } from '../../errors.js';
import type { ExchangeKind } from './types.js';

export const UDIFF_COLUMNS = [
  'TradDt', 'BizDt', 'Sgmt', 'Src', 'FinInstrmTp', 'FinInstrmId', 'ISIN', 'TckrSymb', 'SctySrs', 'XpryDt',
  'FininstrmActlXpryDt', 'StrkPric', 'OptnTp', 'FinInstrmNm', 'OpnPric', 'HghPric', 'LwPric', 'ClsPric', 'LastPric',
  'PrvsClsgPric', 'UndrlygPric', 'SttlmPric', 'OpnIntrst', 'ChngInOpnIntrst', 'TtlTradgVol', 'TtlTrfVal',
  'TtlNbOfTxsExctd', 'SsnId', 'NewBrdLotQty', 'Rmks', 'Rsvd1', 'Rsvd2', 'Rsvd3', 'Rsvd4',
] as const;

interface FixedSpec {
  /** What the detection matched: the two UDiFF kinds share one spec. */
  id: ExchangeKind | 'udiff-cm';
  title: string;
  columns: readonly string[];
}

const FIXED: readonly FixedSpec[] = [
  { id: 'udiff-cm', title: 'UDiFF CM bhavcopy (NSE or BSE)', columns: UDIFF_COLUMNS },
  {
    id: 'nse-legacy-cm',
    title: 'NSE legacy CM bhavcopy (cmDDMMMYYYYbhav.csv)',
    columns: ['SYMBOL', 'SERIES', 'OPEN', 'HIGH', 'LOW', 'CLOSE', 'LAST', 'PREVCLOSE', 'TOTTRDQTY', 'TOTTRDVAL', 'TIMESTAMP', 'TOTALTRADES', 'ISIN'],
  },
  {
    id: 'bse-legacy-eq',
    title: 'BSE legacy bhavcopy (EQ_ISINCODE_DDMMYY.CSV)',
    columns: ['SC_CODE', 'SC_NAME', 'SC_GROUP', 'SC_TYPE', 'OPEN', 'HIGH', 'LOW', 'CLOSE', 'LAST', 'PREVCLOSE', 'NO_TRADES', 'NO_OF_SHRS', 'NET_TURNOV', 'TDCLOINDI', 'ISIN_CODE', 'TRADING_DATE', 'FILLER2', 'FILLER3'],
  },
  {
    id: 'nse-full-bhavcopy',
    title: 'NSE full bhavcopy with deliveries (sec_bhavdata_full_DDMMYYYY.csv)',
    columns: ['SYMBOL', 'SERIES', 'DATE1', 'PREV_CLOSE', 'OPEN_PRICE', 'HIGH_PRICE', 'LOW_PRICE', 'LAST_PRICE', 'CLOSE_PRICE', 'AVG_PRICE', 'TTL_TRD_QNTY', 'TURNOVER_LACS', 'NO_OF_TRADES', 'DELIV_QTY', 'DELIV_PER'],
  },
  { id: 'nse-pr-bh', title: 'NSE PR bundle band hits (bhDDMMYYYY.csv)', columns: ['SYMBOL', 'SERIES', 'SECURITY', 'HIGH/LOW'] },
  {
    id: 'nse-pr-bc',
    title: 'NSE PR bundle corporate actions (bcDDMMYYYY.csv)',
    columns: ['SERIES', 'SYMBOL', 'SECURITY', 'RECORD_DT', 'BC_STRT_DT', 'BC_END_DT', 'EX_DT', 'ND_STRT_DT', 'ND_END_DT', 'PURPOSE'],
  },
  {
    id: 'nse-pr-mcap',
    title: 'NSE PR bundle market capitalisation (mcapDDMMYYYY.csv)',
    columns: ['Trade Date', 'Symbol', 'Series', 'Security Name', 'Category', 'Last Trade Date', 'Face Value(Rs.)', 'Issue Size', 'Close Price/Paid up value(Rs.)', 'Market Cap(Rs.)'],
  },
  {
    id: 'nse-pr-pd',
    title: 'NSE PR bundle price data (pdDDMMYYYY.csv)',
    columns: ['MKT', 'SERIES', 'SYMBOL', 'SECURITY', 'PREV_CL_PR', 'OPEN_PRICE', 'HIGH_PRICE', 'LOW_PRICE', 'CLOSE_PRICE', 'NET_TRDVAL', 'NET_TRDQTY', 'IND_SEC', 'CORP_IND', 'TRADES', 'HI_52_WK', 'LO_52_WK'],
  },
  {
    id: 'nse-equity-list',
    title: 'NSE equity master (EQUITY_L.csv)',
    columns: ['SYMBOL', 'NAME OF COMPANY', 'SERIES', 'DATE OF LISTING', 'PAID UP VALUE', 'MARKET LOT', 'ISIN NUMBER', 'FACE VALUE'],
  },
  { id: 'nse-price-bands', title: 'NSE price bands (sec_list_DDMMYYYY.csv)', columns: ['Symbol', 'Series', 'Security Name', 'Band', 'Remarks'] },
];

export const BSE_SCRIPS_TITLE = 'BSE list of scrips';

/**
 * stockflow's own CSV of corporate actions: `ex_date,kind,factor` required, at least one of
 * `bse_code`, `isin`, `nse_symbol`, and `purpose` optional; no other column (a typo fails loudly).
 */
export const ACTIONS_TITLE = 'stockflow corporate actions CSV (bse_code|isin|nse_symbol,ex_date,kind,factor[,purpose])';
const ACTIONS_REQUIRED = ['ex_date', 'kind', 'factor'] as const;
const ACTIONS_IDS = ['bse_code', 'isin', 'nse_symbol'] as const;
const ACTIONS_ALL = new Set<string>([...ACTIONS_REQUIRED, ...ACTIONS_IDS, 'purpose'].map((c) => c.toUpperCase()));
const BSE_SCRIPS_REQUIRED = ['Security Code', 'Security Id', 'Status', 'ISIN No'] as const;
const BSE_SCRIPS_NAME = ['Security Name', 'Issuer Name'] as const;

export const KIND_TITLES: Record<ExchangeKind, string> = {
  'nse-udiff-cm': 'NSE UDiFF CM bhavcopy',
  'bse-udiff-cm': 'BSE UDiFF CM bhavcopy',
  'nse-legacy-cm': 'NSE legacy CM bhavcopy',
  'bse-legacy-eq': 'BSE legacy bhavcopy (EQ_ISINCODE)',
  'nse-full-bhavcopy': 'NSE full bhavcopy with deliveries',
  'nse-pr-bh': 'NSE PR band hits (bh)',
  'nse-pr-bc': 'NSE PR corporate actions (bc)',
  'nse-pr-mcap': 'NSE PR market cap (mcap)',
  'nse-pr-pd': 'NSE PR price data (pd)',
  'nse-equity-list': 'NSE equity master (EQUITY_L)',
  'bse-scrips': 'BSE list of scrips',
  'nse-price-bands': 'NSE price bands (sec_list)',
  'stockflow-actions': 'stockflow corporate actions CSV',
};

/** The order kinds are listed in summaries. */
export const KIND_ORDER = Object.keys(KIND_TITLES) as ExchangeKind[];

/** A column name as compared: trimmed, inner spaces collapsed, upper case. */
export const norm = (c: string): string => c.trim().replace(/\s+/g, ' ').toUpperCase();

/** The header's columns without the empty ones at its end. */
function columnsOf(header: readonly string[]): string[] {
  const cols = header.map((c) => c.trim());
  while (cols.length > 0 && cols[cols.length - 1] === '') cols.pop();
  return cols;
}

/** Column index by normalised name. */
export type ColumnIndex = ReadonlyMap<string, number>;

export type HeaderMatch =
  | { ok: true; kind: ExchangeKind | 'udiff-cm'; columns: ColumnIndex }
  | { ok: false; resembles: string | null; missing: string[]; unexpected: string[] };

/** Matches a header against every kind (see the module's rules). */
export function matchHeader(header: readonly string[]): HeaderMatch {
  const cols = columnsOf(header);
  const index = new Map<string, number>();
  cols.forEach((c, i) => {
    if (!index.has(norm(c))) index.set(norm(c), i);
  });
  const have = new Set(cols.map(norm));
  const duplicated = cols.length !== have.size;

  let best: { title: string; missing: string[]; unexpected: string[]; score: number } | null = null;
  for (const spec of FIXED) {
    const want = new Set(spec.columns.map(norm));
    const missing = spec.columns.filter((c) => !have.has(norm(c)));
    const unexpected = cols.filter((c) => !want.has(norm(c)));
    if (missing.length === 0 && unexpected.length === 0 && !duplicated) return { ok: true, kind: spec.id, columns: index };
    const common = spec.columns.length - missing.length;
    const score = common / (spec.columns.length + unexpected.length);
    if (!best || score > best.score) best = { title: spec.title, missing, unexpected, score };
  }

  // stockflow's actions CSV: by name, no extra column.
  if (ACTIONS_REQUIRED.some((c) => have.has(norm(c)))) {
    const missingA: string[] = ACTIONS_REQUIRED.filter((c) => !have.has(norm(c)));
    if (!ACTIONS_IDS.some((c) => have.has(norm(c)))) missingA.push(ACTIONS_IDS.join(' or '));
    const unexpectedA = cols.filter((c) => !ACTIONS_ALL.has(norm(c)));
    if (missingA.length === 0 && unexpectedA.length === 0 && !duplicated) return { ok: true, kind: 'stockflow-actions', columns: index };
    const scoreA = (ACTIONS_REQUIRED.length + 1 - missingA.length) / (ACTIONS_REQUIRED.length + 1 + unexpectedA.length);
    if (!best || scoreA > best.score) best = { title: ACTIONS_TITLE, missing: missingA, unexpected: unexpectedA, score: scoreA };
  }

  // BSE list of scrips: by name, extra columns tolerated.
  const missing: string[] = BSE_SCRIPS_REQUIRED.filter((c) => !have.has(norm(c)));
  if (!BSE_SCRIPS_NAME.some((c) => have.has(norm(c)))) missing.push(BSE_SCRIPS_NAME.join(' or '));
  if (missing.length === 0) return { ok: true, kind: 'bse-scrips', columns: index };
  const scripsScore = (BSE_SCRIPS_REQUIRED.length + 1 - missing.length) / (BSE_SCRIPS_REQUIRED.length + 1);
  if (scripsScore > (best?.score ?? 0)) best = { title: BSE_SCRIPS_TITLE, missing, unexpected: [], score: scripsScore };

  if (best && best.score >= 0.5) return { ok: false, resembles: best.title, missing: best.missing, unexpected: best.unexpected };
  return { ok: false, resembles: null, missing: [], unexpected: [] };
}

/** The one-line message for a header that matched no kind. */
export function unrecognisedMessage(label: string, header: readonly string[], m: Extract<HeaderMatch, { ok: false }>): string {
  if (m.resembles === null) {
    const shown = columnsOf(header).slice(0, 6).join(',');
    return `${label}: not a known exchange file (its header '${shown}${columnsOf(header).length > 6 ? ',…' : ''}' matches none of the supported kinds; docs/exchange-files.md)`;
  }
  const diff = [
    m.missing.length > 0 ? `missing ${m.missing.map((c) => `'${c}'`).join(', ')}` : '',
    m.unexpected.length > 0 ? `unexpected ${m.unexpected.map((c) => `'${c}'`).join(', ')}` : '',
  ].filter(Boolean);
  return `${label}: looks like a ${m.resembles} but its columns differ: ${diff.join('; ') || 'a column is named twice'} (the exchange may have changed the format; nothing imported)`;
}

export const formatError = (message: string): StockflowError => new StockflowError('EXCHANGE_FORMAT', message);
