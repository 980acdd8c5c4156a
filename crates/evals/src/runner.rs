//! Running a task's samples × epochs: in a fixed order, many at once, each under its time limit, through a
//! managed model ([`crate::control`]), each result handed to a sink as it ends. A run can be cancelled; it stops at
//! once when access to the model ends. Work already done (a resumed run) is simply not given to [`run`] again:
//! results depend only on the sample, its epoch and the seeds, never on which process ran them or when.

use crate::control::{Control, Managed, RetryPolicy};
use crate::metrics::{Summary, Z_95, wilson};
use crate::model::{Model, ModelError};
use crate::sample::{Sample, SampleId, Target};
use crate::solve::{Attempt, Plan, Tools, solve};
use async_trait::async_trait;
use futures_util::future::{Fuse, FusedFuture, FutureExt};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::pin::pin;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// One unit of work: a sample (by its position in the dataset) in one epoch (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WorkItem {
    pub index: usize,
    pub epoch: u32,
}

/// Every item of a run in its fixed order: sample by sample, each sample's epochs together.
pub fn work_items(samples: usize, epochs: u32) -> Vec<WorkItem> {
    (0..samples)
        .flat_map(|index| (1..=epochs).map(move |epoch| WorkItem { index, epoch }))
        .collect()
}

/// What a sample needs to run: its target (a fresh flag when the challenge asks for one) and, for agents, tools
/// in its own sandbox. Dropping it releases the sandbox.
pub struct Prepared {
    pub target: Target,
    pub tools: Option<Box<dyn Tools>>,
}

/// Makes samples ready: starts their sandboxes, places their files and flags.
#[async_trait]
pub trait Environment: Send + Sync {
    async fn prepare(&self, sample: &Sample, item: WorkItem) -> Result<Prepared, String>;
}

/// Samples that need nothing but the model.
pub struct NoSandbox;

#[async_trait]
impl Environment for NoSandbox {
    async fn prepare(&self, sample: &Sample, _: WorkItem) -> Result<Prepared, String> {
        Ok(Prepared {
            target: sample.target.clone(),
            tools: None,
        })
    }
}

/// A sample's epoch as it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    pub item: WorkItem,
    pub sample_id: SampleId,
    /// The target it was scored against (a fresh flag is recorded here).
    pub target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<Attempt>,
    /// Why it has no score: its sandbox did not start, its time ran out, the model refused, or calls kept failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub seconds: f64,
}

impl SampleRecord {
    /// The value its metrics count; `None` for an error.
    pub fn value(&self) -> Option<f64> {
        if self.error.is_some() {
            return None;
        }
        self.attempt.as_ref()?.score.as_ref().map(|s| s.value.as_f64())
    }
}

/// Takes each record as it ends (to a database, a log file, a terminal).
#[async_trait]
pub trait Sink: Send + Sync {
    async fn record(&self, record: SampleRecord) -> Result<(), String>;
}

/// How a run goes.
#[derive(Debug, Clone, Copy)]
pub struct RunConfig {
    /// Samples in progress at once (each may make several calls).
    pub samples_at_once: usize,
    /// Calls to the model in flight: where the adaptive limit starts, and its ceiling.
    pub calls_initial: usize,
    pub calls_max: usize,
    pub retry: RetryPolicy,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            samples_at_once: 64,
            calls_initial: 16,
            calls_max: 256,
            retry: RetryPolicy::default(),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum RunEnd {
    Completed,
    Cancelled,
    /// The model may no longer be used (the evaluator's access ended): samples not yet ended are not recorded.
    AccessEnded(String),
    /// A result could not be kept: the run stops rather than lose it.
    SinkFailed(String),
}

/// The state of a run, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Progress {
    pub total: usize,
    pub done: usize,
    pub errors: usize,
    /// The sum of the scored values, for accuracy so far.
    pub score_sum: f64,
    pub scored: usize,
    pub elapsed: Duration,
    /// Calls answered 429 so far, and the current concurrency limit.
    pub throttled: u64,
    pub concurrency: usize,
}

impl Progress {
    /// Accuracy so far with its 95% Wilson interval, once something is scored.
    pub fn accuracy(&self) -> Option<(f64, f64, f64)> {
        (self.scored > 0).then(|| {
            let p = self.score_sum / self.scored as f64;
            let (low, high) = wilson(p, self.scored, Z_95);
            (p, low, high)
        })
    }

