//! Persistence: the `Store` trait and its SQLite and PostgreSQL implementations.
//!
//! Every mutating method takes the audit event that describes it and writes both in one transaction (see
//! `record` in `sql.rs`): a change that fails writes no event, and no event exists without its change.
//! Authorisation is not decided here; callers pass the audience that `app::policy` computed, and every read of
//! notices, findings, assessments and events compiles it into its query (`audience.rs`).

mod audience;
mod gateway;
mod jobs;
mod limits;
mod model;
mod notifications;
mod postgres;
mod sql;
mod sqlite;
mod webhooks;

pub use audience::{Audience, AudienceStore, EventQuery, EventReaders};
pub use gateway::*;
pub use jobs::*;
pub use limits::*;
pub use model::*;
pub use notifications::*;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use sqlx::types::Json;
pub use webhooks::*;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use uuid::Uuid;

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
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
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

/// Everything persisted; the gateway's part is `GatewayStore`, its shared limits `LimitStore`, the job queue
/// `JobStore`, the inbox `NotificationStore`, the reads an audience decides `AudienceStore`.
#[async_trait]
pub trait Store:
    GatewayStore
    + LimitStore
    + JobStore
    + NotificationStore
    + WebhookStore
    + AudienceStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;
    async fn ping(&self) -> Result<()>;

    // Organisations
    async fn count_orgs(&self) -> Result<i64>;
    async fn create_org(&self, org: &Organization, event: &AuditEvent) -> Result<()>;
    async fn get_org(&self, id: Uuid) -> Result<Option<Organization>>;
    async fn find_org_by_name(&self, name: &str) -> Result<Option<Organization>>;
    async fn list_orgs(&self, page: &Page<Uuid>) -> Result<Vec<Organization>>;
    async fn set_org_active(&self, id: Uuid, active: bool, event: &AuditEvent) -> Result<()>;

    // People
    async fn create_user(&self, user: &User, event: &AuditEvent) -> Result<()>;
    async fn get_user(&self, id: Uuid) -> Result<Option<User>>;
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn list_users(&self, org_id: Option<Uuid>, page: &Page<Uuid>) -> Result<Vec<User>>;
    async fn count_admins(&self, org_id: Uuid) -> Result<i64>;
    async fn set_user_active(&self, id: Uuid, active: bool, event: &AuditEvent) -> Result<()>;
    async fn set_password(&self, user_id: Uuid, hash: &str, event: &AuditEvent) -> Result<()>;

    // Invitations and one-time setup links
    async fn create_invitation(&self, invitation: &Invitation, event: &AuditEvent) -> Result<()>;
    async fn find_invitation(&self, token_digest: &str) -> Result<Option<Invitation>>;
    /// Marks the invitation used and creates the person (or sets the existing person's password).
    async fn accept_invitation(
        &self,
        invitation_id: Uuid,
        used_at: DateTime<Utc>,
        user: &User,
        create: bool,
        event: &AuditEvent,
    ) -> Result<()>;

    // Sessions
    async fn create_session(&self, session: &Session, event: &AuditEvent) -> Result<()>;
    async fn find_session(&self, token_digest: &str) -> Result<Option<Session>>;
    async fn delete_session(&self, token_digest: &str, event: &AuditEvent) -> Result<()>;
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64>;

    // API tokens
    async fn create_token(&self, token: &ApiToken, token_digest: &str, event: &AuditEvent) -> Result<()>;
    async fn find_token(&self, token_digest: &str) -> Result<Option<ApiToken>>;
    async fn get_token(&self, id: Uuid) -> Result<Option<ApiToken>>;
    async fn list_tokens(&self, user_id: Uuid, page: &Page<Uuid>) -> Result<Vec<ApiToken>>;
    async fn revoke_token(&self, id: Uuid, at: DateTime<Utc>, event: &AuditEvent) -> Result<()>;

    // Login throttling, shared by every server process
    /// Counts one login attempt against `subject` atomically and returns the row as it now is: the attempt
    /// may go ahead when `failures <= max`. The attempt that reaches `max` locks the subject until `now +
    /// window`; a locked subject is not counted further; a lapsed lock or a first failure older than
    /// `window` starts the count again.
    async fn count_login_attempt(
        &self,
        subject: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
        max: i64,
    ) -> Result<LoginFailures>;
    /// Takes back one counted attempt that succeeded (lifting the lock it may have set).
    async fn uncount_login_attempt(&self, subject: &str, max: i64) -> Result<()>;
    async fn clear_login_failures(&self, subject: &str) -> Result<()>;
    /// Removes unlocked counts whose first failure is before `before` (they no longer count).
    async fn purge_stale_login_failures(&self, before: DateTime<Utc>) -> Result<u64>;

    // Program settings
    async fn get_setting(&self, name: &str) -> Result<Option<String>>;
    async fn put_setting(&self, name: &str, value: &str, event: &AuditEvent) -> Result<()>;

    /// Takes or renews the named lease for scheduled work; true when `holder` now holds it.
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;

    // Release notices
    async fn create_notice(&self, notice: &Notice, shares: &[Uuid], event: &AuditEvent) -> Result<()>;
    async fn get_notice(&self, id: Uuid) -> Result<Option<Notice>>;
    async fn notice_shares(&self, object_id: Uuid) -> Result<Vec<Uuid>>;
    async fn list_notices(&self, query: &NoticeQuery) -> Result<Vec<Notice>>;
    /// Writes new dates for a notice still open (neither launched early nor withdrawn) and records the change.
    async fn change_notice_dates(
        &self,
        dates: &NoticeDatesUpdate,
        change: &LaunchChange,
        event: &AuditEvent,
    ) -> Result<()>;
    async fn launch_history(&self, notice_id: Uuid) -> Result<Vec<LaunchChange>>;

    // Assignments
    async fn assign(&self, assignment: &Assignment, event: &AuditEvent) -> Result<()>;
    async fn unassign(&self, notice_id: Uuid, user_id: Uuid, event: &AuditEvent) -> Result<()>;
    async fn list_assignments(&self, notice_id: Uuid) -> Result<Vec<Assignment>>;

    // Findings and assessments
    async fn create_finding(&self, finding: &Finding, shares: &[Uuid], event: &AuditEvent) -> Result<()>;
    async fn create_assessment(
        &self,
        assessment: &Assessment,
        shares: &[Uuid],
        event: &AuditEvent,
    ) -> Result<()>;

    // Transparency ledger (appends happen inside every mutating method, with its audit event)
    /// Records events that are themselves the change (e.g. periodic usage digests), in one transaction.
    async fn append_events(&self, events: &[AuditEvent]) -> Result<()>;
    async fn ledger_size(&self) -> Result<u64>;
    /// Hashes of nodes `(level, from ..from+count)`, in order; stops early at the first missing node.
    async fn ledger_nodes(&self, level: u8, from: u64, count: u64) -> Result<Vec<[u8; 32]>>;
    /// Hashes of the named nodes, in one round trip; a node that does not exist is left out.
    async fn ledger_nodes_at(&self, nodes: &[(u8, u64)]) -> Result<Vec<(u8, u64, [u8; 32])>>;
    async fn ledger_entries(&self, from: u64, count: u64) -> Result<Vec<LedgerEntry>>;
    async fn ledger_entry_of(&self, event_id: Uuid) -> Result<Option<LedgerEntry>>;
    /// Stores a signed checkpoint unless one of that size exists; true when stored.
    async fn put_checkpoint(&self, checkpoint: &SignedCheckpoint) -> Result<bool>;
    async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>>;
    /// Checkpoints newest first, before the size `before` when given.
    async fn list_checkpoints(&self, before: Option<i64>, limit: i64) -> Result<Vec<SignedCheckpoint>>;

    // Audit trail
    /// The whole trail, unfiltered: for checks of the whole ledger and for tests. Readers get their events
    /// through `AudienceStore::list_events`.
    async fn list_audit(&self, object_id: Option<Uuid>, page: &Page<i64>) -> Result<Vec<AuditEvent>>;
    async fn count_audit(&self) -> Result<i64>;
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        let invitation = Invitation {
            id: Uuid::now_v7(),
            token_digest: "d1gest0ftheinvitation".into(),
            org_id: Uuid::now_v7(),
            user_id: None,
            email: Some("ada@lab.example".into()),
            role: "member".into(),
            created_by: None,
            created_at: at,
            expires_at: at,
            used_at: None,
        };
        let user = User {
            id: Uuid::now_v7(),
            org_id: Uuid::now_v7(),
            email: "ada@lab.example".into(),
            display_name: "Ada".into(),
            role: "member".into(),
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
