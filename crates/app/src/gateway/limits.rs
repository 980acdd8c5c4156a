//! The gateway's limits in this process: admitting a call against its evaluator's budget and, when the
//! connection caps agencies, its agency's; leasing shares of those budgets from the database; and the
//! maintenance tick that gives back unspent shares, reports token debts and renews or frees concurrency slots.
//! The rules are `gateway::limits`; the statements `store::limits`.
//!
//! A call waits for a lease only when this process holds too little of a budget, which for a large limit is
//! once per many calls, and never more than `LEASE_WAIT`: past it (a stalled or unreachable database) the
//! process admits calls by its own per-process buckets until the lease completes, and says so in the log.

use super::{Gateway, Route, every_while_alive};
use crate::{App, Clock};
use gateway::GatewayError;
use gateway::limits::{
    Admission, Caps, Grant, Lease, Limiter, Permit, RateGrant, RateLease, Refusal, SLOT_TTL_MS,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use store::{
    BudgetKey, BudgetLease, BudgetScope, BudgetState, GatewayToken, RateStep, SlotLease, Store, StoreError,
};
use tokio::sync::watch;
use uuid::Uuid;

/// The longest a call waits for a lease before this process decides by its own buckets: the default of
/// `Config::gateway_lease_wait`.
pub const LEASE_WAIT: Duration = Duration::from_millis(250);
/// How often the maintenance tick runs.
const TICK: Duration = Duration::from_secs(1);

/// The most the upkeep, or a release, waits for the leases under way.
const LEASES_WAIT: Duration = Duration::from_secs(5);

/// A call admitted by every budget it meets; dropping it ends the call's part in their concurrency.
pub(crate) type CallPermit = Permit<BudgetKey>;

/// The limits' state in this process, part of `Gateway`.
pub(crate) struct CallLimits {
    limiter: Limiter<BudgetKey>,
    /// Leases under way, by budget: when each began, and a receiver that sees its end.
    pending: Mutex<HashMap<BudgetKey, (Instant, watch::Receiver<()>)>>,
    /// This process's name on the concurrency slots it holds.
    holder: String,
    ticking: OnceLock<()>,
    /// When the slots' rows were last renewed (ms of the clock).
    renewed_ms: AtomicI64,
    /// Whether calls are being admitted without the database (to log the change once, not every call).
    alone: AtomicBool,
    /// Whether this process has let go of its slots as it stops: its tick then no longer renews their rows
    /// (which would hold the freed slots for another `SLOT_TTL_MS`).
    released: AtomicBool,
    /// Held while the slots' rows are renewed or freed, so that a renewal that began before the release
    /// cannot reach the database after it.
    renewal: tokio::sync::Mutex<()>,
}

impl CallLimits {
    pub(crate) fn new() -> Self {
        CallLimits {
            limiter: Limiter::default(),
            pending: Mutex::new(HashMap::new()),
            holder: format!("{}-{}", std::process::id(), Uuid::new_v4()),
            ticking: OnceLock::new(),
            renewed_ms: AtomicI64::new(0),
            alone: AtomicBool::new(false),
            released: AtomicBool::new(false),
            renewal: tokio::sync::Mutex::new(()),
        }
    }

    fn pending(&self) -> MutexGuard<'_, HashMap<BudgetKey, (Instant, watch::Receiver<()>)>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The budgets a call through `route` with `token` meets, and their caps.
fn budgets(token: &GatewayToken, route: &Route) -> Vec<(BudgetKey, Caps)> {
    let mut budgets = vec![(
        BudgetKey {
            connection_id: route.connection_id,
            scope: BudgetScope::Evaluator,
            subject_id: token.user_id,
        },
        Caps::from(route.limits),
    )];
    if !route.agency_limits.is_none() {
        budgets.push((
            BudgetKey {
                connection_id: route.connection_id,
                scope: BudgetScope::Agency,
                subject_id: token.org_id,
            },
            Caps::from(route.agency_limits),
        ));
    }
    budgets
}

fn refused(key: &BudgetKey, refusal: Refusal) -> GatewayError {
    GatewayError::limited(refusal, key.scope == BudgetScope::Agency)
}

/// What leasing needs; the maintenance tick holds the gateway only while it works, so that a dropped `App`
/// stops its tick.
#[derive(Clone)]
struct Budgets {
    gateway: Arc<Gateway>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// How long a call waits for a lease (`Config::gateway_lease_wait`).
    lease_wait: Duration,
}

/// Removes a lease from the ones under way when it ends, however it ends.
struct Ending {
    budgets: Budgets,
    key: BudgetKey,
    _done: watch::Sender<()>,
}

impl Drop for Ending {
    fn drop(&mut self) {
        self.budgets.gateway.limits.pending().remove(&self.key);
    }
}

impl Budgets {
    fn of(app: &App) -> Self {
        Budgets {
            gateway: app.gateway.clone(),
            store: app.store.clone(),
            clock: app.clock.clone(),
            lease_wait: app.config.gateway_lease_wait,
        }
    }

    fn limits(&self) -> &CallLimits {
        &self.gateway.limits
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    async fn admit(&self, keys: &[(BudgetKey, Caps)]) -> Result<CallPermit, GatewayError> {
        let limits = self.limits();
        let started = Instant::now();
        loop {
            let need = match limits.limiter.admit(keys, self.now_ms()) {
                Admission::Admitted(permit) => return Ok(permit),
                Admission::Refused(key, refusal) => return Err(refused(&key, refusal)),
                Admission::Lease(need) => need,
            };
            let mut stalled = false;
            let mut ends = Vec::with_capacity(need.len());
            for key in need {
                let (since, end) = self.lease_in_background(key);
                stalled |= since.elapsed() >= self.lease_wait;
                ends.push(end);
            }
            let left = self.lease_wait.saturating_sub(started.elapsed());
            if stalled || left.is_zero() {
                break;
            }
            let all = futures_util::future::join_all(ends.iter_mut().map(|end| end.changed()));
            if tokio::time::timeout(left, all).await.is_err() {
                break;
            }
        }
        if !limits.alone.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "the database did not answer a lease of the gateway's limits in time; until it does, this \
                 process keeps the limits on its own"
            );
        }
        limits
            .limiter
            .admit_locally(keys, self.now_ms())
            .map_err(|(key, refusal)| refused(&key, refusal))
    }

    /// Starts a lease from the budget unless one is under way; returns when the one under way began and a
    /// receiver that sees it end.
    fn lease_in_background(&self, key: BudgetKey) -> (Instant, watch::Receiver<()>) {
        let mut pending = self.limits().pending();
        if let Some((since, end)) = pending.get(&key) {
            return (*since, end.clone());
        }
        let (done, end) = watch::channel(());
        let since = Instant::now();
        pending.insert(key, (since, end.clone()));
        drop(pending);
        let ending = Ending {
            budgets: self.clone(),
            key,
            _done: done,
        };
        tokio::spawn(async move {
            ending.budgets.lease(&ending.key).await;
            drop(ending);
        });
        (since, end)
    }

    /// One lease: takes what to ask from the limiter, asks the database, gives the answer back.
    async fn lease(&self, key: &BudgetKey) {
        let limiter = &self.limits().limiter;
        let now_ms = self.now_ms();
        let Some(lease) = limiter.take_lease(key, now_ms) else {
            return;
        };
        match self.ask(key, &lease).await {
            Ok(grant) => {
                limiter.settle(key, &lease, Some(&grant), now_ms);
                if self.limits().alone.swap(false, Ordering::Relaxed) {
                    tracing::info!("the database answers the gateway's leases again");
                }
            }
            Err(error) => {
                tracing::warn!(%error, "leasing from a gateway budget failed");
                limiter.settle(key, &lease, None, now_ms);
            }
        }
    }

    async fn ask(&self, key: &BudgetKey, lease: &Lease) -> Result<Grant, StoreError> {
        let now_ns = lease.now_ms.saturating_mul(1_000_000);
        let mut grant = Grant::default();
        if lease.requests.is_some() || lease.tokens.is_some() {
            // A part not leased moves nothing.
            let idle = RateLease {
                per_minute: 1,
                want: 0,
                balance: 0,
            };
            let (requests, tokens) = (lease.requests.unwrap_or(idle), lease.tokens.unwrap_or(idle));
            let step = |r: RateLease| RateStep {
                unit_ns: r.unit_ns(),
                want: r.want,
                balance: r.balance,
            };
            let (requests_granted, requests_tat_ns) = requests.apply(now_ns, now_ns);
            let (tokens_granted, tokens_tat_ns) = tokens.apply(now_ns, now_ns);
            let state = self
                .store
                .lease_budget(&BudgetLease {
                    key: *key,
                    now_ns,
                    requests: step(requests),
                    tokens: step(tokens),
                    fresh: BudgetState {
                        requests_tat_ns,
                        tokens_tat_ns,
                        requests_granted,
                        tokens_granted,
                    },
                })
                .await?;
            grant.requests = lease.requests.map(|_| RateGrant {
                granted: state.requests_granted,
                tat_ns: state.requests_tat_ns,
            });
            grant.tokens = lease.tokens.map(|_| RateGrant {
                granted: state.tokens_granted,
                tat_ns: state.tokens_tat_ns,
            });
        }
        if let Some(change) = lease.slots {
            let slots = SlotLease {
                key: *key,
                holder: self.limits().holder.clone(),
                target: i64::from(change.target),
                limit: i64::from(change.limit),
                now_ms: lease.now_ms,
                expires_ms: lease.now_ms + SLOT_TTL_MS,
            };
            let held = if change.acquires() {
                self.store.acquire_slots(&slots).await
            } else {
                self.store.release_slots(&slots).await.map(|()| slots.target)
            };
            // The rates' part stands even when the slots' fails.
            match held {
                Ok(held) => grant.slots = Some(u32::try_from(held).unwrap_or(0)),
                Err(error) => tracing::warn!(%error, "changing the gateway's concurrency slots failed"),
            }
        }
        Ok(grant)
    }

    /// Gives back unspent shares, reports debts, frees idle slots and renews held ones; waits for the leases
    /// it starts and the ones already under way (at most a few seconds), so that what is due has reached the
    /// database when it returns even if another round (the tick's, a call's) started the lease.
    async fn tend(&self) {
        let limits = self.limits();
        let now_ms = self.now_ms();
        for key in limits.limiter.due(now_ms) {
            self.lease_in_background(key);
        }
        if limits.limiter.holds_slots() {
            let _renewal = limits.renewal.lock().await;
            if !limits.released.load(Ordering::Relaxed)
                && now_ms - limits.renewed_ms.load(Ordering::Relaxed) >= SLOT_TTL_MS / 3
            {
                match self.store.renew_slots(&limits.holder, now_ms + SLOT_TTL_MS).await {
                    Ok(_) => limits.renewed_ms.store(now_ms, Ordering::Relaxed),
                    Err(error) => tracing::warn!(%error, "renewing the gateway's concurrency slots failed"),
                }
            }
        }
        self.leases_under_way().await;
    }

    /// Waits (at most `LEASES_WAIT`) for the leases under way to end.
    async fn leases_under_way(&self) {
        let mut ends: Vec<_> = self
            .limits()
            .pending()
            .values()
            .map(|(_, end)| end.clone())
            .collect();
        let all = futures_util::future::join_all(ends.iter_mut().map(|end| end.changed()));
        let _ = tokio::time::timeout(LEASES_WAIT, all).await;
    }

    /// Runs `tend` every `TICK` for as long as the gateway exists.
    fn start_tick(&self) {
        let limits = self.limits();
        limits.ticking.get_or_init(|| {
            let (store, clock) = (self.store.clone(), self.clock.clone());
            every_while_alive(&self.gateway, TICK, move |gateway| {
                let budgets = Budgets {
                    gateway,
                    store: store.clone(),
                    clock: clock.clone(),
                    lease_wait: LEASE_WAIT,
                };
                async move { budgets.tend().await }
            });
        });
    }
}

impl App {
    /// Admits a gateway call through `route` with `token`, or refuses it with the limit that refuses it.
    pub(super) async fn admit_call(
        &self,
        token: &GatewayToken,
        route: &Route,
    ) -> Result<CallPermit, GatewayError> {
        let budgets = Budgets::of(self);
        budgets.start_tick();
        budgets.admit(&self::budgets(token, route)).await
    }

    /// Charges the tokens a call used to its budgets.
    pub(super) fn charge_call(&self, token: &GatewayToken, route: &Route, tokens: u64) {
        let keys: Vec<BudgetKey> = budgets(token, route).into_iter().map(|(key, _)| key).collect();
        let now_ms = self.clock.now().timestamp_millis();
        self.gateway.limits.limiter.charge(&keys, tokens, now_ms);
    }

    /// One round of the limits' upkeep, as the tick runs it every second: unspent shares given back, token debts
    /// reported, idle concurrency slots freed, held ones renewed.
    pub async fn tend_gateway_limits(&self) {
        Budgets::of(self).tend().await;
    }

    /// Lets go of every concurrency slot this process holds, as a server that stops does (one that is killed
    /// instead holds them until they expire).
    pub async fn release_gateway_limits(&self) {
        let limits = &self.gateway.limits;
        // A renewal under way ends first; every later one sees the release.
        let _renewal = limits.renewal.lock().await;
        limits.released.store(true, Ordering::Relaxed);
        // So does a lease under way (a call's, or the tick's), which may take slots.
        Budgets::of(self).leases_under_way().await;
        let now_ms = self.clock.now().timestamp_millis();
        if let Err(error) = self.store.renew_slots(&limits.holder, now_ms).await {
            tracing::warn!(%error, "freeing the gateway's concurrency slots failed; they expire on their own");
        }
    }
}
