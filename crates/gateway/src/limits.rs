//! Limits on gateway calls — requests per minute, tokens per minute, calls in flight — for each evaluator (all
//! their gateway tokens together) and, when the connection sets them, each agency (all its evaluators
//! together), through each connection; held across every server process over one database.
//!
//! # Budgets and leases
//! A per-minute limit is a budget in the database kept as one number, its *theoretical arrival time* (GCRA, a
//! token bucket in one number): the budget is full when that time is at or before now and empty when it is a
//! minute ahead, and one unit (a request, a token) moves it by a minute divided by the limit. So a budget holds
//! at most a minute's allowance, may be spent in a burst, and refills at the limit's pace. A process does not
//! ask the database for every call: it *leases* a share of the budget — a fiftieth of the limit, at least one
//! unit (`lease_size`) — in one atomic statement and spends it locally. A small limit is exact (a limit of 1 a
//! minute is leased one call at a time); a large one costs one round trip per many calls. Units leased at least
//! `LEASE_TTL_MS` ago and not spent go back once the process has stopped using the budget for a second, so an
//! idle process does not sit on a share (one in use keeps it for its next calls); the share of a process that
//! died is spent, and the budget refills at its pace. Admitted calls can exceed an ideal single counter only by
//! what the processes hold at once, at most one lease each (2 % of the limit per process).
//!
//! Tokens are charged when the upstream reports them: a call is admitted while the process holds any token
//! allowance, and what it used beyond it is a debt the next lease reports (or the maintenance tick, within a
//! second); the budget may run up to an hour into debt and then refuses calls until it has refilled.
//!
//! # Concurrency
//! Calls in flight do not refill with time, so they are not leased by rate: each process holds *slots* of a
//! budget, one row per process that it renews while it runs. It takes more when its calls in flight reach what
//! it holds, in a transaction that first locks the budget's row, so the sum over the processes never exceeds the
//! limit. At the end of each `SLOT_LINGER_MS` it gives back the slots beyond the most it had in flight at once
//! meanwhile, plus a chunk less one as a margin (a chunk is a fiftieth of the limit: no margin below 100):
//! steady traffic does not touch the database, and a burst's slots do not stay with one process. The
//! slots of a process that died count until their row expires (`SLOT_TTL_MS`).
//! A fixed per-process share (the limit divided by the processes) would need no database work, but it needs the
//! count of live processes, cannot split a small limit (one call at a time cannot be halved), and refuses one
//! process's burst while another's share sits idle.
//!
//! # Without the database
//! Each process also keeps the limits on its own (per-process buckets, as if it were the only one). They decide
//! only while a lease the database does not answer in time is outstanding (the app's `LEASE_WAIT`): a stalled
//! database then slows no call, and the limits hold per process until it answers again.
//!
//! This module is the rules and one process's state, without I/O: `Limiter::admit` admits a call from what the
//! process holds or names the budgets to lease from; `take_lease` and `settle` are the two halves of a lease,
//! between which the app runs the statement; `due` names the budgets with units to give back, a debt to report
//! or slots to give back. Time is the injected clock's, in milliseconds, passed in.

use crate::settings::{AgencyLimits, Limits};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

/// A minute in nanoseconds: the window of every per-minute limit.
pub const MINUTE_NS: i64 = 60_000_000_000;
/// How far a budget may run into debt: an hour ahead (beyond, debts are forgiven).
pub const MAX_AHEAD_NS: i64 = 60 * MINUTE_NS;
/// A lease takes this fraction of the limit (at least one unit).
pub const LEASE_DIVISOR: u32 = 50;
/// Units leased this long ago and not spent go back to the budget once it is no longer in use here.
pub const LEASE_TTL_MS: i64 = 5_000;
/// How long a process's concurrency slots count without being renewed.
pub const SLOT_TTL_MS: i64 = 30_000;
/// The window at whose end a process gives back the slots beyond the most it had in flight at once.
pub const SLOT_LINGER_MS: i64 = 2_000;
/// How long a process trusts the database's "no slot free" before asking again.
pub const FULL_RECHECK_MS: i64 = 1_000;
/// A budget used this recently is in use: what this process holds of it is kept for its next calls.
const IN_USE_MS: i64 = 1_000;
/// A budget this process holds nothing of and has not used for this long is forgotten.
const FORGET_AFTER_MS: i64 = 120_000;
const MINUTE_MS: f64 = 60_000.0;

