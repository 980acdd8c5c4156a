//! The evaluation engine's domain, shared by the terminal runner, the workers and the server.
//!
//! - [`sample`]: a sample as Inspect AI models it (id, input as text or chat messages, target, choices, metadata,
//!   files, setup), so an Inspect dataset and one of ours are the same thing.
//! - [`dataset`]: reading JSONL, JSON and CSV datasets with Inspect's field names; every problem names its file
//!   and line.
//! - [`score`]: a score's value (correct, incorrect, partial, no answer, or a number) and the text scorers
//!   (exact, includes, match, pattern, choice, flag capture).
//! - [`metrics`]: accuracy with its standard error and a 95% Wilson interval, epoch reducers (mean, max, mode,
//!   pass@k, at-least-k) and grouping by a metadata field.
//! - [`inspect_log`]: Inspect's `.eval` logs, written for a whole run and read back from Inspect.
//! - [`export`]: a run (task, samples, records, results) as an Inspect log, records streamed one at a time.
//! - [`import`]: an Inspect log checked whole and turned into a run's samples and records, for the server.
//!
//! Nothing here performs I/O beyond reading the dataset file it is given and the log files it is pointed at.

pub mod challenge;
pub mod control;
pub mod dataset;
pub mod export;
pub mod import;
pub mod inspect_log;
pub mod load;
pub mod metrics;
pub mod model;
pub mod openai;
pub mod prompt;
pub mod runner;
pub mod sample;
pub mod score;
pub mod solve;
pub mod task;
#[cfg(test)]
mod testkit;
