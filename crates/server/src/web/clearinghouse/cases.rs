//! A case's page, read-only: its state, embargo and days left, participants, vendor statuses, credits and
//! discussion, for those the case's marking admits (anyone else gets the not-found page).

use super::super::notices::path_id;
use super::super::render::{Frame, WebResult, html, plural};
use super::super::session::WebCaller;
use super::super::view::{humanize, when};
use super::advisories::Marking;
use app::{App, AppError, PageRequest};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;

struct Participant {
    name: String,
    role: &'static str,
    notified: String,
    notes: Vec<String>,
}

struct Status {
    vendor: String,
    status: &'static str,
    statement: String,
    updated: String,
}

struct Credit {
    name: String,
    kind: String,
    ai_found: bool,
    duplicate: bool,
}

struct Post {
    author: String,
    org: String,
    at: String,
    body_html: String,
    reply: bool,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    frame: Frame,
    reference: String,
    title: String,
    state: &'static str,
    tlp: Marking,
    embargo: Option<String>,
    days_left: Option<String>,
    published: Option<String>,
    summary_html: String,
    sectors: Vec<String>,
    participants: Vec<Participant>,
    statuses: Vec<Status>,
    credits: Vec<Credit>,
    /// `None` when the reader may read the case but not its discussion.
    posts: Option<Vec<Post>>,
}

pub async fn detail(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
) -> WebResult {
    let id = path_id(&raw)?;
    let case = app.get_case(&caller, id).await?;
    let posts = match app
        .list_case_posts(
            &caller,
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
                    author: p.author_name,
                    org: p.org_name,
                    at: when(p.created_at),
                    body_html: p.body_html,
                    reply: p.reply_to.is_some(),
                })
                .collect(),
        ),
        Err(AppError::Forbidden(_)) => None,
        Err(other) => return Err(other.into()),
    };
    let now = app.clock.now();
    let s = &case.summary;
    let days_left = s
        .embargo_ends_at
        .filter(|_| s.published_at.is_none())
        .map(|ends| {
            let seconds = (ends - now).num_seconds();
            if seconds <= 0 {
                "Ended".to_owned()
            } else {
                format!("{} left", plural((seconds + 86_399) / 86_400, "day"))
            }
        });
    let view = CasePage {
        frame: Frame::signed_in(&caller, "cases", s.reference.clone()),
        reference: s.reference.clone(),
        title: s.title.clone(),
        state: s.state_label,
        tlp: Marking {
            label: s.tlp_label.to_owned(),
            class: format!("tlp-{}", s.tlp.as_str().replace('+', "-")),
        },
        embargo: s.embargo_ends_at.map(when),
        days_left,
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
        statuses: case
            .vendor_statuses
            .iter()
            .map(|v| Status {
                vendor: v.name.clone(),
                status: v.status_label,
                statement: v.statement.clone(),
                updated: when(v.updated_at),
            })
            .collect(),
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
    };
    Ok(html(StatusCode::OK, &view))
}
