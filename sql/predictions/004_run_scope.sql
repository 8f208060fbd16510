-- Which runs published the date's outputs (docs/runs.md), what they covered,
-- and which process ran them (so that a killed run can be told from a live one).
ALTER TABLE batch_runs ADD COLUMN scope TEXT NOT NULL DEFAULT 'full' CHECK (scope IN ('full', 'subset'));
ALTER TABLE batch_runs ADD COLUMN selection TEXT;   -- a subset run's selection, e.g. "--codes 500325,500180"
ALTER TABLE batch_runs ADD COLUMN published INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1));
ALTER TABLE batch_runs ADD COLUMN pid INTEGER;
ALTER TABLE batch_runs ADD COLUMN host TEXT;
-- Before this migration every run that finished succeeded or budget_exceeded had replaced the date's rows.
UPDATE batch_runs SET published = 1 WHERE status IN ('succeeded', 'budget_exceeded');
CREATE INDEX idx_runs_published ON batch_runs (prediction_date, published, finished_at);
