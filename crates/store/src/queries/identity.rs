//! The SQL of `IdentityStore` (organisations, people, invitations), compiled once for each backend: `sqlite.rs`
//! and `postgres.rs` each include this file as a module of their own, where `Db` names the backend's sqlx
//! database and `This` its store.

use super::{Db, This};
use crate::sql::conflict;
use crate::{AuditEvent, IdentityStore, Invitation, Organization, Page, Result, StoreError, User};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
impl IdentityStore for This {
    async fn count_orgs(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM organizations")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn create_org(&self, org: &Organization, event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::record(&mut tx, event).await?;
        sqlx::query(
            "INSERT INTO organizations (id, kind, name, active, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org.id)
        .bind(org.kind.as_str())
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

    async fn set_org_active(&self, id: Uuid, active: bool, event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
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
        let mut tx = self.begin().await?;
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
        let mut tx = self.begin().await?;
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
        .bind(invitation.role.as_str())
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
        Ok(
            sqlx::query_as("SELECT * FROM invitations WHERE token_digest = $1")
                .bind(token_digest)
                .fetch_optional(&self.pool)
                .await?,
        )
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
