//! Runs as Inspect `.eval` logs, both ways.
//!
//! Export: a run's whole log, however many workers recorded it, streamed as it is written. Its results are
//! summarised first from the stored records with their transcripts dropped; then the records are read again page
//! by page and written one at a time ([`evals::export`]), the archive's bytes sent on in chunks. A failure
//! half-way (a page that does not read) ends the stream with an error before the archive's directory, so what
//! a client received is never a whole log. A run imported from a log exports as that log: its own start, header
//! and reductions, and each sample's JSON as it was given.
//!
//! Import: an assigned evaluator gives a log; it is checked whole ([`evals::import`]) and stored as one
//! completed run, with its results, in one transaction, or refused naming the entry at fault.

use super::runs::{compress, decompress, internal};
use crate::{App, AppError, AppResult, Caller, policy};
use bytes::Bytes;
use evals::export::{self, RunInfo, RunLog};
use evals::import::{self, ImportLimits, ORIGINAL};
use evals::inspect_log::{
    EvalLog, EvalSample, EvalSampleReductions, EvalStatus, LogStart, LogWriter, WriteLimits,
};
use evals::runner::{self, SampleRecord};
use evals::sample::Sample;
use evals::solve::Plan;
use evals::task::{MAX_EPOCHS, TaskFile};
use futures_util::stream::{self, BoxStream, StreamExt};
use review::ValidationError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::io::{self, Write};
use store::{EvalResultRow, EvalRunRow, EvalRunState, ImportedRun};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::EvalRunView;

/// The largest log a request may carry.
pub const IMPORT_LIMIT: usize = 32 << 20;
/// Bounds on what an imported log holds.
pub const IMPORT_LIMITS: ImportLimits = ImportLimits {
    max_entry_bytes: 16 << 20,
    max_total_bytes: 256 << 20,
    max_entries: 50_000,
    max_ratio: 200,
    max_items: super::runs::MAX_ITEMS,
    max_epochs: MAX_EPOCHS,
};
/// The longest task or model name an imported log may give.
const NAME_LIMIT: usize = 200;
/// Results read from the store at a time.
const PAGE: i64 = 256;
/// The bytes of the archive sent on at a time.
const CHUNK: usize = 256 << 10;

/// A log on its way to the caller: its file name (Inspect's naming) and its bytes.
pub struct LogDownload {
    pub file_name: String,
    pub body: BoxStream<'static, Result<Bytes, io::Error>>,
}

/// What an imported run keeps of its log besides the samples.
#[derive(Serialize, Deserialize)]
struct StoredLog {
    start: LogStart,
    header: EvalLog,
    reductions: Vec<EvalSampleReductions>,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    ValidationError::new(field, message).into()
}

/// A time as Inspect writes it: ISO 8601 to the second, with its offset.
fn iso(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// What the records' reader sends the archive's writer.
enum Page {
    Record(Vec<u8>),
    Failed(String),
    End,
}

/// The archive's bytes, sent on in chunks; the last chunk is sent only by [`Chunks::finish`], so a log
/// whose records did not all arrive never ends whole.
struct Chunks {
    buffer: Vec<u8>,
    out: mpsc::Sender<Result<Bytes, io::Error>>,
}

impl Chunks {
    fn send(&mut self) -> io::Result<()> {
        let chunk = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK)));
        self.out
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    fn finish(mut self) -> io::Result<()> {
        self.send()
    }
}

