//! An open-loop load generator for chat completions: requests leave on a fixed schedule (one every `1/rate`
//! seconds) whether or not earlier ones have been answered, and each latency is measured from the moment the
//! request was *scheduled*, not from when it was actually sent, so a stalled server is charged for the whole
//! time its callers would have waited (no coordinated omission). Streams also give the time to the first
//! chunk of the body.
//!
//! The schedule is kept by a plain thread sleeping to absolute deadlines (precise to tens of microseconds);
//! tokio's timers tick in whole milliseconds, which at 1,000 requests/s would send them in bursts.

use crate::load::percentile;
use anyhow::Result;
use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Where the load goes.
#[derive(Clone)]
pub struct Target {
    /// `direct`, `prelaunch`, `litellm`.
    pub name: &'static str,
    /// The chat completions URL of each process serving the target, used in turn.
    pub urls: Vec<String>,
    /// Bearer keys, used in turn (each key by every process in turn).
    pub keys: Vec<String>,
    /// The model name to ask for.
    pub model: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Json,
    Stream,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Json => "non-streaming",
            Mode::Stream => "streaming",
        }
    }
}

/// One measured load.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub rate: f64,
    pub warmup: Duration,
    pub duration: Duration,
    /// A request not finished after this long is an error.
    pub timeout: Duration,
    /// Requests in flight at most; one scheduled beyond this is counted as an error, not queued.
    pub max_in_flight: usize,
}

/// What one step measured (requests scheduled during the warm-up are left out).
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub scheduled: usize,
    pub ok: usize,
    /// Failures by kind: `status 429`, `timeout`, `connection`, `incomplete`, `client cap`.
    pub errors: BTreeMap<String, usize>,
    /// Sorted latencies of the successful requests, from the scheduled time to the last byte.
    pub latency: Vec<Duration>,
    /// Sorted times to the first chunk of a stream's body.
    pub ttft: Vec<Duration>,
    /// How late the sender was, worst 1 %: if this is large the load generator, not the server, was behind.
    pub send_lag_p99: Duration,
    /// Successful answers per second over the measured window.
    pub per_second: f64,
}

impl Outcome {
    pub fn error_count(&self) -> usize {
        self.errors.values().sum()
    }

    pub fn p(&self, q: f64) -> Duration {
        percentile(&self.latency, q)
    }

    pub fn ttft_p(&self, q: f64) -> Option<Duration> {
        (!self.ttft.is_empty()).then(|| percentile(&self.ttft, q))
    }
}

/// The request body: a short conversation, as an evaluation harness would send.
pub fn body(model: &str, mode: Mode) -> Bytes {
    let mut body = serde_json::json!({
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a careful assistant. Answer briefly."},
            {"role": "user", "content": "Summarise in two sentences why memory-safe languages reduce the \
                number of exploitable vulnerabilities in network services."},
        ],
        "max_tokens": 64,
        "temperature": 0,
    });
    if mode == Mode::Stream
        && let Some(object) = body.as_object_mut()
    {
        object.insert("stream".into(), true.into());
        object.insert(
            "stream_options".into(),
            serde_json::json!({"include_usage": true}),
        );
    }
    Bytes::from(body.to_string())
}

pub fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(4096)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// One request's result.
enum Done {
    Ok {
        latency: Duration,
        ttft: Option<Duration>,
    },
    Failed(String),
}

