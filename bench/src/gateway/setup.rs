//! Provisions what a gateway call needs into a fresh data directory, through the `app` operations over the
//! database `prelaunch serve` will then open, with the master key it will load (`master.key` in the data
//! directory): a developer with a notice in review, an agency whose evaluator is assigned to it, a model
//! connection to the mock upstream, and gateway tokens issued by its evaluators.

use crate::seed::person;
use anyhow::{Context, Result};
use app::gateway::ConnectionInput;
use app::program::NewNotice;
use app::{App, Clock, Config, SystemClock};
use std::path::Path;
use std::sync::Arc;

/// The credential the developer enters for the mock; the mock accepts any.
pub const UPSTREAM_CREDENTIAL: &str = "sk-bench-upstream-credential";
/// The model id behind the connection.
pub const UPSTREAM_MODEL: &str = "bench-upstream-model";

/// What the benchmark calls the gateway with.
pub struct Provisioned {
    /// The model's name at the gateway.
    pub model: String,
    /// Gateway tokens (`plg_…`) of the assigned evaluators (each evaluator's in turn), used in turn.
    pub tokens: Vec<String>,
    /// The operations over the provisioned database (the system clock), the notice and its evaluators, for
    /// benchmarks that act as them (`bench eval-workers` starts runs).
    pub app: App,
    pub notice_id: uuid::Uuid,
    pub evaluators: Vec<app::Caller>,
}

/// How the gateway is provisioned: tokens, the evaluators holding them, and the connection's limit of
/// requests per evaluator.
pub struct Shape {
    pub tokens: usize,
    /// Limits apply per evaluator, across their tokens: several evaluators keep a high rate from measuring
    /// one evaluator's limit.
    pub evaluators: usize,
    /// Requests per minute per evaluator (at most 100,000).
    pub requests_per_minute: u32,
}

/// Provisions into `data_dir` (`master.key`, and SQLite's `prelaunch.db` unless a PostgreSQL `database_url` is
/// given), with a connection to `base_url`.
pub async fn provision(
    data_dir: &Path,
    database_url: Option<&str>,
    base_url: &str,
    shape: &Shape,
) -> Result<Provisioned> {
    let url = match database_url {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}", data_dir.join("prelaunch.db").display()),
    };
    let store = store::connect(&url).await?;
    let (key, _) = ::gateway::MasterKey::load_or_create(&data_dir.join("master.key"))?;
    // The mock upstream listens on loopback.
    let config = Config {
        allow_private_upstreams: true,
        ..Config::default()
    };
    let app = App::new(store, Arc::new(SystemClock), config).with_master_key(&key);
    app.check_master_key().await?;
    app.init_admin("admin@clearinghouse.example").await?;

    app.provision_org("developer", "Frontier Lab").await?;
    app.provision_org("agency", "Evaluation Agency").await?;
    let developer = person(&app, "Frontier Lab", "admin@lab.example".into(), "admin").await?;
    let agency_admin = person(&app, "Evaluation Agency", "admin@agency.example".into(), "admin").await?;
    let mut evaluators = Vec::new();
    for i in 0..shape.evaluators.max(1) {
        let email = format!("eval{i}@agency.example");
        evaluators.push(person(&app, "Evaluation Agency", email, "member").await?);
    }

    // The window opens at filing (launch is closer than the review window), so the notice is in review.
    let launch = SystemClock.now() + chrono::Duration::days(20);
    let notice = app
        .file_notice(
            &developer.caller,
            NewNotice {
                model_name: "Bench Model".into(),
                model_version: "1.0".into(),
                planned_launch_at: launch.to_rfc3339(),
                model_card: "# Model card\n\nA model for the gateway benchmark.\n".into(),
                shared_with: Vec::new(),
                shared_with_all: true,
                confirm_duplicate: true,
            },
        )
        .await?;
    for evaluator in &evaluators {
        app.assign(&agency_admin.caller, notice.id, evaluator.caller.user_id())
            .await?;
    }
    let connection = app
        .create_connection(
            &developer.caller,
            notice.id,
            ConnectionInput {
                api_style: "openai".into(),
                base_url: base_url.into(),
                upstream_model: UPSTREAM_MODEL.into(),
                credential: Some(accounts::Secret::new(UPSTREAM_CREDENTIAL.into())),
                // By default the highest limits a connection may have: the benchmark measures the gateway, not
                // them.
                requests_per_minute: Some(i64::from(shape.requests_per_minute)),
                tokens_per_minute: Some(i64::from(::gateway::settings::MAX_TOKENS_PER_MINUTE)),
                concurrency: Some(i64::from(::gateway::settings::MAX_CONCURRENCY)),
                // `digest` is the default retention: each call's record carries the SHA-256 of both texts.
                ..ConnectionInput::default()
            },
        )
        .await?;
    let mut issued = Vec::with_capacity(shape.tokens);
    for i in 0..shape.tokens.max(1) {
        let evaluator = evaluators.get(i % evaluators.len()).context("an evaluator")?;
        let (_, token) = app
            .create_gateway_token(&evaluator.caller, notice.id, &format!("bench {i}"), Some(7))
            .await?;
        issued.push(token.expose().to_owned());
    }
    Ok(Provisioned {
        model: connection.model,
        tokens: issued,
        notice_id: notice.id,
        evaluators: evaluators.into_iter().map(|p| p.caller).collect(),
        app,
    })
}

/// `prelaunch serve` on `data_dir` (and PostgreSQL at `database_url`), on a free loopback port, allowed to call
/// the loopback upstreams the benchmarks start, with none of the caller's `PRELAUNCH_*` settings.
pub fn serve_command(
    prelaunch: &Path,
    data_dir: &Path,
    database_url: Option<&str>,
) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(prelaunch);
    c.arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--listen", "127.0.0.1:0"])
        .arg("--allow-private-upstreams");
    if let Some(url) = database_url {
        c.args(["--database-url", url]);
    }
    for var in [
        "DATABASE_URL",
        "PRELAUNCH_DATA_DIR",
        "PRELAUNCH_LISTEN",
        "PRELAUNCH_PUBLIC_URL",
        "PRELAUNCH_MASTER_KEY_FILE",
        "PRELAUNCH_LEDGER_KEY_FILE",
        "PRELAUNCH_LOG",
        "PRELAUNCH_ALLOW_PRIVATE_UPSTREAMS",
    ] {
        c.env_remove(var);
    }
    c
}
