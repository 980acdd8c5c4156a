//! The dashboard (`/`): each role's to-do list, as `app::program::Dashboard` reads it. The notices list
//! (`/notices`) keeps the filters and every notice; the dashboard keeps what asks for the reader's action.

use super::orgs::directory;
use super::render::{Frame, WebResult, html};
use super::session::WebCaller;
use super::timeline::{Axis, Tick};
use super::view::{NoticeRow, day, humanize, when};
use app::program::{CLOSING_SOON_DAYS, Dashboard, NoticeView, RECENT_DAYS};
use app::{App, Caller, policy};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

/// Notices drawn on one axis.
pub struct Timeline {
    pub rows: Vec<NoticeRow>,
    pub ticks: Vec<Tick>,
    pub today: String,
    pub today_label: String,
}

impl Timeline {
    pub fn of(notices: &[NoticeView], now: DateTime<Utc>) -> Timeline {
        let axis = Axis::around(
            notices.iter().map(|n| (n.window_opens_at, n.window_closes_at)),
            now,
        );
        Timeline {
            rows: notices.iter().map(|n| NoticeRow::new(n, &axis)).collect(),
            ticks: axis.ticks(),
            today: axis.today(),
            today_label: format!("Today, {}", day(now)),
        }
    }
}

/// A finding or an assessment on a developer's dashboard.
pub struct WorkRow {
    href: String,
    title: String,
    notice_id: String,
    model: Option<String>,
    agency: String,
    level: String,
    level_label: String,
    /// A finding's status (open, acknowledged, …); an assessment's is "published".
    status: String,
    status_label: String,
    at: String,
}

struct Count {
    key: &'static str,
    label: &'static str,
    value: i64,
}

struct CountGroup {
    title: String,
    counts: Vec<Count>,
}

enum Body {
    Timeline(Timeline),
    Work(Vec<WorkRow>),
    Counts(Vec<CountGroup>),
    Text,
}

struct Section {
    id: &'static str,
    title: String,
    /// What an empty section says (or, for `Body::Text`, all it says).
    empty: String,
    body: Body,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    frame: Frame,
    lead: &'static str,
    sections: Vec<Section>,
    receives: bool,
}

fn timeline(
    id: &'static str,
    title: &str,
    empty: &str,
    notices: &[NoticeView],
    now: DateTime<Utc>,
) -> Section {
    Section {
        id,
        title: title.to_owned(),
        empty: empty.to_owned(),
        body: Body::Timeline(Timeline::of(notices, now)),
    }
}

/// The model names of the notices that findings and assessments are about, each read once and as the caller
/// may see it (a section holds at most `DASHBOARD_ROWS` rows, so the reads are bounded).
async fn models(app: &App, caller: &Caller, ids: impl Iterator<Item = Uuid>) -> HashMap<Uuid, String> {
    let mut names = HashMap::new();
    for id in ids {
        if names.contains_key(&id) {
            continue;
        }
        if let Ok(n) = app.get_notice(caller, id).await {
            names.insert(id, format!("{} {}", n.model_name, n.model_version));
        }
    }
    names
}

