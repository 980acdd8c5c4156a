//! Who may see and do what. Every read and write path asks here; no handler decides on its own.
//!
//! Need-to-know: a developer sees its own notices; an agency sees the notices shared with it (by name, or with
//! every agency); other kinds see none. Findings and assessments are always visible to the notice's developer
//! and to the agency that wrote them, and to other agencies only when shared with them. An object a caller may
//! not see is answered as not found, so its existence does not leak.

use crate::caller::Caller;
use accounts::{OrgKind, Role};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use gateway::GatewayError;
use review::NoticeState;
use store::{GatewayCall, GatewayToken, Notice, NoticeScope};
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

// The model access gateway.

/// Managing a notice's model connections, and seeing their settings: the developer's own people. Nobody else
/// sees them: the upstream's address and model id are the developer's to know.
pub fn can_manage_connections(caller: &Caller, notice: &Notice) -> bool {
    can_manage_notice(caller, notice)
}

/// Issuing a gateway token: an evaluator assigned to the notice, for themselves.
pub fn can_issue_gateway_token(caller: &Caller, is_assigned: bool) -> bool {
    caller.is(OrgKind::Agency) && is_assigned
}

/// Whose gateway tokens, calls and usage of a notice a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayScope {
    /// The developer: every token, and usage in aggregate only (not who made the calls).
    Developer,
    /// An agency admin: their agency's evaluators.
    Agency(Uuid),
    /// An evaluator: their own.
    Own { org_id: Uuid, user_id: Uuid },
}

impl GatewayScope {
    /// The (organisation, person) filter the store applies.
    pub fn filter(self) -> (Option<Uuid>, Option<Uuid>) {
        match self {
            GatewayScope::Developer => (None, None),
            GatewayScope::Agency(org_id) => (Some(org_id), None),
            GatewayScope::Own { org_id, user_id } => (Some(org_id), Some(user_id)),
        }
    }
}

/// The gateway scope of a caller who can see the notice; `None` for those with no part in it.
pub fn gateway_scope(caller: &Caller, notice: &Notice) -> Option<GatewayScope> {
    match caller.kind {
        OrgKind::Developer if can_manage_notice(caller, notice) => Some(GatewayScope::Developer),
        OrgKind::Agency if caller.is_admin() => Some(GatewayScope::Agency(caller.org_id())),
        OrgKind::Agency => Some(GatewayScope::Own {
            org_id: caller.org_id(),
            user_id: caller.user_id(),
        }),
        _ => None,
    }
}

/// Listing individual calls: the evaluating agency (admins all of theirs, evaluators their own); the developer
/// sees usage in aggregate only.
pub fn can_list_gateway_calls(scope: GatewayScope) -> bool {
    !matches!(scope, GatewayScope::Developer)
}

/// Revoking a gateway token: its holder, or an admin of the holder's agency.
pub fn can_revoke_gateway_token(caller: &Caller, token: &GatewayToken) -> bool {
    may_revoke_gateway_tokens_of(caller, token.org_id, token.user_id)
}

/// The same rule, for a token known by its holder (as pages hold it).
pub fn may_revoke_gateway_tokens_of(caller: &Caller, holder_org: Uuid, holder: Uuid) -> bool {
    caller.is(OrgKind::Agency)
        && caller.org_id() == holder_org
        && (caller.user_id() == holder || caller.is_admin())
}

/// Reading a retained transcript: the evaluating agency (the caller, and admins of their agency).
pub fn can_read_transcript(caller: &Caller, call: &GatewayCall) -> bool {
    caller.is(OrgKind::Agency)
        && caller.org_id() == call.org_id
        && (caller.user_id() == call.user_id || caller.is_admin())
}

/// What decides whether a gateway token reaches its notice's model.
#[derive(Debug, Clone)]
pub struct GatewayGrant<'a> {
    pub token: &'a GatewayToken,
    /// The holder and their organisation are both active.
    pub holder_active: bool,
    /// The notice's developer organisation is active.
    pub developer_active: bool,
    /// The holder is still assigned to the notice.
    pub assigned: bool,
    pub notice: &'a Notice,
}

/// Whether a gateway token reaches its notice's model at `now`, through a connection allowing
/// `post_launch_days` of access after launch. Refusals speak only of this token and this notice.
pub fn gateway_access(
    grant: &GatewayGrant<'_>,
    post_launch_days: u32,
    now: DateTime<Utc>,
) -> Result<(), GatewayError> {
    let time = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
    if grant.token.revoked_at.is_some() {
        return Err(GatewayError::token_revoked());
    }
    if grant.token.expires_at.is_some_and(|at| at <= now) {
        return Err(GatewayError::token_expired());
    }
    if !grant.holder_active {
        return Err(GatewayError::account_inactive());
    }
    if !grant.developer_active {
        return Err(GatewayError::developer_inactive());
    }
    if !grant.assigned {
        return Err(GatewayError::not_assigned());
    }
    let dates = crate::program::dates_of(grant.notice);
    let window = dates.window();
    match dates.state(now) {
        NoticeState::InReview => Ok(()),
        NoticeState::Scheduled => Err(GatewayError::window_not_open(&time(window.opens_at))),
        NoticeState::Withdrawn => Err(GatewayError::withdrawn()),
        NoticeState::Launched => {
            let launched_at = window.closes_at;
            let until = launched_at + Duration::days(i64::from(post_launch_days));
            if now < until {
                Ok(())
            } else if post_launch_days == 0 {
                Err(GatewayError::closed_at_launch(&time(launched_at)))
            } else {
                Err(GatewayError::post_launch_ended(&time(until)))
            }
        }
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
