//! The job queue and its workers: `prelaunch worker` processes sharing a queue, surviving `kill -9` and
//! giving back their jobs on SIGTERM; backoff, the failed state and retrying from the API; schedules on the
//! injected clock.

use crate::cli::db_args;
use crate::support::*;
use app::Clock;
use app::jobs::JobRequest;
use app::jobs::kinds::{NOOP, TEST_FAIL, TEST_SLEEP};
use chrono::Duration as TimeDelta;
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;
use store::{Job, JobQuery, JobState, Page};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_prelaunch");

/// A `prelaunch worker` child process on the system clock; killed on drop if still running.
pub(crate) struct WorkerProcess {
    child: Child,
    pub(crate) name: String,
}

impl WorkerProcess {
    pub(crate) async fn start(url: &str, extra: &[&str]) -> WorkerProcess {
        let mut child = Command::new(BIN)
            .arg("worker")
            .args(db_args(url))
            .args(["--test-kinds", "--lease-seconds", "3"])
            .args(extra)
            .env("PRELAUNCH_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let name = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.strip_prefix("Prelaunch worker ") {
                    return rest.split(' ').next().unwrap().to_owned();
                }
            }
            panic!("the worker exited before starting");
        })
        .await
        .expect("the worker did not start within 30 s");
        WorkerProcess { child, name }
    }

    pub(crate) fn signal(&self, signal: &str) {
        let pid = self.child.id().unwrap().to_string();
        let sent = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    pub(crate) async fn exit(mut self, within: Duration) -> bool {
        tokio::time::timeout(within, self.child.wait())
            .await
            .expect("the worker did not exit in time")
            .unwrap()
            .success()
    }
}

/// Enqueues at the real time, for workers on the system clock.
async fn enqueue_now(app: &app::App, jobs: Vec<JobRequest>) -> Vec<Uuid> {
    let now = wall_clock();
    let rows: Vec<_> = jobs.into_iter().map(|j| j.into_new_job(now)).collect();
    app.store.enqueue_jobs(&rows).await.unwrap();
    rows.iter().map(|r| r.id).collect()
}

/// Enqueues on the test server's clock.
async fn enqueue_on_clock(t: &TestApp, request: JobRequest) -> Uuid {
    let row = request.into_new_job(t.clock.now());
    t.app
        .store
        .enqueue_jobs(std::slice::from_ref(&row))
        .await
        .unwrap();
    row.id
}

async fn job(app: &app::App, id: Uuid) -> Job {
    app.store.get_job(id).await.unwrap().unwrap()
}

