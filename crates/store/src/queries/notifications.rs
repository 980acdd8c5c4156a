//! The SQL of `NotificationStore`, compiled once for each backend (see `queries/limits.rs`).

use super::jobs::{enqueue_in, finish_in};
use super::{Db, This};
use crate::jobs::to_ms;
use crate::notifications::{NOTIFICATION_COLUMNS, NotificationRow, PendingDigestRow};
use crate::sql::notice_select;
use crate::{
    Delivery, EmailDelivery, EmailPreferences, GatewayToken, JobOutcome, NewJob, Notice, Notification,
    NotificationQuery, NotificationStore, PendingDigest, Result, StoreError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The outbox's row in `notify_cursor`.
const OUTBOX: &str = "notify";

/// Rows per multi-row insert (well under either backend's parameter limit at 8 per row).
const INSERT_ROWS: usize = 500;

#[async_trait]
impl NotificationStore for This {
    async fn notify_cursor(&self) -> Result<i64> {
        let next: Option<i64> = sqlx::query_scalar("SELECT next_idx FROM notify_cursor WHERE name = $1")
            .bind(OUTBOX)
            .fetch_optional(&self.pool)
            .await?;
        Ok(next.unwrap_or(0))
    }

    async fn deliver_notifications(&self, delivery: &Delivery, outcome: &JobOutcome<'_>) -> Result<u64> {
        let mut tx = self.begin().await?;
        if let Some((from, to)) = delivery.cursor {
            // Moves the cursor only from where this run read: a run that lost the race writes nothing.
            sqlx::query(
                "INSERT INTO notify_cursor (name, next_idx) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
            )
            .bind(OUTBOX)
            .execute(&mut *tx)
            .await?;
            let moved =
                sqlx::query("UPDATE notify_cursor SET next_idx = $3 WHERE name = $1 AND next_idx = $2")
                    .bind(OUTBOX)
                    .bind(from)
                    .bind(to)
                    .execute(&mut *tx)
                    .await?;
            if moved.rows_affected() != 1 {
                return Err(StoreError::Stale("notification cursor"));
            }
        }
        let mut added = 0;
        for chunk in delivery.notifications.chunks(INSERT_ROWS) {
            let mut insert = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO notifications (id, user_id, kind, title, link, event_id, created_at_ms, \
                 digest_pending) ",
            );
            insert.push_values(chunk, |mut row, n| {
                row.push_bind(n.id)
                    .push_bind(n.user_id)
                    .push_bind(n.kind.as_str())
                    .push_bind(n.title.as_str())
                    .push_bind(n.link.as_str())
                    .push_bind(n.event_id)
                    .push_bind(to_ms(n.created_at))
                    .push_bind(n.digest_pending);
            });
            insert.push(" ON CONFLICT (user_id, event_id, kind) DO NOTHING");
            added += insert.build().execute(&mut *tx).await?.rows_affected();
        }
        enqueue_in(&mut tx, &delivery.jobs).await?;
        finish_in(&mut tx, outcome).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn list_notifications(&self, q: &NotificationQuery) -> Result<Vec<Notification>> {
        let rows: Vec<NotificationRow> = sqlx::query_as(&format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE user_id = $1 \
             AND ($2 = FALSE OR read_at_ms IS NULL) AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        ))
        .bind(q.user_id)
        .bind(q.unread_only)
        .bind(q.page.after)
        .bind(q.page.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Notification::try_from).collect()
    }

    async fn count_unread_notifications(&self, user_id: Uuid) -> Result<i64> {
        Ok(
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at_ms IS NULL",
            )
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?,
        )
    }

    async fn mark_notification_read(
        &self,
        user_id: Uuid,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Option<Notification>> {
        let row: Option<NotificationRow> = sqlx::query_as(&format!(
            "UPDATE notifications SET read_at_ms = COALESCE(read_at_ms, $3) WHERE id = $2 AND user_id = $1 \
             RETURNING {NOTIFICATION_COLUMNS}"
        ))
        .bind(user_id)
        .bind(id)
        .bind(to_ms(at))
        .fetch_optional(&self.pool)
        .await?;
        row.map(Notification::try_from).transpose()
    }

    async fn mark_all_notifications_read(&self, user_id: Uuid, at: DateTime<Utc>) -> Result<u64> {
        let done =
            sqlx::query("UPDATE notifications SET read_at_ms = $2 WHERE user_id = $1 AND read_at_ms IS NULL")
                .bind(user_id)
                .bind(to_ms(at))
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }

    async fn email_preferences(&self, user_ids: &[Uuid]) -> Result<Vec<(Uuid, EmailPreferences)>> {
        let mut found = Vec::new();
        for chunk in user_ids.chunks(INSERT_ROWS) {
            let mut select = sqlx::QueryBuilder::<Db>::new(
                "SELECT user_id, email_kinds, email_delivery FROM notification_preferences WHERE user_id IN (",
            );
            let mut list = select.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            select.push(")");
            let rows: Vec<(Uuid, String, String)> = select.build_query_as().fetch_all(&self.pool).await?;
            for (user_id, kinds, delivery) in rows {
                let kinds: Vec<String> = serde_json::from_str(&kinds)
                    .map_err(|_| StoreError::Corrupt("notification preferences' kinds"))?;
                let delivery = EmailDelivery::parse(&delivery)
                    .ok_or(StoreError::Corrupt("notification preferences' delivery"))?;
                found.push((user_id, EmailPreferences { kinds, delivery }));
            }
        }
        Ok(found)
    }

    async fn put_email_preferences(
        &self,
        user_id: Uuid,
        preferences: &EmailPreferences,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let kinds = serde_json::to_string(&preferences.kinds)
            .map_err(|_| StoreError::Corrupt("notification preferences' kinds"))?;
        sqlx::query(
            "INSERT INTO notification_preferences (user_id, email_kinds, email_delivery, updated_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET email_kinds = excluded.email_kinds, \
             email_delivery = excluded.email_delivery, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(user_id)
        .bind(kinds)
        .bind(preferences.delivery.as_str())
        .bind(to_ms(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn pending_digests(&self, limit: i64) -> Result<Vec<PendingDigest>> {
        let rows: Vec<PendingDigestRow> = sqlx::query_as(
            "SELECT n.id, n.user_id, u.email, n.title, n.link, n.created_at_ms FROM notifications n \
             JOIN users u ON u.id = n.user_id WHERE n.digest_pending ORDER BY n.user_id, n.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(PendingDigest::try_from).collect()
    }

    async fn send_digests(&self, ids: &[Uuid], jobs: &[NewJob], outcome: &JobOutcome<'_>) -> Result<()> {
        let mut tx = self.begin().await?;
        // Only rows still waiting: if another digest run took some of them meanwhile, this one writes nothing
        // (its mails would repeat that run's) and the caller's job is retried, to find what is left.
        let mut taken = 0;
        for chunk in ids.chunks(INSERT_ROWS) {
            let mut update = sqlx::QueryBuilder::<Db>::new(
                "UPDATE notifications SET digest_pending = FALSE WHERE digest_pending AND id IN (",
            );
            let mut list = update.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            update.push(")");
            taken += update.build().execute(&mut *tx).await?.rows_affected();
        }
        if usize::try_from(taken).ok() != Some(ids.len()) {
            return Err(StoreError::Stale("digest"));
        }
        enqueue_in(&mut tx, jobs).await?;
        finish_in(&mut tx, outcome).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn notices_with_window_edges(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Notice>> {
        Ok(sqlx::query_as(concat!(
            notice_select!(),
            "WHERE n.launched_at IS NULL AND n.withdrawn_at IS NULL AND ((n.window_opens_at > $1 AND \
             n.window_opens_at <= $2) OR (n.window_closes_at > $1 AND n.window_closes_at <= $2)) ORDER BY n.id"
        ))
        .bind(after)
        .bind(until)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn gateway_tokens_expiring(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<GatewayToken>> {
        Ok(sqlx::query_as(
            "SELECT id, notice_id, user_id, org_id, name, prefix, created_at, expires_at, revoked_at \
             FROM gateway_tokens WHERE revoked_at IS NULL AND expires_at > $1 AND expires_at <= $2 ORDER BY id",
        )
        .bind(after)
        .bind(until)
        .fetch_all(&self.pool)
        .await?)
    }
}
