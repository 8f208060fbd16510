/**
 * What `stockflow data import` accepts: for each CSV kind, its table in
 * market.db (sql/market.sql), its columns with their value kinds, which of
 * them are required, the key an upsert conflicts on, and the SQL that upserts
 * one row. docs/csv-formats.md describes the same tables for people.
 */

/** The value kinds a CSV cell can hold; each has one parser in validate.ts. */
export type ColumnKind =
  | 'code' //      6-digit BSE code
  | 'date' //      YYYY-MM-DD, a real calendar date
  | 'text' //      free text (trimmed)
  | 'price' //     finite number > 0
  | 'number' //    finite number (may be negative)
  | 'nonneg' //    finite number >= 0
  | 'volume' //    whole number >= 0
  | 'status' //    ACTIVE | SUSPENDED | DELISTED
  | 'band' //      2 | 5 | 10 | 20
  | 'score'; //    finite number in [-1, 1]

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  /** Required: the header must have the column and every row a non-empty value. Optional: may be absent or empty (NULL). */
  required: boolean;
  /** Numbers: the largest magnitude accepted (docs/csv-formats.md, Limits). */
  max?: number;
}

/** The `--flag` names of the import command, one per CSV kind. */
export type FileKind = 'master' | 'prices' | 'results' | 'calendar' | 'sentiment' | 'holidays';

export interface TableSpec {
  kind: FileKind;
  table: string;
  columns: readonly ColumnSpec[];
  /** Columns of the table's unique key, in order (for duplicate detection and messages). */
  key: readonly string[];
  /** The ON CONFLICT target (the primary key, or the expression of a unique index). */
  conflict: string;
  /** Whether rows carry a bse_code that must be in the master list. */
  codeMustBeKnown: boolean;
}

const col = (name: string, kind: ColumnKind, required = true, max?: number): ColumnSpec => (max === undefined ? { name, kind, required } : { name, kind, required, max });

/** Sane magnitudes (docs/csv-formats.md, Limits): far above any listed Indian stock, far below what breaks the arithmetic. */
export const LIMITS = {
  /** A share price in rupees. */
  price: 1e7,
  /** Shares traded in a session. */
  volume: 1e13,
  /** Crore rupees (market cap, revenue, profit). */
  crore: 1e8,
  /** Rupees per share. */
  eps: 1e6,
} as const;

export const TABLES: Readonly<Record<FileKind, TableSpec>> = {
  master: {
    kind: 'master',
    table: 'master_stock_list',
    columns: [
      col('bse_code', 'code'),
      col('nse_symbol', 'text', false),
      col('company_name', 'text'),
      col('sector', 'text'),
      col('status', 'status'),
      col('market_cap_cr', 'nonneg', false, LIMITS.crore),
      col('circuit_band_pct', 'band'),
      col('listed_on', 'date', false),
    ],
    key: ['bse_code'],
    conflict: 'bse_code',
    codeMustBeKnown: false,
  },
  prices: {
    kind: 'prices',
    table: 'daily_prices',
    columns: [
      col('bse_code', 'code'),
      col('trade_date', 'date'),
      col('open', 'price', true, LIMITS.price),
      col('high', 'price', true, LIMITS.price),
      col('low', 'price', true, LIMITS.price),
      col('close', 'price', true, LIMITS.price),
      col('volume', 'volume', true, LIMITS.volume),
    ],
    key: ['bse_code', 'trade_date'],
    conflict: 'bse_code, trade_date',
    codeMustBeKnown: true,
  },
  results: {
    kind: 'results',
    table: 'quarterly_results',
    columns: [
      col('bse_code', 'code'),
      col('period_end', 'date'),
      col('announced_on', 'date'),
      col('revenue_cr', 'number', false, LIMITS.crore),
      col('net_profit_cr', 'number', false, LIMITS.crore),
      col('eps', 'number', false, LIMITS.eps),
    ],
    key: ['bse_code', 'period_end'],
    conflict: 'bse_code, period_end',
    codeMustBeKnown: true,
  },
  calendar: {
    kind: 'calendar',
    table: 'earnings_calendar',
    columns: [col('bse_code', 'code'), col('expected_on', 'date')],
    key: ['bse_code', 'expected_on'],
    conflict: 'bse_code, expected_on',
    codeMustBeKnown: true,
  },
  sentiment: {
    kind: 'sentiment',
    table: 'news_sentiment',
    columns: [col('bse_code', 'code'), col('published_on', 'date'), col('score', 'score'), col('headline', 'text', false)],
    key: ['bse_code', 'published_on', 'headline'],
    // Matches the unique index uq_news_item in sql/market.sql.
    conflict: "bse_code, published_on, ifnull(headline, '')",
    codeMustBeKnown: true,
  },
  holidays: {
    kind: 'holidays',
    table: 'market_holidays',
    columns: [col('holiday_on', 'date'), col('name', 'text', false)],
    key: ['holiday_on'],
    conflict: 'holiday_on',
    codeMustBeKnown: false,
  },
};

/** The order files are imported in: the master list first, so later files can check codes against it. */
export const IMPORT_ORDER: readonly FileKind[] = ['master', 'prices', 'results', 'calendar', 'sentiment', 'holidays'];

/**
 * The upsert for the columns a file actually has. Columns the file leaves out
 * are NULL in a new row and keep their value in an existing one; key columns
 * are never updated. A file with only key columns inserts missing rows.
 */
export function upsertSql(spec: TableSpec, present: readonly string[]): string {
  const names = present.join(', ');
  const params = present.map(() => '?').join(', ');
  const update = present.filter((c) => !spec.key.includes(c));
  const action = update.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${update.map((c) => `${c} = excluded.${c}`).join(', ')}`;
  return `INSERT INTO ${spec.table} (${names}) VALUES (${params}) ON CONFLICT (${spec.conflict}) ${action}`;
}
