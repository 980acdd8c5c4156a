//! Writing a `.eval` log as a run's samples arrive.
//!
//! Each sample is encoded into one reused buffer (never larger than the stated limit), compressed and
//! appended ([`super::archive`]). What stays in memory between samples is small per sample: the archive's
//! directory entry, the sample's short summary already encoded as JSON, and a running sum per scorer for the
//! epoch reductions.

use super::archive::{Archive, DosTime};
use super::model::{EvalLog, EvalSample, EvalSampleReductions, EvalSampleScore, LogStart, Map, ScoreValue};
use super::{LogError, entry, sample_entry};
use crate::sample::SampleId;
use crate::score;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Inspect's zstd level (its default through `zipfile_zstd`).
const ZSTD_LEVEL: i32 = 3;

/// Bounds on what a writer accepts.
#[derive(Debug, Clone, Copy)]
pub struct WriteLimits {
    /// The largest a sample's JSON may be.
    pub max_sample_bytes: usize,
}

impl Default for WriteLimits {
    fn default() -> Self {
        WriteLimits {
            max_sample_bytes: 64 << 20,
        }
    }
}

/// A running mean of one sample's values for one scorer over its epochs.
#[derive(Debug, Default)]
struct EpochMean {
    sum: f64,
    count: u32,
    /// The answer, while every epoch gave the same one.
    answer: Option<String>,
    answers_differ: bool,
}

/// Writes one `.eval` archive: [`LogWriter::new`] writes `_journal/start.json`, [`LogWriter::write_sample`]
/// appends a sample, [`LogWriter::finish`] writes summaries, reductions and the header and closes the archive.
pub struct LogWriter<W: Write> {
    archive: Archive<W>,
    file: String,
    limits: WriteLimits,
    buffer: Vec<u8>,
    /// `summaries.json`'s array, without its brackets, one encoded summary after another.
    summaries: Vec<u8>,
    written: HashSet<(SampleId, u32)>,
    /// Scorer → sample → mean over epochs.
    reductions: BTreeMap<String, BTreeMap<SampleId, EpochMean>>,
}

impl LogWriter<PartialFile> {
    /// Starts a log at `path`. It is written beside it under a temporary name and appears at `path` only
    /// when [`PartialFile::persist`] is called on what [`LogWriter::finish`] returns; dropped before that, it
    /// is removed.
    pub fn create(path: &Path, start: &LogStart, limits: WriteLimits) -> Result<Self, LogError> {
        let file = path.display().to_string();
        let partial = PartialFile::create(path).map_err(|source| LogError::Io {
            file: file.clone(),
            source,
        })?;
        LogWriter::new(partial, &file, start, limits)
    }
}

impl<W: Write> LogWriter<W> {
    /// Starts a log in `sink`; `file` names it in errors. Entries carry the run's creation time.
    pub fn new(sink: W, file: &str, start: &LogStart, limits: WriteLimits) -> Result<Self, LogError> {
        let modified = DosTime::parse(&start.eval.created).unwrap_or(DosTime::EPOCH);
        let archive = Archive::new(sink, modified, ZSTD_LEVEL).map_err(|source| LogError::Io {
            file: file.to_owned(),
            source,
        })?;
        let mut writer = LogWriter {
            archive,
            file: file.to_owned(),
            limits,
            buffer: Vec::new(),
            summaries: Vec::new(),
            written: HashSet::new(),
            reductions: BTreeMap::new(),
        };
        writer.write_json(entry::START, start)?;
        Ok(writer)
    }

    /// Appends one sample (one id in one epoch). A sample larger than the limit, or one already written, is an
    /// error naming it, and the archive stays as it was; after an I/O error the archive is unusable.
    pub fn write_sample(&mut self, sample: &EvalSample) -> Result<(), LogError> {
        let key = (sample.id.clone(), sample.epoch);
        if self.written.contains(&key) {
            return Err(LogError::DuplicateSample {
                file: self.file.clone(),
                id: sample.id.to_string(),
                epoch: sample.epoch,
            });
        }
        let name = sample_entry(&sample.id, sample.epoch);
        self.buffer.clear();
        let limit = self.limits.max_sample_bytes;
        let encoded = serde_json::to_writer(
            Bounded {
                out: &mut self.buffer,
                limit,
            },
            sample,
        );
        if let Err(e) = encoded {
            return Err(if e.is_io() {
                LogError::SampleTooLarge {
                    file: self.file.clone(),
                    id: sample.id.to_string(),
                    epoch: sample.epoch,
                    limit,
                }
            } else {
                self.encode_error(&name, &e)
            });
        }
        let mut summary = serde_json::to_vec(&sample.summary()).map_err(|e| self.encode_error(&name, &e))?;
        let bytes = std::mem::take(&mut self.buffer);
        let wrote = self.write_entry(&name, &bytes);
        self.buffer = bytes;
        wrote?;
        if !self.summaries.is_empty() {
            self.summaries.push(b',');
        }
        self.summaries.append(&mut summary);
        self.reduce(sample);
        self.written.insert(key);
        Ok(())
    }

