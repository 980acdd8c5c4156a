//! The bubblewrap sandbox with its real agent (this binary's hidden `sandbox-agent`): no outside network,
//! services on loopback inside only, the CPU, memory, process and wall-time limits, bounded output, files and
//! setup, flags, the start-up pool, and that nothing is left running or on disk after a stop, a drop or a
//! failed start.
//!
//! Skipped, saying so, only when bubblewrap is missing and PRELAUNCH_TEST_REQUIRE_SANDBOX is unset
//! (scripts/test.sh sets it). The driver needs root, as in CI.

use sandbox::bwrap::{BwrapConfig, BwrapDriver};
use sandbox::flag::{Flag, FlagPlacement};
use sandbox::pool::{Pool, RampConfig};
use sandbox::{Error, Exec, Limits, PlacedFile, Sandbox, SandboxSpec, Service, processes_of_uid};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_prelaunch");

/// A driver of the test's own, with uids from a range of its own (`uid_count` of them), so the test can find
/// exactly its sandboxes' processes. `None`, after saying why, when the sandbox
/// cannot be tested here.
fn driver_with(uid_count: u32, change: impl FnOnce(&mut BwrapConfig)) -> Option<BwrapDriver> {
    if !sandbox::bwrap::bwrap_installed() && std::env::var_os("PRELAUNCH_TEST_REQUIRE_SANDBOX").is_none() {
        eprintln!(
            "SKIPPED: bubblewrap is not installed (apt-get install bubblewrap); \
             set PRELAUNCH_TEST_REQUIRE_SANDBOX=1 to fail instead"
        );
        return None;
    }
    let mut config = BwrapConfig::new(BIN);
    let tag = uuid::Uuid::new_v4().as_u128() as u32;
    config.base_dir = std::env::temp_dir().join("prelaunch-sandbox-tests");
    config.first_uid = 0x7800_0000 + (tag % (1 << 20)) * 16;
    config.uid_count = uid_count;
    change(&mut config);
    Some(BwrapDriver::new(config).unwrap_or_else(|e| panic!("the bubblewrap driver: {e}")))
}

fn driver() -> Option<BwrapDriver> {
    driver_with(16, |_| {})
}

fn spec() -> SandboxSpec {
    SandboxSpec {
        limits: Limits {
            cpu_seconds: 20,
            memory_bytes: 1 << 30,
            processes: 64,
            wall_time: Duration::from_secs(60),
        },
        ..SandboxSpec::default()
    }
}

fn python(code: &str) -> Exec {
    let mut exec = Exec::shell("").timeout(Duration::from_secs(20));
    exec.argv = vec!["python3".into(), "-c".into(), code.into()];
    exec
}

async fn sh(sandbox: &dyn Sandbox, script: &str) -> sandbox::ExecOutput {
    sandbox
        .exec(Exec::shell(script).timeout(Duration::from_secs(20)))
        .await
        .unwrap()
}

/// Waits (a few seconds at most) until no process runs as `uid` and `dir` is gone.
async fn assert_cleaned_up(uid: u32, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_of_uid(uid);
        if left.is_empty() && !dir.exists() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "sandbox of uid {uid} left processes {left:?} and directory {} (exists: {})",
            dir.display(),
            dir.exists()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What is under `base` but the drivers' own directories and their lock files: the sandboxes' directories.
fn base_dir_entries(base: &Path) -> Vec<PathBuf> {
    let entries = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    };
    entries(base)
        .into_iter()
        .flat_map(|driver| {
            let name = driver.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("d-") {
                entries(&driver)
                    .into_iter()
                    .filter(|p| !p.ends_with("lock"))
                    .collect()
            } else {
                vec![driver]
            }
        })
        .collect()
}

#[tokio::test]
async fn outside_addresses_and_dns_are_unreachable() {
    let Some(driver) = driver() else { return };
    let sandbox = driver.start_bwrap(spec()).await.unwrap();
    let out = sandbox
        .exec(python(
            r#"
import socket
for host, port, kind in [("10.0.0.1", 80, socket.SOCK_STREAM), ("1.1.1.1", 53, socket.SOCK_STREAM),
                         ("1.1.1.1", 53, socket.SOCK_DGRAM)]:
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(2)
    try:
        s.connect((host, port))
        if kind == socket.SOCK_DGRAM:
            s.send(b"\0" * 12)
            s.recv(512)
        print(host, port, "REACHED")
    except OSError as e:
        print(host, port, "failed:", e)
try:
    print("resolved", socket.getaddrinfo("example.com", 80))
except OSError as e:
    print("dns failed:", e)
print("interfaces", [name for _, name in socket.if_nameindex()])
"#,
        ))
        .await
        .unwrap();
    let text = out.stdout_text();
    assert!(out.success(), "{text}{}", out.stderr_text());
    assert!(!text.contains("REACHED") && !text.contains("resolved"), "{text}");
    assert_eq!(text.matches("failed").count(), 4, "{text}");
    assert!(text.contains("interfaces ['lo']"), "{text}");
    sandbox.stop().await.unwrap();
}

