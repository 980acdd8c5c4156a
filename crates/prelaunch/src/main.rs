//! The `prelaunch` binary: the server and the operator's commands.

mod admin_cmd;
mod gateway_cmd;
mod serve_cmd;
mod service;

use admin_cmd::{admin, verify_database};
use gateway_cmd::gateway_check;
use serve_cmd::{serve, worker};

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
