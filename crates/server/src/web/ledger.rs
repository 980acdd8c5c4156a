//! The ledger pages: the latest signed checkpoint and its key, the log's growth, and for an object the
//! events a person may see with their offline receipts.

use super::event_names::{ObjectName, ObjectTitles, action_name};
use super::render::{Frame, WebResult, html};
use super::session::WebCaller;
use super::view::when;
use app::App;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use uuid::Uuid;

/// One point of the growth chart, in SVG user units (the chart is 600 × 160).
struct Point {
    x: String,
    y: String,
}

struct CheckpointRow {
    size: i64,
    signed_at: String,
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    frame: Frame,
    checkpoint: String,
    key: String,
    size: i64,
    points: Vec<Point>,
    polyline: String,
    /// The chart's axes: entries from 0 to `max_size`, signing times from `first_at` to `last_at`.
    max_size: i64,
    first_at: String,
    last_at: String,
    rows: Vec<CheckpointRow>,
}

const CHART_W: f64 = 600.0;
const CHART_H: f64 = 160.0;

pub async fn overview(State(app): State<App>, WebCaller(caller): WebCaller) -> WebResult {
    let latest = app.latest_checkpoint().await?;
    let mut history = app.checkpoint_history(200).await?;
    history.reverse();
    let max_size = history.iter().map(|c| c.size).max().unwrap_or(0).max(1);
    let max = max_size as f64;
    let first_at = history.first().map(|c| when(c.signed_at)).unwrap_or_default();
    let last_at = history.last().map(|c| when(c.signed_at)).unwrap_or_default();
    let (first, last) = (
        history.first().map(|c| c.signed_at.timestamp()).unwrap_or(0),
        history.last().map(|c| c.signed_at.timestamp()).unwrap_or(0),
    );
    let span = (last - first).max(1) as f64;
    let points: Vec<Point> = history
        .iter()
        .map(|c| Point {
            x: format!("{:.1}", (c.signed_at.timestamp() - first) as f64 / span * CHART_W),
            y: format!("{:.1}", CHART_H - c.size as f64 / max * CHART_H),
        })
        .collect();
    let polyline = points
        .iter()
        .map(|p| format!("{},{}", p.x, p.y))
        .collect::<Vec<_>>()
        .join(" ");
    let rows = history
        .iter()
        .rev()
        .take(20)
        .map(|c| CheckpointRow {
            size: c.size,
            signed_at: when(c.signed_at),
        })
        .collect();
    let page = LedgerPage {
        frame: Frame::signed_in(&caller, "ledger", "Transparency ledger"),
        checkpoint: latest.note,
        key: app.verifier_key(),
        size: latest.size,
        points,
        polyline,
        max_size,
        first_at,
        last_at,
        rows,
    };
    Ok(html(StatusCode::OK, &page))
}

struct EventRow {
    id: Uuid,
    at: String,
    action: String,
}

#[derive(Template)]
#[template(path = "ledger_object.html")]
struct ObjectPage {
    frame: Frame,
    object: ObjectName,
    events: Vec<EventRow>,
}

/// The events of a notice, finding or assessment the caller may see. An object without any is "not found".
pub async fn object(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
) -> WebResult {
    let id: Uuid = raw.parse().map_err(|_| app::AppError::NotFound("object"))?;
    let events = app.events_of(&caller, id).await?;
    if events.is_empty() {
        return Err(app::AppError::NotFound("object").into());
    }
    let kind = events.first().map(|e| e.object_type.clone()).unwrap_or_default();
    let events = events
        .into_iter()
        .map(|e| EventRow {
            id: e.id,
            at: when(e.at),
            action: action_name(&e.action),
        })
        .collect();
    let object = ObjectTitles::new(&app, &caller).name(&kind, Some(id)).await;
    let page = ObjectPage {
        frame: Frame::signed_in(&caller, "ledger", "In the ledger"),
        object,
        events,
    };
    Ok(html(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "ledger_event.html")]
struct EventPage {
    frame: Frame,
    event_id: Uuid,
    index: u64,
    checkpoint_size: u64,
    event: String,
    receipt: String,
    verified: bool,
    problem: String,
    key: String,
}

pub async fn event(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
) -> WebResult {
    let id: Uuid = raw.parse().map_err(|_| app::AppError::NotFound("event"))?;
    let receipt = app.receipt_view(&caller, id).await?;
    let page = EventPage {
        frame: Frame::signed_in(&caller, "ledger", "Ledger receipt"),
        event_id: id,
        index: receipt.index,
        checkpoint_size: receipt.checkpoint_size,
        event: serde_json::to_string_pretty(&receipt.event).unwrap_or_default(),
        verified: receipt.verified.is_ok(),
        problem: receipt.verified.err().unwrap_or_default(),
        receipt: receipt.text,
        key: app.verifier_key(),
    };
    Ok(html(StatusCode::OK, &page))
}

/// An event's receipt as a file to keep: `event-<id>.tlog-proof`, for whoever may see the event.
pub async fn receipt(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
) -> WebResult {
    let id: Uuid = raw.parse().map_err(|_| app::AppError::NotFound("event"))?;
    let receipt = app.receipt(&caller, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, receipt_disposition(id)),
        ],
        receipt,
    )
        .into_response())
}

/// The `Content-Disposition` of a receipt download.
pub fn receipt_disposition(id: Uuid) -> String {
    format!("attachment; filename=\"event-{id}.tlog-proof\"")
}
