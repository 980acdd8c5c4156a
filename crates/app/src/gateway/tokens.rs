//! Gateway tokens: issued by an assigned evaluator for one notice, shown once, listed and revoked by who may;
//! and the models a notice's tokens reach, by their names at the gateway.

use crate::page::{PageRequest, Paged, paginate};
use crate::policy::{self, GatewayScope};
use crate::{App, AppError, AppResult, Caller};
use accounts::secret::{self, visible_prefix};
use accounts::{Secret, TokenDigest, TokenKind};
use chrono::{DateTime, Utc};
use review::ValidationError;
use serde::Serialize;
use serde_json::json;
use store::{GatewayToken, Notice, Page};
use uuid::Uuid;

/// The longest a gateway token may live.
pub const MAX_GATEWAY_TOKEN_DAYS: i64 = 366;

/// A model as evaluators reach it: its name at the gateway and the API style it is called in.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayModel {
    pub name: String,
    pub api_style: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GatewayTokenView {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<GatewayToken> for GatewayTokenView {
    fn from(t: GatewayToken) -> Self {
        GatewayTokenView {
            id: t.id,
            notice_id: t.notice_id,
            user_id: t.user_id,
            org_id: t.org_id,
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

impl App {
    /// Issues a gateway token to the calling evaluator for one notice. The token is returned once.
    pub async fn create_gateway_token(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        name: &str,
        expires_in_days: Option<i64>,
    ) -> AppResult<(GatewayTokenView, Secret)> {
        let (notice, _) = self.visible_notice(caller, notice_id).await?;
        if !policy::can_issue_gateway_token(caller, self.is_assigned(caller, notice_id).await?) {
            return Err(AppError::Forbidden(
                "only evaluators assigned to this notice issue gateway tokens for it",
            ));
        }
        Self::check_not_withdrawn(&notice)?;
        let name = review::validate::title("name", name)?;
        if let Some(days) = expires_in_days
            && !(1..=MAX_GATEWAY_TOKEN_DAYS).contains(&days)
        {
            return Err(ValidationError::new(
                "expires_in_days",
                format!("must be between 1 and {MAX_GATEWAY_TOKEN_DAYS}"),
            )
            .into());
        }
        let token = secret::generate(TokenKind::Gateway);
        let now = self.clock.now();
        let row = GatewayToken {
            id: Uuid::now_v7(),
            notice_id,
            user_id: caller.user_id(),
            org_id: caller.org_id(),
            name,
            prefix: visible_prefix(&token),
            created_at: now,
            expires_at: expires_in_days.map(|days| now + chrono::Duration::days(days)),
            revoked_at: None,
        };
        let event = self.event(
            caller.into(),
            "gateway_token.create",
            "gateway_token",
            Some(row.id),
            json!({"notice": notice_id, "user": row.user_id, "name": row.name, "expires_at": row.expires_at}),
        );
        self.store
            .create_gateway_token(&row, &TokenDigest::of(&token).0, &event)
            .await?;
        Ok((row.into(), token))
    }

    pub(super) async fn gateway_scope(
        &self,
        caller: &Caller,
        notice_id: Uuid,
    ) -> AppResult<(Notice, GatewayScope)> {
        let (notice, _) = self.visible_notice(caller, notice_id).await?;
        let scope = policy::gateway_scope(caller, &notice).ok_or(AppError::NotFound("notice"))?;
        Ok((notice, scope))
    }

    /// A notice's gateway tokens: the developer sees all, an agency admin their agency's, an evaluator their own.
    pub async fn list_gateway_tokens(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<GatewayTokenView>> {
        let (_, scope) = self.gateway_scope(caller, notice_id).await?;
        let (org_id, user_id) = scope.filter();
        let limit = page.limit()?;
        self.settle_calls().await;
        let after = page.after(|s| s.parse::<Uuid>().ok())?;
        let rows = self
            .store
            .list_gateway_tokens(
                notice_id,
                org_id,
                user_id,
                &Page {
                    after,
                    limit: limit + 1,
                },
            )
            .await?;
        Ok(paginate(
            rows,
            limit,
            |t| t.id.to_string(),
            GatewayTokenView::from,
        ))
    }

    pub async fn revoke_gateway_token(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        id: Uuid,
    ) -> AppResult<GatewayTokenView> {
        let (_, scope) = self.gateway_scope(caller, notice_id).await?;
        let (org_id, user_id) = scope.filter();
        let token = self.store.get_gateway_token(id).await?.filter(|t| {
            t.notice_id == notice_id
                && org_id.is_none_or(|o| o == t.org_id)
                && user_id.is_none_or(|u| u == t.user_id)
        });
        let mut token = token.ok_or(AppError::NotFound("gateway token"))?;
        if !policy::can_revoke_gateway_token(caller, &token) {
            return Err(AppError::Forbidden(
                "only the token's holder or their agency's admins revoke it",
            ));
        }
        if token.revoked_at.is_some() {
            return Err(AppError::Conflict("the gateway token is already revoked".into()));
        }
        let now = self.clock.now();
        let event = self.event(
            caller.into(),
            "gateway_token.revoke",
            "gateway_token",
            Some(id),
            json!({"notice": notice_id, "user": token.user_id, "name": token.name}),
        );
        self.store.revoke_gateway_token(id, now, &event).await?;
        self.gateway_changed();
        token.revoked_at = Some(now);
        Ok(token.into())
    }

    /// The names a notice's models have at the gateway and the style to call each in, for anyone with a part
    /// in its gateway: what an evaluator configures a client with. Never the upstream's address or model id.
    pub async fn gateway_models_of(&self, caller: &Caller, notice_id: Uuid) -> AppResult<Vec<GatewayModel>> {
        self.gateway_scope(caller, notice_id).await?;
        let rows = self.store.list_connections(notice_id).await?;
        Ok(rows
            .into_iter()
            .map(|c| GatewayModel {
                name: c.model,
                api_style: c.api_style,
            })
            .collect())
    }
}
