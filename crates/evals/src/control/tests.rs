use super::*;
use crate::model::{StopReason, Usage};
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn waits_double_are_capped_and_honour_the_server() {
    let policy = RetryPolicy {
        attempts: 5,
        throttled_retries: 0,
        base: Duration::from_millis(100),
        max_wait: Duration::from_secs(1),
    };
    // (retry n, retry-after, jitter, wait)
    let cases = [
        (1, None, 0.0, 100),
        (2, None, 0.0, 200),
        (4, None, 0.0, 800),
        (5, None, 0.0, 1000),
        (30, None, 0.0, 1000),
        (1, None, 1.0, 125),
        (2, Some(3000), 0.0, 3000),
        (4, Some(10), 0.5, 900),
    ];
    for (n, after, jitter, millis) in cases {
        let wait = policy.wait(n, after.map(Duration::from_millis), jitter);
        assert_eq!(
            wait,
            Duration::from_millis(millis),
            "retry {n}, after {after:?}, jitter {jitter}"
        );
    }
}

/// A scripted upstream: answers from `script` by call number, counting calls and the most at once.
struct Upstream<F> {
    script: F,
    calls: AtomicUsize,
    now: AtomicUsize,
    most: AtomicUsize,
    delay: Duration,
}

impl<F: Fn(usize) -> Result<ModelOutput, ModelError> + Send + Sync> Upstream<F> {
    fn new(delay: Duration, script: F) -> Self {
        Upstream {
            script,
            calls: AtomicUsize::new(0),
            now: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            delay,
        }
    }
}

#[async_trait]
impl<F: Fn(usize) -> Result<ModelOutput, ModelError> + Send + Sync> Model for Upstream<F> {
    fn name(&self) -> &str {
        "upstream"
    }

    async fn generate(&self, _: &GenerateRequest) -> Result<ModelOutput, ModelError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        (self.script)(call)
    }
}

fn ok() -> Result<ModelOutput, ModelError> {
    Ok(ModelOutput {
        completion: "ok".into(),
        tool_calls: vec![],
        usage: Usage::default(),
        stop_reason: StopReason::Stop,
    })
}

#[tokio::test(start_paused = true)]
async fn retries_wait_as_told_and_stop_when_they_should() {
    let policy = RetryPolicy {
        attempts: 4,
        throttled_retries: 3,
        base: Duration::from_millis(100),
        max_wait: Duration::from_secs(10),
    };
    let request = GenerateRequest::default();
    // (case, script, calls made, succeeded, least virtual time taken)
    type Script = fn(usize) -> Result<ModelOutput, ModelError>;
    let cases: [(&str, Script, usize, bool, u64); 6] = [
        (
            "429 twice with Retry-After 2 s",
            |c| {
                if c < 2 {
                    Err(ModelError::RateLimited {
                        retry_after: Some(Duration::from_secs(2)),
                    })
                } else {
                    ok()
                }
            },
            3,
            true,
            4000,
        ),
        (
            "a 5xx, then fine",
            |c| {
                if c == 0 {
                    Err(ModelError::Transient("502".into()))
                } else {
                    ok()
                }
            },
            2,
            true,
            100,
        ),
        (
            "always 5xx: gives up after 4 tries",
            |_| Err(ModelError::Transient("503".into())),
            4,
            false,
            700,
        ),
        (
            "always 429: gives up after 3 retries",
            |_| Err(ModelError::RateLimited { retry_after: None }),
            4,
            false,
            700,
        ),
        (
            "refused: not retried",
            |_| Err(ModelError::Refused("too long".into())),
            1,
            false,
            0,
        ),
        (
            "access ended: not retried",
            |_| Err(ModelError::AccessEnded("unassigned".into())),
            1,
            false,
            0,
        ),
    ];
    for (case, script, calls, succeeded, least) in cases {
        let upstream = Upstream::new(Duration::ZERO, script);
        let control = Control::new(4, 4);
        let managed = Managed {
            model: &upstream,
            control: &control,
            retry: policy,
        };
        let start = Instant::now();
        let result = managed.generate(&request).await;
        let took = start.elapsed();
        assert_eq!(upstream.calls.load(Ordering::SeqCst), calls, "{case}");
        assert_eq!(result.is_ok(), succeeded, "{case}: {result:?}");
        assert!(took >= Duration::from_millis(least), "{case}: took {took:?}");
        assert!(
            took <= Duration::from_millis(least).mul_f64(1.25) + Duration::from_millis(1),
            "{case}: took {took:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn calls_in_flight_never_exceed_the_limit() {
    let upstream = Upstream::new(Duration::from_millis(50), |_| ok());
    let control = Control::new(3, 3);
    let managed = Managed {
        model: &upstream,
        control: &control,
        retry: RetryPolicy::default(),
    };
    let request = GenerateRequest::default();
    let calls = (0..20).map(|_| managed.generate(&request));
    let results = futures_join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(upstream.most.load(Ordering::SeqCst), 3);
}

/// Runs futures concurrently on this task (no extra dependency for a test).
async fn futures_join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

#[tokio::test(start_paused = true)]
async fn the_limit_rises_with_success_and_halves_on_429() {
    let control = Control::new(4, 16);
    for _ in 0..4 {
        control.succeeded(Duration::from_millis(100));
    }
    assert_eq!(
        control.limit(),
        5,
        "a limit's worth of fast successes raises it by one"
    );
    for _ in 0..5 {
        control.succeeded(Duration::from_millis(500));
    }
    assert_eq!(control.limit(), 5, "not while latency is far above its best");
    for _ in 0..(5 + 6 + 7) {
        control.succeeded(Duration::from_millis(120));
    }
    assert_eq!(control.limit(), 8);
    // Three 429s from calls that all started before the first was seen lower the limit once.
    let started = Instant::now();
    tokio::time::advance(Duration::from_millis(10)).await;
    for _ in 0..3 {
        control.rate_limited(started);
    }
    assert_eq!((control.limit(), control.throttled()), (4, 3));
    // A 429 from a call started after that lowers it again, never below 1.
    tokio::time::advance(Duration::from_millis(10)).await;
    for _ in 0..5 {
        tokio::time::advance(Duration::from_millis(1)).await;
        control.rate_limited(Instant::now());
    }
    assert_eq!(control.limit(), 1);
    for _ in 0..100 {
        control.succeeded(Duration::from_millis(100));
    }
    assert_eq!(
        control.limit(),
        14,
        "back up by one per limit's worth of successes: 1+2+…+13 = 91 ≤ 100 < 105"
    );
}
