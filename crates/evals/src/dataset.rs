//! Datasets in Inspect AI's formats: JSON Lines, a JSON array, or CSV with a header row, read with Inspect's field
//! names (`id`, `input`, `target`, `choices`, `metadata`, `files`, `setup`) and its conversions, so an Inspect
//! dataset loads as it is. Other fields are ignored, as Inspect ignores them without a field spec.
//!
//! Every problem is a [`DatasetError`] naming the file and, where there is one, the line; a dataset with any
//! problem yields no samples at all.

use crate::sample::{Input, Message, Role, Sample, SampleId, Target};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// Bounds on what a dataset may hold. Reading stops with an error naming the bound, never by running out of memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The whole file, in bytes.
    pub file_bytes: u64,
    /// Samples in one dataset.
    pub samples: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            file_bytes: 512 * 1024 * 1024,
            samples: 1_000_000,
        }
    }
}

/// A dataset's file format, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    Json,
    Csv,
}

impl Format {
    /// `.jsonl`/`.ndjson`, `.json` or `.csv`; anything else is not a dataset.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// A problem in a dataset, with the file and line it is on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DatasetError {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub message: String,
}

impl fmt::Display for DatasetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Reads the dataset at `path`, its format chosen by its extension.
pub fn read(path: &Path, limits: Limits) -> Result<Vec<Sample>, DatasetError> {
    let error = |line, message: String| DatasetError {
        file: path.to_path_buf(),
        line,
        message,
    };
    let format = Format::of(path).ok_or_else(|| {
        error(
            None,
            "not a dataset: the name must end in .jsonl, .json or .csv".into(),
        )
    })?;
    let size = std::fs::metadata(path)
        .map_err(|e| error(None, format!("cannot read: {e}")))?
        .len();
    if size > limits.file_bytes {
        return Err(error(
            None,
            format!(
                "the file is {size} bytes, more than the limit of {}",
                limits.file_bytes
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| error(None, format!("cannot read: {e}")))?;
    parse(path, format, &bytes, limits)
}

/// Parses a dataset held in memory; `name` is what errors call the file.
pub fn parse(name: &Path, format: Format, bytes: &[u8], limits: Limits) -> Result<Vec<Sample>, DatasetError> {
    let mut reader = Reader {
        file: name.to_path_buf(),
        limits,
        samples: Vec::new(),
        lines: Vec::new(),
    };
    if bytes.len() as u64 > limits.file_bytes {
        return Err(reader.error(
            None,
            format!(
                "the dataset is {} bytes, more than the limit of {}",
                bytes.len(),
                limits.file_bytes
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = line_of(bytes, e.valid_up_to());
        reader.error(Some(line), "not UTF-8 text".into())
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::JsonLines => reader.json_lines(text)?,
        Format::Json => reader.json_array(text)?,
        Format::Csv => reader.csv(text)?,
    }
    reader.finish()
}

struct Reader {
    file: PathBuf,
    limits: Limits,
    samples: Vec<Sample>,
    /// The line each sample started on, parallel to `samples`.
    lines: Vec<u64>,
}

/// A sample's fields before its id is settled.
type Record = Map<String, Value>;

impl Reader {
    fn error(&self, line: Option<u64>, message: String) -> DatasetError {
        DatasetError {
            file: self.file.clone(),
            line,
            message,
        }
    }

    fn push(&mut self, line: u64, record: Record, csv: bool) -> Result<(), DatasetError> {
        if self.samples.len() >= self.limits.samples {
            return Err(self.error(Some(line), format!("more than {} samples", self.limits.samples)));
        }
        let sample =
            to_sample(record, csv, self.samples.len()).map_err(|message| self.error(Some(line), message))?;
        self.samples.push(sample);
        self.lines.push(line);
        Ok(())
    }

    fn json_lines(&mut self, text: &str) -> Result<(), DatasetError> {
        for (index, raw) in text.split('\n').enumerate() {
            let line = index as u64 + 1;
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let record = match serde_json::from_str::<Value>(raw) {
                Ok(Value::Object(record)) => record,
                Ok(_) => return Err(self.error(Some(line), "a line must hold one JSON object".into())),
                Err(e) => return Err(self.error(Some(line), format!("not JSON: {e}"))),
            };
            self.push(line, record, false)?;
        }
        Ok(())
    }

    fn json_array(&mut self, text: &str) -> Result<(), DatasetError> {
        let records: Vec<&RawValue> = serde_json::from_str(text)
            .map_err(|e| self.error(Some(e.line() as u64), format!("not a JSON array of objects: {e}")))?;
        for raw in records {
            // The element's position in the text, for its line number.
            let offset = (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
            let line = line_of(text.as_bytes(), offset);
            let record = match serde_json::from_str::<Value>(raw.get()) {
                Ok(Value::Object(record)) => record,
                _ => return Err(self.error(Some(line), "each element must be a JSON object".into())),
            };
            self.push(line, record, false)?;
        }
        Ok(())
    }

    fn csv(&mut self, text: &str) -> Result<(), DatasetError> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(text.as_bytes());
        let headers = csv
            .headers()
            .map_err(|e| self.error(Some(1), format!("cannot read the header row: {e}")))?
            .clone();
        if headers.is_empty() {
            return Err(self.error(Some(1), "the header row is empty".into()));
        }
        for row in csv.records() {
            let row = row.map_err(|e| {
                let line = e.position().map(|p| p.line());
                self.error(line, format!("not CSV: {e}"))
            })?;
            let line = row.position().map_or(0, |p| p.line());
            if row.iter().all(|cell| cell.trim().is_empty()) {
                continue;
            }
            if row.len() != headers.len() {
                return Err(self.error(
                    Some(line),
                    format!(
                        "the row has {} fields, the header has {}",
                        row.len(),
                        headers.len()
                    ),
                ));
            }
            let record: Record = headers
                .iter()
                .zip(row.iter())
                .map(|(name, cell)| (name.to_string(), Value::String(cell.to_string())))
                .collect();
            self.push(line, record, true)?;
        }
        Ok(())
    }

    /// Checks ids are unique, naming both lines of a clash.
    fn finish(self) -> Result<Vec<Sample>, DatasetError> {
        let mut seen: HashMap<&SampleId, u64> = HashMap::with_capacity(self.samples.len());
        for (sample, line) in self.samples.iter().zip(&self.lines) {
            if let Some(first) = seen.insert(&sample.id, *line) {
                return Err(self.error(
                    Some(*line),
                    format!(
                        "sample id {} is already used on line {first}; ids must be unique",
                        sample.id
                    ),
                ));
            }
        }
        if self.samples.is_empty() {
            return Err(self.error(None, "the dataset has no samples".into()));
        }
        Ok(self.samples)
    }
}

/// The line (from 1) that byte `offset` of `bytes` is on.
fn line_of(bytes: &[u8], offset: usize) -> u64 {
    let before = bytes.get(..offset).unwrap_or(bytes);
    before.iter().filter(|b| **b == b'\n').count() as u64 + 1
}

/// Python's `str()` of a JSON scalar, as Inspect converts targets and choices.
fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

/// One record as a sample; `position` (from 0) gives a sample without an id the id `position + 1`.
fn to_sample(mut record: Record, csv: bool, position: usize) -> Result<Sample, String> {
    let input = read_input(record.remove("input"))?;
    let target = match record.remove("target") {
        None | Some(Value::Null) => Target::default(),
        Some(Value::Array(items)) => Target::Many(items.iter().map(python_str).collect()),
        Some(other) => Target::One(python_str(&other)),
    };
    let choices = match record.remove("choices") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(python_str)
                .filter(|c| !c.trim().is_empty())
                .collect(),
        ),
        Some(Value::String(s)) => {
            let parts: Vec<&str> = s.split(',').collect();
            let parts: Vec<&str> = if parts.len() == 1 {
                s.split_whitespace().collect()
            } else {
                parts
            };
            Some(
                parts
                    .iter()
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .collect(),
            )
        }
        Some(other) => Some(vec![python_str(&other)]),
    };
    // A missing field, a null and a blank CSV cell are all no value, as Inspect reads them.
    let mut field = |name: &str| {
        record
            .remove(name)
            .filter(|v| !(v.is_null() || (csv && matches!(v, Value::String(s) if s.trim().is_empty()))))
    };
    let id = match field("id") {
        None => SampleId::Int(position as i64 + 1),
        Some(Value::String(s)) => SampleId::Text(s),
        Some(Value::Number(n)) => SampleId::Int(n.as_i64().ok_or("`id` must be an integer or a string")?),
        Some(_) => return Err("`id` must be an integer or a string".into()),
    };
    let metadata = match field("metadata") {
        None => None,
        Some(Value::Object(map)) => Some(map),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(map)) => Some(map),
            _ => return Err("`metadata` must be a JSON object".into()),
        },
        Some(_) => return Err("`metadata` must be a JSON object".into()),
    };
    let files = match field("files") {
        None => None,
        Some(Value::String(s)) => Some(files_map(
            serde_json::from_str(&s).map_err(|_| "`files` must be a JSON object of strings")?,
        )?),
        Some(other) => Some(files_map(other)?),
    };
    let setup = field("setup").map(|v| python_str(&v));
    Ok(Sample {
        id,
        input,
        target,
        choices,
        metadata,
        files,
        setup,
    })
}

fn files_map(value: Value) -> Result<BTreeMap<String, String>, String> {
    let Value::Object(map) = value else {
        return Err("`files` must be a JSON object of strings".into());
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            _ => Err(format!("`files` entry {k:?} must be a string")),
        })
        .collect()
}

fn read_input(value: Option<Value>) -> Result<Input, String> {
    match value {
        None | Some(Value::Null) => Err("no `input`".into()),
        Some(Value::String(s)) if s.is_empty() => Err("`input` is empty".into()),
        Some(Value::String(s)) => Ok(Input::Text(s)),
        Some(Value::Array(items)) if items.is_empty() => Err("`input` is empty".into()),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| read_message(i, item))
            .collect::<Result<Vec<_>, _>>()
            .map(Input::Messages),
        Some(_) => Err("`input` must be text or a list of chat messages".into()),
    }
}

fn read_message(index: usize, item: Value) -> Result<Message, String> {
    let Value::Object(mut m) = item else {
        return Err(format!("`input` message {index} is not an object"));
    };
    let role = match m.get("role").and_then(Value::as_str) {
        Some("system") => Role::System,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("tool") => Role::Tool,
        _ => {
            return Err(format!(
                "`input` message {index}: `role` must be system, user, assistant or tool"
            ));
        }
    };
    let content = match m.remove("content") {
        None | Some(Value::Null) => {
            return Err(format!("`input` message {index} has no `content`"));
        }
        Some(c) => c,
    };
    let text = |key: &str| m.get(key).and_then(Value::as_str).map(str::to_string);
    Ok(Message {
        role,
        content,
        tool_calls: m.get("tool_calls").filter(|v| !v.is_null()).cloned(),
        tool_call_id: text("tool_call_id"),
        function: text("function"),
    })
}

#[cfg(test)]
mod tests;
