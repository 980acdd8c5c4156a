use super::*;
use crate::sample::{Role, SampleId, Target};
use crate::score::Value;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

fn spec() -> EvalSpec {
    serde_json::from_value(json!({
        "eval_id": "e1",
        "run_id": "r1",
        "created": "2026-11-30T03:58:37+00:00",
        "task": "arith",
        "task_id": "t1",
        "task_version": 0,
        "dataset": {"name": "arith", "location": "arith.jsonl", "samples": 3, "sample_ids": [1, 2, "x"], "shuffled": false},
        "model": "openai/reference",
        "config": {"epochs": 2},
        "packages": {"prelaunch": "0.1.0"},
    }))
    .unwrap()
}

fn start() -> LogStart {
    LogStart {
        version: LOG_VERSION,
        eval: spec(),
        plan: EvalPlan::default(),
        extra: Map::new(),
    }
}

fn header() -> EvalLog {
    EvalLog {
        version: LOG_VERSION,
        status: EvalStatus::Success,
        eval: spec(),
        plan: EvalPlan::default(),
        results: Some(EvalResults {
            total_samples: 6,
            completed_samples: 6,
            scores: vec![EvalScore {
                name: "exact".into(),
                scorer: "exact".into(),
                reducer: None,
                scored_samples: Some(3),
                unscored_samples: Some(0),
                params: Map::new(),
                metrics: BTreeMap::from([(
                    "accuracy".to_owned(),
                    EvalMetric {
                        name: "accuracy".into(),
                        value: 0.5,
                        params: Map::new(),
                        metadata: None,
                        extra: Map::new(),
                    },
                )]),
                metadata: None,
                extra: Map::new(),
            }],
            extra: Map::new(),
        }),
        stats: EvalStats {
            started_at: "2026-11-30T03:58:37+00:00".into(),
            completed_at: "2026-11-30T03:58:40+00:00".into(),
            model_usage: BTreeMap::new(),
            extra: Map::new(),
        },
        error: None,
        extra: Map::new(),
    }
}

fn sample(id: SampleId, epoch: u32, answer: &str, value: Value) -> EvalSample {
    let reply = ChatMessage::text(Role::Assistant, answer);
    EvalSample {
        id,
        epoch,
        input: LogInput::Text("What is 1+1?".into()),
        choices: None,
        target: Target::One("2".into()),
        messages: vec![ChatMessage::text(Role::User, "What is 1+1?"), reply.clone()],
        output: ModelOutput {
            model: "openai/reference".into(),
            choices: vec![ChatCompletionChoice {
                message: reply,
                stop_reason: "stop".into(),
                extra: Map::new(),
            }],
            completion: answer.into(),
            usage: Some(ModelUsage {
                input_tokens: 10,
                output_tokens: 1,
                total_tokens: 11,
                ..ModelUsage::default()
            }),
            ..ModelOutput::default()
        },
        scores: Some(BTreeMap::from([(
            "exact".to_owned(),
            Score {
                value: value.into(),
                answer: Some(answer.into()),
                explanation: None,
                metadata: None,
                extra: Map::new(),
            },
        )])),
        metadata: Map::new(),
        store: Map::new(),
        events: Vec::new(),
        model_usage: BTreeMap::new(),
        total_time: Some(0.5),
        working_time: Some(0.25),
        error: None,
        extra: Map::new(),
    }
}

fn write_log(samples: &[EvalSample]) -> Vec<u8> {
    let mut writer = LogWriter::new(
        Cursor::new(Vec::new()),
        "run.eval",
        &start(),
        WriteLimits::default(),
    )
    .unwrap();
    for s in samples {
        writer.write_sample(s).unwrap();
    }
    writer.finish(&header()).unwrap().into_inner()
}

fn read(bytes: Vec<u8>) -> Result<LogReader<Cursor<Vec<u8>>>, LogError> {
    LogReader::new(Cursor::new(bytes), "run.eval", ReadLimits::default())
}

fn entry_names(bytes: &[u8]) -> Vec<String> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    archive.file_names().map(|n| n.unwrap().into_owned()).collect()
}

