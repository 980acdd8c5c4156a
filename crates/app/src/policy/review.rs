//! Who may act on the review program: filing and managing notices, assigning evaluators, writing findings and
//! assessments.

use crate::caller::Caller;
use accounts::OrgKind;
use store::Notice;
use uuid::Uuid;

/// Filing a notice: any person of a developer organisation.
pub fn can_file_notice(caller: &Caller) -> bool {
    caller.is(OrgKind::Developer)
}

/// Moving the launch, announcing it, withdrawing: the developer's own people, on a notice they can see.
pub fn can_manage_notice(caller: &Caller, notice: &Notice) -> bool {
    manages_notices_of(caller, notice.developer_org_id)
}

/// Editing a notice after filing (model card, version, sharing): whoever may file for its developer, that is
/// the developer's own people, admins and members alike.
pub fn can_edit_notice(caller: &Caller, notice: &Notice) -> bool {
    can_file_notice(caller) && manages_notices_of(caller, notice.developer_org_id)
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

/// Where a caller stands towards a finding: the notice's developer, the finding's agency (its author, or an
/// admin of the agency), or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingSide {
    Developer,
    Agency,
    Neither,
}

/// The caller's side of a finding of `finding_org` by `author_id` on a notice of `developer_org_id`.
pub fn finding_side(
    caller: &Caller,
    developer_org_id: Uuid,
    finding_org: Uuid,
    author_id: Uuid,
) -> FindingSide {
    if manages_notices_of(caller, developer_org_id) {
        FindingSide::Developer
    } else if caller.is(OrgKind::Agency)
        && caller.org_id() == finding_org
        && (caller.user_id() == author_id || caller.is_admin())
    {
        FindingSide::Agency
    } else {
        FindingSide::Neither
    }
}

/// Why a move of a finding's status is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusRefusal {
    /// This side may not set that status at all (403).
    NotYours,
    /// That status cannot follow the current one (409).
    NotFromHere,
}

/// Who may move a finding's status where. The developer answers: it acknowledges, mitigates or disputes an
/// open, acknowledged or disputed finding (a mitigated or closed one waits for the agency). The finding's
/// agency judges: it closes any finding not closed, and reopens any finding not open. Nobody else moves it,
/// and no move stays where it is. The table of cases is in `policy/tests.rs`.
pub fn finding_transition(
    side: FindingSide,
    from: review::FindingStatus,
    to: review::FindingStatus,
) -> Result<(), StatusRefusal> {
    use review::FindingStatus::*;
    let answers = matches!(to, Acknowledged | Mitigated | Disputed);
    match side {
        FindingSide::Developer if answers => {
            if from != to && matches!(from, Open | Acknowledged | Disputed) {
                Ok(())
            } else {
                Err(StatusRefusal::NotFromHere)
            }
        }
        FindingSide::Agency if !answers => {
            if from != to {
                Ok(())
            } else {
                Err(StatusRefusal::NotFromHere)
            }
        }
        _ => Err(StatusRefusal::NotYours),
    }
}

/// Writing in a finding's response thread: the developer and the finding's agency.
pub fn can_respond_to_finding(side: FindingSide) -> bool {
    side != FindingSide::Neither
}

/// Reading a finding's response thread: the developer's people and the finding's agency's people (other
/// agencies the finding is shared with read the finding, not the conversation about it).
pub fn can_read_finding_responses(caller: &Caller, developer_org_id: Uuid, finding_org: Uuid) -> bool {
    manages_notices_of(caller, developer_org_id)
        || (caller.is(OrgKind::Agency) && caller.org_id() == finding_org)
}

/// Sharing a finding with further agencies after filing: its agency (the author or an admin).
pub fn can_share_finding(side: FindingSide) -> bool {
    side == FindingSide::Agency
}

/// Editing a finding: its author only.
pub fn can_edit_finding(caller: &Caller, author_id: Uuid) -> bool {
    caller.user_id() == author_id
}

/// Publishing a draft assessment: an admin of the agency that wrote it.
pub fn can_publish_assessment(caller: &Caller, assessment_org: Uuid) -> bool {
    caller.is(OrgKind::Agency) && caller.is_admin() && caller.org_id() == assessment_org
}

/// Which dashboard a person's home page is: the to-do list of their role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashboardKind {
    /// An agency's member: the notices they are assigned to.
    Evaluator,
    /// An agency's admin: notices no one of the agency evaluates yet, and windows closing soon.
    AgencyAdmin,
    /// A developer's people: new findings and assessments on its models.
    Developer,
    /// A program administrator: the program in counts, without anything a developer or agency wrote.
    Program,
    /// Everyone else (coordinators, vendors, operators): a pointer to their own pages.
    Other,
}

pub fn dashboard_of(caller: &Caller) -> DashboardKind {
    if caller.is(OrgKind::Agency) {
        if caller.is_admin() {
            DashboardKind::AgencyAdmin
        } else {
            DashboardKind::Evaluator
        }
    } else if caller.is(OrgKind::Developer) {
        DashboardKind::Developer
    } else if super::is_program_admin(caller) {
        DashboardKind::Program
    } else {
        DashboardKind::Other
    }
}

/// Reading the program's counts (notices by state, windows, activity): the program administrator alone.
pub fn can_read_program_counts(caller: &Caller) -> bool {
    dashboard_of(caller) == DashboardKind::Program
}
