//! Reading a `.eval` log: the header at once, the samples one at a time in Inspect's order (by epoch, then
//! id), every entry bounded in size. An entry named twice reads as its last copy, as Inspect reads it.
//! zstd entries are decompressed with one reused context (a fresh one per entry costs more than a small
//! sample's decompression) and their CRC checked; other methods (deflate, stored) go through the zip crate.

use super::model::{EvalLog, EvalSample, EvalSampleReductions, EvalSampleSummary, LogStart};
use super::{LogError, entry};
use serde::de::DeserializeOwned;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;
use zip::{CompressionMethod, ZipArchive};

/// Bounds on what a reader accepts.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// The largest an entry may be once decompressed.
    pub max_entry_bytes: u64,
    /// The most entries an archive may hold.
    pub max_entries: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_entry_bytes: 256 << 20,
            max_entries: 2_000_000,
        }
    }
}

/// An open `.eval` log whose header has been read.
pub struct LogReader<R: Read + Seek> {
    archive: ZipArchive<R>,
    file: String,
    limits: ReadLimits,
    entries: Entries,
    header: EvalLog,
    /// The archive indexes of the sample entries, in Inspect's order.
    samples: Vec<usize>,
}

impl LogReader<BufReader<File>> {
    /// Opens the log at `path` and reads its header.
    pub fn open(path: &Path, limits: ReadLimits) -> Result<Self, LogError> {
        let file = path.display().to_string();
        let source = File::open(path).map_err(|source| LogError::Io {
            file: file.clone(),
            source,
        })?;
        LogReader::new(BufReader::new(source), &file, limits)
    }
}

impl<R: Read + Seek> LogReader<R> {
    /// Reads the archive's directory and its header; `file` names it in errors.
    pub fn new(source: R, file: &str, limits: ReadLimits) -> Result<Self, LogError> {
        let mut archive = ZipArchive::new(source).map_err(|source| LogError::Archive {
            file: file.to_owned(),
            source,
        })?;
        if archive.len() > limits.max_entries {
            return Err(LogError::TooManyEntries {
                file: file.to_owned(),
                limit: limits.max_entries,
            });
        }
        let mut samples = Vec::new();
        for index in 0..archive.len() {
            let name = match archive.name_for_index(index) {
                Some(Ok(name)) => name,
                Some(Err(source)) => {
                    return Err(LogError::Archive {
                        file: file.to_owned(),
                        source,
                    });
                }
                None => continue,
            };
            if let Some(rest) = name.strip_prefix(entry::SAMPLES_DIR)
                && let Some(stem) = rest.strip_suffix(".json")
            {
                samples.push((order_key(stem), index));
            }
        }
        samples.sort();
        let Some(header_index) = archive.index_for_name(entry::HEADER) else {
            return Err(LogError::Missing {
                file: file.to_owned(),
                entry: entry::HEADER,
            });
        };
        let mut entries = Entries::new(file)?;
        let header = read_json(
            &mut archive,
            &mut entries,
            file,
            limits,
            header_index,
            entry::HEADER,
        )?;
        Ok(LogReader {
            archive,
            file: file.to_owned(),
            limits,
            entries,
            header,
            samples: samples.into_iter().map(|(_, index)| index).collect(),
        })
    }

    /// The log's header: spec, plan, results, stats, status.
    pub fn header(&self) -> &EvalLog {
        &self.header
    }

    /// How many sample entries the archive holds.
    pub fn sample_count(&self) -> usize {
        self.samples.len()
    }

    /// The samples, one at a time, by epoch then id. Each item is the next sample or the error that stopped
    /// it; a caller wanting all or nothing uses [`read_all`] or checks with [`LogReader::validate`] first.
    pub fn samples(&mut self) -> impl Iterator<Item = Result<EvalSample, LogError>> + '_ {
        let LogReader {
            archive,
            file,
            limits,
            entries,
            samples,
            ..
        } = self;
        samples.iter().map(move |&index| {
            let name = archive
                .name_for_index(index)
                .and_then(Result::ok)
                .map(|n| n.into_owned())
                .unwrap_or_default();
            read_json(archive, entries, file, *limits, index, &name)
        })
    }

    /// Reads every sample once without keeping it: the count if all parse, else the first error.
    pub fn validate(&mut self) -> Result<usize, LogError> {
        let mut count = 0;
        for sample in self.samples() {
            sample?;
            count += 1;
        }
        Ok(count)
    }

    /// `_journal/start.json`, if the log has it.
    pub fn start(&mut self) -> Result<Option<LogStart>, LogError> {
        self.optional(entry::START)
    }

    /// `summaries.json`, if the log has it.
    pub fn summaries(&mut self) -> Result<Option<Vec<EvalSampleSummary>>, LogError> {
        self.optional(entry::SUMMARIES)
    }

    /// `reductions.json`, if the log has it.
    pub fn reductions(&mut self) -> Result<Option<Vec<EvalSampleReductions>>, LogError> {
        self.optional(entry::REDUCTIONS)
    }

    fn optional<T: DeserializeOwned>(&mut self, name: &str) -> Result<Option<T>, LogError> {
        match self.archive.index_for_name(name) {
            Some(index) => read_json(
                &mut self.archive,
                &mut self.entries,
                &self.file,
                self.limits,
                index,
                name,
            )
            .map(Some),
            None => Ok(None),
        }
    }
}

