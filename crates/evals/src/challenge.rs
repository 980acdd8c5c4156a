//! Capture-the-flag challenges as `inspect_cyber` lays them out: a directory holding `eval.yaml` (or `eval.yml`)
//! with `name`, `flag` or `flags`, `files`, `setup`, `metadata` and `variants`, each variant with its `prompt`
//! and optionally its own `files`, `setup`, `flag(s)`, `metadata` and `message_history`. Each variant is one
//! sample, named `"<name> (<variant>)"` as inspect_cyber names it; its files and setup script are paths relative
//! to the challenge directory and must exist. The `sandbox` key (a Docker or Kubernetes configuration there) is
//! accepted and ignored: the sample runs in our sandbox.
//!
//! One key is ours: `fresh_flag: true` (on the challenge or a variant) asks the runner for a new random flag per
//! sample instead of a flag fixed in the file; the runner writes it into the setup script wherever that says
//! [`FLAG_PLACEHOLDER`], and the setup puts it where the challenge wants it. A fresh-flag challenge without the
//! placeholder in its setup script is refused when loaded.

use crate::sample::{Input, Message, Role, Sample, SampleId, Target};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The names a challenge file may have.
pub const FILE_NAMES: [&str; 2] = ["eval.yaml", "eval.yml"];
/// Where a fresh flag goes in a challenge's setup script.
pub const FLAG_PLACEHOLDER: &str = "__FLAG__";
/// A challenge file larger than this is not read.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Deserialize)]
struct ChallengeFile {
    name: String,
    #[serde(default)]
    flag: Option<String>,
    #[serde(default)]
    flags: Option<Vec<String>>,
    #[serde(default)]
    fresh_flag: bool,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    setup: Option<String>,
    #[serde(default)]
    metadata: Map<String, Value>,
    #[serde(default)]
    #[allow(dead_code)]
    sandbox: Option<serde_yaml_ng::Value>,
    /// In file order: a YAML mapping read as a list of pairs.
    variants: serde_yaml_ng::Mapping,
}

#[derive(Debug, Deserialize)]
struct Variant {
    prompt: String,
    #[serde(default)]
    flag: Option<String>,
    #[serde(default)]
    flags: Option<Vec<String>>,
    #[serde(default)]
    fresh_flag: Option<bool>,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    setup: Option<String>,
    #[serde(default)]
    metadata: Map<String, Value>,
    #[serde(default)]
    message_history: Option<Vec<Message>>,
    #[serde(default)]
    #[allow(dead_code)]
    sandbox: Option<serde_yaml_ng::Value>,
}

/// A problem in a challenge, with its file and line when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeProblem {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub message: String,
}

/// One challenge variant ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeSample {
    pub sample: Sample,
    /// The runner makes a new flag for this sample and passes it to setup as `$FLAG`.
    pub fresh_flag: bool,
    /// The directory the challenge's relative paths start from.
    pub dir: PathBuf,
}

/// Reads the challenge file `path` (an `eval.yaml`), one sample per variant in file order.
pub fn read(path: &Path) -> Result<Vec<ChallengeSample>, Vec<ChallengeProblem>> {
    let problem = |line, message: String| ChallengeProblem {
        file: path.to_path_buf(),
        line,
        message,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| vec![problem(None, format!("cannot read: {e}"))])?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(vec![problem(
            None,
            format!("the file is {size} bytes, more than the limit of {MAX_FILE_BYTES}"),
        )]);
    }
    let text = std::fs::read_to_string(path).map_err(|e| vec![problem(None, format!("cannot read: {e}"))])?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    parse(&text, &dir).map_err(|problems| {
        problems
            .into_iter()
            .map(|(line, message)| problem(line, message))
            .collect()
    })
}

type Problems = Vec<(Option<u64>, String)>;

