//! From a path a person gives to runnable tasks: a task file (`.toml`), a suite directory (every task file under
//! it), a challenge directory (every `eval.yaml` under it, one task), or a bare dataset (`.jsonl`, `.json`,
//! `.csv`: one generation scored by exact match unless told otherwise). A task file's `dataset` may itself name a
//! challenge directory.
//!
//! Loading checks everything and reports every problem found, each with its file and line; nothing is returned
//! unless all of it loads.

use crate::challenge;
use crate::dataset::{self, Format, Limits};
use crate::sample::Sample;
use crate::task::{ScorerSpec, SolverSpec, TaskFile};
use std::fmt;
use std::path::{Path, PathBuf};

/// A problem found while loading, with the file and line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl From<dataset::DatasetError> for Problem {
    fn from(e: dataset::DatasetError) -> Self {
        Problem {
            file: e.file,
            line: e.line,
            message: e.message,
        }
    }
}

impl From<challenge::ChallengeProblem> for Problem {
    fn from(p: challenge::ChallengeProblem) -> Self {
        Problem {
            file: p.file,
            line: p.line,
            message: p.message,
        }
    }
}

/// A task ready to run: its definition and its samples in dataset order.
#[derive(Debug, Clone)]
pub struct LoadedTask {
    pub spec: TaskFile,
    /// Where the task came from (the task file, the dataset or the challenge directory).
    pub source: PathBuf,
    pub samples: Vec<Sample>,
    /// Per sample (parallel to `samples`): the directory its files and setup are relative to, and whether it
    /// asks for a fresh flag. Empty for datasets without files.
    pub sandboxed: Vec<SandboxedSample>,
}

/// What the sandbox needs to know about a sample beyond the sample itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxedSample {
    pub dir: PathBuf,
    pub fresh_flag: bool,
}

/// What a bare dataset runs with when the person does not say.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub solver: Option<SolverSpec>,
    pub scorer: Option<ScorerSpec>,
}

/// Loads the tasks at `path`.
pub fn load(path: &Path, defaults: &Defaults) -> Result<Vec<LoadedTask>, Vec<Problem>> {
    let problem = |message: String| {
        vec![Problem {
            file: path.to_path_buf(),
            line: None,
            message,
        }]
    };
    let meta = std::fs::metadata(path).map_err(|e| problem(format!("cannot read: {e}")))?;
    if meta.is_dir() {
        let task_files = find(path, |p| p.extension().is_some_and(|e| e == "toml"))
            .map_err(|e| problem(format!("cannot read the directory: {e}")))?;
        if !task_files.is_empty() {
            return collect(task_files.iter().map(|f| task_file(f)));
        }
        let challenges =
            challenge::discover(path).map_err(|e| problem(format!("cannot read the directory: {e}")))?;
        if challenges.is_empty() {
            return Err(problem(
                "no task files (.toml) and no challenges (eval.yaml) here".into(),
            ));
        }
        return challenge_task(path, defaults).map(|t| vec![t]);
    }
    if path.extension().is_some_and(|e| e == "toml") {
        return task_file(path).map(|t| vec![t]);
    }
    if path
        .file_name()
        .is_some_and(|n| challenge::FILE_NAMES.iter().any(|f| n == *f))
    {
        let dir = path.parent().unwrap_or(Path::new("."));
        return challenge_task(dir, defaults).map(|t| vec![t]);
    }
    if Format::of(path).is_none() {
        return Err(problem(
            "not a task: give a task file (.toml), a suite or challenge directory, or a dataset (.jsonl, .json, .csv)"
                .into(),
        ));
    }
    let samples = dataset::read(path, Limits::default()).map_err(|e| vec![Problem::from(e)])?;
    let name = path
        .file_stem()
        .map_or("dataset".into(), |s| s.to_string_lossy().into_owned());
    Ok(vec![LoadedTask {
        spec: bare_task(name, path, defaults),
        source: path.to_path_buf(),
        samples,
        sandboxed: Vec::new(),
    }])
}

