//! Evaluation runs on the server (`/api/v1/eval-runs`) through the real gateway against the scripted upstream:
//! metered to the run's evaluator and summarised; stopped when the evaluator is unassigned; cancelled; shared by
//! two `prelaunch worker` processes, one killed with `kill -9`, every item recorded once (PostgreSQL); and bad
//! input refused naming its field, nothing stored.

use crate::gateway::{MODEL, connection_body, gateway_with, notice_with_evaluator};
use crate::jobs::WorkerProcess;
use crate::support::*;
use crate::upstream::*;
use app::Clock;
use app::jobs::JobRequest;
use app::jobs::kinds::TEST_SLEEP;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use store::{JobQuery, JobState, Page};
use uuid::Uuid;

/// One generation, scored by whether the answer includes the target. The scripted upstream answers
/// `echo: <input>`, so a sample whose target is its input is correct and one with another target is not.
pub(crate) const TASK: &str =
    "name = \"echo\"\ndataset = \"inline.jsonl\"\n\n[scorer]\ntype = \"includes\"\n";

/// `samples` samples, the first `correct` of them answered correctly.
pub(crate) fn dataset(samples: usize, correct: usize) -> String {
    (0..samples)
        .map(|i| {
            let target = if i < correct {
                format!("word{i}")
            } else {
                format!("other{i}")
            };
            format!(
                "{}\n",
                json!({"id": format!("s{i}"), "input": format!("word{i}"), "target": target})
            )
        })
        .collect()
}

pub(crate) fn run_body(notice: &str, samples: usize, correct: usize, epochs: u32) -> Value {
    json!({"notice_id": notice, "model": MODEL, "task": TASK, "dataset": dataset(samples, correct), "epochs": epochs})
}

