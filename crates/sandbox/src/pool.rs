//! Adaptive start-up: sandboxes are started with a bounded number of start-ups in flight, a bound that grows
//! by one after each fast start-up and halves after a failure or a slow one (additive increase,
//! multiplicative decrease). A machine or cluster that starts sandboxes quickly is soon used fully; one that
//! struggles is given room to recover instead of being flooded.
//!
//! The pool bounds start-ups only, not how many sandboxes run: that is the runner's concurrency. A start-up
//! that fails is cleaned up by the driver and its error returned here, never retried silently.

use crate::{Driver, Error, Sandbox, SandboxSpec};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How the ramp moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RampConfig {
    /// Start-ups allowed in flight at first.
    pub initial: usize,
    /// The bound never goes below this (at least 1) …
    pub min: usize,
    /// … nor above this.
    pub max: usize,
    /// A start-up at most this long raises the bound by one.
    pub fast: Duration,
    /// A start-up at least this long halves it, as a failure does.
    pub slow: Duration,
}

impl Default for RampConfig {
    fn default() -> Self {
        Self {
            initial: 2,
            min: 1,
            max: 32,
            fast: Duration::from_secs(2),
            slow: Duration::from_secs(8),
        }
    }
}

/// How one start-up went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It started, taking this long.
    Started(Duration),
    /// It failed to start (the sandbox's fault, or the machine's).
    Failed,
    /// It did not say anything about the machine (a malformed spec, a cancelled start).
    Neutral,
}

/// The ramp's rule on its own: the current bound, moved by each outcome.
#[derive(Debug, Clone)]
pub struct Ramp {
    config: RampConfig,
    limit: usize,
}

impl Ramp {
    pub fn new(config: RampConfig) -> Self {
        let min = config.min.max(1);
        let max = config.max.max(min);
        let config = RampConfig { min, max, ..config };
        Self {
            limit: config.initial.clamp(min, max),
            config,
        }
    }

    /// Start-ups allowed in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn record(&mut self, outcome: Outcome) {
        let RampConfig {
            min, max, fast, slow, ..
        } = self.config;
        self.limit = match outcome {
            Outcome::Started(took) if took <= fast => (self.limit + 1).min(max),
            Outcome::Started(took) if took < slow => self.limit,
            Outcome::Started(_) | Outcome::Failed => (self.limit / 2).max(min),
            Outcome::Neutral => self.limit,
        };
    }
}

/// What a pool has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// The current bound on start-ups in flight.
    pub limit: usize,
    pub in_flight: usize,
    pub started: u64,
    pub failed: u64,
}

struct State {
    ramp: Ramp,
    in_flight: usize,
    started: u64,
    failed: u64,
}

/// Starts sandboxes through a driver, ramping the number of start-ups in flight.
pub struct Pool {
    driver: Arc<dyn Driver>,
    state: Mutex<State>,
    wake: Notify,
}

impl Pool {
    pub fn new(driver: Arc<dyn Driver>, config: RampConfig) -> Self {
        Self {
            driver,
            state: Mutex::new(State {
                ramp: Ramp::new(config),
                in_flight: 0,
                started: 0,
                failed: 0,
            }),
            wake: Notify::new(),
        }
    }

    pub fn stats(&self) -> PoolStats {
        let state = self.lock();
        PoolStats {
            limit: state.ramp.limit(),
            in_flight: state.in_flight,
            started: state.started,
            failed: state.failed,
        }
    }

    /// Waits for a start-up slot, then starts a sandbox. A failed start comes back as the driver's error
    /// (naming the reason), with nothing of the sandbox left behind.
    pub async fn start(&self, spec: SandboxSpec) -> Result<Box<dyn Sandbox>, Error> {
        let mut slot = self.acquire().await;
        let began = Instant::now();
        let result = self.driver.start(spec).await;
        slot.outcome = match &result {
            Ok(_) => Outcome::Started(began.elapsed()),
            Err(e) if e.is_start_failure() => Outcome::Failed,
            Err(_) => Outcome::Neutral,
        };
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn acquire(&self) -> Slot<'_> {
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            {
                let mut state = self.lock();
                if state.in_flight < state.ramp.limit() {
                    state.in_flight += 1;
                    return Slot {
                        pool: self,
                        outcome: Outcome::Neutral,
                    };
                }
            }
            woken.await;
        }
    }
}

/// A start-up in flight; giving it back (also when the start is cancelled) records its outcome.
struct Slot<'a> {
    pool: &'a Pool,
    outcome: Outcome,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = self.pool.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        match self.outcome {
            Outcome::Started(_) => state.started += 1,
            Outcome::Failed => state.failed += 1,
            Outcome::Neutral => {}
        }
        state.ramp.record(self.outcome);
        drop(state);
        self.pool.wake.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Outcome {
        Outcome::Started(Duration::from_millis(n))
    }

    #[test]
    fn ramps_up_while_fast_and_backs_off() {
        let config = RampConfig {
            initial: 2,
            min: 1,
            max: 5,
            fast: Duration::from_millis(100),
            slow: Duration::from_millis(1000),
        };
        // (outcome, bound after it)
        let steps = [
            (ms(50), 3),
            (ms(100), 4),
            (ms(10), 5),
            (ms(10), 5),  // at max
            (ms(500), 5), // neither fast nor slow
            (Outcome::Neutral, 5),
            (Outcome::Failed, 2),
            (ms(10), 3),
            (ms(1000), 1),        // slow counts as a failure
            (Outcome::Failed, 1), // at min
            (ms(1), 2),
        ];
        let mut ramp = Ramp::new(config);
        assert_eq!(ramp.limit(), 2);
        for (i, (outcome, limit)) in steps.into_iter().enumerate() {
            ramp.record(outcome);
            assert_eq!(ramp.limit(), limit, "step {i}: {outcome:?}");
        }
    }

    #[test]
    fn bounds_are_sane_whatever_the_config() {
        let ramp = Ramp::new(RampConfig {
            initial: 0,
            min: 0,
            max: 0,
            ..RampConfig::default()
        });
        assert_eq!(ramp.limit(), 1);
        let ramp = Ramp::new(RampConfig {
            initial: 100,
            min: 3,
            max: 2,
            ..RampConfig::default()
        });
        assert_eq!(ramp.limit(), 3);
    }
}
