//! The agencies' advisory work on a notice: findings and assessments, filed from the notice's page and read
//! on their own pages.

use super::notices::{AssessmentRow, Slot, assessment_row, finish, path_id};
use super::orgs::directory;
use super::render::{Frame, WebError, WebResult, html};
use super::session::{SignedInForm, WebCaller};
use super::view::{humanize, when};
use app::program::{NewAssessment, NewFinding};
use app::{App, Caller, policy};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use uuid::Uuid;

pub async fn file_finding(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let f = &form.fields;
    let result = match f.ids("shared_with") {
        Ok(shared_with) => {
            let input = NewFinding {
                title: f.text("title").to_owned(),
                domain: f.text("domain").to_owned(),
                severity: f.text("severity").to_owned(),
                description: f.text("description").to_owned(),
                evidence: f.lines("evidence"),
                shared_with,
            };
            app.file_finding(&form.caller, id, input).await
        }
        Err(error) => Err(error.into()),
    };
    finish(&app, form, id, Slot::Finding, result, |finding| {
        format!("/findings/{}", finding.id)
    })
    .await
}

pub async fn publish_assessment(
    State(app): State<App>,
    Path(raw): Path<String>,
    form: SignedInForm,
) -> WebResult {
    let id = path_id(&raw)?;
    let f = &form.fields;
    let result = match f.ids("shared_with") {
        Ok(shared_with) => {
            // A domain left at "not assessed" is not part of the assessment.
            let levels = f
                .with_prefix("levels.")
                .filter(|(_, level)| !level.is_empty())
                .map(|(domain, level)| (domain.to_owned(), level.to_owned()))
                .collect();
            let input = NewAssessment {
                levels,
                rationale: f.text("rationale").to_owned(),
                evidence: f.lines("evidence"),
                shared_with,
                draft: f.text("draft") == "yes",
            };
            app.publish_assessment(&form.caller, id, input).await
        }
        Err(error) => Err(error.into()),
    };
    finish(&app, form, id, Slot::Assessment, result, |assessment| {
        format!("/assessments/{}", assessment.id)
    })
    .await
}

/// An evidence entry: a link when it points somewhere a browser can go, text otherwise (a `urn:`). A link to
/// an evaluation run or sample is a link, named by its run, only when the reader may see that run; otherwise
/// it is plain text, the same whether the run is hidden or does not exist.
pub(super) struct Evidence {
    pub(super) href: Option<String>,
    pub(super) text: String,
    /// What a cited run or sample is (its task, its score).
    pub(super) label: Option<String>,
}

pub(super) async fn evidence(
    app: &App,
    caller: &Caller,
    links: &[String],
) -> Result<Vec<Evidence>, WebError> {
    let mut out = Vec::with_capacity(links.len());
    for link in links {
        if link.starts_with("/eval-runs/") {
            let label = super::evals::citation(app, caller, link).await?;
            out.push(Evidence {
                href: label.is_some().then(|| link.clone()),
                text: link.clone(),
                label,
            });
            continue;
        }
        if let Some(id) = link.strip_prefix("/gateway-calls/") {
            // A cited gateway call opens only for those who may read it; to others it is text.
            let call = match id.parse() {
                Ok(id) => app.readable_gateway_call(caller, id).await?,
                Err(_) => None,
            };
            out.push(Evidence {
                href: call.as_ref().map(|_| link.clone()),
                text: link.clone(),
                label: call.map(|c| {
                    format!(
                        "Gateway call: {} at {}, status {}",
                        c.model,
                        when(c.started_at),
                        c.status
                    )
                }),
            });
            continue;
        }
        out.push(Evidence {
            href: ["https://", "http://", "/"]
                .iter()
                .any(|p| link.starts_with(p))
                .then(|| link.clone()),
            text: link.clone(),
            label: None,
        });
    }
    Ok(out)
}

/// The notice a finding or an assessment is about, as its page names it.
pub(super) struct About {
    pub(super) notice_id: String,
    pub(super) notice: String,
    /// The author's name, when the caller may see it (people of the same agency).
    pub(super) author: Option<String>,
}

pub(super) async fn about(
    app: &App,
    caller: &Caller,
    notice_id: Uuid,
    author_id: Uuid,
) -> Result<About, WebError> {
    let notice = app.get_notice(caller, notice_id).await?;
    let author = app.get_user(caller, author_id).await.ok().map(|u| u.display_name);
    Ok(About {
        notice_id: notice.id.to_string(),
        notice: format!("{} {}", notice.model_name, notice.model_version),
        author,
    })
}

struct LevelRow {
    domain: String,
    level: String,
    level_label: String,
}

#[derive(Template)]
#[template(path = "assessment.html")]
struct AssessmentPage {
    frame: Frame,
    a: AssessmentRow,
    about: About,
    levels: Vec<LevelRow>,
    rationale: String,
    evidence: Vec<Evidence>,
    /// A draft, read by its agency alone until the agency's admin publishes it.
    draft: bool,
    may_publish: bool,
}

pub async fn assessment(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
) -> WebResult {
    let assessment = app.get_assessment(&caller, path_id(&raw)?).await?;
    let orgs = directory(&app, &caller).await?;
    let row = assessment_row(&assessment, &orgs);
    let page = AssessmentPage {
        frame: Frame::signed_in(&caller, "notices", format!("Assessment by {}", row.agency)),
        about: about(&app, &caller, assessment.notice_id, assessment.author_id).await?,
        levels: assessment
            .levels
            .iter()
            .map(|(domain, level)| LevelRow {
                domain: humanize(domain),
                level: level.clone(),
                level_label: humanize(level),
            })
            .collect(),
        draft: assessment.draft,
        may_publish: assessment.draft && policy::can_publish_assessment(&caller, assessment.org_id),
        a: row,
        rationale: review::markdown::render(&assessment.rationale),
        evidence: evidence(&app, &caller, &assessment.evidence).await?,
    };
    Ok(html(StatusCode::OK, &page))
}
