//! What the gateway takes from a hostile upstream and what it passes on (issue 8, items 4 and 5).
//!
//! A hostile upstream on port 0, under a distinctive path, that either sends more than any connection allows
//! (a JSON body, one server-sent event or a stream of events larger than the limits, generated lazily and
//! counted as the gateway pulls it) or echoes the request it received — its path, every header with the
//! developer's credential and extra header, its body — in every place an answer can carry text: the content,
//! a tool call's arguments, object keys, an error's message, in upper and lower case, and streamed a few
//! characters per event so that each secret is split across events and across chunks.

use crate::gateway::{MODEL, notice_with_evaluator, refused};
use crate::support::*;
use crate::upstream::{CREDENTIAL, HEADER_NAME, HEADER_VALUE, UPSTREAM_MODEL};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The path the hostile upstream serves under: it must not reach an evaluator either.
const BASE_PATH: &str = "/internal-llm-proxy/v1";
const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// How the hostile upstream answers the next call.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// The request echoed back with this status: JSON, or for a streamed call with 200, events.
    Echo(u16),
    /// A chat completion of exactly `size` bytes; `announced` sends its length first.
    Json { size: usize, announced: bool },
    /// One event whose `data:` line is `size` bytes with its end, then `[DONE]`.
    Event { size: usize },
    /// Events of about 100 bytes, `size` bytes in all, without an end.
    Events { size: usize },
}

#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<Answer>>,
    /// Body bytes the gateway pulled from this upstream, over all calls.
    pulled: AtomicU64,
}

struct Hostile {
    /// `http://127.0.0.1:<port>/internal-llm-proxy/v1`.
    base_url: String,
    port: u16,
    script: Arc<Script>,
}

impl Hostile {
    async fn start() -> Hostile {
        let script = Arc::new(Script::default());
        let app = Router::new()
            .route(&format!("{BASE_PATH}/chat/completions"), post(answer))
            .route(&format!("{BASE_PATH}/messages"), post(answer))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Hostile {
            base_url: format!("http://127.0.0.1:{port}{BASE_PATH}"),
            port,
            script,
        }
    }

    fn next(&self, answer: Answer) {
        self.script.answers.lock().unwrap().push_back(answer);
    }

    fn pulled(&self) -> u64 {
        self.script.pulled.load(Ordering::SeqCst)
    }

    /// What no evaluator may see, in any letter case.
    fn secrets(&self) -> Vec<String> {
        vec![
            CREDENTIAL.into(),
            HEADER_VALUE.into(),
            UPSTREAM_MODEL.into(),
            format!(":{}", self.port),
            "127.0.0.1".into(),
            BASE_PATH.into(),
        ]
    }

    fn assert_clean(&self, what: &str, text: &str) {
        self.assert_none(what, text, &self.secrets());
    }

    fn assert_none(&self, what: &str, text: &str, secrets: &[String]) {
        let lower = text.to_lowercase();
        for secret in secrets {
            assert!(
                !lower.contains(&secret.to_lowercase()),
                "{what} reveals {secret:?}: {text}"
            );
        }
    }
}

