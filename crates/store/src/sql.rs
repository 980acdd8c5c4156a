//! The SQL shared by both backends.
//!
//! The statements are written once, in the dialect SQLite and PostgreSQL share (numbered `$n` parameters,
//! `ON CONFLICT`, `RETURNING`), and `sql_store!` instantiates them for each backend's concrete sqlx types. The
//! per-backend modules hold only connection set-up and migrations.

use crate::{NoticeQuery, StoreError};
use chrono::{DateTime, Utc};

/// Maps a unique-constraint violation to `Conflict(what)`, and any other error through unchanged.
pub(crate) fn conflict(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| match error.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(error),
    }
}

macro_rules! notice_select {
    () => {
        "SELECT n.id, n.developer_org_id, o.name AS developer_name, n.model_name, n.model_version, \
         n.model_card, n.planned_launch_at, n.filed_at, n.filed_by, n.window_days, n.shared_with_all, \
         n.launched_at, n.withdrawn_at, n.withdraw_reason, n.window_opens_at, n.window_closes_at \
         FROM notices n JOIN organizations o ON o.id = n.developer_org_id "
    };
}
pub(crate) use notice_select;

/// The conditions of a notice list after the audience's index condition: who may see it (the audience's
/// `notice_visible`), the developer and state filters, the keyset cursor, and `window_closes_at >= $12` (see
/// `closes_from`) so that the database seeks into the `(…, window_closes_at, id)` indexes instead of
/// filtering from the first row.
macro_rules! notice_list_conditions {
    () => {
        concat!(
            $crate::audience::notice_visible!("$1", "$2"),
            " AND ($3 IS NULL OR n.developer_org_id = $3) \
         AND (($4 AND n.withdrawn_at IS NULL AND n.window_opens_at > $8) \
           OR ($5 AND n.withdrawn_at IS NULL AND n.window_opens_at <= $8 AND n.window_closes_at > $8) \
           OR ($6 AND n.withdrawn_at IS NULL AND n.window_closes_at <= $8) \
           OR ($7 AND n.withdrawn_at IS NOT NULL)) \
         AND n.window_closes_at >= $12 \
         AND ($9 IS NULL OR n.window_closes_at > $9 OR (n.window_closes_at = $9 AND n.id > $10)) \
         ORDER BY n.window_closes_at, n.id LIMIT $11"
        )
    };
}
pub(crate) use notice_list_conditions;

/// The earliest `window_closes_at` a notice list can hold: a cursor's page starts at its time, and scheduled
/// or in-review windows close after now (a window never closes before it opens). A bound in SQL lets the
/// database start its index scan there; the exact conditions still decide each row.
pub(crate) fn closes_from(q: &NoticeQuery) -> DateTime<Utc> {
    let [_, _, launched, withdrawn] = q.states;
    let mut from = DateTime::<Utc>::from_timestamp(-62_135_596_800, 0).unwrap_or_default(); // 0001-01-01
    if !launched && !withdrawn {
        from = from.max(q.now);
    }
    if let Some((at, _)) = q.after {
        from = from.max(at);
    }
    from
}

/// Whether a notice list is of one developer's notices, so that the `(developer_org_id, window_closes_at,
/// id)` index serves it: the developer filter is given, or the caller sees only its own organisation's.
pub(crate) fn one_developer(q: &NoticeQuery) -> bool {
    q.developer_org.is_some() || (q.audience.developer_org.is_some() && q.audience.agency_org.is_none())
}

/// The levels and indexes of ledger nodes as two PostgreSQL array literals (`{0,3,1}`), for `unnest`.
pub(crate) fn node_arrays(nodes: &[(u8, u64)]) -> (String, String) {
    let mut levels = String::from("{");
    let mut indexes = String::from("{");
    for (i, (level, index)) in nodes.iter().enumerate() {
        if i > 0 {
            levels.push(',');
            indexes.push(',');
        }
        levels.push_str(&level.to_string());
        indexes.push_str(&i64::try_from(*index).unwrap_or(i64::MAX).to_string());
    }
    levels.push('}');
    indexes.push('}');
    (levels, indexes)
}

