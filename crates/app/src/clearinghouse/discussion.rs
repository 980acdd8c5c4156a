//! What a case's people say and decide inside it: each vendor's status and statement per vulnerability, the
//! threaded discussion (Markdown, rendered safely), and the embargo's moves, each recorded with its reason.

use super::advisories::publish_job;
use super::cases::{VendorStatusView, whole_seconds};
use super::invalid;
use crate::page::{PageRequest, Paged, paginate};
use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Utc};
use clearinghouse::case::{self, EmbargoError, ParticipantRole, VendorStatus};
use serde::Serialize;
use serde_json::json;
use store::{CasePost, CaseRow, CaseUpdate, EmbargoChange, VendorStatusRow};
use uuid::Uuid;

/// The longest statement and post, in bytes.
pub const MAX_STATEMENT: usize = 10_000;
pub const MAX_POST: usize = 20_000;

#[derive(Debug, Clone, Serialize)]
pub struct PostView {
    pub id: Uuid,
    pub case_id: Uuid,
    pub reply_to: Option<Uuid>,
    pub author_id: Uuid,
    pub author_name: String,
    pub org_id: Uuid,
    pub org_name: String,
    /// The Markdown as written, and as safe HTML.
    pub body: String,
    pub body_html: String,
    pub created_at: DateTime<Utc>,
}

impl From<CasePost> for PostView {
    fn from(p: CasePost) -> Self {
        PostView {
            body_html: review::markdown::render(&p.body),
            id: p.id,
            case_id: p.case_id,
            reply_to: p.reply_to,
            author_id: p.author_id,
            author_name: p.author_name,
            org_id: p.org_id,
            org_name: p.org_name,
            body: p.body,
            created_at: p.created_at,
        }
    }
}

fn final_conflict(case: &CaseRow) -> AppError {
    AppError::Conflict(format!(
        "the case is {}, which is final",
        case.state.label().to_lowercase()
    ))
}

impl App {
    /// Sets a vendor's status and statement for one report of the case: that vendor's people, or
    /// coordinators, while the case is open.
    pub async fn set_vendor_status(
        &self,
        caller: &Caller,
        id: Uuid,
        vendor: Uuid,
        report_id: Uuid,
        status: &str,
        statement: &str,
    ) -> AppResult<VendorStatusView> {
        let case = self.readable_case(caller, id).await?;
        if !policy::can_state_vendor_status(caller, vendor) {
            return Err(AppError::Forbidden(
                "only the vendor's people or coordinators state its status",
            ));
        }
        let participant = self
            .store
            .case_participants(case.id)
            .await?
            .into_iter()
            .find(|p| p.org_id == vendor && p.role == ParticipantRole::Vendor)
            .ok_or(AppError::NotFound("vendor"))?;
        let status = VendorStatus::parse(status).map_err(|e| invalid("status", e.to_string()))?;
        let statement = kernel::validate::text("statement", statement, MAX_STATEMENT, false)?;
        if case.state.is_final() {
            return Err(final_conflict(&case));
        }
        let reader = policy::tlp_audience(Some(caller));
        let reports = self
            .store
            .case_reports(case.id, store::ReportScope::Reader(&reader))
            .await?;
        if !reports.iter().any(|r| r.id == report_id) {
            return Err(invalid("report_id", "is not a report of this case"));
        }
        let row = VendorStatusRow {
            case_id: case.id,
            org_id: vendor,
            org_name: participant.org_name,
            report_id,
            status,
            statement,
            updated_by: caller.user_id(),
            updated_at: self.clock.now(),
        };
        let event = self.event(
            caller.into(),
            "case.vendor_status",
            "case",
            Some(case.id),
            json!({"org_id": vendor, "report_id": report_id, "status": status.as_str()}),
        );
        self.store.put_vendor_status(&row, &event).await?;
        Ok(VendorStatusView {
            org_id: row.org_id,
            name: row.org_name,
            report_id,
            status,
            status_label: status.label(),
            statement: row.statement,
            updated_at: row.updated_at,
        })
    }

