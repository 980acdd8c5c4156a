//! `bench`: seeds a program of realistic size into a fresh database, starts the real server on a loopback
//! port, and measures pages under concurrent clients. See `bench/README.md`.

mod clearinghouse;
mod eval_workers;
mod evals;
mod gateway;
mod jobs;
mod ledger;
mod load;
mod seed;
mod taxii;

use anyhow::{Context, Result, bail};
use chrono::{TimeZone, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use load::{Auth, Scenario, Stats};
use seed::{Plan, Seeded};
use sqlx::Connection;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Load benchmarks of the Prelaunch server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The notice list (API) and the dashboard (web UI), as an agency and as a developer.
    List(ListArgs),
    /// The transparency ledger: appends, checkpoint signing, proofs and tiles at a million entries.
    Ledger(ledger::LedgerArgs),
    /// The job queue: no-op jobs per second with 1 and 2 `prelaunch worker` processes, and claim latency.
    Jobs(jobs::JobsArgs),
    /// Clearinghouse intake: generated vulnerability reports with known duplicates, reports/s, dedup time
    /// per report, memory and correlation storage.
    Clearinghouse(clearinghouse::ClearinghouseArgs),
    /// TAXII 2.1 objects paged by 16 clients through a collection of up to 1,000,000 generated STIX objects,
    /// beside medallion (memory backend) loaded with the same objects: objects/s, p50/p99 per page.
    Taxii(taxii::TaxiiArgs),
    /// An evaluation of N samples on Inspect AI and on Prelaunch side by side: samples/s, peak RSS, log bytes.
    Evals(evals::EvalsArgs),
    /// One evaluation run on the server executed by one `prelaunch worker` and then by two, over PostgreSQL,
    /// against a mock model with a fixed service time: samples/s and the ratio.
    EvalWorkers(eval_workers::EvalWorkersArgs),
    /// The model access gateway's overhead over a mock model API, side by side with LiteLLM's proxy.
    Gateway {
        #[command(subcommand)]
        command: gateway::Command,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

#[derive(clap::Args)]
struct ListArgs {
    #[arg(long, value_enum)]
    backend: Backend,
    /// PostgreSQL: a server to create a fresh database on (e.g. postgres://user@127.0.0.1:5432/postgres).
    /// SQLite: ignored; a fresh file in a temporary directory is used.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Concurrent clients, each on its own kept-alive connection.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds each scenario is measured in each run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds each scenario runs, unmeasured, before.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Runs over every scenario; the report gives the median of each figure.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    #[arg(long, default_value_t = 10_000)]
    notices: usize,
    #[arg(long, default_value_t = 40)]
    developers: usize,
    #[arg(long, default_value_t = 10)]
    agencies: usize,
    #[arg(long, default_value_t = 2)]
    findings_per_notice: usize,
    /// Concurrent seeding workers.
    #[arg(long, default_value_t = 4)]
    seed_workers: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep the database afterwards (its URL is printed).
    #[arg(long)]
    keep: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    // `BENCH_TRACE` takes a tracing filter: `BENCH_TRACE=sqlx::query=debug` prints every statement with its
    // time, which shows where a run's time goes (bench/README.md).
    if std::env::var_os("BENCH_TRACE").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_env("BENCH_TRACE"))
            .with_writer(std::io::stderr)
            .init();
    }
    match Cli::parse().command {
        Command::List(args) => list(args).await,
        Command::Ledger(args) => ledger::run(args).await,
        Command::Jobs(args) => jobs::run(args).await,
        Command::Clearinghouse(args) => clearinghouse::run(args).await,
        Command::Taxii(args) => taxii::run(args).await,
        Command::Evals(args) => evals::run(args).await,
        Command::EvalWorkers(args) => eval_workers::run(args).await,
        Command::Gateway { command } => gateway::main(command).await,
    }
}

/// A fresh database for one benchmark, and how to remove it.
pub(crate) enum Database {
    Sqlite {
        dir: PathBuf,
        url: String,
    },
    Postgres {
        admin: String,
        name: String,
        url: String,
    },
}

