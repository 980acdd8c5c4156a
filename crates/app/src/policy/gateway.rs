//! Who may use and manage the model access gateway of a notice, and whether a gateway token reaches its model.

use super::can_manage_notice;
use crate::caller::Caller;
use accounts::OrgKind;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use gateway::GatewayError;
use review::NoticeState;
use store::{GatewayCall, GatewayToken, Notice};
use uuid::Uuid;

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
