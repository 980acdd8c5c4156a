//! Evaluation runs in the browser: a notice's runs and the form that starts one, a run's page (progress that
//! a small script keeps current, a reload link and a refresh without it; metrics; cancel; samples a page at a
//! time), one sample's epoch (input, transcript, score — all of it text, escaped), two runs compared, and the
//! links that cite a run or a sample as evidence in a finding. Everything is read through `app`, so a run the
//! caller may not see is the same 404 as one that does not exist.

use super::clearinghouse::triage::ConfirmPage;
use super::form::{Fields, FormState, QueryFields, on_form};
use super::notices::path_id;
use super::render::{Frame, WebError, WebResult, html, see_other};
use super::session::{SignedInForm, WebCaller};
use super::view::{Choice, when};
use app::evals::{ComparedItem, EvalRunView, EvalSampleView, NewEvalRun};
use app::{App, AppError, AppResult, Caller, PageRequest, policy};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use review::NoticeState;
use uuid::Uuid;

/// Samples listed per page of a run, and differing items per page of a comparison.
const SAMPLE_PAGE: i64 = 25;
/// The most messages of a transcript shown, and the most characters of any one text.
const MAX_MESSAGES: usize = 100;
const MAX_CHARS: usize = 8_000;

/// A run as a row or a page head shows it.
pub struct RunRow {
    pub id: String,
    pub notice_id: String,
    pub name: String,
    pub model: String,
    pub state: &'static str,
    pub active: bool,
    pub reason: String,
    pub done: i64,
    pub total: i64,
    pub errors: i64,
    pub accuracy: String,
    pub created: String,
}