impl Database {
    pub(crate) async fn create(backend: Backend, database_url: Option<&str>) -> Result<Database> {
        let name = format!("prelaunch_bench_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir)?;
                let url = format!("sqlite://{}", dir.join("prelaunch.db").display());
                Ok(Database::Sqlite { dir, url })
            }
            Backend::Postgres => {
                let admin = database_url
                    .filter(|u| u.starts_with("postgres"))
                    .map(str::to_owned)
                    .context("--backend postgres needs --database-url postgres://…")?;
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await?;
                let (base, _) = admin.rsplit_once('/').context("the URL names no database")?;
                let url = format!("{base}/{name}");
                Ok(Database::Postgres { admin, name, url })
            }
        }
    }

    pub(crate) fn url(&self) -> &str {
        match self {
            Database::Sqlite { url, .. } | Database::Postgres { url, .. } => url,
        }
    }

    pub(crate) async fn remove(self) -> Result<()> {
        match self {
            Database::Sqlite { dir, .. } => std::fs::remove_dir_all(dir)?,
            Database::Postgres { admin, name, .. } => {
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await?;
            }
        }
        Ok(())
    }
}

async fn list(args: ListArgs) -> Result<()> {
    let database = Database::create(args.backend, args.database_url.as_deref()).await?;
    let outcome = seed_and_measure(&args, database.url()).await;
    if args.keep {
        eprintln!("kept the database: {}", database.url());
    } else {
        database.remove().await?;
    }
    outcome
}

