//! The gateway's call journal: the record of every call is appended to a file in the data directory before the
//! call's answer is released, and a background task copies the journal into the database in batches.
//!
//! So an answer never waits for the database (whose commits now and then stall, for a checkpoint or a busy
//! lock), and a `kill -9` loses no record of an answered call: a completed `write` is in the kernel's page cache
//! whatever becomes of the process, and the next start copies every journal that no live process holds. A
//! power cut can lose the records not yet copied (the journal is not synced on every call); the database
//! itself gives SQLite's `synchronous=NORMAL` the same exposure.
//!
//! Layout: `<dir>/<uuid v7>.calls`, one JSON record per line. The process writing a segment holds an exclusive
//! `flock` on it for as long as the file exists, so another process (sharing the data directory, or started
//! after a crash) takes over only the segments of processes that are gone. A segment is removed once every
//! record in it is committed; records are inserted by id, so copying one twice is harmless.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use store::{GatewayCall, GatewayTranscript, Store};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

/// A segment is closed and a new one started once it holds this many bytes.
const SEGMENT_BYTES: u64 = 16 << 20;
/// Records not yet in the database, in bytes, beyond which calls are refused rather than recorded.
const MAX_BACKLOG_BYTES: u64 = 1 << 30;
/// Records written to the database in one transaction at most.
const BATCH: usize = 512;
/// How long the copier lets records gather after the first arrives, so that a busy gateway writes one
/// transaction per 50 ms instead of one per call: each transaction costs the database (and this process) a few
/// round trips however many calls it holds, CPU that the calls in flight would otherwise wait for on a small
/// machine. A reader waiting for the records (`settle`) cuts the gathering short.
const GATHER: Duration = Duration::from_millis(50);
/// How often the copier looks for segments left by processes that are gone.
const ORPHAN_SCAN: Duration = Duration::from_secs(30);
/// The longest wait between retries of a failed database write.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);
/// The file name ending of a journal segment.
const SUFFIX: &str = "calls";

/// One call's record as journalled.
#[derive(Serialize, Deserialize)]
struct Entry {
    call: GatewayCall,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    transcript: Option<TranscriptEntry>,
}

#[derive(Serialize, Deserialize)]
struct TranscriptEntry {
    request_sha256: String,
    response_sha256: String,
    /// The sealed request and response, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<String>,
}

impl Entry {
    fn new(call: GatewayCall, transcript: Option<GatewayTranscript>) -> Entry {
        Entry {
            call,
            transcript: transcript.map(|t| TranscriptEntry {
                request_sha256: t.request_sha256,
                response_sha256: t.response_sha256,
                sealed: t.sealed.map(|s| STANDARD.encode(s)),
            }),
        }
    }

    fn into_parts(self) -> Result<(GatewayCall, Option<GatewayTranscript>), String> {
        let transcript = match self.transcript {
            None => None,
            Some(t) => Some(GatewayTranscript {
                call_id: self.call.id,
                request_sha256: t.request_sha256,
                response_sha256: t.response_sha256,
                sealed: match t.sealed {
                    None => None,
                    Some(s) => Some(
                        STANDARD
                            .decode(s)
                            .map_err(|e| format!("sealed transcript: {e}"))?,
                    ),
                },
            }),
        };
        Ok((self.call, transcript))
    }
}

