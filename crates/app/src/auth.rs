//! Signing in: password logins with throttling, browser sessions, API tokens.
//!
//! Sessions, tokens and throttling state live in the database, so any number of server processes behave as
//! one. Only digests of tokens are stored; a token is shown once, when it is made.

use crate::page::{PageRequest, Paged, paginate};
use crate::{Actor, App, AppError, AppResult, Caller};
use accounts::secret::{self, same, visible_prefix};
use accounts::{Email, PasswordHash, Secret, TokenDigest, TokenKind};
use chrono::{DateTime, Duration, Utc};
use review::ValidationError;
use serde::Serialize;
use serde_json::json;
use std::net::IpAddr;
use store::{ApiToken, Session, User};
use uuid::Uuid;

/// A new browser session: the cookie value (shown once, to the browser) and the CSRF token for its forms.
pub struct NewSession {
    pub token: Secret,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        TokenView {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// The longest an API token may live.
pub const MAX_TOKEN_DAYS: i64 = 366;

/// How often a session's last-seen time is written: at most once per this many minutes, so that signed-in
/// requests do not each write to the database.
pub const LAST_SEEN_MINUTES: i64 = 5;
/// The most of a browser's `User-Agent` kept with its session.
const USER_AGENT_CHARS: usize = 200;

/// A password hash to verify against when the e-mail is unknown, so both cases take the same time.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$ZGVjb3lkZWNveWRlY295$2u7S0x7zcuJRJ2QJyyxHSq8FTXvHEwi4ebjEh5U/6ic";

impl App {
    /// Checks an e-mail and password and opens a session. `from` is the address the attempt came from.
    ///
    /// The attempt is counted against the account and the address before the password is checked
    /// (`throttle.rs`): once either has had its allowed failures, no password is checked, right or wrong,
    /// until the lock lapses, across every server process.
    pub async fn login(&self, email: &str, password: &Secret, from: IpAddr) -> AppResult<NewSession> {
        self.login_from(email, password, from, "").await
    }

    /// `login`, keeping the browser's `User-Agent` with the session (to show in the person's sessions).
    pub async fn login_from(
        &self,
        email: &str,
        password: &Secret,
        from: IpAddr,
        user_agent: &str,
    ) -> AppResult<NewSession> {
        let invalid = || AppError::Invalid(ValidationError::new("password", "e-mail or password is wrong"));
        let email = Email::parse("email", email)?;
        let admitted = self.admit_login(&email, from).await?;
        let now = self.clock.now();
        let user = self.store.find_user_by_email(email.as_str()).await?;
        let hash = user
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .unwrap_or_else(|| DECOY_HASH.into());
        let password_ok = PasswordHash(hash).verify(password);
        let caller = match user {
            Some(user) if password_ok => self.caller_of(user).await?,
            _ => None,
        };
        let Some(caller) = caller else {
            self.login_failed(&admitted);
            return Err(invalid());
        };
        self.login_succeeded(&admitted).await?;
        let token = secret::generate(TokenKind::Session);
        let csrf_token = secret::generate(TokenKind::Csrf).expose().to_owned();
        let expires_at = now + Duration::hours(self.config.session_hours);
        let session = Session {
            token_digest: TokenDigest::of(&token).0,
            user_id: caller.user_id(),
            csrf_token: csrf_token.clone(),
            created_at: now,
            expires_at,
            id: Uuid::now_v7(),
            last_seen_at: Some(now),
            user_agent: user_agent
                .chars()
                .filter(|c| !c.is_control())
                .take(USER_AGENT_CHARS)
                .collect(),
        };
        let event = self.event(
            (&caller).into(),
            "session.login",
            "user",
            Some(caller.user_id()),
            json!({}),
        );
        self.store.create_session(&session, &event).await?;
        Ok(NewSession {
            token,
            csrf_token,
            expires_at,
        })
    }

    pub async fn logout(&self, session_token: &str) -> AppResult<()> {
        let digest = TokenDigest::of(&Secret::new(session_token.to_owned()));
        if let Some(session) = self.store.find_session(&digest.0).await? {
            let user = self.store.get_user(session.user_id).await?;
            let actor = match user {
                Some(u) => Actor::Person {
                    user_id: u.id,
                    org_id: u.org_id,
                },
                None => Actor::Operator,
            };
            let event = self.event(actor, "session.logout", "user", Some(session.user_id), json!({}));
            self.store.delete_session(&digest.0, &event).await?;
        }
        Ok(())
    }

    /// The caller behind a person, if both they and their organisation are active.
    async fn caller_of(&self, user: User) -> AppResult<Option<Caller>> {
        let Some(org) = self.store.get_org(user.org_id).await? else {
            return Ok(None);
        };
        Ok(Caller::from_rows(user, org))
    }

    pub async fn authenticate_session(&self, token: &str) -> AppResult<Caller> {
        let digest = TokenDigest::of(&Secret::new(token.to_owned()));
        let (session, user, org) = self
            .store
            .find_session_holder(&digest.0)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let now = self.clock.now();
        if session.expires_at <= now {
            return Err(AppError::Unauthenticated);
        }
        let mut caller = Caller::from_rows(user, org).ok_or(AppError::Unauthenticated)?;
        let since = now - Duration::minutes(LAST_SEEN_MINUTES);
        if session.last_seen_at.is_none_or(|at| at < since) {
            self.store.touch_session(session.id, now, since).await?;
        }
        caller.csrf_token = Some(session.csrf_token);
        caller.session_id = Some(session.id);
        Ok(caller)
    }

    /// Checks a form's or header's CSRF token against the session's.
    pub fn check_csrf(caller: &Caller, presented: Option<&str>) -> AppResult<()> {
        match (caller.csrf_token.as_deref(), presented) {
            (None, _) => Ok(()),
            (Some(expected), Some(given)) if same(expected, given) => Ok(()),
            _ => Err(AppError::Forbidden(
                "the form is out of date or was not sent by this site; reload and retry",
            )),
        }
    }

    pub async fn authenticate_bearer(&self, token: &str) -> AppResult<Caller> {
        if !token.starts_with(TokenKind::Api.prefix()) {
            return Err(AppError::Unauthenticated);
        }
        let digest = TokenDigest::of(&Secret::new(token.to_owned()));
        let (api_token, user, org) = self
            .store
            .find_token_holder(&digest.0)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let now = self.clock.now();
        if api_token.revoked_at.is_some() || api_token.expires_at.is_some_and(|at| at <= now) {
            return Err(AppError::Unauthenticated);
        }
        Caller::from_rows(user, org).ok_or(AppError::Unauthenticated)
    }

    pub(crate) async fn issue_token(
        &self,
        actor: Actor,
        user: &User,
        name: &str,
        expires_in_days: Option<i64>,
    ) -> AppResult<(TokenView, Secret)> {
        let name = review::validate::title("name", name)?;
        if let Some(days) = expires_in_days
            && !(1..=MAX_TOKEN_DAYS).contains(&days)
        {
            return Err(ValidationError::new(
                "expires_in_days",
                format!("must be between 1 and {MAX_TOKEN_DAYS}"),
            )
            .into());
        }
        let token = secret::generate(TokenKind::Api);
        let now = self.clock.now();
        let row = ApiToken {
            id: Uuid::now_v7(),
            user_id: user.id,
            name,
            prefix: visible_prefix(&token),
            created_at: now,
            expires_at: expires_in_days.map(|days| now + Duration::days(days)),
            revoked_at: None,
        };
        let event = self.event(
            actor,
            "token.create",
            "api_token",
            Some(row.id),
            json!({"user": user.id, "name": row.name, "expires_at": row.expires_at}),
        );
        self.store
            .create_token(&row, &TokenDigest::of(&token).0, &event)
            .await?;
        Ok((row.into(), token))
    }

    pub async fn create_token(
        &self,
        caller: &Caller,
        name: &str,
        expires_in_days: Option<i64>,
    ) -> AppResult<(TokenView, Secret)> {
        self.issue_token(caller.into(), &caller.user, name, expires_in_days)
            .await
    }

    /// A person's own tokens; nobody else's are listed.
    pub async fn list_tokens(&self, caller: &Caller, page: &PageRequest) -> AppResult<Paged<TokenView>> {
        let (limit, fetch) = page.by_id()?;
        let rows = self.store.list_tokens(caller.user_id(), &fetch).await?;
        Ok(paginate(rows, limit, |t| t.id.to_string(), TokenView::from))
    }

    pub async fn revoke_token(&self, caller: &Caller, id: Uuid) -> AppResult<TokenView> {
        let token = self
            .store
            .get_token(id)
            .await?
            .filter(|t| t.user_id == caller.user_id());
        let mut token = token.ok_or(AppError::NotFound("token"))?;
        if token.revoked_at.is_some() {
            return Err(AppError::Conflict("the token is already revoked".into()));
        }
        let now = self.clock.now();
        let event = self.event(
            caller.into(),
            "token.revoke",
            "api_token",
            Some(id),
            json!({"name": token.name}),
        );
        self.store.revoke_token(id, now, &event).await?;
        token.revoked_at = Some(now);
        Ok(token.into())
    }
}

#[cfg(test)]
mod tests {
    use accounts::{PasswordHash, Secret};

    #[test]
    fn the_decoy_hash_parses_and_matches_nothing_likely() {
        let decoy = PasswordHash(super::DECOY_HASH.into());
        assert!(decoy.is_well_formed());
        assert!(!decoy.verify(&Secret::new("password".into())));
        assert!(!decoy.verify(&Secret::new(String::new())));
    }
}