async fn answer(State(script): State<Arc<Script>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let anthropic = uri.path().ends_with("/messages");
    let stream = request["stream"] == true;
    let next = script.answers.lock().unwrap().pop_front();
    match next.unwrap_or(Answer::Echo(200)) {
        Answer::Echo(status) => echo(status, anthropic, stream, &uri, &headers, &body),
        Answer::Json { size, announced } => {
            let head = br#"{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":""#;
            let tail = br#""},"finish_reason":"stop"}]}"#;
            let mut response = counted(script, lazy(head, b'a', size - head.len() - tail.len(), tail));
            if announced {
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            }
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Answer::Event { size } => {
            let head = br#"data: {"choices":[{"index":0,"delta":{"content":""#;
            let tail = b"\"}}]}\n";
            let end = b"\ndata: [DONE]\n\n";
            let line = lazy(head, b'a', size - head.len() - tail.len(), tail);
            sse(counted(
                script,
                line.chain(std::iter::once(Bytes::from_static(end))),
            ))
        }
        Answer::Events { size } => {
            let event = format!(
                "data: {}\n\n",
                json!({"choices": [{"index": 0, "delta": {"content": "x".repeat(50)}}]})
            );
            let event = Bytes::from(event);
            sse(counted(
                script,
                std::iter::repeat_n(event.clone(), size / event.len()),
            ))
        }
    }
}

fn sse(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    response
}

/// `head`, `fill` repeated `n` times, then `tail`, in pieces of 64 KiB made only as they are pulled.
fn lazy(head: &'static [u8], fill: u8, n: usize, tail: &'static [u8]) -> impl Iterator<Item = Bytes> + Send {
    let block = Bytes::from(vec![fill; 64 * KIB]);
    let rest = block.slice(..n % block.len());
    std::iter::once(Bytes::from_static(head))
        .chain(std::iter::repeat_n(block, n / (64 * KIB)))
        .chain([rest, Bytes::from_static(tail)])
}

/// A body of these pieces, counting what the reader pulls.
fn counted(script: Arc<Script>, pieces: impl Iterator<Item = Bytes> + Send + 'static) -> Response {
    let stream = futures_util::stream::unfold((pieces, script), |(mut pieces, script)| async move {
        let piece = pieces.next()?;
        script.pulled.fetch_add(piece.len() as u64, Ordering::SeqCst);
        Some((Ok::<Bytes, std::io::Error>(piece), (pieces, script)))
    });
    Body::from_stream(stream).into_response()
}

/// The request as an echoing upstream tells it: request line, headers, body.
fn dump(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> String {
    let mut out = format!("POST {uri} HTTP/1.1\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("")));
    }
    out.push('\n');
    out.push_str(&String::from_utf8_lossy(body));
    // And again in other cases, as some servers log them.
    format!("{out}\n{}\n{}", out.to_uppercase(), out.to_lowercase())
}

/// The headers as JSON both ways: names to values, and values (as keys) to names.
fn echoed_headers(uri: &Uri, headers: &HeaderMap) -> Value {
    let mut by_name = Map::new();
    let mut by_value = Map::new();
    for (name, value) in headers {
        let value = value.to_str().unwrap_or("").to_owned();
        by_name.insert(name.to_string(), json!(value));
        by_value.insert(value.to_uppercase(), json!(name.to_string()));
    }
    json!({"path": uri.path(), "headers": by_name, "by_value": by_value})
}

fn echo(status: u16, anthropic: bool, stream: bool, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
    let text = dump(uri, headers, body);
    let echoed = echoed_headers(uri, headers);
    let arguments = echoed["headers"].to_string();
    if status >= 300 {
        let error = json!({"error": {"message": text, "type": "invalid_request_error", "echo": echoed}});
        return (StatusCode::from_u16(status).unwrap(), axum::Json(error)).into_response();
    }
    if !stream {
        let answer = if anthropic {
            json!({"id": "msg_1", "type": "message", "role": "assistant", "model": UPSTREAM_MODEL,
                "content": [{"type": "text", "text": text},
                            {"type": "tool_use", "id": "t1", "name": "echo", "input": echoed}],
                "stop_reason": "end_turn", "usage": {"input_tokens": 9, "output_tokens": 4}, "echo": echoed})
        } else {
            json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": UPSTREAM_MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "echo", "arguments": arguments}}]},
                    "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}, "echo": echoed})
        };
        return axum::Json(answer).into_response();
    }
    // Streamed: a few characters per event, and every event cut in two chunks.
    let pieces = |text: &str, n: usize| -> Vec<String> {
        text.chars()
            .collect::<Vec<_>>()
            .chunks(n)
            .map(|c| c.iter().collect())
            .collect()
    };
    let mut events = Vec::new();
    if anthropic {
        let start = json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
            "role": "assistant", "model": UPSTREAM_MODEL, "content": [], "usage": {"input_tokens": 9, "output_tokens": 1}}});
        events.push(format!("event: message_start\ndata: {start}\n\n"));
        events.push(format!(
            "event: content_block_start\ndata: {}\n\n",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        ));
        for piece in pieces(&text, 5) {
            let delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}});
            events.push(format!("event: content_block_delta\ndata: {delta}\n\n"));
        }
        events.push(
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n".into(),
        );
        events.push(format!(
            "event: content_block_start\ndata: {}\n\n",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "t1", "name": "echo", "input": {}}})
        ));
        for piece in pieces(&arguments, 7) {
            let delta = json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": piece}});
            events.push(format!("event: content_block_delta\ndata: {delta}\n\n"));
        }
        events.push(
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n".into(),
        );
        events.push(format!(
            "event: ping\ndata: {}\n\n",
            json!({"type": "ping", "echo": echoed})
        ));
        let delta = json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}});
        events.push(format!("event: message_delta\ndata: {delta}\n\n"));
        events.push("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".into());
    } else {
        let chunk = |delta: Value, finish: Value| {
            let chunk = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                "model": UPSTREAM_MODEL, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
            format!("data: {chunk}\n\n")
        };
        events.push(chunk(json!({"role": "assistant", "content": ""}), Value::Null));
        for piece in pieces(&text, 5) {
            events.push(chunk(json!({"content": piece}), Value::Null));
        }
        for (i, piece) in pieces(&arguments, 7).into_iter().enumerate() {
            let call = if i == 0 {
                json!({"index": 0, "id": "c1", "type": "function", "function": {"name": "echo", "arguments": piece}})
            } else {
                json!({"index": 0, "function": {"arguments": piece}})
            };
            events.push(chunk(json!({"tool_calls": [call]}), Value::Null));
        }
        events.push(format!("data: {}\n\n", json!({"echo": echoed, "choices": []})));
        events.push(chunk(json!({}), json!("tool_calls")));
        events.push("data: [DONE]\n\n".into());
    }
    let chunks: Vec<Result<Bytes, std::io::Error>> = events
        .into_iter()
        .flat_map(|event| {
            let event = Bytes::from(event);
            let half = event.len() / 2;
            [Ok(event.slice(..half)), Ok(event.slice(half..))]
        })
        .collect();
    sse(Body::from_stream(futures_util::stream::iter(chunks)).into_response())
}

