-- Federation: the peer clearinghouses whose TAXII collections we follow (and may publish to), and the origin
-- of the objects pulled from them.
--
-- A peer's credential (an API token, sent as Bearer, or as HTTP Basic's password with `username`) is sealed
-- under the master key (bound to `federation_peer:<id>`) and never read back out but to call the peer.
--   tlp           the marking its objects get here (an object marked more restrictively keeps its own);
--   pull_cursor   the peer's X-TAXII-Date-Added-Last of the last committed page, as the peer wrote it;
--   next_run_at   when the next pull is due (the interval, or the backoff after failures);
--   failures      failed runs in a row (the backoff's exponent), 0 after a success.
-- Publishing (to publish_collection_id) keeps its own state: push_cursor and push_cursor_id are the date added
-- and row id (ours) of the last object the peer accepted or definitively refused; push_next_run_at,
-- push_failures, push_last_* as for pulls.
CREATE TABLE federation_peers (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    api_root TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    username TEXT,
    sealed_secret BLOB NOT NULL,
    tlp TEXT NOT NULL CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    interval_seconds INTEGER NOT NULL,
    enabled BOOLEAN NOT NULL,
    publish_collection_id TEXT,
    pull_cursor TEXT,
    push_cursor TEXT,
    push_cursor_id BLOB,
    push_next_run_at TEXT,
    push_failures INTEGER NOT NULL DEFAULT 0,
    pushed_objects INTEGER NOT NULL DEFAULT 0,
    push_last_success_at TEXT,
    push_last_error TEXT,
    push_last_error_at TEXT,
    next_run_at TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    pulled_objects INTEGER NOT NULL DEFAULT 0,
    last_success_at TEXT,
    last_error TEXT,
    last_error_at TEXT,
    created_by BLOB NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX federation_peers_due ON federation_peers (next_run_at) WHERE enabled;

-- The origin of a pulled object: the peer (kept after the peer is removed, so no foreign key), the peer's
-- collection; its STIX id and version are the peer's own. intake_pending marks a pulled vulnerability or
-- indicator not yet filed as a report.
ALTER TABLE stix_objects ADD COLUMN peer_id BLOB;
ALTER TABLE stix_objects ADD COLUMN peer_collection TEXT;
ALTER TABLE stix_objects ADD COLUMN intake_pending BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX stix_objects_intake ON stix_objects (peer_id, id) WHERE intake_pending;
