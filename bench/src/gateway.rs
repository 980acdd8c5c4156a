//! `bench gateway`: the model access gateway's overhead, side by side with LiteLLM's proxy.
//!
//! `run` starts, each in its own process and on loopback only, a mock model API with a fixed service time
//! (`mock-upstream`), the real `prelaunch serve` over a freshly provisioned data directory, and (when given)
//! LiteLLM's proxy pointing at the same mock. It then sends the same open-loop load straight to the mock and
//! through each proxy, at each rate, for non-streaming and streaming calls, three runs by default, and prints
//! Markdown tables: latency, what each proxy adds over the direct call, memory, errors; then a rate ladder
//! that finds each one's sustainable rate. See `bench/README.md`.
//!
//! `hostile` measures the server's memory while a hostile upstream answers with far more than a connection
//! allows (`hostile.rs`).

mod hostile;
mod mock;
mod open_loop;
pub(crate) mod procs;
mod report;
pub(crate) mod setup;

use crate::{Backend, Database};
use anyhow::{Context, Result, bail};
use open_loop::{Mode, Outcome, Step, Target};
use procs::Proc;
use report::{line, report, sustainable};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::process::Command as Process;

#[derive(clap::Subcommand)]
pub enum Command {
    /// The mock model API (`run` starts it in its own process).
    MockUpstream {
        /// A loopback address; port 0 picks a free one (printed on stdout).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        #[command(flatten)]
        shape: mock::Shape,
    },
    /// Starts the mock, `prelaunch serve` and LiteLLM's proxy on loopback, and measures them.
    Run(Box<RunArgs>),
    /// A model API that answers every call with far more than a connection allows (`hostile` starts it).
    HostileUpstream {
        /// A loopback address; port 0 picks a free one (printed on stdout).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Bytes of every answer.
        #[arg(long, default_value_t = 300_000_000)]
        bytes: u64,
    },
    /// Prelaunch's memory while several evaluators get answers of hundreds of megabytes from a hostile upstream.
    Hostile(hostile::HostileArgs),
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// The `prelaunch` binary to measure (a release build).
    #[arg(long, default_value = "target/release/prelaunch")]
    prelaunch: PathBuf,
    /// LiteLLM's `litellm` command; LiteLLM is left out when not given.
    #[arg(long)]
    litellm: Option<PathBuf>,
    #[arg(long, default_value = "bench/gateway/litellm.yaml")]
    litellm_config: PathBuf,
    /// LiteLLM's worker processes (its documented default is one per CPU).
    #[arg(long, default_value_t = 2)]
    litellm_workers: usize,
    /// Requests per second of the side-by-side measurements.
    #[arg(long, value_delimiter = ',', default_values_t = [200.0, 500.0, 1000.0])]
    rates: Vec<f64>,
    /// Runs over every measurement; the tables give the median of each figure.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Seconds measured at each rate.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of load, unmeasured, before.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Seconds after which a request counts as failed.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Requests in flight at most; one more is counted as an error instead of queued in the client.
    #[arg(long, default_value_t = 2000)]
    max_in_flight: usize,
    /// Gateway tokens used in turn.
    #[arg(long, default_value_t = 32)]
    tokens: usize,
    /// Evaluators the tokens belong to, in turn (limits apply per evaluator, across their tokens).
    #[arg(long, default_value_t = 8)]
    evaluators: usize,
    /// The connection's limit of requests per minute per evaluator (by default the highest allowed).
    #[arg(long, default_value_t = ::gateway::settings::MAX_REQUESTS_PER_MINUTE)]
    requests_per_minute: u32,
    /// `prelaunch serve` processes over the one database (and data directory), sent requests in turn.
    #[arg(long, default_value_t = 1)]
    processes: usize,
    /// The async runtime's worker threads in each `prelaunch serve` (`TOKIO_WORKER_THREADS`; default: one per
    /// core). Several processes on few cores may each be given their share of the cores.
    #[arg(long)]
    server_threads: Option<usize>,
    /// Skip the search for each one's sustainable rate.
    #[arg(long)]
    no_ladder: bool,
    /// The low rate whose p99 is each one's reference in the search.
    #[arg(long, default_value_t = 50.0)]
    baseline_rate: f64,
    /// Rates tried in the search, in order; it stops at the first that fails.
    #[arg(long, value_delimiter = ',', default_values_t = [100.0, 200.0, 300.0, 400.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0, 6000.0, 8000.0])]
    ladder_rates: Vec<f64>,
    /// Seconds measured at each rate of the search (after one second of warm-up).
    #[arg(long, default_value_t = 5)]
    ladder_duration: u64,
    #[command(flatten)]
    shape: mock::Shape,
    /// The gateway's database: SQLite in the data directory, or a fresh PostgreSQL database.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,
    /// PostgreSQL: a server to create the fresh database on (e.g. postgres://user@127.0.0.1:5432/postgres).
    #[arg(long)]
    database_url: Option<String>,
    /// Keep the data directory and the servers' logs (its path is printed).
    #[arg(long)]
    keep: bool,
}

