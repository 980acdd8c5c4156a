//! Organisations, people and invitations.

use crate::page::{PageRequest, Paged, paginate};
use crate::{Actor, App, AppError, AppResult, Caller, policy};
use accounts::check_new_password;
use accounts::secret;
use accounts::{Email, OrgKind, PasswordHash, Role, Secret, TokenDigest, TokenKind, display_name};
use chrono::{DateTime, Duration, Utc};
use review::ValidationError;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use store::{Invitation, Organization, User};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct OrgView {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Organization> for OrgView {
    fn from(o: Organization) -> Self {
        OrgView {
            id: o.id,
            kind: o.kind.as_str().into(),
            name: o.name,
            active: o.active,
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
    /// False until the person has set a password through their invitation link.
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            org_id: u.org_id,
            email: u.email,
            display_name: u.display_name,
            role: u.role.as_str().into(),
            active: u.active,
            has_password: u.password_hash.is_some(),
            created_at: u.created_at,
        }
    }
}

/// A new invitation: what to show once, and the link that carries the one-time token.
pub struct IssuedInvitation {
    pub invitation: Invitation,
    pub link: Secret,
    /// The link went to the invited address by e-mail, so it is not shown to the inviter.
    pub emailed: bool,
}

/// What a person opening an invitation link is told.
#[derive(Debug, Clone, Serialize)]
pub struct InvitationInfo {
    pub org_name: String,
    pub org_kind: String,
    pub email: Option<String>,
    pub role: String,
    pub expires_at: DateTime<Utc>,
}

/// What a used invitation link says when it is opened again.
pub const LINK_USED: &str = "This invitation link has already been used. If you accepted it, sign in; \
     otherwise ask whoever invited you for a new invitation.";
/// What a revoked or replaced invitation link says.
pub const LINK_REVOKED: &str = "This invitation link was withdrawn or replaced by a newer one. Use the \
     latest invitation you received, or ask whoever invited you for a new one.";

/// A pending invitation as its organisation's admins see it (never its link, of which only a digest is kept).
#[derive(Debug, Clone, Serialize)]
pub struct InvitationView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: Option<String>,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// True once `expires_at` has passed: the link no longer works, and may be sent again.
    pub expired: bool,
}

impl InvitationView {
    fn new(i: Invitation, now: DateTime<Utc>) -> Self {
        InvitationView {
            id: i.id,
            org_id: i.org_id,
            email: i.email,
            role: i.role.as_str().into(),
            created_at: i.created_at,
            expires_at: i.expires_at,
            expired: i.expires_at <= now,
        }
    }
}

/// Why an invitation to an address that already has an account cannot be accepted; shown only to whoever
/// opens the link, never to the inviter.
const ADDRESS_TAKEN: &str = "this e-mail address already has an account, and a person belongs to one \
     organisation: sign in with that account, or ask whoever invited you to invite another address";

impl App {
    pub(crate) async fn insert_org(
        &self,
        actor: Actor,
        kind: OrgKind,
        name: &str,
    ) -> AppResult<Organization> {
        let name = display_name("name", name)?;
        let org = Organization {
            id: Uuid::now_v7(),
            kind,
            name,
            active: true,
            created_at: self.clock.now(),
        };
        let event = self.event(
            actor,
            "organization.create",
            "organization",
            Some(org.id),
            json!({"kind": org.kind.as_str(), "name": org.name}),
        );
        self.store.create_org(&org, &event).await?;
        Ok(org)
    }

    pub async fn create_org(&self, caller: &Caller, kind: &str, name: &str) -> AppResult<OrgView> {
        if !policy::can_administer_program(caller) {
            return Err(AppError::Forbidden(
                "only program administrators create organisations",
            ));
        }
        let kind = OrgKind::parse("kind", kind)?;
        Ok(self.insert_org(caller.into(), kind, name).await?.into())
    }

    /// The directory of organisations: every signed-in person may see names and kinds, to choose whom to
    /// share with. Nothing confidential is in it.
    pub async fn list_orgs(&self, _caller: &Caller, page: &PageRequest) -> AppResult<Paged<OrgView>> {
        let (limit, fetch) = page.by_id()?;
        let rows = self.store.list_orgs(&fetch).await?;
        Ok(paginate(rows, limit, |o| o.id.to_string(), OrgView::from))
    }

