//! The model access gateway's operations: model connections (the developer's), gateway tokens (the assigned
//! evaluators'), the calls themselves, and usage.
//!
//! The hot path (`gateway_call`) asks the database nothing in the common case: a token's grant (token,
//! holder, assignment, notice dates, the developer's standing, connections with their secrets opened) is cached
//! in this process for `GRANT_TTL` of the injected clock, and every time-dependent rule is decided afresh on
//! each call with it. Changes made through this process (revoking, unassigning, moving or withdrawing, changing
//! a connection, deactivating a person or an organisation) clear the cache at once; changes made through
//! another process take effect within `GRANT_TTL`. The limits (`limits`) lease shares of shared budgets from
//! the database now and then, not per call.
//!
//! Every call that presents a valid token is recorded, whatever its outcome. See the `gateway` crate's docs for
//! why the record is journalled before the response completes, and how it reaches the database.

mod limits;

use crate::journal::{self, CallJournal};
use crate::page::{PageRequest, Paged, paginate};
use crate::policy::{self, GatewayGrant, GatewayScope};
use crate::{Actor, App, AppError, AppResult, Caller};
use accounts::secret::{self, visible_prefix};
use accounts::{Secret, TokenDigest, TokenKind};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use gateway::egress::Egress;
use gateway::relay::{rewrite_response, stream_error};
use gateway::settings::{self, MAX_POST_LAUNCH_DAYS, MAX_TIMEOUT_SECONDS};
use gateway::upstream::{Response as UpstreamResponse, map_status};
use gateway::{
    AgencyLimits, ApiStyle, CallRequest, GatewayError, Limits, MasterKey, Probe, Relayed, ResponseLimits,
    Retention, SecretBox, StreamRewriter, Target, Upstream, Usage,
};
use limits::{CallLimits, CallPermit};
use review::ValidationError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use store::{
    CallQuery, GatewayCall, GatewayToken, GatewayTranscript, MASTER_KEY_SETTING, ModelConnection, Notice,
    Page, SealedKind,
};
use uuid::Uuid;

/// The largest request body the gateway accepts (long prompts are welcome; the API's limit is far smaller).
pub const GATEWAY_BODY_LIMIT: usize = 8 * 1024 * 1024;
/// How long a token's grant is trusted before it is read again from the database (time of the injected clock).
const GRANT_TTL: chrono::TimeDelta = chrono::TimeDelta::seconds(2);
/// Grants kept in memory before stale ones are swept.
const GRANT_CACHE_SWEEP: usize = 10_000;
/// How long a read of calls or usage waits for this process's records to reach the database.
const SETTLE_WAIT: Duration = Duration::from_secs(2);
/// How long a stopping server waits for its call records to reach the database.
const CLOSE_WAIT: Duration = Duration::from_secs(10);
/// The longest a gateway token may live.
pub const MAX_GATEWAY_TOKEN_DAYS: i64 = 366;

/// A grant and when (by the clock) it was read.
type CachedGrant = (DateTime<Utc>, Arc<Grant>);

/// The gateway's in-process state, shared by every clone of the `App`.
pub struct Gateway {
    secret_box: Option<SecretBox>,
    upstream: Upstream,
    limits: CallLimits,
    grants: Mutex<HashMap<String, CachedGrant>>,
    journal: OnceLock<Arc<CallJournal>>,
}

impl Gateway {
    pub fn new(key: Option<&MasterKey>, egress: Egress) -> Self {
        Gateway {
            secret_box: key.map(SecretBox::new),
            upstream: Upstream::new(egress),
            limits: CallLimits::new(),
            grants: Mutex::new(HashMap::new()),
            journal: OnceLock::new(),
        }
    }

