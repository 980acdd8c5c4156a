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
// The objects

/// When the first object was added; object `i` was added `i` milliseconds later, so every `date_added` differs.
fn first_added() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The kinds of object generated, with their weights out of 100. Object 0 is the identity that created them
/// all.
const MIX: [(&str, u32); 8] = [
    ("indicator", 35),
    ("relationship", 25),
    ("vulnerability", 12),
    ("malware", 8),
    ("attack-pattern", 8),
    ("report", 5),
    ("threat-actor", 4),
    ("identity", 3),
];

/// Object `i`'s own random numbers: every object can be made on its own, in any order.
fn rng(seed: u64, i: usize) -> StdRng {
    StdRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i as u64)
}

fn kind(seed: u64, i: usize) -> &'static str {
    if i == 0 {
        return "identity";
    }
    let mut pick = rng(seed, i).gen_range(0..100u32);
    for (kind, weight) in MIX {
        if pick < weight {
            return kind;
        }
        pick -= weight;
    }
    "indicator"
}

fn stix_id(seed: u64, i: usize) -> String {
    let name = format!("bench:{seed}:{i}");
    format!(
        "{}--{}",
        kind(seed, i),
        Uuid::new_v5(&stix::NAMESPACE, name.as_bytes())
    )
}

/// An object earlier than `i` that a relationship may point at (not a relationship itself).
fn earlier_sdo(seed: u64, i: usize, r: &mut StdRng) -> String {
    let j = r.gen_range(0..i.max(1));
    if kind(seed, j) == "relationship" {
        stix_id(seed, 0)
    } else {
        stix_id(seed, j)
    }
}

/// One generated object: valid STIX 2.1, marked TLP:GREEN, created by object 0.
pub struct Generated {
    pub stix_id: String,
    pub kind: &'static str,
    pub modified: DateTime<Utc>,
    pub added: DateTime<Utc>,
    pub body: String,
}