    /// The active organisations of one kind (`agency`, to choose agencies by name): the same directory, less
    /// the organisations that take no part now.
    pub async fn list_active_orgs(
        &self,
        _caller: &Caller,
        kind: &str,
        page: &PageRequest,
    ) -> AppResult<Paged<OrgView>> {
        let kind = OrgKind::parse("kind", kind)?;
        let (limit, fetch) = page.by_id()?;
        let rows = self.store.list_active_orgs(kind, &fetch).await?;
        Ok(paginate(rows, limit, |o| o.id.to_string(), OrgView::from))
    }

    pub async fn get_org(&self, _caller: &Caller, id: Uuid) -> AppResult<OrgView> {
        Ok(self
            .store
            .get_org(id)
            .await?
            .ok_or(AppError::NotFound("organisation"))?
            .into())
    }

    pub async fn set_org_active(&self, caller: &Caller, id: Uuid, active: bool) -> AppResult<OrgView> {
        if !policy::can_administer_program(caller) {
            return Err(AppError::Forbidden(
                "only program administrators activate or deactivate organisations",
            ));
        }
        let mut org = self
            .store
            .get_org(id)
            .await?
            .ok_or(AppError::NotFound("organisation"))?;
        if org.id == caller.org_id() && !active {
            return Err(AppError::Conflict(
                "you cannot deactivate your own organisation".into(),
            ));
        }
        let action = if active {
            "organization.activate"
        } else {
            "organization.deactivate"
        };
        let event = self.event(caller.into(), action, "organization", Some(id), json!({}));
        self.store.set_org_active(id, active, &event).await?;
        self.gateway_changed();
        org.active = active;
        Ok(org.into())
    }

    pub(crate) async fn issue_invitation(
        &self,
        actor: Actor,
        org_id: Uuid,
        email: Option<Email>,
        role: Role,
        existing_user: Option<Uuid>,
    ) -> AppResult<IssuedInvitation> {
        let token = secret::generate(TokenKind::Invitation);
        let now = self.clock.now();
        let invitation = Invitation {
            id: Uuid::now_v7(),
            token_digest: TokenDigest::of(&token).0,
            org_id,
            user_id: existing_user,
            email: email.map(|e| e.as_str().to_owned()),
            role,
            created_by: actor.user_id(),
            created_at: now,
            expires_at: now + Duration::days(self.config.invitation_days),
            used_at: None,
            revoked_at: None,
        };
        let event = self.event(
            actor,
            "invitation.create",
            "organization",
            Some(org_id),
            json!({"invitation": invitation.id, "email": invitation.email, "role": invitation.role.as_str()}),
        );
        self.store.create_invitation(&invitation, &event).await?;
        let link = Secret::new(format!(
            "{}/invitations/{}",
            self.config.public_url,
            token.expose()
        ));
        Ok(IssuedInvitation {
            invitation,
            link,
            emailed: false,
        })
    }

    /// Invites a person into an organisation; the link is shown once to the inviting admin.
    pub async fn invite(
        &self,
        caller: &Caller,
        org_id: Uuid,
        email: &str,
        role: &str,
    ) -> AppResult<IssuedInvitation> {
        let org = self
            .store
            .get_org(org_id)
            .await?
            .ok_or(AppError::NotFound("organisation"))?;
        if !policy::can_view_people(caller, org.id) {
            return Err(AppError::NotFound("organisation"));
        }
        if !policy::can_manage_people(caller, org.id) {
            return Err(AppError::Forbidden("only organisation admins invite people"));
        }
        let email = Email::parse("email", email)?;
        let role = Role::parse("role", role)?;
        // Someone the caller can see is named; anyone else's address gets the answer a new one gets, so that
        // inviting cannot tell whether an address has an account elsewhere. That invitation can never make a
        // second account: accepting it is refused (`accept_invitation`) and the existing person's account is
        // left as it is.
        if let Some(person) = self.store.find_user_by_email(email.as_str()).await?
            && policy::can_view_people(caller, person.org_id)
        {
            return Err(AppError::Conflict(
                "a person with this e-mail address already exists".into(),
            ));
        }
        // Inviting an address again replaces its pending link (the store revokes the old one).
        let issued = self
            .issue_invitation(caller.into(), org.id, Some(email.clone()), role, None)
            .await?;
        self.mail_invitation(&org, email.as_str(), issued).await
    }

