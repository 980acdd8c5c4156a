//! An Inspect `.eval` log read for import: checked whole before anything is returned, so a log is taken
//! entirely or not at all. Every problem names the entry it is in.
//!
//! Beyond what [`LogReader`] checks (sizes once decompressed, JSON), a log given to the server is refused when
//! an entry's name could escape a directory (`..`, absolute, backslashes), an entry is named twice, a sample
//! (id and epoch) appears twice, an entry's compression ratio is that of a zip bomb, or all the samples
//! together decompress to more than the limit.

use crate::inspect_log::{
    EvalLog, EvalSample, EvalSampleReductions, LogError, LogReader, LogStart, ReadLimits, entry,
};
use crate::model::Usage;
use crate::runner::{SampleRecord, WorkItem};
use crate::sample::{Sample, SampleId};
use crate::score;
use crate::solve::Attempt;
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Cursor, Read, Seek};
use zip::{CompressionMethod, ZipArchive};

/// Bounds on a log given for import.
#[derive(Debug, Clone, Copy)]
pub struct ImportLimits {
    /// The largest one entry may be once decompressed.
    pub max_entry_bytes: u64,
    /// The most all entries together may decompress to.
    pub max_total_bytes: u64,
    /// The most entries.
    pub max_entries: usize,
    /// The highest ratio of an entry's size to its compressed size (entries over 1 MiB).
    pub max_ratio: u64,
    /// The most samples (ids × epochs).
    pub max_items: usize,
    /// The most epochs.
    pub max_epochs: u32,
}

/// One sample's epoch of an imported log: where it goes in the run, its value, its record (what our runs
/// record, with the sample's whole JSON under `inspect`).
#[derive(Debug, Clone)]
pub struct ImportedItem {
    pub item: WorkItem,
    pub sample_id: SampleId,
    pub value: Option<f64>,
    pub error: Option<String>,
    pub record: Json,
}

/// A log, read and checked.
#[derive(Debug, Clone)]
pub struct ImportedLog {
    pub start: LogStart,
    pub header: EvalLog,
    pub reductions: Vec<EvalSampleReductions>,
    /// The samples as a dataset, in the log's dataset order.
    pub samples: Vec<Sample>,
    /// Every sample's epoch, by sample then epoch.
    pub items: Vec<ImportedItem>,
    /// The highest epoch.
    pub epochs: u32,
    /// The scorer whose value each item counts (the header's first, else the first a sample names).
    pub scorer: Option<String>,
}

/// The key under which an imported item's record keeps the sample's JSON.
pub const ORIGINAL: &str = "inspect";

/// Why a log is refused; the message names the entry.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(pub String);

impl From<LogError> for ImportError {
    fn from(e: LogError) -> Self {
        ImportError(e.to_string())
    }
}

fn refuse(message: impl Into<String>) -> ImportError {
    ImportError(message.into())
}

/// Whether an entry's name stays inside the archive's directory.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.contains('\0')
        && !name.split('/').any(|part| part == ".." || part == ".")
        && name.get(1..2).is_none_or(|c| c != ":")
}

fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_le_bytes([*b.first()?, *b.get(1)?])))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(b)).ok()
}

/// Every name the central directory lists, duplicates included (a zip reader keeps only one of each name,
/// so a second copy would otherwise go unseen). `None` when the directory cannot be walked.
fn central_names(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    const END: &[u8] = b"PK\x05\x06";
    const ENTRY: &[u8] = b"PK\x01\x02";
    let last = bytes.len().checked_sub(22)?;
    let end = (last.saturating_sub(0xFFFF)..=last)
        .rev()
        .find(|&at| bytes.get(at..at + 4) == Some(END))?;
    let count = u16_at(bytes, end + 10)?;
    let mut at = u32_at(bytes, end + 16)?;
    let mut names = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        if bytes.get(at..at + 4) != Some(ENTRY) {
            return None;
        }
        let (name, extra, comment) = (
            u16_at(bytes, at + 28)?,
            u16_at(bytes, at + 30)?,
            u16_at(bytes, at + 32)?,
        );
        names.push(bytes.get(at + 46..at + 46 + name)?.to_vec());
        at = at.checked_add(46 + name + extra + comment)?;
    }
    Some(names)
}

