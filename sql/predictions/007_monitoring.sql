-- Drift and the challenger (issue 14, docs/monitoring.md). Owned by the predictions store.
--
-- drift_runs: one row per batch run that compared its rows with its model's reference
-- distribution (model.json drift_reference); drift_subjects: that run's PSI of each
-- feature and of the score ('score'), with the bins compared (JSON).
CREATE TABLE IF NOT EXISTS drift_runs (
    run_id            TEXT PRIMARY KEY,
    prediction_date   TEXT NOT NULL,
    model_name        TEXT NOT NULL,
    model_version     TEXT NOT NULL,
    reference_source  TEXT NOT NULL CHECK (reference_source IN ('training', 'profile')),
    reference_rows    INTEGER NOT NULL,
    reference_from    TEXT,
    reference_to      TEXT,
    rows              INTEGER NOT NULL,     -- the run's rows compared
    psi_moderate      REAL NOT NULL,        -- the thresholds in force
    psi_significant   REAL NOT NULL,
    psi_floor         REAL NOT NULL,
    recorded_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_drift_runs_date ON drift_runs (prediction_date);
CREATE TABLE IF NOT EXISTS drift_subjects (
    run_id           TEXT NOT NULL,
    subject          TEXT NOT NULL,          -- a feature name, or 'score'
    kind             TEXT NOT NULL CHECK (kind IN ('feature', 'score')),
    position         INTEGER NOT NULL,       -- feature-set order; the score last
    psi              REAL NOT NULL,
    level            TEXT NOT NULL CHECK (level IN ('stable', 'moderate', 'significant')),
    missing_expected REAL NOT NULL,
    missing_actual   REAL NOT NULL,
    bins             TEXT NOT NULL,          -- JSON [{lower, upper, expected, actual}] (null bound = unbounded)
    PRIMARY KEY (run_id, subject)
) WITHOUT ROWID;

-- challenger_runs: the challenger's rows of a date, scored by a batch run beside its champion
-- on the same extracted features. Its rows are in daily_predictions under its own model_version;
-- they are never a date's default rows (only a completed run of batch_runs is), and are served
-- with ?model=<version>. `comparison` is the run's champion/challenger comparison (JSON).
CREATE TABLE IF NOT EXISTS challenger_runs (
    prediction_date  TEXT NOT NULL,
    model_version    TEXT NOT NULL,
    model_name       TEXT NOT NULL,
    model_type       TEXT,
    model_sha256     TEXT,
    as_of_session    TEXT,
    run_id           TEXT NOT NULL,          -- the batch run (batch_runs) that scored it
    champion_version TEXT NOT NULL,
    rows             INTEGER NOT NULL,
    comparison       TEXT,
    recorded_at      TEXT NOT NULL,
    PRIMARY KEY (prediction_date, model_version)
);
