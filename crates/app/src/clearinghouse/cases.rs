//! Cases: opened by hand by a coordinator (intake opens the others), read under TLP, listed, moved through
//! their states, and their participants added and removed.
//!
//! Triage matches the vendors whose policies name a product prefix of an affected product, and sets the
//! embargo (`clearinghouse::case::default_embargo`), scheduling the publication job. Moving to vendors
//! notified tells each vendor participant, except one whose policy requires a tested reproducer while no
//! report of the case has one: it stays un-notified and the answer names it.

use super::advisories::publish_job;
use super::{invalid, sector};
use crate::page::{PageRequest, Paged, paginate};
use crate::{App, AppError, AppResult, Caller, policy};
use accounts::OrgKind;
use chrono::{DateTime, Utc};
use clearinghouse::case::{self, CaseState, ParticipantRole};
use clearinghouse::product::ProductId;
use clearinghouse::tlp::Tlp;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use store::{
    CaseQuery, CaseReportRow, CaseRow, CaseUpdate, EmbargoChange, Json, NewParticipant, ParticipantRow,
    ReportScope, VendorPolicy,
};
use uuid::Uuid;

/// The longest case summary, in bytes.
pub const MAX_SUMMARY: usize = 20_000;
/// The most sectors a case names, and vendors a case is opened with.
pub const MAX_SECTORS: usize = 20;
pub const MAX_VENDORS: usize = 50;

/// A case opened by hand.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub title: String,
    pub summary: String,
    pub tlp: String,
    pub sectors: Vec<String>,
    pub vendors: Vec<Uuid>,
}

/// A case in a list.
#[derive(Debug, Clone, Serialize)]
pub struct CaseSummary {
    pub id: Uuid,
    pub reference: String,
    pub title: String,
    pub state: CaseState,
    pub state_label: &'static str,
    pub tlp: Tlp,
    pub tlp_label: &'static str,
    pub embargo_ends_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    /// The case's CVE id, when a coordinator set one or an imported report brought it.
    pub cve: Option<String>,
}

impl From<&CaseRow> for CaseSummary {
    fn from(c: &CaseRow) -> Self {
        CaseSummary {
            id: c.id,
            reference: c.reference.clone(),
            title: c.title.clone(),
            state: c.state,
            state_label: c.state.label(),
            tlp: c.tlp,
            tlp_label: c.tlp.label(),
            embargo_ends_at: c.embargo_ends_at,
            published_at: c.published_at,
            version: c.version,
            created_at: c.created_at,
            modified_at: c.modified_at,
            cve: c.cve.clone(),
        }
    }
}

/// A participant, with what its disclosure policy says that the case's people must know.
#[derive(Debug, Clone, Serialize)]
pub struct ParticipantView {
    pub org_id: Uuid,
    pub name: String,
    pub kind: OrgKind,
    pub role: ParticipantRole,
    pub role_label: &'static str,
    pub added_at: DateTime<Utc>,
    pub notified_at: Option<DateTime<Utc>>,
    /// A vendor's policy treats AI-found reports as public (and some report of the case was found by AI).
    pub ai_found_public: bool,
    /// A vendor's policy requires a tested reproducer before it is notified, and no report has one yet.
    pub awaiting_reproducer: bool,
    /// Those two facts in words, for the case page.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VendorStatusView {
    pub org_id: Uuid,
    pub name: String,
    pub report_id: Uuid,
    pub status: case::VendorStatus,
    pub status_label: &'static str,
    pub statement: String,
    pub updated_at: DateTime<Utc>,
}

/// A finder to credit: the finder of each report the reader may read, and whether their report repeated
/// another.
#[derive(Debug, Clone, Serialize)]
pub struct Credit {
    pub report_id: Uuid,
    pub name: String,
    pub kind: String,
    pub ai_found: bool,
    pub duplicate: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub summary_text: String,
    pub sectors: Vec<String>,
    pub participants: Vec<ParticipantView>,
    /// The vendors' statuses on the reports the caller may read.
    pub vendor_statuses: Vec<VendorStatusView>,
    /// The finders of the reports the caller may read.
    pub credits: Vec<Credit>,
    /// The reports of the case the caller may read.
    pub reports: Vec<Uuid>,
}

