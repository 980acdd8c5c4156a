//! The program's operations. Each one asks `policy` whether the caller may act, validates its input through
//! the domain types (`review`, `accounts`), and persists the change together with its audit event (`store`).
//! Transports (the HTTP server, the command line) call these and nothing below them.

pub mod account;
pub mod audit;
pub mod auth;
pub mod caller;
pub mod clearinghouse;
pub mod clock;
pub mod cvss;
pub mod error;
pub mod evals;
pub mod federation;
pub mod gateway;
pub mod identity;
pub mod jobs;
pub mod journal;
pub mod ledger;
pub mod notifications;
mod outbound;
pub mod page;
pub mod policy;
pub mod program;
pub mod provision;
pub mod throttle;
pub mod webhooks;

pub use caller::{Actor, Caller};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AppError, AppResult, DocumentProblem};
pub use page::{PageRequest, Paged};

use serde_json::Value;
use std::sync::Arc;
use store::{AuditEvent, Store};
use uuid::Uuid;

/// Settings that shape the service, decided by the operator at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The URL people use to reach the web UI, for links printed or shown (setup, invitations).
    pub public_url: String,
    /// How long a browser session lasts.
    pub session_hours: i64,
    /// Failed logins allowed per account in `throttle_minutes` before the account is locked for as long
    /// (see `throttle.rs`).
    pub max_login_failures: i64,
    /// Failed logins allowed per source address (IPv6: per /64), over all accounts, in `throttle_minutes`
    /// before logins from it are locked for as long.
    pub max_address_failures: i64,
    pub throttle_minutes: i64,
    /// Proxies whose `X-Forwarded-For` names the client; empty (the default) means the header is ignored and
    /// the connection's peer is the source address.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How long invitation and setup links stay valid.
    pub invitation_days: i64,
    /// Whether model connections may call private, local and reserved addresses (by default only public ones:
    /// a developer's base URL must not reach into the operator's network).
    pub allow_private_upstreams: bool,
    /// E-mail over SMTP (`--smtp-url`, `--mail-from`); without it the inbox still works and nothing is mailed.
    pub mail: Option<notifications::email::MailSettings>,
    /// How long one webhook delivery attempt may take, from connecting to the end of what is read of the
    /// answer (15 s; not an operator option: tests shorten it).
    pub webhook_timeout: std::time::Duration,
    /// How long a gateway call waits for a lease of its limits before this process decides by its own
    /// buckets (250 ms; not an operator option: tests lengthen it, so that a database slowed by a loaded
    /// machine does not turn the shared limit a test checks into a per-process one).
    pub gateway_lease_wait: std::time::Duration,
    /// The suites directory (`--suites-dir`): its task files are the catalogue runs may name.
    pub suites_dir: Option<std::path::PathBuf>,
    /// This process's sandboxes, when it can make them (root and bubblewrap): only then does its worker take
    /// agent batches.
    pub sandbox: Option<crate::evals::SandboxPool>,
    /// An armoured OpenPGP secret key (`--csaf-signing-key-file`) the CSAF provider imports as its signing
    /// key when it has none yet; without it a key is made on first use (`clearinghouse::csaf_sign`).
    pub csaf_signing_key_file: Option<std::path::PathBuf>,
    /// The most reports that wait to be filed (`clearinghouse::QUEUE_LIMIT`; not an operator option: tests
    /// lower it).
    pub intake_queue_limit: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            public_url: "http://127.0.0.1:8080".into(),
            session_hours: 12,
            max_login_failures: 5,
            max_address_failures: 30,
            throttle_minutes: 15,
            trusted_proxies: Vec::new(),
            invitation_days: 7,
            allow_private_upstreams: false,
            mail: None,
            webhook_timeout: webhooks::TIMEOUT,
            gateway_lease_wait: crate::gateway::LEASE_WAIT,
            suites_dir: None,
            sandbox: None,
            csaf_signing_key_file: None,
            intake_queue_limit: crate::clearinghouse::QUEUE_LIMIT,
        }
    }
}

/// The service: a store, a clock, the operator's settings, the ledger's signing key, and the model access
/// gateway's in-process state.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub(crate) ledger_key: Arc<::ledger::LogKey>,
    pub(crate) ledger_cache: Arc<ledger::NodeCache>,
    pub gateway: Arc<crate::gateway::Gateway>,
    /// The suite catalogue, loaded once from `config.suites_dir`.
    pub suites: Arc<crate::evals::Catalogue>,
    /// The decoded samples of the runs this worker ran batches of lately.
    pub(crate) eval_samples: Arc<crate::evals::SampleCache>,
    /// The CSAF provider's signing key, opened once (`clearinghouse::csaf_sign`).
    pub(crate) csaf_signer: Arc<tokio::sync::OnceCell<Arc<crate::clearinghouse::csaf_sign::Signer>>>,
    /// The bound on OSV archive builds and the cached public archive (`clearinghouse::osv_archive`).
    pub(crate) osv_archives: Arc<crate::clearinghouse::osv_archive::Archives>,
    /// The reports waiting to be filed in the next group (`clearinghouse::intake_queue`).
    pub(crate) intake_queue: Arc<crate::clearinghouse::IntakeQueue>,
}

impl App {
    /// A service with a fresh ledger signing key; `with_ledger_key` gives it the operator's.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: Config) -> Self {
        let key = ::ledger::LogKey::generate(&ledger::origin_for(&config.public_url));
        let egress = if config.allow_private_upstreams {
            ::gateway::egress::Egress::Any
        } else {
            ::gateway::egress::Egress::PublicOnly
        };
        let suites = Arc::new(crate::evals::Catalogue::load(config.suites_dir.as_deref()));
        App {
            store,
            clock,
            suites,
            eval_samples: Arc::default(),
            config: Arc::new(config),
            ledger_key: Arc::new(key),
            ledger_cache: Arc::default(),
            // Without a master key until `with_master_key`: model connections then cannot be made.
            gateway: Arc::new(crate::gateway::Gateway::new(None, egress)),
            csaf_signer: Arc::default(),
            osv_archives: Arc::default(),
            intake_queue: Arc::default(),
        }
    }

    pub fn with_ledger_key(mut self, key: ::ledger::LogKey) -> Self {
        self.ledger_key = Arc::new(key);
        self
    }

    /// Describes a change for the audit trail; the store writes it in the change's transaction.
    pub(crate) fn event(
        &self,
        actor: Actor,
        action: &str,
        object_type: &str,
        object_id: Option<Uuid>,
        details: Value,
    ) -> AuditEvent {
        AuditEvent {
            seq: 0,
            id: Uuid::now_v7(),
            at: self.clock.now(),
            actor_user_id: actor.user_id(),
            actor_org_id: actor.org_id(),
            action: action.to_owned(),
            object_type: object_type.to_owned(),
            object_id,
            details: sqlx_json(details),
        }
    }
}

fn sqlx_json(value: Value) -> store::Json<Value> {
    store::Json(value)
}