/// Checks the archive's directory: names, duplicates, methods, declared sizes and ratios.
fn check_directory<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    bytes: &[u8],
    file: &str,
    limits: &ImportLimits,
) -> Result<(), ImportError> {
    let listed = central_names(bytes)
        .ok_or_else(|| refuse(format!("{file}: the archive's central directory cannot be read")))?;
    let mut unique = HashSet::new();
    for name in &listed {
        let name = String::from_utf8_lossy(name);
        if !safe_name(&name) {
            return Err(refuse(format!(
                "{file}: {name:?}: an entry name must be a relative path inside the archive"
            )));
        }
        if !unique.insert(name.clone()) {
            return Err(refuse(format!(
                "{file}: {name}: the entry is in the archive twice"
            )));
        }
    }
    if archive.len() > limits.max_entries {
        return Err(refuse(format!(
            "{file}: more than {} entries",
            limits.max_entries
        )));
    }
    let mut names = HashSet::new();
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let raw = archive
            .by_index_raw(index)
            .map_err(|e| refuse(format!("{file}: entry {index}: {e}")))?;
        let name = raw
            .name()
            .map_err(|e| refuse(format!("{file}: entry {index}: its name is not readable: {e}")))?
            .into_owned();
        if !safe_name(&name) {
            return Err(refuse(format!(
                "{file}: {name:?}: an entry name must be a relative path inside the archive"
            )));
        }
        if !names.insert(name.clone()) {
            return Err(refuse(format!(
                "{file}: {name}: the entry is in the archive twice"
            )));
        }
        match raw.compression() {
            CompressionMethod::Zstd | CompressionMethod::Deflated | CompressionMethod::Stored => {}
            other => {
                return Err(refuse(format!(
                    "{file}: {name}: compressed with {other}; logs use zstd or deflate"
                )));
            }
        }
        let size = raw.size();
        if size > limits.max_entry_bytes {
            return Err(refuse(format!(
                "{file}: {name}: larger than the limit of {} bytes",
                limits.max_entry_bytes
            )));
        }
        if size > 1 << 20 && size / raw.compressed_size().max(1) > limits.max_ratio {
            return Err(refuse(format!(
                "{file}: {name}: compressed {}:1, more than the limit of {}:1",
                size / raw.compressed_size().max(1),
                limits.max_ratio
            )));
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(refuse(format!(
                "{file}: the entries decompress to more than the limit of {} bytes",
                limits.max_total_bytes
            )));
        }
    }
    for needed in [entry::START, entry::HEADER] {
        if !names.contains(needed) {
            return Err(refuse(format!("{file}: no {needed}: not a finished Inspect log")));
        }
    }
    Ok(())
}

/// Reads the log in `bytes` (named `file` in messages) whole, or refuses it.
pub fn read_log(bytes: &[u8], file: &str, limits: ImportLimits) -> Result<ImportedLog, ImportError> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        refuse(format!(
            "{file}: not a zip archive (an Inspect .eval log is one): {e}"
        ))
    })?;
    check_directory(&mut archive, bytes, file, &limits)?;
    drop(archive);
    let read_limits = ReadLimits {
        max_entry_bytes: limits.max_entry_bytes,
        max_entries: limits.max_entries,
    };
    let mut reader = LogReader::new(Cursor::new(bytes), file, read_limits)?;
    let start = reader
        .start()?
        .ok_or_else(|| refuse(format!("{file}: no {}: not a finished Inspect log", entry::START)))?;
    if reader.sample_count() > limits.max_items {
        return Err(refuse(format!(
            "{file}: {} samples, more than the limit of {}",
            reader.sample_count(),
            limits.max_items
        )));
    }
    let header = reader.header().clone();
    let header_scorer = header
        .results
        .as_ref()
        .and_then(|r| r.scores.first())
        .map(|s| s.scorer.clone());
    let mut read: Vec<EvalSample> = Vec::with_capacity(reader.sample_count());
    let mut seen = HashSet::new();
    let mut total: u64 = 0;
    for sample in reader.samples() {
        let sample = sample?;
        if !seen.insert((sample.id.clone(), sample.epoch)) {
            return Err(refuse(format!(
                "{file}: sample {} epoch {} is in the log twice",
                sample.id, sample.epoch
            )));
        }
        if sample.epoch == 0 || sample.epoch > limits.max_epochs {
            return Err(refuse(format!(
                "{file}: sample {} epoch {}: epochs count from 1 to at most {}",
                sample.id, sample.epoch, limits.max_epochs
            )));
        }
        total = total.saturating_add(serde_json::to_vec(&sample).map_or(0, |b| b.len() as u64));
        if total > limits.max_total_bytes {
            return Err(refuse(format!(
                "{file}: the samples decompress to more than the limit of {} bytes",
                limits.max_total_bytes
            )));
        }
        read.push(sample);
    }
    let reductions = reader.reductions()?.unwrap_or_default();
    reader.summaries()?;
    let scorer = header_scorer.or_else(|| {
        read.iter()
            .find_map(|s| s.scores.as_ref().and_then(|m| m.keys().next().cloned()))
    });

    // The dataset's order: the header's sample ids, then any others as they come.
    let mut order: Vec<SampleId> = header.eval.dataset.sample_ids.clone().unwrap_or_default();
    let mut index: HashMap<SampleId, usize> = HashMap::new();
    order.retain(|id| {
        let fresh = !index.contains_key(id);
        if fresh {
            index.insert(id.clone(), index.len());
        }
        fresh
    });
    for s in &read {
        if !index.contains_key(&s.id) {
            index.insert(s.id.clone(), order.len());
            order.push(s.id.clone());
        }
    }
    let mut firsts: BTreeMap<usize, Sample> = BTreeMap::new();
    let mut items = Vec::with_capacity(read.len());
    let mut epochs = 1;
    for s in read {
        let position = index.get(&s.id).copied().unwrap_or(0);
        epochs = epochs.max(s.epoch);
        firsts.entry(position).or_insert_with(|| Sample {
            id: s.id.clone(),
            input: s.input.to_input(),
            target: s.target.clone(),
            choices: s.choices.clone(),
            metadata: (!s.metadata.is_empty()).then(|| s.metadata.clone()),
            files: None,
            setup: None,
        });
        items.push(item_of(s, position, scorer.as_deref(), file)?);
    }
    // Ids the header names but the log has no sample of are left out of the dataset.
    let kept: Vec<usize> = firsts.keys().copied().collect();
    let renumber: HashMap<usize, usize> = kept.iter().enumerate().map(|(new, old)| (*old, new)).collect();
    for item in &mut items {
        let new = renumber.get(&item.item.index).copied().unwrap_or(0);
        item.item.index = new;
        if let Some(record) = item.record.as_object_mut() {
            record.insert(
                "item".into(),
                serde_json::json!({"index": new, "epoch": item.item.epoch}),
            );
        }
    }
    items.sort_by_key(|i| i.item);
    Ok(ImportedLog {
        start,
        header,
        reductions,
        samples: firsts.into_values().collect(),
        items,
        epochs,
        scorer,
    })
}

