//! The model access gateway's operations, by concern:
//!
//! - `grants`: what a gateway token reaches, and the in-process cache of it;
//! - `connections`: the developer's model connections;
//! - `tokens`: the evaluators' gateway tokens;
//! - `call` (and `stream`, for streamed answers): the calls themselves, and the in-process API to them;
//! - `limits`: the limits per evaluator and per agency in this process;
//! - `metering`: each call's record, journalled before its answer completes;
//! - `usage`: reading calls and usage back;
//! - `keys`: the master key that seals connections' secrets and transcripts.
//!
//! The hot path (`App::gateway_call`) asks the database nothing in the common case: a token's grant (token,
//! holder, assignment, notice dates, the developer's standing, connections with their secrets opened) is cached
//! in this process for `GRANT_TTL` of the injected clock, and every time-dependent rule is decided afresh on
//! each call with it. Changes made through this process (revoking, unassigning, moving or withdrawing, changing
//! a connection, deactivating a person or an organisation) clear the cache at once; changes made through
//! another process take effect within `GRANT_TTL`. The limits (`limits`) lease shares of shared budgets from
//! the database now and then, not per call.
//!
//! Every call that presents a valid token is recorded, whatever its outcome. See the `gateway` crate's docs for
//! why the record is journalled before the response completes, and how it reaches the database.

mod call;
mod connections;
mod grant_cache;
mod grants;
mod keys;
mod limits;
mod metering;
mod stream;
mod tokens;
mod usage;

pub use call::{ChatMessage, ChatRequest, GatewayKey, GatewayReply, GatewayRequest, Role};
pub use connections::{ConnectionInput, ConnectionView};
pub use limits::LEASE_WAIT;
pub use tokens::{GatewayModel, GatewayTokenView, MAX_GATEWAY_TOKEN_DAYS};
pub use usage::{CallView, DayUsage, EvaluatorUsage, TranscriptView, UsageTotals, UsageView};

use crate::journal::CallJournal;
use crate::{App, AppError, AppResult};
use gateway::egress::Egress;
use gateway::{GatewayError, MasterKey, SecretBox, Upstream};
use grant_cache::GrantCache;
use grants::{GRANT_CACHE_SWEEP, GRANT_TTL, Grant, GrantKey, Route};
use limits::CallLimits;
use std::sync::{Arc, OnceLock};

/// The largest request body the gateway accepts (long prompts are welcome; the API's limit is far smaller).
pub const GATEWAY_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The gateway's in-process state, shared by every clone of the `App`.
pub struct Gateway {
    secret_box: Option<SecretBox>,
    upstream: Upstream,
    limits: CallLimits,
    grants: GrantCache<GrantKey, Grant>,
    journal: OnceLock<Arc<CallJournal>>,
}

impl Gateway {
    pub fn new(key: Option<&MasterKey>, egress: Egress) -> Self {
        Gateway {
            secret_box: key.map(SecretBox::new),
            upstream: Upstream::new(egress),
            limits: CallLimits::new(),
            grants: GrantCache::new(GRANT_TTL, GRANT_CACHE_SWEEP),
            journal: OnceLock::new(),
        }
    }

    /// Forgets every cached grant, after a change that may withdraw access.
    pub fn forget_grants(&self) {
        self.grants.clear();
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
}

/// Runs `work` every `period` (a late round delays the next) for as long as `gateway` exists; the task holds
/// the gateway only while a round runs, so that dropping the last `App` ends it.
fn every_while_alive<F, Fut>(gateway: &Arc<Gateway>, period: std::time::Duration, mut work: F)
where
    F: FnMut(Arc<Gateway>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let gateway = Arc::downgrade(gateway);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let Some(gateway) = gateway.upgrade() else {
                return;
            };
            work(gateway).await;
        }
    });
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
}