/// The limits of one budget; `None` caps nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u32>,
    pub concurrency: Option<u32>,
}

impl From<Limits> for Caps {
    fn from(l: Limits) -> Self {
        Caps {
            requests_per_minute: Some(l.requests_per_minute),
            tokens_per_minute: Some(l.tokens_per_minute),
            concurrency: Some(l.concurrency),
        }
    }
}

impl From<AgencyLimits> for Caps {
    fn from(l: AgencyLimits) -> Self {
        Caps {
            requests_per_minute: l.requests_per_minute,
            tokens_per_minute: l.tokens_per_minute,
            concurrency: l.concurrency,
        }
    }
}

/// Which limit refused a call, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    RequestsPerMinute { limit: u32, retry_after_secs: u64 },
    TokensPerMinute { limit: u32, retry_after_secs: u64 },
    Concurrency { limit: u32 },
}

/// The units one lease takes of a limit.
pub fn lease_size(limit: u32) -> i64 {
    i64::from((limit / LEASE_DIVISOR).max(1))
}

/// One per-minute budget's part of a lease: the limit, the units wanted, and the balance given back (positive:
/// units leased and not spent; negative: units spent beyond what was leased).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLease {
    pub per_minute: u32,
    pub want: i64,
    pub balance: i64,
}

impl RateLease {
    /// What one unit moves the budget's time by.
    pub fn unit_ns(&self) -> i64 {
        (MINUTE_NS / i64::from(self.per_minute.max(1))).max(1)
    }

    /// The lease as the database takes it: at most a minute's allowance wanted or given back, a debt of at
    /// most an hour's.
    pub fn bounded(self) -> RateLease {
        let most = i64::from(self.per_minute);
        RateLease {
            per_minute: self.per_minute,
            want: self.want.clamp(0, most),
            balance: self.balance.clamp(-(MAX_AHEAD_NS / self.unit_ns()), most),
        }
    }

    /// The lease applied to a budget whose time is `tat_ns` (a budget without a row is full: `now_ns`):
    /// the units granted and the budget's new time. The database's statement does exactly this
    /// (`store::limits`); a test holds them equal.
    pub fn apply(&self, tat_ns: i64, now_ns: i64) -> (i64, i64) {
        let unit = self.unit_ns();
        let base = tat_ns.clamp(now_ns, now_ns + MAX_AHEAD_NS) - self.balance * unit;
        let base = base.max(now_ns);
        let room = now_ns + MINUTE_NS - base;
        let granted = if room < unit {
            0
        } else {
            (room / unit).min(self.want)
        };
        (granted, base + granted * unit)
    }

    /// Milliseconds until one unit fits in a budget whose time is `tat_ns` (at least one).
    pub fn wait_ms(&self, tat_ns: i64, now_ns: i64) -> i64 {
        let wait_ns = tat_ns + self.unit_ns() - MINUTE_NS - now_ns;
        ((wait_ns + 999_999) / 1_000_000).max(1)
    }
}

/// A change to the concurrency slots this process holds of a budget: more (`target > from`, as far as the
/// limit leaves room) or fewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotChange {
    pub limit: u32,
    pub from: u32,
    pub target: u32,
}

impl SlotChange {
    pub fn acquires(&self) -> bool {
        self.target > self.from
    }
}

/// What to ask of one budget in the database, at `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub now_ms: i64,
    pub requests: Option<RateLease>,
    pub tokens: Option<RateLease>,
    pub slots: Option<SlotChange>,
}

/// What a rate lease got: units, and the budget's time after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateGrant {
    pub granted: i64,
    pub tat_ns: i64,
}

/// The database's answer to a lease.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grant {
    pub requests: Option<RateGrant>,
    pub tokens: Option<RateGrant>,
    /// The slots now held.
    pub slots: Option<u32>,
}

