//! Static assets, embedded in the binary: these networks are closed, so nothing comes from a CDN.

use app::App;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const CSS: &str = include_str!("../../assets/app.css");
const ICON: &str = include_str!("../../assets/icon.svg");
const DUPLICATES_JS: &str = include_str!("../../assets/duplicates.js");
const EVAL_RUN_JS: &str = include_str!("../../assets/eval_run.js");
const COPY_JS: &str = include_str!("../../assets/copy.js");
const ERROR_SUMMARY_JS: &str = include_str!("../../assets/error_summary.js");

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/assets/app.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    CSS,
                )
                    .into_response()
            }),
        )
        .route(
            "/assets/error_summary.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    ERROR_SUMMARY_JS,
                )
                    .into_response()
            }),
        )
        .route(
            "/assets/duplicates.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    DUPLICATES_JS,
                )
                    .into_response()
            }),
        )
        .route(
            "/assets/eval_run.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    EVAL_RUN_JS,
                )
                    .into_response()
            }),
        )
        .route(
            "/assets/copy.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    COPY_JS,
                )
                    .into_response()
            }),
        )
        .route(
            "/assets/icon.svg",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "image/svg+xml"),
                        (header::CACHE_CONTROL, "public, max-age=86400"),
                    ],
                    ICON,
                )
                    .into_response()
            }),
        )
}
