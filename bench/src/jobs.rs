//! `bench jobs`: the job queue's throughput and claim latency with real `prelaunch worker` processes.
//!
//! For each run and each worker count: a fresh database, the workers started on it (`--kinds noop`, JSON logs
//! with the claim timings at debug level), then `--jobs` no-op jobs enqueued in one transaction, so that every
//! worker sees them at the same moment. The run ends when every job is done; the rate is the jobs over the time
//! from that commit to the last job's `finished_at`. Claim latency is what the workers log for each claim
//! statement that returned jobs (see `bench/README.md` for why the workers' own timings).

use crate::gateway::procs::Proc;
use crate::{Backend, Database};
use anyhow::{Context, Result, bail};
use app::{Clock, SystemClock};
use chrono::Utc;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use store::{JobState, NewJob};
use uuid::Uuid;

#[derive(clap::Args)]
pub struct JobsArgs {
    #[arg(long, value_enum)]
    pub backend: Backend,
    /// PostgreSQL: a server to create a fresh database on (e.g. postgres://user@127.0.0.1:5432/postgres).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// No-op jobs per measurement.
    #[arg(long, default_value_t = 50_000)]
    pub jobs: usize,
    /// Worker process counts to measure, in order (repeat, or separate with commas).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2])]
    pub workers: Vec<usize>,
    /// Each worker's `--concurrency`.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u16,
    /// Runs over every worker count; the report gives the median of each figure.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// The `prelaunch` binary the workers run.
    #[arg(long, default_value = "target/release/prelaunch")]
    pub prelaunch: PathBuf,
    /// Give up on a measurement after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Keep the workers' logs (their directory is printed).
    #[arg(long)]
    pub keep: bool,
}

/// One measurement's figures.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    per_second: f64,
    claim_p50_ms: f64,
    claim_p99_ms: f64,
    claim_max_ms: f64,
    claims: usize,
    jobs_per_claim: f64,
}

pub async fn run(args: JobsArgs) -> Result<()> {
    if !args.prelaunch.exists() {
        bail!(
            "no prelaunch binary at {} (cargo build --release -p prelaunch)",
            args.prelaunch.display()
        );
    }
    let mut all: Vec<(usize, Vec<Figures>)> = args.workers.iter().map(|w| (*w, Vec::new())).collect();
    for run in 1..=args.runs {
        for (workers, runs) in &mut all {
            let figures = measure(&args, *workers).await?;
            eprintln!(
                "run {run}: {workers} worker(s): {:.0} jobs/s, claim p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, {} claims, {:.1} jobs per claim",
                figures.per_second,
                figures.claim_p50_ms,
                figures.claim_p99_ms,
                figures.claim_max_ms,
                figures.claims,
                figures.jobs_per_claim
            );
            runs.push(figures);
        }
    }

    let backend = match args.backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    println!(
        "\n### {backend}: {} no-op jobs, `prelaunch worker --concurrency {}`, median of {} runs\n",
        args.jobs, args.concurrency, args.runs
    );
    println!(
        "| workers | jobs/s | claim p50 ms | claim p99 ms | claim max ms | claims | jobs per claim | runs (jobs/s) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---|");
    for (workers, runs) in &all {
        let m = |f: fn(&Figures) -> f64| median(runs.iter().map(f).collect());
        let each: Vec<String> = runs.iter().map(|f| format!("{:.0}", f.per_second)).collect();
        println!(
            "| {workers} | {:.0} | {:.2} | {:.2} | {:.1} | {:.0} | {:.1} | {} |",
            m(|f| f.per_second),
            m(|f| f.claim_p50_ms),
            m(|f| f.claim_p99_ms),
            m(|f| f.claim_max_ms),
            m(|f| f.claims as f64),
            m(|f| f.jobs_per_claim),
            each.join(", ")
        );
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values.get(n / 2).copied().unwrap_or(0.0),
        _ => {
            (values.get(n / 2 - 1).copied().unwrap_or(0.0) + values.get(n / 2).copied().unwrap_or(0.0)) / 2.0
        }
    }
}

async fn measure(args: &JobsArgs, workers: usize) -> Result<Figures> {
    let database = Database::create(args.backend, args.database_url.as_deref()).await?;
    // Keys (and SQLite's file) live in the data directory; PostgreSQL's workers get one of their own.
    let dir = match &database {
        Database::Sqlite { dir, .. } => dir.clone(),
        Database::Postgres { name, .. } => {
            let dir = std::env::temp_dir().join(name);
            std::fs::create_dir_all(&dir)?;
            dir
        }
    };
    let outcome = measure_on(args, workers, &database, &dir).await;
    if args.keep {
        eprintln!("kept the workers' logs in {}", dir.display());
    } else if matches!(database, Database::Postgres { .. }) {
        let _ = std::fs::remove_dir_all(&dir);
    }
    database.remove().await?;
    outcome
}

