//! The gateway's in-process API (`App::gateway_call`, what the evaluation engine calls) against a scripted
//! upstream, side by side with `/gateway/v1`: the same answers, the same refusals in the same words, one set of
//! limits over both, and the same records and usage.

use crate::gateway::*;
use crate::support::*;
use crate::upstream::*;
use app::gateway::{ChatMessage, ChatRequest, GatewayKey, GatewayReply, GatewayRequest, Role};
use bytes::Bytes;
use futures_util::StreamExt;
use gateway::{ApiStyle, GatewayError};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

const CLAUDE: &str = "orion-messages";

/// A refusal as a client reads it: status, code, message, `Retry-After`.
type Refusal = (u16, String, String, Option<u64>);

fn of_http(reply: &Reply) -> Refusal {
    (
        reply.status.as_u16(),
        reply.body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        reply.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        reply
            .headers
            .get("retry-after")
            .map(|v| v.to_str().unwrap().parse().unwrap()),
    )
}

fn of_app(error: &GatewayError) -> Refusal {
    (
        error.status,
        error.code.to_owned(),
        error.message.clone(),
        error.retry_after,
    )
}

/// A call over HTTP to `path` under `/gateway/v1` with this raw body and, when given, the token as a Bearer.
async fn http(t: &TestApp, token: Option<&str>, path: &str, body: impl Into<reqwest::Body>) -> Reply {
    let mut request = t
        .client
        .post(t.url(&format!("/gateway/v1{path}")))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    TestApp::reply(request.send().await.unwrap()).await
}

async fn inproc(
    t: &TestApp,
    key: GatewayKey<'_>,
    request: GatewayRequest,
) -> Result<GatewayReply, GatewayError> {
    t.app.gateway_call(&key, request).await
}

fn openai(text: &str) -> GatewayRequest {
    GatewayRequest::Chat(ChatRequest::new(ApiStyle::OpenAi, MODEL, text))
}

fn body_of(reply: Result<GatewayReply, GatewayError>) -> (Uuid, Value) {
    match reply {
        Ok(reply @ GatewayReply::Complete { .. }) => (reply.call_id(), reply.json().unwrap()),
        Ok(GatewayReply::Stream { .. }) => panic!("a stream where a whole answer was expected"),
        Err(error) => panic!("refused: {error}"),
    }
}

fn error_of(reply: Result<GatewayReply, GatewayError>) -> GatewayError {
    match reply {
        Ok(reply) => panic!("answered (call {}) where a refusal was expected", reply.call_id()),
        Err(error) => error,
    }
}

/// The id of the evaluator's only gateway token.
async fn token_id(g: &Gw) -> Uuid {
    let tokens =
        g.t.get(
            &g.w.evaluator,
            &format!("/api/v1/notices/{}/gateway-tokens", g.notice),
        )
        .await;
    id_of(&tokens.ok()["items"][0])
}

