//! Who may read and act in the clearinghouse. Reading is TLP 2.0 (`clearinghouse::tlp`), decided by the
//! store's `tlp_admits!` from the reader this module computes; acting is decided by the functions here.

use super::is_program_admin;
use crate::caller::Caller;
use accounts::OrgKind;
use store::TlpAudience;

/// The reader of clearinghouse objects that a caller is; `None` (not signed in) is the public, who read
/// TLP:CLEAR objects out of embargo only.
pub fn tlp_audience(caller: Option<&Caller>) -> TlpAudience {
    match caller {
        None => TlpAudience::PUBLIC,
        Some(caller) => TlpAudience {
            signed_in: true,
            user_id: caller.user_id(),
            org_id: caller.org_id(),
            coordinator: is_coordinator(caller),
        },
    }
}

/// A coordinator: any member of the clearinghouse organisation (program administrators included).
pub fn is_coordinator(caller: &Caller) -> bool {
    caller.is(OrgKind::Clearinghouse) || is_program_admin(caller)
}

/// Filing a report: any signed-in member of an active organisation (the clearinghouse's intake is open to
/// every member; what they may read of others' reports is TLP).
pub fn can_file_report(_caller: &Caller) -> bool {
    true
}

/// Attaching a file to a report: the person who filed it.
pub fn can_attach_to_report(caller: &Caller, reporter_id: uuid::Uuid) -> bool {
    caller.user_id() == reporter_id
}

/// Forwarding a review finding as a report: the agency that wrote the finding.
pub fn can_forward_finding(caller: &Caller, finding_org: uuid::Uuid) -> bool {
    caller.is(OrgKind::Agency) && caller.org_id() == finding_org
}

/// Naming the client organisations a TLP:AMBER object may be shared with: the organisation that owns it (a
/// report's reporter organisation; a case has none), or coordinators.
pub fn can_name_tlp_clients(caller: &Caller, owner_org: Option<uuid::Uuid>) -> bool {
    is_coordinator(caller) || owner_org == Some(caller.org_id())
}

/// The triage queue, merging and splitting cases: coordinators.
pub fn can_triage(caller: &Caller) -> bool {
    is_coordinator(caller)
}

/// Opening cases by hand, moving them, adding and removing participants, setting the embargo, publishing:
/// coordinators.
pub fn can_coordinate_cases(caller: &Caller) -> bool {
    is_coordinator(caller)
}

/// Stating a vendor's status on a case: that vendor's people (a notified participant, which the caller's read
/// of the case already shows), or coordinators.
pub fn can_state_vendor_status(caller: &Caller, vendor_org: uuid::Uuid) -> bool {
    is_coordinator(caller) || (caller.is(OrgKind::Vendor) && caller.org_id() == vendor_org)
}

/// Whether moving a case to "vendors notified" notifies a participant of this role: its vendors only. A finder
/// whose report joined the case automatically stays outside its embargo (a duplicate does not make its finder
/// a recipient of the original) until a coordinator decides.
pub fn notified_with_vendors(role: ::clearinghouse::case::ParticipantRole) -> bool {
    role == ::clearinghouse::case::ParticipantRole::Vendor
}

/// Reading and writing a case's discussion: its notified participants and coordinators (not everyone who may
/// read a published case).
pub fn can_discuss_case(caller: &Caller, notified_participant: bool) -> bool {
    is_coordinator(caller) || notified_participant
}

/// A vendor's disclosure policy: the admins of a vendor organisation.
pub fn can_manage_vendor_policy(caller: &Caller) -> bool {
    caller.is(OrgKind::Vendor) && caller.is_admin()
}

/// An organisation's subscriptions to advisories: its admins.
pub fn can_manage_subscriptions(caller: &Caller) -> bool {
    caller.is_admin()
}

/// The clearinghouse's metrics: coordinators and program administrators.
pub fn can_read_clearinghouse_metrics(caller: &Caller) -> bool {
    is_coordinator(caller)
}

/// The vendor inbox (the cases in which one's organisation takes part as a vendor): vendors' people.
pub fn can_read_vendor_inbox(caller: &Caller) -> bool {
    caller.is(OrgKind::Vendor)
}
