//! The `prelaunch` binary: the server and the operator's commands.

mod eval_cmd;
mod eval_server;
mod ledger_cmd;

use anyhow::{Context, Result};
use app::{App, Config, SystemClock};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "prelaunch",
    version,
    about = "Voluntary pre-release review of frontier AI models, and a cybersecurity clearinghouse"
)]
struct Cli {
    /// Log as JSON lines instead of text.
    #[arg(long, global = true, env = "PRELAUNCH_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web UI and the API (and, unless --no-worker, a worker for background jobs).
    Serve(ServeArgs),
    /// Run background jobs without serving HTTP; any number of workers over one PostgreSQL share the queue.
    Worker(WorkerArgs),
    /// Operator commands: initialise, provision organisations, people and tokens.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Model access gateway tools for evaluators.
    Gateway {
        #[command(subcommand)]
        command: GatewayCommand,
    },
    /// Evaluation tasks: check them, and run them from the terminal.
    Eval {
        #[command(subcommand)]
        command: eval_cmd::EvalCommand,
    },
    /// The transparency ledger.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// The agent inside each bubblewrap sandbox (started by the sandbox driver, not by people).
    #[command(hide = true)]
    SandboxAgent,
}

#[derive(Subcommand)]
enum GatewayCommand {
    /// Lists the models a gateway token reaches and makes one test call.
    Check {
        /// The gateway's base URL, e.g. https://prelaunch.example/gateway/v1.
        #[arg(long)]
        url: String,
        /// A gateway token (plg_…).
        #[arg(long, env = "PRELAUNCH_GATEWAY_TOKEN", hide_env_values = true)]
        token: String,
        /// The model to call; the first one listed when not given.
        #[arg(long)]
        model: Option<String>,
    },
}

#[derive(Args, Clone)]
struct KeyArgs {
    /// The master key that seals model credentials and transcripts (base64 of 32 bytes). When not given, the
    /// key is `master.key` in the data directory, generated on the first start.
    #[arg(long, env = "PRELAUNCH_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Check a receipt offline, a log against a saved checkpoint, follow a log, or (with --data-dir or
    /// --database-url) recheck a database's stored ledger entry by entry.
    Verify {
        #[command(flatten)]
        args: ledger_cmd::VerifyArgs,
        /// Recheck the ledger stored in this database (with --data-dir, or --database-url).
        #[arg(long)]
        database: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Args, Clone)]
struct DbArgs {
    /// Directory for the embedded database and keys.
    #[arg(long, env = "PRELAUNCH_DATA_DIR", default_value = "./prelaunch-data")]
    data_dir: PathBuf,
    /// A postgres://… URL to use PostgreSQL instead of the embedded SQLite database.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on.
    #[arg(long, env = "PRELAUNCH_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The URL people reach this service at, for links (defaults to http://<listen>).
    #[arg(long, env = "PRELAUNCH_PUBLIC_URL")]
    public_url: Option<String>,
    #[command(flatten)]
    key: KeyArgs,
    /// The ledger's signing key (C2SP note key, `PRIVATE+KEY+…`); generated into the data directory on
    /// first start when absent. Every process over one database must use the same key.
    #[arg(long, env = "PRELAUNCH_LEDGER_KEY_FILE")]
    ledger_key_file: Option<PathBuf>,
    /// Let model connections call private, local and reserved addresses (loopback, RFC 1918, link-local, …).
    /// By default only public addresses are called, so that a developer's base URL cannot reach into this
    /// server's network.
    #[arg(long, env = "PRELAUNCH_ALLOW_PRIVATE_UPSTREAMS")]
    allow_private_upstreams: bool,
    /// The address of a reverse proxy in front of this server (repeat, or separate with commas). Only for
    /// connections from these is `X-Forwarded-For` believed, to find the client's address for login
    /// throttling; without any, the header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "PRELAUNCH_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Do not run background jobs in this process (run `prelaunch worker` processes instead).
    #[arg(long, env = "PRELAUNCH_NO_WORKER")]
    no_worker: bool,
    /// An ASCII-armoured OpenPGP secret key (without a passphrase) the CSAF provider imports as its signing
    /// key on first use, instead of making an Ed25519 key; sealed under the master key once imported.
    #[arg(long, env = "PRELAUNCH_CSAF_SIGNING_KEY_FILE")]
    csaf_signing_key_file: Option<PathBuf>,
    #[command(flatten)]
    jobs: JobArgs,
    #[command(flatten)]
    mail: MailArgs,
}

