//! The bubblewrap driver: a sandbox per sample on one machine.
//!
//! # What a sandbox is
//! `prlimit --nproc=N -- bwrap … /.sandbox/agent sandbox-agent`, started as a uid picked for this sandbox
//! alone (from a range far above ordinary accounts, checked free in /proc), so bubblewrap itself runs
//! unprivileged and creates an unprivileged user namespace. Inside:
//! - its own PID, network, IPC, UTS, cgroup and user namespaces (`--unshare-all`); the network namespace has
//!   loopback only, so nothing outside is reachable (no route, no DNS), and a service listening on 127.0.0.1
//!   inside is reachable from later commands in the same sandbox and from nowhere else;
//! - a read-only view of the system: `/usr` and `/etc` (and the `/bin`, `/lib`… links of a merged-/usr
//!   system), not the whole root, so `/root`, `/home`, `/work`, `/var` and the service's data directory are not
//!   there at all; a fresh writable work directory at `/work` (also `HOME`), and `/tmp`, both on disk in a
//!   per-sandbox directory under the driver's base directory; a fresh `/proc` and a minimal `/dev`;
//! - an empty environment but `PATH`, `HOME` and `LANG` (the host's variables, credentials among them, never
//!   reach it), plus the spec's variables;
//! - `--die-with-parent` and `--new-session`.
//!
//! # How commands run inside: an agent, not nsenter
//! Bubblewrap cannot enter a running sandbox. Its first process is therefore a small agent ([`crate::agent`],
//! the hidden `prelaunch sandbox-agent` of the same executable, bound read-only at `/.sandbox/agent`) that
//! runs requests sent as JSON lines on its stdin. This was chosen over `nsenter` into the namespaces of the
//! sandbox's init because nsenter needs root for every command and has to rebuild by hand the uid, the mount
//! namespace and the limits of each exec, where with the agent every command simply inherits the sandbox as
//! it was built; and because the agent's pipe is a natural bound on what comes back.
//!
//! # Limits, and what holds
//! - Processes: `RLIMIT_NPROC` counts every process and thread of a real uid on the machine. Because each
//!   sandbox has a uid of its own, the limit is the sandbox's, agent included, and a fork bomb stops there.
//!   (It is not enforced for root, which is why bubblewrap is not run as root with a mapped uid: outside the
//!   namespace that uid would still be 0.)
//! - CPU and memory: `RLIMIT_CPU` and `RLIMIT_AS`, set by the agent through `prlimit` on every command and
//!   service and inherited by their children. They are per process: a process is killed after its CPU seconds
//!   and its allocations fail past its address space. A sandbox as a whole can use up to `processes` times
//!   that (cgroups would bound the whole, but on this machine they are v1 and not writable; a driver with
//!   cgroups v2 delegation can add that). Core dumps are off.
//! - Wall time: the driver stops the sandbox when its `wall_time` runs out, and each command has a timeout
//!   after which its process group is killed.
//! - Stopping kills every process of the sandbox's uid; the sandbox's PID 1 dying also takes its whole PID
//!   namespace down, so nothing can escape by daemonising. The driver then waits until /proc shows no process
//!   of the uid and removes the directory. Dropping a sandbox does the same.
//! - Not bounded: disk use in the work directory and `/tmp` (they are on disk, not in memory), and the
//!   host's CPU share (no cgroup). The sandbox sees the host's `/usr` and `/etc` (world-readable files only,
//!   as its uid is unprivileged).
//! - The driver needs root (to start each sandbox as its own uid) and unprivileged user namespaces.

mod lifecycle;
mod running;
mod stale;
mod uid;

pub use running::BwrapSandbox;
pub use stale::Swept;

use crate::{Driver, Error, Sandbox, SandboxSpec};
use async_trait::async_trait;
use lifecycle::{Conn, Shared, StderrTail, StopReason, watch};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::BufReader;
use tokio::process::Command;
use uid::UidLease;

/// The work directory inside the sandbox.
pub const WORKDIR: &str = "/work";
/// Where the agent executable is bound inside the sandbox.
const AGENT_PATH: &str = "/.sandbox/agent";
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Time the agent gets beyond a command's own timeout to kill it and answer.
const AGENT_MARGIN: Duration = Duration::from_secs(5);
/// Time a file operation may take before the agent counts as hung.
const FILE_OP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long stopping waits for the sandbox's processes to disappear.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of bubblewrap's standard error is kept, to explain a failed start.
const STDERR_TAIL: usize = 4096;

/// How the driver is set up.
#[derive(Debug, Clone)]
pub struct BwrapConfig {
    /// The executable that runs the agent: this program, normally.
    pub agent: PathBuf,
    /// The arguments that make it the agent.
    pub agent_args: Vec<String>,
    /// Where sandboxes' directories are made; it is created with mode 0711.
    pub base_dir: PathBuf,
    /// The sandboxes' uids are picked from `first_uid .. first_uid + uid_count`.
    pub first_uid: u32,
    pub uid_count: u32,
    /// Host directories shown read-only inside, at the same path (besides the merged-/usr links).
    pub system_dirs: Vec<PathBuf>,
}

