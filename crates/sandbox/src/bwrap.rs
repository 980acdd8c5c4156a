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

use crate::procs::{self, processes_of_uid};
use crate::protocol::{self, Request, Response, read_line_bounded, to_line};
use crate::spec::{DEFAULT_SETUP_TIMEOUT, DEFAULT_START_TIMEOUT, MAX_OUTPUT_BYTES};
use crate::{Driver, Error, Exec, ExecOutput, FileContents, Sandbox, SandboxSpec, Service};
use async_trait::async_trait;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::Instant;

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
        Ok(Self {
            bwrap,
            prlimit,
            config,
        })
    }

    pub fn config(&self) -> &BwrapConfig {
        &self.config
    }

    /// Starts a sandbox and returns it as this driver's own type, whose uid and directory tests can inspect.
    pub async fn start_bwrap(&self, spec: SandboxSpec) -> Result<BwrapSandbox, Error> {
        spec.validate()?;
        let uid = UidLease::take(self.config.first_uid, self.config.uid_count)?;
        let id = format!("{:016x}", rand::random::<u64>());
        let dir = self.config.base_dir.join(&id);
        if let Err(e) = make_sandbox_dir(&dir, uid.0) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        let mut command = Command::new(&self.prlimit);
        command
            .arg(format!("--nproc={}", spec.limits.processes))
            .arg("--")
            .arg(&self.bwrap)
            .args(self.bwrap_args(&dir))
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

    fn bwrap_args(&self, dir: &Path) -> Vec<OsString> {
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
        for system in &self.config.system_dirs {
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
        arg(&[&"--ro-bind", &self.config.agent, &AGENT_PATH]);
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

/// The uids of this process's live sandboxes.
static LIVE_UIDS: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// A uid reserved for one sandbox until it is dropped (or for good, when its processes outlived a stop).
struct UidLease(u32, std::sync::atomic::AtomicBool);

impl UidLease {
    /// A random uid of the range that no process uses, and no sandbox of this process.
    fn take(first: u32, count: u32) -> Result<Self, Error> {
        for _ in 0..64 {
            let uid = first.saturating_add(rand::random::<u32>() % count);
            let fresh = LIVE_UIDS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(uid);
            if fresh {
                let lease = Self(uid, std::sync::atomic::AtomicBool::new(false));
                if processes_of_uid(uid).is_empty() {
                    return Ok(lease);
                }
            }
        }
        Err(Error::StartFailed(
            "no free uid for the sandbox in the configured range".into(),
        ))
    }
}

impl Drop for UidLease {
    fn drop(&mut self) {
        if self.1.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        LIVE_UIDS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.0);
    }
}

/// The last few KiB bubblewrap (and the agent) wrote to standard error.
struct StderrTail(Arc<Mutex<Vec<u8>>>);

impl StderrTail {
    fn start(pipe: Option<tokio::process::ChildStderr>) -> Self {
        let tail = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&tail);
        if let Some(mut pipe) = pipe {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = pipe.read(&mut buf).await {
                    let mut tail = sink.lock().unwrap_or_else(PoisonError::into_inner);
                    tail.extend_from_slice(buf.get(..n).unwrap_or_default());
                    let excess = tail.len().saturating_sub(STDERR_TAIL);
                    tail.drain(..excess);
                }
            });
        }
        Self(tail)
    }

    fn text(&self) -> String {
        let tail = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&tail).trim().to_owned()
    }
}

/// The pipe to the agent and the bubblewrap process behind it.
struct Conn {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    child: Child,
}

enum ConnError {
    /// The agent is gone (the pipe closed or broke).
    Closed,
    /// The agent said something that is not an answer.
    Invalid(String),
}

