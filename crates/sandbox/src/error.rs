//! What can go wrong, each case named for what failed.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `bwrap` program was not found.
    #[error("bubblewrap is not installed (no `bwrap` on PATH; apt-get install bubblewrap)")]
    BwrapMissing,
    /// The `prlimit` program (util-linux), which sets the resource limits, was not found.
    #[error("prlimit is not installed (no `prlimit` on PATH; it is part of util-linux)")]
    PrlimitMissing,
    /// The bubblewrap driver gives each sandbox its own uid, which needs root.
    #[error("the bubblewrap driver must run as root, to run each sandbox as its own unprivileged uid")]
    NotRoot,
    /// The agent executable (normally this program itself) is not usable.
    #[error("the sandbox agent {path} cannot be used: {reason}")]
    Agent { path: String, reason: String },
    /// A spec, command or path was malformed; `field` names it.
    #[error("{field}: {message}")]
    Spec { field: String, message: String },
    /// The sandbox did not come up in time; `detail` holds what bubblewrap said, if anything.
    #[error("the sandbox did not start within {} s: {detail}", .after.as_secs())]
    StartTimeout { after: Duration, detail: String },
    /// The sandbox exited or broke while starting.
    #[error("the sandbox failed to start: {0}")]
    StartFailed(String),
    /// The setup script exited non-zero or ran out of time.
    #[error("the setup script failed ({status}): {stderr}")]
    SetupFailed { status: String, stderr: String },
    /// The sandbox was stopped (or dropped) before or during this operation.
    #[error("the sandbox is stopped")]
    Stopped,
    /// The sandbox reached its wall-time limit and was stopped.
    #[error("the sandbox reached its wall-time limit of {} s and was stopped", .0.as_secs())]
    WallTime(Duration),
    /// The agent of a running sandbox exited (or was killed from inside); the sandbox was stopped.
    #[error("the sandbox's agent exited{}; the sandbox was stopped", if .0.is_empty() { String::new() } else { format!(": {}", .0) })]
    AgentExited(String),
    /// The agent did not answer in time; the sandbox was stopped.
    #[error("the sandbox agent did not answer within {} s; the sandbox was stopped", .0.as_secs())]
    AgentTimeout(Duration),
    /// The agent's answer broke the protocol (it runs as the sandbox's uid, so its answers are not trusted);
    /// the sandbox was stopped.
    #[error("the sandbox agent broke the protocol: {0}; the sandbox was stopped")]
    Protocol(String),
    /// An operation failed inside the sandbox (a missing file, a program that does not exist, …).
    #[error("{op} failed in the sandbox: {message}")]
    Remote { op: &'static str, message: String },
    /// Processes of a stopped sandbox were still alive after they were killed.
    #[error("{count} process(es) of sandbox {id} survived being killed")]
    Survivors { id: String, count: usize },
    /// A local file or process operation failed.
    #[error("could not {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The start-up pool was closed.
    #[error("the sandbox pool is closed")]
    PoolClosed,
}

impl Error {
    pub(crate) fn spec(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Spec {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }

    /// Whether this error is the sandbox's start failing (as opposed to a bad spec or a missing program):
    /// what the start-up ramp backs off on.
    pub fn is_start_failure(&self) -> bool {
        matches!(
            self,
            Self::StartTimeout { .. } | Self::StartFailed(_) | Self::Io { .. } | Self::Survivors { .. }
        )
    }
}