/// A move's answer: the case, and the vendors left un-notified with the reason.
#[derive(Debug, Clone, Serialize)]
pub struct TransitionView {
    pub case: CaseView,
    pub not_notified: Vec<NotNotified>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotNotified {
    pub org_id: Uuid,
    pub name: String,
    pub reason: String,
}

/// The markings of the reports whose products select the vendors added at triage: all but RED, which is for
/// the people it names (who notify a vendor themselves).
const VENDOR_MATCHED: [Tlp; 4] = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict];

const AWAITING_REPRODUCER: &str =
    "its disclosure policy requires a tested reproducer, and no report of this case has one yet";
const AI_FOUND_PUBLIC: &str = "its disclosure policy treats AI-found reports as public";

impl App {
    /// Opens a case by hand (coordinators): the coordinator's organisation takes part at once, the vendors
    /// named are added and told when the case reaches vendors notified.
    pub async fn open_case(&self, caller: &Caller, input: NewCase) -> AppResult<CaseView> {
        if !policy::can_coordinate_cases(caller) {
            return Err(AppError::Forbidden("only coordinators open cases"));
        }
        let title = review::validate::title("title", &input.title)?;
        let summary = kernel::validate::text("summary", &input.summary, MAX_SUMMARY, true)?;
        let tlp = Tlp::parse(&input.tlp).map_err(|e| invalid("tlp", e.to_string()))?;
        if input.sectors.len() > MAX_SECTORS {
            return Err(invalid("sectors", format!("at most {MAX_SECTORS} sectors")));
        }
        let mut sectors = BTreeSet::new();
        for (i, s) in input.sectors.iter().enumerate() {
            sectors.insert(sector(&format!("sectors[{i}]"), s)?);
        }
        if input.vendors.len() > MAX_VENDORS {
            return Err(invalid("vendors", format!("at most {MAX_VENDORS} vendors")));
        }
        let now = self.clock.now();
        let mut participants = vec![NewParticipant {
            org_id: caller.org_id(),
            role: ParticipantRole::Coordinator,
            notified_at: Some(now),
        }];
        for (i, vendor) in input.vendors.iter().enumerate() {
            self.vendor_org(&format!("vendors[{i}]"), *vendor).await?;
            if participants.iter().all(|p| p.org_id != *vendor) {
                participants.push(NewParticipant {
                    org_id: *vendor,
                    role: ParticipantRole::Vendor,
                    notified_at: None,
                });
            }
        }
        let row = CaseRow {
            id: Uuid::now_v7(),
            reference: String::new(),
            title,
            summary,
            state: CaseState::New,
            tlp,
            duplicate_of: None,
            embargo_ends_at: None,
            published_at: None,
            sectors: Json(sectors.into_iter().collect()),
            created_by: caller.user_id(),
            created_at: now,
            modified_at: now,
            version: 1,
            cve: None,
        };
        let vendors: Vec<Uuid> = participants.iter().skip(1).map(|p| p.org_id).collect();
        let event = self.event(
            caller.into(),
            "case.open",
            "case",
            Some(row.id),
            json!({"title": row.title, "tlp": tlp.as_str(), "vendors": vendors}),
        );
        let stored = self.store.open_case(&row, &participants, &event).await?;
        self.case_view(caller, stored).await
    }

    /// An active vendor organisation named in `field`.
    async fn vendor_org(&self, field: &str, id: Uuid) -> AppResult<()> {
        match self.store.get_org(id).await? {
            Some(org) if org.active && org.kind == OrgKind::Vendor => Ok(()),
            Some(org) if org.active => Err(invalid(field, "is not a vendor organisation")),
            _ => Err(invalid(field, "no such organisation")),
        }
    }

