/**
 * Where each exchange file comes from: the URL patterns and the date formats each uses, in one place
 * (#13). The defaults are the exchanges' public archive paths at the time of writing; every source can be
 * pointed elsewhere (a mirror, a proxy path) by an environment variable or `<data-dir>/fetch.json`
 * (config.ts; README "The evening fetch").
 *
 * Placeholders in a pattern, for the session date D (2025-12-16):
 *   {YYYYMMDD} 20251216   {DDMMYYYY} 16122025   {DDMMYY} 161225   {YYYY} 2025   {MM} 12   {DD} 16
 *   {MON} DEC   {Mon} Dec
 */
import type { ExchangeKind } from '../ingest/exchange/types.js';
import type { IsoDate } from '../market/dates.js';

export type SourceId = 'nse-udiff' | 'nse-pr' | 'nse-full' | 'nse-sec-list' | 'bse-udiff' | 'nse-equity-list' | 'bse-scrips';

export interface SourceDef {
  id: SourceId;
  title: string;
  /** Daily (one file per session) or a master (fetched weekly or with --masters). */
  daily: boolean;
  /** The default URL pattern. */
  url: string;
  /** The file's name on disk (a pattern, same placeholders): the exchange's own name. */
  file: string;
  /** The kinds its CSVs (or zip members) must be detected as (the importer's detector). */
  kinds: readonly ExchangeKind[];
  /** Kinds that must all be present (a PR bundle without its pd member is not a PR bundle). */
  required: readonly ExchangeKind[];
  zip: boolean;
}

export const SOURCES: readonly SourceDef[] = [
  {
    id: 'nse-udiff',
    title: 'NSE UDiFF CM bhavcopy',
    daily: true,
    url: 'https://nsearchives.nseindia.com/content/cm/BhavCopy_NSE_CM_0_0_0_{YYYYMMDD}_F_0000.csv.zip',
    file: 'BhavCopy_NSE_CM_0_0_0_{YYYYMMDD}_F_0000.csv.zip',
    kinds: ['nse-udiff-cm'],
    required: ['nse-udiff-cm'],
    zip: true,
  },
  {
    id: 'nse-pr',
    title: 'NSE PR bundle',
    daily: true,
    url: 'https://nsearchives.nseindia.com/archives/equities/bhavcopy/pr/PR{DDMMYY}.zip',
    file: 'PR{DDMMYY}.zip',
    kinds: ['nse-pr-pd', 'nse-pr-bh', 'nse-pr-bc', 'nse-pr-mcap'],
    required: ['nse-pr-pd', 'nse-pr-bh'],
    zip: true,
  },
  {
    id: 'nse-full',
    title: 'NSE full bhavcopy with deliveries',
    daily: true,
    url: 'https://nsearchives.nseindia.com/products/content/sec_bhavdata_full_{DDMMYYYY}.csv',
    file: 'sec_bhavdata_full_{DDMMYYYY}.csv',
    kinds: ['nse-full-bhavcopy'],
    required: ['nse-full-bhavcopy'],
    zip: false,
  },
  {
    id: 'nse-sec-list',
    title: 'NSE price bands (sec_list)',
    daily: true,
    url: 'https://nsearchives.nseindia.com/content/equities/sec_list_{DDMMYYYY}.csv',
    file: 'sec_list_{DDMMYYYY}.csv',
    kinds: ['nse-price-bands'],
    required: ['nse-price-bands'],
    zip: false,
  },
  {
    id: 'bse-udiff',
    title: 'BSE UDiFF CM bhavcopy',
    daily: true,
    url: 'https://www.bseindia.com/download/BhavCopy/Equity/BhavCopy_BSE_CM_0_0_0_{YYYYMMDD}_F_0000.CSV',
    file: 'BhavCopy_BSE_CM_0_0_0_{YYYYMMDD}_F_0000.CSV',
    kinds: ['bse-udiff-cm'],
    required: ['bse-udiff-cm'],
    zip: false,
  },
  {
    id: 'nse-equity-list',
    title: 'NSE equity master (EQUITY_L)',
    daily: false,
    url: 'https://nsearchives.nseindia.com/content/equities/EQUITY_L.csv',
    file: 'EQUITY_L.csv',
    kinds: ['nse-equity-list'],
    required: ['nse-equity-list'],
    zip: false,
  },
  {
    id: 'bse-scrips',
    title: 'BSE list of scrips',
    daily: false,
    url: 'https://api.bseindia.com/BseIndiaAPI/api/LitsOfScripCSVDownload/w?segment=Equity&status=Active&industry=&Group=&Scripcode=',
    file: 'List_of_scrips.csv',
    kinds: ['bse-scrips'],
    required: ['bse-scrips'],
    zip: false,
  },
];

export const SOURCE_IDS: readonly SourceId[] = SOURCES.map((s) => s.id);

/** The environment variable that overrides a source's URL: STOCKFLOW_FETCH_NSE_UDIFF_URL, … */
export const envNameOf = (id: SourceId): string => `STOCKFLOW_FETCH_${id.toUpperCase().replace(/-/g, '_')}_URL`;

const MON = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** A pattern with its date placeholders filled in for D; an unknown `{…}` is left as it is. */
export function fillPattern(pattern: string, d: IsoDate): string {
  const [y, m, dd] = [d.slice(0, 4), d.slice(5, 7), d.slice(8, 10)];
  const mon = MON[Number(m) - 1];
  const values: Record<string, string> = {
    YYYYMMDD: `${y}${m}${dd}`,
    DDMMYYYY: `${dd}${m}${y}`,
    DDMMYY: `${dd}${m}${y.slice(2)}`,
    YYYY: y,
    MM: m,
    DD: dd,
    MON: mon,
    Mon: mon[0] + mon.slice(1).toLowerCase(),
  };
  return pattern.replace(/\{([A-Za-z]+)\}/g, (all, k: string) => values[k] ?? all);
}

/** Placeholders a pattern uses that fillPattern does not know (a typo in a configured URL). */
export function unknownPlaceholders(pattern: string): string[] {
  const known = new Set(['YYYYMMDD', 'DDMMYYYY', 'DDMMYY', 'YYYY', 'MM', 'DD', 'MON', 'Mon']);
  return [...pattern.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]).filter((k) => !known.has(k));
}