#[derive(Args)]
struct WorkerArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The URL people reach this service at, for links in what jobs send.
    #[arg(long, env = "PRELAUNCH_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    public_url: String,
    #[command(flatten)]
    key: KeyArgs,
    /// The ledger's signing key, as for `serve` (the same key as every server over this database).
    #[arg(long, env = "PRELAUNCH_LEDGER_KEY_FILE")]
    ledger_key_file: Option<PathBuf>,
    /// Let jobs call private, local and reserved addresses, as for `serve`.
    #[arg(long, env = "PRELAUNCH_ALLOW_PRIVATE_UPSTREAMS")]
    allow_private_upstreams: bool,
    /// Run only these kinds of jobs (repeat, or separate with commas); all kinds when not given.
    #[arg(long, env = "PRELAUNCH_WORKER_KINDS", value_delimiter = ',')]
    kinds: Vec<String>,
    #[command(flatten)]
    jobs: JobArgs,
    #[command(flatten)]
    mail: MailArgs,
}

/// How a worker (in `serve` or `worker`) runs jobs.
#[derive(Args, Clone)]
struct JobArgs {
    /// Jobs run at once by this process.
    #[arg(long, env = "PRELAUNCH_WORKER_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// On SIGTERM or SIGINT, how long running jobs may finish before they are given back to the queue.
    #[arg(long, env = "PRELAUNCH_WORKER_GRACE_SECONDS", default_value_t = 20)]
    grace_seconds: u64,
    /// How long a claimed job is this worker's before another may take it over (renewed while it runs).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(3..=3600), hide = true)]
    lease_seconds: u32,
    /// Also run the kinds that exist only for tests (`test.sleep`, `test.fail`).
    #[arg(long, hide = true)]
    test_kinds: bool,
    /// The directory of evaluation suites (task files, datasets, challenge directories) runs may name; by
    /// default `suites` in the working directory when there is one.
    #[arg(long, env = "PRELAUNCH_SUITES_DIR")]
    suites_dir: Option<PathBuf>,
    /// Do not run agents' samples in sandboxes here, even when this process could (root and bubblewrap):
    /// their batches are left to other workers.
    #[arg(long, env = "PRELAUNCH_NO_SANDBOX")]
    no_sandbox: bool,
    /// Where sandboxes' directories are made (what a killed worker left there is removed at start).
    #[arg(long, env = "PRELAUNCH_SANDBOX_DIR", hide = true)]
    sandbox_dir: Option<PathBuf>,
    /// The first of the uids sandboxes run as, and how many.
    #[arg(long, hide = true)]
    sandbox_first_uid: Option<u32>,
    #[arg(long, hide = true)]
    sandbox_uid_count: Option<u32>,
    /// Seconds one of an agent's tool calls may run in its sandbox.
    #[arg(long, env = "PRELAUNCH_TOOL_TIMEOUT", default_value_t = 60)]
    tool_timeout: u64,
}

impl JobArgs {
    /// The registry this process runs: the service's kinds, narrowed to `kinds` when given.
    fn registry(&self, kinds: &[String]) -> Result<app::jobs::Registry> {
        let mut registry = App::job_registry();
        if self.test_kinds {
            registry = registry.with_test_kinds();
        }
        if kinds.is_empty() {
            return Ok(registry);
        }
        let known = registry.kinds();
        if let Some(unknown) = kinds.iter().find(|k| !known.contains(k)) {
            anyhow::bail!(
                "--kinds: no job kind {unknown:?}; the kinds are {}",
                known.join(", ")
            );
        }
        Ok(registry.only(kinds))
    }

    /// The suites directory: the one given, or `./suites` when there is one.
    fn suites_dir(&self) -> Option<PathBuf> {
        self.suites_dir.clone().or_else(|| {
            let bundled = PathBuf::from("suites");
            bundled.is_dir().then_some(bundled)
        })
    }

