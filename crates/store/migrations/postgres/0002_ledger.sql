-- The transparency ledger: every audit event is a leaf (a salted commitment), appended in the event's own
-- transaction under a gapless index taken from ledger_head, whose row lock serialises appends.

CREATE TABLE ledger_head (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    size BIGINT NOT NULL
);
INSERT INTO ledger_head (id, size) VALUES (1, 0);

CREATE TABLE ledger_entries (
    idx BIGINT PRIMARY KEY NOT NULL,
    event_id UUID NOT NULL UNIQUE REFERENCES audit_events (id),
    salt BYTEA NOT NULL,
    commitment BYTEA NOT NULL
);

-- The hash of every complete subtree: (level, idx) covers leaves [idx·2^level, (idx+1)·2^level).
CREATE TABLE ledger_nodes (
    level BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE ledger_checkpoints (
    size BIGINT PRIMARY KEY NOT NULL,
    root BYTEA NOT NULL,
    note TEXT NOT NULL,
    signed_at TIMESTAMPTZ NOT NULL
);