    pub async fn get_case(&self, caller: &Caller, id: Uuid) -> AppResult<CaseView> {
        let case = self.readable_case(caller, id).await?;
        self.case_view(caller, case).await
    }

    /// The cases the caller may read, by id; `state` keeps one state, `mine` those the caller's organisation
    /// takes part in.
    pub async fn list_cases(
        &self,
        caller: &Caller,
        state: Option<&str>,
        mine: bool,
        page: &PageRequest,
    ) -> AppResult<Paged<CaseSummary>> {
        let state = state
            .map(CaseState::parse)
            .transpose()
            .map_err(|e| invalid("state", e.to_string()))?;
        let limit = page.limit()?;
        let after = page.after(|s| s.parse::<Uuid>().ok())?;
        let rows = self
            .store
            .list_cases(&CaseQuery {
                reader: policy::tlp_audience(Some(caller)),
                state,
                mine,
                after,
                limit: limit + 1,
            })
            .await?;
        Ok(paginate(
            rows,
            limit,
            |c| c.id.to_string(),
            |c| CaseSummary::from(&c),
        ))
    }

    /// The case as the caller reads it: its participants (with what their policies say), and of the reports
    /// the caller may read (each report's TLP rule, compiled into the store's reads) the list, the finders'
    /// credits and the vendors' statuses. Nothing of a report the caller may not read is in it.
    pub(crate) async fn case_view(&self, caller: &Caller, case: CaseRow) -> AppResult<CaseView> {
        let participants = self.store.case_participants(case.id).await?;
        let reader = policy::tlp_audience(Some(caller));
        let scope = ReportScope::Reader(&reader);
        let reports = self.store.case_reports(case.id, scope).await?;
        let notes = self.policy_notes(&case, &participants, &reports).await?;
        let statuses = self.store.case_vendor_statuses(case.id, scope).await?;
        Ok(CaseView {
            summary: CaseSummary::from(&case),
            summary_text: case.summary,
            sectors: case.sectors.0,
            participants: participants
                .into_iter()
                .map(|p| {
                    let (ai_found_public, awaiting_reproducer) =
                        notes.get(&p.org_id).copied().unwrap_or((false, false));
                    let mut words = Vec::new();
                    if ai_found_public {
                        words.push(format!("{}: {AI_FOUND_PUBLIC}", p.org_name));
                    }
                    if awaiting_reproducer {
                        words.push(format!("{}: {AWAITING_REPRODUCER}", p.org_name));
                    }
                    ParticipantView {
                        org_id: p.org_id,
                        name: p.org_name,
                        kind: p.org_kind,
                        role: p.role,
                        role_label: p.role.label(),
                        added_at: p.added_at,
                        notified_at: p.notified_at,
                        ai_found_public,
                        awaiting_reproducer,
                        notes: words,
                    }
                })
                .collect(),
            vendor_statuses: statuses
                .into_iter()
                .map(|s| VendorStatusView {
                    org_id: s.org_id,
                    name: s.org_name,
                    report_id: s.report_id,
                    status: s.status,
                    status_label: s.status.label(),
                    statement: s.statement,
                    updated_at: s.updated_at,
                })
                .collect(),
            credits: reports
                .iter()
                .map(|r| Credit {
                    report_id: r.id,
                    name: r.finder_name.clone(),
                    kind: r.finder_kind.clone(),
                    ai_found: r.ai_found,
                    duplicate: r.duplicate_of.is_some(),
                })
                .collect(),
            reports: reports.iter().map(|r| r.id).collect(),
        })
    }

