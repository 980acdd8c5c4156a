//! Pulling a peer's collection: `GET {api_root}collections/{id}/objects/?added_after=<cursor>&limit=…`,
//! following `next`, bounded in pages per run (`MAX_PAGES_PER_RUN`), bytes per page (`MAX_PAGE_BYTES`, read
//! as it streams), bytes per object and time per request (`REQUEST_TIMEOUT`). A page is checked whole before
//! anything of it is written: every object a STIX 2.1 object with a well-formed id and a version; one bad
//! object refuses the page. A page's objects and the cursor (the peer's `X-TAXII-Date-Added-Last`) commit in
//! one transaction, so a failed run leaves every page before it written and nothing of the failed one; a
//! re-pull of a version already stored changes nothing. The marking an object gets here is the more
//! restrictive of the peer's setting and the object's own TLP 2.0 marking; its markings stay in its body.
//!
//! After the pages, the pulled vulnerabilities and indicators not yet filed go to intake (`intake.rs`). How a
//! run ended is recorded on the peer: the last success, or the last error with a backoff (the interval
//! doubled per failure in a row, at most a day). Calls follow the egress rule, with no redirects and no proxy.

use crate::jobs::{Completion, JobError, JobHandler, JobRequest};
use crate::outbound::{self, LazyClient};
use crate::{App, AppError, AppResult, Caller};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, DurationRound, Utc};
use clearinghouse::tlp::Tlp;
use clearinghouse::{stix, stix_import};
use gateway::egress::{self, Egress};
use serde_json::{Value, json};
use store::{Job, PeerRow, PeerRun, PeerRunEnd, PulledPage, StixObjectRow};
use uuid::Uuid;

/// The recurring job that queues a pull of every due peer.
pub const SCHEDULE_KIND: &str = "federation.schedule";
/// The pull of one peer.
pub const PULL_KIND: &str = "federation.pull";
/// Objects asked for per page.
pub const PAGE_LIMIT: usize = 100;
/// Pages read per run; a collection with more continues at the next run, due at once.
pub const MAX_PAGES_PER_RUN: usize = 20;
/// The most of one page's answer read; a longer answer is refused whole.
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// How long one request may take, connecting to the end of its answer.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// The longest `next` token or date header taken from a peer.
const MAX_TOKEN_CHARS: usize = 1_000;
/// Pulled objects filed as reports per run.
const INTAKE_PER_RUN: i64 = 200;
/// Peers queued per schedule run.
const DUE_PER_RUN: i64 = 100;
/// The longest wait after failures in a row.
const MAX_BACKOFF_SECONDS: i64 = 24 * 3600;

pub(super) const TAXII_ACCEPT: &str = "application/taxii+json;version=2.1";

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullOutcome {
    /// Pages committed.
    pub pages: usize,
    /// Objects new here.
    pub new_objects: u64,
    /// Reports filed through intake.
    pub reports: u64,
    /// Why the run stopped early, as recorded on the peer.
    pub error: Option<String>,
    /// The objects refused (not valid STIX 2.1 as a post is checked), each with its problems; recorded on the
    /// peer as its last error of a run that otherwise succeeded.
    pub refused: Vec<String>,
}

/// The job of `kind` (`PULL_KIND` or `PUSH_KIND`) for `peer`, queued for `at` (one per peer, kind and due
/// time, however many schedulers run), claiming the peer as `claim` says when it runs.
pub(crate) fn job(kind: &str, peer: &PeerRow, at: DateTime<Utc>, claim: Claim) -> JobRequest {
    JobRequest::new(kind, json!({"peer_id": peer.id, "if_due": claim == Claim::IfDue}))
        .attempts(3)
        .key(format!("{kind}:{}:{}", peer.id, at.timestamp_millis()))
}

/// How long a run holds its peer's claim at most: longer than the longest run (every request of a push at its
/// timeout), so that only a run that died holding it (a killed process) lets it run out.
const CLAIM_HOURS: i64 = 1;

/// How a run claims its peer (`App::claimed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// A scheduled run: only while the peer is still due, so that a run queued before another one ended
    /// does nothing.
    IfDue,
    /// A run asked for now ("pull now", `pull_peer`): whatever the schedule.
    Now,
}

