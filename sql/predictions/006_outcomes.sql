-- Realised outcomes (issue 14): for a stored prediction (date, model version, stock) whose
-- model's horizon has elapsed, whether the stock hit its upper circuit within the horizon's
-- sessions from the prediction date (docs/runs.md, "Outcomes"). Owned by the predictions store;
-- filled by each batch (its outcomes stage) and by `stockflow evaluate`.
-- The prediction's probability, label and confidence are copied from daily_predictions when the
-- outcome is recorded (a publishing run that replaces the rows deletes their outcomes in the same
-- transaction, so the copy never outlives the row), and the key is ordered model, date, stock:
-- `stockflow evaluate` reads a model's dates as one range of this table, with no join.
CREATE TABLE IF NOT EXISTS prediction_outcomes (
    model_version TEXT NOT NULL,
    prediction_date TEXT NOT NULL,
    bse_code TEXT NOT NULL,
    probability REAL NOT NULL,
    predicted_label INTEGER NOT NULL CHECK (predicted_label IN (0, 1)),
    confidence TEXT,
    horizon_sessions INTEGER NOT NULL CHECK (horizon_sessions >= 1),
    window_end TEXT NOT NULL,          -- the last session of the window (the horizon-th session from the prediction date)
    hit INTEGER NOT NULL CHECK (hit IN (0, 1)),
    hit_on TEXT,                       -- the first session whose close reached the upper circuit, when hit = 1
    source TEXT NOT NULL CHECK (source IN ('closes', 'exchange')),
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (model_version, prediction_date, bse_code)
) WITHOUT ROWID;
CREATE INDEX idx_outcomes_date ON prediction_outcomes (prediction_date, model_version);
