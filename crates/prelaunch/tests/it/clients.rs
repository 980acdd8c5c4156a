//! Real clients against the gateway: the official `openai` Python SDK and Inspect AI, run as subprocesses from
//! the virtual environment that `scripts/test.sh` installs from `tests/clients/requirements.txt`
//! (`PRELAUNCH_TEST_PYTHON`, `PRELAUNCH_TEST_INSPECT`). The gateway answers from the scripted upstream; the
//! tests check what the clients report and what the gateway recorded.

use crate::gateway::{Gw, MODEL, calls, gateway_with};
use crate::support::{clients_dir, test_program};
use crate::upstream::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const PYTHON: &str = "PRELAUNCH_TEST_PYTHON";
const INSPECT: &str = "PRELAUNCH_TEST_INSPECT";

/// A client that takes longer than this is stuck, not slow.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(240);

/// The client from the test environment; without it the test fails, saying how to get it.
fn client_binary(var: &str) -> PathBuf {
    test_program(
        var,
        "the gateway must be tested with the real OpenAI SDK and Inspect AI",
    )
}

/// A client process aimed at the gateway with the token: no proxies, a scratch home, nothing from the
/// outside that would change how it behaves.
fn command(program: &Path, g: &Gw, home: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    let base = format!("{}/gateway/v1", g.t.base);
    command
        .current_dir(clients_dir())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .env("OPENAI_BASE_URL", &base)
        .env("OPENAI_API_KEY", &g.token)
        .env("PRELAUNCH_BASE_URL", &base)
        .env("PRELAUNCH_API_KEY", &g.token)
        .kill_on_drop(true);
    command
}