pub async fn main(command: Command) -> Result<()> {
    match command {
        Command::MockUpstream { listen, shape } => {
            if !listen.ip().is_loopback() {
                bail!("the mock listens on loopback only, not {listen}");
            }
            mock::serve(listen, shape).await
        }
        Command::HostileUpstream { listen, bytes } => {
            if !listen.ip().is_loopback() {
                bail!("the hostile upstream listens on loopback only, not {listen}");
            }
            hostile::serve(listen, bytes).await
        }
        Command::Hostile(args) => hostile::run(&args).await,
        Command::Run(args) => {
            let dir =
                std::env::temp_dir().join(format!("prelaunch_gwbench_{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir)?;
            let database = match args.backend {
                Backend::Sqlite => None,
                Backend::Postgres => {
                    Some(Database::create(args.backend, args.database_url.as_deref()).await?)
                }
            };
            let outcome = run(&args, &dir, database.as_ref().map(Database::url)).await;
            if args.keep || outcome.is_err() {
                eprintln!("the data directory and logs are in {}", dir.display());
            } else {
                std::fs::remove_dir_all(&dir)?;
            }
            if let Some(database) = database {
                if args.keep {
                    eprintln!("kept the database: {}", database.url());
                } else {
                    database.remove().await?;
                }
            }
            outcome
        }
    }
}

/// The LiteLLM proxy's master key (it only guards this loopback run).
const LITELLM_KEY: &str = "sk-bench-litellm-master-key";
/// The model name in `bench/gateway/litellm.yaml`.
const LITELLM_MODEL: &str = "bench-model";

/// A target under load and the processes whose memory is reported for it (summed).
struct Measured {
    target: Target,
    pids: Vec<u32>,
}

/// One step's figures and the process's memory during it.
#[derive(Clone)]
struct Figures {
    outcome: Outcome,
    rss_peak_kib: u64,
}

async fn run(args: &RunArgs, dir: &std::path::Path, database_url: Option<&str>) -> Result<()> {
    let client = open_loop::client()?;
    let this = std::env::current_exe()?;
    let shape = args.shape;

    let mut mock = Proc::start(
        "mock upstream",
        {
            let mut c = Process::new(&this);
            c.args(["gateway", "mock-upstream", "--listen", "127.0.0.1:0"])
                .args(["--service-us", &shape.service_us.to_string()])
                .args(["--chunks", &shape.chunks.to_string()])
                .args(["--gap-us", &shape.gap_us.to_string()]);
            c
        },
        &dir.join("mock.log"),
    )?;
    let line = mock.line_with("listening on", Duration::from_secs(10)).await?;
    let mock_url = line.rsplit(' ').next().context("the mock's address")?.to_owned();
    let upstream = format!("{mock_url}/v1");
    eprintln!("mock upstream at {upstream} (pid {})", mock.pid);

    let shape_of_gateway = setup::Shape {
        tokens: args.tokens,
        evaluators: args.evaluators,
        requests_per_minute: args.requests_per_minute,
    };
    let provisioned = setup::provision(dir, database_url, &upstream, &shape_of_gateway).await?;
    // Every process on the same data directory (master key, SQLite file or PostgreSQL URL, call journal).
    let mut prelaunch = Vec::new();
    let mut prelaunch_urls = Vec::new();
    for n in 0..args.processes.max(1) {
        let mut c = setup::serve_command(&args.prelaunch, dir, database_url);
        if let Some(threads) = args.server_threads {
            c.env("TOKIO_WORKER_THREADS", threads.max(1).to_string());
        }
        let log = if n == 0 {
            dir.join("prelaunch.log")
        } else {
            dir.join(format!("prelaunch-{n}.log"))
        };
        let mut proc = Proc::start("prelaunch", c, &log)?;
        let line = proc
            .line_with("Prelaunch is listening on", Duration::from_secs(60))
            .await?;
        let url = line.rsplit(' ').next().context("prelaunch's address")?.to_owned();
        eprintln!("prelaunch serve at {url} (pid {})", proc.pid);
        prelaunch_urls.push(format!("{url}/gateway/v1/chat/completions"));
        prelaunch.push(proc);
    }

    let mut litellm = None;
    if let Some(command) = &args.litellm {
        let port = procs::free_port()?;
        let mut c = Process::new(command);
        c.arg("--config")
            .arg(&args.litellm_config)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--num_workers", &args.litellm_workers.to_string()])
            .env("MOCK_API_BASE", &upstream)
            .env("LITELLM_MASTER_KEY", LITELLM_KEY)
            // Use the model cost map shipped in the package instead of fetching it: loopback traffic only.
            .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            .env("LITELLM_MODE", "PRODUCTION")
            .env("LITELLM_LOG", "ERROR")
            .env_remove("DATABASE_URL");
        let mut proc = Proc::start("litellm", c, &dir.join("litellm.log"))?;
        proc.drain_stdout();
        let base = format!("http://127.0.0.1:{port}");
        procs::wait_ready(
            &client,
            &format!("{base}/health/liveliness"),
            Duration::from_secs(180),
        )
        .await
        .context("LiteLLM's proxy did not start (see litellm.log)")?;
        eprintln!("litellm proxy at {base} (pid {})", proc.pid);
        litellm = Some((proc, base));
    }

    let mut targets = vec![
        Measured {
            target: Target {
                name: "direct",
                urls: vec![format!("{upstream}/chat/completions")],
                keys: vec![setup::UPSTREAM_CREDENTIAL.into()],
                model: setup::UPSTREAM_MODEL.into(),
            },
            pids: vec![mock.pid],
        },
        Measured {
            target: Target {
                name: "prelaunch",
                urls: prelaunch_urls,
                keys: provisioned.tokens.clone(),
                model: provisioned.model.clone(),
            },
            pids: prelaunch.iter().map(|p| p.pid).collect(),
        },
    ];
    if let Some((proc, base)) = &litellm {
        targets.push(Measured {
            target: Target {
                name: "litellm",
                urls: vec![format!("{base}/v1/chat/completions")],
                keys: vec![LITELLM_KEY.into()],
                model: LITELLM_MODEL.into(),
            },
            pids: vec![proc.pid],
        });
    }

    let bench = Bench {
        client,
        args,
        litellm_base: litellm.as_ref().map(|(_, base)| base.clone()),
    };
    // Every target must answer both kinds of call correctly before anything is measured.
    for m in &targets {
        for mode in [Mode::Json, Mode::Stream] {
            let check = bench.step(m, mode, 5.0, 0, 1).await?;
            if check.outcome.ok == 0 || check.outcome.error_count() > 0 {
                bail!(
                    "{} does not answer {} calls: {:?} (logs in {})",
                    m.target.name,
                    mode.label(),
                    check.outcome.errors,
                    dir.display()
                );
            }
        }
    }
    let idle: Vec<(&str, u64)> = targets
        .iter()
        .map(|m| (m.target.name, m.pids.iter().map(|p| procs::rss_kib(*p)).sum()))
        .collect();

    let matrix = bench.matrix(&targets).await?;
    let after: Vec<(&str, u64, Option<u64>)> = targets
        .iter()
        .map(|m| {
            let peaks: Option<Vec<u64>> = m.pids.iter().map(|p| procs::peak_kib(*p)).collect();
            (
                m.target.name,
                m.pids.iter().map(|p| procs::rss_kib(*p)).sum(),
                peaks.map(|p| p.iter().sum()),
            )
        })
        .collect();
    let ladder = if args.no_ladder {
        None
    } else {
        // LiteLLM first: its p99 at its sustainable rate is the bar the others are then held to.
        targets.reverse();
        Some(bench.ladder(&targets).await?)
    };

    report(args, &matrix, &idle, &after, ladder.as_ref());

    for proc in prelaunch {
        proc.stop(Duration::from_secs(10)).await;
    }
    if let Some((proc, _)) = litellm {
        proc.stop(Duration::from_secs(10)).await;
    }
    mock.stop(Duration::from_secs(5)).await;
    Ok(())
}

/// The side-by-side figures: (mode, rate, target) → one `Figures` per run.
type Matrix = BTreeMap<(Mode, u64, &'static str), Vec<Figures>>;

/// Each rate tried in the search, with its figures.
type Rungs = Vec<(f64, Figures)>;

/// The rate search, per target: the low-rate reference and the rates tried.
struct Ladder {
    rungs: Vec<(&'static str, Figures, Rungs)>,
}

struct Bench<'a> {
    client: reqwest::Client,
    args: &'a RunArgs,
    litellm_base: Option<String>,
}

impl Bench<'_> {
    /// Runs one step, sampling the target process's memory every 100 ms meanwhile.
    async fn step(&self, m: &Measured, mode: Mode, rate: f64, warmup: u64, duration: u64) -> Result<Figures> {
        let step = Step {
            rate,
            warmup: Duration::from_secs(warmup),
            duration: Duration::from_secs(duration),
            timeout: Duration::from_secs(self.args.timeout),
            max_in_flight: self.args.max_in_flight,
        };
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let pids = m.pids.clone();
        let sampler = tokio::spawn(async move {
            let mut peak = 0;
            loop {
                peak = peak.max(pids.iter().map(|p| procs::rss_kib(*p)).sum());
                tokio::select! {
                    _ = &mut stopped => return peak,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        });
        let outcome = open_loop::run(&self.client, &m.target, mode, step).await;
        let _ = stop.send(());
        let rss_peak_kib = sampler.await.unwrap_or(0);
        let outcome = outcome?;
        self.settle(m, &outcome).await;
        Ok(Figures {
            outcome,
            rss_peak_kib,
        })
    }

    /// A pause between steps; after an overloaded step, waits until the target answers promptly again.
    async fn settle(&self, m: &Measured, outcome: &Outcome) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if outcome.error_count() == 0 {
            return;
        }
        let ready = match (m.target.name, &self.litellm_base) {
            ("litellm", Some(base)) => format!("{base}/health/liveliness"),
            _ => return tokio::time::sleep(Duration::from_secs(2)).await,
        };
        if let Err(error) = procs::wait_ready(&self.client, &ready, Duration::from_secs(120)).await {
            eprintln!("  {} did not recover: {error}", m.target.name);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    async fn matrix(&self, targets: &[Measured]) -> Result<Matrix> {
        let mut matrix = Matrix::new();
        for run in 1..=self.args.runs {
            for mode in [Mode::Json, Mode::Stream] {
                for &rate in &self.args.rates {
                    for m in targets {
                        let figures = self
                            .step(m, mode, rate, self.args.warmup, self.args.duration)
                            .await?;
                        eprintln!(
                            "run {run}: {:<13} {:>5}/s {:<9} {}",
                            mode.label(),
                            rate,
                            m.target.name,
                            line(&figures)
                        );
                        matrix
                            .entry((mode, rate as u64, m.target.name))
                            .or_default()
                            .push(figures);
                    }
                }
            }
        }
        Ok(matrix)
    }

    /// Raises the rate of non-streaming calls until the p99 passes both twice the p99 at the low rate and
    /// the bar set by the first target (LiteLLM's p99 at its sustainable rate), or a call fails.
    async fn ladder(&self, targets: &[Measured]) -> Result<Ladder> {
        let mut ladder = Ladder { rungs: Vec::new() };
        let mut bar: Option<Duration> = None;
        for m in targets {
            let base = self
                .step(
                    m,
                    Mode::Json,
                    self.args.baseline_rate,
                    1,
                    self.args.ladder_duration,
                )
                .await?;
            let own = base.outcome.p(0.99) * 2;
            eprintln!(
                "ladder: {:<9} {:>5}/s {} (reference)",
                m.target.name,
                self.args.baseline_rate,
                line(&base)
            );
            let mut rungs = Vec::new();
            for &rate in &self.args.ladder_rates {
                let figures = self
                    .step(m, Mode::Json, rate, 1, self.args.ladder_duration)
                    .await?;
                eprintln!("ladder: {:<9} {:>5}/s {}", m.target.name, rate, line(&figures));
                let p99 = figures.outcome.p(0.99);
                let clean = figures.outcome.error_count() == 0;
                rungs.push((rate, figures));
                if !clean || p99 > own.max(bar.unwrap_or_default()) {
                    break;
                }
            }
            if bar.is_none() {
                bar = sustainable(&base, &rungs).map(|(_, f)| f.outcome.p(0.99));
            }
            ladder.rungs.push((m.target.name, base, rungs));
        }
        Ok(ladder)
    }
}

/// The highest rate whose p99 is within twice the low-rate p99, with no error, and its figures.
#[cfg(test)]
mod tests {
    use super::report::{added, rate_within, secs};
    use super::*;

    fn figures(p99_ms: u64, errors: usize) -> Figures {
        let mut outcome = Outcome {
            latency: vec![Duration::from_millis(p99_ms); 10],
            ..Outcome::default()
        };
        if errors > 0 {
            outcome.errors.insert("timeout".into(), errors);
        }
        Figures {
            outcome,
            rss_peak_kib: 0,
        }
    }

    #[test]
    fn the_sustainable_rate_is_the_last_clean_one_within_twice_the_reference() {
        let base = figures(10, 0);
        // (rate, p99 ms, errors) of each rate tried, and the sustainable rate.
        type Case<'a> = (&'a [(f64, u64, usize)], Option<f64>);
        let cases: [Case; 5] = [
            (&[(100.0, 12, 0), (200.0, 19, 0), (300.0, 25, 0)], Some(200.0)),
            (&[(100.0, 12, 0), (200.0, 15, 3)], Some(100.0)),
            (&[(100.0, 21, 0)], None),
            (&[(100.0, 20, 0), (200.0, 20, 0)], Some(200.0)),
            // A rate after a failed one does not count, even within the bar.
            (&[(100.0, 30, 0), (200.0, 12, 0)], None),
        ];
        for (steps, expected) in cases {
            let rungs: Rungs = steps.iter().map(|(r, p, e)| (*r, figures(*p, *e))).collect();
            assert_eq!(sustainable(&base, &rungs).map(|(r, _)| *r), expected, "{steps:?}");
        }
    }

    #[test]
    fn the_rate_at_equal_p99_is_the_last_clean_one_within_the_bar() {
        let rungs: Rungs = [(100.0, 5, 0), (1000.0, 9, 0), (2000.0, 11, 0), (4000.0, 8, 2)]
            .iter()
            .map(|(r, p, e)| (*r, figures(*p, *e)))
            .collect();
        let cases = [(12, Some(2000.0)), (10, Some(1000.0)), (4, None)];
        for (bar_ms, expected) in cases {
            assert_eq!(
                rate_within(&rungs, Duration::from_millis(bar_ms)),
                expected,
                "bar {bar_ms} ms"
            );
        }
    }

    #[test]
    fn added_latency_is_the_median_of_each_runs_difference() {
        let direct = [figures(1, 0), figures(5, 0), figures(2, 0)];
        let through = [figures(3, 0), figures(6, 0), figures(6, 0)];
        let p99 = |f: &Figures| Some(secs(f.outcome.p(0.99)));
        // Differences 2, 1 and 4 ms: the median is 2 ms (the medians' difference would be 6 − 2 = 4 ms).
        let added = added(&direct, &through, p99).unwrap_or_default();
        assert!((added - 0.002).abs() < 1e-9, "{added}");
    }
}