/// Splits the complete lines off the front of `buffer`, leaving a trailing partial line in it.
fn complete_lines(buffer: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let Some(end) = buffer.iter().rposition(|&b| b == b'\n') else {
        return Vec::new();
    };
    let rest = buffer.split_off(end + 1);
    let whole = std::mem::replace(buffer, rest);
    whole
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Parses journal lines; a line that does not parse is logged and skipped (it cannot be recorded anyway).
fn parse(lines: &[Vec<u8>], segment: &Path) -> (Vec<GatewayCall>, Vec<GatewayTranscript>) {
    let mut calls = Vec::with_capacity(lines.len());
    let mut transcripts = Vec::new();
    for line in lines {
        let parsed = serde_json::from_slice::<Entry>(line)
            .map_err(|e| e.to_string())
            .and_then(Entry::into_parts);
        match parsed {
            Ok((call, transcript)) => {
                calls.push(call);
                transcripts.extend(transcript);
            }
            Err(error) => tracing::error!(
                segment = %segment.display(),
                %error,
                "skipped an unreadable call record in the journal"
            ),
        }
    }
    (calls, transcripts)
}

/// A segment written by this process, kept open (and locked) until it is removed.
struct Segment {
    path: PathBuf,
    file: File,
}

struct Writer {
    /// Oldest first; the last is the one being written. Empty once the journal is closed.
    segments: VecDeque<Segment>,
    /// Bytes in the last segment.
    len: u64,
    /// Records appended since start.
    appended: u64,
}

/// The journal of one process.
pub struct CallJournal {
    dir: PathBuf,
    writer: Mutex<Writer>,
    /// Bytes appended and not yet committed.
    backlog: AtomicU64,
    /// Records committed since start (they are committed in the order they were appended).
    committed: watch::Sender<u64>,
    wake: Notify,
    /// Someone waits for the records (`settle`): the copier stops gathering and writes what it has.
    hurry: Notify,
}

impl CallJournal {
    /// Opens a new segment in `dir` (created private when missing).
    pub fn open(dir: &Path) -> io::Result<CallJournal> {
        create_private_dir(dir)?;
        let segment = new_segment(dir)?;
        Ok(CallJournal {
            dir: dir.to_owned(),
            writer: Mutex::new(Writer {
                segments: VecDeque::from([segment]),
                len: 0,
                appended: 0,
            }),
            backlog: AtomicU64::new(0),
            committed: watch::Sender::new(0),
            wake: Notify::new(),
            hurry: Notify::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a call's record; once this returns, the record survives the process.
    pub fn append(&self, call: GatewayCall, transcript: Option<GatewayTranscript>) -> io::Result<()> {
        let mut line = serde_json::to_vec(&Entry::new(call, transcript)).map_err(io::Error::other)?;
        line.push(b'\n');
        let size = line.len() as u64;
        if self.backlog.load(Ordering::Relaxed) + size > MAX_BACKLOG_BYTES {
            return Err(io::Error::other(format!(
                "more than {} MiB of call records are waiting for the database",
                MAX_BACKLOG_BYTES >> 20
            )));
        }
        let mut writer = self.writer();
        if writer.len >= SEGMENT_BYTES {
            let segment = new_segment(&self.dir)?;
            writer.segments.push_back(segment);
            writer.len = 0;
        }
        let Some(segment) = writer.segments.back_mut() else {
            return Err(io::Error::other("the call journal is closed"));
        };
        segment.file.write_all(&line)?;
        writer.len += size;
        writer.appended += 1;
        drop(writer);
        self.backlog.fetch_add(size, Ordering::Relaxed);
        self.wake.notify_one();
        Ok(())
    }

    /// Waits (at most `limit`) until every record appended so far is in the database; false on timeout.
    pub async fn settle(&self, limit: Duration) -> bool {
        let target = self.writer().appended;
        let mut committed = self.committed.subscribe();
        if *committed.borrow() < target {
            self.hurry.notify_one();
        }
        tokio::time::timeout(limit, committed.wait_for(|&n| n >= target))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Copies the journal into the database as it grows; runs until the journal is closed and drained.
    pub async fn run(self: Arc<Self>, store: Arc<dyn Store>) {
        let mut copier = Copier {
            journal: self.clone(),
            store,
            reading: None,
            buffer: Vec::new(),
        };
        let mut last_scan = tokio::time::Instant::now();
        loop {
            let woken = self.wake.notified();
            let open = copier.drain().await;
            if !open {
                return;
            }
            if last_scan.elapsed() >= ORPHAN_SCAN {
                last_scan = tokio::time::Instant::now();
                if let Err(error) = recover(&self.dir, copier.store.as_ref()).await {
                    tracing::error!(%error, "copying call journals left by other processes failed");
                }
            }
            if tokio::time::timeout(ORPHAN_SCAN, woken).await.is_ok() {
                tokio::select! {
                    _ = tokio::time::sleep(GATHER) => {}
                    _ = self.hurry.notified() => {}
                }
            }
        }
    }

    /// Stops taking records, waits (at most `limit`) until the copier has written every one, and removes the
    /// segments it emptied. Whatever is left is copied by the next start.
    pub async fn close(&self, limit: Duration) -> bool {
        let settled = self.settle(limit).await;
        let mut writer = self.writer();
        if settled {
            for segment in writer.segments.drain(..) {
                remove_segment(segment);
            }
        } else {
            // Leave the files for the next start; closing the handles releases their locks.
            writer.segments.clear();
        }
        drop(writer);
        self.wake.notify_one();
        settled
    }
}

/// Copies this process's segments into the database, oldest first.
struct Copier {
    journal: Arc<CallJournal>,
    store: Arc<dyn Store>,
    /// The segment being read, its reading handle.
    reading: Option<(PathBuf, File)>,
    /// Bytes read and not yet parsed (a partial last line).
    buffer: Vec<u8>,
}

impl Copier {
    /// Copies everything written so far; false once the journal is closed.
    async fn drain(&mut self) -> bool {
        loop {
            let (front, last) = {
                let writer = self.journal.writer();
                match writer.segments.front() {
                    None => return false,
                    Some(s) => (s.path.clone(), writer.segments.len() == 1),
                }
            };
            if self.reading.as_ref().is_none_or(|(path, _)| *path != front) {
                match File::open(&front) {
                    Ok(file) => self.reading = Some((front.clone(), file)),
                    Err(error) => {
                        tracing::error!(segment = %front.display(), %error, "cannot read the call journal");
                        return true;
                    }
                }
                self.buffer.clear();
            }
            let Some((_, file)) = self.reading.as_mut() else {
                return true;
            };
            let before = self.buffer.len();
            if let Err(error) = file.read_to_end(&mut self.buffer) {
                tracing::error!(segment = %front.display(), %error, "cannot read the call journal");
                return true;
            }
            let lines = complete_lines(&mut self.buffer);
            if lines.is_empty() {
                if last || self.buffer.len() > before {
                    // Caught up with the writer (or in the middle of one of its writes).
                    return true;
                }
                // A finished segment, wholly copied.
                if !self.buffer.is_empty() {
                    tracing::error!(segment = %front.display(), "dropped a torn record at the end of a segment");
                    self.buffer.clear();
                }
                self.reading = None;
                let mut writer = self.journal.writer();
                if writer.segments.front().is_some_and(|s| s.path == front)
                    && let Some(segment) = writer.segments.pop_front()
                {
                    remove_segment(segment);
                }
                continue;
            }
            let bytes: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
            for chunk in lines.chunks(BATCH) {
                let (calls, transcripts) = parse(chunk, &front);
                write_until_done(self.store.as_ref(), &calls, &transcripts).await;
                self.journal.committed.send_modify(|n| *n += chunk.len() as u64);
            }
            self.journal.backlog.fetch_sub(bytes, Ordering::Relaxed);
        }
    }
}

/// Writes a batch, retrying with growing waits while the database refuses it (the records wait in the journal
/// meanwhile, and answers go on).
async fn write_until_done(store: &dyn Store, calls: &[GatewayCall], transcripts: &[GatewayTranscript]) {
    let mut wait = Duration::from_millis(20);
    let mut failures = 0u32;
    loop {
        match store.record_gateway_calls(calls, transcripts).await {
            Ok(()) => {
                if failures > 0 {
                    tracing::info!(failures, "recording gateway calls works again");
                }
                return;
            }
            Err(error) => {
                failures += 1;
                // The first failure and then one in ten, so a long outage does not flood the log.
                if failures % 10 == 1 {
                    tracing::error!(%error, calls = calls.len(), failures, "recording gateway calls failed; retrying");
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_RETRY_WAIT);
            }
        }
    }
}

/// Copies into the database, and removes, every segment in `dir` that no live process holds; returns the
/// number of records copied.
pub async fn recover(dir: &Path, store: &dyn Store) -> io::Result<usize> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == SUFFIX) {
            paths.push(path);
        }
    }
    // Oldest first: the names are time-ordered.
    paths.sort();
    let mut copied = 0;
    for path in paths {
        let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            // Removed meanwhile by its owner.
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(error)) => return Err(error),
        }
        let mut buffer = Vec::new();
        file.read_to_end(&mut buffer)?;
        let lines = complete_lines(&mut buffer);
        if !buffer.is_empty() {
            // A write cut short by the crash: its call was never answered.
            tracing::warn!(segment = %path.display(), "dropped a torn record at the end of a journal");
        }
        for chunk in lines.chunks(BATCH) {
            let (calls, transcripts) = parse(chunk, &path);
            store
                .record_gateway_calls(&calls, &transcripts)
                .await
                .map_err(|e| io::Error::other(format!("recording calls from {}: {e}", path.display())))?;
            copied += calls.len();
        }
        match std::fs::remove_file(&path) {
            // Its owner removed it just after copying it too (the records are inserted by id: no harm).
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            other => other?,
        }
        if !lines.is_empty() {
            tracing::info!(segment = %path.display(), records = lines.len(), "copied a call journal left by a stopped process");
        }
    }
    Ok(copied)
}

