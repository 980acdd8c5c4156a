//! Federation between clearinghouses over TAXII 2.1. A coordinator registers a peer clearinghouse: its API
//! root, the collection we follow, a credential (an API token, as Bearer or as HTTP Basic's password), the
//! marking its objects get here at the least, how often it is pulled, and optionally a collection of the peer
//! we publish to. The credential is sealed under the master key (bound to the peer's id) and never shown,
//! logged or put in an event. The peer's URL follows the egress rule of the gateway and webhooks
//! (`gateway::egress`): public addresses only unless the operator allows private ones.
//!
//! Pulling (`pull.rs`) is a job per due peer; imported vulnerabilities and indicators become reports through
//! intake (`intake.rs`, the path posted objects take), so they are deduplicated like every other report.
//! Publishing (`push.rs`) is a job per due peer with a publish collection: our objects of the peer's marking
//! posted to it as TAXII envelopes, the cursor moving past what the peer completed.

mod intake;
mod pull;
mod push;

pub use pull::{MAX_PAGE_BYTES, MAX_PAGES_PER_RUN, PAGE_LIMIT, PULL_KIND, PullOutcome, SCHEDULE_KIND};
pub use push::{PUSH_BYTES, PUSH_ENVELOPES_PER_RUN, PUSH_KIND, PUSH_OBJECTS, PushOutcome, STATUS_POLLS};

use crate::page::{PageRequest, Paged, paginate};
use crate::{Actor, App, AppError, AppResult, Caller, policy};
use accounts::Secret;
use chrono::{DateTime, Duration, Utc};
use clearinghouse::tlp::Tlp;
use gateway::egress::Egress;
use review::ValidationError;
use serde::Serialize;
use serde_json::json;
use store::PeerRow;
use uuid::Uuid;

/// The most peers one clearinghouse registers.
pub const MAX_PEERS: usize = 100;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_URL_CHARS: usize = 2_000;
pub const MAX_TOKEN_CHARS: usize = 1_000;
pub const MAX_USERNAME_CHARS: usize = 200;
/// The shortest and longest interval between pulls.
pub const MIN_INTERVAL_SECONDS: i64 = 60;
pub const MAX_INTERVAL_SECONDS: i64 = 7 * 24 * 3600;

/// The jobs of federation: the schedule that queues a pull for each due peer, and the pull.
pub fn register(registry: crate::jobs::Registry) -> crate::jobs::Registry {
    registry
        .handle(SCHEDULE_KIND, pull::Schedule)
        .handle(PULL_KIND, pull::PeerJob::pull())
        .handle(PUSH_KIND, pull::PeerJob::push())
        .every(SCHEDULE_KIND, Duration::minutes(1))
}

/// The sealing context of a peer's credential.
pub(crate) fn seal_context(id: Uuid) -> String {
    format!("federation_peer:{id}")
}

