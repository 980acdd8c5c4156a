//! The clearinghouse's operations: reports and their intake (`reports`, `intake`), attachments
//! (`attachments`) and the coordinators' triage (`triage`). Who may read is TLP 2.0, compiled into every
//! query from `policy::tlp_audience`; who may act is `policy::clearinghouse`.

mod attachments;
mod intake;
mod reports;
mod triage;
mod validate;

pub use attachments::*;
pub use intake::*;
pub use reports::*;
pub use triage::*;
pub use validate::{AffectedInput, FinderInput, ForwardFinding, NewReport};

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

/// A case state as people read it.
pub fn state_label(state: store::CaseState) -> &'static str {
    use store::CaseState::*;
    match state {
        New => "new",
        Triaged => "triaged",
        VendorsNotified => "vendors notified",
        FixInProgress => "fix in progress",
        Fixed => "fixed",
        Published => "published",
        Rejected => "rejected",
        Duplicate => "duplicate",
    }
}