async fn seed_and_measure(args: &ListArgs, database_url: &str) -> Result<()> {
    let store = store::connect(database_url).await?;
    let plan = Plan {
        notices: args.notices,
        developers: args.developers,
        agencies: args.agencies,
        findings_per_notice: args.findings_per_notice,
        now: Utc
            .with_ymd_and_hms(2027, 6, 1, 0, 0, 0)
            .single()
            .context("reference time")?,
        seed: args.seed,
        workers: args.seed_workers,
    };
    eprintln!(
        "seeding {} notices by {} developers shared among {} agencies into {}",
        plan.notices, plan.developers, plan.agencies, database_url
    );
    let seeding = Instant::now();
    let seeded = seed::seed(store.clone(), &plan).await?;
    eprintln!(
        "seeded in {:.0} s: {:?}",
        seeding.elapsed().as_secs_f64(),
        seeded.counts
    );

    // The server runs at the reference time, so every state occurs and the figures repeat.
    let (app, _clock) = seed::app_at(&store, plan.now);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(listener, app.clone(), async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(args.clients)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    let scenarios = scenarios(&app, &client, &base, &seeded).await?;
    let mut runs: BTreeMap<usize, Vec<Stats>> = BTreeMap::new();
    for run in 1..=args.runs {
        for (i, scenario) in scenarios.iter().enumerate() {
            let stats = load::measure(
                &client,
                &base,
                scenario,
                args.clients,
                Duration::from_secs(args.warmup),
                Duration::from_secs(args.duration),
            )
            .await?;
            eprintln!("run {run}: {:<44} {}", scenario.name, row(&stats));
            runs.entry(i).or_default().push(stats);
        }
    }

    let backend = match args.backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    println!(
        "\n### {backend}: {} clients, {} s per scenario after {} s warm-up, median of {} runs\n",
        args.clients, args.duration, args.warmup, args.runs
    );
    println!("| scenario | caller | p50 ms | p90 ms | p99 ms | max ms | req/s | body KiB | errors |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (i, scenario) in scenarios.iter().enumerate() {
        let median = Stats::median(runs.get(&i).map(Vec::as_slice).unwrap_or_default());
        println!("| {} | {} | {} |", scenario.name, scenario.caller, row(&median));
    }

    let _ = stop.send(());
    server.await??;
    Ok(())
}

fn row(s: &Stats) -> String {
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
    format!(
        "{} | {} | {} | {} | {:.0} | {:.1} | {}",
        ms(s.p50),
        ms(s.p90),
        ms(s.p99),
        ms(s.max),
        s.per_second,
        s.bytes as f64 / 1024.0,
        s.errors
    )
}

/// Every page of a list, following `next_cursor`: how many items, per state, and the cursor of the middle page.
struct Walk {
    items: usize,
    pages: usize,
    states: BTreeMap<String, usize>,
    /// The middle page's number and cursor.
    middle: Option<(usize, String)>,
}

async fn walk(client: &reqwest::Client, base: &str, token: &str, filter: &str) -> Result<Walk> {
    let mut cursors = Vec::new();
    let mut cursor: Option<String> = None;
    let mut walk = Walk {
        items: 0,
        pages: 0,
        states: BTreeMap::new(),
        middle: None,
    };
    loop {
        let mut url = format!("{base}/api/v1/notices?limit=50{filter}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: serde_json::Value = client.get(url).bearer_auth(token).send().await?.json().await?;
        let items = page
            .get("items")
            .and_then(serde_json::Value::as_array)
            .context("a page without items")?;
        walk.items += items.len();
        walk.pages += 1;
        for item in items {
            let state = item
                .get("state")
                .and_then(|s| s.as_str())
                .unwrap_or("?")
                .to_owned();
            *walk.states.entry(state).or_default() += 1;
        }
        match page.get("next_cursor").and_then(|c| c.as_str()) {
            Some(next) => {
                cursors.push(next.to_owned());
                cursor = Some(next.to_owned());
            }
            None => break,
        }
    }
    // The cursor at index i fetches page i + 2.
    let middle = cursors.len() / 2;
    walk.middle = cursors.get(middle).map(|c| (middle + 2, c.clone()));
    Ok(walk)
}

async fn scenarios(
    app: &app::App,
    client: &reqwest::Client,
    base: &str,
    seeded: &Seeded,
) -> Result<Vec<Scenario>> {
    let mut scenarios = Vec::new();
    let people = [
        ("agency", &seeded.agency_person),
        ("developer", &seeded.developer_person),
    ];
    for (caller, person) in people {
        let walk = walk(client, base, &person.token, "").await?;
        eprintln!(
            "{caller} sees {} notices on {} pages: {:?}",
            walk.items, walk.pages, walk.states
        );
        if walk.states.len() < 4 {
            bail!("the {caller} does not see notices in all four states");
        }
        // Each state's filtered list must hold exactly the notices the whole list shows in that state.
        for (state, count) in &walk.states {
            let only = self::walk(client, base, &person.token, &format!("&state={state}")).await?;
            if only.items != *count || only.states.len() != 1 {
                bail!("state={state} lists {:?}, the whole list {count}", only.states);
            }
        }
        let bearer = Auth::Bearer(person.token.clone());
        let list = |name: String, path: String| Scenario {
            name,
            caller,
            path,
            auth: bearer.clone(),
        };
        scenarios.push(list(
            "GET /api/v1/me (baseline: authentication only)".into(),
            "/api/v1/me".into(),
        ));
        scenarios.push(list(
            "GET /api/v1/notices?limit=50 (first page)".into(),
            "/api/v1/notices?limit=50".into(),
        ));
        match walk.middle {
            Some((page, cursor)) => scenarios.push(list(
                format!("… &cursor= (page {page} of {})", walk.pages),
                format!("/api/v1/notices?limit=50&cursor={cursor}"),
            )),
            None => eprintln!("the {caller} sees a single page: no later page to measure"),
        }
        scenarios.push(list(
            "… &state=in_review".into(),
            "/api/v1/notices?limit=50&state=in_review".into(),
        ));

        let dashboard = Scenario {
            name: "GET / (dashboard, session cookie)".into(),
            caller,
            path: "/".into(),
            auth: Auth::Session(seed::sign_in(app, person).await?),
        };
        match dashboard.once(client, base).await? {
            (200, _) => scenarios.push(dashboard),
            (404, _) => eprintln!("no dashboard at / in this build: not measured"),
            (status, _) => bail!("the dashboard answered {status}"),
        }
    }
    Ok(scenarios)
}
