use super::*;
use crate::model::{GenerateRequest, ModelOutput, StopReason, Usage};
use crate::sample::Input;
use crate::task::TaskFile;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scripted upstream (outside us): sample `q<n>` is answered right when n is even; it can throttle its first
/// calls, stall on one question, or end access after some calls.
struct Upstream {
    calls: AtomicUsize,
    throttle_first: usize,
    stall_on: Option<&'static str>,
    end_after: Option<usize>,
}

impl Upstream {
    fn new() -> Self {
        Upstream {
            calls: AtomicUsize::new(0),
            throttle_first: 0,
            stall_on: None,
            end_after: None,
        }
    }
}

#[async_trait]
impl Model for Upstream {
    fn name(&self) -> &str {
        "upstream"
    }

    async fn generate(&self, request: &GenerateRequest) -> Result<ModelOutput, ModelError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if call < self.throttle_first {
            return Err(ModelError::RateLimited {
                retry_after: Some(Duration::from_millis(100)),
            });
        }
        if self.end_after.is_some_and(|n| call >= n) {
            return Err(ModelError::AccessEnded("the evaluator was unassigned".into()));
        }
        let question = request
            .messages
            .last()
            .map(|m| m.text_content())
            .unwrap_or_default();
        if self.stall_on == Some(question.as_str()) {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        let n: usize = question.trim_start_matches('q').parse().unwrap_or(1);
        let answer = if n.is_multiple_of(2) { "right" } else { "wrong" };
        Ok(ModelOutput {
            completion: answer.into(),
            tool_calls: vec![],
            usage: Usage {
                input_tokens: 3,
                output_tokens: 1,
            },
            stop_reason: StopReason::Stop,
        })
    }
}

#[derive(Default)]
struct Kept {
    records: Mutex<Vec<SampleRecord>>,
    fail_after: Option<usize>,
}

#[async_trait]
impl Sink for Kept {
    async fn record(&self, record: SampleRecord) -> Result<(), String> {
        let mut records = self.records.lock().unwrap();
        if self.fail_after.is_some_and(|n| records.len() >= n) {
            return Err("the disk is full".into());
        }
        records.push(record);
        Ok(())
    }
}

impl Kept {
    fn taken(&self) -> Vec<SampleRecord> {
        let mut records = self.records.lock().unwrap().clone();
        records.sort_by_key(|r| r.item);
        records
    }
}

fn samples(n: usize) -> Vec<Sample> {
    (0..n)
        .map(|i| Sample {
            id: SampleId::Int(i as i64 + 1),
            input: Input::Text(format!("q{i}")),
            target: Target::One("right".into()),
            choices: None,
            metadata: json!({"level": if i < n / 2 { "easy" } else { "hard" }})
                .as_object()
                .cloned(),
            files: None,
            setup: None,
        })
        .collect()
}

fn plan(extra: &str) -> Plan {
    Plan::new(TaskFile::parse(&format!("name = \"t\"\ndataset = \"d.jsonl\"\n{extra}")).unwrap()).unwrap()
}

fn no_progress(_: &Progress) {}

fn never() -> watch::Receiver<bool> {
    let (sender, receiver) = watch::channel(false);
    std::mem::forget(sender);
    receiver
}

#[tokio::test(start_paused = true)]
async fn every_item_runs_once_and_is_summarised() {
    let plan = plan("epochs = 2\nreducers = [\"mean\", \"pass_at_2\"]\ngroup_by = [\"level\"]\n");
    let samples = samples(50);
    let upstream = Upstream::new();
    let sink = Kept::default();
    let run_ = Run {
        plan: &plan,
        samples: &samples,
        model: &upstream,
        grader: None,
        environment: &NoSandbox,
        sink: &sink,
        config: RunConfig {
            samples_at_once: 8,
            ..RunConfig::default()
        },
    };
    let items = work_items(samples.len(), 2);
    assert_eq!(
        items[..3],
        [
            WorkItem { index: 0, epoch: 1 },
            WorkItem { index: 0, epoch: 2 },
            WorkItem { index: 1, epoch: 1 }
        ]
    );
    let last = Mutex::new(None);
    let end = run(&run_, &items, never(), &|p| *last.lock().unwrap() = Some(*p)).await;
    assert_eq!(end, RunEnd::Completed);
    let records = sink.taken();
    let seen: BTreeSet<WorkItem> = records.iter().map(|r| r.item).collect();
    assert_eq!((records.len(), seen.len()), (100, 100), "each item exactly once");
    let last = last.lock().unwrap().unwrap();
    assert_eq!((last.done, last.errors, last.scored), (100, 0, 100));
    assert_eq!(last.accuracy().unwrap().0, 0.5);
    let results = summarize(&plan, &samples, &records);
    assert_eq!((results.samples, results.completed, results.errors), (50, 100, 0));
    let (name, mean) = (&results.reducers[0].reducer, &results.reducers[0].summary);
    assert_eq!(
        (name.as_str(), mean.unwrap().accuracy, mean.unwrap().n),
        ("mean", 0.5, 50)
    );
    assert_eq!(results.reducers[1].reducer, "pass_at_2");
    // Groups: the first 25 samples are "easy" (13 even indexes right), the rest "hard" (12).
    let (field, groups) = (&results.groups[0].field, &results.groups[0].groups);
    assert_eq!(field, "level");
    let easy = groups
        .iter()
        .find(|(k, _)| k.as_deref() == Some("easy"))
        .unwrap()
        .1;
    assert_eq!((easy.n, easy.accuracy), (25, 13.0 / 25.0));
}

