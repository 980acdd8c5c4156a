//! The review program as stored: `ReviewStore` (release notices, their dates and shares, assignments, findings
//! and assessments), its SQL in `queries/review.rs`. Reads that an audience decides are `AudienceStore`'s.

use crate::{
    Assessment, Assignment, AuditEvent, Finding, LaunchChange, Notice, NoticeDatesUpdate, NoticeQuery, Result,
};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
pub trait ReviewStore: Send + Sync + 'static {
    // Release notices
    async fn create_notice(&self, notice: &Notice, shares: &[Uuid], event: &AuditEvent) -> Result<()>;
    async fn get_notice(&self, id: Uuid) -> Result<Option<Notice>>;
    async fn notice_shares(&self, object_id: Uuid) -> Result<Vec<Uuid>>;
    async fn list_notices(&self, query: &NoticeQuery) -> Result<Vec<Notice>>;
    /// Writes new dates for a notice still open (neither launched early nor withdrawn) and records the change.
    async fn change_notice_dates(
        &self,
        dates: &NoticeDatesUpdate,
        change: &LaunchChange,
        event: &AuditEvent,
    ) -> Result<()>;
    async fn launch_history(&self, notice_id: Uuid) -> Result<Vec<LaunchChange>>;

    // Assignments
    async fn assign(&self, assignment: &Assignment, event: &AuditEvent) -> Result<()>;
    async fn unassign(&self, notice_id: Uuid, user_id: Uuid, event: &AuditEvent) -> Result<()>;
    async fn list_assignments(&self, notice_id: Uuid) -> Result<Vec<Assignment>>;

    // Findings and assessments
    async fn create_finding(&self, finding: &Finding, shares: &[Uuid], event: &AuditEvent) -> Result<()>;
    async fn create_assessment(
        &self,
        assessment: &Assessment,
        shares: &[Uuid],
        event: &AuditEvent,
    ) -> Result<()>;
}
