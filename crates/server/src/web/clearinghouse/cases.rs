//! A case's page for those the case's marking admits (anyone else gets the not-found page): its state,
//! embargo and countdown, participants, vendor statuses, credits and discussion, and the forms of what the
//! viewer's role may do there (`case_actions.rs` takes them): coordinators move the case, add vendors, move the
//! embargo with a reason, merge and split; a vendor participant states its status per vulnerability; the
//! case's notified participants and coordinators post and reply.

use super::super::form::{Fields, FormState};
use super::super::notices::path_id;
use super::super::render::{Frame, WebResult, html, plural};
use super::super::session::WebCaller;
use super::super::view::{Choice, humanize, input_time, when};
use super::advisories::Marking;
use ::clearinghouse::case::{CaseState, ParticipantRole, VendorStatus, check_transition};
use accounts::OrgKind;
use app::{App, AppError, Caller, PageRequest, policy};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// At most this many of a case's reports are listed and offered in its forms (statuses, split).
const MAX_FORM_REPORTS: usize = 50;
/// At most this many organisations and cases are looked through for the forms' choices.
const MAX_CHOICES: i64 = 200;

struct Participant {
    name: String,
    role: &'static str,
    notified: String,
    notes: Vec<String>,
}

struct Status {
    vendor: String,
    report: String,
    status: &'static str,
    statement: String,
    updated: String,
}

/// A report of the case that the viewer may read.
struct CaseReport {
    href: String,
    title: String,
    tlp: Marking,
}

struct Credit {
    name: String,
    kind: String,
    ai_found: bool,
    duplicate: bool,
}

struct Post {
    id: String,
    author: String,
    org: String,
    at: String,
    body_html: String,
    reply: bool,
}

/// The forms on the page, each with its values and error when a POST to it failed.
pub struct CaseForms {
    pub transition: FormState,
    pub participant: FormState,
    pub post: FormState,
    pub status: FormState,
    pub embargo: FormState,
    pub merge: FormState,
    pub split: FormState,
}

/// Which form a POST came from.
#[derive(Debug, Clone, Copy)]
pub enum Slot {
    Transition,
    Participant,
    Post,
    Status,
    Embargo,
    Merge,
    Split,
}

impl Default for CaseForms {
    fn default() -> Self {
        CaseForms {
            transition: FormState::prefixed("transition-"),
            participant: FormState::prefixed("participant-"),
            post: FormState::prefixed("post-"),
            status: FormState::prefixed("status-"),
            embargo: FormState::prefixed("embargo-"),
            merge: FormState::prefixed("merge-"),
            split: FormState::prefixed("split-"),
        }
    }
}

impl CaseForms {
    pub fn slot(&mut self, slot: Slot) -> &mut FormState {
        match slot {
            Slot::Transition => &mut self.transition,
            Slot::Participant => &mut self.participant,
            Slot::Post => &mut self.post,
            Slot::Status => &mut self.status,
            Slot::Embargo => &mut self.embargo,
            Slot::Merge => &mut self.merge,
            Slot::Split => &mut self.split,
        }
    }
}

#[derive(Template)]
#[template(path = "case.html")]
pub struct CasePage {
    frame: Frame,
    id: String,
    reference: String,
    title: String,
    state: &'static str,
    tlp: Marking,
    embargo: Option<String>,
    countdown: Option<String>,
    published: Option<String>,
    summary_html: String,
    sectors: Vec<String>,
    participants: Vec<Participant>,
    /// The reports the viewer may read (the case view holds no other), and the statuses and credits of those.
    report_list: Vec<CaseReport>,
    statuses: Vec<Status>,
    credits: Vec<Credit>,
    /// `None` when the reader may read the case but not its discussion.
    posts: Option<Vec<Post>>,
    /// The case is open (not published, rejected or a duplicate).
    open: bool,
    coordinator: bool,
    transitions: Vec<Choice>,
    vendor_choices: Vec<Choice>,
    /// The vendors the viewer may state a status for (their own, or every vendor participant for a
    /// coordinator), and the reports they may state it on.
    status_vendors: Vec<Choice>,
    status_reports: Vec<Choice>,
    status_choices: Vec<Choice>,
    merge_targets: Vec<Choice>,
    split_reports: Vec<Choice>,
    forms: CaseForms,
}

/// "publishes in 12 days", from the injected clock.
pub fn countdown(ends: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (ends - now).num_seconds();
    if seconds <= 0 {
        "the embargo has ended; publication is due".to_owned()
    } else if seconds < 86_400 {
        format!("publishes in {}", plural((seconds + 3_599) / 3_600, "hour"))
    } else {
        format!("publishes in {}", plural(seconds / 86_400, "day"))
    }
}

