//! Publishing to a peer's collection (`publish_collection_id`): our objects of the collection of the peer's
//! marking — our advisories' objects and what our members posted, never an object pulled from a peer, never
//! one marked more strictly (each marking is its own collection) — added after the push cursor are POSTed to
//! `{api_root}collections/{publish}/objects/` as TAXII envelopes, bounded in objects (`PUSH_OBJECTS`) and
//! bytes (`PUSH_BYTES`) per envelope and envelopes per run (`PUSH_ENVELOPES_PER_RUN`). The peer answers 202
//! with a status resource; a status not yet complete is polled at `{api_root}status/{id}/`, a bounded number
//! of times. The cursor moves past an envelope only once its status is complete: each object then accepted or
//! definitively refused by the peer (refusals are recorded on the peer, beside the success). Anything else —
//! the peer down, 401, 413, an answer that is not a status, a status that never completes — is recorded as
//! the last push error with the cursor unchanged and retried with the pulls' backoff. Calls follow the egress
//! rule, like pulls, and present the same credential.

use super::pull::{
    Claim, REQUEST_TIMEOUT, RunError, TAXII_ACCEPT, client, failure_text, refused_note, run_end,
    with_credential,
};
use crate::{App, AppResult, policy};
use gateway::egress::{self, Egress};
use serde_json::{Value, json};
use store::{PeerRow, PeerRun, PushedEnvelope, StixObjectRow};
use uuid::Uuid;

/// The push of one peer.
pub const PUSH_KIND: &str = "federation.push";
/// Objects per envelope.
pub const PUSH_OBJECTS: usize = 100;
/// Bytes per envelope (one object larger than this goes alone).
pub const PUSH_BYTES: usize = 1024 * 1024;
/// Envelopes per run; more waits for the next run, due at once.
pub const PUSH_ENVELOPES_PER_RUN: usize = 10;
/// Times a status not yet complete is read again.
pub const STATUS_POLLS: u32 = 5;
/// The wait before the first poll, doubled before each next one.
const FIRST_POLL_WAIT: std::time::Duration = std::time::Duration::from_millis(200);
/// The most of a status answer read.
const MAX_STATUS_BYTES: usize = 1024 * 1024;

const TAXII_CONTENT: &str = "application/taxii+json;version=2.1";

/// What one push run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOutcome {
    /// Envelopes the peer completed.
    pub envelopes: usize,
    /// Objects the peer accepted.
    pub accepted: u64,
    /// Objects the peer refused for good, each as `id: message`.
    pub refused: Vec<String>,
    /// Why the run stopped, as recorded on the peer (the cursor stays before the failed envelope).
    pub error: Option<String>,
}

/// A status resource as the peer answered it.
struct Status {
    id: String,
    complete: bool,
    successes: u64,
    failures: Vec<String>,
}

