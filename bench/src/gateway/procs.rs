//! The processes the benchmark starts (the mock upstream, `prelaunch serve`, LiteLLM's proxy): started on
//! loopback, waited for with a bound, measured through `/proc`, and stopped by their own ids.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A process the benchmark started, in its own process group (so its workers are stopped with it).
pub struct Proc {
    pub name: &'static str,
    child: Child,
    pub pid: u32,
}

impl Proc {
    /// Starts `command` with stdout piped and stderr to `log`.
    pub fn start(name: &'static str, mut command: Command, log: &Path) -> Result<Proc> {
        let log = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .process_group(0)
            .kill_on_drop(true);
        let child = command.spawn().with_context(|| format!("starting {name}"))?;
        let pid = child.id().context("a started process without an id")?;
        Ok(Proc { name, child, pid })
    }

    /// Reads stdout until a line containing `marker`, and returns that line; gives up after `wait`.
    pub async fn line_with(&mut self, marker: &str, wait: Duration) -> Result<String> {
        let stdout = self.child.stdout.take().context("stdout already taken")?;
        let mut lines = BufReader::new(stdout).lines();
        let found = tokio::time::timeout(wait, async {
            while let Some(line) = lines.next_line().await? {
                if line.contains(marker) {
                    return anyhow::Ok(Some(line));
                }
            }
            Ok(None)
        })
        .await;
        // Keep draining stdout so the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        match found {
            Ok(Ok(Some(line))) => Ok(line),
            Ok(Ok(None)) => bail!("{} exited before printing {marker:?}", self.name),
            Ok(Err(e)) => Err(e),
            Err(_) => bail!("{} did not print {marker:?} within {wait:?}", self.name),
        }
    }

    /// Lets stdout drain in the background (for a process whose output is not read).
    pub fn drain_stdout(&mut self) {
        if let Some(stdout) = self.child.stdout.take() {
            let mut lines = BufReader::new(stdout).lines();
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        }
    }

    /// Asks the group to stop (SIGTERM), then kills what is left after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        let group = format!("-{}", self.pid);
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status().await;
        if tokio::time::timeout(grace, self.child.wait()).await.is_err() {
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status().await;
            let _ = self.child.wait().await;
        }
    }
}

/// Resident memory of a process and all its descendants, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    tree(pid).iter().filter_map(|p| status_kib(*p, "VmRSS:")).sum()
}

/// A process's own peak resident memory (`VmHWM`), in KiB.
pub fn peak_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// A field of `/proc/<pid>/status` given in kB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The process and its descendants, found through each process's parent in `/proc/<pid>/stat`.
fn tree(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // The parent is the second field after the command name, which is in parentheses.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parents.push((pid, ppid));
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while let Some(&pid) = found.get(i) {
        found.extend(parents.iter().filter(|(_, p)| *p == pid).map(|(c, _)| *c));
        i += 1;
    }
    found
}

/// Polls `url` until it answers 200, for at most `wait`.
pub async fn wait_ready(client: &reqwest::Client, url: &str, wait: Duration) -> Result<()> {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        let answered = client
            .get(url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok();
        if answered == Some(200) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!("{url} did not answer 200 within {wait:?}")
}

/// A free loopback port (for a server that cannot be told to pick one and report it).
pub fn free_port() -> Result<u16> {
    let socket = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(socket.local_addr()?.port())
}
