//! The HTTP client for the calls the platform makes to addresses its users name (webhook endpoints,
//! federation peers): the operator's egress rule checked at every resolution (`gateway::egress`), no
//! redirects, no proxy, a connect timeout, and a `User-Agent` naming the caller.

use gateway::egress::{Egress, Resolver};
use std::sync::{Arc, OnceLock};

/// How long connecting to the other side may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// An outbound client built with the egress rule and `user_agent`. Should the builder fail (it has no reason
/// to), the failure is logged and a client with the same resolver and no redirects is used instead.
pub(crate) fn client(egress: Egress, user_agent: &'static str) -> reqwest::Client {
    let resolver = Arc::new(Resolver(egress));
    reqwest::Client::builder()
        .dns_resolver(resolver.clone())
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(user_agent)
        .build()
        .unwrap_or_else(|error| {
            tracing::error!(
                error = %error.without_url(),
                user_agent,
                "building an outbound HTTP client failed; using defaults"
            );
            reqwest::Client::builder()
                .dns_resolver(resolver)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default()
        })
}

/// A job handler's outbound client, built on first use with the operator's egress rule.
pub(crate) struct LazyClient {
    user_agent: &'static str,
    client: OnceLock<reqwest::Client>,
}

impl LazyClient {
    pub(crate) const fn new(user_agent: &'static str) -> Self {
        LazyClient {
            user_agent,
            client: OnceLock::new(),
        }
    }

    pub(crate) fn get(&self, egress: Egress) -> &reqwest::Client {
        self.client.get_or_init(|| client(egress, self.user_agent))
    }
}