    /// For each vendor participant: (its policy treats the case's AI-found reports as public, it waits for a
    /// reproducer). `reports` are those the reader may read, so the first says nothing of the others.
    async fn policy_notes(
        &self,
        case: &CaseRow,
        participants: &[ParticipantRow],
        reports: &[CaseReportRow],
    ) -> AppResult<BTreeMap<Uuid, (bool, bool)>> {
        let vendors: Vec<Uuid> = participants
            .iter()
            .filter(|p| p.role == ParticipantRole::Vendor)
            .map(|p| p.org_id)
            .collect();
        let policies = self.store.vendor_policies_of(&vendors).await?;
        let any_ai = reports.iter().any(|r| r.ai_found);
        let needs_reproducer = policies.iter().any(|p| p.require_reproducer);
        let has_reproducer = needs_reproducer && self.store.case_has_reproducer(case.id).await?;
        Ok(policies
            .iter()
            .map(|p| {
                let notified = participants
                    .iter()
                    .any(|x| x.org_id == p.org_id && x.notified_at.is_some());
                (
                    p.org_id,
                    (
                        p.ai_found_public && any_ai,
                        p.require_reproducer && !has_reproducer && !notified,
                    ),
                )
            })
            .collect())
    }

    /// Moves a case (coordinators). Publication goes through `publish`, which writes the advisory.
    pub async fn transition_case(
        &self,
        caller: &Caller,
        id: Uuid,
        to: &str,
        reason: Option<&str>,
    ) -> AppResult<TransitionView> {
        let case = self.readable_case(caller, id).await?;
        if !policy::can_coordinate_cases(caller) {
            return Err(AppError::Forbidden("only coordinators move cases"));
        }
        let to = CaseState::parse(to).map_err(|e| invalid("to", e.to_string()))?;
        let reason = review::validate::reason("reason", reason)?;
        if to == CaseState::Duplicate {
            return Err(invalid(
                "to",
                "a case becomes a duplicate when a coordinator merges it into another",
            ));
        }
        case::check_transition(case.state, to).map_err(|e| AppError::Conflict(e.to_string()))?;
        if to == CaseState::Published {
            let reason = reason.unwrap_or_else(|| "published by a coordinator".to_owned());
            self.publish(&case, Some(caller), &reason)
                .await?
                .ok_or_else(|| AppError::Conflict("the case changed meanwhile; reload and retry".into()))?;
            let published = self.readable_case(caller, id).await?;
            return Ok(TransitionView {
                case: self.case_view(caller, published).await?,
                not_notified: Vec::new(),
            });
        }
        let now = self.clock.now();
        let mut update = CaseUpdate {
            case_id: case.id,
            version: case.version,
            at: now,
            by: Some(caller.user_id()),
            state: Some((case.state, to, reason.clone())),
            embargo: None,
            add: Vec::new(),
            notify: Vec::new(),
            jobs: Vec::new(),
        };
        let mut events = Vec::new();
        let mut not_notified = Vec::new();
        match to {
            CaseState::Triaged => {
                let participants = self.store.case_participants(case.id).await?;
                for org_id in self.matching_vendors(&case, &participants).await? {
                    update.add.push(NewParticipant {
                        org_id,
                        role: ParticipantRole::Vendor,
                        notified_at: None,
                    });
                    events.push(self.event(
                        caller.into(),
                        "case.participant_add",
                        "case",
                        Some(case.id),
                        json!({"org_id": org_id, "role": "vendor", "matched": true}),
                    ));
                }
                if case.embargo_ends_at.is_none() {
                    let mut vendors: Vec<Uuid> = participants
                        .iter()
                        .filter(|p| p.role == ParticipantRole::Vendor)
                        .map(|p| p.org_id)
                        .collect();
                    vendors.extend(update.add.iter().map(|p| p.org_id));
                    let days: Vec<Option<i64>> = self
                        .store
                        .vendor_policies_of(&vendors)
                        .await?
                        .iter()
                        .map(|p| p.embargo_days.map(i64::from))
                        .collect();
                    let ends = whole_seconds(case::default_embargo(now, &days));
                    let why = if days.iter().any(Option::is_some) {
                        "set at triage: the longest period the vendors' policies declare"
                    } else {
                        "set at triage: the program's default embargo"
                    };
                    update.embargo = Some(EmbargoChange {
                        id: Uuid::now_v7(),
                        previous: None,
                        ends_at: ends,
                        reason: why.to_owned(),
                    });
                    update
                        .jobs
                        .push(publish_job(case.id, case.version + 1, ends, now));
                    events.push(self.event(
                        caller.into(),
                        "case.embargo",
                        "case",
                        Some(case.id),
                        json!({"previous": null, "embargo_ends_at": ends, "reason": why}),
                    ));
                }
            }
            CaseState::VendorsNotified => {
                for p in self.store.case_participants(case.id).await? {
                    if p.notified_at.is_some() || !policy::notified_with_vendors(p.role) {
                        continue;
                    }
                    if p.role == ParticipantRole::Vendor && self.waits_for_reproducer(&case, p.org_id).await?
                    {
                        not_notified.push(NotNotified {
                            org_id: p.org_id,
                            name: p.org_name,
                            reason: AWAITING_REPRODUCER.to_owned(),
                        });
                    } else {
                        update.notify.push(p.org_id);
                    }
                }
            }
            _ => {}
        }
        let skipped: Vec<Uuid> = not_notified.iter().map(|n| n.org_id).collect();
        events.insert(
            0,
            self.event(
                caller.into(),
                "case.transition",
                "case",
                Some(case.id),
                json!({
                    "from": case.state.as_str(), "to": to.as_str(), "reason": reason,
                    "notified": update.notify, "awaiting_reproducer": skipped,
                }),
            ),
        );
        let stored = self.store.update_case(&update, &events).await?;
        self.record_case_stix(stored.id).await;
        Ok(TransitionView {
            case: self.case_view(caller, stored).await?,
            not_notified,
        })
    }

