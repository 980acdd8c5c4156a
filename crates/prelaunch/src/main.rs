//! The `prelaunch` binary: the server and the operator's commands.

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
    /// Run the web UI and the API.
    Serve(ServeArgs),
    /// Operator commands: initialise, provision organisations, people and tokens.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The transparency ledger.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
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
    /// The ledger's signing key (C2SP note key, `PRIVATE+KEY+…`); generated into the data directory on
    /// first start when absent. Every process over one database must use the same key.
    #[arg(long, env = "PRELAUNCH_LEDGER_KEY_FILE")]
    ledger_key_file: Option<PathBuf>,
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

async fn open(db: &DbArgs, public_url: Option<String>) -> Result<App> {
    let url = database_url(db)?;
    let store = store::connect(&url).await.context("opening the database")?;
    let mut config = Config::default();
    if let Some(public_url) = public_url {
        config.public_url = public_url.trim_end_matches('/').to_owned();
    }
    Ok(App::new(store, Arc::new(SystemClock), config))
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

async fn serve(args: ServeArgs) -> Result<()> {
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let local = listener.local_addr()?;
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{local}"));
    let app = open(&args.db, Some(public_url.clone())).await?;
    let key_file = args
        .ledger_key_file
        .clone()
        .unwrap_or_else(|| args.db.data_dir.join("ledger.key"));
    let key = ledger_key(&key_file, &app::ledger::origin_for(&public_url))?;
    let app = app.with_ledger_key(key);
    app.register_ledger_key().await.map_err(fail)?;
    app.sign_checkpoint()
        .await
        .map_err(fail)
        .context("signing the first checkpoint")?;
    if let Some(link) = app.bootstrap().await.context("first-start set-up")? {
        // Printed once, to the operator's terminal only: the token is stored as a digest and never logged.
        println!(
            "First start: set up the first administrator at\n  {}\n(this link is shown only once)",
            link.expose()
        );
    }
    println!("Prelaunch is listening on {public_url}");
    tracing::info!(%local, backend = ?app.store.backend(), "serving");
    server::serve(listener, app, shutdown).await.context("serving")?;
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
            let app = open(&db, None).await?;
            let (user, token) = app.init_admin(&email).await.map_err(fail)?;
            println!("Created administrator {} ({})", user.email, user.id);
            println!("{}", token.expose());
        }
        AdminCommand::Org {
            command: OrgCommand::Create { kind, name, db },
        } => {
            let app = open(&db, None).await?;
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
            let app = open(&db, public_url).await?;
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
            let app = open(&db, None).await?;
            let token = app.provision_token(&email, expires_in).await.map_err(fail)?;
            println!("{}", token.expose());
        }
    }
    Ok(())
}

/// Rechecks the stored ledger; exits non-zero naming the first entry that broke.
async fn verify_database(db: &DbArgs) -> Result<()> {
    let app = open(db, None).await?;
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

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_json);
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Admin { command } => admin(command).await,
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
