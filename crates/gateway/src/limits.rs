//! Per-token rate limits and concurrency caps.
//!
//! Requests and tokens per minute are token buckets: a bucket holds up to a minute's allowance and refills
//! continuously, so a token may burst up to its limit and then proceeds at the sustained rate. A call takes one
//! request up front; its tokens are charged when the upstream reports them, so the token bucket may go into
//! debt and then refuses calls until it has refilled (the size of a call is unknown until it ends). Time comes
//! from the caller (the injected clock), in milliseconds.
//!
//! The state lives in this process: with several server processes, each enforces the limits on its own share
//! of the traffic.

use crate::settings::Limits;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

const MINUTE_MS: f64 = 60_000.0;

/// Which limit refused a call, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    RequestsPerMinute { retry_after_secs: u64 },
    TokensPerMinute { retry_after_secs: u64 },
    Concurrency,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    at_ms: i64,
}

impl Bucket {
    fn full(capacity: u32, now_ms: i64) -> Self {
        Bucket {
            level: f64::from(capacity),
            at_ms: now_ms,
        }
    }

    fn refill(&mut self, capacity: u32, now_ms: i64) {
        let capacity = f64::from(capacity);
        let elapsed = (now_ms - self.at_ms).max(0) as f64;
        self.level = (self.level + elapsed * capacity / MINUTE_MS).min(capacity);
        self.at_ms = self.at_ms.max(now_ms);
    }

    /// Whole seconds until the level reaches `needed`, at least one.
    fn wait_secs(&self, capacity: u32, needed: f64) -> u64 {
        let missing = (needed - self.level).max(0.0);
        let ms = missing * MINUTE_MS / f64::from(capacity.max(1));
        ((ms / 1000.0).ceil() as u64).max(1)
    }
}

#[derive(Debug)]
struct State {
    requests: Bucket,
    tokens: Bucket,
    in_flight: u32,
}

/// The limits of every (token, connection) pair seen by this process.
pub struct RateLimiter<K> {
    states: Arc<Mutex<HashMap<K, State>>>,
}

impl<K> Clone for RateLimiter<K> {
    fn clone(&self) -> Self {
        RateLimiter {
            states: self.states.clone(),
        }
    }
}

impl<K: Hash + Eq + Clone> Default for RateLimiter<K> {
    fn default() -> Self {
        RateLimiter {
            states: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// A call in flight; dropping it (the call ended, or the client went away) frees its concurrency slot.
pub struct Permit<K: Hash + Eq + Clone> {
    limiter: RateLimiter<K>,
    key: K,
}

impl<K: Hash + Eq + Clone> Drop for Permit<K> {
    fn drop(&mut self) {
        if let Some(state) = self.limiter.lock().get_mut(&self.key) {
            state.in_flight = state.in_flight.saturating_sub(1);
        }
    }
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    fn lock(&self) -> MutexGuard<'_, HashMap<K, State>> {
        // A panic while holding the lock cannot leave the counters inconsistent beyond one call.
        self.states
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits a call or says which limit refuses it.
    pub fn admit(&self, key: &K, limits: &Limits, now_ms: i64) -> Result<Permit<K>, Refusal> {
        let mut states = self.lock();
        let state = states.entry(key.clone()).or_insert_with(|| State {
            requests: Bucket::full(limits.requests_per_minute, now_ms),
            tokens: Bucket::full(limits.tokens_per_minute, now_ms),
            in_flight: 0,
        });
        state.requests.refill(limits.requests_per_minute, now_ms);
        state.tokens.refill(limits.tokens_per_minute, now_ms);
        if state.in_flight >= limits.concurrency {
            return Err(Refusal::Concurrency);
        }
        if state.requests.level < 1.0 {
            return Err(Refusal::RequestsPerMinute {
                retry_after_secs: state.requests.wait_secs(limits.requests_per_minute, 1.0),
            });
        }
        if state.tokens.level <= 0.0 {
            return Err(Refusal::TokensPerMinute {
                retry_after_secs: state.tokens.wait_secs(limits.tokens_per_minute, 1.0),
            });
        }
        state.requests.level -= 1.0;
        state.in_flight += 1;
        drop(states);
        Ok(Permit {
            limiter: self.clone(),
            key: key.clone(),
        })
    }

    /// Charges the tokens a call used, as the upstream reported them.
    pub fn charge(&self, key: &K, limits: &Limits, tokens: u64, now_ms: i64) {
        if let Some(state) = self.lock().get_mut(key) {
            state.tokens.refill(limits.tokens_per_minute, now_ms);
            state.tokens.level -= tokens as f64;
        }
    }

    /// Calls in flight for the key (for tests and diagnostics).
    pub fn in_flight(&self, key: &K) -> u32 {
        self.lock().get(key).map_or(0, |s| s.in_flight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rpm: u32, tpm: u32, concurrency: u32) -> Limits {
        Limits {
            requests_per_minute: rpm,
            tokens_per_minute: tpm,
            concurrency,
        }
    }

    #[test]
    fn requests_per_minute_burst_then_refill() {
        let limiter = RateLimiter::default();
        let l = limits(2, 1_000, 10);
        let _a = limiter.admit(&1, &l, 0).unwrap();
        let _b = limiter.admit(&1, &l, 0).unwrap();
        assert_eq!(
            limiter.admit(&1, &l, 0).err(),
            Some(Refusal::RequestsPerMinute { retry_after_secs: 30 })
        );
        assert!(limiter.admit(&2, &l, 0).is_ok(), "keys are independent");
        assert!(limiter.admit(&1, &l, 29_000).is_err());
        assert!(limiter.admit(&1, &l, 30_000).is_ok());
    }

    #[test]
    fn tokens_are_charged_after_the_call_and_refill() {
        let limiter = RateLimiter::default();
        let l = limits(100, 600, 10);
        drop(limiter.admit(&1, &l, 0).unwrap());
        limiter.charge(&1, &l, 900, 0);
        assert_eq!(
            limiter.admit(&1, &l, 0).err(),
            Some(Refusal::TokensPerMinute { retry_after_secs: 31 })
        );
        assert!(limiter.admit(&1, &l, 30_000).is_err(), "still in debt");
        assert!(limiter.admit(&1, &l, 30_100).is_ok());
    }

    #[test]
    fn concurrency_is_freed_when_a_permit_drops() {
        let limiter = RateLimiter::default();
        let l = limits(100, 1_000, 2);
        let a = limiter.admit(&1, &l, 0).unwrap();
        let _b = limiter.admit(&1, &l, 0).unwrap();
        assert_eq!(limiter.admit(&1, &l, 0).err(), Some(Refusal::Concurrency));
        assert_eq!(limiter.in_flight(&1), 2);
        drop(a);
        assert_eq!(limiter.in_flight(&1), 1);
        assert!(limiter.admit(&1, &l, 0).is_ok());
    }
}
