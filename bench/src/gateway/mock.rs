//! The mock model API the gateway benchmark calls: OpenAI chat completions with a fixed service time, as a
//! whole JSON answer or as server-sent events (a fixed number of chunks with a fixed gap, then the usage chunk
//! when asked for, then `[DONE]`). It runs in its own process so it does not share the measured server's
//! runtime.
//!
//! Waits are `std::thread::sleep` on the blocking pool, not tokio timers: tokio's timer wheel has a resolution
//! of one millisecond, which would turn a 0.6 ms service time into 1–2 ms with jitter of the same size.

use anyhow::{Context, Result};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How the mock answers.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Shape {
    /// Microseconds from the request to the answer (a whole JSON body, or a stream's first chunk).
    #[arg(long, default_value_t = 600)]
    pub service_us: u64,
    /// Content chunks in a streamed answer.
    #[arg(long, default_value_t = 10)]
    pub chunks: usize,
    /// Microseconds between two chunks of a stream.
    #[arg(long, default_value_t = 1000)]
    pub gap_us: u64,
}

/// The words the mock's answers are made of: one word is one completion token.
const WORDS: [&str; 8] = [
    "The ",
    "model ",
    "answered ",
    "the ",
    "question ",
    "in ",
    "plain ",
    "words. ",
];
/// Completion tokens of a whole (non-streamed) answer.
const COMPLETION_TOKENS: usize = 48;
/// The model id the mock reports, like an upstream would.
const UPSTREAM_MODEL: &str = "bench-upstream-model-2027-01";

pub async fn serve(listen: SocketAddr, shape: Shape) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    // The orchestrator reads this line to learn the port.
    println!("mock upstream listening on http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .with_state(Arc::new(shape));
    // Small writes (a stream's chunks) go out at once instead of waiting for the previous one's ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

/// Waits `micros` on the blocking pool (see the module docs).
async fn pause(micros: u64) {
    let _ = tokio::task::spawn_blocking(move || std::thread::sleep(Duration::from_micros(micros))).await;
}

/// Roughly what a tokenizer would count: one token per four bytes of the messages.
fn prompt_tokens(request: &Value) -> u64 {
    let bytes = request.get("messages").map(|m| m.to_string().len()).unwrap_or(0);
    (bytes / 4).max(1) as u64
}

fn usage(prompt: u64, completion: usize) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion as u64,
    })
}

async fn chat(State(shape): State<Arc<Shape>>, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let prompt = prompt_tokens(&request);
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    if request.get("stream").and_then(Value::as_bool) != Some(true) {
        pause(shape.service_us).await;
        let text: String = (0..COMPLETION_TOKENS)
            .map(|i| WORDS.get(i % WORDS.len()).copied().unwrap_or(""))
            .collect();
        let answer = json!({
            "id": id,
            "object": "chat.completion",
            "created": 1_798_761_600,
            "model": UPSTREAM_MODEL,
            "system_fingerprint": "fp_bench",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": null},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": usage(prompt, COMPLETION_TOKENS),
        });
        return axum::Json(answer).into_response();
    }
    let wants_usage = request
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (events, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let shape = *shape;
    // One blocking thread paces the whole stream; it stops when the reader goes away.
    drop(tokio::task::spawn_blocking(move || {
        let chunk = |delta: Value, finish: Value| {
            let event = json!({
                "id": id, "object": "chat.completion.chunk", "created": 1_798_761_600,
                "model": UPSTREAM_MODEL, "system_fingerprint": "fp_bench",
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
            });
            Bytes::from(format!("data: {event}\n\n"))
        };
        std::thread::sleep(Duration::from_micros(shape.service_us));
        for i in 0..shape.chunks {
            if i > 0 {
                std::thread::sleep(Duration::from_micros(shape.gap_us));
            }
            let word = WORDS.get(i % WORDS.len()).copied().unwrap_or("");
            let delta = if i == 0 {
                json!({"role": "assistant", "content": word})
            } else {
                json!({"content": word})
            };
            if events.blocking_send(Ok(chunk(delta, Value::Null))).is_err() {
                return;
            }
        }
        let mut tail = vec![chunk(json!({}), json!("stop"))];
        if wants_usage {
            let event = json!({
                "id": id, "object": "chat.completion.chunk", "created": 1_798_761_600,
                "model": UPSTREAM_MODEL, "system_fingerprint": "fp_bench", "choices": [],
                "usage": usage(prompt, shape.chunks),
            });
            tail.push(Bytes::from(format!("data: {event}\n\n")));
        }
        tail.push(Bytes::from_static(b"data: [DONE]\n\n"));
        for event in tail {
            if events.blocking_send(Ok(event)).is_err() {
                return;
            }
        }
    }));
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}