/// A peer as coordinators see it. Never the credential (not even the user name of HTTP Basic).
#[derive(Debug, Clone, Serialize)]
pub struct PeerView {
    pub id: Uuid,
    pub name: String,
    pub api_root: String,
    pub collection_id: String,
    /// `bearer` or `basic`: how the credential is presented.
    pub auth: &'static str,
    pub tlp: Tlp,
    pub interval_seconds: i64,
    pub enabled: bool,
    pub publish_collection_id: Option<String>,
    /// The peer's `X-TAXII-Date-Added-Last` of the last page committed here.
    pub pull_cursor: Option<String>,
    pub pulled_objects: i64,
    pub next_run_at: DateTime<Utc>,
    pub failures: i32,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// While a pull of the peer runs (a "pull now" is then refused): the latest it may hold the peer.
    pub pull_under_way_until: Option<DateTime<Utc>>,
    /// Publishing: the date added (ours) of the last object the peer completed, how many it accepted, and
    /// the state of the push runs (as for pulls).
    pub push_cursor: Option<DateTime<Utc>>,
    pub pushed_objects: i64,
    pub push_next_run_at: Option<DateTime<Utc>>,
    pub push_failures: i32,
    pub push_last_success_at: Option<DateTime<Utc>>,
    pub push_last_error: Option<String>,
    pub push_last_error_at: Option<DateTime<Utc>>,
    /// While a push to the peer runs: the latest it may hold the peer.
    pub push_under_way_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PeerView {
    /// The peer as it stands at `now` (a run's claim that has lapsed shows as none).
    fn at(p: PeerRow, now: DateTime<Utc>) -> Self {
        PeerView {
            id: p.id,
            name: p.name,
            api_root: p.api_root,
            collection_id: p.collection_id,
            auth: if p.username.is_some() { "basic" } else { "bearer" },
            tlp: p.tlp,
            interval_seconds: p.interval_seconds,
            enabled: p.enabled,
            publish_collection_id: p.publish_collection_id,
            pull_cursor: p.pull_cursor,
            pulled_objects: p.pulled_objects,
            next_run_at: p.next_run_at,
            failures: p.failures,
            last_success_at: p.last_success_at,
            last_error: p.last_error,
            last_error_at: p.last_error_at,
            pull_under_way_until: held(p.claimed_until, now),
            push_cursor: p.push_cursor,
            pushed_objects: p.push.pushed_objects,
            push_next_run_at: p.push.push_next_run_at,
            push_failures: p.push.push_failures,
            push_last_success_at: p.push.push_last_success_at,
            push_last_error: p.push.push_last_error,
            push_last_error_at: p.push.push_last_error_at,
            push_under_way_until: held(p.push.push_claimed_until, now),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A run's claim on a peer while it holds (`None` once it has lapsed or was given back).
fn held(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    until.filter(|until| *until > now)
}

/// A new peer as a coordinator gives it. Deliberately not `Debug`: it holds the token.
pub struct NewPeer {
    pub name: String,
    pub api_root: String,
    pub collection_id: String,
    pub token: Secret,
    /// HTTP Basic's user name; absent sends the token as Bearer.
    pub username: Option<String>,
    pub tlp: String,
    pub interval_seconds: i64,
    pub enabled: bool,
    pub publish_collection_id: Option<String>,
}

/// A change to a peer; absent parts are kept. A new token (and user name) replaces the credential. Not `Debug`.
#[derive(Default)]
pub struct PeerChange {
    pub name: Option<String>,
    pub api_root: Option<String>,
    pub collection_id: Option<String>,
    pub token: Option<Secret>,
    /// `Some(None)` switches to Bearer.
    pub username: Option<Option<String>>,
    pub tlp: Option<String>,
    pub interval_seconds: Option<i64>,
    pub enabled: Option<bool>,
    /// `Some(None)` stops publishing.
    pub publish_collection_id: Option<Option<String>>,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid(ValidationError::new(field, message))
}

/// A TAXII API root: `https://` (or `http://` when the operator allows private addresses), a host, no
/// credentials, query or fragment, at most `MAX_URL_CHARS`; an IP literal must be one the egress rule allows
/// (names are checked as they resolve, at each call). Kept with a trailing `/`.
pub fn check_api_root(field: &str, value: &str, egress: Egress) -> AppResult<String> {
    let value = value.trim();
    if value.len() > MAX_URL_CHARS {
        return Err(invalid(
            field,
            format!("must be at most {MAX_URL_CHARS} characters"),
        ));
    }
    let url = reqwest::Url::parse(value).map_err(|_| invalid(field, "must be an https:// URL"))?;
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => egress == Egress::Any,
        _ => false,
    };
    if !scheme_ok || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(field, "must be an https:// URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            field,
            "must not carry credentials; give them as token and username",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(field, "must not have a query or a fragment"));
    }
    if egress.check_url(value).is_err() {
        return Err(invalid(
            field,
            "must be at a public address; this server calls public addresses only",
        ));
    }
    let mut text = url.to_string();
    if !text.ends_with('/') {
        text.push('/');
    }
    Ok(text)
}

/// A TAXII collection id: a UUID.
fn check_collection(field: &str, value: &str) -> AppResult<String> {
    Uuid::parse_str(value.trim())
        .map(|id| id.to_string())
        .map_err(|_| invalid(field, "must be a TAXII collection id (a UUID)"))
}

fn check_token(token: &Secret) -> AppResult<()> {
    let t = token.expose();
    if t.is_empty() || t.len() > MAX_TOKEN_CHARS || t.chars().any(|c| c.is_control() || c == ' ') {
        return Err(invalid(
            "token",
            format!("must be 1 to {MAX_TOKEN_CHARS} characters without spaces"),
        ));
    }
    Ok(())
}

fn check_username(value: Option<String>) -> AppResult<Option<String>> {
    value
        .map(|u| {
            if u.is_empty()
                || u.len() > MAX_USERNAME_CHARS
                || u.contains(':')
                || u.chars().any(char::is_control)
            {
                Err(invalid(
                    "username",
                    format!("must be 1 to {MAX_USERNAME_CHARS} characters without a colon"),
                ))
            } else {
                Ok(u)
            }
        })
        .transpose()
}

fn check_interval(seconds: i64) -> AppResult<i64> {
    if (MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(invalid(
            "interval_seconds",
            format!("must be between {MIN_INTERVAL_SECONDS} and {MAX_INTERVAL_SECONDS}"),
        ))
    }
}

/// The host of an API root, for events (never the path, which may name a tenant).
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

impl App {
    fn require_federation(caller: &Caller) -> AppResult<()> {
        if policy::can_manage_federation(caller) {
            Ok(())
        } else {
            Err(AppError::Forbidden("only coordinators manage federation peers"))
        }
    }

    /// A peer, for a coordinator; anyone else gets 403 first.
    async fn managed_peer(&self, caller: &Caller, id: Uuid) -> AppResult<PeerRow> {
        Self::require_federation(caller)?;
        self.store
            .get_peer(id)
            .await?
            .ok_or(AppError::NotFound("federation peer"))
    }

    fn seal_token(&self, id: Uuid, token: &Secret) -> AppResult<Vec<u8>> {
        let Some(sealer) = self.gateway.sealer() else {
            return Err(AppError::Conflict(
                "the server was started without a master key; federation peers need one to keep their \
                 credentials"
                    .into(),
            ));
        };
        Ok(sealer.seal(&seal_context(id), token.expose().as_bytes()))
    }

    pub async fn create_peer(&self, caller: &Caller, input: NewPeer) -> AppResult<PeerView> {
        Self::require_federation(caller)?;
        let name = kernel::validate::line("name", &input.name, MAX_NAME_CHARS)?;
        let api_root = check_api_root("api_root", &input.api_root, self.egress())?;
        let collection_id = check_collection("collection_id", &input.collection_id)?;
        check_token(&input.token)?;
        let username = check_username(input.username)?;
        let tlp = Tlp::parse(&input.tlp).map_err(|e| invalid("tlp", e.to_string()))?;
        let interval_seconds = check_interval(input.interval_seconds)?;
        let publish_collection_id = input
            .publish_collection_id
            .map(|c| check_collection("publish_collection_id", &c))
            .transpose()?;
        let existing = self
            .store
            .list_peers(&store::Page::first(i64::try_from(MAX_PEERS).unwrap_or(100)))
            .await?;
        if existing.len() >= MAX_PEERS {
            return Err(AppError::Conflict(format!(
                "at most {MAX_PEERS} federation peers may be registered"
            )));
        }
        let id = Uuid::now_v7();
        let now = self.clock.now();
        let peer = PeerRow {
            id,
            name,
            api_root,
            collection_id,
            username,
            sealed_secret: self.seal_token(id, &input.token)?,
            tlp,
            interval_seconds,
            enabled: input.enabled,
            publish_collection_id,
            pull_cursor: None,
            push_cursor: None,
            next_run_at: now,
            failures: 0,
            pulled_objects: 0,
            last_success_at: None,
            last_error: None,
            last_error_at: None,
            claimed_until: None,
            created_by: caller.user_id(),
            created_at: now,
            updated_at: now,
            push: store::PushState::default(),
        };
        let event = self.event(
            Actor::from(caller),
            "federation_peer.create",
            "federation_peer",
            Some(id),
            json!({
                "name": peer.name,
                "host": host_of(&peer.api_root),
                "collection_id": peer.collection_id,
                "tlp": peer.tlp.as_str(),
                "enabled": peer.enabled,
            }),
        );
        self.store.create_peer(&peer, &event).await?;
        Ok(PeerView::at(peer, now))
    }

    pub async fn list_peers(&self, caller: &Caller, page: &PageRequest) -> AppResult<Paged<PeerView>> {
        Self::require_federation(caller)?;
        let (limit, fetch) = page.by_id()?;
        let rows = self.store.list_peers(&fetch).await?;
        let now = self.clock.now();
        Ok(paginate(
            rows,
            limit,
            |p| p.id.to_string(),
            |p| PeerView::at(p, now),
        ))
    }

    pub async fn get_peer(&self, caller: &Caller, id: Uuid) -> AppResult<PeerView> {
        let peer = self.managed_peer(caller, id).await?;
        Ok(PeerView::at(peer, self.clock.now()))
    }

    pub async fn update_peer(&self, caller: &Caller, id: Uuid, change: PeerChange) -> AppResult<PeerView> {
        let mut peer = self.managed_peer(caller, id).await?;
        let mut changed = Vec::new();
        if let Some(name) = change.name {
            peer.name = kernel::validate::line("name", &name, MAX_NAME_CHARS)?;
            changed.push("name");
        }
        if let Some(api_root) = change.api_root {
            peer.api_root = check_api_root("api_root", &api_root, self.egress())?;
            changed.push("api_root");
        }
        if let Some(collection) = change.collection_id {
            let collection = check_collection("collection_id", &collection)?;
            if collection != peer.collection_id {
                // Another collection: follow it from its start.
                peer.pull_cursor = None;
            }
            peer.collection_id = collection;
            changed.push("collection_id");
        }
        if let Some(username) = change.username {
            peer.username = check_username(username)?;
            changed.push("credential");
        }
        if let Some(token) = change.token {
            check_token(&token)?;
            peer.sealed_secret = self.seal_token(id, &token)?;
            if !changed.contains(&"credential") {
                changed.push("credential");
            }
        }
        if let Some(tlp) = change.tlp {
            peer.tlp = Tlp::parse(&tlp).map_err(|e| invalid("tlp", e.to_string()))?;
            changed.push("tlp");
        }
        if let Some(seconds) = change.interval_seconds {
            peer.interval_seconds = check_interval(seconds)?;
            changed.push("interval_seconds");
        }
        if let Some(publish) = change.publish_collection_id {
            peer.publish_collection_id = publish
                .map(|c| check_collection("publish_collection_id", &c))
                .transpose()?;
            changed.push("publish_collection_id");
        }
        let now = self.clock.now();
        if let Some(enabled) = change.enabled {
            if enabled && !peer.enabled {
                // A fresh start: due now, the backoff forgotten.
                peer.next_run_at = now;
                peer.failures = 0;
            }
            peer.enabled = enabled;
            changed.push("enabled");
        }
        peer.updated_at = now;
        let event = self.event(
            Actor::from(caller),
            "federation_peer.update",
            "federation_peer",
            Some(id),
            json!({
                "changed": changed,
                "host": host_of(&peer.api_root),
                "collection_id": peer.collection_id,
                "tlp": peer.tlp.as_str(),
                "enabled": peer.enabled,
            }),
        );
        self.store.update_peer(&peer, &event).await?;
        Ok(PeerView::at(peer, now))
    }

    pub async fn delete_peer(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        let peer = self.managed_peer(caller, id).await?;
        let event = self.event(
            Actor::from(caller),
            "federation_peer.delete",
            "federation_peer",
            Some(id),
            json!({"name": peer.name, "host": host_of(&peer.api_root)}),
        );
        self.store.delete_peer(id, &event).await?;
        Ok(())
    }

    /// Queues a pull of the peer now (a coordinator's "pull now"); returns at once. Refused while a pull
    /// holds the peer: the queued one would find it held and do nothing.
    pub async fn queue_peer_pull(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        let peer = self.managed_peer(caller, id).await?;
        let now = self.clock.now();
        if let Some(until) = held(peer.claimed_until, now) {
            return Err(AppError::Conflict(format!(
                "a pull of this peer is under way (it holds the peer until {} at the latest); its outcome will \
                 show on the peer",
                until.format("%Y-%m-%dT%H:%M:%SZ")
            )));
        }
        self.enqueue(vec![pull::job(PULL_KIND, &peer, now, pull::Claim::Now)])
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_roots_follow_the_egress_rule_and_keep_a_trailing_slash() {
        let cases = [
            (
                "https://peer.example/taxii2/api",
                Egress::PublicOnly,
                Some("https://peer.example/taxii2/api/"),
            ),
            (
                "https://peer.example/api/",
                Egress::PublicOnly,
                Some("https://peer.example/api/"),
            ),
            ("http://peer.example/api/", Egress::PublicOnly, None),
            ("http://127.0.0.1:9000/taxii2/api/", Egress::PublicOnly, None),
            (
                "http://127.0.0.1:9000/taxii2/api/",
                Egress::Any,
                Some("http://127.0.0.1:9000/taxii2/api/"),
            ),
            ("https://user:pw@peer.example/api/", Egress::PublicOnly, None),
            ("https://peer.example/api/?x=1", Egress::PublicOnly, None),
            ("ftp://peer.example/api/", Egress::Any, None),
            ("not a url", Egress::Any, None),
        ];
        for (url, egress, expected) in cases {
            let got = check_api_root("api_root", url, egress).ok();
            assert_eq!(got.as_deref(), expected, "{url} {egress:?}");
        }
    }

    #[test]
    fn peer_settings_name_the_field_they_get_wrong() {
        assert!(check_collection("collection_id", "nope").is_err());
        assert!(check_collection("collection_id", &Uuid::nil().to_string()).is_ok());
        assert!(check_interval(59).is_err());
        assert!(check_interval(MAX_INTERVAL_SECONDS + 1).is_err());
        assert!(check_interval(3600).is_ok());
        assert!(check_username(Some("a:b".into())).is_err());
        assert!(check_token(&Secret::new(String::new())).is_err());
        assert!(check_token(&Secret::new("has space".into())).is_err());
        assert!(check_token(&Secret::new("tok_abc".into())).is_ok());
    }
}
