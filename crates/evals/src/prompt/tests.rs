use super::*;
use crate::sample::{Input, SampleId, Target};
use serde_json::json;

fn sample(id: &str, choices: &[&str]) -> Sample {
    Sample {
        id: SampleId::Text(id.into()),
        input: Input::Text("Which cipher is a stream cipher?".into()),
        target: Target::One("B".into()),
        choices: Some(choices.iter().map(|c| c.to_string()).collect()),
        metadata: json!({"lang": "C", "level": 3}).as_object().cloned(),
        files: None,
        setup: None,
    }
}

#[test]
fn templates_fill_prompt_and_metadata() {
    let s = sample("a", &[]);
    // (template, result)
    let cases: [(&str, Result<&str, &str>); 7] = [
        ("Q: {prompt}", Ok("Q: Which cipher is a stream cipher?")),
        ("{lang} at level {level}", Ok("C at level 3")),
        ("{{literal}} {lang}", Ok("{literal} C")),
        ("no placeholders", Ok("no placeholders")),
        (
            "{missing}",
            Err("the template names `{missing}`, which the sample does not have"),
        ),
        ("{prompt", Err("the template has an unclosed `{`")),
        (
            "a } b",
            Err("the template has a `}` without its `{` (write `}}` for a brace)"),
        ),
    ];
    for (template, expected) in cases {
        let got = render(template, &s.input.prompt_text(), &s);
        assert_eq!(got.as_deref().map_err(String::as_str), expected, "{template}");
    }
}

#[test]
fn multiple_choice_letters_the_choices_as_shown() {
    let s = sample("q1", &["AES-CBC", "ChaCha20", "RSA"]);
    let text = multiple_choice(
        MULTIPLE_CHOICE,
        &s.input.prompt_text(),
        &s,
        &ShownChoices::in_order(3),
    )
    .unwrap();
    assert!(text.contains("where X is A, B, C."), "{text}");
    assert!(
        text.ends_with("Which cipher is a stream cipher?\n\nA) AES-CBC\nB) ChaCha20\nC) RSA"),
        "{text}"
    );
    let shown = ShownChoices { shown: vec![2, 0, 1] };
    let text = multiple_choice(MULTIPLE_CHOICE, &s.input.prompt_text(), &s, &shown).unwrap();
    assert!(text.ends_with("A) RSA\nB) AES-CBC\nC) ChaCha20"), "{text}");
}

#[test]
fn shuffles_are_fixed_by_seed_and_sample() {
    let choices = ["a", "b", "c", "d", "e", "f"];
    let one = sample("q1", &choices);
    let other = sample("q2", &choices);
    assert_eq!(shown_choices(&one, false, 1).shown, [0, 1, 2, 3, 4, 5]);
    let first = shown_choices(&one, true, 1);
    assert_eq!(
        first,
        shown_choices(&one, true, 1),
        "the same seed and sample give the same order"
    );
    let mut sorted = first.shown.clone();
    sorted.sort();
    assert_eq!(sorted, [0, 1, 2, 3, 4, 5], "a permutation");
    // Over many seeds, orders differ between seeds and between samples, and each position gets every choice.
    let orders: std::collections::HashSet<Vec<usize>> = (0..200)
        .map(|seed| shown_choices(&one, true, seed).shown)
        .collect();
    assert!(orders.len() > 150, "{} distinct orders of 200", orders.len());
    let differ = (0..50)
        .filter(|seed| shown_choices(&one, true, *seed) != shown_choices(&other, true, *seed))
        .count();
    assert!(differ > 40, "{differ}");
    // A fixed value pins the generator across versions.
    assert_eq!(SplitMix64(0).next_u64(), 0xE220_A839_7B1D_CDAF);
}