    /// Whether the vendor's policy requires a reproducer that no report of the case has.
    async fn waits_for_reproducer(&self, case: &CaseRow, vendor: Uuid) -> AppResult<bool> {
        let requires = self
            .store
            .get_vendor_policy(vendor)
            .await?
            .is_some_and(|p| p.require_reproducer);
        Ok(requires && !self.store.case_has_reproducer(case.id).await?)
    }

    /// The vendors whose policies name a prefix of a product the case's reports affect, not yet taking part.
    async fn matching_vendors(
        &self,
        case: &CaseRow,
        participants: &[ParticipantRow],
    ) -> AppResult<Vec<Uuid>> {
        let products: Vec<ProductId> = self
            .store
            .case_affected(case.id, ReportScope::Markings(&VENDOR_MATCHED))
            .await?
            .iter()
            .filter_map(|a| ProductId::parse(&a.product).ok())
            .collect();
        if products.is_empty() {
            return Ok(Vec::new());
        }
        let policies: Vec<VendorPolicy> = self.store.vendor_policies_with_products(10_000).await?;
        Ok(policies
            .iter()
            .filter(|p| participants.iter().all(|x| x.org_id != p.org_id))
            .filter(|p| {
                p.products
                    .0
                    .iter()
                    .any(|prefix| products.iter().any(|product| product.matches_prefix(prefix)))
            })
            .map(|p| p.org_id)
            .collect())
    }

