//! Webhooks: organisation admins register HTTPS endpoints and the kinds of notification each receives; every
//! event is delivered to each subscribed endpoint by a `webhook.deliver` job, signed as Standard Webhooks
//! specifies (`deliver.rs`), retried with backoff for about a day and logged attempt by attempt. An endpoint
//! whose attempts have failed for a whole day is disabled, and an event says so to its organisation's admins.
//!
//! The signing secret (`whsec_` + base64 of 32 random bytes) is shown once, in the answer to the creation, and
//! kept sealed under the master key. Endpoint URLs follow the gateway's egress rule (`gateway::egress`):
//! public addresses only unless the operator allows private upstreams, checked when saved and when called.

mod deliver;

pub use deliver::{DELIVER_KIND, DeliverJob, MAX_ANSWER_BYTES, PING, TIMEOUT, sign};

use crate::notifications::NotificationKind;
use crate::page::{PageRequest, Paged, paginate};
use crate::{Actor, App, AppError, AppResult, Caller, policy};
use accounts::Secret;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use gateway::egress::Egress;
use rand::RngCore;
use review::ValidationError;
use serde::Serialize;
use serde_json::{Value, json};
use store::{Json, WebhookDelivery, WebhookEndpoint};
use uuid::Uuid;

/// The most endpoints one organisation may register.
pub const MAX_ENDPOINTS_PER_ORG: i64 = 100;
/// The longest URL accepted.
pub const MAX_URL_CHARS: usize = 2_000;
/// The longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// What the secret's text begins with.
pub const SECRET_PREFIX: &str = "whsec_";

/// The jobs a worker needs to deliver webhooks.
pub fn register(registry: crate::jobs::Registry) -> crate::jobs::Registry {
    registry.handle(DELIVER_KIND, deliver::Deliver::default())
}

/// An endpoint as its organisation's admins see it. Never the secret.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why it was disabled by the service (failing), if it was.
    pub disabled_reason: Option<String>,
    /// Since when its deliveries have been failing, if they are.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<WebhookEndpoint> for WebhookView {
    fn from(e: WebhookEndpoint) -> Self {
        WebhookView {
            id: e.id,
            org_id: e.org_id,
            url: e.url,
            description: e.description,
            events: e.events.0,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// A new endpoint and its signing secret, which is shown this once. Deliberately not `Debug`.
#[derive(Serialize)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub endpoint: WebhookView,
    /// `whsec_…`: what the receiver verifies signatures with.
    pub secret: String,
}

/// A delivery attempt as the log shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    pub id: Uuid,
    pub message_id: String,
    pub event_type: String,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub delivered: bool,
    pub at: DateTime<Utc>,
}

impl From<WebhookDelivery> for DeliveryView {
    fn from(d: WebhookDelivery) -> Self {
        DeliveryView {
            id: d.id,
            message_id: d.message_id,
            event_type: d.event_type,
            attempt: d.attempt,
            status_code: d.status_code,
            latency_ms: d.latency_ms,
            error: d.error,
            delivered: d.delivered,
            at: d.at,
        }
    }
}

/// What a caller sends to create an endpoint.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
}

