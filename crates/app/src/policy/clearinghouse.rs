//! Who may read and act in the clearinghouse. Reading is TLP 2.0 (`clearinghouse::tlp`), decided by the
//! store's `tlp_admits!` from the reader this module computes; acting is decided by the functions here.

use super::is_program_admin;
use crate::caller::Caller;
use ::clearinghouse::tlp::Tlp;
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

/// The reader a peer clearinghouse we publish to is: a member organisation with no part in any object (no
/// report, case or named recipient of ours), so it is sent what every member may read of the peer's marking
/// (TLP:CLEAR and TLP:GREEN out of embargo; nothing AMBER or RED, which name their recipients).
pub fn peer_audience() -> TlpAudience {
    TlpAudience {
        signed_in: true,
        user_id: uuid::Uuid::nil(),
        org_id: uuid::Uuid::nil(),
        coordinator: false,
    }
}

/// A coordinator: any member of the clearinghouse organisation (program administrators included).
pub fn is_coordinator(caller: &Caller) -> bool {
    caller.is(OrgKind::Clearinghouse) || is_program_admin(caller)
}

/// Exporting an advisory as a CVE record, for a CNA to submit: coordinators.
pub fn can_export_cve_record(caller: &Caller) -> bool {
    is_coordinator(caller)
}

/// Filing a report: any signed-in member of an active organisation (the clearinghouse's intake is open to
/// every member; what they may read of others' reports is TLP).
pub fn can_file_report(_caller: &Caller) -> bool {
    true
}

/// Posting STIX objects to a TAXII collection: a signed-in member of an active organisation (a `Caller` is
/// one); the TLP:CLEAR collection is public, so only coordinators post to it.
pub fn can_write_taxii(caller: Option<&Caller>, collection: Tlp) -> bool {
    caller.is_some_and(|c| collection != Tlp::Clear || is_coordinator(c))
}

/// Deleting a posted STIX object from a TAXII collection: the organisation that posted it, or a
/// coordinator. Objects derived from our advisories are deleted by no one.
pub fn can_delete_stix_object(caller: &Caller, posted_by: uuid::Uuid) -> bool {
    caller.org_id() == posted_by || is_coordinator(caller)
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

/// Registering, changing and removing the peer clearinghouses we federate with: coordinators.
pub fn can_manage_federation(caller: &Caller) -> bool {
    is_coordinator(caller)
}

/// The clearinghouse's metrics: coordinators and program administrators.
pub fn can_read_clearinghouse_metrics(caller: &Caller) -> bool {
    is_coordinator(caller)
}

/// The vendor inbox (the cases in which one's organisation takes part as a vendor): vendors' people.
pub fn can_read_vendor_inbox(caller: &Caller) -> bool {
    caller.is(OrgKind::Vendor)
}

/// The report markings whose contents (finder, products, scores, CWE, vendors' statements) an advisory of this
/// marking carries: those that admit everyone the published advisory reaches, so an advisory never names what
/// a reader of it may not read. A CLEAR advisory is public: CLEAR reports only. GREEN reaches every member:
/// CLEAR and GREEN. AMBER reaches the case's recipients and the clients a coordinator names — a recipient of an
/// AMBER report may share it with its clients — so AMBER too, but never AMBER+STRICT, which stays inside the
/// recipients, as an AMBER+STRICT advisory does. A RED advisory reaches the people named on its case, who may
/// read CLEAR and GREEN only. A RED report reaches no advisory. Reports left out are not credited at all (the
/// model records no finder's consent to be named, and an anonymous credit would still tell the advisory's
/// readers that a report they may not read exists).
pub fn advisory_carries(advisory: Tlp) -> &'static [Tlp] {
    match advisory {
        Tlp::Clear => &[Tlp::Clear],
        Tlp::Green | Tlp::Red => &[Tlp::Clear, Tlp::Green],
        Tlp::Amber => &[Tlp::Clear, Tlp::Green, Tlp::Amber],
        Tlp::AmberStrict => &[Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict],
    }
}

/// Defining and changing TAXII sharing communities: coordinators (program administrators among them).
pub fn can_manage_taxii_communities(caller: &Caller) -> bool {
    is_coordinator(caller)
}

/// Reading a sharing community's collection, and posting to it: its members only — not the public, and not
/// coordinators for being coordinators. The store compiles the same rule into every read of its objects
/// (the reader's organisation among the members).
pub fn can_use_taxii_community(caller: Option<&Caller>, member_orgs: &[uuid::Uuid]) -> bool {
    caller.is_some_and(|c| member_orgs.contains(&c.org_id()))
}

/// Defining TAXII collections by a filter: program administrators.
pub fn can_define_taxii_collections(caller: &Caller) -> bool {
    is_program_admin(caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Who reads an object of a marking once its case is published, least to most restrictive audience:
    /// 0 the public, 1 every member, 2 the recipients and their clients, 3 the recipients, 4 named people.
    fn reach(m: Tlp) -> u8 {
        match m {
            Tlp::Clear => 0,
            Tlp::Green => 1,
            Tlp::Amber => 2,
            Tlp::AmberStrict => 3,
            Tlp::Red => 4,
        }
    }

    #[test]
    fn an_advisory_carries_only_reports_that_reach_its_readers() {
        let all = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red];
        // (advisory, report) → carried; the table as the rule states it, not derived from the function.
        let table = [
            (Tlp::Clear, "C...."),
            (Tlp::Green, "CG..."),
            (Tlp::Amber, "CGA.."),
            (Tlp::AmberStrict, "CGAS."),
            (Tlp::Red, "CG..."),
        ];
        for (advisory, row) in table {
            for (report, cell) in all.iter().zip(row.chars()) {
                let carried = advisory_carries(advisory).contains(report);
                assert_eq!(carried, cell != '.', "{advisory:?} advisory × {report:?} report");
                // Never a report whose audience is narrower than the advisory's (RED's named people aside).
                if carried && advisory != Tlp::Red {
                    assert!(reach(*report) <= reach(advisory), "{advisory:?} × {report:?}");
                }
            }
        }
        assert!(all.iter().all(|a| !advisory_carries(*a).contains(&Tlp::Red)));
    }
}