pub(crate) struct Schedule;

#[async_trait]
impl JobHandler for Schedule {
    async fn run(&self, app: &App, _job: &Job) -> Result<Completion, JobError> {
        let now = app.clock.now();
        let due = app.store.due_peers(now, DUE_PER_RUN).await?;
        let mut jobs: Vec<JobRequest> = due
            .iter()
            .map(|p| job(PULL_KIND, p, p.next_run_at, Claim::IfDue))
            .collect();
        for p in app.store.due_pushes(now, DUE_PER_RUN).await? {
            let at = p.push.push_next_run_at.unwrap_or(now);
            jobs.push(job(super::PUSH_KIND, &p, at, Claim::IfDue));
        }
        if !jobs.is_empty() {
            app.enqueue(jobs).await?;
        }
        Ok(Completion::done())
    }
}

/// The `User-Agent` of federation's calls.
const USER_AGENT: &str = "Prelaunch-Federation/1";

/// What a peer job does: pull from the peer, or push to it.
#[derive(Debug, Clone, Copy)]
enum Direction {
    Pull,
    Push,
}

/// The handler of the pull and the push jobs, for the peer their payload names; its HTTP client is built on
/// first use with the operator's egress rule.
pub(crate) struct PeerJob {
    direction: Direction,
    client: LazyClient,
}

impl PeerJob {
    pub(crate) const fn pull() -> Self {
        PeerJob {
            direction: Direction::Pull,
            client: LazyClient::new(USER_AGENT),
        }
    }

    pub(crate) const fn push() -> Self {
        PeerJob {
            direction: Direction::Push,
            client: LazyClient::new(USER_AGENT),
        }
    }
}

#[async_trait]
impl JobHandler for PeerJob {
    async fn run(&self, app: &App, job: &Job) -> Result<Completion, JobError> {
        let peer_id = job
            .payload
            .get("peer_id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| JobError::permanent("malformed federation job"))?;
        let claim = if job.payload.get("if_due").and_then(Value::as_bool) == Some(true) {
            Claim::IfDue
        } else {
            Claim::Now
        };
        let client = self.client.get(app.egress());
        let ran = match self.direction {
            Direction::Pull => app.pull_peer_with(client, peer_id, claim).await?.is_some(),
            Direction::Push => app.push_peer_with(client, peer_id, claim).await?.is_some(),
        };
        if !ran {
            tracing::debug!(peer = %peer_id, direction = ?self.direction, "federation run skipped: another run holds the peer, or it is no longer due");
        }
        Ok(Completion::done())
    }
}

/// The client federation calls peers with: the egress rule at every resolution, no redirects, no proxy.
pub(super) fn client(egress: Egress) -> reqwest::Client {
    outbound::client(egress, USER_AGENT)
}

/// One page as the peer answered it.
struct Fetched {
    objects: Vec<Value>,
    more: bool,
    next: Option<String>,
    date_added_last: Option<String>,
}

/// A peer's failure, as recorded on it (never a credential: messages are ours, built from statuses).
type PeerResult<T> = Result<T, String>;

fn to_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::milliseconds(1)).unwrap_or(at)
}

/// The wait after `failures` failed runs in a row: the interval doubled per failure, at most a day.
pub(crate) fn backoff(interval_seconds: i64, failures: i32) -> Duration {
    let exponent = u32::try_from(failures.clamp(0, 20)).unwrap_or(20);
    let seconds = interval_seconds
        .max(1)
        .saturating_mul(2_i64.saturating_pow(exponent))
        .min(MAX_BACKOFF_SECONDS);
    Duration::seconds(seconds)
}

/// A request with the peer's credential: HTTP Basic with the user name, else Bearer.
pub(super) fn with_credential(
    request: reqwest::RequestBuilder,
    peer: &PeerRow,
    token: &str,
) -> reqwest::RequestBuilder {
    match &peer.username {
        Some(user) => request.header(
            reqwest::header::AUTHORIZATION,
            format!("Basic {}", STANDARD.encode(format!("{user}:{token}"))),
        ),
        None => request.header(reqwest::header::AUTHORIZATION, format!("Bearer {token}")),
    }
}

