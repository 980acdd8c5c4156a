//! Submitted forms and query strings, and the state a form is shown in again: the values entered and the
//! error to show next to the field at fault.
//!
//! Field names are the names `app` uses in its validation errors (`model_name`, `shared_with`,
//! `levels.cyber_offense`), so an error lands next to the field that caused it.

use super::render::{WebError, capitalise};
use app::{App, AppError};
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use review::ValidationError;
use uuid::Uuid;

/// The fields of a submitted form or of a query string, in the order sent. Repeated names (checkboxes) are
/// kept. `Debug` shows the values of every field but the secret ones (`SECRET_FIELDS`).
#[derive(Clone, Default)]
pub struct Fields(Vec<(String, String)>);

/// Fields whose values are secrets: passwords, CSRF tokens, a model connection's credential and headers.
const SECRET_FIELDS: [&str; 4] = ["password", "csrf", "credential", "headers"];

impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, value)| {
                let value = if SECRET_FIELDS.contains(&name.as_str()) {
                    store::REDACTED
                } else {
                    value.as_str()
                };
                (name, value)
            }))
            .finish()
    }
}

impl Fields {
    pub fn new(pairs: &[(&str, &str)]) -> Fields {
        Fields(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The field's value; empty when it was not sent.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// The field's value, or `None` when blank.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// The `cursor` of a list's page, when one is given.
    pub fn cursor(&self) -> Option<String> {
        self.optional("cursor").map(str::to_owned)
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A checkbox: sent means ticked.
    pub fn ticked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A textarea read as one entry per line, blank lines skipped.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.text(name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Every value of a repeated field, read as ids.
    pub fn ids(&self, name: &str) -> Result<Vec<Uuid>, ValidationError> {
        self.all(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                v.trim().parse().map_err(|_| {
                    ValidationError::new(name, "is not an organisation or person this site offered")
                })
            })
            .collect()
    }

    /// One id, required.
    pub fn id(&self, name: &str) -> Result<Uuid, ValidationError> {
        self.text(name)
            .trim()
            .parse()
            .map_err(|_| ValidationError::new(name, "choose one of the options"))
    }

    /// An optional whole number.
    pub fn number(&self, name: &str) -> Result<Option<i64>, ValidationError> {
        self.optional(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| ValidationError::new(name, "must be a whole number"))
            })
            .transpose()
    }

    /// Every field, in the order sent.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The same fields less those named, such as secrets a form must not show again.
    pub fn without(&self, names: &[&str]) -> Fields {
        Fields(
            self.0
                .iter()
                .filter(|(k, _)| !names.contains(&k.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// Every field whose name starts with `prefix`, with the prefix cut off.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0
            .iter()
            .filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v.as_str())))
    }
}

impl FromRequest<App> for Fields {
    type Rejection = WebError;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        match Form::<Vec<(String, String)>>::from_request(req, app).await {
            Ok(Form(pairs)) => Ok(Fields(pairs)),
            Err(rejection) => Err(form_rejection(&rejection)),
        }
    }
}

fn form_rejection(rejection: &FormRejection) -> WebError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return WebError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form sent more than this site accepts. Shorten the longest field and try again.",
        );
    }
    WebError::new(
        StatusCode::BAD_REQUEST,
        "The form could not be read. Go back, reload the page and try again.",
    )
}

/// The query string as fields (filters and cursors); a malformed one is answered with 400.
pub struct QueryFields(pub Fields);

impl FromRequestParts<App> for QueryFields {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _app: &App) -> Result<Self, Self::Rejection> {
        Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(pairs)| QueryFields(Fields(pairs)))
            .map_err(|_| {
                WebError::new(
                    StatusCode::BAD_REQUEST,
                    "The address has a malformed query string.",
                )
            })
    }
}

/// A form as it is shown: the values to put back in the fields and the error to show, if any.
#[derive(Debug, Clone, Default)]
pub struct FormState {
    pub fields: Fields,
    pub error: Option<ValidationError>,
    /// Prepended to element ids, so that several forms on one page never share an id.
    pub prefix: &'static str,
}

/// The error summary at the top of a form: what went wrong and a link to the field.
pub struct Summary {
    pub label: String,
    pub message: String,
    /// The id of the field to jump to; empty when the error is about the form as a whole.
    pub anchor: String,
}

impl FormState {
    /// A fresh form with some fields filled in.
    pub fn with(pairs: &[(&str, &str)]) -> FormState {
        FormState {
            fields: Fields::new(pairs),
            ..FormState::default()
        }
    }