/// Polls the run (as `who`) until `done` holds of it, for up to `secs`.
pub(crate) async fn wait_for_run(
    t: &TestApp,
    who: &Persona,
    id: Uuid,
    secs: u64,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let run = t.get(who, &format!("/api/v1/eval-runs/{id}")).await.ok().clone();
        if done(&run) {
            return run;
        }
        assert!(Instant::now() < deadline, "{what}: {run}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Every result of the run, page by page (`limit` per page).
pub(crate) async fn all_results(t: &TestApp, who: &Persona, id: Uuid, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/eval-runs/{id}/results?limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = t.get(who, &path).await.ok().clone();
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

fn actions_about(events: &[store::AuditEvent], id: Uuid) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.object_id == Some(id))
        .map(|e| e.action.clone())
        .collect()
}

#[tokio::test]
async fn a_run_through_the_gateway_is_metered_to_its_evaluator_and_summarised() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    let started = t
        .post(&w.evaluator, "/api/v1/eval-runs", run_body(&g.notice, 6, 4, 2))
        .await;
    assert_eq!(started.status.as_u16(), 201, "{}", started.body);
    let id = id_of(&started.body);
    assert_eq!(started.body["total"], 12);
    let run = wait_for_run(t, &w.evaluator, id, 60, "completed", |r| {
        r["state"] == "completed"
    })
    .await;
    assert_eq!((&run["done"], &run["errors"]), (&json!(12), &json!(0)), "{run}");
    let accuracy = run["accuracy"]["value"].as_f64().unwrap();
    assert!((accuracy - 8.0 / 12.0).abs() < 1e-9, "{run}");
    let (low, high) = (
        run["accuracy"]["low"].as_f64().unwrap(),
        run["accuracy"]["high"].as_f64().unwrap(),
    );
    assert!(low < accuracy && accuracy < high, "{run}");
    // The results, as the task's metrics state them: six samples, each reduced over its two epochs.
    assert_eq!(run["results"]["samples"], 6, "{run}");
    assert_eq!(run["results"]["completed"], 12, "{run}");
    let headline = &run["results"]["reducers"][0]["summary"];
    assert_eq!(headline["n"], 6, "{run}");
    assert!(
        (headline["accuracy"].as_f64().unwrap() - 4.0 / 6.0).abs() < 1e-9,
        "{run}"
    );

    // Every item once, in order, with its transcript and score; pages of five.
    let results = all_results(t, &w.evaluator, id, 5).await;
    let items: Vec<(i64, i64)> = results
        .iter()
        .map(|r| (r["sample_index"].as_i64().unwrap(), r["epoch"].as_i64().unwrap()))
        .collect();
    let expected: Vec<(i64, i64)> = (0..6).flat_map(|i| [(i, 1), (i, 2)]).collect();
    assert_eq!(items, expected);
    for r in &results {
        let index = r["sample_index"].as_i64().unwrap();
        let value = if index < 4 { 1.0 } else { 0.0 };
        assert_eq!(r["value"].as_f64(), Some(value), "{r}");
        assert_eq!(
            r["record"]["attempt"]["answer"],
            format!("echo: word{index}"),
            "{r}"
        );
        assert!(
            r["record"]["attempt"]["messages"].as_array().unwrap().len() >= 2,
            "{r}"
        );
    }

    // The calls went through the gateway, metered to the evaluator; the developer sees them in aggregate.
    let usage = t
        .get(
            &w.agency_admin,
            &format!("/api/v1/notices/{}/gateway-usage", g.notice),
        )
        .await
        .ok()
        .clone();
    let mine = usage["by_evaluator"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["user_id"] == json!(w.evaluator.user_id))
        .cloned()
        .unwrap_or_else(|| panic!("no usage of the evaluator: {usage}"));
    // Twelve calls answered: the engine retries a call the gateway throttled or that failed transiently (a
    // loaded machine can make one wait past its slot lease), and such a call is metered too, as an error.
    let answered = |totals: &Value| totals["calls"].as_i64().unwrap() - totals["errors"].as_i64().unwrap();
    assert_eq!(answered(&mine), 12, "{usage}");
    let seen = i64::try_from(g.up.seen().len()).unwrap();
    assert!(
        (12..=mine["calls"].as_i64().unwrap()).contains(&seen),
        "{seen} upstream: {usage}"
    );
    let developer = t
        .get(
            &w.dev_admin,
            &format!("/api/v1/notices/{}/gateway-usage", g.notice),
        )
        .await;
    let totals = developer.ok()["totals"].clone();
    assert_eq!(answered(&totals), 12, "{totals}");
    assert_eq!(totals["calls"], mine["calls"], "{totals}");

    // Seen as the evaluator's findings are: their agency and the developer, no one else.
    t.get(&w.dev_member, &format!("/api/v1/eval-runs/{id}"))
        .await
        .ok();
    t.get(&w.evaluator2, &format!("/api/v1/eval-runs/{id}"))
        .await
        .ok();
    t.get(&w.other_evaluator, &format!("/api/v1/eval-runs/{id}"))
        .await
        .problem(404, "not-found");
    let listed = t
        .get(&w.dev_admin, &format!("/api/v1/eval-runs?notice_id={}", g.notice))
        .await;
    assert_eq!(listed.ok()["items"][0]["id"], json!(id));

    let events = t.audit_after(0).await;
    assert_eq!(
        actions_about(&events, id),
        ["eval_run.start", "eval_run.complete"]
    );
    // Cancelling a completed run is a conflict.
    t.post(&w.evaluator, &format!("/api/v1/eval-runs/{id}/cancel"), json!({}))
        .await
        .problem(409, "conflict");
}

#[tokio::test]
async fn unassigning_the_evaluator_mid_run_stops_the_run_with_the_reason() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    g.up.script(std::iter::repeat_n(
        Behavior::Slow(Duration::from_millis(150)),
        400,
    ));
    let id = id_of(
        t.post(&w.evaluator, "/api/v1/eval-runs", run_body(&g.notice, 40, 40, 2))
            .await
            .ok(),
    );
    wait_for_run(t, &w.evaluator, id, 60, "some items done", |r| {
        r["done"].as_i64().unwrap() >= 1
    })
    .await;
    t.delete(
        &w.agency_admin,
        &format!("/api/v1/notices/{}/assignments/{}", g.notice, w.evaluator.user_id),
    )
    .await
    .ok();
    let run = wait_for_run(t, &w.agency_admin, id, 30, "stopped", |r| r["state"] == "stopped").await;
    let reason = run["reason"].as_str().unwrap();
    assert!(
        reason.contains("access to the model ended") && reason.contains("not_assigned"),
        "{run}"
    );
    assert!(run["done"].as_i64().unwrap() < 80, "{run}");
    assert!(run["ended_at"].is_string(), "{run}");
    let events = t.audit_after(0).await;
    assert_eq!(actions_about(&events, id), ["eval_run.start", "eval_run.stop"]);
}