/// A zip of the given entries, each compressed as given.
fn zip_of(entries: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes, method) in entries {
        zip.start_file(*name, SimpleFileOptions::default().compression_method(*method))
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// `bytes` with the entry `name` marked as compressed by zip method `method` (its data left as it is).
fn with_method(mut bytes: Vec<u8>, name: &str, method: u16) -> Vec<u8> {
    // (signature, offset of the method field, offset of the name)
    let headers: [(&[u8], usize, usize); 2] = [(b"PK\x03\x04", 8, 30), (b"PK\x01\x02", 10, 46)];
    for (signature, method_at, name_at) in headers {
        let starts: Vec<usize> = bytes
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == signature)
            .map(|(i, _)| i)
            .collect();
        for start in starts {
            if bytes.get(start + name_at..start + name_at + name.len()) == Some(name.as_bytes()) {
                bytes[start + method_at..start + method_at + 2].copy_from_slice(&method.to_le_bytes());
            }
        }
    }
    bytes
}

/// `bytes` with a byte of the entry `name`'s data changed.
fn damaged(mut bytes: Vec<u8>, name: &str) -> Vec<u8> {
    let at = bytes
        .windows(name.len())
        .position(|w| w == name.as_bytes())
        .unwrap()
        + name.len()
        + 12;
    bytes[at] ^= 0x55;
    bytes
}

#[test]
fn a_written_log_reads_back_whole_in_inspects_layout_and_order() {
    let samples = vec![
        sample(SampleId::Int(10), 1, "2", Value::Correct),
        sample(SampleId::Int(2), 1, "3", Value::Incorrect),
        sample(SampleId::Text("x".into()), 1, "2", Value::Correct),
        sample(SampleId::Int(10), 2, "2", Value::Correct),
        sample(SampleId::Int(2), 2, "2", Value::Correct),
        sample(SampleId::Text("x".into()), 2, "two", Value::Partial),
    ];
    let bytes = write_log(&samples);

    let names = entry_names(&bytes);
    assert_eq!(names.first().map(String::as_str), Some(entry::START));
    assert_eq!(names.last().map(String::as_str), Some(entry::HEADER));
    assert_eq!(
        names.get(1..7).unwrap(),
        [
            "samples/10_epoch_1.json",
            "samples/2_epoch_1.json",
            "samples/x_epoch_1.json",
            "samples/10_epoch_2.json",
            "samples/2_epoch_2.json",
            "samples/x_epoch_2.json"
        ]
    );
    assert_eq!(names.get(7..9).unwrap(), [entry::SUMMARIES, entry::REDUCTIONS]);
    let archive = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
    for i in 0..archive.len() {
        assert_eq!(
            archive.by_index_data(i).unwrap().compression(),
            CompressionMethod::Zstd
        );
    }

    let mut reader = read(bytes).unwrap();
    assert_eq!(reader.header(), &header());
    assert_eq!(reader.sample_count(), 6);
    let read: Vec<EvalSample> = reader.samples().collect::<Result<_, _>>().unwrap();
    // Inspect's order: by epoch, then id with integers in numeric order.
    let order: Vec<(String, u32)> = read.iter().map(|s| (s.id.to_string(), s.epoch)).collect();
    let expected = [("2", 1), ("10", 1), ("x", 1), ("2", 2), ("10", 2), ("x", 2)];
    assert_eq!(order, expected.map(|(id, e)| (id.to_owned(), e)));
    for s in &read {
        assert!(
            samples.contains(s),
            "{} epoch {} changed on the way",
            s.id,
            s.epoch
        );
    }

    let summaries = reader.summaries().unwrap().unwrap();
    assert_eq!(summaries.len(), 6);
    assert!(
        summaries
            .iter()
            .all(|s| s.completed && s.message_count == Some(2))
    );

    let reductions = reader.reductions().unwrap().unwrap();
    let [exact] = reductions.as_slice() else {
        panic!("one scorer's reductions, got {reductions:?}")
    };
    let means: Vec<(Option<SampleId>, Option<Value>, Option<&str>)> = exact
        .samples
        .iter()
        .map(|s| (s.sample_id.clone(), s.value.as_value(), s.answer.as_deref()))
        .collect();
    assert_eq!(
        means,
        [
            (Some(SampleId::Int(2)), Some(Value::Number(0.5)), None),
            (Some(SampleId::Int(10)), Some(Value::Number(1.0)), Some("2")),
            (Some(SampleId::Text("x".into())), Some(Value::Number(0.75)), None),
        ]
    );
}