/// What a failed call is recorded as (ours, never the peer's words or a URL).
pub(super) fn failure_text(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
    } else if egress::is_refusal(error) {
        egress::NotPublic.to_string()
    } else if error.is_connect() {
        "could not connect to the peer".to_owned()
    } else {
        "the connection to the peer failed".to_owned()
    }
}

async fn fetch(
    client: &reqwest::Client,
    egress: Egress,
    peer: &PeerRow,
    token: &str,
    added_after: Option<&str>,
    next: Option<&str>,
) -> PeerResult<Fetched> {
    let base = format!("{}collections/{}/objects/", peer.api_root, peer.collection_id);
    if egress.check_url(&base).is_err() {
        return Err(egress::NotPublic.to_string());
    }
    let mut url = reqwest::Url::parse(&base).map_err(|_| "the peer's API root is not a URL".to_owned())?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("limit", &PAGE_LIMIT.to_string());
        if let Some(after) = added_after {
            query.append_pair("added_after", after);
        }
        if let Some(next) = next {
            query.append_pair("next", next);
        }
    }
    let request = with_credential(
        client.get(url).header(reqwest::header::ACCEPT, TAXII_ACCEPT),
        peer,
        token,
    );
    let answered = tokio::time::timeout(REQUEST_TIMEOUT, async {
        let mut response = request.send().await?;
        let status = response.status().as_u16();
        let header = response
            .headers()
            .get("x-taxii-date-added-last")
            .map(|v| v.to_str().map(str::to_owned));
        let mut body = Vec::new();
        let mut too_long = false;
        if (200..300).contains(&status) {
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_PAGE_BYTES {
                    too_long = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok::<_, reqwest::Error>((status, header, body, too_long))
    })
    .await;
    let (status, header, body, too_long) = match answered {
        Err(_) => return Err(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())),
        Ok(Err(error)) => return Err(failure_text(&error.without_url())),
        Ok(Ok(answer)) => answer,
    };
    match status {
        200 => {}
        401 | 403 => return Err(format!("the peer refused our credential ({status})")),
        404 => return Err("the peer has no such collection, or does not let us read it (404)".to_owned()),
        _ => return Err(format!("the peer answered {status}")),
    }
    if too_long {
        return Err(format!("the peer's page is larger than {MAX_PAGE_BYTES} bytes"));
    }
    let date_added_last = match header {
        None => None,
        Some(Ok(text)) if text.len() <= MAX_TOKEN_CHARS && DateTime::parse_from_rfc3339(&text).is_ok() => {
            Some(text)
        }
        Some(_) => return Err("the peer's X-TAXII-Date-Added-Last is not a timestamp".to_owned()),
    };
    let envelope: Value =
        serde_json::from_slice(&body).map_err(|e| format!("the peer's answer is not JSON: {e}"))?;
    let Value::Object(mut envelope) = envelope else {
        return Err("the peer's answer is not a TAXII envelope".to_owned());
    };
    let objects = match envelope.remove("objects") {
        None => Vec::new(),
        Some(Value::Array(objects)) => objects,
        Some(_) => return Err("the peer's envelope has objects that are not a list".to_owned()),
    };
    let more = match envelope.get("more") {
        None => false,
        Some(Value::Bool(more)) => *more,
        Some(_) => return Err("the peer's envelope has a more that is not true or false".to_owned()),
    };
    let next = match envelope.get("next") {
        None | Some(Value::Null) => None,
        Some(Value::String(next)) if !next.is_empty() && next.len() <= MAX_TOKEN_CHARS => Some(next.clone()),
        Some(_) => return Err("the peer's envelope has an unusable next".to_owned()),
    };
    Ok(Fetched {
        objects,
        more,
        next,
        date_added_last,
    })
}

/// The most characters of the refused objects' problems recorded on the peer.
const MAX_REFUSED_CHARS: usize = 2_000;

