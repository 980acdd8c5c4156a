//! The inbox's rows and their store trait: notifications, each person's e-mail preferences, and the outbox's
//! cursor. Who receives what is decided in `app::notifications`; here is only persistence. The SQL is in
//! `queries/notifications.rs`, compiled once per backend.

use crate::jobs::from_ms;
use crate::{GatewayToken, JobOutcome, NewJob, Notice, Page, Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A notification to add to a person's inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The kind's stable name (`app::notifications::NotificationKind::as_str`).
    pub kind: String,
    pub title: String,
    /// A path of the web UI (`/notices/…`), never a full URL.
    pub link: String,
    /// The audit event it tells of; for a reminder, an id derived from what it reminds of.
    pub event_id: Uuid,
    pub created_at: DateTime<Utc>,
    /// Waits for the person's daily digest.
    pub digest_pending: bool,
}

/// A notification as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub title: String,
    pub link: String,
    pub event_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// One person's notifications, newest first.
#[derive(Debug, Clone)]
pub struct NotificationQuery {
    pub user_id: Uuid,
    pub unread_only: bool,
    /// Keyset cursor: the last notification's id of the previous page (ids are time-ordered UUIDv7).
    pub page: Page<Uuid>,
}

/// How a person gets notifications by e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailDelivery {
    /// One mail per notification, as it happens.
    Immediate,
    /// One mail a day listing the day's notifications.
    Digest,
}

impl EmailDelivery {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailDelivery::Immediate => "immediate",
            EmailDelivery::Digest => "digest",
        }
    }

    pub fn parse(text: &str) -> Option<EmailDelivery> {
        [EmailDelivery::Immediate, EmailDelivery::Digest]
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

/// A person's e-mail preferences: the kinds (by name) they want by e-mail, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailPreferences {
    pub kinds: Vec<String>,
    pub delivery: EmailDelivery,
}

/// What one run of the outbox (or of the reminders) writes, with its job's completion, in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    /// Notifications to add; one that exists (same person, event and kind) is left out.
    pub notifications: Vec<NewNotification>,
    /// Jobs to enqueue (the immediate mails); a job whose idempotency key is taken is left out.
    pub jobs: Vec<NewJob>,
    /// Moves the outbox's cursor from the first index to the second; `Stale` when it is no longer at the first
    /// (another run got there).
    pub cursor: Option<(i64, i64)>,
}

/// A notification waiting for its person's digest, with the address to send it to.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingDigest {
    pub id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub title: String,
    pub link: String,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    /// The next ledger index the outbox reads (0 before its first run).
    async fn notify_cursor(&self) -> Result<i64>;
    /// Writes a run's notifications, jobs and cursor together with the job's completion (`finish_in`), all or
    /// nothing. Returns how many notifications were added.
    async fn deliver_notifications(&self, delivery: &Delivery, outcome: &JobOutcome<'_>) -> Result<u64>;
    async fn list_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>>;
    async fn count_unread_notifications(&self, user_id: Uuid) -> Result<i64>;
    /// Marks one of the person's notifications read (a read one keeps its time); `Ok(None)` when the person
    /// has no such notification.
    async fn mark_notification_read(
        &self,
        user_id: Uuid,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Option<Notification>>;
    /// Marks every unread notification of the person read; returns how many.
    async fn mark_all_notifications_read(&self, user_id: Uuid, at: DateTime<Utc>) -> Result<u64>;
    /// The stored preferences of these people (those who set none are left out).
    async fn email_preferences(&self, user_ids: &[Uuid]) -> Result<Vec<(Uuid, EmailPreferences)>>;
    async fn put_email_preferences(
        &self,
        user_id: Uuid,
        preferences: &EmailPreferences,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Notifications waiting for a digest, by person then age, at most `limit`.
    async fn pending_digests(&self, limit: i64) -> Result<Vec<PendingDigest>>;
    /// Takes these notifications out of the digest, enqueues the digest mails and completes the job, in one
    /// transaction.
    async fn send_digests(&self, ids: &[Uuid], jobs: &[NewJob], outcome: &JobOutcome<'_>) -> Result<()>;
    /// Notices neither launched nor withdrawn whose window opens or closes in `(after, until]`.
    async fn notices_with_window_edges(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Notice>>;
    /// Gateway tokens not revoked that expire in `(after, until]`.
    async fn gateway_tokens_expiring(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<GatewayToken>>;
}

/// A notification's row as both backends read it.
#[derive(sqlx::FromRow)]
pub(crate) struct NotificationRow {
    id: Uuid,
    user_id: Uuid,
    kind: String,
    title: String,
    link: String,
    event_id: Uuid,
    created_at_ms: i64,
    read_at_ms: Option<i64>,
}

/// The columns `NotificationRow` reads.
pub(crate) const NOTIFICATION_COLUMNS: &str =
    "id, user_id, kind, title, link, event_id, created_at_ms, read_at_ms";

impl TryFrom<NotificationRow> for Notification {
    type Error = StoreError;

    fn try_from(row: NotificationRow) -> Result<Notification> {
        Ok(Notification {
            id: row.id,
            user_id: row.user_id,
            kind: row.kind,
            title: row.title,
            link: row.link,
            event_id: row.event_id,
            created_at: from_ms(row.created_at_ms)?,
            read_at: row.read_at_ms.map(from_ms).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PendingDigestRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub title: String,
    pub link: String,
    pub created_at_ms: i64,
}

impl TryFrom<PendingDigestRow> for PendingDigest {
    type Error = StoreError;

    fn try_from(row: PendingDigestRow) -> Result<PendingDigest> {
        Ok(PendingDigest {
            id: row.id,
            user_id: row.user_id,
            email: row.email,
            title: row.title,
            link: row.link,
            created_at: from_ms(row.created_at_ms)?,
        })
    }
}
