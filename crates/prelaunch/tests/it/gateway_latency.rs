//! What the gateway makes a call wait for (issue 8's added-latency target): a streamed event goes to the
//! evaluator as soon as it arrives, without waiting for the upstream's next one, unless its text ends with what
//! could begin a secret; and a token in use has its grant read again in the background, before it expires, so
//! that no call waits for the database to renew it.

use crate::gateway::{MODEL, chat, chat_body, gateway_with, issue, notice_with_evaluator, refused};
use crate::support::*;
use crate::upstream::{CREDENTIAL, HEADER_NAME, HEADER_VALUE, UPSTREAM_MODEL};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long an event may take to come through before the test gives up: far longer than it ever should take,
/// and the upstream sends nothing more meanwhile, so a wait for its next event fails the test.
const PATIENCE: Duration = Duration::from_secs(5);

/// An upstream whose streams the test writes event by event: each call takes the next channel.
#[derive(Default)]
struct Paced {
    streams: Mutex<VecDeque<mpsc::UnboundedReceiver<Bytes>>>,
}

async fn paced(State(paced): State<Arc<Paced>>) -> Response {
    let Some(events) = paced.streams.lock().unwrap().pop_front() else {
        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "no stream scripted").into_response();
    };
    let body = futures_util::stream::unfold(events, |mut events| async move {
        events
            .recv()
            .await
            .map(|event| (Ok::<Bytes, std::io::Error>(event), events))
    });
    ([("content-type", "text/event-stream")], Body::from_stream(body)).into_response()
}

fn event(delta: Value, finish: Value) -> Bytes {
    let chunk = json!({
        "id": "chatcmpl-paced", "object": "chat.completion.chunk", "created": 1_798_761_600,
        "model": "hidden-model-v7-internal",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    });
    Bytes::from(format!("data: {chunk}\n\n"))
}

/// Reads the evaluator's stream until `events` more complete events have come, or `PATIENCE` passes.
async fn read_events(response: &mut reqwest::Response, buffer: &mut String, events: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut out = Vec::new();
    while out.len() < events {
        while let Some(end) = buffer.find("\n\n") {
            let raw: String = buffer.drain(..end + 2).collect();
            if let Some(data) = raw.lines().find_map(|l| l.strip_prefix("data: ")) {
                out.push(serde_json::from_str(data).unwrap_or(Value::String(data.to_owned())));
            }
        }
        if out.len() >= events {
            break;
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no event within {PATIENCE:?}; got {out:?}, holding {buffer:?}"))
            .unwrap();
        let Some(chunk) = chunk else { break };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
    out
}

fn content(events: &[Value]) -> String {
    events
        .iter()
        .filter_map(|e| e.pointer("/choices/0/delta/content").and_then(Value::as_str))
        .collect()
}

/// Each case: the text of the upstream's first event, what of it the evaluator gets before the upstream sends
/// anything more, the text of the next event, and the whole text the evaluator ends up with.
#[tokio::test]
async fn a_streamed_event_reaches_the_evaluator_before_the_upstreams_next_one() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let state = Arc::new(Paced::default());
    let app = Router::new()
        .route("/v1/chat/completions", post(paced))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let notice = notice_with_evaluator(&t, &w, 10).await;
    t.post(
        &w.dev_admin,
        &format!("/api/v1/notices/{notice}/connections"),
        json!({
            "model": MODEL, "api_style": "openai", "base_url": base_url, "upstream_model": UPSTREAM_MODEL,
            "credential": CREDENTIAL, "headers": {HEADER_NAME: HEADER_VALUE},
        }),
    )
    .await
    .ok();
    let token = issue(&t, &w.evaluator, &notice, json!({"name": "paced"})).await;

    let (header_start, header_rest) = HEADER_VALUE.split_at(3);
    let (credential_start, credential_rest) = CREDENTIAL.split_at(11);
    let cases: [[String; 4]; 5] = [
        [
            "The answer is 42.",
            "The answer is 42.",
            " Done",
            "The answer is 42. Done",
        ]
        .map(str::to_owned),
        [
            "Words that end in a letter",
            "Words that end in a letter",
            "",
            "Words that end in a letter",
        ]
        .map(str::to_owned),
        // What could begin a secret is held until the next event says whether it does...
        [
            format!("Ask the {header_start}"),
            "Ask the ".into(),
            header_rest.into(),
            "Ask the [redacted]".into(),
        ],
        [
            format!("Your key: {credential_start}"),
            "Your key: ".into(),
            format!("{credential_rest}."),
            "Your key: [redacted].".into(),
        ],
        // ...or does not.
        [
            format!("Ask the {header_start}"),
            "Ask the ".into(),
            "anisers".into(),
            format!("Ask the {header_start}anisers"),
        ],
    ];
    for [first, now, next, whole] in cases {
        let (events, receiver) = mpsc::unbounded_channel();
        state.streams.lock().unwrap().push_back(receiver);
        let mut response = t
            .client
            .post(t.url("/gateway/v1/chat/completions"))
            .bearer_auth(&token)
            .json(&json!({"model": MODEL, "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{first:?}");
        let mut buffer = String::new();
        events
            .send(event(json!({"role": "assistant", "content": first}), Value::Null))
            .unwrap();
        let got = read_events(&mut response, &mut buffer, 1).await;
        assert_eq!(content(&got), now, "{first:?}: before the upstream's next event");

        events.send(event(json!({"content": next}), Value::Null)).unwrap();
        events.send(event(json!({}), json!("stop"))).unwrap();
        events.send(Bytes::from_static(b"data: [DONE]\n\n")).unwrap();
        drop(events);
        let mut all = got;
        loop {
            let more = read_events(&mut response, &mut buffer, 1).await;
            if more.is_empty() {
                break;
            }
            all.extend(more);
        }
        assert_eq!(all.last(), Some(&json!("[DONE]")), "{first:?}");
        assert_eq!(content(&all), whole, "{first:?}");
    }
}

/// A token in use gets its grant read again once it is past half its life (`GRANT_TTL`, two seconds): the call
/// that finds it so is answered from the cached grant at once, and the read happens beside it. So a change made
/// through another process reaches a busy token's calls before the cached grant expires — and, as before, never
/// later (`a_deactivated_developers_models_stop_answering_in_every_process`).
#[tokio::test]
async fn a_busy_tokens_grant_is_read_again_before_it_expires() {
    let g = gateway_with(10, json!({})).await;
    let other = g.t.sibling().await;
    let ok = || chat_body("hi");
    assert_eq!(chat(&other, &g.token, &ok()).await.status, 200);
    let developer = format!("/api/v1/organizations/{}", g.w.dev_admin.org_id);
    g.t.patch(&g.w.program_admin, &developer, json!({"active": false}))
        .await
        .ok();
    // Within the first half of its life the cached grant answers, and nothing is read.
    other.clock.advance(chrono::Duration::milliseconds(999));
    assert_eq!(chat(&other, &g.token, &ok()).await.status, 200);
    // Past it, the cached grant still answers this call, which starts a read...
    other.clock.advance(chrono::Duration::milliseconds(1));
    assert_eq!(chat(&other, &g.token, &ok()).await.status, 200);
    // ...whose grant answers the next calls, a second before the cached one would have expired.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let reply = chat(&other, &g.token, &ok()).await;
        if reply.status != 200 {
            refused(&reply, 403, "developer_inactive");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the grant was not read again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
