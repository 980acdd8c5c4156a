//! Delivering one message to one endpoint: the `webhook.deliver` job.
//!
//! Each attempt is signed afresh as Standard Webhooks specifies: `webhook-id` (the message's id, the same on
//! every attempt), `webhook-timestamp` (the attempt's time, unix seconds, from the clock) and
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed by the base64-decoded
//! secret. The body is fixed when the job is queued. The POST has a timeout, follows no redirect, reaches only
//! the addresses the egress rule allows (names are checked as they resolve, so a name cannot be re-pointed
//! inside the operator's network), and reads at most a little of the answer. A 2xx answer is a delivery;
//! anything else is retried with backoff for about a day. Each attempt's log row, the endpoint's failing
//! state and the job's end commit together.

use super::seal_context;
use crate::App;
use crate::jobs::{Completion, JobError, JobHandler, JobRequest, RetryPolicy};
use crate::outbound::LazyClient;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use gateway::egress::{self, Egress};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use store::{Job, JobOutcome, JobResult, WebhookAttempt, WebhookDelivery, WebhookEndpoint};
use uuid::Uuid;

/// The job kind.
pub const DELIVER_KIND: &str = "webhook.deliver";
/// The event type of a test delivery.
pub const PING: &str = "ping";
/// How long an attempt may take, connection to the end of what is read of the answer, unless the service's
/// `Config::webhook_timeout` says otherwise.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// The most of an answer read (and then dropped): receivers need only say 2xx. Reading stops at the first
/// piece that reaches it, and the connection is closed.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;
/// An endpoint whose attempts have all failed for this long is disabled.
pub const DISABLE_AFTER: Duration = Duration::hours(24);
/// Retries: 30 s doubling to an hour, 40 attempts: more than a day even with the jitter's cut.
const RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 40,
    base: Duration::seconds(30),
    cap: Duration::hours(1),
};

/// A delivery job's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverJob {
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub message_id: String,
    pub event_type: String,
    /// The exact body sent (and signed): `{"type", "timestamp", "data"}`.
    pub body: String,
    /// A test delivery: sent even to a disabled endpoint, and not retried.
    #[serde(default)]
    pub ping: bool,
}

impl DeliverJob {
    pub fn request(&self) -> JobRequest {
        let payload = serde_json::to_value(self).unwrap_or(Value::Null);
        // A test event is sent once: its outcome is for the person who asked, now.
        JobRequest::new(DELIVER_KIND, payload)
            .attempts(if self.ping { 1 } else { RETRY.max_attempts })
            .priority(if self.ping { 1 } else { 0 })
            .key(format!("webhook:{}:{}", self.endpoint_id, self.event_id))
    }
}

/// The job delivering event `event_id` (of type `event_type`, at `at`) to `endpoint`.
pub(super) fn job(
    endpoint: &WebhookEndpoint,
    event_type: &str,
    event_id: Uuid,
    at: DateTime<Utc>,
    data: Value,
    ping: bool,
) -> DeliverJob {
    let body = json!({
        "type": event_type,
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    });
    DeliverJob {
        endpoint_id: endpoint.id,
        event_id,
        message_id: format!("msg_{}", event_id.simple()),
        event_type: event_type.to_owned(),
        body: body.to_string(),
        ping,
    }
}

/// The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed by the
/// secret's decoded bytes. `None` when the secret is not `whsec_` + base64.
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(super::SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The handler; its HTTP client is built on first use with the operator's egress rule.
pub(super) struct Deliver {
    client: LazyClient,
}

impl Default for Deliver {
    fn default() -> Self {
        Deliver {
            client: LazyClient::new("Prelaunch-Webhooks/1"),
        }
    }
}

/// What one POST came to.
struct Answer {
    status: Option<u16>,
    error: Option<String>,
}

impl Deliver {
    async fn post(
        &self,
        egress: Egress,
        timeout: std::time::Duration,
        url: &str,
        job: &DeliverJob,
        timestamp: i64,
        signature: &str,
    ) -> Answer {
        if egress.check_url(url).is_err() {
            return Answer {
                status: None,
                error: Some(egress::NotPublic.to_string()),
            };
        }
        let request = self
            .client
            .get(egress)
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &job.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(job.body.clone());
        let sent = tokio::time::timeout(timeout, async {
            let mut response = request.send().await?;
            let status = response.status().as_u16();
            // Read a little of the answer, so the connection can be reused; never more.
            let mut read = 0;
            while read < MAX_ANSWER_BYTES {
                match response.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    _ => break,
                }
            }
            Ok::<u16, reqwest::Error>(status)
        })
        .await;
        match sent {
            Ok(Ok(status)) => Answer {
                status: Some(status),
                error: (!(200..300).contains(&status)).then(|| format!("the receiver answered {status}")),
            },
            Err(_) => Answer {
                status: None,
                error: Some(no_answer_within(timeout)),
            },
            Ok(Err(error)) => {
                let error = error.without_url();
                let text = if error.is_timeout() {
                    no_answer_within(timeout)
                } else if egress::is_refusal(&error) {
                    egress::NotPublic.to_string()
                } else if error.is_connect() {
                    "could not connect to the receiver".to_owned()
                } else {
                    "the connection to the receiver failed".to_owned()
                };
                Answer {
                    status: None,
                    error: Some(text),
                }
            }
        }
    }
}

