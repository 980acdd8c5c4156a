//! Grants: what a gateway token reaches (its holder, assignment, notice and connections, secrets opened), and
//! the in-process cache that keeps the hot path off the database.
//!
//! The cache's entries live `GRANT_TTL` of the injected clock; every time-dependent rule is decided afresh on
//! each call with the clock's now, whatever the cache holds.

use super::connections::open_secrets;
use super::grant_cache::Lookup;
use super::{GatewayKey, internal};
use crate::policy::{self, GatewayGrant};
use crate::{App, AppError, AppResult};
use accounts::{Secret, TokenDigest, TokenKind};
use chrono::{DateTime, Utc};
use gateway::{AgencyLimits, ApiStyle, GatewayError, Limits, ResponseLimits, Retention, Target};
use std::sync::Arc;
use std::time::Duration;
use store::{GatewayToken, ModelConnection, Notice};
use uuid::Uuid;

/// How long a token's grant is trusted before it is read again from the database (time of the injected clock).
pub(super) const GRANT_TTL: chrono::TimeDelta = chrono::TimeDelta::seconds(2);
/// Grants kept in memory before stale ones are swept.
pub(super) const GRANT_CACHE_SWEEP: usize = 10_000;

/// How a grant is found: by the digest of a presented token, or by a token's id. (Not `Debug`: a digest is
/// what the database keeps of a token.)
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) enum GrantKey {
    Digest(String),
    Id(Uuid),
}

/// What a token may reach, as loaded from the database.
pub(super) struct Grant {
    /// The grant epoch read before the grant was (see `grant_cache`).
    pub(super) epoch: i64,
    pub(super) token: GatewayToken,
    holder_active: bool,
    developer_active: bool,
    assigned: bool,
    pub(super) notice: Notice,
    routes: Vec<Arc<Route>>,
}

/// One connection, ready to call.
pub(super) struct Route {
    pub(super) connection_id: Uuid,
    pub(super) model: String,
    pub(super) style: ApiStyle,
    pub(super) limits: Limits,
    pub(super) agency_limits: AgencyLimits,
    pub(super) post_launch_days: u32,
    pub(super) retention: Retention,
    pub(super) target: Target,
}

impl Grant {
    fn facts(&self) -> GatewayGrant<'_> {
        GatewayGrant {
            token: &self.token,
            holder_active: self.holder_active,
            developer_active: self.developer_active,
            assigned: self.assigned,
            notice: &self.notice,
        }
    }

    /// The routes reachable now, or why none is.
    pub(super) fn reachable(&self, now: DateTime<Utc>) -> Result<Vec<&Arc<Route>>, GatewayError> {
        let facts = self.facts();
        if self.routes.is_empty() {
            policy::gateway_access(&facts, 0, now)?;
            return Err(GatewayError::no_connection());
        }
        let mut refusal = None;
        let mut reachable = Vec::new();
        // The most generous connection's refusal is the one to tell.
        let mut routes: Vec<&Arc<Route>> = self.routes.iter().collect();
        routes.sort_by_key(|r| r.post_launch_days);
        for route in routes {
            match policy::gateway_access(&facts, route.post_launch_days, now) {
                Ok(()) => reachable.push(route),
                Err(error) => refusal = Some(error),
            }
        }
        match (reachable.is_empty(), refusal) {
            (true, Some(error)) => Err(error),
            _ => Ok(reachable),
        }
    }

    /// The route to the named model, or why this token cannot take it: the model's own refusal when it exists,
    /// else the token's refusal, else "not found".
    pub(super) fn route(&self, model: &str, now: DateTime<Utc>) -> Result<Arc<Route>, GatewayError> {
        match self.routes.iter().find(|r| r.model == model) {
            Some(route) => {
                policy::gateway_access(&self.facts(), route.post_launch_days, now)?;
                Ok(route.clone())
            }
            None => {
                self.reachable(now)?;
                Err(GatewayError::model_not_found(model))
            }
        }
    }
}

fn limits_of(c: &ModelConnection) -> Limits {
    let n = |v: i64| u32::try_from(v).unwrap_or(1);
    Limits {
        requests_per_minute: n(c.requests_per_minute),
        tokens_per_minute: n(c.tokens_per_minute),
        concurrency: n(c.concurrency),
    }
}

fn agency_limits_of(c: &ModelConnection) -> AgencyLimits {
    let n = |v: Option<i64>| v.map(|v| u32::try_from(v).unwrap_or(1));
    AgencyLimits {
        requests_per_minute: n(c.agency_requests_per_minute),
        tokens_per_minute: n(c.agency_tokens_per_minute),
        concurrency: n(c.agency_concurrency),
    }
}

