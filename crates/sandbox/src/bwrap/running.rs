//! A running bubblewrap sandbox: its operations, each a request to its agent.

use super::lifecycle::{ConnError, Shared, StopReason};
use super::{AGENT_MARGIN, FILE_OP_TIMEOUT, WORKDIR};
use crate::procs;
use crate::protocol::{self, Request, Response};
use crate::spec::{DEFAULT_SETUP_TIMEOUT, DEFAULT_START_TIMEOUT, MAX_OUTPUT_BYTES};
use crate::{Error, Exec, ExecOutput, FileContents, Sandbox, SandboxSpec, Service};
use async_trait::async_trait;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A running bubblewrap sandbox.
pub struct BwrapSandbox {
    pub(super) shared: Arc<Shared>,
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

    pub(super) async fn bring_up(&self, spec: &SandboxSpec) -> Result<(), Error> {
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
    /// Cleans up at once, blocking briefly (tens of milliseconds, two seconds at most): the runtime may be
    /// ending too (a test that panicked), so nothing here may depend on a task running later. Only what is
    /// still left after that (a process that would not die, a directory that could not be removed) is left
    /// to the ordinary shutdown on a task, when a runtime is there to run it.
    fn drop(&mut self) {
        let shared = &self.shared;
        if shared.cleaned.try_lock().is_ok_and(|done| *done) {
            return;
        }
        shared.mark_stopped(StopReason::Dropped);
        let uid = shared.uid.0;
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        let others_left = || {
            procs::processes_of_uid(uid)
                .iter()
                .any(|&pid| Some(pid) != shared.outer_pid)
        };
        // Everything but bubblewrap first (see `Shared::shutdown`), then bubblewrap, reaped here.
        procs::kill_uid(uid, shared.outer_pid);
        while others_left() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            procs::kill_uid(uid, shared.outer_pid);
        }
        if let Ok(mut conn) = shared.conn.try_lock() {
            if let Some(live) = conn.as_mut() {
                let _ = live.child.start_kill();
                while matches!(live.child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            *conn = None;
        }
        let removed = std::fs::remove_dir_all(&shared.dir).is_ok() || !shared.dir.exists();
        if removed && procs::processes_of_uid(uid).is_empty() {
            if let Ok(mut cleaned) = shared.cleaned.try_lock() {
                *cleaned = true;
            }
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shared = Arc::clone(shared);
            runtime.spawn(async move {
                let _ = shared.shutdown(StopReason::Dropped).await;
            });
        }
    }
}
