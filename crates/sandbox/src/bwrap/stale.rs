//! What a killed process leaves behind. Each driver keeps its sandboxes in a directory of its own under the
//! base directory (`d-<random>`), holding an exclusive lock on its `lock` file for as long as it lives; the
//! kernel releases the lock when the process dies, however it dies. A driver starting up takes every other
//! such directory whose lock it can take: that process is gone, so whatever still runs as one of its
//! sandboxes' uids is killed (normally nothing: bubblewrap's `--die-with-parent` took the sandbox down with
//! it) and the directory is removed.

use crate::Error;
use crate::procs::{kill_uid, processes_of_uid};
use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The prefix of a driver's own directory under the base directory.
pub(super) const PREFIX: &str = "d-";
const LOCK: &str = "lock";
/// How long the sweep waits for a stale sandbox's processes to disappear after killing them.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// A driver's own directory, locked while the driver lives.
#[derive(Debug)]
pub(super) struct Instance {
    pub(super) dir: PathBuf,
    /// Held open: closing it (or the process ending) releases the lock.
    _lock: File,
}

impl Instance {
    /// Makes and locks a new directory under `base`. It is made under another name and renamed once locked,
    /// so a sweep never sees it unlocked.
    pub(super) fn create(base: &Path) -> Result<Self, Error> {
        let id = format!("{:016x}", rand::random::<u64>());
        let making = base.join(format!("new-{id}"));
        super::make_dir(&making, 0o711)?;
        let path = making.join(LOCK);
        let lock = File::create(&path).map_err(Error::io(format!("create {}", path.display())))?;
        lock.try_lock().map_err(|e| {
            let source = match e {
                std::fs::TryLockError::Error(e) => e,
                std::fs::TryLockError::WouldBlock => std::io::Error::other("it is locked"),
            };
            Error::io(format!("lock {}", path.display()))(source)
        })?;
        let dir = base.join(format!("{PREFIX}{id}"));
        std::fs::rename(&making, &dir).map_err(Error::io(format!("rename {}", making.display())))?;
        Ok(Self { dir, _lock: lock })
    }
}

/// What a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Directories of drivers no longer running.
    pub drivers: usize,
    /// Their sandboxes' directories.
    pub sandboxes: usize,
    /// Processes still running as one of those sandboxes' uids, killed.
    pub processes: usize,
}

/// Removes what drivers no longer running left under `base`.
pub(super) fn sweep(base: &Path) -> Result<Swept, Error> {
    let mut swept = Swept::default();
    let entries = match std::fs::read_dir(base) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(swept),
        Err(e) => return Err(Error::io(format!("read {}", base.display()))(e)),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_driver = name.to_str().is_some_and(|n| n.starts_with(PREFIX));
        let dir = entry.path();
        if !is_driver || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        // Taking the lock means its driver is gone; the lock is held until the directory is removed.
        let Ok(lock) = File::open(dir.join(LOCK)) else {
            continue;
        };
        if lock.try_lock().is_err() {
            continue;
        }
        for sandbox in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = sandbox.path();
            if !sandbox.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            // The sandbox's uid owns its work directory.
            if let Ok(meta) = std::fs::symlink_metadata(path.join("work")) {
                let uid = meta.uid();
                if uid != 0 {
                    swept.processes += kill_uid(uid, None);
                    let deadline = Instant::now() + KILL_WAIT;
                    while !processes_of_uid(uid).is_empty() && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
            std::fs::remove_dir_all(&path).map_err(Error::io(format!("remove {}", path.display())))?;
            swept.sandboxes += 1;
        }
        std::fs::remove_dir_all(&dir).map_err(Error::io(format!("remove {}", dir.display())))?;
        swept.drivers += 1;
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_removes_what_gone_drivers_left_and_nothing_of_live_ones() {
        let base = std::env::temp_dir().join(format!("prelaunch-stale-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&base).unwrap();
        let live = Instance::create(&base).unwrap();
        std::fs::create_dir_all(live.dir.join("0123/work")).unwrap();
        let gone = Instance::create(&base).unwrap();
        let gone_dir = gone.dir.clone();
        std::fs::create_dir_all(gone_dir.join("4567/work")).unwrap();
        std::fs::write(gone_dir.join("4567/work/file"), "left behind").unwrap();
        drop(gone);
        // Not a driver's: left alone.
        std::fs::create_dir_all(base.join("other")).unwrap();

        let swept = sweep(&base).unwrap();
        assert_eq!(
            swept,
            Swept {
                drivers: 1,
                sandboxes: 1,
                processes: 0
            }
        );
        assert!(!gone_dir.exists());
        assert!(live.dir.join("0123/work").exists());
        assert!(base.join("other").exists());
        // A second sweep finds nothing more while the live driver holds its lock.
        assert_eq!(sweep(&base).unwrap(), Swept::default());
        drop(live);
        assert_eq!(sweep(&base).unwrap().drivers, 1);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