#[test]
fn a_sample_inspect_wrote_round_trips_with_every_field() {
    // As Inspect 0.3 writes a sample, with fields we do not name and score values of every kind it allows.
    let original = json!({
        "id": "q1",
        "epoch": 1,
        "input": [{"id": "m1", "content": "What is 1+1?", "source": "input", "role": "user"}],
        "target": ["2", "two"],
        "choices": ["2", "3"],
        "messages": [
            {"id": "m1", "content": "What is 1+1?", "source": "input", "role": "user"},
            {"id": "m2", "content": [{"type": "text", "text": "2"}], "source": "generate", "role": "assistant",
             "model": "mockllm/model", "tool_calls": null}
        ],
        "output": {
            "model": "mockllm/model",
            "choices": [{"message": {"id": "m2", "content": "2", "role": "assistant"}, "stop_reason": "stop"}],
            "completion": "2",
            "usage": {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12, "reasoning_tokens": 0},
            "input_context_tokens": 10,
            "time": 0.0002
        },
        "scores": {
            "exact": {"value": "C", "answer": "2", "history": []},
            "graded": {"value": 0.75, "explanation": "close", "metadata": {"grader": "g"}},
            "count": {"value": 3},
            "passed": {"value": true},
            "label": {"value": "good"},
            "parts": {"value": {"a": 1, "b": "C"}},
            "list": {"value": [1, 0]}
        },
        "metadata": {"n": 1},
        "store": {"k": "v"},
        "events": [{"event": "span_begin", "id": "s1", "name": "init", "timestamp": "2026-11-30T03:58:40+00:00"}],
        "model_usage": {"mockllm/model": {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}},
        "role_usage": {},
        "started_at": "2026-11-30T03:58:40.007283+00:00",
        "completed_at": "2026-11-30T03:58:40.743484+00:00",
        "total_time": 0.736,
        "working_time": 0.713,
        "uuid": "Y2rdNURYZUDc3S6upmKCq5",
        "error_retries": [],
        "attachments": {},
        "turn_count": 1
    });
    let sample: EvalSample = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(serde_json::to_value(&sample).unwrap(), original);

    let scores = sample.scores.as_ref().unwrap();
    // (scorer, what metrics count)
    let cases = [
        ("exact", Some(Value::Correct)),
        ("graded", Some(Value::Number(0.75))),
        ("count", Some(Value::Number(3.0))),
        ("passed", Some(Value::Correct)),
        ("label", None),
        ("parts", None),
        ("list", None),
    ];
    for (scorer, counted) in cases {
        assert_eq!(scores[scorer].value.as_value(), counted, "{scorer}");
    }
    assert_eq!(sample.messages[1].to_message().text_content(), "2");
    assert_eq!(sample.input.to_input().prompt_text(), "What is 1+1?");

    // Written into a log and read back, nothing changes either.
    let mut reader = read(write_log(std::slice::from_ref(&sample))).unwrap();
    let back = reader.samples().next().unwrap().unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), original);
    let summary = &reader.summaries().unwrap().unwrap()[0];
    assert_eq!(summary.extra["uuid"], "Y2rdNURYZUDc3S6upmKCq5");
    assert_eq!(summary.extra["retries"], 0);
}

#[test]
fn numbers_read_from_a_log_write_back_exactly() {
    // Shortest-form floats as Python prints them, with exponents outside the range of exact powers of ten.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let value = f64::from_bits(x);
        if !value.is_finite() {
            continue;
        }
        let text = serde_json::to_string(&value).unwrap();
        let back: f64 = serde_json::from_str(&text).unwrap();
        assert_eq!(back.to_bits(), value.to_bits(), "{text}");
    }
    let time: Json = serde_json::from_str("0.00020346100063761696").unwrap();
    assert_eq!(time.to_string(), "0.00020346100063761696");
}

