//! Calling a model at the speed its API allows: a concurrency limit that adapts (halved when the API says 429,
//! raised by one after a limit's worth of calls succeed while latency stays near its best), and retries with
//! exponential backoff and jitter that honour `Retry-After`.

use crate::model::{GenerateRequest, Model, ModelError, ModelOutput};
use async_trait::async_trait;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How failed calls are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries per call after failures that may pass (5xx, timeouts), the first included.
    pub attempts: u32,
    /// Retries per call after 429 answers: the API is working, only asking us to slow down, so they are many.
    pub throttled_retries: u32,
    /// The first wait; each retry doubles it, up to `max_wait`.
    pub base: Duration,
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 8,
            throttled_retries: 100,
            base: Duration::from_millis(250),
            max_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry `n` (from 1): `base · 2ⁿ⁻¹` capped, with up to a quarter of it added at random, and
    /// never less than what the server asked.
    pub fn wait(&self, n: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let doubled = self.base.saturating_mul(1u32 << n.saturating_sub(1).min(20));
        let capped = doubled.min(self.max_wait);
        let jittered = capped.mul_f64(1.0 + 0.25 * jitter.clamp(0.0, 1.0));
        retry_after.map_or(jittered, |asked| jittered.max(asked))
    }
}

#[derive(Debug)]
struct State {
    limit: usize,
    in_flight: usize,
    /// Calls that succeeded since the limit last changed.
    successes: usize,
    /// When the limit was last lowered: a 429 from a call started before it does not lower it again.
    lowered_at: Option<Instant>,
    /// The best latency seen, the baseline for "latency stays near its best".
    best: Option<Duration>,
    throttled: u64,
}

/// The adaptive limit on calls in flight.
#[derive(Debug)]
pub struct Control {
    max: usize,
    state: Mutex<State>,
    freed: Notify,
}

/// A call slot; dropping it frees the slot.
pub struct Slot<'a> {
    control: &'a Control,
    pub started: Instant,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.control
            .update(|s| s.in_flight = s.in_flight.saturating_sub(1));
        self.control.freed.notify_waiters();
    }
}

impl Control {
    /// Starts at `initial` calls in flight, never above `max` nor below 1.
    pub fn new(initial: usize, max: usize) -> Self {
        let max = max.max(1);
        Control {
            max,
            state: Mutex::new(State {
                limit: initial.clamp(1, max),
                in_flight: 0,
                successes: 0,
                lowered_at: None,
                best: None,
                throttled: 0,
            }),
            freed: Notify::new(),
        }
    }

    fn update<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut state)
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.update(|s| s.limit)
    }

    /// 429 answers seen.
    pub fn throttled(&self) -> u64 {
        self.update(|s| s.throttled)
    }

    /// Waits for a slot under the current limit.
    pub async fn acquire(&self) -> Slot<'_> {
        loop {
            let freed = self.freed.notified();
            let got = self.update(|s| {
                if s.in_flight < s.limit {
                    s.in_flight += 1;
                    true
                } else {
                    false
                }
            });
            if got {
                return Slot {
                    control: self,
                    started: Instant::now(),
                };
            }
            freed.await;
        }
    }

    /// A call that started at `started` succeeded after `latency`.
    pub fn succeeded(&self, latency: Duration) {
        self.update(|s| {
            let best = *s.best.get_or_insert(latency);
            if latency < best {
                s.best = Some(latency);
            }
            s.successes += 1;
            // Raise only while latency stays within twice the best: a slower API is saturating.
            if s.successes >= s.limit && latency <= best.saturating_mul(2) && s.limit < self.max {
                s.limit += 1;
                s.successes = 0;
            }
        });
        self.freed.notify_waiters();
    }

    /// A call that started at `started` was answered 429: halve the limit, once per round of calls.
    pub fn rate_limited(&self, started: Instant) {
        self.update(|s| {
            s.throttled += 1;
            if s.lowered_at.is_none_or(|at| started >= at) {
                s.limit = (s.limit / 2).max(1);
                s.successes = 0;
                s.lowered_at = Some(Instant::now());
            }
        });
    }
}

/// A model called through a [`Control`] and a [`RetryPolicy`]: what solvers use.
pub struct Managed<'a> {
    pub model: &'a dyn Model,
    pub control: &'a Control,
    pub retry: RetryPolicy,
}

#[async_trait]
impl Model for Managed<'_> {
    fn name(&self) -> &str {
        self.model.name()
    }

    async fn generate(&self, request: &GenerateRequest) -> Result<ModelOutput, ModelError> {
        let (mut tries, mut throttled) = (0u32, 0u32);
        loop {
            let slot = self.control.acquire().await;
            let started = slot.started;
            let result = self.model.generate(request).await;
            drop(slot);
            let retry_after = match &result {
                Ok(_) => {
                    self.control.succeeded(started.elapsed());
                    return result;
                }
                Err(ModelError::RateLimited { retry_after }) => {
                    self.control.rate_limited(started);
                    throttled += 1;
                    if throttled > self.retry.throttled_retries {
                        return result;
                    }
                    *retry_after
                }
                Err(ModelError::Transient(_)) => {
                    tries += 1;
                    if tries >= self.retry.attempts {
                        return result;
                    }
                    None
                }
                Err(_) => return result,
            };
            let jitter = f64::from(rand::random::<u16>()) / f64::from(u16::MAX);
            let n = (tries + throttled).min(30);
            tokio::time::sleep(self.retry.wait(n, retry_after, jitter)).await;
        }
    }
}

#[cfg(test)]
mod tests;
