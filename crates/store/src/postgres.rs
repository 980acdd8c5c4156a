//! PostgreSQL: the path past one machine. Any number of server and worker processes share one database.

use crate::{Backend, Result};
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A pooled connection idle for longer than this is pinged before use (see `connect`).
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

pub struct PostgresStore {
    pool: sqlx::PgPool,
}

impl PostgresStore {
    const BACKEND: Backend = Backend::Postgres;

    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings every idle connection before handing it out: a second round trip for every
            // statement. Ping only a connection that sat idle long enough to have been dropped.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PostgresStore { pool })
    }
}

/// This backend's sqlx database and store, as the shared query modules below name them.
type Db = sqlx::Postgres;
type This = PostgresStore;

// The SQL of each domain, shared by the backends: one module per store trait (see `queries/`). Each file is
// compiled once per backend on purpose, hence `duplicate_mod`.
#[allow(clippy::duplicate_mod)]
#[path = "queries/advisories.rs"]
mod advisories;
#[allow(clippy::duplicate_mod)]
#[path = "queries/audience.rs"]
mod audience;
#[allow(clippy::duplicate_mod)]
#[path = "queries/audit.rs"]
mod audit;
#[allow(clippy::duplicate_mod)]
#[path = "queries/cases.rs"]
mod cases;
#[allow(clippy::duplicate_mod)]
#[path = "queries/dashboard.rs"]
mod dashboard;
#[allow(clippy::duplicate_mod)]
#[path = "queries/evals.rs"]
mod evals;
#[allow(clippy::duplicate_mod)]
#[path = "queries/federation.rs"]
mod federation;
#[allow(clippy::duplicate_mod)]
#[path = "queries/findings.rs"]
mod findings;
#[allow(clippy::duplicate_mod)]
#[path = "queries/gateway.rs"]
mod gateway;
#[allow(clippy::duplicate_mod)]
#[path = "queries/identity.rs"]
mod identity;
#[allow(clippy::duplicate_mod)]
#[path = "queries/jobs.rs"]
mod jobs;
#[allow(clippy::duplicate_mod)]
#[path = "queries/ledger.rs"]
mod ledger;
#[allow(clippy::duplicate_mod)]
#[path = "queries/limits.rs"]
mod limits;
#[allow(clippy::duplicate_mod)]
#[path = "queries/notifications.rs"]
mod notifications;
#[allow(clippy::duplicate_mod)]
#[path = "queries/readers.rs"]
mod readers;
#[allow(clippy::duplicate_mod)]
#[path = "queries/reports.rs"]
mod reports;
#[allow(clippy::duplicate_mod)]
#[path = "queries/review.rs"]
mod review;
#[allow(clippy::duplicate_mod)]
#[path = "queries/sessions.rs"]
mod sessions;
#[allow(clippy::duplicate_mod)]
#[path = "queries/settings.rs"]
mod settings;
#[allow(clippy::duplicate_mod)]
#[path = "queries/store.rs"]
mod store;
#[allow(clippy::duplicate_mod)]
#[path = "queries/taxii.rs"]
mod taxii;
#[allow(clippy::duplicate_mod)]
#[path = "queries/taxii_collections.rs"]
mod taxii_collections;
#[allow(clippy::duplicate_mod)]
#[path = "queries/tlp.rs"]
mod tlp;
#[allow(clippy::duplicate_mod)]
#[path = "queries/webhooks.rs"]
mod webhooks;
