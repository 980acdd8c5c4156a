//! The SQL of `IdentityStore` (organisations, people, invitations), compiled once for each backend: `sqlite.rs`
//! and `postgres.rs` each include this file as a module of their own, where `Db` names the backend's sqlx
//! database and `This` its store.

use super::{Db, This};
use crate::sql::conflict;
use crate::{
    AuditEvent, IdentityStore, Invitation, Organization, Page, PasswordReset, Result, StoreError, User,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The condition that an invitation is pending: neither used nor revoked.
macro_rules! pending {
    () => {
        "used_at IS NULL AND revoked_at IS NULL"
    };
}

#[async_trait]
impl IdentityStore for This {
    async fn count_orgs(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM organizations")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn create_org(&self, org: &Organization, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(
            "INSERT INTO organizations (id, kind, name, active, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org.id)
        .bind(org.kind.as_str())
        .bind(&org.name)
        .bind(org.active)
        .bind(org.created_at);
        self.execute_recorded_or(event, statement, None, conflict("an organisation with this name"))
            .await
    }

    async fn get_org(&self, id: Uuid) -> Result<Option<Organization>> {
        Ok(sqlx::query_as("SELECT * FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn find_org_by_name(&self, name: &str) -> Result<Option<Organization>> {
        Ok(
            sqlx::query_as("SELECT * FROM organizations WHERE lower(name) = lower($1)")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn list_orgs(&self, page: &Page<Uuid>) -> Result<Vec<Organization>> {
        Ok(
            sqlx::query_as("SELECT * FROM organizations WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2")
                .bind(page.after)
                .bind(page.limit)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn list_active_orgs(
        &self,
        kind: accounts::OrgKind,
        page: &Page<Uuid>,
    ) -> Result<Vec<Organization>> {
        Ok(sqlx::query_as(
            "SELECT * FROM organizations WHERE kind = $1 AND active AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
        )
        .bind(kind.as_str())
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn set_org_active(&self, id: Uuid, active: bool, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query("UPDATE organizations SET active = $2 WHERE id = $1")
            .bind(id)
            .bind(active);
        self.execute_recorded(event, statement, Some("organisation"))
            .await
    }

    async fn create_user(&self, user: &User, event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::record(&mut tx, event).await?;
        Self::insert_user(&mut tx, user).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_user(&self, id: Uuid) -> Result<Option<User>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn get_users(&self, ids: &[Uuid]) -> Result<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::<Db>::new("SELECT * FROM users WHERE id IN (");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        query.push(") ORDER BY id");
        Ok(query.build_query_as().fetch_all(&self.pool).await?)
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
        let mut tx = self.begin().await?;
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
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_password(&self, user_id: Uuid, hash: &str, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user_id)
            .bind(hash);
        self.execute_recorded(event, statement, None).await
    }

    async fn set_user_role(&self, id: Uuid, role: accounts::Role, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
            .bind(id)
            .bind(role.as_str());
        self.execute_recorded(event, statement, Some("person")).await
    }

    async fn change_password(
        &self,
        user_id: Uuid,
        hash: &str,
        keep: Option<Uuid>,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::record(&mut tx, event).await?;
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user_id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id <> $2)")
            .bind(user_id)
            .bind(keep)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM password_resets WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_invitation(&self, invitation: &Invitation, event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::record(&mut tx, event).await?;
        // Inviting an address (or a person) again replaces the link: the old one stops working.
        sqlx::query(concat!(
            "UPDATE invitations SET revoked_at = $4 WHERE org_id = $1 AND ",
            pending!(),
            " AND ((email IS NOT NULL AND email = $2) OR (user_id IS NOT NULL AND user_id = $3))"
        ))
        .bind(invitation.org_id)
        .bind(&invitation.email)
        .bind(invitation.user_id)
        .bind(invitation.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO invitations (id, token_digest, org_id, user_id, email, role, created_by, \
             created_at, expires_at, used_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(invitation.id)
        .bind(&invitation.token_digest)
        .bind(invitation.org_id)
        .bind(invitation.user_id)
        .bind(&invitation.email)
        .bind(invitation.role.as_str())
        .bind(invitation.created_by)
        .bind(invitation.created_at)
        .bind(invitation.expires_at)
        .bind(invitation.used_at)
        .bind(invitation.revoked_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_invitation(&self, id: Uuid) -> Result<Option<Invitation>> {
        self.invitation_where("SELECT * FROM invitations WHERE id = $1", id)
            .await
    }

    async fn list_pending_invitations(&self, org_id: Uuid, page: &Page<Uuid>) -> Result<Vec<Invitation>> {
        Ok(sqlx::query_as(concat!(
            "SELECT * FROM invitations WHERE org_id = $1 AND ",
            pending!(),
            " AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
        ))
        .bind(org_id)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn revoke_invitation(&self, id: Uuid, at: DateTime<Utc>, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(concat!(
            "UPDATE invitations SET revoked_at = $2 WHERE id = $1 AND ",
            pending!()
        ))
        .bind(id)
        .bind(at);
        self.execute_recorded(event, statement, Some("invitation")).await
    }

    async fn create_password_reset(&self, reset: &PasswordReset, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(
            "INSERT INTO password_resets (id, token_digest, user_id, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(reset.id)
        .bind(&reset.token_digest)
        .bind(reset.user_id)
        .bind(reset.created_at)
        .bind(reset.expires_at)
        .bind(reset.used_at);
        self.execute_recorded(event, statement, None).await
    }

    async fn find_password_reset(&self, token_digest: &str) -> Result<Option<PasswordReset>> {
        Ok(
            sqlx::query_as("SELECT * FROM password_resets WHERE token_digest = $1")
                .bind(token_digest)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn complete_password_reset(
        &self,
        reset: &PasswordReset,
        used_at: DateTime<Utc>,
        hash: &str,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::record(&mut tx, event).await?;
        let done = sqlx::query(
            "UPDATE password_resets SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(reset.id)
        .bind(used_at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("password reset"));
        }
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(reset.user_id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(reset.user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM password_resets WHERE user_id = $1 AND used_at IS NULL")
            .bind(reset.user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_invitation(&self, token_digest: &str) -> Result<Option<Invitation>> {
        self.invitation_where("SELECT * FROM invitations WHERE token_digest = $1", token_digest)
            .await
    }

    async fn accept_invitation(
        &self,
        invitation_id: Uuid,
        used_at: DateTime<Utc>,
        user: &User,
        create: bool,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
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
}

impl This {
    /// The one invitation `sql` selects by `key`, its id or its token's digest.
    async fn invitation_where<'q, T>(&self, sql: &'q str, key: T) -> Result<Option<Invitation>>
    where
        T: 'q + Send + sqlx::Encode<'q, Db> + sqlx::Type<Db>,
    {
        Ok(sqlx::query_as(sql).bind(key).fetch_optional(&self.pool).await?)
    }

    async fn insert_user(conn: &mut <Db as sqlx::Database>::Connection, user: &User) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (id, org_id, email, display_name, role, password_hash, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(user.id)
        .bind(user.org_id)
        .bind(&user.email)
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(&user.password_hash)
        .bind(user.active)
        .bind(user.created_at)
        .execute(&mut *conn)
        .await
        .map_err(conflict("a person with this e-mail address"))?;
        Ok(())
    }
}