/// Runs the process to its end; returns its stdout, failing the test with its output when it fails.
async fn run(mut command: tokio::process::Command, what: &str) -> String {
    let output = tokio::time::timeout(CLIENT_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {CLIENT_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("{what} could not start: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    stdout
}

/// One mode of `openai_client.py`, its JSON result.
async fn openai_sdk(g: &Gw, home: &Path, mode: &str) -> Value {
    let mut command = command(&client_binary(PYTHON), g, home);
    command.arg("openai_client.py").arg(mode).arg(MODEL);
    let stdout = run(command, &format!("openai_client.py {mode}")).await;
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("openai_client.py {mode} printed no JSON ({e}): {stdout}"))
}

#[tokio::test]
async fn the_openai_sdk_completes_streams_and_calls_tools_through_the_gateway() {
    client_binary(PYTHON);
    let g = gateway_with(10, json!({})).await;
    let home = tempdir("openai");

    let models = openai_sdk(&g, &home, "models").await;
    assert_eq!(models["ids"], json!([MODEL]));

    let complete = openai_sdk(&g, &home, "complete").await;
    assert_eq!(complete["content"], "echo: Say hello to the gateway.");
    assert_eq!(
        complete["model"], MODEL,
        "the evaluator's name, not the upstream's"
    );
    assert_eq!(complete["finish_reason"], "stop");
    assert_eq!(
        complete["usage"],
        json!({"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18})
    );
    let sent = g.up.seen().pop().unwrap();
    assert_eq!(sent.body["model"], UPSTREAM_MODEL);
    assert_eq!(sent.body["temperature"], 0.2, "parameters pass through");
    assert_eq!(sent.body["max_tokens"], 32);
    assert_eq!(sent.body["seed"], 7);
    assert_eq!(sent.body["messages"][0]["role"], "system");

    g.up.script([Behavior::Stream {
        chunks: 40,
        gap: Duration::from_millis(3),
    }]);
    let stream = openai_sdk(&g, &home, "stream").await;
    let expected: Vec<String> = (0..40).map(|i| format!("t{i} ")).collect();
    assert_eq!(stream["chunks"], json!(expected), "every chunk, in order");
    assert_eq!(stream["models"], json!([MODEL]));
    assert_eq!(stream["usage"]["completion_tokens"], 40);
    assert_eq!(g.up.finished(), 1);

    let tools = openai_sdk(&g, &home, "tools").await;
    assert_eq!(tools["finish_reason"], "tool_calls");
    assert_eq!(tools["tool_calls"][0]["name"], "get_weather");
    assert_eq!(tools["tool_calls"][0]["arguments"], json!({"city": "Paris"}));
    assert_eq!(tools["final"], "echo: 18 degrees and sunny");
    let round_trip = g.up.seen().pop().unwrap();
    let messages = round_trip.body["messages"].as_array().unwrap();
    assert_eq!(messages[1]["tool_calls"][0]["function"]["name"], "get_weather");
    assert_eq!(messages[2]["role"], "tool");
    assert_eq!(messages[2]["tool_call_id"], tools["tool_calls"][0]["id"]);

    // What the gateway recorded: every call, with the upstream's token counts.
    let recorded = calls(&g).await;
    let summary: Vec<(bool, i64, i64, i64)> = recorded
        .iter()
        .rev()
        .map(|c| {
            (
                c["stream"].as_bool().unwrap(),
                c["status"].as_i64().unwrap(),
                c["input_tokens"].as_i64().unwrap(),
                c["output_tokens"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (false, 200, 11, 7),
            (true, 200, 11, 40),
            (false, 200, 11, 7),
            (false, 200, 11, 7)
        ]
    );
    assert!(recorded.iter().all(|c| c["model"] == MODEL));
    assert!(
        recorded[2]["ttft_ms"].as_f64().is_some(),
        "a stream's time to first token"
    );

    // A revoked token: the SDK raises its own error type with the gateway's reason.
    g.t.delete(
        &g.w.evaluator,
        &format!(
            "/api/v1/notices/{}/gateway-tokens/{}",
            g.notice,
            token_id(&g).await
        ),
    )
    .await
    .ok();
    let refused = openai_sdk(&g, &home, "refused").await;
    assert_eq!(refused["error"], "AuthenticationError");
    assert_eq!(refused["status"], 401);
    assert_eq!(refused["code"], "token_revoked");
    for text in [&models, &complete, &stream, &tools, &refused] {
        let text = text.to_string();
        for needle in g.up.identity() {
            assert!(!text.contains(&needle), "a client saw {needle:?}: {text}");
        }
    }
    std::fs::remove_dir_all(&home).ok();
}

#[tokio::test]
async fn inspect_ai_evaluates_a_task_through_the_gateway() {
    let inspect = client_binary(INSPECT);
    let g = gateway_with(10, json!({})).await;
    let home = tempdir("inspect");
    let logs = home.join("logs");
    let mut command = command(&inspect, &g, &home);
    command
        .args(["eval", "inspect_task.py"])
        .args(["--model", &format!("openai-api/prelaunch/{MODEL}")])
        .arg("--log-dir")
        .arg(&logs)
        .args(["--log-format", "json", "--display", "plain"])
        .args(["--max-connections", "2", "--timeout", "60", "--max-retries", "0"]);
    run(command, "inspect eval").await;

    let log_files: Vec<PathBuf> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(log_files.len(), 1, "one eval log: {log_files:?}");
    let log: Value = serde_json::from_slice(&std::fs::read(&log_files[0]).unwrap()).unwrap();
    assert_eq!(log["status"], "success", "{}", log["error"]);
    assert_eq!(log["eval"]["model"], format!("openai-api/prelaunch/{MODEL}"));
    assert_eq!(log["results"]["total_samples"], 3);
    assert_eq!(log["results"]["completed_samples"], 3);
    let accuracy = &log["results"]["scores"][0]["metrics"]["accuracy"]["value"];
    assert_eq!(accuracy.as_f64(), Some(1.0), "{}", log["results"]);
    let samples = log["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3);
    for sample in samples {
        let target = sample["target"].as_str().unwrap();
        let completion = sample["output"]["choices"][0]["message"]["content"].to_string();
        assert!(completion.contains(target), "{target} in {completion}");
        let score = sample["scores"]["includes"]["value"].as_str();
        assert_eq!(score, Some("C"), "{}", sample["id"]);
    }

    // The gateway saw each sample once and recorded it with the upstream's usage.
    let recorded = calls(&g).await;
    assert_eq!(recorded.len(), 3, "{recorded:?}");
    for call in &recorded {
        assert_eq!(call["status"], 200);
        assert_eq!(call["model"], MODEL);
        assert_eq!(
            (call["input_tokens"].as_i64(), call["output_tokens"].as_i64()),
            (Some(11), Some(7))
        );
    }
    let mut prompts: Vec<String> =
        g.up.seen()
            .iter()
            .map(|s| s.body["messages"].as_array().unwrap().last().unwrap()["content"].to_string())
            .collect();
    prompts.sort();
    assert_eq!(prompts.len(), 3);
    assert!(
        prompts.iter().any(|p| p.contains("FLAG{gateway-ok}")),
        "{prompts:?}"
    );
    let usage =
        g.t.get(
            &g.w.evaluator,
            &format!("/api/v1/notices/{}/gateway-usage", g.notice),
        )
        .await;
    assert_eq!(usage.ok()["totals"]["calls"], 3);
    assert_eq!(usage.body["totals"]["input_tokens"], 33);
    std::fs::remove_dir_all(&home).ok();
}

/// The id of the test's gateway token.
async fn token_id(g: &Gw) -> String {
    let listed =
        g.t.get(
            &g.w.evaluator,
            &format!("/api/v1/notices/{}/gateway-tokens", g.notice),
        )
        .await;
    listed.ok()["items"][0]["id"].as_str().unwrap().to_owned()
}

/// A scratch home for one client run (removed when the test passes, kept to look into when it fails).
fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join("prelaunch-tests")
        .join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
