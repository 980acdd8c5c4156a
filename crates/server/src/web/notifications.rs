//! The signed-in person's notifications: the list, opening one (which marks it read), marking read, and the
//! e-mail preferences.

use super::form::QueryFields;
use super::notices::path_id;
use super::render::{Frame, WebResult, html, see_other};
use super::session::{SignedInForm, WebCaller};
use super::view::when;
use app::notifications::NotificationKind;
use app::{App, AppError, PageRequest};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;

struct Row {
    id: String,
    title: String,
    created: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    frame: Frame,
    items: Vec<Row>,
    next: Option<String>,
    unread: i64,
    unread_only: bool,
}

pub async fn list(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    let unread_only = q.get("unread") == Some("true");
    let cursor = q.optional("cursor").map(str::to_owned);
    let page = app
        .list_notifications(&caller, unread_only, &PageRequest { cursor, limit: None })
        .await?;
    let unread = app.unread_notifications(&caller).await?;
    let items = page
        .items
        .into_iter()
        .map(|n| Row {
            id: n.id.to_string(),
            title: n.title,
            created: when(n.created_at),
            unread: n.read_at.is_none(),
        })
        .collect();
    let view = NotificationsPage {
        frame: Frame::signed_in(&caller, "notifications", "Notifications"),
        items,
        next: page.next_cursor,
        unread,
        unread_only,
    };
    Ok(html(StatusCode::OK, &view))
}

/// Marks one read; with `open`, goes on to what it is about.
pub async fn read(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let read = app.mark_notification_read(&form.caller, path_id(&raw)?).await?;
    // Links are paths this service made; anything else (never expected) stays on the list.
    let local = read.link.starts_with('/') && !read.link.starts_with("//") && !read.link.contains('\\');
    if form.fields.get("open").is_some() && local {
        return Ok(see_other(&read.link));
    }
    Ok(see_other("/notifications"))
}

pub async fn read_all(State(app): State<App>, form: SignedInForm) -> WebResult {
    app.mark_all_notifications_read(&form.caller).await?;
    Ok(see_other("/notifications"))
}

struct KindChoice {
    name: &'static str,
    label: &'static str,
    on: bool,
}

#[derive(Template)]
#[template(path = "notification_preferences.html")]
struct PreferencesPage {
    frame: Frame,
    kinds: Vec<KindChoice>,
    delivery: &'static str,
    email_enabled: bool,
    saved: bool,
    error: Option<String>,
}

/// What a person reads for each kind.
fn label(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::NoticeShared => "A notice is shared with my agency",
        NotificationKind::AccessEnded => "A notice is no longer shared with my agency",
        NotificationKind::Assigned => "I am assigned to a notice",
        NotificationKind::Unassigned => "I am removed from a notice",
        NotificationKind::FindingCreated => "A new finding",
        NotificationKind::AssessmentCreated => "A new assessment",
        NotificationKind::FindingStatusChanged => "A finding's status changed",
        NotificationKind::FindingResponded => "A new response on a finding",
        NotificationKind::LaunchMoved => "A launch moved",
        NotificationKind::NoticeLaunched => "A model launched",
        NotificationKind::NoticeWithdrawn => "A notice was withdrawn",
        NotificationKind::WindowOpening => "A review window opens soon",
        NotificationKind::WindowClosing => "A review window closes soon",
        NotificationKind::TokenExpiring => "My gateway token expires soon",
        NotificationKind::WebhookFailing => "A webhook of my organisation is failing",
        NotificationKind::ReportDuplicate => "My report joined a case as a duplicate",
        NotificationKind::CaseEmbargoEnding => "The embargo of a case I take part in ends soon",
        NotificationKind::AdvisoryPublished => "An advisory I subscribed to is published",
        NotificationKind::CaseVendorsNotified => "A disclosure case is sent to my organisation as a vendor",
    }
}

async fn preferences_page(
    app: &App,
    caller: &app::Caller,
    status: StatusCode,
    saved: bool,
    error: Option<String>,
) -> WebResult {
    let prefs = app.notification_preferences(caller).await?;
    let view = PreferencesPage {
        frame: Frame::signed_in(caller, "notifications", "E-mail preferences"),
        kinds: NotificationKind::ALL
            .into_iter()
            .map(|k| KindChoice {
                name: k.as_str(),
                label: label(k),
                on: prefs.email_kinds.contains(&k.as_str()),
            })
            .collect(),
        delivery: prefs.email_delivery,
        email_enabled: prefs.email_enabled,
        saved,
        error,
    };
    Ok(html(status, &view))
}

pub async fn preferences(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    preferences_page(&app, &caller, StatusCode::OK, q.get("saved").is_some(), None).await
}

pub async fn set_preferences(State(app): State<App>, form: SignedInForm) -> WebResult {
    let SignedInForm { caller, fields } = form;
    let kinds: Vec<String> = fields.all("email_kinds").map(str::to_owned).collect();
    match app
        .set_notification_preferences(&caller, &kinds, fields.text("email_delivery"))
        .await
    {
        Ok(_) => Ok(see_other("/notifications/preferences?saved=1")),
        Err(AppError::Invalid(error)) => {
            preferences_page(
                &app,
                &caller,
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
                Some(error.to_string()),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