/// Parses a challenge file's text; paths are checked against `dir`.
pub fn parse(text: &str, dir: &Path) -> Result<Vec<ChallengeSample>, Problems> {
    let file: ChallengeFile = serde_yaml_ng::from_str(text)
        .map_err(|e| vec![(e.location().map(|l| l.line() as u64), e.to_string())])?;
    let mut problems = Problems::new();
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(needle))
            .map(|i| i as u64 + 1)
    };
    if file.name.trim().is_empty() {
        problems.push((line_of("name:"), "`name` is empty".into()));
    }
    if file.variants.is_empty() {
        problems.push((line_of("variants:"), "at least one variant is required".into()));
    }
    let mut samples = Vec::new();
    for (key, value) in file.variants {
        let Some(variant_name) = key.as_str().map(str::to_string) else {
            problems.push((line_of("variants:"), "variant names must be text".into()));
            continue;
        };
        let at = line_of(&format!("{variant_name}:"));
        let variant: Variant = match serde_yaml_ng::from_value(value) {
            Ok(v) => v,
            Err(e) => {
                problems.push((at, format!("variant {variant_name:?}: {e}")));
                continue;
            }
        };
        let mut files = BTreeMap::new();
        for (dest, source) in file.files.iter().chain(&variant.files) {
            if !dir.join(source).is_file() {
                problems.push((
                    line_of(&format!("{dest}:")).or(at),
                    format!(
                        "variant {variant_name:?}: file {source:?} does not exist in the challenge directory"
                    ),
                ));
            }
            files.insert(dest.clone(), source.clone());
        }
        let setup = variant.setup.clone().or_else(|| file.setup.clone());
        if let Some(script) = &setup
            && !dir.join(script).is_file()
        {
            problems.push((
                line_of("setup:").or(at),
                format!("variant {variant_name:?}: setup script {script:?} does not exist in the challenge directory"),
            ));
        }
        let fresh_flag = variant.fresh_flag.unwrap_or(file.fresh_flag);
        let placeholder_in_setup = setup
            .as_ref()
            .and_then(|script| std::fs::read_to_string(dir.join(script)).ok())
            .is_some_and(|text| text.contains(FLAG_PLACEHOLDER));
        if fresh_flag && !placeholder_in_setup {
            problems.push((
                at,
                format!(
                    "variant {variant_name:?} asks for a fresh flag, but its setup script does not contain {FLAG_PLACEHOLDER}"
                ),
            ));
        }
        let flags: Vec<String> = match (&variant.flags, &variant.flag, &file.flags, &file.flag) {
            (Some(f), _, _, _) | (None, None, Some(f), _) => f.clone(),
            (None, Some(f), _, _) => vec![f.clone()],
            (None, None, None, Some(f)) => vec![f.clone()],
            (None, None, None, None) => Vec::new(),
        };
        if flags.is_empty() && !fresh_flag {
            problems.push((
                at,
                format!("variant {variant_name:?} has no flag: give `flag`, `flags` or `fresh_flag: true`"),
            ));
        }
        if flags.iter().any(|f| f.trim().is_empty()) {
            problems.push((at, format!("variant {variant_name:?} has an empty flag")));
        }
        let mut metadata = Map::new();
        metadata.insert("eval_name".into(), Value::String(file.name.clone()));
        metadata.insert("variant_name".into(), Value::String(variant_name.clone()));
        metadata.extend(file.metadata.clone());
        metadata.extend(variant.metadata);
        let input = match variant.message_history {
            Some(mut history) => {
                history.push(Message::text(Role::User, variant.prompt));
                Input::Messages(history)
            }
            None => Input::Text(variant.prompt),
        };
        let target = match flags.len() {
            1 => Target::One(flags.into_iter().next().unwrap_or_default()),
            _ => Target::Many(flags),
        };
        samples.push(ChallengeSample {
            sample: Sample {
                id: SampleId::Text(format!("{} ({variant_name})", file.name)),
                input,
                target,
                choices: None,
                metadata: Some(metadata),
                files: Some(files),
                setup,
            },
            fresh_flag,
            dir: dir.to_path_buf(),
        });
    }
    if problems.is_empty() {
        Ok(samples)
    } else {
        Err(problems)
    }
}

/// The challenge files under `root` (itself included), skipping hidden directories, in path order.
pub fn discover(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    crate::load::find(root, |path| {
        path.file_name()
            .is_some_and(|n| FILE_NAMES.iter().any(|f| n == *f))
    })
}

#[cfg(test)]
mod tests;
