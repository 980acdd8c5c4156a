//! `prelaunch eval` against a server: a run's whole log exported (`eval export`), an Inspect log imported
//! (`eval import`), a run queued on a notice and followed (`eval run --notice`). Each authenticates with an API
//! token (`--token` or `PRELAUNCH_TOKEN`), never printed.
//!
//! Exit codes: as `eval run`'s where they apply (0 every sample scored, 3 some ended in error, 4 the run
//! stopped or was cancelled on the server, 130 interrupted while following: the run goes on); 2 the server
//! refused the request (the reason printed); 1 anything else (the server failed or is unreachable, a log cut
//! short, a file not writable).

use crate::eval_cmd::Bar;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use evals::inspect_log::{LogReader, ReadLimits};
use evals::runner::Progress;
use evals::task::TaskFile;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The largest log `eval import` sends: the server's own limit.
const IMPORT_LIMIT: u64 = app::evals::IMPORT_LIMIT as u64;

/// Where the server is and who is asking.
#[derive(Args, Clone)]
pub struct ServerArgs {
    /// The server's base URL, e.g. https://prelaunch.example.
    #[arg(long, env = "PRELAUNCH_SERVER")]
    pub server: String,
    /// An API token (the person's, as `admin token create` or the web UI issues it).
    #[arg(long, env = "PRELAUNCH_TOKEN", hide_env_values = true)]
    pub token: String,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// An Inspect AI `.eval` log.
    Inspect,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The run's id.
    run_id: Uuid,
    #[arg(long, value_enum)]
    format: LogFormat,
    /// The file to write; it appears only once whole.
    #[arg(short = 'o', long)]
    output: PathBuf,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
pub struct ImportArgs {
    /// An Inspect `.eval` log (zstd or deflate entries).
    file: PathBuf,
    /// The notice the run is imported to (you must be one of its assigned evaluators).
    #[arg(long)]
    notice: Uuid,
    /// Print the imported run as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// A run to queue on the server (`eval run PATH --notice ID`).
pub struct RemoteRun<'a> {
    pub path: &'a Path,
    pub notice: Uuid,
    pub model: &'a str,
    pub epochs: Option<u32>,
    pub limit: Option<usize>,
    pub json: bool,
    pub detach: bool,
    pub server: &'a str,
    pub token: &'a str,
}

/// The value at a JSON pointer, or null.
fn at<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    value.pointer(pointer).unwrap_or(&Value::Null)
}

fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .build()?)
}

fn base(server: &str) -> String {
    format!("{}/api/v1", server.trim_end_matches('/'))
}

/// The exit code of an answer that is not a success: 2 the server refused the request, 1 the server failed.
fn failure_code(status: reqwest::StatusCode) -> i32 {
    if status.is_server_error() { 1 } else { 2 }
}

/// A refusal's problem document, said in one line.
async fn refusal(response: reqwest::Response) -> String {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    let detail = at(&body, "/detail").as_str().unwrap_or("");
    if status.is_server_error() {
        format!("the server failed ({status}): {detail}")
    } else {
        format!("the server refused ({status}): {detail}")
    }
}

/// Removes a partial file unless it was kept.
struct Partial {
    path: PathBuf,
    kept: bool,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

pub async fn export(args: ExportArgs) -> Result<i32> {
    let LogFormat::Inspect = args.format;
    let response = client()?
        .get(format!(
            "{}/eval-runs/{}/log?format=inspect",
            base(&args.server.server),
            args.run_id
        ))
        .bearer_auth(&args.server.token)
        .send()
        .await
        .context("cannot reach the server")?;
    if !response.status().is_success() {
        let code = failure_code(response.status());
        eprintln!("{}", refusal(response).await);
        return Ok(code);
    }
    let target = &args.output;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .context("-o: give a file name")?;
    let mut partial = Partial {
        path: target.with_file_name(format!(".{name}.{}.partial", std::process::id())),
        kept: false,
    };
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&partial.path)
            .with_context(|| format!("cannot create {}", partial.path.display()))?,
    );
    let mut response = response;
    let mut bytes = 0u64;
    while let Some(chunk) = response.chunk().await.context("the log did not arrive whole")? {
        file.write_all(&chunk)
            .with_context(|| format!("cannot write {}", partial.path.display()))?;
        bytes += chunk.len() as u64;
    }
    let file = file.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    // What arrived must be a whole log before it takes the file's name.
    LogReader::open(&partial.path, ReadLimits::default())
        .map_err(|e| anyhow::anyhow!("the log did not arrive whole: {e}"))?;
    std::fs::rename(&partial.path, target)
        .with_context(|| format!("cannot move the log to {}", target.display()))?;
    partial.kept = true;
    println!("{}  {bytes} bytes", target.display());
    Ok(0)
}