    /// Forgets every cached grant, after a change that may withdraw access.
    pub fn forget_grants(&self) {
        self.grants.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The master key's sealing, if the server has a key (webhook secrets are sealed with it too).
    pub(crate) fn sealer(&self) -> Option<&SecretBox> {
        self.secret_box.as_ref()
    }

    fn secret_box(&self) -> AppResult<&SecretBox> {
        self.secret_box.as_ref().ok_or_else(|| {
            AppError::Internal(
                "the server was started without a master key; model connections need one".into(),
            )
        })
    }

    fn cached(&self, digest: &str, now: DateTime<Utc>) -> Option<Arc<Grant>> {
        let grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        let (at, grant) = grants.get(digest)?;
        (now - *at < GRANT_TTL).then(|| grant.clone())
    }

    fn remember(&self, digest: String, grant: Arc<Grant>, now: DateTime<Utc>) {
        let mut grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        if grants.len() >= GRANT_CACHE_SWEEP {
            grants.retain(|_, (at, _)| now - *at < GRANT_TTL);
        }
        grants.insert(digest, (now, grant));
    }
}

/// What a token may reach, as loaded from the database.
struct Grant {
    token: GatewayToken,
    holder_active: bool,
    developer_active: bool,
    assigned: bool,
    notice: Notice,
    routes: Vec<Arc<Route>>,
}

/// One connection, ready to call.
struct Route {
    connection_id: Uuid,
    model: String,
    style: ApiStyle,
    limits: Limits,
    agency_limits: AgencyLimits,
    post_launch_days: u32,
    retention: Retention,
    target: Target,
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
    fn reachable(&self, now: DateTime<Utc>) -> Result<Vec<&Arc<Route>>, GatewayError> {
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
    fn route(&self, model: &str, now: DateTime<Utc>) -> Result<Arc<Route>, GatewayError> {
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

/// The secrets of a connection, sealed together.
#[derive(Serialize, Deserialize)]
struct ConnectionSecrets {
    credential: String,
    headers: Vec<(String, String)>,
}

fn seal_context(connection_id: Uuid) -> String {
    format!("connection:{connection_id}")
}

fn transcript_context(call_id: Uuid) -> String {
    format!("transcript:{call_id}")
}

/// A model connection as entered or changed by the developer. On a change, a missing credential or header list
/// keeps what is stored; every other missing field takes its default.
#[derive(Default)]
pub struct ConnectionInput {
    pub model: Option<String>,
    pub api_style: String,
    pub base_url: String,
    pub upstream_model: String,
    pub credential: Option<Secret>,
    pub headers: Option<Vec<(String, Secret)>>,
    pub requests_per_minute: Option<i64>,
    pub tokens_per_minute: Option<i64>,
    pub concurrency: Option<i64>,
    /// Caps on each agency as a whole (the sum over its evaluators); absent: no cap.
    pub agency_requests_per_minute: Option<i64>,
    pub agency_tokens_per_minute: Option<i64>,
    pub agency_concurrency: Option<i64>,
    pub post_launch_days: Option<i64>,
    pub retention: Option<String>,
    pub timeout_seconds: Option<i64>,
    pub max_response_bytes: Option<i64>,
    pub max_event_bytes: Option<i64>,
    pub max_stream_bytes: Option<i64>,
}

/// A connection as its developer sees it: everything but the secrets, which are never shown again.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionView {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub model: String,
    pub api_style: String,
    pub base_url: String,
    pub upstream_model: String,
    /// Always true: a connection has a credential, which can be replaced but not read.
    pub credential_set: bool,
    pub header_names: Vec<String>,
    pub requests_per_minute: i64,
    pub tokens_per_minute: i64,
    pub concurrency: i64,
    /// Caps on each agency as a whole (the sum over its evaluators); `null`: none.
    pub agency_requests_per_minute: Option<i64>,
    pub agency_tokens_per_minute: Option<i64>,
    pub agency_concurrency: Option<i64>,
    pub post_launch_days: i64,
    pub retention: String,
    pub timeout_seconds: i64,
    /// The most the gateway reads of the upstream's answers: a whole JSON body, one stream event, a stream.
    pub max_response_bytes: i64,
    pub max_event_bytes: i64,
    pub max_stream_bytes: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ModelConnection> for ConnectionView {
    fn from(c: ModelConnection) -> Self {
        ConnectionView {
            id: c.id,
            notice_id: c.notice_id,
            model: c.model,
            api_style: c.api_style,
            base_url: c.base_url,
            upstream_model: c.upstream_model,
            credential_set: true,
            header_names: c.header_names.0,
            requests_per_minute: c.requests_per_minute,
            tokens_per_minute: c.tokens_per_minute,
            concurrency: c.concurrency,
            agency_requests_per_minute: c.agency_requests_per_minute,
            agency_tokens_per_minute: c.agency_tokens_per_minute,
            agency_concurrency: c.agency_concurrency,
            post_launch_days: c.post_launch_days,
            retention: c.retention,
            timeout_seconds: c.timeout_seconds,
            max_response_bytes: c.max_response_bytes,
            max_event_bytes: c.max_event_bytes,
            max_stream_bytes: c.max_stream_bytes,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

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

#[derive(Debug, Clone, Serialize)]
pub struct CallView {
    pub id: Uuid,
    pub user_id: Uuid,
    pub model: String,
    pub endpoint: String,
    pub started_at: DateTime<Utc>,
    pub status: i64,
    pub error_code: Option<String>,
    pub stream: bool,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
}

impl From<GatewayCall> for CallView {
    fn from(c: GatewayCall) -> Self {
        CallView {
            id: c.id,
            user_id: c.user_id,
            model: c.model,
            endpoint: c.endpoint,
            started_at: c.started_at,
            status: c.status,
            error_code: c.error_code,
            stream: c.stream,
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            latency_ms: c.latency_ms,
            ttft_ms: c.ttft_ms,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct UsageTotals {
    pub calls: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub mean_latency_ms: f64,
    #[serde(skip)]
    latency_sum: f64,
}

impl UsageTotals {
    fn add(&mut self, row: &store::UsageRow) {
        self.calls += row.calls;
        self.errors += row.errors;
        self.input_tokens += row.input_tokens;
        self.output_tokens += row.output_tokens;
        self.latency_sum += row.latency_ms;
        self.mean_latency_ms = if self.calls > 0 {
            self.latency_sum / self.calls as f64
        } else {
            0.0
        };
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DayUsage {
    pub day: String,
    #[serde(flatten)]
    pub totals: UsageTotals,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvaluatorUsage {
    pub user_id: Uuid,
    #[serde(flatten)]
    pub totals: UsageTotals,
}

/// A notice's gateway usage as the caller may see it.
#[derive(Debug, Clone, Serialize)]
pub struct UsageView {
    /// `aggregate` (the developer), `agency` (an agency admin: their evaluators), `own` (an evaluator).
    pub scope: &'static str,
    pub totals: UsageTotals,
    pub by_day: Vec<DayUsage>,
    /// Per evaluator; not shown to the developer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_evaluator: Option<Vec<EvaluatorUsage>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TranscriptView {
    pub call_id: Uuid,
    pub request_sha256: String,
    pub response_sha256: String,
    /// The texts, when the connection's retention kept them (`encrypted`).
    pub request: Option<String>,
    pub response: Option<String>,
}

/// A gateway call's answer, before it becomes HTTP.
pub enum GatewayReply {
    /// A whole JSON body (recorded before it is handed over).
    Complete { call_id: Uuid, body: Bytes },
    /// Server-sent events, relayed as they arrive; the last one waits for the call's record.
    Stream {
        call_id: Uuid,
        events: Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>,
    },
}

/// One call's record in the making.
struct CallLog {
    call: GatewayCall,
    started: Instant,
    retention: Retention,
    request: Bytes,
}

impl CallLog {
    fn new(grant: &Grant, style: ApiStyle, started_at: DateTime<Utc>, request: Bytes) -> Self {
        let endpoint = match style {
            ApiStyle::OpenAi => "chat.completions",
            ApiStyle::Anthropic => "messages",
        };
        CallLog {
            call: GatewayCall {
                id: Uuid::now_v7(),
                token_id: grant.token.id,
                user_id: grant.token.user_id,
                org_id: grant.token.org_id,
                notice_id: grant.token.notice_id,
                connection_id: None,
                endpoint: endpoint.into(),
                model: String::new(),
                started_at,
                day: started_at.format("%Y-%m-%d").to_string(),
                status: 0,
                error_code: None,
                stream: false,
                input_tokens: None,
                output_tokens: None,
                latency_ms: 0.0,
                ttft_ms: None,
            },
            started: Instant::now(),
            retention: Retention::None,
            request,
        }
    }

    fn routed(&mut self, route: &Route, stream: bool) {
        self.call.connection_id = Some(route.connection_id);
        self.call.model = route.model.clone();
        self.call.stream = stream;
        self.retention = route.retention;
    }

    fn finish(&mut self, status: u16, error_code: Option<&str>, usage: Usage, ttft_ms: Option<f64>) {
        self.call.status = i64::from(status);
        self.call.error_code = error_code.map(str::to_owned);
        self.call.input_tokens = usage.input_tokens.and_then(|n| i64::try_from(n).ok());
        self.call.output_tokens = usage.output_tokens.and_then(|n| i64::try_from(n).ok());
        self.call.latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        self.call.ttft_ms = ttft_ms;
    }

    /// The transcript the connection's retention asks for, of the response as the evaluator received it
    /// (scrubbed, and no larger than the connection's limits allow).
    fn transcript(
        &self,
        response: Option<ResponseCopy>,
        secret_box: Option<&SecretBox>,
    ) -> Option<GatewayTranscript> {
        let response = response?;
        let hex = |digest: &[u8]| -> String { digest.iter().map(|b| format!("{b:02x}")).collect() };
        let sealed = match (self.retention, &response.text) {
            (Retention::Encrypted, Some(text)) => {
                let texts = json!({
                    "request": String::from_utf8_lossy(&self.request),
                    "response": String::from_utf8_lossy(text),
                });
                secret_box.map(|b| {
                    b.seal(
                        &transcript_context(self.call.id),
                        &serde_json::to_vec(&texts).unwrap_or_default(),
                    )
                })
            }
            _ => None,
        };
        Some(GatewayTranscript {
            call_id: self.call.id,
            request_sha256: hex(&Sha256::digest(&self.request)),
            response_sha256: hex(&response.digest.finalize()),
            sealed,
        })
    }
}

/// What a call's transcript keeps of the response as it goes to the evaluator: its digest, computed as it
/// passes, and its text only when the connection's retention keeps texts.
struct ResponseCopy {
    digest: Sha256,
    text: Option<Vec<u8>>,
}

impl ResponseCopy {
    fn new(retention: Retention) -> Option<Self> {
        let text = match retention {
            Retention::None => return None,
            Retention::Digest => None,
            Retention::Encrypted => Some(Vec::new()),
        };
        Some(ResponseCopy {
            digest: Sha256::new(),
            text,
        })
    }

    fn add(&mut self, bytes: &[u8]) {
        self.digest.update(bytes);
        if let Some(text) = &mut self.text {
            text.extend_from_slice(bytes);
        }
    }
}

/// Reports an internal failure on the hot path: logged with its cause, answered without it.
fn internal(error: AppError) -> GatewayError {
    match error {
        AppError::Internal(cause) => {
            tracing::error!(error = %cause, "gateway failure");
        }
        other => tracing::error!(error = %other, "gateway failure"),
    }
    GatewayError::internal()
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
    /// The same service with a master key, which sealing credentials and transcripts needs.
    pub fn with_master_key(mut self, key: &MasterKey) -> Self {
        let gateway = Gateway::new(Some(key), self.gateway.upstream.egress());
        if let Some(journal) = self.gateway.journal.get() {
            let _ = gateway.journal.set(journal.clone());
        }
        self.gateway = Arc::new(gateway);
        self
    }

    /// Forgets cached gateway grants; every change that may withdraw access calls this.
    pub(crate) fn gateway_changed(&self) {
        self.gateway.forget_grants();
    }

    /// Opens the call journal in `dir`, copies into the database what stopped processes left there, and starts
    /// copying this process's records; returns how many records were recovered. Gateway calls are refused
    /// until a journal is open.
    pub async fn open_call_journal(&self, dir: &Path) -> AppResult<usize> {
        let failed =
            |e: std::io::Error| AppError::Internal(format!("call journal {}: {e}", dir.display()).into());
        // Opening creates the directory and locks this process's own segment, which recovery then passes over.
        let journal = Arc::new(CallJournal::open(dir).map_err(failed)?);
        let recovered = journal::recover(dir, self.store.as_ref()).await.map_err(failed)?;
        if self.gateway.journal.set(journal.clone()).is_err() {
            return Err(AppError::Internal("the call journal is already open".into()));
        }
        tokio::spawn(journal.run(self.store.clone()));
        Ok(recovered)
    }

    /// Waits until every call recorded so far is in the database (at most a few seconds); false if it is not.
    pub async fn close_call_journal(&self) -> bool {
        match self.gateway.journal.get() {
            Some(journal) => journal.close(CLOSE_WAIT).await,
            None => true,
        }
    }

    /// Lets the records of calls this process answered reach the database before they are read.
    async fn settle_calls(&self) {
        if let Some(journal) = self.gateway.journal.get()
            && !journal.settle(SETTLE_WAIT).await
        {
            tracing::warn!("call records are slow to reach the database; usage shown may lag");
        }
    }

    /// Records a call; once this returns true, the record survives the process.
    fn record_call(&self, call: GatewayCall, transcript: Option<GatewayTranscript>) -> bool {
        let Some(journal) = self.gateway.journal.get() else {
            tracing::error!("no call journal is open; the call is refused");
            return false;
        };
        match journal.append(call, transcript) {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(%error, dir = %journal.dir().display(), "recording a gateway call failed");
                false
            }
        }
    }

    // Master key.

    /// Checks that the master key is the one that sealed the stored secrets, recording its fingerprint on the
    /// first start.
    pub async fn check_master_key(&self) -> AppResult<()> {
        let fingerprint = self.gateway.secret_box()?.fingerprint();
        match self.store.get_setting(MASTER_KEY_SETTING).await? {
            Some(recorded) if recorded == fingerprint => Ok(()),
            Some(recorded) => Err(AppError::Conflict(format!(
                "the master key (fingerprint {fingerprint}) is not the one that sealed the stored credentials \
                 (fingerprint {recorded}); start with the right --master-key-file"
            ))),
            None => {
                let event = self.event(
                    Actor::Operator,
                    "master_key.register",
                    "master_key",
                    None,
                    json!({"fingerprint": fingerprint}),
                );
                self.store
                    .put_setting(MASTER_KEY_SETTING, &fingerprint, &event)
                    .await?;
                Ok(())
            }
        }
    }

    /// The fingerprint of the key that sealed the stored secrets, as recorded.
    pub async fn recorded_master_key(&self) -> AppResult<Option<String>> {
        Ok(self.store.get_setting(MASTER_KEY_SETTING).await?)
    }

    /// Re-seals every stored secret under `new` in one transaction, and records its fingerprint. Run with the
    /// service stopped: running servers keep the old key in memory. Returns how many values were re-sealed.
    pub async fn reseal_secrets(&self, new: &MasterKey) -> AppResult<usize> {
        let old = self.gateway.secret_box()?;
        // Transcripts this process sealed are resealed with the rest.
        self.settle_calls().await;
        let new_box = SecretBox::new(new);
        let mut values = self.store.sealed_values().await?;
        for value in &mut values {
            let context = match value.kind {
                SealedKind::Connection => seal_context(value.id),
                SealedKind::Transcript => transcript_context(value.id),
                SealedKind::Webhook => crate::webhooks::seal_context(value.id),
            };
            let plain = old
                .open(&context, &value.sealed)
                .map_err(|e| AppError::Internal(Box::new(e)))?;
            value.sealed = new_box.seal(&context, &plain);
        }
        let event = self.event(
            Actor::Operator,
            "master_key.rotate",
            "master_key",
            None,
            json!({"from": old.fingerprint(), "to": new_box.fingerprint(), "values": values.len()}),
        );
        self.store.reseal(&values, &new_box.fingerprint(), &event).await?;
        Ok(values.len())
    }

    // Model connections.

    async fn connection_notice(&self, caller: &Caller, notice_id: Uuid) -> AppResult<Notice> {
        let (notice, _) = self.visible_notice(caller, notice_id).await?;
        if !policy::can_manage_connections(caller, &notice) {
            return Err(AppError::Forbidden(
                "only the developer manages and sees its model connections",
            ));
        }
        Ok(notice)
    }

    /// Validates input into a row; `existing` is the row being changed, whose secrets a change may keep.
    fn connection_row(
        &self,
        caller: &Caller,
        notice: &Notice,
        input: ConnectionInput,
        existing: Option<&ModelConnection>,
    ) -> AppResult<ModelConnection> {
        let secret_box = self.gateway.secret_box()?;
        let now = self.clock.now();
        let id = existing.map_or_else(Uuid::now_v7, |c| c.id);
        let model = match input.model.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            Some(model) => settings::model_alias("model", model)?,
            None => settings::notice_slug(&notice.model_name, &notice.model_version),
        };
        let api_style = ApiStyle::parse("api_style", input.api_style.trim())?;
        let base_url = settings::base_url("base_url", &input.base_url)?;
        if self.gateway.upstream.egress().check_url(&base_url).is_err() {
            return Err(ValidationError::new(
                "base_url",
                "names a private, local or reserved address, which this server does not call (its operator can \
                 allow private networks)",
            )
            .into());
        }
        let upstream_model = settings::upstream_model("upstream_model", &input.upstream_model)?;
        let defaults = Limits::default();
        let limits = Limits::parse(
            input
                .requests_per_minute
                .unwrap_or(i64::from(defaults.requests_per_minute)),
            input
                .tokens_per_minute
                .unwrap_or(i64::from(defaults.tokens_per_minute)),
            input.concurrency.unwrap_or(i64::from(defaults.concurrency)),
        )?;
        let agency_limits = AgencyLimits::parse(
            input.agency_requests_per_minute,
            input.agency_tokens_per_minute,
            input.agency_concurrency,
        )?;
        let post_launch_days = settings::bounded(
            "post_launch_days",
            input.post_launch_days.unwrap_or(0),
            0,
            MAX_POST_LAUNCH_DAYS,
        )?;
        let retention = Retention::parse("retention", input.retention.as_deref().unwrap_or("digest"))?;
        let timeout_seconds = settings::bounded(
            "timeout_seconds",
            input
                .timeout_seconds
                .unwrap_or(i64::from(settings::DEFAULT_TIMEOUT_SECONDS)),
            1,
            MAX_TIMEOUT_SECONDS,
        )?;
        let response_defaults = ResponseLimits::default();
        let response_limit = |value: Option<i64>, default: u64| {
            value.unwrap_or_else(|| i64::try_from(default).unwrap_or(i64::MAX))
        };
        let response_limits = ResponseLimits::parse(
            response_limit(input.max_response_bytes, response_defaults.max_response_bytes),
            response_limit(input.max_event_bytes, response_defaults.max_event_bytes),
            response_limit(input.max_stream_bytes, response_defaults.max_stream_bytes),
        )?;
        let stored = match existing {
            Some(c) => Some(
                secret_box
                    .open(&seal_context(c.id), &c.sealed_secrets)
                    .ok()
                    .and_then(|plain| serde_json::from_slice::<ConnectionSecrets>(&plain).ok())
                    .ok_or_else(|| AppError::Internal("a stored connection's secrets do not open".into()))?,
            ),
            None => None,
        };
        let credential = match (input.credential, &stored) {
            (Some(credential), _) => {
                settings::credential("credential", credential.expose())?;
                credential.expose().trim().to_owned()
            }
            (None, Some(stored)) => stored.credential.clone(),
            (None, None) => return Err(ValidationError::new("credential", "is required").into()),
        };
        let headers = match (input.headers, stored) {
            (Some(headers), _) => {
                if headers.len() > 20 {
                    return Err(ValidationError::new("headers", "at most 20 extra headers").into());
                }
                let mut checked = Vec::with_capacity(headers.len());
                for (name, value) in headers {
                    let name = settings::extra_header(&format!("headers.{name}"), &name, value.expose())?;
                    checked.push((name, value.expose().to_owned()));
                }
                checked
            }
            (None, Some(stored)) => stored.headers,
            (None, None) => Vec::new(),
        };
        let header_names = headers.iter().map(|(name, _)| name.clone()).collect();
        let secrets = ConnectionSecrets { credential, headers };
        let sealed_secrets = secret_box.seal(
            &seal_context(id),
            &serde_json::to_vec(&secrets).unwrap_or_default(),
        );
        Ok(ModelConnection {
            id,
            notice_id: notice.id,
            model,
            api_style: api_style.as_str().into(),
            base_url,
            upstream_model,
            sealed_secrets,
            header_names: store::Json(header_names),
            requests_per_minute: i64::from(limits.requests_per_minute),
            tokens_per_minute: i64::from(limits.tokens_per_minute),
            concurrency: i64::from(limits.concurrency),
            agency_requests_per_minute: agency_limits.requests_per_minute.map(i64::from),
            agency_tokens_per_minute: agency_limits.tokens_per_minute.map(i64::from),
            agency_concurrency: agency_limits.concurrency.map(i64::from),
            post_launch_days: i64::from(post_launch_days),
            retention: retention.as_str().into(),
            timeout_seconds: i64::from(timeout_seconds),
            max_response_bytes: i64::try_from(response_limits.max_response_bytes).unwrap_or(i64::MAX),
            max_event_bytes: i64::try_from(response_limits.max_event_bytes).unwrap_or(i64::MAX),
            max_stream_bytes: i64::try_from(response_limits.max_stream_bytes).unwrap_or(i64::MAX),
            created_by: existing.map_or(Some(caller.user_id()), |c| c.created_by),
            created_at: existing.map_or(now, |c| c.created_at),
            updated_at: now,
            deleted_at: None,
        })
    }

    /// What the audit trail says about a connection: what every reader of its events may know (program
    /// administrators read them too), never its secrets nor the upstream's identity (base URL, upstream model
    /// id, extra header names), which only the developer sees. A receipt commits to these exact bytes, so
    /// they cannot be cut per reader afterwards.
    fn connection_details(c: &ModelConnection) -> Value {
        json!({
            "notice": c.notice_id, "model": c.model, "api_style": c.api_style,
            "requests_per_minute": c.requests_per_minute, "tokens_per_minute": c.tokens_per_minute,
            "concurrency": c.concurrency, "agency_requests_per_minute": c.agency_requests_per_minute,
            "agency_tokens_per_minute": c.agency_tokens_per_minute, "agency_concurrency": c.agency_concurrency,
            "post_launch_days": c.post_launch_days, "retention": c.retention,
            "timeout_seconds": c.timeout_seconds, "max_response_bytes": c.max_response_bytes,
            "max_event_bytes": c.max_event_bytes, "max_stream_bytes": c.max_stream_bytes,
        })
    }

    pub async fn create_connection(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        input: ConnectionInput,
    ) -> AppResult<ConnectionView> {
        let notice = self.connection_notice(caller, notice_id).await?;
        Self::check_not_withdrawn(&notice)?;
        let row = self.connection_row(caller, &notice, input, None)?;
        let event = self.event(
            caller.into(),
            "connection.create",
            "connection",
            Some(row.id),
            Self::connection_details(&row),
        );
        self.store.create_connection(&row, &event).await?;
        self.gateway_changed();
        Ok(row.into())
    }

    async fn notice_connection(&self, notice_id: Uuid, id: Uuid) -> AppResult<ModelConnection> {
        self.store
            .get_connection(id)
            .await?
            .filter(|c| c.notice_id == notice_id && c.deleted_at.is_none())
            .ok_or(AppError::NotFound("connection"))
    }

    pub async fn update_connection(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        id: Uuid,
        input: ConnectionInput,
    ) -> AppResult<ConnectionView> {
        let notice = self.connection_notice(caller, notice_id).await?;
        let existing = self.notice_connection(notice_id, id).await?;
        let credential_replaced = input.credential.is_some();
        let row = self.connection_row(caller, &notice, input, Some(&existing))?;
        let upstream_changed = row.base_url != existing.base_url
            || row.upstream_model != existing.upstream_model
            || row.header_names.0 != existing.header_names.0;
        let mut details = Self::connection_details(&row);
        if let Some(object) = details.as_object_mut() {
            object.insert("credential_replaced".into(), Value::Bool(credential_replaced));
            object.insert("upstream_changed".into(), Value::Bool(upstream_changed));
        }
        let event = self.event(
            caller.into(),
            "connection.update",
            "connection",
            Some(id),
            details,
        );
        self.store.update_connection(&row, &event).await?;
        self.gateway_changed();
        Ok(row.into())
    }

    pub async fn delete_connection(&self, caller: &Caller, notice_id: Uuid, id: Uuid) -> AppResult<()> {
        self.connection_notice(caller, notice_id).await?;
        let existing = self.notice_connection(notice_id, id).await?;
        let event = self.event(
            caller.into(),
            "connection.delete",
            "connection",
            Some(id),
            json!({"notice": notice_id, "model": existing.model}),
        );
        self.store.delete_connection(id, self.clock.now(), &event).await?;
        self.gateway_changed();
        Ok(())
    }

    pub async fn list_connections(&self, caller: &Caller, notice_id: Uuid) -> AppResult<Vec<ConnectionView>> {
        self.connection_notice(caller, notice_id).await?;
        let rows = self.store.list_connections(notice_id).await?;
        Ok(rows.into_iter().map(ConnectionView::from).collect())
    }

    pub async fn get_connection(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        id: Uuid,
    ) -> AppResult<ConnectionView> {
        self.connection_notice(caller, notice_id).await?;
        Ok(self.notice_connection(notice_id, id).await?.into())
    }

    /// Makes one small real call through a connection and reports how it went.
    pub async fn test_connection(&self, caller: &Caller, notice_id: Uuid, id: Uuid) -> AppResult<Probe> {
        self.connection_notice(caller, notice_id).await?;
        let connection = self.notice_connection(notice_id, id).await?;
        let route = self.route_of(&connection)?;
        Ok(self.gateway.upstream.probe(&route.target).await)
    }

    fn route_of(&self, c: &ModelConnection) -> AppResult<Route> {
        let secrets: ConnectionSecrets = self
            .gateway
            .secret_box()?
            .open(&seal_context(c.id), &c.sealed_secrets)
            .ok()
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or_else(|| AppError::Internal("a stored connection's secrets do not open".into()))?;
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

    // Gateway tokens.

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

    async fn gateway_scope(&self, caller: &Caller, notice_id: Uuid) -> AppResult<(Notice, GatewayScope)> {
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

    // Usage.

    pub async fn gateway_usage(&self, caller: &Caller, notice_id: Uuid) -> AppResult<UsageView> {
        let (_, scope) = self.gateway_scope(caller, notice_id).await?;
        let (org_id, user_id) = scope.filter();
        self.settle_calls().await;
        let rows = self.store.gateway_usage(notice_id, org_id, user_id).await?;
        let mut totals = UsageTotals::default();
        let mut by_day: BTreeMap<String, UsageTotals> = BTreeMap::new();
        let mut by_evaluator: BTreeMap<Uuid, UsageTotals> = BTreeMap::new();
        for row in &rows {
            totals.add(row);
            by_day.entry(row.day.clone()).or_default().add(row);
            by_evaluator.entry(row.user_id).or_default().add(row);
        }
        Ok(UsageView {
            scope: match scope {
                GatewayScope::Developer => "aggregate",
                GatewayScope::Agency(_) => "agency",
                GatewayScope::Own { .. } => "own",
            },
            totals,
            by_day: by_day
                .into_iter()
                .map(|(day, totals)| DayUsage { day, totals })
                .collect(),
            by_evaluator: (scope != GatewayScope::Developer).then(|| {
                by_evaluator
                    .into_iter()
                    .map(|(user_id, totals)| EvaluatorUsage { user_id, totals })
                    .collect()
            }),
        })
    }

    /// A notice's calls, newest first: an agency admin sees their agency's, an evaluator their own.
    pub async fn list_gateway_calls(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<CallView>> {
        let (_, scope) = self.gateway_scope(caller, notice_id).await?;
        if !policy::can_list_gateway_calls(scope) {
            return Err(AppError::Forbidden(
                "the developer sees gateway usage in aggregate, not individual calls",
            ));
        }
        let (org_id, user_id) = scope.filter();
        let limit = page.limit()?;
        self.settle_calls().await;
        let after = page.after(|s| s.parse::<Uuid>().ok())?;
        let rows = self
            .store
            .list_gateway_calls(&CallQuery {
                notice_id,
                org_id,
                user_id,
                page: Page {
                    after,
                    limit: limit + 1,
                },
            })
            .await?;
        Ok(paginate(rows, limit, |c| c.id.to_string(), CallView::from))
    }

    /// A call's retained transcript, for the evaluating agency.
    pub async fn gateway_transcript(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        call_id: Uuid,
    ) -> AppResult<TranscriptView> {
        self.visible_notice(caller, notice_id).await?;
        self.settle_calls().await;
        let call = self
            .store
            .get_gateway_call(call_id)
            .await?
            .filter(|c| c.notice_id == notice_id && policy::can_read_transcript(caller, c))
            .ok_or(AppError::NotFound("call"))?;
        let transcript = self
            .store
            .get_gateway_transcript(call.id)
            .await?
            .ok_or(AppError::NotFound("transcript"))?;
        let (request, response) = match &transcript.sealed {
            None => (None, None),
            Some(sealed) => {
                let plain = self
                    .gateway
                    .secret_box()?
                    .open(&transcript_context(call.id), sealed)
                    .map_err(|e| AppError::Internal(Box::new(e)))?;
                let texts: Value = serde_json::from_slice(&plain).unwrap_or_default();
                let text = |k: &str| texts.get(k).and_then(Value::as_str).map(str::to_owned);
                (text("request"), text("response"))
            }
        };
        Ok(TranscriptView {
            call_id: call.id,
            request_sha256: transcript.request_sha256,
            response_sha256: transcript.response_sha256,
            request,
            response,
        })
    }

    // The calls.

    /// The grant behind a presented token, from the cache or the database.
    async fn gateway_grant(&self, token: Option<&str>) -> Result<Arc<Grant>, GatewayError> {
        let token = token.ok_or_else(GatewayError::missing_key)?;
        if !token.starts_with(TokenKind::Gateway.prefix()) {
            return Err(GatewayError::invalid_key());
        }
        let digest = TokenDigest::of(&Secret::new(token.to_owned())).0;
        let now = self.clock.now();
        if let Some(grant) = self.gateway.cached(&digest, now) {
            return Ok(grant);
        }
        let grant = self.load_grant(&digest).await.map_err(internal)?;
        let grant = Arc::new(grant.ok_or_else(GatewayError::invalid_key)?);
        self.gateway.remember(digest, grant.clone(), now);
        Ok(grant)
    }

    async fn load_grant(&self, digest: &str) -> AppResult<Option<Grant>> {
        let Some(token) = self.store.find_gateway_token(digest).await? else {
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

    /// `GET /gateway/v1/models`: the models this token reaches now, by their names at the gateway.
    pub async fn gateway_models(&self, token: Option<&str>) -> Result<Value, GatewayError> {
        let grant = self.gateway_grant(token).await?;
        let reachable = grant.reachable(self.clock.now())?;
        let created = grant.notice.filed_at.timestamp();
        let data: Vec<Value> = reachable
            .iter()
            .map(|r| json!({"id": r.model, "object": "model", "created": created, "owned_by": grant.notice.developer_name}))
            .collect();
        Ok(json!({"object": "list", "data": data}))
    }

    /// A call in the given style: authorised, limited, relayed, metered. Every call that presents a valid
    /// token is recorded, refused or not.
    pub async fn gateway_call(
        &self,
        token: Option<&str>,
        style: ApiStyle,
        body: Bytes,
    ) -> Result<GatewayReply, GatewayError> {
        let grant = self.gateway_grant(token).await?;
        let mut log = CallLog::new(&grant, style, self.clock.now(), body.clone());
        match self.forward(&grant, style, &body, &mut log).await {
            Ok(Forwarded::Complete {
                route,
                body,
                usage,
                permit,
            }) => {
                self.charge(&grant, &route, usage);
                log.finish(200, None, usage, None);
                let copy = ResponseCopy::new(log.retention).map(|mut copy| {
                    copy.add(&body);
                    copy
                });
                let transcript = log.transcript(copy, self.gateway.secret_box.as_ref());
                let call_id = log.call.id;
                let recorded = self.record_call(log.call, transcript);
                drop(permit);
                if recorded {
                    Ok(GatewayReply::Complete { call_id, body })
                } else {
                    Err(GatewayError::metering_failed())
                }
            }
            Ok(Forwarded::Stream {
                route,
                response,
                rewriter,
                permit,
            }) => {
                let call_id = log.call.id;
                let relay = Relay {
                    app: self.clone(),
                    grant,
                    route,
                    style,
                    response,
                    rewriter,
                    copy: ResponseCopy::new(log.retention),
                    log: Some(log),
                    _permit: permit,
                    pending: VecDeque::new(),
                    done: false,
                    ttft_ms: None,
                };
                let events = futures_util::stream::unfold(relay, |mut relay| async move {
                    relay.next().await.map(|bytes| (Ok(bytes), relay))
                });
                Ok(GatewayReply::Stream {
                    call_id,
                    events: Box::pin(events),
                })
            }
            Err(error) => {
                log.finish(error.status, Some(error.code), Usage::default(), None);
                if !self.record_call(log.call, None) {
                    return Err(GatewayError::metering_failed());
                }
                Err(error)
            }
        }
    }

    fn charge(&self, grant: &Grant, route: &Route, usage: Usage) {
        self.charge_call(&grant.token, route, usage.total());
    }

    async fn forward(
        &self,
        grant: &Grant,
        style: ApiStyle,
        body: &[u8],
        log: &mut CallLog,
    ) -> Result<Forwarded, GatewayError> {
        let request = CallRequest::parse(body)?;
        let now = self.clock.now();
        let route = grant.route(&request.model, now)?;
        log.routed(&route, request.stream);
        if route.style != style {
            return Err(GatewayError::wrong_style(route.style));
        }
        let permit = self.admit_call(&grant.token, &route).await?;
        let upstream_body = request.upstream_body(style, &route.target.upstream_model);
        let response = self.gateway.upstream.send(&route.target, upstream_body).await?;
        let status = response.status();
        if !(200..300).contains(&status) {
            let retry_after = response.retry_after();
            let bytes = response.error_body().await;
            return Err(map_status(status, retry_after, &bytes, route.target.scrubber()));
        }
        if request.stream {
            let rewriter = request.rewriter(
                style,
                &route.model,
                route.target.scrubber().clone(),
                route.target.limits,
            );
            return Ok(Forwarded::Stream {
                route,
                response: Box::new(response),
                rewriter: Box::new(rewriter),
                permit,
            });
        }
        // At most the connection's limit is read: past it the call ends here, recorded, with no transcript.
        let bytes = response.body().await.map_err(|e| e.error())?;
        let (body, usage) = rewrite_response(&bytes, &route.model, route.target.scrubber())?;
        Ok(Forwarded::Complete {
            route,
            body,
            usage,
            permit,
        })
    }
}

/// An upstream's successful answer, before it is recorded.
enum Forwarded {
    Complete {
        route: Arc<Route>,
        body: Bytes,
        usage: Usage,
        permit: CallPermit,
    },
    Stream {
        route: Arc<Route>,
        response: Box<UpstreamResponse>,
        rewriter: Box<StreamRewriter>,
        permit: CallPermit,
    },
}

/// A stream being relayed. Dropping it (the evaluator went away) drops the upstream response, which closes the
/// upstream connection, frees the concurrency slot, and records the call as cut short.
struct Relay {
    app: App,
    grant: Arc<Grant>,
    route: Arc<Route>,
    style: ApiStyle,
    response: Box<UpstreamResponse>,
    rewriter: Box<StreamRewriter>,
    /// What the transcript keeps of what was sent.
    copy: Option<ResponseCopy>,
    log: Option<CallLog>,
    _permit: CallPermit,
    pending: VecDeque<Bytes>,
    done: bool,
    ttft_ms: Option<f64>,
}

impl Relay {
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(bytes) = self.pending.pop_front() {
                return Some(bytes);
            }
            if self.done {
                return None;
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => {
                    let mut last = None;
                    for piece in self.rewriter.push(&chunk) {
                        match piece {
                            Relayed::Forward(bytes) => {
                                self.keep(&bytes);
                                self.pending.push_back(bytes);
                            }
                            Relayed::Drop => {}
                            Relayed::Last(bytes) => {
                                last = Some(Ok(bytes));
                                break;
                            }
                            // Over the connection's limits: the upstream is dropped with the stream.
                            Relayed::Fail(error) => {
                                last = Some(Err(error));
                                break;
                            }
                        }
                    }
                    if self.ttft_ms.is_none()
                        && self.rewriter.saw_content()
                        && let Some(log) = &self.log
                    {
                        self.ttft_ms = Some(log.started.elapsed().as_secs_f64() * 1000.0);
                    }
                    if let Some(last) = last {
                        self.finish(last).await;
                    }
                }
                Ok(None) => self.finish(Err(GatewayError::upstream_dropped())).await,
                Err(error) => self.finish(Err(error.error())).await,
            }
        }
    }

    fn keep(&mut self, bytes: &[u8]) {
        if let Some(copy) = &mut self.copy {
            copy.add(bytes);
        }
    }

    /// Ends the stream: records the call, and only then lets its last event go.
    async fn finish(&mut self, end: Result<Bytes, GatewayError>) {
        self.done = true;
        let usage = self.rewriter.usage;
        self.app.charge(&self.grant, &self.route, usage);
        let Some(mut log) = self.log.take() else {
            return;
        };
        let (status, code, last) = match end {
            Ok(last) => (200, None, last),
            Err(error) => (error.status, Some(error.code), stream_error(self.style, &error)),
        };
        self.keep(&last);
        log.finish(status, code, usage, self.ttft_ms);
        let transcript = if status == 200 {
            log.transcript(self.copy.take(), self.app.gateway.secret_box.as_ref())
        } else {
            None
        };
        if self.app.record_call(log.call, transcript) {
            self.pending.push_back(last);
        } else {
            self.pending
                .push_back(stream_error(self.style, &GatewayError::metering_failed()));
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(mut log) = self.log.take() {
            let usage = self.rewriter.usage;
            self.app.charge(&self.grant, &self.route, usage);
            log.finish(499, Some("client_closed"), usage, self.ttft_ms);
            self.app.record_call(log.call, None);
        }
    }
}