#[tokio::test(start_paused = true)]
async fn a_run_cancelled_and_resumed_gives_the_same_results() {
    let plan = plan("epochs = 3\n");
    let samples = samples(40);
    let items = work_items(samples.len(), 3);
    let config = RunConfig {
        samples_at_once: 6,
        ..RunConfig::default()
    };
    let whole = Kept::default();
    let upstream = Upstream::new();
    let r = Run {
        plan: &plan,
        samples: &samples,
        model: &upstream,
        grader: None,
        environment: &NoSandbox,
        sink: &whole,
        config,
    };
    assert_eq!(run(&r, &items, never(), &no_progress).await, RunEnd::Completed);

    let first = Kept::default();
    let (cancel, cancelled) = watch::channel(false);
    let r = Run { sink: &first, ..r };
    let stop = |p: &Progress| {
        if p.done == 37 {
            cancel.send_replace(true);
        }
    };
    assert_eq!(run(&r, &items, cancelled, &stop).await, RunEnd::Cancelled);
    let done: BTreeSet<WorkItem> = first.taken().iter().map(|rec| rec.item).collect();
    assert_eq!(
        done.len(),
        37,
        "what ended before the cancel is kept, nothing after"
    );
    let rest: Vec<WorkItem> = items.iter().copied().filter(|i| !done.contains(i)).collect();
    let second = Kept::default();
    let r = Run { sink: &second, ..r };
    assert_eq!(run(&r, &rest, never(), &no_progress).await, RunEnd::Completed);
    let mut resumed = first.taken();
    resumed.extend(second.taken());
    resumed.sort_by_key(|rec| rec.item);
    let essence = |records: &[SampleRecord]| -> Vec<(WorkItem, Option<f64>, String)> {
        records
            .iter()
            .map(|r| (r.item, r.value(), r.attempt.as_ref().unwrap().answer.clone()))
            .collect()
    };
    assert_eq!(essence(&resumed), essence(&whole.taken()));
    assert_eq!(
        summarize(&plan, &samples, &resumed),
        summarize(&plan, &samples, &whole.taken())
    );
}

