//! The in-process cache of grants, read again *ahead* of their expiry so that calls do not wait for it.
//!
//! A grant read at `t` (by the injected clock, taken before its first query) is used until `t + GRANT_TTL`, never
//! after. Reading one takes several database round trips; if the call that finds it expired did the reading, one
//! call in every `GRANT_TTL` of every token would wait for them (with 32 tokens at 500 calls/s, 3 % of the calls
//! of one process, 6 % with two: the whole p99). So the first call that finds a grant past half its life starts
//! one read in the background and goes on with the cached grant, which is still within its life; the next calls
//! get the new one. A call waits for a read only when the token has no grant in its life (its first call, or
//! none for a while); when a grant past its life is still cached, that read too is of the epoch alone unless
//! it moved (below).
//!
//! The background read is usually one statement: a grant keeps the grant epoch read before it
//! (`GatewayStore::grant_epoch`, moved by triggers with every change to what a grant is read from), and while
//! the epoch reads the same the cached grant is what the database still holds, so it is kept for another
//! `GRANT_TTL` from when the epoch was read. Only when the epoch moved is the grant read again in full. So the
//! database sees one small read per token and `GRANT_TTL / 2` instead of several, and no connection's secrets
//! are opened again.
//!
//! Since the epoch is one number for every grant, each process also reads it once every `GRANT_TTL / 2` for all
//! its cached grants at once (`App::start_grant_upkeep`, `GrantCache::confirm`): every grant read under the
//! epoch it finds unmoved lives another `GRANT_TTL` from when that read began. A grant in use then never reaches
//! half its life while the epoch stands, and a token back after a pause of seconds finds its grant still alive:
//! no call waits for the database, and the database sees one small read per process and `GRANT_TTL / 2`
//! instead of one per token. Grants not used for `KEEP_UNUSED` are not confirmed again and expire; the
//! per-key reads above remain for the grants the epoch's move left unconfirmed.
//!
//! A change made through this process clears the cache (`clear`); a read under way then may have seen the
//! database before the change, so what it brings back is dropped instead of cached (`Ticket::generation`).

use super::grants::{GRANT_TTL, Grant, GrantKey};
use super::{Gateway, every_while_alive};
use crate::{App, Clock};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use store::Store;

/// A grant not used for this long is no longer confirmed by the epoch reads, and expires.
const KEEP_UNUSED: TimeDelta = TimeDelta::seconds(60);

impl App {
    /// Starts, once per gateway, the task that reads the grant epoch every `GRANT_TTL / 2` and confirms the
    /// cached grants read under it (see the module's text). It ends with the gateway.
    pub(super) fn start_grant_upkeep(&self) {
        self.gateway.grants.upkeep.get_or_init(|| {
            let (store, clock) = (self.store.clone(), self.clock.clone());
            let period = (GRANT_TTL / 2)
                .to_std()
                .unwrap_or(std::time::Duration::from_secs(1));
            every_while_alive(&self.gateway, period, move |gateway| {
                let (store, clock) = (store.clone(), clock.clone());
                async move { confirm_grants(&gateway, store.as_ref(), clock.as_ref()).await }
            });
        });
    }

    /// One epoch read for the whole cache, as the upkeep makes every `GRANT_TTL / 2`.
    pub async fn confirm_gateway_grants(&self) {
        confirm_grants(&self.gateway, self.store.as_ref(), self.clock.as_ref()).await;
    }
}

async fn confirm_grants(gateway: &Gateway, store: &dyn Store, clock: &dyn Clock) {
    if gateway.grants.is_empty() {
        return;
    }
    // The clock's now before the database is asked, as for every read.
    let ticket = gateway.grants.ticket(clock.now());
    match store.grant_epoch().await {
        Ok(epoch) => gateway.grants.confirm(ticket, epoch, |g| g.epoch),
        Err(error) => tracing::warn!(%error, "reading the grant epoch failed; cached grants expire as read"),
    }
}

impl App {
    /// Reads the grant under `key` again in the background, for the cache, with the ticket a lookup gave:
    /// `cached` again if the grant epoch has not moved since it was read, else the grant read in full. A failed
    /// read leaves the cached grant for the rest of its life.
    pub(super) fn refresh_grant(&self, key: GrantKey, ticket: Ticket, cached: Arc<Grant>) {
        let app = self.clone();
        tokio::spawn(async move {
            match app.current_grant(&key, Some(cached)).await {
                Ok(grant) => app.gateway.grants.put(&key, ticket, grant),
                Err(error) => {
                    tracing::warn!(%error, "reading a gateway grant again failed; the cached one serves until it expires");
                    app.gateway.grants.abandon(&key);
                }
            }
        });
    }
}

