-- Explanations (docs/models.md "Explanations", docs/runs.md): for each stock a
-- published run scored, the exact TreeSHAP base value and margin (log-odds)
-- and its top drivers, replaced with the run's rows in the same transaction.
--
-- prediction_explanations: one row per scored stock. base_value + the sum of
-- all 25 contributions = margin; probability = sigmoid(margin).
CREATE TABLE prediction_explanations (
    bse_code        TEXT NOT NULL,
    prediction_date TEXT NOT NULL,
    model_version   TEXT NOT NULL,
    base_value      REAL NOT NULL,
    margin          REAL NOT NULL,
    run_id          TEXT NOT NULL,
    PRIMARY KEY (bse_code, prediction_date, model_version)
) WITHOUT ROWID;

-- prediction_drivers: the stock's K strongest contributions (K = 5, fewer when
-- fewer features contribute anything), rank 1 = largest |contribution|, ties
-- by the feature's position in the feature set.
CREATE TABLE prediction_drivers (
    bse_code        TEXT NOT NULL,
    prediction_date TEXT NOT NULL,
    model_version   TEXT NOT NULL,
    rank            INTEGER NOT NULL CHECK (rank >= 1),
    feature         TEXT NOT NULL,
    feature_value   REAL,              -- as scored (after imputation); NULL for a missing (NaN) value
    contribution    REAL NOT NULL,     -- log-odds
    PRIMARY KEY (bse_code, prediction_date, model_version, rank)
) WITHOUT ROWID;
CREATE INDEX idx_drivers_date ON prediction_drivers (prediction_date, model_version);

-- Whether the run explained its stocks: 'explained' or 'unavailable: <reason>'
-- (NULL for runs before this migration, and runs that stopped before explaining).
ALTER TABLE batch_runs ADD COLUMN explanations TEXT;
