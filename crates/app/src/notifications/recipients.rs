//! Who is told of what: the notification policy. Each kind names the parties it goes to
//! (`KIND_PARTIES`); the parties are expanded into people, and each person is kept only if they may read the
//! object it is about — asked of the store with their own audience (`policy::audience`), the very query their
//! reads use — so nobody is told of a notice, finding or assessment they could not open. The person who acted
//! is never told of their own action.
//!
//! The same expansion gives the organisations whose admins may see the object: the organisations a webhook
//! delivery of the event would go to (`Addressed::orgs`, the hook point for `webhooks::fan_out`).

mod events;
mod reminders;

pub use events::{days_text, kind_of_event, of_event};
pub use reminders::{reminder_due, reminder_id};

use super::NotificationKind;
use crate::{App, AppResult, Caller, policy};
use accounts::{OrgKind, Role};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use store::{Audience, AuditEvent, Notice, Page, User};
use uuid::Uuid;

/// A group of people a kind of notification goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The admins of every agency the notice is shared with (they assign its evaluators).
    AgencyAdmins,
    /// The evaluators assigned to the notice.
    AssignedEvaluators,
    /// The admins of the notice's developer organisation.
    DeveloperAdmins,
    /// The person who filed the notice.
    Filer,
    /// The one person the notification is about (the evaluator assigned, the token's holder).
    Subject,
    /// The evaluators whose access to a notice an edit ended (named by the edit's event).
    AccessEnded,
    /// The admins of the organisation the notification is about (a failing webhook's).
    SubjectOrgAdmins,
    /// The people who filed the reports the notification is about, and their organisations' admins.
    Reporters,
    /// The people of a case's notified participant organisations.
    CaseParticipants,
    /// The people of the subscriber organisations an advisory was fanned out to (named by the fan-out).
    Subscribers,
    /// The people of the vendor organisations a case's move to "vendors notified" names.
    NotifiedVendors,
}

/// The parties of each kind. A finding or assessment goes to everyone on the developer's side and to the
/// agencies' admins and evaluators, and each is then kept only if they may read it (so an agency it was not
/// shared with hears nothing). Program administrators read no notice, so they are told of none.
pub const KIND_PARTIES: &[(NotificationKind, &[Party])] = &[
    (NotificationKind::NoticeShared, &[Party::AgencyAdmins]),
    (NotificationKind::AccessEnded, &[Party::AccessEnded]),
    (NotificationKind::Assigned, &[Party::Subject]),
    (NotificationKind::Unassigned, &[Party::Subject]),
    (
        NotificationKind::FindingCreated,
        &[
            Party::DeveloperAdmins,
            Party::Filer,
            Party::AgencyAdmins,
            Party::AssignedEvaluators,
        ],
    ),
    (
        NotificationKind::AssessmentCreated,
        &[
            Party::DeveloperAdmins,
            Party::Filer,
            Party::AgencyAdmins,
            Party::AssignedEvaluators,
        ],
    ),
    // A finding's status and its responses go to the other side only: the developer's people when its agency
    // acted, the finding's agency when the developer did (kept by `About::FindingThread`).
    (
        NotificationKind::FindingStatusChanged,
        &[
            Party::DeveloperAdmins,
            Party::Filer,
            Party::AgencyAdmins,
            Party::AssignedEvaluators,
        ],
    ),
    (
        NotificationKind::FindingResponded,
        &[
            Party::DeveloperAdmins,
            Party::Filer,
            Party::AgencyAdmins,
            Party::AssignedEvaluators,
        ],
    ),
    (
        NotificationKind::LaunchMoved,
        &[Party::AgencyAdmins, Party::AssignedEvaluators],
    ),
    (
        NotificationKind::NoticeLaunched,
        &[Party::AgencyAdmins, Party::AssignedEvaluators],
    ),
    (
        NotificationKind::NoticeWithdrawn,
        &[Party::AgencyAdmins, Party::AssignedEvaluators],
    ),
    (NotificationKind::WindowOpening, &[Party::AgencyAdmins]),
    (
        NotificationKind::WindowClosing,
        &[Party::AgencyAdmins, Party::AssignedEvaluators],
    ),
    (NotificationKind::TokenExpiring, &[Party::Subject]),
    (NotificationKind::WebhookFailing, &[Party::SubjectOrgAdmins]),
    // Each finder whose report joined or was merged into a case, and their organisation's admins, if they
    // may read that report (TLP).
    (NotificationKind::ReportDuplicate, &[Party::Reporters]),
    (NotificationKind::CaseEmbargoEnding, &[Party::CaseParticipants]),
    (NotificationKind::AdvisoryPublished, &[Party::Subscribers]),
    (NotificationKind::CaseVendorsNotified, &[Party::NotifiedVendors]),
];

