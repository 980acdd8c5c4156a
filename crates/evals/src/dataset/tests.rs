use super::*;
use serde_json::json;

fn parse_str(format: Format, text: &str) -> Result<Vec<Sample>, DatasetError> {
    parse(Path::new("data.x"), format, text.as_bytes(), Limits::default())
}

#[test]
fn json_lines_read_every_inspect_field() {
    let text = concat!(
        r#"{"id": 7, "input": "What is 2+2?", "target": "4", "metadata": {"difficulty": "easy"}}"#,
        "\n",
        "\n",
        r#"{"id": "q-b", "input": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}], "target": ["Paris", "paris"], "choices": ["Paris", "Lyon", ""], "files": {"a.txt": "hello"}, "setup": "echo hi", "extra": 1}"#,
        "\n",
        r#"{"input": "no id", "target": 5, "metadata": "{\"category\": \"crypto\"}", "files": "{\"b.txt\": \"x\"}"}"#,
        "\n",
        r#"{"input": "bool target", "target": true, "choices": "A, B ,C"}"#,
        "\n",
    );
    let samples = parse_str(Format::JsonLines, text).unwrap();
    assert_eq!(samples.len(), 4);
    let [a, b, c, d] = samples.as_slice() else {
        panic!()
    };
    assert_eq!(a.id, SampleId::Int(7));
    assert_eq!(a.input, Input::Text("What is 2+2?".into()));
    assert_eq!(a.target, Target::One("4".into()));
    assert_eq!(a.metadata_text("difficulty").as_deref(), Some("easy"));
    assert_eq!(b.id, SampleId::Text("q-b".into()));
    let Input::Messages(messages) = &b.input else {
        panic!()
    };
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].role, Role::System);
    assert_eq!(b.input.prompt_text(), "Capital of France?");
    assert_eq!(b.target.values(), ["Paris", "paris"]);
    assert_eq!(
        b.choices.as_deref(),
        Some(&["Paris".to_string(), "Lyon".to_string()][..])
    );
    assert_eq!(b.files.as_ref().unwrap()["a.txt"], "hello");
    assert_eq!(b.setup.as_deref(), Some("echo hi"));
    // A sample without an id takes its position (from 1), as Inspect numbers them.
    assert_eq!(c.id, SampleId::Int(3));
    assert_eq!(c.target, Target::One("5".into()));
    assert_eq!(c.metadata_text("category").as_deref(), Some("crypto"));
    assert_eq!(c.files.as_ref().unwrap()["b.txt"], "x");
    assert_eq!(d.target, Target::One("True".into()));
    assert_eq!(
        d.choices.as_deref(),
        Some(&["A".into(), "B".into(), "C".into()][..])
    );
}

#[test]
fn a_json_array_reads_like_json_lines() {
    let text = "[\n  {\"input\": \"a\", \"target\": \"1\"},\n  {\"input\": \"b\"}\n]";
    let samples = parse_str(Format::Json, text).unwrap();
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[1].target, Target::One(String::new()));
}

#[test]
fn csv_reads_cells_as_inspect_does() {
    let text = "\u{feff}id,input,target,choices,metadata\n\
                1,\"Which, of these?\",B,\"red,green,blue\",\"{\"\"difficulty\"\": \"\"hard\"\"}\"\n\
                \n\
                ,plain question,x,red green blue,\n\
                , , , , \n";
    let samples = parse_str(Format::Csv, text).unwrap();
    assert_eq!(samples.len(), 2, "the blank and all-space rows are skipped");
    assert_eq!(samples[0].id, SampleId::Text("1".into()));
    assert_eq!(samples[0].input, Input::Text("Which, of these?".into()));
    assert_eq!(
        samples[0].choices.as_deref(),
        Some(&["red".into(), "green".into(), "blue".into()][..])
    );
    assert_eq!(samples[0].metadata_text("difficulty").as_deref(), Some("hard"));
    assert_eq!(samples[1].id, SampleId::Int(2));
    assert_eq!(
        samples[1].choices.as_deref(),
        Some(&["red".into(), "green".into(), "blue".into()][..])
    );
    assert_eq!(samples[1].metadata, None);
}

