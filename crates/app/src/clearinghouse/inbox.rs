//! A vendor's inbox: the cases in which its organisation takes part as a vendor, newest first, with whether it
//! has stated its status yet. The list is a TLP read (a vendor not yet notified of an embargoed case does not
//! see it).

use super::cases::CaseSummary;
use crate::page::{PageRequest, Paged, paginate};
use crate::{App, AppError, AppResult, Caller, policy};
use serde::Serialize;
use uuid::Uuid;

/// At most this many cases per page of the inbox.
pub const MAX_INBOX_PAGE: i64 = 50;

#[derive(Debug, Clone, Serialize)]
pub struct InboxItem {
    #[serde(flatten)]
    pub case: CaseSummary,
    /// Whether the caller's organisation has stated a status on any report of the case.
    pub stated: bool,
}

impl App {
    /// The caller's vendor inbox; vendors' people only (others: not found, as the page does not exist for them).
    pub async fn vendor_inbox(&self, caller: &Caller, page: &PageRequest) -> AppResult<Paged<InboxItem>> {
        if !policy::can_read_vendor_inbox(caller) {
            return Err(AppError::NotFound("inbox"));
        }
        let limit = page.limit()?.min(MAX_INBOX_PAGE);
        let before = page.after(|s| s.parse::<Uuid>().ok())?;
        let rows = self
            .store
            .vendor_inbox(&policy::tlp_audience(Some(caller)), before, limit + 1)
            .await?;
        Ok(paginate(
            rows,
            limit,
            |r| r.case.id.to_string(),
            |r| InboxItem {
                case: CaseSummary::from(&r.case),
                stated: r.stated,
            },
        ))
    }
}
