//! The server's suite catalogue: the task files under the directory the operator points the server at
//! (`--suites-dir`), each a suite named by its path there without `.toml` (`examples/ctf` is
//! `examples/ctf.toml`). Loaded and checked once when the service starts: a suite with problems is logged and
//! left out, never fatal. A run names a suite instead of posting its task and dataset; it records the suite and
//! the digest of the files the task reads (the task file and its dataset, a file or a directory of challenges),
//! and every batch loads the suite again from disk and refuses when the digest differs, so a run's results
//! always come from the files it started with.

use evals::load::{self, LoadedTask};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The most suites a catalogue holds, the deepest a task file may lie, and the most bytes a suite's files
/// may hold together (what the digest reads).
const MAX_SUITES: usize = 500;
const MAX_DEPTH: usize = 6;
const MAX_SUITE_BYTES: u64 = 256 * 1024 * 1024;

/// One task of a suite, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteTaskView {
    pub name: String,
    /// The solver's kind: `generate`, `prompt`, `chain_of_thought`, `multiple_choice`, `agent`.
    pub kind: String,
    pub samples: usize,
}

/// A suite, as `GET /api/v1/eval-suites` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteView {
    pub name: String,
    /// `agent` when a task runs in a sandbox (on a worker that has one), `model` otherwise.
    pub kind: &'static str,
    pub tasks: Vec<SuiteTaskView>,
    pub samples: usize,
    /// `sha256:` and the hex digest of the files its tasks read.
    pub digest: String,
}

/// A suite loaded from disk.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    pub file: PathBuf,
    pub text: String,
    pub tasks: Vec<LoadedTask>,
    pub digest: String,
}

impl Suite {
    /// Loads the suite `name` under `root` from disk, with its digest.
    pub fn load(root: &Path, name: &str) -> Result<Suite, String> {
        if name.is_empty()
            || name.len() > 200
            || name
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == ".." || part.starts_with('.'))
        {
            return Err(format!("{name:?} is not a suite's name"));
        }
        let file = root.join(format!("{name}.toml"));
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let tasks = load::load(&file, &load::Defaults::default()).map_err(|problems| {
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let mut paths = vec![file.clone()];
        for task in &tasks {
            paths.push(task.spec.dataset_path(&file));
        }
        let digest = digest(&paths)?;
        Ok(Suite {
            name: name.to_owned(),
            file,
            text,
            tasks,
            digest,
        })
    }

    /// Whether a task of the suite runs in a sandbox.
    pub fn needs_sandbox(&self) -> bool {
        self.tasks.iter().any(needs_sandbox)
    }

    pub fn view(&self) -> SuiteView {
        let tasks: Vec<SuiteTaskView> = self
            .tasks
            .iter()
            .map(|t| SuiteTaskView {
                name: t.spec.name.clone(),
                kind: serde_json::to_value(&t.spec.solver)
                    .ok()
                    .and_then(|v| v.get("type").and_then(|k| k.as_str()).map(str::to_owned))
                    .unwrap_or_default(),
                samples: t.samples.len(),
            })
            .collect();
        SuiteView {
            name: self.name.clone(),
            kind: if self.needs_sandbox() { "agent" } else { "model" },
            samples: tasks.iter().map(|t| t.samples).sum(),
            tasks,
            digest: self.digest.clone(),
        }
    }
}

/// Whether a task's samples run in a sandbox: an agent's do, and so do samples that bring files or a setup.
pub fn needs_sandbox(task: &LoadedTask) -> bool {
    matches!(task.spec.solver, evals::task::SolverSpec::Agent { .. })
        || task
            .samples
            .iter()
            .any(|s| s.files.as_ref().is_some_and(|f| !f.is_empty()) || s.setup.is_some())
}

/// The suites found under a directory, loaded once.
#[derive(Debug, Default)]
pub struct Catalogue {
    pub root: Option<PathBuf>,
    pub suites: Vec<Suite>,
}

impl Catalogue {
    /// Every task file under `root`, each loaded and checked; a suite with problems is logged and left out.
    pub fn load(root: Option<&Path>) -> Catalogue {
        let Some(root) = root else {
            return Catalogue::default();
        };
        let mut files = Vec::new();
        find_task_files(root, root, 0, &mut files);
        files.sort();
        if files.len() > MAX_SUITES {
            tracing::warn!(dir = %root.display(), found = files.len(), kept = MAX_SUITES, "too many suites; the first are kept");
            files.truncate(MAX_SUITES);
        }
        let mut suites = Vec::new();
        for name in files {
            match Suite::load(root, &name) {
                Ok(suite) => suites.push(suite),
                Err(problem) => {
                    tracing::warn!(suite = %name, problem = %problem, "a suite with problems is left out");
                }
            }
        }
        tracing::info!(dir = %root.display(), suites = suites.len(), "loaded the evaluation suites");
        Catalogue {
            root: Some(root.to_path_buf()),
            suites,
        }
    }

    pub fn get(&self, name: &str) -> Option<&Suite> {
        self.suites.iter().find(|s| s.name == name)
    }
}

/// The names (paths without `.toml`, with `/`) of the task files under `dir`.
fn find_task_files(root: &Path, dir: &Path, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let Ok(kind) = entry.file_type() else { continue };
        if hidden {
            continue;
        }
        if kind.is_dir() {
            find_task_files(root, &path, depth + 1, out);
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "toml") {
            let name = path
                .strip_prefix(root)
                .ok()
                .map(|p| p.with_extension(""))
                .and_then(|p| {
                    p.components()
                        .map(|c| c.as_os_str().to_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                });
            if let Some(parts) = name {
                out.push(parts.join("/"));
            }
        }
    }
}

/// `sha256:<hex>` over every file at or under `paths` (directories walked in name order): each file's path
/// relative to its root, its length and its bytes, so renaming, adding or removing a file changes it too.
pub fn digest(paths: &[PathBuf]) -> Result<String, String> {
    let mut hash = Sha256::new();
    let mut total = 0u64;
    for root in paths {
        let mut files = Vec::new();
        walk(root, 0, &mut files)?;
        files.sort();
        hash.update(root.as_os_str().len().to_le_bytes());
        for file in files {
            let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            total = total.saturating_add(bytes.len() as u64);
            if total > MAX_SUITE_BYTES {
                return Err(format!(
                    "the suite's files are larger than {} MiB",
                    MAX_SUITE_BYTES >> 20
                ));
            }
            let rel = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .to_string_lossy()
                .into_owned();
            hash.update((rel.len() as u64).to_le_bytes());
            hash.update(rel.as_bytes());
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(&bytes);
        }
    }
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("sha256:{hex}"))
}

fn walk(path: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    if !meta.is_dir() || depth > MAX_DEPTH {
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    for entry in entries.flatten() {
        walk(&entry.path(), depth + 1, out)?;
    }
    Ok(())
}

impl crate::App {
    /// The server's suite catalogue, for evaluation agencies.
    pub fn list_eval_suites(&self, caller: &crate::Caller) -> crate::AppResult<Vec<SuiteView>> {
        if !crate::policy::can_list_eval_suites(caller) {
            return Err(crate::AppError::Forbidden(
                "the suite catalogue is for evaluation agencies",
            ));
        }
        Ok(self.suites.suites.iter().map(Suite::view).collect())
    }
}
