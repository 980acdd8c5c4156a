//! Opening the service: the database URL, the private data directory, the master key (and its rotation), the
//! operator's settings.

use super::*;

/// The database URL: PostgreSQL when given, else the SQLite file in the data directory (created 0700).
pub(super) fn database_url(db: &DbArgs) -> Result<String> {
    if let Some(url) = &db.database_url {
        return Ok(url.clone());
    }
    create_private_dir(&db.data_dir)?;
    let path = db.data_dir.join("prelaunch.db");
    Ok(format!("sqlite://{}", path.display()))
}

pub(super) fn create_private_dir(dir: &Path) -> Result<()> {
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
pub(super) fn master_key_path(db: &DbArgs, key: &KeyArgs) -> Result<PathBuf> {
    match &key.master_key_file {
        Some(path) => Ok(path.clone()),
        None => {
            create_private_dir(&db.data_dir)?;
            Ok(db.data_dir.join("master.key"))
        }
    }
}

/// Where a server journals its gateway calls before they reach the database.
pub(super) fn journal_dir(db: &DbArgs) -> PathBuf {
    db.data_dir.join("calls")
}

/// The new key of a rotation in progress, beside the key file.
pub(super) fn next_key_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".next");
    PathBuf::from(name)
}

/// The service with its master key: the operator's, or the data directory's (generated on the first start).
/// Finishes a rotation a crash interrupted, and refuses a key that did not seal the stored secrets.
pub(super) async fn open_with_key(db: &DbArgs, key: &KeyArgs, config: Config) -> Result<App> {
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

pub(super) async fn rotate_master_key(db: &DbArgs, key: &KeyArgs) -> Result<()> {
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

pub(super) async fn open(db: &DbArgs, config: Config) -> Result<App> {
    let url = database_url(db)?;
    let store = store::connect(&url).await.context("opening the database")?;
    Ok(App::new(store, Arc::new(SystemClock), config))
}

/// The operator's settings, with the public URL when known.
pub(super) fn config(public_url: Option<String>) -> Config {
    let mut config = Config::default();
    if let Some(public_url) = public_url {
        config.public_url = public_url.trim_end_matches('/').to_owned();
    }
    config
}

/// Prints a failed operator command's reason in the operator's words.
pub(super) fn fail(error: app::AppError) -> anyhow::Error {
    match error {
        app::AppError::Internal(cause) => anyhow::anyhow!(cause),
        other => anyhow::anyhow!("{other}"),
    }
}