pub async fn dashboard(State(app): State<App>, WebCaller(caller): WebCaller) -> WebResult {
    let now = app.clock.now();
    let (lead, sections) = match app.dashboard(&caller).await? {
        Dashboard::Evaluator { assigned } => (
            "The release notices you are assigned to evaluate, open windows first.",
            vec![timeline(
                "assigned",
                "Assigned to you",
                "You are not assigned to any release notice. An admin of your agency assigns evaluators.",
                &assigned,
                now,
            )],
        ),
        Dashboard::AgencyAdmin {
            unstaffed,
            closing_soon,
        } => (
            "Release notices that need an evaluator from your agency, and review windows closing soon.",
            vec![
                timeline(
                    "unstaffed",
                    "Needing an evaluator",
                    "Every open or upcoming notice shared with your agency has an evaluator.",
                    &unstaffed,
                    now,
                ),
                timeline(
                    "closing-soon",
                    &format!("Windows closing within {CLOSING_SOON_DAYS} days"),
                    "No review window closes in the coming week.",
                    &closing_soon,
                    now,
                ),
            ],
        ),
        Dashboard::Developer {
            notices,
            findings,
            assessments,
        } => {
            let orgs = directory(&app, &caller).await?;
            let names = models(
                &app,
                &caller,
                findings
                    .iter()
                    .map(|f| f.notice_id)
                    .chain(assessments.iter().map(|a| a.notice_id)),
            )
            .await;
            let model = |id: &Uuid| names.get(id).cloned();
            let finding_rows = findings
                .iter()
                .map(|f| WorkRow {
                    href: format!("/findings/{}", f.id),
                    title: f.title.clone(),
                    notice_id: f.notice_id.to_string(),
                    model: model(&f.notice_id),
                    agency: orgs.name(f.org_id),
                    level: f.severity.clone(),
                    level_label: humanize(&f.severity),
                    status: f.status.clone(),
                    status_label: humanize(&f.status),
                    at: when(f.created_at),
                })
                .collect();
            let assessment_rows = assessments
                .iter()
                .map(|a| WorkRow {
                    href: format!("/assessments/{}", a.id),
                    title: format!("Assessment: {} overall", humanize(&a.overall)),
                    notice_id: a.notice_id.to_string(),
                    model: model(&a.notice_id),
                    agency: orgs.name(a.org_id),
                    level: a.overall.clone(),
                    level_label: humanize(&a.overall),
                    status: "published".to_owned(),
                    status_label: "Published".to_owned(),
                    at: when(a.published_at),
                })
                .collect();
            (
                "New findings and assessments on your models, and your review windows still open or to come.",
                vec![
                    Section {
                        id: "findings",
                        title: format!("New findings (last {RECENT_DAYS} days)"),
                        empty: format!("No finding was filed on your models in the last {RECENT_DAYS} days."),
                        body: Body::Work(finding_rows),
                    },
                    Section {
                        id: "assessments",
                        title: format!("New assessments (last {RECENT_DAYS} days)"),
                        empty: format!(
                            "No assessment was published on your models in the last {RECENT_DAYS} days."
                        ),
                        body: Body::Work(assessment_rows),
                    },
                    timeline(
                        "windows",
                        "Your open and upcoming review windows",
                        "None of your release notices is in review or scheduled.",
                        &notices,
                        now,
                    ),
                ],
            )
        }
        Dashboard::Program { counts } => {
            let group = |title: &str, counts: Vec<Count>| CountGroup {
                title: title.to_owned(),
                counts,
            };
            let c = |key, label, value| Count { key, label, value };
            (
                "The review program in numbers. What developers and agencies wrote stays with them.",
                vec![Section {
                    id: "program",
                    title: "The program".to_owned(),
                    empty: String::new(),
                    body: Body::Counts(vec![
                        group(
                            "Release notices by state",
                            vec![
                                c("scheduled", "Scheduled", counts.scheduled),
                                c("in_review", "In review", counts.in_review),
                                c("launched", "Launched", counts.launched),
                                c("withdrawn", "Withdrawn", counts.withdrawn),
                            ],
                        ),
                        group(
                            "Review windows",
                            vec![
                                c("closing_soon", "Closing within a week", counts.closing_soon),
                                c(
                                    "zero_length",
                                    "Of no length (launched at filing)",
                                    counts.zero_length,
                                ),
                            ],
                        ),
                        group(
                            &format!("Activity (last {RECENT_DAYS} days)"),
                            vec![
                                c("notices_filed", "Notices filed", counts.notices_filed),
                                c("findings_filed", "Findings filed", counts.findings_filed),
                                c(
                                    "assessments_published",
                                    "Assessments published",
                                    counts.assessments_published,
                                ),
                            ],
                        ),
                    ]),
                }],
            )
        }
        Dashboard::Other => (
            "Your organisation does not take part in release notices; the menu leads to your pages.",
            vec![Section {
                id: "nothing",
                title: "Nothing to do here".to_owned(),
                empty: "Release notices are shared by AI developers with evaluating agencies.".to_owned(),
                body: Body::Text,
            }],
        ),
    };
    let page = DashboardPage {
        frame: Frame::signed_in(&caller, "dashboard", "Dashboard"),
        lead,
        sections,
        receives: policy::receives_notices(&caller),
    };
    Ok(html(StatusCode::OK, &page))
}
