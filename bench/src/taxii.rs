//! `bench taxii`: paging a TAXII 2.1 collection of generated STIX 2.1 objects (default 1,000,000) with 16
//! concurrent clients, on our server and on medallion (the OASIS TAXII 2.1 reference server, memory backend)
//! loaded with the same objects in the same run.
//!
//! Both sides are measured at each size of `--sizes` that is at most `--objects`, and at `--objects`: our
//! database is loaded up to the size (`TaxiiStore::add_stix_objects`, batches in transactions), then every
//! client pages the whole collection (or `--pages` pages) with `limit` and `next`. medallion gets a data file
//! holding the same first objects and is started anew for each size; once a size fails or runs out of time
//! (`--medallion-timeout`, loading and paging together), the larger sizes are not tried. Each client checks it
//! saw every object it should exactly once: their count and an order-free sum of their ids' hashes.

mod medallion;
mod objects;
mod paging;
mod report;

use medallion::medallion;
use objects::{Generated, expected, first_added, object};
use paging::{Pass, Target, pass};
use report::print_report;

use crate::gateway::procs::{self, Proc};
use crate::{Backend, Database};
use anyhow::{Context, Result, bail};
use app::clearinghouse::taxii::Collection;
use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use clearinghouse::stix;
use clearinghouse::tlp::Tlp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use store::StixObjectRow;
use uuid::Uuid;

/// The media type both servers are asked for.
const TAXII: &str = "application/taxii+json;version=2.1";

#[derive(clap::Args)]
pub struct TaxiiArgs {
    #[arg(long, value_enum)]
    pub backend: Backend,
    /// PostgreSQL: a server to create a fresh database on (e.g. postgres://user@127.0.0.1:5432/postgres).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Objects in the collection at the largest size.
    #[arg(long, default_value_t = 1_000_000)]
    pub objects: usize,
    /// The smaller sizes measured on the way (those above `--objects` are left out).
    #[arg(long, value_delimiter = ',', default_values_t = [1_000, 10_000, 100_000])]
    pub sizes: Vec<usize>,
    /// Concurrent clients (tokio tasks over one keep-alive pool), each paging the whole collection.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Objects per page (`limit`).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// At most this many pages per client (default: the whole collection).
    #[arg(long)]
    pub pages: Option<usize>,
    /// Objects per call of the bulk loader (each call one transaction).
    #[arg(long, default_value_t = 10_000)]
    pub batch: usize,
    /// The Python environment medallion and gunicorn are installed in (`bench/run.sh` makes it).
    #[arg(long, env = "MEDALLION_VENV")]
    pub medallion_venv: Option<PathBuf>,
    /// Seconds medallion gets at one size, to load and to page; past them the size is recorded as timed out
    /// and the larger ones are not tried.
    #[arg(long, default_value_t = 240)]
    pub medallion_timeout: u64,
    /// Only our server.
    #[arg(long)]
    pub skip_medallion: bool,
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Keep the database afterwards (its URL is printed), to look at query plans.
    #[arg(long)]
    pub keep: bool,
}

