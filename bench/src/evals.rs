//! `bench evals`: the same evaluation on Inspect AI and on Prelaunch, side by side in one run.
//!
//! The task: N samples (`What is 2+2? (question i)`, target `4`), one generation, the exact-match scorer. Inspect
//! runs it in Python with its `mockllm/model` answering `4` with the usage given (no tokenizer download, no
//! network), writing its `.eval` log to a temporary directory. Prelaunch runs it with `prelaunch eval run
//! --log-dir` against a mock OpenAI-compatible server in this process that answers `4` at once. Each is a child
//! process under `/usr/bin/time`, whose peak RSS is the process's own. See `bench/README.md`.

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio::process::Command;

#[derive(clap::Args)]
pub struct EvalsArgs {
    /// Samples per task; each size is run on both.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000usize, 10_000])]
    sizes: Vec<usize>,
    /// Runs of each size on each; the table gives medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The `prelaunch` binary (a release build).
    #[arg(long, default_value = "target/release/prelaunch")]
    prelaunch: PathBuf,
    /// The Python with Inspect AI installed.
    #[arg(long, env = "PRELAUNCH_TEST_PYTHON")]
    python: PathBuf,
    /// Calls in flight at most, on both (`max_connections` in Inspect, `--max-connections` in Prelaunch).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Leave Inspect out (to measure Prelaunch alone).
    #[arg(long)]
    skip_inspect: bool,
    /// Accepted for `bench/run.sh`, which names a backend; this benchmark uses no database.
    #[arg(long, value_enum, hide = true)]
    backend: Option<crate::Backend>,
    #[arg(long, hide = true)]
    database_url: Option<String>,
}

/// Inspect's side: runs the task with `inspect_ai.eval` and prints what it measured as JSON.
const INSPECT_RUN: &str = r#"
import json, os, sys, time
from inspect_ai import Task, eval
from inspect_ai.dataset import json_dataset
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import exact
from inspect_ai.solver import generate

dataset, log_dir, connections = sys.argv[1], sys.argv[2], int(sys.argv[3])

def answer(*args):
    out = ModelOutput.from_content(model="mockllm/model", content="4")
    out.usage = ModelUsage(input_tokens=12, output_tokens=1, total_tokens=13)
    return out

started = time.perf_counter()
task = Task(dataset=json_dataset(dataset), solver=generate(), scorer=exact())
model = get_model("mockllm/model", custom_outputs=answer)
log = eval(task, model=model, log_dir=log_dir, display="none", max_connections=connections)[0]
seconds = time.perf_counter() - started
logs = [os.path.join(log_dir, f) for f in os.listdir(log_dir) if f.endswith(".eval")]
print(json.dumps({
    "status": log.status,
    "seconds": seconds,
    "completed": log.results.completed_samples,
    # exact() reports its mean as `mean`.
    "accuracy": log.results.scores[0].metrics["mean"].value,
    "log_bytes": sum(os.path.getsize(f) for f in logs),
}))
"#;

/// One run of one tool at one size.
#[derive(Debug, Clone)]
struct Measured {
    /// Samples per second over the measured time.
    rate: f64,
    seconds: f64,
    peak_rss_kib: u64,
    log_bytes: u64,
    /// Prelaunch only: the time to write its log.
    log_seconds: Option<f64>,
    accuracy: f64,
}

