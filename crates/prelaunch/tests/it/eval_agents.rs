//! Agent and challenge tasks run on the server: the suite catalogue (`GET /api/v1/eval-suites`, by persona), the
//! example CTF suite run by a scripted agent through the real gateway in a bubblewrap sandbox per sample (solved
//! with a fresh flag each, not solved by an agent that does nothing, metered to the evaluator), a worker without
//! a sandbox leaving the run queued and saying why, a suite changed on disk stopping the run with the reason,
//! and (PostgreSQL) two worker processes, one killed with `kill -9` mid-sample: every sample done exactly once
//! and no sandbox process or directory left once a worker has started again.
//!
//! Skipped, saying so, only when bubblewrap is missing and PRELAUNCH_TEST_REQUIRE_SANDBOX is unset.

use crate::gateway::{MODEL, notice_with_evaluator};
use crate::jobs::WorkerProcess;
use crate::support::*;
use app::evals::SandboxPool;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use sandbox::bwrap::{BwrapConfig, BwrapDriver};
use sandbox::pool::{Pool, RampConfig};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use store::{JobQuery, JobState, Page};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_prelaunch");
/// How many uids each test's sandboxes may use.
const UIDS: u32 = 64;

fn sandbox_ready() -> bool {
    if !sandbox::bwrap::bwrap_installed() && std::env::var_os("PRELAUNCH_TEST_REQUIRE_SANDBOX").is_none() {
        eprintln!("SKIPPED: bubblewrap is not installed (apt-get install bubblewrap)");
        return false;
    }
    true
}

/// A range of uids of the test's own, so it can find exactly its sandboxes' processes.
fn first_uid() -> u32 {
    0x7a00_0000 + (Uuid::new_v4().as_u128() as u32 % (1 << 16)) * UIDS
}

/// The sandboxes of an in-process worker: directories under `base`, uids from `first`.
fn sandbox_pool(base: &Path, first: u32) -> SandboxPool {
    let mut config = BwrapConfig::new(BIN);
    config.base_dir = base.to_path_buf();
    config.first_uid = first;
    config.uid_count = UIDS;
    let driver = BwrapDriver::new(config).unwrap_or_else(|e| panic!("the bubblewrap driver: {e}"));
    SandboxPool {
        pool: Arc::new(Pool::new(Arc::new(driver), RampConfig::default())),
        limits: sandbox::Limits::default(),
        tool_timeout: Duration::from_secs(30),
    }
}

/// The sandboxes' directories under `base` (what is there but the drivers' own directories and locks).
fn sandbox_dirs(base: &Path) -> Vec<PathBuf> {
    let entries = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    };
    entries(base)
        .into_iter()
        .flat_map(|driver| entries(&driver).into_iter().filter(|p| !p.ends_with("lock")))
        .collect()
}

/// The drivers' own directories under `base`.
fn driver_dirs(base: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(base)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

/// Processes running as one of the uids `first .. first + UIDS`.
fn sandbox_processes(first: u32) -> Vec<u32> {
    (first..first + UIDS)
        .flat_map(sandbox::processes_of_uid)
        .collect()
}

/// A copy of the example suites, as `<dir>/suites/examples/…`; returns `<dir>/suites`.
fn suites_copy(dir: &TestDir) -> PathBuf {
    let root = dir.join("suites");
    std::fs::create_dir_all(&root).unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../suites/examples");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&examples)
        .arg(root.join("examples"))
        .status()
        .unwrap();
    assert!(copied.success());
    root
}

/// A scripted agent for the example challenges: it runs the challenge's reference solution with `bash`, then
/// submits what that printed; or, while `gives_up`, submits at once without looking. Each answer comes after
/// `delay`.
struct Agent {
    solutions: Vec<(&'static str, String)>,
    gives_up: AtomicBool,
    calls: AtomicUsize,
    delay: Duration,
}

async fn agent(State(agent): State<Arc<Agent>>, body: axum::Json<Value>) -> Response {
    agent.calls.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(agent.delay).await;
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let prompt = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap_or(""))
        .collect::<String>();
    let ran = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "tool")
        .and_then(|m| m["content"].as_str());
    let call = |name: &str, arguments: Value| {
        json!({"id": "chatcmpl-agent", "object": "chat.completion", "model": "agent",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": format!("call-{}", messages.len()), "type": "function",
             "function": {"name": name, "arguments": arguments.to_string()}}]}, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}})
    };
    let reply = match (agent.gives_up.load(Ordering::SeqCst), ran) {
        (true, _) => call("submit", json!({"answer": "I could not find it"})),
        (false, None) => {
            let script = agent
                .solutions
                .iter()
                .find(|(cue, _)| prompt.contains(cue))
                .map(|(_, s)| s.clone())
                .unwrap_or_default();
            call("bash", json!({"cmd": script}))
        }
        (false, Some(output)) => call("submit", json!({"answer": output.trim()})),
    };
    axum::Json(reply).into_response()
}