/// Reads a status resource, strictly enough that a hostile answer is an error rather than a moved cursor.
fn status_of(value: &Value) -> Result<Status, String> {
    let bad = || "the peer's answer is not a TAXII status resource".to_owned();
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| {
            !id.is_empty() && id.len() <= 100 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .ok_or_else(bad)?
        .to_owned();
    let complete = match value.get("status").and_then(Value::as_str) {
        Some("complete") => true,
        Some("pending") => false,
        _ => return Err(bad()),
    };
    let count = |key: &str| value.get(key).and_then(Value::as_u64).unwrap_or(0);
    let failures = value
        .get("failures")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .take(10)
                .map(|f| {
                    let text = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("?");
                    let line = format!("{}: {}", text("id"), text("message"));
                    line.chars().take(300).collect::<String>()
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    Ok(Status {
        id,
        complete,
        successes: count("success_count"),
        failures,
    })
}

/// The first objects of `rows` that fit an envelope, with the envelope's body.
fn envelope(rows: &[StixObjectRow]) -> Result<(usize, Vec<u8>), String> {
    let mut objects = Vec::new();
    let mut bytes = 0;
    for row in rows.iter().take(PUSH_OBJECTS) {
        if !objects.is_empty() && bytes + row.body.len() > PUSH_BYTES {
            break;
        }
        let object: Value =
            serde_json::from_str(&row.body).map_err(|_| format!("our object {} is not JSON", row.stix_id))?;
        bytes += row.body.len() + 1;
        objects.push(object);
    }
    let count = objects.len();
    let body = json!({"objects": objects}).to_string().into_bytes();
    Ok((count, body))
}

/// One call to the peer: its status code and (for a 2xx) its body, bounded.
async fn call(request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), String> {
    let answered = tokio::time::timeout(REQUEST_TIMEOUT, async {
        let mut response = request.send().await?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        let mut too_long = false;
        if (200..300).contains(&status) {
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_STATUS_BYTES {
                    too_long = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok::<_, reqwest::Error>((status, body, too_long))
    })
    .await;
    match answered {
        Err(_) => Err(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())),
        Ok(Err(error)) => Err(failure_text(&error.without_url())),
        Ok(Ok((_, _, true))) => Err(format!(
            "the peer's answer is larger than {MAX_STATUS_BYTES} bytes"
        )),
        Ok(Ok((status, body, false))) => Ok((status, body)),
    }
}

fn refused_by_status(status: u16, what: &str) -> String {
    match status {
        401 | 403 => format!("the peer refused our credential ({status})"),
        404 => format!("the peer has no such {what}, or does not let us write to it (404)"),
        413 => "the peer refused the envelope as too large (413)".to_owned(),
        415 | 406 => format!("the peer refused TAXII 2.1 media types ({status})"),
        _ => format!("the peer answered {status}"),
    }
}

impl App {
    /// Publishes to a peer now, whatever its schedule; records the end on the peer. A failure of the peer is
    /// in the outcome (and on the peer); only our own failure is an error.
    pub async fn push_peer(&self, peer_id: Uuid) -> AppResult<PushOutcome> {
        match self
            .push_peer_with(&client(self.egress()), peer_id, Claim::Now)
            .await?
        {
            Some(outcome) => Ok(outcome),
            None => Err(self.refused_claim(peer_id, "push").await),
        }
    }

    /// Publishes to a peer holding its push claim; `None` when the claim is refused.
    pub(crate) async fn push_peer_with(
        &self,
        client: &reqwest::Client,
        peer_id: Uuid,
        claim: Claim,
    ) -> AppResult<Option<PushOutcome>> {
        self.claimed(peer_id, PeerRun::Push, claim, self.push_claimed(client, peer_id))
            .await
    }

    /// A push to a claimed peer: the peer as it is now, read after the claim.
    async fn push_claimed(&self, client: &reqwest::Client, peer_id: Uuid) -> AppResult<PushOutcome> {
        let Some(peer) = self.store.get_peer(peer_id).await? else {
            return Ok(PushOutcome::default());
        };
        let Some(target) = peer.publish_collection_id.clone() else {
            return Ok(PushOutcome::default());
        };
        if !peer.enabled {
            return Ok(PushOutcome::default());
        }
        let mut outcome = PushOutcome::default();
        let result = async {
            let token = self.open_peer_token(&peer)?;
            self.push_envelopes(client, &peer, &target, &token, &mut outcome)
                .await
        }
        .await;
        let refused = refused_note(&outcome.refused, "refused by the peer");
        let end = run_end(
            &peer,
            self.clock.now(),
            result,
            refused,
            peer.push.push_failures,
            "push",
            &mut outcome.error,
        )?;
        self.store.end_push_run(peer.id, &end).await?;
        Ok(outcome)
    }

    /// Posts envelopes until nothing is left or the run's bound; `true` when objects are left.
    async fn push_envelopes(
        &self,
        client: &reqwest::Client,
        peer: &PeerRow,
        target: &str,
        token: &accounts::Secret,
        outcome: &mut PushOutcome,
    ) -> Result<bool, RunError> {
        let egress = self.egress();
        let url = format!("{}collections/{target}/objects/", peer.api_root);
        check_egress(egress, &url)?;
        let mut after = peer.push_cursor.zip(peer.push.push_cursor_id);
        for _ in 0..PUSH_ENVELOPES_PER_RUN {
            let limit = i64::try_from(PUSH_OBJECTS).unwrap_or(100);
            let rows = self
                .store
                .objects_to_push(&policy::peer_audience(), peer.tlp, after, limit)
                .await?;
            let (count, body) = envelope(&rows).map_err(|e| RunError::Ours(crate::AppError::corrupt(e)))?;
            let Some(last) = rows.get(count.saturating_sub(1)).filter(|_| count > 0) else {
                return Ok(false);
            };
            let request = with_credential(
                client
                    .post(&url)
                    .header(reqwest::header::ACCEPT, TAXII_ACCEPT)
                    .header(reqwest::header::CONTENT_TYPE, TAXII_CONTENT)
                    .body(body),
                peer,
                token.expose(),
            );
            let (code, answer) = call(request).await.map_err(RunError::Peer)?;
            if !matches!(code, 200 | 202) {
                return Err(RunError::Peer(refused_by_status(code, "collection")));
            }
            let value: Value = serde_json::from_slice(&answer)
                .map_err(|_| RunError::Peer("the peer's answer is not JSON".into()))?;
            let mut status = status_of(&value).map_err(RunError::Peer)?;
            let mut wait = FIRST_POLL_WAIT;
            let mut polls = 0;
            while !status.complete {
                if polls == STATUS_POLLS {
                    return Err(RunError::Peer(format!(
                        "the peer's status {} was not complete after {STATUS_POLLS} reads",
                        status.id
                    )));
                }
                polls += 1;
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
                let status_url = format!("{}status/{}/", peer.api_root, status.id);
                check_egress(egress, &status_url)?;
                let request = with_credential(
                    client
                        .get(&status_url)
                        .header(reqwest::header::ACCEPT, TAXII_ACCEPT),
                    peer,
                    token.expose(),
                );
                let (code, answer) = call(request).await.map_err(RunError::Peer)?;
                if code != 200 {
                    return Err(RunError::Peer(refused_by_status(code, "status")));
                }
                let value: Value = serde_json::from_slice(&answer)
                    .map_err(|_| RunError::Peer("the peer's status is not JSON".into()))?;
                let next = status_of(&value).map_err(RunError::Peer)?;
                if next.id != status.id {
                    return Err(RunError::Peer("the peer answered another status".into()));
                }
                status = next;
            }
            self.store
                .advance_push(&PushedEnvelope {
                    peer_id: peer.id,
                    to: (last.date_added, last.id),
                    accepted: i64::try_from(status.successes).unwrap_or(i64::MAX),
                })
                .await?;
            outcome.envelopes += 1;
            outcome.accepted += status.successes;
            outcome.refused.extend(status.failures);
            after = Some((last.date_added, last.id));
            if rows.len() < PUSH_OBJECTS && count == rows.len() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn check_egress(egress: Egress, url: &str) -> Result<(), RunError> {
    egress
        .check_url(url)
        .map_err(|_| RunError::Peer(egress::NotPublic.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_read_strictly() {
        let ok = json!({"id": "0193-ab", "status": "complete", "success_count": 2,
                        "failures": [{"id": "x--1", "message": "already stored"}]});
        let s = status_of(&ok).unwrap();
        assert_eq!(
            (s.complete, s.successes, s.failures),
            (true, 2, vec!["x--1: already stored".into()])
        );
        assert!(
            !status_of(&json!({"id": "a", "status": "pending"}))
                .unwrap()
                .complete
        );
        for bad in [
            json!({"status": "complete"}),
            json!({"id": "../../x", "status": "complete"}),
            json!({"id": "a", "status": "done"}),
            json!([]),
        ] {
            assert!(status_of(&bad).is_err(), "{bad}");
        }
    }
}
