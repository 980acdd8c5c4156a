//! Sandboxes for agentic evaluation: the place where a model's tool calls (`bash`, `python`) and a challenge's
//! services run, isolated from the machine and from each other.
//!
//! - [`Driver`] starts a [`Sandbox`] from a [`SandboxSpec`] (limits, files to place, a setup script); a running
//!   sandbox executes commands, reads and writes files, starts background services, and stops. The traits are
//!   the seam for other drivers: a Kubernetes or container driver implements the same two traits (a pod or a
//!   container per sandbox, `exec` through its API) and the runner does not change.
//! - [`bwrap::BwrapDriver`] is the single-machine driver, built on bubblewrap. Its module docs say what it
//!   isolates and what it does not.
//! - [`agent`] is the tiny program that is each bubblewrap sandbox's first process: it reads requests as JSON
//!   lines on stdin and runs them inside. The binary exposes it as the hidden `prelaunch sandbox-agent`.
//! - [`pool::Pool`] starts sandboxes with a concurrency that ramps up while start-ups are fast and backs off
//!   when they fail or slow down.
//! - [`flag::Flag`] is a fresh capture-the-flag flag per sample, placed where the challenge asks.
//!
//! No HTTP, no SQL: processes and files only.

pub mod agent;
pub mod bwrap;
mod error;
pub mod flag;
pub mod pool;
mod procs;
mod protocol;
mod spec;

pub use error::Error;
pub use procs::processes_of_uid;
pub use spec::{Exec, ExecOutput, FileContents, Limits, PlacedFile, SandboxSpec, Service};

use async_trait::async_trait;

/// Starts sandboxes. One driver serves many sandboxes at once; it is cheap to share behind an `Arc`.
#[async_trait]
pub trait Driver: Send + Sync {
    /// A short name for logs and reports ("bubblewrap").
    fn name(&self) -> &'static str;

    /// Starts a sandbox: creates it, places `spec.files`, runs `spec.setup`, and returns it running. When any
    /// step fails, whatever was started is stopped and removed before the error is returned: a failed start
    /// leaves nothing behind.
    async fn start(&self, spec: SandboxSpec) -> Result<Box<dyn Sandbox>, Error>;
}

/// A running sandbox. Operations on one sandbox run one at a time, in the order they are called.
///
/// Stopping is idempotent, and dropping a sandbox that was not stopped stops it too (the bubblewrap driver
/// cleans up within the drop, blocking briefly, so that a runtime ending at the same time leaks nothing).
#[async_trait]
pub trait Sandbox: Send + Sync {
    /// This sandbox's id, unique on the machine while it runs.
    fn id(&self) -> &str;

    /// Runs a command and waits for it, up to its timeout (the command's process group is then killed and the
    /// output so far returned with `timed_out`). Captured output is bounded by `exec.max_output` per stream.
    async fn exec(&self, exec: Exec) -> Result<ExecOutput, Error>;

    /// Writes a file (creating its parent directories). A relative path is relative to the work directory.
    async fn write_file(&self, path: &str, contents: &[u8]) -> Result<(), Error>;

    /// Reads at most `max_bytes` of a file; `truncated` says whether there was more.
    async fn read_file(&self, path: &str, max_bytes: usize) -> Result<FileContents, Error>;

    /// Starts a background service (for example a vulnerable web application on 127.0.0.1) that lives until
    /// the sandbox stops; when `service.ready_port` is set, waits until it accepts connections there.
    async fn start_service(&self, service: Service) -> Result<(), Error>;

    /// Kills every process of the sandbox and removes its work directory. Idempotent.
    async fn stop(&self) -> Result<(), Error>;
}
