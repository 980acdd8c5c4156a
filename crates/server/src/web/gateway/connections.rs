//! Model connections: the list, adding, changing, testing and deleting one.

use super::connection_form::*;
use super::*;

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
            retention: view::humanize(&c.retention),
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
pub(super) fn size(bytes: i64) -> String {
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