/// A sample's epoch as our record, keeping the sample's JSON.
fn item_of(
    s: EvalSample,
    index: usize,
    scorer: Option<&str>,
    file: &str,
) -> Result<ImportedItem, ImportError> {
    let score = scorer.and_then(|name| s.scores.as_ref()?.get(name));
    let value = score.and_then(|score| score.value.as_value());
    let error = s.error.as_ref().map(|e| e.message.clone());
    let usage = s.model_usage.values().fold(Usage::default(), |mut u, m| {
        u.add(Usage {
            input_tokens: m.input_tokens,
            output_tokens: m.output_tokens,
        });
        u
    });
    let item = WorkItem {
        index,
        epoch: s.epoch,
    };
    let record = SampleRecord {
        item,
        sample_id: s.id.clone(),
        target: s.target.clone(),
        attempt: Some(Attempt {
            messages: Vec::new(),
            answer: s.output.completion.clone(),
            usage,
            score: value.map(|value| score::Score {
                value,
                answer: score.and_then(|sc| sc.answer.clone()),
                explanation: score.and_then(|sc| sc.explanation.clone()),
            }),
            shown_choices: None,
            limit: None,
            error: None,
            grading: None,
        }),
        error: error.clone(),
        seconds: s.total_time.unwrap_or(0.0),
    };
    let mut json = serde_json::to_value(&record)
        .map_err(|e| refuse(format!("{file}: sample {} epoch {}: {e}", s.id, s.epoch)))?;
    let original = serde_json::to_value(&s)
        .map_err(|e| refuse(format!("{file}: sample {} epoch {}: {e}", s.id, s.epoch)))?;
    if let Some(map) = json.as_object_mut() {
        map.insert(ORIGINAL.into(), original);
    }
    Ok(ImportedItem {
        item,
        sample_id: s.id,
        value: if error.is_some() {
            None
        } else {
            value.map(|v| v.as_f64())
        },
        error,
        record: json,
    })
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn names_that_could_leave_the_archive_are_unsafe() {
        for (name, safe) in [
            ("samples/1_epoch_1.json", true),
            ("_journal/start.json", true),
            ("../header.json", false),
            ("samples/../../etc/passwd", false),
            ("/etc/passwd", false),
            ("samples\\1.json", false),
            ("C:/x.json", false),
            ("./header.json", false),
            ("", false),
        ] {
            assert_eq!(safe_name(name), safe, "{name}");
        }
    }
}