impl BwrapConfig {
    /// The default set-up, with `agent` as the agent's executable (`agent sandbox-agent`).
    pub fn new(agent: impl Into<PathBuf>) -> Self {
        Self {
            agent: agent.into(),
            agent_args: vec!["sandbox-agent".to_owned()],
            base_dir: std::env::temp_dir().join("prelaunch-sandboxes"),
            // 2^24 uids from 0x7000_0000: far from accounts, and from the ranges /etc/subuid hands out.
            first_uid: 0x7000_0000,
            uid_count: 1 << 24,
            system_dirs: vec!["/usr".into(), "/etc".into()],
        }
    }

    /// The default set-up with this very program as the agent.
    pub fn current_exe() -> Result<Self, Error> {
        let exe = std::env::current_exe().map_err(Error::io("find this program's path"))?;
        Ok(Self::new(exe))
    }
}

/// Starts bubblewrap sandboxes.
pub struct BwrapDriver {
    bwrap: PathBuf,
    prlimit: PathBuf,
    config: BwrapConfig,
    /// This driver's own directory under the base directory, where its sandboxes' directories are made.
    instance: stale::Instance,
    /// What the sweep at start-up removed.
    swept: Swept,
}

/// Whether `bwrap` is on `PATH`.
pub fn bwrap_installed() -> bool {
    find_program("bwrap").is_some()
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| PATH.into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

impl BwrapDriver {
    /// Checks that bubblewrap and prlimit are installed, that this process is root and that the agent is
    /// usable, and creates the base directory.
    pub fn new(config: BwrapConfig) -> Result<Self, Error> {
        let bwrap = find_program("bwrap").ok_or(Error::BwrapMissing)?;
        let prlimit = find_program("prlimit").ok_or(Error::PrlimitMissing)?;
        if !rustix::process::geteuid().is_root() {
            return Err(Error::NotRoot);
        }
        check_agent(&config.agent)?;
        if config.uid_count == 0 || config.first_uid.checked_add(config.uid_count).is_none() {
            return Err(Error::spec("uid_count", "must be positive and fit in a uid"));
        }
        make_dir(&config.base_dir, 0o711)?;
        // Sandboxes' directories are made and removed as root in here: it must be root's own directory, not
        // a link someone else planted in a shared /tmp.
        let base = std::fs::symlink_metadata(&config.base_dir)
            .map_err(Error::io(format!("inspect {}", config.base_dir.display())))?;
        if !base.is_dir() || std::os::unix::fs::MetadataExt::uid(&base) != 0 {
            return Err(Error::spec(
                "base_dir",
                format!("{} must be a directory owned by root", config.base_dir.display()),
            ));
        }
        // What a driver of a process that died (killed mid-sample) left is removed before this one starts.
        let swept = stale::sweep(&config.base_dir)?;
        let instance = stale::Instance::create(&config.base_dir)?;
        Ok(Self {
            bwrap,
            prlimit,
            config,
            instance,
            swept,
        })
    }

    pub fn config(&self) -> &BwrapConfig {
        &self.config
    }

    /// What starting this driver removed of the sandboxes of drivers whose processes are gone.
    pub fn swept(&self) -> Swept {
        self.swept
    }

    /// Starts a sandbox and returns it as this driver's own type, whose uid and directory tests can inspect.
    pub async fn start_bwrap(&self, spec: SandboxSpec) -> Result<BwrapSandbox, Error> {
        spec.validate()?;
        let uid = UidLease::take(self.config.first_uid, self.config.uid_count)?;
        let id = format!("{:016x}", rand::random::<u64>());
        let dir = self.instance.dir.join(&id);
        if let Err(e) = make_sandbox_dir(&dir, uid.0) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        let mut command = Command::new(&self.prlimit);
        command
            .arg(format!("--nproc={}", spec.limits.processes))
            .arg("--")
            .arg(&self.bwrap)
            .args(Self::bwrap_args(&self.config, &dir))
            .arg(AGENT_PATH)
            .args(&self.config.agent_args)
            .env_clear()
            .env("PATH", PATH)
            .current_dir("/")
            .uid(uid.0)
            .gid(uid.0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(Error::Io {
                    what: "start bwrap".into(),
                    source: e,
                });
            }
        };
        let stderr = StderrTail::start(child.stderr.take());
        let conn = match (child.stdin.take(), child.stdout.take()) {
            (Some(stdin), Some(stdout)) => Some(Conn {
                stdin,
                stdout: BufReader::new(stdout),
                child,
            }),
            _ => None,
        };
        let shared = Arc::new(Shared {
            outer_pid: conn.as_ref().and_then(|c| c.child.id()),
            id,
            uid,
            dir,
            wall_time: spec.limits.wall_time,
            conn: tokio::sync::Mutex::new(conn),
            stop: Mutex::new(None),
            cleaned: tokio::sync::Mutex::new(false),
            watchdog: Mutex::new(None),
            stderr,
        });
        let watchdog = tokio::spawn(watch(Arc::downgrade(&shared), spec.limits.wall_time));
        *shared.watchdog.lock().unwrap_or_else(PoisonError::into_inner) = Some(watchdog);
        let sandbox = BwrapSandbox { shared };
        match sandbox.bring_up(&spec).await {
            Ok(()) => Ok(sandbox),
            Err(e) => {
                // A failed start leaves nothing behind; a clean-up failure is the more urgent news.
                sandbox.shared.shutdown(StopReason::FailedStart).await?;
                Err(e)
            }
        }
    }

    fn bwrap_args(config: &BwrapConfig, dir: &Path) -> Vec<OsString> {
        let mut args: Vec<OsString> = [
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "sandbox",
        ]
        .map(OsString::from)
        .into();
        let mut arg = |parts: &[&dyn AsRef<std::ffi::OsStr>]| {
            args.extend(parts.iter().map(|p| p.as_ref().to_owned()));
        };
        for system in &config.system_dirs {
            if system.exists() {
                arg(&[&"--ro-bind", system, system]);
            }
        }
        // On a merged-/usr system these are links into /usr; elsewhere, directories of their own.
        for top in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            match std::fs::symlink_metadata(top) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    if let Ok(target) = std::fs::read_link(top) {
                        arg(&[&"--symlink", &target, &top]);
                    }
                }
                Ok(meta) if meta.is_dir() => arg(&[&"--ro-bind", &top, &top]),
                _ => {}
            }
        }
        let work = dir.join("work");
        let tmp = dir.join("tmp");
        arg(&[&"--proc", &"/proc", &"--dev", &"/dev"]);
        arg(&[&"--bind", &work, &WORKDIR, &"--bind", &tmp, &"/tmp"]);
        arg(&[&"--symlink", &"../tmp", &"/var/tmp"]);
        arg(&[&"--ro-bind", &config.agent, &AGENT_PATH]);
        arg(&[&"--remount-ro", &"/", &"--chdir", &WORKDIR]);
        arg(&[&"--clearenv", &"--setenv", &"PATH", &PATH]);
        arg(&[&"--setenv", &"HOME", &WORKDIR, &"--setenv", &"LANG", &"C.UTF-8"]);
        args
    }
}

