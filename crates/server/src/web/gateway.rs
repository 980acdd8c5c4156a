//! The model access gateway's pages under a notice: the developer's model connections (with a test call), the
//! evaluators' gateway tokens (shown once), and usage (see `usage.rs`).
//!
//! A connection's credential and extra header values are write-only here as everywhere: the forms take them,
//! no page shows them again, and a form shown again after a mistake leaves them empty.

use super::form::{Fields, FormState, QueryFields, on_form};
use super::notices::{path_id, person_name};
use super::render::{Frame, WebError, WebResult, capitalise, html, plural, see_other};
use super::session::{SignedInForm, WebCaller};
use super::tokens::token_status;
use super::usage::{grouped, millis};
use super::view::{Choice, when};
use accounts::Secret;
use app::gateway::{ConnectionInput, ConnectionView, GatewayModel};
use app::program::NoticeView;
use app::{App, AppResult, Caller, PageRequest, policy};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gateway::settings::{
    self, DEFAULT_TIMEOUT_SECONDS, MAX_EVENT_BYTES, MAX_POST_LAUNCH_DAYS, MAX_RESPONSE_BYTES,
    MAX_STREAM_BYTES, MAX_TIMEOUT_SECONDS, MIN_RESPONSE_LIMIT,
};
use gateway::{ApiStyle, Limits, Probe, ResponseLimits, Retention};
use review::{NoticeState, ValidationError};
use uuid::Uuid;

/// A link of the gateway pages' own navigation.
pub struct Tab {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// What every gateway page shows of its notice: the way back to it, and the links between the pages.
pub struct NoticeHead {
    pub id: Uuid,
    pub model: String,
    pub version: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub withdrawn: bool,
    pub tabs: Vec<Tab>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Connections,
    Tokens,
    Usage,
}

impl NoticeHead {
    pub fn new(caller: &Caller, n: &NoticeView, section: Section) -> NoticeHead {
        let mut tabs = Vec::new();
        let mut tab = |s: Section, path: &str, label| {
            tabs.push(Tab {
                href: format!("/notices/{}/{path}", n.id),
                label,
                current: s == section,
            });
        };
        if policy::manages_notices_of(caller, n.developer_org_id) {
            tab(Section::Connections, "connections", "Model connections");
        }
        tab(Section::Tokens, "gateway-tokens", "Gateway tokens");
        tab(Section::Usage, "gateway-usage", "Usage");
        NoticeHead {
            id: n.id,
            model: n.model_name.clone(),
            version: n.model_version.clone(),
            state: n.state.as_str(),
            state_label: n.state.label(),
            withdrawn: n.state == NoticeState::Withdrawn,
            tabs,
        }
    }
}

/// The address evaluators configure their clients with.
pub fn gateway_url(app: &App) -> String {
    format!("{}/gateway/v1", app.config.public_url.trim_end_matches('/'))
}

/// A message from `app` as a sentence on the page.
fn sentence(message: &str) -> String {
    let text = capitalise(message.trim_end_matches('.'));
    format!("{text}.")
}

fn style_label(style: &str) -> &'static str {
    match style {
        "openai" => "OpenAI chat completions",
        "anthropic" => "Anthropic messages",
        _ => "Unknown",
    }
}

/// The endpoint under the gateway's address that a model of this style is called at.
fn style_endpoint(style: &str) -> &'static str {
    match style {
        "anthropic" => "/messages",
        _ => "/chat/completions",
    }
}

fn retention_text(retention: &str) -> &'static str {
    match retention {
        "none" => "Nothing is kept of prompts and completions: only the usage record of each call.",
        "digest" => {
            "SHA-256 digests of each request and response, to prove later what was exchanged; not the texts."
        }
        "encrypted" => {
            "Digests, and the full texts encrypted under the master key, readable by the evaluating agency."
        }
        _ => "",
    }
}

