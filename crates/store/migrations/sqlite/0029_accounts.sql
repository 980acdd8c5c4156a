-- Managed invitations and accounts: invitations can be revoked (and are, when the same address is invited
-- again); sessions get a public id, a last-seen time and the browser that opened them, so a person can list
-- and end their own; passwords can be reset by an e-mailed one-time link, stored as its digest.
ALTER TABLE invitations ADD COLUMN revoked_at TEXT;
CREATE INDEX invitations_org_pending ON invitations (org_id, id) WHERE used_at IS NULL AND revoked_at IS NULL;

ALTER TABLE sessions ADD COLUMN id BLOB;
ALTER TABLE sessions ADD COLUMN last_seen_at TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
UPDATE sessions SET id = randomblob(16), last_seen_at = created_at;
CREATE UNIQUE INDEX sessions_id ON sessions (id);

CREATE TABLE password_resets (
    id BLOB PRIMARY KEY NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    user_id BLOB NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX password_resets_user ON password_resets (user_id);
