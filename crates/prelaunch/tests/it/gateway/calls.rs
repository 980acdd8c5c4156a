//! Calls through the gateway: relayed with tools and streams, refused when malformed, failures of the
//! upstream made clear, and the Anthropic style.

use super::*;

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