fn post_launch_text(days: i64) -> String {
    if days == 0 {
        "Ends at launch".to_owned()
    } else {
        format!("{} after launch", plural(days, "day"))
    }
}

// Model connections.

/// A retention option: its value, its name and what it keeps.
struct RetentionChoice {
    value: &'static str,
    label: String,
    text: &'static str,
}

struct ConnectionCard {
    id: Uuid,
    model: String,
    style: &'static str,
    endpoint: &'static str,
    base_url: String,
    upstream_model: String,
    header_names: String,
    requests_per_minute: String,
    tokens_per_minute: String,
    concurrency: String,
    /// The caps on each agency as a whole, when any.
    agency_limits: Option<String>,
    post_launch: String,
    retention: String,
    retention_text: &'static str,
    timeout_seconds: i64,
    answers: String,
    updated: String,
}

impl From<&ConnectionView> for ConnectionCard {
    fn from(c: &ConnectionView) -> Self {
        ConnectionCard {
            id: c.id,
            model: c.model.clone(),
            style: style_label(&c.api_style),
            endpoint: style_endpoint(&c.api_style),
            base_url: c.base_url.clone(),
            upstream_model: c.upstream_model.clone(),
            header_names: c.header_names.join(", "),
            requests_per_minute: grouped(c.requests_per_minute),
            tokens_per_minute: grouped(c.tokens_per_minute),
            concurrency: grouped(c.concurrency),
            agency_limits: agency_limits_text(c),
            post_launch: post_launch_text(c.post_launch_days),
            retention: super::view::humanize(&c.retention),
            retention_text: retention_text(&c.retention),
            timeout_seconds: c.timeout_seconds,
            answers: format!(
                "{} per response, {} per stream event, {} per stream",
                size(c.max_response_bytes),
                size(c.max_event_bytes),
                size(c.max_stream_bytes)
            ),
            updated: when(c.updated_at),
        }
    }
}

/// The caps on each agency, as a sentence ("12 requests/min, 4 at once"), or `None` when there are none.
fn agency_limits_text(c: &ConnectionView) -> Option<String> {
    let parts: Vec<String> = [
        (c.agency_requests_per_minute, "requests/min"),
        (c.agency_tokens_per_minute, "tokens/min"),
        (c.agency_concurrency, "at once"),
    ]
    .into_iter()
    .filter_map(|(cap, unit)| cap.map(|n| format!("{} {unit}", grouped(n))))
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// "16 MiB", "64 KiB", "1,500 bytes".
fn size(bytes: i64) -> String {
    const KIB: i64 = 1024;
    match bytes {
        b if b >= KIB * KIB && b % (KIB * KIB) == 0 => format!("{} MiB", grouped(b / (KIB * KIB))),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", grouped(b / KIB)),
        b => format!("{} bytes", grouped(b)),
    }
}

/// The outcome of a test call, as shown: never more than the app reports.
struct ProbeResult {
    model: String,
    ok: bool,
    /// The upstream's status, when it answered.
    status: Option<String>,
    latency: String,
    message: String,
    /// Which step failed, in words ("Connection refused"), when it failed.
    failure: Option<&'static str>,
    /// The start of the model's reply, when it answered.
    reply: Option<String>,
    /// The streamed call: whether it worked and what happened, when it was made.
    stream: Option<(bool, String)>,
}

/// A test call's failure, as the result's heading names it.
fn failure_title(failure: gateway::Failure) -> &'static str {
    use gateway::Failure;
    match failure {
        Failure::NameNotResolved => "Host name not found",
        Failure::ConnectionRefused => "Connection refused",
        Failure::Tls => "Secure connection (TLS) failed",
        Failure::Timeout => "No answer in time",
        Failure::HttpStatus => "Error status",
        Failure::AddressNotAllowed => "Address not allowed",
        Failure::Unreachable => "Not reachable",
        Failure::BadReply => "Answer unreadable",
    }
}

