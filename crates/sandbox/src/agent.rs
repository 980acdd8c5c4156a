//! The sandbox agent: the first process inside each bubblewrap sandbox (`prelaunch sandbox-agent`).
//!
//! Bubblewrap cannot enter a sandbox that is already running, so the driver keeps a process inside that runs
//! requests for it: this agent reads one JSON request per line on stdin and writes one answer per line on
//! stdout (see `protocol.rs`). It is small and has one job: run commands (each under the sandbox's resource
//! limits, through `prlimit`), write and read files, and start services. It holds no secret and knows nothing
//! of the evaluation; the driver treats its answers as untrusted.
//!
//! The agent marks itself non-dumpable, so the sandboxed code, which runs as the same uid, can neither trace
//! it nor open its pipes through /proc to inject requests.

use crate::protocol::{self, MAX_REQUEST_LINE, Request, Response, read_line_bounded, to_line};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// How long output is still collected after a command exits, for what background processes it left behind
/// and that still hold its pipes open (`server &`): their later output is not waited for.
const EXIT_GRACE: Duration = Duration::from_millis(250);
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs the agent on this process's stdin and stdout until stdin ends. A single-threaded runtime: the agent
/// counts against the sandbox's process limit like everything else in it.
pub fn run() -> std::io::Result<()> {
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(tokio::io::stdin(), tokio::io::stdout()))
}

/// What `Init` told the agent.
struct Config {
    workdir: PathBuf,
    env: Vec<(String, String)>,
    limits: Vec<String>,
}

impl Config {
    fn resolve(&self, path: &str) -> PathBuf {
        self.workdir.join(path)
    }

    /// `argv` under the sandbox's limits, with the sandbox's environment.
    fn command(&self, argv: &[String], cwd: Option<&str>, env: &[(String, String)]) -> Command {
        let mut command = Command::new("prlimit");
        command
            .args(&self.limits)
            .arg("--")
            .args(argv)
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", &self.workdir)
            .env("LANG", "C.UTF-8")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(cwd.map_or_else(|| self.workdir.clone(), |c| self.resolve(c)))
            // Its own process group, so a timeout kills what it started too.
            .process_group(0);
        command
    }
}

async fn serve<R, W>(input: R, mut output: W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut input = BufReader::new(input);
    let Some(line) = read_line_bounded(&mut input, MAX_REQUEST_LINE).await? else {
        return Ok(());
    };
    let config = match serde_json::from_slice(&line) {
        Ok(Request::Init {
            workdir,
            env,
            cpu_seconds,
            memory_bytes,
            processes,
        }) => Config {
            workdir: PathBuf::from(workdir),
            env,
            limits: vec![
                format!("--cpu={cpu_seconds}"),
                format!("--as={memory_bytes}"),
                format!("--nproc={processes}"),
                "--core=0".to_owned(),
            ],
        },
        _ => {
            let failed = Response::Failed {
                message: "the first request must be init".into(),
            };
            output.write_all(&to_line(&failed)).await?;
            return output.flush().await;
        }
    };
    let ready = Response::Ready {
        version: protocol::VERSION,
    };
    output.write_all(&to_line(&ready)).await?;
    output.flush().await?;
    while let Some(line) = read_line_bounded(&mut input, MAX_REQUEST_LINE).await? {
        let answer = match serde_json::from_slice(&line) {
            Ok(request) => handle(&config, request).await,
            Err(e) => Response::Failed {
                message: format!("bad request: {e}"),
            },
        };
        output.write_all(&to_line(&answer)).await?;
        output.flush().await?;
    }
    Ok(())
}

async fn handle(config: &Config, request: Request) -> Response {
    match request {
        Request::Init { .. } => failed("init was already done"),
        Request::Exec {
            argv,
            stdin,
            cwd,
            env,
            timeout_ms,
            max_output,
        } => {
            let stdin = match stdin.as_deref().map(protocol::decode).transpose() {
                Ok(stdin) => stdin,
                Err(e) => return failed(format!("bad stdin: {e}")),
            };
            let command = config.command(&argv, cwd.as_deref(), &env);
            exec(command, stdin, Duration::from_millis(timeout_ms), max_output).await
        }
        Request::Write { path, data, mode } => match protocol::decode(&data) {
            Ok(bytes) => write_file(&config.resolve(&path), &bytes, mode.unwrap_or(0o644))
                .map_or_else(|e| failed(format!("{path}: {e}")), |()| Response::Written),
            Err(e) => failed(format!("bad data: {e}")),
        },
        Request::Read { path, max_bytes } => match read_file(&config.resolve(&path), max_bytes) {
            Ok((bytes, truncated)) => Response::File {
                data: protocol::encode(&bytes),
                truncated,
            },
            Err(e) => failed(format!("{path}: {e}")),
        },
        Request::Service {
            argv,
            cwd,
            env,
            ready_port,
            ready_timeout_ms,
        } => {
            let mut command = config.command(&argv, cwd.as_deref(), &env);
            command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let timeout = Duration::from_millis(ready_timeout_ms);
            start_service(command, ready_port, timeout).await
        }
    }
}