#[tokio::test]
async fn a_service_inside_is_reachable_from_inside_only() {
    let Some(driver) = driver() else { return };
    // A port free on the host, so a connection from outside can only reach the sandbox's service.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sandbox = driver.start_bwrap(spec()).await.unwrap();
    sandbox.write_file("www/index.html", b"inside").await.unwrap();
    let mut service = Service::new(["python3", "-m", "http.server", &port.to_string()]).ready_on(port);
    service
        .argv
        .extend(["--bind".into(), "127.0.0.1".into(), "-d".into(), "www".into()]);
    sandbox.start_service(service).await.unwrap();

    let out = sandbox
        .exec(python(&format!(
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{port}/index.html', timeout=5).read().decode())"
        )))
        .await
        .unwrap();
    assert_eq!(out.stdout_text().trim(), "inside", "{}", out.stderr_text());
    let outside = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await;
    assert!(
        !matches!(outside, Ok(Ok(_))),
        "the service was reachable from the host"
    );
    sandbox.stop().await.unwrap();
}

#[tokio::test]
async fn the_system_is_read_only_and_the_host_hidden() {
    let Some(driver) = driver() else { return };
    let sandbox = driver.start_bwrap(spec()).await.unwrap();
    // The host's own directories, this checkout among them, are not there.
    let script = format!(
        "id -u; pwd; echo $HOME; \
         touch /usr/x 2>/dev/null && echo WROTE-USR; touch /x 2>/dev/null && echo WROTE-ROOT; \
         for p in /root /home /var/lib {}; do test -e $p && echo SEES-$p; done; \
         touch mine /tmp/mine && echo wrote-work-and-tmp; env",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = sh(&sandbox, &script).await;
    let text = out.stdout_text();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), sandbox.uid().to_string());
    assert_eq!(lines.next().unwrap(), "/work");
    assert_eq!(lines.next().unwrap(), "/work");
    assert!(!text.contains("WROTE") && !text.contains("SEES"), "{text}");
    assert!(text.contains("wrote-work-and-tmp"), "{text}");
    // The host's environment (database URLs, keys) never reaches the sandbox.
    assert!(
        !text.contains("PRELAUNCH") && !text.contains("DATABASE_URL") && !text.contains("CARGO"),
        "{text}"
    );
    sandbox.stop().await.unwrap();
}

#[tokio::test]
async fn cpu_limit_kills_a_busy_loop() {
    let Some(driver) = driver() else { return };
    let mut spec = spec();
    spec.limits.cpu_seconds = 1;
    let sandbox = driver.start_bwrap(spec).await.unwrap();
    let began = Instant::now();
    let out = sh(&sandbox, "while :; do :; done").await;
    assert!(!out.timed_out, "the loop ran for the whole timeout");
    // SIGKILL at the (equal) hard limit; SIGXCPU should the soft one be seen first.
    assert!(matches!(out.signal, Some(9 | 24)), "{out:?}");
    assert!(began.elapsed() < Duration::from_secs(12), "{:?}", began.elapsed());
    assert!(sh(&sandbox, "echo fine").await.success());
    sandbox.stop().await.unwrap();
}

#[tokio::test]
async fn memory_limit_fails_large_allocations() {
    let Some(driver) = driver() else { return };
    let mut spec = spec();
    spec.limits.memory_bytes = 256 << 20;
    let sandbox = driver.start_bwrap(spec).await.unwrap();
    let out = sandbox
        .exec(python(
            "a = bytearray(64 << 20)\nprint('small ok')\ntry:\n    b = bytearray(512 << 20)\n    print('LARGE ALLOCATED')\nexcept MemoryError:\n    print('large refused')",
        ))
        .await
        .unwrap();
    assert_eq!(
        out.stdout_text(),
        "small ok\nlarge refused\n",
        "{}",
        out.stderr_text()
    );
    sandbox.stop().await.unwrap();
}

