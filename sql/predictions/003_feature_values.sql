-- The offline feature store: each prediction date's feature rows as scored
-- (after imputation), feature set v1. Keyed by prediction date, not only the
-- as-of session: two dates with the same as-of session can differ in news and
-- days to earnings, since the cutoff is the start of the prediction date.
CREATE TABLE feature_values (
    bse_code            TEXT NOT NULL,
    prediction_date     TEXT NOT NULL,
    as_of_date          TEXT NOT NULL,
    feature_set_version TEXT NOT NULL,
    ret_5d                   REAL NOT NULL,
    ret_20d                  REAL NOT NULL,
    ret_60d                  REAL NOT NULL,
    rsi_14                   REAL NOT NULL,
    atr_14_pct               REAL NOT NULL,
    volatility_contraction   REAL NOT NULL,
    volume_dry_up            REAL NOT NULL,
    dist_52w_high            REAL NOT NULL,
    dist_sma_50              REAL NOT NULL,
    dist_sma_200             REAL NOT NULL,
    macd_hist_pct            REAL NOT NULL,
    bb_width_20              REAL NOT NULL,
    uc_count_250d            REAL NOT NULL,
    revenue_growth_yoy       REAL NOT NULL,
    profit_growth_yoy        REAL NOT NULL,
    net_profit_margin        REAL NOT NULL,
    npm_trend                REAL NOT NULL,
    eps_growth_qoq           REAL NOT NULL,
    revenue_acceleration     REAL NOT NULL,
    log_market_cap           REAL NOT NULL,
    sentiment_7d             REAL NOT NULL,
    news_count_30d           REAL NOT NULL,
    sentiment_shift          REAL NOT NULL,
    days_to_earnings         REAL NOT NULL,
    earnings_window_uc_rate  REAL NOT NULL,
    imputed_count       INTEGER NOT NULL,
    PRIMARY KEY (bse_code, prediction_date, feature_set_version)
) WITHOUT ROWID;
CREATE INDEX idx_features_date ON feature_values (prediction_date, feature_set_version);