pub async fn run(args: TaxiiArgs) -> Result<()> {
    if args.objects == 0 || args.clients == 0 || args.limit == 0 || args.batch == 0 {
        bail!("--objects, --clients, --limit and --batch must be at least 1");
    }
    if args.pages == Some(0) {
        bail!("--pages must be at least 1");
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

// ---------------------------------------------------------------------------------------------------------
// Our server

/// One size's figures on both sides.
struct Row {
    size: usize,
    load_seconds: f64,
    ours: Pass,
    medallion: Medallion,
}

enum Medallion {
    Skipped(&'static str),
    Failed(String),
    Measured {
        load_seconds: f64,
        pass: Pass,
        peak_rss_kib: u64,
        data_bytes: u64,
    },
}

async fn measure(args: &TaxiiArgs, url: &str) -> Result<()> {
    let store = store::connect(url).await.context("opening the database")?;
    let now = first_added() + Span::days(30);
    let (app, _clock) = crate::seed::app_at(&store, now);

    // Objects are posted by one organisation's member and read by a member of another, who may read
    // TLP:GREEN as any signed-in member may: the whole admission expression runs for every row.
    app.provision_org("developer", "Bench STIX producers").await?;
    let poster = crate::seed::person(
        &app,
        "Bench STIX producers",
        "poster@bench.example".into(),
        "admin",
    )
    .await?;
    app.provision_org("developer", "Bench STIX consumers").await?;
    let reader = crate::seed::person(
        &app,
        "Bench STIX consumers",
        "reader@bench.example".into(),
        "admin",
    )
    .await?;
    let green = Collection::all()
        .into_iter()
        .find(|c| c.tlp == Tlp::Green)
        .context("no TLP:GREEN collection")?;

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
        .build()?;

    let mut sizes: Vec<usize> = args
        .sizes
        .iter()
        .copied()
        .filter(|s| *s > 0 && *s < args.objects)
        .collect();
    sizes.push(args.objects);
    sizes.sort_unstable();
    sizes.dedup();

    let work = std::env::temp_dir().join(format!("prelaunch_bench_taxii_{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work)?;
    let mut rows = Vec::new();
    let mut loaded = 0;
    let mut load_seconds = 0.0;
    let mut medallion_stopped: Option<&'static str> = None;
    for size in sizes {
        let loading = Instant::now();
        while loaded < size {
            let end = (loaded + args.batch).min(size);
            let batch: Vec<StixObjectRow> = (loaded..end)
                .map(|i| row(object(args.seed, i), &poster.caller))
                .collect();
            let written = store.add_stix_objects(&batch).await?;
            if written != batch.len() as u64 {
                bail!("the loader wrote {written} of {} objects", batch.len());
            }
            loaded = end;
        }
        analyze(args.backend, url).await?;
        load_seconds += loading.elapsed().as_secs_f64();
        eprintln!(
            "{size} objects loaded ({load_seconds:.1} s in all, {:.0} objects/s)",
            size as f64 / load_seconds
        );
        let expect = expected(args.seed, args.pages.map_or(size, |p| size.min(p * args.limit)));
        let ours = pass(
            &client,
            Target {
                objects: format!("{base}/taxii2/api/collections/{}/objects/", green.id),
                authorization: HeaderValue::from_str(&format!("Bearer {}", reader.token))?,
            },
            args,
            expect,
            Instant::now() + Duration::from_secs(3600),
        )
        .await?;
        eprintln!("ours at {size}: {}", summary(&ours));
        let medallion = match (args.skip_medallion, medallion_stopped) {
            (true, _) => Medallion::Skipped("--skip-medallion"),
            (false, Some(why)) => Medallion::Skipped(why),
            (false, None) => {
                let m = medallion(args, &client, &work, size, expect).await;
                let m = match m {
                    Ok(m) => m,
                    Err(e) => Medallion::Failed(format!("{e:#}")),
                };
                match &m {
                    Medallion::Measured { pass, .. } if pass.timed_out => {
                        medallion_stopped = Some("a smaller size timed out")
                    }
                    Medallion::Failed(_) => medallion_stopped = Some("a smaller size failed"),
                    _ => {}
                }
                m
            }
        };
        if let Medallion::Measured { pass, .. } = &medallion {
            eprintln!("medallion at {size}: {}", summary(pass));
        } else if let Medallion::Failed(e) = &medallion {
            eprintln!("medallion at {size} failed: {e}");
        }
        rows.push(Row {
            size,
            load_seconds,
            ours,
            medallion,
        });
    }
    let _ = std::fs::remove_dir_all(&work);
    let _ = stop.send(());
    server.await??;
    print_report(args, &rows);
    Ok(())
}

/// PostgreSQL: analyses `stix_objects` after each size's load (counted in the load time), as autovacuum does
/// once a tenth of a table changed, so that a pass measures settled statistics rather than those of whichever
/// automatic analysis ran part-way through the load. SQLite is left as a server leaves it: nothing analyses a
/// Prelaunch SQLite database, and its plan for a page does not need statistics.
async fn analyze(backend: Backend, url: &str) -> Result<()> {
    if let Backend::Postgres = backend {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query("ANALYZE stix_objects").execute(&mut conn).await?;
    }
    Ok(())
}

fn row(g: Generated, poster: &app::Caller) -> StixObjectRow {
    StixObjectRow {
        id: Uuid::now_v7(),
        tlp: Tlp::Green,
        stix_id: g.stix_id,
        stix_type: g.kind.to_owned(),
        spec_version: "2.1".to_owned(),
        version: stix::version_key(g.modified),
        date_added: g.added,
        body: g.body,
        added_org: Some(poster.org_id()),
        added_by: Some(poster.user_id()),
        advisory_id: None,
        case_id: None,
        report_id: None,
    }
}

fn summary(p: &Pass) -> String {
    format!(
        "{} objects in {} pages, {:.1} s, {:.0} objects/s, p50 {:.1} ms, p99 {:.1} ms, first page ≤ {:.1} ms{}",
        p.objects,
        p.pages,
        p.seconds,
        p.per_second(),
        ms(p.p50),
        ms(p.p99),
        ms(p.first_max),
        if p.timed_out { ", TIMED OUT" } else { "" }
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
