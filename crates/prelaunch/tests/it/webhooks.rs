//! Webhooks end to end: endpoints registered over the API, deliveries run by a real worker, received by a real
//! receiver (`tests/clients/webhook_receiver.py`) that verifies each one with the `standardwebhooks` package
//! from PyPI, retries, the endpoint disabled after a day of failures (the test kit's clock), the egress rule
//! for URLs, and who may see what.

use crate::support::*;
use app::jobs::{Registry, Worker, WorkerOptions};
use app::notifications::NotificationKind;
use base64::Engine;
use chrono::Duration;
use serde_json::{Value, json};
use std::time::Duration as StdDuration;
use tokio::io::AsyncBufReadExt;
use uuid::Uuid;

/// The receiver, running until dropped.
struct Receiver {
    port: u16,
    _child: tokio::process::Child,
}

impl Receiver {
    async fn start(secret: &str, args: &[&str]) -> Receiver {
        let python = test_program(
            "PRELAUNCH_TEST_PYTHON",
            "webhooks are tested with the real standardwebhooks package",
        );
        let mut child = tokio::process::Command::new(python)
            .current_dir(clients_dir())
            .arg("webhook_receiver.py")
            .arg("--secret")
            .arg(secret)
            .args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting the webhook receiver");
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(StdDuration::from_secs(30), lines.next_line())
            .await
            .expect("the receiver starts")
            .unwrap()
            .expect("the receiver says where it listens");
        let port = line.strip_prefix("listening ").unwrap().parse().unwrap();
        Receiver { port, _child: child }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    async fn log(&self) -> Vec<Value> {
        let answer = reqwest::get(format!("http://127.0.0.1:{}/log", self.port))
            .await
            .unwrap();
        answer.json::<Vec<Value>>().await.unwrap()
    }

    /// Sends a request to the receiver as if it came from the service, with these headers and body.
    async fn replay(&self, headers: &Value, body: &str) -> u16 {
        let mut request = reqwest::Client::new().post(self.url()).body(body.to_owned());
        for name in [
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
            "content-type",
        ] {
            request = request.header(name, headers[name].as_str().unwrap());
        }
        request.send().await.unwrap().status().as_u16()
    }
}

/// A worker running the webhook jobs of the test's service until dropped.
struct RunningWorker(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for RunningWorker {
    fn drop(&mut self) {
        if let Some(stop) = self.0.take() {
            let _ = stop.send(());
        }
    }
}

fn worker(t: &TestApp) -> RunningWorker {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut options = WorkerOptions::new(format!("test-worker-{}", Uuid::new_v4()));
    options.poll = StdDuration::from_millis(50);
    let worker = Worker::new(t.app.clone(), app::webhooks::register(Registry::new()), options);
    tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    RunningWorker(Some(stop))
}

/// Waits until `check` holds, failing with `what` after 30 seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn deliveries(t: &TestApp, p: &Persona, id: Uuid) -> Vec<Value> {
    let log = t.get(p, &format!("/api/v1/webhooks/{id}/deliveries")).await;
    log.ok()["items"].as_array().unwrap().clone()
}

/// Registers an endpoint as `p`; returns its id and secret.
async fn register(t: &TestApp, p: &Persona, url: &str, events: &[&str]) -> (Uuid, String) {
    let created = t
        .post(
            p,
            "/api/v1/webhooks",
            json!({"url": url, "events": events, "description": "tests"}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    (id_of(&created.body), secret)
}

#[tokio::test]
async fn deliveries_verify_with_standard_webhooks_and_tampered_ones_are_rejected() {
    let t = spawn_app().await;
    // The receiver checks timestamps against its own clock, as receivers do.
    t.clock.set(wall_clock());
    let w = World::new(&t).await;
    let (id, secret) = register(&t, &w.dev_admin, "http://127.0.0.1:9/hook", &["finding.created"]).await;
    let key = secret.strip_prefix("whsec_").expect("whsec_ secret");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(key)
            .unwrap()
            .len(),
        32
    );

    let receiver = Receiver::start(&secret, &[]).await;
    let changed = t
        .patch(
            &w.dev_admin,
            &format!("/api/v1/webhooks/{id}"),
            json!({"url": receiver.url()}),
        )
        .await;
    assert_eq!(changed.ok()["url"], receiver.url());
    let _worker = worker(&t);

    // A test event, and a notification fanned out twice (delivered once).
    let ping = t
        .post(&w.dev_admin, &format!("/api/v1/webhooks/{id}/test"), json!({}))
        .await;
    assert_eq!(ping.status.as_u16(), 202, "{}", ping.body);
    let ping_id = ping.body["message_id"].as_str().unwrap().to_owned();
    let event = Uuid::now_v7();
    let data = json!({"notice_id": Uuid::now_v7(), "title": "A new finding"});
    // (whose, what, event, data): the same event twice; then not subscribed, or another organisation: nothing.
    let sent = [
        (
            w.dev_admin.org_id,
            NotificationKind::FindingCreated,
            event,
            data.clone(),
        ),
        (
            w.dev_admin.org_id,
            NotificationKind::FindingCreated,
            event,
            data.clone(),
        ),
        (
            w.dev_admin.org_id,
            NotificationKind::LaunchMoved,
            Uuid::now_v7(),
            json!({}),
        ),
        (
            w.other_dev.org_id,
            NotificationKind::FindingCreated,
            Uuid::now_v7(),
            json!({}),
        ),
    ];
    for (org, kind, event, data) in sent {
        app::webhooks::fan_out(&t.app, &[org], kind, event, data)
            .await
            .unwrap();
    }

    eventually("two deliveries", || async {
        deliveries(&t, &w.dev_admin, id).await.len() >= 2
    })
    .await;
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    let log = receiver.log().await;
    assert_eq!(log.len(), 2, "{log:#?}");
    for entry in &log {
        assert_eq!(entry["verified"], true, "{entry:#}");
        assert_eq!(entry["tampered_body_rejected"], true, "{entry:#}");
        assert_eq!(entry["tampered_timestamp_rejected"], true, "{entry:#}");
        assert_eq!(entry["status"], 204);
        assert!(
            entry["headers"]["webhook-signature"]
                .as_str()
                .unwrap()
                .starts_with("v1,")
        );
    }
    let by_type = |kind: &str| log.iter().find(|e| e["payload"]["type"] == kind).unwrap().clone();
    let ping_entry = by_type("ping");
    assert_eq!(ping_entry["headers"]["webhook-id"], ping_id.as_str());
    assert_eq!(ping_entry["payload"]["data"]["webhook_id"], id.to_string());
    let finding = by_type("finding.created");
    assert_eq!(finding["payload"]["data"], data);
    assert_eq!(
        finding["headers"]["webhook-id"],
        format!("msg_{}", event.simple())
    );
    assert_eq!(
        finding["headers"]["webhook-timestamp"],
        t.clock_now().timestamp().to_string(),
        "the attempt's time, from the clock"
    );

    // Changed in flight: the receiver refuses; as sent, it accepts.
    let headers = &finding["headers"];
    let body = finding["body"].as_str().unwrap();
    let altered_body = body.replace("A new finding", "A forged finding");
    assert_ne!(altered_body, body);
    assert_eq!(receiver.replay(headers, &altered_body).await, 400);
    let mut late = headers.clone();
    late["webhook-timestamp"] = json!((t.clock_now().timestamp() + 60).to_string());
    assert_eq!(receiver.replay(&late, body).await, 400);
    assert_eq!(receiver.replay(headers, body).await, 204);

    // The log: one delivered attempt each.
    let attempts = deliveries(&t, &w.dev_admin, id).await;
    assert_eq!(attempts.len(), 2);
    for a in &attempts {
        assert_eq!(
            (
                a["delivered"].clone(),
                a["status_code"].clone(),
                a["attempt"].clone()
            ),
            (json!(true), json!(204), json!(1))
        );
        assert!(a["latency_ms"].as_i64().unwrap() >= 0);
    }

    // The secret was shown once: in no later answer, event or job, and not stored as it is.
    let mut seen = String::new();
    for path in [
        "/api/v1/webhooks".to_owned(),
        format!("/api/v1/webhooks/{id}"),
        format!("/api/v1/webhooks/{id}/deliveries"),
    ] {
        let answer = t.get(&w.dev_admin, &path).await;
        seen.push_str(&answer.ok().to_string());
    }
    for event in t.audit_after(0).await {
        seen.push_str(&serde_json::to_string(&event.details.0).unwrap());
    }
    for job in t
        .app
        .store
        .list_jobs(&store::JobQuery {
            state: None,
            kind: None,
            page: store::Page::first(100),
        })
        .await
        .unwrap()
    {
        seen.push_str(&job.payload.to_string());
    }
    let page = t
        .client
        .get(t.url("/webhooks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    seen.push_str(&page);
    assert!(
        !seen.contains(&secret) && !seen.contains(key),
        "the secret leaked"
    );
    let stored = t.app.store.get_webhook(id).await.unwrap().unwrap();
    assert!(
        !stored
            .sealed_secret
            .windows(key.len())
            .any(|w| w == key.as_bytes())
    );
    assert!(!format!("{stored:?}").contains(key));
}

#[tokio::test]
async fn a_failed_delivery_is_retried_until_the_receiver_accepts() {
    let t = spawn_app().await;
    t.clock.set(wall_clock());
    let w = World::new(&t).await;
    let (id, secret) = register(&t, &w.dev_admin, "http://127.0.0.1:9/hook", &["launch.moved"]).await;
    let receiver = Receiver::start(&secret, &["--fail-first", "1"]).await;
    t.patch(
        &w.dev_admin,
        &format!("/api/v1/webhooks/{id}"),
        json!({"url": receiver.url()}),
    )
    .await
    .ok();
    let _worker = worker(&t);
    app::webhooks::fan_out(
        &t.app,
        &[w.dev_admin.org_id],
        NotificationKind::LaunchMoved,
        Uuid::now_v7(),
        json!({"days_left": 12}),
    )
    .await
    .unwrap();
    eventually("the first attempt", || async {
        deliveries(&t, &w.dev_admin, id).await.len() == 1
    })
    .await;
    let first = deliveries(&t, &w.dev_admin, id).await;
    assert_eq!(
        (first[0]["delivered"].clone(), first[0]["status_code"].clone()),
        (json!(false), json!(500))
    );
    assert!(first[0]["error"].as_str().unwrap().contains("500"));
    let failing = t.get(&w.dev_admin, &format!("/api/v1/webhooks/{id}")).await;
    assert!(failing.ok()["failing_since"].is_string());

    // Not before the backoff (30 s at most for the first retry), then once.
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    assert_eq!(deliveries(&t, &w.dev_admin, id).await.len(), 1);
    t.clock.advance(Duration::seconds(31));
    eventually("the retry", || async {
        deliveries(&t, &w.dev_admin, id).await.len() == 2
    })
    .await;
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    let attempts = deliveries(&t, &w.dev_admin, id).await;
    assert_eq!(attempts.len(), 2, "delivered once: no further attempt");
    // Newest first.
    assert_eq!(
        (attempts[0]["attempt"].clone(), attempts[0]["delivered"].clone()),
        (json!(2), json!(true))
    );
    assert_eq!(
        attempts[0]["message_id"], attempts[1]["message_id"],
        "one message, two attempts"
    );
    let log = receiver.log().await;
    let statuses: Vec<_> = log.iter().map(|e| e["status"].clone()).collect();
    assert_eq!(statuses, vec![json!(500), json!(204)]);
    assert_eq!(log[0]["headers"]["webhook-id"], log[1]["headers"]["webhook-id"]);
    assert_ne!(
        log[0]["headers"]["webhook-timestamp"], log[1]["headers"]["webhook-timestamp"],
        "signed at each attempt"
    );
    let healthy = t.get(&w.dev_admin, &format!("/api/v1/webhooks/{id}")).await;
    assert!(healthy.ok()["failing_since"].is_null());
}

#[tokio::test]
async fn an_endpoint_failing_for_a_day_is_disabled_and_its_admins_are_told() {
    let t = spawn_app().await;
    t.clock.set(wall_clock());
    let w = World::new(&t).await;
    let (id, secret) = register(&t, &w.dev_admin, "http://127.0.0.1:9/hook", &["notice.withdrawn"]).await;
    let receiver = Receiver::start(&secret, &["--always-fail"]).await;
    t.patch(
        &w.dev_admin,
        &format!("/api/v1/webhooks/{id}"),
        json!({"url": receiver.url()}),
    )
    .await
    .ok();
    let _worker = worker(&t);
    app::webhooks::fan_out(
        &t.app,
        &[w.dev_admin.org_id],
        NotificationKind::NoticeWithdrawn,
        Uuid::now_v7(),
        json!({}),
    )
    .await
    .unwrap();
    eventually("the first attempt", || async {
        deliveries(&t, &w.dev_admin, id).await.len() == 1
    })
    .await;

    // Hours of failures: still enabled.
    t.clock.advance(Duration::hours(12));
    eventually("a retry", || async {
        deliveries(&t, &w.dev_admin, id).await.len() == 2
    })
    .await;
    let endpoint = t.get(&w.dev_admin, &format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(endpoint.ok()["enabled"], true);

    // A day: disabled, with the reason, and an event for the organisation's admins.
    let seq = t.audit_seq().await;
    t.clock.advance(Duration::hours(13));
    eventually("the attempt after a day", || async {
        deliveries(&t, &w.dev_admin, id).await.len() == 3
    })
    .await;
    let endpoint = t.get(&w.dev_admin, &format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(endpoint.ok()["enabled"], false, "{}", endpoint.body);
    assert!(
        endpoint.body["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("24 hours")
    );
    let events: Vec<_> = t
        .audit_after(seq)
        .await
        .into_iter()
        .filter(|e| e.action == "webhook.auto_disable")
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].object_id, Some(w.dev_admin.org_id));
    assert_eq!(events[0].details.0["webhook_id"], id.to_string());
    let trail = |p: &Persona| {
        let path = format!("/api/v1/audit?object_id={}", w.dev_admin.org_id);
        let t = &t;
        let p = p.clone();
        async move {
            t.get(&p, &path).await.ok()["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "webhook.auto_disable")
        }
    };
    assert!(trail(&w.dev_admin).await, "the organisation's admin is told");
    assert!(!trail(&w.dev_member).await);
    assert!(!trail(&w.other_dev).await);

    // Disabled: events are no longer delivered, and its pending retries stop.
    let jobs_before = t.app.store.count_jobs(store::JobState::Queued).await.unwrap();
    app::webhooks::fan_out(
        &t.app,
        &[w.dev_admin.org_id],
        NotificationKind::NoticeWithdrawn,
        Uuid::now_v7(),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(
        t.app.store.count_jobs(store::JobState::Queued).await.unwrap(),
        jobs_before
    );
    t.clock.advance(Duration::hours(2));
    tokio::time::sleep(StdDuration::from_millis(600)).await;
    assert_eq!(deliveries(&t, &w.dev_admin, id).await.len(), 3);

    // Enabled again: a fresh start.
    let enabled = t
        .patch(
            &w.dev_admin,
            &format!("/api/v1/webhooks/{id}"),
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(enabled.ok()["enabled"], true);
    assert!(enabled.body["failing_since"].is_null() && enabled.body["disabled_reason"].is_null());
}

#[tokio::test]
async fn webhook_urls_follow_the_egress_rule() {
    // (url, accepted by default, accepted with --allow-private-upstreams)
    let long = format!("https://hooks.example.com/{}", "a".repeat(2_000));
    let cases: Vec<(&str, bool, bool)> = vec![
        ("https://hooks.example.com/in", true, true),
        ("https://8.8.8.8/in", true, true),
        ("http://hooks.example.com/in", false, true),
        ("http://127.0.0.1:9/in", false, true),
        ("https://127.0.0.1/in", false, true),
        ("https://10.0.0.5/in", false, true),
        ("https://169.254.169.254/latest/meta-data", false, true),
        ("https://[::1]/in", false, true),
        ("https://[::ffff:192.168.1.1]/in", false, true),
        ("https://user:pw@hooks.example.com/in", false, false),
        ("https://token@hooks.example.com/in", false, false),
        ("https://hooks.example.com/in#frag", false, false),
        ("ftp://hooks.example.com/in", false, false),
        ("not a url", false, false),
        (&long, false, false),
    ];
    let strict = spawn_configured(&fresh_database_url().await, |c| c.allow_private_upstreams = false).await;
    let open = spawn_app().await;
    for (t, column) in [(&strict, 1), (&open, 2)] {
        t.org("developer", "Hook Lab").await;
        let admin = t
            .person("hook admin", "Hook Lab", "admin@hook.example", "admin")
            .await;
        for (url, public, any) in &cases {
            let allowed = if column == 1 { *public } else { *any };
            let answer = t
                .post(
                    &admin,
                    "/api/v1/webhooks",
                    json!({"url": url, "events": ["notice.shared"]}),
                )
                .await;
            if allowed {
                assert_eq!(answer.status.as_u16(), 201, "{url}: {}", answer.body);
                t.delete(&admin, &format!("/api/v1/webhooks/{}", id_of(&answer.body)))
                    .await
                    .ok();
            } else {
                assert_eq!(answer.problem(422, "invalid-field")["field"], "url", "{url}");
            }
        }
        for (events, field) in [
            (json!([]), "events"),
            (json!(["notice.*"]), "events"),
            (json!(["ping"]), "events"),
        ] {
            let answer = t
                .post(
                    &admin,
                    "/api/v1/webhooks",
                    json!({"url": "https://hooks.example.com/in", "events": events}),
                )
                .await;
            assert_eq!(answer.problem(422, "invalid-field")["field"], field, "{events}");
        }
    }

    // A name is judged by what it resolves to, when delivering: `localhost` is refused without the switch.
    strict.org("developer", "Rebind Lab").await;
    let admin = strict
        .person("rebind admin", "Rebind Lab", "admin@rebind.example", "admin")
        .await;
    let (id, _) = register(&strict, &admin, "https://localhost:9/hook", &["notice.shared"]).await;
    let _worker = worker(&strict);
    strict
        .post(&admin, &format!("/api/v1/webhooks/{id}/test"), json!({}))
        .await;
    eventually("the refused attempt", || async {
        deliveries(&strict, &admin, id).await.len() == 1
    })
    .await;
    let attempt = &deliveries(&strict, &admin, id).await[0];
    assert_eq!(attempt["delivered"], false);
    assert!(attempt["status_code"].is_null());
    assert!(
        attempt["error"].as_str().unwrap().contains("not a public"),
        "{attempt}"
    );
    // The PATCH follows the same rule.
    let patched = strict
        .patch(
            &admin,
            &format!("/api/v1/webhooks/{id}"),
            json!({"url": "http://127.0.0.1:9/in"}),
        )
        .await;
    assert_eq!(patched.problem(422, "invalid-field")["field"], "url");
}

#[tokio::test]
async fn only_an_organisations_admins_see_and_manage_its_webhooks() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let (id, _) = register(
        &t,
        &w.dev_admin,
        "https://hooks.example.com/in",
        &["notice.shared"],
    )
    .await;
    let nothing = Uuid::new_v4();
    // Non-admins may not manage the collection at all.
    for p in [&w.dev_member, &w.evaluator, &w.coordinator] {
        t.get(p, "/api/v1/webhooks").await.problem(403, "forbidden");
        t.post(
            p,
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example.com/x", "events": ["notice.shared"]}),
        )
        .await
        .problem(403, "forbidden");
    }
    // Another organisation's admin (and the program admin) sees its own list only, and the endpoint as absent.
    for p in [&w.other_dev, &w.agency_admin, &w.program_admin] {
        assert_eq!(t.get(p, "/api/v1/webhooks").await.ok()["items"], json!([]));
    }
    for p in [&w.dev_member, &w.other_dev, &w.agency_admin, &w.program_admin] {
        for (method, suffix, body) in [
            (reqwest::Method::GET, "", None),
            (reqwest::Method::PATCH, "", Some(json!({"enabled": false}))),
            (reqwest::Method::DELETE, "", None),
            (reqwest::Method::GET, "/deliveries", None),
            (reqwest::Method::POST, "/test", Some(json!({}))),
        ] {
            let real = t
                .call(
                    method.clone(),
                    &format!("/api/v1/webhooks/{id}{suffix}"),
                    Some(&p.token),
                    body.clone(),
                )
                .await;
            let absent = t
                .call(
                    method.clone(),
                    &format!("/api/v1/webhooks/{nothing}{suffix}"),
                    Some(&p.token),
                    body,
                )
                .await;
            real.problem(404, "not-found");
            assert_eq!(real.body["detail"], absent.body["detail"], "{method} {suffix}");
        }
    }
    // The admin's own list holds it, without a secret.
    let list = t.get(&w.dev_admin, "/api/v1/webhooks").await;
    assert_eq!(list.ok()["items"][0]["id"], id.to_string());
    assert!(list.body["items"][0].get("secret").is_none());
    t.delete(&w.dev_admin, &format!("/api/v1/webhooks/{id}")).await;
    t.get(&w.dev_admin, &format!("/api/v1/webhooks/{id}"))
        .await
        .problem(404, "not-found");
}

#[tokio::test]
async fn without_a_master_key_no_endpoint_is_made() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let store = store::connect(&t.database_url).await.unwrap();
    let keyless = app::App::new(store.clone(), t.clock.clone(), app::Config::default());
    let user = store.get_user(w.dev_admin.user_id).await.unwrap().unwrap();
    let org = store.get_org(w.dev_admin.org_id).await.unwrap().unwrap();
    let caller = app::Caller::from_rows(user, org).unwrap();
    let refused = keyless
        .create_webhook(
            &caller,
            app::webhooks::NewWebhook {
                url: "https://hooks.example.com/in".into(),
                events: vec!["notice.shared".into()],
                description: None,
            },
        )
        .await;
    match refused {
        Err(app::AppError::Conflict(why)) => assert!(why.contains("master key"), "{why}"),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("created without a master key"),
    }
}

#[tokio::test]
async fn the_page_shows_the_secret_once_and_the_delivery_log() {
    use crate::web::{Web, member};
    let t = spawn_app().await;
    World::new(&t).await;
    let admin = member(&t, "Frontier Lab", "hooks@lab.example", "admin", "Hook Admin").await;
    let web = Web::sign_in(&t, &admin).await;
    let bad = web
        .submit(
            "/webhooks",
            "/webhooks",
            &[("url", "ftp://hooks.example.com/in"), ("events", "notice.shared")],
        )
        .await;
    bad.assert_form_error("url", "ftp://hooks.example.com/in");
    let created = web
        .submit(
            "/webhooks",
            "/webhooks",
            &[
                ("url", "http://127.0.0.1:9/hook"),
                ("events", "notice.shared"),
                ("events", "launch.moved"),
            ],
        )
        .await;
    created.assert(200);
    let secret = created.input_value("id=\"new-secret\"");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let list = web.get("/webhooks").await;
    assert!(list.body.contains("http://127.0.0.1:9/hook"));
    assert!(!list.body.contains(&secret), "shown once");
    let id = t
        .app
        .store
        .enabled_webhooks(&[t
            .app
            .store
            .find_org_by_name("Frontier Lab")
            .await
            .unwrap()
            .unwrap()
            .id])
        .await
        .unwrap()[0]
        .id;
    // Without the form's CSRF token nothing is sent.
    web.post(&format!("/webhooks/{id}/test"), &[]).await.assert(403);
    web.submit(&format!("/webhooks/{id}"), &format!("/webhooks/{id}/test"), &[])
        .await
        .assert(303);
    let _worker = worker(&t);
    eventually("the test event's attempt", || async {
        web.get(&format!("/webhooks/{id}")).await.body.contains("ping")
    })
    .await;
    let detail = web.get(&format!("/webhooks/{id}")).await;
    assert!(
        detail.body.contains("could not connect") || detail.body.contains("no answer"),
        "{}",
        detail.body
    );
    assert!(!detail.body.contains(&secret));
    // A member of the organisation is refused the page.
    let other = member(&t, "Frontier Lab", "plain@lab.example", "member", "Plain Member").await;
    let member_web = Web::sign_in(&t, &other).await;
    member_web.get("/webhooks").await.assert(403);
    member_web.get(&format!("/webhooks/{id}")).await.assert(404);
}