    /// Whether the caller may take part in the case's discussion: a coordinator, or a notified participant.
    async fn check_discussion(&self, caller: &Caller, case: &CaseRow) -> AppResult<()> {
        let participant = self
            .store
            .case_participants(case.id)
            .await?
            .iter()
            .any(|p| p.org_id == caller.org_id() && p.notified_at.is_some());
        if !policy::can_discuss_case(caller, participant) {
            return Err(AppError::Forbidden(
                "only the case's participants and coordinators take part in its discussion",
            ));
        }
        Ok(())
    }

    /// The case's discussion, oldest first; each post names the one it replies to.
    pub async fn list_case_posts(
        &self,
        caller: &Caller,
        id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<PostView>> {
        let case = self.readable_case(caller, id).await?;
        self.check_discussion(caller, &case).await?;
        let limit = page.limit()?;
        let after = page.after(|s| s.parse::<Uuid>().ok())?;
        let rows = self.store.list_case_posts(case.id, after, limit + 1).await?;
        Ok(paginate(rows, limit, |p| p.id.to_string(), PostView::from))
    }

    /// Writes a post (or a reply to one of the case's posts).
    pub async fn add_case_post(
        &self,
        caller: &Caller,
        id: Uuid,
        body: &str,
        reply_to: Option<Uuid>,
    ) -> AppResult<PostView> {
        let case = self.readable_case(caller, id).await?;
        self.check_discussion(caller, &case).await?;
        let body = kernel::validate::text("body", body, MAX_POST, true)?;
        if let Some(parent) = reply_to {
            let same_case = self
                .store
                .get_case_post(parent)
                .await?
                .is_some_and(|p| p.case_id == case.id);
            if !same_case {
                return Err(invalid("reply_to", "is not a post of this case"));
            }
        }
        let post = CasePost {
            id: Uuid::now_v7(),
            case_id: case.id,
            reply_to,
            author_id: caller.user_id(),
            author_name: caller.user.display_name.clone(),
            org_id: caller.org_id(),
            org_name: caller.org.name.clone(),
            body,
            created_at: self.clock.now(),
        };
        // The event names the post, not its words: the discussion is the participants' alone.
        let event = self.event(
            caller.into(),
            "case.post",
            "case",
            Some(case.id),
            json!({"post_id": post.id, "reply_to": reply_to}),
        );
        self.store.add_case_post(&post, &event).await?;
        Ok(PostView::from(post))
    }

    /// Moves the target publication date (coordinators), with a reason; the publication job is scheduled
    /// for the new date, and the one for the old date finds the date moved and does nothing.
    pub async fn set_embargo(
        &self,
        caller: &Caller,
        id: Uuid,
        ends_at: &str,
        reason: &str,
    ) -> AppResult<crate::clearinghouse::cases::CaseView> {
        let case = self.readable_case(caller, id).await?;
        if !policy::can_coordinate_cases(caller) {
            return Err(AppError::Forbidden("only coordinators set the embargo"));
        }
        let ends = whole_seconds(review::dates::parse_time("embargo_ends_at", ends_at)?);
        let reason = kernel::validate::line("reason", reason, 1000)?;
        let now = self.clock.now();
        case::check_embargo(now, case.embargo_ends_at, ends).map_err(|e| match e {
            EmbargoError::NotFuture | EmbargoError::TooFar | EmbargoError::Unchanged => {
                invalid("embargo_ends_at", e.to_string())
            }
        })?;
        if case.state.is_final() {
            return Err(final_conflict(&case));
        }
        let update = CaseUpdate {
            case_id: case.id,
            version: case.version,
            at: now,
            by: Some(caller.user_id()),
            state: None,
            embargo: Some(EmbargoChange {
                id: Uuid::now_v7(),
                previous: case.embargo_ends_at,
                ends_at: ends,
                reason: reason.clone(),
            }),
            add: Vec::new(),
            notify: Vec::new(),
            jobs: vec![publish_job(case.id, case.version + 1, ends, now)],
        };
        let event = self.event(
            caller.into(),
            "case.embargo",
            "case",
            Some(case.id),
            json!({"previous": case.embargo_ends_at, "embargo_ends_at": ends, "reason": reason}),
        );
        let stored = self.store.update_case(&update, &[event]).await?;
        self.case_view(caller, stored).await
    }
}