#[test]
fn a_header_inspect_wrote_round_trips() {
    let original = json!({
        "version": 2,
        "status": "success",
        "eval": {
            "eval_id": "e", "run_id": "r", "created": "2026-11-30T03:58:37+00:00", "task": "tiny", "task_id": "t",
            "task_version": 0, "task_attribs": {}, "task_args": {},
            "dataset": {"name": "ds", "location": "ds.jsonl", "samples": 5, "sample_ids": ["q1"], "shuffled": false},
            "model": "mockllm/model", "model_generate_config": {}, "model_args": {"custom_outputs": null},
            "config": {"epochs": 2, "fail_on_error": true, "log_samples": true},
            "revision": {"type": "git", "origin": "https://example.org/r.git", "commit": "abc", "dirty": false},
            "packages": {"inspect_ai": "0.3.285"},
            "scorers": [{"name": "exact", "options": {}, "metrics": [{"name": "inspect_ai/mean", "options": {}}]}]
        },
        "plan": {"name": "plan", "steps": [{"solver": "generate", "params": {"tool_calls": "loop"}, "params_passed": {}}],
                 "config": {}},
        "results": {"total_samples": 10, "completed_samples": 10,
                    "scores": [{"name": "exact", "scorer": "exact", "scored_samples": 5, "unscored_samples": 0,
                                "params": {}, "metrics": {"mean": {"name": "mean", "value": 0.6, "params": {}}}}],
                    "headline": {"scorer": "exact", "score": "exact", "metric": "mean"}},
        "stats": {"started_at": "2026-11-30T03:58:37+00:00", "completed_at": "2026-11-30T03:58:40+00:00",
                  "model_usage": {}, "role_usage": {}, "connection_limit_history": []},
        "invalidated": false,
        "tags": [],
        "metadata": {}
    });
    let header: EvalLog = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(header.eval.dataset.samples, Some(5));
    assert_eq!(header.eval.config.epochs, Some(2));
    assert_eq!(
        header.results.as_ref().unwrap().scores[0].metrics["mean"].value,
        0.6
    );
    assert_eq!(serde_json::to_value(&header).unwrap(), original);
}