fn percent(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn accuracy_text(run: &EvalRunView) -> String {
    match run.accuracy {
        Some(a) => format!(
            "{} (95% CI {} to {})",
            percent(a.value),
            percent(a.low),
            percent(a.high)
        ),
        None => "—".to_owned(),
    }
}

fn run_row(run: &EvalRunView) -> RunRow {
    RunRow {
        id: run.id.to_string(),
        notice_id: run.notice_id.to_string(),
        name: run.name.clone(),
        model: run.model.clone(),
        state: run.state,
        active: matches!(run.state, "queued" | "running"),
        reason: run.reason.clone().unwrap_or_default(),
        done: run.done,
        total: run.total,
        errors: run.errors,
        accuracy: accuracy_text(run),
        created: when(run.created_at),
    }
}

/// A sample id as one segment of a path.
pub fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The inverse of `segment`; `None` for a malformed escape or text that is not UTF-8.
fn unsegment(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn sample_path(run: Uuid, sample_id: &str, epoch: i32) -> String {
    format!("/eval-runs/{run}/samples/{}/{epoch}", segment(sample_id))
}

/// Whether the caller may file findings on the notice (and so is offered "cite in a finding").
async fn may_cite(app: &App, caller: &Caller, notice_id: Uuid) -> AppResult<bool> {
    let notice = app.get_notice(caller, notice_id).await?;
    if notice.state == NoticeState::Withdrawn {
        return Ok(false);
    }
    let assigned = app.list_assignments(caller, notice_id).await?;
    let is_assigned = assigned.iter().any(|a| a.user_id == caller.user_id());
    Ok(policy::can_write_agency_work(caller, is_assigned))
}

fn cite_href(notice_id: Uuid, link: &str) -> String {
    format!("/notices/{notice_id}?cite={}#findings", segment(link))
}

// ---- A notice's runs and the form that starts one ----

#[derive(Template)]
#[template(path = "eval_runs.html")]
struct RunsPage {
    frame: Frame,
    notice_id: String,
    notice: String,
    runs: Vec<RunRow>,
    next: Option<String>,
    can_start: bool,
    models: Vec<Choice>,
    suites: Vec<Choice>,
    formats: Vec<Choice>,
    form: FormState,
}

async fn runs_page(
    app: &App,
    caller: &Caller,
    notice_id: Uuid,
    cursor: Option<String>,
    status: StatusCode,
    form: FormState,
) -> WebResult {
    let notice = app.get_notice(caller, notice_id).await?;
    let runs = app
        .list_eval_runs(caller, notice_id, &PageRequest { cursor, limit: None })
        .await?;
    let assigned = app.list_assignments(caller, notice_id).await?;
    let is_assigned = assigned.iter().any(|a| a.user_id == caller.user_id());
    let can_start = notice.state != NoticeState::Withdrawn && policy::can_start_eval_run(caller, is_assigned);
    let models = if can_start {
        app.gateway_models_of(caller, notice_id)
            .await?
            .into_iter()
            .map(|m| Choice::new(m.name.clone(), m.name))
            .collect()
    } else {
        Vec::new()
    };
    let title = format!("{} {}", notice.model_name, notice.model_version);
    let page = RunsPage {
        frame: Frame::signed_in(caller, "notices", format!("Evaluation runs · {title}")),
        notice_id: notice_id.to_string(),
        notice: title,
        runs: runs.items.iter().map(run_row).collect(),
        next: runs.next_cursor,
        can_start,
        models,
        suites: vec![
            Choice::new("knowledge", "Knowledge (multiple choice examples)"),
            Choice::new("code", "Code (short snippets)"),
        ],
        formats: vec![Choice::new("jsonl", "JSON Lines"), Choice::new("csv", "CSV")],
        form,
    };
    Ok(html(status, &page))
}

pub async fn runs(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
    QueryFields(q): QueryFields,
) -> WebResult {
    let cursor = q.optional("cursor").map(str::to_owned);
    runs_page(
        &app,
        &caller,
        path_id(&raw)?,
        cursor,
        StatusCode::OK,
        FormState::default(),
    )
    .await
}

/// A number field left empty is absent; anything else must be a whole number in range.
fn count(fields: &Fields, name: &str) -> AppResult<Option<u32>> {
    match fields.number(name)? {
        None => Ok(None),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| review::ValidationError::new(name, "must be a whole number of at least 0").into()),
    }
}

pub async fn start(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let notice_id = path_id(&raw)?;
    let SignedInForm { caller, fields } = form;
    let started = async {
        let input = NewEvalRun {
            notice_id,
            model: fields.text("model").to_owned(),
            task: fields.optional("task").map(str::to_owned),
            dataset: fields.optional("dataset").map(str::to_owned),
            dataset_format: fields.optional("dataset_format").map(str::to_owned),
            suite: fields.optional("suite").map(str::to_owned),
            epochs: count(&fields, "epochs")?,
            limit: count(&fields, "limit")?,
        };
        app.start_eval_run(&caller, input).await
    }
    .await;
    match started {
        Ok(run) => Ok(see_other(&format!("/eval-runs/{}", run.id))),
        Err(error) => {
            let (status, error) = on_form(error)?;
            runs_page(
                &app,
                &caller,
                notice_id,
                None,
                status,
                FormState::failed(fields, error),
            )
            .await
        }
    }
}

// ---- A run ----

struct MetricRow {
    label: String,
    n: usize,
    accuracy: String,
    stderr: String,
    interval: String,
}

fn metric_row(label: String, s: &evals::metrics::Summary) -> MetricRow {
    MetricRow {
        label,
        n: s.n,
        accuracy: percent(s.accuracy),
        stderr: format!("{:.3}", s.stderr),
        interval: format!("{} to {}", percent(s.ci_low), percent(s.ci_high)),
    }
}

struct MetricGroup {
    field: String,
    rows: Vec<MetricRow>,
}

struct SampleRow {
    href: String,
    sample_id: String,
    epoch: i32,
    score: String,
    error: String,
}

fn score_text(value: Option<f64>) -> String {
    match value {
        Some(v) => format!("{v}"),
        None => "error".to_owned(),
    }
}

#[derive(Template)]
#[template(path = "eval_run.html")]
struct RunPage {
    frame: Frame,
    r: RunRow,
    notice: String,
    metrics: Vec<MetricRow>,
    groups: Vec<MetricGroup>,
    samples: Vec<SampleRow>,
    next: Option<String>,
    can_cancel: bool,
    others: Vec<Choice>,
    cite: Option<String>,
    link: String,
}

pub async fn run(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
    QueryFields(q): QueryFields,
) -> WebResult {
    let id = path_id(&raw)?;
    let view = app.get_eval_run(&caller, id).await?;
    let notice = app.get_notice(&caller, view.notice_id).await?;
    let results = app
        .list_eval_results(
            &caller,
            id,
            &PageRequest {
                cursor: q.optional("cursor").map(str::to_owned),
                limit: Some(SAMPLE_PAGE),
            },
        )
        .await?;
    let mut metrics = Vec::new();
    let mut groups = Vec::new();
    let stored: Option<evals::runner::Results> = view
        .results
        .as_ref()
        .map(|r| serde_json::from_str(r.get()))
        .transpose()
        .map_err(|e| AppError::Internal(Box::new(e)))?;
    if let Some(results) = &stored {
        for reduced in &results.reducers {
            if let Some(s) = &reduced.summary {
                metrics.push(metric_row(reduced.reducer.clone(), s));
            }
        }
        for grouping in &results.groups {
            groups.push(MetricGroup {
                field: grouping.field.clone(),
                rows: grouping
                    .groups
                    .iter()
                    .map(|(key, s)| metric_row(key.clone().unwrap_or_else(|| "(none)".to_owned()), s))
                    .collect(),
            });
        }
    }
    let others = app
        .list_eval_runs(
            &caller,
            view.notice_id,
            &PageRequest {
                cursor: None,
                limit: Some(app::page::MAX_LIMIT),
            },
        )
        .await?
        .items
        .into_iter()
        .filter(|r| r.id != id)
        .map(|r| {
            Choice::new(
                r.id.to_string(),
                format!("{} on {} ({})", r.name, r.model, when(r.created_at)),
            )
        })
        .collect();
    let run_row_ = run_row(&view);
    let can_cancel = run_row_.active && policy::can_cancel_eval_run_of(&caller, view.org_id, view.user_id);
    let link = format!("/eval-runs/{id}");
    let page = RunPage {
        frame: Frame::signed_in(&caller, "notices", format!("Evaluation run · {}", view.name)),
        notice: format!("{} {}", notice.model_name, notice.model_version),
        metrics,
        groups,
        samples: results
            .items
            .iter()
            .map(|r| SampleRow {
                href: sample_path(id, &r.sample_id, r.epoch),
                sample_id: r.sample_id.clone(),
                epoch: r.epoch,
                score: score_text(r.value),
                error: r.error.clone().unwrap_or_default(),
            })
            .collect(),
        next: results.next_cursor,
        can_cancel,
        others,
        cite: may_cite(&app, &caller, view.notice_id)
            .await?
            .then(|| cite_href(view.notice_id, &link)),
        link,
        r: run_row_,
    };
    Ok(html(StatusCode::OK, &page))
}

/// Cancelling asks first: without `confirm` the confirmation page, with it the run is cancelled.
pub async fn cancel(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    if !form.fields.ticked("confirm") {
        let run = app.get_eval_run_brief(&form.caller, id).await?;
        let mut page = ConfirmPage::new(
            &form.caller,
            "Cancel this run".to_owned(),
            format!(
                "The run of {} on {} stops at its next sample; what it recorded so far is kept.",
                run.name, run.model
            ),
            format!("/eval-runs/{id}/cancel"),
            &form.fields,
        );
        page.frame = Frame::signed_in(&form.caller, "notices", "Cancel this run?");
        page.cancel = format!("/eval-runs/{id}");
        return Ok(html(StatusCode::OK, &page));
    }
    app.cancel_eval_run(&form.caller, id).await?;
    Ok(see_other(&format!("/eval-runs/{id}")))
}

// ---- One sample's epoch ----

struct MessageView {
    role: String,
    text: String,
    truncated: bool,
    tool_calls: String,
    tool_calls_truncated: bool,
    tool_call_id: String,
}

/// At most `MAX_CHARS` of a text, and whether it was cut.
fn bounded(text: &str) -> (String, bool) {
    match text.char_indices().nth(MAX_CHARS) {
        Some((at, _)) => (text.get(..at).unwrap_or_default().to_owned(), true),
        None => (text.to_owned(), false),
    }
}

fn message_view(m: &evals::sample::Message) -> MessageView {
    let (text, truncated) = bounded(&m.text_content());
    let calls = m
        .tool_calls
        .as_ref()
        .map(|c| serde_json::to_string_pretty(c).unwrap_or_default())
        .unwrap_or_default();
    let (tool_calls, tool_calls_truncated) = bounded(&calls);
    let role = serde_json::to_value(m.role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    MessageView {
        role,
        text,
        truncated,
        tool_calls,
        tool_calls_truncated,
        tool_call_id: m.tool_call_id.clone().unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "eval_sample.html")]
struct SamplePage {
    frame: Frame,
    r: RunRow,
    sample_id: String,
    epoch: i32,
    input: Vec<MessageView>,
    choices: Vec<String>,
    transcript: Vec<MessageView>,
    messages_total: usize,
    target: String,
    answer: String,
    answer_truncated: bool,
    score: String,
    score_value: String,
    explanation: String,
    error: String,
    input_tokens: u64,
    output_tokens: u64,
    seconds: String,
    /// The limit that ended the sample, if one did (messages, tokens, turns).
    limit: String,
    cite: Option<String>,
    link: String,
}

pub async fn sample(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path((raw, sample_id, epoch)): Path<(String, String, String)>,
) -> WebResult {
    let id = path_id(&raw)?;
    let epoch: i32 = epoch.parse().map_err(|_| WebError::not_found())?;
    let s: EvalSampleView = app.get_eval_sample(&caller, id, &sample_id, epoch).await?;
    let record = &s.record;
    let attempt = record.attempt.as_ref();
    let messages = attempt.map(|a| a.messages.as_slice()).unwrap_or_default();
    let (answer, answer_truncated) = bounded(attempt.map(|a| a.answer.as_str()).unwrap_or_default());
    let score = attempt.and_then(|a| a.score.as_ref());
    let error = record
        .error
        .clone()
        .or_else(|| attempt.and_then(|a| a.error.clone()))
        .unwrap_or_default();
    let link = sample_path(id, &sample_id, epoch);
    let page = SamplePage {
        frame: Frame::signed_in(&caller, "notices", format!("Sample {sample_id}, epoch {epoch}")),
        sample_id: sample_id.clone(),
        epoch,
        input: s
            .sample
            .input
            .messages()
            .iter()
            .take(MAX_MESSAGES)
            .map(message_view)
            .collect(),
        choices: s.sample.choices.clone().unwrap_or_default(),
        transcript: messages.iter().take(MAX_MESSAGES).map(message_view).collect(),
        messages_total: messages.len(),
        target: bounded(&record.target.text()).0,
        answer,
        answer_truncated,
        score: score_text(s.value),
        score_value: score
            .and_then(|sc| serde_json::to_value(sc.value).ok())
            .map(|v| v.to_string())
            .unwrap_or_default(),
        explanation: score
            .and_then(|sc| sc.explanation.as_deref())
            .map(|e| bounded(e).0)
            .unwrap_or_default(),
        error: bounded(&error).0,
        input_tokens: attempt.map(|a| a.usage.input_tokens).unwrap_or(0),
        output_tokens: attempt.map(|a| a.usage.output_tokens).unwrap_or(0),
        seconds: format!("{:.2}", record.seconds),
        limit: attempt
            .and_then(|a| a.limit)
            .and_then(|l| serde_json::to_value(l).ok())
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        cite: may_cite(&app, &caller, s.run.notice_id)
            .await?
            .then(|| cite_href(s.run.notice_id, &link)),
        link,
        r: run_row(&s.run),
    };
    Ok(html(StatusCode::OK, &page))
}

// ---- Two runs compared ----

/// The run page's compare form: to the comparison with the chosen run.
pub async fn compare_with(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
    QueryFields(q): QueryFields,
) -> WebResult {
    let id = path_id(&raw)?;
    app.get_eval_run_brief(&caller, id).await?;
    let other = path_id(q.text("with").trim())?;
    Ok(see_other(&format!("/eval-runs/{id}/compare/{other}")))
}

struct DiffRow {
    sample_id: String,
    epoch: i32,
    a: String,
    b: String,
    difference: String,
    href_a: String,
    href_b: String,
}

fn diff_row(a: Uuid, b: Uuid, item: &ComparedItem) -> DiffRow {
    DiffRow {
        href_a: sample_path(a, &item.sample_id, item.epoch),
        href_b: sample_path(b, &item.sample_id, item.epoch),
        sample_id: item.sample_id.clone(),
        epoch: item.epoch,
        a: score_text(item.a),
        b: score_text(item.b),
        difference: item
            .difference
            .map(|d| format!("{d:+}"))
            .unwrap_or_else(|| "—".to_owned()),
    }
}

struct PairedView {
    n: usize,
    mean_a: String,
    mean_b: String,
    difference: String,
    stderr: String,
    interval: String,
    both_right: usize,
    only_a: usize,
    only_b: usize,
    both_wrong: usize,
}

#[derive(Template)]
#[template(path = "eval_compare.html")]
struct ComparePage {
    frame: Frame,
    a: RunRow,
    b: RunRow,
    paired: Option<PairedView>,
    only_in_a: usize,
    only_in_b: usize,
    errored: usize,
    rows: Vec<DiffRow>,
    next: Option<String>,
}

fn points(v: f64) -> String {
    format!("{:+.1} points", v * 100.0)
}

pub async fn compare(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path((raw, other)): Path<(String, String)>,
    QueryFields(q): QueryFields,
) -> WebResult {
    let (a, b) = (path_id(&raw)?, path_id(&other)?);
    let c = app
        .compare_eval_runs(
            &caller,
            a,
            b,
            &PageRequest {
                cursor: q.optional("cursor").map(str::to_owned),
                limit: Some(SAMPLE_PAGE),
            },
        )
        .await?;
    let page = ComparePage {
        frame: Frame::signed_in(
            &caller,
            "notices",
            format!("{} compared with {}", c.a.name, c.b.name),
        ),
        a: run_row(&c.a),
        b: run_row(&c.b),
        paired: c.paired.map(|p| PairedView {
            n: p.n,
            mean_a: percent(p.mean_a),
            mean_b: percent(p.mean_b),
            difference: points(p.mean_difference),
            stderr: format!("{:.3}", p.stderr),
            interval: format!("{} to {}", points(p.ci_low), points(p.ci_high)),
            both_right: p.both_right,
            only_a: p.only_a,
            only_b: p.only_b,
            both_wrong: p.both_wrong,
        }),
        only_in_a: c.only_in_a,
        only_in_b: c.only_in_b,
        errored: c.errored,
        rows: c.differing.items.iter().map(|i| diff_row(a, b, i)).collect(),
        next: c.differing.next_cursor,
    };
    Ok(html(StatusCode::OK, &page))
}

// ---- Runs and samples cited as evidence ----

/// What an evidence link to a run or a sample names.
pub enum Cited {
    Run(Uuid),
    Sample(Uuid, String, i32),
}

/// Reads `/eval-runs/{id}` or `/eval-runs/{id}/samples/{sample id}/{epoch}`; anything else is not a citation.
pub fn cited(link: &str) -> Option<Cited> {
    let rest = link.strip_prefix("/eval-runs/")?;
    let mut parts = rest.split('/');
    let id: Uuid = parts.next()?.parse().ok()?;
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (None, _, _, _) => Some(Cited::Run(id)),
        (Some("samples"), Some(sample), Some(epoch), None) => {
            Some(Cited::Sample(id, unsegment(sample)?, epoch.parse().ok()?))
        }
        _ => None,
    }
}

/// The text a cited run or sample is shown with, when the caller may see it; `None` otherwise (whether it is
/// hidden or does not exist, the link is then shown as plain text). Our own failure is an error, not "hidden".
pub async fn citation(app: &App, caller: &Caller, link: &str) -> Result<Option<String>, WebError> {
    let hidden = |e: AppError| match e {
        AppError::NotFound(_) => Ok(None),
        other => Err(WebError::from(other)),
    };
    let Some(cited) = cited(link) else {
        return Ok(None);
    };
    match cited {
        Cited::Run(id) => match app.get_eval_run_brief(caller, id).await {
            Ok(run) => Ok(Some(format!(
                "Evaluation run: {} on {} ({}, {})",
                run.name,
                run.model,
                run.state,
                accuracy_text(&run)
            ))),
            Err(e) => hidden(e),
        },
        Cited::Sample(id, sample_id, epoch) => match app.get_eval_sample(caller, id, &sample_id, epoch).await
        {
            Ok(s) => Ok(Some(format!(
                "Sample {sample_id}, epoch {epoch} of the run {} on {}: score {}",
                s.run.name,
                s.run.model,
                score_text(s.value)
            ))),
            Err(e) => hidden(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citations_are_read_from_their_links() {
        let id = Uuid::now_v7();
        let cases = [
            (format!("/eval-runs/{id}"), Some((None, None))),
            (
                format!("/eval-runs/{id}/samples/{}/2", segment("q 1/é")),
                Some((Some("q 1/é".to_owned()), Some(2))),
            ),
            (format!("/eval-runs/{id}/samples/q1"), None),
            (format!("/eval-runs/{id}/samples/q1/x"), None),
            (format!("/eval-runs/{id}/samples/q1/1/more"), None),
            (format!("/eval-runs/{id}/samples/%ZZ/1"), None),
            ("/eval-runs/not-a-uuid".to_owned(), None),
            (format!("https://elsewhere.example/eval-runs/{id}"), None),
        ];
        for (link, expected) in cases {
            let got = cited(&link).map(|c| match c {
                Cited::Run(run) => {
                    assert_eq!(run, id);
                    (None, None)
                }
                Cited::Sample(run, sample, epoch) => {
                    assert_eq!(run, id);
                    (Some(sample), Some(epoch))
                }
            });
            assert_eq!(got, expected, "{link}");
        }
    }

    #[test]
    fn long_texts_are_cut_and_say_so() {
        assert_eq!(bounded("short"), ("short".to_owned(), false));
        let long = "é".repeat(MAX_CHARS + 5);
        let (cut, truncated) = bounded(&long);
        assert!(truncated);
        assert_eq!(cut.chars().count(), MAX_CHARS);
    }
}