/// What the connection form offers and explains, shared by the add and change pages.
struct ConnectionForm {
    form: FormState,
    action: String,
    submit: &'static str,
    styles: Vec<Choice>,
    retentions: Vec<RetentionChoice>,
    model_hint: String,
    credential_label: &'static str,
    credential_hint: &'static str,
    headers_hint: String,
    post_launch_hint: String,
    timeout_hint: String,
    answers_hint: String,
    /// Changing: the credential and headers are kept unless given again.
    editing: bool,
    /// Changing a connection that has extra headers: they can be removed.
    header_names: bool,
}

impl ConnectionForm {
    fn new(n: &NoticeView, form: FormState, editing: Option<&ConnectionView>) -> ConnectionForm {
        ConnectionForm {
            action: match editing {
                Some(c) => format!("/notices/{}/connections/{}", n.id, c.id),
                None => format!("/notices/{}/connections", n.id),
            },
            submit: if editing.is_some() {
                "Save changes"
            } else {
                "Add connection"
            },
            styles: ApiStyle::ALL
                .iter()
                .map(|s| Choice::new(s.as_str(), style_label(s.as_str())))
                .collect(),
            retentions: Retention::ALL
                .iter()
                .map(|r| RetentionChoice {
                    value: r.as_str(),
                    label: super::view::humanize(r.as_str()),
                    text: retention_text(r.as_str()),
                })
                .collect(),
            model_hint: format!(
                "What evaluators call the model. Leave empty for {}.",
                settings::notice_slug(&n.model_name, &n.model_version)
            ),
            credential_label: if editing.is_some() {
                "Replace the credential (optional)"
            } else {
                "Credential"
            },
            credential_hint: match (editing.is_some(), form.error.is_some()) {
                (true, _) => "A credential is set. Leave this empty to keep it: it is never shown, only replaced.",
                (false, false) => {
                    "The API key the gateway presents to your API. It is encrypted at rest and never shown again, to anyone."
                }
                (false, true) => "Enter it again: a credential is never sent back to the browser.",
            },
            headers_hint: match editing {
                Some(c) if !c.header_names.is_empty() => format!(
                    "Set now: {}. Entering headers replaces them all; leave this empty to keep them. Values are never shown.",
                    c.header_names.join(", ")
                ),
                _ => "Optional. One per line, as Name: value, for example OpenAI-Organization: org-123. Sent with every call; values are kept like the credential.".to_owned(),
            },
            post_launch_hint: format!(
                "0 ends access when the model launches; at most {MAX_POST_LAUNCH_DAYS} days after it."
            ),
            timeout_hint: format!(
                "How long one call may take upstream, 1 to {MAX_TIMEOUT_SECONDS} seconds."
            ),
            answers_hint: format!(
                "The most the gateway reads of your API's answers, in bytes; a larger answer ends the call with an \
                 error. Each from {MIN_RESPONSE_LIMIT} to {}, {} and {}.",
                size(i64::from(MAX_RESPONSE_BYTES)),
                size(i64::from(MAX_EVENT_BYTES)),
                size(i64::from(MAX_STREAM_BYTES))
            ),
            editing: editing.is_some(),
            header_names: editing.is_some_and(|c| !c.header_names.is_empty()),
            form,
        }
    }

    /// The values a new connection starts with.
    fn defaults() -> FormState {
        let limits = Limits::default();
        let answers = ResponseLimits::default();
        FormState::with(&[
            ("api_style", ApiStyle::OpenAi.as_str()),
            ("requests_per_minute", &limits.requests_per_minute.to_string()),
            ("tokens_per_minute", &limits.tokens_per_minute.to_string()),
            ("concurrency", &limits.concurrency.to_string()),
            ("post_launch_days", "0"),
            ("retention", Retention::Digest.as_str()),
            ("timeout_seconds", &DEFAULT_TIMEOUT_SECONDS.to_string()),
            ("max_response_bytes", &answers.max_response_bytes.to_string()),
            ("max_event_bytes", &answers.max_event_bytes.to_string()),
            ("max_stream_bytes", &answers.max_stream_bytes.to_string()),
        ])
    }