    /// Items ended per second.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.done as f64 / secs } else { 0.0 }
    }

    /// Time left at the current rate.
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.rate();
        (rate > 0.0).then(|| Duration::from_secs_f64((self.total - self.done) as f64 / rate))
    }
}

/// What a run shares with each sample it runs.
pub struct Run<'a> {
    pub plan: &'a Plan,
    pub samples: &'a [Sample],
    pub model: &'a dyn Model,
    pub grader: Option<&'a dyn Model>,
    pub environment: &'a dyn Environment,
    pub sink: &'a dyn Sink,
    pub config: RunConfig,
}

/// Runs `items` (in their order, many at once); `cancel` turning true stops starting new ones and drops those in
/// progress (those already ended are still handed to the sink). `progress` is told after each record.
pub async fn run(
    run: &Run<'_>,
    items: &[WorkItem],
    mut cancel: watch::Receiver<bool>,
    progress: &(dyn Fn(&Progress) + Sync),
) -> RunEnd {
    let control = Control::new(run.config.calls_initial, run.config.calls_max);
    let managed = Managed {
        model: run.model,
        control: &control,
        retry: run.config.retry,
    };
    let grader = run.grader.map(|g| Managed {
        model: g,
        control: &control,
        retry: run.config.retry,
    });
    let started = Instant::now();
    let mut state = Progress {
        total: items.len(),
        done: 0,
        errors: 0,
        score_sum: 0.0,
        scored: 0,
        elapsed: Duration::ZERO,
        throttled: 0,
        concurrency: control.limit(),
    };
    let mut pending = items.iter();
    let mut running = FuturesUnordered::new();
    // Ended items wait here for the sink, which takes one at a time. Its write is polled together with the
    // items in progress, never instead of them: an item left unpolled could hold what the write waits for (a
    // database connection the pool handed to it, say), and then neither would go on.
    let mut ended: VecDeque<SampleRecord> = VecDeque::new();
    let mut writing = pin!(Fuse::terminated());
    loop {
        let stopping = *cancel.borrow();
        if stopping {
            // Those in progress are dropped; those that ended are still written below before the run ends.
            running.clear();
        }
        while running.len() + ended.len() < run.config.samples_at_once.max(1) && !stopping {
            let Some(item) = pending.next() else { break };
            let grader = grader.as_ref().map(|g| g as &dyn Model);
            running.push(one(run, *item, &managed, grader));
        }
        if writing.is_terminated() {
            match ended.pop_front() {
                Some(record) => writing.set(write(run.sink, record).fuse()),
                None if running.is_empty() => {
                    return if stopping {
                        RunEnd::Cancelled
                    } else {
                        RunEnd::Completed
                    };
                }
                None => {}
            }
        }
        let event = tokio::select! {
            biased;
            _ = cancelled(&mut cancel), if !stopping => None,
            written = &mut writing => Some(Ok(written)),
            Some(out) = running.next() => Some(Err(out)),
        };
        match event {
            None => continue,
            Some(Ok(written)) => {
                if let Err(e) = recorded(&mut state, written) {
                    return RunEnd::SinkFailed(e);
                }
            }
            Some(Err(Ok(record))) => {
                ended.push_back(record);
                continue;
            }
            Some(Err(Err(reason))) => return RunEnd::AccessEnded(reason),
        }
        state.elapsed = started.elapsed();
        state.throttled = control.throttled();
        state.concurrency = control.limit();
        progress(&state);
    }
}

/// Hands one record to the sink; the record's value (`None` for an error) comes back with the outcome.
async fn write(sink: &dyn Sink, record: SampleRecord) -> (Option<f64>, Result<(), String>) {
    let value = record.value();
    (value, sink.record(record).await)
}

/// Counts a record the sink took into `state`.
fn recorded(state: &mut Progress, (value, written): (Option<f64>, Result<(), String>)) -> Result<(), String> {
    written?;
    state.done += 1;
    match value {
        Some(v) => {
            state.scored += 1;
            state.score_sum += v;
        }
        None => state.errors += 1,
    }
    Ok(())
}

