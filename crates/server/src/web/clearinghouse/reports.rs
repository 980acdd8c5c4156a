//! Filing a vulnerability report from the browser, and the report's page: the case it went to, its scores,
//! the report it repeats (with that report's case) only when the reader may read that one, and, for
//! coordinators only, the candidate duplicates intake found with their scores.

use super::super::form::{Fields, FormState, on_form};
use super::super::notices::path_id;
use super::super::render::{Frame, WebResult, html, see_other};
use super::super::session::{SignedInForm, WebCaller};
use super::super::view::{Choice, humanize, when};
use super::advisories::{Marking, Severity};
use app::clearinghouse::{AffectedInput, NewReport};
use app::{App, AppError, Caller, policy};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use review::ValidationError;

/// The markings a reporter may choose, as people write them.
const MARKINGS: [(&str, &str); 5] = [
    ("clear", "TLP:CLEAR (may be published)"),
    ("green", "TLP:GREEN (the community)"),
    ("amber", "TLP:AMBER (participants' organisations)"),
    (
        "amber+strict",
        "TLP:AMBER+STRICT (participants' organisations, no further)",
    ),
    ("red", "TLP:RED (named people only)"),
];

#[derive(Template)]
#[template(path = "report_new.html")]
struct NewReportPage {
    frame: Frame,
    form: FormState,
    markings: Vec<Choice>,
}

fn new_page(caller: &Caller, status: StatusCode, form: FormState) -> WebResult {
    let view = NewReportPage {
        frame: Frame::signed_in(caller, "report", "Report a vulnerability"),
        form,
        markings: MARKINGS.iter().map(|(v, l)| Choice::new(*v, *l)).collect(),
    };
    Ok(html(status, &view))
}

pub async fn new_form(WebCaller(caller): WebCaller) -> WebResult {
    new_page(&caller, StatusCode::OK, FormState::with(&[("tlp", "amber")]))
}

