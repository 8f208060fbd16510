-- The evening fetch's runs (issue 13): one row per `stockflow data fetch`, with what it fetched, found present,
-- found missing (not published: a 404 on a trading day) and failed, the bytes downloaded, and each file's
-- outcome (files_json: [{date, source, url, file, status, bytes, detail}]). Owned by the predictions store;
-- written by the fetch, read by the morning batch (a session whose fetch never succeeded stops the batch with
-- the files that were missing, and the notifications list them) and by `stockflow data info`.
-- Kept here rather than in market.db: market.db holds market data only and is rebuilt by generators, and the
-- batch already reads predictions.db for its own run records.
CREATE TABLE IF NOT EXISTS fetch_runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    first_session TEXT,                -- the sessions asked for (NULL when only masters were fetched)
    last_session TEXT,
    status TEXT NOT NULL CHECK (status IN ('ok', 'incomplete', 'failed')),
    fetched INTEGER NOT NULL,
    present INTEGER NOT NULL,
    missing INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    holidays INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    import_status TEXT NOT NULL,      -- 'imported', 'failed: <line>', 'skipped (--no-import)', 'nothing new', 'not wired'
    exit_code INTEGER NOT NULL,
    files_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fetch_runs_sessions ON fetch_runs (last_session, first_session);
