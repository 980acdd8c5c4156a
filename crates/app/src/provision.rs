//! What the operator does from the command line and what the first start does: create the clearinghouse
//! and its first administrator, organisations, people and tokens. These act as the operator, outside any
//! person's permissions, so they are reachable only from the binary, never from HTTP.

use crate::identity::{OrgView, UserView};
use crate::{Actor, App, AppError, AppResult};
use accounts::{OrgKind, Role, Secret};
use store::{Organization, Page};

const CLEARINGHOUSE_NAME: &str = "Clearinghouse";

impl App {
    /// On an empty database: creates the clearinghouse and a one-time setup link for its first administrator.
    /// Returns the link only to the process that created it; it is never shown again.
    pub async fn bootstrap(&self) -> AppResult<Option<Secret>> {
        if self.store.count_orgs().await? > 0 {
            return Ok(None);
        }
        let org = match self
            .insert_org(Actor::Operator, OrgKind::Clearinghouse, CLEARINGHOUSE_NAME)
            .await
        {
            Ok(org) => org,
            // Another process started at the same moment and won.
            Err(AppError::Conflict(_)) => return Ok(None),
            Err(other) => return Err(other),
        };
        let issued = self
            .issue_invitation(Actor::Operator, org.id, None, Role::Admin, None)
            .await?;
        let link = issued.link.expose().replace("/invitations/", "/setup/");
        Ok(Some(Secret::new(link)))
    }

    async fn clearinghouse(&self) -> AppResult<Organization> {
        let mut after = None;
        loop {
            let page = self.store.list_orgs(&Page { after, limit: 200 }).await?;
            if let Some(org) = page.iter().find(|o| o.kind == OrgKind::Clearinghouse) {
                return Ok(org.clone());
            }
            match page.last() {
                Some(last) if page.len() == 200 => after = Some(last.id),
                _ => break,
            }
        }
        self.insert_org(Actor::Operator, OrgKind::Clearinghouse, CLEARINGHOUSE_NAME)
            .await
    }

    /// `prelaunch admin init`: the first program administrator and an API token for scripting. Refused once
    /// the clearinghouse has an active administrator.
    pub async fn init_admin(&self, email: &str) -> AppResult<(UserView, Secret)> {
        let org = self.clearinghouse().await?;
        if self.store.count_admins(org.id).await? > 0 {
            return Err(AppError::Conflict(
                "the clearinghouse already has an administrator".into(),
            ));
        }
        let user = self
            .insert_user(Actor::Operator, &org, email, None, Role::Admin)
            .await?;
        let (_, token) = self
            .issue_token(Actor::Operator, &user, "initial administrator token", None)
            .await?;
        Ok((user.into(), token))
    }

    /// `prelaunch admin org create`.
    pub async fn provision_org(&self, kind: &str, name: &str) -> AppResult<OrgView> {
        let kind = OrgKind::parse("kind", kind)?;
        Ok(self.insert_org(Actor::Operator, kind, name).await?.into())
    }

    /// `prelaunch admin user create`: the person and a one-time link to set their password.
    pub async fn provision_user(
        &self,
        org_name: &str,
        email: &str,
        role: &str,
    ) -> AppResult<(UserView, Secret)> {
        let org = self
            .store
            .find_org_by_name(org_name)
            .await?
            .ok_or(AppError::NotFound("organisation"))?;
        let role = Role::parse("role", role)?;
        let user = self.insert_user(Actor::Operator, &org, email, None, role).await?;
        let issued = self
            .issue_invitation(Actor::Operator, org.id, None, role, Some(user.id))
            .await?;
        Ok((user.into(), issued.link))
    }

    /// `prelaunch admin token create`.
    pub async fn provision_token(&self, email: &str, expires_in_days: Option<i64>) -> AppResult<Secret> {
        let email = accounts::Email::parse("email", email)?;
        let user = self
            .store
            .find_user_by_email(email.as_str())
            .await?
            .ok_or(AppError::NotFound("person"))?;
        if !user.active {
            return Err(AppError::Conflict("the person is deactivated".into()));
        }
        let (_, token) = self
            .issue_token(Actor::Operator, &user, "command-line token", expires_in_days)
            .await?;
        Ok(token)
    }
}