    pub fn failed(fields: Fields, error: ValidationError) -> FormState {
        FormState {
            fields,
            error: Some(error),
            ..FormState::default()
        }
    }

    /// The form sent again with the operation's failure (see `on_form`), and the status to answer with.
    pub fn refused(fields: Fields, error: AppError) -> Result<(StatusCode, FormState), WebError> {
        let (status, error) = on_form(error)?;
        Ok((status, FormState::failed(fields, error)))
    }

    /// An empty form whose element ids start with `prefix`.
    pub fn prefixed(prefix: &'static str) -> FormState {
        FormState {
            prefix,
            ..FormState::default()
        }
    }

    /// The element id of a field.
    pub fn id(&self, name: impl AsRef<str>) -> String {
        format!("{}{}", self.prefix, name.as_ref())
    }

    pub fn value(&self, name: impl AsRef<str>) -> &str {
        self.fields.text(name.as_ref())
    }

    /// Whether `value` is among the values sent for `name` (a chosen option, a ticked checkbox).
    pub fn selected(&self, name: impl AsRef<str>, value: impl AsRef<str>) -> bool {
        let value = value.as_ref();
        self.fields.all(name.as_ref()).any(|v| v == value)
    }

    /// The error message for this field, when the error is about it (or one of its entries, such as
    /// `shared_with[2]` for `shared_with`).
    pub fn error(&self, name: impl AsRef<str>) -> Option<String> {
        let error = self.error.as_ref()?;
        field_matches(&error.field, name.as_ref())
            .then(|| capitalise(&on_screen(self.prefix, &error.field, &error.message)))
    }

    pub fn invalid(&self, name: impl AsRef<str>) -> bool {
        self.error(name).is_some()
    }

    /// `aria-describedby` and `aria-invalid` for a field, linking it to its hint and its error.
    pub fn describe(&self, name: impl AsRef<str>, hint: bool) -> String {
        let name = name.as_ref();
        let id = self.id(name);
        let mut ids = Vec::new();
        if hint {
            ids.push(format!("{id}-hint"));
        }
        let invalid = self.invalid(name);
        if invalid {
            ids.push(format!("{id}-error"));
        }
        let mut attrs = String::new();
        if !ids.is_empty() {
            attrs.push_str(&format!(" aria-describedby=\"{}\"", ids.join(" ")));
        }
        if invalid {
            attrs.push_str(" aria-invalid=\"true\"");
        }
        attrs
    }

    pub fn summary(&self) -> Option<Summary> {
        let error = self.error.as_ref()?;
        let base = base_field(&error.field);
        Some(Summary {
            label: field_label(self.prefix, base),
            message: on_screen(self.prefix, &error.field, &error.message),
            anchor: if base.is_empty() {
                String::new()
            } else {
                self.id(base)
            },
        })
    }
}

/// `shared_with[2]` → `shared_with`; `levels.weather` → `levels`; `evidence[0]` → `evidence`.
fn base_field(field: &str) -> &str {
    let end = field.find(['[', '.']).unwrap_or(field.len());
    field.get(..end).unwrap_or(field)
}

fn field_matches(error_field: &str, name: &str) -> bool {
    error_field == name || (!name.contains(['.', '[']) && base_field(error_field) == name)
}