/// A pulled object as a row, checked as a posted object is (`stix_import::check_object`): its own id, type and
/// version, the marking it gets here, dated now, and `true` when it goes to intake. `Ok(None)` for the official
/// TLP marking definitions (known everywhere, never stored); `Err` names the object's problems (the object is
/// refused, the page is not).
fn object_row(
    index: usize,
    value: &Value,
    floor: Tlp,
    now: DateTime<Utc>,
) -> Result<Option<(StixObjectRow, bool)>, String> {
    let checked = stix_import::check_object(index, value).map_err(|problems| {
        let mut text = format!("the peer's object {index} was refused:");
        for p in problems.iter().take(3) {
            text.push(' ');
            text.push_str(&p.to_string());
            text.push(';');
        }
        text.pop();
        text
    })?;
    if checked.stix_type == "marking-definition" {
        return Ok(None);
    }
    let tlp = checked.tlp.map_or(floor, |own| own.max(floor));
    let intake = matches!(checked.stix_type.as_str(), "vulnerability" | "indicator");
    let row = StixObjectRow {
        id: Uuid::now_v7(),
        tlp,
        stix_id: checked.id,
        stix_type: checked.stix_type,
        spec_version: "2.1".to_owned(),
        version: stix::version_key(checked.version),
        date_added: to_millis(now),
        body: checked.object.to_string(),
        added_org: None,
        added_by: None,
        advisory_id: None,
        case_id: None,
        report_id: None,
    };
    Ok(Some((row, intake)))
}

/// What the refused objects of a run are recorded as on the peer: how many, and the first ones' problems.
pub(super) fn refused_note(refused: &[String], how: &str) -> Option<String> {
    if refused.is_empty() {
        return None;
    }
    let text = format!(
        "{} object(s) {how}; {}",
        refused.len(),
        refused.iter().take(3).cloned().collect::<Vec<_>>().join(" | ")
    );
    Some(text.chars().take(MAX_REFUSED_CHARS).collect())
}

/// How a run of `peer` ended, as recorded on it: a success (`Ok(more_left)`) with its `refused` note, due again
/// at once when the peer has more, else after its interval; the peer's failure, due again after the backoff
/// for `failures` failed runs in a row before this one, also kept in `error` for the outcome. Our own failure
/// is the answer, and nothing is recorded.
pub(super) fn run_end(
    peer: &PeerRow,
    now: DateTime<Utc>,
    result: Result<bool, RunError>,
    refused: Option<String>,
    failures: i32,
    run: &str,
    error_out: &mut Option<String>,
) -> AppResult<PeerRunEnd> {
    match result {
        Ok(more_left) => Ok(PeerRunEnd::Success {
            at: now,
            refused,
            next_run_at: if more_left {
                now
            } else {
                now + Duration::seconds(peer.interval_seconds)
            },
        }),
        Err(RunError::Peer(error)) => {
            tracing::warn!(peer = %peer.id, error = %error, run, "a federation run failed on the peer's side");
            *error_out = Some(error.clone());
            Ok(PeerRunEnd::Failure {
                at: now,
                error,
                next_run_at: now + backoff(peer.interval_seconds, failures.saturating_add(1)),
            })
        }
        Err(RunError::Ours(e)) => Err(e),
    }
}

/// A run's failure: the peer's (recorded on it) or ours (the job retries).
pub(super) enum RunError {
    Peer(String),
    Ours(AppError),
}

impl From<AppError> for RunError {
    fn from(e: AppError) -> Self {
        RunError::Ours(e)
    }
}

impl From<store::StoreError> for RunError {
    fn from(e: store::StoreError) -> Self {
        match e {
            // Another pull of the peer moved the cursor first: that one carries on.
            store::StoreError::Stale(_) => {
                RunError::Peer("another pull of this peer ran at the same time".into())
            }
            other => RunError::Ours(other.into()),
        }
    }
}

impl App {
    /// Pulls a peer now, whatever its schedule: the pages, then intake; records the end on the peer. A failure
    /// of the peer is in the outcome (and on the peer); only our own failure is an error.
    pub async fn pull_peer(&self, peer_id: Uuid) -> AppResult<PullOutcome> {
        match self
            .pull_peer_with(&client(self.egress()), peer_id, Claim::Now)
            .await?
        {
            Some(outcome) => Ok(outcome),
            None => Err(self.refused_claim(peer_id, "pull").await),
        }
    }

