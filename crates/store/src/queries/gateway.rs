//! The SQL of `GatewayStore` (model connections, gateway tokens, call records and transcripts, re-sealing),
//! compiled once for each backend like every file of `queries/`.

use super::{Db, This};
use crate::gateway::gateway_token_select;
use crate::sql::conflict;
use crate::{
    AuditEvent, CallQuery, GatewayCall, GatewayStore, GatewayToken, GatewayTranscript, MASTER_KEY_SETTING,
    ModelConnection, Page, Result, SealedKind, SealedValue, UsageRow,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Call records (17 values each) or transcripts inserted by one statement at most: well within either backend's
/// limit on bound values.
const CALL_ROWS_PER_STATEMENT: usize = 256;

/// Every kind of sealed value, in the order they are read for re-sealing.
const SEALED_KINDS: [SealedKind; 5] = [
    SealedKind::Connection,
    SealedKind::Transcript,
    SealedKind::Webhook,
    SealedKind::Attachment,
    SealedKind::CsafSigningKey,
];

/// Where `kind`'s values are kept: the read of all of them (id, sealed) in id order, and the write of one
/// again (`$1` the id, `$2` the value).
fn sealed_column(kind: &SealedKind) -> (&'static str, &'static str) {
    match kind {
        SealedKind::Connection => (
            "SELECT id, sealed_secrets FROM model_connections ORDER BY id",
            "UPDATE model_connections SET sealed_secrets = $2 WHERE id = $1",
        ),
        SealedKind::Transcript => (
            "SELECT call_id, sealed FROM gateway_transcripts WHERE sealed IS NOT NULL ORDER BY call_id",
            "UPDATE gateway_transcripts SET sealed = $2 WHERE call_id = $1",
        ),
        SealedKind::Webhook => (
            "SELECT id, sealed_secret FROM webhook_endpoints ORDER BY id",
            "UPDATE webhook_endpoints SET sealed_secret = $2 WHERE id = $1",
        ),
        SealedKind::Attachment => (
            "SELECT id, sealed FROM report_attachments ORDER BY id",
            "UPDATE report_attachments SET sealed = $2 WHERE id = $1",
        ),
        SealedKind::CsafSigningKey => (
            "SELECT id, sealed FROM csaf_signing_keys ORDER BY id",
            "UPDATE csaf_signing_keys SET sealed = $2 WHERE id = $1",
        ),
    }
}

#[async_trait]
impl GatewayStore for This {
    async fn create_connection(&self, c: &ModelConnection, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(
            "INSERT INTO model_connections (id, notice_id, model, api_style, base_url, upstream_model, \
             sealed_secrets, header_names, requests_per_minute, tokens_per_minute, concurrency, \
             post_launch_days, retention, timeout_seconds, created_by, created_at, updated_at, deleted_at, \
             agency_requests_per_minute, agency_tokens_per_minute, agency_concurrency, \
             max_response_bytes, max_event_bytes, max_stream_bytes) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19, $20, $21, $22, $23, $24)",
        )
        .bind(c.id)
        .bind(c.notice_id)
        .bind(&c.model)
        .bind(&c.api_style)
        .bind(&c.base_url)
        .bind(&c.upstream_model)
        .bind(&c.sealed_secrets)
        .bind(&c.header_names)
        .bind(c.requests_per_minute)
        .bind(c.tokens_per_minute)
        .bind(c.concurrency)
        .bind(c.post_launch_days)
        .bind(&c.retention)
        .bind(c.timeout_seconds)
        .bind(c.created_by)
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(c.deleted_at)
        .bind(c.agency_requests_per_minute)
        .bind(c.agency_tokens_per_minute)
        .bind(c.agency_concurrency)
        .bind(c.max_response_bytes)
        .bind(c.max_event_bytes)
        .bind(c.max_stream_bytes);
        self.execute_recorded_or(
            event,
            statement,
            None,
            conflict("a connection with this model name on this notice"),
        )
        .await
    }

    async fn update_connection(&self, c: &ModelConnection, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(
            "UPDATE model_connections SET model = $2, api_style = $3, base_url = $4, upstream_model = $5, \
             sealed_secrets = $6, header_names = $7, requests_per_minute = $8, tokens_per_minute = $9, \
             concurrency = $10, post_launch_days = $11, retention = $12, timeout_seconds = $13, \
             updated_at = $14, agency_requests_per_minute = $15, agency_tokens_per_minute = $16, \
             agency_concurrency = $17, max_response_bytes = $18, max_event_bytes = $19, \
             max_stream_bytes = $20 WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(c.id)
        .bind(&c.model)
        .bind(&c.api_style)
        .bind(&c.base_url)
        .bind(&c.upstream_model)
        .bind(&c.sealed_secrets)
        .bind(&c.header_names)
        .bind(c.requests_per_minute)
        .bind(c.tokens_per_minute)
        .bind(c.concurrency)
        .bind(c.post_launch_days)
        .bind(&c.retention)
        .bind(c.timeout_seconds)
        .bind(c.updated_at)
        .bind(c.agency_requests_per_minute)
        .bind(c.agency_tokens_per_minute)
        .bind(c.agency_concurrency)
        .bind(c.max_response_bytes)
        .bind(c.max_event_bytes)
        .bind(c.max_stream_bytes);
        self.execute_recorded_or(
            event,
            statement,
            Some("connection"),
            conflict("a connection with this model name on this notice"),
        )
        .await
    }

    async fn delete_connection(&self, id: Uuid, at: DateTime<Utc>, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(
            "UPDATE model_connections SET deleted_at = $2, updated_at = $2 \
             WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(at);
        self.execute_recorded(event, statement, Some("connection")).await
    }

    async fn get_connection(&self, id: Uuid) -> Result<Option<ModelConnection>> {
        Ok(sqlx::query_as("SELECT * FROM model_connections WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn list_connections(&self, notice_id: Uuid) -> Result<Vec<ModelConnection>> {
        Ok(sqlx::query_as(
            "SELECT * FROM model_connections WHERE notice_id = $1 AND deleted_at IS NULL \
             ORDER BY created_at, id",
        )
        .bind(notice_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn create_gateway_token(
        &self,
        t: &GatewayToken,
        token_digest: &str,
        event: &AuditEvent,
    ) -> Result<()> {
        let statement = sqlx::query(
            "INSERT INTO gateway_tokens (id, token_digest, notice_id, user_id, org_id, name, prefix, \
             created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(t.id)
        .bind(token_digest)
        .bind(t.notice_id)
        .bind(t.user_id)
        .bind(t.org_id)
        .bind(&t.name)
        .bind(&t.prefix)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.revoked_at);
        self.execute_recorded(event, statement, None).await
    }

    async fn find_gateway_token(&self, token_digest: &str) -> Result<Option<GatewayToken>> {
        Ok(
            sqlx::query_as(concat!(gateway_token_select!(), "WHERE token_digest = $1"))
                .bind(token_digest)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn get_gateway_token(&self, id: Uuid) -> Result<Option<GatewayToken>> {
        Ok(sqlx::query_as(concat!(gateway_token_select!(), "WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn list_gateway_tokens(
        &self,
        notice_id: Uuid,
        org_id: Option<Uuid>,
        user_id: Option<Uuid>,
        page: &Page<Uuid>,
    ) -> Result<Vec<GatewayToken>> {
        Ok(sqlx::query_as(concat!(
            gateway_token_select!(),
            "WHERE notice_id = $1 AND ($2 IS NULL OR org_id = $2) \
             AND ($3 IS NULL OR user_id = $3) AND ($4 IS NULL OR id > $4) ORDER BY id LIMIT $5"
        ))
        .bind(notice_id)
        .bind(org_id)
        .bind(user_id)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn revoke_gateway_token(&self, id: Uuid, at: DateTime<Utc>, event: &AuditEvent) -> Result<()> {
        let statement =
            sqlx::query("UPDATE gateway_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(at);
        self.execute_recorded(event, statement, Some("gateway token"))
            .await
    }

    async fn grant_epoch(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT n FROM grant_epoch WHERE id = 1")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn record_gateway_calls(
        &self,
        calls: &[GatewayCall],
        transcripts: &[GatewayTranscript],
    ) -> Result<()> {
        // One multi-row statement per table and chunk: a batch costs the database a few statements, however many
        // calls it holds.
        let mut tx = self.begin().await?;
        for chunk in calls.chunks(CALL_ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO gateway_calls (id, token_id, user_id, org_id, notice_id, connection_id, endpoint, \
                 model, started_at, day, status, error_code, stream, input_tokens, output_tokens, latency_ms, \
                 ttft_ms) ",
            );
            q.push_values(chunk, |mut row, c| {
                row.push_bind(c.id)
                    .push_bind(c.token_id)
                    .push_bind(c.user_id)
                    .push_bind(c.org_id)
                    .push_bind(c.notice_id)
                    .push_bind(c.connection_id)
                    .push_bind(&c.endpoint)
                    .push_bind(&c.model)
                    .push_bind(c.started_at)
                    .push_bind(&c.day)
                    .push_bind(c.status)
                    .push_bind(&c.error_code)
                    .push_bind(c.stream)
                    .push_bind(c.input_tokens)
                    .push_bind(c.output_tokens)
                    .push_bind(c.latency_ms)
                    .push_bind(c.ttft_ms);
            });
            q.push(" ON CONFLICT (id) DO NOTHING");
            q.build().execute(&mut *tx).await?;
        }
        for chunk in transcripts.chunks(CALL_ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO gateway_transcripts (call_id, request_sha256, response_sha256, sealed) ",
            );
            q.push_values(chunk, |mut row, t| {
                row.push_bind(t.call_id)
                    .push_bind(&t.request_sha256)
                    .push_bind(&t.response_sha256)
                    .push_bind(&t.sealed);
            });
            q.push(" ON CONFLICT (call_id) DO NOTHING");
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_gateway_calls(&self, q: &CallQuery) -> Result<Vec<GatewayCall>> {
        Ok(sqlx::query_as(
            "SELECT * FROM gateway_calls WHERE notice_id = $1 AND ($2 IS NULL OR org_id = $2) \
             AND ($3 IS NULL OR user_id = $3) AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5",
        )
        .bind(q.notice_id)
        .bind(q.org_id)
        .bind(q.user_id)
        .bind(q.page.after)
        .bind(q.page.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn get_gateway_call(&self, id: Uuid) -> Result<Option<GatewayCall>> {
        Ok(sqlx::query_as("SELECT * FROM gateway_calls WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn get_gateway_transcript(&self, call_id: Uuid) -> Result<Option<GatewayTranscript>> {
        Ok(
            sqlx::query_as("SELECT * FROM gateway_transcripts WHERE call_id = $1")
                .bind(call_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn gateway_usage(
        &self,
        notice_id: Uuid,
        org_id: Option<Uuid>,
        user_id: Option<Uuid>,
    ) -> Result<Vec<UsageRow>> {
        Ok(sqlx::query_as(
            "SELECT day, user_id, org_id, COUNT(*) AS calls, \
             SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors, \
             CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input_tokens, \
             CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens, \
             CAST(COALESCE(SUM(latency_ms), 0) AS DOUBLE PRECISION) AS latency_ms \
             FROM gateway_calls WHERE notice_id = $1 AND ($2 IS NULL OR org_id = $2) \
             AND ($3 IS NULL OR user_id = $3) GROUP BY day, user_id, org_id ORDER BY day, user_id",
        )
        .bind(notice_id)
        .bind(org_id)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn sealed_values(&self) -> Result<Vec<SealedValue>> {
        let mut values = Vec::new();
        for kind in SEALED_KINDS {
            let rows: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(sealed_column(&kind).0)
                .fetch_all(&self.pool)
                .await?;
            values.extend(rows.into_iter().map(|(id, sealed)| SealedValue {
                kind: kind.clone(),
                id,
                sealed,
            }));
        }
        Ok(values)
    }

    async fn reseal(&self, values: &[SealedValue], fingerprint: &str, event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::record(&mut tx, event).await?;
        for v in values {
            sqlx::query(sealed_column(&v.kind).1)
                .bind(v.id)
                .bind(&v.sealed)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(MASTER_KEY_SETTING)
        .bind(fingerprint)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