/// What a field is called on the page, for the error summary and for messages that name other fields. This is
/// the one place where the names the API and `app` use (`planned_launch_at`, `shared_with_all`) become the
/// labels people see; a form whose element ids carry a prefix can label a field differently (the notice page's
/// "New planned launch (UTC)").
pub fn field_label(prefix: &str, field: &str) -> String {
    let label = match (prefix, field) {
        ("launch-", "planned_launch_at") => "New planned launch (UTC)",
        ("launch-" | "withdraw-", "reason") => "Reason (optional)",
        ("assign-", "user_id") => "Assign an evaluator",
        ("audit-", "action") => "Action",
        ("audit-", "actor") => "Person (e-mail address)",
        ("audit-", "object_type") => "Kind of object",
        ("audit-", "from") => "From (UTC)",
        ("audit-", "until") => "Until (UTC)",
        ("finding-" | "assessment-", "shared_with") => "Also share with other agencies",
        ("finding-" | "assessment-", "shared_with_all") => "Every agency the notice is shared with",
        (_, "model_name") => "Model name",
        (_, "model_version") => "Version",
        (_, "planned_launch_at") => "Planned launch (UTC)",
        (_, "model_card") => "Model card",
        (_, "shared_with") => "Agencies to share with",
        (_, "shared_with_all") => "Every participating agency",
        (_, "email") => "E-mail address",
        (_, "display_name") => "Your name",
        (_, "password") => "Password",
        (_, "current_password") => "Current password",
        (_, "new_password") => "New password",
        (_, "expires_in_days") => "Expires after (days)",
        (_, "window_days") => "Review window (days)",
        (_, "launch_horizon_days") => "Launch horizon (days)",
        (_, "user_id") => "Evaluator",
        (_, "levels") => "Risk levels",
        (_, "evidence") => "Evidence links",
        (_, "severity") => "Severity",
        (_, "title") => "Title",
        (_, "description") => "Description",
        (_, "statement") => "Statement",
        (_, "rationale") => "Rationale",
        (_, "confirm") => "Confirmation",
        (_, "confirm_duplicate") => "File again",
        (_, "body") => "Your response",
        (_, "api_style") => "API style",
        (_, "base_url") => "Base URL",
        (_, "upstream_model") => "Upstream model ID",
        (_, "model") => "Name at the gateway",
        (_, "credential") => "Credential",
        (_, "headers") => "Extra headers",
        (_, "post_launch_days") => "Access after launch (days)",
        (_, "timeout_seconds") => "Upstream timeout (seconds)",
        (_, "max_response_bytes") => "Response",
        (_, "max_event_bytes") => "Stream event",
        (_, "max_stream_bytes") => "Stream",
        (_, "requests_per_minute") => "Requests per minute",
        (_, "tokens_per_minute") => "Tokens per minute",
        (_, "concurrency") => "Calls at once",
        (_, "agency_requests_per_minute") => "Agency: requests per minute",
        (_, "agency_tokens_per_minute") => "Agency: tokens per minute",
        (_, "agency_concurrency") => "Agency: calls at once",
        (_, "name") => "Name",
        (_, "kind") => "Kind",
        (_, "role") => "Role",
        (_, "reason") => "Reason",
        (_, "url") => "URL",
        (_, "events") => "Events",
        (_, "") => "This form",
        (_, other) => return capitalise(&other.replace('_', " ")),
    };
    label.to_owned()
}

/// A message from `app` as a form shows it: without its own field's API name in front (the label is shown
/// beside it), other fields' API names as their labels in quotes, and times as the site writes them
/// (`2027-03-01 16:00 UTC`, 24-hour).
pub fn on_screen(prefix: &str, field: &str, message: &str) -> String {
    let base = base_field(field);
    let message = message
        .strip_prefix(field)
        .or_else(|| message.strip_prefix(base).filter(|_| !base.is_empty()))
        .filter(|rest| rest.starts_with(' ') || rest.starts_with(':'))
        .map(|rest| rest.trim_start_matches(':').trim_start())
        .unwrap_or(message);
    let mut shown = String::with_capacity(message.len());
    let mut word = String::new();
    let flush = |word: &mut String, shown: &mut String| {
        shown.push_str(&shown_word(prefix, word));
        word.clear();
    };
    for c in message.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.' | '+') {
            word.push(c);
        } else {
            flush(&mut word, &mut shown);
            shown.push(c);
        }
    }
    flush(&mut word, &mut shown);
    shown
}

/// One word of a message: an API field name becomes its label, an RFC 3339 time the site's way of writing it.
fn shown_word(prefix: &str, word: &str) -> String {
    // A word may end a sentence or a clause.
    let (core, tail) = match word.strip_suffix(['.', ':']) {
        Some(core) => (core, word.get(core.len()..).unwrap_or_default()),
        None => (word, ""),
    };
    if core.contains('_') && core.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        let label = field_label(prefix, core);
        if label != capitalise(&core.replace('_', " ")) {
            return format!("“{label}”{tail}");
        }
    }
    if core.len() >= 20
        && let Ok(at) = chrono::DateTime::parse_from_rfc3339(core)
    {
        let at = at.with_timezone(&chrono::Utc);
        return format!("{} UTC{tail}", at.format("%Y-%m-%d %H:%M"));
    }
    word.to_owned()
}

