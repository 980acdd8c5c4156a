//! A model connection's settings, validated: the upstream API's style and address, the model id behind it, the
//! limits each evaluator (and, optionally, each agency) gets, how long access lasts after launch, and what is
//! kept of each call.

use review::ValidationError;
use serde::Serialize;

/// The wire protocol an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiStyle {
    /// OpenAI chat completions: `POST {base}/chat/completions`, `Authorization: Bearer`.
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic messages: `POST {base}/messages`, `x-api-key` and `anthropic-version`.
    Anthropic,
}

impl ApiStyle {
    pub const ALL: [ApiStyle; 2] = [ApiStyle::OpenAi, ApiStyle::Anthropic];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiStyle::OpenAi => "openai",
            ApiStyle::Anthropic => "anthropic",
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        one_of(field, value, &Self::ALL, |s| s.as_str())
    }

    /// The path, under the base URL, that this style's calls go to.
    pub fn call_path(self) -> &'static str {
        match self {
            ApiStyle::OpenAi => "/chat/completions",
            ApiStyle::Anthropic => "/messages",
        }
    }
}

/// What is kept of the prompts and completions that pass through, chosen by the developer per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Retention {
    /// Nothing but the usage record.
    None,
    /// SHA-256 digests of the request and of the response, to prove later what was exchanged.
    Digest,
    /// Digests, and both texts sealed under the master key, readable by the evaluating agency.
    Encrypted,
}

impl Retention {
    pub const ALL: [Retention; 3] = [Retention::None, Retention::Digest, Retention::Encrypted];

    pub fn as_str(self) -> &'static str {
        match self {
            Retention::None => "none",
            Retention::Digest => "digest",
            Retention::Encrypted => "encrypted",
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        one_of(field, value, &Self::ALL, |s| s.as_str())
    }
}

fn one_of<T: Copy>(
    field: &str,
    value: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<T, ValidationError> {
    all.iter().copied().find(|v| name(*v) == value).ok_or_else(|| {
        let allowed: Vec<&str> = all.iter().map(|v| name(*v)).collect();
        ValidationError::new(field, format!("must be one of: {}", allowed.join(", ")))
    })
}

/// What each evaluator may do through one connection, all their gateway tokens together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub requests_per_minute: u32,
    pub tokens_per_minute: u32,
    /// Calls in flight at once.
    pub concurrency: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            requests_per_minute: 60,
            tokens_per_minute: 200_000,
            concurrency: 8,
        }
    }
}

pub const MAX_REQUESTS_PER_MINUTE: u32 = 100_000;
pub const MAX_TOKENS_PER_MINUTE: u32 = 100_000_000;
pub const MAX_CONCURRENCY: u32 = 1_000;
/// The longest access may outlast the launch.
pub const MAX_POST_LAUNCH_DAYS: u32 = 90;
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 600;
pub const MAX_TIMEOUT_SECONDS: u32 = 3_600;

/// A whole number in a range, naming the field when it is not.
pub fn bounded(field: &str, value: i64, min: u32, max: u32) -> Result<u32, ValidationError> {
    u32::try_from(value)
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| ValidationError::new(field, format!("must be between {min} and {max}")))
}

impl Limits {
    pub fn parse(rpm: i64, tpm: i64, concurrency: i64) -> Result<Self, ValidationError> {
        Ok(Limits {
            requests_per_minute: bounded("requests_per_minute", rpm, 1, MAX_REQUESTS_PER_MINUTE)?,
            tokens_per_minute: bounded("tokens_per_minute", tpm, 1, MAX_TOKENS_PER_MINUTE)?,
            concurrency: bounded("concurrency", concurrency, 1, MAX_CONCURRENCY)?,
        })
    }
}

/// What each agency may do through one connection, all its evaluators together; `None` caps nothing. An agency
/// cap does not raise an evaluator's own limits: a call must fit both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AgencyLimits {
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u32>,
    pub concurrency: Option<u32>,
}

impl AgencyLimits {
    /// Each cap absent (no cap) or within the same bounds as an evaluator's, naming the field otherwise.
    pub fn parse(
        rpm: Option<i64>,
        tpm: Option<i64>,
        concurrency: Option<i64>,
    ) -> Result<Self, ValidationError> {
        let cap =
            |field: &str, value: Option<i64>, max: u32| value.map(|v| bounded(field, v, 1, max)).transpose();
        Ok(AgencyLimits {
            requests_per_minute: cap("agency_requests_per_minute", rpm, MAX_REQUESTS_PER_MINUTE)?,
            tokens_per_minute: cap("agency_tokens_per_minute", tpm, MAX_TOKENS_PER_MINUTE)?,
            concurrency: cap("agency_concurrency", concurrency, MAX_CONCURRENCY)?,
        })
    }

    pub fn is_none(&self) -> bool {
        *self == AgencyLimits::default()
    }
}