/// The parties a kind goes to.
pub fn parties(kind: NotificationKind) -> &'static [Party] {
    KIND_PARTIES
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, parties)| *parties)
        .unwrap_or(&[])
}

/// What a notification is about, as far as deciding who may know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    Notice(Uuid),
    /// A notice the people named here may no longer read: they are told because the edit that ended their
    /// access names them, not because they may read it.
    AccessEnded {
        notice: Uuid,
        people: Vec<Uuid>,
    },
    Finding {
        id: Uuid,
        notice: Uuid,
    },
    Assessment {
        id: Uuid,
        notice: Uuid,
    },
    /// A finding's status or thread: read by those who may read the finding, on the side that did not act
    /// (the notice's developer or the finding's agency, whichever `actor_org` is not).
    FindingThread {
        id: Uuid,
        notice: Uuid,
        developer: Uuid,
        agency: Uuid,
        actor_org: Option<Uuid>,
    },
    /// An organisation's own matter (a webhook endpoint of it).
    Organization(Uuid),
    /// Clearinghouse reports: each reader is told only of those they may read (TLP).
    Reports(Vec<Uuid>),
    /// A clearinghouse case (read under its TLP marking and embargo).
    Case(Uuid),
    /// A published advisory, and the subscriber organisations its fan-out names.
    Advisory {
        id: Uuid,
        recipients: Vec<Uuid>,
    },
    /// A case, and the vendor organisations a move notified of it.
    CaseVendors {
        id: Uuid,
        vendors: Vec<Uuid>,
    },
}

/// One notification to make: its kind, words and link, and whom it reaches.
#[derive(Debug, Clone)]
pub struct Addressed {
    pub kind: NotificationKind,
    pub title: String,
    pub link: String,
    pub about: About,
    /// The one person it is about (`Party::Subject`), if any.
    pub subject: Option<Uuid>,
    /// Who acted: never told of their own action.
    pub actor: Option<Uuid>,
}

/// The people told, and the organisations whose admins may see it (the webhook hook point).
#[derive(Debug, Clone, Default)]
pub struct Recipients {
    pub people: Vec<User>,
    pub orgs: Vec<Uuid>,
}