/// A whole log, every part of it checked.
#[derive(Debug, Clone, PartialEq)]
pub struct LogContents {
    pub header: EvalLog,
    pub samples: Vec<EvalSample>,
    pub summaries: Option<Vec<EvalSampleSummary>>,
    pub reductions: Option<Vec<EvalSampleReductions>>,
}

/// Reads the whole log at `path`; any entry that does not read or parse fails it, so nothing is returned
/// half.
pub fn read_all(path: &Path, limits: ReadLimits) -> Result<LogContents, LogError> {
    let mut reader = LogReader::open(path, limits)?;
    let samples = reader.samples().collect::<Result<Vec<_>, _>>()?;
    let summaries = reader.summaries()?;
    let reductions = reader.reductions()?;
    Ok(LogContents {
        header: reader.header,
        samples,
        summaries,
        reductions,
    })
}

/// Inspect's sample order from an entry's stem `{id}_epoch_{n}`: epoch, then id, an integer id padded so
/// 2 sorts before 10. A stem not of that form sorts last.
fn order_key(stem: &str) -> (u64, String) {
    match stem.rsplit_once("_epoch_") {
        Some((id, epoch)) => {
            let epoch = epoch.parse::<u64>().unwrap_or(u64::MAX);
            let id = if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                format!("{id:0>20}")
            } else {
                id.to_owned()
            };
            (epoch, id)
        }
        None => (u64::MAX, stem.to_owned()),
    }
}

/// What reading entries reuses: the zstd context and the buffers.
struct Entries {
    zstd: zstd::bulk::Decompressor<'static>,
    compressed: Vec<u8>,
    bytes: Vec<u8>,
}

impl Entries {
    fn new(file: &str) -> Result<Self, LogError> {
        Ok(Entries {
            zstd: zstd::bulk::Decompressor::new().map_err(|source| LogError::Io {
                file: file.to_owned(),
                source,
            })?,
            compressed: Vec::new(),
            bytes: Vec::new(),
        })
    }

    /// The entry's bytes, decompressed, at most `limit` of them.
    fn read<R: Read + Seek>(
        &mut self,
        archive: &mut ZipArchive<R>,
        file: &str,
        limit: u64,
        index: usize,
        name: &str,
    ) -> Result<&[u8], LogError> {
        let too_large = || LogError::EntryTooLarge {
            file: file.to_owned(),
            entry: name.to_owned(),
            limit,
        };
        let zip_error = |source| LogError::Entry {
            file: file.to_owned(),
            entry: name.to_owned(),
            source,
        };
        let io_error = |source| LogError::EntryIo {
            file: file.to_owned(),
            entry: name.to_owned(),
            source,
        };
        self.bytes.clear();
        let raw = archive.by_index_raw(index).map_err(zip_error)?;
        if raw.size() > limit {
            return Err(too_large());
        }
        if raw.compression() == CompressionMethod::Zstd {
            let (size, crc) = (raw.size(), raw.crc32());
            // zstd never expands data by more than a few bytes per block: more than this is not a valid entry
            // within the limit.
            let compressed_limit = limit.saturating_add(limit / 64).saturating_add(1 << 10);
            if raw.compressed_size() > compressed_limit {
                return Err(too_large());
            }
            self.compressed.clear();
            raw.take(compressed_limit)
                .read_to_end(&mut self.compressed)
                .map_err(io_error)?;
            // The declared size bounds the output: a frame that says more fails to decompress, never grows it.
            self.bytes
                .reserve(usize::try_from(size).map_err(|_| too_large())?);
            self.zstd
                .decompress_to_buffer(&self.compressed, &mut self.bytes)
                .map_err(io_error)?;
            if self.bytes.len() as u64 != size || crc32fast::hash(&self.bytes) != crc {
                return Err(io_error(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the data does not match its size and checksum",
                )));
            }
            return Ok(&self.bytes);
        }
        drop(raw);
        let entry = archive.by_index(index).map_err(zip_error)?;
        // The declared size may lie: read at most one byte past the limit to find out.
        entry
            .take(limit.saturating_add(1))
            .read_to_end(&mut self.bytes)
            .map_err(io_error)?;
        if self.bytes.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(&self.bytes)
    }
}

fn read_json<R: Read + Seek, T: DeserializeOwned>(
    archive: &mut ZipArchive<R>,
    entries: &mut Entries,
    file: &str,
    limits: ReadLimits,
    index: usize,
    name: &str,
) -> Result<T, LogError> {
    let bytes = entries.read(archive, file, limits.max_entry_bytes, index, name)?;
    serde_json::from_slice(bytes).map_err(|e| LogError::json(file, name, &e))
}