#[test]
fn a_sample_over_the_limit_is_refused_by_name_and_the_log_goes_on() {
    let limits = WriteLimits {
        max_sample_bytes: 4096,
    };
    let mut writer = LogWriter::new(Cursor::new(Vec::new()), "run.eval", &start(), limits).unwrap();
    let mut big = sample(SampleId::Text("big".into()), 1, "2", Value::Correct);
    big.metadata.insert("blob".into(), json!("x".repeat(10_000)));
    let err = writer.write_sample(&big).unwrap_err();
    assert!(
        matches!(err, LogError::SampleTooLarge { limit: 4096, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "run.eval: sample big epoch 1: its JSON is larger than the limit of 4096 bytes"
    );

    let small = sample(SampleId::Int(1), 1, "2", Value::Correct);
    writer.write_sample(&small).unwrap();
    let err = writer.write_sample(&small).unwrap_err();
    assert_eq!(err.to_string(), "run.eval: sample 1 epoch 1 is written twice");
    assert_eq!(writer.samples_written(), 1);

    let bytes = writer.finish(&header()).unwrap().into_inner();
    let mut reader = read(bytes).unwrap();
    let ids: Vec<SampleId> = reader.samples().map(|s| s.unwrap().id).collect();
    assert_eq!(ids, [SampleId::Int(1)]);
    assert_eq!(reader.summaries().unwrap().unwrap().len(), 1);
}

#[test]
fn logs_with_deflate_entries_read_too() {
    let header = serde_json::to_vec(&header()).unwrap();
    let one = serde_json::to_vec(&sample(SampleId::Int(1), 1, "2", Value::Correct)).unwrap();
    let bytes = zip_of(&[
        ("samples/1_epoch_1.json", &one, CompressionMethod::Deflated),
        ("header.json", &header, CompressionMethod::Deflated),
    ]);
    let mut reader = read(bytes).unwrap();
    assert_eq!(reader.validate().unwrap(), 1);
    assert_eq!(reader.summaries().unwrap(), None);
    assert_eq!(reader.reductions().unwrap(), None);
}

#[test]
fn bad_logs_get_errors_naming_file_entry_and_position() {
    let header_json = serde_json::to_vec(&header()).unwrap();
    let good = serde_json::to_vec(&sample(SampleId::Int(1), 1, "2", Value::Correct)).unwrap();
    let stored = CompressionMethod::Stored;
    // (case, archive, error when opening, error when reading the samples)
    type Case = (&'static str, Vec<u8>, Option<&'static str>, Option<&'static str>);
    let cases: Vec<Case> = vec![
        (
            "not a zip",
            b"{\"version\": 2}".to_vec(),
            Some("run.eval: not a readable zip archive: "),
            None,
        ),
        (
            "no header",
            zip_of(&[("samples/1_epoch_1.json", &good, stored)]),
            Some("run.eval: no header.json: not a finished Inspect log"),
            None,
        ),
        (
            "header not JSON",
            zip_of(&[("header.json", b"{\n  \"version\": 2,\n  oops", stored)]),
            Some("run.eval: header.json: line 3, column 3: key must be a string"),
            None,
        ),
        (
            "header without its spec",
            zip_of(&[("header.json", b"{\"version\": 2}", stored)]),
            Some("run.eval: header.json: line 1, column 14: missing field `eval`"),
            None,
        ),
        (
            "a sample that does not parse",
            zip_of(&[
                ("samples/1_epoch_1.json", &good, stored),
                (
                    "samples/2_epoch_1.json",
                    b"{\"id\": 2, \"epoch\": \"one\"}",
                    stored,
                ),
                ("header.json", &header_json, stored),
            ]),
            None,
            Some(
                "run.eval: samples/2_epoch_1.json: line 1, column 24: invalid type: string \"one\", expected u32",
            ),
        ),
        (
            "a compression Inspect does not use",
            with_method(
                zip_of(&[
                    ("samples/1_epoch_1.json", &good, stored),
                    ("header.json", &header_json, stored),
                ]),
                "samples/1_epoch_1.json",
                12, // bzip2
            ),
            None,
            Some("run.eval: samples/1_epoch_1.json: "),
        ),
        (
            "a zstd entry whose data was damaged",
            damaged(
                write_log(&[sample(SampleId::Int(1), 1, "2", Value::Correct)]),
                "samples/1_epoch_1.json",
            ),
            None,
            Some("run.eval: samples/1_epoch_1.json: "),
        ),
    ];
    for (case, bytes, open_error, read_error) in cases {
        match (read(bytes), open_error) {
            (Err(e), Some(expected)) => assert!(e.to_string().starts_with(expected), "{case}: {e}"),
            (Ok(_), Some(expected)) => panic!("{case}: opened, expected {expected}"),
            (Err(e), None) => panic!("{case}: {e}"),
            (Ok(mut reader), None) => {
                let e = reader.validate().unwrap_err();
                let expected = read_error.unwrap();
                assert!(e.to_string().starts_with(expected), "{case}: {e}");
            }
        }
    }
}

#[test]
fn read_all_returns_nothing_when_any_sample_is_bad_and_everything_when_none_is() {
    let dir = std::env::temp_dir().join(format!("evals-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let header_json = serde_json::to_vec(&header()).unwrap();
    let good = serde_json::to_vec(&sample(SampleId::Int(1), 1, "2", Value::Correct)).unwrap();
    let bad_path = dir.join("bad.eval");
    let bad = zip_of(&[
        ("samples/1_epoch_1.json", &good, CompressionMethod::Stored),
        ("samples/2_epoch_1.json", b"{\"id\": 2", CompressionMethod::Stored),
        ("header.json", &header_json, CompressionMethod::Stored),
    ]);
    std::fs::write(&bad_path, bad).unwrap();
    let err = read_all(&bad_path, ReadLimits::default()).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "{}: samples/2_epoch_1.json: line 1, column 8:",
            bad_path.display()
        )),
        "{err}"
    );

    // Written through a file that appears only once finished.
    let path = dir.join("good.eval");
    let mut writer = LogWriter::create(&path, &start(), WriteLimits::default()).unwrap();
    writer
        .write_sample(&sample(SampleId::Int(1), 1, "2", Value::Correct))
        .unwrap();
    let partial = writer.finish(&header()).unwrap();
    assert!(!path.exists());
    assert_eq!(partial.persist().unwrap(), path);
    let contents = read_all(&path, ReadLimits::default()).unwrap();
    assert_eq!(contents.samples.len(), 1);
    assert_eq!(contents.summaries.map(|s| s.len()), Some(1));
    assert_eq!(contents.header, header());

    // Dropped unfinished, it leaves nothing behind.
    let abandoned = dir.join("abandoned.eval");
    let mut writer = LogWriter::create(&abandoned, &start(), WriteLimits::default()).unwrap();
    writer
        .write_sample(&sample(SampleId::Int(1), 1, "2", Value::Correct))
        .unwrap();
    drop(writer);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!left.iter().any(|n| n.contains("abandoned")), "{left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn entries_past_the_read_limit_are_refused() {
    let bytes = write_log(&[sample(SampleId::Int(1), 1, "2", Value::Correct)]);
    let limits = ReadLimits {
        max_entry_bytes: 200,
        max_entries: 100,
    };
    let err = LogReader::new(Cursor::new(bytes.clone()), "run.eval", limits)
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "run.eval: header.json: larger than the limit of 200 bytes"
    );
    let limits = ReadLimits {
        max_entry_bytes: 1 << 20,
        max_entries: 3,
    };
    let err = LogReader::new(Cursor::new(bytes), "run.eval", limits)
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "run.eval: more than 3 entries");
}