/// A change to an endpoint; absent parts are kept.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// A webhook URL: `https://` (or `http://` when the operator allows private upstreams, for local receivers),
/// a host, no credentials or fragment, at most `MAX_URL_CHARS`; an IP literal must be one the egress rule
/// allows (names are checked when they resolve, at each delivery).
pub fn check_url(field: &str, value: &str, egress: Egress) -> Result<String, ValidationError> {
    let value = value.trim();
    if value.len() > MAX_URL_CHARS {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_URL_CHARS} characters"),
        ));
    }
    let url =
        reqwest::Url::parse(value).map_err(|_| ValidationError::new(field, "must be an https:// URL"))?;
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => egress == Egress::Any,
        _ => false,
    };
    if !scheme_ok || url.host_str().is_none_or(str::is_empty) {
        return Err(ValidationError::new(field, "must be an https:// URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ValidationError::new(field, "must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(ValidationError::new(field, "must not have a fragment"));
    }
    if egress.check_url(value).is_err() {
        return Err(ValidationError::new(
            field,
            "must be at a public address; this server delivers to public addresses only",
        ));
    }
    Ok(value.to_owned())
}

/// A non-empty list of notification kinds' names, each known; kept sorted without repeats.
pub fn check_events(field: &str, events: &[String]) -> Result<Vec<String>, ValidationError> {
    if events.is_empty() {
        return Err(ValidationError::new(
            field,
            "must name at least one kind of event",
        ));
    }
    if events.len() > NotificationKind::ALL.len() * 2 {
        return Err(ValidationError::new(field, "names too many kinds"));
    }
    let mut kinds = Vec::new();
    for name in events {
        let kind = NotificationKind::parse(name).ok_or_else(|| {
            let known: Vec<&str> = NotificationKind::ALL.iter().map(|k| k.as_str()).collect();
            ValidationError::new(
                field,
                format!(
                    "{name:?} is not a kind of event; the kinds are {}",
                    known.join(", ")
                ),
            )
        })?;
        kinds.push(kind);
    }
    kinds.sort();
    kinds.dedup();
    Ok(kinds.into_iter().map(|k| k.as_str().to_owned()).collect())
}

fn check_description(value: Option<String>) -> Result<String, ValidationError> {
    let value = value.unwrap_or_default().trim().to_owned();
    if value.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ValidationError::new(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(ValidationError::new(
            "description",
            "must not hold control characters",
        ));
    }
    Ok(value)
}

/// The sealing context of an endpoint's secret.
pub(crate) fn seal_context(id: Uuid) -> String {
    format!("webhook:{id}")
}

/// A new secret's text: `whsec_` and the base64 of 32 random bytes.
fn new_secret() -> Secret {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    Secret::new(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
}

/// The URL's host, for audit events (the path may hold the receiver's own token).
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The event of an endpoint disabled for failing: about its organisation, whose admins read it (and are
/// notified of it), naming the endpoint.
fn auto_disable_event(
    app: &App,
    endpoint: &WebhookEndpoint,
    failing_since: DateTime<Utc>,
    last_error: &str,
) -> store::AuditEvent {
    app.event(
        Actor::Operator,
        "webhook.auto_disable",
        "organization",
        Some(endpoint.org_id),
        json!({
            "webhook_id": endpoint.id,
            "host": host_of(&endpoint.url),
            "failing_since": failing_since,
            "last_error": last_error,
        }),
    )
}

impl App {
    pub(crate) fn egress(&self) -> Egress {
        if self.config.allow_private_upstreams {
            Egress::Any
        } else {
            Egress::PublicOnly
        }
    }

    /// An endpoint the caller manages; anything else reads as absent.
    async fn managed_webhook(&self, caller: &Caller, id: Uuid) -> AppResult<WebhookEndpoint> {
        match self.store.get_webhook(id).await? {
            Some(e) if policy::can_manage_webhooks(caller, e.org_id) => Ok(e),
            _ => Err(AppError::NotFound("webhook endpoint")),
        }
    }

    fn require_webhook_admin(caller: &Caller) -> AppResult<()> {
        if policy::can_manage_webhooks(caller, caller.org_id()) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "only an organisation's admins manage its webhooks",
            ))
        }
    }

    pub async fn create_webhook(&self, caller: &Caller, input: NewWebhook) -> AppResult<CreatedWebhook> {
        Self::require_webhook_admin(caller)?;
        let url = check_url("url", &input.url, self.egress())?;
        let events = check_events("events", &input.events)?;
        let description = check_description(input.description)?;
        let Some(sealer) = self.gateway.sealer() else {
            return Err(AppError::Conflict(
                "the server was started without a master key; webhook endpoints need one to keep their \
                 signing secrets"
                    .into(),
            ));
        };
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let secret = new_secret();
        let endpoint = WebhookEndpoint {
            id,
            org_id: caller.org_id(),
            url,
            description,
            events: Json(events),
            enabled: true,
            sealed_secret: sealer.seal(&seal_context(id), secret.expose().as_bytes()),
            failing_since: None,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
        };
        let event = self.event(
            Actor::from(caller),
            "webhook.create",
            "webhook",
            Some(id),
            json!({"host": host_of(&endpoint.url), "events": endpoint.events.0}),
        );
        if !self
            .store
            .create_webhook(&endpoint, MAX_ENDPOINTS_PER_ORG, &event)
            .await?
        {
            return Err(AppError::Conflict(format!(
                "an organisation may register at most {MAX_ENDPOINTS_PER_ORG} webhook endpoints"
            )));
        }
        Ok(CreatedWebhook {
            endpoint: endpoint.into(),
            secret: secret.expose().to_owned(),
        })
    }

    pub async fn list_webhooks(&self, caller: &Caller, page: &PageRequest) -> AppResult<Paged<WebhookView>> {
        Self::require_webhook_admin(caller)?;
        let (limit, fetch) = page.by_id()?;
        let rows = self.store.list_webhooks(caller.org_id(), &fetch).await?;
        Ok(paginate(rows, limit, |e| e.id.to_string(), WebhookView::from))
    }

    pub async fn get_webhook(&self, caller: &Caller, id: Uuid) -> AppResult<WebhookView> {
        Ok(self.managed_webhook(caller, id).await?.into())
    }

    pub async fn update_webhook(
        &self,
        caller: &Caller,
        id: Uuid,
        change: WebhookChange,
    ) -> AppResult<WebhookView> {
        let mut endpoint = self.managed_webhook(caller, id).await?;
        let mut changed = Vec::new();
        if let Some(url) = change.url {
            endpoint.url = check_url("url", &url, self.egress())?;
            changed.push("url");
        }
        if let Some(events) = change.events {
            endpoint.events = Json(check_events("events", &events)?);
            changed.push("events");
        }
        if change.description.is_some() {
            endpoint.description = check_description(change.description)?;
            changed.push("description");
        }
        if let Some(enabled) = change.enabled {
            if enabled && !endpoint.enabled {
                // A fresh start: the day of failures counts again from the next failure.
                endpoint.failing_since = None;
                endpoint.disabled_reason = None;
            }
            endpoint.enabled = enabled;
            changed.push("enabled");
        }
        endpoint.updated_at = self.clock.now();
        let event = self.event(
            Actor::from(caller),
            "webhook.update",
            "webhook",
            Some(id),
            json!({"changed": changed, "enabled": endpoint.enabled, "events": endpoint.events.0}),
        );
        self.store.update_webhook(&endpoint, &event).await?;
        Ok(endpoint.into())
    }

    pub async fn delete_webhook(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        let endpoint = self.managed_webhook(caller, id).await?;
        let event = self.event(
            Actor::from(caller),
            "webhook.delete",
            "webhook",
            Some(id),
            json!({"host": host_of(&endpoint.url)}),
        );
        self.store.delete_webhook(id, &event).await?;
        Ok(())
    }

    pub async fn list_webhook_deliveries(
        &self,
        caller: &Caller,
        id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<DeliveryView>> {
        self.managed_webhook(caller, id).await?;
        let (limit, fetch) = page.by_id()?;
        let rows = self.store.list_webhook_deliveries(id, &fetch).await?;
        Ok(paginate(rows, limit, |d| d.id.to_string(), DeliveryView::from))
    }

    /// Queues a `ping` to the endpoint, one attempt (enabled or not, so that a fixed receiver can be tried
    /// before it is enabled again); returns the message's id.
    pub async fn ping_webhook(&self, caller: &Caller, id: Uuid) -> AppResult<String> {
        let endpoint = self.managed_webhook(caller, id).await?;
        let event_id = Uuid::now_v7();
        let job = deliver::job(
            &endpoint,
            PING,
            event_id,
            self.clock.now(),
            json!({"webhook_id": endpoint.id}),
            true,
        );
        let message_id = job.message_id.clone();
        self.enqueue(vec![job.request()]).await?;
        Ok(message_id)
    }
}

/// Queues the delivery of one event to every enabled endpoint of these organisations subscribed to `kind`:
/// one `webhook.deliver` job per endpoint, keyed by event and endpoint so that calling this twice for one
/// event delivers once. Which organisations may know of the event is the caller's decision.
pub async fn fan_out(
    app: &App,
    org_ids: &[Uuid],
    kind: NotificationKind,
    event_id: Uuid,
    data: Value,
) -> AppResult<()> {
    let jobs = fan_out_jobs(app, org_ids, kind, event_id, data).await?;
    if !jobs.is_empty() {
        app.store.enqueue_jobs(&jobs).await?;
    }
    Ok(())
}

/// The delivery jobs of `fan_out`, for a caller that enqueues them in its own transaction (the outbox).
pub async fn fan_out_jobs(
    app: &App,
    org_ids: &[Uuid],
    kind: NotificationKind,
    event_id: Uuid,
    data: Value,
) -> AppResult<Vec<store::NewJob>> {
    if org_ids.is_empty() {
        return Ok(Vec::new());
    }
    let endpoints = app.store.enabled_webhooks(org_ids).await?;
    let now = app.clock.now();
    Ok(endpoints
        .iter()
        .filter(|e| e.events.0.iter().any(|k| k == kind.as_str()))
        .map(|e| {
            deliver::job(e, kind.as_str(), event_id, now, data.clone(), false)
                .request()
                .into_new_job(now)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_egress_rule() {
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        // (url, allowed by default, allowed with private upstreams)
        let cases: &[(&str, bool, bool)] = &[
            ("https://hooks.example.com/in", true, true),
            ("https://hooks.example.com/in?token=1", true, true),
            ("https://8.8.8.8/in", true, true),
            ("http://hooks.example.com/in", false, true),
            ("http://127.0.0.1:9000/in", false, true),
            ("https://127.0.0.1/in", false, true),
            ("https://10.1.2.3/in", false, true),
            ("https://169.254.169.254/latest", false, true),
            ("https://[::1]/in", false, true),
            ("https://[::ffff:192.168.0.1]/in", false, true),
            ("https://user:pw@hooks.example.com/in", false, false),
            ("https://user@hooks.example.com/in", false, false),
            ("https://hooks.example.com/in#x", false, false),
            ("ftp://hooks.example.com/in", false, false),
            ("file:///etc/passwd", false, false),
            ("hooks.example.com", false, false),
            ("", false, false),
            (&long, false, false),
        ];
        for (url, public, any) in cases {
            assert_eq!(
                check_url("url", url, Egress::PublicOnly).is_ok(),
                *public,
                "{url}"
            );
            assert_eq!(check_url("url", url, Egress::Any).is_ok(), *any, "{url}");
        }
    }

    #[test]
    fn events_are_known_kinds_at_least_one() {
        // Kinds by their constants: this file's literals are read for the event kinds it writes.
        let (shared, finding) = (
            NotificationKind::NoticeShared.as_str(),
            NotificationKind::FindingCreated.as_str(),
        );
        let ok = check_events("events", &[finding.into(), shared.into(), finding.into()]);
        assert_eq!(ok.unwrap(), vec![shared, finding]);
        assert!(check_events("events", &[]).is_err());
        assert!(check_events("events", &["ping".into()]).is_err());
        assert!(check_events("events", &["notice.*".into()]).is_err());
    }

    #[test]
    fn secrets_are_whsec_and_32_bytes() {
        let secret = new_secret();
        let text = secret.expose().strip_prefix(SECRET_PREFIX).unwrap();
        assert_eq!(STANDARD.decode(text).unwrap().len(), 32);
        assert_ne!(new_secret().expose(), secret.expose());
    }
}
