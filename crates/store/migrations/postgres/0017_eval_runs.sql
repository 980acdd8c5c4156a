-- Evaluation runs on the server: a task run by an assigned evaluator against a notice's model through the
-- gateway, split into batches of the job queue, and each sample's epoch as it ended.

CREATE TABLE eval_runs (
    id UUID PRIMARY KEY NOT NULL,
    notice_id UUID NOT NULL REFERENCES notices (id),
    -- The evaluator who started it and their agency (the run is their work product, seen as their findings are).
    user_id UUID NOT NULL REFERENCES users (id),
    org_id UUID NOT NULL REFERENCES organizations (id),
    -- The gateway token issued for the run (its id only; the secret was never kept).
    token_id UUID NOT NULL REFERENCES gateway_tokens (id),
    name TEXT NOT NULL,
    -- The task file as given (TOML) and its samples as JSON compressed with zstd, stored once per run.
    task TEXT NOT NULL,
    samples BYTEA NOT NULL,
    model TEXT NOT NULL,
    epochs INTEGER NOT NULL,
    seed BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'cancelled', 'stopped')),
    reason TEXT,
    total BIGINT NOT NULL,
    done BIGINT NOT NULL DEFAULT 0,
    errors BIGINT NOT NULL DEFAULT 0,
    scored BIGINT NOT NULL DEFAULT 0,
    score_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ,
    version BIGINT NOT NULL
);
CREATE INDEX eval_runs_notice ON eval_runs (notice_id, id);

-- One row per sample and epoch; the primary key is what keeps a redone item from being counted twice.
CREATE TABLE eval_results (
    run_id UUID NOT NULL REFERENCES eval_runs (id),
    sample_index INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    sample_id TEXT NOT NULL,
    value DOUBLE PRECISION,
    error TEXT,
    -- The transcript and score (`evals::runner::SampleRecord` as JSON), compressed with zstd.
    record BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, sample_index, epoch)
);