impl Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl App {
    /// The run's whole log as an Inspect `.eval`, streamed. Visible as the run is.
    pub async fn export_eval_run_log(&self, caller: &Caller, id: Uuid) -> AppResult<LogDownload> {
        let run = self.visible_eval_run(caller, id).await?;
        let created = iso(run.created_at);
        let file_name = export::file_name(&created, &run.name, &run.id.to_string());
        if let Some(stored) = self.store.eval_import_log(id).await? {
            let stored: StoredLog = serde_json::from_slice(&decompress(&stored).map_err(internal)?)
                .map_err(|e| internal(format!("an imported run's log does not read back: {e}")))?;
            let body = self.stream_log(id, file_name.clone(), move |sink, records, name| {
                let mut writer = LogWriter::new(sink, name, &stored.start, WriteLimits::default())
                    .map_err(|e| e.to_string())?;
                for bytes in records {
                    let mut record: serde_json::Value =
                        serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
                    let original = record
                        .get_mut(ORIGINAL)
                        .map(serde_json::Value::take)
                        .ok_or("an imported record has no sample")?;
                    let sample: EvalSample = serde_json::from_value(original).map_err(|e| e.to_string())?;
                    writer.write_sample(&sample).map_err(|e| e.to_string())?;
                }
                writer
                    .finish_with_reductions(&stored.header, &stored.reductions)
                    .map_err(|e| e.to_string())
            });
            return Ok(LogDownload { file_name, body });
        }
        let samples = self.run_samples(id).await.map_err(internal)?;
        let spec = TaskFile::parse(&run.task).map_err(|_| internal("a stored task does not parse".into()))?;
        let spec = TaskFile {
            epochs: u32::try_from(run.epochs).unwrap_or(1),
            ..spec
        };
        let plan = Plan::new(spec).map_err(internal)?;
        // The results first, from records without their transcripts: a number or two per item in memory.
        let mut light = Vec::new();
        let mut after = None;
        loop {
            let rows = self.store.list_eval_results(id, after, PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = Some((last.sample_index, last.epoch));
            for row in rows {
                let mut record: SampleRecord =
                    serde_json::from_slice(&decompress(&row.record).map_err(internal)?)
                        .map_err(|e| internal(e.to_string()))?;
                if let Some(attempt) = record.attempt.as_mut() {
                    attempt.messages = Vec::new();
                    attempt.answer = String::new();
                }
                light.push(record);
            }
        }
        let results = runner::summarize(&plan, &samples, &light);
        drop(light);
        let (status, error) = match run.state {
            EvalRunState::Completed => (EvalStatus::Success, None),
            EvalRunState::Cancelled => (EvalStatus::Cancelled, None),
            EvalRunState::Stopped => (EvalStatus::Error, run.reason.clone()),
            EvalRunState::Queued | EvalRunState::Running => (EvalStatus::Started, None),
        };
        let started = iso(run.started_at.unwrap_or(run.created_at));
        let completed = iso(run.ended_at.unwrap_or(run.created_at));
        let run_id = run.id.to_string();
        let model = run.model.clone();
        let body = self.stream_log(id, file_name.clone(), move |sink, records, name| {
            let log = RunLog {
                spec: &plan.spec,
                samples: &samples,
                results: &results,
                info: RunInfo {
                    run_id: &run_id,
                    eval_id: &run_id,
                    model: &model,
                    created: &created,
                    started_at: &started,
                    completed_at: &completed,
                    status,
                    error: error.as_deref(),
                    location: None,
                    version: env!("CARGO_PKG_VERSION"),
                },
            };
            let mut failed = None;
            let parsed = records.map_while(|bytes| match serde_json::from_slice::<SampleRecord>(&bytes) {
                Ok(record) => Some(record),
                Err(e) => {
                    failed = Some(e.to_string());
                    None
                }
            });
            let sink = export::write_log(sink, name, &log, parsed, WriteLimits::default())
                .map_err(|e| e.to_string())?;
            match failed {
                Some(e) => Err(e),
                None => Ok(sink),
            }
        });
        Ok(LogDownload { file_name, body })
    }

    /// Streams a log: one task reads the run's records page by page, a blocking thread writes the archive with
    /// `write` (given the sink, the records' JSON one at a time, and the file's name), its bytes sent on.
    fn stream_log<F>(
        &self,
        id: Uuid,
        file_name: String,
        write: F,
    ) -> BoxStream<'static, Result<Bytes, io::Error>>
    where
        F: FnOnce(Chunks, &mut dyn Iterator<Item = Vec<u8>>, &str) -> Result<Chunks, String> + Send + 'static,
    {
        let (records_tx, mut records_rx) = mpsc::channel::<Page>(64);
        let (body_tx, body_rx) = mpsc::channel::<Result<Bytes, io::Error>>(4);
        let app = self.clone();
        tokio::spawn(async move {
            let mut after = None;
            loop {
                let rows = match app.store.list_eval_results(id, after, PAGE).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = records_tx.send(Page::Failed(e.to_string())).await;
                        return;
                    }
                };
                let Some(last) = rows.last() else { break };
                after = Some((last.sample_index, last.epoch));
                for row in rows {
                    let page = match decompress(&row.record) {
                        Ok(bytes) => Page::Record(bytes),
                        Err(e) => Page::Failed(e),
                    };
                    let stop = matches!(page, Page::Failed(_));
                    if records_tx.send(page).await.is_err() || stop {
                        return;
                    }
                }
            }
            let _ = records_tx.send(Page::End).await;
        });
        tokio::task::spawn_blocking(move || {
            let mut failure: Option<String> = None;
            let mut ended = false;
            let mut records = std::iter::from_fn(|| match records_rx.blocking_recv() {
                Some(Page::Record(bytes)) => Some(bytes),
                Some(Page::Failed(e)) => {
                    failure = Some(e);
                    None
                }
                Some(Page::End) => {
                    ended = true;
                    None
                }
                None => None,
            });
            let sink = Chunks {
                buffer: Vec::with_capacity(CHUNK),
                out: body_tx.clone(),
            };
            let written = write(sink, &mut records, &file_name);
            let outcome = match (written, failure, ended) {
                (Ok(sink), None, true) => sink.finish().map_err(|e| e.to_string()),
                (Ok(_), Some(e), _) | (Err(e), _, _) => Err(e),
                (Ok(_), None, false) => Err("the run's records stopped arriving".to_owned()),
            };
            if let Err(e) = outcome {
                tracing::warn!(run = %id, error = %e, "exporting a run's log failed");
                let _ = body_tx.blocking_send(Err(io::Error::other("the log could not be written whole")));
            }
        });
        stream::unfold(
            body_rx,
            |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
        )
        .boxed()
    }

    /// Imports an Inspect `.eval` log as a completed run on a notice: only an assigned evaluator, all or nothing.
    pub async fn import_eval_log(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        body: Bytes,
    ) -> AppResult<EvalRunView> {
        let (notice, _) = self.visible_notice(caller, notice_id).await?;
        if !policy::can_start_eval_run(caller, self.is_assigned(caller, notice_id).await?) {
            return Err(AppError::Forbidden(
                "only evaluators assigned to this notice import evaluation logs to it",
            ));
        }
        Self::check_not_withdrawn(&notice)?;
        let log = tokio::task::spawn_blocking(move || import::read_log(&body, "log", IMPORT_LIMITS))
            .await
            .map_err(|e| AppError::Internal(Box::new(e)))?
            .map_err(|e| invalid("log", e.0))?;
        if log.items.is_empty() {
            return Err(invalid("log", "log: holds no samples"));
        }
        let name = log.header.eval.task.clone();
        for (what, value) in [("eval.task", &name), ("eval.model", &log.header.eval.model)] {
            if value.trim().is_empty() || value.chars().count() > NAME_LIMIT {
                return Err(invalid(
                    "log",
                    format!("log: header.json: {what} must be 1 to {NAME_LIMIT} characters"),
                ));
            }
        }
        let task = format!(
            "name = {}\ndescription = \"Imported from an Inspect log\"\ndataset = \"log.eval\"\nepochs = {}\n",
            serde_json::to_string(&name).map_err(|e| AppError::Internal(Box::new(e)))?,
            log.epochs
        );
        TaskFile::parse(&task).map_err(|problems| {
            let said: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
            invalid("log", format!("log: header.json: the task: {}", said.join("; ")))
        })?;
        let id = Uuid::now_v7();
        let now = self.clock.now();
        let samples: &[Sample] = &log.samples;
        let stored_samples =
            compress(&serde_json::to_vec(samples).map_err(|e| AppError::Internal(Box::new(e)))?)?;
        let mut results = Vec::with_capacity(log.items.len());
        let (mut errors, mut scored, mut score_sum) = (0i64, 0i64, 0.0f64);
        for item in &log.items {
            match item.value {
                Some(v) => {
                    scored += 1;
                    score_sum += v;
                }
                None => errors += 1,
            }
            let bytes = serde_json::to_vec(&item.record).map_err(|e| AppError::Internal(Box::new(e)))?;
            results.push(EvalResultRow {
                run_id: id,
                sample_index: i32::try_from(item.item.index).map_err(|e| AppError::Internal(Box::new(e)))?,
                epoch: i32::try_from(item.item.epoch).map_err(|e| AppError::Internal(Box::new(e)))?,
                sample_id: item.sample_id.to_string(),
                value: item.value,
                error: item.error.clone(),
                record: compress(&bytes)?,
                created_at: now,
            });
        }
        let total = i64::try_from(results.len()).unwrap_or(i64::MAX);
        let run = EvalRunRow {
            id,
            notice_id,
            user_id: caller.user_id(),
            org_id: caller.org_id(),
            token_id: Uuid::now_v7(),
            name: name.clone(),
            task,
            model: log.header.eval.model.clone(),
            epochs: i32::try_from(log.epochs).unwrap_or(1),
            seed: 0,
            state: EvalRunState::Completed,
            reason: None,
            total,
            done: total,
            errors,
            scored,
            score_sum,
            created_at: now,
            started_at: Some(now),
            ended_at: Some(now),
            version: 1,
            suite: None,
            suite_digest: None,
        };
        let stored = StoredLog {
            start: log.start,
            header: log.header,
            reductions: log.reductions,
        };
        let stored = compress(&serde_json::to_vec(&stored).map_err(|e| AppError::Internal(Box::new(e)))?)?;
        let event = self.event(
            caller.into(),
            "eval_run.import",
            "eval_run",
            Some(id),
            json!({"notice": notice_id, "name": run.name, "model": run.model, "items": total}),
        );
        self.store
            .import_eval_run(
                &ImportedRun {
                    run: &run,
                    samples: &stored_samples,
                    results: &results,
                    log: &stored,
                },
                &event,
            )
            .await?;
        self.get_eval_run(caller, id).await
    }
}
