//! The coordinators' triage queue: the new cases with their reports and the candidates intake found, and the
//! decisions on each (merge into a candidate's case, which closes this one as a duplicate; keep it as its own
//! case, which triages it; reject it), each a POST that first shows what it will do and asks to confirm.
//! Others find no such page.

use super::super::form::{Fields, QueryFields, on_form};
use super::super::notices::path_id;
use super::super::render::{Frame, WebError, WebResult, html, see_other};
use super::super::session::{SignedInForm, WebCaller};
use super::super::view::when;
use super::advisories::Marking;
use super::reports::percent;
use app::{App, AppError, Caller, PageRequest};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use uuid::Uuid;

pub struct CandidateRow {
    pub href: String,
    pub score: String,
    /// The candidate's case, when it has one the coordinator may merge into.
    pub case_id: Option<String>,
    pub case_reference: String,
}

pub struct ReportRow {
    pub href: String,
    pub title: String,
    pub finder: String,
    pub candidates: Vec<CandidateRow>,
}

pub struct CaseRow {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub tlp: Marking,
    pub opened: String,
    pub reports: Vec<ReportRow>,
}

#[derive(Template)]
#[template(path = "triage.html")]
struct TriagePage {
    frame: Frame,
    cases: Vec<CaseRow>,
    next: Option<String>,
}

/// The queue is coordinators' work: anyone else signed in is refused with the API's 403 and its reason, as
/// other pages that are not the viewer's (`/audit`, `/vendor-policy`) are.
fn coordinators_only(caller: &Caller) -> Result<(), WebError> {
    Ok(App::check_triage(caller)?)
}

pub async fn queue(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    coordinators_only(&caller)?;
    let page = app
        .triage(
            &caller,
            &PageRequest {
                cursor: q.optional("cursor").map(str::to_owned),
                limit: Some(20),
            },
        )
        .await?;
    let mut references = std::collections::BTreeMap::new();
    for case in &page.items {
        for report in &case.reports {
            for c in &report.candidates {
                if let Some(id) = c.case_id
                    && !references.contains_key(&id)
                {
                    let reference = match app.get_case(&caller, id).await {
                        Ok(view) => Some(view.summary.reference),
                        Err(AppError::NotFound(_)) => None,
                        Err(other) => return Err(other.into()),
                    };
                    references.insert(id, reference);
                }
            }
        }
    }
    let cases = page
        .items
        .into_iter()
        .map(|case| CaseRow {
            id: case.id.to_string(),
            reference: case.reference,
            title: case.title,
            tlp: Marking {
                label: case.tlp.label().to_owned(),
                class: format!("tlp-{}", case.tlp.as_str().replace('+', "-")),
            },
            opened: when(case.created_at),
            reports: case
                .reports
                .into_iter()
                .map(|r| ReportRow {
                    href: format!("/reports/{}", r.report.id),
                    title: r.report.title,
                    finder: r.report.finder.name,
                    candidates: r
                        .candidates
                        .into_iter()
                        .map(|c| {
                            let reference = c.case_id.and_then(|id| references.get(&id).cloned().flatten());
                            CandidateRow {
                                href: format!("/reports/{}", c.report_id),
                                score: percent(c.score),
                                case_id: c
                                    .case_id
                                    .filter(|id| *id != case.id && reference.is_some())
                                    .map(|id| id.to_string()),
                                case_reference: reference.unwrap_or_default(),
                            }
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let view = TriagePage {
        frame: Frame::signed_in(&caller, "triage", "Triage"),
        cases,
        next: page.next_cursor,
    };
    Ok(html(StatusCode::OK, &view))
}

pub struct Hidden {
    pub name: String,
    pub value: String,
}

/// The step before an action that cannot be undone: what it will do, and a button that does it.
#[derive(Template)]
#[template(path = "confirm_action.html")]
pub struct ConfirmPage {
    pub frame: Frame,
    pub heading: String,
    pub explanation: String,
    pub action: String,
    pub hidden: Vec<Hidden>,
    pub button: String,
    pub cancel: String,
}

impl ConfirmPage {
    /// A confirmation of the POST to `action` with these fields (and `confirm=yes`).
    pub fn new(
        caller: &Caller,
        heading: String,
        explanation: String,
        action: String,
        fields: &Fields,
    ) -> Self {
        let hidden = fields
            .pairs()
            .filter(|(name, _)| !matches!(*name, "csrf" | "confirm"))
            .map(|(name, value)| Hidden {
                name: name.to_owned(),
                value: value.to_owned(),
            })
            .collect();
        ConfirmPage {
            frame: Frame::signed_in(caller, "triage", heading.clone()),
            button: heading.clone(),
            heading,
            explanation,
            action,
            hidden,
            cancel: String::new(),
        }
    }
}

/// The reference of a case the coordinator may read, for the confirmation's words.
async fn reference(app: &App, caller: &Caller, id: Uuid) -> Result<String, WebError> {
    Ok(app.get_case(caller, id).await?.summary.reference)
}

/// A decision on a case in the queue: `decision` is `merge` (with `into`), `keep` or `reject`; without
/// `confirm=yes` it shows what it will do first.
pub async fn decide(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let SignedInForm { caller, fields } = form;
    coordinators_only(&caller)?;
    let id = path_id(&raw)?;
    let this = reference(&app, &caller, id).await?;
    let decision = fields.text("decision");
    let (heading, explanation) = match decision {
        "merge" => {
            let into = fields.id("into").map_err(|_| {
                WebError::new(StatusCode::UNPROCESSABLE_ENTITY, "Choose the case to merge into.")
            })?;
            let target = match app.get_case(&caller, into).await {
                Ok(view) => view.summary.reference,
                Err(AppError::NotFound(_)) => {
                    return Err(WebError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "The case to merge into is not a case you can see.",
                    ));
                }
                Err(other) => return Err(other.into()),
            };
            (
                format!("Merge {this} into {target}"),
                format!(
                    "The reports of {this} move to {target} as duplicates, their finders stay credited and are \
                     told, and {this} closes as a duplicate. This cannot be undone."
                ),
            )
        }
        "keep" => (
            format!("Keep {this} as its own case"),
            format!(
                "{this} is triaged: the vendors whose products it names are added, and its embargo starts."
            ),
        ),
        "reject" => (
            format!("Reject {this}"),
            format!("{this} closes as rejected. This cannot be undone."),
        ),
        _ => {
            return Err(WebError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Choose merge, keep or reject.",
            ));
        }
    };
    if fields.text("confirm") != "yes" {
        let mut page = ConfirmPage::new(&caller, heading, explanation, format!("/triage/{id}"), &fields);
        page.cancel = "/triage".to_owned();
        return Ok(html(StatusCode::OK, &page));
    }
    let result = match decision {
        "merge" => {
            let into = fields
                .id("into")
                .map_err(|e| WebError::new(StatusCode::UNPROCESSABLE_ENTITY, e.message))?;
            app.merge_case(&caller, id, into).await.map(|_| ())
        }
        "keep" => app
            .transition_case(&caller, id, "triaged", Some("kept as its own case at triage"))
            .await
            .map(|_| ()),
        _ => app
            .transition_case(&caller, id, "rejected", fields.optional("reason"))
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => Ok(see_other("/triage")),
        Err(error) => {
            let (status, error) = on_form(error)?;
            Err(WebError::new(
                status,
                super::super::render::capitalise(&error.message),
            ))
        }
    }
}