    /// A stored connection's settings, to change them.
    fn of(c: &ConnectionView) -> FormState {
        FormState::with(&[
            ("model", &c.model),
            ("api_style", &c.api_style),
            ("base_url", &c.base_url),
            ("upstream_model", &c.upstream_model),
            ("requests_per_minute", &c.requests_per_minute.to_string()),
            ("tokens_per_minute", &c.tokens_per_minute.to_string()),
            ("concurrency", &c.concurrency.to_string()),
            (
                "agency_requests_per_minute",
                &optional(c.agency_requests_per_minute),
            ),
            ("agency_tokens_per_minute", &optional(c.agency_tokens_per_minute)),
            ("agency_concurrency", &optional(c.agency_concurrency)),
            ("post_launch_days", &c.post_launch_days.to_string()),
            ("retention", &c.retention),
            ("timeout_seconds", &c.timeout_seconds.to_string()),
            ("max_response_bytes", &c.max_response_bytes.to_string()),
            ("max_event_bytes", &c.max_event_bytes.to_string()),
            ("max_stream_bytes", &c.max_stream_bytes.to_string()),
        ])
    }
}

#[derive(Template)]
#[template(path = "gateway_connections.html")]
struct ConnectionsPage {
    frame: Frame,
    head: NoticeHead,
    connections: Vec<ConnectionCard>,
    probe: Option<ProbeResult>,
    setup: ConnectionForm,
    gateway_url: String,
}

async fn connections_page(
    app: &App,
    caller: &Caller,
    id: Uuid,
    status: StatusCode,
    form: Option<FormState>,
    probe: Option<ProbeResult>,
) -> WebResult {
    let n = app.get_notice(caller, id).await?;
    let connections = app.list_connections(caller, id).await?;
    let form = form.unwrap_or_else(ConnectionForm::defaults);
    let page = ConnectionsPage {
        frame: Frame::signed_in(caller, "notices", format!("Model connections · {}", n.model_name)),
        head: NoticeHead::new(caller, &n, Section::Connections),
        connections: connections.iter().map(ConnectionCard::from).collect(),
        probe,
        setup: ConnectionForm::new(&n, form, None),
        gateway_url: gateway_url(app),
    };
    Ok(html(status, &page))
}

pub async fn connections(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
) -> WebResult {
    connections_page(&app, &caller, path_id(&raw)?, StatusCode::OK, None, None).await
}

/// A cap as a form shows it: blank when there is none.
fn optional(cap: Option<i64>) -> String {
    cap.map(|n| n.to_string()).unwrap_or_default()
}