/// Every problem under `path`, or none: what `prelaunch eval validate` prints.
pub fn validate(path: &Path) -> Vec<Problem> {
    load(path, &Defaults::default()).err().unwrap_or_default()
}

fn bare_task(name: String, dataset: &Path, defaults: &Defaults) -> TaskFile {
    TaskFile {
        name,
        description: None,
        dataset: dataset.to_path_buf(),
        epochs: 1,
        reducers: vec!["mean".into()],
        group_by: Vec::new(),
        seed: 0,
        solver: defaults.solver.clone().unwrap_or_default(),
        scorer: defaults.scorer.clone().unwrap_or_default(),
        limits: Default::default(),
    }
}

fn task_file(path: &Path) -> Result<LoadedTask, Vec<Problem>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Problem {
            file: path.to_path_buf(),
            line: None,
            message: format!("cannot read: {e}"),
        }]
    })?;
    let spec = TaskFile::parse(&text).map_err(|problems| {
        problems
            .into_iter()
            .map(|p| Problem {
                file: path.to_path_buf(),
                line: p.line,
                message: p.message,
            })
            .collect::<Vec<_>>()
    })?;
    let data = spec.dataset_path(path);
    if data.is_dir() {
        let challenges = challenge_task(&data, &Defaults::default())?;
        return Ok(LoadedTask {
            spec,
            source: path.to_path_buf(),
            ..challenges
        });
    }
    let samples = dataset::read(&data, Limits::default()).map_err(|e| vec![Problem::from(e)])?;
    Ok(LoadedTask {
        spec,
        source: path.to_path_buf(),
        samples,
        sandboxed: Vec::new(),
    })
}

fn challenge_task(dir: &Path, defaults: &Defaults) -> Result<LoadedTask, Vec<Problem>> {
    let files = challenge::discover(dir).map_err(|e| {
        vec![Problem {
            file: dir.to_path_buf(),
            line: None,
            message: format!("cannot read the directory: {e}"),
        }]
    })?;
    let read: Vec<_> = collect(
        files
            .iter()
            .map(|f| challenge::read(f).map_err(|ps| ps.into_iter().map(Problem::from).collect())),
    )?;
    let (samples, sandboxed) = read
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c.sample,
                SandboxedSample {
                    dir: c.dir,
                    fresh_flag: c.fresh_flag,
                },
            )
        })
        .unzip();
    let name = dir
        .file_name()
        .map_or("challenges".into(), |s| s.to_string_lossy().into_owned());
    let mut spec = bare_task(name, dir, defaults);
    spec.solver = defaults.solver.clone().unwrap_or(SolverSpec::Agent {
        tools: vec![
            crate::task::Tool::Bash,
            crate::task::Tool::Python,
            crate::task::Tool::Submit,
        ],
        max_turns: 30,
        system: None,
    });
    spec.scorer = defaults.scorer.clone().unwrap_or(ScorerSpec::Flag);
    Ok(LoadedTask {
        spec,
        source: dir.to_path_buf(),
        samples,
        sandboxed,
    })
}

/// All results, or every problem of all of them.
fn collect<T>(results: impl Iterator<Item = Result<T, Vec<Problem>>>) -> Result<Vec<T>, Vec<Problem>> {
    let mut ok = Vec::new();
    let mut problems = Vec::new();
    for result in results {
        match result {
            Ok(t) => ok.push(t),
            Err(p) => problems.extend(p),
        }
    }
    if problems.is_empty() {
        Ok(ok)
    } else {
        Err(problems)
    }
}

/// Files under `root` (recursively, hidden directories skipped) that `wanted` accepts, in path order.
pub(crate) fn find(root: &Path, wanted: impl Fn(&Path) -> bool) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let kind = entry.file_type()?;
            if kind.is_dir() && !hidden {
                pending.push(path);
            } else if kind.is_file() && wanted(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests;
