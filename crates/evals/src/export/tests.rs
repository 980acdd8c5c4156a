use super::*;
use crate::inspect_log::{LogReader, ReadLimits};
use crate::runner::{WorkItem, summarize};
use crate::sample::{Input, Message, SampleId, Target};
use crate::solve::{Attempt, Plan};
use std::io::Cursor;

fn task() -> TaskFile {
    TaskFile::parse(
        "name = \"arith\"\ndataset = \"arith.jsonl\"\nepochs = 2\nreducers = [\"mean\", \"at_least_2\"]\n\
         group_by = [\"level\"]\n[limits]\nmessages = 4\n",
    )
    .unwrap()
}

fn samples() -> Vec<Sample> {
    vec![
        Sample {
            id: SampleId::Int(7),
            input: Input::Text("What is 1+1?".into()),
            target: Target::One("2".into()),
            choices: None,
            metadata: Some(Map::from_iter([("level".to_owned(), json!("easy"))])),
            files: None,
            setup: None,
        },
        Sample {
            id: SampleId::Text("b".into()),
            input: Input::Messages(vec![
                Message::text(Role::System, "Be brief."),
                Message::text(Role::User, "What is 2+2?"),
            ]),
            target: Target::Many(vec!["4".into(), "four".into()]),
            choices: Some(vec!["3".into(), "4".into()]),
            metadata: None,
            files: None,
            setup: None,
        },
    ]
}

/// Sample 0 right in both epochs; sample 1 wrong in epoch 1 and failed in epoch 2.
fn records(samples: &[Sample]) -> Vec<SampleRecord> {
    let answered = |index: usize, epoch: u32, answer: &str, value: score::Value| {
        let sample = &samples[index];
        let mut messages = sample.input.messages();
        messages.push(Message::text(Role::Assistant, answer));
        SampleRecord {
            item: WorkItem { index, epoch },
            sample_id: sample.id.clone(),
            target: sample.target.clone(),
            attempt: Some(Attempt {
                messages,
                answer: answer.into(),
                usage: Usage {
                    input_tokens: 10,
                    output_tokens: 1,
                },
                score: Some(score::Score {
                    value,
                    answer: Some(answer.into()),
                    explanation: None,
                }),
                shown_choices: None,
                limit: None,
                error: None,
                grading: None,
            }),
            error: None,
            seconds: 0.25,
        }
    };
    let mut failed = answered(1, 2, "", score::Value::Incorrect);
    failed.attempt = None;
    failed.error = Some("calls kept failing".into());
    vec![
        answered(0, 1, "2", score::Value::Correct),
        answered(1, 1, "5", score::Value::Incorrect),
        answered(0, 2, "2", score::Value::Correct),
        failed,
    ]
}

