//! `prelaunch eval`: check and run evaluation tasks from the terminal, without a server (with one:
//! `eval_server.rs`).
//!
//! Exit codes scripts can rely on: 0 every sample ran and was scored; 2 the arguments or the task are wrong
//! (every problem printed with file and line); 3 the run completed but some samples ended in error; 4 the run
//! stopped early (access to the model ended, or a result could not be written); 130 interrupted (Ctrl-C).

use anyhow::{Context, Result};
use app::clock::{Clock, SystemClock};
use app::evals::Endpoint;
use clap::{Args, Subcommand, ValueEnum};
use evals::export::{self, RunInfo, RunLog};
use evals::inspect_log::{EvalStatus, WriteLimits};
use evals::load::{self, Defaults, LoadedTask};
use evals::runner::{self, NoSandbox, Progress, Run, RunConfig, RunEnd, SampleRecord, Sink, WorkItem};
use evals::solve::Plan;
use evals::task::{ScorerSpec, SolverSpec};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

// Parsed once per process: the size of the larger variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum EvalCommand {
    /// Checks a task file, suite, challenge directory or dataset; prints every problem with its file and line.
    Validate {
        /// A task file (.toml), a suite or challenge directory, or a dataset (.jsonl, .json, .csv).
        path: PathBuf,
    },
    /// Runs a task here against an OpenAI-compatible endpoint, with a live progress line and a results table;
    /// with --notice, queues it on a server instead and follows it.
    Run(RunArgs),
    /// Writes a server run's whole log to a file (`--format inspect`: an Inspect AI `.eval`).
    Export(crate::eval_server::ExportArgs),
    /// Imports an Inspect `.eval` log into a notice on a server, as a completed run.
    Import(crate::eval_server::ImportArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// A task file (.toml), a suite or challenge directory, or a dataset (.jsonl, .json, .csv).
    path: PathBuf,
    /// The model's name at the endpoint.
    #[arg(long)]
    model: String,
    /// The endpoint's base URL (its chat completions are at BASE_URL/chat/completions).
    #[arg(long, env = "OPENAI_BASE_URL", default_value = "https://api.openai.com/v1")]
    base_url: String,
    /// The environment variable that holds the API key (never given on the command line).
    #[arg(long, default_value = "OPENAI_API_KEY")]
    api_key_env: String,
    /// Epochs per sample, instead of the task's.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    epochs: Option<u32>,
    /// Run only the first N samples of each task.
    #[arg(long)]
    limit: Option<usize>,
    /// For a bare dataset: how to ask.
    #[arg(long, value_enum, default_value_t = SolverArg::Generate)]
    solver: SolverArg,
    /// For a bare dataset: how to score.
    #[arg(long, value_enum, default_value_t = ScorerArg::Exact)]
    scorer: ScorerArg,
    /// The grading model of model-graded tasks (`[scorer] type = "model_graded"`), instead of the task's
    /// `model`; a task scored by a model runs only with one named.
    #[arg(long)]
    grader_model: Option<String>,
    /// The grader's endpoint (default: --base-url).
    #[arg(long)]
    grader_base_url: Option<String>,
    /// The environment variable that holds the grader's API key (default: --api-key-env).
    #[arg(long)]
    grader_api_key_env: Option<String>,
    /// Retries of a call that failed in a way that may pass (5xx, timeouts, refused connections).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=20))]
    max_retries: u32,
    /// Calls to the model in flight at most (the runner adapts below it on 429s and latency).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    max_connections: u32,
    /// Seconds a single call may take.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Seconds one of an agent's tool calls may run in its sandbox.
    #[arg(long, default_value_t = 120)]
    tool_timeout: u64,
    /// Also write every sample's record as JSON lines to this file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Print one JSON object with the results instead of a table.
    #[arg(long)]
    json: bool,
    /// Write each task's Inspect log here, as `<created>_<task>_<run id>.eval` (Inspect's naming), for
    /// `inspect view` and `read_eval_log`.
    #[arg(long)]
    log_dir: Option<PathBuf>,
    /// Queue the run on a server, on this notice's gateway model, instead of running it here.
    #[arg(long, requires = "server")]
    notice: Option<uuid::Uuid>,
    /// With --notice: the server's base URL.
    #[arg(long, env = "PRELAUNCH_SERVER")]
    server: Option<String>,
    /// With --notice: an API token.
    #[arg(long, env = "PRELAUNCH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// With --notice: print the run's id and return without following it.
    #[arg(long, requires = "notice")]
    detach: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum SolverArg {
    Generate,
    ChainOfThought,
    MultipleChoice,
}

#[derive(Clone, Copy, ValueEnum)]
enum ScorerArg {
    Exact,
    Includes,
    Match,
    Choice,
}

/// Runs the command; the process's exit code.
pub async fn eval(command: EvalCommand) -> Result<i32> {
    match command {
        EvalCommand::Validate { path } => {
            let problems = load::validate(&path);
            for problem in &problems {
                println!("{problem}");
            }
            if problems.is_empty() {
                println!("ok: {}", path.display());
                Ok(0)
            } else {
                Ok(2)
            }
        }
        EvalCommand::Run(args) => match (&args.notice, &args.server) {
            (Some(notice), Some(server)) => {
                let Some(token) = args.token.as_deref() else {
                    eprintln!("--token (or PRELAUNCH_TOKEN) is required with --notice");
                    return Ok(2);
                };
                crate::eval_server::run(crate::eval_server::RemoteRun {
                    path: &args.path,
                    notice: *notice,
                    model: &args.model,
                    epochs: args.epochs,
                    limit: args.limit,
                    json: args.json,
                    detach: args.detach,
                    server,
                    token,
                })
                .await
            }
            _ => run(args).await,
        },
        EvalCommand::Export(args) => crate::eval_server::export(args).await,
        EvalCommand::Import(args) => crate::eval_server::import(args).await,
    }
}

fn defaults(args: &RunArgs) -> Defaults {
    let solver = match args.solver {
        SolverArg::Generate => SolverSpec::Generate { system: None },
        SolverArg::ChainOfThought => SolverSpec::ChainOfThought {
            template: None,
            system: None,
        },
        SolverArg::MultipleChoice => SolverSpec::MultipleChoice {
            shuffle_choices: false,
            multiple_correct: false,
            template: None,
            system: None,
        },
    };
    let scorer = match args.scorer {
        ScorerArg::Exact => ScorerSpec::Exact,
        ScorerArg::Includes => ScorerSpec::Includes { ignore_case: true },
        ScorerArg::Match => ScorerSpec::Match {
            location: evals::score::Location::End,
            ignore_case: true,
        },
        ScorerArg::Choice => ScorerSpec::Choice,
    };
    Defaults {
        solver: Some(solver),
        scorer: Some(scorer),
    }
}

type Output = Mutex<std::io::BufWriter<std::fs::File>>;

/// Keeps records in memory for the summary and, when asked, appends them to a JSON-lines file.
struct Records<'a> {
    kept: Mutex<Vec<SampleRecord>>,
    file: Option<&'a Output>,
}