    /// With e-mail on, the link goes to the invited address only; the inviter sees it when sending failed.
    async fn mail_invitation(
        &self,
        org: &Organization,
        to: &str,
        mut issued: IssuedInvitation,
    ) -> AppResult<IssuedInvitation> {
        let body = Secret::new(format!(
            "You are invited to join {} on Prelaunch. Open this link to set your password (it works once, \
             until {}):\n\n{}\n",
            org.name,
            issued.invitation.expires_at.format("%Y-%m-%d %H:%M UTC"),
            issued.link.expose()
        ));
        issued.emailed = self
            .send_secret_mail(to, "[Prelaunch] Your invitation", &body)
            .await?;
        Ok(issued)
    }

    /// The organisation of an invitation the caller manages; anyone else gets "not found" for it.
    async fn managed_invitation(&self, caller: &Caller, id: Uuid) -> AppResult<(Invitation, Organization)> {
        let invitation = self
            .store
            .get_invitation(id)
            .await?
            .filter(|i| policy::can_view_people(caller, i.org_id))
            .ok_or(AppError::NotFound("invitation"))?;
        if !policy::can_manage_people(caller, invitation.org_id) {
            return Err(AppError::Forbidden("only organisation admins manage invitations"));
        }
        let org = self.store.get_org(invitation.org_id).await?.ok_or_else(|| {
            AppError::corrupt(format!("invitation {} names no organisation", invitation.id))
        })?;
        Ok((invitation, org))
    }

