//! Inspect `.eval` logs against Inspect AI itself (`PRELAUNCH_TEST_PYTHON`, `PRELAUNCH_TEST_INSPECT`): a log we
//! write loads in `inspect_ai.log.read_eval_log` with every sample and score and is listed by `inspect log list`
//! and `list_eval_logs`; a log Inspect writes in a real run (its `mockllm/model`, no network) imports, and
//! written back by us it reads in Inspect with every sample and field as Inspect first wrote them.

use crate::support::{TestDir, test_program};
use evals::inspect_log::*;
use evals::metrics::Summary;
use evals::sample::{Role, SampleId, Target};
use evals::score::Value;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A Python process that takes longer than this is stuck, not slow.
const PYTHON_TIMEOUT: Duration = Duration::from_secs(240);

pub(crate) fn client(var: &str) -> PathBuf {
    test_program(var, "Inspect logs are checked with Inspect AI itself")
}

/// Runs a client in `dir` with nothing from the outside (a scratch home, no network settings); its stdout.
pub(crate) async fn run(program: &Path, args: &[&str], dir: &TestDir) -> String {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let output = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("INSPECT_DISPLAY", "none")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PYTHON_TIMEOUT, output)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{} {args:?} did not finish within {PYTHON_TIMEOUT:?}",
                program.display()
            )
        })
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{} {args:?} failed ({}):\n{stdout}\n{}",
        program.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs a Python program; the JSON object it prints last.
