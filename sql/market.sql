-- stockflow input data model: data/market.db
-- Read-only for every stage but `stockflow data generate` and `stockflow data import`.
-- Dates are TEXT 'YYYY-MM-DD'; money in crore rupees (cr) where named so.

CREATE TABLE IF NOT EXISTS master_stock_list (
  -- The stockflow key: the BSE scrip code where a BSE listing exists; an NSE-only security gets a key
  -- '0' + 5 digits (no BSE scrip code starts with 0), allocated once by the exchange importer and never reused.
  bse_code         TEXT PRIMARY KEY CHECK (length(bse_code) = 6 AND bse_code GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]'),
  nse_symbol       TEXT,
  company_name     TEXT NOT NULL,
  sector           TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('ACTIVE', 'SUSPENDED', 'DELISTED')),
  market_cap_cr    REAL,
  -- The band in force at the last session; NULL = no fixed band (NSE 'No Band': securities with derivatives).
  circuit_band_pct REAL CHECK (circuit_band_pct IS NULL OR circuit_band_pct IN (2, 5, 10, 20, 40)),
  listed_on        TEXT
);

-- The API looks a stock up by NSE symbol, case-insensitively (GET /predictions/{code}).
CREATE INDEX IF NOT EXISTS idx_master_nse_symbol ON master_stock_list (nse_symbol COLLATE NOCASE);

