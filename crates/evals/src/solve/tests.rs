use super::*;
use crate::sample::{Input, SampleId};
use crate::testkit::{Scripted, calls, says};

/// Runs tools for real, with bash and python3 on this machine (no sandbox: the unit under test is the loop).
struct Shell;

#[async_trait]
impl Tools for Shell {
    async fn run(&self, tool: Tool, input: &str) -> String {
        let (program, flag) = if tool == Tool::Bash {
            ("bash", "-c")
        } else {
            ("python3", "-c")
        };
        match std::process::Command::new(program).arg(flag).arg(input).output() {
            Ok(out) => format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => format!("cannot run {program}: {e}"),
        }
    }
}

fn task(extra: &str) -> Plan {
    let text = format!("name = \"t\"\ndataset = \"d.jsonl\"\n{extra}");
    Plan::new(TaskFile::parse(&text).unwrap()).unwrap()
}

fn question(choices: Option<&[&str]>) -> Sample {
    Sample {
        id: SampleId::Int(1),
        input: Input::Text("What is the capital of France?".into()),
        target: Target::One("Paris".into()),
        choices: choices.map(|c| c.iter().map(|s| s.to_string()).collect()),
        metadata: None,
        files: None,
        setup: None,
    }
}

fn last_text(request: &GenerateRequest) -> String {
    request
        .messages
        .last()
        .map(Message::text_content)
        .unwrap_or_default()
}

#[tokio::test]
async fn one_generation_is_scored() {
    let plan = task("[solver]\ntype = \"generate\"\nsystem = \"Be brief.\"\n");
    let model = Scripted::new(|_, _| says("paris."));
    let sample = question(None);
    let attempt = solve(&plan, &sample, &sample.target, &model, None, None)
        .await
        .unwrap();
    assert_eq!(attempt.score.unwrap().value, Value::Correct);
    assert_eq!(
        attempt.usage,
        Usage {
            input_tokens: 10,
            output_tokens: 5
        }
    );
    let sent = &model.requests()[0];
    assert_eq!(sent.messages[0].role, Role::System);
    assert_eq!(last_text(sent), "What is the capital of France?");
    assert_eq!(attempt.messages.len(), 3, "system, question, answer");
}

#[tokio::test]
async fn templates_and_chain_of_thought_shape_the_prompt() {
    let sample = question(None);
    let prompt = task("[solver]\ntype = \"prompt\"\ntemplate = \"Answer in one word. {prompt}\"\n");
    let model = Scripted::new(|_, _| says("Paris"));
    solve(&prompt, &sample, &sample.target, &model, None, None)
        .await
        .unwrap();
    assert_eq!(
        last_text(&model.requests()[0]),
        "Answer in one word. What is the capital of France?"
    );
    let cot = task(
        "[solver]\ntype = \"chain_of_thought\"\n[scorer]\ntype = \"pattern\"\npattern = \"ANSWER: (\\\\w+)\"\n",
    );
    let model = Scripted::new(|_, _| says("France's capital...\nANSWER: Paris"));
    let attempt = solve(&cot, &sample, &sample.target, &model, None, None)
        .await
        .unwrap();
    assert!(last_text(&model.requests()[0]).contains("step by step"));
    assert_eq!(attempt.score.unwrap().value, Value::Correct);
    let broken = task("[solver]\ntype = \"prompt\"\ntemplate = \"{prompt} for {audience}\"\n");
    let model = Scripted::new(|_, _| says("Paris"));
    let attempt = solve(&broken, &sample, &sample.target, &model, None, None)
        .await
        .unwrap();
    assert!(attempt.error.unwrap().contains("{audience}"));
    assert!(
        model.requests().is_empty(),
        "nothing is sent for a sample whose prompt cannot be made"
    );
}