#[test]
fn a_run_becomes_a_log_with_every_record_score_and_metric() {
    let spec = task();
    let plan = Plan::new(spec.clone()).unwrap();
    let samples = samples();
    let records = records(&samples);
    let results = summarize(&plan, &samples, &records);
    let run = RunLog {
        spec: &spec,
        samples: &samples,
        results: &results,
        info: RunInfo {
            run_id: "run-1",
            eval_id: "eval-1",
            model: "openai/ref",
            created: "2026-11-30T05:00:00+00:00",
            started_at: "2026-11-30T05:00:00+00:00",
            completed_at: "2026-11-30T05:00:01+00:00",
            status: EvalStatus::Success,
            error: None,
            location: Some("arith.jsonl"),
            version: "1.2.3",
        },
    };
    // Records arrive as an iterator of references, in the order they ended.
    let bytes = write_log(
        Vec::new(),
        "arith.eval",
        &run,
        records.iter(),
        WriteLimits::default(),
    )
    .unwrap();
    let mut log = LogReader::new(Cursor::new(bytes), "arith.eval", ReadLimits::default()).unwrap();
    let header = log.header().clone();
    assert_eq!(header.status, EvalStatus::Success);
    assert_eq!(
        (header.eval.run_id.as_str(), header.eval.task.as_str()),
        ("run-1", "arith")
    );
    assert_eq!(header.eval.config.epochs, Some(2));
    assert_eq!(header.eval.config.message_limit, Some(4));
    assert_eq!(
        header.eval.dataset.sample_ids,
        Some(vec![SampleId::Int(7), SampleId::Text("b".into())])
    );
    assert_eq!(header.plan.steps[0].solver, "generate");
    assert_eq!(header.stats.model_usage["openai/ref"].total_tokens, 33);
    let results = header.results.unwrap();
    assert_eq!((results.total_samples, results.completed_samples), (4, 3));
    let by_reducer: BTreeMap<_, _> = results
        .scores
        .iter()
        .map(|s| (s.reducer.clone().unwrap(), s))
        .collect();
    // Mean: sample 7 is 1, sample b 0 (its failed epoch left out); at least 2: 1 and 0.
    for reducer in ["mean", "at_least_2"] {
        let score = by_reducer[reducer];
        assert_eq!((score.name.as_str(), score.scorer.as_str()), ("exact", "exact"));
        assert_eq!(score.metrics["accuracy"].value, 0.5, "{reducer}");
        assert!((score.metrics["stderr"].value - 0.5).abs() < 1e-12, "{reducer}");
        assert_eq!(score.scored_samples, Some(2));
    }
    assert!(by_reducer["mean"].metadata.as_ref().unwrap()["group_by_level"]["easy"]["n"] == 1);

    let written: Vec<EvalSample> = log.samples().map(Result::unwrap).collect();
    assert_eq!(written.len(), 4);
    let find = |id: &SampleId, epoch: u32| written.iter().find(|s| &s.id == id && s.epoch == epoch).unwrap();
    let first = find(&SampleId::Int(7), 1);
    assert_eq!(first.input, LogInput::Text("What is 1+1?".into()));
    assert_eq!(first.messages.len(), 2);
    assert_eq!(first.output.completion, "2");
    assert_eq!(first.output.choices[0].message.content, json!("2"));
    assert_eq!(
        first.scores.as_ref().unwrap()["exact"].value,
        ScoreValue::Value(score::Value::Correct)
    );
    assert_eq!(first.metadata["level"], "easy");
    assert_eq!(first.model_usage["openai/ref"].input_tokens, 10);
    let chat = find(&SampleId::Text("b".into()), 1);
    assert!(matches!(&chat.input, LogInput::Messages(m) if m.len() == 2));
    assert_eq!(
        chat.choices.as_deref(),
        Some(&["3".to_owned(), "4".to_owned()][..])
    );
    assert_eq!(chat.target, Target::Many(vec!["4".into(), "four".into()]));
    let failed = find(&SampleId::Text("b".into()), 2);
    assert_eq!(failed.error.as_ref().unwrap().message, "calls kept failing");
    assert!(failed.scores.is_none());
    assert_eq!(failed.messages.len(), 2, "the input, nothing answered");

    assert_eq!(log.summaries().unwrap().unwrap().len(), 4);
    let reductions = log.reductions().unwrap().unwrap();
    let reduced: BTreeMap<String, Vec<(String, f64)>> = reductions
        .iter()
        .map(|r| {
            let values = r
                .samples
                .iter()
                .map(|s| {
                    (
                        s.sample_id.as_ref().unwrap().to_string(),
                        s.value.as_value().unwrap().as_f64(),
                    )
                })
                .collect();
            (r.reducer.clone().unwrap(), values)
        })
        .collect();
    assert_eq!(
        reduced["mean"],
        vec![("7".to_owned(), 1.0), ("b".to_owned(), 0.0)]
    );
    assert_eq!(
        reduced["at_least_2"],
        vec![("7".to_owned(), 1.0), ("b".to_owned(), 0.0)]
    );
}

#[test]
fn file_names_are_inspects() {
    for (created, task, id, name) in [
        (
            "2026-11-30T05:00:00+00:00",
            "arith",
            "0193abcd",
            "2026-11-30T05-00-00-00-00_arith_0193abcd.eval",
        ),
        (
            "2026-11-30T05:00:00+00:00",
            "my_task/v2",
            "r",
            "2026-11-30T05-00-00-00-00_my-task-v2_r.eval",
        ),
    ] {
        assert_eq!(file_name(created, task, id), name);
    }
}
