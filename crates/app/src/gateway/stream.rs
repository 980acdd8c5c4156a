//! A streamed call being relayed: the upstream's events cut, rewritten, scrubbed and passed on as they
//! complete; the call recorded before its last event goes; the call recorded as cut short when the reader goes
//! away.

use super::grants::{Grant, Route};
use super::limits::CallPermit;
use super::metering::{CallLog, ResponseCopy};
use crate::App;
use bytes::Bytes;
use gateway::relay::stream_error;
use gateway::upstream::Response as UpstreamResponse;
use gateway::{ApiStyle, GatewayError, Relayed, StreamRewriter};
use std::collections::VecDeque;
use std::sync::Arc;

/// A stream being relayed. Dropping it (the evaluator went away) drops the upstream response, which closes the
/// upstream connection, frees the concurrency slot, and records the call as cut short.
pub(super) struct Relay {
    pub(super) app: App,
    pub(super) grant: Arc<Grant>,
    pub(super) route: Arc<Route>,
    pub(super) style: ApiStyle,
    pub(super) response: Box<UpstreamResponse>,
    pub(super) rewriter: Box<StreamRewriter>,
    /// What the transcript keeps of what was sent.
    pub(super) copy: Option<ResponseCopy>,
    pub(super) log: Option<CallLog>,
    pub(super) _permit: CallPermit,
    pub(super) pending: VecDeque<Bytes>,
    pub(super) done: bool,
    pub(super) ttft_ms: Option<f64>,
}

impl Relay {
    pub(super) async fn next(&mut self) -> Option<Bytes> {
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
