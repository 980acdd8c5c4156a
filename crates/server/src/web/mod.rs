//! The web UI, rendered on the server. Every core flow works with plain HTML forms; the only assets are a
//! stylesheet and a favicon compiled into the binary.

pub mod assets;

use app::App;
use axum::Router;

pub fn routes() -> Router<App> {
    Router::new().merge(assets::routes())
}
