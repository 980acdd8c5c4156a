//! A vendor's inbox: the cases its organisation takes part in as a vendor, newest first, with their state,
//! embargo and whether the vendor has stated its status. Only vendors' people have one.

use super::super::form::QueryFields;
use super::super::render::{Frame, WebResult, html};
use super::super::session::WebCaller;
use super::super::view::when;
use super::advisories::Marking;
use app::{App, PageRequest};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;

struct Row {
    id: String,
    reference: String,
    title: String,
    state: &'static str,
    tlp: Marking,
    embargo: String,
    stated: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    frame: Frame,
    rows: Vec<Row>,
    next: Option<String>,
}

pub async fn inbox(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    let page = app
        .vendor_inbox(
            &caller,
            &PageRequest {
                cursor: q.optional("cursor").map(str::to_owned),
                limit: Some(25),
            },
        )
        .await?;
    let rows = page
        .items
        .into_iter()
        .map(|item| {
            let c = item.case;
            Row {
                id: c.id.to_string(),
                reference: c.reference,
                title: c.title,
                state: c.state_label,
                tlp: Marking {
                    label: c.tlp_label.to_owned(),
                    class: format!("tlp-{}", c.tlp.as_str().replace('+', "-")),
                },
                embargo: match (c.published_at, c.embargo_ends_at) {
                    (Some(at), _) => format!("Published {}", when(at)),
                    (None, Some(ends)) => when(ends),
                    (None, None) => "Not set".to_owned(),
                },
                stated: item.stated,
            }
        })
        .collect();
    let view = InboxPage {
        frame: Frame::signed_in(&caller, "inbox", "Vendor inbox"),
        rows,
        next: page.next_cursor,
    };
    Ok(html(StatusCode::OK, &view))
}
