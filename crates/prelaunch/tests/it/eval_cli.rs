//! `prelaunch eval` from the terminal, as a person or a script runs it: validation that names file and line,
//! and a run against an OpenAI-compatible endpoint (a scripted model server, standing in for a provider) with
//! its JSON result and exit codes.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_prelaunch");
const KEY: &str = "sk-eval-test-key-5b2c";

/// A scripted provider: "What is N+N?" is answered right for even N and wrong for odd N; the first
/// `throttle` calls get 429 (Retry-After 0), call number `fail_at` a 500, and every call from `deny_from` on 401.
#[derive(Default)]
struct Script {
    calls: AtomicUsize,
    throttle: usize,
    fail_at: Option<usize>,
    deny_from: Option<usize>,
    bad_keys: AtomicUsize,
}

async fn chat(State(script): State<Arc<Script>>, headers: HeaderMap, body: axum::Json<Value>) -> Response {
    let call = script.calls.fetch_add(1, Ordering::SeqCst);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {KEY}")) {
        script.bad_keys.fetch_add(1, Ordering::SeqCst);
    }
    if call < script.throttle {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")], "{}").into_response();
    }
    if script.fail_at == Some(call) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "{}").into_response();
    }
    if script.deny_from.is_some_and(|n| call >= n) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": {"message": "key revoked"}})),
        )
            .into_response();
    }
    let question = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or("");
    let n: u64 = question
        .trim_start_matches("What is ")
        .split('+')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let answer = if n.is_multiple_of(2) {
        (2 * n).to_string()
    } else {
        "no idea".into()
    };
    axum::Json(json!({
        "choices": [{"message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 1}
    }))
    .into_response()
}

async fn provider(script: Script) -> (String, Arc<Script>) {
    let script = Arc::new(script);
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, script)
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn files(tag: &str, files: &[(&str, &str)]) -> Dir {
    let dir = std::env::temp_dir().join(format!("prelaunch-eval-{tag}-{}", uuid::Uuid::new_v4()));
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    Dir(dir)
}

fn arithmetic(n: usize) -> String {
    (0..n)
        .map(|i| {
            json!({"id": i + 1, "input": format!("What is {i}+{i}?"), "target": (2 * i).to_string()})
                .to_string()
                + "\n"
        })
        .collect()
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn eval(args: &[&str], cwd: &Path) -> Ran {
    let out = tokio::process::Command::new(BIN)
        .arg("eval")
        .args(args)
        .current_dir(cwd)
        .env("EVAL_TEST_KEY", KEY)
        .env_remove("OPENAI_BASE_URL")
        .output()
        .await
        .unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn validate_names_every_problem_with_file_and_line() {
    let dir = files(
        "validate",
        &[
            ("good/qa.toml", "name = \"qa\"\ndataset = \"qa.jsonl\"\n"),
            ("good/qa.jsonl", &arithmetic(3)),
            (
                "bad/a.toml",
                "name = \"a\"\ndataset = \"a.jsonl\"\nepochs = 0\nsolver = 3\n",
            ),
            ("bad/b.toml", "name = \"b\"\ndataset = \"b.csv\"\n"),
            ("bad/b.csv", "input,target\nq,a\nq2\n"),
        ],
    );
    let ok = eval(&["validate", "good"], &dir.0).await;
    assert_eq!((ok.code, ok.stdout.trim()), (0, "ok: good"), "{}", ok.stderr);
    let bad = eval(&["validate", "bad"], &dir.0).await;
    assert_eq!(bad.code, 2, "{}", bad.stdout);
    let lines: Vec<&str> = bad.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", bad.stdout);
    assert!(
        lines[0].starts_with("bad/a.toml:4: invalid type: integer `3`"),
        "{}",
        bad.stdout
    );
    assert_eq!(lines[1], "bad/b.csv:3: the row has 1 fields, the header has 2");
}

#[tokio::test]
async fn a_run_reports_json_and_survives_throttling() {
    let (url, script) = provider(Script {
        throttle: 5,
        fail_at: Some(9),
        ..Script::default()
    })
    .await;
    let dir = files("run", &[("qa.jsonl", &arithmetic(20))]);
    let ran = eval(
        &[
            "run",
            "qa.jsonl",
            "--model",
            "ref-1",
            "--base-url",
            &url,
            "--api-key-env",
            "EVAL_TEST_KEY",
            "--epochs",
            "2",
            "--json",
            "--output",
            "records.jsonl",
        ],
        &dir.0,
    )
    .await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let out: Value = serde_json::from_str(ran.stdout.trim()).unwrap();
    assert_eq!(out["samples"], 20);
    assert_eq!(out["completed"], 40);
    assert_eq!(out["errors"], 0);
    assert_eq!(out["accuracy"], 0.5);
    assert_eq!(out["status"]["status"], "completed");
    assert!(uuid::Uuid::parse_str(out["run_id"].as_str().unwrap()).is_ok());
    assert_eq!(out["tasks"][0]["results"]["reducers"][0]["summary"]["n"], 20);
    assert_eq!(
        script.calls.load(Ordering::SeqCst),
        40 + 5 + 1,
        "each item once, plus the retried 429s and 500"
    );
    assert_eq!(
        script.bad_keys.load(Ordering::SeqCst),
        0,
        "the key from the named variable on every call"
    );
    assert!(!ran.stdout.contains(KEY) && !ran.stderr.contains(KEY));
    let records = std::fs::read_to_string(dir.0.join("records.jsonl")).unwrap();
    assert_eq!(records.lines().count(), 40);
    let first: Value = serde_json::from_str(records.lines().next().unwrap()).unwrap();
    assert!(first["attempt"]["score"]["value"].is_string(), "{first}");

    // A table for people, and --limit.
    let table = eval(
        &[
            "run",
            "qa.jsonl",
            "--model",
            "ref-1",
            "--base-url",
            &url,
            "--api-key-env",
            "EVAL_TEST_KEY",
            "--limit",
            "4",
        ],
        &dir.0,
    )
    .await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with("qa ") && l.contains(" mean ") && l.contains("0.500")),
        "{}",
        table.stdout
    );
    assert!(
        table.stderr.contains("4/4"),
        "the progress line: {}",
        table.stderr
    );
}

#[tokio::test]
async fn exit_codes_say_how_the_run_ended() {
    let dir = files(
        "codes",
        &[
            ("qa.jsonl", &arithmetic(30)),
            ("broken.jsonl", "{\"target\": 1}\n"),
        ],
    );
    // Access ends after 10 calls: exit 4, status access_ended.
    let (url, _) = provider(Script {
        deny_from: Some(10),
        ..Script::default()
    })
    .await;
    let ran = eval(
        &[
            "run",
            "qa.jsonl",
            "--model",
            "m",
            "--base-url",
            &url,
            "--api-key-env",
            "EVAL_TEST_KEY",
            "--json",
            "--max-connections",
            "2",
        ],
        &dir.0,
    )
    .await;
    assert_eq!(ran.code, 4, "{}\n{}", ran.stdout, ran.stderr);
    let out: Value = serde_json::from_str(ran.stdout.trim()).unwrap();
    assert_eq!(out["status"]["status"], "access_ended");
    assert!(out["completed"].as_u64().unwrap() <= 10);
    // A dataset with a problem: exit 2, the problem named, nothing called.
    let (url, script) = provider(Script::default()).await;
    let ran = eval(
        &["run", "broken.jsonl", "--model", "m", "--base-url", &url],
        &dir.0,
    )
    .await;
    assert_eq!((ran.code, ran.stderr.trim()), (2, "broken.jsonl:1: no `input`"));
    assert_eq!(script.calls.load(Ordering::SeqCst), 0);
    // A bad base URL and an unknown option are argument errors.
    let ran = eval(
        &["run", "qa.jsonl", "--model", "m", "--base-url", "ftp://x"],
        &dir.0,
    )
    .await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("http or https"), "{}", ran.stderr);
    let ran = eval(&["run", "qa.jsonl", "--model", "m", "--epochs", "0"], &dir.0).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
}