CREATE TABLE IF NOT EXISTS daily_prices (
  bse_code   TEXT NOT NULL,
  trade_date TEXT NOT NULL,
  open       REAL NOT NULL,
  high       REAL NOT NULL,
  low        REAL NOT NULL,
  close      REAL NOT NULL,
  volume     INTEGER NOT NULL CHECK (volume >= 0),
  PRIMARY KEY (bse_code, trade_date)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS quarterly_results (
  bse_code      TEXT NOT NULL,
  period_end    TEXT NOT NULL,
  announced_on  TEXT NOT NULL,
  revenue_cr    REAL,
  net_profit_cr REAL,
  eps           REAL,
  PRIMARY KEY (bse_code, period_end)
);
CREATE INDEX IF NOT EXISTS idx_results_announced ON quarterly_results (announced_on);

CREATE TABLE IF NOT EXISTS earnings_calendar (
  bse_code    TEXT NOT NULL,
  expected_on TEXT NOT NULL,
  PRIMARY KEY (bse_code, expected_on)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS news_sentiment (
  bse_code     TEXT NOT NULL,
  published_on TEXT NOT NULL,
  score        REAL NOT NULL CHECK (score BETWEEN -1 AND 1),
  headline     TEXT
);
CREATE INDEX IF NOT EXISTS idx_news_code_date ON news_sentiment (bse_code, published_on);
-- Import upserts on (bse_code, published_on, headline): the same file twice leaves the same rows.
CREATE UNIQUE INDEX IF NOT EXISTS uq_news_item ON news_sentiment (bse_code, published_on, ifnull(headline, ''));

CREATE TABLE IF NOT EXISTS market_holidays (
  holiday_on TEXT PRIMARY KEY,
  name       TEXT
) WITHOUT ROWID;

-- ── Exchange data: written by `stockflow data import-exchange` (docs/exchange-files.md) ─────────────────
-- Empty for generated and CSV-imported markets. A market.db made before these tables existed lacks them;
-- readers treat a missing table as empty (see EXCHANGE_TABLES in src/market/db.ts).

-- Identity lineage: the ISIN a stockflow key carried over which sessions (an ISIN changes on a sub-division).
CREATE TABLE IF NOT EXISTS security_isins (
  bse_code   TEXT NOT NULL,
  isin       TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen  TEXT NOT NULL,
  PRIMARY KEY (bse_code, isin)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_security_isin ON security_isins (isin);

-- Each exchange listing of a key: NSE symbol (with its token when a UDiFF file gave it) or BSE scrip code/id.
CREATE TABLE IF NOT EXISTS exchange_listings (
  bse_code   TEXT NOT NULL,
  exchange   TEXT NOT NULL CHECK (exchange IN ('NSE', 'BSE')),
  symbol     TEXT NOT NULL,
  token      TEXT,
  series     TEXT,
  first_seen TEXT NOT NULL,
  last_seen  TEXT NOT NULL,
  PRIMARY KEY (exchange, symbol, bse_code)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_listing_code ON exchange_listings (bse_code, exchange);

-- Bars as traded on each exchange. daily_prices holds the preferred exchange's bars (raw, unadjusted):
-- NSE by default, --prefer bse. Adjustments are applied when reading (corporate_actions).
CREATE TABLE IF NOT EXISTS exchange_prices (
  bse_code     TEXT NOT NULL,
  exchange     TEXT NOT NULL CHECK (exchange IN ('NSE', 'BSE')),
  trade_date   TEXT NOT NULL,
  series       TEXT,
  open         REAL NOT NULL,
  high         REAL NOT NULL,
  low          REAL NOT NULL,
  close        REAL NOT NULL,
  prev_close   REAL,
  volume       INTEGER NOT NULL CHECK (volume >= 0),
  turnover_rs  REAL,
  trades       INTEGER,
  delivery_qty INTEGER,
  delivery_pct REAL,
  -- The kind of file the bar came from (nse-udiff-cm, nse-legacy-cm, nse-full-bhavcopy, nse-pr-pd, bse-udiff-cm,
  -- bse-legacy-eq): a later import replaces a bar only with one from a file of the same or a better kind.
  source       TEXT,
  PRIMARY KEY (bse_code, exchange, trade_date)
) WITHOUT ROWID;

-- The band in force from a session on: a sec_list for session D takes effect at the session after D.
-- band_pct NULL = No Band. The band on date X is the row with the greatest effective_from <= X.
CREATE TABLE IF NOT EXISTS price_bands (
  bse_code       TEXT NOT NULL,
  effective_from TEXT NOT NULL,
  band_pct       REAL CHECK (band_pct IS NULL OR band_pct IN (2, 5, 10, 20, 40)),
  remarks        TEXT,
  PRIMARY KEY (bse_code, effective_from)
) WITHOUT ROWID;

-- The exchange's own list of band hits (NSE PR bh files), by session and side. Where a session has
-- rows here (circuit_hit_sessions) they are the truth for that session; elsewhere hits are derived.
CREATE TABLE IF NOT EXISTS circuit_hits (
  bse_code   TEXT NOT NULL,
  trade_date TEXT NOT NULL,
  side       TEXT NOT NULL CHECK (side IN ('upper', 'lower')),
  PRIMARY KEY (bse_code, trade_date, side)
) WITHOUT ROWID;
-- The sessions whose bh file was imported (an empty bh file still says: no stock hit a band that day).
CREATE TABLE IF NOT EXISTS circuit_hit_sessions (
  trade_date TEXT PRIMARY KEY,
  exchange   TEXT NOT NULL CHECK (exchange IN ('NSE', 'BSE'))
) WITHOUT ROWID;

-- Splits, consolidations and bonuses. factor = new shares per old share (FVSPLT 10→5: 2; BONUS 1:1: 2;
-- a consolidation < 1). A reader as of session S divides prices and multiplies volumes of the bars before
-- ex_date by factor, for every action with ex_date <= S (never one not yet effective).
CREATE TABLE IF NOT EXISTS corporate_actions (
  bse_code TEXT NOT NULL,
  ex_date  TEXT NOT NULL,
  kind     TEXT NOT NULL CHECK (kind IN ('split', 'consolidation', 'bonus')),
  factor   REAL NOT NULL CHECK (factor > 0),
  purpose  TEXT NOT NULL,
  source   TEXT NOT NULL,
  PRIMARY KEY (bse_code, ex_date, kind)
) WITHOUT ROWID;

-- Settings of the exchange import, one row each. `prefer`: the exchange whose bars daily_prices holds for a
-- dual-listed stock ('NSE' or 'BSE', --prefer); a later import asking for the other is refused. No row = NSE.
CREATE TABLE IF NOT EXISTS exchange_settings (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- Market capitalisation by session (NSE PR mcap files), in crore; master_stock_list keeps the latest.
CREATE TABLE IF NOT EXISTS market_caps (
  bse_code      TEXT NOT NULL,
  trade_date    TEXT NOT NULL,
  market_cap_cr REAL NOT NULL,
  PRIMARY KEY (bse_code, trade_date)
) WITHOUT ROWID;