/// What a lookup found.
pub(super) enum Lookup<G> {
    /// A grant within the first half of its life.
    Fresh(Arc<G>),
    /// A grant in the second half of its life, to use now; the caller reads it again in the background with the
    /// ticket (no other lookup gets one for this key until that read is put or abandoned).
    Refresh(Arc<G>, Ticket),
    /// No grant within its life: the caller reads it and waits. One past its life comes along: while the grant
    /// epoch has not moved it is still good, and the read is one statement.
    Missing(Ticket, Option<Arc<G>>),
}

/// A read's claim: when it began and the cache's generation then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ticket {
    read_at: DateTime<Utc>,
    generation: u64,
}

struct Entry<G> {
    read_at: DateTime<Utc>,
    /// When a lookup last found it.
    used_at: DateTime<Utc>,
    grant: Arc<G>,
    /// A background read of this key is under way.
    refreshing: bool,
}

struct Entries<K, G> {
    map: HashMap<K, Entry<G>>,
    /// Moves with every `clear`: reads begun before it are not cached.
    generation: u64,
}

/// Grants by their key (the digest of a presented token, or a token's id), each with when it was read. (Generic so that its tests can
/// keep something simpler than a grant.)
pub(super) struct GrantCache<K, G> {
    ttl: TimeDelta,
    /// Entries beyond this many make `put` sweep the expired ones.
    sweep_at: usize,
    entries: Mutex<Entries<K, G>>,
    /// Set once the epoch reads (`App::start_grant_upkeep`) run.
    upkeep: OnceLock<()>,
}

impl<K: Hash + Eq + Clone, G> GrantCache<K, G> {
    pub(super) fn new(ttl: TimeDelta, sweep_at: usize) -> Self {
        GrantCache {
            ttl,
            sweep_at,
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                generation: 0,
            }),
            upkeep: OnceLock::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries<K, G>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The grant of `key` at `now`, and whether (and how) to read it again.
    pub(super) fn lookup(&self, key: &K, now: DateTime<Utc>) -> Lookup<G> {
        let mut entries = self.lock();
        let ticket = Ticket {
            read_at: now,
            generation: entries.generation,
        };
        let Some(entry) = entries.map.get_mut(key) else {
            return Lookup::Missing(ticket, None);
        };
        entry.used_at = entry.used_at.max(now);
        let age = now - entry.read_at;
        if age >= self.ttl || age < TimeDelta::zero() {
            return Lookup::Missing(ticket, Some(entry.grant.clone()));
        }
        if age < self.ttl / 2 || entry.refreshing {
            return Lookup::Fresh(entry.grant.clone());
        }
        entry.refreshing = true;
        Lookup::Refresh(entry.grant.clone(), ticket)
    }

    /// Keeps what a read begun with `ticket` found: the grant, or `None` when the token no longer has one (the
    /// cached grant is then dropped too). Nothing is kept if the cache was cleared since the read began, or if a
    /// later read's grant is already there.
    pub(super) fn put(&self, key: &K, ticket: Ticket, grant: Option<Arc<G>>) {
        let mut entries = self.lock();
        if entries.generation != ticket.generation {
            return;
        }
        if let Some(entry) = entries.map.get_mut(key)
            && entry.read_at > ticket.read_at
        {
            // A later read, or an epoch read since, already vouches for the cached grant.
            entry.refreshing = false;
            return;
        }
        match grant {
            None => {
                entries.map.remove(key);
            }
            Some(grant) => {
                if entries.map.len() >= self.sweep_at {
                    let ttl = self.ttl;
                    entries.map.retain(|_, e| ticket.read_at - e.read_at < ttl);
                }
                let used_at = entries.map.get(key).map_or(ticket.read_at, |e| e.used_at);
                entries.map.insert(
                    key.clone(),
                    Entry {
                        read_at: ticket.read_at,
                        used_at: used_at.max(ticket.read_at),
                        grant,
                        refreshing: false,
                    },
                );
            }
        }
    }

    /// A background read that failed: the cached grant stays for the rest of its life, and a later call may try
    /// again.
    pub(super) fn abandon(&self, key: &K) {
        if let Some(entry) = self.lock().map.get_mut(key) {
            entry.refreshing = false;
        }
    }

