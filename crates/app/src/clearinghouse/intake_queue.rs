//! Intake files reports in groups: the reports that arrive while a group is being written wait, and the next
//! group takes all of them (up to `MAX_GROUP`) in one store transaction (`ReportStore::file_each`), whose
//! statements are per group rather than per report. Alone, a report is a group of one and waits for nothing;
//! under a flood, the groups grow and the cost per report falls. Each report keeps its own outcome: one a limit
//! refuses, or one whose rows the database rejects, fails alone.
//!
//! At most `Config::intake_queue_limit` reports wait; one more is refused as busy (503 with `Retry-After`).
//!
//! One task per process files the groups, started by the first report that finds none running and ending when
//! nothing waits. A group's transaction writes its reports' STIX objects and its cases' with them (one commit);
//! each report's caller then gets its answer while the next group is filed.

use super::reports::{Prepared, batch_of};
use crate::{App, AppError, AppResult};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use store::{Filed, LimitReached};
use tokio::sync::oneshot;

/// The most reports one group files.
pub const MAX_GROUP: usize = 20;

/// The most reports that wait to be filed (`Config::intake_queue_limit`): about two seconds of intake at its
/// rate on SQLite. A report that finds the queue full is refused at once (503, retry after
/// `QUEUE_FULL_RETRY_SECONDS`) rather than held in memory for as long as a flood lasts.
pub const QUEUE_LIMIT: usize = 1_024;

/// When a report the full queue refused may be sent again.
pub const QUEUE_FULL_RETRY_SECONDS: i64 = 1;

type Outcome = AppResult<Result<Filed, LimitReached>>;

struct Waiting {
    prepared: Prepared,
    reply: oneshot::Sender<(Prepared, Outcome)>,
}

#[derive(Default)]
struct State {
    waiting: VecDeque<Waiting>,
    /// Whether a task is filing groups.
    filing: bool,
}

/// The reports waiting to be filed (one per `App` and its clones).
#[derive(Default)]
pub struct IntakeQueue {
    state: Mutex<State>,
    /// Taken by the filing task before each group: whoever holds it (`App::hold_intake`) makes reports wait.
    hold: tokio::sync::Mutex<()>,
    groups: AtomicU64,
    filed: AtomicU64,
    largest: AtomicU64,
}

/// How intake grouped the reports it filed since the process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeGroups {
    /// Groups filed (a report filed alone is a group of one).
    pub groups: u64,
    /// Reports in them, refused ones included.
    pub reports: u64,
    pub largest: u64,
}

impl IntakeQueue {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while the lock was held left nothing half-changed worth refusing to read.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Marks the queue as not being filed when the filing task ends, however it ends; a task that panicked drops
/// the reports still waiting, so that their callers get an error rather than wait for ever.
struct Filing<'a>(&'a IntakeQueue);

impl Drop for Filing<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.filing = false;
        if std::thread::panicking() {
            state.waiting.clear();
        }
    }
}

impl App {
    /// Makes the reports filed from now on wait until the guard is dropped, then go as one group (for tests of
    /// grouping, and for maintenance that needs intake paused).
    pub async fn hold_intake(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.intake_queue.hold.lock().await
    }

    /// How many reports wait to be filed.
    pub fn intake_waiting(&self) -> usize {
        self.intake_queue.state().waiting.len()
    }

    pub fn intake_groups(&self) -> IntakeGroups {
        let q = &self.intake_queue;
        IntakeGroups {
            groups: q.groups.load(Ordering::Relaxed),
            reports: q.filed.load(Ordering::Relaxed),
            largest: q.largest.load(Ordering::Relaxed),
        }
    }

    /// Files a prepared report with the others waiting, and answers with it and what became of it.
    pub(super) async fn file_queued(
        &self,
        prepared: Prepared,
    ) -> AppResult<(Prepared, Result<Filed, LimitReached>)> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut state = self.intake_queue.state();
            let limit = self.config.intake_queue_limit;
            if state.waiting.len() >= limit {
                return Err(AppError::Busy {
                    retry_after: QUEUE_FULL_RETRY_SECONDS,
                    detail: format!(
                        "intake is busy: {limit} reports are waiting to be filed, as many as it holds; this \
                         report was not filed; send it again in {QUEUE_FULL_RETRY_SECONDS} second"
                    ),
                });
            }
            state.waiting.push_back(Waiting { prepared, reply });
            !std::mem::replace(&mut state.filing, true)
        };
        if start {
            let app = self.clone();
            tokio::spawn(async move { app.file_waiting().await });
        }
        let (prepared, outcome) = answer
            .await
            .map_err(|_| AppError::corrupt("intake ended without an answer for the report"))?;
        Ok((prepared, outcome?))
    }

    /// Files groups until nothing waits.
    async fn file_waiting(&self) {
        let _filing = Filing(&self.intake_queue);
        loop {
            let _held = self.intake_queue.hold.lock().await;
            let group: Vec<Waiting> = {
                let mut state = self.intake_queue.state();
                let n = state.waiting.len().min(MAX_GROUP);
                if n == 0 {
                    return;
                }
                state.waiting.drain(..n).collect()
            };
            self.file_group(group).await;
        }
    }

    async fn file_group(&self, mut group: Vec<Waiting>) {
        let q = &self.intake_queue;
        let size = u64::try_from(group.len()).unwrap_or(u64::MAX);
        q.groups.fetch_add(1, Ordering::Relaxed);
        q.filed.fetch_add(size, Ordering::Relaxed);
        q.largest.fetch_max(size, Ordering::Relaxed);
        // The settings in force, read once for the group.
        let settings = match self.intake_settings().await {
            Ok(settings) => settings,
            Err(e) => {
                tracing::error!(error = ?e, "reading the intake settings failed");
                for w in group {
                    let _ = w.reply.send((
                        w.prepared,
                        Err(AppError::corrupt("the intake settings could not be read")),
                    ));
                }
                return;
            }
        };
        for w in &mut group {
            w.prepared.settle(&settings);
        }
        let prepared: Vec<&Prepared> = group.iter().map(|w| &w.prepared).collect();
        let outcomes: Vec<Outcome> = match self.store_group(&prepared).await {
            Ok(filed) => filed.into_iter().map(Ok).collect(),
            // The group failed as a whole (a report whose rows the database rejects, say): each on its own,
            // so that the failure is that report's alone.
            Err(e) if group.len() > 1 => {
                tracing::warn!(error = ?e, reports = group.len(), "an intake group failed; filing its reports one by one");
                let mut each = Vec::with_capacity(group.len());
                for p in &prepared {
                    each.push(match self.store_group(&[p]).await {
                        Ok(mut one) => one.pop().ok_or_else(|| AppError::corrupt("intake filed nothing")),
                        Err(e) => Err(e),
                    });
                }
                each
            }
            Err(e) => vec![Err(e)],
        };
        drop(prepared);
        for (w, outcome) in group.into_iter().zip(outcomes) {
            // A caller that went away no longer wants the answer; its report is filed all the same.
            let _ = w.reply.send((w.prepared, outcome));
        }
    }

    async fn store_group(&self, prepared: &[&Prepared]) -> AppResult<Vec<Result<Filed, LimitReached>>> {
        let batch = batch_of(prepared.iter().copied());
        let export = super::stix_export::FiledStix::new(prepared, self.clock.now());
        Ok(self.store.file_each(&batch, &export).await?)
    }
}
