//! Samples that run in a sandbox: each sample's epoch gets its own, started through the adaptive [`Pool`], with
//! the sample's files placed, a fresh flag when the challenge asks for one (written into its setup script where
//! that says `__FLAG__`, so no later command finds it in its environment), and its setup script run; the agent's `bash` and `python` calls run inside it.
//! Dropping the prepared sample stops its sandbox.

use async_trait::async_trait;
use evals::load::SandboxedSample;
use evals::runner::{Environment, Prepared, WorkItem};
use evals::sample::{Sample, Target};
use evals::solve::{TOOL_OUTPUT_LIMIT, Tools};
use evals::task::Tool;
use sandbox::flag::{Flag, FlagPlacement};
use sandbox::pool::Pool;
use sandbox::{Exec, Limits, PlacedFile, Sandbox, SandboxSpec};
use std::path::Path;
use std::time::Duration;

/// A worker's sandboxes: the adaptive pool over its driver, the limits each sandbox gets and how long one tool
/// call may run. A worker with one runs agent batches (`eval.sandbox_batch`); one without leaves them queued.
#[derive(Clone)]
pub struct SandboxPool {
    pub pool: std::sync::Arc<Pool>,
    pub limits: Limits,
    pub tool_timeout: Duration,
}

impl std::fmt::Debug for SandboxPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxPool")
            .field("limits", &self.limits)
            .field("tool_timeout", &self.tool_timeout)
            .finish_non_exhaustive()
    }
}

/// The most a sample's placed files may hold together.
pub const FILES_LIMIT: u64 = 64 * 1024 * 1024;

/// Starts a sandbox per sample of one task.
pub struct Sandboxed<'a> {
    pub pool: &'a Pool,
    pub limits: Limits,
    /// How long one tool call may run.
    pub tool_timeout: Duration,
    /// Per sample (by position): where its files are and whether it wants a fresh flag.
    pub samples: &'a [SandboxedSample],
}

#[async_trait]
impl Environment for Sandboxed<'_> {
    async fn prepare(&self, sample: &Sample, item: WorkItem) -> Result<Prepared, String> {
        let place = self.samples.get(item.index);
        let dir = place.map(|p| p.dir.as_path());
        let mut spec = SandboxSpec {
            limits: self.limits.clone(),
            ..SandboxSpec::default()
        };
        let mut total = 0u64;
        for (dest, source) in sample.files.iter().flatten() {
            let contents = contents(dir, source, &mut total)?;
            spec.files.push(PlacedFile {
                path: dest.clone(),
                contents,
                mode: None,
            });
        }
        spec.setup = match &sample.setup {
            // A challenge names its setup script by path; a dataset gives the script itself.
            Some(setup) => Some(match dir.map(|d| d.join(setup)).filter(|p| p.is_file()) {
                Some(path) => std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read the setup script {}: {e}", path.display()))?,
                None => setup.clone(),
            }),
            None => None,
        };
        let target = if place.is_some_and(|p| p.fresh_flag) {
            let flag = Flag::generate();
            FlagPlacement::Setup {
                placeholder: evals::challenge::FLAG_PLACEHOLDER.into(),
            }
            .place(&flag, &mut spec)
            .map_err(|e| e.to_string())?;
            Target::One(flag.as_str().to_string())
        } else {
            sample.target.clone()
        };
        let sandbox = self.pool.start(spec).await.map_err(|e| e.to_string())?;
        Ok(Prepared {
            target,
            tools: Some(Box::new(SandboxTools {
                sandbox,
                timeout: self.tool_timeout,
            })),
        })
    }
}

/// A file's contents: the file `source` names in the sample's directory, or, when there is no such file, the
/// text itself (Inspect's datasets allow both).
fn contents(dir: Option<&Path>, source: &str, total: &mut u64) -> Result<Vec<u8>, String> {
    let path = dir.map(|d| d.join(source)).filter(|p| p.is_file());
    let bytes = match path {
        Some(path) => {
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if total.saturating_add(size) > FILES_LIMIT {
                return Err(format!(
                    "the sample's files are larger than {} MiB",
                    FILES_LIMIT >> 20
                ));
            }
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
        }
        None => source.as_bytes().to_vec(),
    };
    *total = total.saturating_add(bytes.len() as u64);
    if *total > FILES_LIMIT {
        return Err(format!(
            "the sample's files are larger than {} MiB",
            FILES_LIMIT >> 20
        ));
    }
    Ok(bytes)
}

/// An agent's tools, run in its sample's sandbox.
struct SandboxTools {
    sandbox: Box<dyn Sandbox>,
    timeout: Duration,
}

#[async_trait]
impl Tools for SandboxTools {
    async fn run(&self, tool: Tool, input: &str) -> String {
        let argv = match tool {
            Tool::Bash => vec!["bash".to_string(), "-c".into(), input.to_string()],
            Tool::Python => vec!["python3".to_string(), "-c".into(), input.to_string()],
            Tool::Submit => return "submit is not run in the sandbox".into(),
        };
        let exec = Exec {
            argv,
            ..Exec::shell("")
        }
        .timeout(self.timeout)
        .max_output(TOOL_OUTPUT_LIMIT);
        match self.sandbox.exec(exec).await {
            Ok(out) => {
                let mut text = out.stdout_text();
                text.push_str(&out.stderr_text());
                if out.timed_out {
                    text.push_str(&format!("\n[stopped after {} s]", self.timeout.as_secs()));
                } else if let Some(code) = out.code.filter(|c| *c != 0) {
                    text.push_str(&format!("\n[exit code {code}]"));
                }
                text
            }
            Err(e) => format!("the sandbox could not run it: {e}"),
        }
    }
}
