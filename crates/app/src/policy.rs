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
//! the table `EVENT_KINDS` below.

use crate::caller::Caller;
use accounts::{OrgKind, Role};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use gateway::GatewayError;
use review::NoticeState;
use store::{Audience, EventReaders, GatewayCall, GatewayToken, Notice};
use uuid::Uuid;

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
        developer_org: caller.is(OrgKind::Developer).then_some(org),
        agency_org: caller.is(OrgKind::Agency).then_some(org),
    }
}

/// Whether the caller receives notices at all (a developer or an agency), for pages that offer notice lists.
pub fn receives_notices(caller: &Caller) -> bool {
    let audience = audience(caller);
    audience.developer_org.is_some() || audience.agency_org.is_some()
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

/// A program administrator: an admin of the clearinghouse.
pub fn is_program_admin(caller: &Caller) -> bool {
    caller.is(OrgKind::Clearinghouse) && caller.role == Role::Admin
}

/// Creating organisations, deactivating them, setting program policy, reading the whole audit trail.
pub fn can_administer_program(caller: &Caller) -> bool {
    is_program_admin(caller)
}

/// Seeing the job queue and retrying failed jobs.
pub fn can_administer_jobs(caller: &Caller) -> bool {
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

// Webhooks.

/// Registering, seeing and changing an organisation's webhook endpoints and their delivery logs: its admins.
pub fn can_manage_webhooks(caller: &Caller, org_id: Uuid) -> bool {
    caller.is_admin() && caller.org_id() == org_id
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

// The audit trail and the ledger.

/// Who may see each kind of event, beside the person who acted and the admins of their organisation. An
/// event is visible only to those who may see every fact in it (its object, its actor, its details); others
/// get "not found", as for an event that does not exist. A kind missing here is seen by no one, so a new
/// kind stays hidden until it is given its readers. `EventReaders` says what each entry means.
pub const EVENT_KINDS: &[(&str, EventReaders)] = &[
    // Review program.
    ("notice.file", EventReaders::NoticeFiling),
    ("notice.moved", EventReaders::NoticeReaders),
    ("notice.launched", EventReaders::NoticeReaders),
    ("notice.withdrawn", EventReaders::NoticeReaders),
    ("assignment.create", EventReaders::Assignment),
    ("assignment.delete", EventReaders::Assignment),
    ("finding.file", EventReaders::AgencyWork),
    ("assessment.publish", EventReaders::AgencyWork),
    // Model access gateway.
    ("connection.create", EventReaders::Connection),
    ("connection.update", EventReaders::Connection),
    ("connection.delete", EventReaders::Connection),
    ("gateway_token.create", EventReaders::GatewayToken),
    ("gateway_token.revoke", EventReaders::GatewayToken),
    // People and organisations.
    ("organization.create", EventReaders::Organization),
    ("organization.activate", EventReaders::Organization),
    ("organization.deactivate", EventReaders::Organization),
    ("invitation.create", EventReaders::Organization),
    ("invitation.accept", EventReaders::Person),
    ("user.create", EventReaders::Person),
    ("user.activate", EventReaders::Person),
    ("user.deactivate", EventReaders::Person),
    ("session.login", EventReaders::Person),
    ("session.logout", EventReaders::Person),
    ("token.create", EventReaders::ApiTokenHolder),
    ("token.revoke", EventReaders::ApiTokenHolder),
    // Webhooks: the acting admin and their organisation's admins (as every event), and program
    // administrators; an endpoint disabled for failing is about its organisation, whose admins are told.
    ("webhook.create", EventReaders::ProgramAdmins),
    ("webhook.update", EventReaders::ProgramAdmins),
    ("webhook.delete", EventReaders::ProgramAdmins),
    ("webhook.auto_disable", EventReaders::Organization),
    // The program and the service.
    ("policy.window_days", EventReaders::ProgramAdmins),
    ("policy.launch_horizon_days", EventReaders::ProgramAdmins),
    ("policy.reminder_days", EventReaders::ProgramAdmins),
    ("master_key.register", EventReaders::ProgramAdmins),
    ("master_key.rotate", EventReaders::ProgramAdmins),
    ("ledger.key", EventReaders::Everyone),
    ("job.retry", EventReaders::ProgramAdmins),
];

/// The readers of a kind of event; `None` for a kind no one may see.
pub fn event_readers(action: &str) -> Option<EventReaders> {
    EVENT_KINDS
        .iter()
        .find(|(kind, _)| *kind == action)
        .map(|(_, readers)| *readers)
}

/// Listing the whole audit trail: program administrators. Anyone may list the events of one object, which
/// then holds those they may see.
pub fn can_list_whole_trail(caller: &Caller) -> bool {
    is_program_admin(caller)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The operations' sources: every event kind they write is a string literal in one of them.
    const SOURCES: &[(&str, &str)] = &[
        ("audit.rs", include_str!("audit.rs")),
        ("auth.rs", include_str!("auth.rs")),
        ("gateway.rs", include_str!("gateway.rs")),
        ("gateway/call.rs", include_str!("gateway/call.rs")),
        ("gateway/connections.rs", include_str!("gateway/connections.rs")),
        ("gateway/grants.rs", include_str!("gateway/grants.rs")),
        ("gateway/keys.rs", include_str!("gateway/keys.rs")),
        ("gateway/limits.rs", include_str!("gateway/limits.rs")),
        ("gateway/metering.rs", include_str!("gateway/metering.rs")),
        ("gateway/stream.rs", include_str!("gateway/stream.rs")),
        ("gateway/tokens.rs", include_str!("gateway/tokens.rs")),
        ("gateway/usage.rs", include_str!("gateway/usage.rs")),
        ("jobs/admin.rs", include_str!("jobs/admin.rs")),
        ("identity.rs", include_str!("identity.rs")),
        ("journal.rs", include_str!("journal.rs")),
        ("ledger.rs", include_str!("ledger.rs")),
        ("lib.rs", include_str!("lib.rs")),
        ("notifications/outbox.rs", include_str!("notifications/outbox.rs")),
        ("program.rs", include_str!("program.rs")),
        ("provision.rs", include_str!("provision.rs")),
        ("webhooks/mod.rs", include_str!("webhooks/mod.rs")),
    ];

    /// String literals of the sources that look like event kinds of a known family (`notice.…`).
    fn kinds_in_sources() -> BTreeSet<String> {
        let families: BTreeSet<&str> = EVENT_KINDS
            .iter()
            .filter_map(|(kind, _)| kind.split_once('.').map(|(family, _)| family))
            .collect();
        let mut found = BTreeSet::new();
        for (_, source) in SOURCES {
            for literal in source.split('"').skip(1).step_by(2) {
                let well_formed = literal
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.');
                if let Some((family, _)) = literal.split_once('.')
                    && well_formed
                    && families.contains(family)
                {
                    found.insert(literal.to_owned());
                }
            }
        }
        found
    }

    #[test]
    fn every_kind_of_event_written_has_its_readers_and_no_other_is_listed() {
        let listed: Vec<&str> = EVENT_KINDS.iter().map(|(kind, _)| *kind).collect();
        let unique: BTreeSet<&str> = listed.iter().copied().collect();
        assert_eq!(unique.len(), listed.len(), "a kind is listed twice");
        let written = kinds_in_sources();
        for kind in &written {
            assert!(
                event_readers(kind).is_some(),
                "{kind} is written but has no readers"
            );
        }
        for kind in &listed {
            assert!(written.contains(*kind), "{kind} is listed but never written");
        }
        assert_eq!(
            event_readers("notice.forged"),
            None,
            "an unknown kind is seen by no one"
        );
    }

    #[test]
    fn events_naming_other_agencies_or_the_upstream_go_only_to_those_who_may_know() {
        use EventReaders::*;
        // (kind, readers): the decisions the authorisation matrix tests, stated once more here so that a
        // change to the table is a change to this test too.
        let cases = [
            // The filing lists every agency the notice is shared with.
            ("notice.file", NoticeFiling),
            // Date changes say nothing a reader of the notice does not see in its history.
            ("notice.moved", NoticeReaders),
            ("notice.launched", NoticeReaders),
            ("notice.withdrawn", NoticeReaders),
            // An assignment names an agency's evaluator (id and e-mail address).
            ("assignment.create", Assignment),
            ("assignment.delete", Assignment),
            // Findings and assessments list the agencies they are shared with.
            ("finding.file", AgencyWork),
            ("assessment.publish", AgencyWork),
            // Connection settings are the developer's.
            ("connection.create", Connection),
            ("connection.update", Connection),
            ("connection.delete", Connection),
            ("gateway_token.create", GatewayToken),
            ("gateway_token.revoke", GatewayToken),
            ("organization.create", Organization),
            ("organization.activate", Organization),
            ("organization.deactivate", Organization),
            ("invitation.create", Organization),
            ("invitation.accept", Person),
            ("user.create", Person),
            ("user.activate", Person),
            ("user.deactivate", Person),
            ("session.login", Person),
            ("session.logout", Person),
            ("token.create", ApiTokenHolder),
            ("token.revoke", ApiTokenHolder),
            // Webhook URLs are their organisation's (events carry only the host).
            ("webhook.create", ProgramAdmins),
            ("webhook.update", ProgramAdmins),
            ("webhook.delete", ProgramAdmins),
            // The disabling is the service's act about the organisation: its admins are told.
            ("webhook.auto_disable", Organization),
            ("policy.window_days", ProgramAdmins),
            ("policy.launch_horizon_days", ProgramAdmins),
            ("policy.reminder_days", ProgramAdmins),
            ("master_key.register", ProgramAdmins),
            ("master_key.rotate", ProgramAdmins),
            // The verifier key is public at /ledger/key.
            ("ledger.key", Everyone),
            ("job.retry", ProgramAdmins),
        ];
        assert_eq!(cases.len(), EVENT_KINDS.len(), "every kind has a case");
        for (kind, readers) in cases {
            assert_eq!(event_readers(kind), Some(readers), "{kind}");
        }
        // No event that names agencies, people of an agency or the upstream is open to every reader of the
        // notice.
        for (kind, readers) in EVENT_KINDS {
            if readers == &NoticeReaders {
                assert!(kind.starts_with("notice."), "{kind}");
            }
        }
    }
}
