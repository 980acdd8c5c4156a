//! The platform's remaining weak points, each shown mended: a change is told at once (not at the outbox's next
//! scheduled run) and a burst of changes queues one run; no kind of notification that nothing emits; the
//! per-organisation cap on webhook endpoints holds under parallel creations; a webhook attempt is bounded in
//! time and in what it reads, against hostile receivers on loopback; the test kit removes a test's files.

use crate::support::*;
use app::jobs::{Registry, run_job};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use store::{JobClaim, JobQuery, JobState, Page};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The kinds of a persona's notifications.
async fn inbox_kinds(t: &TestApp, p: &Persona) -> Vec<String> {
    let page = t.get(p, "/api/v1/notifications?limit=200").await;
    page.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_notice_shared_with_an_agency_reaches_its_inbox_within_a_second() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // The clock stands still, so the outbox's schedule made its one run of this period at the start: only
    // a run queued by the change itself can tell of it.
    let notice = t.file_notice(&w.dev_admin, 40, &[w.agency]).await;
    let filed = Instant::now();
    let deadline = filed + Duration::from_secs(1);
    loop {
        if inbox_kinds(&t, &w.agency_admin)
            .await
            .iter()
            .any(|k| k == "notice.shared")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the agency's admin was not told of notice {} within a second",
            notice["id"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The agency it was not shared with hears nothing.
    assert!(inbox_kinds(&t, &w.other_agency_admin).await.is_empty());
}

/// The `notify` jobs in the queue, in any state.
async fn notify_jobs(app: &app::App) -> Vec<store::Job> {
    app.store
        .list_jobs(&JobQuery {
            state: None,
            kind: Some("notify".into()),
            page: Page::first(500),
        })
        .await
        .unwrap()
}

/// Claims and runs the due `notify` jobs once, as a worker would.
async fn run_notify(app: &app::App, now: chrono::DateTime<chrono::Utc>) -> usize {
    let registry = app::notifications::register(Registry::new());
    let kinds = vec!["notify".to_owned()];
    let claim = JobClaim {
        owner: "test-worker",
        now,
        lease_until: now + chrono::Duration::seconds(60),
        limit: 50,
        kinds: Some(&kinds),
    };
    let jobs = app.store.claim_jobs(&claim).await.unwrap();
    let n = jobs.len();
    for job in jobs {
        run_job(app, &registry, "test-worker", job).await;
    }
    n
}

#[tokio::test]
async fn a_burst_of_changes_queues_one_notification_run_and_none_is_lost() {
    // The service alone, no worker: what the changes queue stays in the queue to be counted.
    let url = fresh_database_url().await;
    let (app, clock) = app_on(&url, "http://prelaunch.test").await;
    app.provision_org("developer", "Frontier Lab").await.unwrap();
    let agency = app
        .provision_org("agency", "Cyber Evaluation Agency")
        .await
        .unwrap()
        .id;
    let caller = async |org: &str, email: &str| {
        app.provision_user(org, email, "admin").await.unwrap();
        let token = app.provision_token(email, None).await.unwrap();
        app.authenticate_bearer(token.expose()).await.unwrap()
    };
    let dev = caller("Frontier Lab", "admin@lab.example").await;
    let agency_admin = caller("Cyber Evaluation Agency", "admin@agency.example").await;
    let file = async |n: usize| {
        let input = app::program::NewNotice {
            model_name: format!("Orion {n}"),
            model_version: "1.0".into(),
            planned_launch_at: (clock_now(&clock) + chrono::Duration::days(40)).to_rfc3339(),
            model_card: "# Orion".into(),
            shared_with: vec![agency],
            shared_with_all: false,
            confirm_duplicate: true,
        };
        app.file_notice(&dev, input).await.unwrap();
    };
    let notified = async || app.unread_notifications(&agency_admin).await.unwrap();

    for n in 0..25 {
        file(n).await;
    }
    let queued = notify_jobs(&app).await;
    assert_eq!(queued.len(), 1, "25 changes queue one run: {queued:?}");
    assert_eq!(queued[0].state, JobState::Queued);
    assert_eq!(notified().await, 0);

    assert_eq!(run_notify(&app, clock_now(&clock)).await, 1);
    assert_eq!(notified().await, 25, "the one run tells of every change");
    let jobs = notify_jobs(&app).await;
    assert!(jobs.iter().all(|j| j.state == JobState::Done), "{jobs:?}");

    // The run freed its key as it started: the next change queues the next run.
    file(25).await;
    let waiting: Vec<_> = notify_jobs(&app)
        .await
        .into_iter()
        .filter(|j| j.state == JobState::Queued)
        .collect();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(run_notify(&app, clock_now(&clock)).await, 1);
    assert_eq!(notified().await, 26);
}

fn clock_now(clock: &app::ManualClock) -> chrono::DateTime<chrono::Utc> {
    use app::Clock;
    clock.now()
}

#[tokio::test]
async fn notice_unshared_is_no_kind_of_notification() {
    // Nothing takes an agency's access to a notice away today (sharing is set at filing; a withdrawn notice
    // stays visible), so the kind is not offered: not for webhooks, not for e-mail preferences.
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let hook = t
        .post(
            &w.agency_admin,
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example.com/in", "events": ["notice.unshared"]}),
        )
        .await;
    assert_eq!(hook.problem(422, "invalid-field")["field"], "events");
    let preferences = t
        .put(
            &w.agency_admin,
            "/api/v1/notifications/preferences",
            json!({"email_kinds": ["notice.unshared"], "email_delivery": "immediate"}),
        )
        .await;
    assert_eq!(
        preferences.problem(422, "invalid-field")["field"],
        "email_kinds[0]"
    );
    let offered = t.get(&w.agency_admin, "/api/v1/notifications/preferences").await;
    let kinds: Vec<&str> = offered.ok()["email_kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"notice.shared"), "{kinds:?}");
    assert!(!kinds.contains(&"notice.unshared"), "{kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_creations_at_the_cap_make_exactly_one_endpoint() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let most = app::webhooks::MAX_ENDPOINTS_PER_ORG;
    for n in 1..most {
        let created = t
            .post(
                &w.dev_admin,
                "/api/v1/webhooks",
                json!({"url": format!("https://hooks.example.com/{n}"), "events": ["finding.created"]}),
            )
            .await;
        assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    }
    // One below the cap: of 16 creations at once, exactly one is made.
    let t = Arc::new(t);
    let mut racing = Vec::new();
    let start = Arc::new(tokio::sync::Barrier::new(16));
    for n in 0..16 {
        let (t, p, start) = (t.clone(), w.dev_admin.clone(), start.clone());
        racing.push(tokio::spawn(async move {
            let body =
                json!({"url": format!("https://hooks.example.com/race/{n}"), "events": ["finding.created"]});
            start.wait().await;
            t.post(&p, "/api/v1/webhooks", body).await
        }));
    }
    let mut statuses = Vec::new();
    for r in racing {
        let reply = r.await.unwrap();
        if reply.status.as_u16() == 409 {
            assert!(
                reply.body["detail"].as_str().unwrap().contains("at most 100"),
                "{}",
                reply.body
            );
        }
        statuses.push(reply.status.as_u16());
    }
    statuses.sort_unstable();
    let mut expected = vec![201];
    expected.extend([409; 15]);
    assert_eq!(statuses, expected);
    let store = &t.app.store;
    let mut total = 0;
    let mut after = None;
    loop {
        let page = store
            .list_webhooks(w.dev_admin.org_id, &Page { after, limit: 60 })
            .await
            .unwrap();
        total += page.len();
        after = page.last().map(|e| e.id);
        if page.len() < 60 {
            break;
        }
    }
    assert_eq!(i64::try_from(total).unwrap(), most);
    // The refused ones left no event behind.
    let creations = t
        .audit_after(0)
        .await
        .into_iter()
        .filter(|e| e.action == "webhook.create")
        .count();
    assert_eq!(i64::try_from(creations).unwrap(), most);
}

/// A receiver on loopback that does what it is told with every connection; `written` counts the bytes it
/// managed to send, `closed` says the client went away.
struct Hostile {
    url: String,
    written: Arc<AtomicU64>,
    closed: Arc<AtomicBool>,
}

#[derive(Clone, Copy)]
enum Behaviour {
    /// Reads the request and never answers.
    Silent,
    /// Answers 200 with an endless chunked body.
    Endless,
}

impl Hostile {
    async fn start(behaviour: Behaviour) -> Hostile {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let written = Arc::new(AtomicU64::new(0));
        let closed = Arc::new(AtomicBool::new(false));
        let (w, c) = (written.clone(), closed.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (w, c) = (w.clone(), c.clone());
                tokio::spawn(async move {
                    // The request's head and body (small): whatever arrives first is enough.
                    let mut request = vec![0_u8; 64 * 1024];
                    let _ = socket.read(&mut request).await;
                    match behaviour {
                        Behaviour::Silent => {
                            // Hold the connection open, answering nothing, until the client leaves.
                            let _ = socket.read(&mut request).await;
                            let _ = socket.read(&mut request).await;
                        }
                        Behaviour::Endless => {
                            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n\
                                        transfer-encoding: chunked\r\n\r\n";
                            if socket.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                            let piece = vec![b'x'; 64 * 1024];
                            let chunk =
                                [format!("{:x}\r\n", piece.len()).as_bytes(), &piece, b"\r\n"].concat();
                            while socket.write_all(&chunk).await.is_ok() {
                                w.fetch_add(u64::try_from(chunk.len()).unwrap(), Ordering::Relaxed);
                            }
                        }
                    }
                    c.store(true, Ordering::SeqCst);
                });
            }
        });
        Hostile { url, written, closed }
    }
}

/// Registers an endpoint at `url`, asks for a test delivery, and waits (at most `wait`) for its attempt's
/// log row.
async fn ping_and_wait(t: &TestApp, p: &Persona, url: &str, wait: Duration) -> (Value, Duration) {
    let created = t
        .post(
            p,
            "/api/v1/webhooks",
            json!({"url": url, "events": ["finding.created"]}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let id = id_of(&created.body);
    let started = Instant::now();
    t.post(p, &format!("/api/v1/webhooks/{id}/test"), json!({}))
        .await
        .ok();
    loop {
        let log = t.get(p, &format!("/api/v1/webhooks/{id}/deliveries")).await;
        if let Some(attempt) = log.ok()["items"].as_array().unwrap().first() {
            return (attempt.clone(), started.elapsed());
        }
        assert!(started.elapsed() < wait, "no attempt recorded within {wait:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_receiver_that_never_answers_fails_the_attempt_at_the_timeout() {
    let timeout = Duration::from_secs(1);
    let t = spawn_configured(&fresh_database_url().await, |c| c.webhook_timeout = timeout).await;
    let w = World::new(&t).await;
    let silent = Hostile::start(Behaviour::Silent).await;
    let (attempt, took) = ping_and_wait(&t, &w.dev_admin, &silent.url, Duration::from_secs(10)).await;
    assert_eq!(attempt["delivered"], false, "{attempt}");
    assert_eq!(attempt["status_code"], Value::Null, "{attempt}");
    assert_eq!(attempt["error"], "no answer within 1 s", "{attempt}");
    let latency = attempt["latency_ms"].as_i64().unwrap();
    // Not before the timeout, and not long after it (a loaded machine's slack).
    assert!((1_000..5_000).contains(&latency), "{latency} ms");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test]
async fn a_receiver_streaming_an_endless_answer_is_read_only_to_the_cap() {
    // Long enough that reading the whole answer would show: loopback carries gigabytes in this time.
    let timeout = Duration::from_secs(4);
    let t = spawn_configured(&fresh_database_url().await, |c| c.webhook_timeout = timeout).await;
    let w = World::new(&t).await;
    let endless = Hostile::start(Behaviour::Endless).await;
    let (attempt, _) = ping_and_wait(&t, &w.dev_admin, &endless.url, Duration::from_secs(20)).await;
    // The status is all that counts: delivered, without waiting for the answer's end.
    assert_eq!(attempt["delivered"], true, "{attempt}");
    assert_eq!(attempt["status_code"], 200, "{attempt}");
    let latency = attempt["latency_ms"].as_i64().unwrap();
    assert!(
        latency < 4_000,
        "{latency} ms: the answer was read to the timeout"
    );
    // The client dropped the connection after the cap: the receiver's writes fail soon, having sent no more
    // than the cap and what the two sockets' buffers hold (a few MiB on loopback), not the gigabytes an
    // unbounded read would take in the timeout.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !endless.closed.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the receiver is still being read");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let written = endless.written.load(Ordering::Relaxed);
    assert!(
        written < 16 * 1024 * 1024,
        "{written} bytes were taken from the receiver"
    );
}

#[tokio::test]
async fn a_tests_data_directory_is_removed_when_the_test_ends() {
    // A server and its database, dropped: its data directory (SQLite file, call journal) goes with it.
    let t = spawn_app().await;
    World::new(&t).await;
    let dir = data_dir_of(&t.database_url);
    assert!(dir.is_dir(), "{}", dir.display());
    let sibling = t.sibling().await;
    drop(t);
    assert!(dir.is_dir(), "a second server on the database keeps it");
    drop(sibling);
    assert!(!dir.exists(), "{} is left behind", dir.display());

    // A test that fails: the unwinding drops its database, and the directory goes as well.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let failed = tokio::spawn(async move {
        let url = fresh_database_url().await;
        let (_app, _clock) = app_on(&url, "http://prelaunch.test").await;
        tx.send(data_dir_of(&url)).unwrap();
        panic!("a failing test");
    })
    .await;
    assert!(failed.unwrap_err().is_panic());
    let dir = rx.await.unwrap();
    assert!(!dir.exists(), "{} is left behind", dir.display());

    // A directory of the test's own.
    let own = TestDir::new("scratch");
    std::fs::write(own.join("file"), b"x").unwrap();
    let path = own.path().to_owned();
    drop(own);
    assert!(!path.exists());
}
