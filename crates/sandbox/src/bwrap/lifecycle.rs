//! The plumbing of a running sandbox: the pipe to its agent, bubblewrap's last words, the wall-time watchdog,
//! and the shutdown that every way of ending (stop, drop, wall time, failed start, a broken agent) goes through.

use super::uid::UidLease;
use super::{STDERR_TAIL, STOP_TIMEOUT};
use crate::Error;
use crate::procs::{self, processes_of_uid};
use crate::protocol::{self, Request, Response, read_line_bounded, to_line};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::time::Instant;

/// The last few KiB bubblewrap (and the agent) wrote to standard error.
pub(super) struct StderrTail(Arc<Mutex<Vec<u8>>>);

impl StderrTail {
    pub(super) fn start(pipe: Option<tokio::process::ChildStderr>) -> Self {
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

    pub(super) fn text(&self) -> String {
        let tail = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&tail).trim().to_owned()
    }
}

/// The pipe to the agent and the bubblewrap process behind it.
pub(super) struct Conn {
    pub(super) stdin: ChildStdin,
    pub(super) stdout: BufReader<ChildStdout>,
    pub(super) child: Child,
}

pub(super) enum ConnError {
    /// The agent is gone (the pipe closed or broke).
    Closed,
    /// The agent said something that is not an answer.
    Invalid(String),
}

impl Conn {
    pub(super) async fn round_trip(
        &mut self,
        request: &Request,
        max_line: usize,
    ) -> Result<Response, ConnError> {
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
pub(super) enum StopReason {
    Stopped,
    Dropped,
    WallTime,
    FailedStart,
    Broken,
}

/// What the sandbox handle, its watchdog and its drop share.
pub(super) struct Shared {
    pub(super) id: String,
    pub(super) uid: UidLease,
    pub(super) dir: PathBuf,
    /// The bubblewrap process we started (outside the sandbox's PID namespace).
    pub(super) outer_pid: Option<u32>,
    pub(super) wall_time: Duration,
    /// Held for the length of one request: requests run one at a time.
    pub(super) conn: tokio::sync::Mutex<Option<Conn>>,
    /// Why the sandbox stopped, once it has; the first reason wins.
    pub(super) stop: Mutex<Option<StopReason>>,
    /// Held while cleaning up; true once done.
    pub(super) cleaned: tokio::sync::Mutex<bool>,
    pub(super) watchdog: Mutex<Option<tokio::task::JoinHandle<()>>>,
    pub(super) stderr: StderrTail,
}

/// Stops the sandbox when its wall time runs out (unless it is gone by then).
pub(super) async fn watch(shared: Weak<Shared>, wall_time: Duration) {
    tokio::time::sleep(wall_time).await;
    if let Some(shared) = shared.upgrade() {
        let _ = shared.shutdown(StopReason::WallTime).await;
    }
}

impl Shared {
    pub(super) fn stop_reason(&self) -> Option<StopReason> {
        *self.stop.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn mark_stopped(&self, reason: StopReason) {
        self.stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(reason);
    }

    /// The error an operation on a stopped sandbox gets.
    pub(super) fn stopped_error(&self) -> Error {
        match self.stop_reason() {
            Some(StopReason::WallTime) => Error::WallTime(self.wall_time),
            _ => Error::Stopped,
        }
    }

    /// One request and its answer, within `timeout`. A sandbox whose agent is gone, hangs or talks nonsense
    /// is stopped.
    pub(super) async fn request(
        &self,
        request: &Request,
        payload: usize,
        timeout: Duration,
    ) -> Result<Response, Error> {
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
            Ok(Err(ConnError::Closed)) => Error::AgentExited(self.stderr.text()),
            Ok(Err(ConnError::Invalid(why))) => Error::Protocol(why),
            Err(_) => Error::AgentTimeout(timeout),
        };
        self.shutdown(StopReason::Broken).await?;
        Err(error)
    }

    /// Kills every process of the sandbox, reaps bubblewrap, waits until /proc shows none left and removes
    /// the directory. Safe to call any number of times, from anywhere.
    pub(super) async fn shutdown(&self, reason: StopReason) -> Result<(), Error> {
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
            self.uid.keep_forever();
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
pub(super) async fn remove_dir(dir: &Path) -> Result<(), Error> {
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
