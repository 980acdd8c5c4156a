use super::*;

#[test]
fn a_full_task_file_reads_back() {
    let text = r#"
name = "crypto-knowledge"
description = "Questions on applied cryptography"
dataset = "questions.jsonl"
epochs = 3
reducers = ["mean", "pass_at_3", "at_least_2"]
group_by = ["difficulty"]
seed = 7

[solver]
type = "multiple_choice"
shuffle_choices = true

[scorer]
type = "choice"

[limits]
messages = 20
tokens = 50000
seconds = 300
"#;
    let task = TaskFile::parse(text).unwrap();
    assert_eq!(task.name, "crypto-knowledge");
    assert_eq!(task.epochs, 3);
    assert_eq!(
        task.parsed_reducers(),
        [Reducer::Mean, Reducer::PassAtK(3), Reducer::AtLeastK(2)]
    );
    assert_eq!(
        task.solver,
        SolverSpec::MultipleChoice {
            shuffle_choices: true,
            multiple_correct: false,
            template: None,
            system: None
        }
    );
    assert_eq!(task.scorer, ScorerSpec::Choice);
    assert_eq!(task.limits.tokens, Some(50_000));
    assert_eq!(
        task.dataset_path(Path::new("/suites/crypto/task.toml")),
        Path::new("/suites/crypto/questions.jsonl")
    );
}

#[test]
fn defaults_are_one_generation_scored_exactly() {
    let task = TaskFile::parse("name = \"t\"\ndataset = \"d.csv\"\n").unwrap();
    assert_eq!(task.epochs, 1);
    assert_eq!(task.parsed_reducers(), [Reducer::Mean]);
    assert_eq!(task.solver, SolverSpec::Generate { system: None });
    assert_eq!(task.scorer, ScorerSpec::Exact);
    assert_eq!(task.limits, SampleLimits::default());
    let agent = TaskFile::parse(
        "name = \"t\"\ndataset = \"d.csv\"\n[solver]\ntype = \"agent\"\n[scorer]\ntype = \"flag\"\n",
    )
    .unwrap();
    assert_eq!(
        agent.solver,
        SolverSpec::Agent {
            tools: vec![Tool::Bash, Tool::Python, Tool::Submit],
            max_turns: 30,
            system: None
        }
    );
}

#[test]
fn every_mistake_is_named_on_its_line() {
    let base = "name = \"t\"\ndataset = \"d.jsonl\"\n";
    // (case, text after the two base lines, line of the first problem, words in its message)
    let cases = [
        ("syntax", "epochs = \n", Some(3), "string"),
        ("an unknown key", "epoch = 2\n", Some(3), "unknown field `epoch`"),
        ("a wrong type", "epochs = \"two\"\n", Some(3), "invalid type"),
        (
            "an unknown solver",
            "[solver]\ntype = \"magic\"\n",
            Some(4),
            "unknown variant `magic`",
        ),
        (
            "an unknown solver key",
            "[solver]\ntype = \"generate\"\ntemperature = 1\n",
            Some(5),
            "unknown field `temperature`",
        ),
        (
            "zero epochs",
            "epochs = 0\n",
            Some(3),
            "`epochs` must be from 1 to 100",
        ),
        (
            "too many epochs",
            "epochs = 101\n",
            Some(3),
            "`epochs` must be from 1 to 100",
        ),
        (
            "an unknown reducer",
            "reducers = [\"median\"]\n",
            Some(3),
            "unknown reducer \"median\"",
        ),
        (
            "pass@k beyond the epochs",
            "epochs = 2\nreducers = [\"pass_at_3\"]\n",
            Some(4),
            "needs at least 3 epochs",
        ),
        ("no reducers", "reducers = []\n", Some(3), "`reducers` is empty"),
        (
            "a bad pattern",
            "[scorer]\ntype = \"pattern\"\npattern = \"(open\"\n",
            Some(5),
            "invalid pattern",
        ),
        (
            "a template without prompt",
            "[solver]\ntype = \"prompt\"\ntemplate = \"Answer!\"\n",
            Some(5),
            "no `{prompt}`",
        ),
        (
            "choice without multiple choice",
            "[scorer]\ntype = \"choice\"\n",
            Some(4),
            "go together",
        ),
        (
            "an agent that cannot submit",
            "[solver]\ntype = \"agent\"\ntools = [\"bash\"]\n",
            Some(5),
            "`submit`",
        ),
        (
            "an agent with no turns",
            "[solver]\ntype = \"agent\"\nmax_turns = 0\n",
            Some(5),
            "`max_turns`",
        ),
        (
            "a zero limit",
            "[limits]\ntokens = 0\n",
            Some(4),
            "`tokens` must be more than 0",
        ),
        (
            "an unknown limit",
            "[limits]\ncost = 3\n",
            Some(4),
            "unknown field `cost`",
        ),
    ];
    for (case, tail, line, words) in cases {
        let text = format!("{base}{tail}");
        let problems = TaskFile::parse(&text).expect_err(case);
        let first = &problems[0];
        assert_eq!(first.line, line, "{case}: {problems:?}");
        assert!(first.message.contains(words), "{case}: {problems:?}");
    }
    let missing = TaskFile::parse("name = \"t\"\n").unwrap_err();
    assert!(
        missing[0].message.contains("missing field `dataset`"),
        "{missing:?}"
    );
}

#[test]
fn several_problems_are_reported_together() {
    let text = "name = \"\"\ndataset = \"d.jsonl\"\nepochs = 0\nreducers = [\"median\"]\n";
    let problems = TaskFile::parse(text).unwrap_err();
    let lines: Vec<_> = problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [Some(1), Some(3), Some(4)], "{problems:?}");
}
