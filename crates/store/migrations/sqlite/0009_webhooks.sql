-- Webhooks: the endpoints organisations register, and the log of every delivery attempt.
--
-- An endpoint's signing secret is sealed under the master key (bound to `webhook:<id>`) and never read back
-- out but to sign. failing_since is when the current run of failed attempts began (NULL after a success); an
-- endpoint failing for a day is disabled, with the reason in disabled_reason.
CREATE TABLE webhook_endpoints (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    -- The notification kinds it receives, a JSON array of their names.
    events TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    sealed_secret BLOB NOT NULL,
    failing_since TEXT,
    disabled_reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, id);

-- One row per attempt; message_id (the `webhook-id` header) is the same for every attempt of one message.
CREATE TABLE webhook_deliveries (
    id BLOB PRIMARY KEY NOT NULL,
    endpoint_id BLOB NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status_code INTEGER,
    latency_ms BIGINT NOT NULL,
    error TEXT,
    delivered BOOLEAN NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
