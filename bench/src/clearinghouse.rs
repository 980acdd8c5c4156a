//! `bench clearinghouse`: intake of generated vulnerability reports (`clearinghouse::dedup::corpus`, 30 %
//! duplicates by default) through `App::file_report`, the operation `POST /api/v1/reports` calls, from
//! concurrent tasks, as reporters of several organisations.
//!
//! Measured: reports/s overall and per window of reports (to show whether intake slows as the store grows),
//! duplicate detection's time per report as the store measures it (`Filed::dedup`: the intake locks, the
//! candidate search and the scoring, inside the intake transaction; the API sends the same figure as
//! `Server-Timing: dedup;dur=`), the process's peak resident memory (`VmHWM`; SQLite runs inside it, a
//! PostgreSQL server does not), and the bytes the correlation tables take at several sizes. Intake pauses
//! while the tables are measured; the pauses are not counted in the rates. The decisions are checked against
//! the corpus's known duplicates (precision and recall of the automatic joins).

use crate::{Backend, Database};
use anyhow::{Context, Result, bail};
use app::clearinghouse::{AffectedInput, FinderInput, IntakeChange, NewReport};
use app::{App, Caller};
use chrono::{TimeZone, Utc};
use clearinghouse::dedup::corpus;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(clap::Args)]
pub struct ClearinghouseArgs {
    #[arg(long, value_enum)]
    pub backend: Backend,
    /// PostgreSQL: a server to create a fresh database on (e.g. postgres://user@127.0.0.1:5432/postgres).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Reports to file.
    #[arg(long, default_value_t = 100_000)]
    pub reports: usize,
    /// The share of them that repeat an earlier report.
    #[arg(long, default_value_t = 0.3)]
    pub duplicates: f64,
    /// Concurrent intake tasks: reporters submitting at once (each files its next report when its last is
    /// answered).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Reporting organisations (the reports go to them in turn).
    #[arg(long, default_value_t = 20)]
    pub orgs: usize,
    /// Reports per window of the rate table (at most a fifth of `--reports`).
    #[arg(long, default_value_t = 10_000)]
    pub window: usize,
    /// Stored reports at which the correlation tables are measured (and at the end).
    #[arg(long, value_delimiter = ',', default_values_t = [10_000, 50_000])]
    pub measure_at: Vec<usize>,
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Keep the database afterwards (its URL is printed).
    #[arg(long)]
    pub keep: bool,
}

/// The tables that correlate reports (the fingerprint, and one row per listed candidate). The exact and band keys
/// are in memory, in the store's dedup index, measured beside them.
const CORRELATION_TABLES: [&str; 2] = ["report_fingerprints", "report_candidates"];

pub async fn run(args: ClearinghouseArgs) -> Result<()> {
    if args.reports == 0 || args.concurrency == 0 || args.orgs == 0 {
        bail!("--reports, --concurrency and --orgs must be at least 1");
    }
    let database = Database::create(args.backend, args.database_url.as_deref()).await?;
    let outcome = measure(&args, database.url()).await;
    if args.keep {
        eprintln!("kept the database: {}", database.url());
    } else {
        database.remove().await?;
    }
    outcome
}

/// What one intake gave.
struct Filed {
    /// Seconds of intake (pauses excluded) when it ended.
    at: f64,
    dedup: Duration,
    case_id: Option<Uuid>,
    joined: bool,
}

/// The correlation tables' bytes (in table order) and rows at one size, and the dedup index's size.
struct Storage {
    reports: usize,
    bytes: Vec<i64>,
    rows: Vec<i64>,
    index: store::DedupIndexSize,
}