/// How much of an upstream's answer the gateway reads for one call, per connection. Answers are read
/// incrementally and the call is stopped at the limit (502 `upstream_response_too_large`), so a hostile or
/// broken upstream costs the server at most these bytes per call in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResponseLimits {
    /// A whole (non-streamed) JSON body.
    pub max_response_bytes: u64,
    /// One server-sent event of a stream, its lines and comments included.
    pub max_event_bytes: u64,
    /// A whole stream.
    pub max_stream_bytes: u64,
}

const MIB: u32 = 1024 * 1024;
pub const DEFAULT_MAX_RESPONSE_BYTES: u32 = 16 * MIB;
pub const DEFAULT_MAX_EVENT_BYTES: u32 = MIB;
pub const DEFAULT_MAX_STREAM_BYTES: u32 = 64 * MIB;
/// The smallest limit a connection may set, on each of the three.
pub const MIN_RESPONSE_LIMIT: u32 = 1024;
/// The largest limits a connection may set: what one call may hold in the server's memory.
pub const MAX_RESPONSE_BYTES: u32 = 64 * MIB;
pub const MAX_EVENT_BYTES: u32 = 16 * MIB;
pub const MAX_STREAM_BYTES: u32 = 256 * MIB;

impl Default for ResponseLimits {
    fn default() -> Self {
        ResponseLimits {
            max_response_bytes: u64::from(DEFAULT_MAX_RESPONSE_BYTES),
            max_event_bytes: u64::from(DEFAULT_MAX_EVENT_BYTES),
            max_stream_bytes: u64::from(DEFAULT_MAX_STREAM_BYTES),
        }
    }
}

impl ResponseLimits {
    pub fn parse(response: i64, event: i64, stream: i64) -> Result<Self, ValidationError> {
        let limits = ResponseLimits {
            max_response_bytes: u64::from(bounded(
                "max_response_bytes",
                response,
                MIN_RESPONSE_LIMIT,
                MAX_RESPONSE_BYTES,
            )?),
            max_event_bytes: u64::from(bounded(
                "max_event_bytes",
                event,
                MIN_RESPONSE_LIMIT,
                MAX_EVENT_BYTES,
            )?),
            max_stream_bytes: u64::from(bounded(
                "max_stream_bytes",
                stream,
                MIN_RESPONSE_LIMIT,
                MAX_STREAM_BYTES,
            )?),
        };
        // An event larger than the stream's limit is refused by that limit; no need to refuse the setting.
        Ok(limits)
    }

    /// The limits as stored; a stored value out of range (it never is) falls back to the default.
    pub fn stored(response: i64, event: i64, stream: i64) -> Self {
        let defaults = ResponseLimits::default();
        ResponseLimits::parse(response, event, stream).unwrap_or(defaults)
    }
}

/// An upstream base URL such as `https://api.example.com/v1`: http or https, no credentials, query or fragment,
/// kept without a trailing slash.
pub fn base_url(field: &str, value: &str) -> Result<String, ValidationError> {
    let value = value.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(value)
        .map_err(|_| ValidationError::new(field, "must be an http:// or https:// URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ValidationError::new(field, "must be an http:// or https:// URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ValidationError::new(
            field,
            "must not carry credentials; give them as the credential",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ValidationError::new(field, "must not have a query or a fragment"));
    }
    if value.len() > 2000 {
        return Err(ValidationError::new(field, "must be at most 2000 characters"));
    }
    Ok(value.to_owned())
}

/// The name evaluators use for a model: lower-case letters, digits, `.`, `_` and `-`, starting with a letter or
/// digit, at most 64 characters.
pub fn model_alias(field: &str, value: &str) -> Result<String, ValidationError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(ValidationError::new(
            field,
            "must be 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        ))
    }
}

/// The stable name of a notice's model at the gateway: `orion-1.0` for model "Orion", version "1.0".
pub fn notice_slug(model_name: &str, model_version: &str) -> String {
    let mut slug = String::new();
    for c in format!("{model_name}-{model_version}").chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug
        .trim_matches(|c| c == '-' || c == '.' || c == '_')
        .chars()
        .take(64)
        .collect();
    let slug = slug.trim_end_matches(['-', '.', '_']).to_owned();
    if slug.is_empty() { "model".into() } else { slug }
}

/// The model id the upstream knows; one line.
pub fn upstream_model(field: &str, value: &str) -> Result<String, ValidationError> {
    review::validate::title(field, value)
}

/// A credential as entered: printable ASCII without spaces, at most 4 kB.
pub fn credential(field: &str, value: &str) -> Result<(), ValidationError> {
    let value = value.trim();
    if value.is_empty() || value.len() > 4096 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationError::new(
            field,
            "must be 1 to 4096 printable characters without spaces",
        ));
    }
    Ok(())
}

/// Headers the gateway sets itself or that would change how the request travels; not settable as extras.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "accept-encoding",
];