#[tokio::test]
async fn process_limit_contains_a_fork_bomb() {
    let Some(driver) = driver() else { return };
    let mut spec = spec();
    spec.limits.processes = 32;
    let sandbox = driver.start_bwrap(spec).await.unwrap();
    let uid = sandbox.uid();
    let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sampler = {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                peak.fetch_max(processes_of_uid(uid).len(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    // Each level waits for the two below it, so the bomb grows until fork fails and then falls apart (or is
    // killed at its timeout).
    let out = sandbox
        .exec(Exec::shell("bomb() { bomb | bomb; }; bomb").timeout(Duration::from_secs(5)))
        .await
        .unwrap();
    sampler.abort();
    let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
    let stderr = out.stderr_text();
    assert!(
        stderr.contains("Cannot fork"),
        "the bomb never reached the limit: {}",
        stderr.chars().take(300).collect::<String>()
    );
    assert!(peak <= 32, "{peak} processes, past the limit of 32");
    // The machine is fine, and so is the sandbox once the bomb's process group is killed.
    assert!(std::process::Command::new("true").status().unwrap().success());
    let mut alive = false;
    for _ in 0..50 {
        if let Ok(out) = sandbox.exec(Exec::shell("echo alive")).await {
            alive = out.stdout_text() == "alive\n";
            if alive {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(alive);
    let dir = sandbox.host_dir().to_owned();
    sandbox.stop().await.unwrap();
    assert_cleaned_up(uid, &dir).await;
}

#[tokio::test]
async fn wall_time_limit_stops_the_sandbox() {
    let Some(driver) = driver() else { return };
    let mut spec = spec();
    spec.limits.wall_time = Duration::from_secs(2);
    let sandbox = driver.start_bwrap(spec).await.unwrap();
    let (uid, dir) = (sandbox.uid(), sandbox.host_dir().to_owned());
    let began = Instant::now();
    let err = sandbox
        .exec(Exec::shell("sleep 60").timeout(Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WallTime(_)), "{err}");
    assert!(began.elapsed() < Duration::from_secs(8), "{:?}", began.elapsed());
    assert_cleaned_up(uid, &dir).await;
    assert!(matches!(
        sandbox.exec(Exec::shell("true")).await,
        Err(Error::WallTime(_))
    ));
    sandbox.stop().await.unwrap();
}

#[tokio::test]
async fn stop_kills_every_process_and_removes_the_directory() {
    let Some(driver) = driver() else { return };
    let sandbox = driver.start_bwrap(spec()).await.unwrap();
    let (uid, dir) = (sandbox.uid(), sandbox.host_dir().to_owned());
    // Daemons that leave the command's process group and session.
    let out = sh(
        &sandbox,
        "setsid sleep 1000 >/dev/null 2>&1 & nohup sleep 1001 >/dev/null 2>&1 & (sleep 1002 &) ; echo started",
    )
    .await;
    assert_eq!(out.stdout_text(), "started\n");
    sandbox
        .start_service(Service::new(["sleep", "1003"]))
        .await
        .unwrap();
    assert!(processes_of_uid(uid).len() >= 6, "{:?}", processes_of_uid(uid));
    assert!(dir.join("work").exists());

    sandbox.stop().await.unwrap();
    // stop() itself waits: nothing is left the moment it returns.
    assert_eq!(processes_of_uid(uid), Vec::<u32>::new());
    assert!(!dir.exists());
    sandbox.stop().await.unwrap();
    assert!(matches!(
        sandbox.exec(Exec::shell("true")).await,
        Err(Error::Stopped)
    ));
}

#[tokio::test]
async fn a_dropped_sandbox_is_cleaned_up() {
    let Some(driver) = driver() else { return };
    let sandbox = driver.start_bwrap(spec()).await.unwrap();
    let (uid, dir) = (sandbox.uid(), sandbox.host_dir().to_owned());
    sh(&sandbox, "setsid sleep 1000 >/dev/null 2>&1 & echo ok").await;
    assert!(!processes_of_uid(uid).is_empty());
    drop(sandbox);
    assert_cleaned_up(uid, &dir).await;
}

#[tokio::test]
async fn a_failed_start_is_reported_and_leaves_nothing() {
    // A base directory of its own, to see that nothing is left in it.
    let base = std::env::temp_dir()
        .join("prelaunch-sandbox-tests")
        .join(uuid::Uuid::new_v4().simple().to_string());
    let own_base = |c: &mut BwrapConfig| c.base_dir = base.clone();

    // Setup exits non-zero.
    let Some(driver) = driver_with(1, own_base) else {
        return;
    };
    let mut failing = spec();
    failing.setup = Some("echo broken >&2; exit 3".into());
    let err = driver.start_bwrap(failing).await.err().unwrap();
    assert!(
        matches!(&err, Error::SetupFailed { status, stderr } if status == "exit code 3" && stderr.trim() == "broken"),
        "{err}"
    );

    // The agent does not start (an unknown subcommand): bubblewrap's and the agent's words are reported.
    let Some(bad_agent) = driver_with(1, |c| {
        own_base(c);
        c.agent_args = vec!["no-such-command".into()];
    }) else {
        return;
    };
    let err = bad_agent.start_bwrap(spec()).await.err().unwrap();
    assert!(
        matches!(&err, Error::StartFailed(said) if said.contains("no-such-command")),
        "{err}"
    );

    // The agent never answers: the start times out, naming how long it waited.
    let Some(silent) = driver_with(1, |c| {
        own_base(c);
        c.agent = "/usr/bin/sleep".into();
        c.agent_args = vec!["30".into()];
    }) else {
        return;
    };
    let mut slow = spec();
    slow.start_timeout = Some(Duration::from_secs(1));
    let began = Instant::now();
    let err = silent.start_bwrap(slow).await.err().unwrap();
    assert!(matches!(err, Error::StartTimeout { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("the sandbox did not start within 1 s"),
        "{err}"
    );
    assert!(began.elapsed() < Duration::from_secs(5));

    for driver in [&driver, &bad_agent, &silent] {
        let uid = driver.config().first_uid;
        assert_eq!(processes_of_uid(uid), Vec::<u32>::new(), "uid {uid}");
    }
    assert_eq!(base_dir_entries(&base), Vec::<PathBuf>::new());
    std::fs::remove_dir_all(&base).unwrap();
}

#[tokio::test]
async fn output_is_bounded_and_truncation_reported() {
    let Some(driver) = driver() else { return };
    let sandbox = driver.start_bwrap(spec()).await.unwrap();
    let out = sandbox
        .exec(Exec::shell("head -c 1000000 /dev/zero; printf 0123456789 >&2").max_output(1000))
        .await
        .unwrap();
    assert!(out.success());
    assert_eq!((out.stdout.len(), out.stdout_truncated), (1000, true));
    assert_eq!(
        (out.stderr, out.stderr_truncated),
        (b"0123456789".to_vec(), false)
    );
    // An endless stream ends at the timeout, still bounded.
    let out = sandbox
        .exec(
            Exec::shell("yes")
                .max_output(4096)
                .timeout(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    assert!(out.timed_out && out.stdout_truncated, "{out:?}");
    assert_eq!(out.stdout.len(), 4096);
    sandbox.stop().await.unwrap();
}

#[tokio::test]
async fn files_are_placed_written_and_read_and_setup_runs_first() {
    let Some(driver) = driver() else { return };
    let mut spec = spec();
    spec.files.push(PlacedFile {
        path: "data/in.txt".into(),
        contents: b"hello\n".to_vec(),
        mode: None,
    });
    spec.env.insert("GREETING".into(), "hi".into());
    spec.setup = Some("cat data/in.txt > setup-out.txt; echo $GREETING >> setup-out.txt".into());
    let sandbox = driver.start_bwrap(spec).await.unwrap();
    let read = sandbox.read_file("setup-out.txt", 100).await.unwrap();
    assert_eq!(
        (read.contents.as_slice(), read.truncated),
        (&b"hello\nhi\n"[..], false)
    );

    let bytes: Vec<u8> = (0..=255).collect();
    sandbox.write_file("/tmp/deep/dir/all.bin", &bytes).await.unwrap();
    let out = sh(&sandbox, "wc -c < /tmp/deep/dir/all.bin").await;
    assert_eq!(out.stdout_text().trim(), "256");
    let read = sandbox.read_file("/tmp/deep/dir/all.bin", 300).await.unwrap();
    assert_eq!(read.contents, bytes);
    let read = sandbox.read_file("/tmp/deep/dir/all.bin", 10).await.unwrap();
    assert_eq!((read.contents.as_slice(), read.truncated), (&bytes[..10], true));
    let err = sandbox.read_file("missing.txt", 10).await.unwrap_err();
    assert!(matches!(err, Error::Remote { op: "read", .. }), "{err}");
    let err = sandbox.write_file("/usr/nope", b"x").await.unwrap_err();
    assert!(matches!(err, Error::Remote { op: "write", .. }), "{err}");
    // Standard input reaches the command.
    let out = sandbox
        .exec(Exec::shell("tr a-z A-Z").stdin(&b"shout"[..]))
        .await
        .unwrap();
    assert_eq!(out.stdout_text(), "SHOUT");
    sandbox.stop().await.unwrap();
}

#[tokio::test]
async fn fresh_flags_are_placed_where_asked() {
    let Some(driver) = driver() else { return };
    let flag = Flag::generate();
    let mut spec = spec();
    spec.setup = Some("printf '%s' '@FLAG@' > from-setup.txt".into());
    for placement in [
        FlagPlacement::File {
            path: "flag.txt".into(),
        },
        FlagPlacement::Env { name: "FLAG".into() },
        FlagPlacement::Setup {
            placeholder: "@FLAG@".into(),
        },
    ] {
        placement.place(&flag, &mut spec).unwrap();
    }
    let sandbox = driver.start_bwrap(spec).await.unwrap();
    let out = sh(&sandbox, "cat flag.txt; echo; echo \"$FLAG\"; cat from-setup.txt").await;
    let f = flag.as_str();
    assert_eq!(out.stdout_text(), format!("{f}\n{f}\n{f}"));
    sandbox.stop().await.unwrap();
}

#[tokio::test]
async fn the_pool_ramps_up_and_backs_off_on_failures() {
    let Some(driver) = driver() else { return };
    let ramp = RampConfig {
        initial: 1,
        min: 1,
        max: 4,
        fast: Duration::from_secs(10),
        slow: Duration::from_secs(30),
    };
    let pool = Pool::new(Arc::new(driver), ramp.clone());
    let started = futures_util::future::join_all((0..6).map(|_| pool.start(spec()))).await;
    let sandboxes: Vec<Box<dyn Sandbox>> = started.into_iter().map(Result::unwrap).collect();
    let stats = pool.stats();
    assert_eq!((stats.started, stats.failed, stats.in_flight), (6, 0, 0));
    assert_eq!(
        stats.limit, 4,
        "six fast start-ups raise the bound from 1 to its max"
    );
    for sandbox in &sandboxes {
        sandbox.stop().await.unwrap();
    }

    let Some(broken) = driver_with(16, |c| c.agent_args = vec!["no-such-command".into()]) else {
        return;
    };
    let pool = Pool::new(Arc::new(broken), RampConfig { initial: 4, ..ramp });
    let err = pool.start(spec()).await.err().unwrap();
    assert!(matches!(err, Error::StartFailed(_)), "{err}");
    let stats = pool.stats();
    assert_eq!((stats.started, stats.failed, stats.limit), (0, 1, 2));
}

#[tokio::test]
async fn killing_the_agent_from_inside_stops_the_sandbox() {
    let Some(driver) = driver() else { return };
    let sandbox = driver.start_bwrap(spec()).await.unwrap();
    let (uid, dir) = (sandbox.uid(), sandbox.host_dir().to_owned());
    // The command's parent is the agent; the sandboxed code runs as the same uid, so it may kill it.
    let err = sandbox
        .exec(Exec::shell("kill -9 $PPID; sleep 5"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AgentExited(_)), "{err}");
    assert_cleaned_up(uid, &dir).await;
    assert!(matches!(
        sandbox.exec(Exec::shell("true")).await,
        Err(Error::Stopped)
    ));
}

#[test]
fn a_sandbox_dropped_as_its_runtime_ends_leaves_nothing() {
    // As when a test panics: the sandbox is dropped and the runtime ends at once, so the clean-up task may
    // never run.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some((uid, dir)) = runtime.block_on(async {
        let driver = driver()?;
        let sandbox = driver.start_bwrap(spec()).await.unwrap();
        sh(&sandbox, "setsid sleep 1000 >/dev/null 2>&1 & echo ok").await;
        Some((sandbox.uid(), sandbox.host_dir().to_owned()))
    }) else {
        return;
    };
    drop(runtime);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_of_uid(uid).is_empty() || dir.exists() {
        assert!(
            Instant::now() < deadline,
            "left {:?} and {}",
            processes_of_uid(uid),
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