#[async_trait]
impl Driver for BwrapDriver {
    fn name(&self) -> &'static str {
        "bubblewrap"
    }

    async fn start(&self, spec: SandboxSpec) -> Result<Box<dyn Sandbox>, Error> {
        Ok(Box::new(self.start_bwrap(spec).await?))
    }
}

fn check_agent(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let fail = |reason: String| Error::Agent {
        path: path.display().to_string(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("it is not a file".into()));
    }
    // The sandbox's unprivileged uid executes it.
    if meta.permissions().mode() & 0o005 != 0o005 {
        return Err(fail("it must be readable and executable by every user".into()));
    }
    Ok(())
}

fn make_dir(path: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let what = || format!("create {}", path.display());
    std::fs::create_dir_all(path).map_err(Error::io(what()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(Error::io(what()))
}

/// `dir` (0711, root's) holding `work` and `tmp` (0700, the sandbox's uid's).
fn make_sandbox_dir(dir: &Path, uid: u32) -> Result<(), Error> {
    make_dir(dir, 0o711)?;
    for sub in ["work", "tmp"] {
        let path = dir.join(sub);
        make_dir(&path, 0o700)?;
        std::os::unix::fs::chown(&path, Some(uid), Some(uid))
            .map_err(Error::io(format!("give {} to uid {uid}", path.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_is_read_only_with_a_fresh_work_dir() {
        let config = BwrapConfig::new("/opt/prelaunch");
        let args: Vec<String> = BwrapDriver::bwrap_args(&config, Path::new("/base/abc"))
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let joined = args.join(" ");
        for expected in [
            "--unshare-all",
            "--die-with-parent",
            "--ro-bind /usr /usr",
            "--bind /base/abc/work /work",
            "--bind /base/abc/tmp /tmp",
            "--ro-bind /opt/prelaunch /.sandbox/agent",
            "--remount-ro /",
            "--clearenv",
        ] {
            assert!(joined.contains(expected), "{expected} missing from {joined}");
        }
        assert!(!joined.contains("--ro-bind / /"), "{joined}");
        assert!(!joined.contains("--share-net"), "{joined}");
    }
}
