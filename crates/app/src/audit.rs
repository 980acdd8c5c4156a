//! Reading the audit trail. Writing happens only inside the store, with each change.

use crate::page::{PageRequest, Paged, paginate};
use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
pub use store::TrailFilter;
use store::{AuditEvent, EventQuery};
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
    /// The audit trail as the caller may see it: the whole trail for program administrators, the events of
    /// one object (`object_id`) for anyone. Events the caller may not see are left out in the query, so a
    /// page is full while more remain.
    pub async fn list_audit(
        &self,
        caller: &Caller,
        object_id: Option<Uuid>,
        page: &PageRequest,
    ) -> AppResult<Paged<AuditView>> {
        if object_id.is_none() && !policy::can_list_whole_trail(caller) {
            return Err(AppError::Forbidden(
                "only program administrators read the whole audit trail; give object_id for the events of one object",
            ));
        }
        let limit = page.limit()?;
        let after = page.after(|s| s.parse::<i64>().ok())?;
        let rows = self
            .store
            .list_events(&self.event_query(caller, object_id, None, after, limit + 1))
            .await?;
        Ok(paginate(rows, limit, |e| e.seq.to_string(), AuditView::from))
    }

    /// The whole audit trail for a program administrator's page: newest first, narrowed by `trail` (its
    /// order is set here), a page of at most `limit` events before the cursor.
    pub async fn list_trail(
        &self,
        caller: &Caller,
        mut trail: TrailFilter,
        page: &PageRequest,
    ) -> AppResult<Paged<AuditView>> {
        if !policy::can_list_whole_trail(caller) {
            return Err(AppError::Forbidden(
                "only program administrators read the whole audit trail",
            ));
        }
        let limit = page.limit()?;
        let after = page.after(|s| s.parse::<i64>().ok())?;
        trail.newest_first = true;
        let mut query = self.event_query(caller, None, None, after, limit + 1);
        query.trail = trail;
        let rows = self.store.list_events(&query).await?;
        Ok(paginate(rows, limit, |e| e.seq.to_string(), AuditView::from))
    }

    /// A query of the events the caller may see.
    pub(crate) fn event_query(
        &self,
        caller: &Caller,
        object_id: Option<Uuid>,
        event_id: Option<Uuid>,
        after: Option<i64>,
        limit: i64,
    ) -> EventQuery {
        EventQuery {
            audience: policy::audience(caller),
            kinds: policy::EVENT_KINDS,
            object_id,
            event_id,
            after,
            limit,
            trail: TrailFilter::default(),
        }
    }

    /// The event, if the caller may see it.
    pub(crate) async fn visible_event(&self, caller: &Caller, id: Uuid) -> AppResult<Option<AuditEvent>> {
        let mut found = self
            .store
            .list_events(&self.event_query(caller, None, Some(id), None, 1))
            .await?;
        Ok(found.pop())
    }
}
