//! The gateway of the real binary: nothing secret in its log, answered calls kept through a stalled
//! database or a killed server, and `gateway check`.

use super::*;

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