#[async_trait::async_trait]
impl Sink for Records<'_> {
    async fn record(&self, record: SampleRecord) -> Result<(), String> {
        if let Some(file) = self.file {
            let line = serde_json::to_string(&record).map_err(|e| e.to_string())?;
            let mut file = file
                .lock()
                .map_err(|_| "the output file's lock is poisoned".to_string())?;
            writeln!(file, "{line}").map_err(|e| format!("cannot write the output file: {e}"))?;
        }
        self.kept
            .lock()
            .map_err(|_| "the records' lock is poisoned".to_string())?
            .push(record);
        Ok(())
    }
}

async fn run(args: RunArgs) -> Result<i32> {
    let tasks = match load::load(&args.path, &defaults(&args)) {
        Ok(tasks) => tasks,
        Err(problems) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            return Ok(2);
        }
    };
    // Agents' tools run in a sandbox per sample: bubblewrap here, started through one adaptive pool.
    let pool = if tasks.iter().any(needs_sandbox) {
        let config = sandbox::bwrap::BwrapConfig::current_exe().map_err(|e| anyhow::anyhow!("{e}"))?;
        match sandbox::bwrap::BwrapDriver::new(config) {
            Ok(driver) => Some(sandbox::pool::Pool::new(
                std::sync::Arc::new(driver),
                sandbox::pool::RampConfig::default(),
            )),
            Err(e) => {
                eprintln!(
                    "{}: this task runs samples in a sandbox, and {e}",
                    args.path.display()
                );
                return Ok(2);
            }
        }
    } else {
        None
    };
    let key = std::env::var(&args.api_key_env).ok().filter(|k| !k.is_empty());
    let model = match Endpoint::new(
        &args.base_url,
        key,
        &args.model,
        Duration::from_secs(args.timeout.max(1)),
    ) {
        Ok(model) => model,
        Err(e) => {
            eprintln!("--base-url: {e}");
            return Ok(2);
        }
    };
    let mut graders = Vec::with_capacity(tasks.len());
    for task in &tasks {
        match grader(task, &args) {
            Ok(grader) => graders.push(grader),
            Err(problem) => {
                eprintln!("{}: {problem}", task.source.display());
                return Ok(2);
            }
        }
    }
    let file = match &args.output {
        Some(path) => Some(Mutex::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ))),
        None => None,
    };
    let run_id = uuid::Uuid::now_v7().to_string();
    let created = iso(SystemClock.now());
    if let Some(dir) = &args.log_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let max = args.max_connections as usize;
    let config = RunConfig {
        samples_at_once: max,
        calls_initial: max.min(16),
        calls_max: max,
        retry: evals::control::RetryPolicy {
            attempts: args.max_retries + 1,
            ..evals::control::RetryPolicy::default()
        },
    };
    let (cancel, cancelled) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.send_replace(true);
        }
    });
    let mut outcomes = Vec::new();
    let mut end = RunEnd::Completed;
    for (task, grader) in tasks.iter().zip(&graders) {
        let environment: Box<dyn runner::Environment + '_> = match &pool {
            Some(pool) if needs_sandbox(task) => Box::new(app::evals::Sandboxed {
                pool,
                limits: sandbox::Limits::default(),
                tool_timeout: Duration::from_secs(args.tool_timeout.max(1)),
                samples: &task.sandboxed,
            }),
            _ => Box::new(NoSandbox),
        };
        let (outcome, task_end) = run_task(
            task,
            &args,
            (&run_id, &created),
            (&model, grader.as_ref()),
            environment.as_ref(),
            &config,
            cancelled.clone(),
            file.as_ref(),
        )
        .await?;
        outcomes.push(outcome);
        if task_end != RunEnd::Completed {
            end = task_end;
            break;
        }
    }
    if let Some(file) = &file {
        file.lock()
            .map_err(|_| anyhow::anyhow!("the output file's lock is poisoned"))?
            .flush()?;
    }
    report(&run_id, &args, &outcomes, &end);
    let errors: usize = outcomes.iter().map(|o| o.results.errors).sum();
    Ok(match end {
        RunEnd::Completed if errors == 0 => 0,
        RunEnd::Completed => 3,
        RunEnd::Cancelled => 130,
        RunEnd::AccessEnded(_) | RunEnd::SinkFailed(_) => 4,
    })
}