/// Returns once `cancel` is true; never if its sender is gone without cancelling.
async fn cancelled(cancel: &mut watch::Receiver<bool>) {
    if cancel.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// One item: prepared, solved within its time limit, recorded. `Err` only when access to the model ended.
async fn one(
    run: &Run<'_>,
    item: WorkItem,
    model: &dyn Model,
    grader: Option<&dyn Model>,
) -> Result<SampleRecord, String> {
    let started = Instant::now();
    let Some(sample) = run.samples.get(item.index) else {
        return Err(format!("no sample at position {}", item.index));
    };
    let mut record = SampleRecord {
        item,
        sample_id: sample.id.clone(),
        target: sample.target.clone(),
        attempt: None,
        error: None,
        seconds: 0.0,
    };
    let limit = run
        .plan
        .spec
        .limits
        .seconds
        .map(|s| Duration::from_secs(u64::from(s)));
    let work = async {
        let prepared = run
            .environment
            .prepare(sample, item)
            .await
            .map_err(|e| Ok(format!("the sandbox did not start: {e}")))?;
        let tools = prepared.tools.as_deref();
        let outcome = solve(run.plan, sample, &prepared.target, model, grader, tools).await;
        Ok::<_, Result<String, String>>((prepared.target.clone(), outcome))
    };
    let ended = match limit {
        Some(limit) => tokio::time::timeout(limit, work)
            .await
            .unwrap_or_else(|_| Err(Ok(format!("the time limit of {} s was reached", limit.as_secs())))),
        None => work.await,
    };
    match ended {
        Ok((target, Ok(attempt))) => {
            record.target = target;
            record.error = attempt.error.clone();
            record.attempt = Some(attempt);
        }
        Ok((_, Err(ModelError::AccessEnded(reason)))) => return Err(reason),
        Ok((_, Err(e))) => record.error = Some(e.to_string()),
        Err(Ok(reason)) => record.error = Some(reason),
        Err(Err(reason)) => return Err(reason),
    }
    record.seconds = started.elapsed().as_secs_f64();
    Ok(record)
}

/// A task's results: per reducer, the summary over samples (each sample's epochs reduced first), and per
/// grouping field, the summary of each of its values under the first reducer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub samples: usize,
    pub completed: usize,
    pub errors: usize,
    pub reducers: Vec<Reduced>,
    pub groups: Vec<Grouping>,
}

/// The summary under one reducer (none when no sample has a value under it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reduced {
    pub reducer: String,
    pub summary: Option<Summary>,
}

/// The summaries of each value of one metadata field (`None`: samples without it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grouping {
    pub field: String,
    pub groups: Vec<(Option<String>, Summary)>,
}

/// Summarises `records` of `plan` over `samples`. Errored epochs are left out of every metric and counted.
pub fn summarize(plan: &Plan, samples: &[Sample], records: &[SampleRecord]) -> Results {
    let mut epochs: Vec<Vec<f64>> = vec![Vec::new(); samples.len()];
    let mut errors = 0;
    for record in records {
        match (record.value(), epochs.get_mut(record.item.index)) {
            (Some(v), Some(list)) => list.push(v),
            _ => errors += 1,
        }
    }
    let reducers = plan.spec.parsed_reducers();
    let reduce = |reducer: &crate::metrics::Reducer| -> Vec<Option<f64>> {
        epochs.iter().map(|e| reducer.reduce(e)).collect()
    };
    let summaries = reducers
        .iter()
        .map(|r| {
            let values: Vec<f64> = reduce(r).into_iter().flatten().collect();
            Reduced {
                reducer: r.name(),
                summary: Summary::of(&values),
            }
        })
        .collect();
    let headline = reducers.first().map(reduce).unwrap_or_default();
    let groups = plan
        .spec
        .group_by
        .iter()
        .map(|field| {
            let keyed: Vec<(Option<String>, f64)> = samples
                .iter()
                .zip(&headline)
                .filter_map(|(s, v)| v.map(|v| (s.metadata_text(field), v)))
                .collect();
            let grouped = crate::metrics::grouped(keyed.iter().map(|(k, v)| (k.as_deref(), *v)));
            Grouping {
                field: field.clone(),
                groups: grouped.into_iter().collect(),
            }
        })
        .collect();
    Results {
        samples: samples.len(),
        completed: records.len() - errors,
        errors,
        reducers: summaries,
        groups,
    }
}

#[cfg(test)]
mod tests;