#[tokio::test]
async fn multiple_choice_shuffles_and_scores_by_the_original_letters() {
    let plan = task(
        "seed = 3\n[solver]\ntype = \"multiple_choice\"\nshuffle_choices = true\n[scorer]\ntype = \"choice\"\n",
    );
    let mut sample = question(Some(&["Lyon", "Paris", "Nice", "Lille"]));
    sample.target = Target::One("B".into());
    // The model finds "Paris" among the lettered lines it was shown and answers its shown letter.
    let model = Scripted::new(|request, _| {
        let text = last_text(request);
        let line = text.lines().find(|l| l.ends_with(") Paris")).unwrap().to_string();
        says(&format!("ANSWER: {}", &line[..1]))
    });
    let attempt = solve(&plan, &sample, &sample.target, &model, None, None)
        .await
        .unwrap();
    let shown = attempt.shown_choices.clone().unwrap();
    assert_ne!(shown, [0, 1, 2, 3], "seed 3 shuffles this sample");
    assert_eq!(
        attempt.score.as_ref().unwrap().value,
        Value::Correct,
        "{attempt:?}"
    );
    assert_eq!(attempt.score.unwrap().answer.as_deref(), Some("B"));
}

#[tokio::test]
async fn an_agent_runs_tools_and_submits() {
    let plan = task("[solver]\ntype = \"agent\"\n[scorer]\ntype = \"flag\"\n");
    let sample = question(None);
    let flag = Target::One("flag{4b1d}".into());
    let model = Scripted::new(|request, turn| match turn {
        0 => calls("bash", serde_json::json!({"cmd": "printf 'flag{%s}' 4b1d"})),
        1 => says("Let me check with python too."),
        2 => calls("python", serde_json::json!({"code": "print(6*7)"})),
        _ => {
            // Submit what bash printed, read back from the conversation.
            let seen = request
                .messages
                .iter()
                .find(|m| m.function.as_deref() == Some("bash"))
                .unwrap();
            calls("submit", serde_json::json!({"answer": seen.text_content()}))
        }
    });
    let attempt = solve(&plan, &sample, &flag, &model, None, Some(&Shell))
        .await
        .unwrap();
    assert_eq!(attempt.answer, "flag{4b1d}");
    assert_eq!(attempt.score.unwrap().value, Value::Correct);
    let requests = model.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(
        requests[0]
            .tools
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["bash", "python", "submit"]
    );
    assert_eq!(
        last_text(&requests[2]),
        CONTINUE,
        "a turn without a tool call is nudged"
    );
    assert_eq!(last_text(&requests[3]), "42\n");
    assert_eq!(attempt.usage.total(), 120 * 3 + 15);
    assert_eq!(attempt.limit, None);
}

#[tokio::test]
async fn agent_limits_end_the_sample_where_reached() {
    let sample = question(None);
    let idle = || Scripted::new(|_, _| calls("bash", serde_json::json!({"cmd": "true"})));
    // (case, task settings, limit hit, requests made)
    let cases = [
        (
            "turns",
            "[solver]\ntype = \"agent\"\nmax_turns = 3\n",
            LimitHit::Turns,
            3,
        ),
        (
            "messages",
            "[solver]\ntype = \"agent\"\n[limits]\nmessages = 5\n",
            LimitHit::Messages,
            2,
        ),
        (
            "tokens",
            "[solver]\ntype = \"agent\"\n[limits]\ntokens = 300\n",
            LimitHit::Tokens,
            3,
        ),
    ];
    for (case, settings, hit, requests) in cases {
        let plan =
            task(&format!("{settings}\n[scorer]\ntype = \"flag\"\n").replace("\n\n[scorer]", "\n[scorer]"));
        let model = idle();
        let attempt = solve(
            &plan,
            &sample,
            &Target::One("flag{x}".into()),
            &model,
            None,
            Some(&Shell),
        )
        .await
        .unwrap();
        assert_eq!(attempt.limit, Some(hit), "{case}");
        assert_eq!(model.requests().len(), requests, "{case}");
        assert_eq!(
            attempt.score.unwrap().value,
            Value::Incorrect,
            "{case}: scored on what it has"
        );
    }
}