/// The form's one product field holds a purl or a CPE; the app's errors about the product land on it.
fn form_field(error: ValidationError) -> ValidationError {
    let field = if error.field.starts_with("affected") && error.field.ends_with(".versions") {
        "versions"
    } else if error.field.starts_with("affected") {
        "product"
    } else {
        return error;
    };
    ValidationError::new(field, error.message)
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The report the form describes, as the API takes it.
fn report_input(fields: &Fields) -> NewReport {
    let product = fields.text("product").trim();
    let affected = if product.is_empty() && fields.text("versions").trim().is_empty() {
        Vec::new()
    } else {
        let cpe = product.to_ascii_lowercase().starts_with("cpe:");
        vec![AffectedInput {
            purl: (!cpe).then(|| product.to_owned()),
            cpe: cpe.then(|| product.to_owned()),
            versions: fields.text("versions").to_owned(),
        }]
    };
    NewReport {
        kind: "vulnerability".to_owned(),
        title: fields.text("title").to_owned(),
        description: fields.text("description").to_owned(),
        tlp: fields.text("tlp").to_owned(),
        affected,
        cwe: optional(fields.text("cwe")),
        cvss_v3: optional(fields.text("cvss_v3")),
        cvss_v4: optional(fields.text("cvss_v4")),
        finder: None,
        ai_found: fields.ticked("ai_found"),
        location: None,
        crash_signature: None,
        threat_model: None,
        sectors: Vec::new(),
        people: Vec::new(),
        indicators: Vec::new(),
        attack_patterns: Vec::new(),
        misuse: None,
    }
}

/// The fields of the report form, kept as hidden fields on the duplicates page.
const REPORT_FIELDS: [&str; 9] = [
    "title",
    "description",
    "tlp",
    "product",
    "versions",
    "cwe",
    "cvss_v3",
    "cvss_v4",
    "ai_found",
];

struct Hidden {
    name: &'static str,
    value: String,
}

pub struct Candidate {
    pub href: String,
    pub title: String,
    pub score: String,
    pub case_reference: Option<String>,
}

#[derive(Template)]
#[template(path = "report_duplicates.html")]
struct DuplicatesPage {
    frame: Frame,
    title: String,
    candidates: Vec<Candidate>,
    hidden: Vec<Hidden>,
}

/// A similarity as people read it.
pub fn percent(score: f64) -> String {
    format!("{:.0}%", (score * 100.0).clamp(0.0, 100.0))
}

/// Files the report. Without `file_anyway`, first asks for the duplicates filing would list: when there are
/// some the person sees them (with the form's values kept) and confirms; when there are none it files at once.
pub async fn file(State(app): State<App>, form: SignedInForm) -> WebResult {
    let SignedInForm { caller, fields } = form;
    if fields.ticked("edit") {
        return new_page(
            &caller,
            StatusCode::OK,
            FormState {
                fields,
                ..FormState::default()
            },
        );
    }
    if !fields.ticked("file_anyway") {
        match app.suggest_duplicates(&caller, report_input(&fields)).await {
            Ok(found) if !found.duplicates.is_empty() => {
                let view = DuplicatesPage {
                    frame: Frame::signed_in(&caller, "report", "Possible duplicates"),
                    title: fields.text("title").to_owned(),
                    candidates: found
                        .duplicates
                        .into_iter()
                        .map(|d| Candidate {
                            href: format!("/reports/{}", d.report_id),
                            title: d.title,
                            score: percent(d.score),
                            case_reference: d.case_reference,
                        })
                        .collect(),
                    hidden: REPORT_FIELDS
                        .iter()
                        .filter_map(|name| {
                            fields.get(name).map(|v| Hidden {
                                name,
                                value: v.to_owned(),
                            })
                        })
                        .collect(),
                };
                return Ok(html(StatusCode::OK, &view));
            }
            // No candidates, or no more suggestions this hour: filing lists its own duplicates.
            Ok(_) | Err(AppError::Limited { .. }) => {}
            Err(error) => {
                let (status, error) = on_form(error)?;
                return new_page(&caller, status, FormState::failed(fields, form_field(error)));
            }
        }
    }
    match app.file_report(&caller, report_input(&fields)).await {
        Ok(filed) => Ok(see_other(&format!("/reports/{}", filed.id))),
        Err(error) => {
            let (status, error) = on_form(error)?;
            new_page(&caller, status, FormState::failed(fields, form_field(error)))
        }
    }
}

struct ScoreRow {
    version: &'static str,
    vector: String,
    base_score: String,
    severity: String,
}

struct AffectedRow {
    product: String,
    versions: String,
}

/// The report this one repeats, as the reader may read it.
struct Original {
    id: String,
    title: String,
    case_id: Option<String>,
    case_reference: Option<String>,
}

/// A candidate duplicate, shown to coordinators.
struct CandidateRow {
    report_id: String,
    case_id: Option<String>,
    score: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    frame: Frame,
    title: String,
    description: String,
    tlp: Marking,
    severity: Option<Severity>,
    case_reference: Option<String>,
    case_id: Option<String>,
    scores: Vec<ScoreRow>,
    cwe: Option<String>,
    affected: Vec<AffectedRow>,
    finder: String,
    ai_found: bool,
    duplicate: bool,
    duplicate_of: Option<Original>,
    duplicate_score: Option<String>,
    /// `Some` for coordinators only.
    candidates: Option<Vec<CandidateRow>>,
    filed: String,
}

pub async fn detail(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
) -> WebResult {
    let r = app.get_report(Some(&caller), path_id(&raw)?).await?;
    // `duplicate_of` is set only when the reader may read that report; read it as the reader, the same way.
    let duplicate_of = match r.duplicate_of {
        Some(of) => {
            let o = app.get_report(Some(&caller), of).await?;
            Some(Original {
                id: o.id.to_string(),
                title: o.title,
                case_id: o.case_id.map(|c| c.to_string()),
                case_reference: o.case_reference,
            })
        }
        None => None,
    };
    let candidates = if policy::can_triage(&caller) {
        let found = app.report_candidates(&caller, r.id).await?;
        Some(
            found
                .into_iter()
                .map(|c| CandidateRow {
                    report_id: c.report_id.to_string(),
                    case_id: c.case_id.map(|c| c.to_string()),
                    score: percent(c.score),
                })
                .collect(),
        )
    } else {
        None
    };
    let scores = [("CVSS v3", &r.scores.cvss_v3), ("CVSS v4", &r.scores.cvss_v4)]
        .into_iter()
        .filter_map(|(version, s)| {
            s.as_ref().map(|s| ScoreRow {
                version,
                vector: s.vector.clone(),
                base_score: format!("{:.1}", s.base_score),
                severity: humanize(s.base_severity.as_str()),
            })
        })
        .collect();
    let tlp = Marking {
        label: r.tlp_label.to_owned(),
        class: format!("tlp-{}", r.tlp.as_str().replace('+', "-")),
    };
    let view = ReportPage {
        frame: Frame::signed_in(&caller, "report", r.title.clone()),
        title: r.title.clone(),
        description: review::markdown::render(&r.description),
        tlp,
        severity: r.severity.map(|s| Severity {
            value: s.as_str().to_owned(),
            label: humanize(s.as_str()),
        }),
        case_reference: r.case_reference.clone(),
        case_id: r.case_id.map(|c| c.to_string()),
        scores,
        cwe: r.cwe.clone(),
        affected: r
            .affected
            .iter()
            .map(|a| AffectedRow {
                product: a.purl.clone().or_else(|| a.cpe.clone()).unwrap_or_default(),
                versions: a.versions.clone(),
            })
            .collect(),
        finder: format!("{} ({})", r.finder.name, humanize(r.finder.kind)),
        ai_found: r.ai_found,
        duplicate: r.duplicate,
        duplicate_of,
        duplicate_score: r.duplicate_score.map(percent),
        candidates,
        filed: when(r.created_at),
    };
    Ok(html(StatusCode::OK, &view))
}