/// A failed operation on a form: a caller's mistake is shown on the form again (422, or 409 when it conflicts
/// with the current state); anything else becomes an error page.
pub fn on_form(error: AppError) -> Result<(StatusCode, ValidationError), WebError> {
    match error {
        AppError::Invalid(v) => Ok((StatusCode::UNPROCESSABLE_ENTITY, v)),
        AppError::Conflict(message) => Ok((StatusCode::CONFLICT, ValidationError::new("", message))),
        other => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_never_print() {
        let fields = Fields::new(&[
            ("email", "ada@lab.example"),
            ("password", "hunter2 hunter2"),
            ("csrf", "plc_formtoken"),
            ("credential", "sk-upstream"),
            ("headers", "X-Key: k-upstream"),
        ]);
        let shown = format!(
            "{fields:?} {:?}",
            FormState::failed(fields.clone(), ValidationError::new("", ""))
        );
        for secret in ["hunter2", "plc_formtoken", "sk-upstream", "k-upstream"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("ada@lab.example"), "{shown}");
    }

    #[test]
    fn errors_land_on_their_field() {
        let cases: &[(&str, &str, bool)] = &[
            ("model_name", "model_name", true),
            ("model_name", "model_version", false),
            ("shared_with[2]", "shared_with", true),
            ("evidence[0]", "evidence", true),
            ("levels.cyber_offense", "levels.cyber_offense", true),
            ("levels.cyber_offense", "levels", true),
            ("levels.cyber_offense", "levels.autonomy", false),
            ("", "model_name", false),
        ];
        for (error_field, name, shown) in cases {
            let form = FormState::failed(Fields::default(), ValidationError::new(*error_field, "is wrong"));
            assert_eq!(form.error(name).is_some(), *shown, "{error_field} on {name}");
        }
    }

    #[test]
    fn the_summary_names_the_field_and_links_to_it() {
        let form = FormState::failed(
            Fields::default(),
            ValidationError::new("shared_with[1]", "is not an active agency"),
        );
        let summary = form.summary().unwrap();
        assert_eq!(summary.label, "Agencies to share with");
        assert_eq!(summary.message, "is not an active agency");
        assert_eq!(summary.anchor, "shared_with");
        assert_eq!(
            form.describe("shared_with", true),
            " aria-describedby=\"shared_with-hint shared_with-error\" aria-invalid=\"true\""
        );
        assert_eq!(FormState::default().describe("x", false), "");
    }

    #[test]
    fn messages_use_the_labels_on_screen() {
        // (prefix, field, message from app, as the form shows it)
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "",
                "planned_launch_at",
                "planned_launch_at must be in the future",
                "must be in the future",
            ),
            (
                "launch-",
                "planned_launch_at",
                "planned_launch_at must be at most 730 days ahead, on or before 2028-12-31T12:00:00Z",
                "must be at most 730 days ahead, on or before 2028-12-31 12:00 UTC",
            ),
            (
                "",
                "planned_launch_at",
                "must be a date and time like 2027-03-01T16:00:00Z",
                "must be a date and time like 2027-03-01 16:00 UTC",
            ),
            (
                "",
                "shared_with",
                "give either shared_with or shared_with_all",
                "give either “Agencies to share with” or “Every participating agency”",
            ),
            (
                "",
                "shared_with",
                "name at least one agency, or set shared_with_all.",
                "name at least one agency, or set “Every participating agency”.",
            ),
            (
                "",
                "email",
                "must be an e-mail address",
                "must be an e-mail address",
            ),
            ("", "", "the notice is withdrawn", "the notice is withdrawn"),
        ];
        for (prefix, field, message, shown) in cases {
            assert_eq!(on_screen(prefix, field, message), *shown, "{message}");
            for name in [
                "planned_launch_at",
                "shared_with_all",
                "shared_with ",
                "T12:00:00Z",
            ] {
                assert!(!shown.contains(name), "{shown}");
            }
        }
        assert_eq!(
            field_label("launch-", "planned_launch_at"),
            "New planned launch (UTC)"
        );
        assert_eq!(field_label("", "planned_launch_at"), "Planned launch (UTC)");
    }

    #[test]
    fn fields_keep_repeats_and_read_lines() {
        let f = Fields::new(&[
            ("shared_with", "a"),
            ("shared_with", "b"),
            ("evidence", " https://x/1 \r\n\r\n/runs/2\n"),
            ("levels.autonomy", "low"),
        ]);
        assert_eq!(f.all("shared_with").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(f.lines("evidence"), ["https://x/1", "/runs/2"]);
        assert_eq!(
            f.with_prefix("levels.").collect::<Vec<_>>(),
            [("autonomy", "low")]
        );
        assert_eq!(f.ids("shared_with").unwrap_err().field, "shared_with");
        assert_eq!(f.number("missing").unwrap(), None);
    }
}
