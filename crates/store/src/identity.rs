//! Organisations, people and their credentials as stored: `IdentityStore` (organisations, people, invitations)
//! and `SessionStore` (sessions, API tokens, login throttling). Their SQL is in `queries/identity.rs` and
//! `queries/sessions.rs`.

use crate::{ApiToken, AuditEvent, Invitation, LoginFailures, Organization, Page, Result, Session, User};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
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
}

#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
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
}
