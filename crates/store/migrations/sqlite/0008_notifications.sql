-- Notifications: the in-app inbox, each person's e-mail preferences, and the outbox's cursor.
--
-- The audit trail is the outbox: the `notify` job reads ledger entries after `notify_cursor.next_idx` (ledger
-- indexes have no gaps and are assigned in commit order, so nothing committed is ever passed over), turns each
-- notifying event into rows here, and moves the cursor in the same transaction. A notification is unique per
-- (person, event, kind), so a batch run twice adds nothing; time-based reminders use an event id derived from
-- (notice or token, kind, days). Times are milliseconds since the epoch.
CREATE TABLE notifications (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    link TEXT NOT NULL,
    event_id BLOB NOT NULL,
    created_at_ms BIGINT NOT NULL,
    read_at_ms BIGINT,
    -- Waiting for the person's next daily digest.
    digest_pending BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (user_id, event_id, kind)
);
CREATE INDEX notifications_user ON notifications (user_id, id);
CREATE INDEX notifications_unread ON notifications (user_id, id) WHERE read_at_ms IS NULL;
CREATE INDEX notifications_digest ON notifications (user_id, id) WHERE digest_pending;

-- Which kinds a person wants by e-mail (a JSON array of kind names), and how: 'immediate' or 'digest'. A person
-- without a row gets every kind, immediately.
CREATE TABLE notification_preferences (
    user_id BLOB PRIMARY KEY NOT NULL REFERENCES users (id),
    email_kinds TEXT NOT NULL,
    email_delivery TEXT NOT NULL CHECK (email_delivery IN ('immediate', 'digest')),
    updated_at_ms BIGINT NOT NULL
);

-- The next ledger index the outbox reads.
CREATE TABLE notify_cursor (
    name TEXT PRIMARY KEY NOT NULL,
    next_idx BIGINT NOT NULL
);