/// A notice in review with the evaluator assigned, connections to the hostile upstream (OpenAI-style `MODEL`,
/// Anthropic-style `echo-anthropic`) with `extra` settings and retention `encrypted`, and the evaluator's token.
struct Setup {
    t: TestApp,
    w: World,
    up: Hostile,
    notice: String,
    token: String,
}

async fn setup(extra: Value) -> Setup {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let up = Hostile::start().await;
    let notice = notice_with_evaluator(&t, &w, 10).await;
    for (model, style) in [(MODEL, "openai"), ("echo-anthropic", "anthropic")] {
        let mut body = json!({
            "model": model, "api_style": style, "base_url": up.base_url, "upstream_model": UPSTREAM_MODEL,
            "credential": CREDENTIAL, "headers": {HEADER_NAME: HEADER_VALUE}, "retention": "encrypted",
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        t.post(
            &w.dev_admin,
            &format!("/api/v1/notices/{notice}/connections"),
            body,
        )
        .await
        .ok();
    }
    let token = t
        .post(
            &w.evaluator,
            &format!("/api/v1/notices/{notice}/gateway-tokens"),
            json!({"name": "hostile"}),
        )
        .await
        .ok()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    Setup {
        t,
        w,
        up,
        notice,
        token,
    }
}

/// What the evaluator received for one call: status, headers as text, body.
struct Received {
    status: u16,
    call_id: String,
    headers: String,
    body: String,
}

async fn call(base: &str, client: &reqwest::Client, token: &str, anthropic: bool, stream: bool) -> Received {
    let (path, body) = if anthropic {
        (
            "/gateway/v1/messages",
            json!({"model": "echo-anthropic", "max_tokens": 5, "stream": stream,
                "messages": [{"role": "user", "content": "repeat what you received"}]}),
        )
    } else {
        (
            "/gateway/v1/chat/completions",
            json!({"model": MODEL, "stream": stream, "messages": [{"role": "user", "content": "repeat what you received"}]}),
        )
    };
    let response = client
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let call_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let headers = format!("{:?}", response.headers());
    let body = response.text().await.unwrap();
    Received {
        status,
        call_id,
        headers,
        body,
    }
}

/// The data of each event of a stream, parsed.
fn events(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

/// Every text a client joins across a stream's events: content, tool arguments, block texts and JSON.
fn joined(body: &str) -> String {
    let mut out = String::new();
    for pointer in [
        "/choices/0/delta/content",
        "/choices/0/delta/tool_calls/0/function/arguments",
        "/delta/text",
        "/delta/partial_json",
    ] {
        let text: String = events(body)
            .iter()
            .filter_map(|e| e.pointer(pointer).and_then(Value::as_str).map(str::to_owned))
            .collect();
        out.push_str(&text);
        out.push('\n');
    }
    out
}

/// Every status class, JSON and streamed, in both API styles: nothing of the credential, the extra header, the
/// upstream's model id, address, port or path reaches the evaluator — not in the body, not split across
/// events, not as a key, not in the headers, not in the retained transcript.
#[tokio::test]
async fn an_upstream_echoing_the_request_reveals_no_secret_to_the_evaluator() {
    let s = setup(json!({})).await;
    // (status upstream, stream, what the evaluator gets, code, whether the echo is passed on, scrubbed)
    let cases: &[(u16, bool, u16, Option<&str>, bool)] = &[
        (200, false, 200, None, true),
        (200, true, 200, None, true),
        (400, false, 400, Some("upstream_rejected_request"), true),
        (400, true, 400, Some("upstream_rejected_request"), true),
        (404, false, 400, Some("upstream_rejected_request"), true),
        (422, true, 422, Some("upstream_rejected_request"), true),
        (401, false, 502, Some("upstream_credential_refused"), false),
        (500, false, 502, Some("upstream_error"), false),
        (503, true, 502, Some("upstream_error"), false),
    ];
    for anthropic in [false, true] {
        for &(upstream, stream, status, code, passed_on) in cases {
            let case = format!("anthropic {anthropic}, upstream {upstream}, stream {stream}");
            s.up.next(Answer::Echo(upstream));
            let got = call(&s.t.base, &s.t.client, &s.token, anthropic, stream).await;
            assert_eq!(got.status, status, "{case}: {}", got.body);
            s.up.assert_clean(&format!("{case}: the body"), &got.body);
            s.up.assert_clean(&format!("{case}: the headers"), &got.headers);
            if let Some(code) = code {
                let error: Value = serde_json::from_str(&got.body).unwrap();
                assert_eq!(error["error"]["code"], code, "{case}");
            }
            if stream && status == 200 {
                s.up.assert_clean(&format!("{case}: the joined texts"), &joined(&got.body));
                let ends = if anthropic {
                    "message_stop\"}\n\n"
                } else {
                    "data: [DONE]\n\n"
                };
                assert!(got.body.ends_with(ends), "{case}: {}", got.body);
            }
            if passed_on {
                // The echo did come through, with the secrets replaced: what is checked is not an empty answer.
                let text = if stream && status == 200 {
                    joined(&got.body)
                } else {
                    got.body.clone()
                };
                assert!(text.contains("[redacted]"), "{case}: {text}");
                assert!(
                    text.to_lowercase()
                        .contains(&format!("{HEADER_NAME}: [redacted]")),
                    "{case}: {text}"
                );
            }
            if status == 200 {
                // The transcript keeps what the evaluator received, not what the upstream sent.
                let path = format!(
                    "/api/v1/notices/{}/gateway-calls/{}/transcript",
                    s.notice, got.call_id
                );
                let transcript = s.t.get(&s.w.evaluator, &path).await;
                let response = transcript.ok()["response"].as_str().unwrap().to_owned();
                assert!(response.contains("[redacted]"), "{case}");
                s.up.assert_clean(&format!("{case}: the transcript"), &response);
            }
        }
    }
}

/// Answers larger than the connection allows are cut off at the limit — never read whole — and answered with
/// a clear gateway error, which the call's record keeps; no transcript of them is kept.
#[tokio::test]
async fn answers_over_the_limits_are_refused_and_recorded() {
    // (answer, connection settings, streamed, the error's `what` (None: answered), most bytes pulled)
    let cases: Vec<(Answer, Value, bool, Option<&str>, usize)> = vec![
        // The defaults: 16 MiB for a JSON body, 1 MiB for an event.
        (
            Answer::Json {
                size: 16 * MIB + 1,
                announced: false,
            },
            json!({}),
            false,
            Some("a response larger than the 16777216 bytes"),
            64 * MIB,
        ),
        (
            Answer::Json {
                size: 300_000_000,
                announced: true,
            },
            json!({}),
            false,
            Some("a response larger than the 16777216 bytes"),
            32 * MIB,
        ),
        (
            Answer::Json {
                size: 300_000_000,
                announced: false,
            },
            json!({}),
            false,
            Some("a response larger than the 16777216 bytes"),
            64 * MIB,
        ),
        (
            Answer::Event { size: 64 * MIB },
            json!({}),
            true,
            Some("a stream event larger than the 1048576 bytes"),
            32 * MIB,
        ),
        // Set on the connection: exactly at the limit is answered, one byte more is not.
        (
            Answer::Json {
                size: 64 * KIB,
                announced: false,
            },
            json!({"max_response_bytes": 64 * KIB}),
            false,
            None,
            64 * KIB,
        ),
        (
            Answer::Json {
                size: 64 * KIB + 1,
                announced: true,
            },
            json!({"max_response_bytes": 64 * KIB}),
            false,
            Some("a response larger than the 65536 bytes"),
            64 * KIB + 1,
        ),
        (
            Answer::Event { size: 8 * KIB },
            json!({"max_event_bytes": 8 * KIB}),
            true,
            None,
            8 * KIB + 16,
        ),
        (
            Answer::Event { size: 8 * KIB + 1 },
            json!({"max_event_bytes": 8 * KIB}),
            true,
            Some("a stream event larger than the 8192 bytes"),
            8 * KIB + 16,
        ),
        (
            Answer::Events { size: 64 * MIB },
            json!({"max_stream_bytes": 64 * KIB}),
            true,
            Some("a stream larger than the 65536 bytes"),
            32 * MIB,
        ),
    ];
    for (answer, settings, stream, refusal, most_pulled) in cases {
        let case = format!("{answer:?} with {settings}");
        let s = setup(settings).await;
        s.up.next(answer);
        let got = call(&s.t.base, &s.t.client, &s.token, false, stream).await;
        let pulled = s.up.pulled();
        assert!(
            pulled <= most_pulled as u64,
            "{case}: the gateway pulled {pulled} bytes"
        );
        let calls =
            s.t.get(
                &s.w.evaluator,
                &format!("/api/v1/notices/{}/gateway-calls", s.notice),
            )
            .await;
        let record = calls.ok()["items"][0].clone();
        let transcript =
            s.t.get(
                &s.w.evaluator,
                &format!(
                    "/api/v1/notices/{}/gateway-calls/{}/transcript",
                    s.notice, got.call_id
                ),
            )
            .await;
        let Some(what) = refusal else {
            assert_eq!(got.status, 200, "{case}");
            assert_eq!(record["status"], 200, "{case}");
            transcript.ok();
            continue;
        };
        let error: Value = if stream {
            // The stream had started: it ends with the error, and no [DONE].
            assert_eq!(got.status, 200, "{case}");
            assert!(!got.body.contains("[DONE]"), "{case}");
            events(&got.body).pop().unwrap()
        } else {
            serde_json::from_str(&got.body).unwrap()
        };
        let reply = Reply {
            status: if stream {
                StatusCode::BAD_GATEWAY
            } else {
                StatusCode::from_u16(got.status).unwrap()
            },
            content_type: String::new(),
            body: error,
            headers: Default::default(),
        };
        let message = refused(&reply, 502, "upstream_response_too_large");
        assert!(message.contains(what), "{case}: {message}");
        assert_eq!(reply.body["error"]["type"], "api_error");
        assert_eq!(record["status"], 502, "{case}: {record}");
        assert_eq!(record["error_code"], "upstream_response_too_large", "{case}");
        assert_eq!(record["stream"], stream, "{case}");
        transcript.problem(404, "not-found");
    }
}

/// The limits are connection settings: shown, changed, bounded, audited.
#[tokio::test]
async fn response_limits_are_connection_settings_with_bounds() {
    let s = setup(json!({})).await;
    let connections = format!("/api/v1/notices/{}/connections", s.notice);
    let listed = s.t.get(&s.w.dev_admin, &connections).await;
    let connection = listed.ok()["items"][0].clone();
    assert_eq!(connection["max_response_bytes"], 16 * MIB);
    assert_eq!(connection["max_event_bytes"], MIB);
    assert_eq!(connection["max_stream_bytes"], 64 * MIB);
    let id = connection["id"].as_str().unwrap();
    let base = json!({"api_style": "openai", "base_url": s.up.base_url, "upstream_model": UPSTREAM_MODEL});
    let with = |extra: Value| {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        (json!({"max_response_bytes": 1023}), "max_response_bytes"),
        (json!({"max_response_bytes": 64 * MIB + 1}), "max_response_bytes"),
        (json!({"max_event_bytes": 16 * MIB + 1}), "max_event_bytes"),
        (json!({"max_stream_bytes": 256 * MIB + 1}), "max_stream_bytes"),
        (json!({"max_stream_bytes": 0}), "max_stream_bytes"),
        (json!({"max_response_bytes": "16MiB"}), "max_response_bytes"),
    ];
    for (extra, field) in cases {
        let reply =
            s.t.call(
                Method::PUT,
                &format!("{connections}/{id}"),
                Some(&s.w.dev_admin.token),
                Some(with(extra.clone())),
            )
            .await;
        let problem = reply.problem(422, "invalid-field");
        assert!(problem.to_string().contains(field), "{extra}: {problem}");
    }
    let changed =
        s.t.call(
            Method::PUT,
            &format!("{connections}/{id}"),
            Some(&s.w.dev_admin.token),
            Some(with(
                json!({"max_response_bytes": 2 * MIB, "max_event_bytes": 4 * KIB,
                "max_stream_bytes": 256 * MIB}),
            )),
        )
        .await;
    assert_eq!(changed.ok()["max_response_bytes"], 2 * MIB);
    assert_eq!(changed.body["max_event_bytes"], 4 * KIB);
    assert_eq!(changed.body["max_stream_bytes"], 256 * MIB);
    let audit =
        s.t.get(&s.w.program_admin, &format!("/api/v1/audit?object_id={id}"))
            .await;
    assert!(
        audit.ok().to_string().contains("\"max_event_bytes\":4096"),
        "{}",
        audit.body
    );
    // A call through the changed connection keeps to the new limit at once.
    s.up.next(Answer::Event { size: 4 * KIB + 1 });
    let got = call(&s.t.base, &s.t.client, &s.token, false, true).await;
    let last = events(&got.body).pop().unwrap();
    assert_eq!(
        last["error"]["code"], "upstream_response_too_large",
        "{}",
        got.body
    );
}

/// The released binary, its log included: the echoed secrets reach neither the evaluator nor the log.
#[tokio::test]
async fn an_echoing_upstream_leaves_no_secret_in_the_log() {
    let url = fresh_database_url().await;
    let seed = spawn_app_on(&url).await;
    // The binary runs on the real clock.
    seed.clock.set(wall_clock());
    let w = World::new(&seed).await;
    let up = Hostile::start().await;
    let notice = notice_with_evaluator(&seed, &w, 10).await;
    let server = crate::cli::Server::start(&url).await;
    let body = json!({
        "model": MODEL, "api_style": "openai", "base_url": up.base_url, "upstream_model": UPSTREAM_MODEL,
        "credential": CREDENTIAL, "headers": {HEADER_NAME: HEADER_VALUE}, "retention": "encrypted",
    });
    let created = seed
        .client
        .post(format!("{}/api/v1/notices/{notice}/connections", server.base))
        .bearer_auth(&w.dev_admin.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let token = seed
        .post(
            &w.evaluator,
            &format!("/api/v1/notices/{notice}/gateway-tokens"),
            json!({"name": "binary"}),
        )
        .await
        .ok()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for (answer, stream) in [
        (Answer::Echo(200), false),
        (Answer::Echo(200), true),
        (Answer::Echo(400), false),
        (Answer::Echo(500), true),
        (Answer::Event { size: 2 * MIB }, true),
    ] {
        up.next(answer);
        let got = call(&server.base, &seed.client, &token, false, stream).await;
        up.assert_clean(&format!("{answer:?}"), &got.body);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (clean, log) = server.stop().await;
    assert!(clean);
    assert!(
        log.contains("/gateway/v1/chat/completions"),
        "the log was captured: {log}"
    );
    // The server itself listens on 127.0.0.1 and says so; the upstream's port, path and secrets must not show.
    let mut secrets = up.secrets();
    secrets.retain(|s| s != "127.0.0.1");
    up.assert_none("the log", &log, &secrets);
}

/// The connection pages show the limits, fill them into the change form and keep them when it is sent back;
/// a value out of bounds is shown on its field.
#[tokio::test]
async fn the_connection_form_shows_and_keeps_the_limits() {
    let s = setup(json!({"max_response_bytes": 2 * MIB, "max_event_bytes": 4 * KIB})).await;
    let dev = crate::web::signed_in(&s.t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let api = format!("/api/v1/notices/{}/connections", s.notice);
    let id = s.t.get(&s.w.dev_admin, &api).await.ok()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = format!("/notices/{}/connections", s.notice);
    let listed = dev.get(&page).await;
    listed.assert(200);
    assert!(
        listed
            .body
            .contains("2 MiB per response, 4 KiB per stream event, 64 MiB per stream"),
        "{}",
        listed.body
    );
    crate::web::assert_accessible(&page, &listed.body);
    assert!(
        listed.body.contains("value=\"16777216\""),
        "a new connection starts at the defaults"
    );
    let edit = format!("{page}/{id}");
    let form = dev.get(&edit).await;
    form.assert(200);
    crate::web::assert_accessible(&edit, &form.body);
    for value in ["2097152", "4096", "67108864"] {
        assert!(
            form.body.contains(&format!("value=\"{value}\"")),
            "{value} is filled in"
        );
    }
    let fields = |event: &'static str| {
        vec![
            ("api_style", "openai".to_owned()),
            ("base_url", s.up.base_url.clone()),
            ("upstream_model", UPSTREAM_MODEL.to_owned()),
            ("credential", String::new()),
            ("headers", String::new()),
            ("model", MODEL.to_owned()),
            ("requests_per_minute", "60".to_owned()),
            ("tokens_per_minute", "200000".to_owned()),
            ("concurrency", "8".to_owned()),
            ("post_launch_days", "0".to_owned()),
            ("retention", "encrypted".to_owned()),
            ("timeout_seconds", "45".to_owned()),
            ("max_response_bytes", "2097152".to_owned()),
            ("max_event_bytes", event.to_owned()),
            ("max_stream_bytes", "67108864".to_owned()),
        ]
    };
    let sent = fields("4096");
    let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (*k, v.as_str())).collect();
    dev.submit(&edit, &edit, &sent).await.assert(303);
    let stored = s.t.get(&s.w.dev_admin, &format!("{api}/{id}")).await;
    assert_eq!(stored.ok()["timeout_seconds"], 45);
    assert_eq!(stored.body["max_response_bytes"], 2 * MIB);
    assert_eq!(stored.body["max_event_bytes"], 4 * KIB);
    let bad = fields("10");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    dev.submit(&edit, &edit, &bad)
        .await
        .assert_form_error("max_event_bytes", "10");
}
