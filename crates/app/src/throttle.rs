//! Login throttling: how many password checks an account and a source address may have.
//!
//! The policy (unchanged in substance, now enforced atomically):
//! - An account may have `max_login_failures` failed logins within `throttle_minutes`; the attempt that
//!   reaches the limit, if it fails, locks the account for `throttle_minutes`, whatever password comes next.
//!   A success clears the account's count.
//! - A source address may have `max_address_failures` failed logins within `throttle_minutes`, over every
//!   account (and e-mail addresses that have none); reaching it locks the address the same way. A success
//!   takes back only its own attempt: it never wipes the address's failures on other accounts.
//! - Attempts refused while locked are not counted, and no password is checked for them.
//!
//! Each attempt is counted in the database *before* its password is checked (one upsert per subject,
//! `Store::count_login_attempt`), so a burst of parallel requests, in one process or many, cannot all pass
//! the check: exactly as many as the limit allows are evaluated, the rest are refused. A failed check then
//! simply leaves its count in place.

use crate::{App, AppError, AppResult};
use accounts::Email;
use chrono::{DateTime, Duration, Utc};
use std::net::IpAddr;
use store::LoginFailures;

/// What an admitted attempt counted, to settle once the password has been checked.
pub(crate) struct Admitted {
    account: String,
    address: String,
    account_failures: i64,
    address_failures: i64,
}

/// The throttling subject of an account: its normalised e-mail address.
fn account_subject(email: &Email) -> String {
    format!("login:{}", email.as_str())
}

/// The throttling subject of a source address. IPv4 (also when mapped into IPv6) counts per address; IPv6
/// per /64, the smallest network a single subscriber is usually given, so that one host cannot take a fresh
/// address for each guess.
pub fn address_subject(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => format!("addr:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("addr:{v4}"),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                format!("addr:{}/64", std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

impl App {
    fn throttle_window(&self) -> Duration {
        Duration::minutes(self.config.throttle_minutes)
    }

    /// Counts a login attempt against the source address and the account, refusing it (429) when either is
    /// at its limit. The address is counted first; an attempt the account then refuses is taken back from
    /// the address, so that retries against one locked account do not lock out its neighbours.
    pub(crate) async fn admit_login(&self, email: &Email, from: IpAddr) -> AppResult<Admitted> {
        let now = self.clock.now();
        let window = self.throttle_window();
        let address = address_subject(from);
        let account = account_subject(email);
        let max_address = self.config.max_address_failures;
        let by_address = self
            .store
            .count_login_attempt(&address, now, window, max_address)
            .await?;
        if by_address.failures > max_address {
            return Err(self.refusal(&by_address, now));
        }
        let by_account = self
            .store
            .count_login_attempt(&account, now, window, self.config.max_login_failures)
            .await?;
        if by_account.failures > self.config.max_login_failures {
            self.store.uncount_login_attempt(&address, max_address).await?;
            return Err(self.refusal(&by_account, now));
        }
        Ok(Admitted {
            account,
            address,
            account_failures: by_account.failures,
            address_failures: by_address.failures,
        })
    }

    fn refusal(&self, row: &LoginFailures, now: DateTime<Utc>) -> AppError {
        let seconds = match row.locked_until {
            Some(until) => (until - now).num_seconds(),
            // Only when the limit was lowered since the row was written.
            None => self.throttle_window().num_seconds(),
        };
        AppError::Throttled(seconds.max(1))
    }

    /// The password was right: the account starts afresh, and the address gets its attempt back.
    pub(crate) async fn login_succeeded(&self, admitted: &Admitted) -> AppResult<()> {
        self.store.clear_login_failures(&admitted.account).await?;
        self.store
            .uncount_login_attempt(&admitted.address, self.config.max_address_failures)
            .await?;
        Ok(())
    }

    /// The password was wrong: the attempt stays counted. Says so in the log when it locked something.
    pub(crate) fn login_failed(&self, admitted: &Admitted) {
        if admitted.account_failures >= self.config.max_login_failures {
            tracing::warn!(subject = %admitted.account, "login locked after repeated failures");
        }
        if admitted.address_failures >= self.config.max_address_failures {
            tracing::warn!(subject = %admitted.address, "logins from this address locked after repeated failures");
        }
    }

    /// Drops failure counts that no longer count (scheduled work).
    pub(crate) async fn purge_stale_login_failures(&self) -> AppResult<u64> {
        let before = self.clock.now() - self.throttle_window();
        Ok(self.store.purge_stale_login_failures(before).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::address_subject;

    #[test]
    fn source_addresses_are_counted_per_host_or_per_ipv6_network() {
        let cases = [
            ("192.0.2.7", "addr:192.0.2.7"),
            ("::ffff:192.0.2.7", "addr:192.0.2.7"),
            ("2001:db8:1:2:3:4:5:6", "addr:2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff::1", "addr:2001:db8:1:2::/64"),
            ("2001:db8:1:3::1", "addr:2001:db8:1:3::/64"),
            ("::1", "addr:::/64"),
        ];
        for (given, subject) in cases {
            assert_eq!(address_subject(given.parse().unwrap()), subject, "{given}");
        }
    }
}
