//! Reading the audit trail. Writing happens only inside the store, with each change.

use crate::page::{PageRequest, Paged, paginate};
use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use store::{AuditEvent, Page};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct AuditView {
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    pub actor_org_id: Option<Uuid>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<Uuid>,
    pub details: Value,
}

impl From<AuditEvent> for AuditView {
    fn from(e: AuditEvent) -> Self {
        AuditView {
            seq: e.seq,
            id: e.id,
            at: e.at,
            actor_user_id: e.actor_user_id,
            actor_org_id: e.actor_org_id,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            details: e.details.0,
        }
    }
}

impl App {
    /// The whole trail, for program administrators.
    pub async fn list_audit(
        &self,
        caller: &Caller,
        object_id: Option<Uuid>,
        page: &PageRequest,
    ) -> AppResult<Paged<AuditView>> {
        if !policy::can_administer_program(caller) {
            return Err(AppError::Forbidden(
                "only program administrators read the whole audit trail",
            ));
        }
        let limit = page.limit()?;
        let after = page.after(|s| s.parse::<i64>().ok())?;
        let rows = self
            .store
            .list_audit(
                object_id,
                &Page {
                    after,
                    limit: limit + 1,
                },
            )
            .await?;
        Ok(paginate(rows, limit, |e| e.seq.to_string(), AuditView::from))
    }
}