    /// Pulls a peer holding its claim; `None` when the claim is refused.
    pub(crate) async fn pull_peer_with(
        &self,
        client: &reqwest::Client,
        peer_id: Uuid,
        claim: Claim,
    ) -> AppResult<Option<PullOutcome>> {
        self.claimed(peer_id, PeerRun::Pull, claim, self.pull_claimed(client, peer_id))
            .await
    }

    /// Runs `body` holding the claim of the peer's `run` (see `Claim`); `None` when the claim is refused. The
    /// body records how the run ended, which gives the claim back; a body that fails on our side gives it back
    /// here, so that the job's next attempt can claim the peer again.
    pub(super) async fn claimed<T>(
        &self,
        peer_id: Uuid,
        run: PeerRun,
        claim: Claim,
        body: impl Future<Output = AppResult<T>>,
    ) -> AppResult<Option<T>> {
        let now = self.clock.now();
        let until = now + Duration::hours(CLAIM_HOURS);
        let if_due = claim == Claim::IfDue;
        if !self
            .store
            .claim_peer_run(peer_id, run, now, until, if_due)
            .await?
        {
            return Ok(None);
        }
        let result = body.await;
        if result.is_err()
            && let Err(e) = self.store.release_peer_run(peer_id, run).await
        {
            tracing::warn!(peer = %peer_id, error = %e, "a federation run could not give its claim back");
        }
        result.map(Some)
    }

    /// Why a run asked for now was refused its claim.
    pub(super) async fn refused_claim(&self, peer_id: Uuid, what: &str) -> AppError {
        match self.store.get_peer(peer_id).await {
            Ok(Some(peer)) if peer.enabled => AppError::Conflict(format!(
                "another {what} of this peer is under way; try again when it ends"
            )),
            Ok(Some(_)) => AppError::Conflict("the peer is disabled".into()),
            Ok(None) => AppError::NotFound("federation peer"),
            Err(e) => e.into(),
        }
    }

    /// A pull of a claimed peer: the peer as it is now, read after the claim.
    async fn pull_claimed(&self, client: &reqwest::Client, peer_id: Uuid) -> AppResult<PullOutcome> {
        let Some(peer) = self.store.get_peer(peer_id).await? else {
            return Ok(PullOutcome::default());
        };
        if !peer.enabled {
            return Ok(PullOutcome::default());
        }
        let mut outcome = PullOutcome::default();
        let result = async {
            let token = self.open_peer_token(&peer)?;
            let more_left = self.pull_pages(client, &peer, &token, &mut outcome).await?;
            drop(token);
            outcome.reports = self.intake_pulled(&peer).await?;
            Ok::<bool, RunError>(more_left)
        }
        .await;
        let refused = refused_note(&outcome.refused, "refused and not stored");
        let end = run_end(
            &peer,
            self.clock.now(),
            result,
            refused,
            peer.failures,
            "pull",
            &mut outcome.error,
        )?;
        self.store.end_peer_run(peer.id, &end).await?;
        Ok(outcome)
    }

    pub(super) fn open_peer_token(&self, peer: &PeerRow) -> Result<accounts::Secret, RunError> {
        let sealer = self
            .gateway
            .sealer()
            .ok_or_else(|| RunError::Peer("no master key to open the peer's credential with".into()))?;
        let bytes = sealer
            .open(&super::seal_context(peer.id), &peer.sealed_secret)
            .map_err(|_| {
                RunError::Peer("the peer's credential cannot be opened with the master key".into())
            })?;
        String::from_utf8(bytes)
            .map(accounts::Secret::new)
            .map_err(|_| RunError::Peer("the peer's credential is damaged".into()))
    }

