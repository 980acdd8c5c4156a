-- Managed invitations and accounts: invitations can be revoked (and are, when the same address is invited
-- again); sessions get a public id, a last-seen time and the browser that opened them, so a person can list
-- and end their own; passwords can be reset by an e-mailed one-time link, stored as its digest.
ALTER TABLE invitations ADD COLUMN revoked_at TIMESTAMPTZ;
CREATE INDEX invitations_org_pending ON invitations (org_id, id) WHERE used_at IS NULL AND revoked_at IS NULL;

ALTER TABLE sessions ADD COLUMN id UUID;
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMPTZ;
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
UPDATE sessions SET id = gen_random_uuid(), last_seen_at = created_at;
CREATE UNIQUE INDEX sessions_id ON sessions (id);

CREATE TABLE password_resets (
    id UUID PRIMARY KEY NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    user_id UUID NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX password_resets_user ON password_resets (user_id);
