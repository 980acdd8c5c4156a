//! Who may see and do what. Every read and write path asks here; no handler decides on its own.
//!
//! Need-to-know: a developer sees its own notices; an agency sees the notices shared with it (by name, or with
//! every agency); other kinds see none. Findings and assessments are always visible to the notice's developer
//! and to the agency that wrote them, and to other agencies only when shared with them. An object a caller may
//! not see is answered as not found, so its existence does not leak.

use crate::caller::Caller;
use accounts::{OrgKind, Role};
use store::{Notice, NoticeScope};
use uuid::Uuid;

/// The notices a caller may see, as a filter the store applies.
pub fn notice_scope(caller: &Caller) -> NoticeScope {
    match caller.kind {
        OrgKind::Developer => NoticeScope {
            developer_org: Some(caller.org_id()),
            agency_org: None,
        },
        OrgKind::Agency => NoticeScope {
            developer_org: None,
            agency_org: Some(caller.org_id()),
        },
        OrgKind::Vendor | OrgKind::Operator | OrgKind::Clearinghouse => NoticeScope::default(),
    }
}

pub fn can_view_notice(caller: &Caller, notice: &Notice, shared_with: &[Uuid]) -> bool {
    match caller.kind {
        OrgKind::Developer => notice.developer_org_id == caller.org_id(),
        OrgKind::Agency => notice.shared_with_all || shared_with.contains(&caller.org_id()),
        OrgKind::Vendor | OrgKind::Operator | OrgKind::Clearinghouse => false,
    }
}

/// Filing a notice: any person of a developer organisation.
pub fn can_file_notice(caller: &Caller) -> bool {
    caller.is(OrgKind::Developer)
}

/// Moving the launch, announcing it, withdrawing: the developer's own people, on a notice they can see.
pub fn can_manage_notice(caller: &Caller, notice: &Notice) -> bool {
    manages_notices_of(caller, notice.developer_org_id)
}

/// The same rule, for a notice known by its developer organisation only (as pages hold it).
pub fn manages_notices_of(caller: &Caller, developer_org_id: Uuid) -> bool {
    caller.is(OrgKind::Developer) && developer_org_id == caller.org_id()
}

/// Assigning evaluators: an admin of an agency that can see the notice.
pub fn can_assign(caller: &Caller) -> bool {
    caller.is(OrgKind::Agency) && caller.is_admin()
}

/// Seeing an evaluator's assignment to a notice the caller can see: the developer sees every agency's, an
/// agency only its own.
pub fn can_view_assignment(caller: &Caller, notice: &Notice, assignment_org: Uuid) -> bool {
    can_manage_notice(caller, notice) || assignment_org == caller.org_id()
}

/// Who can be assigned by an agency admin: an active person of the same agency.
pub fn can_be_assigned(caller: &Caller, evaluator_org: Uuid) -> bool {
    can_assign(caller) && evaluator_org == caller.org_id()
}

/// Filing a finding or publishing an assessment: an assigned evaluator, or an admin of their agency.
pub fn can_write_agency_work(caller: &Caller, is_assigned: bool) -> bool {
    caller.is(OrgKind::Agency) && (is_assigned || caller.is_admin())
}

/// Reading a finding or an assessment of a notice the caller can see.
pub fn can_view_agency_work(
    caller: &Caller,
    notice: &Notice,
    author_org: Uuid,
    shared_with: &[Uuid],
) -> bool {
    match caller.kind {
        OrgKind::Developer => notice.developer_org_id == caller.org_id(),
        OrgKind::Agency => author_org == caller.org_id() || shared_with.contains(&caller.org_id()),
        OrgKind::Vendor | OrgKind::Operator | OrgKind::Clearinghouse => false,
    }
}

/// A program administrator: an admin of the clearinghouse.
pub fn is_program_admin(caller: &Caller) -> bool {
    caller.is(OrgKind::Clearinghouse) && caller.role == Role::Admin
}

/// Creating organisations, deactivating them, setting program policy, reading the whole audit trail.
pub fn can_administer_program(caller: &Caller) -> bool {
    is_program_admin(caller)
}

/// Managing the people of an organisation: its own admins, and program administrators.
pub fn can_manage_people(caller: &Caller, org_id: Uuid) -> bool {
    is_program_admin(caller) || (caller.is_admin() && caller.org_id() == org_id)
}

/// Seeing the people of an organisation: anyone in it, and program administrators.
pub fn can_view_people(caller: &Caller, org_id: Uuid) -> bool {
    is_program_admin(caller) || caller.org_id() == org_id
}

/// Which organisation's people a listing may show: `None` means every organisation.
pub fn people_scope(caller: &Caller, requested: Option<Uuid>) -> Option<Option<Uuid>> {
    match requested {
        Some(org_id) if can_view_people(caller, org_id) => Some(Some(org_id)),
        Some(_) => None,
        None if is_program_admin(caller) => Some(None),
        None => Some(Some(caller.org_id())),
    }
}

/// Seeing one event of the audit trail (and its ledger receipt): program administrators see all; a person
/// sees their own actions, an organisation admin their organisation's; anyone sees the events of an object
/// (notice, finding, assessment) they may see.
pub fn can_view_event(
    caller: &Caller,
    actor_user: Option<Uuid>,
    actor_org: Option<Uuid>,
    object_visible: bool,
) -> bool {
    is_program_admin(caller)
        || actor_user == Some(caller.user_id())
        || (caller.is_admin() && actor_org == Some(caller.org_id()))
        || object_visible
}