/// Creates, locks and returns a new segment (readable by this user only).
fn new_segment(dir: &Path) -> io::Result<Segment> {
    let path = dir.join(format!("{}.{SUFFIX}", Uuid::now_v7()));
    let mut options = OpenOptions::new();
    options.append(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path)?;
    file.try_lock().map_err(|e| match e {
        TryLockError::WouldBlock => io::Error::other("a new journal segment is locked by another process"),
        TryLockError::Error(error) => error,
    })?;
    Ok(Segment { path, file })
}

/// Removes a wholly copied segment; its lock goes with its handle, after the name is gone.
fn remove_segment(segment: Segment) {
    if let Err(error) = std::fs::remove_file(&segment.path) {
        tracing::error!(segment = %segment.path.display(), %error, "cannot remove a copied journal segment");
    }
    drop(segment.file);
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_lines_keep_a_partial_tail() {
        /// Input, the complete lines split off, and what is left.
        type Case = (&'static [u8], &'static [&'static [u8]], &'static [u8]);
        let cases: &[Case] = &[
            (b"", &[], b""),
            (b"abc", &[], b"abc"),
            (b"abc\n", &[b"abc"], b""),
            (b"a\nb\nc", &[b"a", b"b"], b"c"),
            (b"a\n\nb\n", &[b"a", b"b"], b""),
            (b"\n", &[], b""),
        ];
        for (input, lines, rest) in cases {
            let mut buffer = input.to_vec();
            let got = complete_lines(&mut buffer);
            let want: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
            assert_eq!(got, want, "lines of {:?}", String::from_utf8_lossy(input));
            assert_eq!(
                buffer,
                rest.to_vec(),
                "rest of {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    fn call() -> GatewayCall {
        GatewayCall {
            id: Uuid::now_v7(),
            token_id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            org_id: Uuid::new_v4(),
            notice_id: Uuid::new_v4(),
            connection_id: None,
            endpoint: "chat/completions".into(),
            model: "lab-model".into(),
            started_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            day: "2027-01-15".into(),
            status: 200,
            error_code: None,
            stream: true,
            input_tokens: Some(12),
            output_tokens: Some(34),
            latency_ms: 1.5,
            ttft_ms: Some(0.5),
        }
    }

    #[test]
    fn records_round_trip_and_unreadable_lines_are_skipped() {
        let sealed = GatewayTranscript {
            call_id: Uuid::nil(),
            request_sha256: "a".repeat(64),
            response_sha256: "b".repeat(64),
            sealed: Some(vec![0, 1, 2, 255, b'\n']),
        };
        let (first, second) = (call(), call());
        let mut lines = Vec::new();
        for entry in [
            Entry::new(first.clone(), Some(sealed.clone())),
            Entry::new(second.clone(), None),
        ] {
            lines.push(serde_json::to_vec(&entry).unwrap());
        }
        assert!(lines.iter().all(|l| !l.contains(&b'\n')), "one record, one line");
        lines.insert(1, b"{\"call\": 42}".to_vec());
        lines.push(b"not json".to_vec());
        let (calls, transcripts) = parse(&lines, Path::new("test.calls"));
        let ids: Vec<Uuid> = calls.iter().map(|c| c.id).collect();
        assert_eq!(ids, [first.id, second.id]);
        assert_eq!(calls[0].ttft_ms, Some(0.5));
        assert_eq!(calls[1].input_tokens, Some(12));
        assert_eq!(transcripts.len(), 1);
        assert_eq!(
            transcripts[0].call_id, first.id,
            "a transcript belongs to its call"
        );
        assert_eq!(transcripts[0].sealed, sealed.sealed);
        assert_eq!(transcripts[0].request_sha256, sealed.request_sha256);
    }

    #[test]
    fn a_segment_is_private_and_locked_by_its_writer() {
        let dir = std::env::temp_dir().join(format!("prelaunch-journal-{}", Uuid::new_v4()));
        let journal = CallJournal::open(&dir).unwrap();
        let path = journal.writer().segments[0].path.clone();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let other = File::open(&path).unwrap();
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        drop(journal);
        other.try_lock().expect("the lock goes with the writer");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
