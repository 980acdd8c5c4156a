-- How much of an upstream's answers the gateway reads for one call, per model connection: a whole JSON body,
-- one server-sent event, a whole stream (bytes). Existing connections get the defaults: 16 MiB, 1 MiB, 64 MiB.
ALTER TABLE model_connections ADD COLUMN max_response_bytes BIGINT NOT NULL DEFAULT 16777216;
ALTER TABLE model_connections ADD COLUMN max_event_bytes BIGINT NOT NULL DEFAULT 1048576;
ALTER TABLE model_connections ADD COLUMN max_stream_bytes BIGINT NOT NULL DEFAULT 67108864;