    /// This process's sandboxes for agents' samples, when it can make them. Starting the driver removes what a
    /// killed worker's sandboxes left behind.
    fn sandbox(&self) -> Option<app::evals::SandboxPool> {
        if self.no_sandbox {
            return None;
        }
        let made = sandbox::bwrap::BwrapConfig::current_exe().and_then(|mut config| {
            if let Some(dir) = &self.sandbox_dir {
                config.base_dir = dir.clone();
            }
            if let Some(first) = self.sandbox_first_uid {
                config.first_uid = first;
            }
            if let Some(count) = self.sandbox_uid_count {
                config.uid_count = count;
            }
            sandbox::bwrap::BwrapDriver::new(config)
        });
        match made {
            Ok(driver) => {
                let swept = driver.swept();
                if swept.sandboxes > 0 || swept.drivers > 0 {
                    tracing::info!(
                        sandboxes = swept.sandboxes,
                        processes = swept.processes,
                        "removed the sandboxes a stopped worker left"
                    );
                }
                Some(app::evals::SandboxPool {
                    pool: Arc::new(sandbox::pool::Pool::new(
                        Arc::new(driver),
                        sandbox::pool::RampConfig::default(),
                    )),
                    limits: sandbox::Limits::default(),
                    tool_timeout: std::time::Duration::from_secs(self.tool_timeout.max(1)),
                })
            }
            Err(error) => {
                tracing::info!(%error, "no sandbox here: agents' batches are left to workers that have one");
                None
            }
        }
    }

    fn options(&self) -> app::jobs::WorkerOptions {
        let mut options = app::jobs::WorkerOptions::new(worker_name());
        options.concurrency = usize::from(self.concurrency);
        options.grace = std::time::Duration::from_secs(self.grace_seconds);
        options.lease = chrono::Duration::seconds(i64::from(self.lease_seconds));
        options
    }
}

/// `hostname-pid-random`: unique among live workers, and says where a job ran.
fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{host}-{}-{}",
        std::process::id(),
        random.get(..8).unwrap_or(&random)
    )
}

/// E-mail over SMTP, for notifications, invitations and set-up links.
#[derive(Args, Clone)]
struct MailArgs {
    /// The SMTP server: `smtp://user:pass@host:587` (STARTTLS when offered), `…?tls=required`, `…?tls=none`
    /// (plain, for a local relay), or `smtps://user:pass@host:465` (TLS from the start). Without it, no mail
    /// is sent: notifications stay in the inbox and invitation links are shown to whoever invites. The
    /// password is never printed.
    #[arg(long, env = "PRELAUNCH_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// The sender of every mail, e.g. `Prelaunch <noreply@prelaunch.example>`.
    #[arg(
        long,
        env = "PRELAUNCH_MAIL_FROM",
        default_value = "Prelaunch <noreply@localhost>"
    )]
    mail_from: String,
}

impl MailArgs {
    fn settings(&self) -> Result<Option<app::notifications::email::MailSettings>> {
        self.smtp_url
            .as_deref()
            .map(|url| {
                app::notifications::email::MailSettings::parse(url, &self.mail_from)
                    .map_err(|e| anyhow::anyhow!("--{}: {}", e.field.replace('_', "-"), e.message))
            })
            .transpose()
    }
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create the clearinghouse's first administrator; prints an API token as the last line.
    Init {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// People.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Re-seal every stored credential and transcript under a new master key, then replace the key file.
    /// Run it with the service stopped.
    RotateMasterKey {
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organisation of a kind: developer, agency, vendor, operator, clearinghouse.
    Create {
        #[arg(long)]
        kind: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a person; prints a one-time link where they set their password.
    Create {
        /// The organisation's name.
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "member")]
        role: String,
        #[arg(long)]
        public_url: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a person; prints it as the last line.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        expires_in: Option<i64>,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// The database URL: PostgreSQL when given, else the SQLite file in the data directory (created 0700).
fn database_url(db: &DbArgs) -> Result<String> {
    if let Some(url) = &db.database_url {
        return Ok(url.clone());
    }
    create_private_dir(&db.data_dir)?;
    let path = db.data_dir.join("prelaunch.db");
    Ok(format!("sqlite://{}", path.display()))
}

fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting data directory {}", dir.display()))?;
    }
    Ok(())
}

/// Where the master key is: the operator's file, or `master.key` in the (private) data directory.
fn master_key_path(db: &DbArgs, key: &KeyArgs) -> Result<PathBuf> {
    match &key.master_key_file {
        Some(path) => Ok(path.clone()),
        None => {
            create_private_dir(&db.data_dir)?;
            Ok(db.data_dir.join("master.key"))
        }
    }
}

/// Where a server journals its gateway calls before they reach the database.
fn journal_dir(db: &DbArgs) -> PathBuf {
    db.data_dir.join("calls")
}

/// The new key of a rotation in progress, beside the key file.
fn next_key_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".next");
    PathBuf::from(name)
}