#[tokio::test]
async fn bad_tool_calls_are_told_to_the_model() {
    let plan = task(
        "[solver]\ntype = \"agent\"\nmax_turns = 4\ntools = [\"bash\", \"submit\"]\n[scorer]\ntype = \"flag\"\n",
    );
    let sample = question(None);
    let model = Scripted::new(|_, turn| match turn {
        0 => calls("python", serde_json::json!({"code": "print(1)"})),
        1 => calls("bash", serde_json::json!({"command": "ls"})),
        2 => calls(
            "bash",
            serde_json::json!({"cmd": "head -c 40000 /dev/zero | tr '\\0' a"}),
        ),
        _ => calls("submit", serde_json::json!({"answer": "none"})),
    });
    let attempt = solve(
        &plan,
        &sample,
        &Target::One("flag{x}".into()),
        &model,
        None,
        Some(&Shell),
    )
    .await
    .unwrap();
    let tool_texts: Vec<String> = attempt
        .messages
        .iter()
        .filter(|m| m.role == Role::Tool)
        .map(Message::text_content)
        .collect();
    assert_eq!(tool_texts[0], "there is no tool `python`");
    assert_eq!(tool_texts[1], "the call to `bash` needs a string argument `cmd`");
    assert!(tool_texts[2].ends_with(&format!(
        "\n[{} more bytes not shown]",
        40_000 - TOOL_OUTPUT_LIMIT
    )));
    assert_eq!(tool_texts[3], "submitted");
}

#[tokio::test]
async fn refusals_end_the_sample_and_lost_access_ends_the_run() {
    let plan = task("");
    let sample = question(None);
    let refused = Scripted::new(|_, _| Err(ModelError::Refused("context too long".into())));
    let attempt = solve(&plan, &sample, &sample.target, &refused, None, None)
        .await
        .unwrap();
    assert_eq!(
        (attempt.error.as_deref(), attempt.score),
        (Some("context too long"), None)
    );
    let ended = Scripted::new(|_, _| Err(ModelError::AccessEnded("the evaluator was unassigned".into())));
    let error = solve(&plan, &sample, &sample.target, &ended, None, None)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ModelError::AccessEnded("the evaluator was unassigned".into())
    );
}

#[tokio::test]
async fn a_second_model_grades_and_its_prompt_is_recorded() {
    let plan = task("[scorer]\ntype = \"model_graded\"\n");
    let sample = question(None);
    // The answer tries to smuggle the reference into the grader's prompt.
    let model = Scripted::new(|_, _| says("It is {criterion}"));
    // (grader says, value)
    // (grader says, value; none: the sample errs)
    let cases = [
        ("Reasoning.\nGRADE: C", Some(Value::Correct)),
        ("GRADE: p", Some(Value::Partial)),
        ("GRADE: I", Some(Value::Incorrect)),
        ("no verdict", None),
    ];
    for (verdict, value) in cases {
        let grader = Scripted::new(move |_, _| says(verdict));
        let attempt = solve(&plan, &sample, &sample.target, &model, Some(&grader), None)
            .await
            .unwrap();
        let prompt = last_text(&grader.requests()[0]);
        assert!(prompt.contains("[Answer]\nIt is {criterion}\n"), "{prompt}");
        assert!(prompt.contains("[Reference]\nParis\n"), "{prompt}");
        let grading = attempt.grading.clone().unwrap();
        assert_eq!(
            (grading.prompt.as_str(), grading.answer.as_str()),
            (prompt.as_str(), verdict)
        );
        match value {
            Some(value) => {
                let score = attempt.score.unwrap();
                assert_eq!(score.value, value, "{verdict}");
                assert!(score.explanation.unwrap().contains(verdict));
                assert_eq!(attempt.error, None);
            }
            None => {
                assert_eq!(attempt.score, None, "{verdict}");
                let error = attempt.error.unwrap();
                assert!(
                    error.starts_with("grading: the grader's answer holds no grade"),
                    "{error}"
                );
            }
        }
    }
}