async fn measure(args: &ClearinghouseArgs, url: &str) -> Result<()> {
    let store = store::connect(url).await.context("opening the database")?;
    let now = Utc
        .with_ymd_and_hms(2027, 6, 1, 9, 0, 0)
        .single()
        .context("reference time")?;
    let (app, clock) = crate::seed::app_at(&store, now);
    let callers = setup(&app, args.orgs).await?;

    let generating = Instant::now();
    let reports = Arc::new(corpus::generate(args.seed, args.reports, args.duplicates));
    eprintln!(
        "generated {} reports ({} clusters) in {:.1} s",
        reports.len(),
        reports.iter().map(|r| r.cluster).max().map_or(0, |m| m + 1),
        generating.elapsed().as_secs_f64()
    );

    let mut stops: Vec<usize> = args
        .measure_at
        .iter()
        .copied()
        .filter(|n| *n > 0 && *n < reports.len())
        .collect();
    stops.push(reports.len());
    stops.sort_unstable();
    stops.dedup();

    let mut filed: Vec<Option<Filed>> = Vec::new();
    filed.resize_with(reports.len(), || None);
    // The clock follows real time from the reference instant, as a server's does: each report is stamped when
    // it is filed, not all at one frozen instant (which would put every row of an index on time at a random
    // place among its equals rather than at the end).
    let began = Instant::now();
    let mut storage = Vec::new();
    let mut active = 0.0;
    let mut start = 0;
    for stop in stops {
        let phase = Instant::now();
        let next = Arc::new(AtomicUsize::new(start));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..args.concurrency {
            let (app, callers, reports, next) = (app.clone(), callers.clone(), reports.clone(), next.clone());
            let clock = clock.clone();
            tasks.spawn(async move {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= stop {
                        break;
                    }
                    let report = reports.get(i).context("a report index out of range")?;
                    let caller = callers
                        .get(i % callers.len())
                        .context("no reporting organisation")?;
                    clock.advance_to(now + chrono::TimeDelta::from_std(began.elapsed())?);
                    let answer = app
                        .file_report(caller, new_report(report))
                        .await
                        .with_context(|| format!("filing report {i}"))?;
                    out.push((
                        i,
                        Filed {
                            at: phase.elapsed().as_secs_f64(),
                            dedup: answer.dedup_time,
                            case_id: answer.case_id,
                            joined: answer.joined,
                        },
                    ));
                }
                anyhow::Ok(out)
            });
        }
        while let Some(done) = tasks.join_next().await {
            for (i, mut f) in done?? {
                f.at += active;
                if let Some(slot) = filed.get_mut(i) {
                    *slot = Some(f);
                }
            }
        }
        active += phase.elapsed().as_secs_f64();
        start = stop;
        let measured = measure_storage(url, stop, store.dedup_index_size()).await?;
        let groups = app.intake_groups();
        eprintln!(
            "{stop} reports in {active:.1} s ({:.0}/s); correlation tables {:.1} MiB ({:.0} bytes per report), \
             dedup index {:.1} MiB in memory; {} intake groups so far, {:.1} reports each on average, {} at most",
            stop as f64 / active,
            measured.bytes.iter().sum::<i64>() as f64 / 1_048_576.0,
            measured.bytes.iter().sum::<i64>() as f64 / stop as f64,
            measured.index.bytes as f64 / 1_048_576.0,
            groups.groups,
            groups.reports as f64 / groups.groups.max(1) as f64,
            groups.largest
        );
        storage.push(measured);
    }
    let filed: Vec<Filed> = filed.into_iter().flatten().collect();
    if filed.len() != reports.len() {
        bail!("{} of {} reports were filed", filed.len(), reports.len());
    }
    let peak = peak_rss_kib();
    print_report(args, &reports, &filed, &storage, active, peak)
}

/// A program administrator raises the daily intake limit above the run's reports; `orgs` organisations each
/// get a reporter.
async fn setup(app: &App, orgs: usize) -> Result<Arc<Vec<Caller>>> {
    let (_, token) = app.init_admin("admin@bench.example").await?;
    let admin = app.authenticate_bearer(token.expose()).await?;
    app.set_intake_policy(
        &admin,
        &IntakeChange {
            intake_reports_per_day: Some(i64::from(app::clearinghouse::MAX_REPORTS_PER_DAY)),
            ..IntakeChange::default()
        },
    )
    .await?;
    let mut callers = Vec::with_capacity(orgs);
    for i in 0..orgs {
        let name = format!("Bench finders {i}");
        app.provision_org("developer", &name).await?;
        let person = crate::seed::person(app, &name, format!("finder{i}@bench.example"), "admin").await?;
        callers.push(person.caller);
    }
    Ok(Arc::new(callers))
}