    /// Reads and commits pages; `true` when the peer had more than this run reads.
    async fn pull_pages(
        &self,
        client: &reqwest::Client,
        peer: &PeerRow,
        token: &accounts::Secret,
        outcome: &mut PullOutcome,
    ) -> Result<bool, RunError> {
        let egress = self.egress();
        // TAXII pages with `next` under the same filter as the first request.
        let start = peer.pull_cursor.clone();
        let mut cursor = peer.pull_cursor.clone();
        let mut next: Option<String> = None;
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..MAX_PAGES_PER_RUN {
            let page = fetch(
                client,
                egress,
                peer,
                token.expose(),
                start.as_deref(),
                next.as_deref(),
            )
            .await
            .map_err(RunError::Peer)?;
            let now = self.clock.now();
            let mut rows = Vec::with_capacity(page.objects.len());
            let mut for_intake = Vec::with_capacity(page.objects.len());
            if page.objects.len() > PAGE_LIMIT.max(1) * 10 {
                return Err(RunError::Peer(format!(
                    "the peer sent {} objects on a page of {PAGE_LIMIT}",
                    page.objects.len()
                )));
            }
            for (i, object) in page.objects.iter().enumerate() {
                match object_row(i, object, peer.tlp, now) {
                    Ok(Some((row, intake))) => {
                        rows.push(row);
                        for_intake.push(intake);
                    }
                    Ok(None) => {}
                    Err(problem) => outcome.refused.push(problem),
                }
            }
            if page.more {
                match &page.next {
                    None => return Err(RunError::Peer("the peer says more but gives no next".into())),
                    Some(n) if seen.contains(n) => {
                        return Err(RunError::Peer("the peer repeats a next it gave before".into()));
                    }
                    Some(_) if page.objects.is_empty() => {
                        return Err(RunError::Peer("the peer says more but sent no objects".into()));
                    }
                    Some(_) => {}
                }
            }
            let to_cursor = page.date_added_last.clone();
            outcome.new_objects += self
                .store
                .commit_pulled_page(&PulledPage {
                    peer_id: peer.id,
                    collection: &peer.collection_id,
                    objects: &rows,
                    for_intake: &for_intake,
                    from_cursor: cursor.as_deref(),
                    to_cursor: to_cursor.as_deref(),
                })
                .await?;
            outcome.pages += 1;
            if to_cursor.is_some() {
                cursor = to_cursor;
            }
            if !page.more {
                return Ok(false);
            }
            if let Some(n) = page.next {
                seen.push(n.clone());
                next = Some(n);
            }
        }
        Ok(true)
    }

    /// Files the peer's pulled vulnerabilities and indicators waiting for intake, as the coordinator who
    /// registered the peer. Returns how many reports were filed.
    async fn intake_pulled(&self, peer: &PeerRow) -> Result<u64, RunError> {
        let pending = self.store.pending_intake(peer.id, INTAKE_PER_RUN).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let caller = self.peer_filer(peer).await?;
        let mut filed = 0;
        for row in pending {
            match self.file_pulled(&caller, peer, &row).await {
                Ok(report) => {
                    filed += u64::from(report.is_some());
                    self.store.finish_intake(row.id, report).await?;
                }
                Err(AppError::Invalid(e)) => {
                    // Kept in the collection, not filed: its fields do not make a report.
                    tracing::warn!(object = %row.stix_id, field = %e.field, "a pulled object makes no report");
                    self.store.finish_intake(row.id, None).await?;
                }
                Err(AppError::Limited { detail, .. }) => {
                    return Err(RunError::Peer(format!(
                        "intake refused the peer's reports: {detail}"
                    )));
                }
                Err(other) => return Err(RunError::Ours(other)),
            }
        }
        Ok(filed)
    }

