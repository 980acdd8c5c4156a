//! Persistence of the model access gateway: connections, gateway tokens, call records and transcripts.
//!
//! A separate trait (`GatewayStore`, a supertrait of `Store`) with its SQL in `queries/gateway.rs`. Changes to
//! connections and tokens carry their audit event; call records are written in batches by the gateway's
//! metering task and are their own record.

use crate::{AuditEvent, Page, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ModelConnection {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub model: String,
    pub api_style: String,
    pub base_url: String,
    pub upstream_model: String,
    /// The credential and extra header values, sealed; opened only to make a call.
    pub sealed_secrets: Vec<u8>,
    pub header_names: Json<Vec<String>>,
    pub requests_per_minute: i64,
    pub tokens_per_minute: i64,
    pub concurrency: i64,
    pub post_launch_days: i64,
    pub retention: String,
    pub timeout_seconds: i64,
    /// Caps on the agency as a whole (the sum over its evaluators); `None`: no cap.
    pub agency_requests_per_minute: Option<i64>,
    pub agency_tokens_per_minute: Option<i64>,
    pub agency_concurrency: Option<i64>,
    /// How much of the upstream's answers is read: a whole JSON body, one stream event, a whole stream.
    pub max_response_bytes: i64,
    pub max_event_bytes: i64,
    pub max_stream_bytes: i64,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GatewayToken {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The record of one gateway call.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct GatewayCall {
    pub id: Uuid,
    pub token_id: Uuid,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub notice_id: Uuid,
    pub connection_id: Option<Uuid>,
    pub endpoint: String,
    pub model: String,
    pub started_at: DateTime<Utc>,
    pub day: String,
    pub status: i64,
    pub error_code: Option<String>,
    pub stream: bool,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GatewayTranscript {
    pub call_id: Uuid,
    pub request_sha256: String,
    pub response_sha256: String,
    pub sealed: Option<Vec<u8>>,
}

/// Which calls of a notice to read: all, or one organisation's, or one person's.
#[derive(Debug, Clone)]
pub struct CallQuery {
    pub notice_id: Uuid,
    pub org_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub page: Page<Uuid>,
}

/// Usage of one person on one day.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UsageRow {
    pub day: String,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub calls: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub latency_ms: f64,
}

/// A sealed value somewhere in the database, for re-sealing under a new master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealedKind {
    Connection,
    Transcript,
    /// A webhook endpoint's signing secret.
    Webhook,
    /// A report's attachment (a reproducer, a patch).
    Attachment,
    /// The CSAF provider's OpenPGP secret key.
    CsafSigningKey,
}

#[derive(Debug, Clone)]
pub struct SealedValue {
    pub kind: SealedKind,
    pub id: Uuid,
    pub sealed: Vec<u8>,
}

#[async_trait]
pub trait GatewayStore: Send + Sync + 'static {
    // Model connections
    async fn create_connection(&self, connection: &ModelConnection, event: &AuditEvent) -> Result<()>;
    /// Replaces the settings of a connection not deleted.
    async fn update_connection(&self, connection: &ModelConnection, event: &AuditEvent) -> Result<()>;
    async fn delete_connection(&self, id: Uuid, at: DateTime<Utc>, event: &AuditEvent) -> Result<()>;
    async fn get_connection(&self, id: Uuid) -> Result<Option<ModelConnection>>;
    /// A notice's connections that are not deleted, oldest first.
    async fn list_connections(&self, notice_id: Uuid) -> Result<Vec<ModelConnection>>;

    // Gateway tokens
    async fn create_gateway_token(
        &self,
        token: &GatewayToken,
        token_digest: &str,
        event: &AuditEvent,
    ) -> Result<()>;
    async fn find_gateway_token(&self, token_digest: &str) -> Result<Option<GatewayToken>>;
    async fn get_gateway_token(&self, id: Uuid) -> Result<Option<GatewayToken>>;
    /// A notice's tokens, of one organisation or one person when given, by id.
    async fn list_gateway_tokens(
        &self,
        notice_id: Uuid,
        org_id: Option<Uuid>,
        user_id: Option<Uuid>,
        page: &Page<Uuid>,
    ) -> Result<Vec<GatewayToken>>;
    async fn revoke_gateway_token(&self, id: Uuid, at: DateTime<Utc>, event: &AuditEvent) -> Result<()>;

    /// The grant epoch: a counter that moves with every committed change to the rows a token's grant is read
    /// from (tokens, users, organisations, notices, assignments, model connections; kept by triggers). A grant
    /// read after the epoch was `n` is still what the database holds for as long as the epoch reads `n`.
    async fn grant_epoch(&self) -> Result<i64>;

    // Metering
    /// Writes call records and their transcripts in one transaction.
    async fn record_gateway_calls(
        &self,
        calls: &[GatewayCall],
        transcripts: &[GatewayTranscript],
    ) -> Result<()>;
    async fn list_gateway_calls(&self, query: &CallQuery) -> Result<Vec<GatewayCall>>;
    async fn get_gateway_call(&self, id: Uuid) -> Result<Option<GatewayCall>>;
    async fn get_gateway_transcript(&self, call_id: Uuid) -> Result<Option<GatewayTranscript>>;
    /// A notice's usage per day and person, of one organisation or one person when given.
    async fn gateway_usage(
        &self,
        notice_id: Uuid,
        org_id: Option<Uuid>,
        user_id: Option<Uuid>,
    ) -> Result<Vec<UsageRow>>;

    // Master key rotation
    async fn sealed_values(&self) -> Result<Vec<SealedValue>>;
    /// Replaces sealed values in one transaction, with the new key's fingerprint setting.
    async fn reseal(&self, values: &[SealedValue], fingerprint: &str, event: &AuditEvent) -> Result<()>;
}

/// The program setting holding the fingerprint of the master key that sealed the stored secrets.
pub const MASTER_KEY_SETTING: &str = "gateway.master_key_fingerprint";

/// A gateway token's columns, without its digest.
macro_rules! gateway_token_select {
    () => {
        "SELECT id, notice_id, user_id, org_id, name, prefix, created_at, expires_at, revoked_at \
         FROM gateway_tokens "
    };
}
pub(crate) use gateway_token_select;