impl Conn {
    async fn round_trip(&mut self, request: &Request, max_line: usize) -> Result<Response, ConnError> {
        self.stdin
            .write_all(&to_line(request))
            .await
            .map_err(|_| ConnError::Closed)?;
        self.stdin.flush().await.map_err(|_| ConnError::Closed)?;
        match read_line_bounded(&mut self.stdout, max_line).await {
            Ok(Some(line)) => serde_json::from_slice(&line).map_err(|e| ConnError::Invalid(e.to_string())),
            Ok(None) => Err(ConnError::Closed),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(ConnError::Invalid(e.to_string())),
            Err(_) => Err(ConnError::Closed),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopReason {
    Stopped,
    Dropped,
    WallTime,
    FailedStart,
    Broken,
}

/// What the sandbox handle, its watchdog and its drop share.
struct Shared {
    id: String,
    uid: UidLease,
    dir: PathBuf,
    /// The bubblewrap process we started (outside the sandbox's PID namespace).
    outer_pid: Option<u32>,
    wall_time: Duration,
    /// Held for the length of one request: requests run one at a time.
    conn: tokio::sync::Mutex<Option<Conn>>,
    /// Why the sandbox stopped, once it has; the first reason wins.
    stop: Mutex<Option<StopReason>>,
    /// Held while cleaning up; true once done.
    cleaned: tokio::sync::Mutex<bool>,
    watchdog: Mutex<Option<tokio::task::JoinHandle<()>>>,
    stderr: StderrTail,
}

/// Stops the sandbox when its wall time runs out (unless it is gone by then).
async fn watch(shared: Weak<Shared>, wall_time: Duration) {
    tokio::time::sleep(wall_time).await;
    if let Some(shared) = shared.upgrade() {
        let _ = shared.shutdown(StopReason::WallTime).await;
    }
}

impl Shared {
    fn stop_reason(&self) -> Option<StopReason> {
        *self.stop.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn mark_stopped(&self, reason: StopReason) {
        self.stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(reason);
    }

    /// The error an operation on a stopped sandbox gets.
    fn stopped_error(&self) -> Error {
        match self.stop_reason() {
            Some(StopReason::WallTime) => Error::WallTime(self.wall_time),
            _ => Error::Stopped,
        }
    }

    /// One request and its answer, within `timeout`. A sandbox whose agent is gone, hangs or talks nonsense
    /// is stopped.
    async fn request(&self, request: &Request, payload: usize, timeout: Duration) -> Result<Response, Error> {
        if self.stop_reason().is_some() {
            return Err(self.stopped_error());
        }
        let mut conn = self.conn.lock().await;
        let Some(live) = conn.as_mut() else {
            return Err(self.stopped_error());
        };
        let max_line = protocol::max_response_line(payload);
        let outcome = tokio::time::timeout(timeout, live.round_trip(request, max_line)).await;
        drop(conn);
        let error = match outcome {
            Ok(Ok(answer)) => return Ok(answer),
            _ if self.stop_reason().is_some() => return Err(self.stopped_error()),
            Ok(Err(ConnError::Closed)) => {
                let said = self.stderr.text();
                Error::StartFailed(if said.is_empty() {
                    "the sandbox's agent exited".into()
                } else {
                    format!("the sandbox's agent exited: {said}")
                })
            }
            Ok(Err(ConnError::Invalid(why))) => Error::Protocol(why),
            Err(_) => Error::AgentTimeout(timeout),
        };
        self.shutdown(StopReason::Broken).await?;
        Err(error)
    }

    /// Kills every process of the sandbox, reaps bubblewrap, waits until /proc shows none left and removes
    /// the directory. Safe to call any number of times, from anywhere.
    async fn shutdown(&self, reason: StopReason) -> Result<(), Error> {
        self.mark_stopped(reason);
        let uid = self.uid.0;
        // Everything but our own bubblewrap first: its child is the sandbox's PID 1, whose death takes the
        // PID namespace down, after which bubblewrap exits by itself and is reaped here. (Killing it first
        // would leave that PID 1 a zombie for the host's init to reap.)
        procs::kill_uid(uid, self.outer_pid);
        let mut cleaned = self.cleaned.lock().await;
        if *cleaned {
            return Ok(());
        }
        let watchdog = self
            .watchdog
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // The watchdog itself shuts down with WallTime and must not abort itself half-way.
        if let Some(watchdog) = watchdog.filter(|_| reason != StopReason::WallTime) {
            watchdog.abort();
        }
        let conn = self.conn.lock().await.take();
        if let Some(Conn { stdin, mut child, .. }) = conn {
            drop(stdin);
            if tokio::time::timeout(Duration::from_secs(2), child.wait())
                .await
                .is_err()
            {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        let mut survivors = processes_of_uid(uid).len();
        while survivors > 0 && Instant::now() < deadline {
            procs::kill_uid(uid, None);
            tokio::time::sleep(Duration::from_millis(20)).await;
            survivors = processes_of_uid(uid).len();
        }
        remove_dir(&self.dir).await?;
        if survivors > 0 {
            // Keep the uid reserved: its processes are still about.
            self.uid.1.store(true, std::sync::atomic::Ordering::Relaxed);
            return Err(Error::Survivors {
                id: self.id.clone(),
                count: survivors,
            });
        }
        *cleaned = true;
        Ok(())
    }
}

/// Removes a sandbox's directory, retrying while dying processes may still be writing to it.
async fn remove_dir(dir: &Path) -> Result<(), Error> {
    let mut attempt = 0;
    loop {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if attempt >= 5 => {
                return Err(Error::Io {
                    what: format!("remove {}", dir.display()),
                    source: e,
                });
            }
            Err(_) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// A running bubblewrap sandbox.
pub struct BwrapSandbox {
    shared: Arc<Shared>,
}

impl BwrapSandbox {
    /// The host uid its processes run as.
    pub fn uid(&self) -> u32 {
        self.shared.uid.0
    }

    /// Its directory on the host (holding `work` and `tmp`); gone once it is stopped.
    pub fn host_dir(&self) -> &Path {
        &self.shared.dir
    }

    async fn bring_up(&self, spec: &SandboxSpec) -> Result<(), Error> {
        let start_timeout = spec.start_timeout.unwrap_or(DEFAULT_START_TIMEOUT);
        let init = Request::Init {
            workdir: WORKDIR.into(),
            env: spec.env.clone().into_iter().collect(),
            cpu_seconds: spec.limits.cpu_seconds,
            memory_bytes: spec.limits.memory_bytes,
            processes: spec.limits.processes,
        };
        let ready = {
            let mut conn = self.shared.conn.lock().await;
            let live = conn
                .as_mut()
                .ok_or_else(|| Error::StartFailed("bwrap's pipes were not set up".into()))?;
            tokio::time::timeout(
                start_timeout,
                live.round_trip(&init, protocol::max_response_line(0)),
            )
            .await
        };
        let said = || {
            let text = self.shared.stderr.text();
            if text.is_empty() {
                "bubblewrap said nothing".to_owned()
            } else {
                text
            }
        };
        match ready {
            Ok(Ok(Response::Ready {
                version: protocol::VERSION,
            })) => {}
            Ok(Ok(other)) => {
                return Err(Error::StartFailed(format!(
                    "the agent answered {other:?} instead of being ready"
                )));
            }
            Ok(Err(ConnError::Invalid(why))) => return Err(Error::Protocol(why)),
            Ok(Err(ConnError::Closed)) => {
                // Let the stderr reader catch up with bubblewrap's last words.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Err(Error::StartFailed(said()));
            }
            Err(_) => {
                return Err(Error::StartTimeout {
                    after: start_timeout,
                    detail: said(),
                });
            }
        }
        for file in &spec.files {
            self.write(&file.path, &file.contents, file.mode).await?;
        }
        if let Some(setup) = &spec.setup {
            let timeout = spec.setup_timeout.unwrap_or(DEFAULT_SETUP_TIMEOUT);
            let out = self
                .exec(Exec::shell(setup.clone()).timeout(timeout).max_output(8192))
                .await?;
            if !out.success() {
                let status = match (out.timed_out, out.code, out.signal) {
                    (true, _, _) => format!("timed out after {} s", timeout.as_secs()),
                    (_, Some(code), _) => format!("exit code {code}"),
                    (_, _, Some(signal)) => format!("killed by signal {signal}"),
                    _ => "no exit status".to_owned(),
                };
                let stderr = out.stderr_text();
                return Err(Error::SetupFailed {
                    status,
                    stderr: stderr.chars().take(2000).collect(),
                });
            }
        }
        Ok(())
    }

    async fn write(&self, path: &str, contents: &[u8], mode: Option<u32>) -> Result<(), Error> {
        crate::spec::validate_path(path).map_err(|m| Error::spec("path", m))?;
        if contents.len() > crate::spec::MAX_FILE_BYTES {
            return Err(Error::spec("contents", "is larger than 32 MiB"));
        }
        let request = Request::Write {
            path: path.to_owned(),
            data: protocol::encode(contents),
            mode,
        };
        match self.shared.request(&request, 0, FILE_OP_TIMEOUT).await? {
            Response::Written => Ok(()),
            answer => self.unexpected("write", answer).await,
        }
    }

    /// An answer that is a failure inside, or not an answer to this request at all.
    async fn unexpected<T>(&self, op: &'static str, answer: Response) -> Result<T, Error> {
        if let Response::Failed { message } = answer {
            let message = message.chars().take(2000).collect();
            return Err(Error::Remote { op, message });
        }
        self.broken(format!("answered {op} with {answer:?}")).await
    }

    async fn broken<T>(&self, why: String) -> Result<T, Error> {
        self.shared.shutdown(StopReason::Broken).await?;
        Err(Error::Protocol(why))
    }

    fn decode(bytes: &str, max: usize) -> Result<Vec<u8>, String> {
        let bytes = protocol::decode(bytes).map_err(|e| e.to_string())?;
        if bytes.len() > max {
            return Err(format!("sent {} bytes where {max} were asked", bytes.len()));
        }
        Ok(bytes)
    }
}

#[async_trait]
impl Sandbox for BwrapSandbox {
    fn id(&self) -> &str {
        &self.shared.id
    }

    async fn exec(&self, exec: Exec) -> Result<ExecOutput, Error> {
        exec.validate()?;
        let request = Request::Exec {
            argv: exec.argv,
            stdin: exec.stdin.as_deref().map(protocol::encode),
            cwd: exec.cwd,
            env: exec.env.into_iter().collect(),
            timeout_ms: u64::try_from(exec.timeout.as_millis()).unwrap_or(u64::MAX),
            max_output: exec.max_output,
        };
        let payload = exec.max_output.saturating_mul(2);
        let wait = exec.timeout.saturating_add(AGENT_MARGIN);
        match self.shared.request(&request, payload, wait).await? {
            Response::Exited {
                code,
                signal,
                stdout,
                stderr,
                stdout_truncated,
                stderr_truncated,
                timed_out,
            } => {
                let decoded = Self::decode(&stdout, exec.max_output)
                    .and_then(|out| Ok((out, Self::decode(&stderr, exec.max_output)?)));
                match decoded {
                    Ok((stdout, stderr)) => Ok(ExecOutput {
                        code,
                        signal,
                        stdout,
                        stderr,
                        stdout_truncated,
                        stderr_truncated,
                        timed_out,
                    }),
                    Err(why) => self.broken(format!("exec output: {why}")).await,
                }
            }
            answer => self.unexpected("exec", answer).await,
        }
    }

    async fn write_file(&self, path: &str, contents: &[u8]) -> Result<(), Error> {
        self.write(path, contents, None).await
    }

    async fn read_file(&self, path: &str, max_bytes: usize) -> Result<FileContents, Error> {
        crate::spec::validate_path(path).map_err(|m| Error::spec("path", m))?;
        if max_bytes > MAX_OUTPUT_BYTES {
            return Err(Error::spec("max_bytes", "is larger than 16 MiB"));
        }
        let request = Request::Read {
            path: path.to_owned(),
            max_bytes,
        };
        match self.shared.request(&request, max_bytes, FILE_OP_TIMEOUT).await? {
            Response::File { data, truncated } => match Self::decode(&data, max_bytes) {
                Ok(contents) => Ok(FileContents { contents, truncated }),
                Err(why) => self.broken(format!("read: {why}")).await,
            },
            answer => self.unexpected("read", answer).await,
        }
    }

    async fn start_service(&self, service: Service) -> Result<(), Error> {
        service.validate()?;
        let ready_timeout = service.ready_timeout.unwrap_or(Duration::from_secs(10));
        let request = Request::Service {
            argv: service.argv,
            cwd: service.cwd,
            env: service.env.into_iter().collect(),
            ready_port: service.ready_port,
            ready_timeout_ms: u64::try_from(ready_timeout.as_millis()).unwrap_or(u64::MAX),
        };
        let wait = ready_timeout.saturating_add(AGENT_MARGIN);
        match self.shared.request(&request, 0, wait).await? {
            Response::Started { .. } => Ok(()),
            answer => self.unexpected("start_service", answer).await,
        }
    }

    async fn stop(&self) -> Result<(), Error> {
        self.shared.shutdown(StopReason::Stopped).await
    }
}

impl Drop for BwrapSandbox {
    /// Kills the sandbox's processes at once; the rest of the clean-up (reaping bubblewrap, waiting for the
    /// processes to vanish, removing the directory) runs on the Tokio runtime when there is one, and here,
    /// briefly blocking, when there is not.
    fn drop(&mut self) {
        let shared = &self.shared;
        if shared.cleaned.try_lock().is_ok_and(|done| *done) {
            return;
        }
        shared.mark_stopped(StopReason::Dropped);
        procs::kill_uid(shared.uid.0, shared.outer_pid);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shared = Arc::clone(shared);
            runtime.spawn(async move {
                let _ = shared.shutdown(StopReason::Dropped).await;
            });
            return;
        }
        // No runtime: bubblewrap is killed when its handle drops (kill_on_drop) and reaped by Tokio's orphan
        // queue; wait briefly for the processes and remove the directory.
        for _ in 0..100 {
            if procs::kill_uid(shared.uid.0, shared.outer_pid) == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_dir_all(&shared.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_not_handed_out_twice() {
        let first = UidLease::take(0x7100_0000, 4).unwrap();
        let others: Vec<_> = (0..3).map(|_| UidLease::take(0x7100_0000, 4).unwrap()).collect();
        let mut uids: Vec<u32> = others.iter().map(|l| l.0).chain([first.0]).collect();
        uids.sort_unstable();
        assert_eq!(uids, [0x7100_0000, 0x7100_0001, 0x7100_0002, 0x7100_0003]);
        assert!(UidLease::take(0x7100_0000, 4).is_err(), "the range is used up");
        drop(first);
        assert!(UidLease::take(0x7100_0000, 4).is_ok());
    }

    #[test]
    fn the_view_is_read_only_with_a_fresh_work_dir() {
        let driver = BwrapDriver {
            bwrap: "/usr/bin/bwrap".into(),
            prlimit: "/usr/bin/prlimit".into(),
            config: BwrapConfig::new("/opt/prelaunch"),
        };
        let args: Vec<String> = driver
            .bwrap_args(Path::new("/base/abc"))
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