#[test]
fn every_problem_names_its_line() {
    // (case, format, text, line, words the message must hold)
    let cases = [
        (
            "not JSON",
            Format::JsonLines,
            "{\"input\": \"a\"}\n{\"input\": ",
            Some(2),
            "not JSON",
        ),
        (
            "not an object",
            Format::JsonLines,
            "[1, 2]",
            Some(1),
            "one JSON object",
        ),
        (
            "no input",
            Format::JsonLines,
            "{\"input\": \"a\"}\n\n{\"target\": \"b\"}",
            Some(3),
            "no `input`",
        ),
        (
            "empty input",
            Format::JsonLines,
            "{\"input\": \"\"}",
            Some(1),
            "`input` is empty",
        ),
        (
            "input a number",
            Format::JsonLines,
            "{\"input\": 3}",
            Some(1),
            "text or a list of chat messages",
        ),
        (
            "a message without a role",
            Format::JsonLines,
            "{\"input\": [{\"content\": \"x\"}]}",
            Some(1),
            "`role`",
        ),
        (
            "a message without content",
            Format::JsonLines,
            "{\"input\": [{\"role\": \"user\"}]}",
            Some(1),
            "no `content`",
        ),
        (
            "metadata a list",
            Format::JsonLines,
            "{\"input\": \"a\", \"metadata\": [1]}",
            Some(1),
            "`metadata`",
        ),
        (
            "metadata bad JSON text",
            Format::JsonLines,
            "{\"input\": \"a\", \"metadata\": \"{\"}",
            Some(1),
            "`metadata`",
        ),
        (
            "files not strings",
            Format::JsonLines,
            "{\"input\": \"a\", \"files\": {\"x\": 1}}",
            Some(1),
            "\"x\"",
        ),
        (
            "id a float",
            Format::JsonLines,
            "{\"id\": 1.5, \"input\": \"a\"}",
            Some(1),
            "`id`",
        ),
        (
            "duplicate ids",
            Format::JsonLines,
            "{\"id\": 1, \"input\": \"a\"}\n{\"id\": 1, \"input\": \"b\"}",
            Some(2),
            "already used on line 1",
        ),
        (
            "an explicit id equal to a position",
            Format::JsonLines,
            "{\"input\": \"a\"}\n{\"id\": 1, \"input\": \"b\"}",
            Some(2),
            "already used on line 1",
        ),
        ("no samples", Format::JsonLines, "\n\n", None, "no samples"),
        (
            "JSON array element not an object",
            Format::Json,
            "[\n{\"input\": \"a\"},\n7\n]",
            Some(3),
            "JSON object",
        ),
        (
            "JSON array element invalid",
            Format::Json,
            "[\n{\"input\": \"a\"},\n{\"input\": 1}\n]",
            Some(3),
            "`input`",
        ),
        (
            "JSON not an array",
            Format::Json,
            "{\"input\": \"a\"}",
            Some(1),
            "JSON array",
        ),
        (
            "CSV short row",
            Format::Csv,
            "input,target\na,b\nc\n",
            Some(3),
            "1 fields, the header has 2",
        ),
        (
            "CSV long row",
            Format::Csv,
            "input,target\na,b,c\n",
            Some(2),
            "3 fields, the header has 2",
        ),
        (
            "CSV without input column",
            Format::Csv,
            "question,target\na,b\n",
            Some(2),
            "no `input`",
        ),
    ];
    for (case, format, text, line, words) in cases {
        let error = parse_str(format, text).expect_err(case);
        assert_eq!(error.line, line, "{case}: {error}");
        assert!(error.message.contains(words), "{case}: {error}");
        assert!(error.to_string().starts_with("data.x"), "{case}: {error}");
    }
}

#[test]
fn bounds_and_encodings_are_errors_not_crashes() {
    let tight = Limits {
        file_bytes: 10,
        samples: 2,
    };
    let error = parse(
        Path::new("d.jsonl"),
        Format::JsonLines,
        b"{\"input\": \"long enough\"}",
        tight,
    )
    .unwrap_err();
    assert!(error.message.contains("more than the limit of 10"), "{error}");
    let few = Limits {
        file_bytes: 1 << 20,
        samples: 2,
    };
    let three = "{\"input\": \"a\"}\n{\"input\": \"b\"}\n{\"input\": \"c\"}\n";
    let error = parse(Path::new("d.jsonl"), Format::JsonLines, three.as_bytes(), few).unwrap_err();
    assert_eq!(error.line, Some(3));
    assert!(error.message.contains("more than 2 samples"), "{error}");
    let error = parse(
        Path::new("d.jsonl"),
        Format::JsonLines,
        b"{\"input\": \"a\"}\n\xff\xfe",
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!((error.line, error.message.as_str()), (Some(2), "not UTF-8 text"));
}

#[test]
fn files_are_read_by_extension() {
    let dir = std::env::temp_dir().join(format!("evals-dataset-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("qa.jsonl");
    std::fs::write(&good, json!({"input": "q", "target": "a"}).to_string()).unwrap();
    assert_eq!(read(&good, Limits::default()).unwrap().len(), 1);
    let other = dir.join("qa.txt");
    std::fs::write(&other, "x").unwrap();
    assert!(
        read(&other, Limits::default())
            .unwrap_err()
            .message
            .contains(".jsonl, .json or .csv")
    );
    let absent = dir.join("absent.csv");
    assert!(
        read(&absent, Limits::default())
            .unwrap_err()
            .message
            .starts_with("cannot read")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