/// A per-process token bucket: the limits as if this process were the only one, which decide while the
/// database does not answer.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    at_ms: i64,
}

impl Bucket {
    fn full(capacity: Option<u32>, now_ms: i64) -> Self {
        Bucket {
            level: f64::from(capacity.unwrap_or(0)),
            at_ms: now_ms,
        }
    }

    fn refill(&mut self, capacity: Option<u32>, now_ms: i64) {
        let capacity = f64::from(capacity.unwrap_or(0));
        let elapsed = (now_ms - self.at_ms).max(0) as f64;
        self.level = (self.level + elapsed * capacity / MINUTE_MS).min(capacity);
        self.at_ms = self.at_ms.max(now_ms);
    }

    /// Whole seconds until the level reaches one, at least one.
    fn wait_secs(&self, capacity: u32) -> u64 {
        let missing = (1.0 - self.level).max(0.0);
        let ms = missing * MINUTE_MS / f64::from(capacity.max(1));
        ((ms / 1000.0).ceil() as u64).max(1)
    }
}

/// Units of one per-minute budget this process holds.
#[derive(Debug, Clone, Copy, Default)]
struct Allowance {
    /// Leased and not yet spent; negative when calls used more (tokens), until reported.
    units: i64,
    granted_at_ms: i64,
    used_at_ms: i64,
    /// The database said the budget is empty until then.
    empty_until_ms: i64,
}

impl Allowance {
    /// This allowance's part of a lease, moving its balance into it.
    fn lease(&mut self, limit: Option<u32>, wanted: bool, now_ms: i64) -> Option<RateLease> {
        let Some(limit) = limit else {
            self.units = 0;
            return None;
        };
        let want = if wanted && self.units < 1 {
            lease_size(limit)
        } else if self.units < 0 || self.idle(now_ms) {
            0
        } else {
            return None;
        };
        let lease = RateLease {
            per_minute: limit,
            want,
            balance: self.units,
        }
        .bounded();
        self.units = 0;
        Some(lease)
    }

    fn settle(&mut self, lease: &RateLease, grant: Option<&RateGrant>, now_ms: i64) {
        match grant {
            None => self.units += lease.balance,
            Some(grant) => {
                self.units += grant.granted;
                self.granted_at_ms = now_ms;
                self.empty_until_ms = if lease.want > 0 && grant.granted == 0 {
                    now_ms + lease.wait_ms(grant.tat_ns, now_ms.saturating_mul(1_000_000))
                } else {
                    0
                };
            }
        }
    }

    /// Units leased a while ago and not in use now: they go back.
    fn idle(&self, now_ms: i64) -> bool {
        self.units > 0 && now_ms - self.granted_at_ms >= LEASE_TTL_MS && now_ms - self.used_at_ms >= IN_USE_MS
    }

    fn due(&self, now_ms: i64) -> bool {
        self.units < 0 || self.idle(now_ms)
    }
}

/// Concurrency slots of one budget this process holds.
#[derive(Debug, Clone, Copy, Default)]
struct Slots {
    held: u32,
    in_flight: u32,
    /// The most calls in flight at once since `window_ms`.
    peak: u32,
    window_ms: i64,
    /// What to give back down to, as decided when a window ended.
    release_to: Option<u32>,
    /// The database said no slot is free; trusted until then.
    full_until_ms: i64,
}

/// The slots taken at once when more are needed.
fn slot_chunk(limit: u32) -> u32 {
    (limit / LEASE_DIVISOR).max(1)
}

impl Slots {
    /// Ends a window of `SLOT_LINGER_MS`: a process in use keeps the most it had in flight at once plus a
    /// margin of a chunk less one, so that a call going one beyond the window's peak does not wait for the
    /// database (no margin under a limit of `2 * LEASE_DIVISOR`, where a chunk is one slot: small limits stay
    /// exact); slots beyond that go back once they are a further chunk less one, so a steady peak does not
    /// trade single slots, and a burst's slots do not stay with one process. A window without calls keeps none.
    fn roll(&mut self, limit: Option<u32>, now_ms: i64) {
        if now_ms - self.window_ms < SLOT_LINGER_MS {
            return;
        }
        let used = self.peak.max(self.in_flight);
        let margin = if used == 0 {
            0
        } else {
            slot_chunk(limit.unwrap_or(1)) - 1
        };
        let keep = used + margin;
        if self.held > keep + margin {
            self.release_to = Some(keep);
        }
        self.peak = self.in_flight;
        self.window_ms = now_ms;
    }

