//! A finding's life after filing, and an assessment's publication, as stored: `FindingLifeStore`, its SQL in
//! `queries/findings.rs`. Who may read these rows is decided before they are asked for (the finding is read
//! through `AudienceStore::visible_finding` first).

use crate::{AuditEvent, Finding, FindingResponse, FindingStatus, FindingVersion, Page, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
pub trait FindingLifeStore: Send + Sync + 'static {
    /// A finding by id, whoever asks (for notifications, which then check each reader).
    async fn get_finding_row(&self, id: Uuid) -> Result<Option<Finding>>;
    /// Moves a finding from `from` to `to`; `Stale` if it is no longer at `from`.
    async fn set_finding_status(
        &self,
        id: Uuid,
        from: FindingStatus,
        to: FindingStatus,
        event: &AuditEvent,
    ) -> Result<()>;
    async fn add_finding_response(&self, response: &FindingResponse, event: &AuditEvent) -> Result<()>;
    /// A finding's responses, oldest first, by id.
    async fn list_finding_responses(
        &self,
        finding_id: Uuid,
        page: &Page<Uuid>,
    ) -> Result<Vec<FindingResponse>>;
    /// Shares a finding with further organisations (those it is already shared with are kept).
    async fn share_finding(&self, id: Uuid, orgs: &[Uuid], event: &AuditEvent) -> Result<()>;
    /// Replaces a finding's text with `edited` (whose `version` is the next one), keeping `previous`; `Stale`
    /// if another edit came first.
    async fn edit_finding(
        &self,
        edited: &Finding,
        previous: &FindingVersion,
        event: &AuditEvent,
    ) -> Result<()>;
    /// A finding's earlier versions, oldest first.
    async fn finding_history(&self, finding_id: Uuid) -> Result<Vec<FindingVersion>>;
    /// Publishes a draft assessment; `Stale` if it is not a draft any more.
    async fn publish_draft_assessment(&self, id: Uuid, at: DateTime<Utc>, event: &AuditEvent) -> Result<()>;
}