fn hex(r: &mut StdRng, digits: usize) -> String {
    (0..digits)
        .map(|_| char::from_digit(r.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

fn pick(r: &mut StdRng, choices: &[&'static str]) -> &'static str {
    choices
        .get(r.gen_range(0..choices.len().max(1)))
        .copied()
        .unwrap_or_default()
}

pub fn object(seed: u64, i: usize) -> Generated {
    let kind = kind(seed, i);
    let id = stix_id(seed, i);
    let mut r = rng(seed, i);
    // The first draw chose the kind; these are the object's own.
    let _ = r.gen_range(0..100u32);
    let added = first_added() + Span::milliseconds(i as i64);
    let created = added - Span::milliseconds(r.gen_range(86_400_000..400 * 86_400_000i64));
    let modified = created + Span::milliseconds(r.gen_range(0..30 * 86_400_000i64));
    let (created_text, modified_text) = (stix::timestamp(created), stix::timestamp(modified));
    let mut o = json!({
        "type": kind,
        "spec_version": "2.1",
        "id": id,
        "created": created_text,
        "modified": modified_text,
        "created_by_ref": stix_id(seed, 0),
        "object_marking_refs": [stix::marking_id(Tlp::Green)],
    });
    let n = r.gen_range(1..100_000u32);
    let extra = match kind {
        "indicator" => {
            let pattern = match r.gen_range(0..4) {
                0 => format!(
                    "[ipv4-addr:value = '198.51.{}.{}']",
                    r.gen_range(0..256),
                    r.gen_range(0..256)
                ),
                1 => format!("[domain-name:value = 'h{}.example.net']", hex(&mut r, 10)),
                2 => format!("[file:hashes.'SHA-256' = '{}']", hex(&mut r, 64)),
                _ => format!(
                    "[url:value = 'https://c2-{}.example.org/{}'] AND [network-traffic:dst_port = {}]",
                    hex(&mut r, 6),
                    hex(&mut r, 12),
                    r.gen_range(1024..65535)
                ),
            };
            json!({
                "name": format!("Indicator {n}"),
                "indicator_types": ["malicious-activity"],
                "pattern": pattern,
                "pattern_type": "stix",
                "valid_from": created_text,
            })
        }
        "relationship" => json!({
            "relationship_type": "related-to",
            "source_ref": earlier_sdo(seed, i, &mut r),
            "target_ref": earlier_sdo(seed, i, &mut r),
        }),
        "vulnerability" => {
            let cve = format!("CVE-{}-{}", r.gen_range(2015..2027), r.gen_range(1000..60000));
            json!({
                "name": cve,
                "description": format!("Out-of-bounds write in the parser of component {n} allows remote code execution."),
                "external_references": [{"source_name": "cve", "external_id": cve}],
            })
        }
        "malware" => json!({
            "name": format!("Malware family {n}"),
            "is_family": true,
            "malware_types": [pick(&mut r, &["ransomware", "trojan", "backdoor", "dropper"])],
        }),
        "attack-pattern" => {
            let technique = format!("T{}", r.gen_range(1001..1660));
            json!({
                "name": format!("Technique {technique}"),
                "external_references": [{"source_name": "mitre-attack", "external_id": technique}],
            })
        }
        "report" => {
            let refs: Vec<String> = (0..r.gen_range(1..6))
                .map(|_| stix_id(seed, r.gen_range(0..i.max(1))))
                .collect();
            json!({
                "name": format!("Threat report {n}"),
                "report_types": ["threat-report"],
                "published": modified_text,
                "object_refs": refs,
            })
        }
        "threat-actor" => json!({
            "name": format!("Actor {n}"),
            "threat_actor_types": [pick(&mut r, &["crime-syndicate", "nation-state", "hacker"])],
        }),
        _ => json!({
            "name": format!("Organisation {n}"),
            "identity_class": "organization",
        }),
    };
    if let (Some(o), Value::Object(extra)) = (o.as_object_mut(), extra) {
        o.extend(extra);
    }
    Generated {
        stix_id: id,
        kind,
        modified,
        added,
        body: o.to_string(),
    }
}

/// An id's hash; a set of ids is checked by their count and the wrapping sum of their hashes.
fn id_hash(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// The count and hash sum of the first `n` objects (the collection's first `n`, in `date_added` order).
fn expected(seed: u64, n: usize) -> (usize, u64) {
    (0..n).fold((0, 0u64), |(c, s), i| {
        (c + 1, s.wrapping_add(id_hash(&stix_id(seed, i))))
    })
}

// ---------------------------------------------------------------------------------------------------------
// Paging

/// Where and how a pass pages.
struct Target {
    /// The collection's objects URL (ending in `/objects/`).
    objects: String,
    authorization: HeaderValue,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    more: bool,
    next: Option<String>,
    #[serde(default)]
    objects: Vec<Id>,
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

/// What one client saw.
struct ClientPass {
    pages: Vec<Duration>,
    objects: usize,
    hash: u64,
    timed_out: bool,
}

/// What all clients saw in one pass.
pub struct Pass {
    pub seconds: f64,
    pub objects: usize,
    pub pages: usize,
    pub p50: Duration,
    pub p99: Duration,
    /// The slowest first page of a client (the first page is where medallion filters and sorts).
    pub first_max: Duration,
    pub timed_out: bool,
}

impl Pass {
    fn per_second(&self) -> f64 {
        self.objects as f64 / self.seconds.max(f64::EPSILON)
    }
}

async fn client_pass(
    client: reqwest::Client,
    target: Arc<Target>,
    limit: usize,
    max_pages: usize,
    deadline: Instant,
) -> Result<ClientPass> {
    let mut out = ClientPass {
        pages: Vec::new(),
        objects: 0,
        hash: 0,
        timed_out: false,
    };
    let mut next: Option<String> = None;
    while out.pages.len() < max_pages {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            out.timed_out = true;
            break;
        }
        let mut url = format!("{}?limit={limit}", target.objects);
        if let Some(n) = &next {
            url.push_str("&next=");
            url.push_str(n);
        }
        let start = Instant::now();
        let sent = client
            .get(&url)
            .header(ACCEPT, TAXII)
            .header(AUTHORIZATION, target.authorization.clone())
            .timeout(left)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                out.timed_out = true;
                break;
            }
            Err(e) => return Err(e.into()),
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) if e.is_timeout() => {
                out.timed_out = true;
                break;
            }
            Err(e) => return Err(e.into()),
        };
        out.pages.push(start.elapsed());
        if !status.is_success() {
            bail!("{url} answered {status}: {}", String::from_utf8_lossy(&body));
        }
        let page: Envelope = serde_json::from_slice(&body).context("a page that is not an envelope")?;
        for o in &page.objects {
            out.objects += 1;
            out.hash = out.hash.wrapping_add(id_hash(&o.id));
        }
        match (page.more, page.next) {
            (true, Some(n)) => next = Some(n),
            (true, None) => bail!("a page says more follow but gives no next"),
            (false, _) => break,
        }
    }
    Ok(out)
}

/// Every client pages the collection from its start; checks each saw `expect` (count, hash sum) when it
/// finished in time.
async fn pass(
    client: &reqwest::Client,
    target: Target,
    args: &TaxiiArgs,
    expect: (usize, u64),
    deadline: Instant,
) -> Result<Pass> {
    let target = Arc::new(target);
    let max_pages = args.pages.unwrap_or(usize::MAX);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.clients {
        tasks.spawn(client_pass(
            client.clone(),
            target.clone(),
            args.limit,
            max_pages,
            deadline,
        ));
    }
    let mut clients = Vec::new();
    while let Some(done) = tasks.join_next().await {
        clients.push(done??);
    }
    let seconds = start.elapsed().as_secs_f64();
    let timed_out = clients.iter().any(|c| c.timed_out);
    if !timed_out {
        for (k, c) in clients.iter().enumerate() {
            if (c.objects, c.hash) != expect {
                bail!(
                    "client {k} saw {} objects (id hash {:x}), expected {} ({:x})",
                    c.objects,
                    c.hash,
                    expect.0,
                    expect.1
                );
            }
        }
    }
    let mut pages: Vec<Duration> = clients.iter().flat_map(|c| c.pages.iter().copied()).collect();
    let first_max = clients
        .iter()
        .filter_map(|c| c.pages.first().copied())
        .max()
        .unwrap_or_default();
    pages.sort();
    Ok(Pass {
        seconds,
        objects: clients.iter().map(|c| c.objects).sum(),
        pages: pages.len(),
        p50: crate::load::percentile(&pages, 0.50),
        p99: crate::load::percentile(&pages, 0.99),
        first_max,
        timed_out,
    })
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

// ---------------------------------------------------------------------------------------------------------
// medallion

const MEDALLION_USER: &str = "bench";
const MEDALLION_PASSWORD: &str = "bench-password";
const MEDALLION_COLLECTION: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";

/// Writes medallion's data file: the discovery and API root resources and one collection of the first
/// `size` objects with their manifest (`date_added`, `version`).
fn write_medallion_data(path: &Path, seed: u64, size: usize, base: &str) -> Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let head = json!({
        "title": "bench",
        "default": format!("{base}/api1/"),
        "api_roots": [format!("{base}/api1/")],
    });
    let info = json!({
        "title": "bench",
        "versions": [TAXII],
        "max_content_length": 10_485_760,
    });
    write!(
        out,
        "{{\"/discovery\": {head}, \"api1\": {{\"information\": {info}, \"status\": [], \"collections\": [{{\
         \"id\": \"{MEDALLION_COLLECTION}\", \"title\": \"bench\", \"can_read\": true, \"can_write\": false, \
         \"media_types\": [\"application/stix+json;version=2.1\"], \"objects\": ["
    )?;
    let mut manifest = Vec::with_capacity(size);
    for i in 0..size {
        let g = object(seed, i);
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(g.body.as_bytes())?;
        manifest.push(json!({
            "id": g.stix_id,
            "date_added": stix::timestamp(g.added),
            "version": stix::timestamp(g.modified),
            "media_type": "application/stix+json;version=2.1",
        }));
    }
    out.write_all(b"], \"manifest\": ")?;
    serde_json::to_writer(&mut out, &manifest)?;
    out.write_all(b"}]}}")?;
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// medallion at one size: its data file written, gunicorn started on it, ready, then one pass, all within
/// `--medallion-timeout`.
async fn medallion(
    args: &TaxiiArgs,
    client: &reqwest::Client,
    work: &Path,
    size: usize,
    expect: (usize, u64),
) -> Result<Medallion> {
    let venv = args
        .medallion_venv
        .as_ref()
        .context("--medallion-venv (or MEDALLION_VENV) names no environment; bench/run.sh makes one")?;
    let port = procs::free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let data = work.join(format!("medallion-{size}.json"));
    let data_bytes = write_medallion_data(&data, args.seed, size, &base)?;
    let config = work.join(format!("medallion-{size}.conf.json"));
    std::fs::write(
        &config,
        json!({
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": data,
                // Its `next` sessions expire this long after the first page; a pass may take longer than
                // the default 30 s.
                "session_timeout": 86_400,
                "check_interval": 3_600,
            },
            "users": {MEDALLION_USER: MEDALLION_PASSWORD},
            "taxii": {"max_page_size": args.limit},
        })
        .to_string(),
    )?;

    // One gunicorn worker with a thread per client: the memory backend keeps the `next` sessions in the
    // process, so a second worker would not know the tokens the first gave.
    let mut command = tokio::process::Command::new(venv.join("bin/gunicorn"));
    command
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .args(["--workers", "1", "--worker-class", "gthread"])
        .arg("--threads")
        .arg(args.clients.to_string())
        .arg("--timeout")
        .arg((args.medallion_timeout + 60).to_string())
        .args(["--log-level", "warning"])
        .arg(format!("medallion:load_app({:?})", config.display().to_string()));
    let deadline = Instant::now() + Duration::from_secs(args.medallion_timeout);
    let started = Instant::now();
    let mut proc = Proc::start("medallion", command, &work.join(format!("medallion-{size}.log")))?;
    proc.drain_stdout();
    let pid = proc.pid;
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(procs::rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let basic = HeaderValue::from_str(&format!(
        "Basic {}",
        base64_encode(&format!("{MEDALLION_USER}:{MEDALLION_PASSWORD}"))
    ))?;
    let outcome = async {
        ready(client, &format!("{base}/taxii2/"), &basic, deadline).await?;
        let load_seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "medallion at {size}: ready in {load_seconds:.1} s ({:.0} MiB data file)",
            data_bytes as f64 / 1_048_576.0
        );
        let pass = pass(
            client,
            Target {
                objects: format!("{base}/api1/collections/{MEDALLION_COLLECTION}/objects/"),
                authorization: basic.clone(),
            },
            args,
            expect,
            deadline,
        )
        .await?;
        anyhow::Ok((load_seconds, pass))
    }
    .await;
    sampler.abort();
    proc.stop(Duration::from_secs(5)).await;
    let _ = std::fs::remove_file(&data);
    let (load_seconds, pass) = outcome?;
    Ok(Medallion::Measured {
        load_seconds,
        pass,
        peak_rss_kib: peak.load(Ordering::Relaxed),
        data_bytes,
    })
}

fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Polls `url` (with the credential) until it answers 200, until `deadline`.
async fn ready(client: &reqwest::Client, url: &str, auth: &HeaderValue, deadline: Instant) -> Result<()> {
    while Instant::now() < deadline {
        let answered = client
            .get(url)
            .header(ACCEPT, TAXII)
            .header(AUTHORIZATION, auth.clone())
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok();
        if answered == Some(200) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!("timed out loading: {url} did not answer 200 in time")
}

// ---------------------------------------------------------------------------------------------------------
// The report

fn print_report(args: &TaxiiArgs, rows: &[Row]) {
    let backend = match args.backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let pages = args.pages.map_or("the whole collection".to_owned(), |p| {
        format!("at most {p} pages")
    });
    println!(
        "\n### TAXII objects, {backend}: {} clients each paging {pages}, limit={}, seed {}; medallion 3.0.0 \
         (memory backend, gunicorn 1 worker × {} threads), {} s per size\n",
        args.clients, args.limit, args.seed, args.clients, args.medallion_timeout
    );
    println!(
        "| objects | our load s (cumulative) | our objects/s | our p50 ms | our p99 ms | our first page ms (max) \
         | medallion load s | medallion objects/s | medallion p50 ms | medallion p99 ms | medallion first page ms \
         (max) | medallion peak RSS MiB | ratio objects/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let ours = format!(
            "{} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1}",
            r.size,
            r.load_seconds,
            r.ours.per_second(),
            ms(r.ours.p50),
            ms(r.ours.p99),
            ms(r.ours.first_max)
        );
        let theirs = match &r.medallion {
            Medallion::Skipped(why) => format!("not run: {why} | | | | | | "),
            Medallion::Failed(e) => format!("failed: {} | | | | | | ", e.replace('|', "/")),
            Medallion::Measured {
                load_seconds,
                pass,
                peak_rss_kib,
                data_bytes,
            } => {
                // A pass that ran out of time has no rate to compare with: its objects/s is what it served
                // before the deadline, so the column says so and the ratio is left out.
                let (rate, ratio) = if pass.timed_out {
                    (
                        format!(
                            "timed out after {} s ({} objects in {} pages)",
                            args.medallion_timeout, pass.objects, pass.pages
                        ),
                        "—".to_owned(),
                    )
                } else {
                    (
                        format!("{:.0}", pass.per_second()),
                        format!(
                            "{:.0}×",
                            r.ours.per_second() / pass.per_second().max(f64::EPSILON)
                        ),
                    )
                };
                format!(
                    "{load_seconds:.1} ({:.0} MiB file) | {rate} | {:.1} | {:.1} | {:.1} | {:.0} | {ratio}",
                    *data_bytes as f64 / 1_048_576.0,
                    ms(pass.p50),
                    ms(pass.p99),
                    ms(pass.first_max),
                    *peak_rss_kib as f64 / 1024.0,
                )
            }
        };
        println!("| {ours} | {theirs} |");
    }
}