    fn change(&self, limit: Option<u32>, wanted: bool) -> Option<SlotChange> {
        let cap = limit.unwrap_or(0);
        let target = if wanted && limit.is_some() && self.in_flight >= self.held && self.held < cap {
            (self.held + slot_chunk(cap)).max(self.in_flight + 1).min(cap)
        } else if let Some(keep) = self.release_to {
            keep.max(self.in_flight)
        } else if limit.is_none() && self.held > self.in_flight {
            self.in_flight
        } else if self.held > cap.max(self.in_flight) {
            cap.max(self.in_flight)
        } else {
            return None;
        };
        (target != self.held).then_some(SlotChange {
            limit: cap,
            from: self.held,
            target,
        })
    }
}

/// One budget as this process sees it.
#[derive(Debug)]
struct Share {
    caps: Caps,
    requests: Allowance,
    tokens: Allowance,
    slots: Slots,
    local_requests: Bucket,
    local_tokens: Bucket,
    /// A call waits for a lease.
    wanted: bool,
    /// A lease is outstanding.
    leasing: bool,
    seen_ms: i64,
}

enum Check {
    Ready,
    Lease,
    Refused(Refusal),
}

fn secs(ms: i64) -> u64 {
    u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1)
}

impl Share {
    fn new(caps: Caps, now_ms: i64) -> Self {
        Share {
            caps,
            requests: Allowance::default(),
            tokens: Allowance::default(),
            slots: Slots {
                window_ms: now_ms,
                ..Slots::default()
            },
            local_requests: Bucket::full(caps.requests_per_minute, now_ms),
            local_tokens: Bucket::full(caps.tokens_per_minute, now_ms),
            wanted: false,
            leasing: false,
            seen_ms: now_ms,
        }
    }

    fn refresh(&mut self, caps: Caps, now_ms: i64) {
        self.caps = caps;
        self.seen_ms = now_ms;
        self.local_requests.refill(caps.requests_per_minute, now_ms);
        self.local_tokens.refill(caps.tokens_per_minute, now_ms);
    }

    /// Whether what this process holds admits a call.
    fn check(&self, now_ms: i64) -> Check {
        let mut lease = false;
        if let Some(limit) = self.caps.concurrency {
            if self.slots.in_flight >= limit {
                return Check::Refused(Refusal::Concurrency { limit });
            }
            if self.slots.in_flight >= self.slots.held {
                if self.slots.full_until_ms > now_ms {
                    return Check::Refused(Refusal::Concurrency { limit });
                }
                lease = true;
            }
        }
        if let Some(limit) = self.caps.requests_per_minute
            && self.requests.units < 1
        {
            if self.requests.empty_until_ms > now_ms {
                return Check::Refused(Refusal::RequestsPerMinute {
                    limit,
                    retry_after_secs: secs(self.requests.empty_until_ms - now_ms),
                });
            }
            lease = true;
        }
        if let Some(limit) = self.caps.tokens_per_minute
            && self.tokens.units < 1
        {
            if self.tokens.empty_until_ms > now_ms {
                return Check::Refused(Refusal::TokensPerMinute {
                    limit,
                    retry_after_secs: secs(self.tokens.empty_until_ms - now_ms),
                });
            }
            lease = true;
        }
        if lease { Check::Lease } else { Check::Ready }
    }

    /// Whether this process's own buckets admit a call.
    fn check_locally(&self) -> Result<(), Refusal> {
        if let Some(limit) = self.caps.concurrency
            && self.slots.in_flight >= limit
        {
            return Err(Refusal::Concurrency { limit });
        }
        if let Some(limit) = self.caps.requests_per_minute
            && self.local_requests.level < 1.0
        {
            return Err(Refusal::RequestsPerMinute {
                limit,
                retry_after_secs: self.local_requests.wait_secs(limit),
            });
        }
        if let Some(limit) = self.caps.tokens_per_minute
            && self.local_tokens.level <= 0.0
        {
            return Err(Refusal::TokensPerMinute {
                limit,
                retry_after_secs: self.local_tokens.wait_secs(limit),
            });
        }
        Ok(())
    }