struct Outcome {
    name: String,
    results: runner::Results,
    headline: Vec<f64>,
    log: Option<WrittenLog>,
}

/// A task's Inspect log as written.
struct WrittenLog {
    path: PathBuf,
    bytes: u64,
    /// Seconds the writing took, from the first record to the file in place.
    seconds: f64,
}

/// A time as Inspect writes it: ISO 8601 to the second, with its offset.
fn iso(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// A model-graded task's grader: `--grader-model` or the task's own `model`, at `--grader-base-url` (default
/// `--base-url`) with the key in `--grader-api-key-env` (default `--api-key-env`). None for other scorers; an
/// error when the task needs a grader and none is named.
fn grader(task: &LoadedTask, args: &RunArgs) -> Result<Option<Endpoint>, String> {
    let ScorerSpec::ModelGraded { model, .. } = &task.spec.scorer else {
        return Ok(None);
    };
    let Some(name) = args.grader_model.as_ref().or(model.as_ref()) else {
        return Err(
            "the task is scored by a model (`model_graded`) and names none: give --grader-model NAME \
             (and --grader-base-url URL when it is not at --base-url)"
                .into(),
        );
    };
    let base_url = args.grader_base_url.as_deref().unwrap_or(&args.base_url);
    let key_env = args.grader_api_key_env.as_deref().unwrap_or(&args.api_key_env);
    let key = std::env::var(key_env).ok().filter(|k| !k.is_empty());
    Endpoint::new(base_url, key, name, Duration::from_secs(args.timeout.max(1)))
        .map(Some)
        .map_err(|e| format!("--grader-base-url: {e}"))
}

/// Whether a task's samples run in a sandbox: an agent's do, and so do samples that bring files or a setup.
fn needs_sandbox(task: &LoadedTask) -> bool {
    matches!(task.spec.solver, SolverSpec::Agent { .. })
        || task
            .samples
            .iter()
            .any(|s| s.files.as_ref().is_some_and(|f| !f.is_empty()) || s.setup.is_some())
}

#[allow(clippy::too_many_arguments)]
async fn run_task(
    task: &LoadedTask,
    args: &RunArgs,
    (run_id, created): (&str, &str),
    (model, grader): (&Endpoint, Option<&Endpoint>),
    environment: &dyn runner::Environment,
    config: &RunConfig,
    cancelled: tokio::sync::watch::Receiver<bool>,
    file: Option<&Output>,
) -> Result<(Outcome, RunEnd)> {
    let mut spec = task.spec.clone();
    if let Some(epochs) = args.epochs {
        spec.epochs = epochs;
    }
    let plan = Plan::new(spec).map_err(|e| anyhow::anyhow!("{}: {e}", task.source.display()))?;
    let count = args.limit.unwrap_or(usize::MAX).min(task.samples.len());
    let samples = task.samples.get(..count).unwrap_or_default();
    let items: Vec<WorkItem> = runner::work_items(samples.len(), plan.spec.epochs);
    let sink = Records {
        kept: Mutex::new(Vec::new()),
        file,
    };
    let bar = Bar::new(&plan.spec.name);
    let started_at = iso(SystemClock.now());
    let run_ = Run {
        plan: &plan,
        samples,
        model,
        grader: grader.map(|g| g as &dyn evals::model::Model),
        environment,
        sink: &sink,
        config: *config,
    };
    let end = runner::run(&run_, &items, cancelled, &|p| bar.show(p)).await;
    bar.finish();
    let records = sink.kept.into_inner().unwrap_or_default();
    let results = runner::summarize(&plan, samples, &records);
    let headline = headline(&plan, samples.len(), &records);
    let log = match &args.log_dir {
        Some(dir) => {
            let completed_at = iso(SystemClock.now());
            let eval_id = uuid::Uuid::now_v7().to_string();
            let location = task.source.display().to_string();
            let (status, error) = match &end {
                RunEnd::Completed => (EvalStatus::Success, None),
                RunEnd::Cancelled => (EvalStatus::Cancelled, None),
                RunEnd::AccessEnded(why) | RunEnd::SinkFailed(why) => (EvalStatus::Error, Some(why.as_str())),
            };
            let run = RunLog {
                spec: &plan.spec,
                samples,
                results: &results,
                info: RunInfo {
                    run_id,
                    eval_id: &eval_id,
                    model: &args.model,
                    created,
                    started_at: &started_at,
                    completed_at: &completed_at,
                    status,
                    error,
                    location: Some(&location),
                    version: env!("CARGO_PKG_VERSION"),
                },
            };
            let path = dir.join(export::file_name(created, &plan.spec.name, run_id));
            let writing = Instant::now();
            let path = export::write_log_file(&path, &run, &records, WriteLimits::default())?;
            let seconds = writing.elapsed().as_secs_f64();
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            Some(WrittenLog { path, bytes, seconds })
        }
        None => None,
    };
    Ok((
        Outcome {
            name: plan.spec.name.clone(),
            results,
            headline,
            log,
        },
        end,
    ))
}

/// Each sample's value under the task's first reducer (samples with no scored epoch left out).
fn headline(plan: &Plan, samples: usize, records: &[SampleRecord]) -> Vec<f64> {
    let mut epochs = vec![Vec::new(); samples];
    for record in records {
        if let (Some(v), Some(list)) = (record.value(), epochs.get_mut(record.item.index)) {
            list.push(v);
        }
    }
    let reducer = plan
        .spec
        .parsed_reducers()
        .first()
        .copied()
        .unwrap_or(evals::metrics::Reducer::Mean);
    epochs.iter().filter_map(|e| reducer.reduce(e)).collect()
}

/// The progress line on standard error: redrawn in place on a terminal, a line every few seconds otherwise.
pub(crate) struct Bar {
    name: String,
    terminal: bool,
    last: Mutex<Option<Instant>>,
}

impl Bar {
    pub(crate) fn new(name: &str) -> Self {
        Bar {
            name: name.to_string(),
            terminal: std::io::stderr().is_terminal(),
            last: Mutex::new(None),
        }
    }

    pub(crate) fn show(&self, p: &Progress) {
        let every = if self.terminal {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(5)
        };
        let Ok(mut last) = self.last.lock() else { return };
        if last.is_some_and(|at| at.elapsed() < every) && p.done < p.total {
            return;
        }
        *last = Some(Instant::now());
        let width = 24;
        let filled = (p.done * width).checked_div(p.total).unwrap_or(width);
        let bar: String = "#".repeat(filled) + &"-".repeat(width - filled);
        let accuracy = p.accuracy().map_or("accuracy –".to_string(), |(a, l, h)| {
            format!("accuracy {a:.3} [{l:.3}, {h:.3}]")
        });
        let eta = p.eta().map_or("–".to_string(), |d| format!("{}s", d.as_secs()));
        let line = format!(
            "{} [{bar}] {}/{} {accuracy} {:.1}/s errors {} eta {eta}",
            self.name,
            p.done,
            p.total,
            p.rate(),
            p.errors
        );
        if self.terminal {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    }

    pub(crate) fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}

fn report(run_id: &str, args: &RunArgs, outcomes: &[Outcome], end: &RunEnd) {
    let pooled: Vec<f64> = outcomes.iter().flat_map(|o| o.headline.iter().copied()).collect();
    let overall = evals::metrics::Summary::of(&pooled);
    let samples: usize = outcomes.iter().map(|o| o.results.samples).sum();
    let completed: usize = outcomes.iter().map(|o| o.results.completed).sum();
    let errors: usize = outcomes.iter().map(|o| o.results.errors).sum();
    if args.json {
        let tasks: Vec<_> = outcomes
            .iter()
            .map(|o| {
                json!({"task": o.name, "results": o.results, "log": o.log.as_ref().map(|l| json!({
                    "path": l.path, "bytes": l.bytes, "seconds": l.seconds,
                }))})
            })
            .collect();
        let out = json!({
            "run_id": run_id,
            "model": args.model,
            "status": end,
            "samples": samples,
            "completed": completed,
            "errors": errors,
            "accuracy": overall.map(|s| s.accuracy),
            "stderr": overall.map(|s| s.stderr),
            "ci95": overall.map(|s| [s.ci_low, s.ci_high]),
            "tasks": tasks,
        });
        println!("{out}");
        return;
    }
    println!("run {run_id}  model {}", args.model);
    println!(
        "{:<28} {:>8} {:>9} {:>7}  {:<12} {:>8} {:>8}  95% interval",
        "task", "samples", "completed", "errors", "reducer", "value", "stderr"
    );
    for o in outcomes {
        for (i, r) in o.results.reducers.iter().enumerate() {
            let (name, samples, completed, errors) = if i == 0 {
                (
                    o.name.as_str(),
                    o.results.samples.to_string(),
                    o.results.completed.to_string(),
                    o.results.errors.to_string(),
                )
            } else {
                ("", String::new(), String::new(), String::new())
            };
            match r.summary {
                Some(s) => println!(
                    "{name:<28} {samples:>8} {completed:>9} {errors:>7}  {:<12} {:>8.3} {:>8.3}  [{:.3}, {:.3}]",
                    r.reducer, s.accuracy, s.stderr, s.ci_low, s.ci_high
                ),
                None => println!(
                    "{name:<28} {samples:>8} {completed:>9} {errors:>7}  {:<12} {:>8}",
                    r.reducer, "–"
                ),
            }
        }
        for grouping in &o.results.groups {
            for (value, s) in &grouping.groups {
                let label = format!("  {}={}", grouping.field, value.as_deref().unwrap_or("(none)"));
                println!(
                    "{label:<28} {:>8} {:>9} {:>7}  {:<12} {:>8.3} {:>8.3}  [{:.3}, {:.3}]",
                    s.n, "", "", "", s.accuracy, s.stderr, s.ci_low, s.ci_high
                );
            }
        }
    }
    for o in outcomes {
        if let Some(log) = &o.log {
            println!("log {}  {}", o.name, log.path.display());
        }
    }
    match end {
        RunEnd::Completed => {}
        RunEnd::Cancelled => println!("interrupted: the samples above ended before the interruption"),
        RunEnd::AccessEnded(why) => println!("stopped: access to the model ended ({why})"),
        RunEnd::SinkFailed(why) => println!("stopped: a result could not be written ({why})"),
    }
}