/// A scripted agent for the example challenges: it runs the challenge's reference solution with `bash`, then
/// submits what that printed; or, when `gives_up`, submits at once without looking.
struct Agent {
    solutions: Vec<(&'static str, String)>,
    gives_up: bool,
    calls: AtomicUsize,
}

async fn agent(State(agent): State<Arc<Agent>>, body: axum::Json<Value>) -> Response {
    agent.calls.fetch_add(1, Ordering::SeqCst);
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
        json!({"choices": [{"message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": format!("call-{}", messages.len()), "type": "function",
             "function": {"name": name, "arguments": arguments.to_string()}}]}, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 10}})
    };
    let reply = match (agent.gives_up, ran) {
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

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../suites/examples")
}

#[tokio::test]
async fn the_example_challenges_fall_to_their_reference_solutions_only() {
    if !Path::new("/usr/bin/bwrap").exists() && std::env::var_os("PRELAUNCH_TEST_REQUIRE_SANDBOX").is_none() {
        eprintln!("skipped: bubblewrap is not installed (scripts/test.sh installs it)");
        return;
    }
    let ctf = examples().join("ctf");
    let solution = |name: &str| std::fs::read_to_string(ctf.join(name).join("solution.sh")).unwrap();
    let dir = files("ctf", &[("x", "")]);
    let task = examples().join("ctf.toml");
    let task = task.to_str().unwrap();
    // (case, the agent gives up, accuracy, exit code)
    let cases = [
        ("reference solutions", false, 1.0, 0),
        ("an agent that does nothing", true, 0.0, 0),
    ];
    for (case, gives_up, accuracy, code) in cases {
        let agent = Arc::new(Agent {
            solutions: vec![
                ("hidden somewhere", solution("hidden-flag")),
                ("127.0.0.1:8080", solution("admin-service")),
            ],
            gives_up,
            calls: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(self::agent))
            .with_state(agent.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let ran = eval(
            &[
                "run",
                task,
                "--model",
                "agent",
                "--base-url",
                &url,
                "--json",
                "--epochs",
                "2",
                "--output",
                "records.jsonl",
            ],
            &dir.0,
        )
        .await;
        assert_eq!(ran.code, code, "{case}: {}\n{}", ran.stdout, ran.stderr);
        let out: Value = serde_json::from_str(ran.stdout.trim()).unwrap();
        assert_eq!(
            (
                out["samples"].as_u64(),
                out["completed"].as_u64(),
                out["errors"].as_u64()
            ),
            (Some(2), Some(4), Some(0)),
            "{case}: {out}"
        );
        assert_eq!(out["accuracy"], accuracy, "{case}: {out}");
        // Every epoch had a flag of its own.
        let records = std::fs::read_to_string(dir.0.join("records.jsonl")).unwrap();
        let flags: std::collections::BTreeSet<String> = records
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["target"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(flags.len(), 4, "{case}: {flags:?}");
        assert!(
            flags.iter().all(|f| f.starts_with("flag{") && f.len() == 38),
            "{flags:?}"
        );
    }
}

#[tokio::test]
async fn a_run_writes_a_log_inspect_reads() {
    let (url, _script) = provider(Script::default()).await;
    let dir = crate::support::TestDir::new("eval-cli-log");
    std::fs::write(dir.join("qa.jsonl"), arithmetic(20)).unwrap();
    let ran = eval(
        &[
            "run",
            "qa.jsonl",
            "--model",
            "ref-1",
            "--base-url",
            &url,
            "--api-key-env",
            "EVAL_TEST_KEY",
            "--epochs",
            "2",
            "--json",
            "--log-dir",
            "logs",
        ],
        dir.path(),
    )
    .await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let out: Value = serde_json::from_str(ran.stdout.trim()).unwrap();
    let run_id = out["run_id"].as_str().unwrap();
    let log = &out["tasks"][0]["log"];
    let path = dir.path().join(log["path"].as_str().unwrap());
    let name = path.file_name().unwrap().to_str().unwrap().to_owned();
    // Inspect's naming: `{created}_{task}_{id}.eval`, the time with its separators as dashes.
    let (created, rest) = name.split_once('_').unwrap();
    assert_eq!(rest, format!("qa_{run_id}.eval"));
    assert!(
        created.len() == 25 && !created.contains(':') && !created.contains('+'),
        "{name}"
    );
    assert_eq!(log["bytes"], std::fs::metadata(&path).unwrap().len());
    let listed: Vec<_> = std::fs::read_dir(dir.join("logs")).unwrap().collect();
    assert_eq!(listed.len(), 1, "one log, no partial file left beside it");

    let inspect = crate::inspect_log::python(
        crate::inspect_log::READ_LOG,
        &[path.to_str().unwrap(), dir.join("logs").to_str().unwrap()],
        &dir,
    )
    .await;
    assert_eq!(inspect["status"], "success");
    assert_eq!(inspect["task"], "qa");
    assert_eq!(inspect["model"], "ref-1");
    assert_eq!(inspect["run_id"], run_id);
    assert_eq!(inspect["dataset_samples"], 20);
    assert_eq!(inspect["listed"], json!([name]));
    // Sample N asks about N-1: right when N-1 is even, in both epochs.
    let mut samples: Vec<(i64, i64, String, String)> = inspect["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s[0].as_i64().unwrap(),
                s[1].as_i64().unwrap(),
                s[2]["exact"].as_str().unwrap().to_owned(),
                s[3].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    samples.sort();
    let expected: Vec<(i64, i64, String, String)> = (1..=20)
        .flat_map(|id| {
            (1..=2).map(move |epoch| {
                let n = id - 1;
                if n % 2 == 0 {
                    (id, epoch, "C".to_owned(), (2 * n).to_string())
                } else {
                    (id, epoch, "I".to_owned(), "no idea".to_owned())
                }
            })
        })
        .collect();
    assert_eq!(samples, expected);
    assert_eq!(inspect["summaries"].as_array().unwrap().len(), 40);
    assert_eq!(inspect["metrics"]["exact"]["accuracy"], 0.5);
    assert!((inspect["metrics"]["exact"]["stderr"].as_f64().unwrap() - 0.114_707).abs() < 1e-5);
    let reductions = &inspect["reductions"]["exact"];
    assert_eq!(
        (reductions["1"].as_f64(), reductions["2"].as_f64()),
        (Some(1.0), Some(0.0))
    );
}

const GRADER_KEY: &str = "sk-grader-test-key-91fe";

/// A scripted grader: it reads the grading prompt's answer and reference and says `GRADE: C` when they are
/// equal and `GRADE: I` otherwise, except for the question about 6+6, where it gives no grade; `down`, it
/// answers every call with 503.
#[derive(Default)]
struct Grader {
    calls: AtomicUsize,
    bad_keys: AtomicUsize,
    models: std::sync::Mutex<Vec<String>>,
    down: bool,
}

fn section<'a>(prompt: &'a str, name: &str) -> &'a str {
    prompt
        .split(&format!("[{name}]\n"))
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or("")
}

async fn grade(State(grader): State<Arc<Grader>>, headers: HeaderMap, body: axum::Json<Value>) -> Response {
    grader.calls.fetch_add(1, Ordering::SeqCst);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {GRADER_KEY}")) {
        grader.bad_keys.fetch_add(1, Ordering::SeqCst);
    }
    grader
        .models
        .lock()
        .unwrap()
        .push(body["model"].as_str().unwrap_or("").to_owned());
    if grader.down {
        return (StatusCode::SERVICE_UNAVAILABLE, "{}").into_response();
    }
    let prompt = body["messages"][0]["content"].as_str().unwrap_or("");
    let verdict = if section(prompt, "Question").contains("6+6") {
        "Hard to say.".to_owned()
    } else if section(prompt, "Answer") == section(prompt, "Reference") {
        "They agree.\nGRADE: C".to_owned()
    } else {
        "They differ.\nGRADE: I".to_owned()
    };
    axum::Json(json!({
        "choices": [{"message": {"role": "assistant", "content": verdict}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 5}
    }))
    .into_response()
}

async fn grader(down: bool) -> (String, Arc<Grader>) {
    let grader = Arc::new(Grader {
        down,
        ..Grader::default()
    });
    let app = Router::new()
        .route("/v1/chat/completions", post(grade))
        .with_state(grader.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, grader)
}

/// `prelaunch eval run` with the model's key and the grader's in their variables.
async fn eval_graded(args: &[&str], cwd: &Path) -> Ran {
    let out = tokio::process::Command::new(BIN)
        .args(["eval", "run"])
        .args(args)
        .current_dir(cwd)
        .env("EVAL_TEST_KEY", KEY)
        .env("GRADER_TEST_KEY", GRADER_KEY)
        .env_remove("OPENAI_BASE_URL")
        .output()
        .await
        .unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `eval run graded.toml` in `cwd` against the model at `url` graded by the one at `grader_url`, each with its
/// own key, with `extra` options, recording to `records.jsonl` and printing JSON.
async fn run_graded(cwd: &Path, url: &str, grader_url: &str, extra: &[&str]) -> Ran {
    let mut args = vec![
        "graded.toml",
        "--model",
        "ref-1",
        "--base-url",
        url,
        "--api-key-env",
        "EVAL_TEST_KEY",
        "--grader-model",
        "judge-1",
        "--grader-base-url",
        grader_url,
        "--grader-api-key-env",
        "GRADER_TEST_KEY",
    ];
    args.extend_from_slice(extra);
    args.extend(["--json", "--output", "records.jsonl"]);
    eval_graded(&args, cwd).await
}

const GRADED_TASK: &str = "name = \"graded\"\ndataset = \"qa.jsonl\"\n\n[scorer]\ntype = \"model_graded\"\n";

fn records(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("records.jsonl")).unwrap();
    let mut records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    records.sort_by_key(|r| r["item"]["index"].as_u64());
    records
}

#[tokio::test]
async fn a_second_model_grades_from_the_terminal_and_its_prompt_and_answer_are_recorded() {
    let (url, script) = provider(Script::default()).await;
    let (grader_url, grader) = grader(false).await;
    let dir = files(
        "graded",
        &[("graded.toml", GRADED_TASK), ("qa.jsonl", &arithmetic(8))],
    );
    let ran = run_graded(&dir.0, &url, &grader_url, &[]).await;
    // The grader's answer without a grade is an error on that sample: the run completes with exit code 3.
    assert_eq!(ran.code, 3, "{}\n{}", ran.stdout, ran.stderr);
    let out: Value = serde_json::from_str(ran.stdout.trim()).unwrap();
    assert_eq!(
        (&out["samples"], &out["completed"], &out["errors"]),
        (&json!(8), &json!(7), &json!(1)),
        "{out}"
    );
    // Right: 0, 2, 4 (6 is ungraded); wrong: 1, 3, 5, 7.
    assert!(
        (out["accuracy"].as_f64().unwrap() - 3.0 / 7.0).abs() < 1e-9,
        "{out}"
    );
    assert_eq!(script.calls.load(Ordering::SeqCst), 8);
    assert_eq!(grader.calls.load(Ordering::SeqCst), 8);
    assert_eq!(grader.bad_keys.load(Ordering::SeqCst), 0, "the grader's own key");
    assert_eq!(script.bad_keys.load(Ordering::SeqCst), 0, "the model's own key");
    assert!(grader.models.lock().unwrap().iter().all(|m| m == "judge-1"));
    assert!(!ran.stdout.contains(GRADER_KEY) && !ran.stderr.contains(GRADER_KEY));

    // (index, value, what the grader said; none: the sample's error)
    let cases = [
        (0, Some("C"), "GRADE: C"),
        (1, Some("I"), "GRADE: I"),
        (4, Some("C"), "GRADE: C"),
        (5, Some("I"), "GRADE: I"),
        (6, None, "Hard to say."),
    ];
    let records = records(&dir.0);
    assert_eq!(records.len(), 8);
    for (index, value, said) in cases {
        let r = &records[index];
        let grading = &r["attempt"]["grading"];
        assert_eq!(grading["grader"], "judge-1", "{r}");
        let prompt = grading["prompt"].as_str().unwrap();
        assert!(
            prompt.contains(&format!("[Question]\nWhat is {index}+{index}?\n")),
            "{r}"
        );
        assert!(prompt.contains(&format!("[Reference]\n{}\n", 2 * index)), "{r}");
        assert!(grading["answer"].as_str().unwrap().contains(said), "{r}");
        match value {
            Some(v) => {
                assert_eq!(r["attempt"]["score"]["value"], v, "{r}");
                assert!(r["error"].is_null(), "{r}");
            }
            None => {
                assert!(r["attempt"]["score"].is_null(), "{r}");
                let error = r["error"].as_str().unwrap();
                assert!(
                    error.starts_with("grading: the grader's answer holds no grade") && error.contains(said),
                    "{r}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_grader_that_is_down_is_retried_then_its_samples_err() {
    let (url, script) = provider(Script::default()).await;
    let (grader_url, grader) = grader(true).await;
    let dir = files(
        "grader-down",
        &[("graded.toml", GRADED_TASK), ("qa.jsonl", &arithmetic(2))],
    );
    let ran = run_graded(&dir.0, &url, &grader_url, &["--max-retries", "2"]).await;
    assert_eq!(ran.code, 3, "{}\n{}", ran.stdout, ran.stderr);
    let out: Value = serde_json::from_str(ran.stdout.trim()).unwrap();
    assert_eq!(
        (&out["completed"], &out["errors"]),
        (&json!(0), &json!(2)),
        "{out}"
    );
    assert_eq!(
        script.calls.load(Ordering::SeqCst),
        2,
        "each sample answered once"
    );
    assert_eq!(
        grader.calls.load(Ordering::SeqCst),
        2 * 3,
        "each grading tried once and retried twice"
    );
    for r in records(&dir.0) {
        let error = r["error"].as_str().unwrap();
        assert!(error.starts_with("grading: "), "{r}");
        assert!(r["attempt"]["answer"].is_string(), "the model's answer kept: {r}");
    }
}

#[tokio::test]
async fn a_task_scored_by_a_model_does_not_run_without_a_grader() {
    let (url, script) = provider(Script::default()).await;
    let dir = files(
        "no-grader",
        &[("graded.toml", GRADED_TASK), ("qa.jsonl", &arithmetic(2))],
    );
    let ran = eval_graded(
        &[
            "graded.toml",
            "--model",
            "ref-1",
            "--base-url",
            &url,
            "--api-key-env",
            "EVAL_TEST_KEY",
        ],
        &dir.0,
    )
    .await;
    assert_eq!(ran.code, 2, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr.contains("graded.toml") && ran.stderr.contains("--grader-model"),
        "{}",
        ran.stderr
    );
    assert_eq!(script.calls.load(Ordering::SeqCst), 0, "nothing was run");
}