    fn take_call(&mut self, now_ms: i64) {
        self.slots.in_flight += 1;
        self.slots.peak = self.slots.peak.max(self.slots.in_flight);
        if self.caps.requests_per_minute.is_some() && self.requests.units >= 1 {
            self.requests.units -= 1;
        }
        self.requests.used_at_ms = now_ms;
        self.tokens.used_at_ms = now_ms;
        self.local_requests.level -= 1.0;
    }

    fn idle(&self, now_ms: i64) -> bool {
        !self.leasing
            && self.slots.in_flight == 0
            && self.slots.held == 0
            && self.requests.units == 0
            && self.tokens.units == 0
            && now_ms - self.seen_ms >= FORGET_AFTER_MS
    }
}

/// What `Limiter::admit` decided.
pub enum Admission<K: Hash + Eq + Clone> {
    Admitted(Permit<K>),
    /// The budget `K` refuses the call.
    Refused(K, Refusal),
    /// This process holds too little of these budgets: lease from them, then ask again.
    Lease(Vec<K>),
}

/// This process's state of every budget its calls met.
pub struct Limiter<K> {
    shares: Arc<Mutex<HashMap<K, Share>>>,
}

impl<K> Clone for Limiter<K> {
    fn clone(&self) -> Self {
        Limiter {
            shares: self.shares.clone(),
        }
    }
}