/// The people a notification reaches and the organisations whose admins may see it.
pub async fn recipients(app: &App, addressed: &Addressed) -> AppResult<Recipients> {
    let notice = match &addressed.about {
        About::Notice(id)
        | About::Finding { notice: id, .. }
        | About::Assessment { notice: id, .. }
        | About::FindingThread { notice: id, .. } => app.store.get_notice(*id).await?,
        About::AccessEnded { .. }
        | About::Organization(_)
        | About::Reports(_)
        | About::Case(_)
        | About::Advisory { .. }
        | About::CaseVendors { .. } => None,
    };
    let mut candidates: Vec<User> = Vec::new();
    let mut orgs: BTreeSet<Uuid> = BTreeSet::new();
    for party in parties(addressed.kind) {
        match (party, &notice) {
            (Party::AgencyAdmins, Some(n)) => {
                for org in agencies_of(app, n).await? {
                    orgs.insert(org);
                    candidates.extend(admins_of(app, org).await?);
                }
            }
            (Party::AssignedEvaluators, Some(n)) => {
                for a in app.store.list_assignments(n.id).await? {
                    orgs.insert(a.org_id);
                    if let Some(user) = app.store.get_user(a.user_id).await? {
                        candidates.push(user);
                    }
                }
            }
            (Party::DeveloperAdmins, Some(n)) => {
                orgs.insert(n.developer_org_id);
                candidates.extend(admins_of(app, n.developer_org_id).await?);
            }
            (Party::Filer, Some(n)) => {
                if let Some(user) = match n.filed_by {
                    Some(id) => app.store.get_user(id).await?,
                    None => None,
                } {
                    orgs.insert(user.org_id);
                    candidates.push(user);
                }
            }
            (Party::Subject, _) => {
                if let Some(user) = match addressed.subject {
                    Some(id) => app.store.get_user(id).await?,
                    None => None,
                } {
                    orgs.insert(user.org_id);
                    candidates.push(user);
                }
            }
            (Party::AccessEnded, _) => {
                if let About::AccessEnded { people, .. } = &addressed.about {
                    for id in people {
                        if let Some(user) = app.store.get_user(*id).await? {
                            candidates.push(user);
                        }
                    }
                }
            }
            (Party::SubjectOrgAdmins, _) => {
                if let About::Organization(org) = addressed.about {
                    orgs.insert(org);
                    candidates.extend(admins_of(app, org).await?);
                }
            }
            (Party::Reporters, _) => {
                if let About::Reports(ids) = &addressed.about {
                    for owner in app.store.report_owners(ids).await? {
                        orgs.insert(owner.org_id);
                        if let Some(user) = app.store.get_user(owner.reporter_id).await? {
                            candidates.push(user);
                        }
                        candidates.extend(admins_of(app, owner.org_id).await?);
                    }
                }
            }
            (Party::CaseParticipants, _) => {
                if let About::Case(id) = addressed.about {
                    for p in app.store.case_participants(id).await? {
                        if p.notified_at.is_some() {
                            orgs.insert(p.org_id);
                            candidates.extend(people_of(app, p.org_id).await?);
                        }
                    }
                }
            }
            (Party::NotifiedVendors, _) => {
                if let About::CaseVendors { vendors, .. } = &addressed.about {
                    for org in vendors {
                        orgs.insert(*org);
                        candidates.extend(people_of(app, *org).await?);
                    }
                }
            }
            (Party::Subscribers, _) => {
                if let About::Advisory { recipients, .. } = &addressed.about {
                    for org in recipients {
                        orgs.insert(*org);
                        candidates.extend(people_of(app, *org).await?);
                    }
                }
            }
            (_, None) => {}
        }
    }
    let mut seen = BTreeSet::new();
    let mut people = Vec::new();
    for user in candidates {
        if Some(user.id) == addressed.actor || !user.active || !seen.insert(user.id) {
            continue;
        }
        let Some(caller) = caller_of(app, user.clone()).await? else {
            continue;
        };
        let readable = match &addressed.about {
            About::Reports(ids) => !app
                .store
                .readable_report_ids(ids, &policy::tlp_audience(Some(&caller)))
                .await?
                .is_empty(),
            About::AccessEnded { people, .. } => people.contains(&user.id),
            about => may_read(app, &policy::audience(&caller), about).await?,
        };
        if readable {
            people.push(user);
        }
    }
    let mut visible_orgs = Vec::new();
    for org_id in orgs {
        let Some(org) = app.store.get_org(org_id).await? else {
            continue;
        };
        if !org.active {
            continue;
        }
        let admin = Audience {
            user_id: Uuid::nil(),
            org_id,
            org_admin: true,
            program_admin: false,
            coordinator: org.kind == OrgKind::Clearinghouse,
            developer_org: (org.kind == OrgKind::Developer).then_some(org_id),
            agency_org: (org.kind == OrgKind::Agency).then_some(org_id),
        };
        if may_read(app, &admin, &addressed.about).await? {
            visible_orgs.push(org_id);
        }
    }
    Ok(Recipients {
        people,
        orgs: visible_orgs,
    })
}

/// Whether the audience may read what the notification is about: the reads' own queries decide.
async fn may_read(app: &App, audience: &Audience, about: &About) -> AppResult<bool> {
    Ok(match about {
        About::Notice(id) => app.store.visible_notice(*id, audience).await?.is_some(),
        // Organisations no longer read the notice: no webhook delivery.
        About::AccessEnded { .. } => false,
        About::Finding { id, .. } => app.store.visible_finding(*id, audience).await?.is_some(),
        About::Assessment { id, .. } => app.store.visible_assessment(*id, audience).await?.is_some(),
        About::FindingThread {
            id,
            developer,
            agency,
            actor_org,
            ..
        } => {
            let other_side = (audience.org_id == *developer || audience.org_id == *agency)
                && Some(audience.org_id) != *actor_org;
            other_side && app.store.visible_finding(*id, audience).await?.is_some()
        }
        About::Organization(org) => audience.org_id == *org && audience.org_admin,
        // An organisation's admins read their own people's reports unless RED.
        About::Reports(ids) => !app
            .store
            .readable_report_ids(
                ids,
                &store::TlpAudience {
                    signed_in: true,
                    user_id: Uuid::nil(),
                    org_id: audience.org_id,
                    coordinator: false,
                },
            )
            .await?
            .is_empty(),
        About::Case(id) | About::CaseVendors { id, .. } => app
            .store
            .visible_case(*id, &tlp_reader(audience))
            .await?
            .is_some(),
        About::Advisory { id, .. } => app
            .store
            .visible_advisory(*id, &tlp_reader(audience))
            .await?
            .is_some(),
    })
}

/// The reader of clearinghouse objects an audience is (always signed in: it names a person or organisation).
fn tlp_reader(audience: &Audience) -> store::TlpAudience {
    store::TlpAudience {
        signed_in: true,
        user_id: audience.user_id,
        org_id: audience.org_id,
        coordinator: audience.coordinator,
    }
}

