//! Usage: what was called, as each reader may see it — totals by day and by evaluator, the calls one by one,
//! and a call's retained transcript. Every read first lets this process's pending call records reach the
//! database.

use super::metering::transcript_context;
use crate::page::{PageRequest, Paged, paginate};
use crate::policy::{self, GatewayScope};
use crate::{App, AppError, AppResult, Caller};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use store::{CallQuery, GatewayCall, Page};
use uuid::Uuid;

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

impl App {
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
}
