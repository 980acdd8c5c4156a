//! `bench gateway hostile`: the server's memory while a hostile upstream answers several evaluators at once
//! with far more than a connection allows (issue 8).
//!
//! A hostile model API (`hostile-upstream`, its own process, loopback only) answers every call with
//! `--bytes` bytes, made only as they are pulled: a JSON chat completion (`json`), a stream of small
//! events (`stream`), or one event that never ends (`event`), as the call's `hostile` field says. `prelaunch
//! serve` calls it through a connection with the default limits (16 MiB per JSON answer, 1 MiB per event,
//! 64 MiB per stream). For each kind, `--clients` evaluators call at once, `--calls` times each; the report
//! gives how each call was answered, how long it took, how many bytes the upstream got to send per call, and
//! prelaunch's resident memory before and at its peak (sampled every 50 ms, and `VmHWM`).

use super::procs::{self, Proc};
use super::setup;
use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::process::Command as Process;

#[derive(clap::Args)]
pub struct HostileArgs {
    /// The `prelaunch` binary to measure (a release build).
    #[arg(long, default_value = "target/release/prelaunch")]
    prelaunch: PathBuf,
    /// Bytes of every hostile answer.
    #[arg(long, default_value_t = 300_000_000)]
    bytes: u64,
    /// Evaluators calling at once.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Calls each evaluator makes, one after the other, per kind of answer.
    #[arg(long, default_value_t = 2)]
    calls: usize,
    /// Keep the data directory and the logs (its path is printed).
    #[arg(long)]
    keep: bool,
}

/// The kinds of hostile answer, in the order measured.
const KINDS: [&str; 3] = ["json", "stream", "event"];