impl<K: Hash + Eq + Clone> Default for Limiter<K> {
    fn default() -> Self {
        Limiter {
            shares: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// A call in flight; dropping it (the call ended, or the client went away) frees its concurrency slots.
pub struct Permit<K: Hash + Eq + Clone> {
    limiter: Limiter<K>,
    keys: Vec<K>,
}

impl<K: Hash + Eq + Clone> Drop for Permit<K> {
    fn drop(&mut self) {
        let mut shares = self.limiter.lock();
        for key in &self.keys {
            if let Some(share) = shares.get_mut(key) {
                share.slots.in_flight = share.slots.in_flight.saturating_sub(1);
            }
        }
    }
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn lock(&self) -> MutexGuard<'_, HashMap<K, Share>> {
        // A panic while holding the lock cannot leave the counters inconsistent beyond one call.
        self.shares
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn permit(&self, keys: &[(K, Caps)]) -> Permit<K> {
        Permit {
            limiter: self.clone(),
            keys: keys.iter().map(|(key, _)| key.clone()).collect(),
        }
    }

    /// Admits a call that every one of `keys` (its budgets and their caps) must admit, from what this process
    /// holds; or says which budget refuses it; or which budgets to lease from first.
    pub fn admit(&self, keys: &[(K, Caps)], now_ms: i64) -> Admission<K> {
        let mut shares = self.lock();
        let mut lease = Vec::new();
        for (key, caps) in keys {
            let share = shares
                .entry(key.clone())
                .or_insert_with(|| Share::new(*caps, now_ms));
            share.refresh(*caps, now_ms);
            match share.check(now_ms) {
                Check::Ready => {}
                Check::Lease => lease.push(key.clone()),
                Check::Refused(refusal) => return Admission::Refused(key.clone(), refusal),
            }
        }
        if !lease.is_empty() {
            for key in &lease {
                if let Some(share) = shares.get_mut(key) {
                    share.wanted = true;
                }
            }
            return Admission::Lease(lease);
        }
        for (key, _) in keys {
            if let Some(share) = shares.get_mut(key) {
                share.take_call(now_ms);
            }
        }
        drop(shares);
        Admission::Admitted(self.permit(keys))
    }

    /// Admits a call by this process's own buckets alone, while the database does not answer a lease.
    pub fn admit_locally(&self, keys: &[(K, Caps)], now_ms: i64) -> Result<Permit<K>, (K, Refusal)> {
        let mut shares = self.lock();
        for (key, caps) in keys {
            let share = shares
                .entry(key.clone())
                .or_insert_with(|| Share::new(*caps, now_ms));
            share.refresh(*caps, now_ms);
            share.check_locally().map_err(|refusal| (key.clone(), refusal))?;
        }
        for (key, _) in keys {
            if let Some(share) = shares.get_mut(key) {
                share.take_call(now_ms);
            }
        }
        drop(shares);
        Ok(self.permit(keys))
    }

    /// Charges the tokens a call used, as the upstream reported them, to each of its budgets.
    pub fn charge(&self, keys: &[K], tokens: u64, now_ms: i64) {
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX).min(MAX_AHEAD_NS);
        let mut shares = self.lock();
        for key in keys {
            if let Some(share) = shares.get_mut(key)
                && share.caps.tokens_per_minute.is_some()
            {
                share.local_tokens.refill(share.caps.tokens_per_minute, now_ms);
                share.local_tokens.level -= tokens as f64;
                share.tokens.units = share.tokens.units.saturating_sub(tokens);
            }
        }
    }

    /// The first half of a lease from one budget: what to ask of the database now (the balances it carries
    /// leave this process's hands until `settle`), or `None` when there is nothing to ask or a lease is
    /// already outstanding.
    pub fn take_lease(&self, key: &K, now_ms: i64) -> Option<Lease> {
        let mut shares = self.lock();
        let share = shares.get_mut(key)?;
        if share.leasing {
            return None;
        }
        let (caps, wanted) = (share.caps, share.wanted);
        let lease = Lease {
            now_ms,
            requests: share.requests.lease(caps.requests_per_minute, wanted, now_ms),
            tokens: share.tokens.lease(caps.tokens_per_minute, wanted, now_ms),
            slots: share.slots.change(caps.concurrency, wanted),
        };
        share.wanted = false;
        share.slots.release_to = None;
        if lease.requests.is_none() && lease.tokens.is_none() && lease.slots.is_none() {
            return None;
        }
        share.leasing = true;
        Some(lease)
    }

    /// The second half: what the database granted, or `None` when it failed (the balances come back).
    pub fn settle(&self, key: &K, lease: &Lease, grant: Option<&Grant>, now_ms: i64) {
        let mut shares = self.lock();
        let Some(share) = shares.get_mut(key) else {
            return;
        };
        share.leasing = false;
        if let Some(requests) = &lease.requests {
            share
                .requests
                .settle(requests, grant.and_then(|g| g.requests.as_ref()), lease.now_ms);
        }
        if let Some(tokens) = &lease.tokens {
            share
                .tokens
                .settle(tokens, grant.and_then(|g| g.tokens.as_ref()), lease.now_ms);
        }
        if let (Some(change), Some(held)) = (&lease.slots, grant.and_then(|g| g.slots)) {
            share.slots.held = held;
            if change.acquires() && held <= share.slots.in_flight {
                share.slots.full_until_ms = now_ms + FULL_RECHECK_MS;
            }
        }
    }

    /// The budgets with something to give back, renew or report (and forgets the ones long idle).
    pub fn due(&self, now_ms: i64) -> Vec<K> {
        let mut shares = self.lock();
        shares.retain(|_, share| !share.idle(now_ms));
        for share in shares.values_mut() {
            share.slots.roll(share.caps.concurrency, now_ms);
        }
        shares
            .iter()
            .filter(|(_, s)| {
                !s.leasing
                    && (s.requests.due(now_ms)
                        || s.tokens.due(now_ms)
                        || s.slots.change(s.caps.concurrency, false).is_some())
            })
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Whether this process holds any concurrency slot (whose rows it must then keep renewing).
    pub fn holds_slots(&self) -> bool {
        self.lock().values().any(|s| s.slots.held > 0)
    }

    /// Calls in flight for a budget in this process (for tests and diagnostics).
    pub fn in_flight(&self, key: &K) -> u32 {
        self.lock().get(key).map_or(0, |s| s.slots.in_flight)
    }
}

#[cfg(test)]
mod tests;