impl App {
    /// The grant behind a key, from the cache (read again in the background past half its life, see
    /// `grant_cache`) or, when none is within its life, from the database.
    pub(super) async fn gateway_grant(&self, key: &GatewayKey<'_>) -> Result<Arc<Grant>, GatewayError> {
        let key = match key {
            GatewayKey::Presented(token) => {
                let token = token.ok_or_else(GatewayError::missing_key)?;
                if !token.starts_with(TokenKind::Gateway.prefix()) {
                    return Err(GatewayError::invalid_key());
                }
                GrantKey::Digest(TokenDigest::of(&Secret::new(token.to_owned())).0)
            }
            GatewayKey::TokenId(id) => GrantKey::Id(*id),
        };
        self.start_grant_upkeep();
        // The ticket holds the clock's now before the database is asked, so an entry never outlives what was
        // true when it was read.
        let (ticket, stale) = match self.gateway.grants.lookup(&key, self.clock.now()) {
            Lookup::Fresh(grant) => return Ok(grant),
            Lookup::Refresh(grant, ticket) => {
                self.refresh_grant(key, ticket, grant.clone());
                return Ok(grant);
            }
            Lookup::Missing(ticket, stale) => (ticket, stale),
        };
        let grant = self.current_grant(&key, stale).await.map_err(internal)?;
        self.gateway.grants.put(&key, ticket, grant.clone());
        grant.ok_or_else(GatewayError::invalid_key)
    }

    /// The grant under `key` as the database holds it now: `cached` again when the grant epoch has not moved
    /// since it was read (one statement), else read in full.
    pub(super) async fn current_grant(
        &self,
        key: &GrantKey,
        cached: Option<Arc<Grant>>,
    ) -> AppResult<Option<Arc<Grant>>> {
        if let Some(cached) = cached
            && self.store.grant_epoch().await? == cached.epoch
        {
            return Ok(Some(cached));
        }
        Ok(self.load_grant(key).await?.map(Arc::new))
    }

    async fn load_grant(&self, key: &GrantKey) -> AppResult<Option<Grant>> {
        // Read first: a change committed after it moves the epoch, so the grant is read again in full later.
        let epoch = self.store.grant_epoch().await?;
        let token = match key {
            GrantKey::Digest(digest) => self.store.find_gateway_token(digest).await?,
            GrantKey::Id(id) => self.store.get_gateway_token(*id).await?,
        };
        let Some(token) = token else {
            return Ok(None);
        };
        let user = self.store.get_user(token.user_id).await?;
        let org = self.store.get_org(token.org_id).await?;
        let holder_active =
            matches!((&user, &org), (Some(u), Some(o)) if u.active && o.active && u.org_id == o.id);
        let notice = self
            .store
            .get_notice(token.notice_id)
            .await?
            .ok_or(AppError::NotFound("notice"))?;
        let developer_active = self
            .store
            .get_org(notice.developer_org_id)
            .await?
            .is_some_and(|o| o.active);
        let assigned = self
            .store
            .list_assignments(notice.id)
            .await?
            .iter()
            .any(|a| a.user_id == token.user_id);
        let mut routes = Vec::new();
        for connection in self.store.list_connections(notice.id).await? {
            routes.push(Arc::new(self.route_of(&connection)?));
        }
        Ok(Some(Grant {
            epoch,
            token,
            holder_active,
            developer_active,
            assigned,
            notice,
            routes,
        }))
    }

    /// A connection made ready to call, its secrets opened.
    pub(super) fn route_of(&self, c: &ModelConnection) -> AppResult<Route> {
        let secrets = open_secrets(self.gateway.secret_box()?, c)?;
        let style = ApiStyle::parse("api_style", &c.api_style)?;
        // The scrubber is built here, once per connection, and cached with the grant.
        let target = Target::new(
            style,
            c.base_url.clone(),
            c.upstream_model.clone(),
            Secret::new(secrets.credential),
            secrets
                .headers
                .into_iter()
                .map(|(name, value)| (name, Secret::new(value)))
                .collect(),
            Duration::from_secs(u64::try_from(c.timeout_seconds).unwrap_or(60)),
            ResponseLimits::stored(c.max_response_bytes, c.max_event_bytes, c.max_stream_bytes),
        )
        .map_err(|e| AppError::Internal(Box::new(e)))?;
        Ok(Route {
            connection_id: c.id,
            model: c.model.clone(),
            style,
            limits: limits_of(c),
            agency_limits: agency_limits_of(c),
            post_launch_days: u32::try_from(c.post_launch_days).unwrap_or(0),
            retention: Retention::parse("retention", &c.retention)?,
            target,
        })
    }
}
