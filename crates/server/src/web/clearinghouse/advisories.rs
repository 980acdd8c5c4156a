//! The advisory pages: the list and one advisory, readable without signing in when marked TLP:CLEAR, by
//! their marking otherwise. An advisory the reader may not read is the same "not found" page as none at all.

use super::super::form::QueryFields;
use super::super::notices::path_id;
use super::super::render::{Frame, WebResult, html};
use super::super::session::MaybeWebCaller;
use super::super::view::{humanize, when};
use app::{App, PageRequest};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A TLP marking as shown: its label (`TLP:AMBER+STRICT`) and the class giving it FIRST's colours.
pub struct Marking {
    pub label: String,
    pub class: String,
}

impl Marking {
    fn of(a: &Value) -> Marking {
        let value = text(a, "tlp");
        Marking {
            label: text(a, "tlp_label"),
            class: format!("tlp-{}", value.replace('+', "-")),
        }
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn published(v: &Value) -> String {
    v.get("published_at")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| when(t.with_timezone(&Utc)))
        .unwrap_or_default()
}

/// A severity as a badge: its keyword (the badge's class) and its word.
pub struct Severity {
    pub value: String,
    pub label: String,
}

fn severity(v: &Value) -> Option<Severity> {
    v.get("severity").and_then(Value::as_str).map(|s| Severity {
        value: s.to_owned(),
        label: humanize(s),
    })
}

struct Row {
    id: String,
    reference: String,
    title: String,
    tlp: Marking,
    severity: Option<Severity>,
    published: String,
}

#[derive(Template)]
#[template(path = "advisories.html")]
struct ListPage {
    frame: Frame,
    rows: Vec<Row>,
    next: Option<String>,
}

fn frame(caller: Option<&app::Caller>, title: impl Into<String>) -> Frame {
    match caller {
        Some(c) => Frame::signed_in(c, "advisories", title),
        None => Frame::anonymous(title),
    }
}

pub async fn list(
    State(app): State<App>,
    MaybeWebCaller(caller): MaybeWebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    let cursor = q.optional("cursor").map(str::to_owned);
    let page = app
        .list_advisories(caller.as_ref(), &PageRequest { cursor, limit: None })
        .await?;
    let rows = page
        .items
        .iter()
        .map(|a| Row {
            id: text(&a.0, "id"),
            reference: text(&a.0, "reference"),
            title: text(&a.0, "title"),
            tlp: Marking::of(&a.0),
            severity: severity(&a.0),
            published: published(&a.0),
        })
        .collect();
    let view = ListPage {
        frame: frame(caller.as_ref(), "Advisories"),
        rows,
        next: page.next_cursor,
    };
    Ok(html(StatusCode::OK, &view))
}

struct Score {
    version: &'static str,
    vector: String,
    base_score: String,
    severity: Option<Severity>,
}

struct Affected {
    product: String,
    versions: String,
    fixed_in: String,
}

struct Remedy {
    vendor: String,
    status: String,
    statement: String,
}

struct Credit {
    name: String,
    kind: String,
    ai_found: bool,
}

#[derive(Template)]
#[template(path = "advisory.html")]
struct AdvisoryPage {
    frame: Frame,
    reference: String,
    title: String,
    tlp: Marking,
    severity: Option<Severity>,
    published: String,
    case_reference: String,
    summary: String,
    scores: Vec<Score>,
    cwe: Vec<String>,
    affected: Vec<Affected>,
    remediation: Vec<Remedy>,
    credits: Vec<Credit>,
}

pub async fn detail(
    State(app): State<App>,
    MaybeWebCaller(caller): MaybeWebCaller,
    Path(raw): Path<String>,
) -> WebResult {
    let advisory = app.get_advisory(caller.as_ref(), path_id(&raw)?).await?;
    let a = &advisory.0;
    let scores = [("CVSS v3", "cvss_v3"), ("CVSS v4", "cvss_v4")]
        .into_iter()
        .filter_map(|(version, key)| {
            let s = a.get("scores")?.get(key)?;
            let base = s.get("base_score")?.as_f64()?;
            Some(Score {
                version,
                vector: text(s, "vector"),
                base_score: format!("{base:.1}"),
                severity: severity(s),
            })
        })
        .collect();
    let list = |v: &Value| {
        v.as_array()
            .map(|xs| xs.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    let view = AdvisoryPage {
        frame: frame(caller.as_ref(), text(a, "reference")),
        reference: text(a, "reference"),
        title: text(a, "title"),
        tlp: Marking::of(a),
        severity: severity(a),
        published: published(a),
        case_reference: text(a, "case_reference"),
        summary: review::markdown::render(&text(a, "summary")),
        scores,
        cwe: items(a, "cwe")
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        affected: items(a, "affected")
            .map(|x| Affected {
                product: text(x, "product"),
                versions: text(x, "versions"),
                fixed_in: x.get("fixed_in").map(list).unwrap_or_default(),
            })
            .collect(),
        remediation: items(a, "remediation")
            .map(|x| Remedy {
                vendor: text(x, "vendor"),
                status: text(x, "status_label"),
                statement: text(x, "statement"),
            })
            .collect(),
        credits: items(a, "credits")
            .map(|x| Credit {
                name: text(x, "name"),
                kind: humanize(&text(x, "kind")),
                ai_found: x.get("ai_found").and_then(Value::as_bool).unwrap_or(false),
            })
            .collect(),
    };
    Ok(html(StatusCode::OK, &view))
}