/// Waits (up to `secs`) until the job satisfies `done`.
async fn wait_for(app: &app::App, id: Uuid, secs: u64, what: &str, done: impl Fn(&Job) -> bool) -> Job {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let j = job(app, id).await;
        if done(&j) {
            return j;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {j:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The marks `test.sleep` enqueues with its completion, naming the job: how often that completion committed.
async fn marks_of(app: &app::App, id: Uuid) -> usize {
    let noops = app
        .store
        .list_jobs(&JobQuery {
            state: None,
            kind: Some(NOOP.into()),
            page: Page::first(1000),
        })
        .await
        .unwrap();
    noops.iter().filter(|j| j.payload["after"] == json!(id)).count()
}

#[tokio::test]
async fn a_job_whose_worker_is_killed_is_finished_once_by_another_after_its_lease() {
    let url = fresh_database_url().await;
    let (app, _) = app_on(&url, "http://test").await;
    let first = WorkerProcess::start(&url, &["--kinds", TEST_SLEEP]).await;
    let id = enqueue_now(
        &app,
        vec![JobRequest::new(TEST_SLEEP, json!({"ms": 2_000})).attempts(3)],
    )
    .await[0];
    let running = wait_for(&app, id, 20, "claimed", |j| j.state == JobState::Running).await;
    assert_eq!(running.lease_owner.as_deref(), Some(first.name.as_str()));
    first.signal("-KILL");
    assert!(!first.exit(Duration::from_secs(10)).await);

    let second = WorkerProcess::start(&url, &["--kinds", TEST_SLEEP]).await;
    let done = wait_for(&app, id, 30, "finished by the second worker", |j| {
        j.state == JobState::Done
    })
    .await;
    assert_eq!(done.lease_owner.as_deref(), Some(second.name.as_str()));
    assert_eq!(done.attempts, 2, "the killed attempt counts, and one more");
    // The completion and its effect committed once.
    assert_eq!(marks_of(&app, id).await, 1);
    second.signal("-TERM");
    assert!(second.exit(Duration::from_secs(20)).await);
}

#[tokio::test]
async fn sigterm_finishes_short_jobs_and_gives_back_long_ones() {
    let url = fresh_database_url().await;
    let (app, _) = app_on(&url, "http://test").await;
    let worker = WorkerProcess::start(&url, &["--kinds", TEST_SLEEP, "--grace-seconds", "2"]).await;
    let ids = enqueue_now(
        &app,
        vec![
            JobRequest::new(TEST_SLEEP, json!({"ms": 500})),
            JobRequest::new(TEST_SLEEP, json!({"ms": 120_000})),
        ],
    )
    .await;
    for id in &ids {
        wait_for(&app, *id, 20, "claimed", |j| j.state == JobState::Running).await;
    }
    worker.signal("-TERM");
    assert!(worker.exit(Duration::from_secs(15)).await, "a clean exit");
    let short = job(&app, ids[0]).await;
    assert_eq!(short.state, JobState::Done, "finished within the grace");
    let long = job(&app, ids[1]).await;
    assert_eq!(
        (long.state, long.lease_owner.as_deref(), long.attempts),
        (JobState::Queued, None, 0),
        "given back, its attempt not counted"
    );
    assert!(long.run_at <= wall_clock(), "due again at once");
    assert_eq!(marks_of(&app, ids[1]).await, 0);
}

#[tokio::test]
async fn two_workers_share_a_thousand_jobs_and_run_each_once() {
    if backend() != Backend::Postgres {
        return; // Many workers over one queue is the PostgreSQL deployment.
    }
    let url = fresh_database_url().await;
    let (app, _) = app_on(&url, "http://test").await;
    let a = WorkerProcess::start(&url, &["--kinds", NOOP, "--concurrency", "16"]).await;
    let b = WorkerProcess::start(&url, &["--kinds", NOOP, "--concurrency", "16"]).await;
    let ids = enqueue_now(
        &app,
        (0..1_000).map(|_| JobRequest::new(NOOP, json!({}))).collect(),
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while app.store.count_jobs(JobState::Done).await.unwrap() < 1_000 {
        assert!(std::time::Instant::now() < deadline, "not all done in 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut by_worker = std::collections::HashMap::<String, usize>::new();
    for id in ids {
        let j = job(&app, id).await;
        assert_eq!((j.state, j.attempts), (JobState::Done, 1), "claimed once: {j:?}");
        *by_worker.entry(j.lease_owner.unwrap()).or_default() += 1;
    }
    assert_eq!(by_worker.values().sum::<usize>(), 1_000);
    assert!(
        by_worker.get(&a.name).is_some_and(|n| *n > 0) && by_worker.get(&b.name).is_some_and(|n| *n > 0),
        "both workers took part: {by_worker:?}"
    );
}

#[tokio::test]
async fn a_failing_job_backs_off_fails_and_is_retried_by_a_program_admin() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let id = enqueue_on_clock(&t, JobRequest::new(TEST_FAIL, json!({})).attempts(3)).await;

    // Attempt 1 fails at once; the retry waits 10 s less up to a quarter, on the test's clock.
    let j = wait_for(&t.app, id, 20, "first attempt", |j| {
        j.attempts == 1 && j.state == JobState::Queued
    })
    .await;
    assert_eq!(j.last_error.as_deref(), Some("this job always fails"));
    let wait = j.run_at - t.clock.now();
    assert!(
        wait <= TimeDelta::seconds(10) && wait >= TimeDelta::milliseconds(7_500),
        "{wait}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(job(&t.app, id).await.attempts, 1, "not before its time");

    t.clock.advance(TimeDelta::seconds(10));
    let j = wait_for(&t.app, id, 20, "second attempt", |j| {
        j.attempts == 2 && j.state == JobState::Queued
    })
    .await;
    let wait = j.run_at - t.clock.now();
    assert!(
        wait <= TimeDelta::seconds(20) && wait >= TimeDelta::seconds(15),
        "doubled: {wait}"
    );
    t.clock.advance(TimeDelta::seconds(20));
    let failed = wait_for(&t.app, id, 20, "failed", |j| j.state == JobState::Failed).await;
    assert_eq!(
        (failed.attempts, failed.last_error.as_deref()),
        (3, Some("this job always fails"))
    );

    // Program administrators see it and retry it; others may not.
    let list = t.get(&w.program_admin, "/api/v1/jobs?state=failed").await;
    let items = list.ok()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (
            &items[0]["id"],
            &items[0]["kind"],
            &items[0]["attempts"],
            &items[0]["last_error"]
        ),
        (
            &json!(id),
            &json!(TEST_FAIL),
            &json!(3),
            &json!("this job always fails")
        )
    );
    assert!(items[0].get("payload").is_none());
    t.get(&w.dev_admin, "/api/v1/jobs?state=failed")
        .await
        .problem(403, "forbidden");
    t.post(&w.dev_admin, &format!("/api/v1/jobs/{id}/retry"), json!({}))
        .await
        .problem(403, "forbidden");
    t.get(&w.program_admin, "/api/v1/jobs?state=stuck")
        .await
        .problem(422, "invalid-field");
    t.post(
        &w.program_admin,
        &format!("/api/v1/jobs/{}/retry", Uuid::now_v7()),
        json!({}),
    )
    .await
    .problem(404, "not-found");

    let retried = t
        .post(&w.program_admin, &format!("/api/v1/jobs/{id}/retry"), json!({}))
        .await;
    assert_eq!(retried.ok()["attempts"], 0);
    // Queued again: it runs and fails once more, then waits for its backoff.
    let again = wait_for(&t.app, id, 20, "run again", |j| {
        j.attempts == 1 && j.state == JobState::Queued
    })
    .await;
    assert_eq!(again.last_error.as_deref(), Some("this job always fails"));
    t.post(&w.program_admin, &format!("/api/v1/jobs/{id}/retry"), json!({}))
        .await
        .problem(409, "conflict");
    let events = t
        .get(&w.program_admin, &format!("/api/v1/audit?object_id={id}"))
        .await;
    let events = events.ok()["items"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["action"], "job.retry");
    let seen = t
        .get(&w.dev_admin, &format!("/api/v1/audit?object_id={id}"))
        .await;
    assert!(
        seen.ok()["items"].as_array().unwrap().is_empty(),
        "program admins' event"
    );
}

#[tokio::test]
async fn a_job_scheduled_in_the_future_runs_when_the_clock_reaches_it() {
    let t = spawn_app().await;
    let at = t.clock.now() + TimeDelta::hours(1);
    let id = enqueue_on_clock(&t, JobRequest::new(TEST_SLEEP, json!({"ms": 0})).at(at)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(job(&t.app, id).await.state, JobState::Queued);
    t.clock.advance(TimeDelta::minutes(59));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(job(&t.app, id).await.state, JobState::Queued, "a minute early");
    t.clock.advance(TimeDelta::minutes(1));
    wait_for(&t.app, id, 20, "run at its time", |j| j.state == JobState::Done).await;
    assert_eq!(marks_of(&t.app, id).await, 1);
}

#[tokio::test]
async fn housekeeping_runs_as_one_scheduled_job_per_period() {
    let t = spawn_app().await;
    // A second worker over the same database and clock: each period's job is still enqueued once.
    let other = app::jobs::Worker::new(
        t.app.clone(),
        app::App::job_registry(),
        app::jobs::WorkerOptions::new("second"),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let second = tokio::spawn(other.run(async move {
        let _ = stopped.await;
    }));
    let done_of = |kind: &'static str| {
        let app = t.app.clone();
        async move {
            app.store
                .list_jobs(&JobQuery {
                    state: Some(JobState::Done),
                    kind: Some(kind.into()),
                    page: Page::first(100),
                })
                .await
                .unwrap()
                .len()
        }
    };
    for minute in 0..3 {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while done_of("housekeeping.purge").await < minute + 1 {
            assert!(std::time::Instant::now() < deadline, "minute {minute}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(done_of("housekeeping.purge").await, minute + 1, "once per minute");
        t.clock.advance(TimeDelta::minutes(1));
    }
    assert!(done_of("ledger.checkpoint").await >= 3);
    stop.send(()).unwrap();
    second.await.unwrap().unwrap();
}
