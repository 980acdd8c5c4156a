//! Inspect AI's `.eval` log: writing one for a whole run, and reading one Inspect wrote.
//!
//! A `.eval` file is a zip archive. Inspect writes `_journal/start.json` (the run's spec and plan) first, then
//! `samples/{id}_epoch_{epoch}.json` per sample as samples finish, then `summaries.json` (one short entry per
//! sample, what a log viewer lists), `reductions.json` (each sample's score over its epochs) and last
//! `header.json` (spec, plan, results, stats, status). Entries are zstd-compressed, level 3, zip method 93.
//!
//! - [`model`]: the log's types, keeping every field they do not name so an imported log writes back whole.
//! - [`LogWriter`]: streams samples into the archive one at a time; a run never has to fit in memory.
//! - [`LogReader`]: opens a `.eval` (zstd or deflate entries), gives the header and the samples one by one;
//!   [`read_all`] checks everything before it returns anything.

mod archive;
pub mod model;
mod reader;
mod summary;
mod writer;

pub use model::*;
pub use reader::{LogContents, LogReader, ReadLimits, read_all};
pub use writer::{LogWriter, PartialFile, WriteLimits};

use std::fmt;

/// Entry names inside a `.eval` archive.
pub mod entry {
    pub const START: &str = "_journal/start.json";
    pub const SUMMARIES: &str = "summaries.json";
    pub const REDUCTIONS: &str = "reductions.json";
    pub const HEADER: &str = "header.json";
    pub const SAMPLES_DIR: &str = "samples/";
}

/// The entry a sample is stored under.
pub fn sample_entry(id: &crate::sample::SampleId, epoch: u32) -> String {
    format!("{}{id}_epoch_{epoch}.json", entry::SAMPLES_DIR)
}

/// Where a JSON document went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPosition {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for JsonPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// What can go wrong reading or writing a log. Every error names the file, and the entry where there is one.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{file}: {source}")]
    Io { file: String, source: std::io::Error },
    #[error("{file}: not a readable zip archive: {source}")]
    Archive {
        file: String,
        source: zip::result::ZipError,
    },
    #[error("{file}: {entry}: {source}")]
    Entry {
        file: String,
        entry: String,
        source: zip::result::ZipError,
    },
    #[error("{file}: {entry}: {source}")]
    EntryIo {
        file: String,
        entry: String,
        source: std::io::Error,
    },
    #[error("{file}: no {entry}: not a finished Inspect log")]
    Missing { file: String, entry: &'static str },
    #[error("{file}: {entry}: {position}: {message}")]
    Json {
        file: String,
        entry: String,
        position: JsonPosition,
        message: String,
    },
    #[error("{file}: {entry}: larger than the limit of {limit} bytes")]
    EntryTooLarge { file: String, entry: String, limit: u64 },
    #[error("{file}: more than {limit} entries")]
    TooManyEntries { file: String, limit: usize },
    #[error("{file}: sample {id} epoch {epoch}: its JSON is larger than the limit of {limit} bytes")]
    SampleTooLarge {
        file: String,
        id: String,
        epoch: u32,
        limit: usize,
    },
    #[error("{file}: sample {id} epoch {epoch} is written twice")]
    DuplicateSample { file: String, id: String, epoch: u32 },
    #[error("{file}: {entry}: could not write JSON: {message}")]
    Encode {
        file: String,
        entry: String,
        message: String,
    },
}

impl LogError {
    pub(crate) fn json(file: &str, entry: &str, e: &serde_json::Error) -> Self {
        // serde_json's message ends with its own "at line L column C"; the position is given once, in front.
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) => message.get(..at).unwrap_or(&message).to_owned(),
            None => message,
        };
        LogError::Json {
            file: file.to_owned(),
            entry: entry.to_owned(),
            position: JsonPosition {
                line: e.line(),
                column: e.column(),
            },
            message,
        }
    }
}

#[cfg(test)]
mod tests;
