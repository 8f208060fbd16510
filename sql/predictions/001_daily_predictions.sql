-- The spec's table (shared/spec 003, AC4.2.5), exactly.
CREATE TABLE IF NOT EXISTS daily_predictions (
    prediction_id INTEGER PRIMARY KEY AUTOINCREMENT,
    bse_code TEXT NOT NULL,
    nse_symbol TEXT,
    company_name TEXT,
    prediction_date DATE NOT NULL,
    predicted_label INTEGER NOT NULL CHECK(predicted_label IN (0, 1)),
    probability REAL NOT NULL CHECK(probability BETWEEN 0 AND 1),
    confidence TEXT CHECK(confidence IN ('LOW', 'MEDIUM', 'HIGH')),
    model_version TEXT,
    model_type TEXT,
    prediction_timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE(bse_code, prediction_date, model_version)
);
CREATE INDEX idx_date_prob ON daily_predictions(prediction_date, probability DESC);
CREATE INDEX idx_bse_date ON daily_predictions(bse_code, prediction_date);