pub async fn import(args: ImportArgs) -> Result<i32> {
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?
        .len();
    if size > IMPORT_LIMIT {
        eprintln!(
            "{}: {size} bytes, more than the server takes ({IMPORT_LIMIT})",
            args.file.display()
        );
        return Ok(2);
    }
    let body = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let response = client()?
        .post(format!(
            "{}/notices/{}/eval-runs/import",
            base(&args.server.server),
            args.notice
        ))
        .bearer_auth(&args.server.token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .context("cannot reach the server")?;
    if !response.status().is_success() {
        let code = failure_code(response.status());
        eprintln!("{}: {}", args.file.display(), refusal(response).await);
        return Ok(code);
    }
    let run: Value = response.json().await.context("the server's answer is not JSON")?;
    if args.json {
        println!("{run}");
    } else {
        println!(
            "run {}  {}  model {}  {} samples, {} errors",
            at(&run, "/id").as_str().unwrap_or(""),
            at(&run, "/name").as_str().unwrap_or(""),
            at(&run, "/model").as_str().unwrap_or(""),
            at(&run, "/total"),
            at(&run, "/errors")
        );
    }
    Ok(0)
}

/// The task and dataset to send: a task file with the dataset it names, or a bare dataset run with one
/// generation scored by exact match.
fn task_and_dataset(path: &Path) -> Result<(String, String, Option<&'static str>), String> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let format_of = |p: &Path| match p.extension().and_then(|e| e.to_str()) {
        Some("csv") => Some("csv"),
        Some("jsonl") => Some("jsonl"),
        _ => None,
    };
    if path.extension().is_some_and(|e| e == "toml") {
        let text = read(path)?;
        let spec = TaskFile::parse(&text).map_err(|problems| {
            problems
                .iter()
                .map(|p| match p.line {
                    Some(line) => format!("{}:{line}: {}", path.display(), p.message),
                    None => format!("{}: {}", path.display(), p.message),
                })
                .collect::<Vec<_>>()
                .join("\n")
        })?;
        let dataset = path.parent().unwrap_or(Path::new(".")).join(&spec.dataset);
        let data = read(&dataset)?;
        return Ok((text, data, format_of(&dataset)));
    }
    let format = format_of(path).ok_or_else(|| {
        format!(
            "{}: with --notice, give a task file (.toml) or a dataset (.jsonl, .csv)",
            path.display()
        )
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dataset".into());
    let name = serde_json::to_string(&stem).map_err(|e| e.to_string())?;
    Ok((
        format!("name = {name}\ndataset = \"dataset.{format}\"\n"),
        read(path)?,
        Some(format),
    ))
}

/// Queues the run on the server and, unless detached, follows it to its end.
pub async fn run(r: RemoteRun<'_>) -> Result<i32> {
    let (task, dataset, format) = match task_and_dataset(r.path) {
        Ok(parts) => parts,
        Err(problem) => {
            eprintln!("{problem}");
            return Ok(2);
        }
    };
    let client = client()?;
    let api = base(r.server);
    let response = client
        .post(format!("{api}/eval-runs"))
        .bearer_auth(r.token)
        .json(&json!({
            "notice_id": r.notice,
            "model": r.model,
            "task": task,
            "dataset": dataset,
            "dataset_format": format,
            "epochs": r.epochs,
            "limit": r.limit,
        }))
        .send()
        .await
        .context("cannot reach the server")?;
    if !response.status().is_success() {
        let code = failure_code(response.status());
        eprintln!("{}: {}", r.path.display(), refusal(response).await);
        return Ok(code);
    }
    let started: Value = response.json().await.context("the server's answer is not JSON")?;
    let id = at(&started, "/id").as_str().unwrap_or("").to_owned();
    if r.detach {
        if r.json {
            println!(
                "{}",
                json!({"run_id": id, "state": at(&started, "/state"), "samples": at(&started, "/total")})
            );
        } else {
            println!("{id}");
        }
        return Ok(0);
    }
    if !r.json {
        eprintln!("run {id} queued on {}", r.server.trim_end_matches('/'));
    }
    let bar = Bar::new(at(&started, "/name").as_str().unwrap_or("run"));
    let began = Instant::now();
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let run = loop {
        let response = client
            .get(format!("{api}/eval-runs/{id}"))
            .bearer_auth(r.token)
            .send()
            .await
            .context("cannot reach the server")?;
        if !response.status().is_success() {
            let code = failure_code(response.status());
            eprintln!("{}", refusal(response).await);
            return Ok(code);
        }
        let run: Value = response.json().await.context("the server's answer is not JSON")?;
        let count = |field: &str| run.get(field).and_then(Value::as_u64).unwrap_or(0) as usize;
        let (done, errors) = (count("done"), count("errors"));
        let scored = done.saturating_sub(errors);
        bar.show(&Progress {
            total: count("total"),
            done,
            errors,
            score_sum: at(&run, "/accuracy/value").as_f64().unwrap_or(0.0) * scored as f64,
            scored,
            elapsed: began.elapsed(),
            throttled: 0,
            concurrency: 0,
        });
        if !matches!(at(&run, "/state").as_str(), Some("queued" | "running")) {
            break run;
        }
        tokio::select! {
            _ = &mut interrupted => {
                bar.finish();
                eprintln!("stopped following; run {id} goes on on the server");
                return Ok(130);
            }
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    };
    bar.finish();
    Ok(report(&id, r.model, r.json, &run))
}

/// The ended run as `eval run` reports a local one; the exit code.
fn report(id: &str, model: &str, as_json: bool, run: &Value) -> i32 {
    let state = at(run, "/state").as_str().unwrap_or("");
    let results = at(run, "/results");
    let headline = at(results, "/reducers/0/summary");
    let errors = at(run, "/errors").as_u64().unwrap_or(0);
    let status = match state {
        "completed" => json!({"status": "completed"}),
        "cancelled" => json!({"status": "cancelled"}),
        _ => json!({"status": "access_ended", "reason": at(run, "/reason")}),
    };
    if as_json {
        let ci95 = match (
            at(headline, "/ci_low").as_f64(),
            at(headline, "/ci_high").as_f64(),
        ) {
            (Some(low), Some(high)) => json!([low, high]),
            _ => Value::Null,
        };
        println!(
            "{}",
            json!({
                "run_id": id,
                "model": model,
                "status": status,
                "samples": at(results, "/samples").as_u64().unwrap_or(0),
                "completed": at(run, "/done"),
                "errors": errors,
                "accuracy": at(headline, "/accuracy"),
                "stderr": at(headline, "/stderr"),
                "ci95": ci95,
                "tasks": [{"task": at(run, "/name"), "results": results, "log": Value::Null}],
            })
        );
    } else {
        println!("run {id}  model {model}");
        println!(
            "{:<28} {:>8} {:>9} {:>7}  {:<12} {:>8} {:>8}  95% interval",
            "task", "samples", "completed", "errors", "reducer", "value", "stderr"
        );
        let name = at(run, "/name").as_str().unwrap_or("");
        for (i, reduced) in at(results, "/reducers")
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let s = at(reduced, "/summary");
            let first = |v: &Value| if i == 0 { v.to_string() } else { String::new() };
            println!(
                "{:<28} {:>8} {:>9} {:>7}  {:<12} {:>8} {:>8}  [{}, {}]",
                if i == 0 { name } else { "" },
                first(at(results, "/samples")),
                first(at(run, "/done")),
                first(at(run, "/errors")),
                at(reduced, "/reducer").as_str().unwrap_or(""),
                at(s, "/accuracy")
                    .as_f64()
                    .map_or("–".into(), |v| format!("{v:.3}")),
                at(s, "/stderr")
                    .as_f64()
                    .map_or("–".into(), |v| format!("{v:.3}")),
                at(s, "/ci_low")
                    .as_f64()
                    .map_or("–".into(), |v| format!("{v:.3}")),
                at(s, "/ci_high")
                    .as_f64()
                    .map_or("–".into(), |v| format!("{v:.3}")),
            );
        }
        match state {
            "completed" => {}
            "cancelled" => println!("cancelled on the server"),
            _ => println!(
                "stopped: {}",
                at(run, "/reason").as_str().unwrap_or("the run ended early")
            ),
        }
    }
    match state {
        "completed" if errors == 0 => 0,
        "completed" => 3,
        _ => 4,
    }
}
