-- stockflow input data model: data/market.db
-- Read-only for every stage but `stockflow data generate` and `stockflow data import`.
-- Dates are TEXT 'YYYY-MM-DD'; money in crore rupees (cr) where named so.

CREATE TABLE IF NOT EXISTS master_stock_list (
  bse_code         TEXT PRIMARY KEY CHECK (length(bse_code) = 6 AND bse_code GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]'),
  nse_symbol       TEXT,
  company_name     TEXT NOT NULL,
  sector           TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('ACTIVE', 'SUSPENDED', 'DELISTED')),
  market_cap_cr    REAL,
  circuit_band_pct REAL NOT NULL CHECK (circuit_band_pct IN (2, 5, 10, 20)),
  listed_on        TEXT
);

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