/// An extra header sent to the upstream with every call (e.g. an organisation id). Its value is a secret like
/// the credential: sealed at rest and never shown again.
pub fn extra_header(field: &str, name: &str, value: &str) -> Result<String, ValidationError> {
    let name = name.trim().to_ascii_lowercase();
    let token = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(ValidationError::new(field, "is not a valid header name"));
    }
    if RESERVED_HEADERS.contains(&name.as_str()) {
        return Err(ValidationError::new(
            field,
            format!("{name} is set by the gateway"),
        ));
    }
    if value.len() > 4096
        || !value
            .bytes()
            .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
    {
        return Err(ValidationError::new(
            field,
            "the value must be at most 4096 printable characters",
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let cases = [
            ("https://api.example.com/v1/", Some("https://api.example.com/v1")),
            ("http://127.0.0.1:9000", Some("http://127.0.0.1:9000")),
            ("ftp://example.com", None),
            ("https://user:pw@example.com/v1", None),
            ("https://example.com/v1?key=1", None),
            ("not a url", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(base_url("base_url", input).ok().as_deref(), expected, "{input}");
        }
    }

    #[test]
    fn aliases_and_slugs() {
        for (input, ok) in [
            ("orion-1.0", true),
            ("a", true),
            ("Orion", false),
            ("-x", false),
            ("has space", false),
            ("", false),
        ] {
            assert_eq!(model_alias("model", input).is_ok(), ok, "{input}");
        }
        for (name, version, slug) in [
            ("Orion", "1.0", "orion-1.0"),
            (
                "Frontier  Model (preview)",
                "2025-06 rc",
                "frontier-model-preview-2025-06-rc",
            ),
            ("!!!", "???", "model"),
        ] {
            let got = notice_slug(name, version);
            assert_eq!(got, slug);
            assert!(model_alias("model", &got).is_ok(), "{got}");
        }
    }

    #[test]
    fn limits_and_headers() {
        assert!(Limits::parse(60, 1000, 4).is_ok());
        for (rpm, tpm, c, field) in [
            (0, 1, 1, "requests_per_minute"),
            (1, -1, 1, "tokens_per_minute"),
            (1, 1, 100_000, "concurrency"),
        ] {
            assert_eq!(Limits::parse(rpm, tpm, c).unwrap_err().field, field);
        }
        let agency = AgencyLimits::parse(Some(10), None, Some(3)).unwrap();
        assert_eq!(agency.requests_per_minute, Some(10));
        assert_eq!(agency.tokens_per_minute, None);
        assert!(AgencyLimits::parse(None, None, None).unwrap().is_none());
        for (rpm, tpm, c, field) in [
            (Some(0), None, None, "agency_requests_per_minute"),
            (None, Some(100_000_001), None, "agency_tokens_per_minute"),
            (None, None, Some(-1), "agency_concurrency"),
        ] {
            assert_eq!(AgencyLimits::parse(rpm, tpm, c).unwrap_err().field, field);
        }
        assert_eq!(
            extra_header("h", "OpenAI-Organization", "org-1").unwrap(),
            "openai-organization"
        );
        assert!(extra_header("h", "host", "x").is_err());
        assert!(extra_header("h", "bad name", "x").is_err());
        assert!(extra_header("h", "x-a", "line\nbreak").is_err());
        assert!(credential("c", "sk-abc").is_ok());
        assert!(credential("c", "sk abc").is_err());
        assert_eq!(ApiStyle::parse("s", "openai").unwrap(), ApiStyle::OpenAi);
        assert!(ApiStyle::parse("s", "cohere").is_err());
        assert_eq!(Retention::parse("r", "digest").unwrap(), Retention::Digest);
    }

    #[test]
    fn response_limits() {
        let d = ResponseLimits::default();
        assert_eq!(
            (d.max_response_bytes, d.max_event_bytes, d.max_stream_bytes),
            (16 << 20, 1 << 20, 64 << 20)
        );
        assert!(ResponseLimits::parse(1024, 1024, 1024).is_ok());
        let max = (
            i64::from(MAX_RESPONSE_BYTES),
            i64::from(MAX_EVENT_BYTES),
            i64::from(MAX_STREAM_BYTES),
        );
        assert!(ResponseLimits::parse(max.0, max.1, max.2).is_ok());
        for (response, event, stream, field) in [
            (1023, 1024, 1024, "max_response_bytes"),
            (max.0 + 1, 1024, 1024, "max_response_bytes"),
            (1024, 0, 1024, "max_event_bytes"),
            (1024, max.1 + 1, max.2, "max_event_bytes"),
            (1024, 1024, -1, "max_stream_bytes"),
            (1024, 1024, max.2 + 1, "max_stream_bytes"),
        ] {
            assert_eq!(
                ResponseLimits::parse(response, event, stream).unwrap_err().field,
                field,
                "{response} {event} {stream}"
            );
        }
        assert!(
            ResponseLimits::parse(1024, 4096, 2048).is_ok(),
            "the stream's limit holds"
        );
        assert_eq!(ResponseLimits::stored(0, 0, 0), d);
    }
}