pub(crate) async fn python(program: &str, args: &[&str], dir: &TestDir) -> Json {
    let mut all = vec!["-c", program];
    all.extend_from_slice(args);
    let out = run(&client("PRELAUNCH_TEST_PYTHON"), &all, dir).await;
    let last = out.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// What Inspect makes of a log: its status, samples with their scores, summaries, reductions and metrics,
/// and the logs `list_eval_logs` finds in a directory.
pub(crate) const READ_LOG: &str = r#"
import json, os, sys
from inspect_ai.log import list_eval_logs, read_eval_log, read_eval_log_sample_summaries
path, log_dir = sys.argv[1], sys.argv[2]
log = read_eval_log(path)
print(json.dumps({
    "status": log.status,
    "task": log.eval.task,
    "model": log.eval.model,
    "run_id": log.eval.run_id,
    "dataset_samples": log.eval.dataset.samples,
    "samples": [[s.id, s.epoch, {k: v.value for k, v in (s.scores or {}).items()}, s.output.completion]
                for s in log.samples],
    "summaries": [[s.id, s.epoch] for s in read_eval_log_sample_summaries(path)],
    "reductions": {r.scorer: {str(x.sample_id): x.value for x in r.samples} for r in (log.reductions or [])},
    "metrics": {s.name: {m: v.value for m, v in s.metrics.items()} for s in log.results.scores},
    "listed": [os.path.basename(info.name) for info in list_eval_logs(log_dir)],
}))
"#;

fn spec(task: &str, created: &str, ids: Vec<SampleId>, epochs: u32) -> EvalSpec {
    serde_json::from_value(json!({
        "eval_id": format!("{task}-eval"),
        "run_id": format!("{task}-run"),
        "created": created,
        "task": task,
        "task_id": "Xy7Ab3",
        "dataset": {"name": task, "location": format!("{task}.jsonl"), "samples": ids.len(), "sample_ids": ids,
                    "shuffled": false},
        "model": "openai/reference",
        "config": {"epochs": epochs},
        "packages": {"prelaunch": env!("CARGO_PKG_VERSION")},
    }))
    .unwrap()
}

/// Sample `i` of the fifty: ids 1–24 are integers, the rest text; `exact` is correct unless `(i + epoch)` is a
/// multiple of three, `graded` is i/50.
fn fifty_sample(i: i64, epoch: u32) -> EvalSample {
    let id = if i < 25 {
        SampleId::Int(i)
    } else {
        SampleId::Text(format!("s{i}"))
    };
    let correct = (i + i64::from(epoch)) % 3 != 0;
    let answer = if correct {
        format!("{}", 2 * i)
    } else {
        "?".to_owned()
    };
    let reply = ChatMessage::text(Role::Assistant, answer.clone());
    let score = |value: Value, answer: Option<String>| Score {
        value: value.into(),
        answer,
        explanation: None,
        metadata: None,
        extra: Map::new(),
    };
    EvalSample {
        id,
        epoch,
        input: LogInput::Text(format!("What is {i}+{i}?")),
        choices: None,
        target: Target::One(format!("{}", 2 * i)),
        messages: vec![
            ChatMessage::text(Role::User, format!("What is {i}+{i}?")),
            reply.clone(),
        ],
        output: ModelOutput {
            model: "openai/reference".into(),
            choices: vec![ChatCompletionChoice {
                message: reply,
                stop_reason: "stop".into(),
                extra: Map::new(),
            }],
            completion: answer.clone(),
            usage: Some(ModelUsage {
                input_tokens: 12,
                output_tokens: 2,
                total_tokens: 14,
                ..ModelUsage::default()
            }),
            ..ModelOutput::default()
        },
        scores: Some(BTreeMap::from([
            (
                "exact".to_owned(),
                score(
                    if correct { Value::Correct } else { Value::Incorrect },
                    Some(answer),
                ),
            ),
            ("graded".to_owned(), score(Value::Number(i as f64 / 50.0), None)),
        ])),
        metadata: serde_json::from_value(json!({"difficulty": if i % 2 == 0 { "easy" } else { "hard" }}))
            .unwrap(),
        store: Map::new(),
        events: Vec::new(),
        model_usage: BTreeMap::new(),
        total_time: Some(0.01),
        working_time: Some(0.01),
        error: None,
        extra: Map::new(),
    }
}

#[tokio::test]
async fn a_log_we_write_loads_in_inspect_with_every_sample_and_score() {
    let dir = TestDir::new("inspect-log-ours");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let created = "2026-11-30T04:00:00+00:00";
    let ids: Vec<SampleId> = (1..=50).map(|i| fifty_sample(i, 1).id).collect();
    let spec = spec("arith", created, ids, 2);
    // Inspect's own file name, `{created}_{task}_{task_id}.eval`, so its listing reads it as it reads its own.
    let name = "2026-11-30T04-00-00-00-00_arith_Xy7Ab3.eval";
    let path = logs.join(name);

    let start = LogStart {
        version: LOG_VERSION,
        eval: spec.clone(),
        plan: EvalPlan::default(),
        extra: Map::new(),
    };
    let mut writer = LogWriter::create(&path, &start, WriteLimits::default()).unwrap();
    let mut exact = Vec::new();
    for epoch in 1..=2 {
        for i in 1..=50 {
            let sample = fifty_sample(i, epoch);
            exact.push(
                sample.scores.as_ref().unwrap()["exact"]
                    .value
                    .as_value()
                    .unwrap()
                    .as_f64(),
            );
            writer.write_sample(&sample).unwrap();
        }
    }
    let accuracy = Summary::of(&exact).unwrap();
    let metric = |name: &str, value: f64| {
        (
            name.to_owned(),
            EvalMetric {
                name: name.into(),
                value,
                params: Map::new(),
                metadata: None,
                extra: Map::new(),
            },
        )
    };
    let header = EvalLog {
        version: LOG_VERSION,
        status: EvalStatus::Success,
        eval: spec,
        plan: EvalPlan::default(),
        results: Some(EvalResults {
            total_samples: 100,
            completed_samples: 100,
            scores: vec![EvalScore {
                name: "exact".into(),
                scorer: "exact".into(),
                reducer: None,
                scored_samples: Some(50),
                unscored_samples: Some(0),
                params: Map::new(),
                metrics: BTreeMap::from([
                    metric("accuracy", accuracy.accuracy),
                    metric("stderr", accuracy.stderr),
                ]),
                metadata: None,
                extra: Map::new(),
            }],
            extra: Map::new(),
        }),
        stats: EvalStats {
            started_at: created.into(),
            completed_at: "2026-11-30T04:00:03+00:00".into(),
            model_usage: BTreeMap::new(),
            extra: Map::new(),
        },
        error: None,
        extra: Map::new(),
    };
    writer.finish(&header).unwrap().persist().unwrap();

    let seen = python(READ_LOG, &[path.to_str().unwrap(), logs.to_str().unwrap()], &dir).await;
    assert_eq!(seen["status"], "success");
    assert_eq!(seen["task"], "arith");
    assert_eq!(seen["run_id"], "arith-run");
    assert_eq!(seen["dataset_samples"], 50);
    let samples = seen["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 100);
    // Inspect's order is by epoch, then id; compare as sets of (id, epoch) with their scores.
    let mut expected = Vec::new();
    for epoch in 1..=2 {
        for i in 1..=50 {
            let s = fifty_sample(i, epoch);
            let scores = s.scores.as_ref().unwrap();
            expected.push(
                json!([s.id, epoch, {"exact": scores["exact"].value, "graded": scores["graded"].value},
                                 s.output.completion]),
            );
        }
    }
    let key = |v: &Json| v.to_string();
    let mut got: Vec<String> = samples.iter().map(key).collect();
    let mut want: Vec<String> = expected.iter().map(key).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(seen["summaries"].as_array().unwrap().len(), 100);
    // Reductions: each sample's mean over its two epochs.
    let reductions = &seen["reductions"]["exact"];
    assert_eq!(reductions.as_object().unwrap().len(), 50);
    assert_eq!(reductions["1"], 0.5); // (1+1) % 3 != 0 is correct, (1+2) % 3 == 0 is not
    assert_eq!(reductions["s27"], 1.0); // 28 and 29 are not multiples of three
    assert_eq!(seen["reductions"]["graded"]["10"], 0.2);
    assert_eq!(seen["metrics"]["exact"]["accuracy"], accuracy.accuracy);
    assert_eq!(seen["listed"], json!([name]));

    // The command-line listing reads the header: filtered to finished logs, ours is there.
    let listed = run(
        &client("PRELAUNCH_TEST_INSPECT"),
        &[
            "log",
            "list",
            "--json",
            "--status",
            "success",
            "--log-dir",
            logs.to_str().unwrap(),
        ],
        &dir,
    )
    .await;
    let listed: Json = serde_json::from_str(&listed).unwrap_or_else(|e| panic!("{e}: {listed}"));
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0]["name"].as_str().unwrap().ends_with(name), "{listed:?}");
    assert_eq!(listed[0]["task"], "arith");
}

