use super::*;

fn caps(rpm: u32, tpm: u32, concurrency: u32) -> Caps {
    Caps {
        requests_per_minute: Some(rpm),
        tokens_per_minute: Some(tpm),
        concurrency: Some(concurrency),
    }
}

const NOW_MS: i64 = 1_800_000_000_000;

/// A database of one process's budgets, by the same rule the SQL follows.
#[derive(Default)]
struct Db {
    requests: HashMap<u8, i64>,
    tokens: HashMap<u8, i64>,
    slots: HashMap<(u8, u8), u32>,
}

impl Db {
    /// Runs a lease for `key` of process `holder` against the budgets.
    fn lease(&mut self, limiter: &Limiter<u8>, holder: u8, key: u8, now_ms: i64) {
        let Some(lease) = limiter.take_lease(&key, now_ms) else {
            return;
        };
        let now_ns = now_ms * 1_000_000;
        let mut grant = Grant::default();
        for (part, tats, out) in [
            (lease.requests, &mut self.requests, &mut grant.requests),
            (lease.tokens, &mut self.tokens, &mut grant.tokens),
        ] {
            if let Some(part) = part {
                let tat = tats.get(&key).copied().unwrap_or(now_ns);
                let (granted, tat) = part.apply(tat, now_ns);
                tats.insert(key, tat);
                *out = Some(RateGrant { granted, tat_ns: tat });
            }
        }
        if let Some(change) = lease.slots {
            let others: u32 = self
                .slots
                .iter()
                .filter(|((h, k), _)| *h != holder && *k == key)
                .map(|(_, n)| n)
                .sum();
            let held = if change.acquires() {
                change.target.min(change.limit.saturating_sub(others))
            } else {
                change.target
            };
            self.slots.insert((holder, key), held);
            grant.slots = Some(held);
        }
        limiter.settle(&key, &lease, Some(&grant), now_ms);
    }

    /// Admits a call as the app does: lease when asked, then ask again.
    fn admit(
        &mut self,
        limiter: &Limiter<u8>,
        holder: u8,
        keys: &[(u8, Caps)],
        now_ms: i64,
    ) -> Result<Permit<u8>, Refusal> {
        for _ in 0..4 {
            match limiter.admit(keys, now_ms) {
                Admission::Admitted(permit) => return Ok(permit),
                Admission::Refused(_, refusal) => return Err(refusal),
                Admission::Lease(need) => {
                    for key in need {
                        self.lease(limiter, holder, key, now_ms);
                    }
                }
            }
        }
        panic!("no decision after four leases");
    }
}

#[test]
fn a_rate_lease_grants_what_fits_in_a_minute() {
    let now = 1_000 * MINUTE_NS;
    // (limit, budget's time relative to now in s, want, balance) → (granted, new time relative to now in s)
    let cases: [(u32, i64, i64, i64, i64, i64); 9] = [
        (60, -100, 1, 0, 1, 1),      // a full budget
        (60, 0, 60, 0, 60, 60),      // all of it
        (60, 0, 100, 0, 60, 60),     // never more than a minute's
        (60, 59, 1, 0, 1, 60),       // the last unit
        (60, 60, 1, 0, 0, 60),       // empty
        (60, 30, 0, -20, 0, 50),     // a debt is reported
        (60, 30, 0, 10, 0, 20),      // unspent units come back
        (60, 5, 0, 30, 0, 0),        // never fuller than full
        (60, 4_000, 1, 0, 0, 3_600), // a debt is held to an hour
    ];
    for (limit, tat_s, want, balance, granted, after_s) in cases {
        let lease = RateLease {
            per_minute: limit,
            want,
            balance,
        }
        .bounded();
        let (got, tat) = lease.apply(now + tat_s * 1_000_000_000, now);
        assert_eq!(
            (got, (tat - now) / 1_000_000_000),
            (granted, after_s),
            "{limit}/min, at {tat_s} s, want {want}, balance {balance}"
        );
    }
    let one = RateLease {
        per_minute: 1,
        want: 1,
        balance: 0,
    };
    assert_eq!(one.wait_ms(now + MINUTE_NS, now), 60_000);
    assert_eq!(lease_size(1), 1);
    assert_eq!(lease_size(100), 2);
    assert_eq!(lease_size(100_000), 2_000);
}

#[test]
fn one_call_a_minute_whatever_the_tokens() {
    let limiter = Limiter::default();
    let mut db = Db::default();
    let keys = [(1, caps(1, 1_000, 10))];
    assert!(db.admit(&limiter, 0, &keys, NOW_MS).is_ok());
    let refused = db.admit(&limiter, 0, &keys, NOW_MS + 1_000).err();
    assert_eq!(
        refused,
        Some(Refusal::RequestsPerMinute {
            limit: 1,
            retry_after_secs: 59
        })
    );
    assert!(db.admit(&limiter, 0, &keys, NOW_MS + 59_999).is_err());
    assert!(db.admit(&limiter, 0, &keys, NOW_MS + 60_000).is_ok());
}