/// "no answer within 15 s" (or "… 250 ms" for a timeout shorter than a whole second's multiple).
fn no_answer_within(timeout: std::time::Duration) -> String {
    if timeout.subsec_millis() == 0 {
        format!("no answer within {} s", timeout.as_secs())
    } else {
        format!("no answer within {} ms", timeout.as_millis())
    }
}

#[async_trait]
impl JobHandler for Deliver {
    fn retry_policy(&self) -> RetryPolicy {
        RETRY
    }

    async fn run(&self, app: &App, job: &Job) -> Result<Completion, JobError> {
        let payload: DeliverJob = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::permanent(format!("malformed webhook job: {e}")))?;
        let Some(endpoint) = app.store.get_webhook(payload.endpoint_id).await? else {
            // Deleted since: nothing to deliver.
            return Ok(Completion::done());
        };
        if !endpoint.enabled && !payload.ping {
            return Ok(Completion::done());
        }
        let sealer = app
            .gateway
            .sealer()
            .ok_or_else(|| JobError::retry("no master key to open the webhook's secret with"))?;
        let secret = sealer
            .open(&seal_context(endpoint.id), &endpoint.sealed_secret)
            .map_err(|e| JobError::retry(e.to_string()))?;
        let secret =
            String::from_utf8(secret).map_err(|_| JobError::permanent("the webhook's secret is damaged"))?;
        let now = app.clock.now();
        let timestamp = now.timestamp();
        let signature = sign(&secret, &payload.message_id, timestamp, &payload.body)
            .ok_or_else(|| JobError::permanent("the webhook's secret is damaged"))?;
        drop(secret);

        let egress = app.egress();
        let started = std::time::Instant::now();
        let answer = self
            .post(
                egress,
                app.config.webhook_timeout,
                &endpoint.url,
                &payload,
                timestamp,
                &signature,
            )
            .await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let delivered = answer.error.is_none();
        let delivery = WebhookDelivery {
            id: Uuid::now_v7(),
            endpoint_id: endpoint.id,
            message_id: payload.message_id.clone(),
            event_type: payload.event_type.clone(),
            attempt: job.attempts,
            status_code: answer.status.map(i32::from),
            latency_ms,
            error: answer.error.clone(),
            delivered,
            at: now,
        };
        let error_text = answer.error.clone().unwrap_or_default();
        let result = if delivered {
            JobResult::Done { then: &[] }
        } else if job.attempts >= job.max_attempts {
            JobResult::Failed { error: &error_text }
        } else {
            JobResult::Retry {
                error: &error_text,
                retry_at: now + RETRY.backoff(job.id, job.attempts),
            }
        };
        // Failing for a day (this attempt included): disable, and tell the organisation's admins.
        let failing_since = endpoint.failing_since.unwrap_or(now);
        let disable = !delivered && endpoint.enabled && now - failing_since >= DISABLE_AFTER;
        let reason = format!(
            "deliveries failed for more than {} hours (since {})",
            DISABLE_AFTER.num_hours(),
            failing_since.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
        let event = super::auto_disable_event(app, &endpoint, failing_since, &error_text);
        let outcome = job.lease_owner.as_deref().map(|owner| JobOutcome {
            id: job.id,
            owner,
            now,
            result,
        });
        app.store
            .record_webhook_attempt(&WebhookAttempt {
                delivery: &delivery,
                job: outcome.as_ref(),
                disable: disable.then_some((reason.as_str(), &event)),
            })
            .await?;
        if disable {
            tracing::warn!(webhook = %endpoint.id, org = %endpoint.org_id, "disabled a webhook endpoint failing for a day");
            app.notify_soon(&event).await;
        }
        match (outcome, delivered) {
            (Some(_), _) => Ok(Completion::Finished),
            (None, true) => Ok(Completion::done()),
            (None, false) => Err(JobError::retry(error_text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification's reference test suite.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, 1_614_265_330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id, 1, body), None);
        assert_eq!(sign("whsec_!!!", id, 1, body), None);
    }

    #[test]
    fn retries_span_more_than_a_day() {
        let id = Uuid::now_v7();
        let total: i64 = (1..RETRY.max_attempts)
            .map(|n| RETRY.backoff(id, n).num_seconds())
            .sum();
        assert!(total > DISABLE_AFTER.num_seconds(), "{total} s");
    }
}
