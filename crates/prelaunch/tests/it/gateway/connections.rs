//! Model connections: the developer's, their credential never shown, private upstreams refused,
//! transcripts kept as the connection says, secrets re-sealed under a new master key.

use super::*;

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
