-- The job queue: durable background work shared by every server and worker process over this database.
--
-- A job is due when run_at_ms (milliseconds since the epoch) has passed and it is not finished. A worker claims
-- it by setting its lease (lease_owner) and moving run_at_ms to the lease's expiry, which the worker's
-- heartbeat keeps pushing ahead: a job whose worker died becomes due again when its lease lapses, and the
-- one index below serves both new and abandoned jobs. attempts counts claims; state is 'queued' (waiting, or
-- between retries), 'running' (leased), 'done' or 'failed' (attempts exhausted; last_error says why). A done or
-- failed job keeps the name of the worker that ran it last in lease_owner.
CREATE TABLE jobs (
    id UUID PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    payload JSONB NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    run_at_ms BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL CHECK (max_attempts > 0),
    last_error TEXT,
    lease_owner TEXT,
    idempotency_key TEXT UNIQUE,
    created_at_ms BIGINT NOT NULL,
    finished_at_ms BIGINT
);

CREATE INDEX jobs_due ON jobs (priority DESC, run_at_ms) WHERE state IN ('queued', 'running');
-- The failed jobs' list, newest first (ids are time-ordered).
CREATE INDEX jobs_failed ON jobs (id) WHERE state = 'failed';
CREATE INDEX jobs_finished ON jobs (finished_at_ms) WHERE state = 'done';
-- A worker's heartbeat and its release on shutdown find its own jobs.
CREATE INDEX jobs_leased ON jobs (lease_owner) WHERE state = 'running';