/// A real Inspect run: five samples, one generate, the exact scorer, `mockllm/model` answering with usage
/// filled in (so nothing is fetched), the odd questions right and the even ones wrong. Prints the log's path.
pub(crate) const INSPECT_RUN: &str = r#"
import json, sys
from inspect_ai import Task, eval
from inspect_ai.dataset import json_dataset
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import exact
from inspect_ai.solver import generate

def answer(input, tools, tool_choice, config):
    n = int(input[-1].text.split()[-1].rstrip("?").split("+")[0])
    output = ModelOutput.from_content(model="mockllm/model", content=str(2 * n if n % 2 else 2 * n + 1))
    output.usage = ModelUsage(input_tokens=10, output_tokens=2, total_tokens=12)
    return output

task = Task(name="tiny", dataset=json_dataset(sys.argv[1]), solver=[generate()], scorer=exact())
[log] = eval(task, model=get_model("mockllm/model", custom_outputs=answer), log_dir=sys.argv[2],
             log_format="eval", display="none")
print(json.dumps({"location": log.location, "status": log.status}))
"#;

/// Compares two logs as Inspect reads them: header and every sample, field by field.
pub(crate) const COMPARE_LOGS: &str = r#"
import json, sys
from inspect_ai.log import read_eval_log
a, b = read_eval_log(sys.argv[1]), read_eval_log(sys.argv[2])
def fields(model):
    return model.model_dump(mode="json", exclude_none=True)
def dump(value):
    return json.dumps(fields(value) if hasattr(value, "model_dump") else value, sort_keys=True)
differences = [part for part in ("eval", "plan", "results", "stats", "status")
               if dump(getattr(a, part)) != dump(getattr(b, part))]
if len(a.samples) != len(b.samples):
    differences.append("sample count")
for x, y in zip(a.samples, b.samples):
    fx, fy = fields(x), fields(y)
    for key in sorted(set(fx) | set(fy)):
        if dump(fx.get(key)) != dump(fy.get(key)):
            differences.append(f"sample {x.id} epoch {x.epoch}: {key}")
reductions = lambda log: [fields(r) for r in (log.reductions or [])]
if reductions(a) != reductions(b):
    differences.append("reductions")
