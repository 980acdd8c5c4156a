//! The model access gateway against a scripted upstream: access bound to the token, the assignment and the
//! review window; limits; streaming; failures; metering; confidentiality of the upstream.

use crate::support::*;
use crate::upstream::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub(crate) const MODEL: &str = "orion-1.0";

pub(crate) struct Gw {
    pub(crate) t: TestApp,
    pub(crate) w: World,
    pub(crate) up: Upstream,
    pub(crate) notice: String,
    pub(crate) connection: String,
    pub(crate) token: String,
}

impl Gw {
    /// Posts `body` to the gateway's `path` with the evaluator's gateway token; the response as it comes (for
    /// streams and headers).
    pub(crate) async fn post_raw(&self, path: &str, body: &Value) -> reqwest::Response {
        self.t
            .client
            .post(self.t.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

/// Adds `extra`'s fields to `base`.
fn merged(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

pub(crate) fn connection_body(up: &Upstream, extra: Value) -> Value {
    merged(
        json!({
            "api_style": "openai", "base_url": up.base_url, "upstream_model": UPSTREAM_MODEL,
            "credential": CREDENTIAL, "headers": {HEADER_NAME: HEADER_VALUE},
        }),
        extra,
    )
}

/// A notice launching in `launch_in_days`, shared with the agency, with the agency's evaluator assigned.
pub(crate) async fn notice_with_evaluator(t: &TestApp, w: &World, launch_in_days: i64) -> String {
    let notice = t.file_notice(&w.dev_admin, launch_in_days, &[w.agency]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.post(
        &w.agency_admin,
        &format!("/api/v1/notices/{notice}/assignments"),
        json!({"user_id": w.evaluator.user_id}),
    )
    .await
    .ok();
    notice
}

/// A notice launching in `launch_in_days`, shared with the agency, its evaluator assigned, a connection with
/// `extra` settings, and a gateway token of the evaluator.
pub(crate) async fn gateway_with(launch_in_days: i64, extra: Value) -> Gw {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let up = Upstream::start().await;
    let notice = notice_with_evaluator(&t, &w, launch_in_days).await;
    let connection = t
        .post(
            &w.dev_admin,
            &format!("/api/v1/notices/{notice}/connections"),
            connection_body(&up, extra),
        )
        .await;
    let connection = connection.ok()["id"].as_str().unwrap().to_owned();
    let token = issue(&t, &w.evaluator, &notice, json!({"name": "laptop"})).await;
    Gw {
        t,
        w,
        up,
        notice,
        connection,
        token,
    }
}

pub(crate) async fn issue(t: &TestApp, who: &Persona, notice: &str, body: Value) -> String {
    let reply = t
        .post(who, &format!("/api/v1/notices/{notice}/gateway-tokens"), body)
        .await;
    let token = reply.ok()["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("plg_"));
    token
}

pub(crate) fn chat_body(text: &str) -> Value {
    json!({"model": MODEL, "messages": [{"role": "user", "content": text}]})
}

async fn gateway(
    t: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Reply {
    let mut request = t.client.request(method, t.url(&format!("/gateway/v1{path}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    TestApp::reply(request.send().await.unwrap()).await
}

pub(crate) async fn chat(t: &TestApp, token: &str, body: &Value) -> Reply {
    gateway(t, Some(token), Method::POST, "/chat/completions", Some(body)).await
}

/// Asserts an OpenAI-style error with this status and code; returns its message.
pub(crate) fn refused(reply: &Reply, status: u16, code: &str) -> String {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], code, "{}", reply.body);
    assert!(reply.body["error"]["type"].is_string(), "{}", reply.body);
    reply.body["error"]["message"].as_str().unwrap().to_owned()
}

/// Reads a streamed response to its end: (the events' data lines, whether it ended with [DONE]).
async fn read_stream(response: reqwest::Response) -> (Vec<String>, bool) {
    let text = response.text().await.unwrap_or_default();
    let data: Vec<String> = text
        .split("\n\n")
        .filter_map(|event| {
            event
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map(str::to_owned)
        })
        .collect();
    let done = data.last().is_some_and(|d| d == "[DONE]");
    (data, done)
}

pub(crate) fn assert_no_identity(up: &Upstream, what: &str, text: &str) {
    for needle in up.identity() {
        assert!(!text.contains(&needle), "{what} reveals {needle:?}: {text}");
    }
}

fn assert_no_identity_headers(reply_headers: &reqwest::header::HeaderMap) {
    for name in IDENTITY_HEADERS {
        assert!(
            reply_headers.get(name).is_none(),
            "header {name} reached the evaluator"
        );
    }
}

/// The notice's calls as its evaluator sees them, newest first.
pub(crate) async fn calls(g: &Gw) -> Vec<Value> {
    let reply =
        g.t.get(
            &g.w.evaluator,
            &format!("/api/v1/notices/{}/gateway-calls", g.notice),
        )
        .await;
    reply.ok()["items"].as_array().unwrap().clone()
}

/// The actions of the audit trail about one object, and the trail's text.
async fn audit_actions(t: &TestApp, admin: &Persona, object_id: &str) -> (Vec<String>, String) {
    let audit = t
        .get(admin, &format!("/api/v1/audit?object_id={object_id}"))
        .await;
    let actions = audit.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    (actions, audit.body.to_string())
}

async fn usage(t: &TestApp, who: &Persona, notice: &str) -> Value {
    t.get(who, &format!("/api/v1/notices/{notice}/gateway-usage"))
        .await
        .ok()
        .clone()
}

/// Polls until the condition holds, for effects that happen just after a response (a call cut short).
async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_call_reaches_the_model_with_tools_and_comes_back_without_its_identity() {
    let g = gateway_with(10, json!({})).await;
    let models = gateway(&g.t, Some(&g.token), Method::GET, "/models", None).await;
    assert_eq!(models.ok()["object"], "list");
    assert_eq!(models.body["data"][0]["id"], MODEL);
    assert_eq!(models.body["data"].as_array().unwrap().len(), 1);

    let body = merged(
        chat_body("weather?"),
        json!({"temperature": 0.2, "tools": [{"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}], "tool_choice": "auto"}),
    );
    let reply = chat(&g.t, &g.token, &body).await;
    let answer = reply.ok();
    assert_eq!(answer["model"], MODEL);
    assert_eq!(answer["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    assert_eq!(answer["usage"]["prompt_tokens"], 11);
    assert!(answer.get("system_fingerprint").is_none());
    assert_no_identity(&g.up, "the response", &answer.to_string());
    assert_no_identity_headers(&reply.headers);
    let call_id = reply.headers["x-request-id"].to_str().unwrap().to_owned();

    // The upstream got the developer's credential, model and headers, and the evaluator's parameters.
    let seen = g.up.seen().pop().unwrap();
    assert_eq!(seen.body["model"], UPSTREAM_MODEL);
    assert_eq!(seen.body["temperature"], 0.2);
    assert_eq!(seen.body["tool_choice"], "auto");
    assert_eq!(seen.headers[HEADER_NAME], HEADER_VALUE);
    assert!(
        !seen.headers["authorization"].to_str().unwrap().contains(&g.token),
        "the evaluator's token does not travel upstream"
    );

    // Metered: the evaluator sees the call with the upstream's usage.
    let calls = calls(&g).await;
    let call = &calls[0];
    assert_eq!(call["id"], call_id);
    assert_eq!(call["status"], 200);
    assert_eq!(call["model"], MODEL);
    assert_eq!(call["input_tokens"], 11);
    assert_eq!(call["output_tokens"], 7);
    assert_eq!(call["stream"], false);
}

#[tokio::test]
async fn streams_are_relayed_event_by_event_in_order_and_metered() {
    let g = gateway_with(10, json!({})).await;
    g.up.script([Behavior::Stream {
        chunks: 20,
        gap: Duration::from_millis(30),
    }]);
    let body = merged(chat_body("count"), json!({"stream": true}));
    let started = Instant::now();
    let mut response = g.post_raw("/gateway/v1/chat/completions", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_no_identity_headers(response.headers());
    let first = response.chunk().await.unwrap().unwrap();
    let first_at = started.elapsed();
    let mut text = String::from_utf8(first.to_vec()).unwrap();
    while let Some(chunk) = response.chunk().await.unwrap() {
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let total = started.elapsed();
    assert!(
        first_at + Duration::from_millis(300) < total,
        "the first event arrived after {first_at:?} of {total:?}: the stream was buffered"
    );
    assert_no_identity(&g.up, "the stream", &text);
    let data: Vec<&str> = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"));
    let contents: Vec<String> = data[..data.len() - 1]
        .iter()
        .map(|d| {
            let chunk: Value = serde_json::from_str(d).unwrap();
            assert_eq!(chunk["model"], MODEL);
            assert!(chunk.get("usage").is_none(), "usage was not asked for: {d}");
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("t{i} ")).collect();
    assert_eq!(contents, expected, "every chunk, in order");

    // Asked for, the usage chunk is relayed too.
    let body = merged(
        chat_body("count"),
        json!({"stream": true, "stream_options": {"include_usage": true}}),
    );
    let response = g.post_raw("/gateway/v1/chat/completions", &body).await;
    let (data, done) = read_stream(response).await;
    assert!(done);
    let usage: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(usage["usage"]["completion_tokens"], 3);

    let calls = calls(&g).await;
    assert_eq!(calls.len(), 2);
    let first_call = &calls[1];
    assert_eq!(first_call["stream"], true);
    assert_eq!(first_call["status"], 200);
    assert_eq!(first_call["input_tokens"], 11);
    assert_eq!(first_call["output_tokens"], 20);
    let ttft = first_call["ttft_ms"].as_f64().unwrap();
    let latency = first_call["latency_ms"].as_f64().unwrap();
    assert!(
        ttft < latency && latency >= 19.0 * 30.0,
        "ttft {ttft} latency {latency}"
    );
}

#[tokio::test]
async fn access_opens_and_closes_with_the_review_window() {
    // Launch in 40 days: the window opens in 10. A second connection allows two days after launch.
    let g = gateway_with(40, json!({})).await;
    g.t.post(
        &g.w.dev_admin,
        &format!("/api/v1/notices/{}/connections", g.notice),
        connection_body(&g.up, json!({"model": "orion-after", "post_launch_days": 2})),
    )
    .await
    .ok();
    let filed = g.t.clock_now();
    let day = chrono::Duration::days(1);
    let cases: &[(chrono::Duration, &str, u16, Option<&str>)] = &[
        (chrono::Duration::zero(), MODEL, 403, Some("window_not_open")),
        (
            day * 10 - chrono::Duration::seconds(1),
            MODEL,
            403,
            Some("window_not_open"),
        ),
        (day * 10, MODEL, 200, None),
        (day * 40 - chrono::Duration::seconds(1), MODEL, 200, None),
        (day * 40, MODEL, 403, Some("window_closed")),
        (day * 40, "orion-after", 200, None),
        (day * 42 - chrono::Duration::seconds(1), "orion-after", 200, None),
        (day * 42, "orion-after", 403, Some("post_launch_access_ended")),
        (day * 42, MODEL, 403, Some("window_closed")),
    ];
    for (offset, model, status, code) in cases {
        g.t.clock.set(filed + *offset);
        let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
        let reply = chat(&g.t, &g.token, &body).await;
        match code {
            None => assert_eq!(reply.status.as_u16(), *status, "{offset} {model}: {}", reply.body),
            Some(code) => {
                let message = refused(&reply, *status, code);
                assert!(!message.contains(&g.notice), "{message}");
            }
        }
    }
    // The model list follows the same rule.
    let models = gateway(&g.t, Some(&g.token), Method::GET, "/models", None).await;
    refused(&models, 403, "post_launch_access_ended");
    g.t.clock.set(filed + day * 41);
    let models = gateway(&g.t, Some(&g.token), Method::GET, "/models", None).await;
    let ids: Vec<&str> = models.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["orion-after"]);
}

#[tokio::test]
async fn access_follows_the_token_the_assignment_and_the_developers_actions() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    let notices = format!("/api/v1/notices/{}", g.notice);
    let ok = || chat_body("hi");
    let revoked = issue(t, &w.evaluator, &g.notice, json!({"name": "old"})).await;
    let expiring = issue(
        t,
        &w.evaluator,
        &g.notice,
        json!({"name": "short", "expires_in_days": 1}),
    )
    .await;
    assert_eq!(chat(t, &revoked, &ok()).await.status, 200);
    assert_eq!(chat(t, &expiring, &ok()).await.status, 200);

    let tokens = t.get(&w.evaluator, &format!("{notices}/gateway-tokens")).await;
    let old = tokens.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "old")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.call(
        Method::DELETE,
        &format!("{notices}/gateway-tokens/{old}"),
        Some(&w.evaluator.token),
        None,
    )
    .await
    .ok();
    refused(&chat(t, &revoked, &ok()).await, 401, "token_revoked");

    t.clock.advance(chrono::Duration::days(1));
    refused(&chat(t, &expiring, &ok()).await, 401, "token_expired");
    assert_eq!(
        chat(t, &g.token, &ok()).await.status,
        200,
        "other tokens still work"
    );

    let unassign = format!("{notices}/assignments/{}", w.evaluator.user_id);
    let removed = t
        .call(Method::DELETE, &unassign, Some(&w.agency_admin.token), None)
        .await;
    assert_eq!(removed.status, 204);
    refused(&chat(t, &g.token, &ok()).await, 403, "not_assigned");
    t.post(
        &w.agency_admin,
        &format!("{notices}/assignments"),
        json!({"user_id": w.evaluator.user_id}),
    )
    .await
    .ok();
    assert_eq!(chat(t, &g.token, &ok()).await.status, 200, "reassigned");

    let person = format!("/api/v1/users/{}", w.evaluator.user_id);
    let deactivate = t
        .call(
            Method::PATCH,
            &person,
            Some(&w.agency_admin.token),
            Some(json!({"active": false})),
        )
        .await;
    deactivate.ok();
    refused(&chat(t, &g.token, &ok()).await, 401, "account_inactive");
    t.call(
        Method::PATCH,
        &person,
        Some(&w.agency_admin.token),
        Some(json!({"active": true})),
    )
    .await
    .ok();
    assert_eq!(chat(t, &g.token, &ok()).await.status, 200, "reactivated");

    t.post(&w.dev_admin, &format!("{notices}/withdraw"), json!({}))
        .await
        .ok();
    refused(&chat(t, &g.token, &ok()).await, 403, "notice_withdrawn");

    // Tokens that are not this notice's gateway tokens.
    refused(
        &gateway(t, None, Method::POST, "/chat/completions", Some(&ok())).await,
        401,
        "missing_api_key",
    );
    for bad in ["plg_not-a-token", w.evaluator.token.as_str(), "sk-anything"] {
        let reply = chat(t, bad, &ok()).await;
        refused(&reply, 401, "invalid_api_key");
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
    }
}

#[tokio::test]
async fn a_launch_ends_access_at_once() {
    let g = gateway_with(10, json!({})).await;
    assert_eq!(chat(&g.t, &g.token, &chat_body("hi")).await.status, 200);
    g.t.post(
        &g.w.dev_admin,
        &format!("/api/v1/notices/{}/launch", g.notice),
        json!({}),
    )
    .await
    .ok();
    refused(
        &chat(&g.t, &g.token, &chat_body("hi")).await,
        403,
        "window_closed",
    );
}

#[tokio::test]
async fn limits_are_enforced_per_evaluator() {
    // Requests per minute: a burst of two, then one every 30 s.
    let g = gateway_with(10, json!({"requests_per_minute": 2})).await;
    assert_eq!(chat(&g.t, &g.token, &chat_body("1")).await.status, 200);
    assert_eq!(chat(&g.t, &g.token, &chat_body("2")).await.status, 200);
    let reply = chat(&g.t, &g.token, &chat_body("3")).await;
    refused(&reply, 429, "rate_limit_exceeded");
    assert_eq!(reply.headers["retry-after"], "30");
    assert_eq!(reply.body["error"]["type"], "rate_limit_error");
    let other = issue(&g.t, &g.w.evaluator, &g.notice, json!({"name": "second"})).await;
    let reply = chat(&g.t, &other, &chat_body("4")).await;
    refused(&reply, 429, "rate_limit_exceeded");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("all your gateway tokens together"),
        "per evaluator, not per token: {}",
        reply.body
    );
    g.t.clock.advance(chrono::Duration::seconds(30));
    assert_eq!(chat(&g.t, &g.token, &chat_body("5")).await.status, 200);

    // Tokens per minute: each call uses 18; after two, the minute's 30 are spent.
    let g = gateway_with(10, json!({"tokens_per_minute": 30})).await;
    assert_eq!(chat(&g.t, &g.token, &chat_body("1")).await.status, 200);
    assert_eq!(chat(&g.t, &g.token, &chat_body("2")).await.status, 200);
    let reply = chat(&g.t, &g.token, &chat_body("3")).await;
    refused(&reply, 429, "tokens_per_minute_exceeded");
    let wait: i64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
    g.t.clock.advance(chrono::Duration::seconds(wait));
    assert_eq!(chat(&g.t, &g.token, &chat_body("4")).await.status, 200);

    // Concurrency: one call in flight at a time.
    let g = gateway_with(10, json!({"concurrency": 1})).await;
    g.up.script([Behavior::Slow(Duration::from_millis(500))]);
    let (t, token) = (&g.t, g.token.clone());
    let slow_body = chat_body("slow");
    let slow = chat(t, &token, &slow_body);
    let second = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        chat(t, &token, &chat_body("second")).await
    };
    let (slow, second) = tokio::join!(slow, second);
    assert_eq!(slow.status, 200);
    refused(&second, 429, "concurrency_limit_exceeded");
    assert_eq!(second.headers["retry-after"], "1");
    assert_eq!(chat(t, &token, &chat_body("after")).await.status, 200);

    // Every refusal was recorded.
    let calls = calls(&g).await;
    let statuses: Vec<i64> = calls.iter().map(|c| c["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [200, 429, 200], "newest first");
}

#[tokio::test]
async fn malformed_oversized_and_misdirected_calls_are_refused() {
    let g = gateway_with(10, json!({})).await;
    let t = &g.t;
    let big = "x".repeat(9 * 1024 * 1024);
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("/chat/completions", chat_body(&big), 413, "request_too_large"),
        (
            "/chat/completions",
            json!(["not", "an", "object"]),
            400,
            "invalid_request_body",
        ),
        (
            "/chat/completions",
            json!({"messages": []}),
            400,
            "invalid_request_body",
        ),
        (
            "/chat/completions",
            json!({"model": MODEL, "stream": "yes"}),
            400,
            "invalid_request_body",
        ),
        (
            "/chat/completions",
            json!({"model": "gpt-4o", "messages": []}),
            404,
            "model_not_found",
        ),
        (
            "/messages",
            json!({"model": MODEL, "max_tokens": 5, "messages": []}),
            400,
            "unsupported_api_style",
        ),
        ("/embeddings", json!({"model": MODEL}), 404, "unknown_endpoint"),
    ];
    for (path, body, status, code) in cases {
        let reply = gateway(t, Some(&g.token), Method::POST, path, Some(&body)).await;
        let message = match path {
            // Anthropic-style errors on the Anthropic endpoint.
            "/messages" => {
                assert_eq!(reply.status.as_u16(), status);
                assert_eq!(reply.body["type"], "error");
                assert_eq!(reply.body["error"]["code"], code);
                reply.body["error"]["message"].as_str().unwrap().to_owned()
            }
            _ => refused(&reply, status, code),
        };
        assert_no_identity(&g.up, "an error", &message);
    }
    // A large prompt under the limit is fine (the API's own 256 KiB limit does not apply here).
    let reply = chat(t, &g.token, &chat_body(&"y".repeat(1024 * 1024))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(g.up.seen().len() == 1, "nothing refused reached the upstream");
}

#[tokio::test]
async fn upstream_failures_become_clear_gateway_errors() {
    let g = gateway_with(10, json!({"timeout_seconds": 1})).await;
    let cases: Vec<(Behavior, u16, &str, Option<&str>)> = vec![
        (
            Behavior::Fail(429, Some(7)),
            429,
            "upstream_rate_limited",
            Some("7"),
        ),
        (Behavior::Fail(500, None), 502, "upstream_error", None),
        (Behavior::Fail(503, None), 502, "upstream_error", None),
        (
            Behavior::Fail(401, None),
            502,
            "upstream_credential_refused",
            None,
        ),
        (Behavior::Fail(400, None), 400, "upstream_rejected_request", None),
        (
            Behavior::Slow(Duration::from_secs(3)),
            504,
            "upstream_timeout",
            None,
        ),
    ];
    for (behavior, status, code, retry_after) in cases {
        g.up.script([behavior.clone()]);
        let reply = chat(&g.t, &g.token, &chat_body("hi")).await;
        let message = refused(&reply, status, code);
        assert_no_identity(&g.up, &format!("{behavior:?}"), &reply.body.to_string());
        assert_no_identity_headers(&reply.headers);
        assert_eq!(
            reply.headers.get("retry-after").map(|v| v.to_str().unwrap()),
            retry_after,
            "{behavior:?}"
        );
        if code == "upstream_rejected_request" {
            assert!(
                message.contains("context too long"),
                "the evaluator learns what to fix: {message}"
            );
        }
    }
    // A stream that breaks ends with an error event and no [DONE].
    g.up.script([Behavior::Drop { after: 2 }]);
    let response = g
        .post_raw(
            "/gateway/v1/chat/completions",
            &merged(chat_body("hi"), json!({"stream": true})),
        )
        .await;
    let (data, done) = read_stream(response).await;
    assert!(!done);
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "upstream_dropped");
    assert_eq!(
        data.len(),
        3,
        "the two events before the break, then the error: {data:?}"
    );

    let calls = calls(&g).await;
    let codes: Vec<String> = calls
        .iter()
        .map(|c| c["error_code"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        codes,
        [
            "upstream_dropped",
            "upstream_timeout",
            "upstream_rejected_request",
            "upstream_credential_refused",
            "upstream_error",
            "upstream_error",
            "upstream_rate_limited"
        ]
    );
}

#[tokio::test]
async fn an_evaluator_going_away_stops_the_upstream_stream() {
    let g = gateway_with(10, json!({"concurrency": 1})).await;
    g.up.script([Behavior::Stream {
        chunks: 100,
        gap: Duration::from_millis(50),
    }]);
    let mut response = g
        .post_raw(
            "/gateway/v1/chat/completions",
            &merged(chat_body("long"), json!({"stream": true})),
        )
        .await;
    response.chunk().await.unwrap().unwrap();
    response.chunk().await.unwrap().unwrap();
    drop(response);
    let up = g.up.clone();
    eventually("the upstream sees its reader gone", async || up.abandoned() == 1).await;
    assert_eq!(g.up.finished(), 0);
    // The slot is free again, and the call is on record as cut short.
    assert_eq!(chat(&g.t, &g.token, &chat_body("next")).await.status, 200);
    let g = &g;
    eventually("the cut call is recorded", async || {
        calls(g)
            .await
            .iter()
            .any(|c| c["error_code"] == "client_closed" && c["status"] == 499)
    })
    .await;
}

#[tokio::test]
async fn anthropic_style_models_are_reached_through_messages() {
    let g = gateway_with(10, json!({"api_style": "anthropic", "model": "orion-claude"})).await;
    let body =
        json!({"model": "orion-claude", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    // Anthropic clients send the key as x-api-key.
    let reply = TestApp::reply(
        g.t.client
            .post(g.t.url("/gateway/v1/messages"))
            .header("x-api-key", &g.token)
            .header("anthropic-version", "2023-06-01")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.ok()["model"], "orion-claude");
    assert_eq!(reply.body["content"][0]["text"], "echo: hi");
    assert_no_identity(&g.up, "the response", &reply.body.to_string());
    let seen = g.up.seen().pop().unwrap();
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.headers["anthropic-version"], "2023-06-01");

    let response = g
        .post_raw(
            "/gateway/v1/messages",
            &merged(body.clone(), json!({"stream": true})),
        )
        .await;
    let text = response.text().await.unwrap();
    assert_no_identity(&g.up, "the stream", &text);
    assert!(text.starts_with("event: message_start\n"), "{text}");
    assert!(text.contains("\"model\":\"orion-claude\""));
    assert!(
        text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
        "{text}"
    );

    let reply = chat(
        &g.t,
        &g.token,
        &json!({"model": "orion-claude", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    let message = refused(&reply, 400, "unsupported_api_style");
    assert!(message.contains("/gateway/v1/messages"), "{message}");

    let calls = calls(&g).await;
    assert_eq!(calls[1]["endpoint"], "messages");
    assert_eq!(calls[1]["input_tokens"], 9);
    assert_eq!(calls[1]["output_tokens"], 3);
    assert_eq!(calls[2]["output_tokens"], 4);
}

#[tokio::test]
async fn connections_are_the_developers_and_their_credential_is_never_shown() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    let connections = format!("/api/v1/notices/{}/connections", g.notice);
    let one = format!("{connections}/{}", g.connection);

    let listed = t.get(&w.dev_member, &connections).await;
    let view = &listed.ok()["items"][0];
    assert_eq!(view["model"], MODEL);
    assert_eq!(view["credential_set"], true);
    assert_eq!(view["header_names"], json!([HEADER_NAME]));
    assert_eq!(view["retention"], "digest");
    for text in [
        listed.body.to_string(),
        t.get(&w.dev_admin, &one).await.ok().to_string(),
    ] {
        assert!(
            !text.contains(CREDENTIAL) && !text.contains(HEADER_VALUE),
            "{text}"
        );
    }

    // Nobody but the developer sees them.
    for who in [&w.evaluator, &w.agency_admin] {
        t.get(who, &connections).await.problem(403, "forbidden");
        t.get(who, &one).await.problem(403, "forbidden");
    }
    for who in [&w.other_dev, &w.other_agency_admin, &w.vendor] {
        t.get(who, &connections).await.problem(404, "not-found");
    }

    // A change without a credential keeps the stored one; a bad field is named.
    let change = json!({"api_style": "openai", "base_url": g.up.base_url, "upstream_model": UPSTREAM_MODEL,
        "requests_per_minute": 100});
    let changed = t.put(&w.dev_admin, &one, change.clone()).await;
    assert_eq!(changed.ok()["requests_per_minute"], 100);
    assert_eq!(changed.body["header_names"], json!([HEADER_NAME]));
    assert_eq!(chat(t, &g.token, &chat_body("hi")).await.status, 200);
    assert_eq!(g.up.seen().pop().unwrap().headers[HEADER_NAME], HEADER_VALUE);
    for (field, value) in [
        ("base_url", json!("ftp://x")),
        ("api_style", json!("cohere")),
        ("retention", json!("forever")),
        ("concurrency", json!(0)),
        ("model", json!("Bad Name")),
    ] {
        let reply = t
            .put(&w.dev_admin, &one, merged(change.clone(), json!({field: value})))
            .await;
        assert_eq!(reply.problem(422, "invalid-field")["field"], field);
    }
    let missing = merged(
        connection_body(&g.up, json!({"model": "second"})),
        json!({"credential": null}),
    );
    let reply = t.post(&w.dev_admin, &connections, missing).await;
    assert_eq!(reply.problem(422, "invalid-field")["field"], "credential");
    let duplicate = t
        .post(&w.dev_admin, &connections, connection_body(&g.up, json!({})))
        .await;
    duplicate.problem(409, "conflict");

    // The test button makes one real call and reports without the upstream's identity.
    let probe = t.post(&w.dev_admin, &format!("{one}/test"), json!({})).await;
    assert_eq!(probe.ok()["ok"], true);
    g.up.script([Behavior::Fail(401, None)]);
    let probe = t.post(&w.dev_admin, &format!("{one}/test"), json!({})).await;
    assert_eq!(probe.ok()["ok"], false);
    assert!(probe.body["message"].as_str().unwrap().contains("credential"));

    // Deleting it ends access through it.
    t.call(Method::DELETE, &one, Some(&w.dev_admin.token), None).await;
    refused(
        &chat(t, &g.token, &chat_body("hi")).await,
        403,
        "model_not_connected",
    );

    // Every change is on the audit trail, without the secrets.
    let (actions, audit) = audit_actions(t, &w.program_admin, &g.connection).await;
    assert_eq!(
        actions,
        ["connection.create", "connection.update", "connection.delete"]
    );
    assert!(
        !audit.contains(CREDENTIAL) && !audit.contains(HEADER_VALUE),
        "{audit}"
    );
}

#[tokio::test]
async fn upstreams_at_private_addresses_are_not_called_by_default() {
    let url = fresh_database_url().await;
    let t = spawn_configured(&url, |c| c.allow_private_upstreams = false).await;
    let w = World::new(&t).await;
    let up = Upstream::start().await;
    let notice = notice_with_evaluator(&t, &w, 10).await;
    let connections = format!("/api/v1/notices/{notice}/connections");
    // An address in the URL is refused when the connection is saved.
    for base_url in [
        up.base_url.as_str(),
        "http://[::1]:9/v1",
        "http://169.254.169.254/latest",
        "http://10.0.0.5/v1",
        "http://[::ffff:192.168.1.1]/v1",
    ] {
        let body = connection_body(&up, json!({"base_url": base_url}));
        let reply = t.post(&w.dev_admin, &connections, body).await;
        let problem = reply.problem(422, "invalid-field");
        assert_eq!(problem["field"], "base_url", "{base_url}");
        assert!(problem.to_string().contains("private"), "{base_url}: {problem}");
    }
    // A name is judged by the addresses it resolves to, each time it is called.
    let named = up.base_url.replace("127.0.0.1", "localhost");
    let body = connection_body(&up, json!({"base_url": named}));
    let connection = t.post(&w.dev_admin, &connections, body).await;
    let connection = connection.ok()["id"].as_str().unwrap().to_owned();
    let probe = t
        .post(
            &w.dev_admin,
            &format!("{connections}/{connection}/test"),
            json!({}),
        )
        .await;
    assert_eq!(probe.ok()["ok"], false);
    assert!(
        probe.body["message"].as_str().unwrap().contains("private"),
        "{}",
        probe.body
    );
    let token = issue(&t, &w.evaluator, &notice, json!({"name": "laptop"})).await;
    let reply = chat(&t, &token, &chat_body("hello")).await;
    let message = refused(&reply, 502, "upstream_address_not_allowed");
    assert!(
        !message.contains("localhost") && !message.contains("127.0.0.1"),
        "{message}"
    );
    assert!(up.seen().is_empty(), "the upstream was never called");
}

#[tokio::test]
async fn gateway_tokens_are_issued_by_assigned_evaluators_and_seen_by_scope() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    let tokens = format!("/api/v1/notices/{}/gateway-tokens", g.notice);
    for who in [&w.evaluator2, &w.agency_admin, &w.dev_admin] {
        t.post(who, &tokens, json!({"name": "x"}))
            .await
            .problem(403, "forbidden");
    }
    t.post(&w.other_evaluator, &tokens, json!({"name": "x"}))
        .await
        .problem(404, "not-found");
    t.post(&w.evaluator, &tokens, json!({"name": "x", "expires_in_days": 0}))
        .await
        .problem(422, "invalid-field");
    t.post(
        &w.agency_admin,
        &format!("/api/v1/notices/{}/assignments", g.notice),
        json!({"user_id": w.evaluator2.user_id}),
    )
    .await
    .ok();
    issue(t, &w.evaluator2, &g.notice, json!({"name": "second"})).await;

    let count = |reply: Reply| reply.ok()["items"].as_array().unwrap().len();
    assert_eq!(count(t.get(&w.evaluator, &tokens).await), 1, "own");
    assert_eq!(count(t.get(&w.evaluator2, &tokens).await), 1, "own");
    assert_eq!(count(t.get(&w.agency_admin, &tokens).await), 2, "the agency's");
    assert_eq!(
        count(t.get(&w.dev_admin, &tokens).await),
        2,
        "the developer sees who has access"
    );
    let listed = t.get(&w.dev_admin, &tokens).await;
    assert!(
        listed.body["items"][0].get("token").is_none(),
        "shown once, never listed"
    );

    // Revoking: the holder or their agency's admin; the other evaluator does not even see it.
    let id = t.get(&w.evaluator, &tokens).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = format!("{tokens}/{id}");
    t.call(Method::DELETE, &one, Some(&w.evaluator2.token), None)
        .await
        .problem(404, "not-found");
    t.call(Method::DELETE, &one, Some(&w.dev_admin.token), None)
        .await
        .problem(403, "forbidden");
    let revoked = t
        .call(Method::DELETE, &one, Some(&w.agency_admin.token), None)
        .await;
    assert!(revoked.ok()["revoked_at"].is_string());
    t.call(Method::DELETE, &one, Some(&w.evaluator.token), None)
        .await
        .problem(409, "conflict");
    let (actions, _) = audit_actions(t, &w.program_admin, &id).await;
    assert_eq!(actions, ["gateway_token.create", "gateway_token.revoke"]);
}

#[tokio::test]
async fn usage_is_seen_by_the_evaluator_their_agency_and_in_aggregate_by_the_developer() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    t.post(
        &w.agency_admin,
        &format!("/api/v1/notices/{}/assignments", g.notice),
        json!({"user_id": w.evaluator2.user_id}),
    )
    .await
    .ok();
    let second = issue(t, &w.evaluator2, &g.notice, json!({"name": "b"})).await;
    for _ in 0..2 {
        assert_eq!(chat(t, &g.token, &chat_body("a")).await.status, 200);
    }
    assert_eq!(chat(t, &second, &chat_body("b")).await.status, 200);
    g.up.script([Behavior::Fail(500, None)]);
    assert_eq!(chat(t, &second, &chat_body("b")).await.status, 502);

    let own = usage(t, &w.evaluator, &g.notice).await;
    assert_eq!(own["scope"], "own");
    assert_eq!(own["totals"]["calls"], 2);
    assert_eq!(own["totals"]["input_tokens"], 22);
    assert_eq!(own["by_evaluator"].as_array().unwrap().len(), 1);

    let agency = usage(t, &w.agency_admin, &g.notice).await;
    assert_eq!(agency["scope"], "agency");
    assert_eq!(agency["totals"]["calls"], 4);
    assert_eq!(agency["totals"]["errors"], 1);
    assert_eq!(agency["by_evaluator"].as_array().unwrap().len(), 2);
    assert_eq!(agency["by_day"][0]["day"], "2027-01-01");

    let developer = usage(t, &w.dev_admin, &g.notice).await;
    assert_eq!(developer["scope"], "aggregate");
    assert_eq!(developer["totals"]["calls"], 4);
    assert_eq!(developer["totals"]["output_tokens"], 21);
    assert!(developer.get("by_evaluator").is_none(), "not who made them");
    t.get(
        &w.dev_admin,
        &format!("/api/v1/notices/{}/gateway-calls", g.notice),
    )
    .await
    .problem(403, "forbidden");
    for who in [&w.other_agency_admin, &w.other_dev, &w.operator] {
        t.get(who, &format!("/api/v1/notices/{}/gateway-usage", g.notice))
            .await
            .problem(404, "not-found");
    }
}

#[tokio::test]
async fn transcripts_are_kept_as_the_connection_says() {
    let cases = [
        ("none", false, false),
        ("digest", true, false),
        ("encrypted", true, true),
    ];
    for (retention, kept, readable) in cases {
        let g = gateway_with(10, json!({"retention": retention})).await;
        let body = chat_body("the prompt");
        let reply = g.post_raw("/gateway/v1/chat/completions", &body).await;
        let call = reply.headers()["x-request-id"].to_str().unwrap().to_owned();
        let response = reply.bytes().await.unwrap();
        let path = format!("/api/v1/notices/{}/gateway-calls/{call}/transcript", g.notice);
        let transcript = g.t.get(&g.w.evaluator, &path).await;
        if !kept {
            transcript.problem(404, "not-found");
            continue;
        }
        let sha = |bytes: &[u8]| -> String {
            use sha2::Digest;
            sha2::Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        assert_eq!(
            transcript.ok()["request_sha256"],
            sha(&serde_json::to_vec(&body).unwrap()),
            "{retention}"
        );
        assert_eq!(transcript.body["response_sha256"], sha(&response), "{retention}");
        assert_eq!(transcript.body["request"].is_string(), readable, "{retention}");
        if readable {
            assert!(
                transcript.body["request"]
                    .as_str()
                    .unwrap()
                    .contains("the prompt")
            );
            assert!(
                transcript.body["response"]
                    .as_str()
                    .unwrap()
                    .contains("echo: the prompt")
            );
            let stored =
                g.t.app
                    .store
                    .get_gateway_transcript(call.parse().unwrap())
                    .await
                    .unwrap()
                    .unwrap();
            let sealed = stored.sealed.unwrap();
            assert!(!sealed.windows(10).any(|w| w == b"the prompt"), "sealed at rest");
        }
        // The evaluating agency reads it; the developer and other agencies do not.
        g.t.get(&g.w.agency_admin, &path).await.ok();
        g.t.get(&g.w.dev_admin, &path).await.problem(404, "not-found");
        g.t.get(&g.w.evaluator2, &path).await.problem(404, "not-found");
    }
}

#[tokio::test]
async fn a_rotated_master_key_still_opens_every_secret() {
    let g = gateway_with(10, json!({"retention": "encrypted"})).await;
    let reply = chat(&g.t, &g.token, &chat_body("before")).await;
    let call = reply.headers["x-request-id"].to_str().unwrap().to_owned();
    g.t.app.check_master_key().await.unwrap();
    let new = gateway::MasterKey::generate();
    assert_eq!(
        g.t.app.reseal_secrets(&new).await.unwrap(),
        2,
        "a connection and a transcript"
    );

    // A server with the new key serves the same connection and reads the old transcript.
    let (app, _) = app_on(&g.t.database_url, "http://rotated").await;
    let app = app.with_master_key(&new);
    app.check_master_key().await.unwrap();
    assert!(
        g.t.app.check_master_key().await.is_err(),
        "the old key is refused"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(listener, app, std::future::pending()));
    let reply =
        g.t.client
            .post(format!("{base}/gateway/v1/chat/completions"))
            .bearer_auth(&g.token)
            .json(&chat_body("after"))
            .send()
            .await
            .unwrap();
    assert_eq!(reply.status(), 200);
    let transcript =
        g.t.client
            .get(format!(
                "{base}/api/v1/notices/{}/gateway-calls/{call}/transcript",
                g.notice
            ))
            .bearer_auth(&g.w.evaluator.token)
            .send()
            .await
            .unwrap();
    let transcript: Value = transcript.json().await.unwrap();
    assert!(transcript["request"].as_str().unwrap().contains("before"));
}

/// A request to a server at `base` as `who`.
async fn call_at(t: &TestApp, base: &str, who: &Persona, method: Method, path: &str, body: Value) -> Reply {
    let request = t
        .client
        .request(method, format!("{base}{path}"))
        .bearer_auth(&who.token);
    TestApp::reply(request.json(&body).send().await.unwrap()).await
}

/// The real binary over a seeded database: a notice in review, its evaluator assigned, a gateway token, and
/// connections made through the binary (so that its master key seals them).
async fn binary_gateway(connections: &[Value]) -> (TestApp, World, Upstream, crate::cli::Server, String) {
    let url = fresh_database_url().await;
    let seed = spawn_app_on(&url).await;
    // The binary runs on the real clock.
    seed.clock.set(wall_clock());
    let w = World::new(&seed).await;
    let up = Upstream::start().await;
    let notice = notice_with_evaluator(&seed, &w, 10).await;
    let server = crate::cli::Server::start(&url).await;
    for extra in connections {
        let body = connection_body(&up, extra.clone());
        let path = format!("/api/v1/notices/{notice}/connections");
        call_at(&seed, &server.base, &w.dev_admin, Method::POST, &path, body)
            .await
            .ok();
    }
    let token = issue(&seed, &w.evaluator, &notice, json!({"name": "binary"})).await;
    (seed, w, up, server, token)
}

#[tokio::test]
async fn no_credential_or_upstream_identity_reaches_the_log() {
    let unreachable = "http://127.0.0.1:9/v1";
    let (seed, w, up, server, token) = binary_gateway(&[
        json!({"timeout_seconds": 1}),
        json!({"model": "unreachable", "base_url": unreachable}),
    ])
    .await;
    let base = format!("{}/gateway/v1", server.base);
    up.script([
        Behavior::Ok,
        Behavior::Fail(500, None),
        Behavior::Fail(400, None),
        Behavior::Fail(401, None),
        Behavior::Fail(429, Some(3)),
        Behavior::Slow(Duration::from_secs(2)),
        Behavior::Drop { after: 1 },
        Behavior::Ok,
    ]);
    let mut statuses = Vec::new();
    for stream in [false, false, false, false, false, false, true, true] {
        let body = merged(chat_body("hello"), json!({"stream": stream}));
        let response = seed
            .client
            .post(format!("{base}/chat/completions"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        let text = response.text().await.unwrap_or_default();
        assert_no_identity(&up, "a response", &text);
    }
    assert_eq!(statuses, [200, 502, 400, 502, 429, 504, 200, 200]);
    let reply = seed
        .client
        .post(format!("{base}/chat/completions"))
        .bearer_auth(&token)
        .json(&json!({"model": "unreachable", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 502);
    assert!(!reply.text().await.unwrap().contains("127.0.0.1:9"));
    // The developer's views and the test button show no secret either.
    let path = format!("/api/v1/notices/{}/connections", seed_notice(&seed, &w).await);
    let listed = call_at(&seed, &server.base, &w.dev_admin, Method::GET, &path, json!(null)).await;
    assert!(!listed.ok().to_string().contains(CREDENTIAL));
    let id = listed.body["items"][1]["id"].as_str().unwrap().to_owned();
    let probe = call_at(
        &seed,
        &server.base,
        &w.dev_admin,
        Method::POST,
        &format!("{path}/{id}/test"),
        json!({}),
    )
    .await;
    assert_eq!(probe.ok()["ok"], false);

    let (clean, log) = server.stop().await;
    assert!(clean);
    assert!(
        log.contains("/gateway/v1/chat/completions"),
        "the log was captured: {log}"
    );
    assert!(
        log.contains("upstream call failed"),
        "the unreachable upstream was logged: {log}"
    );
    assert_no_identity(&up, "the log", &log);
    assert!(!log.contains("127.0.0.1:9/") && !log.contains(&token), "{log}");
}

/// The one notice of the seeded world.
async fn seed_notice(seed: &TestApp, w: &World) -> String {
    let notices = seed.get(&w.dev_admin, "/api/v1/notices").await;
    notices.ok()["items"][0]["id"].as_str().unwrap().to_owned()
}

/// Holds the database's write lock (SQLite) or the call table's (PostgreSQL) until dropped or released: the
/// server's call records wait meanwhile, as under a slow disk.
enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl WriteLock {
    async fn take(url: &str) -> WriteLock {
        use sqlx::Connection;
        match backend() {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query("BEGIN IMMEDIATE").execute(&mut conn).await.unwrap();
                WriteLock::Sqlite(conn)
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
                sqlx::query("LOCK TABLE gateway_calls IN EXCLUSIVE MODE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                WriteLock::Postgres(conn)
            }
        }
    }

    async fn release(self) {
        match self {
            WriteLock::Sqlite(mut conn) => sqlx::query("ROLLBACK").execute(&mut conn).await.map(|_| ()),
            WriteLock::Postgres(mut conn) => sqlx::query("ROLLBACK").execute(&mut conn).await.map(|_| ()),
        }
        .unwrap();
    }
}

#[tokio::test]
async fn a_stalled_database_delays_the_usage_tables_not_the_answers() {
    let g = gateway_with(10, json!({"retention": "encrypted"})).await;
    let lock = WriteLock::take(&g.t.database_url).await;
    // Answers go on while nothing can be written to the database.
    let mut ids = Vec::new();
    for i in 0..5 {
        let stream = i % 2 == 1;
        let body = merged(chat_body(&format!("stalled {i}")), json!({"stream": stream}));
        let reply = tokio::time::timeout(Duration::from_secs(10), chat(&g.t, &g.token, &body))
            .await
            .expect("an answer waited for the database");
        assert_eq!(reply.status, 200, "{}", reply.body);
        ids.push(reply.headers["x-request-id"].to_str().unwrap().to_owned());
    }
    lock.release().await;
    // Once the database is back, every call is on record with its transcript.
    let recorded: Vec<String> = calls(&g)
        .await
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    for id in &ids {
        assert!(recorded.contains(id), "{id} is missing from {recorded:?}");
    }
    let last = ids.last().unwrap();
    let transcript =
        g.t.get(
            &g.w.evaluator,
            &format!("/api/v1/notices/{}/gateway-calls/{last}/transcript", g.notice),
        )
        .await;
    assert!(transcript.ok()["request"].as_str().unwrap().contains("stalled 4"));
}

#[tokio::test]
async fn a_killed_server_loses_no_answered_call() {
    let (seed, _w, _up, mut server, token) = binary_gateway(&[json!({
        "requests_per_minute": 100000, "tokens_per_minute": 100000000, "concurrency": 64,
    })])
    .await;
    let base = format!("{}/gateway/v1/chat/completions", server.base);
    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let cut = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..16 {
        let (client, base, token, answered, cut) = (
            seed.client.clone(),
            base.clone(),
            token.clone(),
            answered.clone(),
            cut.clone(),
        );
        workers.push(tokio::spawn(async move {
            for i in 0.. {
                let stream = (worker + i) % 2 == 0;
                let body = merged(chat_body("load"), json!({"stream": stream}));
                let Ok(response) = client.post(&base).bearer_auth(&token).json(&body).send().await else {
                    cut.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    return;
                };
                let id = response
                    .headers()
                    .get("x-request-id")
                    .map(|v| v.to_str().unwrap().to_owned());
                let text = response.text().await.unwrap_or_default();
                let complete = if stream {
                    text.ends_with("data: [DONE]\n\n")
                } else {
                    text.contains("\"choices\"")
                };
                match (complete, id) {
                    (true, Some(id)) => answered.lock().unwrap().push(id),
                    _ => {
                        cut.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        return;
                    }
                }
            }
        }));
    }
    let watched = answered.clone();
    eventually("calls are being answered", async || {
        watched.lock().unwrap().len() >= 100
    })
    .await;
    // Under load, the database stalls for a moment; whatever is answered meanwhile must survive the kill.
    let lock = WriteLock::take(&seed.database_url).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
    lock.release().await;
    for worker in workers {
        worker.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() >= 100);
    assert!(
        cut.load(std::sync::atomic::Ordering::SeqCst) >= 8,
        "the kill interrupted the calls in flight"
    );
    let unrecorded = async |answered: &[String]| {
        let mut missing = Vec::new();
        for id in answered {
            let call = seed
                .app
                .store
                .get_gateway_call(id.parse().unwrap())
                .await
                .unwrap();
            if call.is_none() {
                missing.push(id.clone());
            }
        }
        missing
    };
    // The calls answered while the database was stalled are in the killed server's journal only.
    let journal = crate::cli::data_dir(&seed.database_url).join("calls");
    assert!(
        !unrecorded(&answered).await.is_empty(),
        "the stall held some records back"
    );
    assert_eq!(
        std::fs::read_dir(&journal).unwrap().count(),
        1,
        "the killed server's journal is left"
    );
    // The next start records them before it listens.
    let restarted = crate::cli::Server::start(&seed.database_url).await;
    let missing = unrecorded(&answered).await;
    assert!(
        missing.is_empty(),
        "{} of {} answered calls have no record: {missing:?}",
        missing.len(),
        answered.len()
    );
    let (clean, stderr) = restarted.stop().await;
    assert!(clean, "{stderr}");
    assert_eq!(
        std::fs::read_dir(&journal).unwrap().count(),
        0,
        "a server stopped gracefully leaves no journal behind"
    );
}

#[tokio::test]
async fn gateway_check_lists_the_models_and_makes_a_call() {
    let g = gateway_with(10, json!({})).await;
    let check = |token: String| {
        let url = g.t.url("/gateway/v1");
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_prelaunch"))
                .args(["gateway", "check", "--url", &url])
                .env("PRELAUNCH_GATEWAY_TOKEN", token)
                .output()
                .await
                .unwrap()
        }
    };
    let out = check(g.token.clone()).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Models this token reaches: orion-1.0"),
        "{stdout}"
    );
    assert!(stdout.contains("Test call to orion-1.0: 200 OK"), "{stdout}");
    assert!(stdout.contains("echo: Reply with OK."), "{stdout}");

    let out = check("plg_wrong".into()).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the gateway token is not valid"), "{stderr}");
}
