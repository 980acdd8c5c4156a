//! `prelaunch serve` and `prelaunch worker`: the server and the job workers, their jobs' and mail settings,
//! the ledger signing key, and shutdown on a signal.

use super::*;
use crate::service::{config, create_private_dir, fail, journal_dir, open_with_key};

impl JobArgs {
    /// The registry this process runs: the service's kinds, narrowed to `kinds` when given.
    pub(super) fn registry(&self, kinds: &[String]) -> Result<app::jobs::Registry> {
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
    pub(super) fn suites_dir(&self) -> Option<PathBuf> {
        self.suites_dir.clone().or_else(|| {
            let bundled = PathBuf::from("suites");
            bundled.is_dir().then_some(bundled)
        })
    }

    /// This process's sandboxes for agents' samples, when it can make them. Starting the driver removes what a
    /// killed worker's sandboxes left behind.
    pub(super) fn sandbox(&self) -> Option<app::evals::SandboxPool> {
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

    pub(super) fn options(&self) -> app::jobs::WorkerOptions {
        let mut options = app::jobs::WorkerOptions::new(worker_name());
        options.concurrency = usize::from(self.concurrency);
        options.grace = std::time::Duration::from_secs(self.grace_seconds);
        options.lease = chrono::Duration::seconds(i64::from(self.lease_seconds));
        options
    }
}

/// `hostname-pid-random`: unique among live workers, and says where a job ran.
pub(super) fn worker_name() -> String {
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

impl MailArgs {
    pub(super) fn settings(&self) -> Result<Option<app::notifications::email::MailSettings>> {
        self.smtp_url
            .as_deref()
            .map(|url| {
                app::notifications::email::MailSettings::parse(url, &self.mail_from)
                    .map_err(|e| anyhow::anyhow!("--{}: {}", e.field.replace('_', "-"), e.message))
            })
            .transpose()
    }
}

/// Registers for SIGTERM and SIGINT at once (so a signal that comes early is not lost to the default action)
/// and resolves when one arrives.
pub(super) fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send + 'static> {
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
pub(super) fn shared_shutdown() -> Result<tokio::sync::watch::Receiver<bool>> {
    let signal = shutdown_signal()?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        signal.await;
        let _ = tx.send(true);
    });
    Ok(rx)
}

pub(super) async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Opens the ledger's signing key (creating it on the first start) and checks it is this database's.
pub(super) async fn with_ledger_key(
    app: App,
    db: &DbArgs,
    file: Option<&Path>,
    public_url: &str,
) -> Result<App> {
    let key_file = file.map_or_else(|| db.data_dir.join("ledger.key"), Path::to_path_buf);
    let key = ledger_key(&key_file, &app::ledger::origin_for(public_url))?;
    let app = app.with_ledger_key(key);
    app.register_ledger_key().await.map_err(fail)?;
    Ok(app)
}

pub(super) async fn worker(args: WorkerArgs) -> Result<()> {
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

pub(super) async fn serve(args: ServeArgs) -> Result<()> {
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
pub(super) fn ledger_key(path: &Path, origin: &str) -> Result<ledger::LogKey> {
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