#[tokio::test(start_paused = true)]
async fn ends_time_limits_throttling_and_failures() {
    let samples = samples(20);
    let items = work_items(samples.len(), 1);
    let config = RunConfig {
        samples_at_once: 4,
        calls_initial: 4,
        calls_max: 4,
        ..RunConfig::default()
    };

    // Access ends after 10 calls: the run stops, nothing after is recorded.
    let plan_ = plan("");
    let upstream = Upstream {
        end_after: Some(10),
        ..Upstream::new()
    };
    let sink = Kept::default();
    let r = Run {
        plan: &plan_,
        samples: &samples,
        model: &upstream,
        grader: None,
        environment: &NoSandbox,
        sink: &sink,
        config,
    };
    assert_eq!(
        run(&r, &items, never(), &no_progress).await,
        RunEnd::AccessEnded("the evaluator was unassigned".into())
    );
    assert!(sink.taken().len() <= 10);

    // A stalled sample ends at its time limit as an error; the others complete.
    let timed = plan("[limits]\nseconds = 5\n");
    let upstream = Upstream {
        stall_on: Some("q3"),
        ..Upstream::new()
    };
    let sink = Kept::default();
    let r = Run {
        plan: &timed,
        model: &upstream,
        sink: &sink,
        ..r
    };
    assert_eq!(run(&r, &items, never(), &no_progress).await, RunEnd::Completed);
    let records = sink.taken();
    assert_eq!(records.len(), 20);
    assert_eq!(
        records[3].error.as_deref(),
        Some("the time limit of 5 s was reached")
    );
    assert_eq!(records.iter().filter(|r| r.error.is_some()).count(), 1);

    // 30 answers of 429 first: every sample still completes, and the limit came down.
    let upstream = Upstream {
        throttle_first: 30,
        ..Upstream::new()
    };
    let sink = Kept::default();
    let last = Mutex::new(None);
    let r = Run {
        plan: &plan_,
        model: &upstream,
        sink: &sink,
        ..r
    };
    assert_eq!(
        run(&r, &items, never(), &|p| *last.lock().unwrap() = Some(*p)).await,
        RunEnd::Completed
    );
    assert_eq!(sink.taken().iter().filter(|r| r.error.is_none()).count(), 20);
    let last = last.lock().unwrap().unwrap();
    assert_eq!(last.throttled, 30);

    // A sandbox that does not start: that sample errs, named.
    struct Broken;
    #[async_trait]
    impl Environment for Broken {
        async fn prepare(&self, sample: &Sample, _: WorkItem) -> Result<Prepared, String> {
            if sample.id == SampleId::Int(2) {
                Err("bubblewrap is not installed".into())
            } else {
                NoSandbox.prepare(sample, WorkItem { index: 0, epoch: 1 }).await
            }
        }
    }
    let upstream = Upstream::new();
    let sink = Kept::default();
    let r = Run {
        model: &upstream,
        sink: &sink,
        environment: &Broken,
        ..r
    };
    assert_eq!(run(&r, &items, never(), &no_progress).await, RunEnd::Completed);
    assert_eq!(
        sink.taken()[1].error.as_deref(),
        Some("the sandbox did not start: bubblewrap is not installed")
    );

    // A sink that fails stops the run.
    let sink = Kept {
        fail_after: Some(5),
        ..Kept::default()
    };
    let r = Run {
        sink: &sink,
        environment: &NoSandbox,
        ..r
    };
    assert_eq!(
        run(&r, &items, never(), &no_progress).await,
        RunEnd::SinkFailed("the disk is full".into())
    );
}

/// The model and the sink share one scarce thing, as calls through the gateway and result writes share the
/// database pool. A sample handed it while the sink waits must still be polled, or neither goes on.
#[tokio::test(start_paused = true)]
async fn a_sink_waiting_for_what_a_sample_was_handed_does_not_stall_the_run() {
    struct Holding {
        upstream: Upstream,
        scarce: std::sync::Arc<tokio::sync::Semaphore>,
    }
    #[async_trait]
    impl Model for Holding {
        fn name(&self) -> &str {
            "holding"
        }
        async fn generate(&self, request: &GenerateRequest) -> Result<ModelOutput, ModelError> {
            let _held = self.scarce.acquire().await.unwrap();
            self.upstream.generate(request).await
        }
    }
    struct Waiting {
        kept: Kept,
        scarce: std::sync::Arc<tokio::sync::Semaphore>,
    }
    #[async_trait]
    impl Sink for Waiting {
        async fn record(&self, record: SampleRecord) -> Result<(), String> {
            let _held = self.scarce.acquire().await.unwrap();
            self.kept.record(record).await
        }
    }

    let (plan, samples) = (plan(""), samples(20));
    let items = work_items(samples.len(), 1);
    let scarce = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
    let model = Holding {
        upstream: Upstream::new(),
        scarce: scarce.clone(),
    };
    let sink = Waiting {
        kept: Kept::default(),
        scarce,
    };
    let r = Run {
        plan: &plan,
        samples: &samples,
        model: &model,
        grader: None,
        environment: &NoSandbox,
        sink: &sink,
        config: RunConfig {
            samples_at_once: 4,
            ..RunConfig::default()
        },
    };
    // Stalled, the run would wait for ever; the paused clock jumps to this limit instead.
    let end = tokio::time::timeout(Duration::from_secs(600), run(&r, &items, never(), &no_progress)).await;
    assert_eq!(end, Ok(RunEnd::Completed), "the run stalled");
    assert_eq!(sink.kept.taken().len(), 20);
}