/// A corpus report as a reporter submits it to `POST /api/v1/reports`.
pub fn new_report(r: &corpus::Report) -> NewReport {
    NewReport {
        kind: "vulnerability".into(),
        title: r.title.clone(),
        description: r.description.clone(),
        tlp: "green".into(),
        affected: r
            .affected
            .iter()
            .map(|a| {
                let product = a.product.to_string();
                let purl = product.starts_with("pkg:");
                AffectedInput {
                    purl: purl.then(|| product.clone()),
                    cpe: (!purl).then_some(product),
                    versions: a.versions.to_string(),
                }
            })
            .collect(),
        cwe: r.cwe.map(|c| format!("CWE-{c}")),
        cvss_v3: None,
        cvss_v4: None,
        finder: Some(FinderInput {
            kind: "person".into(),
            name: r.finder.clone(),
            notice_id: None,
        }),
        ai_found: true,
        location: r.location.clone(),
        crash_signature: r.signature.clone(),
        threat_model: None,
        sectors: Vec::new(),
        people: Vec::new(),
        indicators: Vec::new(),
        attack_patterns: Vec::new(),
        misuse: None,
    }
}

/// Bytes and rows of each correlation table: SQLite's `dbstat` (pages of the table and its indexes),
/// PostgreSQL's `pg_total_relation_size` (table, indexes and TOAST).
async fn measure_storage(url: &str, reports: usize, index: store::DedupIndexSize) -> Result<Storage> {
    let mut bytes = Vec::new();
    let mut rows = Vec::new();
    if url.starts_with("sqlite") {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url).await?;
        for table in CORRELATION_TABLES {
            let size: Option<i64> = sqlx::query_scalar(
                "SELECT SUM(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name \
                 WHERE m.tbl_name = $1",
            )
            .bind(table)
            .fetch_one(&mut conn)
            .await?;
            bytes.push(size.unwrap_or(0));
            rows.push(
                sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                    .fetch_one(&mut conn)
                    .await?,
            );
        }
    } else {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url).await?;
        for table in CORRELATION_TABLES {
            bytes.push(
                sqlx::query_scalar("SELECT pg_total_relation_size($1::regclass)")
                    .bind(table)
                    .fetch_one(&mut conn)
                    .await?,
            );
            rows.push(
                sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                    .fetch_one(&mut conn)
                    .await?,
            );
        }
    }
    Ok(Storage {
        reports,
        bytes,
        rows,
        index,
    })
}

/// The process's peak resident memory, in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Percentiles of durations, in milliseconds.
fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn dedup_percentiles(filed: &[Filed]) -> (f64, f64, f64) {
    let mut times: Vec<Duration> = filed.iter().map(|f| f.dedup).collect();
    times.sort();
    (
        percentile_ms(&times, 0.5),
        percentile_ms(&times, 0.99),
        percentile_ms(&times, 1.0),
    )
}