/// The service with its master key: the operator's, or the data directory's (generated on the first start).
/// Finishes a rotation a crash interrupted, and refuses a key that did not seal the stored secrets.
async fn open_with_key(db: &DbArgs, key: &KeyArgs, config: Config) -> Result<App> {
    let path = master_key_path(db, key)?;
    let app = open(db, config).await?;
    let next = next_key_path(&path);
    if next.exists() {
        let next_key = gateway::MasterKey::load(&next)?;
        if app.recorded_master_key().await.map_err(fail)? == Some(next_key.fingerprint()) {
            // The database was re-sealed under the new key, but the key file was not yet replaced.
            std::fs::rename(&next, &path).with_context(|| format!("installing {}", next.display()))?;
            tracing::warn!(path = %path.display(), "finished an interrupted master key rotation");
        } else {
            std::fs::remove_file(&next).with_context(|| format!("removing {}", next.display()))?;
            tracing::warn!(path = %next.display(), "discarded the new key of a rotation that did not happen");
        }
    }
    let master_key = if key.master_key_file.is_some() {
        gateway::MasterKey::load(&path)?
    } else {
        let (master_key, created) = gateway::MasterKey::load_or_create(&path)?;
        if created {
            tracing::info!(path = %path.display(), "generated a new master key");
        }
        master_key
    };
    let app = app.with_master_key(&master_key);
    app.check_master_key().await.map_err(fail)?;
    Ok(app)
}

async fn rotate_master_key(db: &DbArgs, key: &KeyArgs) -> Result<()> {
    let path = master_key_path(db, key)?;
    anyhow::ensure!(path.exists(), "no master key at {}", path.display());
    let app = open_with_key(db, key, config(None)).await?;
    // Call records a stopped server left in its journal may hold transcripts sealed under the old key.
    let journal = journal_dir(db);
    if journal.exists() {
        app::journal::recover(&journal, app.store.as_ref())
            .await
            .with_context(|| format!("recording the journalled calls in {}", journal.display()))?;
    }
    let new = gateway::MasterKey::generate();
    let next = next_key_path(&path);
    new.write_new(&next)?;
    match app.reseal_secrets(&new).await {
        Ok(count) => {
            std::fs::rename(&next, &path).with_context(|| format!("installing {}", next.display()))?;
            println!(
                "Re-sealed {count} stored secrets under the new master key {} in {}",
                new.fingerprint(),
                path.display()
            );
            Ok(())
        }
        Err(error) => {
            let _ = std::fs::remove_file(&next);
            Err(fail(error))
        }
    }
}

/// `prelaunch gateway check`: what an evaluator runs to see that their token works.
async fn gateway_check(url: &str, token: &str, model: Option<String>) -> Result<()> {
    let base = url.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()?;
    let response = client
        .get(format!("{base}/models"))
        .bearer_auth(token)
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let message = |body: &serde_json::Value| {
        body.pointer("/error/message")
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_owned()
    };
    anyhow::ensure!(
        status.is_success(),
        "listing models failed ({status}): {}",
        message(&body)
    );
    let models: Vec<String> = body
        .get("data")
        .and_then(|d| d.as_array())
        .map(|data| {
            data.iter()
                .filter_map(|m| m.get("id")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    println!("Models this token reaches: {}", models.join(", "));
    let model = model
        .or_else(|| models.first().cloned())
        .context("the token reaches no model")?;
    let started = std::time::Instant::now();
    let response = client
        .post(format!("{base}/chat/completions"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "model": model,
            "messages": [{"role": "user", "content": "Reply with OK."}],
            "max_tokens": 16,
        }))
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let ms = started.elapsed().as_millis();
    anyhow::ensure!(
        status.is_success(),
        "the test call failed ({status}): {}",
        message(&body)
    );
    let reply = body
        .pointer("/choices/0/message/content")
        .and_then(|c| c.as_str())
        .unwrap_or("");
    println!("Test call to {model}: {status} in {ms} ms: {reply:?}");
    Ok(())
}

async fn open(db: &DbArgs, config: Config) -> Result<App> {
    let url = database_url(db)?;
    let store = store::connect(&url).await.context("opening the database")?;
    Ok(App::new(store, Arc::new(SystemClock), config))
}

/// The operator's settings, with the public URL when known.
fn config(public_url: Option<String>) -> Config {
    let mut config = Config::default();
    if let Some(public_url) = public_url {
        config.public_url = public_url.trim_end_matches('/').to_owned();
    }
    config
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PRELAUNCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Registers for SIGTERM and SIGINT at once (so a signal that comes early is not lost to the default action)
/// and resolves when one arrives.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {},
            _ = interrupt.recv() => {},
        }
        tracing::info!("shutting down: finishing requests in flight");
    })
}

