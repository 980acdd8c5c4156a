//! A person's own account: changing their password, resetting it by an e-mailed link, and their sessions.
//!
//! Every operation here acts on the caller's own account only (a reset link acts on the account it was sent
//! for), so the only rule is "it is yours"; what admins do to other people is in `identity.rs`.

use crate::identity::UserView;
use crate::throttle::address_subject;
use crate::{Actor, App, AppError, AppResult, Caller};
use accounts::secret;
use accounts::{Email, PasswordHash, Secret, TokenDigest, TokenKind, check_new_password};
use chrono::{DateTime, Duration, Utc};
use review::ValidationError;
use serde::Serialize;
use serde_json::json;
use std::net::IpAddr;
use store::{PasswordReset, StoreError};
use uuid::Uuid;

/// How long a reset link works.
pub const RESET_MINUTES: i64 = 60;
/// Reset requests allowed per e-mail address and per source address within `RESET_WINDOW_MINUTES`, whether
/// or not the address has an account (so the limit says nothing about it).
const RESETS_PER_ADDRESS: i64 = 3;
const RESETS_PER_SOURCE: i64 = 10;
const RESET_WINDOW_MINUTES: i64 = 60;
/// The most sessions a person's list shows (sessions expire, so this is reached only by scripts).
pub const MAX_SESSIONS_LISTED: i64 = 100;

/// What a used, expired or unknown reset link says when opened.
pub const RESET_LINK_ENDED: &str = "This password reset link has been used or has expired. Ask for a \
     new one from the sign-in page.";

/// One of the caller's own sessions. The token (and its digest) never leave the server; the id names it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    /// When it was last used, to within a few minutes.
    pub last_seen_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// The browser that signed in, as it named itself.
    pub user_agent: String,
    /// True for the session making this request.
    pub current: bool,
}

/// A password change or reset's new password checked by the rule for new passwords, the fault named by
/// `field` (the form's own name for it).
fn new_password_hash(field: &str, password: &Secret, email: &str, name: &str) -> AppResult<PasswordHash> {
    check_new_password(password, &[email, name]).map_err(|mut e| {
        e.field = field.to_owned();
        AppError::Invalid(e)
    })?;
    Ok(PasswordHash::create(password)?)
}