fn failed(message: impl Into<String>) -> Response {
    Response::Failed {
        message: message.into(),
    }
}

async fn exec(
    mut command: Command,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    max_output: usize,
) -> Response {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let deadline = Instant::now() + timeout;
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return failed(format!("could not start prlimit: {e}")),
    };
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A command that does not read its input must not block the agent: write from a task, and give up
        // when the command closes its end.
        tokio::spawn(async move {
            let _ = pipe.write_all(&bytes).await;
        });
    }
    let stdout = Capture::start(child.stdout.take(), max_output);
    let stderr = Capture::start(child.stderr.take(), max_output);
    let (status, timed_out) = match tokio::time::timeout_at(deadline, child.wait()).await {
        Ok(Ok(status)) => (Some(status), false),
        Ok(Err(e)) => {
            kill_group(&mut child);
            return failed(format!("could not wait for the command: {e}"));
        }
        Err(_) => {
            kill_group(&mut child);
            let status = tokio::time::timeout(Duration::from_secs(1), child.wait())
                .await
                .ok()
                .and_then(Result::ok);
            (status, true)
        }
    };
    let (stdout, stdout_truncated) = stdout.finish().await;
    let (stderr, stderr_truncated) = stderr.finish().await;
    use std::os::unix::process::ExitStatusExt as _;
    Response::Exited {
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        stdout: protocol::encode(&stdout),
        stderr: protocol::encode(&stderr),
        stdout_truncated,
        stderr_truncated,
        timed_out,
    }
}

/// SIGKILL to a command's process group (it leads its own), then to the command itself in case it left it.
fn kill_group(child: &mut Child) {
    if let Some(pid) = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.start_kill();
}

/// Reads a pipe to its end, keeping the first `max` bytes and dropping the rest.
struct Capture {
    kept: Arc<Mutex<(Vec<u8>, bool)>>,
    task: tokio::task::JoinHandle<()>,
}

impl Capture {
    fn start<R: AsyncRead + Unpin + Send + 'static>(pipe: Option<R>, max: usize) -> Self {
        let kept = Arc::new(Mutex::new((Vec::new(), false)));
        let sink = Arc::clone(&kept);
        let task = tokio::spawn(async move {
            let Some(mut pipe) = pipe else { return };
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match pipe.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let mut kept = sink.lock().unwrap_or_else(PoisonError::into_inner);
                let room = max.saturating_sub(kept.0.len());
                let take = n.min(room);
                kept.0.extend_from_slice(buf.get(..take).unwrap_or_default());
                if take < n {
                    kept.1 = true;
                }
            }
        });
        Self { kept, task }
    }

    /// What was read: waits a moment for the end of the pipe, then stops reading.
    async fn finish(mut self) -> (Vec<u8>, bool) {
        let _ = tokio::time::timeout(EXIT_GRACE, &mut self.task).await;
        self.task.abort();
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        (std::mem::take(&mut kept.0), kept.1)
    }
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn read_file(path: &Path, max: usize) -> std::io::Result<(Vec<u8>, bool)> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)?;
    let truncated = bytes.len() > max;
    bytes.truncate(max);
    Ok((bytes, truncated))
}

async fn start_service(mut command: Command, ready_port: Option<u16>, timeout: Duration) -> Response {
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return failed(format!("could not start prlimit: {e}")),
    };
    let pid = child.id().unwrap_or_default();
    let Some(port) = ready_port else {
        return Response::Started { pid };
    };
    let deadline = Instant::now() + timeout;
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Response::Started { pid };
        }
        if let Ok(Some(status)) = child.try_wait() {
            return failed(format!(
                "the service exited ({status}) before listening on port {port}"
            ));
        }
        if Instant::now() >= deadline {
            kill_group(&mut child);
            return failed(format!(
                "the service did not listen on 127.0.0.1:{port} within {} s",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