/// Precision and recall of the automatic joins against the corpus: a join is right when the case it
/// joined was opened by a report of the same cluster; every report whose cluster was filed before it should
/// have joined.
fn join_quality(reports: &[corpus::Report], filed: &[Filed]) -> (usize, usize, f64, f64) {
    let mut opened_by: HashMap<Uuid, usize> = HashMap::new();
    for (r, f) in reports.iter().zip(filed) {
        if let (Some(case), false) = (f.case_id, f.joined) {
            opened_by.insert(case, r.cluster);
        }
    }
    let mut seen = std::collections::HashSet::new();
    let (mut joins, mut right, mut repeats) = (0, 0, 0);
    for (r, f) in reports.iter().zip(filed) {
        if !seen.insert(r.cluster) {
            repeats += 1;
        }
        if f.joined {
            joins += 1;
            if f.case_id.and_then(|c| opened_by.get(&c)) == Some(&r.cluster) {
                right += 1;
            }
        }
    }
    let precision = if joins == 0 {
        1.0
    } else {
        right as f64 / joins as f64
    };
    let recall = if repeats == 0 {
        1.0
    } else {
        right as f64 / repeats as f64
    };
    (joins, repeats, precision, recall)
}

fn print_report(
    args: &ClearinghouseArgs,
    reports: &[corpus::Report],
    filed: &[Filed],
    storage: &[Storage],
    seconds: f64,
    peak_kib: Option<u64>,
) -> Result<()> {
    let backend = match args.backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let n = filed.len();
    let (p50, p99, max) = dedup_percentiles(filed);
    let (joins, repeats, precision, recall) = join_quality(reports, filed);
    println!(
        "\n### {backend}: {n} reports ({:.0} % duplicates, seed {}), {} concurrent intakes, {} organisations\n",
        args.duplicates * 100.0,
        args.seed,
        args.concurrency,
        args.orgs
    );
    println!(
        "| reports | reports/s | dedup p50 ms | dedup p99 ms | dedup max ms | peak RSS MiB | joined | precision | recall |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {n} | {:.0} | {p50:.2} | {p99:.2} | {max:.1} | {} | {joins} of {repeats} repeats | {precision:.3} | {recall:.3} |",
        n as f64 / seconds,
        peak_kib.map_or("?".into(), |k| format!("{:.0}", k as f64 / 1024.0)),
    );

    // The rate and dedup time of each window of reports, in the order they were filed.
    let mut order: Vec<&Filed> = filed.iter().collect();
    order.sort_by(|a, b| a.at.total_cmp(&b.at));
    let window = args.window.min((n / 5).max(1));
    println!("\n| reports stored | reports/s in the window | dedup p50 ms | dedup p99 ms |");
    println!("|---:|---:|---:|---:|");
    let mut from = 0.0;
    for (k, chunk) in order.chunks(window).enumerate() {
        let end = chunk.last().map_or(from, |f| f.at);
        let mut times: Vec<Duration> = chunk.iter().map(|f| f.dedup).collect();
        times.sort();
        println!(
            "| {}–{} | {:.0} | {:.2} | {:.2} |",
            k * window,
            k * window + chunk.len(),
            chunk.len() as f64 / (end - from).max(f64::EPSILON),
            percentile_ms(&times, 0.5),
            percentile_ms(&times, 0.99)
        );
        from = end;
    }

    println!(
        "\n| reports stored | {} | total on disk | bytes per report on disk | rows per report | dedup index in memory | its bytes per report |",
        CORRELATION_TABLES.join(" | ")
    );
    println!(
        "|---:|{}---:|---:|---:|---:|---:|",
        "---:|".repeat(CORRELATION_TABLES.len())
    );
    for s in storage {
        let total: i64 = s.bytes.iter().sum();
        let rows: i64 = s.rows.iter().sum();
        println!(
            "| {} | {} | {:.1} MiB | {:.0} | {:.1} | {:.1} MiB ({} exact, {} band keys) | {:.0} |",
            s.reports,
            s.bytes
                .iter()
                .zip(&s.rows)
                .map(|(b, r)| format!("{:.1} MiB ({r} rows)", *b as f64 / 1_048_576.0))
                .collect::<Vec<_>>()
                .join(" | "),
            total as f64 / 1_048_576.0,
            total as f64 / s.reports as f64,
            rows as f64 / s.reports as f64,
            s.index.bytes as f64 / 1_048_576.0,
            s.index.keys,
            s.index.bands,
            s.index.bytes as f64 / s.reports as f64
        );
    }
    Ok(())
}