    /// A claim for a read of the epoch beginning at `now` (the clock's, taken before the database is asked).
    pub(super) fn ticket(&self, now: DateTime<Utc>) -> Ticket {
        Ticket {
            read_at: now,
            generation: self.lock().generation,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.lock().map.is_empty()
    }

    /// What an epoch read begun with `ticket` found: every grant read under `epoch` (by `epoch_of`) is what the
    /// database still holds, so it lives `ttl` from the read's beginning; grants not used for `KEEP_UNUSED`
    /// are dropped instead. Nothing changes if the cache was cleared since the read began.
    pub(super) fn confirm(&self, ticket: Ticket, epoch: i64, epoch_of: impl Fn(&G) -> i64) {
        let mut entries = self.lock();
        if entries.generation != ticket.generation {
            return;
        }
        entries
            .map
            .retain(|_, e| ticket.read_at - e.used_at < KEEP_UNUSED);
        for entry in entries.map.values_mut() {
            if epoch_of(&entry.grant) == epoch && entry.read_at < ticket.read_at {
                entry.read_at = ticket.read_at;
            }
        }
    }

    /// Forgets every grant, after a change that may withdraw access; reads under way are not kept.
    pub(super) fn clear(&self) {
        let mut entries = self.lock();
        entries.map.clear();
        entries.generation = entries.generation.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
    }

    fn cache() -> GrantCache<&'static str, &'static str> {
        GrantCache::new(TimeDelta::seconds(2), 100)
    }

    fn ticket(lookup: Lookup<&'static str>) -> Ticket {
        match lookup {
            Lookup::Missing(t, _) | Lookup::Refresh(_, t) => t,
            Lookup::Fresh(_) => panic!("no ticket for a fresh grant"),
        }
    }

    /// What a lookup gave, as (the grant used at once, whether a read was claimed).
    fn seen(lookup: Lookup<&'static str>) -> (Option<&'static str>, bool) {
        match lookup {
            Lookup::Fresh(g) => (Some(*g), false),
            Lookup::Refresh(g, _) => (Some(*g), true),
            Lookup::Missing(..) => (None, true),
        }
    }

    #[test]
    fn a_grant_is_read_again_ahead_of_its_expiry_and_never_used_past_it() {
        let cache = cache();
        let t = ticket(cache.lookup(&"k", at(0)));
        cache.put(&"k", t, Some(Arc::new("first")));
        // (ms since the first read, what the lookup gives)
        let cases = [
            (0, (Some("first"), false)),
            (999, (Some("first"), false)),
            // Half its life: used, and one read claimed...
            (1_000, (Some("first"), true)),
            // ...and only one, while it is under way.
            (1_500, (Some("first"), false)),
            // Past its life the grant is not used, read under way or not.
            (2_000, (None, true)),
            (5_000, (None, true)),
        ];
        for (ms, expected) in cases {
            assert_eq!(seen(cache.lookup(&"k", at(ms))), expected, "at {ms} ms");
        }
    }

    #[test]
    fn a_grant_past_its_life_comes_along_to_be_checked_unless_the_cache_was_cleared() {
        let cache = cache();
        cache.put(&"k", ticket(cache.lookup(&"k", at(0))), Some(Arc::new("first")));
        assert!(matches!(cache.lookup(&"k", at(2_000)), Lookup::Missing(_, Some(g)) if *g == "first"));
        assert!(matches!(
            cache.lookup(&"other", at(2_000)),
            Lookup::Missing(_, None)
        ));
        cache.clear();
        assert!(matches!(cache.lookup(&"k", at(2_000)), Lookup::Missing(_, None)));
    }

    #[test]
    fn the_background_read_replaces_the_grant() {
        let cache = cache();
        cache.put(&"k", ticket(cache.lookup(&"k", at(0))), Some(Arc::new("first")));
        let t = ticket(cache.lookup(&"k", at(1_200)));
        cache.put(&"k", t, Some(Arc::new("second")));
        // Its life counts from when the read began.
        assert_eq!(seen(cache.lookup(&"k", at(2_100))), (Some("second"), false));
        assert_eq!(seen(cache.lookup(&"k", at(3_200))), (None, true));
    }

    #[test]
    fn a_read_begun_before_a_clear_is_not_kept() {
        let cache = cache();
        cache.put(&"k", ticket(cache.lookup(&"k", at(0))), Some(Arc::new("first")));
        let refresh = ticket(cache.lookup(&"k", at(1_000)));
        let missing = ticket(cache.lookup(&"other", at(1_000)));
        cache.clear();
        cache.put(&"k", refresh, Some(Arc::new("stale")));
        cache.put(&"other", missing, Some(Arc::new("stale")));
        assert_eq!(seen(cache.lookup(&"k", at(1_001))), (None, true));
        assert_eq!(seen(cache.lookup(&"other", at(1_001))), (None, true));
    }

    #[test]
    fn a_token_without_a_grant_any_more_loses_the_cached_one() {
        let cache = cache();
        cache.put(&"k", ticket(cache.lookup(&"k", at(0))), Some(Arc::new("first")));
        let t = ticket(cache.lookup(&"k", at(1_000)));
        cache.put(&"k", t, None);
        assert_eq!(seen(cache.lookup(&"k", at(1_001))), (None, true));
    }

    #[test]
    fn a_failed_read_leaves_the_grant_for_the_rest_of_its_life_and_lets_another_try() {
        let cache = cache();
        cache.put(&"k", ticket(cache.lookup(&"k", at(0))), Some(Arc::new("first")));
        assert!(matches!(cache.lookup(&"k", at(1_000)), Lookup::Refresh(..)));
        cache.abandon(&"k");
        assert_eq!(seen(cache.lookup(&"k", at(1_100))), (Some("first"), true));
        assert_eq!(seen(cache.lookup(&"k", at(2_000))), (None, true));
    }

    #[test]
    fn an_older_read_does_not_replace_a_newer_grant() {
        let cache = cache();
        let old = ticket(cache.lookup(&"k", at(0)));
        let new = ticket(cache.lookup(&"k", at(10)));
        cache.put(&"k", new, Some(Arc::new("new")));
        cache.put(&"k", old, Some(Arc::new("old")));
        assert_eq!(seen(cache.lookup(&"k", at(20))), (Some("new"), false));
    }

    /// The tests' grants name their epoch: "e7" was read under epoch 7.
    fn epoch_of(grant: &&'static str) -> i64 {
        grant.trim_start_matches('e').parse().unwrap_or(-1)
    }

    #[test]
    fn an_epoch_read_that_finds_the_grants_epoch_extends_its_life_from_the_reads_beginning() {
        // (the epoch found at 1,500 ms, the cache cleared meanwhile, what a lookup at 3,100 ms gives)
        let cases = [
            (7, false, (Some("e7"), true)),
            (8, false, (None, true)),
            (7, true, (None, true)),
        ];
        for (found, cleared, expected) in cases {
            let cache = cache();
            let ticket_before = if cleared {
                Some(cache.ticket(at(1_500)))
            } else {
                None
            };
            if cleared {
                cache.clear();
            }
            cache.put(&"k", ticket(cache.lookup(&"k", at(1_000))), Some(Arc::new("e7")));
            let epoch_read = ticket_before.unwrap_or_else(|| cache.ticket(at(1_500)));
            cache.confirm(epoch_read, found, epoch_of);
            // Read at 1,000 ms the grant is past its life at 3,100; confirmed at 1,500 it is in its second half.
            assert_eq!(
                seen(cache.lookup(&"k", at(3_100))),
                expected,
                "found epoch {found}, cleared {cleared}"
            );
        }
    }

    #[test]
    fn a_confirmed_grant_is_never_used_past_the_confirmations_life_nor_kept_once_unused() {
        let cache = cache();
        cache.put(&"k", ticket(cache.lookup(&"k", at(0))), Some(Arc::new("e7")));
        cache.confirm(cache.ticket(at(1_000)), 7, epoch_of);
        assert_eq!(seen(cache.lookup(&"k", at(2_999))), (Some("e7"), true));
        cache.abandon(&"k");
        assert_eq!(seen(cache.lookup(&"k", at(3_000))), (None, true));
        // Confirmed every second while unused since 3 s: dropped 60 s after its last use, not only expired.
        for second in 4..=63 {
            cache.confirm(cache.ticket(at(second * 1_000)), 7, epoch_of);
        }
        assert!(matches!(cache.lookup(&"k", at(63_100)), Lookup::Missing(_, None)));
        // Used in between, it is kept and alive.
        let cache = self::cache();
        cache.put(&"k", ticket(cache.lookup(&"k", at(0))), Some(Arc::new("e7")));
        for second in 1..=63 {
            if second == 30 {
                cache.lookup(&"k", at(second * 1_000 - 1));
            }
            cache.confirm(cache.ticket(at(second * 1_000)), 7, epoch_of);
        }
        assert_eq!(seen(cache.lookup(&"k", at(63_100))), (Some("e7"), false));
    }

    #[test]
    fn a_background_read_overtaken_by_an_epoch_read_frees_the_claim() {
        let cache = cache();
        cache.put(&"k", ticket(cache.lookup(&"k", at(0))), Some(Arc::new("e7")));
        let refresh = ticket(cache.lookup(&"k", at(1_000)));
        cache.confirm(cache.ticket(at(1_100)), 7, epoch_of);
        cache.put(&"k", refresh, Some(Arc::new("e7")));
        // Half-way through the confirmed life, a read is claimed again.
        assert_eq!(seen(cache.lookup(&"k", at(2_100))), (Some("e7"), true));
    }

    #[test]
    fn expired_grants_are_swept_when_the_cache_is_full() {
        let cache = GrantCache::new(TimeDelta::seconds(2), 3);
        for key in ["a", "b", "c"] {
            cache.put(&key, ticket(cache.lookup(&key, at(0))), Some(Arc::new(key)));
        }
        cache.put(&"d", ticket(cache.lookup(&"d", at(3_000))), Some(Arc::new("d")));
        assert_eq!(cache.lock().map.len(), 1);
    }
}