#[test]
fn summaries_shorten_long_texts_and_drop_large_metadata() {
    let mut s = sample(SampleId::Int(1), 1, "2", Value::Correct);
    s.input = LogInput::Text("é".repeat(6000));
    s.metadata.insert("big".into(), json!(vec![1; 1000]));
    s.metadata.insert("small".into(), json!({"a": 1}));
    s.metadata.insert("long".into(), json!("y".repeat(2000)));
    let summary = s.summary();
    let LogInput::Text(input) = &summary.input else {
        panic!("text input")
    };
    assert_eq!(input.chars().count(), 5120 + "...\n(content truncated)".len());
    assert_eq!(summary.metadata["big"], "Key removed from summary (> 1k)");
    assert_eq!(summary.metadata["small"], json!({"a": 1}));
    assert_eq!(summary.metadata["long"].as_str().unwrap().len(), 1024 + 3);
}

/// Export speed, not a timed test: `cargo test --release -p evals --lib -- --ignored --nocapture export_speed`.
#[test]
#[ignore]
fn export_speed_of_10000_samples() {
    let samples: Vec<EvalSample> = (0..10_000)
        .map(|i| sample(SampleId::Int(i), 1, "2", Value::Correct))
        .collect();
    let path = std::env::temp_dir().join(format!("evals-speed-{}.eval", std::process::id()));
    let started = std::time::Instant::now();
    let mut writer = LogWriter::create(&path, &start(), WriteLimits::default()).unwrap();
    for s in &samples {
        writer.write_sample(s).unwrap();
    }
    writer.finish(&header()).unwrap().persist().unwrap();
    let elapsed = started.elapsed();
    let bytes = std::fs::metadata(&path).unwrap().len();
    let started = std::time::Instant::now();
    let contents = read_all(&path, ReadLimits::default()).unwrap();
    let read = started.elapsed();
    assert_eq!(contents.samples.len(), 10_000);
    std::fs::remove_file(&path).unwrap();
    println!("wrote 10000 samples in {elapsed:?} ({bytes} bytes); read them back in {read:?}");
}

#[test]
fn archive_times_are_the_runs_own() {
    use super::archive::DosTime;
    // (ISO time, DOS date and time)
    let cases = [
        (
            "2026-11-30T03:58:37+00:00",
            Some(((46 << 9) | (11 << 5) | 30, (3 << 11) | (58 << 5) | 18)),
        ),
        ("1980-01-01T00:00:00Z", Some(((1 << 5) | 1, 0))),
        ("1979-12-31T23:59:59Z", None),
        ("2026-13-01T00:00:00Z", None),
        ("yesterday", None),
    ];
    for (iso, expected) in cases {
        assert_eq!(DosTime::parse(iso).map(|t| (t.date, t.time)), expected, "{iso}");
    }
}

#[test]
fn an_archive_of_more_than_65535_entries_gets_its_zip64_records() {
    use super::archive::{Archive, DosTime};
    let mut archive = Archive::new(Cursor::new(Vec::new()), DosTime::EPOCH, 3).unwrap();
    for i in 0..70_000 {
        archive.add(&format!("e{i}"), format!("{i}").as_bytes()).unwrap();
    }
    archive.add("ünïcode.json", b"").unwrap();
    let bytes = archive.finish().unwrap().into_inner();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    assert_eq!(zip.len(), 70_001);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("e69999").unwrap(), &mut text).unwrap();
    assert_eq!(text, "69999");
    assert_eq!(zip.by_name("ünïcode.json").unwrap().size(), 0);
}