#[tokio::test]
async fn an_in_process_call_is_answered_scrubbed_and_metered_as_over_http() {
    let g = gateway_with(10, json!({})).await;
    let id = token_id(&g).await;
    let anthropic = connection_body(&g.up, json!({"model": CLAUDE, "api_style": "anthropic"}));
    g.t.post(
        &g.w.dev_admin,
        &format!("/api/v1/notices/{}/connections", g.notice),
        anthropic,
    )
    .await
    .ok();

    // OpenAI style: over HTTP, then in-process by the presented token and by the token's id.
    let over_http = http(
        &g.t,
        Some(&g.token),
        "/chat/completions",
        chat_body("hi").to_string(),
    )
    .await;
    let (by_token, by_token_body) =
        body_of(inproc(&g.t, GatewayKey::Presented(Some(&g.token)), openai("hi")).await);
    let (by_id, by_id_body) = body_of(inproc(&g.t, GatewayKey::TokenId(id), openai("hi")).await);
    assert_eq!(by_token_body, *over_http.ok(), "the same answer in-process");
    assert_eq!(by_id_body, *over_http.ok(), "the same answer by the token's id");
    assert_eq!(by_token_body["model"], MODEL);
    assert_no_identity(&g.up, "the in-process answer", &by_token_body.to_string());

    // Anthropic style, typed: the system message goes where that API takes it.
    let mut chat = ChatRequest::new(ApiStyle::Anthropic, CLAUDE, "hi");
    chat.messages
        .insert(0, ChatMessage::text(Role::System, "be brief"));
    chat.max_tokens = Some(32);
    let (messages_id, messages_body) =
        body_of(inproc(&g.t, GatewayKey::TokenId(id), GatewayRequest::Chat(chat)).await);
    let sent = json!({"model": CLAUDE, "system": "be brief", "max_tokens": 32,
                      "messages": [{"role": "user", "content": "hi"}]});
    let messages_http =
        g.t.client
            .post(g.t.url("/gateway/v1/messages"))
            .header("x-api-key", &g.token)
            .json(&sent)
            .send()
            .await
            .unwrap();
    assert_eq!(messages_body, *TestApp::reply(messages_http).await.ok());
    assert_eq!(messages_body["model"], CLAUDE);

    // The upstream received the same requests either way, with the developer's credential and its own model.
    let seen = g.up.seen();
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[0].body, seen[1].body);
    assert_eq!(seen[0].body, seen[2].body);
    assert_eq!(seen[3].body, seen[4].body);
    assert_eq!(seen[3].body["system"], "be brief");
    for s in &seen {
        assert_eq!(s.body["model"], UPSTREAM_MODEL);
        assert_eq!(
            s.headers
                .get("authorization")
                .or(s.headers.get("x-api-key"))
                .unwrap()
                .to_str()
                .unwrap()
                .trim_start_matches("Bearer "),
            CREDENTIAL
        );
    }

    // Recorded alike: every call under the evaluator's token, metered for the tokens the upstream reported.
    let calls = calls(&g).await;
    assert_eq!(calls.len(), 5);
    let recorded: Vec<(String, String, i64, i64, i64)> = calls
        .iter()
        .rev()
        .map(|c| {
            (
                c["endpoint"].as_str().unwrap().to_owned(),
                c["model"].as_str().unwrap().to_owned(),
                c["status"].as_i64().unwrap(),
                c["input_tokens"].as_i64().unwrap(),
                c["output_tokens"].as_i64().unwrap(),
            )
        })
        .collect();
    let chat = ("chat.completions".to_owned(), MODEL.to_owned(), 200, 11, 7);
    let messages = ("messages".to_owned(), CLAUDE.to_owned(), 200, 9, 4);
    assert_eq!(
        recorded,
        [chat.clone(), chat.clone(), chat, messages.clone(), messages]
    );
    let ids: Vec<Uuid> = calls.iter().map(id_of).collect();
    for call in [by_token, by_id, messages_id] {
        assert!(ids.contains(&call), "call {call} is recorded under its id");
    }
    let usage =
        g.t.get(
            &g.w.agency_admin,
            &format!("/api/v1/notices/{}/gateway-usage", g.notice),
        )
        .await;
    let totals = &usage.ok()["totals"];
    assert_eq!(
        (
            &totals["calls"],
            &totals["input_tokens"],
            &totals["output_tokens"]
        ),
        (&json!(5), &json!(3 * 11 + 2 * 9), &json!(3 * 7 + 2 * 4))
    );
}

/// What a case is, the token presented over HTTP and in-process, the HTTP path and body, the in-process request,
/// and the refusal's status and code.
type RefusalCase<'a> = (
    &'a str,
    Option<&'a str>,
    &'a str,
    Vec<u8>,
    GatewayRequest,
    u16,
    &'a str,
);

