//! The clearinghouse's operations: reports and their intake (`reports`, `intake`), attachments
//! (`attachments`) and the coordinators' triage (`triage`); coordinated disclosure cases (`cases`), their
//! vendor statuses, discussion and embargo (`discussion`), vendors' disclosure policies (`vendors`),
//! publication, advisories and subscriptions (`advisories`), and the metrics (`metrics`). Who may read an
//! object is TLP 2.0, decided by the store's `tlp_admits!` from `policy::tlp_audience`; who may act is
//! `policy::clearinghouse`.

pub mod advisories;
mod attachments;
pub mod cases;
pub mod csaf;
pub mod csaf_sign;
pub mod cve;
pub mod discussion;
pub mod import;
pub mod inbox;
mod intake;
mod intake_queue;
pub mod metrics;
pub mod osv;
pub mod osv_archive;
mod reports;
mod stix_export;
pub mod taxii;
pub mod taxii_collections;
pub mod taxii_write;
pub mod tlp;
mod triage;
mod validate;
pub mod vendors;
mod zip;

pub use attachments::*;
pub use intake::*;
pub use intake_queue::{IntakeGroups, IntakeQueue, MAX_GROUP, QUEUE_FULL_RETRY_SECONDS, QUEUE_LIMIT};
pub use reports::*;
pub use triage::*;
/// For federation's mapping of pulled objects to reports.
pub(crate) use validate::MAX_FINDER_NAME_CHARS;
pub use validate::{AffectedInput, FinderInput, ForwardFinding, NewReport};

use crate::jobs::Registry;
use crate::{App, AppError, AppResult, Caller, policy};
use review::ValidationError;
use store::CaseRow;
use uuid::Uuid;

/// The sealing context of an attachment's bytes (bound into the seal, so bytes cannot be moved to another
/// attachment).
pub(crate) fn attachment_context(id: Uuid) -> String {
    format!("attachment:{id}")
}

/// The critical-infrastructure sectors a report or case may name (the sixteen of PPD-21), as stored.
pub const SECTORS: [&str; 16] = [
    "chemical",
    "commercial_facilities",
    "communications",
    "critical_manufacturing",
    "dams",
    "defense_industrial_base",
    "emergency_services",
    "energy",
    "financial_services",
    "food_and_agriculture",
    "government_facilities",
    "healthcare",
    "information_technology",
    "nuclear",
    "transportation",
    "water",
];

/// Adds the clearinghouse's jobs to a worker's registry: publication when an embargo ends.
pub fn register(registry: Registry) -> Registry {
    registry
        .handle(advisories::PUBLISH, advisories::PublishHandler)
        .handle(taxii::BACKFILL, taxii::BackfillHandler)
        .every(taxii::BACKFILL, chrono::Duration::minutes(10))
}

/// A caller's mistake in `field`.
pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError::Invalid(ValidationError::new(field, message))
}

/// A sector as given: one of `SECTORS`, in any case.
pub(crate) fn sector(field: &str, value: &str) -> Result<String, ValidationError> {
    let lower = value.trim().to_ascii_lowercase();
    SECTORS
        .iter()
        .find(|s| **s == lower)
        .map(|s| (*s).to_owned())
        .ok_or_else(|| ValidationError::new(field, format!("must be one of {}", SECTORS.join(", "))))
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
