//! An organisation's webhook endpoints, for its admins: the list, a form that creates one and shows its
//! signing secret once, enabling and disabling, and each endpoint's delivery log.

use super::form::{FormState, QueryFields};
use super::notices::path_id;
use super::render::{Frame, WebResult, html, see_other};
use super::session::{SignedInForm, WebCaller};
use super::view::{Choice, when};
use app::notifications::NotificationKind;
use app::webhooks::{NewWebhook, WebhookChange, WebhookView};
use app::{App, Caller, PageRequest};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;

struct EndpointRow {
    id: String,
    url: String,
    description: String,
    events: String,
    enabled: bool,
    status: String,
}

impl EndpointRow {
    fn new(e: &WebhookView) -> Self {
        let status = match (&e.disabled_reason, e.enabled, e.failing_since) {
            (_, true, Some(since)) => format!("Enabled, failing since {}", when(since)),
            (_, true, None) => "Enabled".to_owned(),
            (Some(reason), false, _) => format!("Disabled: {reason}"),
            (None, false, _) => "Disabled".to_owned(),
        };
        EndpointRow {
            id: e.id.to_string(),
            url: e.url.clone(),
            description: e.description.clone(),
            events: e.events.join(", "),
            enabled: e.enabled,
            status,
        }
    }
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    frame: Frame,
    endpoints: Vec<EndpointRow>,
    next: Option<String>,
    form: FormState,
    kinds: Vec<Choice>,
    /// The secret of the endpoint just made, shown this once.
    secret: Option<String>,
}

struct DeliveryRow {
    at: String,
    message_id: String,
    event_type: String,
    attempt: i32,
    status: String,
    latency: String,
    outcome: String,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct WebhookPage {
    frame: Frame,
    endpoint: EndpointRow,
    deliveries: Vec<DeliveryRow>,
    next: Option<String>,
    tested: bool,
}

async fn list_page(
    app: &App,
    caller: &Caller,
    cursor: Option<String>,
    status: StatusCode,
    form: FormState,
    secret: Option<String>,
) -> WebResult {
    let page = app
        .list_webhooks(caller, &PageRequest { cursor, limit: None })
        .await?;
    let view = WebhooksPage {
        frame: Frame::signed_in(caller, "webhooks", "Webhooks"),
        endpoints: page.items.iter().map(EndpointRow::new).collect(),
        next: page.next_cursor,
        form,
        kinds: NotificationKind::ALL
            .iter()
            .map(|k| Choice::new(k.as_str(), k.as_str()))
            .collect(),
        secret,
    };
    Ok(html(status, &view))
}

pub async fn list(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    list_page(
        &app,
        &caller,
        q.cursor(),
        StatusCode::OK,
        FormState::default(),
        None,
    )
    .await
}

pub async fn create(State(app): State<App>, form: SignedInForm) -> WebResult {
    let SignedInForm { caller, fields } = form;
    let input = NewWebhook {
        url: fields.text("url").to_owned(),
        events: fields.all("events").map(str::to_owned).collect(),
        description: fields.optional("description").map(str::to_owned),
    };
    match app.create_webhook(&caller, input).await {
        // The secret is in this response only: it is kept sealed and never shown again.
        Ok(created) => {
            list_page(
                &app,
                &caller,
                None,
                StatusCode::OK,
                FormState::default(),
                Some(created.secret),
            )
            .await
        }
        Err(error) => {
            let (status, form) = FormState::refused(fields, error)?;
            list_page(&app, &caller, None, status, form, None).await
        }
    }
}

pub async fn detail(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
    QueryFields(q): QueryFields,
) -> WebResult {
    let id = path_id(&raw)?;
    let endpoint = app.get_webhook(&caller, id).await?;
    let cursor = q.cursor();
    let page = app
        .list_webhook_deliveries(&caller, id, &PageRequest { cursor, limit: None })
        .await?;
    let deliveries = page
        .items
        .iter()
        .map(|d| DeliveryRow {
            at: when(d.at),
            message_id: d.message_id.clone(),
            event_type: d.event_type.clone(),
            attempt: d.attempt,
            status: d
                .status_code
                .map(|s| s.to_string())
                .unwrap_or_else(|| "—".to_owned()),
            latency: format!("{} ms", d.latency_ms),
            outcome: if d.delivered {
                "Delivered".to_owned()
            } else {
                d.error.clone().unwrap_or_else(|| "Failed".to_owned())
            },
        })
        .collect();
    let view = WebhookPage {
        frame: Frame::signed_in(&caller, "webhooks", "Webhook endpoint"),
        endpoint: EndpointRow::new(&endpoint),
        deliveries,
        next: page.next_cursor,
        tested: q.optional("tested").is_some(),
    };
    Ok(html(StatusCode::OK, &view))
}

pub async fn set_enabled(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let change = WebhookChange {
        enabled: Some(form.fields.text("enabled") == "true"),
        ..WebhookChange::default()
    };
    app.update_webhook(&form.caller, id, change).await?;
    Ok(see_other(&format!("/webhooks/{id}")))
}

pub async fn test(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    app.ping_webhook(&form.caller, id).await?;
    Ok(see_other(&format!("/webhooks/{id}?tested=1")))
}

pub async fn delete(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    app.delete_webhook(&form.caller, path_id(&raw)?).await?;
    Ok(see_other("/webhooks"))
}
