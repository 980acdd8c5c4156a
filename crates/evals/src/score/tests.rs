use super::*;

fn one(t: &str) -> Target {
    Target::One(t.into())
}

fn many(ts: &[&str]) -> Target {
    Target::Many(ts.iter().map(|t| t.to_string()).collect())
}

#[test]
fn text_scorers_follow_their_rules() {
    let exact = TextScorer::Exact;
    let includes = TextScorer::Includes { ignore_case: true };
    let includes_case = TextScorer::Includes { ignore_case: false };
    let end = TextScorer::Match {
        location: Location::End,
        ignore_case: true,
    };
    let begin = TextScorer::Match {
        location: Location::Begin,
        ignore_case: true,
    };
    let whole = TextScorer::Match {
        location: Location::Exact,
        ignore_case: true,
    };
    let flag = TextScorer::Flag;
    // (case, scorer, answer, target, correct)
    let cases: Vec<(&str, &TextScorer, &str, Target, bool)> = vec![
        ("exact: same text", &exact, "Paris", one("Paris"), true),
        (
            "exact: case, punctuation, article",
            &exact,
            "The paris!",
            one("paris"),
            true,
        ),
        (
            "exact: spacing and hyphens",
            &exact,
            "  new-york  city ",
            one("New York City"),
            true,
        ),
        (
            "exact: numbers written differently",
            &exact,
            "3.10",
            one("3.1"),
            true,
        ),
        ("exact: a number in brackets", &exact, "(42)", one("42"), true),
        ("exact: more words", &exact, "Paris, France", one("Paris"), false),
        (
            "exact: any of several targets",
            &exact,
            "Lyon",
            many(&["Paris", "Lyon"]),
            true,
        ),
        ("exact: an empty target never matches", &exact, "", one(""), false),
        (
            "includes: inside",
            &includes,
            "I think it is Paris.",
            one("paris"),
            true,
        ),
        (
            "includes: case kept when asked",
            &includes_case,
            "PARIS",
            one("Paris"),
            false,
        ),
        ("includes: absent", &includes, "Berlin", one("Paris"), false),
        ("match end: last word", &end, "The answer is 42.", one("42"), true),
        (
            "match end: not at the end",
            &end,
            "42 is not it",
            one("42"),
            false,
        ),
        ("match begin", &begin, "Yes, because", one("yes"), true),
        ("match exact: edges trimmed", &whole, " yes. ", one("Yes"), true),
        ("match exact: more text", &whole, "yes indeed", one("yes"), false),
        (
            "flag: contained",
            &flag,
            "found it: flag{abc123}",
            one("flag{abc123}"),
            true,
        ),
        (
            "flag: case matters",
            &flag,
            "FLAG{ABC123}",
            one("flag{abc123}"),
            false,
        ),
        (
            "flag: a different flag",
            &flag,
            "flag{abc124}",
            one("flag{abc123}"),
            false,
        ),
        (
            "flag: an empty flag never matches",
            &flag,
            "anything",
            one(""),
            false,
        ),
    ];
    for (case, scorer, answer, target, correct) in cases {
        let score = scorer.score(answer, &target, None);
        let expected = if correct { Value::Correct } else { Value::Incorrect };
        assert_eq!(score.value, expected, "{case}");
    }
}

#[test]
fn pattern_takes_groups_or_the_whole_match() {
    // (case, expression, ignore case, match all, answer, target, correct, answer taken)
    let cases = [
        (
            "one group",
            r"ANSWER: (\w+)",
            true,
            false,
            "ANSWER: Paris",
            one("paris"),
            true,
            Some("Paris"),
        ),
        (
            "no group: the whole match",
            r"\d+",
            true,
            false,
            "it is 42",
            one("42"),
            true,
            Some("42"),
        ),
        (
            "one group, wrong",
            r"ANSWER: (\w+)",
            true,
            false,
            "ANSWER: Lyon",
            one("Paris"),
            false,
            Some("Lyon"),
        ),
        (
            "case kept",
            r"ANSWER: (\w+)",
            false,
            false,
            "ANSWER: paris",
            one("Paris"),
            false,
            Some("paris"),
        ),
        (
            "any group",
            r"(\d+) or (\d+)",
            true,
            false,
            "1 or 2",
            one("2"),
            true,
            Some("2"),
        ),
        (
            "all groups must match",
            r"(\d+) or (\d+)",
            true,
            true,
            "2 or 3",
            one("2"),
            false,
            None,
        ),
        (
            "all groups match",
            r"(\d+) and (\d+)",
            true,
            true,
            "2 and 2",
            one("2"),
            true,
            Some("2"),
        ),
        (
            "no match",
            r"ANSWER: (\w+)",
            true,
            false,
            "I don't know",
            one("Paris"),
            false,
            None,
        ),
    ];
    for (case, expression, ignore_case, match_all, answer, target, correct, taken) in cases {
        let scorer = TextScorer::pattern(expression, ignore_case, match_all).unwrap();
        let score = scorer.score(answer, &target, None);
        assert_eq!(score.value == Value::Correct, correct, "{case}");
        assert_eq!(score.answer.as_deref(), taken, "{case}");
    }
    let error = TextScorer::pattern("(unclosed", true, false).unwrap_err();
    assert!(error.starts_with("invalid pattern"), "{error}");
}