#[tokio::test]
async fn in_process_calls_are_refused_as_over_http_and_recorded_alike() {
    let g = gateway_with(10, json!({})).await;
    let id = token_id(&g).await;
    let token = Some(g.token.as_str());
    let too_large = vec![b' '; app::gateway::GATEWAY_BODY_LIMIT + 1];
    let cases: Vec<RefusalCase> = vec![
        (
            "no token",
            None,
            "/chat/completions",
            chat_body("hi").to_string().into(),
            openai("hi"),
            401,
            "missing_api_key",
        ),
        (
            "not a token",
            Some("plg_not-a-token"),
            "/chat/completions",
            chat_body("hi").to_string().into(),
            openai("hi"),
            401,
            "invalid_api_key",
        ),
        (
            "an unknown model",
            token,
            "/chat/completions",
            json!({"model": "nope", "messages": []}).to_string().into(),
            GatewayRequest::Chat(ChatRequest::new(ApiStyle::OpenAi, "nope", "hi")),
            404,
            "model_not_found",
        ),
        (
            "the other API style",
            token,
            "/messages",
            json!({"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
                .to_string()
                .into(),
            GatewayRequest::Chat(ChatRequest {
                max_tokens: Some(5),
                ..ChatRequest::new(ApiStyle::Anthropic, MODEL, "hi")
            }),
            400,
            "unsupported_api_style",
        ),
        (
            "not JSON",
            token,
            "/chat/completions",
            b"not json".to_vec(),
            GatewayRequest::Body {
                style: ApiStyle::OpenAi,
                body: Bytes::from_static(b"not json"),
            },
            400,
            "invalid_request_body",
        ),
        (
            "too large",
            token,
            "/chat/completions",
            too_large.clone(),
            GatewayRequest::Body {
                style: ApiStyle::OpenAi,
                body: Bytes::from(too_large),
            },
            413,
            "request_too_large",
        ),
    ];
    for (case, presented, path, body, request, status, code) in cases {
        let over_http = of_http(&http(&g.t, presented, path, body).await);
        let in_process = of_app(&error_of(
            inproc(&g.t, GatewayKey::Presented(presented), request).await,
        ));
        assert_eq!(in_process, over_http, "{case}");
        assert_eq!((in_process.0, in_process.1.as_str()), (status, code), "{case}");
    }
    // A token's id that names no token is refused as a token that is not one.
    let unknown = of_app(&error_of(
        inproc(&g.t, GatewayKey::TokenId(Uuid::now_v7()), openai("hi")).await,
    ));
    assert_eq!((unknown.0, unknown.1.as_str()), (401, "invalid_api_key"));

    // The calls that presented the token were recorded, each twice with the same outcome.
    let before_window = calls(&g).await.len();

    // Outside the window, whichever way the call comes, by whichever key.
    g.t.clock.advance(chrono::Duration::days(11));
    let over_http = of_http(&chat(&g.t, &g.token, &chat_body("late")).await);
    assert_eq!((over_http.0, over_http.1.as_str()), (403, "window_closed"));
    for key in [GatewayKey::Presented(token), GatewayKey::TokenId(id)] {
        let in_process = of_app(&error_of(inproc(&g.t, key, openai("late")).await));
        assert_eq!(in_process, over_http, "outside the window");
    }
    g.t.clock.advance(chrono::Duration::days(-11));
    body_of(inproc(&g.t, GatewayKey::TokenId(id), openai("in time again")).await);

    // A revoked token, likewise.
    g.t.call(
        reqwest::Method::DELETE,
        &format!("/api/v1/notices/{}/gateway-tokens/{id}", g.notice),
        Some(&g.w.evaluator.token),
        None,
    )
    .await
    .ok();
    let over_http = of_http(&chat(&g.t, &g.token, &chat_body("revoked")).await);
    assert_eq!((over_http.0, over_http.1.as_str()), (401, "token_revoked"));
    for key in [GatewayKey::Presented(token), GatewayKey::TokenId(id)] {
        let in_process = of_app(&error_of(inproc(&g.t, key, openai("revoked")).await));
        assert_eq!(in_process, over_http, "revoked");
    }

    let outcomes: Vec<(i64, Option<String>)> = calls(&g)
        .await
        .iter()
        .rev()
        .map(|c| {
            (
                c["status"].as_i64().unwrap(),
                c["error_code"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let refused = |status: i64, code: &str| (status, Some(code.to_owned()));
    assert_eq!(
        before_window, 6,
        "an unknown model, the other style, a body not JSON, each both ways"
    );
    assert_eq!(
        outcomes,
        [
            refused(404, "model_not_found"),
            refused(404, "model_not_found"),
            refused(400, "unsupported_api_style"),
            refused(400, "unsupported_api_style"),
            refused(400, "invalid_request_body"),
            refused(400, "invalid_request_body"),
            refused(403, "window_closed"),
            refused(403, "window_closed"),
            refused(403, "window_closed"),
            (200, None),
            refused(401, "token_revoked"),
            refused(401, "token_revoked"),
            refused(401, "token_revoked"),
        ]
    );
}

#[tokio::test]
async fn limits_count_in_process_and_http_calls_of_an_evaluator_together() {
    // Requests per minute: one budget, whichever way the calls come.
    let g = gateway_with(10, json!({"requests_per_minute": 2})).await;
    let id = token_id(&g).await;
    assert_eq!(chat(&g.t, &g.token, &chat_body("1")).await.status, 200);
    body_of(inproc(&g.t, GatewayKey::TokenId(id), openai("2")).await);
    let over_http = of_http(&chat(&g.t, &g.token, &chat_body("3")).await);
    assert_eq!((over_http.0, over_http.1.as_str()), (429, "rate_limit_exceeded"));
    let in_process = of_app(&error_of(
        inproc(&g.t, GatewayKey::TokenId(id), openai("3")).await,
    ));
    assert_eq!(in_process, over_http);
    g.t.clock.advance(chrono::Duration::seconds(60));
    body_of(inproc(&g.t, GatewayKey::Presented(Some(&g.token)), openai("4")).await);
    assert_eq!(chat(&g.t, &g.token, &chat_body("5")).await.status, 200);
    refused(
        &chat(&g.t, &g.token, &chat_body("6")).await,
        429,
        "rate_limit_exceeded",
    );

    // Calls in flight: a slow call either way holds the one slot against a call the other way.
    let g = gateway_with(10, json!({"concurrency": 1})).await;
    let id = token_id(&g).await;
    let later = Duration::from_millis(150);
    g.up.script([Behavior::Slow(Duration::from_millis(500))]);
    let (slow, second) = tokio::join!(inproc(&g.t, GatewayKey::TokenId(id), openai("slow")), async {
        tokio::time::sleep(later).await;
        chat(&g.t, &g.token, &chat_body("second")).await
    });
    body_of(slow);
    let over_http = of_http(&second);
    assert_eq!(
        (over_http.0, over_http.1.as_str()),
        (429, "concurrency_limit_exceeded")
    );
    g.up.script([Behavior::Slow(Duration::from_millis(500))]);
    let slow_body = chat_body("slow");
    let (slow, second) = tokio::join!(chat(&g.t, &g.token, &slow_body), async {
        tokio::time::sleep(later).await;
        inproc(&g.t, GatewayKey::TokenId(id), openai("second")).await
    });
    assert_eq!(slow.status, 200);
    assert_eq!(of_app(&error_of(second)), over_http, "refused in the same words");
    body_of(inproc(&g.t, GatewayKey::TokenId(id), openai("after")).await);
}

/// Reads an in-process stream: its events' data lines, or the first `stop_after` of them.
async fn read_events(reply: GatewayReply, stop_after: Option<usize>) -> Vec<String> {
    let GatewayReply::Stream { mut events, .. } = reply else {
        panic!("a whole answer where a stream was expected");
    };
    let mut data = Vec::new();
    let mut text = String::new();
    while let Some(piece) = events.next().await {
        text.push_str(std::str::from_utf8(&piece.unwrap()).unwrap());
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if let Some(line) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                data.push(line.to_owned());
            }
        }
        if stop_after.is_some_and(|n| data.len() >= n) {
            break;
        }
    }
    data
}

#[tokio::test]
async fn an_in_process_stream_is_relayed_and_recorded_as_over_http() {
    let g = gateway_with(10, json!({})).await;
    let id = token_id(&g).await;
    let mut request = ChatRequest::new(ApiStyle::OpenAi, MODEL, "stream");
    request.stream = true;
    let reply = inproc(
        &g.t,
        GatewayKey::TokenId(id),
        GatewayRequest::Chat(request.clone()),
    )
    .await;
    let data = read_events(reply.unwrap(), None).await;
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let over_http = g
        .t
        .client
        .post(g.t.url("/gateway/v1/chat/completions"))
        .bearer_auth(&g.token)
        .json(&json!({"model": MODEL, "stream": true, "messages": [{"role": "user", "content": "stream"}]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let http_data: Vec<&str> = over_http
        .split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .collect();
    assert_eq!(data, http_data, "the same events");
    for event in &data {
        assert_no_identity(&g.up, "an in-process event", event);
    }

    // An in-process reader that stops early is recorded as one that went away, and the upstream is let go.
    g.up.script([Behavior::Stream {
        chunks: 50,
        gap: Duration::from_millis(20),
    }]);
    let reply = inproc(&g.t, GatewayKey::TokenId(id), GatewayRequest::Chat(request)).await;
    let started = read_events(reply.unwrap(), Some(2)).await;
    assert_eq!(started.len(), 2);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while g.up.abandoned() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the upstream was not let go"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let calls = calls(&g).await;
    let recorded: Vec<(i64, Option<&str>, bool)> = calls
        .iter()
        .map(|c| {
            (
                c["status"].as_i64().unwrap(),
                c["error_code"].as_str(),
                c["stream"] == true,
            )
        })
        .collect();
    assert_eq!(
        recorded,
        [
            (499, Some("client_closed"), true),
            (200, None, true),
            (200, None, true)
        ],
        "newest first"
    );
    assert_eq!(
        calls[1]["output_tokens"], calls[2]["output_tokens"],
        "metered alike"
    );
}
