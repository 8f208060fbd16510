-- One row per batch run: what it read, what it wrote, how long each stage took.
CREATE TABLE batch_runs (
    run_id              TEXT PRIMARY KEY,
    prediction_date     TEXT NOT NULL,
    as_of_session       TEXT,
    started_at          TEXT NOT NULL,
    finished_at         TEXT,
    status              TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'budget_exceeded', 'interrupted')),
    model_name          TEXT,
    model_version       TEXT,
    model_type          TEXT,
    model_sha256        TEXT,
    model_roc_auc       REAL,   -- the model's recorded validation ROC-AUC, when it has one
    feature_set_version TEXT,
    universe_count      INTEGER,
    processed_count     INTEGER,
    skipped_count       INTEGER,
    predicted_uc_count  INTEGER,
    high_count          INTEGER,
    medium_count        INTEGER,
    low_count           INTEGER,
    stage_ms            TEXT,   -- JSON: {"plan": ms, "extract": ms, …}
    input_fingerprint   TEXT,   -- sha256 over the inputs read (universe, features, model)
    threads             INTEGER,
    error               TEXT,
    notifications       TEXT    -- JSON: per-channel outcome
);
CREATE INDEX idx_runs_date ON batch_runs (prediction_date, started_at);

-- Stocks a run could not score, and why (the run's date's latest run wins).
CREATE TABLE skipped_stocks (
    prediction_date TEXT NOT NULL,
    bse_code        TEXT NOT NULL,
    reason          TEXT NOT NULL,
    detail          TEXT,
    run_id          TEXT,
    PRIMARY KEY (prediction_date, bse_code)
);
