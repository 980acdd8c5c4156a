//! `bench ledger`: appends a million entries to a fresh ledger (in batches, as concurrent business
//! transactions would), then measures checkpoint signing, inclusion and consistency proofs at that size,
//! and tile serving over HTTP.

use crate::{Backend, Database};
use anyhow::{Context, Result};
use app::{App, Config, SystemClock};
use chrono::{Duration as Span, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{AuditEvent, Json};
use uuid::Uuid;

#[derive(clap::Args)]
pub struct LedgerArgs {
    #[arg(long, value_enum)]
    pub backend: Backend,
    /// PostgreSQL: a server to create a fresh database on (e.g. postgres://user@127.0.0.1:5432/postgres).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    #[arg(long, default_value_t = 1_000_000)]
    pub entries: u64,
    /// Entries per transaction.
    #[arg(long, default_value_t = 1000)]
    pub batch: u64,
    /// Proofs of each kind to time.
    #[arg(long, default_value_t = 5000)]
    pub proofs: usize,
    /// Concurrent clients fetching tiles.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds of tile fetching.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
}

/// Median and 99th percentile of durations, in milliseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    (at(0.5), at(0.99))
}

fn event(n: u64) -> AuditEvent {
    let base = Utc
        .with_ymd_and_hms(2027, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    AuditEvent {
        seq: 0,
        id: Uuid::now_v7(),
        at: base + Span::milliseconds(i64::try_from(n).unwrap_or(0)),
        actor_user_id: Some(Uuid::now_v7()),
        actor_org_id: Some(Uuid::now_v7()),
        action: "notice.moved".into(),
        object_type: "notice".into(),
        object_id: Some(Uuid::now_v7()),
        details: Json(serde_json::json!({"n": n, "reason": "benchmark entry"})),
    }
}

pub async fn run(args: LedgerArgs) -> Result<()> {
    let database = Database::create(args.backend, args.database_url.as_deref()).await?;
    let result = measure(&args, database.url()).await;
    database.remove().await?;
    result
}

async fn measure(args: &LedgerArgs, url: &str) -> Result<()> {
    let store = store::connect(url).await.context("opening the database")?;
    println!(
        "appending {} entries in batches of {} ({:?})",
        args.entries,
        args.batch,
        store.backend()
    );
    let started = Instant::now();
    let mut batch_times = Vec::new();
    let mut n = 0;
    while n < args.entries {
        let count = args.batch.min(args.entries - n);
        let events: Vec<AuditEvent> = (n..n + count).map(event).collect();
        let t = Instant::now();
        store.append_events(&events).await?;
        batch_times.push(t.elapsed());
        n += count;
        if n % 100_000 == 0 {
            println!(
                "  {n} entries, {:.0}/s so far",
                n as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let append_secs = started.elapsed().as_secs_f64();
    let (batch_p50, batch_p99) = percentiles(batch_times);

    let app = App::new(store.clone(), Arc::new(SystemClock), Config::default());
    let mut signing = Vec::new();
    for i in 0..20 {
        store.append_events(&[event(args.entries + i)]).await?;
        let t = Instant::now();
        app.sign_checkpoint().await?;
        signing.push(t.elapsed());
    }
    let size = store.ledger_size().await?;
    let (sign_p50, sign_p99) = percentiles(signing);

    // Proofs from a fresh process (cold node cache), then again warm.
    let mut rng = rand::thread_rng();
    let cold = App::new(store.clone(), Arc::new(SystemClock), Config::default());
    let mut inclusion = Vec::with_capacity(args.proofs);
    for _ in 0..args.proofs {
        let index = rng.gen_range(0..size);
        let t = Instant::now();
        cold.inclusion_proof(index, size).await?;
        inclusion.push(t.elapsed());
    }
    let mut consistency = Vec::with_capacity(args.proofs);
    for _ in 0..args.proofs {
        let old = rng.gen_range(1..size);
        let t = Instant::now();
        cold.consistency_proof(old, size).await?;
        consistency.push(t.elapsed());
    }
    let (inc_p50, inc_p99) = percentiles(inclusion);
    let (con_p50, con_p99) = percentiles(consistency);

    // Tiles over HTTP: full level-0 and level-1 tiles at random, from concurrent kept-alive clients.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(listener, app.clone(), async move {
        let _ = stop_rx.await;
    }));
    let full0 = size / 256;
    let full1 = size / 65536;
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..args.clients {
        let base = base.clone();
        clients.spawn(async move {
            let client = reqwest::Client::builder().no_proxy().build()?;
            let mut times = Vec::new();
            let mut errors = 0u64;
            let mut rng = rand::rngs::StdRng::from_entropy();
            while Instant::now() < deadline {
                let tile = if full1 > 0 && rng.gen_bool(0.1) {
                    ledger::tile::Tile::Hashes {
                        level: 1,
                        index: rng.gen_range(0..full1),
                        width: 256,
                    }
                } else {
                    ledger::tile::Tile::Hashes {
                        level: 0,
                        index: rng.gen_range(0..full0.max(1)),
                        width: 256,
                    }
                };
                let t = Instant::now();
                match client.get(format!("{base}/ledger/{}", tile.path())).send().await {
                    Ok(r) if r.status().is_success() => {
                        r.bytes().await?;
                        times.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            anyhow::Ok((times, errors))
        });
    }
    let mut tile_times = Vec::new();
    let mut tile_errors = 0;
    while let Some(done) = clients.join_next().await {
        let (times, errors) = done??;
        tile_times.extend(times);
        tile_errors += errors;
    }
    let tiles = tile_times.len();
    let (tile_p50, tile_p99) = percentiles(tile_times);
    let _ = stop_tx.send(());
    let _ = server.await;

    println!();
    println!(
        "| backend | entries | appends/s | batch p50 / p99 ms | checkpoint sign p50 / p99 ms | inclusion p50 / p99 ms | consistency p50 / p99 ms | tiles/s | tile p50 / p99 ms | tile errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {:?} | {} | {:.0} | {:.1} / {:.1} | {:.2} / {:.2} | {:.3} / {:.3} | {:.3} / {:.3} | {:.0} | {:.2} / {:.2} | {} |",
        store.backend(),
        size,
        args.entries as f64 / append_secs,
        batch_p50,
        batch_p99,
        sign_p50,
        sign_p99,
        inc_p50,
        inc_p99,
        con_p50,
        con_p99,
        tiles as f64 / args.duration as f64,
        tile_p50,
        tile_p99,
        tile_errors
    );
    Ok(())
}
