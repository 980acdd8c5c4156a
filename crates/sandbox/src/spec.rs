//! What a sandbox is started from, and what its operations take and give back.

use crate::Error;
use std::collections::BTreeMap;
use std::time::Duration;

/// Resource limits of one sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// CPU seconds each process may use (it is killed past them).
    pub cpu_seconds: u64,
    /// Address space each process may map, in bytes (allocations past it fail).
    pub memory_bytes: u64,
    /// Processes and threads the sandbox may have at once, its own agent included.
    pub processes: u32,
    /// How long the sandbox may live; it is stopped when this runs out.
    pub wall_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            cpu_seconds: 60,
            memory_bytes: 2 << 30,
            processes: 256,
            wall_time: Duration::from_secs(30 * 60),
        }
    }
}

/// Bounds on limits, so a typo cannot ask for a sandbox that cannot start or one without limits.
const MIN_PROCESSES: u32 = 16;
const MAX_PROCESSES: u32 = 65_536;
const MIN_MEMORY: u64 = 32 << 20;

impl Limits {
    fn validate(&self) -> Result<(), Error> {
        if self.cpu_seconds == 0 {
            return Err(Error::spec("limits.cpu_seconds", "must be at least 1"));
        }
        if self.memory_bytes < MIN_MEMORY {
            return Err(Error::spec("limits.memory_bytes", "must be at least 32 MiB"));
        }
        if !(MIN_PROCESSES..=MAX_PROCESSES).contains(&self.processes) {
            return Err(Error::spec(
                "limits.processes",
                format!("must be between {MIN_PROCESSES} and {MAX_PROCESSES}"),
            ));
        }
        if self.wall_time.is_zero() {
            return Err(Error::spec("limits.wall_time", "must be positive"));
        }
        Ok(())
    }
}

/// A file placed in the sandbox before its setup script runs.
#[derive(Clone, PartialEq, Eq)]
pub struct PlacedFile {
    /// Where: relative to the work directory, or absolute (under a writable directory: the work directory or
    /// `/tmp`).
    pub path: String,
    pub contents: Vec<u8>,
    /// Permission bits; 0o644 when not given.
    pub mode: Option<u32>,
}

impl std::fmt::Debug for PlacedFile {
    // Contents may hold a flag: leave them out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlacedFile")
            .field("path", &self.path)
            .field("bytes", &self.contents.len())
            .field("mode", &self.mode)
            .finish()
    }
}

/// Everything a sandbox is started from.
#[derive(Clone, Default)]
pub struct SandboxSpec {
    pub limits: Limits,
    /// Files placed before the setup script runs.
    pub files: Vec<PlacedFile>,
    /// Environment variables every command in the sandbox sees (the setup script and services included).
    pub env: BTreeMap<String, String>,
    /// A shell script (`sh -c`) run in the work directory after the files are placed and before the sandbox is
    /// handed over; a non-zero exit fails the start.
    pub setup: Option<String>,
    /// How long the setup script may run; one minute when not given.
    pub setup_timeout: Option<Duration>,
    /// How long the sandbox may take to come up (before setup); ten seconds when not given.
    pub start_timeout: Option<Duration>,
}

impl std::fmt::Debug for SandboxSpec {
    // Environment values and the setup script may hold a flag: show only their shape.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxSpec")
            .field("limits", &self.limits)
            .field("files", &self.files)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("setup", &self.setup.as_ref().map(|s| s.len()))
            .finish()
    }
}

pub(crate) const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_SETUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Bounds on what one request may carry, so one sample cannot exhaust the host through the sandbox's API.
pub(crate) const MAX_FILE_BYTES: usize = 32 << 20;
pub(crate) const MAX_OUTPUT_BYTES: usize = 16 << 20;
pub(crate) const MAX_ARGS_BYTES: usize = 1 << 20;

impl SandboxSpec {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        self.limits.validate()?;
        for (i, file) in self.files.iter().enumerate() {
            validate_path(&file.path).map_err(|m| Error::spec(format!("files[{i}].path"), m))?;
            if file.contents.len() > MAX_FILE_BYTES {
                return Err(Error::spec(
                    format!("files[{i}].contents"),
                    "is larger than 32 MiB",
                ));
            }
        }
        for name in self.env.keys() {
            validate_env_name(name).map_err(|m| Error::spec(format!("env.{name}"), m))?;
        }
        let env_bytes: usize = self.env.iter().map(|(k, v)| k.len() + v.len()).sum();
        let setup_bytes = self.setup.as_ref().map_or(0, String::len);
        if env_bytes + setup_bytes > MAX_ARGS_BYTES {
            return Err(Error::spec("env", "with the setup script is larger than 1 MiB"));
        }
        Ok(())
    }
}

pub(crate) fn validate_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("is empty");
    }
    if path.len() > 4096 {
        return Err("is longer than 4096 bytes");
    }
    if path.contains('\0') {
        return Err("contains a NUL byte");
    }
    Ok(())
}

pub(crate) fn validate_env_name(name: &str) -> Result<(), &'static str> {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_ascii_alphabetic() => {}
        _ => return Err("must start with a letter or _"),
    }
    if chars.all(|c| c == '_' || c.is_ascii_alphanumeric()) && name.len() <= 256 {
        Ok(())
    } else {
        Err("may hold only letters, digits and _ (at most 256)")
    }
}

