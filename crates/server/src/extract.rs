//! Request extractors shared by the API and the web UI: who is calling, and a strict JSON body.

use crate::error::{Problem, ProblemKind};
use app::{App, AppError, Caller};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

pub const SESSION_COOKIE: &str = "prelaunch_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Reads one cookie's value from the request.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The token of an `Authorization: Bearer …` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// The address a request came from, for login throttling: the connection's peer, or, behind a proxy the
/// operator named (`Config::trusted_proxies`), the client that proxy reports.
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<App> for ClientAddr {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        // `serve` always records the peer; a router served without it is our mistake, not the caller's.
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| {
                Problem::from(AppError::Internal(
                    "the server was started without the peer address of connections".into(),
                ))
            })?;
        Ok(ClientAddr(client_address(
            peer.ip(),
            &parts.headers,
            &app.config.trusted_proxies,
        )))
    }
}

/// How many `X-Forwarded-For` hops are looked at, at most.
const MAX_FORWARDED_HOPS: usize = 16;

/// The client's address. `X-Forwarded-For` is read only when the peer is a trusted proxy: then, from the
/// right (the hop nearest to us), the first address that is not itself a trusted proxy. Anyone can write the
/// header, so without a trusted peer it is ignored, and a hop that cannot be read ends the walk at the last
/// trusted one.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.to_canonical() == ip.to_canonical());
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.into_iter().rev().take(MAX_FORWARDED_HOPS) {
        let Some(ip) = forwarded_ip(hop.trim()) else {
            break;
        };
        client = ip.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn forwarded_ip(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The authenticated caller of an API request: a Bearer token, or a browser session (whose unsafe requests
/// must carry the session's CSRF token in `X-CSRF-Token`).
pub struct ApiCaller(pub Caller);

impl FromRequestParts<App> for ApiCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer(&parts.headers) {
            return match app.authenticate_bearer(token).await {
                Ok(caller) => Ok(ApiCaller(caller)),
                Err(AppError::Unauthenticated) => Err(crate::error::invalid_token()),
                Err(other) => Err(other.into()),
            };
        }
        let session = cookie(parts, SESSION_COOKIE).ok_or(AppError::Unauthenticated)?;
        let caller = app.authenticate_session(session).await?;
        if !is_safe(&parts.method) {
            let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            App::check_csrf(&caller, presented)?;
        }
        Ok(ApiCaller(caller))
    }
}

/// A caller who may also be the public: no credential at all reads as `None` (TLP:CLEAR readers); a credential
/// that is presented must be valid (401 otherwise), as for `ApiCaller`.
pub struct MaybeApiCaller(pub Option<Caller>);

impl FromRequestParts<App> for MaybeApiCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if parts.headers.get(header::AUTHORIZATION).is_none() && cookie(parts, SESSION_COOKIE).is_none() {
            return Ok(MaybeApiCaller(None));
        }
        let ApiCaller(caller) = ApiCaller::from_request_parts(parts, app).await?;
        Ok(MaybeApiCaller(Some(caller)))
    }
}

/// A JSON body, strictly read: `application/json` only, size-limited (413), syntax errors as 400, and wrong
/// types, missing or unknown fields as 422 naming the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<App> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(unsupported());
        }
        parse_json(&body(req, app).await?).map(ApiJson)
    }
}

/// A JSON body that may be left out: an empty body reads as `None`; one that is sent is read as strictly as
/// `ApiJson` reads its body.
pub struct OptionalApiJson<T>(pub Option<T>);

impl<T: DeserializeOwned> FromRequest<App> for OptionalApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let json = is_json(&req);
        let bytes = body(req, app).await?;
        if bytes.is_empty() {
            return Ok(OptionalApiJson(None));
        }
        if !json {
            return Err(unsupported());
        }
        parse_json(&bytes).map(|value| OptionalApiJson(Some(value)))
    }
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json") || v.to_ascii_lowercase().ends_with("+json")
        })
}

fn unsupported() -> Problem {
    Problem::new(
        ProblemKind::UnsupportedMediaType,
        "send the body as application/json",
    )
}

/// The whole body, within the size limit (413 beyond it).
async fn body(req: Request, app: &App) -> Result<Bytes, Problem> {
    Bytes::from_request(req, app).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                ProblemKind::PayloadTooLarge,
                format!("the body exceeds {} bytes", crate::BODY_LIMIT),
            )
        } else {
            Problem::new(ProblemKind::MalformedJson, rejection.body_text())
        }
    })
}

/// Deserialises with the path of the failing field kept, so the problem can name it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." {
                    named_field(&inner.to_string())
                } else {
                    Some(path)
                };
                match field {
                    Some(field) => Problem::field(ProblemKind::InvalidField, field, inner.to_string()),
                    None => Problem::new(ProblemKind::InvalidField, inner.to_string()),
                }
            }
            _ => Problem::new(ProblemKind::MalformedJson, inner.to_string()),
        }
    })?;
    deserializer.end().map_err(|e| {
        Problem::new(
            ProblemKind::MalformedJson,
            format!("trailing characters after the JSON value: {e}"),
        )
    })?;
    Ok(value)
}