/// The extra headers as entered, one `Name: value` per line. When changing a connection, an empty box keeps
/// the stored headers and the "remove" box clears them.
fn headers(fields: &Fields, editing: bool) -> Result<Option<Vec<(String, Secret)>>, ValidationError> {
    if editing && fields.ticked("clear_headers") {
        return Ok(Some(Vec::new()));
    }
    let lines = fields.lines("headers");
    if lines.is_empty() {
        return Ok(if editing { None } else { Some(Vec::new()) });
    }
    lines
        .iter()
        .map(|line| {
            line.split_once(':')
                .map(|(name, value)| (name.trim().to_owned(), Secret::new(value.trim().to_owned())))
                .ok_or_else(|| ValidationError::new("headers", "write one header per line, as Name: value"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn connection_input(fields: &Fields, editing: bool) -> Result<ConnectionInput, ValidationError> {
    Ok(ConnectionInput {
        model: fields.optional("model").map(str::to_owned),
        api_style: fields.text("api_style").to_owned(),
        base_url: fields.text("base_url").to_owned(),
        upstream_model: fields.text("upstream_model").to_owned(),
        credential: fields.optional("credential").map(|c| Secret::new(c.to_owned())),
        headers: headers(fields, editing)?,
        requests_per_minute: fields.number("requests_per_minute")?,
        tokens_per_minute: fields.number("tokens_per_minute")?,
        concurrency: fields.number("concurrency")?,
        agency_requests_per_minute: fields.number("agency_requests_per_minute")?,
        agency_tokens_per_minute: fields.number("agency_tokens_per_minute")?,
        agency_concurrency: fields.number("agency_concurrency")?,
        post_launch_days: fields.number("post_launch_days")?,
        retention: fields.optional("retention").map(str::to_owned),
        timeout_seconds: fields.number("timeout_seconds")?,
        max_response_bytes: fields.number("max_response_bytes")?,
        max_event_bytes: fields.number("max_event_bytes")?,
        max_stream_bytes: fields.number("max_stream_bytes")?,
    })
}

/// A failed connection form, to show again: its values, less the secrets.
fn failed_connection_form(fields: &Fields, error: ValidationError) -> FormState {
    FormState::failed(fields.without(&["credential", "headers"]), error)
}

pub async fn create_connection(
    State(app): State<App>,
    Path(raw): Path<String>,
    form: SignedInForm,
) -> WebResult {
    let id = path_id(&raw)?;
    let SignedInForm { caller, fields } = form;
    let created = match connection_input(&fields, false) {
        Ok(input) => app.create_connection(&caller, id, input).await,
        Err(error) => Err(error.into()),
    };
    saved(id, &fields, created, |status, form| {
        connections_page(&app, &caller, id, status, Some(form), None)
    })
    .await
}

/// Ends a connection form: to the connection in the list when it was saved, or the form again (`again`) with
/// its values, less the secrets, and the error.
async fn saved<F>(
    id: Uuid,
    fields: &Fields,
    result: AppResult<ConnectionView>,
    again: impl FnOnce(StatusCode, FormState) -> F,
) -> WebResult
where
    F: Future<Output = WebResult>,
{
    match result {
        Ok(c) => Ok(see_other(&format!(
            "/notices/{id}/connections#connection-{}",
            c.id
        ))),
        Err(error) => {
            let (status, error) = on_form(error)?;
            again(status, failed_connection_form(fields, error)).await
        }
    }
}

#[derive(Template)]
#[template(path = "gateway_connection.html")]
struct ConnectionPage {
    frame: Frame,
    head: NoticeHead,
    connection: ConnectionCard,
    setup: ConnectionForm,
    remove: FormState,
}

/// What a connection's page shows again after a failed form.
enum Failed {
    Nothing,
    /// The settings, as sent (less the secrets), with their error.
    Settings(FormState),
    /// The removal, not confirmed.
    Removal(ValidationError),
}

async fn connection_page(
    app: &App,
    caller: &Caller,
    (id, connection_id): (Uuid, Uuid),
    status: StatusCode,
    failed: Failed,
) -> WebResult {
    let n = app.get_notice(caller, id).await?;
    let c = app.get_connection(caller, id, connection_id).await?;
    let mut remove = FormState::prefixed("remove-");
    let form = match failed {
        Failed::Settings(form) => form,
        Failed::Removal(error) => {
            remove.error = Some(error);
            ConnectionForm::of(&c)
        }
        Failed::Nothing => ConnectionForm::of(&c),
    };
    let page = ConnectionPage {
        frame: Frame::signed_in(caller, "notices", format!("Change connection · {}", c.model)),
        head: NoticeHead::new(caller, &n, Section::Connections),
        connection: ConnectionCard::from(&c),
        setup: ConnectionForm::new(&n, form, Some(&c)),
        remove,
    };
    Ok(html(status, &page))
}

pub async fn connection(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path((raw, connection)): Path<(String, String)>,
) -> WebResult {
    let ids = (path_id(&raw)?, path_id(&connection)?);
    connection_page(&app, &caller, ids, StatusCode::OK, Failed::Nothing).await
}

pub async fn update_connection(
    State(app): State<App>,
    Path((raw, connection)): Path<(String, String)>,
    form: SignedInForm,
) -> WebResult {
    let (id, connection_id) = (path_id(&raw)?, path_id(&connection)?);
    let SignedInForm { caller, fields } = form;
    let updated = match connection_input(&fields, true) {
        Ok(input) => app.update_connection(&caller, id, connection_id, input).await,
        Err(error) => Err(error.into()),
    };
    saved(id, &fields, updated, |status, form| {
        connection_page(&app, &caller, (id, connection_id), status, Failed::Settings(form))
    })
    .await
}

pub async fn delete_connection(
    State(app): State<App>,
    Path((raw, connection)): Path<(String, String)>,
    form: SignedInForm,
) -> WebResult {
    let (id, connection_id) = (path_id(&raw)?, path_id(&connection)?);
    let SignedInForm { caller, fields } = form;
    if !fields.ticked("confirm") {
        let error = ValidationError::new(
            "confirm",
            "tick the box to confirm that evaluators lose this model",
        );
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return connection_page(&app, &caller, (id, connection_id), status, Failed::Removal(error)).await;
    }
    app.delete_connection(&caller, id, connection_id).await?;
    Ok(see_other(&format!("/notices/{id}/connections")))
}

/// "Test connection": one real call to the upstream through the app, and its outcome on the page.
pub async fn test_connection(
    State(app): State<App>,
    Path((raw, connection)): Path<(String, String)>,
    form: SignedInForm,
) -> WebResult {
    let (id, connection_id) = (path_id(&raw)?, path_id(&connection)?);
    let caller = form.caller;
    let c = app.get_connection(&caller, id, connection_id).await?;
    let Probe {
        ok,
        status,
        latency_ms,
        message,
        failure,
        reply,
        stream,
    } = app.test_connection(&caller, id, connection_id).await?;
    let result = ProbeResult {
        model: c.model,
        ok,
        status: status.map(|s| s.to_string()),
        latency: millis(latency_ms),
        message: sentence(&message),
        failure: failure.map(failure_title),
        reply,
        stream: stream.map(|s| (s.ok, sentence(&s.message))),
    };
    connections_page(&app, &caller, id, StatusCode::OK, None, Some(result)).await
}

// Gateway tokens.

struct TokenRow {
    id: Uuid,
    name: String,
    holder: String,
    prefix: String,
    created: String,
    expires: String,
    status: &'static str,
    revocable: bool,
}

/// A token just issued, shown this once with what a client needs beside it.
struct Issued {
    token: String,
    /// Why the token does not reach a model yet, when it does not (the window is not open, say).
    not_yet: Option<String>,
}

#[derive(Template)]
#[template(path = "gateway_tokens.html")]
struct TokensPage {
    frame: Frame,
    head: NoticeHead,
    tokens: Vec<TokenRow>,
    /// Whether some token listed is not the caller's, so the holder is worth a column.
    others: bool,
    next: Option<String>,
    can_issue: bool,
    /// An agency member not assigned to the notice, told how to get access.
    unassigned: bool,
    /// Whether the caller administers their organisation (and so assigns evaluators).
    admin: bool,
    form: FormState,
    issued: Option<Issued>,
    gateway_url: String,
    models: Vec<ModelRow>,
    days_hint: String,
}

struct ModelRow {
    name: String,
    style: &'static str,
    endpoint: &'static str,
}

impl From<&GatewayModel> for ModelRow {
    fn from(m: &GatewayModel) -> Self {
        ModelRow {
            name: m.name.clone(),
            style: style_label(&m.api_style),
            endpoint: style_endpoint(&m.api_style),
        }
    }
}

async fn tokens_page(
    app: &App,
    caller: &Caller,
    id: Uuid,
    cursor: Option<String>,
    status: StatusCode,
    form: FormState,
    issued: Option<Issued>,
) -> WebResult {
    let n = app.get_notice(caller, id).await?;
    let page = app
        .list_gateway_tokens(caller, id, &PageRequest { cursor, limit: None })
        .await?;
    let assigned = app.list_assignments(caller, id).await?;
    let is_assigned = assigned.iter().any(|a| a.user_id == caller.user_id());
    let now = app.clock.now();
    let mut tokens = Vec::new();
    for t in &page.items {
        let holder = match assigned.iter().find(|a| a.user_id == t.user_id) {
            Some(a) => a.display_name.clone(),
            None => person_name(app, caller, Some(t.user_id), "A former evaluator").await,
        };
        let status = token_status(t.revoked_at, t.expires_at, now);
        tokens.push(TokenRow {
            id: t.id,
            name: t.name.clone(),
            holder,
            prefix: t.prefix.clone(),
            created: when(t.created_at),
            expires: t.expires_at.map_or_else(|| "Never".to_owned(), when),
            status,
            revocable: status != "Revoked"
                && policy::may_revoke_gateway_tokens_of(caller, t.org_id, t.user_id),
        });
    }
    let models = app.gateway_models_of(caller, id).await?;
    let is_agency = caller.is(accounts::OrgKind::Agency);
    let view = TokensPage {
        frame: Frame::signed_in(caller, "notices", format!("Gateway tokens · {}", n.model_name)),
        others: page.items.iter().any(|t| t.user_id != caller.user_id()),
        head: NoticeHead::new(caller, &n, Section::Tokens),
        tokens,
        next: page.next_cursor,
        can_issue: policy::can_issue_gateway_token(caller, is_assigned) && n.state != NoticeState::Withdrawn,
        unassigned: is_agency && !is_assigned,
        admin: caller.is_admin(),
        form,
        issued,
        gateway_url: gateway_url(app),
        models: models.iter().map(ModelRow::from).collect(),
        days_hint: format!(
            "Optional, at most {} days. The token also stops working when your access ends.",
            app::gateway::MAX_GATEWAY_TOKEN_DAYS
        ),
    };
    Ok(html(status, &view))
}

pub async fn tokens(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
    QueryFields(q): QueryFields,
) -> WebResult {
    let cursor = q.optional("cursor").map(str::to_owned);
    tokens_page(
        &app,
        &caller,
        path_id(&raw)?,
        cursor,
        StatusCode::OK,
        FormState::default(),
        None,
    )
    .await
}

async fn issue_token(app: &App, caller: &Caller, id: Uuid, fields: &Fields) -> AppResult<Issued> {
    let days = fields.number("expires_in_days")?;
    let (_, token) = app
        .create_gateway_token(caller, id, fields.text("name"), days)
        .await?;
    let token = token.expose().to_owned();
    // Asking the gateway what the new token reaches tells the evaluator at once if it cannot reach anything
    // yet, and why, in the gateway's own words.
    let not_yet = app
        .gateway_models(&app::gateway::GatewayKey::Presented(Some(&token)))
        .await
        .err()
        .map(|e| sentence(&e.message));
    Ok(Issued { token, not_yet })
}

pub async fn create_token(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let SignedInForm { caller, fields } = form;
    match issue_token(&app, &caller, id, &fields).await {
        // The token is in this response only: only its digest is kept.
        Ok(issued) => {
            tokens_page(
                &app,
                &caller,
                id,
                None,
                StatusCode::OK,
                FormState::default(),
                Some(issued),
            )
            .await
        }
        Err(error) => {
            let (status, error) = on_form(error)?;
            tokens_page(
                &app,
                &caller,
                id,
                None,
                status,
                FormState::failed(fields, error),
                None,
            )
            .await
        }
    }
}

pub async fn revoke_token(
    State(app): State<App>,
    Path((raw, token)): Path<(String, String)>,
    form: SignedInForm,
) -> WebResult {
    let id = path_id(&raw)?;
    app.revoke_gateway_token(&form.caller, id, path_id(&token)?)
        .await
        .map_err(WebError::from)?;
    Ok(see_other(&format!("/notices/{id}/gateway-tokens")))
}