    /// An organisation's pending invitations (neither used nor revoked; expired ones marked), for its admins.
    pub async fn list_invitations(
        &self,
        caller: &Caller,
        org_id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<InvitationView>> {
        if !policy::can_view_people(caller, org_id) {
            return Err(AppError::NotFound("organisation"));
        }
        if !policy::can_manage_people(caller, org_id) {
            return Err(AppError::Forbidden("only organisation admins see invitations"));
        }
        let (limit, fetch) = page.by_id()?;
        let rows = self.store.list_pending_invitations(org_id, &fetch).await?;
        let now = self.clock.now();
        Ok(paginate(
            rows,
            limit,
            |i| i.id.to_string(),
            |i| InvitationView::new(i, now),
        ))
    }

    /// Revokes a pending invitation: its link stops working at once and says it was withdrawn.
    pub async fn revoke_invitation(&self, caller: &Caller, id: Uuid) -> AppResult<InvitationView> {
        let (mut invitation, org) = self.managed_invitation(caller, id).await?;
        if invitation.used_at.is_some() || invitation.revoked_at.is_some() {
            return Err(AppError::Conflict(
                "the invitation was already used or revoked".into(),
            ));
        }
        let now = self.clock.now();
        let event = self.event(
            caller.into(),
            "invitation.revoke",
            "organization",
            Some(org.id),
            json!({"invitation": id, "email": invitation.email}),
        );
        match self.store.revoke_invitation(id, now, &event).await {
            Err(store::StoreError::Stale(_)) => {
                return Err(AppError::Conflict(
                    "the invitation was already used or revoked".into(),
                ));
            }
            other => other?,
        }
        invitation.revoked_at = Some(now);
        Ok(InvitationView::new(invitation, now))
    }

    /// Sends a pending invitation again with a new link (and a new expiry); the old link stops working.
    pub async fn resend_invitation(&self, caller: &Caller, id: Uuid) -> AppResult<IssuedInvitation> {
        let (invitation, org) = self.managed_invitation(caller, id).await?;
        if invitation.used_at.is_some() || invitation.revoked_at.is_some() {
            return Err(AppError::Conflict(
                "the invitation was already used or revoked; invite the address again instead".into(),
            ));
        }
        let Some(email) = invitation.email.as_deref() else {
            return Err(AppError::Conflict(
                "this link sets up an existing account; it cannot be sent by e-mail".into(),
            ));
        };
        let email = Email::parse("email", email)?;
        let issued = self
            .issue_invitation(
                caller.into(),
                org.id,
                Some(email.clone()),
                invitation.role,
                invitation.user_id,
            )
            .await?;
        self.mail_invitation(&org, email.as_str(), issued).await
    }

    /// Changes a person's role in their organisation (an admin cannot change their own).
    pub async fn set_user_role(&self, caller: &Caller, id: Uuid, role: &str) -> AppResult<UserView> {
        let mut user = self
            .store
            .get_user(id)
            .await?
            .filter(|u| policy::can_view_people(caller, u.org_id))
            .ok_or(AppError::NotFound("person"))?;
        if !policy::can_manage_people(caller, user.org_id) {
            return Err(AppError::Forbidden("only organisation admins change roles"));
        }
        if !policy::can_change_role(caller, user.org_id, user.id) {
            return Err(AppError::Conflict(
                "you cannot change your own role; ask another admin".into(),
            ));
        }
        let role = Role::parse("role", role)?;
        if role == user.role {
            return Ok(user.into());
        }
        let event = self.event(
            caller.into(),
            "user.role",
            "user",
            Some(id),
            json!({"email": user.email, "from": user.role.as_str(), "to": role.as_str()}),
        );
        self.store.set_user_role(id, role, &event).await?;
        self.gateway_changed();
        user.role = role;
        Ok(user.into())
    }

    /// The invitation a link carries, if it still works. A link that was used, revoked (or replaced) or has
    /// expired says so, before any form is filled in; a token that names nothing is "not found".
    async fn open_invitation(&self, token: &str) -> AppResult<Invitation> {
        let digest = TokenDigest::of(&Secret::new(token.to_owned()));
        let invitation = self
            .store
            .find_invitation(&digest.0)
            .await?
            .ok_or(AppError::NotFound("invitation"))?;
        if invitation.used_at.is_some() {
            return Err(AppError::Conflict(LINK_USED.into()));
        }
        if invitation.revoked_at.is_some() {
            return Err(AppError::Conflict(LINK_REVOKED.into()));
        }
        if invitation.expires_at <= self.clock.now() {
            return Err(AppError::Conflict(format!(
                "This invitation link expired on {}. Ask whoever invited you for a new one.",
                invitation.expires_at.format("%Y-%m-%d %H:%M UTC")
            )));
        }
        Ok(invitation)
    }

    pub async fn invitation_info(&self, token: &str) -> AppResult<InvitationInfo> {
        let invitation = self.open_invitation(token).await?;
        let org = self.store.get_org(invitation.org_id).await?.ok_or_else(|| {
            AppError::corrupt(format!("invitation {} names no organisation", invitation.id))
        })?;
        let email = match (invitation.email, invitation.user_id) {
            (Some(email), _) => Some(email),
            (None, Some(id)) => self.store.get_user(id).await?.map(|person| person.email),
            (None, None) => None,
        };
        Ok(InvitationInfo {
            org_name: org.name,
            org_kind: org.kind.as_str().into(),
            email,
            role: invitation.role.as_str().into(),
            expires_at: invitation.expires_at,
        })
    }

    /// Accepts an invitation: creates the person (or sets an existing person's password) and uses up the
    /// link. `email` is only read when the invitation does not name one (the first administrator's setup).
    pub async fn accept_invitation(
        &self,
        token: &str,
        email: Option<&str>,
        name: &str,
        password: &Secret,
    ) -> AppResult<UserView> {
        let invitation = self.open_invitation(token).await?;
        // A link that sets an existing person's password keeps their address; a new person's comes from the
        // invitation, or, for the first administrator's set-up link, from the form.
        let existing =
            match invitation.user_id {
                Some(id) => Some(self.store.get_user(id).await?.ok_or_else(|| {
                    AppError::corrupt(format!("invitation {} names no person", invitation.id))
                })?),
                None => None,
            };
        let email = match (&invitation.email, &existing, email) {
            (Some(fixed), _, _) => Email::parse("email", fixed)?,
            (None, Some(person), _) => Email::parse("email", &person.email)?,
            (None, None, Some(given)) => Email::parse("email", given)?,
            (None, None, None) => return Err(ValidationError::new("email", "must not be empty").into()),
        };
        // An invitation to an address that has an account (made after an invitation elsewhere, or sent to
        // it without the inviter knowing) cannot make a second one, and leaves the first untouched.
        if existing.is_none() && self.store.find_user_by_email(email.as_str()).await?.is_some() {
            return Err(AppError::Conflict(ADDRESS_TAKEN.into()));
        }
        let display_name = display_name("display_name", name)?;
        check_new_password(password, &[email.as_str(), &display_name])?;
        let hash = PasswordHash::create(password)?;
        let now = self.clock.now();
        let (user, create) = match existing {
            Some(mut user) => {
                user.password_hash = Some(hash.0);
                user.display_name = display_name;
                (user, false)
            }
            None => (
                User {
                    id: Uuid::now_v7(),
                    org_id: invitation.org_id,
                    email: email.as_str().into(),
                    display_name,
                    role: invitation.role,
                    password_hash: Some(hash.0),
                    active: true,
                    created_at: now,
                },
                true,
            ),
        };
        let actor = Actor::Person {
            user_id: user.id,
            org_id: user.org_id,
        };
        let event = self.event(
            actor,
            "invitation.accept",
            "user",
            Some(user.id),
            json!({"invitation": invitation.id, "email": user.email, "role": user.role.as_str()}),
        );
        self.store
            .accept_invitation(invitation.id, now, &user, create, &event)
            .await?;
        Ok(user.into())
    }

    pub async fn list_users(
        &self,
        caller: &Caller,
        org_id: Option<Uuid>,
        page: &PageRequest,
    ) -> AppResult<Paged<UserView>> {
        let scope = policy::people_scope(caller, org_id).ok_or(AppError::NotFound("organisation"))?;
        let (limit, fetch) = page.by_id()?;
        let rows = self.store.list_users(scope, &fetch).await?;
        Ok(paginate(rows, limit, |u| u.id.to_string(), UserView::from))
    }

    pub async fn get_user(&self, caller: &Caller, id: Uuid) -> AppResult<UserView> {
        let user = self
            .store
            .get_user(id)
            .await?
            .ok_or(AppError::NotFound("person"))?;
        if !policy::can_view_people(caller, user.org_id) {
            return Err(AppError::NotFound("person"));
        }
        Ok(user.into())
    }

    /// The e-mail addresses of the people `ids` names that the caller may see, read in one batch; the others
    /// (not visible, or no such person) are left out. `ids` is a page's worth (an audit page's actors).
    pub async fn people_emails(
        &self,
        caller: &Caller,
        ids: impl IntoIterator<Item = Uuid>,
    ) -> AppResult<HashMap<Uuid, String>> {
        let ids: Vec<Uuid> = ids.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
        Ok(self
            .store
            .get_users(&ids)
            .await?
            .into_iter()
            .filter(|u| policy::can_view_people(caller, u.org_id))
            .map(|u| (u.id, u.email))
            .collect())
    }

    pub async fn set_user_active(&self, caller: &Caller, id: Uuid, active: bool) -> AppResult<UserView> {
        let mut user = self
            .store
            .get_user(id)
            .await?
            .ok_or(AppError::NotFound("person"))?;
        if !policy::can_view_people(caller, user.org_id) {
            return Err(AppError::NotFound("person"));
        }
        if !policy::can_manage_people(caller, user.org_id) {
            return Err(AppError::Forbidden(
                "only organisation admins activate or deactivate people",
            ));
        }
        if user.id == caller.user_id() && !active {
            return Err(AppError::Conflict("you cannot deactivate yourself".into()));
        }
        let action = if active {
            "user.activate"
        } else {
            "user.deactivate"
        };
        let event = self.event(
            caller.into(),
            action,
            "user",
            Some(id),
            json!({"email": user.email}),
        );
        self.store.set_user_active(id, active, &event).await?;
        self.gateway_changed();
        user.active = active;
        Ok(user.into())
    }

    /// Creates a person without a password (they set one through the returned invitation link).
    pub(crate) async fn insert_user(
        &self,
        actor: Actor,
        org: &Organization,
        email: &str,
        name: Option<&str>,
        role: Role,
    ) -> AppResult<User> {
        let email = Email::parse("email", email)?;
        let display_name = match name {
            Some(name) => display_name("display_name", name)?,
            None => email.as_str().split('@').next().unwrap_or_default().to_owned(),
        };
        let user = User {
            id: Uuid::now_v7(),
            org_id: org.id,
            email: email.as_str().into(),
            display_name,
            role,
            password_hash: None,
            active: true,
            created_at: self.clock.now(),
        };
        let event = self.event(
            actor,
            "user.create",
            "user",
            Some(user.id),
            json!({"email": user.email, "role": user.role.as_str()}),
        );
        self.store.create_user(&user, &event).await?;
        Ok(user)
    }
}