print(json.dumps({"samples": len(b.samples), "events": sum(len(s.events) for s in b.samples),
                  "differences": differences}))
"#;

#[tokio::test]
async fn a_log_inspect_writes_imports_and_writes_back_whole() {
    let dir = TestDir::new("inspect-log-theirs");
    let dataset = dir.join("tiny.jsonl");
    let rows: Vec<String> = (1..=5)
        .map(|i| json!({"id": format!("q{i}"), "input": format!("What is {i}+{i}?"), "target": format!("{}", 2 * i),
                        "metadata": {"n": i}}).to_string())
        .collect();
    std::fs::write(&dataset, rows.join("\n") + "\n").unwrap();
    let theirs_dir = dir.join("theirs");
    let ran = python(
        INSPECT_RUN,
        &[dataset.to_str().unwrap(), theirs_dir.to_str().unwrap()],
        &dir,
    )
    .await;
    assert_eq!(ran["status"], "success", "{ran}");
    let theirs = PathBuf::from(ran["location"].as_str().unwrap());

    // Imported: every part checked before anything is returned.
    let log = read_all(&theirs, ReadLimits::default()).unwrap();
    assert_eq!(log.header.status, EvalStatus::Success);
    assert_eq!(log.header.eval.task, "tiny");
    assert_eq!(log.header.eval.dataset.samples, Some(5));
    assert!(log.header.eval.packages.contains_key("inspect_ai"));
    let exact = &log.header.results.as_ref().unwrap().scores[0];
    assert_eq!(exact.scorer, "exact");
    let seen: Vec<(String, u32, Option<Value>, String)> = log
        .samples
        .iter()
        .map(|s| {
            let value = s.scores.as_ref().unwrap()["exact"].value.as_value();
            (s.id.to_string(), s.epoch, value, s.output.completion.clone())
        })
        .collect();
    let expected: Vec<(String, u32, Option<Value>, String)> = (1..=5)
        .map(|i| {
            let right = i % 2 == 1;
            let answer = if right { 2 * i } else { 2 * i + 1 };
            let value = if right { Value::Correct } else { Value::Incorrect };
            (format!("q{i}"), 1, Some(value), answer.to_string())
        })
        .collect();
    assert_eq!(seen, expected);
    let first = &log.samples[0];
    assert!(!first.events.is_empty(), "Inspect's transcript events are kept");
    assert!(
        first.extra.contains_key("uuid"),
        "fields we do not name are kept: {:?}",
        first.extra.keys()
    );
    assert_eq!(first.messages.len(), 2);
    assert_eq!(first.metadata["n"], 1);
    assert_eq!(log.summaries.as_ref().map(Vec::len), Some(5));
    let mean = exact
        .metrics
        .values()
        .find(|m| m.name == "mean" || m.name == "accuracy")
        .unwrap();
    assert_eq!(mean.value, 0.6);

    // Written back by us, it reads in Inspect exactly as Inspect wrote it.
    let ours_dir = dir.join("ours");
    std::fs::create_dir_all(&ours_dir).unwrap();
    let ours = ours_dir.join(theirs.file_name().unwrap());
    let start = LogStart {
        version: log.header.version,
        eval: log.header.eval.clone(),
        plan: log.header.plan.clone(),
        extra: Map::new(),
    };
    let mut writer = LogWriter::create(&ours, &start, WriteLimits::default()).unwrap();
    for sample in &log.samples {
        writer.write_sample(sample).unwrap();
    }
    let reductions = log.reductions.clone().unwrap_or_default();
    writer
        .finish_with_reductions(&log.header, &reductions)
        .unwrap()
        .persist()
        .unwrap();
    let again = read_all(&ours, ReadLimits::default()).unwrap();
    assert_eq!(again.header, log.header);
    assert_eq!(again.samples, log.samples);
    assert_eq!(again.reductions, log.reductions);

    let compared = python(
        COMPARE_LOGS,
        &[theirs.to_str().unwrap(), ours.to_str().unwrap()],
        &dir,
    )
    .await;
    assert_eq!(compared["samples"], 5);
    assert!(compared["events"].as_u64().unwrap() >= 5, "{compared}");
    assert_eq!(compared["differences"], json!([]), "{compared}");
}
