-- Organisations, people, credentials, the review program and the audit trail.
-- Times are timestamptz, identifiers uuid, structured details jsonb.

CREATE TABLE organizations (
    id UUID PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('developer', 'agency', 'vendor', 'operator', 'clearinghouse')),
    name TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX organizations_name ON organizations (lower(name));

CREATE TABLE users (
    id UUID PRIMARY KEY NOT NULL,
    org_id UUID NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_org ON users (org_id, id);

CREATE TABLE invitations (
    id UUID PRIMARY KEY NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    org_id UUID NOT NULL REFERENCES organizations (id),
    user_id UUID REFERENCES users (id),
    email TEXT,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_by UUID REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);

CREATE TABLE sessions (
    token_digest TEXT PRIMARY KEY NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    user_id UUID NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

CREATE TABLE login_failures (
    subject TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    first_failure_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ
);

CREATE TABLE settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE notices (
    id UUID PRIMARY KEY NOT NULL,
    developer_org_id UUID NOT NULL REFERENCES organizations (id),
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    model_card TEXT NOT NULL,
    planned_launch_at TIMESTAMPTZ NOT NULL,
    filed_at TIMESTAMPTZ NOT NULL,
    filed_by UUID REFERENCES users (id),
    window_days BIGINT NOT NULL,
    shared_with_all BOOLEAN NOT NULL,
    launched_at TIMESTAMPTZ,
    withdrawn_at TIMESTAMPTZ,
    withdraw_reason TEXT,
    -- Derived from the dates above on every change, kept for filtering and ordering in SQL.
    window_opens_at TIMESTAMPTZ NOT NULL,
    window_closes_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX notices_developer ON notices (developer_org_id, window_closes_at, id);
CREATE INDEX notices_closes ON notices (window_closes_at, id);

-- Which organisations a notice, finding or assessment is shared with.
CREATE TABLE shares (
    object_id UUID NOT NULL,
    org_id UUID NOT NULL REFERENCES organizations (id),
    PRIMARY KEY (object_id, org_id)
);
CREATE INDEX shares_org ON shares (org_id, object_id);

CREATE TABLE launch_changes (
    id UUID PRIMARY KEY NOT NULL,
    notice_id UUID NOT NULL REFERENCES notices (id),
    kind TEXT NOT NULL CHECK (kind IN ('filed', 'moved', 'launched', 'withdrawn')),
    previous_launch_at TIMESTAMPTZ,
    new_launch_at TIMESTAMPTZ NOT NULL,
    reason TEXT,
    changed_by UUID REFERENCES users (id),
    changed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX launch_changes_notice ON launch_changes (notice_id, id);

CREATE TABLE assignments (
    notice_id UUID NOT NULL REFERENCES notices (id),
    user_id UUID NOT NULL REFERENCES users (id),
    org_id UUID NOT NULL REFERENCES organizations (id),
    assigned_by UUID REFERENCES users (id),
    assigned_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (notice_id, user_id)
);

CREATE TABLE findings (
    id UUID PRIMARY KEY NOT NULL,
    notice_id UUID NOT NULL REFERENCES notices (id),
    org_id UUID NOT NULL REFERENCES organizations (id),
    author_id UUID NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    domain TEXT NOT NULL,
    severity TEXT NOT NULL,
    description TEXT NOT NULL,
    evidence JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX findings_notice ON findings (notice_id, id);

CREATE TABLE assessments (
    id UUID PRIMARY KEY NOT NULL,
    notice_id UUID NOT NULL REFERENCES notices (id),
    org_id UUID NOT NULL REFERENCES organizations (id),
    author_id UUID NOT NULL REFERENCES users (id),
    levels JSONB NOT NULL,
    rationale TEXT NOT NULL,
    evidence JSONB NOT NULL,
    published_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX assessments_notice ON assessments (notice_id, id);

-- Every state change, written in the same transaction as the change.
CREATE TABLE audit_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    at TIMESTAMPTZ NOT NULL,
    actor_user_id UUID,
    actor_org_id UUID,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id UUID,
    details JSONB NOT NULL
);
CREATE INDEX audit_events_object ON audit_events (object_id, seq);