/// Starts the scripted agent; returns it and its base URL.
async fn start_agent(suites: &Path, delay: Duration) -> (Arc<Agent>, String) {
    let ctf = suites.join("examples/ctf");
    let solution = |name: &str| std::fs::read_to_string(ctf.join(name).join("solution.sh")).unwrap();
    let agent = Arc::new(Agent {
        solutions: vec![
            ("hidden somewhere", solution("hidden-flag")),
            ("127.0.0.1:8080", solution("admin-service")),
        ],
        gives_up: AtomicBool::new(false),
        calls: AtomicUsize::new(0),
        delay,
    });
    let app = Router::new()
        .route("/v1/chat/completions", post(self::agent))
        .with_state(agent.clone());
    // Not on 127.0.0.1: the gateway keeps its upstream's address from evaluators, rewriting it where a model's
    // answer names it, and the agent's commands name the challenge's service on 127.0.0.1.
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (agent, url)
}

/// A notice with the evaluator assigned and a connection to the agent, named `MODEL`.
async fn notice_to(t: &TestApp, w: &World, agent_url: &str) -> String {
    let notice = notice_with_evaluator(t, w, 10).await;
    t.post(
        &w.dev_admin,
        &format!("/api/v1/notices/{notice}/connections"),
        json!({"api_style": "openai", "base_url": agent_url, "upstream_model": "agent-upstream",
               "credential": "sk-agent-credential", "model": MODEL}),
    )
    .await
    .ok();
    notice
}

/// Polls the run until `done` holds of it, for up to `secs`.
async fn wait_for(
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
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn results(t: &TestApp, who: &Persona, id: Uuid) -> Vec<Value> {
    let page = t
        .get(who, &format!("/api/v1/eval-runs/{id}/results?limit=200"))
        .await
        .ok()
        .clone();
    page["items"].as_array().unwrap().clone()
}

async fn evaluator_calls(t: &TestApp, w: &World, notice: &str) -> i64 {
    let usage = t
        .get(
            &w.agency_admin,
            &format!("/api/v1/notices/{notice}/gateway-usage"),
        )
        .await
        .ok()
        .clone();
    usage["by_evaluator"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["user_id"] == json!(w.evaluator.user_id))
        .map_or(0, |e| e["calls"].as_i64().unwrap())
}

#[tokio::test]
async fn the_catalogue_lists_the_suites_to_evaluation_agencies_only() {
    let dir = TestDir::new("eval-suites");
    let suites = suites_copy(&dir);
    // A suite with a problem is left out, not fatal.
    std::fs::write(suites.join("broken.toml"), "name = \"broken\"\n[scorer\n").unwrap();
    let db = fresh_database_url().await;
    let t = &spawn_configured(&db, |c| c.suites_dir = Some(suites.clone())).await;
    let w = &World::new(t).await;
    // (persona, status)
    let cases: [(&str, &Persona, u16); 12] = [
        ("program admin", &w.program_admin, 403),
        ("coordinator", &w.coordinator, 403),
        ("developer admin", &w.dev_admin, 403),
        ("developer member", &w.dev_member, 403),
        ("other developer", &w.other_dev, 403),
        ("agency admin", &w.agency_admin, 200),
        ("evaluator", &w.evaluator, 200),
        ("second evaluator", &w.evaluator2, 200),
        ("other agency's admin", &w.other_agency_admin, 200),
        ("other agency's evaluator", &w.other_evaluator, 200),
        ("vendor", &w.vendor, 403),
        ("operator", &w.operator, 403),
    ];
    for (case, who, status) in cases {
        let reply = t.get(who, "/api/v1/eval-suites").await;
        assert_eq!(reply.status.as_u16(), status, "{case}: {}", reply.body);
        if status != 200 {
            continue;
        }
        let listed: Vec<(String, String, i64, usize)> = reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_owned(),
                    s["kind"].as_str().unwrap().to_owned(),
                    s["samples"].as_i64().unwrap(),
                    s["tasks"].as_array().unwrap().len(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("examples/code".to_owned(), "model".to_owned(), 4, 1),
                ("examples/ctf".to_owned(), "agent".to_owned(), 2, 1),
                ("examples/knowledge".to_owned(), "model".to_owned(), 6, 1),
            ],
            "{case}: {}",
            reply.body
        );
        let ctf = &reply.body["items"][1];
        assert_eq!(
            ctf["tasks"][0],
            json!({"name": "ctf", "kind": "agent", "samples": 2})
        );
        assert!(ctf["digest"].as_str().unwrap().starts_with("sha256:"), "{ctf}");
    }
    t.get(&w.evaluator, "/api/v1/eval-suites").await.ok();
    let anonymous = t
        .call(reqwest::Method::GET, "/api/v1/eval-suites", None, None)
        .await;
    assert_eq!(anonymous.status.as_u16(), 401);
}

