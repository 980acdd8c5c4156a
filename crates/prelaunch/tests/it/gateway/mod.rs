//! The model access gateway against a scripted upstream: access bound to the token, the assignment and the
//! review window; limits; streaming; failures; metering; confidentiality of the upstream.

use crate::support::*;
use crate::upstream::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

mod access;
mod binary;
mod calls;
mod connections;
mod epoch;

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