#[test]
fn refusals_are_remembered_until_the_budget_refills() {
    let limiter = Limiter::default();
    let mut db = Db::default();
    let keys = [(1, caps(2, 1_000, 10))];
    assert!(db.admit(&limiter, 0, &keys, NOW_MS).is_ok());
    assert!(db.admit(&limiter, 0, &keys, NOW_MS).is_ok());
    assert!(db.admit(&limiter, 0, &keys, NOW_MS).is_err());
    // Without asking the database again.
    assert!(matches!(
        limiter.admit(&keys, NOW_MS + 29_000),
        Admission::Refused(1, _)
    ));
    assert!(db.admit(&limiter, 0, &keys, NOW_MS + 30_000).is_ok());
}

#[test]
fn two_processes_share_one_budget() {
    let (a, b) = (Limiter::default(), Limiter::default());
    let mut db = Db::default();
    let keys = [(1, caps(100, 1_000_000, 100))];
    let mut admitted = 0;
    // Three times the limit's pace for three minutes, alternating between the processes.
    for step in 0..900 {
        let now = NOW_MS + step * 200;
        let limiter = if step % 2 == 0 { &a } else { &b };
        if db.admit(limiter, (step % 2) as u8, &keys, now).is_ok() {
            admitted += 1;
        }
        if step % 5 == 0 {
            for (holder, limiter) in [(0, &a), (1, &b)] {
                for key in limiter.due(now) {
                    db.lease(limiter, holder, key, now);
                }
            }
        }
    }
    // A full minute's burst, then 100 a minute.
    let ideal = 100 + 300;
    assert!(
        (admitted as f64 - f64::from(ideal)).abs() <= 0.1 * f64::from(ideal),
        "{admitted} admitted, {ideal} ideally"
    );
}

#[test]
fn tokens_are_charged_after_the_call() {
    let limiter = Limiter::default();
    let mut db = Db::default();
    let keys = [(1, caps(100, 30, 10))];
    for _ in 0..2 {
        let permit = db.admit(&limiter, 0, &keys, NOW_MS).unwrap();
        limiter.charge(&[1], 18, NOW_MS);
        drop(permit);
    }
    let refused = db.admit(&limiter, 0, &keys, NOW_MS).err();
    assert_eq!(
        refused,
        Some(Refusal::TokensPerMinute {
            limit: 30,
            retry_after_secs: 14
        })
    );
    assert!(db.admit(&limiter, 0, &keys, NOW_MS + 13_000).is_err());
    assert!(db.admit(&limiter, 0, &keys, NOW_MS + 14_000).is_ok());
}

#[test]
fn concurrency_is_shared_through_slots() {
    let (a, b) = (Limiter::default(), Limiter::default());
    let mut db = Db::default();
    let keys = [(1, caps(1_000, 1_000_000, 2))];
    let first = db.admit(&a, 0, &keys, NOW_MS).unwrap();
    let _second = db.admit(&b, 1, &keys, NOW_MS).unwrap();
    assert_eq!(
        db.admit(&a, 0, &keys, NOW_MS).err(),
        Some(Refusal::Concurrency { limit: 2 })
    );
    assert_eq!(a.in_flight(&1), 1);
    drop(first);
    assert_eq!(a.in_flight(&1), 0);
    // The slot stays with the process that used it for a while, then goes back.
    assert!(db.admit(&a, 0, &keys, NOW_MS + 500).is_ok());
    assert_eq!(
        db.admit(&b, 1, &keys, NOW_MS + 1_500).err(),
        Some(Refusal::Concurrency { limit: 2 })
    );
    // Used in the window that ends now, kept for the next; not used in that one, given back.
    let later = NOW_MS + SLOT_LINGER_MS;
    assert!(a.due(later).is_empty());
    let later = later + SLOT_LINGER_MS;
    assert_eq!(a.due(later), [1]);
    db.lease(&a, 0, 1, later);
    assert!(!a.holds_slots());
    assert!(db.admit(&b, 1, &keys, later + FULL_RECHECK_MS).is_ok());
}