/// Sends one request and reads the whole answer, checking that it is one.
async fn once(
    client: &reqwest::Client,
    url: &str,
    key: &HeaderValue,
    body: Bytes,
    mode: Mode,
    scheduled: Instant,
) -> Done {
    let sent = client
        .post(url)
        .header(AUTHORIZATION, key.clone())
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(e) if e.is_timeout() => return Done::Failed("timeout".into()),
        Err(_) => return Done::Failed("connection".into()),
    };
    if response.status() != 200 {
        return Done::Failed(format!("status {}", response.status().as_u16()));
    }
    let mut ttft = None;
    // The last bytes seen, enough to check how the answer ended.
    let mut tail: Vec<u8> = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if ttft.is_none() && !chunk.is_empty() {
                    ttft = Some(scheduled.elapsed());
                }
                tail.extend_from_slice(&chunk);
                if tail.len() > 4096 {
                    tail.drain(..tail.len() - 64);
                }
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => return Done::Failed("timeout".into()),
            Err(_) => return Done::Failed("incomplete".into()),
        }
    }
    let latency = scheduled.elapsed();
    let complete = match mode {
        Mode::Json => tail.windows(15).any(|w| w == b"chat.completion"),
        Mode::Stream => tail.ends_with(b"data: [DONE]\n\n") || tail.ends_with(b"data: [DONE]\r\n\r\n"),
    };
    if !complete {
        return Done::Failed("incomplete".into());
    }
    Done::Ok {
        latency,
        ttft: (mode == Mode::Stream).then_some(ttft).flatten(),
    }
}

/// Runs one step: `rate` requests per second for `warmup + duration`, then waits for the stragglers (at most
/// `timeout`).
pub async fn run(client: &reqwest::Client, target: &Target, mode: Mode, step: Step) -> Result<Outcome> {
    let interval = Duration::from_secs_f64(1.0 / step.rate.max(0.001));
    let total = ((step.warmup + step.duration).as_secs_f64() * step.rate).round() as usize;
    let measured_from = ((step.warmup.as_secs_f64()) * step.rate).round() as usize;
    let keys: Vec<HeaderValue> = target
        .keys
        .iter()
        .map(|k| HeaderValue::from_str(&format!("Bearer {k}")))
        .collect::<Result<_, _>>()?;
    let body = body(&target.model, mode);

    // The pacer: a thread that wakes at each scheduled time and hands the request over.
    let (ticks, mut due) = mpsc::unbounded_channel::<(usize, Instant)>();
    let start = Instant::now() + Duration::from_millis(20);
    let pacer = std::thread::spawn(move || {
        for i in 0..total {
            let at = start + interval.mul_f64(i as f64);
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            if ticks.send((i, at)).is_err() {
                return;
            }
        }
    });

    let in_flight = Arc::new(AtomicUsize::new(0));
    let (results, mut finished) = mpsc::unbounded_channel::<(usize, Done, Duration)>();
    let mut outcome = Outcome::default();
    while let Some((i, scheduled)) = due.recv().await {
        let lag = scheduled.elapsed();
        if in_flight.load(Ordering::Relaxed) >= step.max_in_flight {
            let _ = results.send((i, Done::Failed("client cap".into()), lag));
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (client, body, results, in_flight) =
            (client.clone(), body.clone(), results.clone(), in_flight.clone());
        // Processes in turn, and each key through every process in turn.
        let processes = target.urls.len().max(1);
        let url = target.urls.get(i % processes).cloned().unwrap_or_default();
        let key = keys
            .get((i / processes) % keys.len().max(1))
            .cloned()
            .unwrap_or(HeaderValue::from_static(""));
        let timeout = step.timeout;
        tokio::spawn(async move {
            let done = tokio::time::timeout(timeout, once(&client, &url, &key, body, mode, scheduled))
                .await
                .unwrap_or_else(|_| Done::Failed("timeout".into()));
            in_flight.fetch_sub(1, Ordering::Relaxed);
            let _ = results.send((i, done, lag));
        });
    }
    let _ = pacer.join();
    drop(results);

    let mut lags = Vec::new();
    while let Some((i, done, lag)) = finished.recv().await {
        if i < measured_from {
            continue;
        }
        outcome.scheduled += 1;
        lags.push(lag);
        match done {
            Done::Ok { latency, ttft } => {
                outcome.ok += 1;
                outcome.latency.push(latency);
                outcome.ttft.extend(ttft);
            }
            Done::Failed(kind) => *outcome.errors.entry(kind).or_default() += 1,
        }
    }
    outcome.latency.sort_unstable();
    outcome.ttft.sort_unstable();
    lags.sort_unstable();
    outcome.send_lag_p99 = percentile(&lags, 0.99);
    outcome.per_second = outcome.ok as f64 / step.duration.as_secs_f64();
    Ok(outcome)
}