    /// Who files a peer's reports: the coordinator who registered it, while they still are one.
    async fn peer_filer(&self, peer: &PeerRow) -> Result<Caller, RunError> {
        let gone = || {
            RunError::Peer(
                "the coordinator who registered this peer can no longer file its reports; register it again"
                    .into(),
            )
        };
        let user = self.store.get_user(peer.created_by).await?.ok_or_else(gone)?;
        let org = self.store.get_org(user.org_id).await?.ok_or_else(gone)?;
        let caller = Caller::from_rows(user, org).ok_or_else(gone)?;
        if !crate::policy::can_manage_federation(&caller) {
            return Err(gone());
        }
        Ok(caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T10:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn objects_keep_their_ids_and_take_the_stricter_marking() {
        let object = json!({
            "type": "vulnerability", "spec_version": "2.1",
            "id": "vulnerability--6f1c2f4e-8a57-4d0b-9c3e-51d2a7b4e019",
            "created": "2026-01-01T00:00:00Z", "modified": "2026-01-02T00:00:00.5Z",
            "name": "x", "object_marking_refs": [stix::marking_id(Tlp::Amber)],
        });
        let (row, intake) = object_row(0, &object, Tlp::Green, now()).unwrap().unwrap();
        assert_eq!(row.stix_id, "vulnerability--6f1c2f4e-8a57-4d0b-9c3e-51d2a7b4e019");
        assert_eq!(row.version, "2026-01-02T00:00:00.500000000Z");
        assert_eq!((row.tlp, intake), (Tlp::Amber, true));
        // The peer's setting is the floor: a CLEAR object followed as GREEN is GREEN here.
        let mut clear = object.clone();
        clear["object_marking_refs"] = json!([stix::marking_id(Tlp::Clear)]);
        assert_eq!(
            object_row(0, &clear, Tlp::Green, now()).unwrap().unwrap().0.tlp,
            Tlp::Green
        );
        let mut unmarked = object.clone();
        unmarked.as_object_mut().unwrap().remove("object_marking_refs");
        assert_eq!(
            object_row(0, &unmarked, Tlp::Red, now()).unwrap().unwrap().0.tlp,
            Tlp::Red
        );
        // The official marking definitions are known everywhere and not stored.
        let marking = stix::marking_definition(Tlp::Green);
        assert_eq!(object_row(0, &marking, Tlp::Green, now()), Ok(None));
        assert_eq!(row.date_added.timestamp_subsec_micros(), 123_000);
    }

    #[test]
    fn malformed_objects_are_refused_one_by_one() {
        let good = json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--6f1c2f4e-8a57-4d0b-9c3e-51d2a7b4e019", "created": "2026-01-01T00:00:00Z",
            "modified": "2026-01-01T00:00:00Z", "pattern": "[file:name = 'x']", "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z",
        });
        let mut cases = Vec::new();
        for (key, value) in [
            ("type", json!("Bad Type")),
            ("id", json!("indicator--nope")),
            ("id", json!("malware--6f1c2f4e-8a57-4d0b-9c3e-51d2a7b4e019")),
            ("spec_version", json!("2.0")),
            ("created", json!("yesterday")),
        ] {
            let mut o = good.clone();
            o[key] = value;
            cases.push(o);
        }
        cases.push(json!("a string"));
        let mut big = good.clone();
        big["description"] = json!("x".repeat(stix_import::MAX_OBJECT_BYTES));
        cases.push(big);
        let mut bad_pattern = good.clone();
        bad_pattern["pattern"] = json!("[file:name = ");
        cases.push(bad_pattern);
        for case in cases {
            let refused = object_row(3, &case, Tlp::Clear, now()).unwrap_err();
            assert!(
                refused.starts_with("the peer's object 3 was refused: objects[3]"),
                "{refused}"
            );
        }
        assert!(matches!(
            object_row(0, &good, Tlp::Clear, now()),
            Ok(Some((_, true)))
        ));
        let refused: Vec<String> = (0..5).map(|i| format!("p{i}")).collect();
        assert_eq!(
            refused_note(&refused, "refused and not stored").unwrap(),
            "5 object(s) refused and not stored; p0 | p1 | p2"
        );
        assert_eq!(refused_note(&[], "refused and not stored"), None);
    }

    #[test]
    fn backoff_doubles_up_to_a_day() {
        assert_eq!(backoff(60, 1), Duration::seconds(120));
        assert_eq!(backoff(60, 3), Duration::seconds(480));
        assert_eq!(backoff(3600, 10), Duration::seconds(MAX_BACKOFF_SECONDS));
        assert_eq!(backoff(60, i32::MAX), Duration::seconds(MAX_BACKOFF_SECONDS));
    }
}
