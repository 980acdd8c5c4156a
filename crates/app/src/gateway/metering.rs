//! Metering: each call's record (and transcript, per the connection's retention) made as the call goes, and
//! written to this process's call journal before the call's answer is complete; the journal opened, settled
//! and closed. See `crate::journal` for how records reach the database.

use super::grants::{Grant, Route};
use crate::journal::{self, CallJournal};
use crate::{App, AppError, AppResult};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use gateway::{ApiStyle, Retention, SecretBox, Usage};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{GatewayCall, GatewayTranscript};
use uuid::Uuid;

/// How long a read of calls or usage waits for this process's records to reach the database.
const SETTLE_WAIT: Duration = Duration::from_secs(2);
/// How long a stopping server waits for its call records to reach the database.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

pub(super) fn transcript_context(call_id: Uuid) -> String {
    format!("transcript:{call_id}")
}

/// One call's record in the making.
pub(super) struct CallLog {
    pub(super) call: GatewayCall,
    pub(super) started: Instant,
    pub(super) retention: Retention,
    request: Bytes,
}

impl CallLog {
    pub(super) fn new(grant: &Grant, style: ApiStyle, started_at: DateTime<Utc>, request: Bytes) -> Self {
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

    pub(super) fn routed(&mut self, route: &Route, stream: bool) {
        self.call.connection_id = Some(route.connection_id);
        self.call.model = route.model.clone();
        self.call.stream = stream;
        self.retention = route.retention;
    }

    pub(super) fn finish(
        &mut self,
        status: u16,
        error_code: Option<&str>,
        usage: Usage,
        ttft_ms: Option<f64>,
    ) {
        self.call.status = i64::from(status);
        self.call.error_code = error_code.map(str::to_owned);
        self.call.input_tokens = usage.input_tokens.and_then(|n| i64::try_from(n).ok());
        self.call.output_tokens = usage.output_tokens.and_then(|n| i64::try_from(n).ok());
        self.call.latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        self.call.ttft_ms = ttft_ms;
    }

    /// The transcript the connection's retention asks for, of the response as the evaluator received it
    /// (scrubbed, and no larger than the connection's limits allow).
    pub(super) fn transcript(
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
pub(super) struct ResponseCopy {
    digest: Sha256,
    text: Option<Vec<u8>>,
}

impl ResponseCopy {
    pub(super) fn new(retention: Retention) -> Option<Self> {
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

    pub(super) fn add(&mut self, bytes: &[u8]) {
        self.digest.update(bytes);
        if let Some(text) = &mut self.text {
            text.extend_from_slice(bytes);
        }
    }
}

impl App {
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
    pub(crate) async fn settle_calls(&self) {
        if let Some(journal) = self.gateway.journal.get()
            && !journal.settle(SETTLE_WAIT).await
        {
            tracing::warn!("call records are slow to reach the database; usage shown may lag");
        }
    }

    /// Records a call; once this returns true, the record survives the process.
    pub(super) fn record_call(&self, call: GatewayCall, transcript: Option<GatewayTranscript>) -> bool {
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
}
