//! Persistence: the `Store` trait and its SQLite and PostgreSQL implementations.
//!
//! Every mutating method takes the audit event that describes it and writes both in one transaction (see
//! `record` in `queries/ledger.rs`): a change that fails writes no event, and no event exists without its change.
//! Authorisation is not decided here; callers pass the audience that `app::policy` computed, and every read of
//! notices, findings, assessments and events compiles it into its query (`audience.rs`).

/// The SQL of each domain, shared by the backends: one module per store trait (see `queries/`), declared in
/// each backend's module (`sqlite.rs`, `postgres.rs`) after its `Db` and `This`, so every file is compiled once
/// per backend on purpose (hence `duplicate_mod`).
macro_rules! query_modules {
    () => {
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
        #[path = "queries/candidates.rs"]
        mod candidates;
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
        #[path = "queries/filed_export.rs"]
        mod filed_export;
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
        #[path = "queries/intake.rs"]
        mod intake;
        #[allow(clippy::duplicate_mod)]
        #[path = "queries/intake_counters.rs"]
        mod intake_counters;
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
        #[allow(clippy::duplicate_mod)]
        #[path = "queries/writes.rs"]
        mod writes;
    };
}

mod advisories;
mod audience;
mod candidate_cache;
mod cases;
mod checkpointer;
mod dashboard;
mod dedup_index;
mod evals;
mod federation;
mod findings;
mod gateway;
mod identity;
mod jobs;
mod limits;
mod model;
mod notifications;
mod postgres;
mod reports;
mod review;
mod settings;
mod sql;
mod sqlite;
mod taxii;
mod taxii_collections;
mod tlp;
mod trail;
mod webhooks;

pub use advisories::*;
pub use audience::{Audience, AudienceStore, EventQuery, EventReaders, TrailFilter};
pub use cases::*;
pub use dashboard::{DashboardStore, ProgramCounts};
pub use dedup_index::DedupIndexSize;
pub use evals::*;
pub use federation::{FederationStore, PeerRow, PeerRun, PeerRunEnd, PulledPage, PushState, PushedEnvelope};
pub use findings::FindingLifeStore;
pub use gateway::*;
pub use identity::{IdentityStore, SessionStore};
pub use jobs::*;
pub use kernel::TlpAudience;
pub use limits::*;
pub use model::*;
pub use notifications::*;
pub use postgres::PostgresStore;
pub use reports::*;
pub use review::ReviewStore;
pub use settings::{CsafSigningKey, SettingsStore};
pub use sqlite::SqliteStore;
pub use sqlx::types::Json;
pub use taxii::{
    RecordPost, StixObjectRow, StixOrigin, TaxiiCursor, TaxiiPost, TaxiiQuery, TaxiiStatusRow, TaxiiStore,
    VersionMatch,
};
pub use taxii_collections::{CommunityMember, CommunityRow, FilterCollectionRow, TaxiiCollectionStore};
pub use tlp::{TlpClient, TlpObject, TlpStore};
pub use trail::{AuditStore, LedgerStore};
pub use webhooks::*;

use async_trait::async_trait;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the text names what already exists.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The row to change is gone or no longer in the expected state.
    #[error("{0} was changed concurrently or no longer exists")]
    Stale(&'static str),
    /// Stored data breaks an invariant the store keeps (our failure, never the caller's).
    #[error("corrupt data: {0}")]
    Corrupt(&'static str),
    #[error("unsupported database URL: {0}")]
    Url(String),
    /// A stored value does not read back as its type: a closed set's column holds a value outside the set, or
    /// a column the wrong type. Our failure, never the caller's.
    #[error("corrupt data in column {column}")]
    CorruptValue {
        column: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::ColumnDecode { index, source } => StoreError::CorruptValue {
                column: index,
                source,
            },
            other => StoreError::Database(other),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which backend a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Url("expected sqlite:… or postgres://…".into()))
        }
    }
}

