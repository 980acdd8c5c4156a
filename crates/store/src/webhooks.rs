//! Webhook endpoints and their delivery log: rows and the store trait. The rules (who manages endpoints, which
//! URLs are allowed, signing, retries, when an endpoint is disabled) live in `app::webhooks`. The SQL is in
//! `queries/webhooks.rs`, compiled once per backend.

use crate::{AuditEvent, JobOutcome, Page, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// An organisation's endpoint. `Debug` leaves the sealed secret out.
#[derive(Clone, PartialEq, sqlx::FromRow)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub org_id: Uuid,
    pub url: String,
    pub description: String,
    /// The names of the notification kinds it receives.
    pub events: sqlx::types::Json<Vec<String>>,
    pub enabled: bool,
    /// The signing secret, sealed under the master key.
    pub sealed_secret: Vec<u8>,
    /// When the current run of failed attempts began; `None` after a success.
    pub failing_since: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("url", &self.url)
            .field("events", &self.events.0)
            .field("enabled", &self.enabled)
            .field("sealed_secret", &crate::REDACTED)
            .field("failing_since", &self.failing_since)
            .finish_non_exhaustive()
    }
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The message's id (`webhook-id`), the same for every attempt of one message.
    pub message_id: String,
    pub event_type: String,
    /// 1 for the first attempt of the message.
    pub attempt: i32,
    /// The receiver's status, when it answered.
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub delivered: bool,
    pub at: DateTime<Utc>,
}

/// What one attempt leaves behind, written in one transaction.
#[derive(Debug, Clone)]
pub struct WebhookAttempt<'a> {
    pub delivery: &'a WebhookDelivery,
    /// The end of the delivery job's attempt, committed with the log row; `None` leaves the job to the worker.
    pub job: Option<&'a JobOutcome<'a>>,
    /// Disables the endpoint (if it still is enabled) with this reason and records the event, which is written
    /// only when this attempt disabled it.
    pub disable: Option<(&'a str, &'a AuditEvent)>,
}

#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Adds the endpoint and records the event, unless its organisation already has `most` endpoints: then
    /// nothing is written and the answer is `false`. The count and the insert are one atomic step, so parallel
    /// creations never pass the cap.
    async fn create_webhook(&self, endpoint: &WebhookEndpoint, most: i64, event: &AuditEvent)
    -> Result<bool>;
    async fn get_webhook(&self, id: Uuid) -> Result<Option<WebhookEndpoint>>;
    /// An organisation's endpoints, by id (oldest first), after the page's cursor.
    async fn list_webhooks(&self, org_id: Uuid, page: &Page<Uuid>) -> Result<Vec<WebhookEndpoint>>;
    /// Writes the endpoint's url, description, events, enabled, failing_since and disabled_reason.
    async fn update_webhook(&self, endpoint: &WebhookEndpoint, event: &AuditEvent) -> Result<()>;
    /// Removes the endpoint and its delivery log.
    async fn delete_webhook(&self, id: Uuid, event: &AuditEvent) -> Result<()>;
    /// The enabled endpoints of these organisations.
    async fn enabled_webhooks(&self, org_ids: &[Uuid]) -> Result<Vec<WebhookEndpoint>>;
    /// Logs an attempt, moves the endpoint's `failing_since` (cleared on success, set if unset on failure),
    /// and ends the job, together. `Stale` (nothing written) when the job's lease was lost.
    async fn record_webhook_attempt(&self, attempt: &WebhookAttempt<'_>) -> Result<()>;
    /// An endpoint's delivery log, newest first, before the page's cursor.
    async fn list_webhook_deliveries(
        &self,
        endpoint_id: Uuid,
        page: &Page<Uuid>,
    ) -> Result<Vec<WebhookDelivery>>;
}
