-- The model access gateway: connections to developers' model APIs, evaluators' gateway tokens, and the record
-- of every call (usage, and transcripts as each connection's retention setting says).

CREATE TABLE model_connections (
    id UUID PRIMARY KEY NOT NULL,
    notice_id UUID NOT NULL REFERENCES notices (id),
    -- The name evaluators call the model by.
    model TEXT NOT NULL,
    api_style TEXT NOT NULL CHECK (api_style IN ('openai', 'anthropic')),
    base_url TEXT NOT NULL,
    upstream_model TEXT NOT NULL,
    -- The credential and the extra headers' values, sealed under the master key; never read back out.
    sealed_secrets BYTEA NOT NULL,
    header_names JSONB NOT NULL,
    requests_per_minute BIGINT NOT NULL,
    tokens_per_minute BIGINT NOT NULL,
    concurrency BIGINT NOT NULL,
    -- Days of access after launch; 0 means access ends at launch.
    post_launch_days BIGINT NOT NULL,
    retention TEXT NOT NULL CHECK (retention IN ('none', 'digest', 'encrypted')),
    timeout_seconds BIGINT NOT NULL,
    created_by UUID REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX model_connections_notice ON model_connections (notice_id, id);
CREATE UNIQUE INDEX model_connections_model ON model_connections (notice_id, model) WHERE deleted_at IS NULL;

CREATE TABLE gateway_tokens (
    id UUID PRIMARY KEY NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    notice_id UUID NOT NULL REFERENCES notices (id),
    user_id UUID NOT NULL REFERENCES users (id),
    org_id UUID NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX gateway_tokens_notice ON gateway_tokens (notice_id, id);

-- One row per call that presented a valid token, whatever its outcome.
CREATE TABLE gateway_calls (
    id UUID PRIMARY KEY NOT NULL,
    token_id UUID NOT NULL REFERENCES gateway_tokens (id),
    user_id UUID NOT NULL,
    org_id UUID NOT NULL,
    notice_id UUID NOT NULL,
    connection_id UUID,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    -- The UTC day of started_at (YYYY-MM-DD), for daily usage on both backends.
    day TEXT NOT NULL,
    status BIGINT NOT NULL,
    error_code TEXT,
    stream BOOLEAN NOT NULL,
    input_tokens BIGINT,
    output_tokens BIGINT,
    latency_ms DOUBLE PRECISION NOT NULL,
    ttft_ms DOUBLE PRECISION
);
CREATE INDEX gateway_calls_notice ON gateway_calls (notice_id, id);
CREATE INDEX gateway_calls_notice_user ON gateway_calls (notice_id, user_id, id);

CREATE TABLE gateway_transcripts (
    call_id UUID PRIMARY KEY NOT NULL REFERENCES gateway_calls (id),
    request_sha256 TEXT NOT NULL,
    response_sha256 TEXT NOT NULL,
    -- The request and the response, sealed; only with retention 'encrypted'.
    sealed BYTEA
);