/// Opens the database named by the URL and applies its migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    Ok(match Backend::of_url(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url).await?),
        Backend::Postgres => Arc::new(PostgresStore::connect(url).await?),
    })
}

/// The migration versions each backend knows, in order; both lists must be the same.
pub fn migration_versions(backend: Backend) -> Vec<i64> {
    let migrator = match backend {
        Backend::Sqlite => &sqlite::MIGRATOR,
        Backend::Postgres => &postgres::MIGRATOR,
    };
    migrator.iter().map(|m| m.version).collect()
}

/// Everything persisted, as one trait per domain; callers hold an `Arc<dyn Store>` and call any of them. A
/// domain's trait is declared beside its rows (`identity.rs`, `review.rs`, `gateway.rs`, …) and its SQL is in
/// `queries/`, one file per trait, compiled once per backend (see `sqlite.rs`).
#[async_trait]
pub trait Store:
    IdentityStore
    + SessionStore
    + SettingsStore
    + ReviewStore
    + FindingLifeStore
    + DashboardStore
    + AudienceStore
    + AuditStore
    + LedgerStore
    + GatewayStore
    + LimitStore
    + JobStore
    + NotificationStore
    + WebhookStore
    + ReportStore
    + CaseStore
    + AdvisoryStore
    + TlpStore
    + TaxiiStore
    + TaxiiCollectionStore
    + EvalStore
    + FederationStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;
    async fn ping(&self) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let sqlite = migration_versions(Backend::Sqlite);
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, migration_versions(Backend::Postgres));
    }

    #[test]
    fn rows_with_secrets_never_print_them() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let session = Session {
            token_digest: "d1gest0fthesessiontoken".into(),
            user_id: Uuid::now_v7(),
            csrf_token: "plc_thesessionsformtoken".into(),
            created_at: at,
            expires_at: at,
            id: Uuid::now_v7(),
            last_seen_at: None,
            user_agent: String::new(),
        };
        let invitation = Invitation {
            id: Uuid::now_v7(),
            token_digest: "d1gest0ftheinvitation".into(),
            org_id: Uuid::now_v7(),
            user_id: None,
            email: Some("ada@lab.example".into()),
            role: Role::Member,
            created_by: None,
            created_at: at,
            expires_at: at,
            used_at: None,
            revoked_at: None,
        };
        let user = User {
            id: Uuid::now_v7(),
            org_id: Uuid::now_v7(),
            email: "ada@lab.example".into(),
            display_name: "Ada".into(),
            role: Role::Member,
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into()),
            active: true,
            created_at: at,
        };
        let shown = format!("{session:?} {invitation:#?} {user:?}");
        for secret in [
            "d1gest0f",
            "plc_thesessionsformtoken",
            "argon2",
            "aGFzaGhhc2hoYXNo",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("ada@lab.example"), "{shown}");
    }

    #[test]
    fn backend_from_url() {
        let cases = [
            ("sqlite://data/prelaunch.db", Some(Backend::Sqlite)),
            ("sqlite::memory:", Some(Backend::Sqlite)),
            ("postgres://u@h/db", Some(Backend::Postgres)),
            ("postgresql://u@h/db", Some(Backend::Postgres)),
            ("mysql://u@h/db", None),
            ("", None),
        ];
        for (url, expected) in cases {
            assert_eq!(Backend::of_url(url).ok(), expected, "{url}");
        }
    }

    #[tokio::test]
    async fn numbered_parameters_work_on_sqlite() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        assert_eq!(store.count_orgs().await.unwrap(), 0);
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert!(
            store
                .try_lease("tick", "a", now, now + chrono::Duration::seconds(30))
                .await
                .unwrap()
        );
        assert!(
            !store
                .try_lease("tick", "b", now, now + chrono::Duration::seconds(30))
                .await
                .unwrap()
        );
        let later = now + chrono::Duration::seconds(31);
        assert!(
            store
                .try_lease("tick", "b", later, later + chrono::Duration::seconds(30))
                .await
                .unwrap()
        );
    }
}