/// A command to run in a sandbox.
#[derive(Clone)]
pub struct Exec {
    /// The program and its arguments (looked up on `PATH`).
    pub argv: Vec<String>,
    /// Bytes written to its standard input, then closed; none (an empty stdin) when not given.
    pub stdin: Option<Vec<u8>>,
    /// Its working directory; the work directory when not given.
    pub cwd: Option<String>,
    /// Environment variables on top of the sandbox's.
    pub env: BTreeMap<String, String>,
    /// How long it may run before its process group is killed.
    pub timeout: Duration,
    /// How many bytes of standard output, and as many of standard error, are kept.
    pub max_output: usize,
}

impl Exec {
    /// `sh -c script`, with a 30 s timeout and 1 MiB of output per stream.
    pub fn shell(script: impl Into<String>) -> Self {
        Self {
            argv: vec!["sh".to_owned(), "-c".to_owned(), script.into()],
            stdin: None,
            cwd: None,
            env: BTreeMap::new(),
            timeout: Duration::from_secs(30),
            max_output: 1 << 20,
        }
    }

    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    #[must_use]
    pub fn max_output(mut self, bytes: usize) -> Self {
        self.max_output = bytes;
        self
    }

    #[must_use]
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.argv.is_empty() {
            return Err(Error::spec("argv", "is empty"));
        }
        let arg_bytes: usize = self.argv.iter().map(String::len).sum::<usize>()
            + self.env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if arg_bytes > MAX_ARGS_BYTES {
            return Err(Error::spec("argv", "with env is larger than 1 MiB"));
        }
        if self.stdin.as_ref().is_some_and(|s| s.len() > MAX_FILE_BYTES) {
            return Err(Error::spec("stdin", "is larger than 32 MiB"));
        }
        if self.max_output > MAX_OUTPUT_BYTES {
            return Err(Error::spec("max_output", "is larger than 16 MiB"));
        }
        if self.timeout.is_zero() {
            return Err(Error::spec("timeout", "must be positive"));
        }
        if let Some(cwd) = &self.cwd {
            validate_path(cwd).map_err(|m| Error::spec("cwd", m))?;
        }
        for name in self.env.keys() {
            validate_env_name(name).map_err(|m| Error::spec(format!("env.{name}"), m))?;
        }
        Ok(())
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit code, when it exited (rather than being killed by a signal).
    pub code: Option<i32>,
    /// The signal that killed it, when one did (9 for SIGKILL: its CPU limit, or its timeout).
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Whether standard output was longer than `max_output` (the rest was read and dropped).
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// Whether it ran out of time and was killed.
    pub timed_out: bool,
}

impl ExecOutput {
    /// Exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Standard output as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A bounded read of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContents {
    pub contents: Vec<u8>,
    /// Whether the file was longer than what was read.
    pub truncated: bool,
}

/// A background service.
#[derive(Debug, Clone)]
pub struct Service {
    pub argv: Vec<String>,
    pub cwd: Option<String>,
    pub env: BTreeMap<String, String>,
    /// When set, `start_service` returns once 127.0.0.1:`ready_port` accepts a connection inside the sandbox.
    pub ready_port: Option<u16>,
    /// How long to wait for `ready_port`; ten seconds when not given.
    pub ready_timeout: Option<Duration>,
}

impl Service {
    /// A service from its program and arguments.
    pub fn new(argv: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            cwd: None,
            env: BTreeMap::new(),
            ready_port: None,
            ready_timeout: None,
        }
    }

    #[must_use]
    pub fn ready_on(mut self, port: u16) -> Self {
        self.ready_port = Some(port);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.argv.is_empty() {
            return Err(Error::spec("argv", "is empty"));
        }
        let arg_bytes: usize = self.argv.iter().map(String::len).sum::<usize>()
            + self.env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if arg_bytes > MAX_ARGS_BYTES {
            return Err(Error::spec("argv", "with env is larger than 1 MiB"));
        }
        for name in self.env.keys() {
            validate_env_name(name).map_err(|m| Error::spec(format!("env.{name}"), m))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked() {
        let ok = Limits::default();
        let cases: &[(Limits, Option<&str>)] = &[
            (ok.clone(), None),
            (
                Limits {
                    cpu_seconds: 0,
                    ..ok.clone()
                },
                Some("limits.cpu_seconds"),
            ),
            (
                Limits {
                    memory_bytes: 1 << 20,
                    ..ok.clone()
                },
                Some("limits.memory_bytes"),
            ),
            (
                Limits {
                    processes: 3,
                    ..ok.clone()
                },
                Some("limits.processes"),
            ),
            (
                Limits {
                    wall_time: Duration::ZERO,
                    ..ok.clone()
                },
                Some("limits.wall_time"),
            ),
        ];
        for (limits, field) in cases {
            let got = limits.validate().err().map(|e| match e {
                Error::Spec { field, .. } => field,
                other => panic!("{other}"),
            });
            assert_eq!(got.as_deref(), *field, "{limits:?}");
        }
    }

    #[test]
    fn env_names_are_checked() {
        for (name, ok) in [
            ("FLAG", true),
            ("_x1", true),
            ("1X", false),
            ("A-B", false),
            ("", false),
            ("A=B", false),
        ] {
            assert_eq!(validate_env_name(name).is_ok(), ok, "{name}");
        }
    }

    #[test]
    fn debug_leaves_out_contents_and_values() {
        let spec = SandboxSpec {
            files: vec![PlacedFile {
                path: "flag.txt".into(),
                contents: b"flag{secret}".to_vec(),
                mode: None,
            }],
            env: [("FLAG".to_owned(), "flag{secret}".to_owned())].into(),
            setup: Some("echo flag{secret}".into()),
            ..SandboxSpec::default()
        };
        let shown = format!("{spec:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("flag.txt") && shown.contains("FLAG"), "{shown}");
    }
}