impl App {
    /// Changes the caller's password. The current one must be given (checked and throttled as a sign-in
    /// is); every other session of theirs is signed out, and any reset link they had stops working.
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: &Secret,
        new: &Secret,
        from: IpAddr,
    ) -> AppResult<()> {
        let email = Email::parse("email", &caller.user.email)?;
        let admitted = self.admit_login(&email, from).await?;
        // The caller's row as it is now, not as it was when the session was read.
        let user = self
            .store
            .get_user(caller.user_id())
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let right = user
            .password_hash
            .clone()
            .is_some_and(|hash| PasswordHash(hash).verify(current));
        if !right {
            self.login_failed(&admitted);
            return Err(ValidationError::new("current_password", "is not your current password").into());
        }
        self.login_succeeded(&admitted).await?;
        let hash = new_password_hash("new_password", new, &user.email, &user.display_name)?;
        let event = self.event(
            caller.into(),
            "user.password",
            "user",
            Some(user.id),
            json!({"other_sessions_ended": true}),
        );
        self.store
            .change_password(user.id, &hash.0, caller.session_id, &event)
            .await?;
        Ok(())
    }

    /// Asks for a reset link for `email`. The answer is the same whether or not the address has an account:
    /// only its owner learns, by the mail. Requests are limited per address and per source.
    pub async fn request_password_reset(&self, email: &str, from: IpAddr) -> AppResult<()> {
        let email = Email::parse("email", email)?;
        let now = self.clock.now();
        let window = Duration::minutes(RESET_WINDOW_MINUTES);
        for (subject, max) in [
            (format!("reset:{}", address_subject(from)), RESETS_PER_SOURCE),
            (format!("reset:{}", email.as_str()), RESETS_PER_ADDRESS),
        ] {
            let count = self.store.count_login_attempt(&subject, now, window, max).await?;
            if count.failures > max {
                let seconds = count
                    .locked_until
                    .map_or(window.num_seconds(), |until| (until - now).num_seconds());
                return Err(AppError::Limited {
                    retry_after: seconds.max(1),
                    detail: "too many password reset requests; try again later".into(),
                });
            }
        }
        let Some(user) = self.store.find_user_by_email(email.as_str()).await? else {
            return Ok(());
        };
        // A deactivated person (or one of a deactivated organisation) could not sign in with a new password.
        let Some(org) = self.store.get_org(user.org_id).await? else {
            return Ok(());
        };
        if !user.active || !org.active {
            return Ok(());
        }
        let token = secret::generate(TokenKind::PasswordReset);
        let reset = PasswordReset {
            id: Uuid::now_v7(),
            token_digest: TokenDigest::of(&token).0,
            user_id: user.id,
            created_at: now,
            expires_at: now + Duration::minutes(RESET_MINUTES),
            used_at: None,
        };
        let actor = Actor::Person {
            user_id: user.id,
            org_id: user.org_id,
        };
        let event = self.event(
            actor,
            "password_reset.request",
            "user",
            Some(user.id),
            json!({"expires_at": reset.expires_at}),
        );
        self.store.create_password_reset(&reset, &event).await?;
        let body = Secret::new(format!(
            "Someone asked to reset the password of your Prelaunch account. If it was you, open this link to \
             choose a new one (it works once, until {}):\n\n{}/password-reset/{}\n\nIf it was not you, ignore \
             this mail: your password stays as it is.\n",
            reset.expires_at.format("%Y-%m-%d %H:%M UTC"),
            self.config.public_url,
            token.expose()
        ));
        // The link is never shown to whoever asked: when the mail cannot go, it is logged (without the link).
        if !self
            .send_secret_mail(email.as_str(), "[Prelaunch] Reset your password", &body)
            .await?
        {
            tracing::warn!(user = %user.id, "a password reset link could not be mailed");
        }
        Ok(())
    }

    /// The reset a link carries, if it still works; a used, expired or unknown link says so (404).
    async fn open_reset(&self, token: &str) -> AppResult<PasswordReset> {
        let digest = TokenDigest::of(&Secret::new(token.to_owned()));
        self.store
            .find_password_reset(&digest.0)
            .await?
            .filter(|r| r.used_at.is_none() && r.expires_at > self.clock.now())
            .ok_or(AppError::NotFound("password reset link"))
    }

    /// The address a working reset link is for (shown above the form).
    pub async fn password_reset_email(&self, token: &str) -> AppResult<String> {
        let reset = self.open_reset(token).await?;
        let user = self
            .store
            .get_user(reset.user_id)
            .await?
            .ok_or_else(|| AppError::corrupt(format!("reset {} names no person", reset.id)))?;
        Ok(user.email)
    }

    /// Sets a new password through a reset link: the link is used up and every session of the person ends.
    pub async fn reset_password(&self, token: &str, password: &Secret) -> AppResult<UserView> {
        let reset = self.open_reset(token).await?;
        let mut user = self
            .store
            .get_user(reset.user_id)
            .await?
            .ok_or_else(|| AppError::corrupt(format!("reset {} names no person", reset.id)))?;
        let hash = new_password_hash("password", password, &user.email, &user.display_name)?;
        let actor = Actor::Person {
            user_id: user.id,
            org_id: user.org_id,
        };
        let event = self.event(
            actor,
            "password_reset.complete",
            "user",
            Some(user.id),
            json!({"sessions_ended": true}),
        );
        match self
            .store
            .complete_password_reset(&reset, self.clock.now(), &hash.0, &event)
            .await
        {
            Err(StoreError::Stale(_)) => return Err(AppError::NotFound("password reset link")),
            other => other?,
        }
        user.password_hash = Some(hash.0);
        Ok(user.into())
    }

    /// The caller's own sessions that have not expired, newest first; the one making the request is marked.
    pub async fn list_sessions(&self, caller: &Caller) -> AppResult<Vec<SessionView>> {
        let rows = self
            .store
            .list_sessions(caller.user_id(), self.clock.now(), MAX_SESSIONS_LISTED)
            .await?;
        Ok(rows
            .into_iter()
            .map(|s| SessionView {
                current: caller.session_id == Some(s.id),
                id: s.id,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
                user_agent: s.user_agent,
            })
            .collect())
    }

    /// Signs out one of the caller's own sessions (anyone else's reads as absent).
    pub async fn end_session(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        let event = self.event(
            caller.into(),
            "session.end",
            "user",
            Some(caller.user_id()),
            json!({"session": id}),
        );
        // The store deletes only a session of the caller's; none deleted means none of theirs had this id.
        let ended = self
            .store
            .end_sessions(caller.user_id(), Some(id), None, &event)
            .await?;
        if ended == 0 {
            return Err(AppError::NotFound("session"));
        }
        Ok(())
    }

    /// Signs out every session of the caller's but the one making the request (all of them for an API
    /// token, which is no session). Returns how many ended.
    pub async fn end_other_sessions(&self, caller: &Caller) -> AppResult<u64> {
        let event = self.event(
            caller.into(),
            "session.end",
            "user",
            Some(caller.user_id()),
            json!({"others": true}),
        );
        Ok(self
            .store
            .end_sessions(caller.user_id(), None, caller.session_id, &event)
            .await?)
    }
}
