//! The SQL of `SessionStore` (browser sessions, API tokens, login throttling), compiled once for each backend
//! like every file of `queries/`.

use super::{Db, This};
use crate::identity::{HolderRow, holder_columns};
use crate::{ApiToken, AuditEvent, LoginFailures, Organization, Page, Result, Session, SessionStore, User};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

impl This {
    /// A credential of type `C`, read by `statement` (`$1` its token's digest) with its holder and their
    /// organisation (`HolderRow`).
    async fn holder<C>(
        &self,
        statement: &'static str,
        token_digest: &str,
    ) -> Result<Option<(C, User, Organization)>>
    where
        C: Send + Unpin,
        for<'r> HolderRow<C>: sqlx::FromRow<'r, <Db as sqlx::Database>::Row>,
    {
        let row: Option<HolderRow<C>> = sqlx::query_as(statement)
            .bind(token_digest)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(HolderRow::split))
    }
}

#[async_trait]
impl SessionStore for This {
    async fn create_session(&self, session: &Session, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(
            "INSERT INTO sessions (token_digest, user_id, csrf_token, created_at, expires_at, id, \
             last_seen_at, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&session.token_digest)
        .bind(session.user_id)
        .bind(&session.csrf_token)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(session.id)
        .bind(session.last_seen_at)
        .bind(&session.user_agent);
        self.execute_recorded(event, statement, None).await
    }

    async fn find_session(&self, token_digest: &str) -> Result<Option<Session>> {
        Ok(sqlx::query_as("SELECT * FROM sessions WHERE token_digest = $1")
            .bind(token_digest)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn find_session_holder(&self, token_digest: &str) -> Result<Option<(Session, User, Organization)>> {
        let statement = concat!(
            "SELECT s.token_digest, s.user_id, s.csrf_token, s.created_at, s.expires_at, s.id, \
             s.last_seen_at, s.user_agent, ",
            holder_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = u.org_id \
             WHERE s.token_digest = $1"
        );
        self.holder(statement, token_digest).await
    }

    async fn delete_session(&self, token_digest: &str, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query("DELETE FROM sessions WHERE token_digest = $1").bind(token_digest);
        self.execute_recorded(event, statement, None).await
    }

    async fn touch_session(&self, id: Uuid, now: DateTime<Utc>, since: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at < $3)",
        )
        .bind(id)
        .bind(now)
        .bind(since)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_sessions(&self, user_id: Uuid, now: DateTime<Utc>, limit: i64) -> Result<Vec<Session>> {
        Ok(sqlx::query_as(
            "SELECT * FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, id LIMIT $3",
        )
        .bind(user_id)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn end_sessions(
        &self,
        user_id: Uuid,
        only: Option<Uuid>,
        except: Option<Uuid>,
        event: &AuditEvent,
    ) -> Result<u64> {
        let mut tx = self.begin().await?;
        Self::record(&mut tx, event).await?;
        let done = sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id = $2) AND ($3 IS NULL OR id <> $3)",
        )
        .bind(user_id)
        .bind(only)
        .bind(except)
        .execute(&mut *tx)
        .await?;
        // Naming a session that is not theirs ends nothing and records nothing (the transaction rolls back).
        if only.is_some() && done.rows_affected() == 0 {
            return Ok(0);
        }
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64> {
        sqlx::query("DELETE FROM password_resets WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let failures =
            sqlx::query("DELETE FROM login_failures WHERE locked_until IS NOT NULL AND locked_until < $1")
                .bind(now)
                .execute(&self.pool)
                .await?;
        Ok(sessions.rows_affected() + failures.rows_affected())
    }

    async fn create_token(&self, token: &ApiToken, token_digest: &str, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(
            "INSERT INTO api_tokens (id, token_digest, user_id, name, prefix, created_at, expires_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(token.id)
        .bind(token_digest)
        .bind(token.user_id)
        .bind(&token.name)
        .bind(&token.prefix)
        .bind(token.created_at)
        .bind(token.expires_at)
        .bind(token.revoked_at);
        self.execute_recorded(event, statement, None).await
    }

    async fn find_token(&self, token_digest: &str) -> Result<Option<ApiToken>> {
        Ok(sqlx::query_as(
            "SELECT id, user_id, name, prefix, created_at, expires_at, revoked_at FROM api_tokens \
             WHERE token_digest = $1",
        )
        .bind(token_digest)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn find_token_holder(&self, token_digest: &str) -> Result<Option<(ApiToken, User, Organization)>> {
        let statement = concat!(
            "SELECT k.id, k.user_id, k.name, k.prefix, k.created_at, k.expires_at, k.revoked_at, ",
            holder_columns!(),
            " FROM api_tokens k JOIN users u ON u.id = k.user_id JOIN organizations o ON o.id = u.org_id \
             WHERE k.token_digest = $1"
        );
        self.holder(statement, token_digest).await
    }

    async fn get_token(&self, id: Uuid) -> Result<Option<ApiToken>> {
        Ok(sqlx::query_as(
            "SELECT id, user_id, name, prefix, created_at, expires_at, revoked_at FROM api_tokens \
             WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn list_tokens(&self, user_id: Uuid, page: &Page<Uuid>) -> Result<Vec<ApiToken>> {
        Ok(sqlx::query_as(
            "SELECT id, user_id, name, prefix, created_at, expires_at, revoked_at FROM api_tokens \
             WHERE user_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
        )
        .bind(user_id)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn revoke_token(&self, id: Uuid, at: DateTime<Utc>, event: &AuditEvent) -> Result<()> {
        let statement =
            sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(at);
        self.execute_recorded(event, statement, Some("token")).await
    }

    async fn count_login_attempt(
        &self,
        subject: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
        max: i64,
    ) -> Result<LoginFailures> {
        // One statement, so concurrent attempts in any number of processes each see the count the
        // others left. A row whose lock has passed, or whose first failure is older than the window,
        // starts again at 1; a locked row stays put (capped at `max + 1`, which the caller reads as
        // "refused"); otherwise the count goes up and the attempt that reaches `max` sets the lock.
        Ok(sqlx::query_as(
            "INSERT INTO login_failures (subject, failures, first_failure_at, locked_until) \
             VALUES ($1, 1, $2, CASE WHEN $4 <= 1 THEN $3 END) \
             ON CONFLICT (subject) DO UPDATE SET \
             failures = CASE \
                 WHEN login_failures.locked_until <= $2 \
                   OR (login_failures.locked_until IS NULL AND login_failures.first_failure_at <= $5) THEN 1 \
                 WHEN login_failures.failures > $4 THEN login_failures.failures \
                 ELSE login_failures.failures + 1 END, \
             first_failure_at = CASE \
                 WHEN login_failures.locked_until <= $2 \
                   OR (login_failures.locked_until IS NULL AND login_failures.first_failure_at <= $5) THEN $2 \
                 ELSE login_failures.first_failure_at END, \
             locked_until = CASE \
                 WHEN login_failures.locked_until <= $2 \
                   OR (login_failures.locked_until IS NULL AND login_failures.first_failure_at <= $5) \
                   THEN CASE WHEN $4 <= 1 THEN $3 END \
                 WHEN login_failures.locked_until IS NOT NULL THEN login_failures.locked_until \
                 WHEN login_failures.failures + 1 >= $4 THEN $3 \
                 ELSE NULL END \
             RETURNING subject, failures, first_failure_at, locked_until",
        )
        .bind(subject)
        .bind(now)
        .bind(now + window)
        .bind(max)
        .bind(now - window)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn uncount_login_attempt(&self, subject: &str, max: i64) -> Result<()> {
        sqlx::query(
            "UPDATE login_failures SET failures = failures - 1, \
             locked_until = CASE WHEN failures - 1 >= $2 THEN locked_until END \
             WHERE subject = $1 AND failures > 0",
        )
        .bind(subject)
        .bind(max)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn purge_stale_login_failures(&self, before: DateTime<Utc>) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM login_failures WHERE locked_until IS NULL AND first_failure_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }

    async fn clear_login_failures(&self, subject: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE subject = $1")
            .bind(subject)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
