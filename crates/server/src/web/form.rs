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
        field_matches(&error.field, name.as_ref()).then(|| capitalise(&error.message))
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
            label: field_label(base),
            message: error.message.clone(),
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

/// What a field is called on the page, for the error summary.
fn field_label(field: &str) -> String {
    let label = match field {
        "model_name" => "Model name",
        "model_version" => "Version",
        "planned_launch_at" => "Planned launch (UTC)",
        "model_card" => "Model card",
        "shared_with" => "Agencies to share with",
        "email" => "E-mail address",
        "display_name" => "Your name",
        "password" => "Password",
        "expires_in_days" => "Expires after (days)",
        "window_days" => "Review window (days)",
        "user_id" => "Evaluator",
        "levels" => "Risk levels",
        "evidence" => "Evidence links",
        "confirm" => "Confirmation",
        "body" => "Your response",
        "confirm_duplicate" => "File again",
        "api_style" => "API style",
        "base_url" => "Base URL",
        "upstream_model" => "Upstream model ID",
        "model" => "Name at the gateway",
        "headers" => "Extra headers",
        "post_launch_days" => "Access after launch (days)",
        "timeout_seconds" => "Upstream timeout (seconds)",
        "max_response_bytes" => "Largest response (bytes)",
        "max_event_bytes" => "Largest stream event (bytes)",
        "max_stream_bytes" => "Largest stream (bytes)",
        "" => "This form",
        other => return capitalise(&other.replace('_', " ")),
    };
    label.to_owned()
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
        assert_eq!(summary.anchor, "shared_with");
        assert_eq!(
            form.describe("shared_with", true),
            " aria-describedby=\"shared_with-hint shared_with-error\" aria-invalid=\"true\""
        );
        assert_eq!(FormState::default().describe("x", false), "");
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
