//! The review program as stored: `ReviewStore` (release notices, their dates and shares, assignments, findings
//! and assessments), its SQL in `queries/review.rs`. Reads that an audience decides are `AudienceStore`'s.

use crate::{
    AccessEnded, Assessment, Assignment, AuditEvent, Finding, LaunchChange, Notice, NoticeDatesUpdate,
    NoticeEdit, NoticeQuery, Result,
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
    /// Writes an edit of a notice not withdrawn and records it in its history. When its sharing narrows, the
    /// agencies no longer shared with lose access in the same transaction: their evaluators' assignments end
    /// and their gateway tokens for the notice are revoked. The event is written with what ended
    /// (`access_ended`: the evaluators, `tokens_revoked`: how many) added to its details.
    async fn edit_notice(
        &self,
        edit: &NoticeEdit,
        change: &LaunchChange,
        event: &AuditEvent,
    ) -> Result<AccessEnded>;
    /// The developer's latest notice of this model and version that is not withdrawn.
    async fn notice_of_model(
        &self,
        developer_org_id: Uuid,
        model_name: &str,
        model_version: &str,
    ) -> Result<Option<Notice>>;

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
