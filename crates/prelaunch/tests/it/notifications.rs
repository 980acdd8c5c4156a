//! Notifications: who is told of what (a table over the cast), the inbox's read marks, reminders by the
//! injected clock, and e-mail received by a real SMTP server (Python `aiosmtpd`, from the test environment),
//! with no mail to anyone not entitled. The jobs run through the worker's own `run_job`.

use crate::browser::Browser;
use crate::support::*;
use crate::web::{PASSWORD, member};
use app::jobs::{JobRequest, Registry, run_job};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use store::JobClaim;
use uuid::Uuid;

/// Runs every due notification job (and what they queue) until none is due at the clock's now.
pub async fn run_due_jobs(t: &TestApp) {
    let registry = app::notifications::register(Registry::new());
    let kinds = registry.kinds();
    for _ in 0..1_000 {
        let now = t.clock_now();
        let claim = JobClaim {
            owner: "test-worker",
            now,
            lease_until: now + chrono::Duration::seconds(60),
            limit: 50,
            kinds: Some(&kinds),
        };
        let jobs = t.app.store.claim_jobs(&claim).await.unwrap();
        if jobs.is_empty() {
            // The test server's own worker may be running one of them: wait for it.
            let running = t
                .app
                .store
                .list_jobs(&store::JobQuery {
                    state: Some(store::JobState::Running),
                    kind: None,
                    page: store::Page::first(100),
                })
                .await
                .unwrap();
            if running.iter().any(|j| kinds.contains(&j.kind)) {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
            return;
        }
        for job in jobs {
            run_job(&t.app, &registry, "test-worker", job).await;
        }
    }
    panic!("notification jobs kept coming");
}

/// Queues the outbox and the reminders, as their schedules do, and runs them.
pub async fn deliver(t: &TestApp) {
    t.app
        .enqueue(vec![
            JobRequest::new("notify", Value::Null),
            JobRequest::new("reminders", Value::Null),
        ])
        .await
        .unwrap();
    run_due_jobs(t).await;
}

/// The (kind, link) of a persona's notifications.
pub(crate) async fn inbox(t: &TestApp, p: &Persona) -> BTreeSet<(String, String)> {
    let page = t.get(p, "/api/v1/notifications?limit=200").await;
    page.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().unwrap().to_owned(),
                n["link"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_kind_reaches_exactly_those_who_may_read_it() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // `alone`: shared with the evaluator's agency only; `both`: with both agencies.
    let alone = id_of(&t.file_notice(&w.dev_member, 40, &[w.agency]).await);
    let both = id_of(
        &t.file_notice(&w.dev_member, 40, &[w.agency, w.other_agency])
            .await,
    );
    t.assign(&w.agency_admin, alone, &w.evaluator).await;
    t.assign(&w.agency_admin, both, &w.evaluator).await;
    t.assign(&w.other_agency_admin, both, &w.other_evaluator).await;
    // A finding kept within the evaluator's agency, one shared with the other agency, and an assessment.
    let private = id_of(&t.file_finding(&w.evaluator, both, &[]).await);
    let shared = id_of(&t.file_finding(&w.evaluator, both, &[w.other_agency]).await);
    let assessment = id_of(&t.publish_assessment(&w.evaluator, alone, &[]).await);
    let moved = t.clock_now() + chrono::Duration::days(45);
    t.put(
        &w.dev_member,
        &format!("/api/v1/notices/{alone}/launch"),
        json!({"planned_launch_at": moved.to_rfc3339(), "reason": "more testing"}),
    )
    .await
    .ok();
    t.post(
        &w.dev_member,
        &format!("/api/v1/notices/{both}/withdraw"),
        json!({}),
    )
    .await
    .ok();
    deliver(&t).await;

    let n = |kind: &str, link: String| (kind.to_owned(), link);
    let notice = |id: Uuid| format!("/notices/{id}");
    let expected: Vec<(&Persona, Vec<(String, String)>)> = vec![
        // Program administrators read no notice: told of none.
        (&w.program_admin, vec![]),
        (&w.coordinator, vec![]),
        // The developer's admin hears of the work on its model; the member who filed hears of it too, and
        // neither of their own moves.
        (
            &w.dev_admin,
            vec![
                n("finding.created", format!("/findings/{private}")),
                n("finding.created", format!("/findings/{shared}")),
                n("assessment.created", format!("/assessments/{assessment}")),
            ],
        ),
        (
            &w.dev_member,
            vec![
                n("finding.created", format!("/findings/{private}")),
                n("finding.created", format!("/findings/{shared}")),
                n("assessment.created", format!("/assessments/{assessment}")),
            ],
        ),
        (&w.other_dev, vec![]),
        // The agency's admin: both notices shared, their changes; the admin assigned and so is not told of
        // it, nor of the work (its own agency's; the evaluator wrote it).
        (
            &w.agency_admin,
            vec![
                n("notice.shared", notice(alone)),
                n("notice.shared", notice(both)),
                n("launch.moved", notice(alone)),
                n("notice.withdrawn", notice(both)),
                n("finding.created", format!("/findings/{private}")),
                n("finding.created", format!("/findings/{shared}")),
                n("assessment.created", format!("/assessments/{assessment}")),
            ],
        ),
        // The evaluator: assigned twice, the changes of its notices; its own work is not news to it.
        (
            &w.evaluator,
            vec![
                n("assignment.created", notice(alone)),
                n("assignment.created", notice(both)),
                n("launch.moved", notice(alone)),
                n("notice.withdrawn", notice(both)),
            ],
        ),
        // A colleague not assigned hears nothing.
        (&w.evaluator2, vec![]),
        // The other agency sees `both` and the finding shared with it, never `alone` or the private finding.
        (
            &w.other_agency_admin,
            vec![
                n("notice.shared", notice(both)),
                n("notice.withdrawn", notice(both)),
                n("finding.created", format!("/findings/{shared}")),
            ],
        ),
        (
            &w.other_evaluator,
            vec![
                n("assignment.created", notice(both)),
                n("notice.withdrawn", notice(both)),
                n("finding.created", format!("/findings/{shared}")),
            ],
        ),
        (&w.vendor, vec![]),
        (&w.operator, vec![]),
    ];
    for (persona, want) in expected {
        let want: BTreeSet<(String, String)> = want.into_iter().collect();
        assert_eq!(inbox(&t, persona).await, want, "{}", persona.name);
    }

    // Run again: nothing new (the cursor moved; a repeated event makes no second row).
    let before = inbox(&t, &w.agency_admin).await.len();
    deliver(&t).await;
    assert_eq!(inbox(&t, &w.agency_admin).await.len(), before);
}

#[tokio::test]
async fn marking_read_one_and_all() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    for _ in 0..3 {
        t.file_notice(&w.dev_admin, 40, &[w.agency]).await;
    }
    deliver(&t).await;
    let count = |v: &Value| v["unread"].as_i64().unwrap();
    let unread = t.get(&w.agency_admin, "/api/v1/notifications/unread-count").await;
    assert_eq!(count(unread.ok()), 3);
    let list = t
        .get(&w.agency_admin, "/api/v1/notifications?unread=true&limit=2")
        .await;
    let first = list.ok()["items"][0].clone();
    assert!(first["read_at"].is_null());
    assert!(list.ok()["next_cursor"].is_string());
    for field in ["id", "kind", "title", "link", "created_at", "read_at"] {
        assert!(first.get(field).is_some(), "{field}");
    }
    let id = first["id"].as_str().unwrap();

    // Another person's notification is not there for anyone else.
    let theirs = t
        .post(
            &w.other_agency_admin,
            &format!("/api/v1/notifications/{id}/read"),
            json!({}),
        )
        .await;
    theirs.problem(404, "not-found");
    let nothing = t
        .post(
            &w.other_agency_admin,
            &format!("/api/v1/notifications/{}/read", Uuid::now_v7()),
            json!({}),
        )
        .await;
    assert_eq!(theirs.body, nothing.body);

    let read = t
        .post(
            &w.agency_admin,
            &format!("/api/v1/notifications/{id}/read"),
            json!({}),
        )
        .await;
    let read_at = read.ok()["read_at"].as_str().unwrap().to_owned();
    // Reading again keeps the first time.
    t.clock.advance(chrono::Duration::minutes(5));
    let again = t
        .post(
            &w.agency_admin,
            &format!("/api/v1/notifications/{id}/read"),
            json!({}),
        )
        .await;
    assert_eq!(again.ok()["read_at"].as_str().unwrap(), read_at);
    let list = t.get(&w.agency_admin, "/api/v1/notifications?unread=true").await;
    assert_eq!(list.ok()["items"].as_array().unwrap().len(), 2);
    assert_eq!(count(list.ok()), 2);

    let all = t
        .post(&w.agency_admin, "/api/v1/notifications/read-all", json!({}))
        .await;
    assert_eq!(all.ok()["marked"], 2);
    let unread = t.get(&w.agency_admin, "/api/v1/notifications/unread-count").await;
    assert_eq!(count(unread.ok()), 0);
    let list = t.get(&w.agency_admin, "/api/v1/notifications").await;
    assert_eq!(list.ok()["items"].as_array().unwrap().len(), 3);

    let wrong = t.get(&w.agency_admin, "/api/v1/notifications?unread=yes").await;
    assert_eq!(wrong.problem(422, "invalid-field")["field"], "unread");
}

#[tokio::test]
async fn reminders_come_once_per_reminder_day_by_the_clock() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // Launch in 40 days: the window (30 days) opens in 10 and closes in 40.
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    t.assign(&w.agency_admin, notice, &w.evaluator).await;
    deliver(&t).await;
    let reminders = |set: BTreeSet<(String, String)>| -> Vec<String> {
        set.into_iter()
            .filter(|(k, _)| k.starts_with("window."))
            .map(|(k, _)| k)
            .collect()
    };
    let titles = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"].as_str().unwrap().starts_with("window."))
            .map(|n| n["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(reminders(inbox(&t, &w.agency_admin).await).is_empty());
    // Five days on: the window opens in five, within the week's reminder.
    t.clock.advance(chrono::Duration::days(5));
    deliver(&t).await;
    deliver(&t).await;
    let page = t.get(&w.agency_admin, "/api/v1/notifications").await;
    assert_eq!(titles(page.ok()).len(), 1, "{:?}", titles(page.ok()));
    assert!(
        titles(page.ok())[0].contains("opens in 5 days"),
        "{:?}",
        titles(page.ok())
    );
    // The evaluator is not told the window opens (the admin is), only when it closes.
    assert!(reminders(inbox(&t, &w.evaluator).await).is_empty());
    // A day before the window opens: the day's reminder.
    t.clock.advance(chrono::Duration::hours(4 * 24 + 1));
    deliver(&t).await;
    let page = t.get(&w.agency_admin, "/api/v1/notifications").await;
    assert_eq!(titles(page.ok()).len(), 2, "{:?}", titles(page.ok()));
    // A week before it closes: the closing reminder reaches the admin and the assigned evaluator.
    t.clock.advance(chrono::Duration::days(24));
    deliver(&t).await;
    assert_eq!(
        reminders(inbox(&t, &w.evaluator).await),
        vec!["window.closing".to_owned()]
    );
    // The other agency cannot see the notice: never reminded.
    assert!(reminders(inbox(&t, &w.other_agency_admin).await).is_empty());
}

/// A real SMTP server: `tests/clients/smtp_sink.py` (aiosmtpd) on a free loopback port, saving what it gets.
pub(crate) struct SmtpSink {
    port: u16,
    _child: tokio::process::Child,
    /// Dropped after the server is killed.
    dir: TestDir,
}

impl SmtpSink {
    pub(crate) async fn start() -> SmtpSink {
        use tokio::io::AsyncBufReadExt;
        let python = std::env::var_os("PRELAUNCH_TEST_PYTHON").unwrap_or_else(|| {
            panic!("PRELAUNCH_TEST_PYTHON is not set: run scripts/test.sh (or source the test environment)")
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = TestDir::new("mail");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/smtp_sink.py");
        let mut child = tokio::process::Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the SMTP server did not start")
            .unwrap();
        assert_eq!(ready.as_deref(), Some("ready"));
        SmtpSink {
            port,
            _child: child,
            dir,
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Every mail received: (recipients, the whole message).
    pub(crate) fn mails(&self) -> Vec<(Vec<String>, String)> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
                let to = v["rcpt_tos"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_owned())
                    .collect();
                (to, v["data"].as_str().unwrap().to_owned())
            })
            .collect()
    }
}

pub(crate) fn with_mail(sink: &SmtpSink) -> impl FnOnce(&mut app::Config) + use<> {
    let url = sink.url();
    move |config: &mut app::Config| {
        config.mail = Some(
            app::notifications::email::MailSettings::parse(&url, "Prelaunch <noreply@prelaunch.example>")
                .unwrap(),
        );
    }
}

#[tokio::test]
async fn mails_go_to_exactly_the_recipients_who_want_them() {
    let sink = SmtpSink::start().await;
    let t = spawn_configured(&fresh_database_url().await, with_mail(&sink)).await;
    let w = World::new(&t).await;
    // The other agency's admin takes a daily digest; the evaluator wants no mail of assignments.
    t.put(
        &w.other_agency_admin,
        "/api/v1/notifications/preferences",
        json!({"email_kinds": ["notice.shared", "notice.withdrawn"], "email_delivery": "digest"}),
    )
    .await
    .ok();
    let prefs = t
        .put(
            &w.evaluator2,
            "/api/v1/notifications/preferences",
            json!({"email_kinds": ["notice.launched"], "email_delivery": "immediate"}),
        )
        .await;
    assert_eq!(prefs.ok()["email_enabled"], true);
    let alone = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    let both = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency, w.other_agency]).await);
    t.assign(&w.agency_admin, alone, &w.evaluator).await;
    t.assign(&w.agency_admin, alone, &w.evaluator2).await;
    deliver(&t).await;

    let mails = sink.mails();
    let by_recipient: BTreeMap<String, Vec<String>> =
        mails.iter().fold(BTreeMap::new(), |mut m, (to, data)| {
            for r in to {
                m.entry(r.clone()).or_default().push(data.clone());
            }
            m
        });
    let who: BTreeSet<&str> = by_recipient.keys().map(String::as_str).collect();
    assert_eq!(
        who,
        BTreeSet::from(["admin@agency.example", "eval@agency.example"]),
        "only the agency's admin (two shares) and the evaluator who wants assignment mail"
    );
    assert_eq!(by_recipient["admin@agency.example"].len(), 2);
    let assigned = &by_recipient["eval@agency.example"][0];
    assert!(
        assigned.contains("Subject: [Prelaunch] You were assigned to review"),
        "{assigned}"
    );
    assert!(
        assigned.contains(&format!("{}/notices/{alone}", t.base)),
        "{assigned}"
    );
    assert!(
        assigned.contains("From: Prelaunch <noreply@prelaunch.example>"),
        "{assigned}"
    );
    // Nothing confidential: the model card is not in any mail.
    for (_, data) in &mails {
        assert!(!data.contains("model card"), "{data}");
        assert!(
            !data.contains(&format!("/notices/{both}")) || data.contains("admin@agency.example"),
            "{data}"
        );
    }

    // The digest gathers the other agency's admin's day into one mail.
    t.clock.advance(chrono::Duration::days(1));
    t.app
        .enqueue(vec![JobRequest::new("email.digest", Value::Null)])
        .await
        .unwrap();
    run_due_jobs(&t).await;
    let mails = sink.mails();
    let digests: Vec<&(Vec<String>, String)> = mails
        .iter()
        .filter(|(to, _)| to.iter().any(|r| r == "admin@infra.example"))
        .collect();
    assert_eq!(digests.len(), 1, "{digests:?}");
    assert!(
        digests[0].1.contains("Daily digest: 1 notifications"),
        "{}",
        digests[0].1
    );
    assert!(
        digests[0].1.contains(&format!("/notices/{both}")),
        "{}",
        digests[0].1
    );

    // An invitation goes to the invited address, and its link is not shown to the inviter.
    let invited = t
        .post(
            &w.dev_admin,
            "/api/v1/invitations",
            json!({"org_id": w.dev_admin.org_id, "email": "newcomer@lab.example"}),
        )
        .await;
    assert_eq!(invited.ok()["emailed"], true);
    assert!(invited.ok().get("link").is_none());
    let mails = sink.mails();
    let invitation = mails
        .iter()
        .find(|(to, _)| to.iter().any(|r| r == "newcomer@lab.example"))
        .expect("the invitation mail");
    assert!(
        invitation.1.contains(&format!("{}/invitations/pli_", t.base)),
        "{}",
        invitation.1
    );
}