#[test]
fn a_window_keeps_its_peak_and_a_margin_of_slots() {
    // (limit, held, peak in the window, in flight at its end) → what to give back down to (None: keep all).
    let cases: [(u32, u32, u32, u32, Option<u32>); 9] = [
        // A small limit is exact: everything beyond the peak goes back.
        (4, 4, 1, 0, Some(1)),
        (4, 1, 1, 0, None),
        (99, 5, 2, 1, Some(2)),
        // A chunk of 1,000 is 20: a margin of 19 beyond the peak, given back 19 beyond that.
        (1_000, 22, 3, 0, None),
        (1_000, 41, 3, 2, None),
        (1_000, 42, 3, 2, Some(22)),
        (1_000, 60, 5, 5, Some(24)),
        // A window without calls keeps no slot, whatever the limit.
        (1_000, 19, 0, 0, Some(0)),
        (4, 1, 0, 0, Some(0)),
    ];
    for (limit, held, peak, in_flight, expected) in cases {
        let mut slots = Slots {
            held,
            in_flight,
            peak,
            ..Slots::default()
        };
        slots.roll(Some(limit), SLOT_LINGER_MS);
        assert_eq!(
            slots.release_to, expected,
            "limit {limit}, held {held}, peak {peak}, in flight {in_flight}"
        );
        assert_eq!(
            slots.peak, in_flight,
            "the next window starts from what is in flight"
        );
    }
}

#[test]
fn slots_beyond_steady_use_go_back() {
    let (a, b) = (Limiter::default(), Limiter::default());
    let mut db = Db::default();
    let keys = [(1, caps(1_000, 1_000_000, 4))];
    // A burst of four calls in A, then one at a time, every 500 ms.
    let burst: Vec<_> = (0..4).map(|_| db.admit(&a, 0, &keys, NOW_MS).unwrap()).collect();
    drop(burst);
    assert!(db.admit(&b, 1, &keys, NOW_MS).is_err());
    let mut now = NOW_MS;
    while now < NOW_MS + 2 * SLOT_LINGER_MS {
        now += 500;
        drop(db.admit(&a, 0, &keys, now).unwrap());
        for key in a.due(now) {
            db.lease(&a, 0, key, now);
        }
    }
    // A kept one slot, what its steady traffic uses; B gets the other three.
    let later = now + FULL_RECHECK_MS;
    let calls: Vec<_> = (0..3).map(|_| db.admit(&b, 1, &keys, later)).collect();
    assert!(calls.iter().all(Result::is_ok));
    assert!(db.admit(&a, 0, &keys, later).is_ok());
}

#[test]
fn a_lease_not_spent_goes_back() {
    let (a, b) = (Limiter::default(), Limiter::default());
    let mut db = Db::default();
    let keys = [(1, caps(100, 1_000_000, 10))];
    // A leases two, spends one; B spends the other 98, and is refused the 99th.
    drop(db.admit(&a, 0, &keys, NOW_MS).unwrap());
    for _ in 0..98 {
        drop(db.admit(&b, 1, &keys, NOW_MS).unwrap());
    }
    assert!(db.admit(&b, 1, &keys, NOW_MS).is_err());
    // A gives back its unspent unit once its lease is old; B may then have it (its refusal was for 1 s).
    let later = NOW_MS + LEASE_TTL_MS;
    assert!(a.due(later).contains(&1));
    db.lease(&a, 0, 1, later);
    let mut got = 0;
    while db.admit(&b, 1, &keys, later + 1_000).is_ok() {
        got += 1;
    }
    // 1 given back, and 6 s of refill at 100 a minute.
    assert_eq!(got, 1 + 10);
}

#[test]
fn every_budget_of_a_call_must_admit_it() {
    let limiter = Limiter::default();
    let mut db = Db::default();
    let agency = Caps {
        requests_per_minute: Some(3),
        ..Caps::default()
    };
    let first = [(1, caps(100, 1_000_000, 10)), (9, agency)];
    let second = [(2, caps(100, 1_000_000, 10)), (9, agency)];
    assert!(db.admit(&limiter, 0, &first, NOW_MS).is_ok());
    assert!(db.admit(&limiter, 0, &second, NOW_MS).is_ok());
    assert!(db.admit(&limiter, 0, &first, NOW_MS).is_ok());
    assert_eq!(
        db.admit(&limiter, 0, &second, NOW_MS).err(),
        Some(Refusal::RequestsPerMinute {
            limit: 3,
            retry_after_secs: 20
        })
    );
}

#[test]
fn without_the_database_each_process_keeps_the_limits_alone() {
    let limiter = Limiter::default();
    let keys = [(1, caps(2, 1_000, 1))];
    let permit = limiter.admit_locally(&keys, NOW_MS).unwrap();
    assert_eq!(
        limiter.admit_locally(&keys, NOW_MS).err(),
        Some((1, Refusal::Concurrency { limit: 1 }))
    );
    drop(permit);
    drop(limiter.admit_locally(&keys, NOW_MS).unwrap());
    assert_eq!(
        limiter.admit_locally(&keys, NOW_MS).err(),
        Some((
            1,
            Refusal::RequestsPerMinute {
                limit: 2,
                retry_after_secs: 30
            }
        ))
    );
}
