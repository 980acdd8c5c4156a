//! HTTP for Prelaunch: the JSON API (`/api/v1`), the server-rendered web UI, health endpoints. Routes and
//! pages only: every rule is in `app` and below.

pub mod api;
mod csaf;
pub mod error;
pub mod extract;
pub mod gateway;
pub mod ledger;
pub mod osv;
pub mod taxii;
pub mod web;

use app::App;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use std::future::Future;
use std::time::Instant;
use tokio::net::TcpListener;

/// The largest request body accepted (a model card is at most 100 kB of it).
pub const BODY_LIMIT: usize = 256 * 1024;

pub fn router(app: App) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .nest("/api/v1", api::routes())
        .nest("/gateway/v1", gateway::routes())
        .merge(ledger::routes())
        .merge(osv::routes())
        .merge(csaf::routes())
        .merge(taxii::routes())
        .merge(web::routes())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(access_log))
        .with_state(app)
}

async fn readyz(State(app): State<App>) -> Response {
    match app.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(error = %error, "not ready: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// Headers every response carries: no framing, no sniffing, no referrer, scripts and styles only from here.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}

/// One log line per request: method, route, status, duration. Never the query string or headers, which can
/// carry tokens.
async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = loggable_path(request.uri().path());
    let response = next.run(request).await;
    tracing::info!(
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// The path as it may be logged: one-time links carry their token in the path, so it is cut off.
fn loggable_path(path: &str) -> String {
    for prefix in ["/invitations/", "/setup/", "/password-reset/"] {
        if path.starts_with(prefix) {
            return format!("{prefix}…");
        }
    }
    path.chars().take(200).collect()
}

/// Serves until `shutdown` completes, then lets in-flight requests finish. Background work is not run here:
/// the caller runs a `jobs::Worker` beside it (`prelaunch serve` does, unless `--no-worker`).
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Without TCP_NODELAY a stream's small writes wait for the client's ACK of the previous one, which a
    // client may delay by 40 ms: every streamed answer's first token would arrive that much later.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(error = %error, "could not set TCP_NODELAY");
        }
    });
    // Each request knows its connection's peer address (`extract::ClientAddr`), for login throttling.
    let service = router(app).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
