//! Who may see and do what. Every read and write path asks here; no handler decides on its own.
//!
//! Need-to-know: a developer sees its own notices; an agency sees the notices shared with it (by name, or with
//! every agency); other kinds see none. Findings and assessments are always visible to the notice's developer
//! and to the agency that wrote them, and to other agencies only when shared with them. An object a caller may
//! not see is answered as not found, so its existence does not leak.
//!
//! What a caller may see is one value, their `Audience`, which the store compiles into the query of every
//! read of notices, findings, assessments and events (`store::audience`): lists are filtered before their
//! `LIMIT`, and a single object the caller may not see reads as absent. Which events are visible to whom is
//! the table `EVENT_KINDS` (in `events`).
//!
//! One module per domain, each function re-exported here so callers write `policy::can_assign`:
//! `identity` (people and organisations), `review` (notices, assignments, findings, assessments), `gateway`
//! (the model access gateway), `platform` (jobs and webhooks), `clearinghouse` (TLP
//! readers and coordinators) and `events` (the audit trail and the ledger). What every domain shares — who
//! the caller is to the program, and their audience — is here.

mod clearinghouse;
mod evals;
mod events;
mod gateway;
mod identity;
mod platform;
mod review;

pub use clearinghouse::*;
pub use evals::*;
pub use events::*;
pub use gateway::*;
pub use identity::*;
pub use platform::*;
pub use review::*;

use crate::caller::Caller;
use accounts::{OrgKind, Role};
use store::Audience;

/// The notices, findings, assessments and events the caller may see, as the store applies it: a developer
/// reads as its organisation's developer side, an agency as a recipient, everyone as themselves (their own
/// actions; an admin their organisation's), and program administrators as the program.
pub fn audience(caller: &Caller) -> Audience {
    let org = caller.org_id();
    Audience {
        user_id: caller.user_id(),
        org_id: org,
        org_admin: caller.is_admin(),
        program_admin: is_program_admin(caller),
        coordinator: is_coordinator(caller),
        developer_org: caller.is(OrgKind::Developer).then_some(org),
        agency_org: caller.is(OrgKind::Agency).then_some(org),
    }
}

/// Whether the caller receives notices at all (a developer or an agency), for pages that offer notice lists.
pub fn receives_notices(caller: &Caller) -> bool {
    let audience = audience(caller);
    audience.developer_org.is_some() || audience.agency_org.is_some()
}

/// A program administrator: an admin of the clearinghouse.
pub fn is_program_admin(caller: &Caller) -> bool {
    caller.is(OrgKind::Clearinghouse) && caller.role == Role::Admin
}

/// Creating organisations, deactivating them, setting program policy, reading the whole audit trail.
pub fn can_administer_program(caller: &Caller) -> bool {
    is_program_admin(caller)
}

#[cfg(test)]
mod tests;
