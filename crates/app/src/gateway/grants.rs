//! Grants: what a gateway token reaches (its holder, assignment, notice and connections, secrets opened), and
//! the in-process cache that keeps the hot path off the database.
//!
//! The cache's entries live `GRANT_TTL` of the injected clock; every time-dependent rule is decided afresh on
//! each call with the clock's now, whatever the cache holds.

use super::connections::open_secrets;
use super::{GatewayKey, internal};
use crate::policy::{self, GatewayGrant};
use crate::{App, AppError, AppResult, Clock};
use accounts::{Secret, TokenDigest, TokenKind};
use chrono::{DateTime, Utc};
use gateway::{AgencyLimits, ApiStyle, GatewayError, Limits, ResponseLimits, Retention, Target};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{GatewayToken, ModelConnection, Notice};
use uuid::Uuid;

/// How long a token's grant is trusted before it is read again from the database (time of the injected clock).
pub(super) const GRANT_TTL: chrono::TimeDelta = chrono::TimeDelta::seconds(2);
/// Grants kept in memory before stale ones are swept.
const GRANT_CACHE_SWEEP: usize = 10_000;

/// How a grant is found: by the digest of a presented token, or by a token's id. (Not `Debug`: a digest is
/// what the database keeps of a token.)
#[derive(Clone, PartialEq, Eq, Hash)]
enum GrantKey {
    Digest(String),
    Id(Uuid),
}

/// A grant and when (by the clock) it was read.
type Cached<G> = (DateTime<Utc>, Arc<G>);

/// Grants read lately, each with when (by the injected clock) it was read. (Generic only so that its tests
/// can keep something simpler than a grant.)
pub(super) struct GrantCache<G = Grant> {
    grants: Mutex<HashMap<GrantKey, Cached<G>>>,
}

impl<G> Default for GrantCache<G> {
    fn default() -> Self {
        GrantCache {
            grants: Mutex::new(HashMap::new()),
        }
    }
}

impl<G> GrantCache<G> {
    /// Forgets every grant, after a change that may withdraw access.
    pub(super) fn clear(&self) {
        self.grants.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The grant under `key`, if it was read less than `GRANT_TTL` ago by `clock`.
    fn get(&self, key: &GrantKey, clock: &dyn Clock) -> Option<Arc<G>> {
        let now = clock.now();
        let grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        let (at, grant) = grants.get(key)?;
        (now - *at < GRANT_TTL).then(|| grant.clone())
    }

    fn put(&self, key: GrantKey, grant: Arc<G>, read_at: DateTime<Utc>) {
        let mut grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        if grants.len() >= GRANT_CACHE_SWEEP {
            grants.retain(|_, (at, _)| read_at - *at < GRANT_TTL);
        }
        grants.insert(key, (read_at, grant));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.grants.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// What a token may reach, as loaded from the database.
pub(super) struct Grant {
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
    /// The grant behind a key, from the cache or the database.
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
        if let Some(grant) = self.gateway.grants.get(&key, self.clock.as_ref()) {
            return Ok(grant);
        }
        // Read before the database is asked, so an entry never outlives what was true when it was read.
        let read_at = self.clock.now();
        let grant = self.load_grant(&key).await.map_err(internal)?;
        let grant = Arc::new(grant.ok_or_else(GatewayError::invalid_key)?);
        self.gateway.grants.put(key, grant.clone(), read_at);
        Ok(grant)
    }

    async fn load_grant(&self, key: &GrantKey) -> AppResult<Option<Grant>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use chrono::TimeDelta;

    fn start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn a_grant_is_kept_for_its_ttl_of_the_injected_clock_and_no_longer() {
        let clock = ManualClock::new(start());
        let cache = GrantCache::<&str>::default();
        let key = GrantKey::Id(Uuid::nil());
        assert!(cache.get(&key, &clock).is_none(), "nothing read yet");
        cache.put(key.clone(), Arc::new("grant"), clock.now());
        // Table: how far the clock has moved since the read → whether the cached grant is used.
        let cases = [
            (TimeDelta::zero(), true),
            (TimeDelta::milliseconds(1_999), true),
            (GRANT_TTL, false),
            (TimeDelta::hours(1), false),
        ];
        for (moved, kept) in cases {
            clock.set(start() + moved);
            assert_eq!(cache.get(&key, &clock).is_some(), kept, "after {moved}");
        }
        // The wall clock plays no part: a clock set back makes the entry fresh again.
        clock.set(start());
        assert_eq!(cache.get(&key, &clock).as_deref(), Some(&"grant"));
        cache.clear();
        assert!(cache.get(&key, &clock).is_none(), "cleared");
    }

    #[test]
    fn a_full_cache_sweeps_the_grants_expired_by_the_clock() {
        let clock = ManualClock::new(start());
        let cache = GrantCache::<u32>::default();
        let at = |n: u128| GrantKey::Id(Uuid::from_u128(n));
        for n in 0..GRANT_CACHE_SWEEP {
            cache.put(at(n as u128), Arc::new(0), clock.now());
        }
        clock.advance(GRANT_TTL);
        cache.put(GrantKey::Digest("fresh".into()), Arc::new(1), clock.now());
        assert_eq!(cache.len(), 1, "the stale grants went");
        assert!(cache.get(&GrantKey::Digest("fresh".into()), &clock).is_some());
    }
}