/// The case's page as `caller` sees it, with `forms` (a failed form keeps its values and error).
pub async fn case_page(
    app: &App,
    caller: &Caller,
    id: Uuid,
    mut forms: CaseForms,
) -> Result<CasePage, AppError> {
    let case = app.get_case(caller, id).await?;
    let posts = match app
        .list_case_posts(
            caller,
            id,
            &PageRequest {
                cursor: None,
                limit: Some(100),
            },
        )
        .await
    {
        Ok(page) => Some(
            page.items
                .into_iter()
                .map(|p| Post {
                    id: p.id.to_string(),
                    author: p.author_name,
                    org: p.org_name,
                    at: when(p.created_at),
                    body_html: p.body_html,
                    reply: p.reply_to.is_some(),
                })
                .collect(),
        ),
        Err(AppError::Forbidden(_)) => None,
        Err(other) => return Err(other),
    };
    let now = app.clock.now();
    let s = &case.summary;
    if forms.embargo.error.is_none()
        && let Some(ends) = s.embargo_ends_at
    {
        forms.embargo.fields = Fields::new(&[("embargo_ends_at", &input_time(ends))]);
    }
    let open = !s.state.is_final();
    let coordinator = policy::can_coordinate_cases(caller);
    let mut reports = Vec::new();
    let mut report_list = Vec::new();
    for report in case.reports.iter().take(MAX_FORM_REPORTS) {
        let r = app.get_report(Some(caller), *report).await?;
        report_list.push(CaseReport {
            href: format!("/reports/{}", r.id),
            title: r.title.clone(),
            tlp: Marking {
                label: r.tlp_label.to_owned(),
                class: format!("tlp-{}", r.tlp.as_str().replace('+', "-")),
            },
        });
        reports.push(Choice::new(r.id.to_string(), r.title));
    }
    let status_vendors: Vec<Choice> = if open {
        case.participants
            .iter()
            .filter(|p| p.role == ParticipantRole::Vendor)
            .filter(|p| {
                coordinator || (p.notified_at.is_some() && policy::can_state_vendor_status(caller, p.org_id))
            })
            .map(|p| Choice::new(p.org_id.to_string(), p.name.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let transitions = if coordinator {
        CaseState::ALL
            .iter()
            .filter(|to| **to != CaseState::Duplicate && check_transition(s.state, **to).is_ok())
            .map(|to| Choice::new(to.as_str(), to.label()))
            .collect()
    } else {
        Vec::new()
    };
    let mut vendor_choices = Vec::new();
    let mut merge_targets = Vec::new();
    if coordinator && open {
        let orgs = app
            .list_orgs(
                caller,
                &PageRequest {
                    cursor: None,
                    limit: Some(MAX_CHOICES),
                },
            )
            .await?;
        vendor_choices = orgs
            .items
            .into_iter()
            .filter(|o| o.active && o.kind == OrgKind::Vendor.as_str())
            .filter(|o| case.participants.iter().all(|p| p.org_id != o.id))
            .map(|o| Choice::new(o.id.to_string(), o.name))
            .collect();
        let cases = app
            .list_cases(
                caller,
                None,
                false,
                &PageRequest {
                    cursor: None,
                    limit: Some(MAX_CHOICES),
                },
            )
            .await?;
        merge_targets = cases
            .items
            .into_iter()
            .filter(|c| c.id != id && !c.state.is_final())
            .map(|c| Choice::new(c.id.to_string(), format!("{}: {}", c.reference, c.title)))
            .collect();
    }
    let report_title = |report: Uuid| {
        reports
            .iter()
            .find(|c| c.value == report.to_string())
            .map(|c| c.label.clone())
            .unwrap_or_else(|| "Another report of this case".to_owned())
    };
    let statuses = case
        .vendor_statuses
        .iter()
        .map(|v| Status {
            vendor: v.name.clone(),
            report: report_title(v.report_id),
            status: v.status_label,
            statement: v.statement.clone(),
            updated: when(v.updated_at),
        })
        .collect();
    Ok(CasePage {
        frame: Frame::signed_in(caller, "cases", s.reference.clone()),
        id: id.to_string(),
        reference: s.reference.clone(),
        title: s.title.clone(),
        state: s.state_label,
        tlp: Marking {
            label: s.tlp_label.to_owned(),
            class: format!("tlp-{}", s.tlp.as_str().replace('+', "-")),
        },
        embargo: s.embargo_ends_at.map(when),
        countdown: s
            .embargo_ends_at
            .filter(|_| s.published_at.is_none())
            .map(|ends| countdown(ends, now)),
        published: s.published_at.map(when),
        summary_html: review::markdown::render(&case.summary_text),
        sectors: case.sectors.iter().map(|x| humanize(x)).collect(),
        participants: case
            .participants
            .iter()
            .map(|p| Participant {
                name: p.name.clone(),
                role: p.role_label,
                notified: p.notified_at.map(when).unwrap_or_else(|| "Not yet".to_owned()),
                notes: p.notes.clone(),
            })
            .collect(),
        report_list,
        statuses,
        credits: case
            .credits
            .iter()
            .map(|c| Credit {
                name: c.name.clone(),
                kind: humanize(&c.kind),
                ai_found: c.ai_found,
                duplicate: c.duplicate,
            })
            .collect(),
        posts,
        open,
        coordinator,
        transitions,
        vendor_choices,
        status_reports: if status_vendors.is_empty() {
            Vec::new()
        } else {
            reports.clone()
        },
        status_vendors,
        status_choices: VendorStatus::ALL
            .iter()
            .map(|v| Choice::new(v.as_str(), v.label()))
            .collect(),
        merge_targets,
        split_reports: if coordinator && open { reports } else { Vec::new() },
        forms,
    })
}

pub async fn detail(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
) -> WebResult {
    let page = case_page(&app, &caller, path_id(&raw)?, CaseForms::default()).await?;
    Ok(html(StatusCode::OK, &page))
}
