//! Organisations, people and their credentials as stored: `IdentityStore` (organisations, people, invitations)
//! and `SessionStore` (sessions, API tokens, login throttling). Their SQL is in `queries/identity.rs` and
//! `queries/sessions.rs`.

use crate::{
    ApiToken, AuditEvent, Invitation, LoginFailures, Organization, Page, PasswordReset, Result, Session, User,
};
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
    /// The active organisations of one kind, by id.
    async fn list_active_orgs(&self, kind: accounts::OrgKind, page: &Page<Uuid>)
    -> Result<Vec<Organization>>;
    async fn set_org_active(&self, id: Uuid, active: bool, event: &AuditEvent) -> Result<()>;

    // People
    async fn create_user(&self, user: &User, event: &AuditEvent) -> Result<()>;
    async fn get_user(&self, id: Uuid) -> Result<Option<User>>;
    /// The people of `ids` that exist, in one read (a page's worth of ids: the caller bounds them).
    async fn get_users(&self, ids: &[Uuid]) -> Result<Vec<User>>;
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn list_users(&self, org_id: Option<Uuid>, page: &Page<Uuid>) -> Result<Vec<User>>;
    async fn count_admins(&self, org_id: Uuid) -> Result<i64>;
    async fn set_user_active(&self, id: Uuid, active: bool, event: &AuditEvent) -> Result<()>;
    async fn set_password(&self, user_id: Uuid, hash: &str, event: &AuditEvent) -> Result<()>;
    async fn set_user_role(&self, id: Uuid, role: accounts::Role, event: &AuditEvent) -> Result<()>;
    /// Sets a person's password and ends every session of theirs but `keep` (the one that asked), and any
    /// reset link they had not used.
    async fn change_password(
        &self,
        user_id: Uuid,
        hash: &str,
        keep: Option<Uuid>,
        event: &AuditEvent,
    ) -> Result<()>;

    // Invitations and one-time setup links
    /// Stores the invitation and revokes the pending ones it replaces: those of its organisation for the same
    /// address, or for the same person.
    async fn create_invitation(&self, invitation: &Invitation, event: &AuditEvent) -> Result<()>;
    async fn find_invitation(&self, token_digest: &str) -> Result<Option<Invitation>>;
    async fn get_invitation(&self, id: Uuid) -> Result<Option<Invitation>>;
    /// An organisation's invitations neither used nor revoked (expired ones too), oldest first.
    async fn list_pending_invitations(&self, org_id: Uuid, page: &Page<Uuid>) -> Result<Vec<Invitation>>;
    /// Revokes a pending invitation; `Stale` when it was used or revoked meanwhile.
    async fn revoke_invitation(&self, id: Uuid, at: DateTime<Utc>, event: &AuditEvent) -> Result<()>;

    // Password reset links
    async fn create_password_reset(&self, reset: &PasswordReset, event: &AuditEvent) -> Result<()>;
    async fn find_password_reset(&self, token_digest: &str) -> Result<Option<PasswordReset>>;
    /// Uses up the link (`Stale` when it was used or lapsed meanwhile), sets the password and ends every
    /// session of the person.
    async fn complete_password_reset(
        &self,
        reset: &PasswordReset,
        used_at: DateTime<Utc>,
        hash: &str,
        event: &AuditEvent,
    ) -> Result<()>;
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
    /// The session with its person and their organisation, in one statement (every request signs in this way).
    async fn find_session_holder(&self, token_digest: &str) -> Result<Option<(Session, User, Organization)>>;
    async fn delete_session(&self, token_digest: &str, event: &AuditEvent) -> Result<()>;
    /// Records that the session was used at `now`, unless it already was since `since`.
    async fn touch_session(&self, id: Uuid, now: DateTime<Utc>, since: DateTime<Utc>) -> Result<()>;
    /// A person's sessions that have not expired, newest first (at most `limit`).
    async fn list_sessions(&self, user_id: Uuid, now: DateTime<Utc>, limit: i64) -> Result<Vec<Session>>;
    /// Ends a person's sessions: the one named `only`, or every one but `except`; returns how many ended.
    async fn end_sessions(
        &self,
        user_id: Uuid,
        only: Option<Uuid>,
        except: Option<Uuid>,
        event: &AuditEvent,
    ) -> Result<u64>;
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64>;

    // API tokens
    async fn create_token(&self, token: &ApiToken, token_digest: &str, event: &AuditEvent) -> Result<()>;
    async fn find_token(&self, token_digest: &str) -> Result<Option<ApiToken>>;
    /// The API token with its holder and their organisation, in one statement.
    async fn find_token_holder(&self, token_digest: &str) -> Result<Option<(ApiToken, User, Organization)>>;
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

/// A credential's row joined with its holder and their organisation (`find_session_holder`,
/// `find_token_holder`): the holder's columns are prefixed `u_`, the organisation's `o_`.
#[derive(sqlx::FromRow)]
pub(crate) struct HolderRow<C> {
    #[sqlx(flatten)]
    pub credential: C,
    pub u_id: Uuid,
    pub u_org_id: Uuid,
    pub u_email: String,
    pub u_display_name: String,
    #[sqlx(try_from = "String")]
    pub u_role: accounts::Role,
    pub u_password_hash: Option<String>,
    pub u_active: bool,
    pub u_created_at: DateTime<Utc>,
    #[sqlx(try_from = "String")]
    pub o_kind: accounts::OrgKind,
    pub o_name: String,
    pub o_active: bool,
    pub o_created_at: DateTime<Utc>,
}

impl<C> HolderRow<C> {
    pub(crate) fn split(self) -> (C, User, Organization) {
        let user = User {
            id: self.u_id,
            org_id: self.u_org_id,
            email: self.u_email,
            display_name: self.u_display_name,
            role: self.u_role,
            password_hash: self.u_password_hash,
            active: self.u_active,
            created_at: self.u_created_at,
        };
        let org = Organization {
            id: self.u_org_id,
            kind: self.o_kind,
            name: self.o_name,
            active: self.o_active,
            created_at: self.o_created_at,
        };
        (self.credential, user, org)
    }
}

/// The holder's and organisation's columns of `HolderRow`, for a statement joining `users u` and
/// `organizations o`.
macro_rules! holder_columns {
    () => {
        "u.id AS u_id, u.org_id AS u_org_id, u.email AS u_email, u.display_name AS u_display_name, \
         u.role AS u_role, u.password_hash AS u_password_hash, u.active AS u_active, \
         u.created_at AS u_created_at, o.kind AS o_kind, o.name AS o_name, o.active AS o_active, \
         o.created_at AS o_created_at"
    };
}
pub(crate) use holder_columns;
