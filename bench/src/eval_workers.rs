//! `bench eval-workers`: one evaluation run on the server, executed by one `prelaunch worker` process and then
//! by two, over one PostgreSQL, against a mock model with a fixed service time, so that each worker's
//! concurrency is the bound: samples/s of each and their ratio.
//!
//! For each run and each worker count: a fresh database provisioned as for `bench gateway` (a notice in review,
//! an assigned evaluator, a model connection to the mock with the highest limits a connection allows), the
//! workers started on it (`--kinds eval.batch --concurrency C`) and waited for, then the run started through
//! `App::start_eval_run` (the operation `POST /api/v1/eval-runs` calls), whose batches become visible to every
//! worker at its commit. The rate is the samples over the time from that commit to the run's `ended_at`, which
//! the worker recording its last sample writes. See `bench/README.md`.

use crate::gateway::procs::Proc;
use crate::gateway::setup::{Shape, provision};
use crate::{Backend, Database};
use anyhow::{Context, Result, bail};
use app::evals::NewEvalRun;
use app::{Clock, SystemClock};
use axum::Router;
use axum::routing::post;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use store::EvalRunState;

#[derive(clap::Args)]
pub struct EvalWorkersArgs {
    #[arg(long, value_enum)]
    pub backend: Backend,
    /// A PostgreSQL server to create a fresh database on (e.g. postgres://user@127.0.0.1:5432/postgres).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Samples in the run (one epoch); at most what an inline dataset holds (192 KiB, ~2,900 samples).
    #[arg(long, default_value_t = 2_000)]
    pub samples: usize,
    /// Worker process counts to measure, in order.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2])]
    pub workers: Vec<usize>,
    /// Each worker's `--concurrency` (batches at once; a batch runs its 8 samples at once).
    #[arg(long, default_value_t = 2)]
    pub concurrency: u16,
    /// The mock model's service time per call, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub service_ms: u64,
    /// Runs over every worker count; the report gives medians.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// The `prelaunch` binary the workers run.
    #[arg(long, default_value = "target/release/prelaunch")]
    pub prelaunch: PathBuf,
    /// Give up on a measurement after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

/// One generation, the exact-match scorer; the mock answers `4`, every target is `4`.
const TASK: &str = "name = \"arith\"\ndataset = \"inline.jsonl\"\n\n[scorer]\ntype = \"exact\"\n";

pub async fn run(args: EvalWorkersArgs) -> Result<()> {
    if args.backend != Backend::Postgres {
        bail!("two workers share a run over PostgreSQL: --backend postgres (BACKENDS=postgres bench/run.sh)");
    }
    if !args.prelaunch.exists() {
        bail!(
            "no prelaunch binary at {} (cargo build --release -p prelaunch)",
            args.prelaunch.display()
        );
    }
    let mock = mock_model(Duration::from_millis(args.service_ms)).await?;
    eprintln!("mock model at {mock}, {} ms per call", args.service_ms);
    let mut all: Vec<(usize, Vec<f64>)> = args.workers.iter().map(|w| (*w, Vec::new())).collect();
    for run in 1..=args.runs {
        for (workers, rates) in &mut all {
            let rate = measure(&args, &mock, *workers).await?;
            eprintln!("run {run}: {workers} worker(s): {rate:.1} samples/s");
            rates.push(rate);
        }
    }
    let calls = usize::from(args.concurrency) * app::evals::runs::BATCH_ITEMS;
    println!(
        "\n### PostgreSQL: a run of {} samples (one generate, exact match), mock model {} ms per call, \
         `prelaunch worker --concurrency {}` ({calls} calls in flight per worker at most), median of {} runs\n",
        args.samples, args.service_ms, args.concurrency, args.runs
    );
    println!(
        "| workers | samples/s | ceiling (calls in flight ÷ service time) | ratio to 1 worker | runs (samples/s) |"
    );
    println!("|---:|---:|---:|---:|---|");
    let one = all.iter().find(|(w, _)| *w == 1).map(|(_, r)| median(r.clone()));
    for (workers, rates) in &all {
        let m = median(rates.clone());
        let ceiling = (*workers * calls) as f64 * 1000.0 / args.service_ms.max(1) as f64;
        let ratio = one.map_or("–".into(), |one| format!("{:.2}×", m / one));
        let each: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "| {workers} | {m:.0} | {ceiling:.0} | {ratio} | {} |",
            each.join(", ")
        );
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values.get(n / 2).copied().unwrap_or(f64::NAN),
        _ => {
            (values.get(n / 2 - 1).copied().unwrap_or(f64::NAN)
                + values.get(n / 2).copied().unwrap_or(f64::NAN))
                / 2.0
        }
    }
}