#[tokio::test]
async fn a_cancelled_run_stops_and_records_nothing_more() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    g.up.script(std::iter::repeat_n(
        Behavior::Slow(Duration::from_millis(150)),
        400,
    ));
    let id = id_of(
        t.post(&w.evaluator, "/api/v1/eval-runs", run_body(&g.notice, 40, 40, 2))
            .await
            .ok(),
    );
    wait_for_run(t, &w.evaluator, id, 60, "some items done", |r| {
        r["done"].as_i64().unwrap() >= 1
    })
    .await;
    // Another evaluator of the agency may see the run but not cancel it; their admin may.
    t.post(
        &w.evaluator2,
        &format!("/api/v1/eval-runs/{id}/cancel"),
        json!({}),
    )
    .await
    .problem(403, "forbidden");
    let cancelled = t
        .post(
            &w.agency_admin,
            &format!("/api/v1/eval-runs/{id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(cancelled.ok()["state"], "cancelled");
    // Batches running stop at their next item (they look every half second); none starts anew.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let settled = t.get(&w.evaluator, &format!("/api/v1/eval-runs/{id}")).await.ok()["done"].clone();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let run = t
        .get(&w.evaluator, &format!("/api/v1/eval-runs/{id}"))
        .await
        .ok()
        .clone();
    assert_eq!(
        run["done"], settled,
        "nothing recorded after the run stopped: {run}"
    );
    assert!(run["done"].as_i64().unwrap() < 80, "{run}");
    assert_eq!(run["state"], "cancelled");
    let calls = g.up.seen().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(g.up.seen().len(), calls, "no calls after the run stopped");
    let events = t.audit_after(0).await;
    assert_eq!(actions_about(&events, id), ["eval_run.start", "eval_run.cancel"]);
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_problem_and_nothing_is_stored() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    let notice = g.notice.clone();
    let with = |changes: Value| {
        let mut body = run_body(&notice, 3, 3, 1);
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    // CSV, whose text JSON does not inflate: over the dataset's limit, within the request body's.
    let oversized = format!("input,target\n{}", "xx,xx\n".repeat(200 * 1024 / 6));
    let agent =
        "name = \"a\"\ndataset = \"d.jsonl\"\n[solver]\ntype = \"agent\"\n[scorer]\ntype = \"flag\"\n";
    // (case, who, body, status, field, words the detail must hold)
    let cases: Vec<(&str, &Persona, Value, u16, &str, &str)> = vec![
        (
            "malformed TOML",
            &w.evaluator,
            with(json!({"task": "name = \"x\"\ndataset = \"d.jsonl\"\n[scorer\n"})),
            422,
            "task",
            "line 3",
        ),
        (
            "an unknown key",
            &w.evaluator,
            with(json!({"task": "name = \"x\"\ndataset = \"d.jsonl\"\ncolour = 1\n"})),
            422,
            "task",
            "line 3",
        ),
        (
            "no task",
            &w.evaluator,
            with(json!({"task": null})),
            422,
            "task",
            "required",
        ),
        (
            "no dataset",
            &w.evaluator,
            with(json!({"dataset": null})),
            422,
            "dataset",
            "required",
        ),
        (
            "a dataset line that is not JSON",
            &w.evaluator,
            with(json!({"dataset": "{\"input\": \"a\", \"target\": \"a\"}\n{\"input\": \n"})),
            422,
            "dataset",
            "line 2",
        ),
        (
            "a CSV without input",
            &w.evaluator,
            with(json!({"dataset": "question,target\nq,a\n", "dataset_format": "csv"})),
            422,
            "dataset",
            "input",
        ),
        (
            "an empty dataset",
            &w.evaluator,
            with(json!({"dataset": "\n"})),
            422,
            "dataset",
            "",
        ),
        (
            "an oversized dataset",
            &w.evaluator,
            with(json!({"dataset": oversized, "dataset_format": "csv"})),
            422,
            "dataset",
            "limit",
        ),
        (
            "an unknown model",
            &w.evaluator,
            with(json!({"model": "nonexistent-9"})),
            422,
            "model",
            "nonexistent-9",
        ),
        (
            "an unknown suite",
            &w.evaluator,
            with(json!({"task": null, "dataset": null, "suite": "nope"})),
            422,
            "suite",
            "knowledge",
        ),
        (
            "an agent task",
            &w.evaluator,
            with(json!({"task": agent})),
            422,
            "task",
            "sandbox",
        ),
        (
            "too many epochs",
            &w.evaluator,
            with(json!({"epochs": 101})),
            422,
            "epochs",
            "100",
        ),
        (
            "an evaluator not assigned",
            &w.evaluator2,
            with(json!({})),
            403,
            "",
            "assigned",
        ),
        (
            "a notice not shared with the agency",
            &w.other_evaluator,
            with(json!({})),
            404,
            "",
            "",
        ),
        (
            "the developer",
            &w.dev_admin,
            with(json!({})),
            403,
            "",
            "assigned",
        ),
    ];
    for (case, who, body, status, field, words) in cases {
        let reply = t.post(who, "/api/v1/eval-runs", body).await;
        assert_eq!(reply.status.as_u16(), status, "{case}: {}", reply.body);
        if !field.is_empty() {
            assert_eq!(reply.body["field"], field, "{case}: {}", reply.body);
        }
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(words), "{case}: {}", reply.body);
    }
    // Nothing stored: no run, no job, no gateway token beyond the evaluator's own.
    let runs = t
        .get(&w.agency_admin, &format!("/api/v1/eval-runs?notice_id={notice}"))
        .await;
    assert_eq!(runs.ok()["items"], json!([]));
    let tokens = t
        .get(
            &w.agency_admin,
            &format!("/api/v1/notices/{notice}/gateway-tokens"),
        )
        .await;
    assert_eq!(
        tokens.ok()["items"].as_array().unwrap().len(),
        1,
        "{}",
        tokens.body
    );
    let jobs = t
        .app
        .store
        .list_jobs(&JobQuery {
            state: None,
            kind: Some(app::evals::EVAL_BATCH.into()),
            page: Page::first(10),
        })
        .await
        .unwrap();
    assert!(jobs.is_empty());
    // A suite shipped with the binary runs as it is.
    let suite = t
        .post(
            &w.evaluator,
            "/api/v1/eval-runs",
            json!({"notice_id": notice, "model": MODEL, "suite": "knowledge", "limit": 2}),
        )
        .await;
    assert_eq!(suite.status.as_u16(), 201, "{}", suite.body);
    assert_eq!(suite.body["name"], "knowledge");
    assert_eq!(suite.body["total"], 2);
}

#[tokio::test]
async fn two_worker_processes_share_a_run_and_one_killed_loses_and_doubles_nothing() {
    if backend() != Backend::Postgres {
        return;
    }
    // The worker processes run on the system clock: the server's clock is set just behind it before anything
    // is made, so that the run's batches are due for them and the notice's window is open at their time too.
    let t = &spawn_app().await;
    t.clock.set(wall_clock() - chrono::Duration::seconds(30));
    let w = &World::new(t).await;
    let up = Upstream::start().await;
    let notice = notice_with_evaluator(t, w, 10).await;
    t.post(
        &w.dev_admin,
        &format!("/api/v1/notices/{notice}/connections"),
        connection_body(&up, json!({"model": MODEL})),
    )
    .await
    .ok();
    // The server's own worker is kept busy (all its slots asleep), so only the two processes run the batches.
    let sleepers: Vec<_> = (0..8)
        .map(|_| {
            JobRequest::new(TEST_SLEEP, json!({"ms": 600_000}))
                .priority(-10)
                .into_new_job(t.clock.now())
        })
        .collect();
    t.app.store.enqueue_jobs(&sleepers).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let running = t
            .app
            .store
            .list_jobs(&JobQuery {
                state: Some(JobState::Running),
                kind: Some(TEST_SLEEP.into()),
                page: Page::first(20),
            })
            .await
            .unwrap();
        if running.len() == 8 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server's worker did not fill its slots"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let key_file = t.database_url.dir().join("worker-master.key");
    std::fs::write(&key_file, t.master_key.to_text()).unwrap();
    let key_arg = key_file.display().to_string();
    let extra = [
        "--kinds",
        app::evals::EVAL_BATCH,
        "--concurrency",
        "1",
        "--allow-private-upstreams",
        "--master-key-file",
        key_arg.as_str(),
    ];
    let url = t.database_url.to_string();
    let first = WorkerProcess::start(&url, &extra).await;
    let second = WorkerProcess::start(&url, &extra).await;

    up.script(std::iter::repeat_n(
        Behavior::Slow(Duration::from_millis(300)),
        1000,
    ));
    let id = id_of(
        t.post(&w.evaluator, "/api/v1/eval-runs", run_body(&notice, 24, 12, 2))
            .await
            .ok(),
    );
    wait_for_run(t, &w.evaluator, id, 60, "a first batch recorded", |r| {
        r["done"].as_i64().unwrap() >= 8
    })
    .await;
    let so_far = all_results(t, &w.evaluator, id, 200).await;
    assert!(
        so_far.iter().all(|r| r["error"].is_null()),
        "{:?}",
        so_far.first()
    );
    first.signal("-KILL");
    assert!(!first.exit(Duration::from_secs(10)).await);
    let run = wait_for_run(t, &w.evaluator, id, 90, "completed by the second worker", |r| {
        r["state"] == "completed"
    })
    .await;
    assert_eq!(
        (&run["done"], &run["total"], &run["errors"]),
        (&json!(48), &json!(48), &json!(0)),
        "{run}"
    );
    let accuracy = run["accuracy"]["value"].as_f64().unwrap();
    assert!((accuracy - 0.5).abs() < 1e-9, "{run}");
    let results = all_results(t, &w.evaluator, id, 200).await;
    assert_each_item_once(&results, 48, "every item recorded exactly once");
    // Both workers ran batches of it: the killed one's lease lapsed and the other took its batch over.
    assert_one_batch_redone(t, app::evals::EVAL_BATCH, 6, "a batch was redone after the kill").await;
    second.signal("-TERM");
    assert!(second.exit(Duration::from_secs(30)).await);
    // Its one log, exported through the binary, holds every sample both workers recorded.
    crate::eval_io::exported_whole(t, &w.evaluator, &run, &results).await;
}

/// Asserts that `results` are `n` items, each (sample, epoch) once.
pub(crate) fn assert_each_item_once(results: &[Value], n: usize, what: &str) {
    let items: BTreeSet<(i64, i64)> = results
        .iter()
        .map(|r| (r["sample_index"].as_i64().unwrap(), r["epoch"].as_i64().unwrap()))
        .collect();
    assert_eq!((results.len(), items.len()), (n, n), "{what}");
}

/// Asserts that the run's `n` batch jobs of `kind` are done, one of them after a second attempt. A worker marks
/// its batch done just after the batch's last result, which may be the one that completed the run: the jobs
/// are given 30 seconds to get there.
pub(crate) async fn assert_one_batch_redone(t: &TestApp, kind: &str, n: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let batches = loop {
        let batches = t
            .app
            .store
            .list_jobs(&JobQuery {
                state: None,
                kind: Some(kind.into()),
                page: Page::first(20),
            })
            .await
            .unwrap();
        if batches.iter().all(|j| j.state == JobState::Done) || Instant::now() > deadline {
            break batches;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(batches.len(), n);
    assert!(batches.iter().all(|j| j.state == JobState::Done), "{batches:?}");
    assert!(batches.iter().any(|j| j.attempts >= 2), "{what}: {batches:?}");
}