/// The hostile upstream's process.
pub async fn serve(listen: SocketAddr, bytes: u64) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    println!("hostile upstream listening on http://{}", listener.local_addr()?);
    let sent = Arc::new(Sent {
        bytes,
        sent: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/v1/chat/completions", post(answer))
        .route("/stats", get(stats))
        .with_state(sent);
    axum::serve(listener, app).await?;
    Ok(())
}

struct Sent {
    bytes: u64,
    /// Body bytes pulled by the gateway, over all calls.
    sent: AtomicU64,
}

async fn stats(State(sent): State<Arc<Sent>>) -> axum::Json<Value> {
    axum::Json(json!({"sent": sent.sent.load(Ordering::SeqCst)}))
}

async fn answer(State(sent): State<Arc<Sent>>, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let kind = request.get("hostile").and_then(Value::as_str).unwrap_or("json");
    if kind == "none" {
        let answer = json!({"id": "x", "object": "chat.completion", "model": "m", "choices": [{"index": 0,
            "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1}});
        return axum::Json(answer).into_response();
    }
    let block = |fill: &[u8]| Bytes::from(fill.repeat(64 * 1024 / fill.len()));
    let (content_type, head, fill, tail) = match kind {
        "stream" => (
            "text/event-stream",
            Bytes::new(),
            // 64 KiB of small events per piece: each a chunk of content.
            {
                let event = format!(
                    "data: {}\n\n",
                    json!({"choices": [{"index": 0, "delta": {"content": "x".repeat(40)}}]})
                );
                Bytes::from(event.repeat(64 * 1024 / event.len()))
            },
            Bytes::new(),
        ),
        "event" => (
            "text/event-stream",
            Bytes::from_static(br#"data: {"choices":[{"index":0,"delta":{"content":""#),
            block(b"a"),
            Bytes::from_static(b"\"}}]}\n\n"),
        ),
        _ => (
            "application/json",
            Bytes::from_static(
                br#"{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":""#,
            ),
            block(b"a"),
            Bytes::from_static(br#""},"finish_reason":"stop"}]}"#),
        ),
    };
    let pieces = sent.bytes / fill.len() as u64;
    let items = std::iter::once(head)
        .chain(std::iter::repeat_n(fill, usize::try_from(pieces).unwrap_or(0)))
        .chain(std::iter::once(tail))
        .filter(|b| !b.is_empty());
    let stream = futures_util::stream::unfold((items, sent), |(mut items, sent)| async move {
        let item = items.next()?;
        sent.sent.fetch_add(item.len() as u64, Ordering::SeqCst);
        Some((Ok::<Bytes, std::io::Error>(item), (items, sent)))
    });
    ([(header::CONTENT_TYPE, content_type)], Body::from_stream(stream)).into_response()
}

/// How one call was answered.
struct Answered {
    status: u16,
    code: Option<String>,
    took: Duration,
}

pub async fn run(args: &HostileArgs) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("prelaunch_hostile_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let outcome = measure(args, &dir).await;
    if args.keep || outcome.is_err() {
        eprintln!("the data directory and logs are in {}", dir.display());
    } else {
        std::fs::remove_dir_all(&dir)?;
    }
    outcome
}

async fn measure(args: &HostileArgs, dir: &Path) -> Result<()> {
    let this = std::env::current_exe()?;
    let mut upstream = Proc::start(
        "hostile upstream",
        {
            let mut c = Process::new(&this);
            c.args(["gateway", "hostile-upstream", "--listen", "127.0.0.1:0"])
                .args(["--bytes", &args.bytes.to_string()]);
            c
        },
        &dir.join("upstream.log"),
    )?;
    let line = upstream
        .line_with("listening on", Duration::from_secs(10))
        .await?;
    let upstream_url = line
        .rsplit(' ')
        .next()
        .context("the upstream's address")?
        .to_owned();
    let shape = setup::Shape {
        tokens: args.clients,
        evaluators: args.clients,
        requests_per_minute: 100_000,
    };
    let provisioned = setup::provision(dir, None, &format!("{upstream_url}/v1"), &shape).await?;
    let mut prelaunch = Proc::start(
        "prelaunch",
        setup::serve_command(&args.prelaunch, dir, None),
        &dir.join("prelaunch.log"),
    )?;
    let line = prelaunch
        .line_with("Prelaunch is listening on", Duration::from_secs(60))
        .await?;
    let base = line.rsplit(' ').next().context("prelaunch's address")?.to_owned();
    let url = format!("{base}/gateway/v1/chat/completions");
    eprintln!(
        "hostile upstream at {upstream_url} (pid {}), prelaunch at {base} (pid {})",
        upstream.pid, prelaunch.pid
    );
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()?;
    // One ordinary call first, so the idle figure is that of a server that has answered.
    let ordinary = client
        .post(&url)
        .bearer_auth(provisioned.tokens.first().context("a token")?)
        .json(
            &json!({"model": provisioned.model, "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 1, "hostile": "none"}),
        )
        .send()
        .await?;
    eprintln!("a first call: {}", ordinary.status());
    drop(ordinary);

    let mut rows = Vec::new();
    for kind in KINDS {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = procs::rss_kib(prelaunch.pid);
        let sent_before = sent(&client, &upstream_url).await?;
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let pid = prelaunch.pid;
        let sampler = tokio::spawn(async move {
            let mut peak = 0;
            loop {
                peak = peak.max(procs::rss_kib(pid));
                tokio::select! {
                    _ = &mut stopped => return peak,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
            }
        });
        let started = Instant::now();
        let mut tasks = Vec::new();
        for token in provisioned.tokens.iter().take(args.clients) {
            let token = token.clone();
            let (client, url, model, calls) =
                (client.clone(), url.clone(), provisioned.model.clone(), args.calls);
            tasks.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for _ in 0..calls {
                    answers.push(call(&client, &url, &token, &model, kind).await);
                }
                answers
            }));
        }
        let mut answered = Vec::new();
        for task in tasks {
            for answer in task.await? {
                answered.push(answer?);
            }
        }
        let elapsed = started.elapsed();
        let _ = stop.send(());
        let peak = sampler.await.unwrap_or(0);
        let sent_after = sent(&client, &upstream_url).await?;
        eprintln!(
            "{kind}: {} calls in {elapsed:?}, peak {} MiB",
            answered.len(),
            peak / 1024
        );
        rows.push((kind, answered, before, peak, sent_after - sent_before));
    }
    let hwm = procs::peak_kib(prelaunch.pid);
    report(args, &rows, hwm);
    prelaunch.stop(Duration::from_secs(10)).await;
    upstream.stop(Duration::from_secs(5)).await;
    Ok(())
}

async fn sent(client: &reqwest::Client, upstream: &str) -> Result<u64> {
    let stats: Value = client
        .get(format!("{upstream}/stats"))
        .send()
        .await?
        .json()
        .await?;
    stats
        .get("sent")
        .and_then(Value::as_u64)
        .context("the upstream's count")
}

/// One call, its answer read to the end (only its last event kept), and how it ended.
async fn call(client: &reqwest::Client, url: &str, token: &str, model: &str, kind: &str) -> Result<Answered> {
    let started = Instant::now();
    let stream = kind != "json";
    let mut response = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({"model": model, "stream": stream, "hostile": kind,
            "messages": [{"role": "user", "content": "answer at length"}]}))
        .send()
        .await?;
    let status = response.status().as_u16();
    let mut tail: Vec<u8> = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        tail.extend_from_slice(&chunk);
        if tail.len() > 8192 {
            tail.drain(..tail.len() - 4096);
        }
    }
    let text = String::from_utf8_lossy(&tail);
    let last = if stream {
        text.rsplit("data: ").next().unwrap_or_default().trim().to_owned()
    } else {
        text.into_owned()
    };
    let code = serde_json::from_str::<Value>(&last).ok().and_then(|v| {
        v.pointer("/error/code")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    if code.is_none() && status == 200 {
        bail!("a {kind} call was answered in full: the limits did not hold");
    }
    Ok(Answered {
        status,
        code,
        took: started.elapsed(),
    })
}

fn report(args: &HostileArgs, rows: &[(&str, Vec<Answered>, u64, u64, u64)], hwm_kib: Option<u64>) {
    let mib = |kib: u64| format!("{:.0}", kib as f64 / 1024.0);
    println!(
        "\n### Hostile upstream: {} evaluators at once, {} calls each, every answer {} MB\n",
        args.clients,
        args.calls,
        args.bytes / 1_000_000
    );
    println!(
        "| answer | calls | answered | call p50 s | call max s | upstream MiB sent per call | prelaunch RSS before MiB | peak MiB |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|");
    for (kind, answered, before, peak, sent) in rows {
        let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
        for a in answered {
            let code = a.code.as_deref().unwrap_or("complete");
            *outcomes.entry(format!("{} {code}", a.status)).or_default() += 1;
        }
        let outcomes: Vec<String> = outcomes.iter().map(|(k, n)| format!("{n} × {k}")).collect();
        let mut took: Vec<f64> = answered.iter().map(|a| a.took.as_secs_f64()).collect();
        took.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let p50 = took.get(took.len() / 2).copied().unwrap_or_default();
        let max = took.last().copied().unwrap_or_default();
        let label = match *kind {
            "json" => "JSON body",
            "stream" => "stream of small events",
            _ => "one unending event",
        };
        println!(
            "| {label} | {} | {} | {p50:.2} | {max:.2} | {:.1} | {} | {} |",
            answered.len(),
            outcomes.join(", "),
            *sent as f64 / answered.len().max(1) as f64 / 1_048_576.0,
            mib(*before),
            mib(*peak)
        );
    }
    if let Some(hwm) = hwm_kib {
        println!(
            "\nprelaunch's VmHWM (peak resident set over its life): {} MiB",
            mib(hwm)
        );
    }
}