async fn measure(args: &EvalWorkersArgs, mock: &str, workers: usize) -> Result<f64> {
    let database = Database::create(args.backend, args.database_url.as_deref()).await?;
    let Database::Postgres { name, .. } = &database else {
        bail!("PostgreSQL only");
    };
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir)?;
    let outcome = measure_on(args, mock, workers, database.url(), &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    database.remove().await?;
    outcome
}

async fn measure_on(
    args: &EvalWorkersArgs,
    mock: &str,
    workers: usize,
    url: &str,
    dir: &Path,
) -> Result<f64> {
    let shape = Shape {
        tokens: 1,
        evaluators: 1,
        requests_per_minute: 100_000,
    };
    let provisioned = provision(dir, Some(url), mock, &shape).await?;
    let evaluator = provisioned.evaluators.first().context("an evaluator")?;

    let mut procs = Vec::new();
    for n in 0..workers {
        let mut c = tokio::process::Command::new(&args.prelaunch);
        c.arg("worker")
            .arg("--data-dir")
            .arg(dir)
            .args(["--database-url", url])
            .args(["--kinds", app::evals::EVAL_BATCH])
            .args(["--concurrency", &args.concurrency.to_string()])
            .arg("--allow-private-upstreams");
        for var in [
            "DATABASE_URL",
            "PRELAUNCH_DATA_DIR",
            "PRELAUNCH_MASTER_KEY_FILE",
            "PRELAUNCH_LEDGER_KEY_FILE",
            "PRELAUNCH_WORKER_KINDS",
            "PRELAUNCH_WORKER_CONCURRENCY",
            "PRELAUNCH_LOG",
        ] {
            c.env_remove(var);
        }
        let mut proc = Proc::start("prelaunch worker", c, &dir.join(format!("worker-{n}.log")))?;
        proc.line_with("is running jobs", Duration::from_secs(60)).await?;
        procs.push(proc);
    }

    let dataset: String = (1..=args.samples)
        .map(|i| {
            json!({"id": i, "input": format!("What is 2+2? (question {i})"), "target": "4"}).to_string()
                + "\n"
        })
        .collect();
    let outcome = async {
        let run = provisioned
            .app
            .start_eval_run(
                evaluator,
                NewEvalRun {
                    notice_id: provisioned.notice_id,
                    model: provisioned.model.clone(),
                    task: Some(TASK.into()),
                    dataset: Some(dataset),
                    dataset_format: Some("jsonl".into()),
                    ..NewEvalRun::default()
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("starting the run: {e}"))?;
        // The run and its batches are committed: the workers may claim them from now.
        let committed = SystemClock.now();
        let deadline = Instant::now() + Duration::from_secs(args.timeout);
        loop {
            let row = provisioned
                .app
                .store
                .eval_run(run.id)
                .await?
                .context("the run is gone")?;
            match row.state {
                EvalRunState::Completed => {
                    if row.done != row.total || row.errors != 0 {
                        bail!(
                            "the run completed with {} of {} done, {} errors",
                            row.done,
                            row.total,
                            row.errors
                        );
                    }
                    let ended = row.ended_at.context("a completed run without its end")?;
                    let seconds = (ended - committed).num_milliseconds() as f64 / 1000.0;
                    return Ok(row.total as f64 / seconds.max(0.001));
                }
                state if !state.is_active() => bail!("the run ended {}: {:?}", state.as_str(), row.reason),
                _ => {}
            }
            if Instant::now() > deadline {
                bail!(
                    "only {} of {} samples done after {} s",
                    row.done,
                    row.total,
                    args.timeout
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    .await;
    for proc in procs {
        proc.stop(Duration::from_secs(30)).await;
    }
    outcome
}

/// An OpenAI-compatible chat completions endpoint on loopback that answers `4` after `service`.
async fn mock_model(service: Duration) -> Result<String> {
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
            async move {
                tokio::time::sleep(service).await;
                ([("content-type", "application/json")], body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}
