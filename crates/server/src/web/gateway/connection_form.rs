//! The connection form, shared by the add and change pages: what it offers and explains, and reading it.

use super::connections::size;
use super::*;

/// A retention option: its value, its name and what it keeps.
pub(super) struct RetentionChoice {
    pub(super) value: &'static str,
    pub(super) label: String,
    pub(super) text: &'static str,
}

/// What the connection form offers and explains, shared by the add and change pages.
pub(super) struct ConnectionForm {
    pub(super) form: FormState,
    pub(super) action: String,
    pub(super) submit: &'static str,
    pub(super) styles: Vec<Choice>,
    pub(super) retentions: Vec<RetentionChoice>,
    pub(super) model_hint: String,
    pub(super) credential_label: &'static str,
    pub(super) credential_hint: &'static str,
    pub(super) headers_hint: String,
    pub(super) post_launch_hint: String,
    pub(super) timeout_hint: String,
    pub(super) answers_hint: String,
    /// Changing: the credential and headers are kept unless given again.
    pub(super) editing: bool,
    /// Changing a connection that has extra headers: they can be removed.
    pub(super) header_names: bool,
}

impl ConnectionForm {
    pub(super) fn new(n: &NoticeView, form: FormState, editing: Option<&ConnectionView>) -> ConnectionForm {
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
                    label: view::humanize(r.as_str()),
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
    pub(super) fn defaults() -> FormState {
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
    pub(super) fn of(c: &ConnectionView) -> FormState {
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

pub(super) fn connection_input(fields: &Fields, editing: bool) -> Result<ConnectionInput, ValidationError> {
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
pub(super) fn failed_connection_form(fields: &Fields, error: ValidationError) -> FormState {
    FormState::failed(fields.without(&["credential", "headers"]), error)
}