macro_rules! sql_store {
    ($store:ident, $db:ty) => {
        impl $store {
            /// Appends one event to the audit trail and to the ledger, inside the caller's transaction. Every
            /// state change goes through here.
            async fn record(
                conn: &mut <$db as sqlx::Database>::Connection,
                event: &AuditEvent,
            ) -> Result<()> {
                Self::append(conn, std::slice::from_ref(event)).await
            }

            /// Writes events to the audit trail and appends them to the ledger. The ledger indexes come from
            /// `ledger_head`, whose row lock is held until the transaction ends, so indexes have no gaps and
            /// appends never interleave. Rows go in with multi-row inserts; only the nodes on the tree's right
            /// edge are read.
            async fn append(conn: &mut <$db as sqlx::Database>::Connection, events: &[AuditEvent]) -> Result<()> {
                const ROWS: usize = 500;
                for chunk in events.chunks(ROWS) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO audit_events (id, at, actor_user_id, actor_org_id, action, object_type, \
                         object_id, details) ",
                    );
                    insert.push_values(chunk, |mut row, e| {
                        row.push_bind(e.id)
                            .push_bind(e.at)
                            .push_bind(e.actor_user_id)
                            .push_bind(e.actor_org_id)
                            .push_bind(e.action.clone())
                            .push_bind(e.object_type.clone())
                            .push_bind(e.object_id)
                            .push_bind(e.details.clone());
                    });
                    insert.build().execute(&mut *conn).await?;
                }
                let count = i64::try_from(events.len()).map_err(|_| StoreError::Corrupt("ledger batch"))?;
                let size: i64 =
                    sqlx::query_scalar("UPDATE ledger_head SET size = size + $1 WHERE id = 1 RETURNING size")
                        .bind(count)
                        .fetch_one(&mut *conn)
                        .await?;
                let start = u64::try_from(size - count).map_err(|_| StoreError::Corrupt("ledger head"))?;
                let mut entries = Vec::with_capacity(events.len());
                let mut nodes: Vec<(u8, u64, [u8; 32])> = Vec::with_capacity(events.len() * 2);
                let mut fresh: std::collections::HashMap<(u8, u64), [u8; 32]> = std::collections::HashMap::new();
                for (offset, event) in events.iter().enumerate() {
                    let index = start + offset as u64;
                    let salt = ledger::commitment::salt();
                    let commitment = ledger::commitment::commit(&salt, &event.canonical_bytes());
                    let mut siblings = Vec::new();
                    for (level, i) in ledger::merkle::append_siblings(index) {
                        let hash = match fresh.get(&(level, i)) {
                            Some(hash) => *hash,
                            None => {
                                let hash: Vec<u8> =
                                    sqlx::query_scalar("SELECT hash FROM ledger_nodes WHERE level = $1 AND idx = $2")
                                        .bind(i64::from(level))
                                        .bind(i64::try_from(i).unwrap_or(i64::MAX))
                                        .fetch_one(&mut *conn)
                                        .await?;
                                ledger::merkle::hash_from_slice(&hash).map_err(|_| StoreError::Corrupt("ledger node"))?
                            }
                        };
                        siblings.push(hash);
                    }
                    let leaf = ledger::merkle::leaf_hash(&commitment);
                    for node in ledger::merkle::append_nodes(index, leaf, &siblings) {
                        fresh.insert((node.0, node.1), node.2);
                        nodes.push(node);
                    }
                    entries.push((index, event.id, salt, commitment));
                }
                for chunk in entries.chunks(ROWS) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new("INSERT INTO ledger_entries (idx, event_id, salt, commitment) ");
                    insert.push_values(chunk, |mut row, (index, id, salt, commitment)| {
                        row.push_bind(i64::try_from(*index).unwrap_or(i64::MAX))
                            .push_bind(*id)
                            .push_bind(salt.to_vec())
                            .push_bind(commitment.to_vec());
                    });
                    insert.build().execute(&mut *conn).await?;
                }
                for chunk in nodes.chunks(ROWS) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new("INSERT INTO ledger_nodes (level, idx, hash) ");
                    insert.push_values(chunk, |mut row, (level, index, hash)| {
                        row.push_bind(i64::from(*level))
                            .push_bind(i64::try_from(*index).unwrap_or(i64::MAX))
                            .push_bind(hash.to_vec());
                    });
                    insert.build().execute(&mut *conn).await?;
                }
                Ok(())
            }

            async fn insert_shares(
                conn: &mut <$db as sqlx::Database>::Connection,
                object_id: Uuid,
                shares: &[Uuid],
            ) -> Result<()> {
                for org_id in shares {
                    sqlx::query("INSERT INTO shares (object_id, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(object_id)
                        .bind(org_id)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            }
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> Backend {
                Self::BACKEND
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn count_orgs(&self) -> Result<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM organizations").fetch_one(&self.pool).await?)
            }

            async fn create_org(&self, org: &Organization, event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                sqlx::query(
                    "INSERT INTO organizations (id, kind, name, active, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(org.id)
                .bind(&org.kind)
                .bind(&org.name)
                .bind(org.active)
                .bind(org.created_at)
                .execute(&mut *tx)
                .await
                .map_err(conflict("an organisation with this name"))?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_org(&self, id: Uuid) -> Result<Option<Organization>> {
                Ok(sqlx::query_as("SELECT * FROM organizations WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn find_org_by_name(&self, name: &str) -> Result<Option<Organization>> {
                Ok(sqlx::query_as("SELECT * FROM organizations WHERE lower(name) = lower($1)")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn list_orgs(&self, page: &Page<Uuid>) -> Result<Vec<Organization>> {
                Ok(sqlx::query_as(
                    "SELECT * FROM organizations WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
                )
                .bind(page.after)
                .bind(page.limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn set_org_active(&self, id: Uuid, active: bool, event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                let done = sqlx::query("UPDATE organizations SET active = $2 WHERE id = $1")
                    .bind(id)
                    .bind(active)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Stale("organisation"));
                }
                tx.commit().await?;
                Ok(())
            }

            async fn create_user(&self, user: &User, event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                Self::insert_user(&mut tx, user).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_user(&self, id: Uuid) -> Result<Option<User>> {
                Ok(sqlx::query_as("SELECT * FROM users WHERE id = $1").bind(id).fetch_optional(&self.pool).await?)
            }

            async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
                Ok(sqlx::query_as("SELECT * FROM users WHERE email = $1")
                    .bind(email)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn list_users(&self, org_id: Option<Uuid>, page: &Page<Uuid>) -> Result<Vec<User>> {
                Ok(sqlx::query_as(
                    "SELECT * FROM users WHERE ($1 IS NULL OR org_id = $1) AND ($2 IS NULL OR id > $2) \
                     ORDER BY id LIMIT $3",
                )
                .bind(org_id)
                .bind(page.after)
                .bind(page.limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn count_admins(&self, org_id: Uuid) -> Result<i64> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM users WHERE org_id = $1 AND role = 'admin' AND active = TRUE",
                )
                .bind(org_id)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn set_user_active(&self, id: Uuid, active: bool, event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                let done = sqlx::query("UPDATE users SET active = $2 WHERE id = $1")
                    .bind(id)
                    .bind(active)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Stale("person"));
                }
                if !active {
                    // A deactivated person loses their sessions at once.
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn set_password(&self, user_id: Uuid, hash: &str, event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                    .bind(user_id)
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_invitation(&self, invitation: &Invitation, event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                sqlx::query(
                    "INSERT INTO invitations (id, token_digest, org_id, user_id, email, role, created_by, \
                     created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(invitation.id)
                .bind(&invitation.token_digest)
                .bind(invitation.org_id)
                .bind(invitation.user_id)
                .bind(&invitation.email)
                .bind(&invitation.role)
                .bind(invitation.created_by)
                .bind(invitation.created_at)
                .bind(invitation.expires_at)
                .bind(invitation.used_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn find_invitation(&self, token_digest: &str) -> Result<Option<Invitation>> {
                Ok(sqlx::query_as("SELECT * FROM invitations WHERE token_digest = $1")
                    .bind(token_digest)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn accept_invitation(
                &self,
                invitation_id: Uuid,
                used_at: DateTime<Utc>,
                user: &User,
                create: bool,
                event: &AuditEvent,
            ) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                let done = sqlx::query("UPDATE invitations SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
                    .bind(invitation_id)
                    .bind(used_at)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Stale("invitation"));
                }
                if create {
                    Self::insert_user(&mut tx, user).await?;
                } else {
                    sqlx::query("UPDATE users SET password_hash = $2, display_name = $3 WHERE id = $1")
                        .bind(user.id)
                        .bind(&user.password_hash)
                        .bind(&user.display_name)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn create_session(&self, session: &Session, event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                sqlx::query(
                    "INSERT INTO sessions (token_digest, user_id, csrf_token, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&session.token_digest)
                .bind(session.user_id)
                .bind(&session.csrf_token)
                .bind(session.created_at)
                .bind(session.expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn find_session(&self, token_digest: &str) -> Result<Option<Session>> {
                Ok(sqlx::query_as("SELECT * FROM sessions WHERE token_digest = $1")
                    .bind(token_digest)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn delete_session(&self, token_digest: &str, event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
                    .bind(token_digest)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64> {
                let sessions =
                    sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now).execute(&self.pool).await?;
                let failures = sqlx::query(
                    "DELETE FROM login_failures WHERE locked_until IS NOT NULL AND locked_until < $1",
                )
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(sessions.rows_affected() + failures.rows_affected())
            }

            async fn create_token(&self, token: &ApiToken, token_digest: &str, event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                sqlx::query(
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
                .bind(token.revoked_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
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
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                let done =
                    sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                        .bind(id)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Stale("token"));
                }
                tx.commit().await?;
                Ok(())
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
                let done = sqlx::query(
                    "DELETE FROM login_failures WHERE locked_until IS NULL AND first_failure_at < $1",
                )
                .bind(before)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }

            async fn clear_login_failures(&self, subject: &str) -> Result<()> {
                sqlx::query("DELETE FROM login_failures WHERE subject = $1").bind(subject).execute(&self.pool).await?;
                Ok(())
            }

            async fn get_setting(&self, name: &str) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn put_setting(&self, name: &str, value: &str, event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                sqlx::query(
                    "INSERT INTO settings (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(name)
                .bind(value)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn try_lease(
                &self,
                name: &str,
                holder: &str,
                now: DateTime<Utc>,
                until: DateTime<Utc>,
            ) -> Result<bool> {
                let done = sqlx::query(
                    "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $4) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                     WHERE leases.holder = excluded.holder OR leases.expires_at <= $3",
                )
                .bind(name)
                .bind(holder)
                .bind(now)
                .bind(until)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn create_notice(&self, notice: &Notice, shares: &[Uuid], event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                sqlx::query(
                    "INSERT INTO notices (id, developer_org_id, model_name, model_version, model_card, \
                     planned_launch_at, filed_at, filed_by, window_days, shared_with_all, launched_at, \
                     withdrawn_at, withdraw_reason, window_opens_at, window_closes_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(notice.id)
                .bind(notice.developer_org_id)
                .bind(&notice.model_name)
                .bind(&notice.model_version)
                .bind(&notice.model_card)
                .bind(notice.planned_launch_at)
                .bind(notice.filed_at)
                .bind(notice.filed_by)
                .bind(notice.window_days)
                .bind(notice.shared_with_all)
                .bind(notice.launched_at)
                .bind(notice.withdrawn_at)
                .bind(&notice.withdraw_reason)
                .bind(notice.window_opens_at)
                .bind(notice.window_closes_at)
                .execute(&mut *tx)
                .await?;
                Self::insert_shares(&mut tx, notice.id, shares).await?;
                Self::insert_launch_change(
                    &mut tx,
                    &LaunchChange {
                        id: event.id,
                        notice_id: notice.id,
                        kind: "filed".into(),
                        previous_launch_at: None,
                        new_launch_at: notice.planned_launch_at,
                        reason: None,
                        changed_by: notice.filed_by,
                        changed_at: notice.filed_at,
                    },
                )
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_notice(&self, id: Uuid) -> Result<Option<Notice>> {
                Ok(sqlx::query_as(concat!(notice_select!(), "WHERE n.id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn notice_shares(&self, object_id: Uuid) -> Result<Vec<Uuid>> {
                Ok(sqlx::query_scalar("SELECT org_id FROM shares WHERE object_id = $1 ORDER BY org_id")
                    .bind(object_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn list_notices(&self, q: &NoticeQuery) -> Result<Vec<Notice>> {
                let [scheduled, in_review, launched, withdrawn] = q.states;
                let sql = if $crate::sql::one_developer(q) {
                    // Implied by the conditions when `one_developer` holds; stated so the index is used.
                    concat!(
                        notice_select!(),
                        "WHERE n.developer_org_id = COALESCE($3, $1) AND ",
                        $crate::sql::notice_list_conditions!()
                    )
                } else {
                    concat!(notice_select!(), "WHERE ", $crate::sql::notice_list_conditions!())
                };
                Ok(sqlx::query_as(sql)
                    .bind(q.audience.developer_org)
                    .bind(q.audience.agency_org)
                    .bind(q.developer_org)
                    .bind(scheduled)
                    .bind(in_review)
                    .bind(launched)
                    .bind(withdrawn)
                    .bind(q.now)
                    .bind(q.after.map(|(t, _)| t))
                    .bind(q.after.map(|(_, id)| id))
                    .bind(q.limit)
                    .bind($crate::sql::closes_from(q))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn change_notice_dates(
                &self,
                d: &NoticeDatesUpdate,
                change: &LaunchChange,
                event: &AuditEvent,
            ) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                let done = sqlx::query(
                    "UPDATE notices SET planned_launch_at = $2, launched_at = $3, withdrawn_at = $4, \
                     withdraw_reason = $5, window_opens_at = $6, window_closes_at = $7 \
                     WHERE id = $1 AND launched_at IS NULL AND withdrawn_at IS NULL",
                )
                .bind(d.notice_id)
                .bind(d.planned_launch_at)
                .bind(d.launched_at)
                .bind(d.withdrawn_at)
                .bind(&d.withdraw_reason)
                .bind(d.window_opens_at)
                .bind(d.window_closes_at)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Stale("notice"));
                }
                Self::insert_launch_change(&mut tx, change).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn launch_history(&self, notice_id: Uuid) -> Result<Vec<LaunchChange>> {
                Ok(sqlx::query_as("SELECT * FROM launch_changes WHERE notice_id = $1 ORDER BY changed_at, id")
                    .bind(notice_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn assign(&self, a: &Assignment, event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                sqlx::query(
                    "INSERT INTO assignments (notice_id, user_id, org_id, assigned_by, assigned_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(a.notice_id)
                .bind(a.user_id)
                .bind(a.org_id)
                .bind(a.assigned_by)
                .bind(a.assigned_at)
                .execute(&mut *tx)
                .await
                .map_err(conflict("this assignment"))?;
                tx.commit().await?;
                Ok(())
            }

            async fn unassign(&self, notice_id: Uuid, user_id: Uuid, event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                let done = sqlx::query("DELETE FROM assignments WHERE notice_id = $1 AND user_id = $2")
                    .bind(notice_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Stale("assignment"));
                }
                tx.commit().await?;
                Ok(())
            }

            async fn list_assignments(&self, notice_id: Uuid) -> Result<Vec<Assignment>> {
                Ok(sqlx::query_as(
                    "SELECT a.notice_id, a.user_id, a.org_id, a.assigned_by, a.assigned_at, u.email, \
                     u.display_name FROM assignments a JOIN users u ON u.id = a.user_id \
                     WHERE a.notice_id = $1 ORDER BY a.assigned_at, a.user_id",
                )
                .bind(notice_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn create_finding(&self, f: &Finding, shares: &[Uuid], event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                sqlx::query(
                    "INSERT INTO findings (id, notice_id, org_id, author_id, title, domain, severity, \
                     description, evidence, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(f.id)
                .bind(f.notice_id)
                .bind(f.org_id)
                .bind(f.author_id)
                .bind(&f.title)
                .bind(&f.domain)
                .bind(&f.severity)
                .bind(&f.description)
                .bind(&f.evidence)
                .bind(f.created_at)
                .execute(&mut *tx)
                .await?;
                Self::insert_shares(&mut tx, f.id, shares).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_assessment(&self, a: &Assessment, shares: &[Uuid], event: &AuditEvent) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::record(&mut tx, event).await?;
                sqlx::query(
                    "INSERT INTO assessments (id, notice_id, org_id, author_id, levels, rationale, evidence, \
                     published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(a.id)
                .bind(a.notice_id)
                .bind(a.org_id)
                .bind(a.author_id)
                .bind(&a.levels)
                .bind(&a.rationale)
                .bind(&a.evidence)
                .bind(a.published_at)
                .execute(&mut *tx)
                .await?;
                Self::insert_shares(&mut tx, a.id, shares).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn list_audit(&self, object_id: Option<Uuid>, page: &Page<i64>) -> Result<Vec<AuditEvent>> {
                Ok(sqlx::query_as(
                    "SELECT * FROM audit_events WHERE ($1 IS NULL OR object_id = $1) \
                     AND ($2 IS NULL OR seq > $2) ORDER BY seq LIMIT $3",
                )
                .bind(object_id)
                .bind(page.after)
                .bind(page.limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn append_events(&self, events: &[AuditEvent]) -> Result<()> {
                if events.is_empty() {
                    return Ok(());
                }
                let mut tx = self.pool.begin().await?;
                Self::append(&mut tx, events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn ledger_size(&self) -> Result<u64> {
                let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_head WHERE id = 1").fetch_one(&self.pool).await?;
                Ok(u64::try_from(size).unwrap_or(0))
            }

            async fn ledger_nodes(&self, level: u8, from: u64, count: u64) -> Result<Vec<[u8; 32]>> {
                let from = i64::try_from(from).unwrap_or(i64::MAX);
                let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT idx, hash FROM ledger_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
                )
                .bind(i64::from(level))
                .bind(from)
                .bind(from.saturating_add(i64::try_from(count).unwrap_or(i64::MAX)))
                .fetch_all(&self.pool)
                .await?;
                let mut out = Vec::with_capacity(rows.len());
                for (expected, (idx, hash)) in (from..).zip(rows) {
                    let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) else { break };
                    if idx != expected {
                        break;
                    }
                    out.push(hash);
                }
                Ok(out)
            }

            async fn ledger_nodes_at(&self, nodes: &[(u8, u64)]) -> Result<Vec<(u8, u64, [u8; 32])>> {
                let mut out = Vec::with_capacity(nodes.len());
                for chunk in nodes.chunks(200) {
                    let rows: Vec<(i64, i64, Vec<u8>)> = if Self::BACKEND == Backend::Postgres {
                        // One statement text whatever the number of nodes, so each connection prepares and
                        // plans it once (a text per count meant a fresh prepare and custom plans for each).
                        let (levels, indexes) = $crate::sql::node_arrays(chunk);
                        sqlx::query_as(
                            "SELECT n.level, n.idx, n.hash FROM unnest($1::text::bigint[], $2::text::bigint[]) \
                             AS w(level, idx) JOIN ledger_nodes n ON n.level = w.level AND n.idx = w.idx",
                        )
                        .bind(levels)
                        .bind(indexes)
                        .fetch_all(&self.pool)
                        .await?
                    } else {
                        let mut query = sqlx::QueryBuilder::<$db>::new("SELECT level, idx, hash FROM ledger_nodes WHERE ");
                        for (i, (level, index)) in chunk.iter().enumerate() {
                            if i > 0 {
                                query.push(" OR ");
                            }
                            query.push("(level = ").push_bind(i64::from(*level));
                            query.push(" AND idx = ").push_bind(i64::try_from(*index).unwrap_or(i64::MAX)).push(")");
                        }
                        query.build_query_as().fetch_all(&self.pool).await?
                    };
                    for (level, index, hash) in rows {
                        if let (Ok(level), Ok(index), Ok(hash)) =
                            (u8::try_from(level), u64::try_from(index), <[u8; 32]>::try_from(hash.as_slice()))
                        {
                            out.push((level, index, hash));
                        }
                    }
                }
                Ok(out)
            }

            async fn ledger_entries(&self, from: u64, count: u64) -> Result<Vec<LedgerEntry>> {
                let from = i64::try_from(from).unwrap_or(i64::MAX);
                let rows: Vec<LedgerEntryRow> = sqlx::query_as(
                    "SELECT l.idx, l.salt, l.commitment, e.* FROM ledger_entries l \
                     JOIN audit_events e ON e.id = l.event_id WHERE l.idx >= $1 AND l.idx < $2 ORDER BY l.idx",
                )
                .bind(from)
                .bind(from.saturating_add(i64::try_from(count).unwrap_or(i64::MAX)))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(LedgerEntry::from).collect())
            }

            async fn ledger_entry_of(&self, event_id: Uuid) -> Result<Option<LedgerEntry>> {
                let row: Option<LedgerEntryRow> = sqlx::query_as(
                    "SELECT l.idx, l.salt, l.commitment, e.* FROM ledger_entries l \
                     JOIN audit_events e ON e.id = l.event_id WHERE l.event_id = $1",
                )
                .bind(event_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(LedgerEntry::from))
            }

            async fn put_checkpoint(&self, c: &SignedCheckpoint) -> Result<bool> {
                let done = sqlx::query(
                    "INSERT INTO ledger_checkpoints (size, root, note, signed_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (size) DO NOTHING",
                )
                .bind(c.size)
                .bind(&c.root)
                .bind(&c.note)
                .bind(c.signed_at)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
                Ok(sqlx::query_as("SELECT * FROM ledger_checkpoints ORDER BY size DESC LIMIT 1")
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn list_checkpoints(&self, before: Option<i64>, limit: i64) -> Result<Vec<SignedCheckpoint>> {
                Ok(sqlx::query_as(
                    "SELECT * FROM ledger_checkpoints WHERE ($1 IS NULL OR size < $1) ORDER BY size DESC LIMIT $2",
                )
                .bind(before)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn count_audit(&self) -> Result<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_events").fetch_one(&self.pool).await?)
            }
        }

        impl $store {
            async fn insert_user(conn: &mut <$db as sqlx::Database>::Connection, user: &User) -> Result<()> {
                sqlx::query(
                    "INSERT INTO users (id, org_id, email, display_name, role, password_hash, active, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(user.id)
                .bind(user.org_id)
                .bind(&user.email)
                .bind(&user.display_name)
                .bind(&user.role)
                .bind(&user.password_hash)
                .bind(user.active)
                .bind(user.created_at)
                .execute(&mut *conn)
                .await
                .map_err(conflict("a person with this e-mail address"))?;
                Ok(())
            }

            async fn insert_launch_change(
                conn: &mut <$db as sqlx::Database>::Connection,
                c: &LaunchChange,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO launch_changes (id, notice_id, kind, previous_launch_at, new_launch_at, reason, \
                     changed_by, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(c.id)
                .bind(c.notice_id)
                .bind(&c.kind)
                .bind(c.previous_launch_at)
                .bind(c.new_launch_at)
                .bind(&c.reason)
                .bind(c.changed_by)
                .bind(c.changed_at)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use sql_store;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Audience;
    use chrono::{Duration, TimeZone};
    use uuid::Uuid;

    fn query(states: [bool; 4], after: Option<DateTime<Utc>>) -> NoticeQuery {
        NoticeQuery {
            audience: audience(None, None),
            now: Utc.with_ymd_and_hms(2027, 6, 1, 0, 0, 0).unwrap(),
            states,
            developer_org: None,
            after: after.map(|at| (at, Uuid::nil())),
            limit: 51,
        }
    }

    fn audience(developer_org: Option<Uuid>, agency_org: Option<Uuid>) -> Audience {
        Audience {
            user_id: Uuid::nil(),
            org_id: Uuid::nil(),
            org_admin: false,
            program_admin: false,
            developer_org,
            agency_org,
        }
    }

    #[test]
    fn a_list_seeks_past_rows_that_cannot_match() {
        let now = query([true; 4], None).now;
        let start = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
        let (earlier, later) = (now - Duration::days(3), now + Duration::days(3));
        // [scheduled, in_review, launched, withdrawn]
        let cases = [
            ([true, true, true, true], None, start),
            ([true, true, false, false], None, now),
            ([false, true, false, false], None, now),
            ([true, false, false, false], None, now),
            ([false, false, true, false], None, start),
            ([false, false, false, true], None, start),
            ([false, true, false, true], None, start),
            ([true, true, true, true], Some(earlier), earlier),
            ([false, true, false, false], Some(earlier), now),
            ([false, true, false, false], Some(later), later),
        ];
        for (states, after, expected) in cases {
            assert_eq!(
                closes_from(&query(states, after)),
                expected,
                "{states:?} after {after:?}"
            );
        }
    }

    #[test]
    fn only_lists_of_one_developer_use_its_index() {
        let (a, b) = (Some(Uuid::now_v7()), Some(Uuid::now_v7()));
        // (audience developer, audience agency, developer filter)
        let cases = [
            ((a, None, None), true),
            ((None, b, None), false),
            ((None, b, a), true),
            ((a, None, a), true),
            ((a, b, None), false),
            ((None, None, None), false),
        ];
        for ((developer_org, agency_org, filter), expected) in cases {
            let mut q = query([true; 4], None);
            q.audience = audience(developer_org, agency_org);
            q.developer_org = filter;
            assert_eq!(one_developer(&q), expected, "{:?}", q.audience);
        }
    }

    #[test]
    fn node_lists_become_array_literals() {
        let cases = [
            (vec![], ("{}", "{}")),
            (vec![(0, 7)], ("{0}", "{7}")),
            (
                vec![(3, 1), (0, 1_000_000), (63, 0)],
                ("{3,0,63}", "{1,1000000,0}"),
            ),
        ];
        for (nodes, (levels, indexes)) in cases {
            assert_eq!(
                node_arrays(&nodes),
                (levels.to_owned(), indexes.to_owned()),
                "{nodes:?}"
            );
        }
    }
}