/// The shutdown signal, for several tasks at once.
fn shared_shutdown() -> Result<tokio::sync::watch::Receiver<bool>> {
    let signal = shutdown_signal()?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        signal.await;
        let _ = tx.send(true);
    });
    Ok(rx)
}

async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Opens the ledger's signing key (creating it on the first start) and checks it is this database's.
async fn with_ledger_key(app: App, db: &DbArgs, file: Option<&Path>, public_url: &str) -> Result<App> {
    let key_file = file.map_or_else(|| db.data_dir.join("ledger.key"), Path::to_path_buf);
    let key = ledger_key(&key_file, &app::ledger::origin_for(public_url))?;
    let app = app.with_ledger_key(key);
    app.register_ledger_key().await.map_err(fail)?;
    Ok(app)
}

async fn worker(args: WorkerArgs) -> Result<()> {
    let shutdown = shutdown_signal()?;
    let registry = args.jobs.registry(&args.kinds)?;
    let settings = Config {
        allow_private_upstreams: args.allow_private_upstreams,
        mail: args.mail.settings()?,
        suites_dir: args.jobs.suites_dir(),
        sandbox: args.jobs.sandbox(),
        ..config(Some(args.public_url.clone()))
    };
    let app = open_with_key(&args.db, &args.key, settings).await?;
    let app = with_ledger_key(app, &args.db, args.ledger_key_file.as_deref(), &args.public_url).await?;
    // Jobs call models through the gateway (evaluation runs), whose calls are journalled before they are
    // recorded, as in `serve`.
    let journal = journal_dir(&args.db);
    app.open_call_journal(&journal).await.map_err(fail)?;
    let options = args.jobs.options();
    let registry = registry.runnable_by(&app);
    println!(
        "Prelaunch worker {} is running jobs of kinds {}",
        options.name,
        registry.kinds().join(", ")
    );
    tracing::info!(worker = %options.name, concurrency = options.concurrency, backend = ?app.store.backend(), "working");
    app::jobs::Worker::new(app.clone(), registry, options)
        .run(shutdown)
        .await
        .map_err(fail)?;
    if !app.close_call_journal().await {
        tracing::warn!(dir = %journal.display(), "some gateway call records are still in the journal; the next start records them");
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<()> {
    let shutdown = shared_shutdown()?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let local = listener.local_addr()?;
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{local}"));
    let settings = Config {
        allow_private_upstreams: args.allow_private_upstreams,
        trusted_proxies: args.trusted_proxies.clone(),
        mail: args.mail.settings()?,
        suites_dir: args.jobs.suites_dir(),
        sandbox: if args.no_worker { None } else { args.jobs.sandbox() },
        csaf_signing_key_file: args.csaf_signing_key_file.clone(),
        ..config(Some(public_url.clone()))
    };
    let app = open_with_key(&args.db, &args.key, settings).await?;
    let app = with_ledger_key(app, &args.db, args.ledger_key_file.as_deref(), &public_url).await?;
    let journal = journal_dir(&args.db);
    let recovered = app.open_call_journal(&journal).await.map_err(fail)?;
    if recovered > 0 {
        tracing::info!(
            recovered,
            "recorded the gateway calls a stopped server had journalled"
        );
    }
    app.sign_checkpoint()
        .await
        .map_err(fail)
        .context("signing the first checkpoint")?;
    // Advisories published by a version without `stix_objects` get their TAXII objects once, in batches
    // (the `taxii.backfill` job repeats it for any whose write failed).
    let backfilled = app
        .backfill_advisory_stix()
        .await
        .map_err(fail)
        .context("writing the STIX objects of earlier advisories")?
        + app
            .backfill_report_stix()
            .await
            .map_err(fail)
            .context("writing the STIX objects of earlier reports and cases")?;
    if backfilled > 0 {
        tracing::info!(backfilled, "wrote the STIX objects of earlier advisories");
    }
    if let Some(link) = app.bootstrap().await.context("first-start set-up")? {
        // Printed once, to the operator's terminal only: the token is stored as a digest and never logged.
        println!(
            "First start: set up the first administrator at\n  {}\n(this link is shown only once)",
            link.expose()
        );
    }
    println!("Prelaunch is listening on {public_url}");
    tracing::info!(%local, backend = ?app.store.backend(), "serving");
    let worker = if args.no_worker {
        None
    } else {
        let registry = args.jobs.registry(&[])?;
        let worker = app::jobs::Worker::new(app.clone(), registry, args.jobs.options());
        Some(tokio::spawn(worker.run(stopped(shutdown.clone()))))
    };
    server::serve(listener, app.clone(), stopped(shutdown))
        .await
        .context("serving")?;
    if let Some(worker) = worker {
        match worker.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(error = %error, "the worker could not give back its jobs"),
            Err(error) => tracing::error!(error = %error, "the worker stopped abnormally"),
        }
    }
    app.release_gateway_limits().await;
    if !app.close_call_journal().await {
        tracing::warn!(dir = %journal.display(), "some gateway call records are still in the journal; the next start records them");
    }
    Ok(())
}

/// Reads the ledger signing key, or creates it (readable by this user only) when the file does not exist.
fn ledger_key(path: &Path, origin: &str) -> Result<ledger::LogKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => ledger::LogKey::from_secret(&text).with_context(|| format!("reading {}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                create_private_dir(dir)?;
            }
            let key = ledger::LogKey::generate(origin);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(path)
                .with_context(|| format!("creating {}", path.display()))?;
            std::io::Write::write_all(&mut file, format!("{}\n", key.to_secret()).as_bytes())?;
            tracing::info!(path = %path.display(), verifier = %key.verifier(), "created the ledger signing key");
            Ok(key)
        }
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

/// Prints a failed operator command's reason in the operator's words.
fn fail(error: app::AppError) -> anyhow::Error {
    match error {
        app::AppError::Internal(cause) => anyhow::anyhow!(cause),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn admin(command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::Init { email, db } => {
            let app = open(&db, config(None)).await?;
            let (user, token) = app.init_admin(&email).await.map_err(fail)?;
            println!("Created administrator {} ({})", user.email, user.id);
            println!("{}", token.expose());
        }
        AdminCommand::Org {
            command: OrgCommand::Create { kind, name, db },
        } => {
            let app = open(&db, config(None)).await?;
            let org = app.provision_org(&kind, &name).await.map_err(fail)?;
            println!("Created {} organisation {:?}", org.kind, org.name);
            println!("{}", org.id);
        }
        AdminCommand::User {
            command:
                UserCommand::Create {
                    org,
                    email,
                    role,
                    public_url,
                    db,
                },
        } => {
            let app = open(&db, config(public_url)).await?;
            let (user, link) = app.provision_user(&org, &email, &role).await.map_err(fail)?;
            println!(
                "Created {} {} ({}); they set their password at:",
                user.role, user.email, user.id
            );
            println!("{}", link.expose());
        }
        AdminCommand::Token {
            command:
                TokenCommand::Create {
                    email,
                    expires_in,
                    db,
                },
        } => {
            let app = open(&db, config(None)).await?;
            let token = app.provision_token(&email, expires_in).await.map_err(fail)?;
            println!("{}", token.expose());
        }
        AdminCommand::RotateMasterKey { key, db } => rotate_master_key(&db, &key).await?,
    }
    Ok(())
}

/// Rechecks the stored ledger; exits non-zero naming the first entry that broke.
async fn verify_database(db: &DbArgs) -> Result<()> {
    let app = open(db, config(None)).await?;
    let audit = app.audit_ledger().await.map_err(fail)?;
    if let Some((index, why)) = audit.broken {
        anyhow::bail!("ALARM: ledger entry {index} is broken: {why}");
    }
    println!(
        "ok: {} entries and {} signed checkpoints check out",
        audit.entries, audit.checkpoints
    );
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Command::SandboxAgent = cli.command {
        // Before any runtime or logging: the agent runs its own single thread inside the sandbox.
        return sandbox::agent::run().context("sandbox agent");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> Result<()> {
    init_logging(cli.log_json);
    match cli.command {
        Command::SandboxAgent => Ok(()),
        Command::Serve(args) => serve(args).await,
        Command::Worker(args) => worker(args).await,
        Command::Admin { command } => admin(command).await,
        Command::Gateway {
            command: GatewayCommand::Check { url, token, model },
        } => gateway_check(&url, &token, model).await,
        Command::Eval { command } => {
            let code = eval_cmd::eval(command).await?;
            if code != 0 {
                std::process::exit(code);
            }
            Ok(())
        }
        Command::Ledger {
            command: LedgerCommand::Verify { args, database, db },
        } => {
            if database {
                verify_database(&db).await
            } else {
                ledger_cmd::verify(args).await
            }
        }
    }
}