    /// Adds an organisation to a case (coordinators). A vendor added once the case has reached vendors
    /// notified is told at once (unless its policy waits for a reproducer); others are told when added.
    pub async fn add_participant(
        &self,
        caller: &Caller,
        id: Uuid,
        org_id: Uuid,
        role: &str,
    ) -> AppResult<CaseView> {
        let case = self.readable_case(caller, id).await?;
        if !policy::can_coordinate_cases(caller) {
            return Err(AppError::Forbidden("only coordinators add participants"));
        }
        let role = ParticipantRole::parse(role).map_err(|e| invalid("role", e.to_string()))?;
        let org = match self.store.get_org(org_id).await? {
            Some(org) if org.active => org,
            _ => return Err(invalid("org_id", "no such organisation")),
        };
        if role == ParticipantRole::Vendor && org.kind != OrgKind::Vendor {
            return Err(invalid(
                "role",
                "only a vendor organisation takes part as a vendor",
            ));
        }
        if case.state.is_final() {
            return Err(AppError::Conflict(format!(
                "the case is {}, which is final",
                case.state.label().to_lowercase()
            )));
        }
        let participants = self.store.case_participants(case.id).await?;
        if participants.iter().any(|p| p.org_id == org_id) {
            return Err(AppError::Conflict(
                "the organisation takes part in the case already".into(),
            ));
        }
        let now = self.clock.now();
        let told = match role {
            ParticipantRole::Vendor => {
                matches!(
                    case.state,
                    CaseState::VendorsNotified | CaseState::FixInProgress | CaseState::Fixed
                ) && !self.waits_for_reproducer(&case, org_id).await?
            }
            _ => true,
        };
        let update = CaseUpdate {
            case_id: case.id,
            version: case.version,
            at: now,
            by: Some(caller.user_id()),
            state: None,
            embargo: None,
            add: vec![NewParticipant {
                org_id,
                role,
                notified_at: told.then_some(now),
            }],
            notify: Vec::new(),
            jobs: Vec::new(),
        };
        let event = self.event(
            caller.into(),
            "case.participant_add",
            "case",
            Some(case.id),
            json!({"org_id": org_id, "role": role.as_str(), "notified": told}),
        );
        let stored = self.store.update_case(&update, &[event]).await?;
        self.record_case_stix(stored.id).await;
        self.case_view(caller, stored).await
    }

    /// Sets (or, with `None`, clears) the case's CVE id (coordinators): `CVE-<year>-<4 to 19 digits>`, held by
    /// one case at most (409 naming the case that holds it).
    pub async fn set_case_cve(&self, caller: &Caller, id: Uuid, cve: Option<&str>) -> AppResult<CaseView> {
        let cve = cve.map(str::trim);
        if let Some(cve) = cve
            && !super::cve::is_cve_id(cve)
        {
            return Err(invalid("cve", "a CVE id is CVE-<year>-<4 to 19 digits>"));
        }
        let case = self.readable_case(caller, id).await?;
        if !policy::can_coordinate_cases(caller) {
            return Err(AppError::Forbidden("only coordinators set a case's CVE id"));
        }
        if case.cve.as_deref() == cve {
            return self.case_view(caller, case).await;
        }
        let event = self.event(
            caller.into(),
            "case.cve",
            "case",
            Some(case.id),
            json!({"previous": case.cve, "cve": cve}),
        );
        let stored = self
            .store
            .set_case_cve(case.id, case.version, cve, self.clock.now(), &event)
            .await?
            .map_err(|(_, reference)| {
                AppError::Conflict(format!(
                    "case {reference} holds {} already",
                    cve.unwrap_or_default()
                ))
            })?;
        self.case_view(caller, stored).await
    }

    /// Removes an organisation from a case, with its statuses (coordinators).
    pub async fn remove_participant(&self, caller: &Caller, id: Uuid, org_id: Uuid) -> AppResult<()> {
        let case = self.readable_case(caller, id).await?;
        if !policy::can_coordinate_cases(caller) {
            return Err(AppError::Forbidden("only coordinators remove participants"));
        }
        let participants = self.store.case_participants(case.id).await?;
        let Some(p) = participants.iter().find(|p| p.org_id == org_id) else {
            return Err(AppError::NotFound("participant"));
        };
        let event = self.event(
            caller.into(),
            "case.participant_remove",
            "case",
            Some(case.id),
            json!({"org_id": org_id, "role": p.role.as_str()}),
        );
        self.store.remove_participant(case.id, org_id, &event).await?;
        Ok(())
    }
}

/// A target publication date to the whole second, so that it reads back the same from either database
/// (PostgreSQL keeps microseconds) and a publication job can compare it.
pub(crate) fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    at.trunc_subsecs(0)
}