/// The person as a caller, if they and their organisation are active.
async fn caller_of(app: &App, user: User) -> AppResult<Option<Caller>> {
    let Some(org) = app.store.get_org(user.org_id).await? else {
        return Ok(None);
    };
    Ok(Caller::from_rows(user, org))
}

/// Every person of an organisation, page by page.
async fn people_of(app: &App, org: Uuid) -> AppResult<Vec<User>> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = app
            .store
            .list_users(Some(org), &Page { after, limit: 500 })
            .await?;
        let full = page.len() == 500;
        after = page.last().map(|u| u.id);
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

async fn admins_of(app: &App, org: Uuid) -> AppResult<Vec<User>> {
    Ok(people_of(app, org)
        .await?
        .into_iter()
        .filter(|u| u.active && u.role == Role::Admin)
        .collect())
}

/// The agencies a notice is shared with: by name, or every active agency.
async fn agencies_of(app: &App, notice: &Notice) -> AppResult<Vec<Uuid>> {
    if !notice.shared_with_all {
        return Ok(app.store.notice_shares(notice.id).await?);
    }
    let mut agencies = Vec::new();
    let mut after = None;
    loop {
        let page = app.store.list_orgs(&Page { after, limit: 500 }).await?;
        let full = page.len() == 500;
        after = page.last().map(|o| o.id);
        agencies.extend(
            page.into_iter()
                .filter(|o| o.active && o.kind == OrgKind::Agency)
                .map(|o| o.id),
        );
        if !full {
            return Ok(agencies);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_parties_and_events_map_to_kinds() {
        for kind in NotificationKind::ALL {
            assert!(
                KIND_PARTIES.iter().filter(|(k, _)| *k == kind).count() == 1,
                "{kind:?} has one entry"
            );
            assert!(!parties(kind).is_empty(), "{kind:?} goes to someone");
        }
        let cases = [
            ("notice.file", Some(NotificationKind::NoticeShared)),
            ("notice.moved", Some(NotificationKind::LaunchMoved)),
            ("notice.launched", Some(NotificationKind::NoticeLaunched)),
            ("notice.withdrawn", Some(NotificationKind::NoticeWithdrawn)),
            ("assignment.create", Some(NotificationKind::Assigned)),
            ("assignment.delete", Some(NotificationKind::Unassigned)),
            ("finding.file", Some(NotificationKind::FindingCreated)),
            ("assessment.publish", Some(NotificationKind::AssessmentCreated)),
            ("connection.create", None),
            ("session.login", None),
            ("policy.window_days", None),
        ];
        for (action, kind) in cases {
            assert_eq!(kind_of_event(action), kind, "{action}");
        }
    }

    #[test]
    fn every_kind_is_emitted_by_some_event_or_reminder() {
        // The reminders the `reminders` job makes; every other kind must come from an event the code writes.
        let reminded = [
            NotificationKind::WindowOpening,
            NotificationKind::WindowClosing,
            NotificationKind::TokenExpiring,
            NotificationKind::CaseEmbargoEnding,
        ];
        let emitted: BTreeSet<NotificationKind> = crate::policy::EVENT_KINDS
            .iter()
            .filter_map(|(action, _)| kind_of_event(action))
            .chain(reminded)
            .collect();
        let all: BTreeSet<NotificationKind> = NotificationKind::ALL.into_iter().collect();
        assert_eq!(emitted, all, "a kind nothing emits is a dead kind");
    }

    #[test]
    fn each_reminder_is_sent_once_at_the_smallest_fitting_day() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let day = chrono::Duration::days(1);
        let reminders = [7, 1];
        let cases = [
            (day * 10, None),
            (day * 7 + chrono::Duration::seconds(1), None),
            (day * 7, Some(7)),
            (day * 3, Some(7)),
            (day, Some(1)),
            (chrono::Duration::hours(2), Some(1)),
            (chrono::Duration::zero(), None),
            (-day, None),
        ];
        for (until, due) in cases {
            assert_eq!(reminder_due(now + until, now, &reminders), due, "{until}");
        }
        let a = Uuid::now_v7();
        assert_eq!(
            reminder_id(a, NotificationKind::WindowClosing, 7),
            reminder_id(a, NotificationKind::WindowClosing, 7)
        );
        assert_ne!(
            reminder_id(a, NotificationKind::WindowClosing, 7),
            reminder_id(a, NotificationKind::WindowClosing, 1)
        );
        assert_ne!(
            reminder_id(a, NotificationKind::WindowClosing, 7),
            reminder_id(a, NotificationKind::WindowOpening, 7)
        );
    }
}