#[test]
fn choice_reads_the_letters_after_answer_and_undoes_the_shuffle() {
    let in_order = ShownChoices::in_order(4);
    // Shown order: original C, A, D, B (shown A is original C, …).
    let shuffled = ShownChoices {
        shown: vec![2, 0, 3, 1],
    };
    // (case, answer, target, choices shown, value, letters taken as original positions)
    let cases = [
        (
            "one letter",
            "ANSWER: B",
            one("B"),
            &in_order,
            Value::Correct,
            "B",
        ),
        (
            "lower case",
            "answer: b",
            one("B"),
            &in_order,
            Value::Correct,
            "B",
        ),
        (
            "reasoning first",
            "Let me think.\nB looks wrong.\nANSWER: C",
            one("C"),
            &in_order,
            Value::Correct,
            "C",
        ),
        (
            "the last ANSWER counts",
            "ANSWER: A\nOn reflection:\nANSWER: D",
            one("D"),
            &in_order,
            Value::Correct,
            "D",
        ),
        (
            "wrong letter",
            "ANSWER: A",
            one("B"),
            &in_order,
            Value::Incorrect,
            "A",
        ),
        (
            "several right",
            "ANSWER: A, C",
            many(&["A", "C"]),
            &in_order,
            Value::Correct,
            "A, C",
        ),
        (
            "several written together",
            "ANSWER: AC",
            one("AC"),
            &in_order,
            Value::Correct,
            "A, C",
        ),
        (
            "one of two is not enough",
            "ANSWER: A",
            many(&["A", "C"]),
            &in_order,
            Value::Incorrect,
            "A",
        ),
        (
            "one too many",
            "ANSWER: A, B",
            one("A"),
            &in_order,
            Value::Incorrect,
            "A, B",
        ),
        (
            "in bold",
            "**ANSWER: B**",
            one("B"),
            &in_order,
            Value::Correct,
            "B",
        ),
        (
            "bracketed",
            "ANSWER: (B)",
            one("B"),
            &in_order,
            Value::Correct,
            "B",
        ),
        (
            "shuffled: shown A is original C",
            "ANSWER: A",
            one("C"),
            &shuffled,
            Value::Correct,
            "C",
        ),
        (
            "shuffled: shown A is not original A",
            "ANSWER: A",
            one("A"),
            &shuffled,
            Value::Incorrect,
            "C",
        ),
        (
            "a letter beyond the choices",
            "ANSWER: F",
            one("A"),
            &in_order,
            Value::Incorrect,
            "",
        ),
        (
            "no answer line",
            "I would pick B",
            one("B"),
            &in_order,
            Value::Incorrect,
            "",
        ),
        ("nothing said", "   ", one("B"), &in_order, Value::NoAnswer, ""),
    ];
    for (case, answer, target, shown, value, taken) in cases {
        let score = TextScorer::Choice.score(answer, &target, Some(shown));
        assert_eq!(score.value, value, "{case}");
        assert_eq!(score.answer.as_deref(), Some(taken), "{case}");
    }
}

#[test]
fn values_read_and_write_as_inspect_logs_them() {
    let cases = [
        ("\"C\"", Value::Correct, 1.0),
        ("\"I\"", Value::Incorrect, 0.0),
        ("\"P\"", Value::Partial, 0.5),
        ("\"N\"", Value::NoAnswer, 0.0),
        ("0.25", Value::Number(0.25), 0.25),
    ];
    for (json, value, float) in cases {
        assert_eq!(serde_json::from_str::<Value>(json).unwrap(), value);
        assert_eq!(serde_json::to_string(&value).unwrap(), json);
        assert_eq!(value.as_f64(), float);
    }
    assert_eq!(serde_json::from_str::<Value>("true").unwrap(), Value::Correct);
    for bad in ["\"X\"", "null", "[1]"] {
        assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad}");
    }
}

#[test]
fn letters_for_positions() {
    let cases = [(0, "A"), (1, "B"), (25, "Z"), (26, "27")];
    for (position, letter) in cases {
        assert_eq!(choice_letter(position), letter);
    }
}