async fn measure_on(args: &JobsArgs, workers: usize, database: &Database, dir: &Path) -> Result<Figures> {
    let store = store::connect(database.url())
        .await
        .context("opening the database")?;
    // The master key exists before any worker starts, so that concurrent first starts do not race to create it.
    ::gateway::MasterKey::load_or_create(&dir.join("master.key"))?;
    let postgres_url = match database {
        Database::Postgres { url, .. } => Some(url.as_str()),
        Database::Sqlite { .. } => None,
    };

    let mut procs = Vec::new();
    let mut logs = Vec::new();
    for n in 0..workers {
        let log = dir.join(format!("worker-{n}.log"));
        let mut c = tokio::process::Command::new(&args.prelaunch);
        c.arg("--log-json")
            .arg("worker")
            .arg("--data-dir")
            .arg(dir)
            .args(["--kinds", app::jobs::kinds::NOOP])
            .args(["--concurrency", &args.concurrency.to_string()]);
        if let Some(url) = postgres_url {
            c.args(["--database-url", url]);
        }
        for var in [
            "DATABASE_URL",
            "PRELAUNCH_DATA_DIR",
            "PRELAUNCH_MASTER_KEY_FILE",
            "PRELAUNCH_LEDGER_KEY_FILE",
            "PRELAUNCH_WORKER_KINDS",
            "PRELAUNCH_WORKER_CONCURRENCY",
        ] {
            c.env_remove(var);
        }
        // The claim timings are debug events of `app::jobs`; everything else at the default level.
        c.env("PRELAUNCH_LOG", "info,sqlx=warn,app::jobs=debug");
        let mut proc = Proc::start("prelaunch worker", c, &log)?;
        // One at a time: the first start creates the ledger key the others then read.
        proc.line_with("is running jobs", Duration::from_secs(60)).await?;
        procs.push(proc);
        logs.push(log);
    }

    let now = SystemClock.now();
    let jobs: Vec<NewJob> = (0..args.jobs)
        .map(|_| NewJob {
            id: Uuid::now_v7(),
            kind: app::jobs::kinds::NOOP.into(),
            payload: Value::Object(Default::default()),
            priority: 0,
            run_at: now,
            max_attempts: 5,
            idempotency_key: None,
            created_at: now,
        })
        .collect();
    // One transaction: every job becomes visible to every worker at its commit.
    store.enqueue_jobs(&jobs).await?;
    let committed = SystemClock.now();
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let total = i64::try_from(args.jobs)?;
    loop {
        let done = store.count_jobs(JobState::Done).await?;
        if done >= total {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {done} of {total} jobs done after {} s", args.timeout);
        }
        // The rate comes from the jobs' finish times, so this poll only needs to notice the end (and costs
        // the database a count, which is kept rare).
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for proc in procs {
        proc.stop(Duration::from_secs(30)).await;
    }

    // Every job ran once, and the last one's end gives the rate.
    let (finished, attempts) = crate::jobs::ends(database.url()).await?;
    if attempts != total {
        bail!("{attempts} attempts for {total} jobs: some job ran twice");
    }
    let seconds = (finished - committed).num_milliseconds() as f64 / 1000.0;

    let mut claims: Vec<(u64, u64)> = Vec::new();
    for log in &logs {
        claims.extend(claim_times(log)?);
    }
    let claimed: u64 = claims.iter().map(|(n, _)| n).sum();
    let mut micros: Vec<f64> = claims.iter().map(|(_, us)| *us as f64 / 1000.0).collect();
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((micros.len() as f64 - 1.0) * q).round() as usize;
        micros.get(i).copied().unwrap_or(0.0)
    };
    Ok(Figures {
        per_second: args.jobs as f64 / seconds.max(0.001),
        claim_p50_ms: at(0.5),
        claim_p99_ms: at(0.99),
        claim_max_ms: micros.last().copied().unwrap_or(0.0),
        claims: claims.len(),
        jobs_per_claim: claimed as f64 / claims.len().max(1) as f64,
    })
}

/// The last job's end and the attempts of all jobs, read straight from the table.
async fn ends(url: &str) -> Result<(chrono::DateTime<Utc>, i64)> {
    use sqlx::Connection;
    let sql = "SELECT CAST(MAX(finished_at_ms) AS BIGINT), CAST(SUM(attempts) AS BIGINT) FROM jobs";
    let (last, attempts): (Option<i64>, Option<i64>) = if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query_as(sql).fetch_one(&mut conn).await?
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        sqlx::query_as(sql).fetch_one(&mut conn).await?
    };
    let last = last.context("no job finished")?;
    let last = chrono::DateTime::<Utc>::from_timestamp_millis(last).context("a finish time out of range")?;
    Ok((last, attempts.unwrap_or(0)))
}

/// The `claimed jobs` debug events of a worker's JSON log that returned jobs: (jobs, microseconds).
fn claim_times(log: &Path) -> Result<Vec<(u64, u64)>> {
    let text = std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    let mut claims = Vec::new();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(fields) = event.get("fields") else {
            continue;
        };
        if fields.get("message").and_then(Value::as_str) != Some("claimed jobs") {
            continue;
        }
        let claimed = fields.get("claimed").and_then(Value::as_u64).unwrap_or(0);
        let micros = fields.get("micros").and_then(Value::as_u64).unwrap_or(0);
        if claimed > 0 {
            claims.push((claimed, micros));
        }
    }
    Ok(claims)
}