#[tokio::test]
async fn without_smtp_the_inbox_works_and_the_administrator_is_told_mail_is_off() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let prefs = t.get(&w.agency_admin, "/api/v1/notifications/preferences").await;
    assert_eq!(prefs.ok()["email_enabled"], false);
    t.file_notice(&w.dev_admin, 40, &[w.agency]).await;
    deliver(&t).await;
    assert_eq!(inbox(&t, &w.agency_admin).await.len(), 1);
    // No mail to send (the digest's schedule and the prompt runs of `notify` are queued jobs too, but no mail).
    assert_eq!(
        crate::reports::scalar(&t, "SELECT COUNT(*) FROM jobs WHERE kind = 'email.send'").await,
        0,
        "no mail queued"
    );
    let invited = t
        .post(
            &w.dev_admin,
            "/api/v1/invitations",
            json!({"org_id": w.dev_admin.org_id, "email": "newcomer@lab.example"}),
        )
        .await;
    assert_eq!(invited.ok()["emailed"], false);
    assert!(
        invited.ok()["link"]
            .as_str()
            .unwrap()
            .contains("/invitations/pli_")
    );
}

#[tokio::test]
async fn browser_sees_the_unread_count_and_opens_a_notification() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let admin = member(
        &t,
        "Cyber Evaluation Agency",
        "grace@agency.example",
        "admin",
        "Grace Hopper",
    )
    .await;
    let notice = t.file_notice(&w.dev_admin, 40, &[w.agency]).await;
    let notice_id = id_of(&notice);
    t.file_notice(&w.dev_admin, 50, &[w.agency]).await;
    deliver(&t).await;

    let browser = Browser::start().await.unwrap();
    browser.goto(&t.url("/login")).await.unwrap();
    browser.fill("#email", &admin.email).await.unwrap();
    browser.fill("#password", PASSWORD).await.unwrap();
    browser.click("main button[type=submit]").await.unwrap();
    wait_until(&browser, "#unread-count", "2").await;

    browser.click("#notifications-link").await.unwrap();
    wait_until(&browser, "h1", "Notifications").await;
    let list = browser.text("main").await.unwrap();
    assert!(list.contains("shared the release notice"), "{list}");
    // Open the older one (the list is newest first): the notice's page, and one left unread.
    browser
        .click("li.notification:last-child button.notification-open")
        .await
        .unwrap();
    wait_until(&browser, "h1", notice["model_name"].as_str().unwrap()).await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .ends_with(&format!("/notices/{notice_id}"))
    );
    wait_until(&browser, "#unread-count", "1").await;

    browser.goto(&t.url("/notifications")).await.unwrap();
    browser.click("#read-all").await.unwrap();
    wait_until(&browser, "h1", "Notifications").await;
    assert!(browser.text("main").await.unwrap().contains("Nothing unread"));
    assert!(
        browser.find("#unread-count").await.is_err(),
        "no count once all are read"
    );
    browser.close().await.unwrap();
}

async fn wait_until(browser: &Browser, css: &str, expected: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if browser.text(css).await.unwrap_or_default().contains(expected) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "`{css}` never showed {expected:?}; the page says:\n{}",
            browser.text("body").await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