pub async fn run(args: EvalsArgs) -> Result<()> {
    if !Path::new("/usr/bin/time").exists() {
        bail!("/usr/bin/time (GNU time) measures each process's peak RSS: install the `time` package");
    }
    if !args.prelaunch.exists() {
        bail!(
            "{} does not exist: cargo build --release -p prelaunch",
            args.prelaunch.display()
        );
    }
    let mock = mock_model().await?;
    eprintln!("mock model at {mock}");
    let work = std::env::temp_dir().join(format!("prelaunch-bench-evals-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work)?;
    let result = measure(&args, &mock, &work).await;
    let _ = std::fs::remove_dir_all(&work);
    let table = result?;
    println!("{}", report(&args, &table));
    Ok(())
}

type Table = BTreeMap<(usize, &'static str), Vec<Measured>>;

async fn measure(args: &EvalsArgs, mock: &str, work: &Path) -> Result<Table> {
    let mut table = Table::new();
    for &n in &args.sizes {
        let dataset = work.join(format!("arith-{n}.jsonl"));
        std::fs::write(&dataset, dataset_lines(n))?;
        for run in 1..=args.runs {
            if !args.skip_inspect {
                let m = inspect(args, &dataset, &work.join(format!("inspect-{n}-{run}"))).await?;
                eprintln!("n={n} run {run} inspect: {m:?}");
                table.entry((n, "Inspect AI")).or_default().push(m);
            }
            let m = prelaunch(args, mock, &dataset, &work.join(format!("prelaunch-{n}-{run}"))).await?;
            eprintln!("n={n} run {run} prelaunch: {m:?}");
            table.entry((n, "Prelaunch")).or_default().push(m);
        }
    }
    Ok(table)
}

fn dataset_lines(n: usize) -> String {
    (1..=n)
        .map(|i| {
            json!({"id": i, "input": format!("What is 2+2? (question {i})"), "target": "4"}).to_string()
                + "\n"
        })
        .collect()
}

/// Runs `program args` in `dir` under GNU time; its stdout, and its peak RSS in KiB.
async fn timed(program: &Path, args: &[&str], dir: &Path) -> Result<(String, u64, f64)> {
    std::fs::create_dir_all(dir)?;
    let rss_file = dir.join("peak-rss");
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(program)
        .args(args)
        .current_dir(dir)
        .env("INSPECT_DISPLAY", "none")
        .env("BENCH_EVALS_KEY", "sk-bench-evals")
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("running {}", program.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "{} {args:?} failed ({}):\n{stdout}\n{}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rss = std::fs::read_to_string(&rss_file)?
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .context("GNU time's peak RSS")?;
    Ok((stdout, rss, seconds))
}

fn last_json(stdout: &str) -> Result<Value> {
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("not JSON: {stdout}"))
}

async fn inspect(args: &EvalsArgs, dataset: &Path, dir: &Path) -> Result<Measured> {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let (stdout, rss, _) = timed(
        &args.python,
        &[
            "-c",
            INSPECT_RUN,
            &dataset.display().to_string(),
            &logs.display().to_string(),
            &args.connections.to_string(),
        ],
        dir,
    )
    .await?;
    let out = last_json(&stdout)?;
    if out.get("status").and_then(Value::as_str) != Some("success") {
        bail!("Inspect's run did not succeed: {out}");
    }
    let n = out.get("completed").and_then(Value::as_f64).unwrap_or(0.0);
    // The eval call only: Python's start and Inspect's imports (a few seconds) are left out, to Inspect's benefit.
    let seconds = out.get("seconds").and_then(Value::as_f64).unwrap_or(f64::NAN);
    Ok(Measured {
        rate: n / seconds,
        seconds,
        peak_rss_kib: rss,
        log_bytes: out.get("log_bytes").and_then(Value::as_u64).unwrap_or(0),
        log_seconds: None,
        accuracy: out.get("accuracy").and_then(Value::as_f64).unwrap_or(f64::NAN),
    })
}

async fn prelaunch(args: &EvalsArgs, mock: &str, dataset: &Path, dir: &Path) -> Result<Measured> {
    let prelaunch = std::fs::canonicalize(&args.prelaunch)?;
    let (stdout, rss, seconds) = timed(
        &prelaunch,
        &[
            "eval",
            "run",
            &dataset.display().to_string(),
            "--model",
            "mock",
            "--base-url",
            mock,
            "--api-key-env",
            "BENCH_EVALS_KEY",
            "--max-connections",
            &args.connections.to_string(),
            "--json",
            "--log-dir",
            "logs",
        ],
        dir,
    )
    .await?;
    let out = last_json(&stdout)?;
    if out.get("errors").and_then(Value::as_u64) != Some(0)
        || out.pointer("/status/status").and_then(Value::as_str) != Some("completed")
    {
        bail!("Prelaunch's run did not complete: {out}");
    }
    let log = out.pointer("/tasks/0/log").cloned().unwrap_or_default();
    // The whole process, from its start to its exit, log included.
    Ok(Measured {
        rate: out.get("completed").and_then(Value::as_f64).unwrap_or(0.0) / seconds,
        seconds,
        peak_rss_kib: rss,
        log_bytes: log.get("bytes").and_then(Value::as_u64).unwrap_or(0),
        log_seconds: log.get("seconds").and_then(Value::as_f64),
        accuracy: out.get("accuracy").and_then(Value::as_f64).unwrap_or(f64::NAN),
    })
}

/// An OpenAI-compatible chat completions endpoint on loopback that answers `4` at once, with usage.
async fn mock_model() -> Result<String> {
    let body = json!({
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_798_761_600,
        "model": "mock",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    })
    .to_string();
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values.get(n / 2).copied().unwrap_or(f64::NAN),
        n => {
            (values.get(n / 2 - 1).copied().unwrap_or(f64::NAN)
                + values.get(n / 2).copied().unwrap_or(f64::NAN))
                / 2.0
        }
    }
}

fn report(args: &EvalsArgs, table: &Table) -> String {
    let mut out = format!(
        "### Evaluation: N samples, one generate, exact match (medians of {} runs, {} calls in flight)\n\n\
         | N | engine | samples/s | seconds | peak RSS (MiB) | log (bytes) | log write (s) | accuracy |\n\
         |---|---|---|---|---|---|---|---|\n",
        args.runs, args.connections
    );
    let stat = |runs: &[Measured], f: &dyn Fn(&Measured) -> f64| median(runs.iter().map(f).collect());
    for ((n, engine), runs) in table {
        let log_write = if runs.iter().any(|m| m.log_seconds.is_some()) {
            format!("{:.3}", stat(runs, &|m| m.log_seconds.unwrap_or(f64::NAN)))
        } else {
            "–".into()
        };
        out += &format!(
            "| {n} | {engine} | {:.0} | {:.2} | {:.0} | {:.0} | {log_write} | {:.3} |\n",
            stat(runs, &|m| m.rate),
            stat(runs, &|m| m.seconds),
            stat(runs, &|m| m.peak_rss_kib as f64) / 1024.0,
            stat(runs, &|m| m.log_bytes as f64),
            stat(runs, &|m| m.accuracy),
        );
    }
    out += "\nEach run's samples/s: ";
    for ((n, engine), runs) in table {
        let rates: Vec<String> = runs.iter().map(|m| format!("{:.0}", m.rate)).collect();
        out += &format!("{engine} N={n}: {}; ", rates.join(", "));
    }
    out += "\n\n| N | samples/s ratio (target ≥ 50×) | memory ratio (target ≤ 0.20) | log size ratio |\n|---|---|---|---|\n";
    for &n in &args.sizes {
        let (Some(inspect), Some(ours)) = (table.get(&(n, "Inspect AI")), table.get(&(n, "Prelaunch")))
        else {
            continue;
        };
        let ratio = |f: &dyn Fn(&Measured) -> f64| stat(ours, f) / stat(inspect, f);
        out += &format!(
            "| {n} | {:.1}× | {:.3} | {:.3} |\n",
            ratio(&|m| m.rate),
            ratio(&|m| m.peak_rss_kib as f64),
            ratio(&|m| m.log_bytes as f64),
        );
    }
    out
}
