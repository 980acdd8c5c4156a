-- Evaluation runs on the server: a task run by an assigned evaluator against a notice's model through the
-- gateway, split into batches of the job queue, and each sample's epoch as it ended.

CREATE TABLE eval_runs (
    id BLOB PRIMARY KEY NOT NULL,
    notice_id BLOB NOT NULL REFERENCES notices (id),
    -- The evaluator who started it and their agency (the run is their work product, seen as their findings are).
    user_id BLOB NOT NULL REFERENCES users (id),
    org_id BLOB NOT NULL REFERENCES organizations (id),
    -- The gateway token issued for the run (its id only; the secret was never kept).
    token_id BLOB NOT NULL REFERENCES gateway_tokens (id),
    name TEXT NOT NULL,
    -- The task file as given (TOML) and its samples as JSON compressed with zstd, stored once per run.
    task TEXT NOT NULL,
    samples BLOB NOT NULL,
    model TEXT NOT NULL,
    epochs INTEGER NOT NULL,
    seed BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'cancelled', 'stopped')),
    reason TEXT,
    total BIGINT NOT NULL,
    done BIGINT NOT NULL DEFAULT 0,
    errors BIGINT NOT NULL DEFAULT 0,
    scored BIGINT NOT NULL DEFAULT 0,
    score_sum REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    version BIGINT NOT NULL
);
CREATE INDEX eval_runs_notice ON eval_runs (notice_id, id);

-- One row per sample and epoch; the primary key is what keeps a redone item from being counted twice.
CREATE TABLE eval_results (
    run_id BLOB NOT NULL REFERENCES eval_runs (id),
    sample_index INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    sample_id TEXT NOT NULL,
    value REAL,
    error TEXT,
    -- The transcript and score (`evals::runner::SampleRecord` as JSON), compressed with zstd.
    record BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, sample_index, epoch)
);
