//! The clearinghouse's operations: coordinated disclosure cases (`cases`), their vendor statuses, discussion
//! and embargo (`discussion`), vendors' disclosure policies (`vendors`), publication, advisories and
//! subscriptions (`advisories`), and the metrics (`metrics`). Who may read an object is TLP 2.0, decided by
//! the store's `tlp_admits!` from `policy::tlp_audience`; who may act is `policy::clearinghouse`.

pub mod advisories;
pub mod cases;
pub mod discussion;
pub mod metrics;
pub mod vendors;

use crate::jobs::Registry;
use crate::{App, AppError, AppResult, Caller, policy};
use review::ValidationError;
use store::CaseRow;
use uuid::Uuid;

/// Adds the clearinghouse's jobs to a worker's registry: publication when an embargo ends.
pub fn register(registry: Registry) -> Registry {
    registry.handle(advisories::PUBLISH, advisories::PublishHandler)
}

/// A caller's mistake in `field`.
pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError::Invalid(ValidationError::new(field, message))
}

/// A sector name as given: one line of at most 100 characters, kept in lower case so that matching ignores
/// case.
pub(crate) fn sector(field: &str, value: &str) -> Result<String, ValidationError> {
    kernel::validate::line(field, value, 100).map(|s| s.to_lowercase())
}

impl App {
    /// The case if the caller may read it (TLP and embargo); otherwise "not found", as for no case at all.
    pub(crate) async fn readable_case(&self, caller: &Caller, id: Uuid) -> AppResult<CaseRow> {
        self.store
            .visible_case(id, &policy::tlp_audience(Some(caller)))
            .await?
            .ok_or(AppError::NotFound("case"))
    }
}
