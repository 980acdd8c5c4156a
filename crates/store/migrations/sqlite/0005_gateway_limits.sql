-- The gateway's limits, shared by every server process over this database (see crates/gateway/src/limits.rs).
--
-- A connection may cap an agency as a whole (the sum over its evaluators), beside each evaluator. NULL: no cap.
ALTER TABLE model_connections ADD COLUMN agency_requests_per_minute BIGINT;
ALTER TABLE model_connections ADD COLUMN agency_tokens_per_minute BIGINT;
ALTER TABLE model_connections ADD COLUMN agency_concurrency BIGINT;

-- One budget per connection and evaluator ('evaluator', the person's id) or connection and agency ('agency',
-- the organisation's id). Each per-minute limit is kept as its theoretical arrival time (GCRA), in nanoseconds
-- since the epoch: the budget is full when it is at or before now and empty when it is a minute ahead.
-- Processes lease shares of it with one atomic upsert; *_granted is what the last lease got.
CREATE TABLE gateway_budgets (
    connection_id BLOB NOT NULL REFERENCES model_connections (id),
    scope TEXT NOT NULL CHECK (scope IN ('evaluator', 'agency')),
    subject_id BLOB NOT NULL,
    requests_tat_ns BIGINT NOT NULL,
    tokens_tat_ns BIGINT NOT NULL,
    requests_granted BIGINT NOT NULL,
    tokens_granted BIGINT NOT NULL,
    PRIMARY KEY (connection_id, scope, subject_id)
);

-- Concurrency slots each process holds of a budget, until expires_ms (milliseconds since the epoch); a
-- process renews its rows while it runs, so the slots of one that died count no more once they expire.
CREATE TABLE gateway_slots (
    connection_id BLOB NOT NULL,
    scope TEXT NOT NULL,
    subject_id BLOB NOT NULL,
    holder TEXT NOT NULL,
    slots BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    PRIMARY KEY (connection_id, scope, subject_id, holder),
    FOREIGN KEY (connection_id, scope, subject_id) REFERENCES gateway_budgets (connection_id, scope, subject_id)
);
CREATE INDEX gateway_slots_holder ON gateway_slots (holder);
