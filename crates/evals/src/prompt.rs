//! What a solver says to the model: templates with `{prompt}` and metadata fields, the multiple-choice question
//! with lettered (and, when asked, shuffled) choices, and the chain-of-thought instruction. Shuffles are seeded by
//! the task's seed and the sample's id, so a run and its resumption show every sample the same choices.

use crate::sample::Sample;
use crate::score::{ShownChoices, choice_letter};

/// Fills `template`: `{prompt}` is the sample's prompt, `{name}` a metadata field, `{{` and `}}` literal braces.
/// An unknown name or an unclosed brace is an error naming it.
pub fn render(template: &str, prompt: &str, sample: &Sample) -> Result<String, String> {
    render_with(template, |name| match name {
        "prompt" => Some(prompt.to_string()),
        other => sample.metadata_text(other),
    })
}

pub(crate) fn render_with(template: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        if let Some(tail) = after.strip_prefix("{{") {
            out.push('{');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("}}") {
            out.push('}');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let end = tail
                .find('}')
                .ok_or_else(|| "the template has an unclosed `{`".to_string())?;
            let name = tail.get(..end).unwrap_or_default();
            let value = lookup(name)
                .ok_or_else(|| format!("the template names `{{{name}}}`, which the sample does not have"))?;
            out.push_str(&value);
            rest = tail.get(end + 1..).unwrap_or_default();
        } else {
            return Err("the template has a `}` without its `{` (write `}}` for a brace)".into());
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The instruction the multiple-choice solver gives by default. `{letters}` lists the letters, `{question}` is
/// the prompt and `{choices}` the lettered choices.
pub const MULTIPLE_CHOICE: &str = "Answer this multiple-choice question. End your reply with a line of the form \
'ANSWER: X', where X is {letters}.\n\n{question}\n\n{choices}";

/// The same for questions with several right choices.
pub const MULTIPLE_CORRECT: &str = "Answer this multiple-choice question; more than one choice may be right. End your \
reply with a line of the form 'ANSWER: X, Y', listing every right letter from {letters}.\n\n{question}\n\n{choices}";

/// The chain-of-thought instruction appended to a prompt by default.
pub const CHAIN_OF_THOUGHT: &str = "{prompt}\n\nWork through the problem step by step before answering, then give \
your final answer on the last line as 'ANSWER: <answer>'.";

/// The choices a sample shows, in order (shuffled deterministically when asked).
pub fn shown_choices(sample: &Sample, shuffle: bool, seed: u64) -> ShownChoices {
    let count = sample.choices.as_ref().map_or(0, Vec::len);
    let mut shown = ShownChoices::in_order(count);
    if shuffle {
        let mut rng = SplitMix64(seed ^ fnv1a(sample.id.to_string().as_bytes()));
        // Fisher–Yates.
        for i in (1..count).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            shown.shown.swap(i, j);
        }
    }
    shown
}

/// The multiple-choice question for `sample` with its choices as `shown` orders them.
pub fn multiple_choice(
    template: &str,
    prompt: &str,
    sample: &Sample,
    shown: &ShownChoices,
) -> Result<String, String> {
    let choices = sample.choices.as_deref().unwrap_or_default();
    let lines: Vec<String> = shown
        .shown
        .iter()
        .enumerate()
        .map(|(i, original)| {
            let text = choices.get(*original).map_or("", String::as_str);
            format!("{}) {text}", choice_letter(i))
        })
        .collect();
    let letters: Vec<String> = (0..shown.shown.len()).map(choice_letter).collect();
    render_with(template, |name| match name {
        "question" => Some(prompt.to_string()),
        "choices" => Some(lines.join("\n")),
        "letters" => Some(letters.join(", ")),
        other => sample.metadata_text(other),
    })
}

/// A small, fixed pseudo-random sequence (SplitMix64): the same on every machine and every version, which a
/// general-purpose generator does not promise.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests;