/// serde names the field in messages like "unknown field `x`" or "missing field `x`" at the top level.
fn named_field(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message.get(start..)?.find('`')?;
    message.get(start..start + len).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    #[test]
    fn json_problems_name_the_field() {
        let cases: &[(&str, ProblemKind, Option<&str>)] = &[
            (
                r#"{"name": "a", "count": "x"}"#,
                ProblemKind::InvalidField,
                Some("count"),
            ),
            (
                r#"{"name": "a", "count": 1, "extra": 1}"#,
                ProblemKind::InvalidField,
                Some("extra"),
            ),
            (r#"{"count": 1}"#, ProblemKind::InvalidField, Some("name")),
            (
                r#"{"name": "a", "count": 1, "inner": {"flag": 3}}"#,
                ProblemKind::InvalidField,
                Some("inner.flag"),
            ),
            (
                r#"{"name": "a", "count": -1}"#,
                ProblemKind::InvalidField,
                Some("count"),
            ),
            (r#"{"name": "a", "count": 1"#, ProblemKind::MalformedJson, None),
            (
                r#"{"name": "a", "count": 1} {}"#,
                ProblemKind::MalformedJson,
                None,
            ),
            ("", ProblemKind::MalformedJson, None),
        ];
        for (body, kind, field) in cases {
            let problem = parse_json::<Body>(body.as_bytes()).unwrap_err();
            assert_eq!(problem.kind(), Some(*kind), "{body}");
            assert_eq!(problem.field.as_deref(), *field, "{body}");
        }
    }

    #[test]
    fn the_client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy() {
        let proxy = "10.0.0.5";
        // (what, peer, trusted proxies, X-Forwarded-For headers, client)
        type Case<'a> = (&'a str, &'a str, &'a [&'a str], &'a [&'a str], &'a str);
        let cases: &[Case] = &[
            (
                "no setting: the peer",
                "192.0.2.1",
                &[],
                &["198.51.100.9"],
                "192.0.2.1",
            ),
            (
                "an untrusted peer's header is ignored",
                "192.0.2.1",
                &[proxy],
                &["198.51.100.9"],
                "192.0.2.1",
            ),
            (
                "a trusted proxy names the client",
                proxy,
                &[proxy],
                &["198.51.100.9"],
                "198.51.100.9",
            ),
            (
                "the nearest untrusted hop wins over what the client wrote",
                proxy,
                &[proxy],
                &["203.0.113.1, 198.51.100.9"],
                "198.51.100.9",
            ),
            (
                "trusted hops are skipped",
                proxy,
                &[proxy, "10.0.0.6"],
                &["198.51.100.9, 10.0.0.6"],
                "198.51.100.9",
            ),
            (
                "several headers read in order",
                proxy,
                &[proxy],
                &["203.0.113.1", "198.51.100.9"],
                "198.51.100.9",
            ),
            (
                "a port is dropped",
                proxy,
                &[proxy],
                &["198.51.100.9:4711"],
                "198.51.100.9",
            ),
            (
                "IPv6 with a port",
                proxy,
                &[proxy],
                &["[2001:db8::7]:4711"],
                "2001:db8::7",
            ),
            (
                "IPv6 in brackets",
                proxy,
                &[proxy],
                &["[2001:db8::7]"],
                "2001:db8::7",
            ),
            (
                "an unreadable hop stops at the proxy",
                proxy,
                &[proxy],
                &["198.51.100.9, unknown"],
                proxy,
            ),
            ("no header: the proxy itself", proxy, &[proxy], &[], proxy),
            (
                "only trusted hops: the farthest",
                proxy,
                &[proxy, "10.0.0.6"],
                &["10.0.0.6"],
                "10.0.0.6",
            ),
            (
                "a mapped IPv4 peer matches its IPv4 setting",
                "::ffff:10.0.0.5",
                &[proxy],
                &["198.51.100.9"],
                "198.51.100.9",
            ),
            (
                "a mapped IPv4 peer is reported as IPv4",
                "::ffff:192.0.2.1",
                &[],
                &[],
                "192.0.2.1",
            ),
        ];
        for (what, peer, trusted, forwarded, expected) in cases {
            let mut headers = HeaderMap::new();
            for value in *forwarded {
                headers.append("x-forwarded-for", value.parse().unwrap());
            }
            let trusted: Vec<IpAddr> = trusted.iter().map(|t| t.parse().unwrap()).collect();
            let got = client_address(peer.parse().unwrap(), &headers, &trusted);
            assert_eq!(got, expected.parse::<IpAddr>().unwrap(), "{what}");
        }
    }
}