    /// How many samples have been written.
    pub fn samples_written(&self) -> usize {
        self.written.len()
    }

    /// Writes `summaries.json`, `reductions.json` with each sample's mean over its epochs (per scorer, values
    /// that are not a single number or C/I/P/N left out, as Inspect's `mean` reducer cannot take them), and
    /// `header.json`, and closes the archive.
    pub fn finish(mut self, header: &EvalLog) -> Result<W, LogError> {
        let reductions = self.mean_reductions();
        self.finish_with_reductions(header, &reductions)
    }

    /// As [`LogWriter::finish`], with the reductions given (an imported log's own).
    pub fn finish_with_reductions(
        mut self,
        header: &EvalLog,
        reductions: &[EvalSampleReductions],
    ) -> Result<W, LogError> {
        let mut summaries = Vec::with_capacity(self.summaries.len() + 2);
        summaries.push(b'[');
        summaries.append(&mut self.summaries);
        summaries.push(b']');
        self.write_entry(entry::SUMMARIES, &summaries)?;
        drop(summaries);
        self.write_json(entry::REDUCTIONS, &reductions)?;
        self.write_json(entry::HEADER, header)?;
        let file = self.file;
        self.archive
            .finish()
            .map_err(|source| LogError::Io { file, source })
    }

    fn reduce(&mut self, sample: &EvalSample) {
        let Some(scores) = &sample.scores else {
            return;
        };
        for (scorer, score) in scores {
            let Some(value) = score.value.as_value() else {
                continue;
            };
            let mean = self
                .reductions
                .entry(scorer.clone())
                .or_default()
                .entry(sample.id.clone())
                .or_default();
            if mean.count == 0 {
                mean.answer = score.answer.clone();
            } else if mean.answer != score.answer {
                mean.answers_differ = true;
            }
            mean.sum += value.as_f64();
            mean.count += 1;
        }
    }

    fn mean_reductions(&mut self) -> Vec<EvalSampleReductions> {
        std::mem::take(&mut self.reductions)
            .into_iter()
            .map(|(scorer, samples)| EvalSampleReductions {
                scorer,
                reducer: None,
                samples: samples
                    .into_iter()
                    .map(|(id, mean)| EvalSampleScore {
                        value: ScoreValue::Value(score::Value::Number(
                            mean.sum / f64::from(mean.count.max(1)),
                        )),
                        answer: if mean.answers_differ { None } else { mean.answer },
                        explanation: None,
                        metadata: None,
                        sample_id: Some(id),
                        extra: Map::new(),
                    })
                    .collect(),
                extra: Map::new(),
            })
            .collect()
    }

    fn write_json<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), LogError> {
        let bytes = serde_json::to_vec(value).map_err(|e| self.encode_error(name, &e))?;
        self.write_entry(name, &bytes)
    }

    fn write_entry(&mut self, name: &str, bytes: &[u8]) -> Result<(), LogError> {
        self.archive.add(name, bytes).map_err(|source| LogError::EntryIo {
            file: self.file.clone(),
            entry: name.to_owned(),
            source,
        })
    }

    fn encode_error(&self, entry: &str, e: &serde_json::Error) -> LogError {
        LogError::Encode {
            file: self.file.clone(),
            entry: entry.to_owned(),
            message: e.to_string(),
        }
    }
}

/// A buffer that refuses to grow past `limit` bytes.
struct Bounded<'a> {
    out: &'a mut Vec<u8>,
    limit: usize,
}

impl Write for Bounded<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out.len().saturating_add(buf.len()) > self.limit {
            return Err(io::Error::other("over the limit"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A file written under a temporary name beside its destination, moved there by [`PartialFile::persist`] and
/// removed if dropped before.
pub struct PartialFile {
    out: BufWriter<File>,
    partial: PathBuf,
    target: PathBuf,
    persisted: bool,
}

impl PartialFile {
    fn create(target: &Path) -> io::Result<Self> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let partial = target.with_file_name(format!(".{name}.partial"));
        let file = File::create(&partial)?;
        Ok(PartialFile {
            out: BufWriter::with_capacity(1 << 20, file),
            partial,
            target: target.to_owned(),
            persisted: false,
        })
    }

    /// Flushes the file to disk and moves it to its destination, which it returns.
    pub fn persist(mut self) -> Result<PathBuf, LogError> {
        let file = self.target.display().to_string();
        let io = |source| LogError::Io {
            file: file.clone(),
            source,
        };
        self.out.flush().map_err(io)?;
        self.out.get_ref().sync_all().map_err(io)?;
        fs::rename(&self.partial, &self.target).map_err(io)?;
        self.persisted = true;
        Ok(self.target.clone())
    }
}

impl Write for PartialFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.persisted {
            // Best effort: the log was never finished, and a half-written archive must not be mistaken for one.
            let _ = fs::remove_file(&self.partial);
        }
    }
}