#[tokio::test]
async fn the_example_ctf_suite_runs_on_the_server_in_sandboxes_solved_only_by_a_real_agent() {
    if !sandbox_ready() {
        return;
    }
    let dir = TestDir::new("eval-agents");
    let suites = suites_copy(&dir);
    let base = dir.join("sandboxes");
    let first = first_uid();
    let pool = sandbox_pool(&base, first);
    let db = fresh_database_url().await;
    let t = &spawn_configured(&db, |c| {
        c.suites_dir = Some(suites.clone());
        c.sandbox = Some(pool);
    })
    .await;
    let w = &World::new(t).await;
    let (agent, url) = start_agent(&suites, Duration::ZERO).await;
    let notice = notice_to(t, w, &url).await;

    // (case, the agent gives up, accuracy)
    let cases = [
        ("the reference solutions, run by the agent", false, 1.0),
        ("an agent that does nothing", true, 0.0),
    ];
    let mut calls = 0;
    for (case, gives_up, accuracy) in cases {
        agent.gives_up.store(gives_up, Ordering::SeqCst);
        let before = agent.calls.load(Ordering::SeqCst);
        let started = t
            .post(
                &w.evaluator,
                "/api/v1/eval-runs",
                json!({"notice_id": notice, "model": MODEL, "suite": "examples/ctf", "task": "ctf", "epochs": 2}),
            )
            .await;
        assert_eq!(started.status.as_u16(), 201, "{case}: {}", started.body);
        assert_eq!(started.body["suite"], "examples/ctf", "{case}");
        assert!(
            started.body["suite_digest"]
                .as_str()
                .unwrap()
                .starts_with("sha256:"),
            "{case}: {}",
            started.body
        );
        let id = id_of(&started.body);
        let run = wait_for(t, &w.evaluator, id, 120, case, |r| {
            r["state"] != "queued" && r["state"] != "running"
        })
        .await;
        assert_eq!(run["state"], "completed", "{case}: {run}");
        assert_eq!(
            (&run["done"], &run["errors"]),
            (&json!(4), &json!(0)),
            "{case}: {run}"
        );
        let results = results(t, &w.evaluator, id).await;
        assert_eq!(run["accuracy"]["value"], accuracy, "{case}: {run}\n{results:#?}");
        assert!(run.get("waiting").is_none(), "{case}: {run}");
        // Every sample's epoch had a flag of its own, generated for it.
        let flags: BTreeSet<String> = results
            .iter()
            .map(|r| r["record"]["target"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(flags.len(), 4, "{case}: {flags:?}");
        assert!(flags.iter().all(|f| f.starts_with("flag{")), "{case}: {flags:?}");
        // The agent's calls went through the gateway, metered to the evaluator.
        let made = agent.calls.load(Ordering::SeqCst) - before;
        assert_eq!(made, if gives_up { 4 } else { 8 }, "{case}");
        calls += made as i64;
        assert_eq!(evaluator_calls(t, w, &notice).await, calls, "{case}");
    }
    // Nothing left running or on disk.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(sandbox_dirs(&base).is_empty() && sandbox_processes(first).is_empty()) {
        assert!(
            Instant::now() < deadline,
            "left: {:?}, {:?}",
            sandbox_dirs(&base),
            sandbox_processes(first)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_run_waits_for_a_worker_with_a_sandbox_and_stops_if_its_suite_changed_meanwhile() {
    if !sandbox_ready() {
        return;
    }
    let dir = TestDir::new("eval-agents-wait");
    let suites = suites_copy(&dir);
    let db = fresh_database_url().await;
    // The server and its worker have no sandbox.
    let t = &spawn_configured(&db, |c| c.suites_dir = Some(suites.clone())).await;
    let w = &World::new(t).await;
    let (agent, url) = start_agent(&suites, Duration::ZERO).await;
    let notice = notice_to(t, w, &url).await;
    let start = |limit: u32| {
        t.post(
            &w.evaluator,
            "/api/v1/eval-runs",
            json!({"notice_id": notice, "model": MODEL, "suite": "examples/ctf", "limit": limit}),
        )
    };
    let started = start(1).await;
    assert_eq!(started.status.as_u16(), 201, "{}", started.body);
    let id = id_of(&started.body);
    assert_eq!(started.body["waiting"], "waiting for a worker with a sandbox");
    // A second's worth of the worker's turns: nothing taken, nothing called, the run still says why.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let run = t
        .get(&w.evaluator, &format!("/api/v1/eval-runs/{id}"))
        .await
        .ok()
        .clone();
    assert_eq!(
        (&run["state"], &run["done"], &run["waiting"]),
        (
            &json!("queued"),
            &json!(0),
            &json!("waiting for a worker with a sandbox")
        ),
        "{run}"
    );
    assert_eq!(agent.calls.load(Ordering::SeqCst), 0);
    let jobs = t
        .app
        .store
        .list_jobs(&JobQuery {
            state: None,
            kind: Some(app::evals::EVAL_SANDBOX_BATCH.into()),
            page: Page::first(10),
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].state, jobs[0].attempts),
        (JobState::Queued, 0),
        "{jobs:?}"
    );

    // The challenge's files change before a worker with a sandbox takes the batch: the run stops, saying so.
    let setup = suites.join("examples/ctf/hidden-flag/setup.sh");
    let mut text = std::fs::read_to_string(&setup).unwrap();
    text.push_str("echo changed\n");
    std::fs::write(&setup, text).unwrap();
    let base = dir.join("sandboxes");
    let first = first_uid();
    let (other, _clock) = app_configured(&db.to_string(), &t.base, |c| {
        c.suites_dir = Some(suites.clone());
        c.sandbox = Some(sandbox_pool(&base, first));
    })
    .await;
    let mut options = app::jobs::WorkerOptions::new(format!("sandboxed-{}", Uuid::new_v4()));
    options.poll = Duration::from_millis(50);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(
        app::jobs::Worker::new(other, app::App::job_registry(), options).run(async move {
            let mut stopped = stopped;
            let _ = stopped.wait_for(|s| *s).await;
        }),
    );
    let run = wait_for(t, &w.evaluator, id, 30, "stopped", |r| r["state"] == "stopped").await;
    let reason = run["reason"].as_str().unwrap();
    assert!(
        reason.contains("the suite examples/ctf changed since the run started")
            && reason.contains(started.body["suite_digest"].as_str().unwrap()),
        "{run}"
    );
    assert_eq!(run["done"], 0, "{run}");
    assert!(run.get("waiting").is_none(), "{run}");
    assert_eq!(agent.calls.load(Ordering::SeqCst), 0, "no half-run samples");
    let events = t.audit_after(0).await;
    let actions: Vec<&str> = events
        .iter()
        .filter(|e| e.object_id == Some(id))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(actions, ["eval_run.start", "eval_run.stop"]);
    stop.send(true).unwrap();
    worker.await.unwrap().unwrap();
    assert!(sandbox_dirs(&base).is_empty());
}

#[tokio::test]
async fn two_sandboxed_workers_share_an_agent_run_and_one_killed_mid_sample_leaves_nothing_behind() {
    if backend() != Backend::Postgres || !sandbox_ready() {
        return;
    }
    let dir = TestDir::new("eval-agents-kill");
    let suites = suites_copy(&dir);
    // The server's own worker has no sandbox: only the worker processes run the batches.
    let t = &spawn_configured(&fresh_database_url().await, |c| {
        c.suites_dir = Some(suites.clone())
    })
    .await;
    t.clock.set(wall_clock() - chrono::Duration::seconds(30));
    let w = &World::new(t).await;
    // Each answer takes a while, so that the kill lands while samples are in their sandboxes.
    let (agent, url) = start_agent(&suites, Duration::from_millis(400)).await;
    let notice = notice_to(t, w, &url).await;
    let key_file = t.database_url.dir().join("worker-master.key");
    std::fs::write(&key_file, t.master_key.to_text()).unwrap();
    let base = dir.join("sandboxes");
    let first = first_uid();
    let args = [
        "--kinds".to_owned(),
        app::evals::EVAL_SANDBOX_BATCH.to_owned(),
        "--concurrency".into(),
        "1".into(),
        "--allow-private-upstreams".into(),
        "--master-key-file".into(),
        key_file.display().to_string(),
        "--suites-dir".into(),
        suites.display().to_string(),
        "--sandbox-dir".into(),
        base.display().to_string(),
        "--sandbox-first-uid".into(),
        first.to_string(),
        "--sandbox-uid-count".into(),
        UIDS.to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let url = t.database_url.to_string();
    let first_worker = WorkerProcess::start(&url, &args).await;
    let first_dir = driver_dirs(&base);
    assert_eq!(first_dir.len(), 1, "{first_dir:?}");
    let second_worker = WorkerProcess::start(&url, &args).await;

    // Two batches of eight: two challenges, eight epochs each.
    let started = t
        .post(
            &w.evaluator,
            "/api/v1/eval-runs",
            json!({"notice_id": notice, "model": MODEL, "suite": "examples/ctf", "epochs": 8}),
        )
        .await;
    assert_eq!(started.status.as_u16(), 201, "{}", started.body);
    let id = id_of(&started.body);
    assert_eq!(started.body["total"], 16);
    // Kill the first worker while its samples are in their sandboxes.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let first_sandboxes = first_dir
            .iter()
            .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
            .filter(|p| !p.ends_with("lock"))
            .count();
        if first_sandboxes > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the first worker started no sandbox");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    first_worker.signal("-KILL");
    assert!(!first_worker.exit(Duration::from_secs(10)).await);
    // Its sandboxes' processes die with it (bubblewrap's --die-with-parent); their directories stay until a
    // worker starts again.
    let killed_dir = first_dir.iter().next().unwrap().clone();
    assert!(killed_dir.exists());

    let run = wait_for(t, &w.evaluator, id, 180, "completed by the second worker", |r| {
        r["state"] == "completed"
    })
    .await;
    assert_eq!(
        (&run["done"], &run["total"], &run["errors"]),
        (&json!(16), &json!(16), &json!(0)),
        "{run}"
    );
    assert_eq!(run["accuracy"]["value"], 1.0, "{run}");
    let results = results(t, &w.evaluator, id).await;
    crate::eval_runs::assert_each_item_once(&results, 16, "every sample done exactly once");
    crate::eval_runs::assert_one_batch_redone(t, app::evals::EVAL_SANDBOX_BATCH, 2, "a batch was redone")
        .await;

    // A worker starting again removes what the killed one left.
    let third_worker = WorkerProcess::start(&url, &args).await;
    assert!(!killed_dir.exists(), "the killed worker's sandboxes were swept");
    second_worker.signal("-TERM");
    assert!(second_worker.exit(Duration::from_secs(30)).await);
    third_worker.signal("-TERM");
    assert!(third_worker.exit(Duration::from_secs(30)).await);
    assert_eq!(sandbox_dirs(&base), Vec::<PathBuf>::new());
    assert_eq!(sandbox_processes(first), Vec::<u32>::new());
    drop(agent);
}
