-- Organisations, people, credentials, the review program and the audit trail.
-- Times are stored as RFC 3339 text in UTC (sqlx's encoding), which sorts in time order.

CREATE TABLE organizations (
    id BLOB PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('developer', 'agency', 'vendor', 'operator', 'clearinghouse')),
    name TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX organizations_name ON organizations (lower(name));

CREATE TABLE users (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL
);
CREATE INDEX users_org ON users (org_id, id);

CREATE TABLE invitations (
    id BLOB PRIMARY KEY NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    user_id BLOB REFERENCES users (id),
    email TEXT,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_by BLOB REFERENCES users (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

CREATE TABLE sessions (
    token_digest TEXT PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id BLOB PRIMARY KEY NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    user_id BLOB NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

CREATE TABLE login_failures (
    subject TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    first_failure_at TEXT NOT NULL,
    locked_until TEXT
);

CREATE TABLE settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE notices (
    id BLOB PRIMARY KEY NOT NULL,
    developer_org_id BLOB NOT NULL REFERENCES organizations (id),
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    model_card TEXT NOT NULL,
    planned_launch_at TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    filed_by BLOB REFERENCES users (id),
    window_days BIGINT NOT NULL,
    shared_with_all BOOLEAN NOT NULL,
    launched_at TEXT,
    withdrawn_at TEXT,
    withdraw_reason TEXT,
    -- Derived from the dates above on every change, kept for filtering and ordering in SQL.
    window_opens_at TEXT NOT NULL,
    window_closes_at TEXT NOT NULL
);
CREATE INDEX notices_developer ON notices (developer_org_id, window_closes_at, id);
CREATE INDEX notices_closes ON notices (window_closes_at, id);

-- Which organisations a notice, finding or assessment is shared with.
CREATE TABLE shares (
    object_id BLOB NOT NULL,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    PRIMARY KEY (object_id, org_id)
);
CREATE INDEX shares_org ON shares (org_id, object_id);

CREATE TABLE launch_changes (
    id BLOB PRIMARY KEY NOT NULL,
    notice_id BLOB NOT NULL REFERENCES notices (id),
    kind TEXT NOT NULL CHECK (kind IN ('filed', 'moved', 'launched', 'withdrawn')),
    previous_launch_at TEXT,
    new_launch_at TEXT NOT NULL,
    reason TEXT,
    changed_by BLOB REFERENCES users (id),
    changed_at TEXT NOT NULL
);
CREATE INDEX launch_changes_notice ON launch_changes (notice_id, id);

CREATE TABLE assignments (
    notice_id BLOB NOT NULL REFERENCES notices (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    org_id BLOB NOT NULL REFERENCES organizations (id),
    assigned_by BLOB REFERENCES users (id),
    assigned_at TEXT NOT NULL,
    PRIMARY KEY (notice_id, user_id)
);

CREATE TABLE findings (
    id BLOB PRIMARY KEY NOT NULL,
    notice_id BLOB NOT NULL REFERENCES notices (id),
    org_id BLOB NOT NULL REFERENCES organizations (id),
    author_id BLOB NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    domain TEXT NOT NULL,
    severity TEXT NOT NULL,
    description TEXT NOT NULL,
    evidence TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX findings_notice ON findings (notice_id, id);

CREATE TABLE assessments (
    id BLOB PRIMARY KEY NOT NULL,
    notice_id BLOB NOT NULL REFERENCES notices (id),
    org_id BLOB NOT NULL REFERENCES organizations (id),
    author_id BLOB NOT NULL REFERENCES users (id),
    levels TEXT NOT NULL,
    rationale TEXT NOT NULL,
    evidence TEXT NOT NULL,
    published_at TEXT NOT NULL
);
CREATE INDEX assessments_notice ON assessments (notice_id, id);

-- Every state change, written in the same transaction as the change.
CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id BLOB NOT NULL UNIQUE,
    at TEXT NOT NULL,
    actor_user_id BLOB,
    actor_org_id BLOB,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id BLOB,
    details TEXT NOT NULL
);
CREATE INDEX audit_events_object ON audit_events (object_id, seq);
